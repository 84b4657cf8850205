package onnx

import (
	"fmt"
	"math"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// The general ops of ir/ops_onnx.go, which importer/onnx produces, written
// back as the ONNX ops they stand for. They work on values in their logical
// order (ONNX's own axes for imported models), so their inputs are taken in
// logical storage and their results are stored so.

var binaryOpTypes = [...]string{ir.BinaryAdd: "Add", ir.BinarySub: "Sub", ir.BinaryMul: "Mul", ir.BinaryDiv: "Div", ir.BinaryMax: "Max", ir.BinaryMin: "Min", ir.BinaryPow: "Pow"}

// onnxNode translates a general op; ok is false for other ops.
func (b *builder) onnxNode(n *ir.Node) (v *value, ok bool, err error) {
	in := func(i int) string { return b.logical(b.in(n, i)).name }
	res := func(name string) *value { return result(n, name, false) }
	switch op := n.Op.(type) {
	case *ir.Constant:
		d, shape, err := weight(n, "value", 0)
		if err != nil {
			return nil, true, err
		}
		// The node's name is reserved for its value: the initializer.
		b.inits = append(b.inits, &initializer{name: n.Name, dims: i64s(shape), f32: d})
		return res(n.Name), true, nil

	case *ir.Binary:
		if int(op.Op) >= len(binaryOpTypes) {
			return nil, true, fmt.Errorf("binary op %v is not supported", op.Op)
		}
		return res(b.add(binaryOpTypes[op.Op], []string{in(0), in(1)}, n.Name)), true, nil

	case *ir.Transpose:
		return res(b.add("Transpose", []string{in(0)}, n.Name, aInts("perm", i64s(op.Perm)...))), true, nil

	case *ir.ReshapeTo:
		var attrs []*onnxpb.AttributeProto
		for _, d := range op.Shape {
			if d == 0 {
				// A 0 copies the input's dimension unless allowzero.
				if err := b.needOpset(14, "a reshape to an empty shape"); err != nil {
					return nil, true, err
				}
				attrs = append(attrs, aInt("allowzero", 1))
				break
			}
		}
		return res(b.add("Reshape", []string{in(0), b.constI(i64s(op.Shape)...)}, n.Name, attrs...)), true, nil

	case *ir.Concat:
		ins := make([]string, len(n.Inputs))
		for i := range ins {
			ins[i] = in(i)
		}
		return res(b.add("Concat", ins, n.Name, aInt("axis", int64(op.Axis)))), true, nil

	case *ir.Pad:
		ins := []string{in(0), b.constI(i64s(op.Pads)...)}
		if op.Mode == "constant" && op.Value != 0 {
			ins = append(ins, b.scalar(float32(op.Value)))
		}
		return res(b.add("Pad", ins, n.Name, aString("mode", op.Mode))), true, nil

	case *ir.Slice:
		res2, err := op.Resolve(b.in(n, 0).shape)
		if err != nil {
			return nil, true, err
		}
		var starts, ends, axes, steps []int64
		for _, ax := range op.Axes {
			r := res2[ax]
			end := int64(r.Start + r.Count*r.Step)
			if r.Step < 0 && end < 0 {
				end = math.MinInt64 // before the first element (-1 would be the last)
			}
			starts, ends = append(starts, int64(r.Start)), append(ends, end)
			axes, steps = append(axes, int64(ax)), append(steps, int64(r.Step))
		}
		return res(b.add("Slice", []string{in(0), b.constI(starts...), b.constI(ends...), b.constI(axes...), b.constI(steps...)}, n.Name)), true, nil

	case *ir.Gather:
		idx := make([]int64, len(op.Indices))
		for i, x := range op.Indices {
			idx[i] = int64(x)
		}
		ind := b.intInit(i64s(op.IndicesShape), idx)
		return res(b.add("Gather", []string{in(0), ind}, n.Name, aInt("axis", int64(op.Axis)))), true, nil

	case *ir.ReduceMean:
		keep := int64(0)
		if op.KeepDims {
			keep = 1
		}
		if b.opset >= 18 {
			return res(b.add("ReduceMean", []string{in(0), b.constI(i64s(op.Axes)...)}, n.Name, aInt("keepdims", keep))), true, nil
		}
		return res(b.add("ReduceMean", []string{in(0)}, n.Name, aInts("axes", i64s(op.Axes)...), aInt("keepdims", keep))), true, nil

	case *ir.LRN:
		return res(b.add("LRN", []string{in(0)}, n.Name, aInt("size", int64(op.Size)),
			aFloat("alpha", op.Alpha), aFloat("beta", op.Beta), aFloat("bias", op.Bias))), true, nil

	case *ir.Clip:
		ins := []string{in(0), "", ""}
		if !math.IsInf(op.Min, -1) {
			ins[1] = b.scalar(float32(op.Min))
		}
		if !math.IsInf(op.Max, 1) {
			ins[2] = b.scalar(float32(op.Max))
		}
		for len(ins) > 1 && ins[len(ins)-1] == "" {
			ins = ins[:len(ins)-1]
		}
		return res(b.add("Clip", ins, n.Name)), true, nil

	case *ir.Gemm:
		ins := make([]string, len(n.Inputs))
		for i := range ins {
			ins[i] = in(i)
		}
		var attrs []*onnxpb.AttributeProto
		if op.TransA {
			attrs = append(attrs, aInt("transA", 1))
		}
		if op.TransB {
			attrs = append(attrs, aInt("transB", 1))
		}
		attrs = append(attrs, aFloat("alpha", op.Alpha), aFloat("beta", op.Beta))
		return res(b.add("Gemm", ins, n.Name, attrs...)), true, nil

	case *ir.MatMul:
		return res(b.add("MatMul", []string{in(0), in(1)}, n.Name)), true, nil
	}
	return nil, false, nil
}

// intInit adds (or reuses) an int64 constant of any shape (rank 0 included).
func (b *builder) intInit(dims []int64, data []int64) string {
	key := fmt.Sprintf("i%v:%v", dims, data)
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := b.fresh("const_i")
	if data == nil {
		data = []int64{}
	}
	if dims == nil {
		dims = []int64{}
	}
	b.inits = append(b.inits, &initializer{name: name, dims: dims, i64: data})
	b.consts[key] = name
	return name
}
