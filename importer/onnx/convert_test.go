package onnx

import (
	"encoding/binary"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
	"google.golang.org/protobuf/proto"
)

func decodeT(t *testing.T, b *gb) *ir.Model {
	t.Helper()
	m, err := Decode(b.bytes(t), "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// outOp returns the op of the node computing the model's first output.
func outOp(m *ir.Model) ir.Op { return m.Node(m.Outputs[0]).Op }

// TestOpsetForms checks ops whose operands moved from attributes to inputs
// across opsets.
func TestOpsetForms(t *testing.T) {
	cases := []struct {
		name string
		b    *gb
		want ir.Op
	}{
		{"Clip<11 attrs", newGraph(6).input("x", -1, 4).output("y").
			node("Clip", "c", []string{"x"}, []string{"y"}, aFloat("min", -1), aFloat("max", 1)),
			&ir.Clip{Min: -1, Max: 1}},
		{"Clip<11 relu6", newGraph(9).input("x", -1, 4).output("y").
			node("Clip", "c", []string{"x"}, []string{"y"}, aFloat("min", 0), aFloat("max", 6)),
			&ir.Activation{Act: ir.Act{Name: "relu6"}}},
		{"Clip>=11 inputs", newGraph(13).input("x", -1, 4).output("y").
			init(floatT("lo", nil, []float32{0})).
			node("Clip", "c", []string{"x", "lo", ""}, []string{"y"}),
			&ir.Activation{Act: ir.Act{Name: "relu"}}},
		{"Clip>=11 max only", newGraph(13).input("x", -1, 4).output("y").
			init(floatT("hi", nil, []float32{2})).
			node("Clip", "c", []string{"x", "", "hi"}, []string{"y"}),
			&ir.Clip{Min: math.Inf(-1), Max: 2}},
		{"Squeeze<13 attr", newGraph(11).input("x", -1, 4, 1, 1).output("y").
			node("Squeeze", "s", []string{"x"}, []string{"y"}, aInts("axes", 2, 3)),
			&ir.Reshape{Target: ir.Shape{4}}},
		{"Squeeze>=13 input", newGraph(13).input("x", -1, 4, 1, 1).output("y").init(intT("a", -1, -2)).
			node("Squeeze", "s", []string{"x", "a"}, []string{"y"}),
			&ir.Reshape{Target: ir.Shape{4}}},
		{"Unsqueeze<13 attr", newGraph(11).input("x", -1, 4).output("y").
			node("Unsqueeze", "u", []string{"x"}, []string{"y"}, aInts("axes", 2, 3)),
			&ir.Reshape{Target: ir.Shape{4, 1, 1}}},
		{"Unsqueeze>=13 input", newGraph(13).input("x", -1, 4).output("y").init(intT("a", 2, 3)).
			node("Unsqueeze", "u", []string{"x", "a"}, []string{"y"}),
			&ir.Reshape{Target: ir.Shape{4, 1, 1}}},
		{"Pad<11 attr", newGraph(9).input("x", -1, 2, 3, 3).output("y").
			node("Pad", "p", []string{"x"}, []string{"y"}, aInts("pads", 0, 0, 1, 2, 0, 0, 3, 4)),
			&ir.ZeroPadding2D{Pads: [4]int{1, 3, 2, 4}, DataFormat: ir.ChannelsFirst}},
		{"Pad>=11 input value", newGraph(13).input("x", -1, 2, 3, 3).output("y").
			init(intT("p", 0, 0, 1, 1, 0, 0, 1, 1)).init(floatT("v", nil, []float32{-1})).
			node("Pad", "p", []string{"x", "p", "v"}, []string{"y"}),
			&ir.Pad{Pads: []int{0, 0, 1, 1, 0, 0, 1, 1}, Mode: "constant", Value: -1}},
		{"Softmax>=13 default", newGraph(13).input("x", -1, 3, 4).output("y").
			node("Softmax", "s", []string{"x"}, []string{"y"}),
			&ir.Activation{Act: ir.Act{Name: "softmax", Axis: -1}}},
		{"Softmax>=13 axis", newGraph(13).input("x", -1, 3, 4).output("y").
			node("Softmax", "s", []string{"x"}, []string{"y"}, aInt("axis", 1)),
			&ir.Activation{Act: ir.Act{Name: "softmax", Axis: 1}}},
		{"Softmax<13 2-D", newGraph(11).input("x", -1, 3, 4).output("y").
			node("LogSoftmax", "s", []string{"x"}, []string{"y"}),
			&ir.Reshape{Target: ir.Shape{3, 4}}},
		{"ReduceMean<18 attr", newGraph(13).input("x", -1, 2, 3, 3).output("y").
			node("ReduceMean", "r", []string{"x"}, []string{"y"}, aInts("axes", 2, 3), aInt("keepdims", 0)),
			&ir.GlobalPool2D{DataFormat: ir.ChannelsFirst}},
		{"ReduceMean>=18 input", newGraph(18).input("x", -1, 2, 3, 3).output("y").init(intT("a", -1)).
			node("ReduceMean", "r", []string{"x", "a"}, []string{"y"}),
			&ir.ReduceMean{Axes: []int{3}, KeepDims: true}},
		{"Dropout<12 ratio attr", newGraph(11).input("x", -1, 4).output("y").
			node("Dropout", "d", []string{"x"}, []string{"y"}, aFloat("ratio", 0.25)),
			&ir.Dropout{Rate: 0.25}},
		{"Dropout>=12 ratio input", newGraph(13).input("x", -1, 4).output("y").init(floatT("r", nil, []float32{0.25})).
			node("Dropout", "d", []string{"x", "r"}, []string{"y"}),
			&ir.Dropout{Rate: 0.25}},
		{"Selu custom", newGraph(13).input("x", -1, 4).output("y").
			node("Selu", "s", []string{"x"}, []string{"y"}, aFloat("alpha", 2), aFloat("gamma", 3)),
			&ir.Binary{Op: ir.BinaryMul}},
		{"Flatten axis 2", newGraph(13).input("x", -1, 1, 3, 4).output("y").
			node("Flatten", "f", []string{"x"}, []string{"y"}, aInt("axis", 2)),
			&ir.Reshape{Target: ir.Shape{12}}},
		{"LRN", newGraph(13).input("x", -1, 4, 3, 3).output("y").
			node("LRN", "l", []string{"x"}, []string{"y"}, aInt("size", 3)),
			&ir.LRN{Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 1}},
		{"Conv 1-D runs as 2-D", newGraph(13).input("x", -1, 2, 9).output("y").
			init(floatT("w", []int64{4, 2, 3}, seq(24))).
			node("Conv", "c", []string{"x", "w"}, []string{"y"}, aInts("strides", 2)),
			&ir.Reshape{Target: ir.Shape{4, 4}}},
		{"Slice<10 attrs", newGraph(9).input("x", -1, 4, 6).output("y").
			node("Slice", "s", []string{"x"}, []string{"y"}, aInts("starts", 1), aInts("ends", -1), aInts("axes", 2)),
			&ir.Slice{Axes: []int{2}, Starts: []int{1}, Ends: []int{-1}, Steps: []int{1}}},
		{"Transpose pair cancels into one", newGraph(13).input("x", -1, 2, 3, 4).output("y").
			node("Transpose", "t1", []string{"x"}, []string{"a"}, aInts("perm", 0, 2, 3, 1)).
			node("Transpose", "t2", []string{"a"}, []string{"y"}, aInts("perm", 0, 2, 1, 3)),
			&ir.Transpose{Perm: []int{0, 3, 2, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := decodeT(t, c.b)
			if got := outOp(m); !reflect.DeepEqual(got, c.want) {
				t.Errorf("op %#v, want %#v", got, c.want)
			}
		})
	}
}

// TestShapeChainFolds imports PyTorch's flatten idiom
// x.view(x.size(0), -1): Shape→Gather→Unsqueeze→Concat→Reshape on a
// dynamic batch must become a static Reshape.
func TestShapeChainFolds(t *testing.T) {
	b := newGraph(13).input("x", -1, 2, 3, 3).output("y").
		init(&onnxpb.TensorProto{Name: proto.String("zero"), DataType: proto.Int32(dtInt64), Int64Data: []int64{0}}).
		init(intT("ax", 0)).init(intT("minus1", -1)).
		node("Shape", "shape", []string{"x"}, []string{"s"}).
		node("Gather", "gather", []string{"s", "zero"}, []string{"n"}, aInt("axis", 0)).
		node("Unsqueeze", "unsq", []string{"n", "ax"}, []string{"n1"}).
		node("Concat", "cat", []string{"n1", "minus1"}, []string{"target"}, aInt("axis", 0)).
		node("Reshape", "reshape", []string{"x", "target"}, []string{"y"})
	m := decodeT(t, b)
	if len(m.Nodes) != 2 {
		t.Errorf("%d nodes, want input and reshape", len(m.Nodes))
	}
	if got := outOp(m); !reflect.DeepEqual(got, &ir.Reshape{Target: ir.Shape{18}}) {
		t.Errorf("op %#v", got)
	}
	if got := m.Node(m.Outputs[0]).Out.Shape; !got.Equal(ir.Shape{-1, 18}) {
		t.Errorf("shape %v", got)
	}
}

// TestConstantOperands: a constant operand becomes a Constant node feeding a
// Binary; MatMul + Add of a constant vector becomes one Dense with bias.
func TestConstantOperands(t *testing.T) {
	b := newGraph(13).input("x", -1, 3).output("y").
		init(floatT("w", []int64{3, 2}, seq(6))).init(floatT("bias", []int64{2}, []float32{10, 20})).
		init(floatT("k", []int64{1, 2}, []float32{2, 4})).
		node("MatMul", "mm", []string{"x", "w"}, []string{"a"}).
		node("Add", "add", []string{"a", "bias"}, []string{"b"}).
		node("Div", "div", []string{"b", "k"}, []string{"y"})
	m := decodeT(t, b)
	add := m.Node("add")
	d, ok := add.Op.(*ir.Dense)
	if !ok || !d.UseBias || d.Units != 2 || len(add.Weights) != 2 {
		t.Fatalf("add: %#v", add.Op)
	}
	if v, _ := add.Weights[1].Data(); !reflect.DeepEqual(v, []float32{10, 20}) {
		t.Errorf("bias %v", v)
	}
	if m.Node("mm") != nil {
		t.Errorf("the MatMul node was not merged")
	}
	div := m.Node("div")
	if !reflect.DeepEqual(div.Op, &ir.Binary{Op: ir.BinaryDiv}) {
		t.Fatalf("div: %#v", div.Op)
	}
	k := m.Node(div.Inputs[1])
	if c, ok := k.Op.(*ir.Constant); !ok || !c.Shape.Equal(ir.Shape{1, 2}) {
		t.Fatalf("divisor: %#v", k.Op)
	}
	if v, _ := k.Weights[0].Data(); !reflect.DeepEqual(v, []float32{2, 4}) {
		t.Errorf("constant %v", v)
	}
}

// TestTensorEncodings reads every way a float initializer can be stored.
func TestTensorEncodings(t *testing.T) {
	want := []float32{1, -2.5, 0.5, 65504}
	half := []uint16{0x3c00, 0xc100, 0x3800, 0x7bff}
	bf := []uint16{0x3f80, 0xc020, 0x3f00, 0x477f}
	raw16 := func(v []uint16) []byte {
		b := make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(b[2*i:], x)
		}
		return b
	}
	var i32 []int32
	for _, h := range half {
		i32 = append(i32, int32(h))
	}
	dims := []int64{4}
	cases := map[string]*onnxpb.TensorProto{
		"float raw":       floatT("t", dims, want),
		"float_data":      {Dims: dims, DataType: proto.Int32(dtFloat), FloatData: want},
		"double_data":     {Dims: dims, DataType: proto.Int32(dtDouble), DoubleData: []float64{1, -2.5, 0.5, 65504}},
		"float16 raw":     {Dims: dims, DataType: proto.Int32(dtFloat16), RawData: raw16(half)},
		"float16 int32":   {Dims: dims, DataType: proto.Int32(dtFloat16), Int32Data: i32},
		"bfloat16 raw":    {Dims: dims, DataType: proto.Int32(dtBfloat16), RawData: raw16(bf)},
		"int64_data":      {Dims: dims, DataType: proto.Int32(dtInt64), Int64Data: []int64{1, -2, 0, 65504}},
		"int8 int32_data": {Dims: dims, DataType: proto.Int32(dtInt8), Int32Data: []int32{1, -2, 0, 100}},
	}
	for name, tp := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := proto.Marshal(tp)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadTensorProto(data)
			if err != nil {
				t.Fatal(err)
			}
			exp := want
			switch name {
			case "bfloat16 raw":
				exp = []float32{1, -2.5, 0.5, 65280}
			case "int64_data":
				exp = []float32{1, -2, 0, 65504}
			case "int8 int32_data":
				exp = []float32{1, -2, 0, 100}
			}
			if !reflect.DeepEqual(got.Data, exp) || !got.Shape.Equal(ir.Shape{4}) {
				t.Errorf("got %v %v, want %v", got.Shape, got.Data, exp)
			}
		})
	}
}

// TestExternalDataIsLazy: external weights are read when first needed, not
// at import.
func TestExternalDataIsLazy(t *testing.T) {
	dir := t.TempDir()
	b := convModel()
	w := b.g.Initializer[0]
	raw := w.RawData
	w.RawData = nil
	w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	w.ExternalData = []*onnxpb.StringStringEntryProto{
		{Key: proto.String("location"), Value: proto.String("weights/w.bin")},
		{Key: proto.String("offset"), Value: proto.String("8")},
		{Key: proto.String("length"), Value: proto.String("216")},
	}
	os.Mkdir(filepath.Join(dir, "weights"), 0o755)
	bin := filepath.Join(dir, "weights", "w.bin")
	if err := os.WriteFile(bin, append(make([]byte, 8), make([]byte, 216)...), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(b.write(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	// Write the real values only now: a lazy weight sees them.
	if err := os.WriteFile(bin, append(make([]byte, 8), raw...), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := m.Node("conv_1").Weights[0].Data()
	if err != nil {
		t.Fatal(err)
	}
	// Kernel (kh, kw, in, out)[0,0,0,1] = ONNX W[1,0,0,0] = 19.
	if k[1] != 19 {
		t.Errorf("kernel[0,0,0,1] = %v, want 19", k[1])
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Node("conv_1").Weights[1].Data(); err != nil {
		t.Errorf("in-memory bias: %v", err)
	}
}

// conv2dRef is a naive grouped NCHW convolution with ONNX's weight layout
// (M, C/g, kh, kw), stride 1, no padding.
func conv2dRef(x []float32, c, h, w int, wt []float32, m, g, kh, kw int) []float32 {
	oh, ow := h-kh+1, w-kw+1
	cg, mg := c/g, m/g
	out := make([]float32, m*oh*ow)
	for o := 0; o < m; o++ {
		grp := o / mg
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				var s float32
				for i := 0; i < cg; i++ {
					ci := grp*cg + i
					for dy := 0; dy < kh; dy++ {
						for dx := 0; dx < kw; dx++ {
							s += x[(ci*h+y+dy)*w+xx+dx] * wt[((o*cg+i)*kh+dy)*kw+dx]
						}
					}
				}
				out[(o*oh+y)*ow+xx] = s
			}
		}
	}
	return out
}

// TestConvKernelLayouts imports grouped and depthwise convolutions and
// computes them from ir's canonical kernels; results must equal a naive
// convolution on ONNX's layout.
func TestConvKernelLayouts(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, tc := range []struct{ c, m, g int }{{4, 6, 2}, {3, 6, 3}, {4, 4, 4}, {2, 3, 1}} {
		c, m, g, kh, kw, h, w := tc.c, tc.m, tc.g, 2, 3, 4, 5
		wt := make([]float32, m*(c/g)*kh*kw)
		for i := range wt {
			wt[i] = float32(rng.Intn(7) - 3)
		}
		x := make([]float32, c*h*w)
		for i := range x {
			x[i] = float32(rng.Intn(5) - 2)
		}
		b := newGraph(13).input("x", -1, int64(c), int64(h), int64(w)).output("y").
			init(floatT("w", []int64{int64(m), int64(c / g), int64(kh), int64(kw)}, wt)).
			node("Conv", "conv", []string{"x", "w"}, []string{"y"}, aInt("group", int64(g)))
		mod := decodeT(t, b)
		n := mod.Node("conv")
		k, err := n.Weights[0].Data()
		if err != nil {
			t.Fatal(err)
		}
		oh, ow := h-kh+1, w-kw+1
		got := make([]float32, m*oh*ow)
		switch op := n.Op.(type) {
		case *ir.DepthwiseConv2D:
			mult := op.Multiplier
			for o := 0; o < m; o++ {
				ci, j := o/mult, o%mult
				for y := 0; y < oh; y++ {
					for xx := 0; xx < ow; xx++ {
						var s float32
						for dy := 0; dy < kh; dy++ {
							for dx := 0; dx < kw; dx++ {
								s += x[(ci*h+y+dy)*w+xx+dx] * k[((dy*kw+dx)*c+ci)*mult+j]
							}
						}
						got[(o*oh+y)*ow+xx] = s
					}
				}
			}
		case *ir.Conv2D:
			cg, mg := c/op.Groups, m/op.Groups
			if op.Groups == 0 {
				cg, mg = c, m
			}
			for o := 0; o < m; o++ {
				for y := 0; y < oh; y++ {
					for xx := 0; xx < ow; xx++ {
						var s float32
						for i := 0; i < cg; i++ {
							ci := o/mg*cg + i
							for dy := 0; dy < kh; dy++ {
								for dx := 0; dx < kw; dx++ {
									s += x[(ci*h+y+dy)*w+xx+dx] * k[((dy*kw+dx)*cg+i)*m+o]
								}
							}
						}
						got[(o*oh+y)*ow+xx] = s
					}
				}
			}
		default:
			t.Fatalf("op %T", n.Op)
		}
		want := conv2dRef(x, c, h, w, wt, m, g, kh, kw)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("c=%d m=%d g=%d (%s): got %v, want %v", c, m, g, n.Op.Kind(), got, want)
		}
	}
}

// TestConvTransposeAndGemmKernels checks the other two kernel transposes.
func TestConvTransposeAndGemmKernels(t *testing.T) {
	// ConvTranspose W (C=2, M=3, 1, 2) → (kh, kw, M, C).
	wt := seq(12)
	b := newGraph(13).input("x", -1, 2, 3, 3).output("y").
		init(floatT("w", []int64{2, 3, 1, 2}, wt)).
		node("ConvTranspose", "ct", []string{"x", "w"}, []string{"y"}, aInts("strides", 2, 2))
	m := decodeT(t, b)
	n := m.Node("ct")
	k, _ := n.Weights[0].Data()
	for i := 0; i < 2; i++ {
		for o := 0; o < 3; o++ {
			for dx := 0; dx < 2; dx++ {
				if k[(dx*3+o)*2+i] != wt[(i*3+o)*2+dx] {
					t.Fatalf("kernel mismatch at c=%d m=%d x=%d", i, o, dx)
				}
			}
		}
	}
	if s := n.Out.Shape; !s.Equal(ir.Shape{-1, 3, 5, 6}) {
		t.Errorf("shape %v", s)
	}
	// Gemm with transB and alpha: kernel = alpha·Bᵀ, bias = beta·C.
	b = newGraph(13).input("a", -1, 3).output("y").
		init(floatT("b", []int64{2, 3}, seq(6))).init(floatT("c", []int64{2}, []float32{1, 2})).
		node("Gemm", "gemm", []string{"a", "b", "c"}, []string{"y"}, aInt("transB", 1), aFloat("alpha", 2), aFloat("beta", 0.5))
	m = decodeT(t, b)
	n = m.Node("gemm")
	k, _ = n.Weights[0].Data()
	bias, _ := n.Weights[1].Data()
	if !reflect.DeepEqual(k, []float32{2, 8, 4, 10, 6, 12}) || !reflect.DeepEqual(bias, []float32{0.5, 1}) {
		t.Errorf("kernel %v bias %v", k, bias)
	}
}

// TestResolveReshape covers ONNX Reshape's 0 and -1 with a dynamic batch.
func TestResolveReshape(t *testing.T) {
	cases := []struct {
		in     ir.Shape
		target []int64
		batch  []bool // target elements standing for the dynamic batch
		zero   bool
		want   []int
		bad    bool
	}{
		{ir.Shape{-1, 2, 3}, []int64{0, -1}, nil, false, []int{-1, 6}, false},
		{ir.Shape{-1, 2, 3}, []int64{0, 3, 2}, []bool{true, false, false}, false, []int{-1, 3, 2}, false},
		{ir.Shape{-1, 2, 3}, []int64{3, 0, 2}, []bool{false, true, false}, false, nil, true},
		{ir.Shape{2, 3}, []int64{0, 6}, []bool{true, false}, false, nil, true},
		{ir.Shape{-1, 2, 3}, []int64{-1, 6}, nil, false, []int{-1, 6}, false},
		{ir.Shape{-1, 2, 3}, []int64{-1, 3}, nil, false, nil, true},
		{ir.Shape{-1, 2, 3}, []int64{6, 0}, nil, false, nil, true},
		{ir.Shape{2, 3, 4}, []int64{4, 0, -1}, nil, false, []int{4, 3, 2}, false},
		{ir.Shape{0, 3, 4}, []int64{3, 4, 0}, nil, true, []int{3, 4, 0}, false},
		{ir.Shape{2, 3}, []int64{-1, -1}, nil, false, nil, true},
		// INT64_MIN is a value like any other (no longer the batch marker).
		{ir.Shape{-1, 2, 3}, []int64{math.MinInt64, 6}, nil, false, nil, true},
	}
	for _, c := range cases {
		got, err := resolveReshape(c.in, c.target, c.batch, c.zero)
		if (err != nil) != c.bad || (!c.bad && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("reshape %v to %v (batch %v): got %v, %v", c.in, c.target, c.batch, got, err)
		}
	}
}

// TestSliceInt64Min imports the Slice that PyTorch and tf2onnx emit to
// reverse an axis, x[:, ::-1] (starts -1, ends INT64_MIN, steps -1), which
// used to collide with the importer's marker for the dynamic batch, and the
// same marker passing through Shape, Slice and Concat into a Reshape.
func TestSliceInt64Min(t *testing.T) {
	b := newGraph(13).input("x", -1, 3, 2, 2).output("y", "z").
		init(intT("starts", -1)).init(intT("ends", math.MinInt64)).init(intT("axes", 1)).init(intT("steps", -1)).
		init(intT("s0", 0)).init(intT("e1", 1)).init(intT("ax0", 0)).init(intT("rest", 12)).
		node("Slice", "reverse", []string{"x", "starts", "ends", "axes", "steps"}, []string{"y"}).
		node("Shape", "shape", []string{"x"}, []string{"s"}).
		node("Slice", "first", []string{"s", "s0", "e1", "ax0"}, []string{"n"}).
		node("Concat", "cat", []string{"n", "rest"}, []string{"target"}, aInt("axis", 0)).
		node("Reshape", "flat", []string{"y", "target"}, []string{"z"})
	m := decodeT(t, b)
	n := m.Node("reverse")
	op, ok := n.Op.(*ir.Slice)
	if !ok {
		t.Fatalf("reverse is %T, want *ir.Slice", n.Op)
	}
	res, err := op.Resolve(n.Out.Shape)
	if err != nil {
		t.Fatal(err)
	}
	if got := res[1]; got != (ir.SliceAxis{Start: 2, Step: -1, Count: 3}) {
		t.Errorf("channel axis resolves to %+v, want start 2, step -1, count 3", got)
	}
	if !n.Out.Shape.Equal(ir.Shape{-1, 3, 2, 2}) {
		t.Errorf("shape %v", n.Out.Shape)
	}
	if got := m.Node("flat"); !reflect.DeepEqual(got.Op, &ir.Reshape{Target: ir.Shape{12}}) {
		t.Errorf("flat is %#v", got.Op)
	}
	// The batch size cannot be a slice bound or a value to compute with.
	b = newGraph(13).input("x", -1, 3).output("y").
		init(intT("s0", 0)).init(intT("ax", 1)).
		node("Shape", "shape", []string{"x"}, []string{"s"}).
		node("Slice", "bad", []string{"x", "s0", "s", "ax"}, []string{"y"})
	if _, err := Decode(b.bytes(t), ""); err == nil || !strings.Contains(err.Error(), "depends on the dynamic batch size") {
		t.Errorf("slice ending at the batch size: %v", err)
	}
}

// TestBindConstants: Options.Constants turns graph inputs into constants.
func TestBindConstants(t *testing.T) {
	b := newGraph(13).input("x", -1, 2, 3).output("y")
	b.g.Input = append(b.g.Input, valueInfo("shape", dtInt64, []int64{2}))
	b.node("Reshape", "rs", []string{"x", "shape"}, []string{"y"})
	if _, err := Decode(b.bytes(t), ""); err == nil {
		t.Fatal("an int64 model input was accepted")
	}
	m, err := DecodeWith(b.bytes(t), "", Options{Constants: map[string]*ir.Tensor{"shape": {Shape: ir.Shape{2}, Data: []float32{0, 6}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Inputs) != 1 || !m.Node("rs").Out.Shape.Equal(ir.Shape{-1, 6}) {
		t.Errorf("inputs %v, shape %v", m.Inputs, m.Node("rs").Out.Shape)
	}
}

// TestInitializersListedAsInputs: IR < 4 files list weights as inputs too.
func TestInitializersListedAsInputs(t *testing.T) {
	b := convModel()
	b.m.IrVersion = proto.Int64(3)
	b.g.Input = append(b.g.Input, valueInfo("w", dtFloat, []int64{3, 2, 3, 3}), valueInfo("b", dtFloat, []int64{3}))
	m := decodeT(t, b)
	if !reflect.DeepEqual(m.Inputs, []string{"x"}) {
		t.Errorf("inputs %v", m.Inputs)
	}
	if got := m.InputTypes()[0]; !got.Shape.Equal(ir.Shape{-1, 2, 5, 5}) || got.Layout != ir.ChannelsFirst {
		t.Errorf("input type %v", got)
	}
}

// TestResize maps Upsample and Resize onto UpSampling2D where they repeat
// pixels or interpolate with half-pixel centres by integer factors, and
// names the node in every other case.
func TestResize(t *testing.T) {
	scales := func(v ...float32) *onnxpb.TensorProto { return floatT("scales", []int64{int64(len(v))}, v) }
	resize := func(opset int64, ins []string, attrs ...*onnxpb.AttributeProto) *gb {
		return newGraph(opset).input("x", -1, 3, 4, 5).output("y").node("Resize", "r", ins, []string{"y"}, attrs...)
	}
	nearest := func(sh, sw int) ir.Op {
		return &ir.UpSampling2D{SH: sh, SW: sw, Interpolation: "nearest", DataFormat: ir.ChannelsFirst}
	}
	bilinear := &ir.UpSampling2D{SH: 2, SW: 2, Interpolation: "bilinear", DataFormat: ir.ChannelsFirst}
	cases := []struct {
		name string
		b    *gb
		want ir.Op  // nil: the output is the input
		err  string // expected error (want unused)
	}{
		{"asymmetric floor (PyTorch, kconv)", resize(13, []string{"x", "", "scales"},
			aStr("mode", "nearest"), aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor")).
			init(scales(1, 1, 2, 3)), nearest(2, 3), ""},
		{"half_pixel round (Resize-11 defaults)", resize(11, []string{"x", "roi", "scales"}).
			init(floatT("roi", []int64{0}, nil)).init(scales(1, 1, 3, 3)), nearest(3, 3), ""},
		{"sizes", newGraph(13).input("x", 2, 3, 4, 5).output("y").init(intT("sizes", 2, 3, 8, 15)).
			node("Resize", "r", []string{"x", "", "", "sizes"}, []string{"y"}, aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor")),
			nearest(2, 3), ""},
		{"sizes from Shape", resize(13, []string{"x", "", "", "sizes"}, aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor")).
			init(intT("s0", 0)).init(intT("s2", 2)).init(intT("hw", 8, 15)).
			node("Shape", "shape", []string{"x"}, []string{"shape"}).
			node("Slice", "nc", []string{"shape", "s0", "s2"}, []string{"nc"}).
			node("Concat", "cat", []string{"nc", "hw"}, []string{"sizes"}, aInt("axis", 0)),
			nearest(2, 3), ""},
		{"sizes fixing the batch", resize(13, []string{"x", "", "", "sizes"}).init(intT("sizes", 2, 3, 8, 15)), nil,
			"size 2 of axis 0: the batch axis is dynamic"},
		{"asymmetric round_prefer_floor ×2", resize(13, []string{"x", "", "scales"}, aStr("coordinate_transformation_mode", "asymmetric")).
			init(scales(1, 1, 2, 2)), nearest(2, 2), ""},
		{"asymmetric round_prefer_floor ×3", resize(13, []string{"x", "", "scales"}, aStr("coordinate_transformation_mode", "asymmetric")).
			init(scales(1, 1, 3, 3)), nil, "node 'r' (op Resize): nearest resizing with coordinate_transformation_mode asymmetric and nearest_mode round_prefer_floor does not repeat pixels for factor 3"},
		{"linear half_pixel", resize(13, []string{"x", "", "scales"}, aStr("mode", "linear")).
			init(scales(1, 1, 2, 2)), bilinear, ""},
		{"linear pytorch_half_pixel", resize(13, []string{"x", "", "scales"}, aStr("mode", "linear"), aStr("coordinate_transformation_mode", "pytorch_half_pixel")).
			init(scales(1, 1, 2, 2)), bilinear, ""},
		{"axes (opset 18)", resize(18, []string{"x", "", "scales"}, aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor"), aInts("axes", 3, 2)).
			init(scales(3, 2)), nearest(2, 3), ""},
		{"identity", resize(13, []string{"x", "", "scales"}).init(scales(1, 1, 1, 1)), nil, ""},
		{"Resize-10", resize(10, []string{"x", "scales"}).init(scales(1, 1, 2, 2)), nearest(2, 2), ""},
		{"Upsample-9", newGraph(9).input("x", -1, 3, 4, 5).output("y").init(scales(1, 1, 2, 3)).
			node("Upsample", "r", []string{"x", "scales"}, []string{"y"}), nearest(2, 3), ""},
		{"Upsample-7", newGraph(7).input("x", -1, 3, 4, 5).output("y").
			node("Upsample", "r", []string{"x"}, []string{"y"}, &onnxpb.AttributeProto{Name: proto.String("scales"), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: []float32{1, 1, 3, 2}}),
			nearest(3, 2), ""},
		{"channels_last", newGraph(13).input("x", -1, 4, 5, 3).output("y").init(scales(1, 2, 2, 1)).
			node("Resize", "r", []string{"x", "", "scales"}, []string{"y"}, aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor")),
			&ir.UpSampling2D{SH: 2, SW: 2, Interpolation: "nearest", DataFormat: ir.ChannelsLast}, ""},
		{"fractional scale", resize(13, []string{"x", "", "scales"}).init(scales(1, 1, 1.5, 2)), nil,
			"node 'r' (op Resize): scale 1.5 of axis 2 is not supported: only integer upsampling factors are"},
		{"downsampling", resize(13, []string{"x", "", "scales"}).init(scales(1, 1, 0.5, 0.5)), nil, "scale 0.5 of axis 2 is not supported"},
		{"channel and width scales", resize(13, []string{"x", "", "scales"}).init(scales(1, 2, 1, 2)), nil, "only height and width can be upsampled"},
		{"linear asymmetric", resize(13, []string{"x", "", "scales"}, aStr("mode", "linear"), aStr("coordinate_transformation_mode", "asymmetric")).
			init(scales(1, 1, 2, 2)), nil, "linear resizing with coordinate_transformation_mode asymmetric is not supported"},
		{"linear Upsample", newGraph(9).input("x", -1, 3, 4, 5).output("y").init(scales(1, 1, 2, 2)).
			node("Upsample", "r", []string{"x", "scales"}, []string{"y"}, aStr("mode", "linear")), nil,
			"linear resizing with coordinate_transformation_mode asymmetric is not supported"},
		{"cubic", resize(13, []string{"x", "", "scales"}, aStr("mode", "cubic")).init(scales(1, 1, 2, 2)), nil, "resize mode cubic is not supported"},
		{"crop and resize", resize(13, []string{"x", "", "scales"}, aStr("coordinate_transformation_mode", "tf_crop_and_resize")).
			init(scales(1, 1, 2, 2)), nil, "coordinate_transformation_mode tf_crop_and_resize is not supported"},
		{"rank 3", newGraph(13).input("x", -1, 3, 4).output("y").init(scales(1, 1, 2)).
			node("Resize", "r", []string{"x", "", "scales"}, []string{"y"}), nil, "resizing a rank-3 tensor is not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Decode(c.b.bytes(t), "")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if m.Outputs[0] != "x" {
					t.Fatalf("output is %s (%T), want the input", m.Outputs[0], outOp(m))
				}
				return
			}
			if got := outOp(m); !reflect.DeepEqual(got, c.want) {
				t.Errorf("op %#v, want %#v", got, c.want)
			}
		})
	}
}

// TestThresholdedRelu: ONNX ThresholdedRelu is Keras's ThresholdedReLU
// (relu with a threshold, of either sign).
func TestThresholdedRelu(t *testing.T) {
	for _, a := range []float32{0.5, -0.25} {
		b := newGraph(13).input("x", -1, 4).output("y").
			node("ThresholdedRelu", "tr", []string{"x"}, []string{"y"}, aFloat("alpha", a))
		if got, want := outOp(decodeT(t, b)), (&ir.Activation{Act: ir.Act{Name: "relu", Threshold: float64(a)}}); !reflect.DeepEqual(got, want) {
			t.Errorf("alpha %g: op %#v, want %#v", a, got, want)
		}
	}
}
