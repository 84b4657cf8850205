package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// parJob is work split into items for parDo; runItem(worker, item) runs
// one item on worker (0 ≤ worker < the workers parDo was given).
type parJob interface{ runItem(worker, item int) }

// parDo runs job's items 0..items-1 on up to workers goroutines (at most
// GOMAXPROCS): the caller's and long-lived helpers, each taking the next
// item from an atomic counter, so a worker whose core is taken by another
// process just takes fewer items. A helper joins when it gets to the call;
// one that arrives after the caller has run out of items does nothing, and
// the caller waits only for helpers that joined. Nothing is allocated in
// steady state: the call's state comes from a free list, helpers are
// handed it through a channel, and job is an interface (pass a pointer).
func parDo(workers, items int, job parJob) {
	workers = min(workers, items, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range items {
			job.runItem(0, i)
		}
		return
	}
	parStartHelpers(workers - 1)
	var r *parRun
	select {
	case r = <-parFree:
	default:
		r = &parRun{}
	}
	r.mu.Lock()
	r.gen++
	gen := r.gen
	r.job, r.items = job, items
	r.next.Store(0)
	r.joined, r.closed = 1, false
	r.finished.Store(0)
	r.mu.Unlock()
	for range workers - 1 {
		select {
		case parTokens <- parToken{r, gen}:
		default: // helpers swamped: do without
		}
	}
	// A helper readied by the send above goes to this P's runnext slot,
	// which an idle P steals from only after a usleep(3) that timer slack
	// makes ~50-100 µs here (measured: median 100 µs from send to join).
	// Yielding lets this P run the helper at once; this goroutine resumes
	// from the global queue, on the other P as soon as it wakes (median
	// 2-10 µs to join). cifar_small's conv layers at batch 64, 2 threads:
	// 400 → 355 µs and 805 → 725 µs.
	runtime.Gosched()
	r.loop(0)
	r.mu.Lock()
	r.closed = true
	want := int32(r.joined - 1)
	r.mu.Unlock()
	// Joined helpers are finishing one item each: yield to them (or to
	// anything else) while they do. A helper still busy after parSpin has
	// lost its core (the machine is shared); then poll with sleeps.
	t0 := time.Now()
	for spin := 1; r.finished.Load() < want; spin++ {
		if spin%16 == 0 && time.Since(t0) > parSpin {
			time.Sleep(parSpin / 4)
			continue
		}
		runtime.Gosched()
	}
	r.job = nil
	select {
	case parFree <- r:
	default:
	}
}

// parRun is the state of one parDo call, shared with its helpers.
type parRun struct {
	job   parJob
	items int
	next  atomic.Int64

	mu       sync.Mutex
	gen      uint64       // which call r serves (helpers holding an older token leave)
	joined   int          // workers that joined (the caller included)
	closed   bool         // the caller has finished its items: nobody joins any more
	finished atomic.Int32 // helpers done
}

// parToken asks a helper to join call gen of r.
type parToken struct {
	r   *parRun
	gen uint64
}

// parSpin bounds the time the caller yields while waiting for its
// helpers before it polls with sleeps (an item takes ~10-20 µs in
// cifar_small; now and then a helper's thread loses its core for much
// longer).
const parSpin = 200 * time.Microsecond

// parHelperSpin is how long an idle helper keeps polling for work: longer
// than the gaps between parallel sections in a run and between runs
// (cifar_small at batch 64: ~0.2 ms of dense layers and copies).
const parHelperSpin = time.Millisecond

var (
	parFree    = make(chan *parRun, 16)
	parTokens  = make(chan parToken, 64)
	parMu      sync.Mutex
	parHelpers atomic.Int32 // helper goroutines started
)

// parStartHelpers makes sure n helper goroutines exist. They live for the
// process, polling parTokens for a while after their last work and then
// blocked on it.
func parStartHelpers(n int) {
	if int(parHelpers.Load()) >= n {
		return
	}
	parMu.Lock()
	for int(parHelpers.Load()) < n {
		go parHelper()
		parHelpers.Add(1)
	}
	parMu.Unlock()
}

func parHelper() {
	for {
		t := parNextToken()
		t.r.help(t.gen)
	}
}

// parNextToken waits for a token: for parHelperSpin polling, yielding
// the P between polls, then blocked. A helper that slept would need a
// wake-up at the next parallel section; on this machine's virtual CPUs
// that costs ~10 µs, and now and then the other core is gone for a whole
// run: cifar_small at batch 64 then took single-core time (~2.2 ms instead
// of ~1.25) in about a third of the processes, whereas ONNX Runtime, whose
// workers spin between operators, did not. The cost: while a helper polls,
// its P does not steal, so a goroutine another kernel starts (gemm's
// parallelRange) waits in the starter's runnext slot until the starter
// blocks; a runtime.Gosched() after such go statements, as parDo does,
// avoids that (measured on cifar_small's dense layer in gemm: 1.26 → 1.18
// ms per batch of 64).
func parNextToken() parToken {
	select {
	case t := <-parTokens:
		return t
	default:
	}
	t0 := time.Now()
	for spin := 1; ; spin++ {
		select {
		case t := <-parTokens:
			return t
		default:
		}
		if spin%64 == 0 && time.Since(t0) > parHelperSpin {
			return <-parTokens
		}
		runtime.Gosched()
	}
}

func (r *parRun) help(gen uint64) {
	r.mu.Lock()
	if r.gen != gen || r.closed {
		r.mu.Unlock()
		return
	}
	w := r.joined
	r.joined++
	r.mu.Unlock()
	r.loop(w)
	r.finished.Add(1)
}

func (r *parRun) loop(w int) {
	for {
		i := int(r.next.Add(1)) - 1
		if i >= r.items {
			return
		}
		r.job.runItem(w, i)
	}
}
