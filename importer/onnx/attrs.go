package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// nctx is the conversion of one ONNX node.
type nctx struct {
	im    *importer
	n     *onnxpb.NodeProto
	name  string // ir name of the node's main output
	op    string
	attrs map[string]*onnxpb.AttributeProto
	out0  int32   // the name record of output 0, named name; -1 when unknown
	ins   []int32 // the name records of the inputs (-1: empty), when known
}

var errUnsupported = errors.New("unsupported op")

type attrType = onnxpb.AttributeProto_AttributeType

func (c *nctx) attr(name string, want attrType) (*onnxpb.AttributeProto, error) {
	a := c.attrs[name]
	if a == nil {
		return nil, nil
	}
	t := a.GetType()
	if t == onnxpb.AttributeProto_UNDEFINED {
		return a, nil // IR < 2: the field in use tells
	}
	if t != want {
		return nil, fmt.Errorf("attribute %s is %v, expected %v", name, t, want)
	}
	return a, nil
}

func (c *nctx) int(name string, def int64) (int64, error) {
	a, err := c.attr(name, onnxpb.AttributeProto_INT)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetI(), nil
}

func (c *nctx) float(name string, def float64) (float64, error) {
	a, err := c.attr(name, onnxpb.AttributeProto_FLOAT)
	if a == nil || err != nil {
		return def, err
	}
	return float64(a.GetF()), nil
}

func (c *nctx) str(name, def string) (string, error) {
	a, err := c.attr(name, onnxpb.AttributeProto_STRING)
	if a == nil || err != nil {
		return def, err
	}
	return string(a.GetS()), nil
}

// ints returns an INTS attribute; ok is false when absent.
func (c *nctx) ints(name string) (v []int64, ok bool, err error) {
	a, err := c.attr(name, onnxpb.AttributeProto_INTS)
	if a == nil || err != nil {
		return nil, false, err
	}
	return a.GetInts(), true, nil
}

func (c *nctx) floats(name string) (v []float32, ok bool, err error) {
	a, err := c.attr(name, onnxpb.AttributeProto_FLOATS)
	if a == nil || err != nil {
		return nil, false, err
	}
	return a.GetFloats(), true, nil
}

// toInts converts int64s to ints, checking their range.
func toInts(v []int64, what string) ([]int, error) {
	out := make([]int, len(v))
	for i, x := range v {
		if x > math.MaxInt32 || x < math.MinInt32 {
			// Slice ends use INT64_MAX/MIN for "to the end" (INT64_MIN:
			// before the first element, when stepping backwards).
			if x > 0 {
				x = math.MaxInt32
			} else {
				x = math.MinInt32
			}
		}
		out[i] = int(x)
	}
	return out, nil
}

// present returns the number of inputs, trailing empty names dropped.
func (c *nctx) nin() int {
	ins := c.n.GetInput()
	k := len(ins)
	for k > 0 && ins[k-1] == "" {
		k--
	}
	return k
}

// in returns input i, nil when absent or empty.
func (c *nctx) in(i int) *val {
	ins := c.n.GetInput()
	if i >= len(ins) || ins[i] == "" {
		return nil
	}
	if i < len(c.ins) {
		return c.im.names.recs[c.ins[i]].v
	}
	return c.im.value(ins[i])
}

func (c *nctx) inName(i int) string {
	ins := c.n.GetInput()
	if i >= len(ins) {
		return ""
	}
	return ins[i]
}

// need returns input i, which must be present.
func (c *nctx) need(i int) (*val, error) {
	v := c.in(i)
	if v == nil {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	return v, nil
}

// constIn returns input i as a constant; absent inputs give nil.
func (c *nctx) constIn(i int, what string) (*tensor, error) {
	v := c.in(i)
	if v == nil {
		return nil, nil
	}
	if v.c == nil {
		return nil, fmt.Errorf("%s (input '%s') %w", what, c.inName(i), ErrNotConstant)
	}
	return v.c, nil
}

// act returns the ir node and type of input i (a Constant node for a
// constant).
func (c *nctx) act(i int) (string, ir.TensorType, error) {
	v, err := c.need(i)
	if err != nil {
		return "", ir.TensorType{}, err
	}
	name, err := c.im.nodeOf(c.inName(i), v)
	if err != nil {
		return "", ir.TensorType{}, err
	}
	t := v.t
	if v.node == "" {
		t = c.im.irType(name)
	}
	// emit, which most likely comes next, finds the type here.
	c.im.lastName, c.im.lastType = name, t
	return name, t, nil
}

// shapeOf returns the shape of a value (dynamic batch as -1).
func shapeOf(v *val) ir.Shape {
	if v.c != nil && v.node == "" {
		return ir.Shape(v.c.shape)
	}
	if v.bax != 0 {
		return toONNXShape(v.t.Shape, v.bax)
	}
	return v.t.Shape
}

// setOut defines output i.
func (c *nctx) setOut(i int, v *val) {
	if v != nil && v.c != nil && v.c.prov == nil {
		v.c.prov = c.inProv()
	}
	outs := c.n.GetOutput()
	switch {
	case i == 0 && c.out0 >= 0:
		c.im.names.recs[c.out0].v = v
	case i < len(outs) && outs[i] != "":
		c.im.setValue(outs[i], v)
	}
}

// inProv is the provenance of a value the node folds at import: the stored
// tensors of its constant inputs, each once (a Gather of an initializer
// table by constant indices holds the table's values, however large the
// result).
func (c *nctx) inProv() *ir.Provenance {
	var ts []ir.StoredTensor
	for i := range c.n.GetInput() {
		v := c.in(i)
		if v == nil || v.c == nil || v.c.prov == nil {
			continue
		}
		for _, t := range v.c.prov.Tensors {
			if !slices.ContainsFunc(ts, func(u ir.StoredTensor) bool { return u.Name == t.Name }) {
				ts = append(ts, t)
			}
		}
	}
	if len(ts) == 0 {
		return noProv()
	}
	return &ir.Provenance{Tensors: ts}
}

// outUsed reports whether output i is consumed or a graph output.
func (c *nctx) outUsed(i int) bool {
	outs := c.n.GetOutput()
	return i < len(outs) && outs[i] != "" && c.im.useCount(outs[i]) > 0
}

// emit adds an ir node: the node's main one (suffix "") or a helper. It
// infers the output type at once, so errors name this ONNX node.
func (c *nctx) emit(suffix string, op ir.Op, inputs []string, weights ...*ir.Weight) (string, ir.TensorType, error) {
	// Ops read their input types, never keep them: one slice serves
	// every node.
	in := c.im.inTypes[:0]
	for _, name := range inputs {
		if name == c.im.lastName {
			in = append(in, c.im.lastType)
		} else {
			in = append(in, c.im.irType(name))
		}
	}
	c.im.inTypes = in
	t, err := op.Infer(in)
	if err != nil {
		return "", ir.TensorType{}, err
	}
	base := c.name
	if suffix != "" {
		base += "/" + suffix
	}
	hint := int32(-1)
	if suffix == "" {
		hint = c.out0
	}
	name, rec := c.im.freshRec(base, hint)
	class := c.op
	if suffix != "" {
		class = op.Kind()
	}
	node := &ir.Node{Name: name, Class: class, Op: op, Inputs: inputs, Weights: weights}
	c.im.m.Nodes = append(c.im.m.Nodes, node)
	if _, ok := op.(*ir.Transpose); ok {
		c.im.nodes[name] = node // see importer.nodes
	}
	rec.t = t // no add since freshRec: rec is valid
	return name, t, nil
}

// emitOut emits the main node and defines output 0 with it.
func (c *nctx) emitOut(op ir.Op, inputs []string, weights ...*ir.Weight) error {
	name, t, err := c.emit("", op, inputs, weights...)
	if err != nil {
		return err
	}
	c.setOut(0, &val{node: name, t: t})
	return nil
}

// chunkElems is about the number of values weight converts at a time: a
// buffer that stays in a core's L2 cache while its rows are placed.
var chunkElems = 1 << 16

// chunkMinRows is the fewest rows weight converts at a time where that
// takes at most 16 chunkElems: a conversion that writes each row down a
// column of its output (a Gemm's transB kernel) then writes 32 adjacent
// floats of each output row per pass, not 2 (VGG16's fc6, 4096 rows of
// 25088, went 2 rows a chunk: 0.78 s of CPU in a 1.0 s load; ready 1.0-1.1
// → 0.58-0.70 s on the Xeon).
var chunkMinRows = 32

// weight makes a lazy weight from a constant. Without conv its data is read
// straight into the weight's buffer; with conv, it is converted into the
// canonical layout of shape a few rows at a time (rows of rowLen values
// along the constant's leading axis): conv(rows, r0, dst) places rows r0,
// r0+1, … of the constant in dst. A layout change thus costs no second
// copy of a large kernel.
func weight(name string, shape ir.Shape, t *tensor, rowLen int, conv func(rows []float32, r0 int, dst []float32)) *ir.Weight {
	dt := ir.Float32
	if t.src != nil && isFloatType(t.src.dtype) {
		dt = irDType(t.src.dtype)
	}
	w := ir.NewWeight(name, shape, dt, t.origin, ir.SourceFunc(func(dst []float32) error {
		if t.n() != len(dst) {
			return fmt.Errorf("%d values for shape %v", t.n(), shape)
		}
		if conv == nil {
			return t.readFloatsAt(dst, 0)
		}
		if len(dst) == 0 {
			return nil
		}
		if rowLen <= 0 || len(dst)%rowLen != 0 {
			return fmt.Errorf("rows of %d values do not divide shape %v", rowLen, shape)
		}
		if t.src == nil {
			src, err := t.floats()
			if err != nil {
				return err
			}
			conv(src, 0, dst)
			return nil
		}
		rows := len(dst) / rowLen
		step := max(chunkElems/rowLen, min(chunkMinRows, 16*chunkElems/rowLen), 1)
		sb := t.src.scratch(min(step, rows) * rowLen)
		defer t.src.release(sb)
		buf := *sb
		for r0 := 0; r0 < rows; r0 += step {
			b := buf[:min(step, rows-r0)*rowLen]
			if err := t.readFloatsAt(b, r0*rowLen); err != nil {
				return err
			}
			conv(b, r0, dst)
		}
		return nil
	}))
	w.Provenance = provOf(t)
	return w
}

// scratch returns a buffer of n values for weight's row conversion, taken
// from the model file's pool when one there is large enough (its values
// are garbage). Give it back with release.
func (t *tdata) scratch(n int) *[]float32 {
	if t.mf != nil {
		if p, ok := t.mf.scratch.Get().(*[]float32); ok && cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	b := make([]float32, n, max(n, chunkElems))
	return &b
}

// release returns a scratch buffer to the model file's pool.
func (t *tdata) release(p *[]float32) {
	if t.mf != nil {
		t.mf.scratch.Put(p)
	}
}
