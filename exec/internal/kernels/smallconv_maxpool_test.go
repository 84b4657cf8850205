package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// TestSmallConvMaxPoolBits: Conv2DMaxPool (and its NCHW-input form) gives
// the bits of Conv2D followed by MaxPool, on stems and odd sizes, pooling
// windows that overlap, pad, run past the end (ceil mode), tile or skip
// rows, at batch 1 and 3 on one and two workers, on the vector kernels
// and the Go ones.
func TestSmallConvMaxPoolBits(t *testing.T) {
	kernels := []bool{true}
	if scAVX512 {
		kernels = []bool{false, true}
	}
	convs := []ConvParams{
		{H: 40, W: 38, C: 3, OutC: 24, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadBottom: 3, PadLeft: 3, PadRight: 3},
		{H: 47, W: 45, C: 3, OutC: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2},
		{H: 23, W: 21, C: 16, OutC: 40, KH: 1, KW: 1},
		{H: 30, W: 30, C: 8, OutC: 16, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
	}
	pools := []PoolParams{
		{KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, // ResNet
		{KH: 3, KW: 3, StrideH: 2, StrideW: 2},                                                   // floor
		{KH: 3, KW: 3, StrideH: 2, StrideW: 2, OutH: -1, OutW: -1},                               // ceil mode (set below)
		{KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		{KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
		{KH: 5, KW: 4, StrideH: 3, StrideW: 2, PadTop: 2, PadBottom: 2, PadLeft: 1, PadRight: 1},
		{KH: 1, KW: 1, StrideH: 2, StrideW: 2},
	}
	for ci, p := range convs {
		for _, n := range []int{1, 3} {
			p.N = n
			in, kernel, bias := khRand(uint64(ci)+1, p.InLen()), khRand(uint64(ci)+2, p.KernelLen()), khRand(uint64(ci)+3, p.OutC)
			in[len(in)/3] = float32(math.NaN())
			sc := NewSmallConv(kernel, p)
			for pi, pool := range pools {
				pool.N, pool.H, pool.W, pool.C = n, p.OutH(), p.OutW(), p.OutC
				if pool.OutH < 0 { // ceil: one more window where the last would start inside
					pool.OutH = (pool.H-pool.KH+pool.StrideH-1)/pool.StrideH + 1
					pool.OutW = (pool.W-pool.KW+pool.StrideW-1)/pool.StrideW + 1
				}
				if !MaxPoolFits(pool) {
					continue
				}
				oh, ow := pool.Out()
				for _, nchw := range []bool{false, true} {
					x := in
					if nchw {
						x = nhwcToNCHW(in, n, p.H, p.W, p.C)
					}
					for _, goKernel := range kernels {
						for _, threads := range []int{1, 2} {
							saved, savedOff, savedStrip := scForceGo, simdOff, mpStripFloats
							scForceGo, simdOff = goKernel, goKernel
							if threads == 2 {
								mpStripFloats = 0 // strips of one pooled row: conv rows carried over
							}
							ws := &Workspace{Pool: par.New(threads)}
							conv := khPoison(p.OutLen())
							sc.Conv2D(p, in, bias, khReLU, conv, ws)
							want := khPoison(n * oh * ow * p.OutC)
							MaxPool(want, conv, pool, ws)
							got := khPoison(len(want))
							if nchw {
								sc.Conv2DNCHWMaxPool(p, pool, x, bias, khReLU, got, ws)
							} else {
								sc.Conv2DMaxPool(p, pool, x, bias, khReLU, got, ws)
							}
							scForceGo, simdOff, mpStripFloats = saved, savedOff, savedStrip
							khSameBits(t, fmt.Sprintf("conv %d pool %d n=%d nchw=%v go=%v threads=%d", ci, pi, n, nchw, goKernel, threads), got, want)
						}
					}
				}
			}
		}
	}
}

// nhwcToNCHW returns x (n images of h×w×c, channels last) channels-first.
func nhwcToNCHW(x []float32, n, h, w, c int) []float32 {
	y := make([]float32, len(x))
	for i := range n {
		for p := range h * w {
			for k := range c {
				y[(i*c+k)*h*w+p] = x[(i*h*w+p)*c+k]
			}
		}
	}
	return y
}
