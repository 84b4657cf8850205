package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// node converts one ONNX node, given the name records of its values when
// known.
func (im *importer) node(n *onnxpb.NodeProto, h nodeHint) error {
	c := &nctx{im: im, n: n, op: n.GetOpType(), out0: -1}
	c.name = nodeName(n)
	if h.known {
		c.ins = h.ins
		if h.out0 >= 0 && c.name == n.GetOutput()[0] {
			c.out0 = h.out0
		}
	}
	if len(n.GetAttribute()) > 0 { // no map for the many nodes without attributes
		c.attrs = make(map[string]*onnxpb.AttributeProto, len(n.GetAttribute()))
	}
	for _, a := range n.GetAttribute() {
		if a.GetRefAttrName() != "" {
			return fmt.Errorf("attribute %s refers to a function attribute", a.GetName())
		}
		c.attrs[a.GetName()] = a
	}
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return errUnsupported
	}
	if len(n.GetOutput()) == 0 {
		return fmt.Errorf("node has no outputs")
	}
	switch c.op {
	case "Constant":
		return c.constant()
	case "Identity":
		v, err := c.need(0)
		if err != nil {
			return err
		}
		c.setOut(0, v)
		return nil
	case "Cast":
		to, err := c.int("to", 0)
		if err != nil {
			return err
		}
		return c.castTo(int32(to))
	case "CastLike":
		// Cast to the type of input 1: a constant's own type (integer
		// tensors fold as int64), otherwise float (kconv computes floats).
		like, err := c.need(1)
		if err != nil {
			return err
		}
		to := int32(onnxpb.TensorProto_FLOAT)
		if like.c != nil && like.node == "" && like.c.isInt {
			to = int32(onnxpb.TensorProto_INT64)
		}
		return c.castTo(to)
	case "Shape":
		return c.shape()
	case "ConstantOfShape":
		return c.constantOfShape()
	case "Gather":
		return c.gather()
	case "Slice":
		return c.slice()
	case "Concat":
		return c.concat()
	case "Unsqueeze", "Squeeze":
		return c.squeeze(c.op == "Unsqueeze")
	case "Reshape":
		return c.reshapeOp()
	case "Flatten":
		return c.flatten()
	case "Transpose":
		return c.transpose()
	case "Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Mean", "Pow":
		return c.elementwise()
	case "Relu", "Sigmoid", "Tanh", "Softplus", "Softsign", "HardSwish", "Exp", "Erf", "Mish":
		// Attribute-less ops: ir's activation table maps them.
		a, _ := ir.LookupONNXAct(c.op)
		return c.activation(ir.Act{Name: a.Name})
	case "Swish":
		if a, err := c.float("alpha", 1); err != nil || a != 1 {
			return fmtErr(err, "Swish with alpha %g is not supported", a)
		}
		return c.activation(ir.Act{Name: ir.ActSwish})
	case "ThresholdedRelu":
		a, err := c.float("alpha", 1)
		if err != nil {
			return err
		}
		// x where x > alpha, else 0: Keras's ThresholdedReLU (relu with
		// threshold alpha, any sign).
		return c.activation(ir.Act{Name: ir.ActReLU, Threshold: a})
	case "LeakyRelu":
		a, err := c.float("alpha", 0.01)
		if err != nil {
			return err
		}
		return c.activation(ir.Act{Name: ir.ActLeakyReLU, Alpha: a})
	case "Elu":
		a, err := c.float("alpha", 1)
		if err != nil {
			return err
		}
		return c.activation(ir.Act{Name: ir.ActELU, Alpha: a})
	case "Selu":
		return c.selu()
	case "HardSigmoid":
		a, err := c.float("alpha", 0.2)
		if err != nil {
			return err
		}
		b, err := c.float("beta", 0.5)
		if err != nil {
			return err
		}
		return c.activation(ir.Act{Name: ir.ActHardSigmoid, Alpha: a, Beta: b})
	case "Gelu":
		s, err := c.str("approximate", "none")
		if err != nil {
			return err
		}
		if s != "none" && s != "tanh" {
			return fmt.Errorf("unknown approximate %q", s)
		}
		return c.activation(ir.Act{Name: ir.ActGELU, Approximate: s == "tanh"})
	case "Expand":
		return c.expand()
	case "Range":
		return c.rangeOp()
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor":
		return c.compare()
	case "Where":
		return c.where()
	case "ScatterND":
		return c.scatterND()
	case "Not":
		return c.not()
	case "Einsum":
		return c.einsum()
	case "LayerNormalization":
		return c.layerNorm()
	case "Mod":
		return c.mod()
	case "Sqrt", "Reciprocal", "Neg", "Abs", "Log":
		return c.unary()
	case "Softmax", "LogSoftmax":
		return c.softmax()
	case "PRelu":
		return c.prelu()
	case "Clip":
		return c.clip()
	case "Dropout":
		return c.dropout()
	case "BatchNormalization":
		return c.batchNorm()
	case "LRN":
		return c.lrn()
	case "ReduceMean":
		return c.reduceMean()
	case "Conv":
		return c.conv()
	case "ConvTranspose":
		return c.convTranspose()
	case "MaxPool", "AveragePool":
		return c.pool()
	case "GlobalAveragePool", "GlobalMaxPool":
		return c.globalPool()
	case "Gemm":
		return c.gemm()
	case "MatMul":
		return c.matmul()
	case "Pad":
		return c.pad()
	case "Resize", "Upsample":
		return c.resize()
	case "RNN", "LSTM", "GRU":
		return c.recurrent()
	}
	return errUnsupported
}

func fmtErr(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf(format, args...)
}

// ---- constants and shape arithmetic ----

func (c *nctx) constant() error {
	for name, a := range c.attrs {
		var t *tensor
		var err error
		switch name {
		case "value":
			t, err = c.im.initTensor(a.GetT())
			if a.GetT() == nil {
				err = fmt.Errorf("value is not a tensor")
			}
		case "value_float":
			t = floatTensor(nil, []float32{a.GetF()})
		case "value_floats":
			t = floatTensor([]int{len(a.GetFloats())}, a.GetFloats())
		case "value_int":
			t = intTensor(nil, []int64{a.GetI()})
		case "value_ints":
			t = intTensor([]int{len(a.GetInts())}, a.GetInts())
		default:
			return fmt.Errorf("constant attribute %s is not supported", name)
		}
		if err != nil {
			return err
		}
		if t.origin == "" {
			t.origin = "constant " + c.name
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	return fmt.Errorf("constant has no value")
}

// castTo converts input 0 to ONNX data type to: constants are converted,
// computed tensors pass through when to is a float type.
func (c *nctx) castTo(to int32) error {
	v, err := c.need(0)
	if err != nil {
		return err
	}
	if v.c != nil && v.node == "" {
		t, err := castTensor(v.c, to)
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	if !isFloatType(to) {
		return fmt.Errorf("cast of a computed tensor to %s is not supported", dtypeName(to))
	}
	c.setOut(0, v)
	return nil
}

func (c *nctx) shape() error {
	v, err := c.need(0)
	if err != nil {
		return err
	}
	s := shapeOf(v)
	r := int64(len(s))
	start, err := c.int("start", 0)
	if err != nil {
		return err
	}
	end, err := c.int("end", r)
	if err != nil {
		return err
	}
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start = min(max(start, 0), r)
	end = min(max(end, 0), r)
	var out []int64
	var batch []bool
	for i := start; i < end; i++ {
		if s[i] < 0 {
			if batch == nil {
				batch = make([]bool, end-start)
			}
			batch[i-start] = true
		}
		out = append(out, max(int64(s[i]), 0))
	}
	t := intTensor([]int{len(out)}, out)
	t.batch = batch
	c.setOut(0, &val{c: t})
	return nil
}

func (c *nctx) constantOfShape() error {
	st, err := c.constIn(0, "the shape")
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("input 0 is missing")
	}
	dims64, err := st.intsNoSym("the shape")
	if err != nil {
		return err
	}
	dims, n, err := checkDims(dims64)
	if err != nil {
		return err
	}
	fill := floatTensor([]int{1}, []float32{0})
	if a := c.attrs["value"]; a != nil && a.GetT() != nil {
		if fill, err = c.im.initTensor(a.GetT()); err != nil {
			return err
		}
		if fill.n() != 1 {
			return fmt.Errorf("value must have one element, has shape %v", fill.shape)
		}
	}
	// The constant becomes a weight (a VGG classifier built this way holds
	// 411 MB): it is bounded by the memory budget.
	elem := 4
	if fill.isInt {
		elem = 8
	}
	if b, ok := memory.Bytes(n, elem); !ok || b > c.im.budget {
		return fmt.Errorf("constant of shape %v needs %s, over the memory budget of %s (set with --memory-budget or Options.MemoryBudget)", dims, memory.Size(b), memory.Size(c.im.budget))
	}
	out := &tensor{shape: dims, isInt: fill.isInt, origin: "constant " + c.name}
	if fill.isInt {
		v, err := fill.ints()
		if err != nil {
			return err
		}
		out.i = make([]int64, n)
		for k := range out.i {
			out.i[k] = v[0]
		}
	} else {
		v, err := fill.floats()
		if err != nil {
			return err
		}
		out.f = make([]float32, n)
		for k := range out.f {
			out.f[k] = v[0]
		}
	}
	c.setOut(0, &val{c: out})
	return nil
}

// normAxis resolves a possibly negative axis for rank r.
func normAxis(a int64, r int) (int, error) {
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a >= int64(r) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	return int(a), nil
}

func (c *nctx) gather() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	it, err := c.constIn(1, "the indices")
	if err != nil {
		return err
	}
	if it == nil {
		return fmt.Errorf("input 1 is missing")
	}
	s := shapeOf(data)
	a, err := c.int("axis", 0)
	if err != nil {
		return err
	}
	axis, err := normAxis(a, len(s))
	if err != nil {
		return err
	}
	if s[axis] < 0 {
		return fmt.Errorf("cannot gather on the dynamic batch axis")
	}
	raw, err := it.intsNoSym("the indices")
	if err != nil {
		return err
	}
	ind := make([]int, len(raw))
	for k, x := range raw {
		if x < 0 {
			x += int64(s[axis])
		}
		if x < 0 || x >= int64(s[axis]) {
			return fmt.Errorf("index %d out of range for axis %d of %v", raw[k], axis, s)
		}
		ind[k] = int(x)
	}
	if data.c != nil && data.node == "" {
		t, err := foldGather(data.c, axis, ind, it.shape, c.im.budget)
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Gather{Axis: axis, Indices: ind, IndicesShape: ir.Shape(slices.Clone(it.shape))}, []string{x})
}

// listInput reads an int list given as attribute (before opset `since`) or
// as input i.
func (c *nctx) listInput(attr string, i int, since int64, what string) ([]int64, bool, error) {
	if c.im.opset < since {
		return c.ints(attr)
	}
	t, err := c.constIn(i, what)
	if t == nil || err != nil {
		return nil, false, err
	}
	v, err := t.intsNoSym(what)
	return v, true, err
}

func (c *nctx) slice() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	s := shapeOf(data)
	var starts, ends, axes, steps []int64
	var ok bool
	if starts, ok, err = c.listInput("starts", 1, 10, "the starts"); err != nil || !ok {
		return fmtErr(err, "starts are missing")
	}
	if ends, ok, err = c.listInput("ends", 2, 10, "the ends"); err != nil || !ok {
		return fmtErr(err, "ends are missing")
	}
	if axes, ok, err = c.listInput("axes", 3, 10, "the axes"); err != nil {
		return err
	} else if !ok {
		for k := range starts {
			axes = append(axes, int64(k))
		}
	}
	if c.im.opset >= 10 {
		if steps, _, err = c.listInput("steps", 4, 10, "the steps"); err != nil {
			return err
		}
	}
	if steps == nil {
		for range starts {
			steps = append(steps, 1)
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		return fmt.Errorf("slice has %d starts, %d ends, %d axes and %d steps", len(starts), len(ends), len(axes), len(steps))
	}
	op := &ir.Slice{}
	for k := range starts {
		ax, err := normAxis(axes[k], len(s))
		if err != nil {
			return err
		}
		v, err := toInts([]int64{starts[k], ends[k], steps[k]}, "the slice")
		if err != nil {
			return err
		}
		if s[ax] < 0 && v[0] == 0 && v[2] == 1 && v[1] >= math.MaxInt32 {
			continue // the whole dynamic batch axis
		}
		op.Axes = append(op.Axes, ax)
		op.Starts = append(op.Starts, v[0])
		op.Ends = append(op.Ends, v[1])
		op.Steps = append(op.Steps, v[2])
	}
	if data.c != nil && data.node == "" {
		t, err := foldSlice(data.c, op, c.im.budget)
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(op, []string{x})
}

func (c *nctx) concat() error {
	n := c.nin()
	if n == 0 {
		return fmt.Errorf("concat has no inputs")
	}
	var vals []*val
	allConst, anyConst := true, false
	for i := 0; i < n; i++ {
		v, err := c.need(i)
		if err != nil {
			return err
		}
		if v.c != nil && v.node == "" {
			anyConst = true
		} else {
			allConst = false
		}
		vals = append(vals, v)
	}
	if c.attrs["axis"] == nil && c.im.opset >= 4 {
		return fmt.Errorf("axis is missing")
	}
	a, err := c.int("axis", 1) // opsets < 4: 1 by default
	if err != nil {
		return err
	}
	r := len(shapeOf(vals[0]))
	axis, err := normAxis(a, r)
	if err != nil {
		return err
	}
	if allConst {
		ts := make([]*tensor, n)
		for i, v := range vals {
			ts[i] = v.c
		}
		t, err := foldConcat(ts, axis, c.im.budget)
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	var ins []string
	for i := range vals {
		x, _, err := c.act(i)
		if err != nil {
			return err
		}
		ins = append(ins, x)
	}
	if n == 1 {
		c.setOut(0, vals[0])
		return nil
	}
	if !anyConst && axis >= 1 {
		return c.emitOut(&ir.Merge{Mode: ir.MergeConcat, Axis: axis}, ins)
	}
	return c.emitOut(&ir.Concat{Axis: axis}, ins)
}

func (c *nctx) squeeze(unsqueeze bool) error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	s := shapeOf(data)
	axes, ok, err := c.listInput("axes", 1, 13, "the axes")
	if err != nil {
		return err
	}
	var out []int
	if unsqueeze {
		if !ok {
			return fmt.Errorf("axes are missing")
		}
		r := len(s) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			ax, err := normAxis(a, r)
			if err != nil {
				return err
			}
			if ins[ax] {
				return fmt.Errorf("axis %d given twice", ax)
			}
			ins[ax] = true
		}
		k := 0
		for i := 0; i < r; i++ {
			if ins[i] {
				out = append(out, 1)
			} else {
				out = append(out, s[k])
				k++
			}
		}
	} else {
		drop := make([]bool, len(s))
		if ok {
			for _, a := range axes {
				ax, err := normAxis(a, len(s))
				if err != nil {
					return err
				}
				if s[ax] != 1 {
					return fmt.Errorf("cannot squeeze axis %d of %v", ax, s)
				}
				drop[ax] = true
			}
		} else {
			for i, d := range s {
				drop[i] = d == 1
			}
		}
		for i, d := range s {
			if !drop[i] {
				out = append(out, d)
			}
		}
	}
	return c.reshapeVal(data, out)
}

// reshapeVal defines output 0 as v reshaped to out (-1: the dynamic batch).
func (c *nctx) reshapeVal(v *val, out []int) error {
	if v.c != nil && v.node == "" {
		t, err := v.c.reshaped(out)
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	in := v.t.Shape
	if in.Equal(ir.Shape(out)) {
		c.setOut(0, v)
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	name, t, err := c.reshapeNode("", x, in, ir.Shape(out))
	if err != nil {
		return err
	}
	c.setOut(0, &val{node: name, t: t})
	return nil
}

// reshapeNode emits the reshape of node x (shape in) to out: Reshape when
// dimension 0 is kept, ReshapeTo for static shapes.
func (c *nctx) reshapeNode(suffix, x string, in, out ir.Shape) (string, ir.TensorType, error) {
	if len(out) == 0 {
		return "", ir.TensorType{}, fmt.Errorf("the result would be a scalar")
	}
	hasZero := slices.Contains(out, 0)
	if len(in) > 0 && out[0] == in[0] && !hasZero && len(out) > 1 {
		return c.emit(suffix, &ir.Reshape{Target: out[1:].Clone()}, []string{x})
	}
	if !slices.ContainsFunc(in, func(d int) bool { return d < 0 }) && !slices.ContainsFunc(out, func(d int) bool { return d < 0 }) {
		return c.emit(suffix, &ir.ReshapeTo{Shape: out.Clone()}, []string{x})
	}
	return "", ir.TensorType{}, fmt.Errorf("reshape from %v to %v moves the dynamic batch axis", in, out)
}

func (c *nctx) reshapeOp() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	var target []int64
	var batch []bool
	if c.im.opset < 5 {
		v, ok, err := c.ints("shape")
		if err != nil || !ok {
			return fmtErr(err, "shape is missing")
		}
		target = v
	} else {
		t, err := c.constIn(1, "the target shape")
		if err != nil {
			return err
		}
		if t == nil {
			return fmt.Errorf("input 1 is missing")
		}
		if target, batch, err = t.symInts(); err != nil {
			return err
		}
	}
	allowZero, err := c.int("allowzero", 0)
	if err != nil {
		return err
	}
	out, err := resolveReshape(shapeOf(data), target, batch, allowZero != 0)
	if err != nil {
		return err
	}
	return c.reshapeVal(data, out)
}

// resolveReshape computes ONNX Reshape's output shape. A dynamic batch
// (-1 in `in`; in target, the elements isBatch marks) must stay dimension 0.
func resolveReshape(in ir.Shape, target []int64, isBatch []bool, allowZero bool) ([]int, error) {
	out := make([]int, len(target))
	batch := make([]bool, len(target))
	infer := -1
	for i, t := range target {
		switch {
		case i < len(isBatch) && isBatch[i]:
			batch[i] = true
		case t == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("target %v copies dimension %d of %v", target, i, in)
			}
			if in[i] < 0 {
				batch[i] = true
			} else {
				out[i] = in[i]
			}
		case t == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("target %v has two -1", target)
			}
			infer = i
		case t < 0 || t > maxElements:
			return nil, fmt.Errorf("bad target shape %v", target)
		default:
			out[i] = int(t)
		}
	}
	dynamic := len(in) > 0 && in[0] < 0
	for i, b := range batch {
		if b && (i != 0 || !dynamic) {
			return nil, fmt.Errorf("target %v moves the dynamic batch axis of %v", target, in)
		}
	}
	total := int64(1)
	for i, d := range in {
		if i == 0 && dynamic {
			continue
		}
		total *= int64(d)
	}
	known := int64(1)
	for i, d := range out {
		if i != infer && !batch[i] {
			known *= int64(d)
		}
	}
	if dynamic {
		switch {
		case len(out) > 0 && batch[0]:
		case infer == 0 && known == total:
			batch[0], infer = true, -1
		default:
			return nil, fmt.Errorf("cannot reshape %v to %v keeping the dynamic batch axis first", in, target)
		}
		out[0] = -1
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
		}
		out[infer] = int(total / known)
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d values) to %v (%d)", in, total, target, known)
	}
	return out, nil
}

func (c *nctx) flatten() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	s := shapeOf(data)
	a, err := c.int("axis", 1)
	if err != nil {
		return err
	}
	if a < 0 {
		a += int64(len(s))
	}
	if a < 0 || a > int64(len(s)) {
		return fmt.Errorf("axis %d out of range for rank %d", a, len(s))
	}
	axis := int(a)
	outer, inner := 1, 1
	for i, d := range s {
		if d < 0 {
			continue
		}
		if i < axis {
			outer *= d
		} else {
			inner *= d
		}
	}
	if len(s) > 0 && s[0] < 0 {
		if axis == 0 || outer != 1 {
			return fmt.Errorf("flatten at axis %d of %v merges the dynamic batch axis", axis, s)
		}
		outer = -1
	}
	if axis == 1 && data.node != "" && len(s) >= 2 {
		if len(s) == 2 {
			c.setOut(0, data)
			return nil
		}
		x, _, err := c.act(0)
		if err != nil {
			return err
		}
		return c.emitOut(&ir.Flatten{}, []string{x})
	}
	return c.reshapeVal(data, []int{outer, inner})
}

func (c *nctx) transpose() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	s := shapeOf(data)
	p, ok, err := c.ints("perm")
	if err != nil {
		return err
	}
	perm := make([]int, len(s))
	for i := range perm {
		perm[i] = len(s) - 1 - i
	}
	if ok {
		if len(p) != len(s) {
			return fmt.Errorf("permutation %v does not fit rank %d", p, len(s))
		}
		for i, x := range p {
			if x < 0 || x >= int64(len(s)) {
				return fmt.Errorf("bad permutation %v", p)
			}
			perm[i] = int(x)
		}
	}
	if data.c != nil && data.node == "" {
		t, err := foldTranspose(data.c, perm, c.im.budget)
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	identity := true
	for i, x := range perm {
		if x != i {
			identity = false
		}
	}
	if identity {
		c.setOut(0, data)
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	// Transpose of a Transpose is one Transpose (or none): exporters from
	// channels-last frameworks emit NHWC→NCHW→NHWC pairs.
	if prev := c.im.nodes[x]; prev != nil {
		if pt, ok := prev.Op.(*ir.Transpose); ok {
			comp := make([]int, len(perm))
			identity := true
			for i, p := range perm {
				comp[i] = pt.Perm[p]
				identity = identity && comp[i] == i
			}
			src := prev.Inputs[0]
			if identity {
				c.setOut(0, &val{node: src, t: c.im.irType(src)})
				return nil
			}
			perm, x = comp, src
		}
	}
	return c.emitOut(&ir.Transpose{Perm: perm}, []string{x})
}

// ---- element-wise ----

var binaryOps = map[string]ir.BinaryOp{
	"Add": ir.BinaryAdd, "Sub": ir.BinarySub, "Mul": ir.BinaryMul, "Div": ir.BinaryDiv,
	"Sum": ir.BinaryAdd, "Mean": ir.BinaryAdd, "Max": ir.BinaryMax, "Min": ir.BinaryMin,
	"Pow": ir.BinaryPow,
}

var mergeModes = map[string]ir.MergeMode{
	"Add": ir.MergeAdd, "Sub": ir.MergeSubtract, "Mul": ir.MergeMultiply, "Sum": ir.MergeAdd,
	"Mean": ir.MergeAverage, "Max": ir.MergeMaximum, "Min": ir.MergeMinimum,
}

func (c *nctx) elementwise() error {
	n := c.nin()
	variadic := c.op == "Sum" || c.op == "Mean" || c.op == "Max" || c.op == "Min"
	if n < 1 || (!variadic && n != 2) {
		return fmt.Errorf("expected 2 inputs, got %d", n)
	}
	vals := make([]*val, n)
	allConst, anyConst := true, false
	for i := range vals {
		v, err := c.need(i)
		if err != nil {
			return err
		}
		vals[i] = v
		if v.c != nil && v.node == "" {
			anyConst = true
		} else {
			allConst = false
		}
	}
	// Opsets < 7 broadcast B from axis (attribute broadcast=1, axis=k).
	if c.im.opset < 7 && n == 2 {
		if b, err := c.int("broadcast", 0); err != nil {
			return err
		} else if b != 0 {
			if a := c.attrs["axis"]; a != nil {
				ra, sb := len(shapeOf(vals[0])), shapeOf(vals[1])
				axis, err := normAxis(a.GetI(), ra)
				if err != nil {
					return err
				}
				pad := ra - axis - len(sb)
				if pad < 0 {
					return fmt.Errorf("cannot broadcast %v from axis %d of rank %d", sb, axis, ra)
				}
				if pad > 0 {
					if vals[1].c == nil || vals[1].node != "" {
						return fmt.Errorf("legacy broadcasting of a computed tensor is not supported")
					}
					shape := append(slices.Clone([]int(sb)), make([]int, pad)...)
					for k := len(sb); k < len(shape); k++ {
						shape[k] = 1
					}
					t, err := vals[1].c.reshaped(shape)
					if err != nil {
						return err
					}
					vals[1] = &val{c: t}
				}
			}
		}
	}
	if n == 1 {
		c.setOut(0, vals[0])
		return nil
	}
	if allConst {
		opName := c.op
		if opName == "Sum" || opName == "Mean" {
			opName = "Add"
		}
		acc := vals[0].c
		for _, v := range vals[1:] {
			t, err := foldBinary(opName, acc, v.c, c.im.budget)
			if err != nil {
				return err
			}
			acc = t
		}
		if c.op == "Mean" {
			t, err := foldBinary("Div", acc, floatTensor(nil, []float32{float32(n)}), c.im.budget)
			if err != nil {
				return err
			}
			acc = t
		}
		acc.origin = "folded " + c.name
		c.setOut(0, &val{c: acc})
		return nil
	}
	names := make([]string, n)
	same := true
	for i, v := range vals {
		var err error
		if names[i], err = c.im.nodeOf(c.inName(i), v); err != nil {
			return err
		}
		if !shapeOf(v).Equal(shapeOf(vals[0])) {
			same = false
		}
	}
	if mode, ok := mergeModes[c.op]; ok && same && !anyConst && !(c.op == "Sub" && n != 2) {
		return c.emitOut(&ir.Merge{Mode: mode}, names)
	}
	op := binaryOps[c.op]
	acc := names[0]
	for i := 1; i < n; i++ {
		suffix := ""
		if i < n-1 || c.op == "Mean" {
			suffix = fmt.Sprintf("part%d", i)
		}
		name, _, err := c.emit(suffix, &ir.Binary{Op: op}, []string{acc, names[i]})
		if err != nil {
			return err
		}
		acc = name
	}
	if c.op == "Mean" {
		k, err := c.im.constNode(c.name+"/count", floatTensor([]int{1}, []float32{1 / float32(n)}))
		if err != nil {
			return err
		}
		return c.emitOut(&ir.Binary{Op: ir.BinaryMul}, []string{acc, k})
	}
	c.setOut(0, &val{node: acc, t: c.im.irType(acc)})
	return nil
}

// ---- activations ----

func (c *nctx) activation(a ir.Act) error {
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Activation{Act: a}, []string{x})
}

// ONNX's SELU defaults, which equal Keras's selu constants in float32.
const (
	seluAlpha = 1.67326319217681884765625
	seluGamma = 1.05070102214813232421875
)

func (c *nctx) selu() error {
	a, err := c.float("alpha", seluAlpha)
	if err != nil {
		return err
	}
	g, err := c.float("gamma", seluGamma)
	if err != nil {
		return err
	}
	if math.Abs(a-seluAlpha) < 1e-6 && math.Abs(g-seluGamma) < 1e-6 {
		return c.activation(ir.Act{Name: ir.ActSELU})
	}
	// selu(x) = gamma · elu_alpha(x).
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	e, _, err := c.emit("elu", &ir.Activation{Act: ir.Act{Name: ir.ActELU, Alpha: a}}, []string{x})
	if err != nil {
		return err
	}
	k, err := c.im.constNode(c.name+"/gamma", floatTensor([]int{1}, []float32{float32(g)}))
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Binary{Op: ir.BinaryMul}, []string{e, k})
}

func (c *nctx) softmax() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	name := ir.ActSoftmax
	if c.op == "LogSoftmax" {
		name = ir.ActLogSoftmax
	}
	r := len(t.Shape)
	if c.im.opset >= 13 {
		a, err := c.int("axis", -1)
		if err != nil {
			return err
		}
		axis, err := normAxis(a, r)
		if err != nil {
			return err
		}
		if axis == 0 && t.Shape[0] < 0 {
			return fmt.Errorf("softmax over the dynamic batch axis")
		}
		// Act's axis 0 is refused (the zero value would mean the batch);
		// a static dimension 0 is named by its negative form, -rank.
		ax := axis
		if axis == r-1 || axis == 0 {
			ax = axis - r
		}
		return c.emitOut(&ir.Activation{Act: ir.Act{Name: name, Axis: ax}}, []string{x})
	}
	// Opsets < 13: the input is seen as 2-D (d0…d(axis-1), d(axis)…) and
	// softmax runs over the second dimension.
	a, err := c.int("axis", 1)
	if err != nil {
		return err
	}
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a > int64(r) {
		return fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	axis := int(a)
	if axis >= r-1 {
		if axis == r {
			return fmt.Errorf("softmax over an empty axis set")
		}
		return c.emitOut(&ir.Activation{Act: ir.Act{Name: name, Axis: -1}}, []string{x})
	}
	flat := ir.Shape{}
	outer := 1
	for i, d := range t.Shape[:axis] {
		if d < 0 && i == 0 {
			continue
		}
		outer *= d
	}
	inner := 1
	for _, d := range t.Shape[axis:] {
		inner *= d
	}
	if t.Shape[0] < 0 {
		if axis == 0 {
			return fmt.Errorf("softmax over the dynamic batch axis")
		}
		flat = append(flat, -1)
		flat = append(flat, t.Shape[1:axis]...)
	} else {
		flat = append(flat, t.Shape[:axis]...)
	}
	if axis == 0 {
		flat = ir.Shape{1}
	}
	_ = outer
	flat = append(flat, inner)
	f, _, err := c.reshapeNode("flat", x, t.Shape, flat)
	if err != nil {
		return err
	}
	s, _, err := c.emit(string(name), &ir.Activation{Act: ir.Act{Name: name, Axis: -1}}, []string{f})
	if err != nil {
		return err
	}
	out, tt, err := c.reshapeNode("", s, flat, t.Shape)
	if err != nil {
		return err
	}
	c.setOut(0, &val{node: out, t: tt})
	return nil
}

func (c *nctx) prelu() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	slope, err := c.constIn(1, "the slope")
	if err != nil {
		return err
	}
	if slope == nil {
		return fmt.Errorf("input 1 is missing")
	}
	r := len(t.Shape)
	if len(slope.shape) > r {
		return fmt.Errorf("slope %v has a higher rank than the input %v", slope.shape, t.Shape)
	}
	// Align the slope right, as ONNX broadcasting does (opsets < 7: a
	// vector of C values is per channel, axis 1).
	aligned := make([]int, r)
	for i := range aligned {
		aligned[i] = 1
	}
	if c.im.opset < 7 && len(slope.shape) == 1 && r >= 2 && slope.shape[0] == t.Shape[1] {
		aligned[1] = slope.shape[0]
	} else {
		copy(aligned[r-len(slope.shape):], slope.shape)
	}
	if aligned[0] != 1 {
		return fmt.Errorf("slope %v varies along dimension 0", slope.shape)
	}
	op := &ir.PReLU{}
	wshape := ir.Shape{}
	for i := 1; i < r; i++ {
		switch {
		case aligned[i] == t.Shape[i]:
		case aligned[i] == 1:
			op.SharedAxes = append(op.SharedAxes, i)
		default:
			return fmt.Errorf("slope %v does not broadcast to %v", slope.shape, t.Shape)
		}
		wshape = append(wshape, aligned[i])
	}
	if len(wshape) == 0 {
		return fmt.Errorf("PRelu of a rank-1 input is not supported")
	}
	return c.emitOut(op, []string{x}, weight("alpha", wshape, slope, 0, nil))
}

func (c *nctx) clip() error {
	lo, hi := math.Inf(-1), math.Inf(1)
	if c.im.opset < 11 {
		var err error
		if lo, err = c.float("min", -math.MaxFloat32); err != nil {
			return err
		}
		if hi, err = c.float("max", math.MaxFloat32); err != nil {
			return err
		}
	} else {
		for i, p := range []*float64{&lo, &hi} {
			t, err := c.constIn(i+1, "the bound")
			if err != nil {
				return err
			}
			if t != nil {
				if *p, err = t.scalar(); err != nil {
					return err
				}
			}
		}
	}
	if lo <= -math.MaxFloat32 {
		lo = math.Inf(-1)
	}
	if hi >= math.MaxFloat32 {
		hi = math.Inf(1)
	}
	switch {
	case lo == 0 && math.IsInf(hi, 1):
		return c.activation(ir.Act{Name: ir.ActReLU})
	case lo == 0 && hi == 6:
		return c.activation(ir.Act{Name: ir.ActReLU6})
	case lo == 0 && hi > 0:
		return c.activation(ir.Act{Name: ir.ActReLU, HasMax: true, MaxValue: hi})
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Clip{Min: lo, Max: hi}, []string{x})
}

func (c *nctx) dropout() error {
	v, err := c.need(0)
	if err != nil {
		return err
	}
	rate, err := c.float("ratio", 0.5)
	if err != nil {
		return err
	}
	if c.im.opset >= 12 {
		if t, err := c.constIn(1, "the ratio"); err != nil {
			return err
		} else if t != nil {
			if rate, err = t.scalar(); err != nil {
				return err
			}
		}
		if t, err := c.constIn(2, "training_mode"); err != nil {
			return err
		} else if t != nil {
			// Training mode with ratio 0 is the identity (torchvision's
			// Swin exports its attention dropout so).
			if m, err := t.scalar(); err != nil || (m != 0 && rate != 0) {
				return fmtErr(err, "training mode is not supported")
			}
		}
	}
	if c.outUsed(1) {
		s := shapeOf(v)
		if slices.Contains(s, -1) {
			return fmt.Errorf("the mask output of a dynamic-batch Dropout is not supported")
		}
		t := intTensor(slices.Clone([]int(s)), nil)
		t.i = make([]int64, t.n())
		for k := range t.i {
			t.i[k] = 1
		}
		t.origin = "dropout mask " + c.name
		c.setOut(1, &val{c: t})
	}
	if v.c != nil && v.node == "" {
		c.setOut(0, v)
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Dropout{Rate: rate}, []string{x})
}

func (c *nctx) batchNorm() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	for i := 1; i < len(c.n.GetOutput()); i++ {
		if c.outUsed(i) {
			return fmt.Errorf("training outputs (running mean and variance) are not supported")
		}
	}
	if m, err := c.int("training_mode", 0); err != nil || m != 0 {
		return fmtErr(err, "training mode is not supported")
	}
	if s, err := c.int("spatial", 1); err != nil || s != 1 {
		return fmtErr(err, "spatial=0 (per-activation statistics) is not supported")
	}
	eps, err := c.float("epsilon", 1e-5)
	if err != nil {
		return err
	}
	if len(t.Shape) < 2 {
		return fmt.Errorf("input %v has no channel axis", t.Shape)
	}
	ch := t.Shape[1]
	names := []string{"gamma", "beta", "moving_mean", "moving_variance"}
	var ws []*ir.Weight
	for i, wn := range names {
		p, err := c.constIn(i+1, "the "+wn)
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("input %d (%s) is missing", i+1, wn)
		}
		if p.n() != ch {
			return fmt.Errorf("%s has shape %v, the input has %d channels", wn, p.shape, ch)
		}
		ws = append(ws, weight(wn, ir.Shape{ch}, p, 0, nil))
	}
	return c.emitOut(&ir.BatchNorm{Axis: 1, Epsilon: eps, Center: true, Scale: true}, []string{x}, ws...)
}

func (c *nctx) lrn() error {
	size, err := c.int("size", 0)
	if err != nil {
		return err
	}
	alpha, err := c.float("alpha", 1e-4)
	if err != nil {
		return err
	}
	beta, err := c.float("beta", 0.75)
	if err != nil {
		return err
	}
	bias, err := c.float("bias", 1)
	if err != nil {
		return err
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.LRN{Size: int(size), Alpha: alpha, Beta: beta, Bias: bias}, []string{x})
}

func (c *nctx) reduceMean() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	r := len(t.Shape)
	raw, ok, err := c.listInput("axes", 1, 18, "the axes")
	if err != nil {
		return err
	}
	keep, err := c.int("keepdims", 1)
	if err != nil {
		return err
	}
	if !ok || len(raw) == 0 {
		noop, err := c.int("noop_with_empty_axes", 0)
		if err != nil {
			return err
		}
		if noop != 0 {
			c.setOut(0, c.in(0))
			return nil
		}
		raw = nil
		for i := 0; i < r; i++ {
			raw = append(raw, int64(i))
		}
	}
	var axes []int
	for _, a := range raw {
		ax, err := normAxis(a, r)
		if err != nil {
			return err
		}
		if slices.Contains(axes, ax) {
			return fmt.Errorf("axis %d given twice", ax)
		}
		axes = append(axes, ax)
	}
	slices.Sort(axes)
	if r == 4 {
		switch {
		case slices.Equal(axes, []int{2, 3}) && t.Layout != ir.ChannelsLast:
			return c.emitOut(&ir.GlobalPool2D{KeepDims: keep != 0, DataFormat: ir.ChannelsFirst}, []string{x})
		case slices.Equal(axes, []int{1, 2}) && t.Layout == ir.ChannelsLast:
			return c.emitOut(&ir.GlobalPool2D{KeepDims: keep != 0, DataFormat: ir.ChannelsLast}, []string{x})
		}
	}
	return c.emitOut(&ir.ReduceMean{Axes: axes, KeepDims: keep != 0}, []string{x})
}

// ---- matrix products ----

func (c *nctx) gemm() error {
	alpha, err := c.float("alpha", 1)
	if err != nil {
		return err
	}
	beta, err := c.float("beta", 1)
	if err != nil {
		return err
	}
	ta, err := c.int("transA", 0)
	if err != nil {
		return err
	}
	tb, err := c.int("transB", 0)
	if err != nil {
		return err
	}
	a, err := c.need(0)
	if err != nil {
		return err
	}
	b, err := c.need(1)
	if err != nil {
		return err
	}
	cv := c.in(2)
	sa, sb := shapeOf(a), shapeOf(b)
	if len(sa) != 2 || len(sb) != 2 {
		return fmt.Errorf("gemm needs rank-2 A and B, got %v and %v", sa, sb)
	}
	bConst := b.c != nil && b.node == ""
	if ta == 0 && bConst && a.node != "" {
		k, n := sb[0], sb[1]
		if tb != 0 {
			k, n = sb[1], sb[0]
		}
		if sa[1] != k {
			return fmt.Errorf("gemm inner sizes differ: A %v, B %v", sa, sb)
		}
		transB := tb != 0
		var kernel *ir.Weight
		switch a := float32(alpha); {
		case transB:
			// B is (n, k): rows j0… of it are columns of the kernel.
			kernel = weight("kernel", ir.Shape{k, n}, b.c, k, func(src []float32, j0 int, dst []float32) {
				rows := len(src) / k
				for i := 0; i < k; i++ {
					d := dst[i*n+j0 : i*n+j0+rows]
					for r := range d {
						d[r] = a * src[r*k+i]
					}
				}
			})
		case a != 1:
			kernel = weight("kernel", ir.Shape{k, n}, b.c, n, func(src []float32, i0 int, dst []float32) {
				d := dst[i0*n : i0*n+len(src)]
				for i, v := range src {
					d[i] = a * v
				}
			})
		default:
			kernel = weight("kernel", ir.Shape{k, n}, b.c, 0, nil)
		}
		op := &ir.Dense{Units: n}
		ws := []*ir.Weight{kernel}
		var rest *val
		if cv != nil {
			cs := shapeOf(cv)
			vector := cv.c != nil && cv.node == "" && len(cs) <= 2 && ir.Shape(cs).Elements() == int64(n) &&
				(len(cs) == 0 || cs[len(cs)-1] == n || n == 1)
			scalar := cv.c != nil && cv.node == "" && ir.Shape(cs).Elements() == 1
			switch {
			case vector || scalar:
				ct := cv.c
				op.UseBias = true
				ws = append(ws, ir.NewWeight("bias", ir.Shape{n}, ir.Float32, ct.origin, ir.SourceFunc(func(dst []float32) error {
					f, err := ct.floats()
					if err != nil {
						return err
					}
					for j := range dst {
						dst[j] = float32(beta) * f[j%len(f)]
					}
					return nil
				})))
			case beta != 0:
				rest = cv
			}
		}
		if rest == nil {
			x, _, err := c.act(0)
			if err != nil {
				return err
			}
			return c.emitOut(op, []string{x}, ws...)
		}
		x, _, err := c.act(0)
		if err != nil {
			return err
		}
		d, _, err := c.emit("dense", op, []string{x}, ws...)
		if err != nil {
			return err
		}
		cn, err := c.im.nodeOf(c.inName(2), rest)
		if err != nil {
			return err
		}
		if beta != 1 {
			k, err := c.im.constNode(c.name+"/beta", floatTensor([]int{1}, []float32{float32(beta)}))
			if err != nil {
				return err
			}
			if cn, _, err = c.emit("beta_c", &ir.Binary{Op: ir.BinaryMul}, []string{cn, k}); err != nil {
				return err
			}
		}
		return c.emitOut(&ir.Binary{Op: ir.BinaryAdd}, []string{d, cn})
	}
	var ins []string
	for i := 0; i < 3; i++ {
		if c.in(i) == nil {
			continue
		}
		x, _, err := c.act(i)
		if err != nil {
			return err
		}
		ins = append(ins, x)
	}
	return c.emitOut(&ir.Gemm{TransA: ta != 0, TransB: tb != 0, Alpha: alpha, Beta: beta}, ins)
}

func (c *nctx) matmul() error {
	a, err := c.need(0)
	if err != nil {
		return err
	}
	b, err := c.need(1)
	if err != nil {
		return err
	}
	sa, sb := shapeOf(a), shapeOf(b)
	if b.c != nil && b.node == "" && len(sb) == 2 && len(sa) >= 2 && a.node != "" {
		if sa[len(sa)-1] != sb[0] {
			return fmt.Errorf("matmul inner sizes differ: %v × %v", sa, sb)
		}
		x, _, err := c.act(0)
		if err != nil {
			return err
		}
		return c.emitOut(&ir.Dense{Units: sb[1]}, []string{x}, weight("kernel", ir.Shape{sb[0], sb[1]}, b.c, 0, nil))
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	y, _, err := c.act(1)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.MatMul{}, []string{x, y})
}

// ---- padding ----

func (c *nctx) pad() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	r := len(t.Shape)
	mode, err := c.str("mode", "constant")
	if err != nil {
		return err
	}
	var raw []int64
	value := 0.0
	if c.im.opset < 11 {
		var ok bool
		name := "pads"
		if c.im.opset < 2 {
			name = "paddings"
		}
		if raw, ok, err = c.ints(name); err != nil || !ok {
			return fmtErr(err, "pads are missing")
		}
		if value, err = c.float("value", 0); err != nil {
			return err
		}
	} else {
		pt, err := c.constIn(1, "the pads")
		if err != nil {
			return err
		}
		if pt == nil {
			return fmt.Errorf("input 1 is missing")
		}
		if raw, err = pt.intsNoSym("the pads"); err != nil {
			return err
		}
		if vt, err := c.constIn(2, "the constant value"); err != nil {
			return err
		} else if vt != nil {
			if value, err = vt.scalar(); err != nil {
				return err
			}
		}
		if at, err := c.constIn(3, "the axes"); err != nil {
			return err
		} else if at != nil {
			axes, err := at.intsNoSym("the axes")
			if err != nil {
				return err
			}
			if len(raw) != 2*len(axes) {
				return fmt.Errorf("%d pads for %d axes", len(raw), len(axes))
			}
			full := make([]int64, 2*r)
			for k, a := range axes {
				ax, err := normAxis(a, r)
				if err != nil {
					return err
				}
				full[ax], full[r+ax] = raw[k], raw[len(axes)+k]
			}
			raw = full
		}
	}
	if len(raw) != 2*r {
		return fmt.Errorf("%d pads for rank %d", len(raw), r)
	}
	pads, err := toInts(raw, "the pads")
	if err != nil {
		return err
	}
	if mode == "wrap" {
		return fmt.Errorf("pad mode wrap is not supported")
	}
	if r == 4 && mode == "constant" && value == 0 && !slices.ContainsFunc(pads, func(p int) bool { return p < 0 }) {
		// pads = [b0 b1 b2 b3 e0 e1 e2 e3].
		switch {
		case t.Layout != ir.ChannelsLast && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0:
			return c.emitOut(&ir.ZeroPadding2D{Pads: [4]int{pads[2], pads[6], pads[3], pads[7]}, DataFormat: ir.ChannelsFirst}, []string{x})
		case t.Layout == ir.ChannelsLast && pads[0] == 0 && pads[3] == 0 && pads[4] == 0 && pads[7] == 0:
			return c.emitOut(&ir.ZeroPadding2D{Pads: [4]int{pads[1], pads[5], pads[2], pads[6]}, DataFormat: ir.ChannelsLast}, []string{x})
		}
	}
	return c.emitOut(&ir.Pad{Pads: pads, Mode: mode, Value: value}, []string{x})
}
