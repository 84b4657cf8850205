package gemm

import (
	"fmt"
	"github.com/kconv/kconv/exec/internal/par"
	"testing"
)

func benchGemm(b *testing.B, f gemmFunc, m, n, k int) {
	a := make([]float32, m*k)
	w := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	for i := range w {
		w[i] = float32(i%5) * 0.1
	}
	for b.Loop() {
		f(false, false, m, n, k, 1, a, k, w, n, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm measures the linked backend (parallel and serial) and the
// pure-Go code on a VGG16-like layer (28×28 pixels, 3×3×256 → 512).
func BenchmarkSgemm(b *testing.B) {
	const m, n, k = 784, 512, 2304
	pl := par.New(0)
	parallel := func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		Sgemm(pl, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	b.Run(Name()+"/parallel", func(b *testing.B) { benchGemm(b, parallel, m, n, k) })
	b.Run(Name()+"/serial", func(b *testing.B) { benchGemm(b, SgemmSerial, m, n, k) })
	b.Run("GoSgemm/serial", func(b *testing.B) { benchGemm(b, GoSgemm, 256, 256, 256) })
}

// BenchmarkSgemvFC6 is VGG16's fc6 at batch 1: y = Wᵀx, W 25088×4096.
func BenchmarkSgemvFC6(b *testing.B) {
	const m, n = 25088, 4096
	a := make([]float32, m*n)
	x := make([]float32, m)
	y := make([]float32, n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	for _, serial := range []bool{false, true} {
		pl := par.New(0)
		if serial {
			pl = par.Serial()
		}
		b.Run(fmt.Sprintf("%s/serial=%v", Name(), serial), func(b *testing.B) {
			for b.Loop() {
				Sgemv(pl, true, m, n, 1, a, n, x, 0, y)
			}
			b.ReportMetric(4*m*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
