// Package par is the execution context's thread budget: a Pool of worker
// goroutines owned by one compiled Program. Kernels split their work into
// items and hand them to the Pool; nothing here is process-global, so two
// Programs compiled with different thread counts run side by side, each
// within its own budget.
//
// A Pool runs a call's items on the calling goroutine and up to
// Workers()-1 long-lived helpers taking items from a shared range (the
// caller from its front, helpers from its back), so a worker whose core is
// taken by another process simply takes fewer items. Helpers poll for a short while after their last work (a
// wake-up costs ~10 µs on virtual CPUs, more than many layers take) and
// exit after idleExit without work, so an unused Pool holds no goroutines.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Job is work split into items; RunItem(worker, item) runs one item on
// worker (0 ≤ worker < the workers Do was given). Pass a pointer so that
// Do allocates nothing.
type Job interface{ RunItem(worker, item int) }

// Pool is a thread budget. The zero value and a nil *Pool run everything
// on the calling goroutine.
type Pool struct {
	workers int
	tokens  chan token
	free    chan *call

	mu      sync.Mutex
	helpers int // helper goroutines alive
	// spinning counts helpers polling for a token (see nextToken).
	spinning atomic.Int32
}

// New returns a Pool of n workers (the caller included); n < 1 means
// runtime.NumCPU().
func New(n int) *Pool {
	if n < 1 {
		n = runtime.NumCPU()
	}
	return &Pool{workers: n, tokens: make(chan token, 64), free: make(chan *call, 16)}
}

// Serial is a one-worker Pool.
func Serial() *Pool { return New(1) }

// Workers reports the budget: how many goroutines may compute at once.
func (p *Pool) Workers() int {
	if p == nil || p.workers < 1 {
		return 1
	}
	return p.workers
}

// Do runs job's items 0..items-1 on up to min(workers, p.Workers(),
// GOMAXPROCS) goroutines and returns when all are done.
func (p *Pool) Do(workers, items int, job Job) {
	workers = min(workers, p.Workers(), items, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range items {
			job.RunItem(0, i)
		}
		return
	}
	p.startHelpers(workers - 1)
	var c *call
	select {
	case c = <-p.free:
	default:
		c = &call{}
	}
	c.mu.Lock()
	c.gen++
	gen := c.gen
	c.job, c.items = job, items
	c.next.Store(uint64(items) << 32)
	c.joined, c.closed = 1, false
	c.finished.Store(0)
	c.mu.Unlock()
	for range workers - 1 {
		select {
		case p.tokens <- token{c, gen}:
		default: // helpers swamped: do without
		}
	}
	// A helper blocked on the channel and readied by the send above goes
	// to this P's runnext slot, which an idle P steals from only after a
	// usleep(3) that timer slack makes ~50-100 µs on these VMs. Yielding
	// lets this P run the helper at once; this goroutine resumes from the
	// global queue, on the other P as soon as it wakes (median 2-10 µs to
	// join). Helpers that are polling take their tokens themselves, and
	// then the caller does not yield: a yield could move it to the other
	// core, away from the data the layers before it left in this core's
	// caches (at batch 1 small models ran slower on two threads than on
	// one).
	if p.spinning.Load() < int32(workers-1) {
		runtime.Gosched()
	}
	c.loop(0)
	c.mu.Lock()
	c.closed = true
	want := int32(c.joined - 1)
	c.mu.Unlock()
	// Joined helpers are finishing one item each: yield to them while they
	// do. A helper still busy after callerSpin has lost its core (the
	// machine is shared); then poll with sleeps.
	t0 := time.Now()
	for spin := 1; c.finished.Load() < want; spin++ {
		if spin%16 == 0 && time.Since(t0) > callerSpin {
			time.Sleep(callerSpin / 4)
			continue
		}
		runtime.Gosched()
	}
	c.job = nil
	select {
	case p.free <- c:
	default:
	}
}

// funcJob adapts For's closure to Job.
type funcJob struct {
	total, chunk int
	f            func(lo, hi int)
}

func (j *funcJob) RunItem(_, it int) {
	lo := it * j.chunk
	j.f(lo, min(lo+j.chunk, j.total))
}

// For splits [0,total) into at most Workers() contiguous chunks whose
// sizes are multiples of align (except the last) and runs f on each.
func (p *Pool) For(total, align int, f func(lo, hi int)) {
	if total <= 0 {
		return
	}
	t := p.Workers()
	align = max(1, align)
	chunk := (total + t - 1) / t
	chunk = (chunk + align - 1) / align * align
	if chunk >= total {
		f(0, total)
		return
	}
	n := (total + chunk - 1) / chunk
	p.Do(n, n, &funcJob{total: total, chunk: chunk, f: f})
}

const (
	// callerSpin bounds the time the caller yields while waiting for its
	// helpers before it polls with sleeps.
	callerSpin = 200 * time.Microsecond
	// helperSpin is how long an idle helper keeps polling for work: longer
	// than the gaps between parallel sections in a run and between runs.
	helperSpin = time.Millisecond
	// idleExit is how long a helper waits, blocked, before it exits.
	idleExit = 2 * time.Second
)

// call is the state of one Do call, shared with its helpers.
type call struct {
	job   Job
	items int
	next  atomic.Uint64 // the items left: [low 32 bits, high 32 bits)

	mu       sync.Mutex
	gen      uint64       // which Do call c serves (helpers holding an older token leave)
	joined   int          // workers that joined (the caller included)
	closed   bool         // the caller has finished its items: nobody joins any more
	finished atomic.Int32 // helpers done
}

// token asks a helper to join call gen of c.
type token struct {
	c   *call
	gen uint64
}

func (p *Pool) startHelpers(n int) {
	p.mu.Lock()
	for p.helpers < n {
		p.helpers++
		go p.helper()
	}
	p.mu.Unlock()
}

func (p *Pool) helper() {
	// One timer for the helper's life: a timer per idle period would
	// allocate whenever the helper's polling outlasts helperSpin.
	idle := time.NewTimer(idleExit)
	idle.Stop()
	for {
		t, ok := p.nextToken(idle)
		if !ok {
			return
		}
		t.c.help(t.gen)
	}
}

// nextToken waits for a token: for helperSpin polling, yielding the P
// between polls, then blocked for up to idleExit; it reports false when
// the helper has exited (its count already released).
func (p *Pool) nextToken(idle *time.Timer) (token, bool) {
	select {
	case t := <-p.tokens:
		return t, true
	default:
	}
	t0 := time.Now()
	p.spinning.Add(1)
	for spin := 1; spin%64 != 0 || time.Since(t0) <= helperSpin; spin++ {
		select {
		case t := <-p.tokens:
			p.spinning.Add(-1)
			return t, true
		default:
		}
		runtime.Gosched()
	}
	p.spinning.Add(-1)
	idle.Reset(idleExit)
	select {
	case t := <-p.tokens:
		idle.Stop()
		return t, true
	case <-idle.C:
		p.mu.Lock()
		p.helpers--
		p.mu.Unlock()
		return token{}, false
	}
}

func (c *call) help(gen uint64) {
	c.mu.Lock()
	if c.gen != gen || c.closed {
		c.mu.Unlock()
		return
	}
	w := c.joined
	c.joined++
	c.mu.Unlock()
	c.loop(w)
	c.finished.Add(1)
}

// loop runs items until none is left. The caller (worker 0) takes them
// from the front, helpers from the back: kernels number items along the
// rows (or channels) of a layer, so each core keeps computing the same
// part of every layer, and what a layer reads was mostly written by the
// same core's previous step, in its own cache.
func (c *call) loop(w int) {
	for {
		i, ok := c.take(w == 0)
		if !ok {
			return
		}
		c.job.RunItem(w, i)
	}
}

// take removes one item from the front or the back of those left.
func (c *call) take(front bool) (int, bool) {
	for {
		v := c.next.Load()
		lo, hi := uint32(v), uint32(v>>32)
		if lo >= hi {
			return 0, false
		}
		if front {
			if c.next.CompareAndSwap(v, uint64(hi)<<32|uint64(lo+1)) {
				return int(lo), true
			}
		} else if c.next.CompareAndSwap(v, uint64(hi-1)<<32|uint64(lo)) {
			return int(hi - 1), true
		}
	}
}
