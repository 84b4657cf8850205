package serve

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kconv/kconv/ir"
)

// closeTensor fails unless got is within float32 noise of want: merged
// batches may take other kernel paths than single requests.
func closeTensor(t testing.TB, what string, got, want *ir.Tensor) {
	t.Helper()
	if !got.Shape.Equal(want.Shape) || len(got.Data) != len(want.Data) {
		t.Fatalf("%s: shape %v (%d values), want %v (%d)", what, got.Shape, len(got.Data), want.Shape, len(want.Data))
	}
	for i := range got.Data {
		if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-5+1e-5*math.Abs(float64(want.Data[i])) {
			t.Fatalf("%s: value %d is %v, want %v", what, i, got.Data[i], want.Data[i])
		}
	}
}

// TestBatcherMergesAndSplits queues jobs of several sizes without workers,
// then forms and runs batches by hand: merged results must equal each job
// run alone, and a job that would overflow MaxBatch waits for the next
// batch.
func TestBatcherMergesAndSplits(t *testing.T) {
	for _, name := range []string{"cnn", "two"} {
		t.Run(name, func(t *testing.T) {
			p := cnnProgram(t)
			if name == "two" {
				p = twoProgram(t)
			}
			e, err := newEntry(Model{Name: name, Program: p})
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			b := newBatcher(e, Config{MaxQueue: 8, MaxBatch: 8}, func(n int) { sizes = append(sizes, n) })
			r := rand.New(rand.NewPCG(9, 9))
			var jobs []*job
			var want [][]*ir.Tensor
			for _, n := range []int{3, 2, 4, 1} {
				var ins []*ir.Tensor
				for _, spec := range e.inputs {
					shape := spec.shape.Clone()
					shape[0] = n
					ins = append(ins, randTensor(r, shape, spec.layout))
				}
				j := &job{ctx: context.Background(), inputs: ins, rows: n, done: make(chan jobResult, 1)}
				if inline, err := b.submit(j); err != nil || inline {
					t.Fatalf("submit: inline %v, %v; want queued (no workers)", inline, err)
				}
				jobs = append(jobs, j)
				want = append(want, reference(t, p, ins...))
			}
			b.mu.Lock()
			batch, rows := b.take(nil, 0)
			b.mu.Unlock()
			if len(batch) != 2 || rows != 5 || b.depth() != 2 {
				t.Fatalf("first batch: %d jobs, %d rows, %d left; want 2 jobs, 5 rows, the 4-row job left at the head", len(batch), rows, b.depth())
			}
			b.run(batch, rows)
			b.mu.Lock()
			batch, rows = b.take(nil, 0)
			b.mu.Unlock()
			if len(batch) != 2 || rows != 5 || batch[0] != jobs[2] || b.depth() != 0 {
				t.Fatalf("second batch: %d jobs, %d rows, %d left; want the 4-row and 1-row jobs", len(batch), rows, b.depth())
			}
			b.run(batch, rows)
			for i, j := range jobs {
				res := <-j.done
				if res.err != nil {
					t.Fatal(res.err)
				}
				for o := range res.outputs {
					closeTensor(t, fmt.Sprintf("job %d output %d", i, o), res.outputs[o], want[i][o])
				}
			}
			if fmt.Sprint(sizes) != "[5 5]" {
				t.Errorf("batch sizes %v, want [5 5]", sizes)
			}
			b.close()
		})
	}
}

func TestBatcherQueueBound(t *testing.T) {
	e, err := newEntry(Model{Name: "two", Program: twoProgram(t)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBatcher(e, Config{MaxQueue: 2, MaxBatch: 4}, func(int) {})
	mk := func() *job {
		return &job{ctx: context.Background(), rows: 1, done: make(chan jobResult, 1)}
	}
	j1, j2 := mk(), mk()
	if _, err := b.submit(j1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.submit(j2); err != nil {
		t.Fatal("a queue of 2 refused 2 jobs")
	}
	if _, err := b.submit(mk()); err != errQueueFull {
		t.Fatalf("third job: %v, want errQueueFull", err)
	}
	if b.depth() != 2 {
		t.Fatalf("depth %d, want 2", b.depth())
	}
	b.close()
	for _, j := range []*job{j1, j2} {
		if res := <-j.done; res.err == nil {
			t.Error("a job queued at close got no error")
		}
	}
	if _, err := b.submit(mk()); err == nil {
		t.Error("submit after close succeeded")
	}
}

// TestConcurrentClients sends requests of mixed sizes, protocols and
// models from many goroutines through real HTTP with batching on; every
// answer must equal the model run alone on that request.
func TestConcurrentClients(t *testing.T) {
	s, hs := testServer(t, Config{MaxBatch: 8, BatchTimeout: 2e6, MaxQueue: 256})
	const clients, each = 12, 10
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 77))
			for i := range each {
				if err := oneRequest(t, s, hs.URL, r, (c+i)%3); err != nil {
					errs <- fmt.Errorf("client %d request %d: %w", c, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestBatcherWaitsOnlyUnderLoad: with another batch running, fill waits
// (here up to an hour) for the batch to fill; with none running the worker
// does not call it, and a job reaching an idle model runs inline.
func TestBatcherWaitsOnlyUnderLoad(t *testing.T) {
	e, err := newEntry(Model{Name: "cnn", Program: cnnProgram(t)})
	if err != nil {
		t.Fatal(err)
	}
	// No worker goroutines: the test forms batches by hand.
	b := newBatcher(e, Config{MaxQueue: 8, MaxBatch: 2, BatchTimeout: time.Hour}, func(int) {})
	newJob := func() *job {
		return &job{ctx: context.Background(), rows: 1, done: make(chan jobResult, 1)}
	}
	b.workers = 2 // as if two workers were configured, none running
	first := newJob()
	if inline, err := b.submit(first); err != nil || !inline {
		t.Fatalf("idle model: inline %v, %v; want the job run at once by its submitter", inline, err)
	}
	// first's batch runs (running 1); a worker forming the next batch
	// (running 2) waits for it to fill.
	b.mu.Lock()
	b.running++
	b.mu.Unlock()
	second := newJob()
	go func() {
		if _, err := b.submit(second); err != nil {
			t.Error(err)
		}
	}()
	third := newJob()
	batch, rows := b.fill([]*job{third}, 1)
	if len(batch) != 2 || rows != 2 || batch[1] != second {
		t.Fatalf("under load: %d jobs, %d rows; want the batch filled by the job that arrived", len(batch), rows)
	}
}

// TestBatcherInlineThenQueued: jobs arriving while an inline run holds
// the only worker slot queue, and the worker runs them as one batch when
// the inline run ends; every job gets its own outputs.
func TestBatcherInlineThenQueued(t *testing.T) {
	p := cnnProgram(t)
	e, err := newEntry(Model{Name: "cnn", Program: p})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sizes []int
	b := newBatcher(e, Config{MaxQueue: 8, MaxBatch: 8, Workers: 1}, func(n int) {
		mu.Lock()
		sizes = append(sizes, n)
		mu.Unlock()
	})
	defer b.close()
	r := rand.New(rand.NewPCG(4, 4))
	mk := func() (*job, []*ir.Tensor) {
		x := randTensor(r, ir.Shape{1, 8, 8, 3}, ir.ChannelsLast)
		return &job{ctx: context.Background(), inputs: []*ir.Tensor{x}, rows: 1, done: make(chan jobResult, 1)}, reference(t, p, x)
	}
	lead, leadWant := mk()
	inline, err := b.submit(lead)
	if err != nil || !inline {
		t.Fatalf("idle model: inline %v, %v", inline, err)
	}
	var jobs []*job
	var wants [][]*ir.Tensor
	for range 3 {
		j, w := mk()
		if inline, err := b.submit(j); err != nil || inline {
			t.Fatalf("busy model: inline %v, %v; want queued", inline, err)
		}
		jobs, wants = append(jobs, j), append(wants, w)
	}
	b.runInline(lead)
	jobs, wants = append(jobs, lead), append(wants, leadWant)
	for i, j := range jobs {
		res := <-j.done
		if res.err != nil {
			t.Fatal(res.err)
		}
		closeTensor(t, fmt.Sprintf("job %d", i), res.outputs[0], wants[i][0])
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(sizes) != "[1 3]" {
		t.Errorf("batch sizes %v, want [1 3] (the inline job, then the three queued as one batch)", sizes)
	}
}

// TestBatcherLiveness hammers Server.run from many goroutines, with runs
// of random short durations and one or two workers, so that requests go
// inline, queue behind inline runs and behind workers' batches in every
// interleaving: every request must be answered with its own rows well
// before its deadline (a lost wake-up would leave a job queued until the
// deadline: 504).
func TestBatcherLiveness(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint("workers", workers), func(t *testing.T) {
			s, err := New(Config{MaxBatch: 4, MaxQueue: 64, Workers: workers, Timeout: 20 * time.Second},
				Model{Name: "two", Program: twoProgram(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			e := s.models["two"]
			run := e.run
			e.run = func(ctx context.Context, ins []*ir.Tensor) ([]*ir.Tensor, error) {
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				return run(ctx, ins)
			}
			const goroutines, each = 16, 60
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						rows := 1 + (g+i)%3
						a := ir.NewTensor(ir.Shape{rows, 4}, ir.LayoutNone)
						b := ir.NewTensor(ir.Shape{rows, 4}, ir.LayoutNone)
						for k := range a.Data {
							a.Data[k] = float32(g*1000 + i)
						}
						t0 := time.Now()
						outs, err := s.run(context.Background(), e, []*ir.Tensor{a, b}, rows)
						if err == nil && time.Since(t0) > 5*time.Second {
							err = fmt.Errorf("answered after %v", time.Since(t0))
						}
						if err == nil && (outs[0].Shape[0] != rows || len(outs) != 2) {
							err = fmt.Errorf("outputs %v for %d rows", outs[0].Shape, rows)
						}
						if err != nil {
							errs <- fmt.Errorf("goroutine %d request %d: %w", g, i, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if d := e.batcher.depth(); d != 0 {
				t.Errorf("%d jobs left queued", d)
			}
		})
	}
}
