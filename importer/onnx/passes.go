package onnx

import (
	"math"
	"slices"

	"github.com/kconv/kconv/ir"
)

// Passes is the ONNX import pipeline that runs on the model the node
// translation produced:
//
//	order-nodes, infer-shapes   type every node (ir)
//	fuse-swish                  x * Sigmoid(x) → Swish(x), x * HardSigmoid(x; 1/6, 1/2) → HardSwish(x)   (this package)
//	fold-vgg-preprocess         Slice(Sub(x, VGG mean)) → Lambda vgg_preprocess (ir)
//	fold-dense-bias             MatMul + Add → Dense with bias (ir)
//	prune-dead                  drop what no output needs (ir)
//	check-weights               when the model has weights (ir)
//
// What stays inside the translation, on protobuf values, not as IR passes:
// constant folding of shape arithmetic (Shape, Gather, Concat, Cast, … on
// constants: those values never become IR nodes), the Softsign idiom
// Div(x, Add(Abs(x), 1)) (Abs has no IR op, so the idiom must be found
// before translation; see rewrite) and Resize's scale/size resolution.
func Passes(m *ir.Model) []ir.Pass {
	passes := []ir.Pass{ir.PassOrder, ir.PassInfer, PassFuseSwish, ir.PassFoldVGGPreprocess, ir.PassFoldDenseBias, ir.PassPruneDead}
	if ir.HasWeights(m) {
		passes = append(passes, ir.PassWeights)
	}
	return passes
}

// PassFuseSwish replaces Mul(x, Sigmoid(x)) — how exporters write SiLU,
// Keras's swish — with one Swish activation under the Mul's name, when the
// sigmoid has no other use. The node's class becomes "Swish", the ONNX op
// it stands for; the sigmoid is left to prune-dead.
var PassFuseSwish = ir.Pass{Name: "fuse-swish", Run: fuseSwish, After: ir.StageTyped}

func fuseSwish(m *ir.Model) (int, error) {
	if !slices.ContainsFunc(m.Nodes, func(n *ir.Node) bool { return isMul(n.Op) }) {
		return 0, nil // no full-graph index for a model without Mul
	}
	// One map (name → position) and a count per position: a map of
	// nodes and a map of consumers cost a hundred megabytes on a graph of
	// a million nodes.
	pos := make(map[string]int, len(m.Nodes))
	for i, n := range m.Nodes {
		pos[n.Name] = i
	}
	uses := make([]int32, len(m.Nodes))
	for _, n := range m.Nodes {
		for _, in := range n.Inputs {
			if j, ok := pos[in]; ok {
				uses[j]++
			}
		}
	}
	for _, o := range m.Outputs {
		if j, ok := pos[o]; ok {
			uses[j]++
		}
	}
	changed := 0
	for _, n := range m.Nodes {
		if !isMul(n.Op) || len(n.Inputs) != 2 {
			continue
		}
		for side := 0; side < 2; side++ {
			j, ok := pos[n.Inputs[1-side]]
			if !ok {
				continue
			}
			x, s := n.Inputs[side], m.Nodes[j]
			a, ok := s.Op.(*ir.Activation)
			if !ok || len(s.Inputs) != 1 || s.Inputs[0] != x || uses[j] != 1 {
				continue
			}
			act, class := gatedAct(a.Act)
			if act == "" {
				continue
			}
			xi, ok := pos[x] // the fused activation's one input
			if !ok {
				continue
			}
			n.Op, n.Inputs, n.Class = &ir.Activation{Act: ir.Act{Name: act}}, []string{x}, class
			if err := ir.InferNodeWith(n, []ir.TensorType{m.Nodes[xi].Out}); err != nil {
				return changed, err
			}
			uses[j] = 0
			changed++
			break
		}
	}
	return changed, nil
}

// gatedAct returns the activation x·g(x) is, for the gate g: Swish for
// Sigmoid, HardSwish for HardSigmoid with alpha 1/6 and beta 1/2 (torch
// exports hardswish so at opsets before 14: x · HardSigmoid(x)); "" for
// other gates.
func gatedAct(g ir.Act) (ir.ActName, string) {
	switch {
	case g == ir.Act{Name: ir.ActSigmoid}:
		return ir.ActSwish, "Swish"
	case g.Name == ir.ActHardSigmoid && math.Abs(g.Alpha-1.0/6) < 1e-6 && g.Beta == 0.5:
		return ir.ActHardSwish, "HardSwish"
	}
	return "", ""
}

// isMul reports whether op multiplies two tensors element-wise (the
// translation makes ONNX's Mul a Multiply merge when the shapes are equal,
// a broadcasting Binary otherwise).
func isMul(op ir.Op) bool {
	switch o := op.(type) {
	case *ir.Merge:
		return o.Mode == ir.MergeMultiply
	case *ir.Binary:
		return o.Op == ir.BinaryMul
	}
	return false
}
