package exec

import (
	"fmt"
	"sort"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/ir"
)

// value is a tensor computed during a run: a node's output or a layout
// conversion of one.
type value struct {
	id     int
	name   string    // the node that produced it, for messages
	shape  ir.Shape  // logical (Keras) shape; shape[0] is the batch
	layout ir.Layout // logical layout
	// nhwc: the buffer holds the logical NCHW tensor transposed to NHWC.
	nhwc bool
	per  int    // elements per sample
	view *value // shares the buffer of this value (Flatten, Reshape, Dropout)
	// off and ld, when ld > 0, make the value a strided view of the root
	// of view (a channel slice of a concatenation, see concat.go): its
	// buffer starts off floats into the root's and holds one NHWC pixel's
	// channels every ld floats.
	off, ld int

	slot        int
	first, last int // step indices of production and last use
	// constant holds the data of a value that does not depend on the
	// inputs (ONNX constants); it has no slot and is never written.
	constant []float32
}

// batch returns the size of dimension 0 for a run at batch n: dynamic (-1)
// dimensions take the run's batch, static ones keep their size.
func (v *value) batch(n int) int {
	if v.shape[0] < 0 {
		return n
	}
	return v.shape[0]
}

// sameDims reports whether s is v's shape at batch n.
func (v *value) sameDims(s ir.Shape, n int) bool {
	if len(s) != len(v.shape) || s[0] != v.batch(n) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] != v.shape[i] {
			return false
		}
	}
	return true
}

// size returns the element count at batch n.
func (v *value) size(n int) int { return v.per * v.batch(n) }

func (v *value) root() *value {
	for v.view != nil {
		v = v.view
	}
	return v
}

// dims returns the per-sample shape with batch n in front. It is small
// enough to inline, so that the slice (capacity 8) stays on the caller's
// stack when the callee keeps no reference: steps allocate nothing.
func (v *value) dims(n int) ir.Shape {
	s := append(make(ir.Shape, 0, 8), v.shape...)
	s[0] = v.batch(n)
	return s
}

// physical returns the storage shape (NHWC for nhwc values) with batch n.
func (v *value) physical(n int) []int {
	s := v.dims(n)
	if v.nhwc {
		s[1], s[2], s[3] = s[2], s[3], s[1]
	}
	return s
}

// step computes one value from others.
type step struct {
	node    string
	kind    string // what computes it, for profiles: the op's kind, or op/kernel
	ins     []*value
	out     *value
	inplace bool // the output may take the first input's buffer if it dies here
	fn      stepFn
	// poolIn, when set, returns a fn that computes this step's output
	// followed by the max (isMax) or average pooling pp (image geometry),
	// without storing the unpooled output, or nil where its kernel cannot
	// (see lowerer.pooled).
	poolIn func(pp kernels.PoolParams, isMax bool) stepFn
	// chanConcat marks a concatenation of 4-D values on their last stored
	// axis (channels), which placeConcats may replace by writing its inputs in
	// place; outStride, when set, returns a fn that writes the output with
	// a pixel stride of ld floats (into a concatenation's slice), inStride
	// one that reads the single input so (a prefix of a concatenation).
	chanConcat bool
	outStride  func(ld int) stepFn
	inStride   func(ld int) stepFn
	// preAffine, when set, is what the step computes from its one input,
	// per channel (a batch normalization + ReLU); preIn, when set, returns
	// a fn that computes the step from pre(its input) instead of its
	// input: fusePreAffine joins the two (see preaffine.go).
	preAffine *kernels.PreAffine
	preIn     func(pre *kernels.PreAffine) stepFn
	// toNHWC marks a layout step converting its input from NCHW to NHWC
	// storage; nchwIn, when set, returns a fn that computes the step from
	// its one 4-D input in NCHW storage: fuseInputLayout joins the two
	// (see preaffine.go).
	toNHWC bool
	nchwIn func() stepFn
	// chanScale marks a step computing ins[0] × ins[1], ins[1] a scale per
	// image and channel (a squeeze-and-excitation block's); scaleIn, when
	// set, returns a fn that computes the step from ins[0] scaled by y,
	// appended as its last input: fuseChannelScale joins the two.
	chanScale bool
	scaleIn   func(y *value) stepFn
	// expand, when set, is the SmallConv of a convolution step as lowered
	// (its fn may have changed since: scStep.plain says whether it still
	// computes the plain convolution); expandIn, when set, returns a fn
	// that computes the step, a depthwise convolution, from the input of
	// that convolution (whose output is its input) without storing the
	// convolution's output, or nil where its kernel cannot or it does not
	// pay: fuseExpandDepthwise joins the two.
	expand   *scStep
	expandIn func(e *scStep) stepFn
}

// stepFn computes a step's output from its inputs' buffers at batch n.
type stepFn func(a *arena, n int, ins [][]float32, out []float32) error

func (s *step) run(a *arena, n int) error {
	ins := a.ins[:len(s.ins)]
	for i, v := range s.ins {
		ins[i] = a.buf(v, n)
	}
	return s.fn(a, n, ins, a.buf(s.out, n))
}

// arena holds the buffers of one run at one batch size.
type arena struct {
	slots [][]float32 // one per buffer (Program.slots), all cut from one allocation
	ws    kernels.Workspace
	ins   [][]float32 // a step's input buffers (sized to the widest step)
	// borrowed are the buffers a run reads from the caller's input tensors
	// (Program.borrow), with the arena's own slice to put back.
	borrowed []borrowedSlot
}

type borrowedSlot struct {
	slot int
	own  []float32
}

// borrow makes buffer slot the caller's data for the run.
func (a *arena) borrow(slot int, data []float32) {
	a.borrowed = append(a.borrowed, borrowedSlot{slot, a.slots[slot]})
	a.slots[slot] = data[:len(data):len(data)]
}

// unborrow gives the borrowed buffers their arena memory back, so that an
// idle arena holds no reference to a caller's tensor.
func (a *arena) unborrow() {
	for i, b := range a.borrowed {
		a.slots[b.slot] = b.own
		a.borrowed[i] = borrowedSlot{}
	}
	a.borrowed = a.borrowed[:0]
}

// newArena cuts the buffers of a run at batch size batch out of one
// allocation, at the offsets layout planned.
func newArena(l arenaLayout, maxIns int) *arena {
	a := &arena{slots: make([][]float32, len(l.offsets)), ins: make([][]float32, maxIns)}
	mem := make([]float32, l.total)
	for i, off := range l.offsets {
		a.slots[i] = mem[off : off+l.sizes[i] : off+l.sizes[i]]
	}
	return a
}

func (a *arena) buf(v *value, n int) []float32 {
	r := v.root()
	if r.constant != nil {
		return r.constant
	}
	if v.ld > 0 {
		c := v.chans()
		return a.slots[r.slot][v.off : v.off+kernels.StridedLen(v.size(n)/c, c, v.ld)]
	}
	return a.slots[r.slot][:v.size(n)]
}

// tensor copies v (which must be in logical storage) out of the arena.
func (a *arena) tensor(v *value, n int) *ir.Tensor {
	t := &ir.Tensor{Shape: v.dims(n), Layout: v.layout, Data: make([]float32, v.size(n))}
	copy(t.Data, a.buf(v, n))
	return t
}

// allocate gives every value a buffer (its slot) and each buffer the
// steps between which it is live. Buffers are chains: an element-wise step
// that may run in place writes its output into its first input's buffer
// when that input dies there. Where in the arena each buffer lies is
// planned per batch size (layout): buffers whose lifetimes do not overlap
// share memory.
func (p *Program) allocate() {
	for _, v := range p.values {
		r := v.root()
		r.first, r.last = -1, -1
		r.slot = -1
	}
	for i, s := range p.steps {
		r := s.out.root()
		if r.first < 0 {
			r.first = i
		}
		r.last = max(r.last, i)
		for _, in := range s.ins {
			in.root().last = max(in.root().last, i)
		}
	}
	end := len(p.steps)
	for _, v := range p.inputs {
		v.root().first = -1
	}
	for _, v := range p.outputs {
		v.root().last = end
	}
	for _, v := range p.kept {
		v.root().last = end
	}

	var tails []*value // each buffer's latest value
	p.lives = p.lives[:0]
	open := func(r *value) {
		r.slot = len(tails)
		tails = append(tails, r)
		p.lives = append(p.lives, [2]int{r.first, r.last})
	}
	for _, v := range p.inputs {
		if r := v.root(); r.slot < 0 {
			open(r)
		}
	}
	for i, s := range p.steps {
		out := s.out.root()
		if out.slot >= 0 || out.constant != nil {
			continue
		}
		if s.inplace && len(s.ins) > 0 && s.ins[0].ld == 0 && s.out.ld == 0 {
			in := s.ins[0].root()
			if in.constant == nil && in != out && in.slot >= 0 && in.last == i && tails[in.slot] == in {
				out.slot = in.slot
				tails[in.slot] = out
				p.lives[in.slot][1] = max(p.lives[in.slot][1], out.last)
				continue
			}
		}
		open(out)
	}
	p.slots = make([][]*value, len(tails))
	for _, v := range p.values {
		if r := v.root(); r.constant == nil && r.slot >= 0 {
			p.slots[r.slot] = append(p.slots[r.slot], v)
		}
	}
	// A run reads an input straight from the caller's tensor (no copy: a
	// 224²×3 image is 600 KB) when no step writes into its buffer, in
	// place or through a view.
	p.borrow = make([]bool, len(p.inputs))
	for i, v := range p.inputs {
		r := v.root()
		p.borrow[i] = r == v && v.ld == 0 && tails[r.slot] == r
		for _, s := range p.steps {
			if s.out.root() == r {
				p.borrow[i] = false
			}
		}
	}
	sort.SliceStable(p.values, func(i, j int) bool { return p.values[i].id < p.values[j].id })
}

// arenaLayout is where each buffer of a run at one batch size lies in the
// run's single allocation, in floats.
type arenaLayout struct {
	offsets, sizes []int
	total          int
}

// arenaAlign keeps every buffer on a 64-byte cache line.
const arenaAlign = 16

// layout plans the arena of a run at batch size batch: each buffer's size
// is its largest value's, and buffers are placed greedily by size, largest
// first, at the lowest offset free of every buffer already placed whose
// lifetime overlaps (closed intervals of steps: a step's inputs and output
// never share memory unless it runs in place). This is the "greedy by
// size" offset planning of TFLite's arena; a slot per lifetime class, as
// before, held DenseNet121's 26 slots at 257 MB for batch 8. It reports an
// error when the sizes overflow.
func (p *Program) layout(batch int) (arenaLayout, error) {
	n := len(p.slots)
	l := arenaLayout{offsets: make([]int, n), sizes: make([]int, n)}
	for i, vs := range p.slots {
		var c int64
		for _, v := range vs {
			b := int64(v.shape[0])
			if b < 0 {
				b = int64(batch)
			}
			e, ok := memory.Bytes(int64(v.per), int(min(b, maxInt)))
			if !ok || e > maxInt/4-arenaAlign {
				return l, fmt.Errorf("batch size %d: layer '%s' would have more than 2^61 elements", batch, v.name)
			}
			c = max(c, e)
		}
		l.sizes[i] = int((c + arenaAlign - 1) / arenaAlign * arenaAlign)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return l.sizes[order[i]] > l.sizes[order[j]] })
	type span struct{ lo, hi int }
	var placed []int
	busy := make([]span, 0, n)
	for _, b := range order {
		busy = busy[:0]
		for _, q := range placed {
			if p.lives[q][0] <= p.lives[b][1] && p.lives[b][0] <= p.lives[q][1] {
				busy = append(busy, span{l.offsets[q], l.offsets[q] + l.sizes[q]})
			}
		}
		sort.Slice(busy, func(i, j int) bool { return busy[i].lo < busy[j].lo })
		off := 0
		for _, s := range busy {
			if s.lo >= off+l.sizes[b] {
				break
			}
			off = max(off, s.hi)
		}
		l.offsets[b] = off
		if off+l.sizes[b] < off || off+l.sizes[b] > int(maxInt/4) {
			return l, fmt.Errorf("batch size %d would need more than 2^63 bytes", batch)
		}
		l.total = max(l.total, off+l.sizes[b])
		placed = append(placed, b)
	}
	return l, nil
}
