package exec

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/kconv/kconv/exec/internal/par"
	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/ir"
)

// Options tune compilation.
type Options struct {
	// Threads is the number of worker threads (0: all cores). Kernels and
	// GEMM share this budget, the Program's own pool (no process-global
	// thread count: Programs with different budgets run side by side).
	Threads int
	// Keep names nodes whose outputs must be observable through RunNodes;
	// nothing is fused into or across them. KeepAll keeps every node.
	Keep    []string
	KeepAll bool
	// NoFuse disables fusions (for debugging and measuring them).
	NoFuse bool
	// NoWinograd computes 3×3 convolutions without any Winograd transform
	// (direct kernels or im2col + GEMM): slower, slightly more accurate, and
	// without the transformed kernel copies (F(4×4,3×3) keeps 4× a 3×3
	// kernel, F(2×2,3×3) 16/9×).
	NoWinograd bool
	// MemoryBudget bounds, in bytes, the weights plus the buffers of a run
	// (0: half of the machine's memory, see internal/memory). Compile
	// refuses a model whose layers or weights exceed it and a run refuses a
	// batch size that would, each naming the size it would need.
	MemoryBudget int64
}

// Program is a compiled model. Its Run methods are safe for concurrent use.
type Program struct {
	model   *ir.Model // as given to Compile
	lowered *ir.Model // model after Optimize (model itself when nothing fuses)
	masks   *ir.Masks // Keras's masks, found on model (fusion renames values)
	opts    Options
	threads int
	pool    *par.Pool // the thread budget, shared by every run of this Program
	steps   []*step
	values  []*value
	inputs  []*value          // model inputs, in model order
	outputs []*value          // model outputs (logical storage), in model order
	kept    map[string]*value // observable node outputs (logical storage)
	slots   [][]*value        // the values of each arena buffer (an in-place chain)
	// borrow[i]: a run reads input i from the caller's tensor instead of
	// a copy in its arena (no step writes into its buffer; see allocate).
	borrow []bool
	lives  [][2]int // each buffer's first and last step (-1: before the first; len(steps): after the last)
	maxIns int      // the most inputs of any step

	budget      int64 // Options.MemoryBudget resolved
	weightBytes int64 // float32 bytes of all weights
	denseBytes  int64 // those of Dense layers

	mu     sync.Mutex
	arenas map[int]*arenaPool // batch size → its idle arenas

	// splits: runs of several images on several threads are split by
	// images (split.go).
	splits bool

	// spec, for a model with unknown input dimensions after the batch
	// (variable-length sequences), compiles it per set of input
	// dimensions at run time (varlen.go); such a Program has no steps.
	spec *specializer
}

// Compile lowers m into a Program. m must have been prepared (ir.Prepare)
// and carry its weights; weights are read here, once. Unless opts.NoFuse
// or KeepAll, m is first optimized (see Optimize: the fusions are IR
// passes, and the lowering reads their decisions from the IR); m itself
// is not changed. A model whose inputs have unknown dimensions after the
// batch (variable-length sequences) is compiled at run time for each input
// shape it meets (see specializer).
func Compile(m *ir.Model, opts Options) (*Program, error) {
	return compile(m, opts, nil)
}

// compile is Compile with the thread pool given (nil: a new one).
func compile(m *ir.Model, opts Options, pool *par.Pool) (*Program, error) {
	if err := ir.CheckInvariants(m, ir.StageTyped); err != nil {
		return nil, err
	}
	t := opts.Threads
	if t <= 0 {
		t = runtime.NumCPU()
	}
	if pool == nil {
		pool = par.New(t)
	}
	p := &Program{model: m, opts: opts, threads: t, pool: pool, kept: map[string]*value{}, arenas: map[int]*arenaPool{}}
	p.budget = memory.Resolve(opts.MemoryBudget)
	// Keras's masks, found on m before fusion renames values (and, for a
	// variable-length model, refused here rather than at its first run).
	var err error
	if p.masks, err = ir.ModelMasks(m); err != nil {
		return nil, err
	}
	if varDims(m) {
		if err := p.checkWeights(m); err != nil {
			return nil, err
		}
		p.spec = newSpecializer(m, opts, pool)
		return p, nil
	}
	if err := p.checkModel(m); err != nil {
		return nil, err
	}
	p.lowered = m
	if !opts.NoFuse && !opts.KeepAll {
		if p.lowered, err = Optimize(m, opts, ""); err != nil {
			return nil, err
		}
	}
	if err := p.lower(); err != nil {
		return nil, err
	}
	p.fuseInputLayout()
	p.fusePreAffine()
	p.fuseChannelScale()
	p.fuseExpandDepthwise()
	p.placeConcats()
	p.allocate()
	for _, s := range p.steps {
		p.maxIns = max(p.maxIns, len(s.ins))
	}
	p.splits = p.canSplit()
	// Lowering packed or transformed the kernels and released the model's
	// copies (Weight.Release), about the model's size of garbage: collect it
	// now, before the first run allocates its arena, or the process's peak
	// memory holds both (VGG16 at batch 1 here: 889 → 863 MB).
	if p.weightBytes >= gcAfterCompile {
		runtime.GC()
	}
	return p, nil
}

// gcAfterCompile is the weight size from which Compile collects garbage
// before it returns (below it, a collection costs more than it saves).
const gcAfterCompile = 64 << 20

// Model returns the compiled model as given to Compile (before Optimize).
func (p *Program) Model() *ir.Model { return p.model }

// Threads returns the worker budget.
func (p *Program) Threads() int { return p.threads }

// Run executes the model on inputs (one tensor per model input, in order,
// batch first, in the model's own layout) and returns its outputs.
func (p *Program) Run(ctx context.Context, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	res, err := p.run(ctx, inputs, nil)
	if err != nil {
		return nil, err
	}
	return res.outputs, nil
}

// RunInto is Run writing the outputs into outputs (one tensor per model
// output, in order, with the shape and layout Run would return; only Data
// is written) instead of allocating them. With the run's arena pooled, a
// run at batch 1 allocates nothing in steady state; a batch split over
// threads (split.go) allocates its few bookkeeping slices.
func (p *Program) RunInto(ctx context.Context, inputs, outputs []*ir.Tensor) error {
	if p.spec != nil {
		c, err := p.spec.program(inputs)
		if err != nil {
			return err
		}
		return c.RunInto(ctx, inputs, outputs)
	}
	if len(outputs) != len(p.outputs) {
		return fmt.Errorf("model has %d output(s), got %d tensors", len(p.outputs), len(outputs))
	}
	batch, err := p.checkInputs(inputs)
	if err != nil {
		return err
	}
	if chunk := p.splitChunk(batch); chunk > 0 {
		outs := make([][]float32, len(outputs))
		for i, v := range p.outputs {
			if err := checkOutput(outputs[i], v, batch); err != nil {
				return fmt.Errorf("output %d: %w", i, err)
			}
			outs[i] = outputs[i].Data
		}
		return p.runSplit(ctx, inputs, batch, chunk, outs)
	}
	a, batch, err := p.execOn(ctx, inputs, batch, p.pool, nil, nil)
	if err != nil {
		return err
	}
	defer p.putArena(batch, a)
	for i, v := range p.outputs {
		if err := checkOutput(outputs[i], v, batch); err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
		copy(outputs[i].Data, a.buf(v, batch))
	}
	return nil
}

// checkOutput checks that o can take output v of a run at batch.
func checkOutput(o *ir.Tensor, v *value, batch int) error {
	if o == nil || !v.sameDims(o.Shape, batch) || o.Layout != v.layout || len(o.Data) != v.size(batch) {
		var got any = "nil"
		if o != nil {
			got = fmt.Sprintf("%v %v with %d values", o.Shape, o.Layout, len(o.Data))
		}
		return fmt.Errorf("got %v, want %v %v", got, v.dims(batch), v.layout)
	}
	return nil
}

// RunNodes executes the model and also returns the outputs of the named
// nodes (which must have been kept with Options.Keep or KeepAll), in their
// logical (Keras) layout.
func (p *Program) RunNodes(ctx context.Context, inputs []*ir.Tensor, names []string) ([]*ir.Tensor, map[string]*ir.Tensor, error) {
	if p.spec != nil {
		res, err := p.runSpecialized(ctx, inputs, names)
		if err != nil {
			return nil, nil, err
		}
		return res.outputs, res.nodes, nil
	}
	for _, n := range names {
		if p.kept[n] == nil {
			return nil, nil, fmt.Errorf("layer '%s' was not kept at compile time", n)
		}
	}
	res, err := p.run(ctx, inputs, names)
	if err != nil {
		return nil, nil, err
	}
	return res.outputs, res.nodes, nil
}

type result struct {
	outputs []*ir.Tensor
	nodes   map[string]*ir.Tensor
}

func (p *Program) run(ctx context.Context, inputs []*ir.Tensor, names []string) (*result, error) {
	if p.spec != nil {
		return p.runSpecialized(ctx, inputs, names)
	}
	batch, err := p.checkInputs(inputs)
	if err != nil {
		return nil, err
	}
	if chunk := p.splitChunk(batch); chunk > 0 && len(names) == 0 {
		res := &result{}
		outs := make([][]float32, len(p.outputs))
		for i, v := range p.outputs {
			t := &ir.Tensor{Shape: v.dims(batch), Layout: v.layout, Data: make([]float32, v.size(batch))}
			res.outputs = append(res.outputs, t)
			outs[i] = t.Data
		}
		if err := p.runSplit(ctx, inputs, batch, chunk, outs); err != nil {
			return nil, err
		}
		return res, nil
	}
	a, batch, err := p.execOn(ctx, inputs, batch, p.pool, nil, nil)
	if err != nil {
		return nil, err
	}
	defer p.putArena(batch, a)
	res := &result{}
	for _, v := range p.outputs {
		res.outputs = append(res.outputs, a.tensor(v, batch))
	}
	if len(names) > 0 {
		res.nodes = map[string]*ir.Tensor{}
		for _, n := range names {
			res.nodes[n] = a.tensor(p.kept[n], batch)
		}
	}
	return res, nil
}

// execTimed checks the inputs and runs every step, adding each step's wall
// time to times[i] and the calling thread's CPU time to cpu[i] when they
// are not nil; the caller reads the results out of the returned arena,
// then puts it back (putArena).
func (p *Program) execTimed(ctx context.Context, inputs []*ir.Tensor, times, cpu []time.Duration) (*arena, int, error) {
	batch, err := p.checkInputs(inputs)
	if err != nil {
		return nil, 0, err
	}
	return p.execOn(ctx, inputs, batch, p.pool, times, cpu)
}

// checkInputs checks inputs against the model's inputs and returns the
// run's batch size.
func (p *Program) checkInputs(inputs []*ir.Tensor) (int, error) {
	if len(inputs) != len(p.inputs) {
		return 0, fmt.Errorf("model takes %d input(s), got %d", len(p.inputs), len(inputs))
	}
	batch := -1
	for i, v := range p.inputs {
		in := inputs[i]
		if in == nil {
			return 0, fmt.Errorf("input %d is nil", i)
		}
		want := v.shape
		if len(in.Shape) != len(want) {
			return 0, fmt.Errorf("input '%s': shape %v, model expects %v", v.name, in.Shape, want)
		}
		for d := 1; d < len(want); d++ {
			if want[d] >= 0 && in.Shape[d] != want[d] {
				return 0, fmt.Errorf("input '%s': shape %v, model expects %v", v.name, in.Shape, want)
			}
		}
		if (in.Shape[0] < 1 && want[0] != 0) || (want[0] >= 0 && in.Shape[0] != want[0]) {
			return 0, fmt.Errorf("input '%s': shape %v, model expects %v", v.name, in.Shape, want)
		}
		if want[0] < 0 {
			if batch >= 0 && in.Shape[0] != batch {
				return 0, fmt.Errorf("input '%s': batch size %d differs from the other inputs' %d", v.name, in.Shape[0], batch)
			}
			batch = in.Shape[0]
		}
		if int64(len(in.Data)) != in.Shape.Elements() {
			return 0, fmt.Errorf("input '%s': %d values for shape %v", v.name, len(in.Data), in.Shape)
		}
	}
	if batch < 0 {
		batch = 1 // every input has a static batch
	}
	return batch, nil
}

// execOn runs every step on checked inputs at batch, the kernels splitting
// their work on pool (nil: serially).
func (p *Program) execOn(ctx context.Context, inputs []*ir.Tensor, batch int, pool *par.Pool, times, cpu []time.Duration) (*arena, int, error) {
	a, err := p.getArena(batch)
	if err != nil {
		return nil, 0, err
	}
	a.ws.Pool = pool
	for i, v := range p.inputs {
		if p.borrow[i] {
			a.borrow(v.slot, inputs[i].Data)
			continue
		}
		copy(a.buf(v, batch), inputs[i].Data)
	}
	// A thread's CPU time is a system call: read it only where it means
	// something, on one worker (with two, the calls at every step of a
	// profile made small steps look 2-3× slower than they run).
	oneThread := a.ws.Par().Workers() == 1
	for i, s := range p.steps {
		if err := ctx.Err(); err != nil {
			p.putArena(batch, a)
			return nil, 0, err
		}
		var t0 time.Time
		var c0 time.Duration
		if times != nil {
			t0 = time.Now()
			if oneThread {
				c0 = threadCPU()
			}
		}
		err := s.run(a, batch)
		if times != nil {
			times[i] += time.Since(t0)
			if oneThread {
				cpu[i] += threadCPU() - c0
			}
		}
		if err != nil {
			p.putArena(batch, a)
			return nil, 0, fmt.Errorf("layer '%s': %w", s.node, err)
		}
	}
	return a, batch, nil
}

// arenaPool holds the idle arenas of one batch size. It is a bounded free
// list rather than a sync.Pool: a sync.Pool is emptied by every other
// garbage collection, and a server that allocates per request then
// allocated (and page-faulted) a fresh arena for most runs.
type arenaPool struct {
	layout arenaLayout
	idle   []*arena
}

// maxIdleArenas bounds the arenas kept per batch size: no more runs than
// that use the CPU at once.
func maxIdleArenas() int { return max(2, runtime.GOMAXPROCS(0)) }

// getArena returns an arena for batch, checking the first time a batch
// size is seen that its buffers fit in the memory budget.
func (p *Program) getArena(batch int) (*arena, error) {
	p.mu.Lock()
	ap := p.arenas[batch]
	if ap == nil {
		if err := p.CheckBatch(batch); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		l, err := p.layout(batch)
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
		ap = &arenaPool{layout: l}
		p.arenas[batch] = ap
	}
	if k := len(ap.idle); k > 0 {
		a := ap.idle[k-1]
		ap.idle[k-1] = nil
		ap.idle = ap.idle[:k-1]
		p.mu.Unlock()
		return a, nil
	}
	l := ap.layout
	p.mu.Unlock()
	a := newArena(l, p.maxIns)
	a.ws.Pool = p.pool
	return a, nil
}

// putArena returns a to the idle arenas of its batch size (or drops it when
// as many are idle as can run at once).
func (p *Program) putArena(batch int, a *arena) {
	a.unborrow()
	p.mu.Lock()
	if ap := p.arenas[batch]; ap != nil && len(ap.idle) < maxIdleArenas() {
		ap.idle = append(ap.idle, a)
	}
	p.mu.Unlock()
}
