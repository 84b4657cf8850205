package conformance

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

// ugraph is a one-input, one-output ONNX graph whose input has symbolic
// dimensions (-1) after the batch.
type ugraph struct {
	name   string
	input  []int64 // -1: symbolic
	nodes  []*onnxpb.NodeProto
	inits  []*onnxpb.TensorProto
	shapes [][]int // the shapes to run
	// refused, when set, is what the import error must name instead.
	refused string
}

func unode(op string, ins, outs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(op + "_" + outs[0]), OpType: proto.String(op), Input: ins, Output: outs, Attribute: attrs}
}

func uints(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func uint1(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func ustr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func uf32(name string, r *rand.Rand, dims ...int64) *onnxpb.TensorProto {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	raw := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(r.NormFloat64()*0.5)))
	}
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw}
}

func ui64(name string, v ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: v}
}

func (g ugraph) write(t *testing.T, dir string) string {
	t.Helper()
	sh := &onnxpb.TensorShapeProto{}
	for i, d := range g.input {
		dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		if d < 0 {
			dim = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: fmt.Sprintf("d%d", i)}}
		}
		sh.Dim = append(sh.Dim, dim)
	}
	in := &onnxpb.ValueInfoProto{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{Name: proto.String(g.name), Input: []*onnxpb.ValueInfoProto{in}, Node: g.nodes, Initializer: g.inits,
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}}}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, g.name+".onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUnknownDimsORT: graphs whose input has symbolic dimensions after the
// batch import with those dimensions unknown, and one compiled Program runs
// them at several shapes to ONNX Runtime's outputs; ops that need an
// unknown dimension's value fail at import naming the node.
func TestUnknownDimsORT(t *testing.T) {
	node, modules := ortModules(t)
	r := rand.New(rand.NewPCG(5, 5))
	seqShapes := [][]int{{2, 3, 4}, {1, 7, 4}}
	imgShapes := [][]int{{1, 3, 8, 6}, {2, 3, 5, 9}}
	graphs := []ugraph{
		{name: "concat_unknown_axis", input: []int64{-1, -1, 4}, shapes: seqShapes,
			nodes: []*onnxpb.NodeProto{unode("Relu", []string{"x"}, []string{"r"}), unode("Concat", []string{"x", "r"}, []string{"y"}, uint1("axis", 1))}},
		{name: "concat_known_axis", input: []int64{-1, -1, 4}, shapes: seqShapes,
			nodes: []*onnxpb.NodeProto{unode("Sigmoid", []string{"x"}, []string{"r"}), unode("Concat", []string{"x", "r"}, []string{"y"}, uint1("axis", 2))}},
		{name: "matmul_add", input: []int64{-1, -1, 4}, shapes: seqShapes, inits: []*onnxpb.TensorProto{uf32("w", r, 4, 5), uf32("b", r, 5)},
			nodes: []*onnxpb.NodeProto{unode("MatMul", []string{"x", "w"}, []string{"m"}), unode("Add", []string{"m", "b"}, []string{"y"})}},
		{name: "transpose_softmax", input: []int64{-1, -1, 4}, shapes: seqShapes,
			nodes: []*onnxpb.NodeProto{unode("Transpose", []string{"x"}, []string{"t"}, uints("perm", 0, 2, 1)), unode("Softmax", []string{"t"}, []string{"y"}, uint1("axis", -1))}},
		{name: "softmax_unknown_axis", input: []int64{-1, -1, 4}, shapes: seqShapes,
			nodes: []*onnxpb.NodeProto{unode("Softmax", []string{"x"}, []string{"y"}, uint1("axis", 1))}},
		{name: "reducemean_steps", input: []int64{-1, -1, 4}, shapes: seqShapes,
			nodes: []*onnxpb.NodeProto{unode("ReduceMean", []string{"x"}, []string{"y"}, uints("axes", 1), uint1("keepdims", 0))}},
		{name: "layernorm", input: []int64{-1, -1, 4}, shapes: seqShapes, inits: []*onnxpb.TensorProto{uf32("g", r, 4), uf32("b", r, 4)},
			nodes: []*onnxpb.NodeProto{unode("LayerNormalization", []string{"x", "g", "b"}, []string{"y"}, uint1("axis", -1))}},
		{name: "slice_steps", input: []int64{-1, -1, 4}, shapes: seqShapes, inits: []*onnxpb.TensorProto{ui64("st", 1), ui64("en", 1<<40), ui64("ax", 1)},
			nodes: []*onnxpb.NodeProto{unode("Slice", []string{"x", "st", "en", "ax"}, []string{"y"})}},
		{name: "gather_first_step", input: []int64{-1, -1, 4}, shapes: seqShapes, inits: []*onnxpb.TensorProto{{Name: proto.String("i"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{0}}},
			nodes: []*onnxpb.NodeProto{unode("Gather", []string{"x", "i"}, []string{"y"}, uint1("axis", 1))}},
		{name: "conv_same_stride2", input: []int64{-1, 3, -1, -1}, shapes: imgShapes, inits: []*onnxpb.TensorProto{uf32("w", r, 4, 3, 3, 3)},
			nodes: []*onnxpb.NodeProto{unode("Conv", []string{"x", "w"}, []string{"y"}, ustr("auto_pad", "SAME_UPPER"), uints("strides", 2, 2))}},
		{name: "maxpool_ceil", input: []int64{-1, 3, -1, -1}, shapes: imgShapes,
			nodes: []*onnxpb.NodeProto{unode("MaxPool", []string{"x"}, []string{"y"}, uints("kernel_shape", 2, 2), uints("strides", 2, 2), uint1("ceil_mode", 1))}},
		{name: "avgpool_pads", input: []int64{-1, 3, -1, -1}, shapes: imgShapes,
			nodes: []*onnxpb.NodeProto{unode("AveragePool", []string{"x"}, []string{"y"}, uints("kernel_shape", 3, 3), uints("pads", 1, 1, 1, 1))}},
		{name: "resize_nearest", input: []int64{-1, 3, -1, -1}, shapes: imgShapes,
			inits: []*onnxpb.TensorProto{{Name: proto.String("sc"), Dims: []int64{4}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{1, 1, 2, 2}}},
			nodes: []*onnxpb.NodeProto{unode("Resize", []string{"x", "", "sc"}, []string{"y"}, ustr("mode", "nearest"))}},
		{name: "pad_spatial", input: []int64{-1, 3, -1, -1}, shapes: imgShapes, inits: []*onnxpb.TensorProto{ui64("p", 0, 0, 1, 2, 0, 0, 2, 1)},
			nodes: []*onnxpb.NodeProto{unode("Pad", []string{"x", "p"}, []string{"y"})}},
		{name: "global_pool_flatten", input: []int64{-1, 3, -1, -1}, shapes: imgShapes,
			nodes: []*onnxpb.NodeProto{unode("GlobalAveragePool", []string{"x"}, []string{"g"}), unode("Flatten", []string{"g"}, []string{"y"})}},
		{name: "batchnorm_relu", input: []int64{-1, 3, -1, -1}, shapes: imgShapes,
			inits: []*onnxpb.TensorProto{uf32("s", r, 3), uf32("b", r, 3), uf32("m", r, 3), {Name: proto.String("v"), Dims: []int64{3}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{1, 2, 0.5}}},
			nodes: []*onnxpb.NodeProto{unode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"n"}), unode("Relu", []string{"n"}, []string{"y"})}},
		{name: "reshape_merge", input: []int64{-1, -1, 2, 2}, shapes: [][]int{{2, 3, 2, 2}, {1, 5, 2, 2}}, inits: []*onnxpb.TensorProto{ui64("s", 0, 0, -1)},
			nodes: []*onnxpb.NodeProto{unode("Reshape", []string{"x", "s"}, []string{"y"})}},
		{name: "tile", input: []int64{-1, -1, 4}, shapes: seqShapes, inits: []*onnxpb.TensorProto{ui64("r", 1, 2, 3)},
			nodes: []*onnxpb.NodeProto{unode("Tile", []string{"x", "r"}, []string{"y"})}},
		{name: "time_major_arith", input: []int64{-1, -1, 4}, shapes: seqShapes, inits: []*onnxpb.TensorProto{uf32("b", r, 4)},
			nodes: []*onnxpb.NodeProto{unode("Transpose", []string{"x"}, []string{"t"}, uints("perm", 1, 0, 2)),
				unode("Add", []string{"t", "b"}, []string{"a"}), unode("Mul", []string{"a", "t"}, []string{"m"}),
				unode("Tanh", []string{"m"}, []string{"h"}), unode("Transpose", []string{"h"}, []string{"y"}, uints("perm", 1, 0, 2))}},
		{name: "time_major_bias_over_batch", input: []int64{-1, -1, 4}, refused: "Add_a", inits: []*onnxpb.TensorProto{uf32("b", r, 3, 4)},
			nodes: []*onnxpb.NodeProto{unode("Transpose", []string{"x"}, []string{"t"}, uints("perm", 1, 0, 2)),
				unode("Add", []string{"t", "b"}, []string{"a"}), unode("Transpose", []string{"a"}, []string{"y"}, uints("perm", 1, 0, 2))}},
		{name: "flatten_unknown", input: []int64{-1, -1, 4}, shapes: seqShapes,
			nodes: []*onnxpb.NodeProto{unode("Flatten", []string{"x"}, []string{"y"})}},
		{name: "reshape_merge_unknowns", input: []int64{-1, -1, -1}, shapes: [][]int{{2, 3, 4}, {1, 2, 5}},
			inits: []*onnxpb.TensorProto{ui64("s", 0, -1)},
			nodes: []*onnxpb.NodeProto{unode("Reshape", []string{"x", "s"}, []string{"y"})}},
		{name: "reshape_two_unknown", input: []int64{-1, -1, -1}, refused: "Reshape_y",
			inits: []*onnxpb.TensorProto{ui64("s", 0, 0, 0, 1)},
			nodes: []*onnxpb.NodeProto{unode("Reshape", []string{"x", "s"}, []string{"y"})}},
		{name: "flatten_axis2", input: []int64{-1, 3, -1, 4}, refused: "Flatten_y",
			nodes: []*onnxpb.NodeProto{unode("Flatten", []string{"x"}, []string{"y"}, uint1("axis", 2))}},
	}
	dir := t.TempDir()
	var jobs []ortJob
	got := map[string]*ir.Tensor{}
	for _, g := range graphs {
		path := g.write(t, dir)
		m, err := onnx.Load(path)
		if g.refused != "" {
			if err == nil || !strings.Contains(err.Error(), "node '"+g.refused+"'") || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: want a one-line error naming node %s, got %v", g.name, g.refused, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", g.name, err)
			continue
		}
		p, err := exec.Compile(m, exec.Options{Threads: 1})
		if err != nil {
			t.Errorf("%s: compile: %v", g.name, err)
			continue
		}
		for k, s := range g.shapes {
			x := ir.NewTensor(ir.Shape(s), m.InputTypes()[0].Layout)
			for i := range x.Data {
				x.Data[i] = float32(r.NormFloat64())
			}
			outs, err := p.Run(context.Background(), []*ir.Tensor{x})
			if err != nil {
				t.Errorf("%s at %v: %v", g.name, s, err)
				continue
			}
			id := fmt.Sprintf("%s.%d", g.name, k)
			got[id] = outs[0]
			job := ortJob{ID: id, Model: path, Inputs: map[string]string{"x": filepath.Join(dir, id+".x.npy")}, Outputs: map[string]string{"y": filepath.Join(dir, id+".y.npy")}}
			writeNPY(t, job.Inputs["x"], x)
			jobs = append(jobs, job)
		}
	}
	results := runORTJobs(t, node, modules, dir, jobs)
	for _, j := range jobs {
		if e := results[j.ID]; e != "" {
			t.Errorf("%s: ONNX Runtime: %s", j.ID, e)
			continue
		}
		shape, data, _, err := tensorio.ReadNPY(j.Outputs["y"])
		if err != nil {
			t.Fatal(err)
		}
		if err := allCloseTol(got[j.ID], &ir.Tensor{Shape: shape, Data: data}, 1e-4, 1e-5); err != nil {
			t.Errorf("%s: %v", j.ID, err)
		}
	}
	t.Logf("%d runs match ONNX Runtime", len(jobs))
}

// TestSqueezeUnknownAtRun: a Squeeze of an unknown dimension imports (ONNX
// squeezes it as 1) and a run where it is not 1 fails cleanly.
func TestSqueezeUnknownAtRun(t *testing.T) {
	g := ugraph{name: "squeeze_unknown", input: []int64{-1, -1, 5}, inits: []*onnxpb.TensorProto{ui64("ax", 1)},
		nodes: []*onnxpb.NodeProto{unode("Squeeze", []string{"x", "ax"}, []string{"y"})}}
	m, err := onnx.Load(g.write(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := ir.NewTensor(ir.Shape{2, 1, 5}, ir.LayoutNone)
	if out, err := p.Run(context.Background(), []*ir.Tensor{x}); err != nil || !out[0].Shape.Equal(ir.Shape{2, 5}) {
		t.Errorf("steps 1: %v, %v", out, err)
	}
	x = ir.NewTensor(ir.Shape{2, 3, 5}, ir.LayoutNone)
	if _, err := p.Run(context.Background(), []*ir.Tensor{x}); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("steps 3: want a one-line error, got %v", err)
	} else {
		t.Log(err)
	}
}
