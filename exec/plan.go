package exec

import (
	"sort"

	"github.com/kconv/kconv/exec/internal/kernels"
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
	// pool2x2, when set, returns a fn that computes this step's output
	// followed by a 2×2 stride-2 unpadded max (isMax) or average pooling,
	// without storing the unpooled output (see lowerer.pool).
	pool2x2 func(isMax bool) stepFn
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
	slots [][]float32
	ws    kernels.Workspace
	ins   [][]float32 // a step's input buffers (sized to the widest step)
}

func newArena(slots [][]*value, batch, maxIns int) *arena {
	a := &arena{slots: make([][]float32, len(slots)), ins: make([][]float32, maxIns)}
	for i, vs := range slots {
		c := 0
		for _, v := range vs {
			c = max(c, v.size(batch))
		}
		a.slots[i] = make([]float32, c)
	}
	return a
}

func (a *arena) buf(v *value, n int) []float32 {
	r := v.root()
	if r.constant != nil {
		return r.constant
	}
	return a.slots[r.slot][:v.size(n)]
}

// tensor copies v (which must be in logical storage) out of the arena.
func (a *arena) tensor(v *value, n int) *ir.Tensor {
	t := &ir.Tensor{Shape: v.dims(n), Layout: v.layout, Data: make([]float32, v.size(n))}
	copy(t.Data, a.buf(v, n))
	return t
}

// allocate assigns arena slots by lifetime: a slot is reused once the value
// holding it is dead; element-wise steps reuse their input's slot in place.
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

	var caps []int
	holder := map[int]*value{}
	var free []int
	take := func(v *value, need int) {
		best := -1
		for i, s := range free {
			if caps[s] >= need && (best < 0 || caps[s] < caps[free[best]]) {
				best = i
			}
		}
		if best < 0 && len(free) > 0 {
			// Grow the largest free slot rather than adding one.
			best = 0
			for i, s := range free {
				if caps[s] > caps[free[best]] {
					best = i
				}
			}
			caps[free[best]] = need
		}
		if best >= 0 {
			v.slot = free[best]
			free = append(free[:best], free[best+1:]...)
		} else {
			v.slot = len(caps)
			caps = append(caps, need)
		}
		holder[v.slot] = v
	}
	release := func(v *value) {
		if v.constant == nil && holder[v.slot] == v {
			delete(holder, v.slot)
			free = append(free, v.slot)
		}
	}
	for _, v := range p.inputs {
		take(v.root(), v.root().size(1))
	}
	sizes := map[*value]int{}
	for _, v := range p.values {
		r := v.root()
		sizes[r] = max(sizes[r], v.size(1))
	}
	for i, s := range p.steps {
		out := s.out.root()
		if out.slot < 0 && out.constant == nil {
			if s.inplace && len(s.ins) > 0 {
				in := s.ins[0].root()
				if in.last == i && holder[in.slot] == in && caps[in.slot] >= sizes[out] {
					out.slot = in.slot
					holder[in.slot] = out
				}
			}
			if out.slot < 0 {
				take(out, sizes[out])
			}
		}
		for _, in := range s.ins {
			if r := in.root(); r.last == i && r != out {
				release(r)
			}
		}
		if out.last <= i {
			release(out)
		}
	}
	p.slots = make([][]*value, len(caps))
	for _, v := range p.values {
		if r := v.root(); r.constant == nil && r.slot >= 0 {
			p.slots[r.slot] = append(p.slots[r.slot], v)
		}
	}
	sort.SliceStable(p.values, func(i, j int) bool { return p.values[i].id < p.values[j].id })
}
