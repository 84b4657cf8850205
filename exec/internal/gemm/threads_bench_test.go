//go:build openblas && cgo

package gemm

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// foreignLoad returns a function reporting the average number of cores that
// other processes kept busy since the call ("foreign-cores"; the
// development machine is shared), or nothing where /proc/stat is missing.
func foreignLoad(b *testing.B) func() {
	busy := func() (int64, bool) {
		data, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, false
		}
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != "cpu" {
			return 0, false
		}
		var t int64
		for i, s := range f[1:] {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, false
			}
			if i != 3 && i != 4 { // idle, iowait
				t += v
			}
		}
		return t, true
	}
	own := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b0, ok0 := busy()
	o0, t0 := own(), time.Now()
	return func() {
		b1, ok1 := busy()
		if !ok0 || !ok1 {
			return
		}
		f := (float64(b1-b0)/100 - (own() - o0).Seconds()) / time.Since(t0).Seconds()
		b.ReportMetric(max(f, 0), "foreign-cores")
	}
}

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

// BenchmarkThreading compares ways of spending two cores on a conv layer's
// GEMM. The variants run round-robin inside one benchmark loop so that the
// machine's background load hits them alike; each reports its median
// GFLOP/s:
//
//	blas1:      one OpenBLAS call, 1 thread (baseline)
//	blas2:      one OpenBLAS call over the whole (unbounded) im2col matrix,
//	            OpenBLAS's own 2 threads
//	blas2tiles: the conv kernel's bounded row tiles in sequence, OpenBLAS's
//	            2 threads inside each call
//	go2tiles:   the same tiles pulled by 2 goroutines, OpenBLAS at 1 thread
//	            (what Conv2D does)
func BenchmarkThreading(b *testing.B) {
	if Name() != "openblas" {
		b.Skip("OpenBLAS only")
	}
	defer blasThreads(1)
	if testing.Short() {
		b.Skip("slow: sleeps between variants")
	}
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
		// Conv2D's tile rule: 4 MiB of im2col, 1 MiB of output, >= 128 rows.
		tile := max(128, min((256<<10)/s.n, (1<<20)/s.k))
		ntiles := (s.m + tile - 1) / tile
		ntiles = (ntiles + 1) / 2 * 2
		tile = (s.m + ntiles - 1) / ntiles
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
			name   string
			settle bool
			f      func()
		}{
			{"blas1", true, func() { SgemmSerial(false, false, s.m, s.n, s.k, 1, a, s.k, w, s.n, 0, c, s.n) }},
			{"go2tiles", false, func() { tiled(2) }},
			{"blas2", false, func() { blasThreads(2); SgemmSerial(false, false, s.m, s.n, s.k, 1, a, s.k, w, s.n, 0, c, s.n) }},
			{"blas2tiles", false, func() { blasThreads(2); tiled(1) }},
		}
		b.Run(s.name, func(b *testing.B) {
			times := make([][]time.Duration, len(variants))
			done := foreignLoad(b)
			for b.Loop() {
				for i, v := range variants {
					if v.settle {
						// After a multi-threaded OpenBLAS call its idle worker
						// spins (sched_yield) for ~2^28 cycles before sleeping,
						// stealing a core from whatever runs next; let it sleep.
						blasThreads(1)
						time.Sleep(150 * time.Millisecond)
					}
					t0 := time.Now()
					v.f()
					times[i] = append(times[i], time.Since(t0))
				}
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			for i, v := range variants {
				slices.Sort(times[i])
				med := times[i][len(times[i])/2]
				b.ReportMetric(flops/med.Seconds()/1e9, "GFLOP/s-"+v.name)
			}
			b.ReportMetric(0, "ns/op")
			done()
		})
	}
}
