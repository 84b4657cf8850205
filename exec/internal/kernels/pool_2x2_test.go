package kernels

import (
	"math"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// TestPool2x2VsRef runs the 2×2 stride-2 fast path (assembly for C a
// multiple of 16, Go otherwise; serial and parallel; odd sizes whose last
// row and column no window covers) against the references, and checks
// that NaN propagates through max pooling as with Go's max.
func TestPool2x2VsRef(t *testing.T) {
	for i, d := range [][4]int{{1, 2, 2, 1}, {2, 5, 7, 3}, {3, 8, 6, 16}, {2, 9, 11, 32}, {1, 4, 4, 48},
		{64, 32, 32, 16}, {5, 17, 16, 20}, {1, 64, 64, 64}, {2, 3, 30, 5}} {
		p := PoolParams{N: d[0], H: d[1], W: d[2], C: d[3], KH: 2, KW: 2, StrideH: 2, StrideW: 2}
		oh, ow := p.Out()
		if !pool2x2Fits(&p, oh, ow) {
			t.Fatalf("%v: not the fast path", d)
		}
		x := tuRand(uint64(i)+7, p.InLen(), 3)
		for j := 0; j < len(x); j += 37 {
			x[j] = float32(math.NaN())
		}
		wantMax, wantAvg := RefMaxPool(x, p), RefAvgPool(x, p)
		for _, th := range tuThreads {
			got := tuFill(p.OutLen(), -1)
			MaxPool(got, x, p, &Workspace{Pool: par.New(th)})
			for k := range got {
				if math.IsNaN(float64(wantMax[k])) != math.IsNaN(float64(got[k])) {
					t.Fatalf("%v max threads=%d: [%d] = %v, want %v", d, th, k, got[k], wantMax[k])
				}
			}
			tuClose(t, tuName("%v max threads=%d", d, th), got, wantMax, 0, 0)
			got = tuFill(p.OutLen(), -1)
			AvgPool(got, x, p, &Workspace{Pool: par.New(th)})
			tuClose(t, tuName("%v avg threads=%d", d, th), got, wantAvg, 1e-6, 1e-7)
		}
	}
}

func TestPool2x2NoAlloc(t *testing.T) {
	for _, c := range []int{16, 5} {
		p := PoolParams{N: 1, H: 16, W: 16, C: c, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
		x, dst := tuRand(1, p.InLen(), 1), make([]float32, p.OutLen())
		p1, p2 := par.New(1), par.New(2)
		if n := testing.AllocsPerRun(20, func() {
			MaxPool(dst, x, p, &Workspace{Pool: p1})
			AvgPool(dst, x, p, &Workspace{Pool: p2})
		}); n != 0 {
			t.Errorf("C=%d: 2×2 pooling allocates %v times per call", c, n)
		}
	}
}
