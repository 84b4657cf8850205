package serve

// SmallRunFLOPs is the work per row (ir.FLOPs) below which Parallelism
// runs a model on one thread per run and as many runs at once as there are
// cores, instead of one run at a time on every core.
//
// Decision (serve5): a row of 10 MFLOP takes ~0.1 ms on one core at the
// ~100 GFLOP/s kconv's kernels reach on such layers, about what a request
// costs the server in HTTP alone (~50–90 µs of CPU on loopback with binary
// tensors). Below that, a second thread cannot shorten a lone request much
// (its latency is mostly HTTP) and costs more than it saves: each layer's
// parallel section wakes a helper and synchronises with it, and the helper
// then polls for the next section (exec's par pool), CPU the server's HTTP
// work needs. Two single-threaded runs at once have none of that and use
// both cores under load. On the 2-core development machine cifar_small
// (3.5 MFLOP per row), 1 row per request, cost the server 10–25% less CPU
// per request with one thread and two workers than with two threads and one
// worker (docs/serving.md). Above it (MobileNetV2's 600 MFLOP, ResNet50's
// 8 GFLOP) a row's run is long enough for threads to shorten it, which a
// request waits for, and batches merge under load anyway.
const SmallRunFLOPs = 10e6

// Parallelism returns the threads per run and the workers (runs of the
// model at once) for a model with flopsPerRow FLOPs per row on cores
// cores, given the user's choices threads and workers (0: not given):
//
//   - neither given: 1 thread and cores workers for a model under
//     SmallRunFLOPs per row, else cores threads and 1 worker;
//   - only workers given: cores/workers threads (at least 1), so the runs
//     at once do not ask for more threads than there are cores;
//   - only threads given: 1 worker;
//   - both given: as given.
func Parallelism(flopsPerRow int64, cores, threads, workers int) (int, int) {
	cores = max(cores, 1)
	switch {
	case threads > 0 && workers > 0:
		return threads, workers
	case threads > 0:
		return threads, 1
	case workers > 0:
		return max(1, cores/workers), workers
	case flopsPerRow < SmallRunFLOPs:
		return 1, cores
	}
	return cores, 1
}
