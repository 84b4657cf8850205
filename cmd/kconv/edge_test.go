package main

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/internal/tensorio"
	"google.golang.org/protobuf/proto"
)

// TestWeightFreeGraphsRun is class 6 of issue 16: an ONNX graph without
// float initializers (here Relu, with a symbolic batch, and Reshape whose
// target is an int64 initializer) needs no weights and must run, giving
// what the op computes.
func TestWeightFreeGraphsRun(t *testing.T) {
	d := t.TempDir()
	relu := onnxModel(t, d, "relu.onnx", []int64{-1, 4}, &onnxpb.NodeProto{OpType: proto.String("Relu"), Name: proto.String("r"), Input: []string{"x"}, Output: []string{"y"}})
	reshape := onnxModel(t, d, "reshape.onnx", []int64{-1, 2, 2}, &onnxpb.NodeProto{OpType: proto.String("Reshape"), Name: proto.String("rs"), Input: []string{"x", "s"}, Output: []string{"y"}}, int64T("s", -1, 4))
	x := filepath.Join(d, "x.npy")
	in := []float32{-1, 2, -3, 4, 5, -6, 7, -8}
	var b []byte
	{
		var buf = new(bytesBuffer)
		if err := tensorio.EncodeNPY(buf, []int{2, 4}, in); err != nil {
			t.Fatal(err)
		}
		b = buf.b
	}
	file(t, d, "x.npy", b)
	x3 := filepath.Join(d, "x3.npy")
	{
		buf := new(bytesBuffer)
		if err := tensorio.EncodeNPY(buf, []int{2, 2, 2}, in); err != nil {
			t.Fatal(err)
		}
		file(t, d, "x3.npy", buf.b)
	}
	for _, c := range []struct {
		model, input string
		want         []float32
	}{
		{relu, x, []float32{0, 2, 0, 4, 5, 0, 7, 0}},
		{reshape, x3, in},
	} {
		out := filepath.Join(d, filepath.Base(c.model)+".y.npy")
		code, _, errs := kconv(t, "run", c.model, "--input", c.input, "--out", out)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", c.model, code, errs)
			continue
		}
		shape, got, _, err := tensorio.ReadNPY(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(shape) != 2 || shape[0] != 2 || shape[1] != 4 || len(got) != len(c.want) {
			t.Fatalf("%s: shape %v", c.model, shape)
		}
		for i := range got {
			if math.Abs(float64(got[i]-c.want[i])) > 0 {
				t.Errorf("%s: got %v, want %v", c.model, got, c.want)
				break
			}
		}
	}
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// TestNoInputsSummarize: a model with no inputs (one Constant output) is
// valid ONNX and summarizes.
func TestNoInputsSummarize(t *testing.T) {
	d := t.TempDir()
	val := &onnxpb.TensorProto{Name: proto.String("v"), Dims: []int64{2, 3}, DataType: proto.Int32(1), FloatData: []float32{1, 2, 3, 4, 5, 6}}
	g := &onnxpb.GraphProto{Name: proto.String("g"),
		Node:   []*onnxpb.NodeProto{{OpType: proto.String("Constant"), Name: proto.String("c"), Output: []string{"y"}, Attribute: []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: val}}}},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g, OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := file(t, d, "const.onnx", b)
	if code, out, errs := kconv(t, "summary", p); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
}
