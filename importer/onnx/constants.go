package onnx

import (
	"fmt"
	"github.com/kconv/kconv/internal/onnxpb"
	"math"
	"slices"

	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/ir"
)

// Constants and shape arithmetic: Constant, Cast, Shape, ConstantOfShape,
// Gather, Slice, Concat, Squeeze and Unsqueeze. On constants (shape
// operands, mostly) they fold at import (see fold.go) and never become ir
// nodes; on computed tensors they become ir ops.

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
		// A Constant is a literal of the graph's arithmetic (ε, an
		// exponent, a scale: attributes at other opsets), not one of
		// its parameters, which exporters store as initializers.
		t.prov = noProv()
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
		x := int64(s[i])
		if x < 0 {
			if batch == nil {
				batch = make([]bool, end-start)
			}
			batch[i-start] = true
			x = 0 // the batch size
			if i != int64(v.bax) {
				x = symUnknown
			}
		}
		out = append(out, x)
	}
	t := intTensor([]int{len(out)}, out)
	t.batch = batch
	c.setOut(0, &val{c: t})
	return nil
}

// zeroFill reports whether ConstantOfShape fills with zeros (its value
// absent, or a one-element float zero).
func (c *nctx) zeroFill() bool {
	a := c.attrs["value"]
	if a == nil || a.GetT() == nil {
		return true
	}
	t, err := c.im.initTensor(a.GetT())
	if err != nil || t.n() != 1 {
		return false
	}
	f, err := t.floats()
	return err == nil && len(f) == 1 && f[0] == 0
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
		if st.hasBatch() && c.zeroFill() {
			// Kept for a recurrent node's default state; any other
			// use reports this node's error.
			c.setOut(0, &val{zero: fmt.Errorf("its input comes from ConstantOfShape node '%s': %w", c.name, err)})
			return nil
		}
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
	// Not a parameter: the file stores no such tensor (see noProv),
	// though a graph may build weights so (the ONNX zoo's VGGs).
	out := &tensor{shape: dims, isInt: fill.isInt, origin: "constant " + c.name, prov: noProv()}
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
	if iv := c.in(1); iv != nil && iv.node != "" && data.c != nil && data.node == "" {
		return c.embedding(data.c)
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
	if s[axis] < 0 && axis == 0 {
		return fmt.Errorf("cannot gather on the dynamic batch axis")
	}
	raw, err := it.intsNoSym("the indices")
	if err != nil {
		return err
	}
	if s[axis] < 0 {
		return c.gatherUnknown(data, s, axis, raw, it.shape)
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

// sliceArgs reads a Slice node's starts, ends, axes and steps (inputs from
// opset 10, attributes before), with axes and steps defaulted, all of one
// length.
func (c *nctx) sliceArgs() (starts, ends, axes, steps []int64, err error) {
	var ok bool
	if starts, ok, err = c.listInput("starts", 1, 10, "the starts"); err != nil || !ok {
		return nil, nil, nil, nil, fmtErr(err, "starts are missing")
	}
	if ends, ok, err = c.listInput("ends", 2, 10, "the ends"); err != nil || !ok {
		return nil, nil, nil, nil, fmtErr(err, "ends are missing")
	}
	if axes, ok, err = c.listInput("axes", 3, 10, "the axes"); err != nil {
		return nil, nil, nil, nil, err
	} else if !ok {
		for k := range starts {
			axes = append(axes, int64(k))
		}
	}
	if c.im.opset >= 10 {
		if steps, _, err = c.listInput("steps", 4, 10, "the steps"); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if steps == nil {
		for range starts {
			steps = append(steps, 1)
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, nil, nil, nil, fmt.Errorf("slice has %d starts, %d ends, %d axes and %d steps", len(starts), len(ends), len(axes), len(steps))
	}
	return starts, ends, axes, steps, nil
}

// sliceAxis is one axis of a Slice node: the axis (normalized for the
// input's rank) and its start, end and step.
type sliceAxis struct{ ax, start, end, step int }

// whole reports whether the axis is taken whole from 0 with step 1 and an
// open end (how exporters write "every element" of an axis of unknown size).
func (a sliceAxis) whole() bool { return a.start == 0 && a.step == 1 && a.end >= math.MaxInt32 }

// sliceAxes reads a Slice node's arguments (sliceArgs) for an input of
// rank r, axis by axis.
func (c *nctx) sliceAxes(r int) ([]sliceAxis, error) {
	starts, ends, axes, steps, err := c.sliceArgs()
	if err != nil {
		return nil, err
	}
	out := make([]sliceAxis, len(starts))
	for k := range starts {
		ax, err := normAxis(axes[k], r)
		if err != nil {
			return nil, err
		}
		w, err := toInts([]int64{starts[k], ends[k], steps[k]}, "the slice")
		if err != nil {
			return nil, err
		}
		out[k] = sliceAxis{ax, w[0], w[1], w[2]}
	}
	return out, nil
}

// perm reads a Transpose node's perm for an input of rank r (default:
// the axes reversed), each entry an axis of the input.
func (c *nctx) perm(r int) ([]int, error) {
	p, ok, err := c.ints("perm")
	if err != nil {
		return nil, err
	}
	perm := make([]int, r)
	for i := range perm {
		perm[i] = r - 1 - i
	}
	if ok {
		if len(p) != r {
			return nil, fmt.Errorf("permutation %v does not fit rank %d", p, r)
		}
		for i, x := range p {
			if x < 0 || x >= int64(r) {
				return nil, fmt.Errorf("bad permutation %v", p)
			}
			perm[i] = int(x)
		}
	}
	return perm, nil
}

func (c *nctx) slice() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	if data.zero != nil {
		c.setOut(0, data) // a slice of zeros is zeros
		return nil
	}
	s := shapeOf(data)
	args, err := c.sliceAxes(len(s))
	if err != nil {
		return err
	}
	op := &ir.Slice{}
	for _, a := range args {
		if s[a.ax] < 0 && a.whole() {
			continue // the whole dynamic batch axis
		}
		op.Axes = append(op.Axes, a.ax)
		op.Starts = append(op.Starts, a.start)
		op.Ends = append(op.Ends, a.end)
		op.Steps = append(op.Steps, a.step)
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
	if m, ok := (&ir.Concat{Axis: axis}).AsMerge(anyConst); ok {
		return c.emitOut(m, ins)
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
		ins, err := unsqueezeAxes(axes, r)
		if err != nil {
			return err
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
				// An unknown size is squeezed as ONNX does, as 1:
				// once known, the reshape checks it.
				if s[ax] != 1 && (s[ax] >= 0 || ax == 0) {
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

// gatherUnknown takes one index of an unknown axis (x[:, -1] of a
// variable-length sequence) as a Slice of that axis, then drops the axis
// for a scalar index; negative indices count from the end, as the Slice
// resolves them once the shape is known.
func (c *nctx) gatherUnknown(data *val, s ir.Shape, axis int, raw []int64, ishape []int) error {
	if len(raw) != 1 || len(ishape) > 1 {
		return fmt.Errorf("gather of %d indices on unknown axis %d of %v: kconv gathers one index of an unknown axis", len(raw), axis, s)
	}
	st := raw[0]
	en := st + 1
	if st == -1 {
		en = math.MaxInt32
	}
	if st < math.MinInt32 || st > math.MaxInt32 {
		return fmt.Errorf("index %d out of range", st)
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	name, t, err := c.emit("slice", &ir.Slice{Axes: []int{axis}, Starts: []int{int(st)}, Ends: []int{int(en)}, Steps: []int{1}}, []string{x})
	if err != nil {
		return err
	}
	if len(ishape) == 1 {
		c.setOut(0, &val{node: name, t: t})
		return nil
	}
	out := slices.Delete(slices.Clone(t.Shape), axis, axis+1)
	name, t, err = c.reshapeNode("", name, t.Shape, out)
	if err != nil {
		return err
	}
	c.setOut(0, &val{node: name, t: t})
	return nil
}

// embedding translates Gather of rows of a constant table (rank 2, axis
// 0) by computed indices — PyTorch's nn.Embedding — as ir.Embedding: the
// indices are float values in kconv (integer graph inputs that only index
// tables are read as float, see indexInput), and one outside the table is
// a run error naming the node.
func (c *nctx) embedding(table *tensor) error {
	a, err := c.int("axis", 0)
	if err != nil {
		return err
	}
	if len(table.shape) != 2 || a != 0 {
		return fmt.Errorf("gather of a constant of shape %v on axis %d by computed indices: only rows of a 2-D table (an embedding) are supported", table.shape, a)
	}
	x, xt, err := c.act(1)
	if err != nil {
		return err
	}
	if v := c.in(1); v.bax != 0 || len(xt.Shape) == 0 {
		return fmt.Errorf("embedding indices %v must have their batch on axis 0", shapeOf(v))
	}
	op := &ir.Embedding{InputDim: table.shape[0], OutputDim: table.shape[1]}
	return c.emitOut(op, []string{x}, weight("embeddings", ir.Shape{table.shape[0], table.shape[1]}, table, 0, nil))
}

// indexInput reports whether an integer graph input only indexes constant
// tables (every consumer a Gather of an initializer of rank 2 on axis 0 by
// it: PyTorch's nn.Embedding), so that kconv reads it as a float input
// holding whole numbers.
func indexInput(name string, elem int32, g *onnxpb.GraphProto, inits map[string]*tensor) bool {
	switch onnxpb.TensorProto_DataType(elem) {
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32:
	default:
		return false
	}
	used := false
	for _, n := range g.GetNode() {
		for i, in := range n.GetInput() {
			if in != name {
				continue
			}
			if n.GetOpType() != "Gather" || n.GetDomain() != "" || i != 1 || len(n.GetInput()) < 2 {
				return false
			}
			t := inits[n.GetInput()[0]]
			if t == nil || len(t.shape) != 2 || t.isInt {
				return false
			}
			for _, a := range n.GetAttribute() {
				if a.GetName() == "axis" && a.GetI() != 0 {
					return false
				}
			}
			used = true
		}
	}
	return used
}

// unsqueezeAxes marks the axes Unsqueeze inserts in an output of rank r
// (negative axes count from the end); an axis given twice is an error.
func unsqueezeAxes(axes []int64, r int) ([]bool, error) {
	ins := make([]bool, r)
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[ax] {
			return nil, fmt.Errorf("axis %d given twice", ax)
		}
		ins[ax] = true
	}
	return ins, nil
}
