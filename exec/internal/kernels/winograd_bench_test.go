package kernels

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kconv/kconv/exec/internal/par"
)

// BenchmarkWinogradVGG16 runs each distinct VGG16 conv layer (224×224,
// batch 1, pads 1) with bias and ReLU fused on 2 threads, reporting
// GFLOP/s counted as direct convolution (2·N·H·W·OutC·9·C per call), so
// the figures compare with BenchmarkConv2DVGG16's.
func BenchmarkWinogradVGG16(b *testing.B) {
	pool := par.New(2)
	for _, l := range vggConvLayers {
		p := vggConvParams(l.hw, l.c, l.outC)
		b.Run(fmt.Sprintf("%dx%dx%d-%d", l.hw, l.hw, l.c, l.outC), func(b *testing.B) {
			in := khRand(1, p.InLen())
			w := NewWinograd(khRand(2, p.KernelLen()), p.C, p.OutC)
			bias := khRand(3, p.OutC)
			out := make([]float32, p.OutLen())
			ws := &Workspace{Pool: pool}
			w.Conv2D(p, in, bias, khReLU, out, ws)
			for b.Loop() {
				w.Conv2D(p, in, bias, khReLU, out, ws)
			}
			b.ReportMetric(float64(p.FLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkWinogradVsIm2colVGG16 is the paired comparison for a noisy,
// shared machine: per distinct VGG16 layer it alternates one im2col
// Conv2D call and one Winograd call for a number of rounds and reports
// both medians (ms) and the median-based GFLOP/s; the parent reports the
// 13-layer sums of the medians, for im2col alone and for Winograd where
// its median wins (the layer's count times the faster median).
func BenchmarkWinogradVsIm2colVGG16(b *testing.B) {
	pool := par.New(2)
	var totIm2col, totBest, totWino float64
	for _, l := range vggConvLayers {
		p := vggConvParams(l.hw, l.c, l.outC)
		var mi, mw float64
		b.Run(fmt.Sprintf("%dx%dx%d-%d", l.hw, l.hw, l.c, l.outC), func(b *testing.B) {
			in := khRand(1, p.InLen())
			kernel := khRand(2, p.KernelLen())
			w := NewWinograd(kernel, p.C, p.OutC)
			bias := khRand(3, p.OutC)
			out := make([]float32, p.OutLen())
			ws := &Workspace{Pool: pool}
			w.Conv2D(p, in, bias, khReLU, out, ws)
			Conv2D(p, in, kernel, bias, khReLU, out, ws)
			var ti, tw []float64
			for b.Loop() {
				t0 := time.Now()
				Conv2D(p, in, kernel, bias, khReLU, out, ws)
				t1 := time.Now()
				w.Conv2D(p, in, bias, khReLU, out, ws)
				t2 := time.Now()
				ti = append(ti, t1.Sub(t0).Seconds()*1e3)
				tw = append(tw, t2.Sub(t1).Seconds()*1e3)
			}
			mi, mw = winoMedian(ti), winoMedian(tw)
			b.ReportMetric(mi, "im2col-ms")
			b.ReportMetric(mw, "wino-ms")
			b.ReportMetric(float64(p.FLOPs())/mi/1e6, "im2col-GFLOP/s")
			b.ReportMetric(float64(p.FLOPs())/mw/1e6, "wino-GFLOP/s")
		})
		n := float64(l.count)
		totIm2col += n * mi
		totWino += n * mw
		totBest += n * min(mi, mw)
	}
	b.Logf("13 VGG16 conv layers, sums of medians: im2col %.1f ms, Winograd everywhere %.1f ms, Winograd where it wins %.1f ms",
		totIm2col, totWino, totBest)
}

func winoMedian(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
