package serve

import "testing"

// TestParallelism checks the threads/workers policy of kconv serve, every
// branch: neither given (small and large models), one given, both given.
func TestParallelism(t *testing.T) {
	for _, c := range []struct {
		flops                  int64
		cores, threads, worker int
		wantT, wantW           int
	}{
		{3.5e6, 2, 0, 0, 1, 2},         // cifar_small: a run per core
		{3.5e6, 8, 0, 0, 1, 8},         // …on 8 cores, 8 runs at once
		{SmallRunFLOPs, 2, 0, 0, 2, 1}, // at the threshold: threads
		{8e9, 2, 0, 0, 2, 1},           // ResNet50: every core on one run
		{8e9, 0, 0, 0, 1, 1},           // no cores reported: 1
		{3.5e6, 2, 2, 0, 2, 1},         // --threads alone: one worker
		{8e9, 8, 0, 2, 4, 2},           // --workers alone: cores/workers threads
		{8e9, 2, 0, 4, 1, 4},           // …at least one
		{3.5e6, 2, 3, 5, 3, 5},         // both: as given
	} {
		gotT, gotW := Parallelism(c.flops, c.cores, c.threads, c.worker)
		if gotT != c.wantT || gotW != c.wantW {
			t.Errorf("Parallelism(%g FLOPs, %d cores, threads %d, workers %d) = %d threads, %d workers; want %d, %d",
				float64(c.flops), c.cores, c.threads, c.worker, gotT, gotW, c.wantT, c.wantW)
		}
	}
}

// TestCoresBusy: a worker forming a batch waits for the batch timeout only
// when the batches already running use every core.
func TestCoresBusy(t *testing.T) {
	for _, c := range []struct {
		threads, cores, others int
		want                   bool
	}{
		{2, 2, 0, false}, // idle model: never wait
		{2, 2, 1, true},  // one 2-thread run on 2 cores: busy
		{1, 2, 1, false}, // one 1-thread run on 2 cores: a core is free
		{1, 2, 2, true},
		{1, 4, 3, false},
		{4, 4, 1, true},
	} {
		b := &batcher{threads: c.threads, cores: c.cores}
		if got := b.coresBusy(c.others); got != c.want {
			t.Errorf("threads %d, cores %d, %d others running: coresBusy %v, want %v", c.threads, c.cores, c.others, got, c.want)
		}
	}
}
