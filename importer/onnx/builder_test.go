package onnx

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// gb builds ONNX models for tests.
type gb struct {
	m *onnxpb.ModelProto
	g *onnxpb.GraphProto
}

func newGraph(opset int64) *gb {
	g := &onnxpb.GraphProto{Name: proto.String("test")}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:       g,
	}
	return &gb{m: m, g: g}
}

// input adds a float input; a negative dim is symbolic ("N").
func (b *gb) input(name string, dims ...int64) *gb {
	b.g.Input = append(b.g.Input, valueInfo(name, dtFloat, dims))
	return b
}

func valueInfo(name string, elem int32, dims []int64) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		if d < 0 {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
		} else {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(elem), Shape: sh}},
	}}
}

func (b *gb) output(names ...string) *gb {
	for _, n := range names {
		b.g.Output = append(b.g.Output, &onnxpb.ValueInfoProto{Name: proto.String(n)})
	}
	return b
}

// floatT makes a FLOAT tensor with raw_data.
func floatT(name string, dims []int64, data []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(dtFloat), RawData: raw}
}

func intT(name string, data ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(data))}, DataType: proto.Int32(dtInt64), Int64Data: data}
}

func (b *gb) init(t *onnxpb.TensorProto) *gb {
	b.g.Initializer = append(b.g.Initializer, t)
	return b
}

func (b *gb) node(op, name string, ins, outs []string, attrs ...*onnxpb.AttributeProto) *gb {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: ins, Output: outs, Attribute: attrs})
	return b
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func aFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func aStr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func (b *gb) bytes(t testing.TB) []byte {
	t.Helper()
	data, err := proto.Marshal(b.m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// write saves the model as dir/model.onnx and returns the path.
func (b *gb) write(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(p, b.bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func seq(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i + 1)
	}
	return out
}
