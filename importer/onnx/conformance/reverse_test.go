package conformance

import (
	"context"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// TestReverseChannels runs x[:, ::-1] as PyTorch and tf2onnx export it (a
// Slice with starts -1, ends INT64_MIN, steps -1 on the channel axis; the
// RGB→BGR flip of VGG-style preprocessing) through the importer and exec.
func TestReverseChannels(t *testing.T) {
	ints := func(name string, v ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: v}
	}
	dim := func(d int64) *onnxpb.TensorShapeProto_Dimension {
		if d < 0 {
			return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}
		}
		return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
	}
	const c, h, w = 3, 2, 2
	mp := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("reverse"),
			Input: []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
				TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
					Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{dim(-1), dim(c), dim(h), dim(w)}}}}}}},
			Output:      []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
			Initializer: []*onnxpb.TensorProto{ints("starts", -1), ints("ends", math.MinInt64), ints("axes", 1), ints("steps", -1)},
			Node: []*onnxpb.NodeProto{{Name: proto.String("flip"), OpType: proto.String("Slice"),
				Input: []string{"x", "starts", "ends", "axes", "steps"}, Output: []string{"y"}}},
		},
	}
	data, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2
	x := ir.NewTensor(ir.Shape{n, c, h, w}, ir.ChannelsFirst)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	outs, err := p.Run(context.Background(), []*ir.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	y := outs[0]
	if !y.Shape.Equal(x.Shape) {
		t.Fatalf("shape %v, want %v", y.Shape, x.Shape)
	}
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for k := 0; k < h*w; k++ {
				got := y.Data[(b*c+ch)*h*w+k]
				want := x.Data[(b*c+c-1-ch)*h*w+k]
				if got != want {
					t.Fatalf("y[%d,%d,%d] = %g, want %g (channel %d of the input)", b, ch, k, got, want, c-1-ch)
				}
			}
		}
	}
}
