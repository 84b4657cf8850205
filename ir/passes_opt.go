package ir

import "slices"

// Transformation passes: IR→IR rewrites that importers put in their
// pipelines. Each keeps the model typed (it calls InferNode on the nodes it
// rewrites) and leaves nodes it makes unused to prune-dead.

// Transformation passes.
var (
	// PassFoldDenseBias merges an addition of a constant vector into the
	// bias-less Dense it follows (ONNX's MatMul + Add, Gemm without C).
	PassFoldDenseBias = Pass{Name: "fold-dense-bias", Run: foldDenseBias, After: StageTyped}
	// PassPruneDead removes the nodes no model output depends on (model
	// inputs stay).
	PassPruneDead = Pass{Name: "prune-dead", Run: indexedRun(pruneDead), After: StageTyped, indexed: pruneDead}
)

// Consumers returns how many times each node's output is used: as an input
// of a node (once per use) or as a model output.
func (m *Model) Consumers() map[string]int {
	uses := make(map[string]int, len(m.Nodes))
	for _, n := range m.Nodes {
		for _, in := range n.Inputs {
			uses[in]++
		}
	}
	for _, o := range m.Outputs {
		uses[o]++
	}
	return uses
}

// foldDenseBias rewrites Add(Dense(x), c), with c a Constant of shape
// (…1, Units) no larger in rank than the Dense output and the Dense without
// bias, linear and used only there, into Dense(x) with bias c, under the
// Add's name (the Dense node is left unused). The node keeps the Dense's
// class when its own class was the Add's.
func foldDenseBias(m *Model) (int, error) {
	if !slices.ContainsFunc(m.Nodes, func(n *Node) bool { _, ok := n.Op.(*Binary); return ok }) {
		return 0, nil // no full-graph index for a model without Binary
	}
	idx := m.Index()
	consumers := m.Consumers()
	changed := 0
	for _, n := range m.Nodes {
		b, ok := n.Op.(*Binary)
		if !ok || b.Op != BinaryAdd || len(n.Inputs) != 2 {
			continue
		}
		for side := 0; side < 2; side++ {
			d, c := idx[n.Inputs[side]], idx[n.Inputs[1-side]]
			dense, ok := d.Op.(*Dense)
			if !ok || dense.UseBias || consumers[d.Name] != 1 || !dense.Activation.IsLinear() {
				continue
			}
			k, ok := c.Op.(*Constant)
			if !ok || len(c.Weights) != 1 {
				continue
			}
			// The constant must broadcast along the last axis only and
			// not raise the rank: shape (…1, Units) of rank <= Dense's.
			if len(k.Shape) > len(d.Out.Shape) || k.Shape[len(k.Shape)-1] != dense.Units || k.Shape.Elements() != int64(dense.Units) {
				continue
			}
			w := c.Weights[0]
			bias := NewWeight("bias", Shape{dense.Units}, w.DType, w.Origin, SourceFunc(func(dst []float32) error {
				v, err := w.Data()
				if err != nil {
					return err
				}
				copy(dst, v)
				return nil
			}))
			bias.Provenance = w.Provenance // the same stored values, counted once
			op := *dense
			op.UseBias = true
			n.Op, n.Inputs = &op, d.Inputs
			n.Weights = append(append([]*Weight(nil), d.Weights...), bias)
			if n.Class == "Add" {
				n.Class = d.Class
			}
			if err := inferNode(idx, n); err != nil {
				return changed, err
			}
			consumers[d.Name] = 0
			changed++
			break
		}
	}
	return changed, nil
}

// pruneDead removes nodes no output depends on (inputs stay) and counts
// them.
func pruneDead(m *Model, gi *graphIndex) (int, bool, error) {
	live := make([]bool, len(m.Nodes))
	// An explicit stack, not recursion: a chain of a million layers would
	// need a goroutine stack of hundreds of megabytes.
	var stack []int
	mark := func(i int) {
		if i >= 0 && !live[i] {
			live[i] = true
			stack = append(stack, i)
		}
	}
	for _, o := range m.Outputs {
		if i, ok := gi.pos[o]; ok {
			mark(i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range gi.inputs(i) {
			mark(int(j))
		}
	}
	for _, in := range m.Inputs {
		if i, ok := gi.pos[in]; ok {
			live[i] = true
		}
	}
	kept := m.Nodes[:0]
	for i, n := range m.Nodes {
		if live[i] {
			kept = append(kept, n)
		}
	}
	removed := len(m.Nodes) - len(kept)
	clear(m.Nodes[len(kept):])
	m.Nodes = kept
	return removed, removed == 0, nil
}
