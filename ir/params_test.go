package ir

import "testing"

// Model.Params: weights without Provenance (Keras's) count on every node
// holding them; weights with Provenance count each stored tensor once,
// trainable when any node trains it or reads it as a Constant; an empty
// Provenance (a value the file does not store) counts nothing.
func TestModelParamsProvenance(t *testing.T) {
	kernel := StoredTensor{Name: "initializer W", Elements: 12}
	shared := &Provenance{Tensors: []StoredTensor{kernel}}
	w := func(p *Provenance) *Weight {
		wt := ConstWeight("w", Shape{12}, make([]float32, 12))
		wt.Provenance = p
		return wt
	}
	spec := []WeightSpec{{Name: "w", Shape: Shape{12}, Trainable: true}}
	frozen := []WeightSpec{{Name: "w", Shape: Shape{12}}}
	for _, c := range []struct {
		name   string
		nodes  []*Node
		tr, nt int64
	}{
		{"no provenance: per node (Keras)", []*Node{
			{Name: "a", Weights: []*Weight{w(nil)}, Specs: spec},
			{Name: "b", Weights: []*Weight{w(nil)}, Specs: spec},
		}, 24, 0},
		{"one stored tensor read by two nodes, one training it", []*Node{
			{Name: "a", Weights: []*Weight{w(shared)}, Specs: frozen},
			{Name: "b", Weights: []*Weight{w(shared)}, Specs: spec},
		}, 12, 0},
		{"the same tensors through two Provenance values, all held frozen", []*Node{
			{Name: "a", Weights: []*Weight{w(&Provenance{Tensors: []StoredTensor{kernel}})}, Specs: frozen},
			{Name: "b", Weights: []*Weight{w(&Provenance{Tensors: []StoredTensor{kernel, {Name: "initializer idx", Elements: 3}}})}, Specs: frozen},
		}, 0, 15},
		{"read as a Constant operand: trainable", []*Node{
			{Name: "a", Op: &Constant{Shape: Shape{12}}, Weights: []*Weight{w(shared)}, Specs: frozen},
			{Name: "b", Weights: []*Weight{w(shared)}, Specs: frozen},
		}, 12, 0},
		{"not stored", []*Node{
			{Name: "a", Weights: []*Weight{w(&Provenance{})}, Specs: spec},
		}, 0, 0},
	} {
		m := &Model{Nodes: c.nodes}
		tr, nt := m.Params()
		if tr != c.tr || nt != c.nt {
			t.Errorf("%s: %d trainable + %d not, want %d + %d", c.name, tr, nt, c.tr, c.nt)
		}
		for _, n := range c.nodes {
			if a, b := n.Params(); a+b != 12 {
				t.Errorf("%s: row %s shows %d, want its weight's 12", c.name, n.Name, a+b)
			}
		}
	}
}
