package par

import (
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
