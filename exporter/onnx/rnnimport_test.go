package onnx_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// lstmFile writes a one-unit ONNX LSTM over (N, 3, 1) inputs: batch-first
// (layout 1, opset 14) or time-major from a graph input (steps, 2, 1) of
// dynamic length.
func lstmFile(t *testing.T, layout int64, extra ...*onnxpb.AttributeProto) string {
	return lstmFileStates(t, layout, false, extra...)
}

// lstmFileStates is lstmFile; with states the LSTM (batch-first) also
// takes initial_h and initial_c as graph inputs h0, c0 (N, 1, 1) and gives
// Y_h and Y_c as graph outputs h, c.
func lstmFileStates(t *testing.T, layout int64, states bool, extra ...*onnxpb.AttributeProto) string {
	f32 := func(name string, dims []int64, v ...float32) *onnxpb.TensorProto {
		raw := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw}
	}
	vi := func(name string, dims ...int64) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
			if d < 0 {
				dim = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}
			}
			sh.Dim = append(sh.Dim, dim)
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
	}
	in := vi("x", -1, 3, 1)
	if layout == 0 {
		in = vi("x", -1, 2, 1) // (steps, batch, features), steps dynamic
	}
	attrs := append([]*onnxpb.AttributeProto{
		{Name: proto.String("hidden_size"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)},
		{Name: proto.String("layout"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(layout)},
	}, extra...)
	g := &onnxpb.GraphProto{
		Name:  proto.String("lstm"),
		Input: []*onnxpb.ValueInfoProto{in},
		// ONNX gate order i, o, f, c.
		Initializer: []*onnxpb.TensorProto{
			f32("W", []int64{1, 4, 1}, 0.5, -0.3, 0.8, 1.2),
			f32("R", []int64{1, 4, 1}, 0.1, 0.4, -0.2, 0.6),
			f32("B", []int64{1, 8}, 0.05, 0.1, 0.3, -0.1, 0.02, -0.04, 0.2, 0.1),
		},
		Node: []*onnxpb.NodeProto{{Name: proto.String("lstm"), OpType: proto.String("LSTM"),
			Input: []string{"x", "W", "R", "B"}, Output: []string{"", "h"}, Attribute: attrs}},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("h")}},
	}
	if states {
		g.Input = append(g.Input, vi("h0", -1, 1, 1), vi("c0", -1, 1, 1))
		g.Node[0].Input = append(g.Node[0].Input, "", "h0", "c0")
		g.Node[0].Output = []string{"", "h", "c"}
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String("c")})
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(14)}}}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "lstm.onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportLSTMHand: a batch-first ONNX LSTM, read by importer/onnx and
// run by kconv, gives what ONNX's LSTM equations give (gates i, o, f, c;
// biases Wb + Rb), computed here by hand.
func TestImportLSTMHand(t *testing.T) {
	m, err := onnximport.Load(lstmFile(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	xs := []float32{1, -0.5, 2}
	got := runKconv(t, m, &ir.Tensor{Shape: ir.Shape{1, 3, 1}, Data: xs})
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	var h, c float64
	for _, xv := range xs {
		x := float64(xv)
		i := sig(0.5*x + 0.1*h + 0.05 + 0.02)
		o := sig(-0.3*x + 0.4*h + 0.1 - 0.04)
		f := sig(0.8*x - 0.2*h + 0.3 + 0.2)
		cc := math.Tanh(1.2*x + 0.6*h - 0.1 + 0.1)
		c = f*c + i*cc
		h = o * math.Tanh(c)
	}
	if len(got.Data) != 1 || math.Abs(float64(got.Data[0])-h) > 1e-6 {
		t.Errorf("Y_h %v (shape %v), want %v", got.Data, got.Shape, h)
	}
}

// TestImportLSTMStatesHand: a batch-first ONNX LSTM with initial_h and
// initial_c inputs and Y_h, Y_c outputs gives what ONNX's LSTM equations
// give from those initial states, computed here by hand.
func TestImportLSTMStatesHand(t *testing.T) {
	m, err := onnximport.Load(lstmFileStates(t, 1, true))
	if err != nil {
		t.Fatal(err)
	}
	xs := []float32{1, -0.5, 2}
	h0, c0 := float32(0.4), float32(-0.8)
	outs := runKconvAll(t, m, []*ir.Tensor{{Shape: ir.Shape{1, 3, 1}, Data: xs},
		{Shape: ir.Shape{1, 1, 1}, Data: []float32{h0}}, {Shape: ir.Shape{1, 1, 1}, Data: []float32{c0}}})
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	h, c := float64(h0), float64(c0)
	for _, xv := range xs {
		x := float64(xv)
		i := sig(0.5*x + 0.1*h + 0.05 + 0.02)
		o := sig(-0.3*x + 0.4*h + 0.1 - 0.04)
		f := sig(0.8*x - 0.2*h + 0.3 + 0.2)
		cc := math.Tanh(1.2*x + 0.6*h - 0.1 + 0.1)
		c = f*c + i*cc
		h = o * math.Tanh(c)
	}
	if len(outs) != 2 {
		t.Fatalf("%d outputs, want Y_h and Y_c", len(outs))
	}
	for k, want := range []float64{h, c} {
		got := outs[k]
		if !got.Shape.Equal(ir.Shape{1, 1, 1}) || math.Abs(float64(got.Data[0])-want) > 1e-6 {
			t.Errorf("%s %v (shape %v), want %v", []string{"Y_h", "Y_c"}[k], got.Data, got.Shape, want)
		}
	}
}

// TestImportLSTMTimeMajorHand: a time-major ONNX LSTM whose graph input
// is (steps, batch, features) with a dynamic length, and whose Y_h graph
// output is (directions, batch, hidden), gives ONNX's equations for each
// sequence of the batch.
func TestImportLSTMTimeMajorHand(t *testing.T) {
	m, err := onnximport.Load(lstmFile(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	seqs := [][]float32{{1, -0.5, 2}, {0.3, 0.7, -1}}
	x := &ir.Tensor{Shape: ir.Shape{3, 2, 1}}
	for step := 0; step < 3; step++ {
		for n := range seqs {
			x.Data = append(x.Data, seqs[n][step])
		}
	}
	got := runKconv(t, m, x)
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	if !got.Shape.Equal(ir.Shape{1, 2, 1}) {
		t.Fatalf("Y_h shape %v, want (1, 2, 1)", got.Shape)
	}
	for n, xs := range seqs {
		var h, c float64
		for _, xv := range xs {
			x := float64(xv)
			i := sig(0.5*x + 0.1*h + 0.05 + 0.02)
			o := sig(-0.3*x + 0.4*h + 0.1 - 0.04)
			f := sig(0.8*x - 0.2*h + 0.3 + 0.2)
			cc := math.Tanh(1.2*x + 0.6*h - 0.1 + 0.1)
			c = f*c + i*cc
			h = o * math.Tanh(c)
		}
		if math.Abs(float64(got.Data[n])-h) > 1e-6 {
			t.Errorf("Y_h of sequence %d: %v, want %v", n, got.Data[n], h)
		}
	}
}

// TestImportLSTMRefusals: what the importer cannot express fails cleanly
// (clip itself imports: importer/onnx/conformance checks it against ONNX
// Runtime).
func TestImportLSTMRefusals(t *testing.T) {
	clip := &onnxpb.AttributeProto{Name: proto.String("clip"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(-3)}
	if _, err := onnximport.Load(lstmFile(t, 1, clip)); err == nil || !strings.Contains(err.Error(), "clip -3 is not a threshold") {
		t.Errorf("LSTM clip -3: %v", err)
	}
	scaled := &onnxpb.AttributeProto{Name: proto.String("activations"), Type: onnxpb.AttributeProto_STRINGS.Enum(), Strings: [][]byte{[]byte("Sigmoid"), []byte("ScaledTanh"), []byte("Tanh")}}
	if _, err := onnximport.Load(lstmFile(t, 1, scaled)); err == nil || !strings.Contains(err.Error(), "ScaledTanh is not supported") {
		t.Errorf("LSTM ScaledTanh: %v", err)
	}
}
