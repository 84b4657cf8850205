package gemm

import "golang.org/x/sys/unix"

// threadCPU reports the calling thread's CPU time in seconds: benchmarks
// lock their goroutine to a thread and time each call with it, so the
// time other processes take on the shared machine is not counted.
func threadCPU() float64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}
