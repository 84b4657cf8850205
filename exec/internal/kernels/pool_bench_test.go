package kernels

import (
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// VGG16 sizes: block1 pool 224x224x64 -> 112x112x64 and block5 pool.
func benchPool(b *testing.B, p PoolParams, avg bool, threads int) {
	x, dst := tuRand(1, p.InLen(), 1), make([]float32, p.OutLen())
	b.SetBytes(int64(4 * (p.InLen() + p.OutLen())))
	for b.Loop() {
		if avg {
			AvgPool(dst, x, p, &Workspace{Pool: par.New(threads)})
		} else {
			MaxPool(dst, x, p, &Workspace{Pool: par.New(threads)})
		}
	}
}

var vggPool1 = PoolParams{N: 1, H: 224, W: 224, C: 64, KH: 2, KW: 2, StrideH: 2, StrideW: 2}

func BenchmarkMaxPoolVGG1(b *testing.B)   { benchPool(b, vggPool1, false, 1) }
func BenchmarkMaxPoolVGG1T2(b *testing.B) { benchPool(b, vggPool1, false, 2) }
func BenchmarkMaxPoolVGG5(b *testing.B) {
	benchPool(b, PoolParams{N: 1, H: 14, W: 14, C: 512, KH: 2, KW: 2, StrideH: 2, StrideW: 2}, false, 1)
}
func BenchmarkAvgPool3x3Same(b *testing.B) {
	benchPool(b, PoolParams{N: 1, H: 56, W: 56, C: 128, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, 1)
}
func BenchmarkRefMaxPoolVGG1(b *testing.B) {
	x := tuRand(1, vggPool1.InLen(), 1)
	for b.Loop() {
		RefMaxPool(x, vggPool1)
	}
}
func BenchmarkGlobalAvgPool7x7x512(b *testing.B) {
	x, dst := tuRand(1, 7*7*512, 1), make([]float32, 512)
	for b.Loop() {
		GlobalAvgPool(dst, x, 1, 7, 7, 512, nil)
	}
}

// Inception-v3's max poolings: 3×3 stride 2 over 147²×64 and 71²×192, at
// batch 8 (the input far larger than the last-level cache, as in a run).
func BenchmarkMaxPoolInception1B8(b *testing.B) {
	benchPool(b, PoolParams{N: 8, H: 147, W: 147, C: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, false, 1)
}
func BenchmarkMaxPoolInception2B8(b *testing.B) {
	benchPool(b, PoolParams{N: 8, H: 71, W: 71, C: 192, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, false, 1)
}
func BenchmarkMaxPoolInception2(b *testing.B) {
	benchPool(b, PoolParams{N: 1, H: 71, W: 71, C: 192, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, false, 1)
}
