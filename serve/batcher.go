package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
	ctx    context.Context
	inputs []*ir.Tensor
	rows   int            // the batch size of the inputs
	done   chan jobResult // buffered: a worker never blocks on it
}

type jobResult struct {
	outputs []*ir.Tensor
	err     error
}

// batcher runs one model's jobs: workers take jobs from a bounded queue,
// merge them into batches of at most maxBatch rows, run each batch once and
// split the outputs back.
//
// Latency rule (decided here, as Triton's dynamic batcher does with its
// queue delay): a worker that takes a job while no other batch of the model
// runs dispatches at once with the jobs already queued, so a lone request
// at low load never waits for the batch timeout. The batch timeout applies
// only under load, while another worker's batch runs (Workers > 1): then
// waiting a little fills the batch without leaving the model idle. With
// one worker, batches form from the requests that queued while the
// previous batch ran, which grows batches exactly as load grows.
type batcher struct {
	e        *entry
	queue    chan *job
	maxBatch int
	timeout  time.Duration
	workers  int
	observe  func(rows int) // batch-size metric
	running  atomic.Int32   // batches running now
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newBatcher(e *entry, cfg Config, observe func(int)) *batcher {
	b := &batcher{
		e:        e,
		queue:    make(chan *job, cfg.MaxQueue),
		maxBatch: cfg.MaxBatch,
		timeout:  cfg.BatchTimeout,
		workers:  cfg.Workers,
		observe:  observe,
		stop:     make(chan struct{}),
	}
	for range b.workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// submit queues j, or returns errQueueFull without waiting.
func (b *batcher) submit(j *job) error {
	select {
	case <-b.stop:
		return errors.New("the server is shutting down")
	default:
	}
	select {
	case b.queue <- j:
		return nil
	default:
		return errQueueFull
	}
}

// depth is the number of queued jobs.
func (b *batcher) depth() int { return len(b.queue) }

// close stops the workers after the jobs they hold; jobs still queued are
// answered with an error.
func (b *batcher) close() {
	b.stopOnce.Do(func() { close(b.stop) })
	b.wg.Wait()
	for {
		select {
		case j := <-b.queue:
			j.done <- jobResult{err: errors.New("the server is shutting down")}
		default:
			return
		}
	}
}

func (b *batcher) work() {
	defer b.wg.Done()
	var carry *job // a job that did not fit in the previous batch
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				return
			}
		}
		batch := []*job{first}
		rows := first.rows
		if b.e.mergeable && rows < b.maxBatch {
			batch, rows, carry = b.collect(batch, rows)
		}
		b.running.Add(1)
		b.run(batch, rows)
		b.running.Add(-1)
	}
}

// collect adds queued jobs to batch until it holds maxBatch rows. It takes
// the jobs already queued; only while another batch of the model runs does
// it wait, up to the batch timeout, for more (see batcher). A job that
// would overflow the batch is returned as carry.
func (b *batcher) collect(batch []*job, rows int) ([]*job, int, *job) {
	var timeout <-chan time.Time
	for rows < b.maxBatch {
		var j *job
		select {
		case j = <-b.queue:
		default:
			if b.timeout <= 0 || b.running.Load() == 0 {
				return batch, rows, nil
			}
			if timeout == nil {
				t := time.NewTimer(b.timeout)
				defer t.Stop()
				timeout = t.C
			}
			select {
			case j = <-b.queue:
			case <-timeout:
				return batch, rows, nil
			}
		}
		if rows+j.rows > b.maxBatch {
			return batch, rows, j
		}
		batch = append(batch, j)
		rows += j.rows
	}
	return batch, rows, nil
}

// run executes batch (jobs with rows rows in all) and answers every job. A
// panic answers the batch's jobs with errPanic.
//
//lint:ignore SA4009 rows counts every job; it is recounted after expired ones leave
func (b *batcher) run(batch []*job, rows int) {
	live := batch[:0:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			// Answer every job not answered yet (a job's buffered channel
			// holds at most one answer; one already read gets an answer
			// nobody reads).
			for _, j := range live {
				select {
				case j.done <- jobResult{err: fmt.Errorf("%w: %v", errPanic, r)}:
				default:
				}
			}
		}
	}()
	if len(live) == 1 {
		j := live[0]
		b.observe(j.rows)
		outs, err := b.e.run(j.ctx, j.inputs)
		j.done <- jobResult{outputs: outs, err: err}
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
		for _, j := range live {
			j.done <- jobResult{err: err}
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
		j.done <- jobResult{outputs: res}
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
