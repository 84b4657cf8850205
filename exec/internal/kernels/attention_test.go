package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestAttentionTable: Attention against AttentionRef, and a case by hand.
func TestAttentionTable(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for _, c := range []struct {
		n, tq, tv, d, dv int
		scale            float32
	}{{1, 1, 1, 1, 1, 1}, {2, 3, 5, 4, 6, 1}, {3, 7, 2, 8, 3, 0.35}} {
		q, k, v := rnnRand(r, c.n*c.tq*c.d), rnnRand(r, c.n*c.tv*c.d), rnnRand(r, c.n*c.tv*c.dv)
		got, want := make([]float32, c.n*c.tq*c.dv), make([]float32, c.n*c.tq*c.dv)
		Attention(q, k, v, got, c.n, c.tq, c.tv, c.d, c.dv, c.scale, &Workspace{})
		AttentionRef(q, k, v, want, c.n, c.tq, c.tv, c.d, c.dv, c.scale)
		if d := maxDiff(got, want); d > 1e-5 {
			t.Errorf("%+v: max diff %g", c, d)
		}
	}
	// One query (1, 0) over keys (1, 0) and (0, 1), scale 2: scores 2 and
	// 0, weights e²/(e²+1) and 1/(e²+1), over values 10 and 20.
	q, k, v := []float32{1, 0}, []float32{1, 0, 0, 1}, []float32{10, 20}
	w := math.Exp(2) / (math.Exp(2) + 1)
	want := 10*w + 20*(1-w)
	for _, impl := range []string{"fast", "ref"} {
		out := make([]float32, 1)
		if impl == "fast" {
			Attention(q, k, v, out, 1, 1, 2, 2, 1, 2, nil)
		} else {
			AttentionRef(q, k, v, out, 1, 1, 2, 2, 1, 2)
		}
		if math.Abs(float64(out[0])-want) > 1e-5 {
			t.Errorf("%s: %v, want %v", impl, out[0], want)
		}
	}
}
