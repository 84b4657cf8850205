package onnx_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// TestImportedResizeMatchesORT imports the Resize and Upsample forms that
// importer/onnx maps onto UpSampling2D and checks that kconv computes what
// ONNX Runtime computes for each.
func TestImportedResizeMatchesORT(t *testing.T) {
	str := func(name, v string) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
	}
	floats := func(name string, v ...float32) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: v}
	}
	ints := func(name string, v ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: v}
	}
	cases := []struct {
		name  string
		opset int64
		op    string
		shape []int64 // input (N, …), N dynamic
		ins   []string
		inits []*onnxpb.TensorProto
		attrs []*onnxpb.AttributeProto
	}{
		{"nearest_asymmetric_floor", 13, "Resize", []int64{3, 4, 5}, []string{"x", "", "s"}, []*onnxpb.TensorProto{floats("s", 1, 1, 2, 3)},
			[]*onnxpb.AttributeProto{str("mode", "nearest"), str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor")}},
		{"nearest_defaults_opset11", 11, "Resize", []int64{3, 4, 5}, []string{"x", "roi", "s"}, []*onnxpb.TensorProto{floats("roi"), floats("s", 1, 1, 3, 3)}, nil},
		{"nearest_tf_half_pixel", 13, "Resize", []int64{3, 4, 5}, []string{"x", "", "s"}, []*onnxpb.TensorProto{floats("s", 1, 1, 3, 2)},
			[]*onnxpb.AttributeProto{str("coordinate_transformation_mode", "tf_half_pixel_for_nn"), str("nearest_mode", "floor")}},
		{"nearest_asymmetric_round_x2", 13, "Resize", []int64{3, 4, 5}, []string{"x", "", "s"}, []*onnxpb.TensorProto{floats("s", 1, 1, 2, 2)},
			[]*onnxpb.AttributeProto{str("coordinate_transformation_mode", "asymmetric")}},
		{"linear_half_pixel", 13, "Resize", []int64{3, 4, 5}, []string{"x", "", "s"}, []*onnxpb.TensorProto{floats("s", 1, 1, 2, 3)},
			[]*onnxpb.AttributeProto{str("mode", "linear")}},
		{"linear_pytorch_sizes", 18, "Resize", []int64{3, 4, 5}, []string{"x", "", "", "sizes"}, []*onnxpb.TensorProto{ints("sizes", 12, 10)},
			[]*onnxpb.AttributeProto{str("mode", "linear"), str("coordinate_transformation_mode", "pytorch_half_pixel"),
				{Name: proto.String("axes"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{2, 3}}}},
		{"linear_axes_antialias_opset18", 18, "Resize", []int64{3, 4, 5}, []string{"x", "", "s"}, []*onnxpb.TensorProto{floats("s", 4, 2)},
			[]*onnxpb.AttributeProto{str("mode", "linear"), {Name: proto.String("axes"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{2, 3}},
				{Name: proto.String("antialias"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)}}},
		{"resize10", 10, "Resize", []int64{3, 4, 5}, []string{"x", "s"}, []*onnxpb.TensorProto{floats("s", 1, 1, 2, 3)}, nil},
		{"upsample9", 9, "Upsample", []int64{3, 4, 5}, []string{"x", "s"}, []*onnxpb.TensorProto{floats("s", 1, 1, 3, 2)}, nil},
		{"channels_last", 13, "Resize", []int64{4, 5, 3}, []string{"x", "", "s"}, []*onnxpb.TensorProto{floats("s", 1, 2, 3, 1)},
			[]*onnxpb.AttributeProto{str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dims := []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}
			for _, d := range c.shape {
				dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
			}
			mp := &onnxpb.ModelProto{
				IrVersion:   proto.Int64(8),
				OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(c.opset)}},
				Graph: &onnxpb.GraphProto{
					Name: proto.String(c.name),
					Input: []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
						ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}}},
					Output:      []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
					Initializer: c.inits,
					Node:        []*onnxpb.NodeProto{{Name: proto.String("resize"), OpType: proto.String(c.op), Input: c.ins, Output: []string{"y"}, Attribute: c.attrs}},
				},
			}
			data, err := proto.Marshal(mp)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "resize.onnx")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := onnximport.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := m.Node("resize").Op.(*ir.UpSampling2D); !ok {
				t.Fatalf("imported as %T, want *ir.UpSampling2D", m.Node("resize").Op)
			}
			x := randomInput(m, 2, 3, -1, 1)
			compare(t, "kconv's import", runKconv(t, m, x), runORT(t, path, x))
		})
	}
}
