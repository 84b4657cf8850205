package kernels

import (
	"fmt"
	"testing"
)

// vggConvLayers are VGG16's distinct conv layer shapes at 224×224, batch 1
// (3×3, stride 1, pads 1), with how many of the 13 layers have each shape.
var vggConvLayers = []struct {
	hw, c, outC, count int
}{
	{224, 3, 64, 1},
	{224, 64, 64, 1},
	{112, 64, 128, 1},
	{112, 128, 128, 1},
	{56, 128, 256, 1},
	{56, 256, 256, 2},
	{28, 256, 512, 1},
	{28, 512, 512, 2},
	{14, 512, 512, 3},
}

func vggConvParams(hw, c, outC int) ConvParams {
	return ConvParams{N: 1, H: hw, W: hw, C: c, OutC: outC, KH: 3, KW: 3,
		PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
}

// BenchmarkConv2DVGG16 runs each distinct VGG16 conv layer with bias and
// ReLU fused, reporting GFLOP/s.
func BenchmarkConv2DVGG16(b *testing.B) {
	for _, l := range vggConvLayers {
		p := vggConvParams(l.hw, l.c, l.outC)
		b.Run(fmt.Sprintf("%dx%dx%d-%d", l.hw, l.hw, l.c, l.outC), func(b *testing.B) {
			benchConv(b, p)
		})
	}
}

// BenchmarkConv2DVGG16Total runs all 13 conv layers in sequence, as one
// inference would, reporting the total time and GFLOP/s.
func BenchmarkConv2DVGG16Total(b *testing.B) {
	type layer struct {
		p                ConvParams
		in, k, bias, out []float32
	}
	var ls []layer
	var flops int64
	for _, l := range vggConvLayers {
		p := vggConvParams(l.hw, l.c, l.outC)
		for range l.count {
			ls = append(ls, layer{p, khRand(1, p.InLen()), khRand(2, p.KernelLen()), khRand(3, p.OutC), make([]float32, p.OutLen())})
			flops += p.FLOPs()
			p = vggConvParams(l.hw, l.outC, l.outC)
		}
	}
	ws := &Workspace{}
	done := khLoad(b)
	for b.Loop() {
		for _, l := range ls {
			Conv2D(l.p, l.in, l.k, l.bias, khReLU, l.out, ws)
		}
	}
	b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/net")
	done()
}

func benchConv(b *testing.B, p ConvParams) {
	in := khRand(1, p.InLen())
	kernel := khRand(2, p.KernelLen())
	bias := khRand(3, p.OutC)
	out := make([]float32, p.OutLen())
	ws := &Workspace{}
	Conv2D(p, in, kernel, bias, khReLU, out, ws)
	done := khLoad(b)
	for b.Loop() {
		Conv2D(p, in, kernel, bias, khReLU, out, ws)
	}
	b.ReportMetric(float64(p.FLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	done()
}
