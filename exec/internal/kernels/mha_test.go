package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestMHATable: MHA against MHARef over sizes, with and without biases,
// and a one-head case computed by hand.
func TestMHATable(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for _, p := range []MHAParams{
		{N: 1, Tq: 1, Tv: 1, Dq: 1, Dk: 1, Dv: 1, H: 1, K: 1, V: 1, Do: 1},
		{N: 2, Tq: 3, Tv: 5, Dq: 4, Dk: 6, Dv: 2, H: 2, K: 3, V: 4, Do: 4},
		{N: 3, Tq: 4, Tv: 4, Dq: 8, Dk: 8, Dv: 8, H: 4, K: 2, V: 2, Do: 5},
	} {
		for _, bias := range []bool{true, false} {
			t.Run(fmt.Sprintf("%+v_bias%v", p, bias), func(t *testing.T) {
				q, k, v := rnnRand(r, p.N*p.Tq*p.Dq), rnnRand(r, p.N*p.Tv*p.Dk), rnnRand(r, p.N*p.Tv*p.Dv)
				w := MHAWeights{Wq: rnnRand(r, p.Dq*p.H*p.K), Wk: rnnRand(r, p.Dk*p.H*p.K), Wv: rnnRand(r, p.Dv*p.H*p.V), Wo: rnnRand(r, p.H*p.V*p.Do)}
				if bias {
					w.Bq, w.Bk, w.Bv, w.Bo = rnnRand(r, p.H*p.K), rnnRand(r, p.H*p.K), rnnRand(r, p.H*p.V), rnnRand(r, p.Do)
				}
				got, want := make([]float32, p.N*p.Tq*p.Do), make([]float32, p.N*p.Tq*p.Do)
				MHA(p, q, k, v, got, w, &Workspace{})
				MHARef(p, q, k, v, want, w)
				if d := maxDiff(got, want); d > 1e-5 {
					t.Errorf("max diff %g", d)
				}
			})
		}
	}
	// One head, K=4 (scale 1/2), identity-like projections: query 1 over
	// keys 1 and 0 → scores 0.5·(1·2) = 1 and 0; values 3 and 5 (×10 by
	// the output kernel, +1 bias).
	p := MHAParams{N: 1, Tq: 1, Tv: 2, Dq: 1, Dk: 1, Dv: 1, H: 1, K: 4, V: 1, Do: 1}
	w := MHAWeights{Wq: []float32{1, 0, 0, 0}, Wk: []float32{2, 0, 0, 0}, Wv: []float32{1}, Wo: []float32{10}, Bo: []float32{1}}
	e := math.Exp(1)
	want := 10*(3*e/(e+1)+5/(e+1)) + 1
	for _, impl := range []string{"fast", "ref"} {
		out := make([]float32, 1)
		if impl == "fast" {
			MHA(p, []float32{1}, []float32{1, 0}, []float32{3, 5}, out, w, nil)
		} else {
			MHARef(p, []float32{1}, []float32{1, 0}, []float32{3, 5}, out, w)
		}
		if math.Abs(float64(out[0])-want) > 1e-5 {
			t.Errorf("%s: %v, want %v", impl, out[0], want)
		}
	}
}
