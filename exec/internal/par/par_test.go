package par

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// countJob records how many items run at once and which items ran.
type countJob struct {
	active, peak atomic.Int32
	ran          []atomic.Int32
}

func (j *countJob) RunItem(_, item int) {
	n := j.active.Add(1)
	for {
		p := j.peak.Load()
		if n <= p || j.peak.CompareAndSwap(p, n) {
			break
		}
	}
	for i := 0; i < 2000; i++ { // a little work, so items overlap
		_ = i * i
	}
	j.ran[item].Add(1)
	j.active.Add(-1)
}

// TestPoolBudget runs two Pools with different budgets concurrently: each
// runs every item exactly once and never more items at once than its own
// budget allows.
func TestPoolBudget(t *testing.T) {
	var wg sync.WaitGroup
	for _, workers := range []int{1, 2, 3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := New(workers)
			for range 50 {
				j := &countJob{ran: make([]atomic.Int32, 37)}
				p.Do(8, len(j.ran), j)
				for i := range j.ran {
					if c := j.ran[i].Load(); c != 1 {
						t.Errorf("workers %d: item %d ran %d times", workers, i, c)
						return
					}
				}
				if pk := j.peak.Load(); int(pk) > workers {
					t.Errorf("workers %d: %d items ran at once", workers, pk)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestForCoversRange(t *testing.T) {
	var nilPool *Pool
	for _, p := range []*Pool{nilPool, New(1), New(2), New(5)} {
		for _, total := range []int{0, 1, 7, 64, 1001} {
			seen := make([]atomic.Int32, total)
			p.For(total, 4, func(lo, hi int) {
				if lo%4 != 0 {
					t.Errorf("chunk start %d not aligned", lo)
				}
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
			})
			for i := range seen {
				if seen[i].Load() != 1 {
					t.Fatalf("workers %d total %d: index %d covered %d times", p.Workers(), total, i, seen[i].Load())
				}
			}
		}
	}
}

// workerJob checks that each item runs once, on a worker below the count
// Do was given, and that no two items run on one worker at once.
type workerJob struct {
	workers int
	busy    []atomic.Int32
	ran     []atomic.Int32
	bad     atomic.Int32
}

func (j *workerJob) RunItem(w, item int) {
	if w < 0 || w >= j.workers || j.busy[w].Add(1) != 1 {
		j.bad.Add(1)
		return
	}
	for i := 0; i < 20000; i++ {
		_ = i * i
	}
	j.ran[item].Add(1)
	j.busy[w].Add(-1)
}

// TestWorkerNumbers runs calls asking for fewer workers than the Pool
// has, from several goroutines at once on one Pool (a server's
// concurrent runs of one Program): every item runs once, and worker
// numbers stay below the call's count and are never shared by two
// running items (kernels index per-worker scratch by them).
func TestWorkerNumbers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // Do uses at most GOMAXPROCS workers
	p := New(4)
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 300 {
				workers := 1 + (g+k)%4
				j := &workerJob{workers: workers, busy: make([]atomic.Int32, 4), ran: make([]atomic.Int32, 1+k%37)}
				p.Do(workers, len(j.ran), j)
				if b := j.bad.Load(); b != 0 {
					t.Errorf("%d items ran on a worker number out of range or in use", b)
					return
				}
				for i := range j.ran {
					if c := j.ran[i].Load(); c != 1 {
						t.Errorf("item %d ran %d times", i, c)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// sumJob computes for n steps per item: an item's cost without memory
// traffic.
type sumJob struct {
	n    int
	sink [2][8]float64 // a line per worker
}

func (j *sumJob) RunItem(w, _ int) {
	s := 0.0
	for i := range j.n {
		s += float64(i) * 1.0000001
	}
	j.sink[w%2][0] += s
}

// BenchmarkDo times a two-worker call of two items: with empty items, the
// Pool's own cost; with items of ~0.7 and ~7 µs, how much the call adds
// to one item's time (the helper's start and the caller's wait). Xeon (2
// vCPUs): 0.83-1.02, 1.85-2.33 and 8.1-8.5 µs, the helper starting
// 0.75-0.9 µs after the caller (median). A Pool whose call state was one
// atomic word (joins and takes by compare-and-swap, no mutex or channel on
// the path) started it after 0.56 µs and cost 0.54-0.70, 1.67-1.68 and
// 7.8-8.0 µs, but its helpers' tighter polling made batch-8 runs slower
// (ResNet50 215 → 230 ms, MobileNetV2 25.2 → 26.5, alternated) for 1% at
// batch 1: not kept.
func BenchmarkDo(b *testing.B) {
	for _, n := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("work%d", n), func(b *testing.B) {
			p := New(2)
			j := &sumJob{n: n}
			for b.Loop() {
				p.Do(2, 2, j)
			}
		})
	}
}
