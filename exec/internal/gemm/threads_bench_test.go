package gemm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// vggGemms are VGG16's distinct 3×3 conv layers at 224×224 as im2col GEMMs:
// m = output pixels, n = output channels, k = 9*input channels.
var vggGemms = []struct {
	name    string
	m, n, k int
}{
	{"224x3x64", 224 * 224, 64, 27},
	{"224x64x64", 224 * 224, 64, 576},
	{"112x64x128", 112 * 112, 128, 576},
	{"112x128x128", 112 * 112, 128, 1152},
	{"56x128x256", 56 * 56, 256, 1152},
	{"56x256x256", 56 * 56, 256, 2304},
	{"28x256x512", 28 * 28, 512, 2304},
	{"28x512x512", 28 * 28, 512, 4608},
	{"14x512x512", 14 * 14, 512, 4608},
}

// BenchmarkThreading compares the ways of using two cores on one GEMM:
//
//	blas1:      one OpenBLAS call, 1 thread (baseline)
//	blas2:      one OpenBLAS call, OpenBLAS's 2 threads
//	go2:        Sgemm: 2 goroutines on row halves, OpenBLAS 1 thread each
//	go2tiles:   2 goroutines pulling 2 MB-of-A row tiles (the conv pattern)
//	blas2tiles: the same tiles in sequence, OpenBLAS's 2 threads
func BenchmarkThreading(b *testing.B) {
	if Name() != "openblas" {
		b.Skip("OpenBLAS only")
	}
	defer func() { blasThreads(1); SetThreads(0) }()
	for _, s := range vggGemms {
		a := make([]float32, s.m*s.k)
		w := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for i := range a {
			a[i] = float32(i%7) * 0.1
		}
		for i := range w {
			w[i] = float32(i%5) * 0.1
		}
		tile := max(16, (2<<20)/(4*s.k)/16*16)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		tiled := func(workers int) {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i0 := int(next.Add(int64(tile))) - tile
						if i0 >= s.m {
							return
						}
						mm := min(tile, s.m-i0)
						SgemmSerial(false, false, mm, s.n, s.k, 1, a[i0*s.k:], s.k, w, s.n, 0, c[i0*s.n:], s.n)
					}
				}()
			}
			wg.Wait()
		}
		variants := []struct {
			name string
			f    func()
		}{
			{"blas1", func() { blasThreads(1); SgemmSerial(false, false, s.m, s.n, s.k, 1, a, s.k, w, s.n, 0, c, s.n) }},
			{"blas2", func() { blasThreads(2); SgemmSerial(false, false, s.m, s.n, s.k, 1, a, s.k, w, s.n, 0, c, s.n) }},
			{"go2", func() { blasThreads(1); SetThreads(2); Sgemm(false, false, s.m, s.n, s.k, 1, a, s.k, w, s.n, 0, c, s.n) }},
			{"go2tiles", func() { blasThreads(1); tiled(2) }},
			{"blas2tiles", func() { blasThreads(2); tiled(1) }},
		}
		for _, v := range variants {
			b.Run(fmt.Sprintf("%s/%s", s.name, v.name), func(b *testing.B) {
				v.f()
				b.ResetTimer()
				for b.Loop() {
					v.f()
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
