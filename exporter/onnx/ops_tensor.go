package onnx

import (
	"github.com/kconv/kconv/ir"
)

// tensorNode writes the ops of ir/ops_tensor.go back as the ONNX ops they
// stand for (values in logical storage); ok is false for other ops.
func (b *builder) tensorNode(n *ir.Node) (v *value, ok bool, err error) {
	in := func(i int) string { return b.logical(b.in(n, i)).name }
	res := func(name string) *value { return result(n, name, false) }
	switch op := n.Op.(type) {
	case *ir.Unary:
		// Sqrt, Reciprocal, Neg, Abs, Log: ONNX ops of the same name.
		return res(b.add(op.Op.String(), []string{in(0)}, n.Name)), true, nil
	case *ir.Expand:
		// A 1 keeps the input's dimension: the dynamic batch (-1) is one.
		shape := make([]int64, len(op.Shape))
		for i, d := range op.Shape {
			shape[i] = int64(max(d, 1))
		}
		return res(b.add("Expand", []string{in(0), b.constI(shape...)}, n.Name)), true, nil
	}
	return nil, false, nil
}
