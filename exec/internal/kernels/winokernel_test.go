package kernels

import (
	"math/rand/v2"
	"testing"
)

// The kernel transforms of both Winograd paths against the plain
// G·g·Gᵀ they replace (written as the math reads, in float64): equal bit
// for bit, on shapes with and without whole 16-channel blocks.

// refSCWinoU is G g Gᵀ for F(2×2, 3×3) in scWino.u's layout.
func refSCWinoU(kernel []float32, c, oc int) []float32 {
	nob := oc / 16
	u := make([]float32, 16*oc*c)
	var gg [4][3]float64
	for ci := range c {
		for o := range oc {
			g := refTaps(kernel, c, oc, ci, o)
			for kw := range 3 {
				gg[0][kw] = g[0][kw]
				gg[1][kw] = (g[0][kw] + g[1][kw] + g[2][kw]) * 0.5
				gg[2][kw] = (g[0][kw] - g[1][kw] + g[2][kw]) * 0.5
				gg[3][kw] = g[2][kw]
			}
			for i := range 4 {
				row := [4]float64{gg[i][0], (gg[i][0] + gg[i][1] + gg[i][2]) * 0.5, (gg[i][0] - gg[i][1] + gg[i][2]) * 0.5, gg[i][2]}
				for j := range 4 {
					u[(((4*i+j)*nob+o/16)*c+ci)*16+o%16] = float32(row[j])
				}
			}
		}
	}
	return u
}

// refTaps is the 3×3 taps of input channel ci and output channel o of an
// HWIO kernel, in float64.
func refTaps(kernel []float32, c, oc, ci, o int) (g [3][3]float64) {
	for kh := range 3 {
		for kw := range 3 {
			g[kh][kw] = float64(kernel[((kh*3+kw)*c+ci)*oc+o])
		}
	}
	return g
}

// refWinogradU is G g Gᵀ for F(4×4, 3×3) in Winograd.u's layout.
func refWinogradU(kernel []float32, c, oc int) []float32 {
	u := make([]float32, winoXi*c*oc)
	var gg [winoIn][3]float64
	for ci := range c {
		for o := range oc {
			g := refTaps(kernel, c, oc, ci, o)
			for kw := range 3 {
				winoG(g[0][kw], g[1][kw], g[2][kw], &gg, kw)
			}
			for i := range winoIn {
				var row [winoIn][3]float64
				winoG(gg[i][0], gg[i][1], gg[i][2], &row, 0)
				for j := range winoIn {
					u[((i*winoIn+j)*c+ci)*oc+o] = float32(row[j][0])
				}
			}
		}
	}
	return u
}

func randKernel(r *rand.Rand, n int) []float32 {
	k := make([]float32, n)
	for i := range k {
		k[i] = float32(r.NormFloat64())
	}
	return k
}

func TestWinogradKernelTransforms(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for _, s := range []struct{ c, oc int }{{16, 16}, {32, 48}, {48, 32}, {16, 64}} {
		k := randKernel(r, 9*s.c*s.oc)
		p := ConvParams{N: 1, H: 8, W: 8, C: s.c, OutC: s.oc, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 1}
		got := newSCWino(k, p, 8, 8, 10).u
		if d := firstDiff(got, refSCWinoU(k, s.c, s.oc)); d >= 0 {
			t.Errorf("F(2×2) %d→%d: value %d differs", s.c, s.oc, d)
		}
	}
	for _, s := range []struct{ c, oc int }{{1, 1}, {3, 5}, {16, 16}, {17, 33}} {
		k := randKernel(r, 9*s.c*s.oc)
		got := NewWinograd(k, s.c, s.oc).u
		if d := firstDiff(got, refWinogradU(k, s.c, s.oc)); d >= 0 {
			t.Errorf("F(4×4) %d→%d: value %d differs", s.c, s.oc, d)
		}
	}
}

func firstDiff(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func BenchmarkWinogradKernelTransforms(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 9))
	k := randKernel(r, 9*256*256)
	p := ConvParams{N: 1, H: 14, W: 14, C: 256, OutC: 256, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 1}
	b.Run("F2x2", func(b *testing.B) {
		for b.Loop() {
			newSCWino(k, p, 14, 14, 16)
		}
	})
	b.Run("F4x4", func(b *testing.B) {
		for b.Loop() {
			NewWinograd(k, 256, 256)
		}
	})
}

// winoG sets dst[·][col] = G·(g0, g1, g2) (the transform before winoG6).
func winoG(g0, g1, g2 float64, dst *[winoIn][3]float64, col int) {
	const sixth, twelfth, twentyfourth = 1.0 / 6, 1.0 / 12, 1.0 / 24
	dst[0][col] = g0 * 0.25
	dst[1][col] = -(g0 + g1 + g2) * sixth
	dst[2][col] = -(g0 - g1 + g2) * sixth
	dst[3][col] = g0*twentyfourth + g1*twelfth + g2*sixth
	dst[4][col] = g0*twentyfourth - g1*twelfth + g2*sixth
	dst[5][col] = g2
}
