package onnx

import (
	"fmt"
	"slices"

	"github.com/kconv/kconv/ir"
)

// Values whose batch is not on axis 0.
//
// ONNX's recurrent nodes are time-major by default (layout 0: X is
// (steps, batch, features), Y (steps, directions, batch, hidden), the
// states (directions, batch, hidden)), and PyTorch writes them so, between
// transposes, squeezes and reshapes that make a batch-first model of them
// (nn.LSTM(batch_first=True), multi-layer stacks, bidirectional ones). kconv
// keeps the batch on axis 0 of every ir value, so the importer carries such
// a value as the ir value with its batch axis moved to the front, and
// remembers in val.bax where the ONNX value has it. The ops PyTorch puts
// around recurrences translate on that form: Transpose (often to nothing),
// Squeeze, Unsqueeze, Reshape keeping the axes up to the batch, Gather,
// Slice and Concat off the batch axis, element-wise activations and
// arithmetic (of values with their batch on one axis, or with constants
// over the axes after it), Identity and Dropout, Shape, and the recurrent
// nodes. Any other op, and a graph
// output, with its batch elsewhere than on axis 0 is an error naming it.

// irAxis returns the ir axis of ONNX axis j of a value whose batch is on
// ONNX axis bax.
func irAxis(bax, j int) int {
	switch {
	case j == bax:
		return 0
	case j < bax:
		return j + 1
	}
	return j
}

// onnxAxis is irAxis's inverse: the ONNX axis of ir axis k.
func onnxAxis(bax, k int) int {
	switch {
	case k == 0:
		return bax
	case k <= bax:
		return k - 1
	}
	return k
}

// toONNXShape returns the ONNX shape of an ir shape whose batch is on
// ONNX axis bax.
func toONNXShape(s ir.Shape, bax int) ir.Shape {
	out := make(ir.Shape, len(s))
	for j := range out {
		out[j] = s[irAxis(bax, j)]
	}
	return out
}

// toIRShape returns the ir shape of an ONNX shape with its batch on axis
// bax.
func toIRShape(s ir.Shape, bax int) ir.Shape {
	out := make(ir.Shape, len(s))
	for k := range out {
		out[k] = s[onnxAxis(bax, k)]
	}
	return out
}

// batchAxisOps are the ops translated on values whose batch is not on axis
// 0; the element-wise ones translate as usual and keep their input's bax.
var batchAxisOps = map[string]bool{
	"Transpose": true, "Squeeze": true, "Unsqueeze": true, "Reshape": true, "Gather": true,
	"Slice": true, "Concat": true, "Shape": true, "Identity": true, "Dropout": true,
	"RNN": true, "LSTM": true, "GRU": true,
}

var elementwiseBatchAxis = map[string]bool{
	"Relu": true, "Sigmoid": true, "Tanh": true, "LeakyRelu": true, "Elu": true, "Softsign": true,
	"Softplus": true, "Selu": true, "HardSigmoid": true, "Gelu": true, "Swish": true, "HardSwish": true,
}

var binaryBatchAxis = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "Max": true, "Min": true}

// sameBatchAxis checks that the operands of a binary element-wise node
// line up in kconv's batch-first form as they do in ONNX: computed values
// of one shape with their batch on v's axis, or constants that broadcast
// only over the axes after the batch (which both forms order alike).
func (c *nctx) sameBatchAxis(v *val) error {
	r := len(shapeOf(v))
	for i := 0; i < 2; i++ {
		o := c.in(i)
		switch {
		case o == nil:
			return fmt.Errorf("input %d is missing", i)
		case o.c != nil && o.node == "":
			if len(o.c.shape) > r-1-v.bax {
				return fmt.Errorf("constant input %d of shape %v broadcasts over the batch axis (%d) of a time-major value %v", i, o.c.shape, v.bax, shapeOf(v))
			}
		case o.bax != v.bax || !shapeOf(o).Equal(shapeOf(v)):
			return fmt.Errorf("operands %v (batch on axis %d) and %v (batch on axis %d) do not line up", shapeOf(v), v.bax, shapeOf(o), o.bax)
		}
	}
	return nil
}

// batchAxisIn returns the first input of the node whose batch is not on
// axis 0, and its index; nil when there is none.
func (c *nctx) batchAxisIn() (*val, int) {
	for i := range c.n.GetInput() {
		if v := c.in(i); v != nil && v.bax != 0 {
			return v, i
		}
	}
	return nil, -1
}

// batchAxisNode translates a node one of whose inputs has its batch off
// axis 0; done is false when the op's own translation handles it.
func (c *nctx) batchAxisNode(v *val, i int) (done bool, err error) {
	switch {
	case elementwiseBatchAxis[c.op] && i == 0 && c.nin() == 1:
		if err := c.im.nodeTranslate(c); err != nil {
			return true, err
		}
		if out := c.out(0); out != nil && out.node != "" {
			o := *out
			o.bax = v.bax
			c.setOut(0, &o)
		}
		return true, nil
	case binaryBatchAxis[c.op] && c.nin() == 2:
		if err := c.sameBatchAxis(v); err != nil {
			return true, err
		}
		if err := c.im.nodeTranslate(c); err != nil {
			return true, err
		}
		if out := c.out(0); out != nil && out.node != "" {
			o := *out
			o.bax = v.bax
			c.setOut(0, &o)
		}
		return true, nil
	case !batchAxisOps[c.op]:
		return true, fmt.Errorf("input '%s' has its batch on axis %d (the time-major layout of a recurrent node): %s of it is not supported (kconv keeps the dynamic batch on axis 0)", c.inName(i), v.bax, c.op)
	}
	switch c.op {
	case "Identity", "Dropout":
		if i != 0 {
			return true, fmt.Errorf("input %d has its batch on axis %d", i, v.bax)
		}
		c.setOut(0, v)
		return true, nil
	case "Transpose":
		return true, c.transposeBatchAxis(v)
	case "Squeeze", "Unsqueeze":
		return true, c.squeezeBatchAxis(v, c.op == "Unsqueeze")
	case "Reshape":
		return true, c.reshapeBatchAxis(v)
	case "Gather":
		return true, c.gatherBatchAxis(v)
	case "Slice":
		return true, c.sliceBatchAxis(v)
	case "Concat":
		return true, c.concatBatchAxis()
	}
	return false, nil // Shape and the recurrent nodes read bax themselves
}

// out returns the value of output i once defined.
func (c *nctx) out(i int) *val {
	outs := c.n.GetOutput()
	if i == 0 && c.out0 >= 0 {
		return c.im.names.recs[c.out0].v
	}
	if i < len(outs) && outs[i] != "" {
		return c.im.value(outs[i])
	}
	return nil
}

// setBatchAxis defines output i as ir node name of type t, whose batch is
// on ONNX axis bax.
func (c *nctx) setBatchAxis(i int, name string, t ir.TensorType, bax int) {
	c.setOut(i, &val{node: name, t: t, bax: bax})
}

// transposeBatchAxis translates Transpose of v (its batch on axis v.bax,
// or a batch-first value whose batch the transpose moves).
func (c *nctx) transposeBatchAxis(v *val) error {
	s := shapeOf(v)
	perm, err := c.perm(len(s))
	if err != nil {
		return err
	}
	if err := checkPermutation(perm); err != nil {
		return err
	}
	out := slices.Index(perm, v.bax)
	// q is the ir permutation: ir output axis k is ONNX output axis
	// onnxAxis(out, k), which is ONNX input axis perm[...], ir input
	// axis irAxis(v.bax, ...).
	q := make([]int, len(s))
	identity := true
	for k := range q {
		q[k] = irAxis(v.bax, perm[onnxAxis(out, k)])
		identity = identity && q[k] == k
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	if identity {
		c.setBatchAxis(0, x, c.im.irType(x), out)
		return nil
	}
	name, t, err := c.emit("", &ir.Transpose{Perm: q}, []string{x})
	if err != nil {
		return err
	}
	c.setBatchAxis(0, name, t, out)
	return nil
}

func checkPermutation(perm []int) error {
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if seen[p] {
			return fmt.Errorf("bad permutation %v", perm)
		}
		seen[p] = true
	}
	return nil
}

// squeezeBatchAxis translates Squeeze and Unsqueeze of v off its batch
// axis.
func (c *nctx) squeezeBatchAxis(v *val, unsqueeze bool) error {
	s := shapeOf(v)
	axes, ok, err := c.listInput("axes", 1, 13, "the axes")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s without axes of a value with its batch on axis %d is not supported", c.op, v.bax)
	}
	var out ir.Shape
	bax := v.bax
	if unsqueeze {
		r := len(s) + len(axes)
		ins, err := unsqueezeAxes(axes, r)
		if err != nil {
			return err
		}
		k := 0
		for j := 0; j < r; j++ {
			if ins[j] {
				out = append(out, 1)
				continue
			}
			if k == v.bax {
				bax = j
			}
			out = append(out, s[k])
			k++
		}
	} else {
		drop := make([]bool, len(s))
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
		for j, d := range s {
			switch {
			case drop[j]:
				if j < v.bax {
					bax--
				}
			default:
				out = append(out, d)
			}
		}
	}
	x, xt, err := c.act(0)
	if err != nil {
		return err
	}
	irOut := toIRShape(out, bax)
	if irOut.Equal(xt.Shape) {
		c.setBatchAxis(0, x, xt, bax)
		return nil
	}
	name, t, err := c.reshapeNode("", x, xt.Shape, irOut)
	if err != nil {
		return err
	}
	c.setBatchAxis(0, name, t, bax)
	return nil
}

// reshapeBatchAxis translates Reshape of v that keeps the axes up to its
// batch (copied with 0 or given as their sizes) and reshapes the axes
// after it: PyTorch's Reshape(0, 0, -1) merging a bidirectional
// recurrence's directions.
func (c *nctx) reshapeBatchAxis(v *val) error {
	if c.in(1) == nil || c.in(1).bax != 0 {
		return fmt.Errorf("the target shape has its batch on an axis")
	}
	t, err := c.constIn(1, "the target shape")
	if err != nil {
		return err
	}
	allowZero, err := c.int("allowzero", 0)
	if err != nil {
		return err
	}
	target, err := t.intsNoSym("the target shape")
	if err != nil {
		return err
	}
	s := shapeOf(v)
	if len(target) <= v.bax {
		return fmt.Errorf("reshape of %v (batch on axis %d) to %v moves the batch", s, v.bax, target)
	}
	for j := 0; j <= v.bax; j++ {
		if !(target[j] == 0 && allowZero == 0) && (s[j] < 0 || target[j] != int64(s[j])) {
			return fmt.Errorf("reshape of %v (batch on axis %d) to %v: only the axes after the batch may change", s, v.bax, target)
		}
	}
	// The ir value (batch, axes before it, rest): reshape the rest.
	x, xt, err := c.act(0)
	if err != nil {
		return err
	}
	in := append(ir.Shape{-1}, s[v.bax+1:]...)
	rest := append([]int64{-1}, target[v.bax+1:]...)
	for j := range rest[1:] {
		if rest[1+j] == 0 && allowZero == 0 {
			if v.bax+1+j >= len(s) {
				return fmt.Errorf("target %v copies dimension %d of %v", target, v.bax+1+j, s)
			}
			rest[1+j] = int64(s[v.bax+1+j])
		}
	}
	marks := make([]bool, len(rest))
	marks[0] = true
	rest[0] = 0
	res, err := resolveReshape(in, rest, marks, allowZero != 0)
	if err != nil {
		return err
	}
	irOut := append(xt.Shape[:1+v.bax:1+v.bax].Clone(), res[1:]...)
	if irOut.Equal(xt.Shape) {
		c.setBatchAxis(0, x, xt, v.bax)
		return nil
	}
	name, ot, err := c.reshapeNode("", x, xt.Shape, irOut)
	if err != nil {
		return err
	}
	c.setBatchAxis(0, name, ot, v.bax)
	return nil
}

// gatherBatchAxis translates Gather of constant indices off v's batch
// axis (PyTorch's h_n[-1]).
func (c *nctx) gatherBatchAxis(v *val) error {
	it, err := c.constIn(1, "the indices")
	if err != nil || it == nil {
		return fmtErr(err, "input 1 is missing")
	}
	s := shapeOf(v)
	a, err := c.int("axis", 0)
	if err != nil {
		return err
	}
	axis, err := normAxis(a, len(s))
	if err != nil {
		return err
	}
	if axis == v.bax || s[axis] < 0 {
		return fmt.Errorf("cannot gather on axis %d of %v (the batch or an unknown dimension)", axis, s)
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
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	name, t, err := c.emit("", &ir.Gather{Axis: irAxis(v.bax, axis), Indices: ind, IndicesShape: ir.Shape(slices.Clone(it.shape))}, []string{x})
	if err != nil {
		return err
	}
	bax := v.bax
	if axis < v.bax {
		bax += len(it.shape) - 1
	}
	c.setBatchAxis(0, name, t, bax)
	return nil
}

// sliceBatchAxis translates Slice of v off its batch axis.
func (c *nctx) sliceBatchAxis(v *val) error {
	s := shapeOf(v)
	args, err := c.sliceAxes(len(s))
	if err != nil {
		return err
	}
	op := &ir.Slice{}
	for _, a := range args {
		if a.ax == v.bax {
			if a.whole() {
				continue // the whole batch axis
			}
			return fmt.Errorf("cannot slice the batch axis (%d) of %v", a.ax, s)
		}
		op.Axes = append(op.Axes, irAxis(v.bax, a.ax))
		op.Starts = append(op.Starts, a.start)
		op.Ends = append(op.Ends, a.end)
		op.Steps = append(op.Steps, a.step)
	}
	x, xt, err := c.act(0)
	if err != nil {
		return err
	}
	if len(op.Axes) == 0 {
		c.setBatchAxis(0, x, xt, v.bax)
		return nil
	}
	name, t, err := c.emit("", op, []string{x})
	if err != nil {
		return err
	}
	c.setBatchAxis(0, name, t, v.bax)
	return nil
}

// concatBatchAxis translates Concat of values with their batch on one
// axis, along another (PyTorch's h_n of a multi-layer recurrence).
func (c *nctx) concatBatchAxis() error {
	n := c.nin()
	var names []string
	bax := -1
	var s ir.Shape
	for i := 0; i < n; i++ {
		v, err := c.need(i)
		if err != nil {
			return err
		}
		if v.node == "" || (bax >= 0 && v.bax != bax) {
			return fmt.Errorf("concat of values with their batch on different axes")
		}
		bax, s = v.bax, shapeOf(v)
		names = append(names, v.node)
	}
	a, err := c.int("axis", 1)
	if err != nil {
		return err
	}
	axis, err := normAxis(a, len(s))
	if err != nil {
		return err
	}
	if axis == bax {
		return fmt.Errorf("concat along the batch axis (%d)", axis)
	}
	name, t, err := c.emit("", &ir.Concat{Axis: irAxis(bax, axis)}, names)
	if err != nil {
		return err
	}
	c.setBatchAxis(0, name, t, bax)
	return nil
}

// timeMajorOutput makes graph output name, a value v with its batch off
// axis 0, the ONNX value: a Transpose from the batch-first ir value, which
// moves a dynamic dimension 0 (ir.Transpose.MovesDim0: exec then compiles
// the model per input shape, dimension 0 included).
func (im *importer) timeMajorOutput(name string, v *val) (*val, error) {
	perm := make([]int, len(v.t.Shape))
	for j := range perm {
		perm[j] = irAxis(v.bax, j)
	}
	c := &nctx{im: im, name: name, op: "Transpose", out0: -1}
	op := &ir.Transpose{Perm: perm, MovesDim0: v.t.Shape[0] < 0}
	node, t, err := c.emit("", op, []string{v.node})
	if err != nil {
		return nil, err
	}
	return &val{node: node, t: t}, nil
}
