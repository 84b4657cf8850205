package gemm

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// convShapes are conv layers as the GEMMs kconv runs them: m = output
// pixels, n = output channels, k = kernel taps × input channels.
var convShapes = []struct {
	name    string
	m, n, k int
}{
	{"56²,3x3,64→64", 3136, 64, 576},
	{"56²,3x3,128→128", 3136, 128, 1152},
	{"56²,3x3,256→256", 3136, 256, 2304},
	{"28²,3x3,256→512", 784, 512, 2304},
	{"14²,3x3,512→512", 196, 512, 4608},
	{"56²,1x1,64→256", 3136, 256, 64},
	{"56²,1x1,256→64", 3136, 64, 256},
	{"56²,1x1,240→80", 3136, 80, 240},
	{"28²,1x1,240→40", 784, 40, 240},
	{"7²,1x1,512→2048", 49, 2048, 512},
}

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
	flops := 2 * float64(m) * float64(n) * float64(k)
	bestRun(b, flops, func() { f(false, false, m, n, k, 1, a, k, w, n, 0, c, n) })
}

// bestRun runs f b.N times on one locked thread, timing each call in
// thread CPU time, and reports besides ns/op the GFLOP/s of the median call
// ("cpu-GFLOP/s"): on a shared machine wall time mostly measures the other
// processes.
func bestRun(b *testing.B, flops float64, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ds []float64
	for b.Loop() {
		t0 := threadCPU()
		f()
		ds = append(ds, threadCPU()-t0)
	}
	slices.Sort(ds)
	if med := ds[len(ds)/2]; med > 0 {
		b.ReportMetric(flops/med/1e9, "cpu-GFLOP/s")
	}
}

// BenchmarkFamilies measures each family's single-threaded SGEMM on the
// conv shapes (OpenBLAS too in builds with the openblas tag). Compare with
// BenchmarkPeakFMA for % of peak; the machine may be shared, so run with
// -count and take the best.
func BenchmarkFamilies(b *testing.B) {
	for _, s := range convShapes {
		for _, f := range families {
			if f.name == "generic" && testing.Short() {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", s.name, f.name), func(b *testing.B) { benchGemm(b, familyGemm(f), s.m, s.n, s.k) })
		}
	}
}

// BenchmarkPacked compares Sgemm with SgemmPacked (op(B) packed once,
// outside the timing) for the active family on small-m conv shapes, one
// thread.
func BenchmarkPacked(b *testing.B) {
	for _, s := range []struct {
		name    string
		m, n, k int
	}{
		{"14²,3x3,512→512", 196, 512, 4608},
		{"7²,3x3,512→512", 49, 512, 4608},
		{"7²,1x1,512→2048", 49, 2048, 512},
		{"28²,3x3,256→512", 784, 512, 2304},
	} {
		w := make([]float32, s.k*s.n)
		for i := range w {
			w[i] = float32(i%5) * 0.1
		}
		pb := PackB(false, s.k, s.n, w, s.n)
		packed := func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, _ []float32, _ int, beta float32, c []float32, ldc int) {
			SgemmPackedSerial(transA, m, alpha, a, lda, pb, beta, c, ldc)
		}
		b.Run(s.name+"/"+Name()+"/Sgemm", func(b *testing.B) { benchGemm(b, SgemmSerial, s.m, s.n, s.k) })
		b.Run(s.name+"/"+Name()+"/SgemmPacked", func(b *testing.B) { benchGemm(b, packed, s.m, s.n, s.k) })
	}
}

// BenchmarkSgemm measures the dispatched entry points (parallel and
// serial) on a VGG16-like layer (28×28 pixels, 3×3×256 → 512).
func BenchmarkSgemm(b *testing.B) {
	const m, n, k = 784, 512, 2304
	pl := par.New(0)
	parallel := func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		Sgemm(pl, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	b.Run(Name()+"/parallel", func(b *testing.B) { benchGemm(b, parallel, m, n, k) })
	b.Run(Name()+"/serial", func(b *testing.B) { benchGemm(b, SgemmSerial, m, n, k) })
}

// BenchmarkPeakFMA measures one core's FMA throughput with independent
// chains, per vector width: the peak the GEMM numbers compare against.
func BenchmarkPeakFMA(b *testing.B) {
	for _, f := range families {
		if f.peak == nil {
			continue
		}
		b.Run(fmt.Sprintf("%s/%d-wide", f.name, f.peakWidth), func(b *testing.B) {
			const iters = 1 << 14
			fmas := f.peak(1) * iters
			bestRun(b, 2*float64(f.peakWidth)*float64(fmas), func() { f.peak(iters) })
		})
	}
}

// BenchmarkSgemvFC6 is VGG16's fc6 at batch 1: y = Wᵀx, W 25088×4096,
// per family, single-threaded, and the dispatched parallel Sgemv. The
// metric is GB/s of A read (named cpu-GFLOP/s by bestRun), per thread CPU
// time: misleading for "parallel", whose helpers' time is not counted.
func BenchmarkSgemvFC6(b *testing.B) {
	const m, n = 25088, 4096
	a := make([]float32, m*n)
	x := make([]float32, m)
	y := make([]float32, n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	run := func(name string, f gemvFunc, trans bool) {
		b.Run(fmt.Sprintf("%s/trans=%v", name, trans), func(b *testing.B) {
			// "cpu-GFLOP/s" here is GB/s of A read, per thread CPU time.
			bestRun(b, 4*m*n, func() {
				if trans {
					f(true, m, n, 1, a, n, x, 0, y)
				} else {
					f(false, n, m, 1, a, m, x, 0, y)
				}
			})
		})
	}
	pl := par.New(0)
	parallel := func(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
		Sgemv(pl, trans, m, n, alpha, a, lda, x, beta, y)
	}
	for _, trans := range []bool{true, false} {
		run("parallel", parallel, trans)
		for _, f := range families {
			run(f.name, familyGemv(f), trans)
		}
	}
}
