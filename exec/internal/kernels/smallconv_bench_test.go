package kernels

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// cifarConv are the cifar_small fixture's convolutions (3×3 "same").
func cifarConv(n, hw, c, outC int) ConvParams {
	return ConvParams{N: n, H: hw, W: hw, C: c, OutC: outC, KH: 3, KW: 3,
		PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
}

// BenchmarkCifarLayers times the cifar_small layers one by one, with each
// applicable kernel, at batch 1 and 64 (the pool's workers).
func BenchmarkCifarLayers(b *testing.B) {
	for _, n := range []int{1, 64} {
		for _, l := range []struct{ hw, c, outC int }{{32, 3, 16}, {16, 16, 32}} {
			p := cifarConv(n, l.hw, l.c, l.outC)
			in, k, bias, out := khRand(1, p.InLen()), khRand(2, p.KernelLen()), khRand(3, p.OutC), make([]float32, p.OutLen())
			ws := &Workspace{}
			name := fmt.Sprintf("b%d/%dx%dx%d-%d", n, l.hw, l.hw, l.c, l.outC)
			b.Run(name+"/im2col", func(b *testing.B) {
				for b.Loop() {
					Conv2D(p, in, k, bias, khReLU, out, ws)
				}
			})
			sc := NewSmallConv(k, p)
			b.Run(name+"/direct", func(b *testing.B) {
				for b.Loop() {
					sc.Conv2D(p, in, bias, khReLU, out, ws)
				}
			})
			if WinogradOK(p) && p.C >= 8 {
				wg := NewWinograd(k, p.C, p.OutC)
				b.Run(name+"/winograd", func(b *testing.B) {
					for b.Loop() {
						wg.Conv2D(p, in, bias, khReLU, out, ws)
					}
				})
			}
		}
		for _, l := range []struct{ hw, c int }{{32, 16}, {16, 32}} {
			p := PoolParams{N: n, H: l.hw, W: l.hw, C: l.c, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
			x, dst := khRand(1, p.InLen()), make([]float32, p.OutLen())
			b.Run(fmt.Sprintf("b%d/maxpool%dx%dx%d", n, l.hw, l.hw, l.c), func(b *testing.B) {
				for b.Loop() {
					MaxPool(dst, x, p, &Workspace{Pool: par.New(0)})
				}
			})
		}
	}
}

// BenchmarkSmallConvRule times SmallConv against the im2col Conv2D and
// Winograd (where it applies) on shapes around SmallConvPays's boundary
// (bias and ReLU fused; the pool's workers).
func BenchmarkSmallConvRule(b *testing.B) {
	same := func(n, hw, c, oc, k, s int) ConvParams {
		pad := k / 2
		return ConvParams{N: n, H: hw, W: hw, C: c, OutC: oc, KH: k, KW: k, StrideH: s, StrideW: s,
			PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	}
	for _, p := range []ConvParams{
		same(1, 224, 3, 64, 3, 1),  // VGG16 conv1_1
		same(1, 224, 3, 64, 7, 2),  // ResNet stem
		same(8, 56, 4, 32, 1, 1),   // 1×1, few channels
		same(8, 56, 8, 32, 3, 1),   // k = 72
		same(8, 32, 16, 16, 3, 1),  // Winograd, C+OutC = 32
		same(8, 32, 16, 48, 3, 1),  // 64
		same(8, 32, 32, 64, 3, 1),  // 96
		same(8, 16, 64, 64, 3, 1),  // 128
		same(8, 32, 16, 32, 3, 2),  // stride 2, k = 144
		same(1, 56, 64, 64, 3, 1),  // VGG-like, batch 1
		same(1, 14, 32, 32, 3, 1),  // tiny map
		same(4, 56, 64, 256, 1, 1), // 1×1, K = 64
		same(1, 14, 512, 512, 1, 1),
		same(1, 28, 256, 512, 3, 2), // K = 2304
		same(1, 7, 512, 512, 3, 1),  // VGG conv5 at 112² input
		same(1, 112, 64, 128, 3, 2), // K = 576
		same(8, 28, 128, 128, 3, 2), // K = 1152
	} {
		in, k, bias, out := khRand(1, p.InLen()), khRand(2, p.KernelLen()), khRand(3, p.OutC), make([]float32, p.OutLen())
		ws := &Workspace{}
		name := fmt.Sprintf("n%d_%dx%dx%d-%d_k%ds%d_pays=%v", p.N, p.H, p.W, p.C, p.OutC, p.KH, max(p.StrideH, 1), SmallConvPays(p, khReLU, WinogradOK(p) && WinogradPays(p)))
		flops := func(b *testing.B) {
			b.ReportMetric(float64(p.FLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(name+"/im2col", func(b *testing.B) {
			for b.Loop() {
				Conv2D(p, in, k, bias, khReLU, out, ws)
			}
			flops(b)
		})
		sc := NewSmallConv(k, p)
		b.Run(name+"/direct", func(b *testing.B) {
			for b.Loop() {
				sc.Conv2D(p, in, bias, khReLU, out, ws)
			}
			flops(b)
		})
		if WinogradOK(p) {
			wg := NewWinograd(k, p.C, p.OutC)
			b.Run(name+"/winograd", func(b *testing.B) {
				for b.Loop() {
					wg.Conv2D(p, in, bias, khReLU, out, ws)
				}
				flops(b)
			})
		}
	}
}
