package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// TestLayerNormTable checks LayerNorm against LayerNormRef, and both
// against a row computed by hand.
func TestLayerNormTable(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, c := range []struct {
		rows, n      int
		affine       bool
		eps          float32
		offset, span float64
	}{{1, 1, false, 1e-3, 0, 1}, {3, 7, true, 1e-3, 0, 1}, {5, 64, true, 1e-5, 3, 0.5}, {2, 10, false, 1e-6, -2, 4},
		{300, 96, true, 1e-6, 1, 2}, {9, 768, true, 1e-6, -3, 1}, {40, 35, false, 1e-6, 0, 3}} {
		x := make([]float32, c.rows*c.n)
		for i := range x {
			x[i] = float32(c.offset + c.span*r.NormFloat64())
		}
		var g, b []float32
		if c.affine {
			g, b = rnnRand(r, c.n), rnnRand(r, c.n)
		}
		got, want := make([]float32, len(x)), make([]float32, len(x))
		LayerNorm(got, x, c.n, g, b, c.eps, &Workspace{Pool: par.New(2)})
		LayerNormRef(want, x, c.n, g, b, c.eps)
		if d := maxDiff(got, want); d > 1e-5 {
			t.Errorf("%+v: max diff %g", c, d)
		}
	}
	// x = (1, 2, 3, 6): mean 3, var (4+1+0+9)/4 = 3.5.
	x := []float32{1, 2, 3, 6}
	fast := func(y, x []float32, n int, g, b []float32, eps float32) { LayerNorm(y, x, n, g, b, eps, nil) }
	for _, impl := range []func(y, x []float32, n int, g, b []float32, eps float32){fast, LayerNormRef} {
		y := make([]float32, 4)
		impl(y, x, 4, []float32{1, 2, 1, 1}, []float32{0, 0, 0.5, 0}, 0.5)
		s := math.Sqrt(4)
		want := []float64{-2 / s, 2 * -1 / s, 0.5, 3 / s}
		for i := range want {
			if math.Abs(float64(y[i])-want[i]) > 1e-6 {
				t.Errorf("hand case: %v, want %v", y, want)
				break
			}
		}
	}
}
