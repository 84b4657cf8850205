package ir

import (
	"errors"
	"fmt"
)

// Builder assembles a model from Go code, like Keras's Sequential and
// functional APIs. Add with no inputs appends to the last node (Sequential
// style); Add with inputs wires a functional graph. Errors are kept and
// reported by Build, so calls can be chained without checks.
type Builder struct {
	m    *Model
	last string
	errs []error
}

// NewBuilder starts a model named name.
func NewBuilder(name string) *Builder {
	return &Builder{m: &Model{Name: name, Meta: Meta{Format: "go"}}}
}

// Input adds a model input of the given shape (without the batch axis) and
// layout, and returns its name.
func (b *Builder) Input(name string, shape Shape, layout Layout) string {
	full := append(Shape{Batch}, shape...)
	b.m.Nodes = append(b.m.Nodes, &Node{Name: name, Class: "InputLayer", Op: &Input{Type: TensorType{Shape: full, Layout: layout}}})
	b.m.Inputs = append(b.m.Inputs, name)
	b.last = name
	return name
}

// Add appends a node applying op to inputs (default: the last node added)
// and returns its name.
func (b *Builder) Add(name string, op Op, inputs ...string) string {
	return b.AddClass(name, "", op, inputs...)
}

// AddClass is Add with an explicit display class (e.g. "Convolution2D").
func (b *Builder) AddClass(name, class string, op Op, inputs ...string) string {
	if len(inputs) == 0 {
		if b.last == "" {
			b.errs = append(b.errs, fmt.Errorf("layer '%s': no input (add an Input first)", name))
			return name
		}
		inputs = []string{b.last}
	}
	if class == "" {
		class = op.Kind()
	}
	b.m.Nodes = append(b.m.Nodes, &Node{Name: name, Class: class, Op: op, Inputs: inputs})
	b.last = name
	return name
}

// SetWeights attaches float32 weights to the named node, in the order of its
// op's weight specs. Each slice is kept, not copied.
func (b *Builder) SetWeights(name string, data ...[]float32) {
	n := b.m.Node(name)
	if n == nil {
		b.errs = append(b.errs, fmt.Errorf("SetWeights: no layer '%s'", name))
		return
	}
	n.Weights = nil
	for i, d := range data {
		n.Weights = append(n.Weights, ConstWeight(fmt.Sprintf("w%d", i), Shape{len(d)}, d))
	}
	n.Specs = nil // reshaped against the specs in Build
}

// Build finishes the model: outputs default to the last node added. It runs
// Prepare (ordering, shape inference, weight checks).
func (b *Builder) Build(outputs ...string) (*Model, error) {
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	if len(outputs) == 0 && b.last != "" {
		outputs = []string{b.last}
	}
	b.m.Outputs = outputs
	if err := RunPasses(b.m, PassOrder, PassInfer); err != nil {
		return nil, err
	}
	// Give builder-supplied weights their spec names and shapes.
	for _, n := range b.m.Nodes {
		if len(n.Weights) == 0 {
			continue
		}
		if _, ok := n.Op.(*Unknown); ok {
			continue
		}
		if len(n.Weights) != len(n.Specs) {
			return nil, layerErr(n.Name, "expects %d weight(s), got %d", len(n.Specs), len(n.Weights))
		}
		for i, s := range n.Specs {
			w := n.Weights[i]
			if w.Elements() != s.Shape.Elements() {
				return nil, layerErr(n.Name, "weight %s has %d values, expected %d for shape %v", s.Name, w.Elements(), s.Shape.Elements(), s.Shape)
			}
			data, err := w.Data()
			if err != nil {
				return nil, layerErr(n.Name, "weight %s: %v", s.Name, err)
			}
			n.Weights[i] = ConstWeight(s.Name, s.Shape.Clone(), data)
		}
	}
	if err := Prepare(b.m); err != nil {
		return nil, err
	}
	return b.m, nil
}
