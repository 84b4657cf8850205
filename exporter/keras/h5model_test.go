package keras

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	kimport "github.com/kconv/kconv/importer/keras"
	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// A round trip computes the same function, but not always with the same
// kernels: an ONNX model's NCHW input is read by its first convolution
// directly (direct kernel), the converted channels-last model's by
// Winograd F(2×2) where it pays, and their roundings differ (cifar_deep:
// 3e-5 relative at the output).
const (
	roundTripRtol = 1e-4
	roundTripAtol = 1e-7
)

// randomInputs returns seeded random inputs (batch 2) for m.
func randomInputs(m *ir.Model, seed uint64) []*ir.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	var out []*ir.Tensor
	for _, t := range m.InputTypes() {
		s := t.Shape.Clone()
		if s[0] < 0 {
			s[0] = 2
		}
		x := ir.NewTensor(s, t.Layout)
		for i := range x.Data {
			x.Data[i] = r.Float32()*2 - 1
		}
		out = append(out, x)
	}
	return out
}

func run(t *testing.T, m *ir.Model, in []*ir.Tensor) []*ir.Tensor {
	t.Helper()
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := p.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

// roundTrip writes m, reads it back, and checks parameters, outputs and the
// file's structure. It returns the model read back.
func roundTrip(t *testing.T, m *ir.Model) *ir.Model {
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
	if back.Meta.KerasVersion != DefaultH5KerasVersion || back.Meta.Format != "keras-h5" {
		t.Errorf("meta %+v", back.Meta)
	}
	t1, n1 := m.Params()
	t2, n2 := back.Params()
	if t1 != t2 || n1 != n2 {
		t.Errorf("params: wrote %d+%d, read %d+%d", t1, n1, t2, n2)
	}
	sameOutputs(t, m, back)
	checkStructure(t, path)
	return back
}

// sameOutputs runs m and back on the same random inputs and requires the
// same outputs (to float32 rounding).
func sameOutputs(t *testing.T, m, back *ir.Model) {
	t.Helper()
	in := randomInputs(m, 1)
	want := run(t, m, in)
	got := run(t, back, in)
	if len(got) != len(want) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	for k := range want {
		if !got[k].Shape.Equal(want[k].Shape) {
			t.Fatalf("output %d: shape %v, want %v", k, got[k].Shape, want[k].Shape)
		}
		worst := 0.0
		for i, w := range want[k].Data {
			g := got[k].Data[i]
			d := math.Abs(float64(g) - float64(w))
			if d > roundTripAtol+roundTripRtol*math.Max(math.Abs(float64(g)), math.Abs(float64(w))) {
				t.Fatalf("output %d[%d] = %g, want %g", k, i, g, w)
			}
			worst = math.Max(worst, d)
		}
		t.Logf("output %d %v: max abs diff %g", k, want[k].Shape, worst)
	}
}

// checkStructure checks the file's layout against what Keras 2 writes.
func checkStructure(t *testing.T, path string) {
	t.Helper()
	f, err := h5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := f.Root()
	for attr, want := range map[string]string{"keras_version": DefaultH5KerasVersion, "backend": "tensorflow"} {
		if s, err := root.AttrString(attr); err != nil || s != want {
			t.Errorf("root %s = %q, %v; want %q", attr, s, err, want)
		}
	}
	cfgText, err := root.AttrString("model_config")
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		ClassName string `json:"class_name"`
		Config    struct {
			Name   string `json:"name"`
			Layers []struct {
				ClassName    string         `json:"class_name"`
				Name         string         `json:"name"`
				Config       map[string]any `json:"config"`
				InboundNodes [][][]any      `json:"inbound_nodes"`
			} `json:"layers"`
			InputLayers  [][]any `json:"input_layers"`
			OutputLayers [][]any `json:"output_layers"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(cfgText), &top); err != nil {
		t.Fatalf("model_config: %v", err)
	}
	if top.ClassName != "Functional" || len(top.Config.Layers) == 0 || len(top.Config.InputLayers) == 0 || len(top.Config.OutputLayers) == 0 {
		t.Fatalf("model_config: %.300s", cfgText)
	}
	if !strings.HasPrefix(cfgText, `{"class_name": "Functional", "config": {"name": `) {
		t.Errorf("model_config is not in json.dumps form: %.80s", cfgText)
	}
	wg, err := root.Group("model_weights")
	if err != nil {
		t.Fatal(err)
	}
	names, err := wg.AttrStrings("layer_names")
	if err != nil {
		t.Fatal(err)
	}
	for _, attr := range []string{"backend", "keras_version"} {
		if _, err := wg.AttrString(attr); err != nil {
			t.Error(err)
		}
	}
	if len(names) != len(top.Config.Layers) {
		t.Fatalf("layer_names has %d names, config %d layers", len(names), len(top.Config.Layers))
	}
	for i, l := range top.Config.Layers {
		if names[i] != l.Name || l.Config["name"] != l.Name {
			t.Errorf("layer %d: layer_names %q, config %q/%v", i, names[i], l.Name, l.Config["name"])
		}
		if l.ClassName == "InputLayer" {
			if len(l.InboundNodes) != 0 {
				t.Errorf("input layer %s has inbound nodes", l.Name)
			}
		} else if len(l.InboundNodes) != 1 || len(l.InboundNodes[0]) == 0 || len(l.InboundNodes[0][0]) != 4 {
			t.Errorf("layer %s: inbound_nodes %v", l.Name, l.InboundNodes)
		}
		lg, err := wg.Group(names[i])
		if err != nil {
			t.Fatal(err)
		}
		wn, err := lg.AttrStrings("weight_names")
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wn {
			if !strings.HasPrefix(w, l.Name+"/") || !strings.HasSuffix(w, ":0") {
				t.Errorf("layer %s: weight name %q", l.Name, w)
			}
			if _, err := lg.Dataset(w); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestH5ModelRoundTripFixtures(t *testing.T) {
	files := []string{
		"../../importer/keras/testdata/cifar_small.h5",
		"../../importer/keras/testdata/resnet_block.h5",
		"../../importer/keras/testdata/16_k2_cnn_batch_norm.h5",
		"../../importer/keras/testdata/27_k2_tfkeras_cnn2d_pad_crop_up.h5",
		"../../exec/testdata/bn_net.h5",
		"../../exec/testdata/vgg16_mini.h5",
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			m, err := kimport.Load(file, kimport.Options{})
			if err != nil {
				t.Fatal(err)
			}
			back := roundTrip(t, m)
			if len(back.Nodes) != len(m.Nodes) {
				t.Errorf("%d layers read back, wrote %d", len(back.Nodes), len(m.Nodes))
			}
			for _, n := range m.Nodes {
				bn := back.Node(n.Name)
				if bn == nil {
					t.Errorf("layer %s is missing", n.Name)
					continue
				}
				if bn.Op.Kind() != n.Op.Kind() || bn.Class != n.Class {
					t.Errorf("layer %s: %s/%s read back as %s/%s", n.Name, n.Op.Kind(), n.Class, bn.Op.Kind(), bn.Class)
				}
			}
		})
	}
}

// channelsFirstModel is a model with the layers the fixtures lack.
func channelsFirstModel(t *testing.T) *ir.Model {
	t.Helper()
	cf := ir.ChannelsFirst
	w := func(k, s int, p ir.Padding) ir.Window2D { return ir.Window2D{KH: k, KW: k, SH: s, SW: s, Padding: p} }
	b := ir.NewBuilder("cf/model")
	b.Input("input:0", ir.Shape{3, 12, 12}, cf)
	b.Add("conv1/a", &ir.Conv2D{Filters: 4, Window2D: w(3, 1, ir.PadSame), UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: cf})
	// Explicit asymmetric padding, and an activation Keras 2 cannot name.
	b.Add("conv1_a", &ir.Conv2D{Filters: 6, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadExplicit, Pads: [4]int{1, 2, 0, 1}},
		UseBias: true, Activation: ir.Act{Name: "leaky_relu", Alpha: 0.1}, DataFormat: cf})
	b.Add("dw", &ir.DepthwiseConv2D{Multiplier: 2, Window2D: w(3, 1, ir.PadSame), UseBias: true, Activation: ir.Act{Name: "relu6"}, DataFormat: cf})
	b.Add("sep", &ir.SeparableConv2D{Filters: 5, Multiplier: 1, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, DH: 2, DW: 2, Padding: ir.PadSame}, UseBias: true, Activation: ir.Act{Name: "tanh"}, DataFormat: cf})
	b.Add("bn", &ir.BatchNorm{Axis: 1, Epsilon: 1e-3, Center: true, Scale: true})
	b.Add("prelu", &ir.PReLU{SharedAxes: []int{2, 3}})
	b.Add("up", &ir.UpSampling2D{SH: 2, SW: 2, Interpolation: "nearest", DataFormat: cf})
	b.Add("deconv", &ir.Conv2DTranspose{Filters: 3, Window2D: w(3, 2, ir.PadSame), UseBias: true, DataFormat: cf})
	// ONNX-style transposed convolution: explicit pads and output padding.
	b.Add("deconv_onnx", &ir.Conv2DTranspose{Filters: 4, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 2, 0}},
		OutputPadding: [2]int{1, 0}, HasOutputPadding: true, UseBias: true, Activation: ir.Act{Name: "elu", Alpha: 0.5}, DataFormat: cf})
	b.Add("crop", &ir.Cropping2D{Crops: [4]int{1, 0, 2, 1}, DataFormat: cf})
	b.Add("pool", &ir.Pool2D{Max: true, Window2D: w(2, 2, ir.PadValid), DataFormat: cf})
	b.Add("avg_incl", &ir.Pool2D{Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 1, 1}}, CountIncludePad: true, DataFormat: cf})
	b.Add("avg_same", &ir.Pool2D{Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 1, 1}}, DataFormat: cf})
	b.Add("relu6", &ir.Activation{Act: ir.Act{Name: "relu", HasMax: true, MaxValue: 6}})
	b.Add("zp", &ir.ZeroPadding2D{Pads: [4]int{0, 1, 1, 0}, DataFormat: cf})
	branch := b.Add("branch", &ir.Conv2D{Filters: 4, Window2D: w(1, 1, ir.PadValid), Activation: ir.Act{Name: "sigmoid"}, DataFormat: cf})
	b.Add("sum", &ir.Merge{Mode: ir.MergeAdd}, "zp", branch)
	b.Add("cat", &ir.Merge{Mode: ir.MergeConcat, Axis: 1}, "sum", "zp")
	b.Add("perm", &ir.Permute{Dims: []int{2, 3, 1}})
	b.Add("reshape", &ir.Reshape{Target: ir.Shape{-1, 8}})
	b.Add("gelu", &ir.Dense{Units: 6, UseBias: true, Activation: ir.Act{Name: "gelu"}})
	b.Add("flat", &ir.Flatten{})
	b.Add("drop", &ir.Dropout{Rate: 0.3})
	b.Add("dense", &ir.Dense{Units: 5, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	b.AddClass("elu", "ELU", &ir.Activation{Act: ir.Act{Name: "elu", Alpha: 1}})
	m, err := b.Build("deconv_onnx", "avg_incl", "cat", "elu")
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 42)
	if err := ir.Prepare(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestH5ModelRoundTripBuilt(t *testing.T) {
	m := channelsFirstModel(t)
	back := roundTrip(t, m)
	names := H5LayerNames(m)
	for from, to := range map[string]string{"input:0": "input_0", "conv1/a": "conv1_a_1", "conv1_a": "conv1_a", "dw": "dw"} {
		if names[from] != to {
			t.Errorf("H5LayerNames[%q] = %q, want %q", from, names[from], to)
		}
	}
	classes := map[string]string{}
	for _, n := range back.Nodes {
		classes[n.Name] = n.Class
	}
	for name, class := range map[string]string{
		"conv1_a_pad": "ZeroPadding2D", "conv1_a": "Conv2D", "conv1_a_act": "LeakyReLU",
		"dw": "DepthwiseConv2D", "dw_act": "ReLU", "sep": "SeparableConv2D",
		"deconv": "Conv2DTranspose", "deconv_onnx": "Conv2DTranspose", "deconv_onnx_crop": "Cropping2D", "deconv_onnx_act": "ELU",
		"avg_incl_pad": "ZeroPadding2D", "avg_incl": "AveragePooling2D", "avg_same": "AveragePooling2D",
		"relu6": "ReLU", "gelu": "Dense", "elu": "ELU", "prelu": "PReLU", "perm": "Permute",
	} {
		if classes[name] != class {
			t.Errorf("layer %s: class %q, want %q", name, classes[name], class)
		}
	}
	if op, ok := back.Node("avg_same").Op.(*ir.Pool2D); !ok || op.Padding != ir.PadSame {
		t.Errorf("avg_same: %+v", back.Node("avg_same").Op)
	}
	if got := back.InputTypes()[0].Layout; got != ir.ChannelsFirst {
		t.Errorf("input layout %v read back", got)
	}
}

func TestH5ModelErrors(t *testing.T) {
	dir := t.TempDir()
	build := func(add func(b *ir.Builder)) *ir.Model {
		b := ir.NewBuilder("m")
		b.Input("in", ir.Shape{8, 8, 3}, ir.ChannelsLast)
		add(b)
		m, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		zoo.RandomWeights(m, 1)
		return m
	}
	cases := []struct {
		name string
		m    *ir.Model
		want string
	}{
		{"unknown", build(func(b *ir.Builder) { b.Add("u", &ir.Unknown{ClassName: "Foo"}) }), "layer 'u': class Foo"},
		{"onnx", build(func(b *ir.Builder) { b.Add("g", &ir.Gather{Axis: 3, Indices: []int{0}, IndicesShape: ir.Shape{1}}) }), "layer 'g': op Gather has no Keras layer"},
		{"onnx-clip", build(func(b *ir.Builder) { b.Add("c", &ir.Clip{Min: -1, Max: 1}) }), "layer 'c': op Clip [-1, 1] has no Keras layer"},
		{"onnx-reduce", build(func(b *ir.Builder) { b.Add("r", &ir.ReduceMean{Axes: []int{3}, KeepDims: true}) }), "layer 'r': op ReduceMean has no Keras layer"},
		{"onnx-pad", build(func(b *ir.Builder) { b.Add("p", &ir.Pad{Pads: []int{0, 1, 1, 0, 0, 1, 1, 0}, Mode: "reflect"}) }), "layer 'p': op Pad has no Keras layer"},
		{"onnx-slice", build(func(b *ir.Builder) {
			b.Add("s", &ir.Slice{Axes: []int{3}, Starts: []int{0}, Ends: []int{3}, Steps: []int{2}})
		}), "layer 's': op Slice has no Keras layer"},
		{"const-merge", build(func(b *ir.Builder) {
			b.Add("k", &ir.Constant{Shape: ir.Shape{8, 8, 3}}, "in")
			b.Add("sum", &ir.Merge{Mode: ir.MergeAdd}, "in", "k")
		}), "layer 'sum': input 'k' is a Constant, which a Keras merge layer cannot take"},
		{"const-conv", build(func(b *ir.Builder) {
			b.Add("k", &ir.Constant{Shape: ir.Shape{1, 8, 8, 3}}, "in")
			b.Add("c", &ir.Conv2D{Filters: 2, Window2D: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}, DataFormat: ir.ChannelsLast}, "k")
		}), "layer 'c': input 'k' is a Constant"},
		{"const-out", build(func(b *ir.Builder) { b.Add("k", &ir.Constant{Shape: ir.Shape{2}}, "in") }), "layer 'k': a Constant is a model output"},
		{"binary-div", build(func(b *ir.Builder) {
			b.Add("k", &ir.Constant{Shape: ir.Shape{3}}, "in")
			b.Add("d", &ir.Binary{Op: ir.BinaryDiv}, "in", "k")
		}), "layer 'd': Binary Div with a Constant has no exact Keras layer"},
		{"binary-full", build(func(b *ir.Builder) {
			b.Add("k", &ir.Constant{Shape: ir.Shape{8, 1, 3}}, "in")
			b.Add("a", &ir.Binary{Op: ir.BinaryAdd}, "in", "k")
		}), "layer 'a': Binary Add with a Constant of shape (8, 1, 3) has no Keras layer"},
		{"binary-div2", build(func(b *ir.Builder) { b.Add("d", &ir.Binary{Op: ir.BinaryDiv}, "in", "in") }), "layer 'd': Binary Div of two computed tensors"},
		{"matmul", build(func(b *ir.Builder) {
			b.Add("p", &ir.Permute{Dims: []int{1, 3, 2}}, "in")
			b.Add("m", &ir.MatMul{}, "in", "p")
		}), "layer 'm': op MatMul has no Keras layer"},
		{"gemm-transA", build(func(b *ir.Builder) {
			b.Add("k", &ir.Constant{Shape: ir.Shape{3, 4}}, "in")
			b.Add("g", &ir.Gemm{TransA: true, Alpha: 1, Beta: 1}, "k", "k")
		}), "layer 'g': op Gemm has no Keras layer"},
		{"maxpool-pads", build(func(b *ir.Builder) {
			b.Add("p", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 1, 1}}, DataFormat: ir.ChannelsLast})
		}), "layer 'p': pooling with padding"},
		{"ceil", build(func(b *ir.Builder) {
			b.Add("p", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, CeilMode: true}, DataFormat: ir.ChannelsLast})
		}), "layer 'p': ceil_mode"},
		{"lambda", build(func(b *ir.Builder) { b.Add("l", &ir.Lambda{}) }), "layer 'l': Lambda has no registered function"},
		{"act", build(func(b *ir.Builder) { b.Add("a", &ir.Activation{Act: ir.Act{Name: "log_softmax", Axis: -1}}) }), "layer 'a': activation log_softmax"},
		{"hard-sigmoid-k3", build(func(b *ir.Builder) {
			b.Add("a", &ir.Activation{Act: ir.Act{Name: "hard_sigmoid", Alpha: 1.0 / 6, Beta: 0.5}})
		}), "layer 'a': activation hard_sigmoid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".h5")
			err := WriteH5Model(c.m, path, H5Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			var le *ir.LayerError
			if !errors.As(err, &le) {
				t.Errorf("%v is not a LayerError", err)
			}
			if _, serr := os.Stat(path); serr == nil {
				t.Error("a file was written")
			}
		})
	}

	t.Run("exists", func(t *testing.T) {
		m := build(func(b *ir.Builder) { b.Add("d", &ir.Flatten{}) })
		path := filepath.Join(dir, "exists.h5")
		if err := WriteH5Model(m, path, H5Options{}); err != nil {
			t.Fatal(err)
		}
		if err := WriteH5Model(m, path, H5Options{}); !errors.Is(err, atomicfile.ErrExists) {
			t.Fatalf("second write: %v", err)
		}
		if err := WriteH5Model(m, path, H5Options{Force: true}); err != nil {
			t.Fatalf("forced write: %v", err)
		}
	})
	t.Run("version", func(t *testing.T) {
		m := build(func(b *ir.Builder) { b.Add("d", &ir.Flatten{}) })
		if err := WriteH5Model(m, filepath.Join(dir, "v3.h5"), H5Options{KerasVersion: "3.1.0"}); err == nil {
			t.Fatal("Keras 3 version accepted")
		}
	})
}

func TestPyJSON(t *testing.T) {
	s, err := pyJSON(obj("a", 1, "b", []any{0.001, 1e-7, 1.0, 0.20000000298023224, 1e16, nil, true}, "c", "é\"/", "d", [][]int{{1, 2}}, "e", obj()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a": 1, "b": [0.001, 1e-07, 1.0, 0.20000000298023224, 1e+16, null, true], "c": "\u00e9\"/", "d": [[1, 2]], "e": {}}`
	if s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
}

// TestH5ModelLayerOrder checks that layers are written in the order Keras 2
// gives a functional model's layers (which it loads weights by).
func TestH5ModelLayerOrder(t *testing.T) {
	b := ir.NewBuilder("diamond")
	b.Input("in", ir.Shape{6, 6, 2}, ir.ChannelsLast)
	conv := func() *ir.Conv2D {
		return &ir.Conv2D{Filters: 2, Window2D: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}, UseBias: true, DataFormat: ir.ChannelsLast}
	}
	b.Add("b", conv(), "in")
	b.Add("a", conv(), "in")
	b.Add("c", conv(), "a")
	b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, "c", "b")
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 3)
	path := filepath.Join(t.TempDir(), "d.h5")
	if err := WriteH5Model(m, path, H5Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := h5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wg, err := f.Root().Group("model_weights")
	if err != nil {
		t.Fatal(err)
	}
	names, err := wg.AttrStrings("layer_names")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(names, " "), "in a c b add"; got != want {
		t.Errorf("layer_names %q, want %q", got, want)
	}
	roundTrip(t, m)
}
