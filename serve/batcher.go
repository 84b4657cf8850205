package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/kconv/kconv/ir"
)

// errQueueFull is returned by submit when the model's queue is full.
var errQueueFull = errors.New("the model's queue is full; retry later")

// errPanic marks a job that failed because running its batch panicked.
var errPanic = errors.New("internal error while running the model")

// job is one request's inputs (checked against the model) waiting to run.
type job struct {
	ctx      context.Context // the request's: cancelled when its client goes
	deadline time.Time       // the request's deadline (zero: none but ctx's)
	inputs   []*ir.Tensor
	rows     int            // the batch size of the inputs
	done     chan jobResult // buffered: a worker never blocks on it
	timer    *time.Timer    // the waiting handler's, kept with a pooled job
}

// expired is the error of a job whose request ended before it ran: its
// context's, or context.DeadlineExceeded past its deadline.
func (j *job) expired() error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	if !j.deadline.IsZero() && !time.Now().Before(j.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// wait returns j's answer, or an error once ctx ends or j's deadline
// passes; answered reports whether the result is j's answer (then nothing
// refers to j any more and it may be reused).
func (j *job) wait(ctx context.Context) (res jobResult, answered bool) {
	select {
	case res = <-j.done:
		return res, true
	default:
	}
	var deadline <-chan time.Time
	if !j.deadline.IsZero() {
		if j.timer == nil {
			j.timer = time.NewTimer(time.Until(j.deadline))
		} else {
			j.timer.Reset(time.Until(j.deadline))
		}
		defer j.timer.Stop()
		deadline = j.timer.C
	}
	select {
	case res = <-j.done:
		return res, true
	case <-ctx.Done():
	case <-deadline:
	}
	select {
	case res = <-j.done: // answered as the request ended
		return res, true
	default:
	}
	if err := ctx.Err(); err != nil {
		return jobResult{err: err}, false
	}
	return jobResult{err: context.DeadlineExceeded}, false
}

type jobResult struct {
	outputs []*ir.Tensor
	err     error
}

// errShutdown is returned by submit once the batcher is closed.
var errShutdown = errors.New("the server is shutting down")

// batcher runs one model's jobs: it merges queued jobs into batches of at
// most maxBatch rows, runs each batch once and splits the outputs back.
//
// Latency rule (decided here, as Triton's dynamic batcher does with its
// queue delay): a job reaching an idle model (fewer than workers batches
// running, nothing queued) runs at once on the goroutine that submitted it,
// without a hand-off to a worker and back, so a lone request never waits
// for the batch timeout nor for two goroutine wake-ups. Jobs arriving while
// workers batches run are queued; when a run ends, a worker takes the
// queued jobs as the next batch, which grows batches exactly as load grows.
// The batch timeout applies only when a worker forms a batch while other
// batches of the model run and keep every core busy (their threads add up
// to the cores: Workers > 1, and runs of several threads or more workers
// than cores): then waiting a little fills the batch without leaving a
// core idle. With one thread per run and a worker per core (Parallelism's
// choice for small models), a worker never waits: its core would idle
// while the batch filled, and the wait would be added to every queued
// request's latency.
type batcher struct {
	e        *entry
	maxBatch int
	maxQueue int
	timeout  time.Duration
	workers  int
	observe  func(rows int) // batch-size metric
	// threads per run (the program's) and cores (GOMAXPROCS): see
	// coresBusy.
	threads, cores int

	mu      sync.Mutex
	queue   []*job // FIFO, at most maxQueue
	running int    // batches running: the workers' and inline ones
	closed  bool

	wake     chan struct{} // capacity 1: jobs may be waiting for a worker
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newBatcher(e *entry, cfg Config, observe func(int)) *batcher {
	b := &batcher{
		e:        e,
		maxBatch: cfg.MaxBatch,
		maxQueue: cfg.MaxQueue,
		timeout:  cfg.BatchTimeout,
		workers:  cmp.Or(e.workers, cfg.Workers),
		observe:  observe,
		threads:  e.prog.Threads(),
		cores:    runtime.GOMAXPROCS(0),
		queue:    make([]*job, 0, min(cfg.MaxQueue, 1024)),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	for range b.workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// submit queues j, or, when the model is idle, reports inline: the caller
// must then run j itself with runInline. It returns errQueueFull without
// waiting when maxQueue jobs wait.
func (b *batcher) submit(j *job) (inline bool, err error) {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return false, errShutdown
	case b.running < b.workers && len(b.queue) == 0:
		b.running++
		b.mu.Unlock()
		return true, nil
	case len(b.queue) >= b.maxQueue:
		b.mu.Unlock()
		return false, errQueueFull
	}
	b.queue = append(b.queue, j)
	b.mu.Unlock()
	b.signal()
	return false, nil
}

// runInline runs j, which submit reported inline, on the calling goroutine
// and answers it on j.done.
func (b *batcher) runInline(j *job) {
	defer b.finished()
	b.run([]*job{j}, j.rows)
}

// finished ends a batch: another may run, and a worker is woken if jobs
// wait.
func (b *batcher) finished() {
	b.mu.Lock()
	b.running--
	waiting := len(b.queue) > 0
	b.mu.Unlock()
	if waiting {
		b.signal()
	}
}

// signal wakes a worker (without blocking: one pending wake-up is enough,
// since a worker takes every job it can before it waits again).
func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// depth is the number of queued jobs.
func (b *batcher) depth() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// close stops the workers after the batches they hold; jobs still queued
// are answered with an error. Inline runs finish by themselves.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.stopOnce.Do(func() { close(b.stop) })
	b.wg.Wait()
	b.mu.Lock()
	queued := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, j := range queued {
		j.done <- jobResult{err: errShutdown}
	}
}

func (b *batcher) work() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		for !b.closed && (len(b.queue) == 0 || b.running >= b.workers) {
			b.mu.Unlock()
			select {
			case <-b.wake:
			case <-b.stop:
			}
			b.mu.Lock()
		}
		if b.closed {
			b.mu.Unlock()
			return
		}
		b.running++
		batch, rows := b.take(nil, 0)
		busy := b.coresBusy(b.running - 1)
		b.mu.Unlock()
		if busy {
			batch, rows = b.fill(batch, rows)
		}
		b.run(batch, rows)
		b.finished()
	}
}

// coresBusy reports whether others batches running at once keep every
// core busy (each run uses b.threads threads): only then does a worker
// forming a batch wait for the batch timeout (see batcher).
func (b *batcher) coresBusy(others int) bool {
	return others > 0 && others*max(b.threads, 1) >= b.cores
}

// take moves jobs from the head of the queue into batch (rows rows so far)
// while they fit in maxBatch rows; an empty batch takes the head job
// whatever its size (a request larger than maxBatch runs alone). A model
// whose batch dimension is fixed runs one job per batch. b.mu is held.
func (b *batcher) take(batch []*job, rows int) ([]*job, int) {
	k := 0
	for _, j := range b.queue {
		if len(batch) > 0 && (!b.e.mergeable || rows+j.rows > b.maxBatch) {
			break
		}
		batch = append(batch, j)
		rows += j.rows
		k++
	}
	n := copy(b.queue, b.queue[k:])
	clear(b.queue[n:])
	b.queue = b.queue[:n]
	return batch, rows
}

// fill waits, up to the batch timeout, for jobs to fill batch to maxBatch
// rows; the caller forms batch while another batch of the model runs (see
// batcher), so the model is not left idle meanwhile.
func (b *batcher) fill(batch []*job, rows int) ([]*job, int) {
	if b.timeout <= 0 || !b.e.mergeable {
		return batch, rows
	}
	t := time.NewTimer(b.timeout)
	defer t.Stop()
	for rows < b.maxBatch {
		select {
		case <-b.wake:
		case <-t.C:
			return batch, rows
		case <-b.stop:
			return batch, rows
		}
		b.mu.Lock()
		n := len(batch)
		batch, rows = b.take(batch, rows)
		blocked := len(batch) == n && len(b.queue) > 0 // the head job does not fit
		left := len(b.queue) > 0
		b.mu.Unlock()
		if left {
			b.signal() // for another worker
		}
		if blocked {
			break
		}
	}
	return batch, rows
}

// run executes batch (jobs with rows rows in all) and answers every job
// once, in batch order. A panic answers the jobs not answered yet with
// errPanic. (A job's handler may reuse the job once answered: nothing
// here touches a job after its answer.)
//
//lint:ignore SA4009 rows counts every job; it is recounted after expired ones leave
func (b *batcher) run(batch []*job, rows int) {
	live := batch[:0] // batch's own array: the caller does not keep it
	for _, j := range batch {
		if err := j.expired(); err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	answered := 0
	answer := func(res jobResult) {
		live[answered].done <- res
		answered++
	}
	defer func() {
		if r := recover(); r != nil {
			for answered < len(live) {
				answer(jobResult{err: fmt.Errorf("%w: %v", errPanic, r)})
			}
		}
	}()
	if len(live) == 1 {
		j := live[0]
		b.observe(j.rows)
		outs, err := b.e.run(j.ctx, j.inputs)
		answer(jobResult{outputs: outs, err: err})
		return
	}
	rows = 0
	for _, j := range live {
		rows += j.rows
	}
	b.observe(rows)
	ins := make([]*ir.Tensor, len(b.e.inputs))
	for i, spec := range b.e.inputs {
		shape := spec.shape.Clone()
		shape[0] = rows
		t := &ir.Tensor{Shape: shape, Layout: spec.layout, Data: b.e.bufs.getFloats(rows * spec.rowElements())[:0]}
		for _, j := range live {
			t.Data = append(t.Data, j.inputs[i].Data...)
		}
		ins[i] = t
	}
	outs, err := b.e.run(context.Background(), ins)
	// Program.Run keeps no reference to its inputs: the merged buffers go
	// back to the pool unless an output aliases one (on a panic they are
	// left to the GC).
	for _, t := range ins {
		if !aliased(t.Data, outs) {
			b.e.bufs.putFloats(t.Data)
		}
	}
	if err != nil {
		for answered < len(live) {
			answer(jobResult{err: err})
		}
		return
	}
	off := 0
	for _, j := range live {
		res := make([]*ir.Tensor, len(outs))
		for o, t := range outs {
			row := len(t.Data) / rows
			shape := t.Shape.Clone()
			shape[0] = j.rows
			res[o] = &ir.Tensor{Shape: shape, Layout: t.Layout, Data: t.Data[off*row : (off+j.rows)*row : (off+j.rows)*row]}
		}
		off += j.rows
		answer(jobResult{outputs: res})
	}
}

// aliased reports whether data shares memory with any of outs.
func aliased(data []float32, outs []*ir.Tensor) bool {
	if cap(data) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	hi := lo + 4*uintptr(cap(data))
	for _, t := range outs {
		if t == nil || cap(t.Data) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))
		if p < hi && p+4*uintptr(cap(t.Data)) > lo {
			return true
		}
	}
	return false
}
