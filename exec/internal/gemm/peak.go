package gemm

import (
	"runtime"
	"time"
)

// PeakGFLOPS measures one core's single-precision FMA peak in GFLOP/s with
// the widest vector kernel this CPU runs (zmm with AVX-512, ymm with AVX2;
// independent FMA chains, no memory traffic), for reporting a model's speed
// as a fraction of the machine's: it runs for about d (at least 1 ms) on
// the calling goroutine and returns the best of its 1 ms rounds, so a
// round disturbed by other processes does not count. It returns 0 where
// no assembly family exists (purego builds, other architectures).
func PeakGFLOPS(d time.Duration) float64 {
	var f *family
	for _, g := range families {
		if g.peak != nil {
			f = g
			break
		}
	}
	if f == nil {
		return 0
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Calibrate a round to ~1 ms.
	iters := 1 << 10
	for {
		t0 := time.Now()
		f.peak(iters)
		if time.Since(t0) >= 250*time.Microsecond || iters >= 1<<24 {
			break
		}
		iters *= 2
	}
	iters *= 4
	flops := 2 * float64(f.peakWidth) * float64(f.peak(1)) * float64(iters)
	best := 0.0
	for end := time.Now().Add(max(d, time.Millisecond)); ; {
		t0 := time.Now()
		f.peak(iters)
		best = max(best, flops/time.Since(t0).Seconds()/1e9)
		if !time.Now().Before(end) {
			break
		}
	}
	return best
}
