package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// onnxModel writes a one-node ONNX model (opset 13) taking a float input x
// of the given shape (-1: symbolic batch) to dir/name and returns the path.
func onnxModel(t *testing.T, dir, name string, xShape []int64, node *onnxpb.NodeProto, inits ...*onnxpb.TensorProto) string {
	t.Helper()
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range xShape {
		if d < 0 {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
		} else {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
	}
	in := &onnxpb.ValueInfoProto{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(1), Shape: sh}}}}
	g := &onnxpb.GraphProto{Name: proto.String("g"), Input: []*onnxpb.ValueInfoProto{in}, Node: []*onnxpb.NodeProto{node}, Initializer: inits,
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String(node.Output[0])}}}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func int64T(name string, v ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(7), Int64Data: v}
}

func floatT(name string, dims []int64) *onnxpb.TensorProto {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(1), FloatData: make([]float32, n)}
}

// TestHostileSizes is class 2 of issue 16: declared sizes whose products
// overflow or exceed the memory budget, and batch sizes that would. Each
// must fail before allocating, naming the node (or flag) and the size.
func TestHostileSizes(t *testing.T) {
	const big = 1 << 31
	pad := func(d string) string {
		n := &onnxpb.NodeProto{OpType: proto.String("Pad"), Name: proto.String("pad_bomb"), Input: []string{"x", "pads"}, Output: []string{"y"}}
		return onnxModel(t, d, "pad.onnx", []int64{-1, 1, 2, 2}, n, int64T("pads", 0, 0, big, big, 0, 0, big, big))
	}
	conv := func(d string) string {
		n := &onnxpb.NodeProto{OpType: proto.String("Conv"), Name: proto.String("conv_bomb"), Input: []string{"x", "w"}, Output: []string{"y"},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("pads"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{big, big, big, big}}}}
		return onnxModel(t, d, "conv.onnx", []int64{-1, 1, 2, 2}, n, floatT("w", []int64{1, 1, 1, 1}))
	}
	cases := []hostile{
		{"pad to 2^32 x 2^32, bench", func(d string) []string { return []string{"bench", pad(d), "--runs", "1", "--warmup", "0"} }, 1, []string{"pad.onnx", "pad_bomb"}},
		{"conv pads to 2^32 x 2^32, bench", func(d string) []string { return []string{"bench", conv(d), "--runs", "1", "--warmup", "0"} }, 1, []string{"conv.onnx", "conv_bomb"}},
		{"conv pads, run", func(d string) []string {
			return []string{"run", conv(d), "--input", file(t, d, "x.npy", npy(t, []int{1, 1, 2, 2}))}
		}, 1, []string{"conv.onnx", "conv_bomb"}},
		{"batch 10^8", func(d string) []string {
			return []string{"bench", filepath.Join(kerasTD, "cifar_small.h5"), "--batch", "100000000", "--runs", "1", "--warmup", "0"}
		}, 1, []string{"--batch 100000000", "needs", "memory budget"}},
		{"batch 2^62", func(d string) []string {
			return []string{"bench", filepath.Join(kerasTD, "cifar_small.h5"), "--batch", "4611686018427387904", "--runs", "1", "--warmup", "0"}
		}, 1, []string{"--batch 4611686018427387904"}},
		{"small budget", func(d string) []string {
			return []string{"bench", filepath.Join(kerasTD, "cifar_small.h5"), "--memory-budget", "1K", "--runs", "1", "--warmup", "0"}
		}, 1, []string{"cifar_small.h5", "memory budget of 1024 bytes"}},
		{"constant of shape over budget", func(d string) []string {
			n := &onnxpb.NodeProto{OpType: proto.String("ConstantOfShape"), Name: proto.String("cos"), Input: []string{"s"}, Output: []string{"y"}}
			return []string{"summary", onnxModel(t, d, "cos.onnx", []int64{-1, 4}, n, int64T("s", 4096, 25088)), "--memory-budget", "100M"}
		}, 1, []string{"cos.onnx", "node 'cos'", "memory budget"}},
	}
	runHostile(t, cases)
}

// TestConstantOfShapeWithinBudget: issue 12's zoo models build 411 MB
// classifier weights with ConstantOfShape; within the budget that loads.
func TestConstantOfShapeWithinBudget(t *testing.T) {
	d := t.TempDir()
	n := &onnxpb.NodeProto{OpType: proto.String("ConstantOfShape"), Name: proto.String("cos"), Input: []string{"s"}, Output: []string{"y"}}
	p := onnxModel(t, d, "cos.onnx", []int64{-1, 4}, n, int64T("s", 4096, 25088))
	if code, _, errs := kconv(t, "summary", p, "--memory-budget", "2G"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// file writes data to dir/name and returns the path.
func file(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWeightsOverBudgetBeforeReading: weights whose declared size exceeds
// the budget are refused before any is read, by every command that reads
// them.
func TestWeightsOverBudgetBeforeReading(t *testing.T) {
	model := filepath.Join(kerasTD, "cifar_small.h5")
	cases := []hostile{
		{"run", func(d string) []string {
			return []string{"run", model, "--input", file(t, d, "x.npy", npy(t, []int{1, 32, 32, 3})), "--memory-budget", "4K"}
		}, 1, []string{"cifar_small.h5", "weights up to", "memory budget of 4096 bytes"}},
		{"convert", func(d string) []string {
			return []string{"convert", model, filepath.Join(d, "out.onnx"), "--memory-budget", "4K"}
		}, 1, []string{"cifar_small.h5", "weights up to", "memory budget"}},
	}
	runHostile(t, cases)
}

// TestImagesOverBudget: a folder of images whose tensor would exceed the
// memory budget fails before the tensor is allocated.
func TestImagesOverBudget(t *testing.T) {
	cases := []hostile{{"two images over 20K", func(d string) []string {
		img := image.NewRGBA(image.Rect(0, 0, 4, 4))
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(d, "imgs")
		os.Mkdir(dir, 0o755)
		file(t, dir, "a.png", b.Bytes())
		file(t, dir, "b.png", b.Bytes())
		return []string{"run", filepath.Join(kerasTD, "cifar_small.h5"), "--input", dir, "--memory-budget", "20K"}
	}, 1, []string{"2 images", "memory budget of 20480 bytes"}}}
	runHostile(t, cases)
}
