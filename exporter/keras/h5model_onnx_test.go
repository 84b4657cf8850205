package keras

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kimport "github.com/kconv/kconv/importer/keras"
	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// h5Refused are the ONNX test models that have no faithful Keras 2 model,
// with the error WriteH5Model gives. Every other case must convert.
var h5Refused = map[string]string{
	"onnx-pytorch/test_ConstantPad2d":       "op Pad has no Keras layer", // pads with a value (3.5)
	"onnx-pytorch/test_Conv2d_dilated":      "Keras 2 does not allow strides > 1 with dilation > 1",
	"onnx-pytorch/test_LogSoftmax":          "activation log_softmax has no Keras 2.11.0 equivalent",
	"onnx-pytorch/test_log_softmax_dim3":    "activation log_softmax has no Keras 2.11.0 equivalent",
	"onnx-pytorch/test_log_softmax_lastdim": "activation log_softmax has no Keras 2.11.0 equivalent",
	// Keras 3's hard_sigmoid (x/6 + 1/2), which Keras 2 lacks.
	"keras3/activations": "activation hard_sigmoid (0.1666666716337204x+0.5; Keras 2's is 0.2x+0.5, write a Keras 3 .keras file) has no Keras 2.11.0 equivalent",
}

// sharedKeras3 is the shared fixture folder beside the repository.
var sharedKeras3 = filepath.Join("..", "..", "..", "shared", "fixtures", "keras3")

// TestH5ModelFromONNX converts ONNX models to Keras h5: PyTorch's exports
// (convolutions, batch norm, pooling, PReLU, …; in testdata) and Keras 3's
// (NHWC models whose convolutions run NCHW between Transposes; in
// ../shared when present). Each file read back by importer/keras must
// compute what the imported ONNX model computes.
func TestH5ModelFromONNX(t *testing.T) {
	type tcase struct{ id, path string }
	var cases []tcase
	ms, _ := filepath.Glob(filepath.Join("..", "..", "importer", "onnx", "testdata", "onnx-pytorch", "*", "model.onnx"))
	for _, m := range ms {
		cases = append(cases, tcase{"onnx-pytorch/" + filepath.Base(filepath.Dir(m)), m})
	}
	if len(ms) == 0 {
		t.Error("no onnx-pytorch cases in importer/onnx/testdata")
	}
	ks, _ := filepath.Glob(filepath.Join(sharedKeras3, "*.onnx"))
	if len(ks) == 0 {
		t.Logf("%s not found: Keras 3 ONNX fixtures skipped", sharedKeras3)
	}
	for _, k := range ks {
		cases = append(cases, tcase{"keras3/" + strings.TrimSuffix(filepath.Base(k), ".onnx"), k})
	}
	converted := 0
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			m, err := onnximport.Load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "model.h5")
			err = WriteH5Model(m, path, H5Options{})
			if want, ok := h5Refused[c.id]; ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want one containing %q", err, want)
				}
				if _, serr := os.Stat(path); serr == nil {
					t.Error("a file was written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			back, err := kimport.Load(path, kimport.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(back.Warnings) > 0 {
				t.Errorf("warnings reading back: %v", back.Warnings)
			}
			for _, n := range back.Nodes {
				if _, ok := n.Op.(*ir.Unknown); ok {
					t.Errorf("layer %s (%s) read back as unknown", n.Name, n.Class)
				}
			}
			if c.id == "keras3/vgg16_mini" {
				// Sub of the VGG mean + Slice reversing the channels.
				lambdas := 0
				for _, n := range back.Nodes {
					if l, ok := n.Op.(*ir.Lambda); ok && l.Function == "vgg_preprocess" {
						lambdas++
					}
				}
				if lambdas != 1 {
					t.Errorf("%d vgg_preprocess Lambda layers read back, want 1", lambdas)
				}
			}
			sameOutputs(t, m, back)
			checkStructure(t, path)
			converted++
		})
	}
	t.Logf("%d of %d ONNX models converted (%d refused as listed)", converted, len(cases), len(h5Refused))
}

// TestH5ModelONNXOps writes the ONNX-only ops that have a Keras layer.
func TestH5ModelONNXOps(t *testing.T) {
	const cf, cl = ir.ChannelsFirst, ir.ChannelsLast
	b := ir.NewBuilder("onnx_ops")
	x := b.Input("x", ir.Shape{3, 8, 6}, cf)
	mean := b.Add("mean", &ir.Constant{Shape: ir.Shape{3, 1, 1}}, x)
	sub := b.Add("sub", &ir.Binary{Op: ir.BinarySub}, x, mean)
	vgg := b.Add("flip", &ir.Slice{Axes: []int{1}, Starts: []int{-1}, Ends: []int{-1 << 31}, Steps: []int{-1}}, sub)
	crop := b.Add("crop", &ir.Slice{Axes: []int{2, 3}, Starts: []int{1, 0}, Ends: []int{7, 5}, Steps: []int{1, 1}}, vgg)
	nhwc := b.Add("to_nhwc", &ir.Transpose{Perm: []int{0, 2, 3, 1}}, crop)
	bias := b.Add("bias", &ir.Constant{Shape: ir.Shape{1, 1, 1, 3}}, x)
	add := b.Add("add_bias", &ir.Binary{Op: ir.BinaryAdd}, nhwc, bias)
	two := b.Add("two", &ir.Constant{Shape: ir.Shape{1}}, x)
	mul := b.Add("scale", &ir.Binary{Op: ir.BinaryMul}, two, add)
	rsub := b.Add("rsub", &ir.Binary{Op: ir.BinarySub}, bias, mul)
	r6 := b.Add("relu6", &ir.Clip{Min: 0, Max: 6}, rsub)
	cropCL := b.Add("crop_cl", &ir.Slice{Axes: []int{2}, Starts: []int{1}, Ends: []int{4}, Steps: []int{1}}, r6)
	pool := b.Add("pool", &ir.GlobalPool2D{KeepDims: true, DataFormat: cl}, cropCL)
	bc := b.Add("broadcast", &ir.Binary{Op: ir.BinaryMax}, cropCL, pool)
	relu := b.Add("relu", &ir.Clip{Min: 0, Max: math.Inf(1)}, bc)
	cat := b.Add("cat", &ir.Concat{Axis: 3}, relu, cropCL)
	fl := b.Add("flat", &ir.Flatten{}, cat)
	w := b.Add("w", &ir.Constant{Shape: ir.Shape{4, 108}}, x)
	c := b.Add("c", &ir.Constant{Shape: ir.Shape{1, 4}}, x)
	g := b.Add("gemm", &ir.Gemm{TransB: true, Alpha: 0.5, Beta: 2}, fl, w, c)
	r3 := b.Add("r3", &ir.Reshape{Target: ir.Shape{2, 2}}, g)
	w2 := b.Add("w2", &ir.Constant{Shape: ir.Shape{2, 5}}, x)
	b.Add("matmul", &ir.MatMul{}, r3, w2)
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 8)
	// The VGG mean, as an export of vgg_preprocess holds it.
	m.Node("mean").Weights[0] = ir.ConstWeight("value", ir.Shape{3, 1, 1}, ir.VGGMean[:])
	// importer/onnx's pipeline folds the idiom into a Lambda; the exporter
	// recognises no idioms itself.
	if err := ir.RunPasses(m, ir.PassFoldVGGPreprocess); err != nil {
		t.Fatal(err)
	}
	if l, ok := m.Node("flip").Op.(*ir.Lambda); !ok || l.Function != "vgg_preprocess" {
		t.Fatalf("fold-vgg-preprocess left flip as %v", m.Node("flip").Op)
	}
	back := writeRead(t, m)
	want := map[string]string{
		"flip": "Lambda", "crop": "Cropping2D", "to_nhwc": "Permute", "add_bias": "BatchNormalization",
		"scale": "BatchNormalization", "rsub": "BatchNormalization", "relu6": "ReLU", "crop_cl": "Cropping2D",
		"broadcast": "Maximum", "relu": "ReLU", "cat": "Concatenate", "gemm": "Dense", "matmul": "Dense",
	}
	for name, class := range want {
		if n := back.Node(name); n == nil || n.Class != class {
			t.Errorf("layer %s: read back as %v, want %s", name, n, class)
		}
	}
	for _, name := range []string{"sub", "mean", "bias", "two", "w", "c", "w2"} {
		if back.Node(name) != nil {
			t.Errorf("%s is a layer of the file", name)
		}
	}

	// A static batch: ReshapeTo keeping it is a Reshape; a Transpose
	// moving it has no layer.
	st := &ir.Model{Name: "static", Inputs: []string{"x"}, Outputs: []string{"r"}, Nodes: []*ir.Node{
		{Name: "x", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{2, 3, 4}}}},
		{Name: "r", Op: &ir.ReshapeTo{Shape: ir.Shape{2, 4, 3}}, Inputs: []string{"x"}},
	}}
	if err := ir.Prepare(st); err != nil {
		t.Fatal(err)
	}
	if n := writeRead(t, st).Node("r"); n == nil || n.Class != "Reshape" {
		t.Errorf("ReshapeTo read back as %v", n)
	}
	st.Nodes[1].Op = &ir.ReshapeTo{Shape: ir.Shape{4, 2, 3}}
	st.Nodes = append(st.Nodes, &ir.Node{Name: "t", Op: &ir.Transpose{Perm: []int{1, 0, 2}}, Inputs: []string{"x"}})
	st.Outputs = []string{"r", "t"}
	if err := ir.Prepare(st); err != nil {
		t.Fatal(err)
	}
	err = WriteH5Model(st, filepath.Join(t.TempDir(), "bad.h5"), H5Options{})
	if err == nil || !strings.Contains(err.Error(), "layer 'r': reshape from (2, 3, 4) to (4, 2, 3) changes dimension 0") {
		t.Errorf("ReshapeTo changing dimension 0: %v", err)
	}
	st.Outputs = []string{"t"}
	err = WriteH5Model(st, filepath.Join(t.TempDir(), "bad.h5"), H5Options{})
	if err == nil || !strings.Contains(err.Error(), "layer 't': Transpose [1 0 2] moves axis 0") {
		t.Errorf("Transpose moving axis 0: %v", err)
	}
}

// writeRead writes m, reads it back and checks it computes the same.
func writeRead(t *testing.T, m *ir.Model) *ir.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.h5")
	if err := WriteH5Model(m, path, H5Options{}); err != nil {
		t.Fatal(err)
	}
	back, err := kimport.Load(path, kimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Warnings) > 0 {
		t.Errorf("warnings reading back: %v", back.Warnings)
	}
	sameOutputs(t, m, back)
	checkStructure(t, path)
	return back
}
