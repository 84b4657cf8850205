package onnx

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// value is an ONNX tensor standing for the output of an ir node.
type value struct {
	name   string
	shape  ir.Shape  // logical (Keras) shape, batch first
	layout ir.Layout // logical layout
	// moved marks a rank-4 value stored with its logical last axis moved to
	// axis 1: the logical tensor permuted by (0,3,1,2), i.e. an NHWC value
	// held as NCHW. Values are otherwise stored in their logical order.
	moved bool
	other *value // the same value in the other storage, once made
}

// physAxis maps a logical axis of v (negative counts from the end) to the
// axis of its storage.
func (v *value) physAxis(a int) int {
	if a < 0 {
		a += len(v.shape)
	}
	if v.moved {
		return [4]int{0, 2, 3, 1}[a]
	}
	return a
}

// builder translates a model into an ONNX graph.
type builder struct {
	m      *ir.Model
	opts   Options
	opset  int
	graph  *onnxpb.GraphProto
	model  *onnxpb.ModelProto
	inits  []*initializer
	used   map[string]bool // value and initializer names
	nodes  map[string]bool // node names
	consts map[string]string
	vals   map[string]*value // ir node name → its value
	// feedsPool marks the nodes whose output a Pool2D reads.
	feedsPool map[string]bool
	// rnnStates holds the final-state outputs (Y_h, Y_c) of the exported
	// recurrent nodes that return their states, for RecurrentState nodes.
	rnnStates map[string][2]string
	// mm are the model's Keras masks (ir.ModelMasks); masks holds the
	// masks made, by source node name or combined mask key.
	mm    *ir.Masks
	masks map[string]*stepMask
}

func build(m *ir.Model, opts Options) (*file, error) {
	if opts.Opset == 0 {
		opts.Opset = DefaultOpset
	}
	if opts.Opset < MinOpset || opts.Opset > MaxOpset {
		return nil, fmt.Errorf("opset %d is not supported (%d to %d)", opts.Opset, MinOpset, MaxOpset)
	}
	if opts.Batch < 0 {
		return nil, fmt.Errorf("batch %d: must be 0 (dynamic) or positive", opts.Batch)
	}
	if m == nil {
		return nil, errors.New("no model")
	}
	if err := ir.CheckInvariants(m, ir.StageTyped); err != nil {
		return nil, err
	}
	b := &builder{
		m: m, opts: opts, opset: opts.Opset,
		graph:     &onnxpb.GraphProto{Name: proto.String(graphName(m))},
		used:      map[string]bool{},
		nodes:     map[string]bool{},
		consts:    map[string]string{},
		vals:      map[string]*value{},
		feedsPool: map[string]bool{},
		masks:     map[string]*stepMask{},
	}
	var err error
	if b.mm, err = ir.ModelMasks(m); err != nil {
		return nil, err
	}
	for _, n := range m.Nodes {
		b.used[n.Name] = true
		if _, ok := n.Op.(*ir.Pool2D); ok {
			for _, in := range n.Inputs {
				b.feedsPool[in] = true
			}
		}
	}
	for _, n := range m.Nodes {
		if err := b.node(n); err != nil {
			var le *ir.LayerError
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, &ir.LayerError{Layer: n.Name, Err: err}
		}
	}
	if err := b.outputs(); err != nil {
		return nil, err
	}
	b.model = &onnxpb.ModelProto{
		IrVersion:    proto.Int64(irVersion(b.opset)),
		ProducerName: proto.String("kconv"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(b.opset))}},
	}
	if src := m.Meta.Source; src != "" {
		b.model.DocString = proto.String("converted by kconv from " + src)
	}
	return b.finish()
}

func graphName(m *ir.Model) string {
	if m.Name != "" {
		return m.Name
	}
	return "kconv"
}

// node translates one ir node.
func (b *builder) node(n *ir.Node) error {
	var (
		v   *value
		err error
	)
	switch op := n.Op.(type) {
	case *ir.Input:
		v, err = b.input(n)
	case *ir.Dropout:
		v = b.in(n, 0)
	case *ir.Conv2D:
		v, err = b.conv(n, op)
	case *ir.DepthwiseConv2D:
		v, err = b.depthwise(n, op)
	case *ir.SeparableConv2D:
		v, err = b.separable(n, op)
	case *ir.Conv2DTranspose:
		v, err = b.deconv(n, op)
	case *ir.Pool2D:
		v, err = b.pool(n, op)
	case *ir.GlobalPool2D:
		v, err = b.globalPool(n, op)
	case *ir.Dense:
		v, err = b.dense(n, op)
	case *ir.Flatten:
		v, err = b.flatten(n, op)
	case *ir.Reshape:
		v, err = b.reshape(n, op)
	case *ir.Permute:
		v, err = b.permute(n, op)
	case *ir.Activation:
		v, err = b.activation(b.in(n, 0), op.Act, n.Name)
	case *ir.PReLU:
		v, err = b.prelu(n, op)
	case *ir.BatchNorm:
		v, err = b.batchNorm(n, op)
	case *ir.Merge:
		v, err = b.merge(n, op)
	case *ir.ZeroPadding2D:
		v, err = b.padCrop(n, op.Pads, op.DataFormat, true)
	case *ir.Cropping2D:
		v, err = b.padCrop(n, op.Crops, op.DataFormat, false)
	case *ir.UpSampling2D:
		v, err = b.upsample(n, op)
	case *ir.Lambda:
		v, err = b.lambda(n, op)
	case *ir.Unknown:
		return fmt.Errorf("%s is not a layer kconv knows; it cannot be exported to ONNX", op.ClassName)
	default:
		var ok bool
		if v, ok, err = b.seqNode(n); !ok {
			if v, ok, err = b.onnxNode(n); !ok {
				v, ok, err = b.tensorNode(n)
			}
			if !ok {
				return fmt.Errorf("%s is not supported by the ONNX exporter", n.Op.Kind())
			}
		}
	}
	if err != nil {
		return err
	}
	b.vals[n.Name] = v
	return nil
}

// in returns the value of n's i-th input.
func (b *builder) in(n *ir.Node, i int) *value { return b.vals[n.Inputs[i]] }

// fresh returns an unused value name based on base, and reserves it.
func (b *builder) fresh(base string) string {
	name := base
	for i := 1; b.used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	b.used[name] = true
	return name
}

// add appends a node computing out and returns out.
func (b *builder) add(opType string, inputs []string, out string, attrs ...*onnxpb.AttributeProto) string {
	name := out
	for i := 1; b.nodes[name]; i++ {
		name = out + "_" + strconv.Itoa(i)
	}
	b.nodes[name] = true
	b.graph.Node = append(b.graph.Node, &onnxpb.NodeProto{
		Input: inputs, Output: []string{out}, Name: proto.String(name), OpType: proto.String(opType), Attribute: attrs,
	})
	return out
}

// step adds a node whose output is a fresh name based on base.
func (b *builder) step(opType string, inputs []string, base string, attrs ...*onnxpb.AttributeProto) string {
	return b.add(opType, inputs, b.fresh(base), attrs...)
}

// form returns v stored moved (NCHW for an NHWC value) or in logical order,
// adding a Transpose the first time.
func (b *builder) form(v *value, moved bool) *value {
	if len(v.shape) != 4 || v.moved == moved {
		return v
	}
	if v.other != nil {
		return v.other
	}
	perm, suffix := []int64{0, 2, 3, 1}, "/nhwc"
	if moved {
		perm, suffix = []int64{0, 3, 1, 2}, "/nchw"
	}
	base := strings.TrimSuffix(strings.TrimSuffix(v.name, "/nchw"), "/nhwc")
	o := &value{name: b.step("Transpose", []string{v.name}, base+suffix, aInts("perm", perm...)), shape: v.shape, layout: v.layout, moved: moved, other: v}
	v.other = o
	return o
}

// logical returns v in its logical (Keras) order.
func (b *builder) logical(v *value) *value { return b.form(v, false) }

// nchw returns v as the NCHW tensor an op of data format df reads.
func (b *builder) nchw(v *value, df ir.Layout) *value { return b.form(v, df != ir.ChannelsFirst) }

// result is the value of n computed into name, stored NCHW for data format df
// when rank 4.
func result(n *ir.Node, name string, moved bool) *value {
	return &value{name: name, shape: n.Out.Shape, layout: n.Out.Layout, moved: moved && len(n.Out.Shape) == 4}
}

// input declares a model input.
func (b *builder) input(n *ir.Node) (*value, error) {
	t := n.Out
	moved := b.opts.InputNCHW && len(t.Shape) == 4 && t.Layout != ir.ChannelsFirst
	shape := t.Shape
	if moved {
		shape = ir.Shape{shape[0], shape[3], shape[1], shape[2]}
	}
	b.graph.Input = append(b.graph.Input, b.valueInfo(n.Name, shape))
	return &value{name: n.Name, shape: t.Shape, layout: t.Layout, moved: moved}, nil
}

// outputs declares the model outputs, in logical order, named after their
// nodes.
func (b *builder) outputs() error {
	inputs := map[string]bool{}
	for _, in := range b.graph.Input {
		inputs[in.GetName()] = true
	}
	outs := map[string]bool{}
	for _, o := range b.m.Outputs {
		if outs[o] {
			return fmt.Errorf("output '%s' is listed twice", o)
		}
		outs[o] = true
	}
	for _, o := range b.m.Outputs {
		v := b.vals[o]
		lv := b.logical(v)
		if lv.name != o {
			// o may name the value's other storage: give that a new name.
			if v.name == o {
				b.rename(o, b.fresh(o+"/nchw"))
			}
			if inputs[lv.name] || outs[lv.name] || b.isInit(lv.name) {
				b.add("Identity", []string{lv.name}, o)
			} else {
				b.rename(lv.name, o)
			}
		}
		b.graph.Output = append(b.graph.Output, b.valueInfo(o, v.shape))
	}
	return nil
}

func (b *builder) isInit(name string) bool {
	for _, t := range b.inits {
		if t.name == name {
			return true
		}
	}
	return false
}

// rename renames a computed value everywhere in the graph.
func (b *builder) rename(from, to string) {
	b.used[to] = true
	for _, v := range b.vals {
		for _, x := range []*value{v, v.other} {
			if x != nil && x.name == from {
				x.name = to
			}
		}
	}
	for _, nd := range b.graph.Node {
		for i, s := range nd.Input {
			if s == from {
				nd.Input[i] = to
			}
		}
		for i, s := range nd.Output {
			if s == from {
				nd.Output[i] = to
			}
		}
	}
}

// valueInfo describes a float tensor of the given shape; a dynamic batch is
// "N" unless fixed by Options.Batch (a static dimension 0 is written as
// it is), other unknown sizes are left open.
func (b *builder) valueInfo(name string, shape ir.Shape) *onnxpb.ValueInfoProto {
	dims := make([]*onnxpb.TensorShapeProto_Dimension, len(shape))
	for i, d := range shape {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch {
		case i == 0 && d >= 0:
			// A static dimension 0 (imported ONNX models) stays.
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case i == 0 && b.opts.Batch > 0:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(b.opts.Batch)}
		case i == 0:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		case d >= 0:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		}
		dims[i] = dim
	}
	et := int32(onnxpb.TensorProto_FLOAT)
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: &et, Shape: &onnxpb.TensorShapeProto{Dim: dims},
		}}},
	}
}

// Initializers.

// weightInit adds a float32 initializer named after its layer; data is kept,
// not copied.
func (b *builder) weightInit(base string, dims []int, data []float32) string {
	name := b.fresh(base)
	b.inits = append(b.inits, &initializer{name: name, dims: i64s(dims), f32: data})
	return name
}

// constF adds (or reuses) a small float32 constant.
func (b *builder) constF(dims []int, data ...float32) string {
	key := fmt.Sprintf("f%v:%v", dims, data)
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := b.fresh("const_f")
	b.inits = append(b.inits, &initializer{name: name, dims: i64s(dims), f32: data})
	b.consts[key] = name
	return name
}

// scalar adds (or reuses) a rank-0 float32 constant.
func (b *builder) scalar(v float32) string { return b.constF([]int{}, v) }

// constI adds (or reuses) a 1-D int64 constant.
func (b *builder) constI(data ...int64) string {
	key := fmt.Sprintf("i%v", data)
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := b.fresh("const_i")
	if data == nil {
		data = []int64{}
	}
	b.inits = append(b.inits, &initializer{name: name, dims: []int64{int64(len(data))}, i64: data})
	b.consts[key] = name
	return name
}

func i64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, d := range v {
		out[i] = int64(d)
	}
	return out
}

// weight returns n's weight named name (the i-th by default), checked
// against its spec.
func weight(n *ir.Node, name string, i int) ([]float32, ir.Shape, error) {
	w := n.Weight(name)
	if w == nil && i < len(n.Weights) {
		w = n.Weights[i]
	}
	if w == nil {
		return nil, nil, fmt.Errorf("has no %s weight (was the model loaded with its weights?)", name)
	}
	var want ir.Shape
	for _, s := range n.Specs {
		if s.Name == name {
			want = s.Shape
		}
	}
	if want == nil {
		want = w.Shape
	}
	d, err := w.Data()
	if err != nil {
		return nil, nil, fmt.Errorf("weight %s: %w", name, err)
	}
	if int64(len(d)) != want.Elements() {
		return nil, nil, fmt.Errorf("weight %s has %d values, expected %v", name, len(d), want)
	}
	return d, want, nil
}

// permute returns data (of the given shape) transposed by perm: output axis
// i is input axis perm[i].
func permute(data []float32, shape []int, perm []int) []float32 {
	r := len(shape)
	out := make([]float32, len(data))
	if len(data) == 0 {
		return out
	}
	inStride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		inStride[i] = s
		s *= shape[i]
	}
	oshape := make([]int, r)
	ostr := make([]int, r) // input stride of each output axis
	for i, p := range perm {
		oshape[i] = shape[p]
		ostr[i] = inStride[p]
	}
	idx := make([]int, r)
	src := 0
	for o := range out {
		out[o] = data[src]
		for a := r - 1; a >= 0; a-- {
			idx[a]++
			src += ostr[a]
			if idx[a] < oshape[a] {
				break
			}
			src -= ostr[a] * oshape[a]
			idx[a] = 0
		}
	}
	return out
}

// Attributes.

func attr(name string, t onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: t.Enum()}
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	a := attr(name, onnxpb.AttributeProto_INT)
	a.I = proto.Int64(v)
	return a
}

func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	a := attr(name, onnxpb.AttributeProto_INTS)
	a.Ints = v
	return a
}

func aFloat(name string, v float64) *onnxpb.AttributeProto {
	a := attr(name, onnxpb.AttributeProto_FLOAT)
	a.F = proto.Float32(float32(v))
	return a
}

func aString(name, v string) *onnxpb.AttributeProto {
	a := attr(name, onnxpb.AttributeProto_STRING)
	a.S = []byte(v)
	return a
}

// needOpset reports an error when the chosen opset is older than min.
func (b *builder) needOpset(min int, what string) error {
	if b.opset < min {
		return fmt.Errorf("%s needs opset %d or newer (exporting opset %d)", what, min, b.opset)
	}
	return nil
}

// int64Max is Slice's "to the end".
const int64Max = math.MaxInt64
