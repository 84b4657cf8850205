package exec

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/kconv/kconv/exec/internal/par"
	"github.com/kconv/kconv/ir"
)

// maxLengths bounds the per-shape programs a variable-length Program
// keeps; past it the oldest is dropped (runs holding it finish normally).
const maxLengths = 16

// specializer compiles a model whose inputs have unknown dimensions after
// the batch ((None, None, F) sequences) once per set of input dimensions
// met at run time: the model with those dimensions fixed is re-typed and
// compiled like any other, sharing the parent's thread pool and weights.
// Dimensions are fixed per run, so a run's buffers are exactly its
// sizes; a new length costs one compile, and each kept shape holds its
// own compile-time kernel copies (packed or Winograd-transformed
// convolution kernels; recurrent layers use the weights as read).
type specializer struct {
	model *ir.Model
	opts  Options
	pool  *par.Pool
	// from is the first input dimension fixed per shape: 1, or 0 for a
	// model that moves its dimension 0 (movesDim0).
	from int

	mu    sync.Mutex
	progs map[string]*Program
	order []string // keys, oldest first
}

// newSpecializer returns the specializer of a variable-length model.
func newSpecializer(m *ir.Model, opts Options, pool *par.Pool) *specializer {
	s := &specializer{model: m, opts: opts, pool: pool, progs: map[string]*Program{}, from: 1}
	if movesDim0(m) {
		s.from = 0
	}
	return s
}

// varDims reports whether a model input has an unknown dimension after the
// batch, or a dynamic dimension 0 that the model moves (see movesDim0).
func varDims(m *ir.Model) bool {
	dim0 := false
	for _, t := range m.InputTypes() {
		for _, d := range t.Shape[1:] {
			if d < 0 {
				return true
			}
		}
		dim0 = dim0 || t.Shape[0] < 0
	}
	return dim0 && movesDim0(m)
}

// movesDim0 reports whether the model has a Transpose moving a dynamic
// dimension 0 (ir.Transpose.MovesDim0: a time-major ONNX input or output,
// whose dimension 0 is not the batch): such a model is compiled for each
// input shape with dimension 0 fixed too.
func movesDim0(m *ir.Model) bool {
	for _, n := range m.Nodes {
		if t, ok := n.Op.(*ir.Transpose); ok && t.MovesDim0 {
			return true
		}
	}
	return false
}

// program returns the Program for the dimensions of inputs, compiling it
// the first time.
func (s *specializer) program(inputs []*ir.Tensor) (*Program, error) {
	types := s.model.InputTypes()
	if len(inputs) != len(types) {
		return nil, fmt.Errorf("model takes %d input(s), got %d", len(types), len(inputs))
	}
	var key strings.Builder
	for i, t := range types {
		in := inputs[i]
		if in == nil {
			return nil, fmt.Errorf("input %d is nil", i)
		}
		if len(in.Shape) != len(t.Shape) {
			return nil, fmt.Errorf("input '%s': shape %v, model expects %v", s.model.Inputs[i], in.Shape, t.Shape)
		}
		for d := s.from; d < len(t.Shape); d++ {
			if in.Shape[d] < 1 || (t.Shape[d] >= 0 && in.Shape[d] != t.Shape[d]) {
				return nil, fmt.Errorf("input '%s': shape %v, model expects %v", s.model.Inputs[i], in.Shape, t.Shape)
			}
			key.WriteString(strconv.Itoa(in.Shape[d]))
			key.WriteByte(',')
		}
		key.WriteByte(';')
	}
	k := key.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.progs[k]; p != nil {
		return p, nil
	}
	m, err := s.fixed(inputs)
	if err != nil {
		return nil, err
	}
	p, err := compile(m, s.opts, s.pool)
	if err != nil {
		return nil, err
	}
	if len(s.order) == maxLengths {
		delete(s.progs, s.order[0])
		s.order = s.order[1:]
	}
	s.progs[k] = p
	s.order = append(s.order, k)
	return p, nil
}

// fixed returns a copy of the model whose inputs have the dimensions of
// inputs after the batch, re-typed.
func (s *specializer) fixed(inputs []*ir.Tensor) (*ir.Model, error) {
	shapes := make([]ir.Shape, len(inputs))
	for i, in := range inputs {
		shapes[i] = in.Shape
	}
	return FixInputs(s.model, shapes)
}

// FixInputs returns a copy of m whose inputs have the dimensions of shapes
// after dimension 0 (one shape per model input, in order; dimension 0 of
// each input stays as m declares it, unless the model moves a dynamic
// dimension 0, see ir.Transpose.MovesDim0, which fixes it too), re-typed: the model a
// variable-length Program compiles for inputs of those shapes (and whose
// ir.FLOPs count them). Nodes are copied (ops and weights are shared:
// neither is changed by typing or compiling). A shape that contradicts a
// known dimension, or a model that cannot be typed at those shapes, is an
// error.
func FixInputs(m *ir.Model, shapes []ir.Shape) (*ir.Model, error) {
	types := m.InputTypes()
	if len(shapes) != len(types) {
		return nil, fmt.Errorf("model takes %d input(s), got %d shapes", len(types), len(shapes))
	}
	for i, t := range types {
		s := shapes[i]
		if len(s) != len(t.Shape) {
			return nil, fmt.Errorf("input '%s': shape %v, model expects %v", m.Inputs[i], s, t.Shape)
		}
		for d := 1; d < len(s); d++ {
			if s[d] < 1 || (t.Shape[d] >= 0 && s[d] != t.Shape[d]) {
				return nil, fmt.Errorf("input '%s': shape %v, model expects %v", m.Inputs[i], s, t.Shape)
			}
		}
	}
	from := 1
	if movesDim0(m) {
		from = 0
	}
	c := *m
	c.Nodes = make([]*ir.Node, len(m.Nodes))
	pos := map[string]int{}
	for i, name := range m.Inputs {
		pos[name] = i
	}
	for i, n := range m.Nodes {
		cn := *n
		if in, ok := cn.Op.(*ir.Input); ok {
			if k, ok := pos[cn.Name]; ok {
				t := in.Type
				t.Shape = append(ir.Shape{t.Shape[0]}, shapes[k][1:]...)
				if from == 0 {
					t.Shape[0] = shapes[k][0]
				}
				cn.Op = &ir.Input{Type: t}
			}
		}
		c.Nodes[i] = &cn
	}
	c.Passes = nil
	if err := ir.RunPasses(&c, ir.PassInfer); err != nil {
		return nil, fmt.Errorf("at input shape %v: %w", shapes[0], err)
	}
	return &c, nil
}

// runSpecialized runs a variable-length program on the Program compiled
// for its inputs' dimensions.
func (p *Program) runSpecialized(ctx context.Context, inputs []*ir.Tensor, names []string) (*result, error) {
	c, err := p.spec.program(inputs)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if c.kept[n] == nil {
			return nil, fmt.Errorf("layer '%s' was not kept at compile time", n)
		}
	}
	return c.run(ctx, inputs, names)
}
