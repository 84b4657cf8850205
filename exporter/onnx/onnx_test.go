package onnx_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	onnxexport "github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// export writes m to a temporary file and checks the file's structure.
func export(t *testing.T, m *ir.Model, opts onnxexport.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), m.Name+".onnx")
	if err := onnxexport.Write(m, path, opts); err != nil {
		t.Fatalf("export: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkStructure(t, m, data, opts)
	return path
}

// checkStructure verifies what makes a valid ONNX model: IR version and
// opset, producer, unique names, topological order, inputs and outputs
// declared with shapes, initializers not listed as inputs.
func checkStructure(t *testing.T, m *ir.Model, data []byte, opts onnxexport.Options) {
	t.Helper()
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		t.Fatalf("the file is not a ModelProto: %v", err)
	}
	opset := opts.Opset
	if opset == 0 {
		opset = onnxexport.DefaultOpset
	}
	wantIR := map[int]int64{11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9}[opset]
	if mp.GetIrVersion() != wantIR {
		t.Errorf("ir_version %d for opset %d, want %d", mp.GetIrVersion(), opset, wantIR)
	}
	if len(mp.OpsetImport) != 1 || mp.OpsetImport[0].GetDomain() != "" || mp.OpsetImport[0].GetVersion() != int64(opset) {
		t.Errorf("opset_import %v, want default domain %d", mp.OpsetImport, opset)
	}
	if mp.GetProducerName() != "kconv" {
		t.Errorf("producer_name %q", mp.GetProducerName())
	}
	g := mp.GetGraph()
	defined := map[string]bool{"": true}
	for _, init := range g.Initializer {
		if defined[init.GetName()] {
			t.Errorf("initializer %q defined twice", init.GetName())
		}
		defined[init.GetName()] = true
		if init.GetDataType() == int32(onnxpb.TensorProto_FLOAT) {
			n := int64(1)
			for _, d := range init.Dims {
				n *= d
			}
			if int64(len(init.RawData)) != 4*n {
				t.Errorf("initializer %q: %d raw bytes for dims %v", init.GetName(), len(init.RawData), init.Dims)
			}
		}
	}
	for _, in := range g.Input {
		if defined[in.GetName()] {
			t.Errorf("graph input %q is also an initializer", in.GetName())
		}
		defined[in.GetName()] = true
		checkDims(t, in, opts.Batch, shapeOf(m, in.GetName()))
	}
	if len(g.Input) != len(m.Inputs) || len(g.Output) != len(m.Outputs) {
		t.Errorf("%d inputs, %d outputs; the model has %d, %d", len(g.Input), len(g.Output), len(m.Inputs), len(m.Outputs))
	}
	nodeNames := map[string]bool{}
	for _, n := range g.Node {
		if nodeNames[n.GetName()] {
			t.Errorf("node name %q used twice", n.GetName())
		}
		nodeNames[n.GetName()] = true
		for _, in := range n.Input {
			if !defined[in] {
				t.Errorf("node %s (%s) reads %q before it is defined", n.GetName(), n.GetOpType(), in)
			}
		}
		for _, out := range n.Output {
			if defined[out] {
				t.Errorf("value %q defined twice", out)
			}
			defined[out] = true
		}
	}
	for i, out := range g.Output {
		if !defined[out.GetName()] {
			t.Errorf("graph output %q is not computed", out.GetName())
		}
		if i < len(m.Outputs) && out.GetName() != m.Outputs[i] {
			t.Errorf("graph output %d is %q, want the layer's name %q", i, out.GetName(), m.Outputs[i])
		}
		checkDims(t, out, opts.Batch, shapeOf(m, out.GetName()))
	}
}

// dim0 is the size of dimension 0 of node name's output (-1: dynamic or
// no such node).
// shapeOf is the shape of node name of m, nil when unknown.
func shapeOf(m *ir.Model, name string) ir.Shape {
	if n := m.Node(name); n != nil {
		return n.Out.Shape
	}
	return nil
}

// checkDims checks a graph input's or output's dimensions against the
// node's shape: dimension 0 static as it is, else the batch given or "N";
// the others static where the shape knows them, else left open (a
// variable length).
func checkDims(t *testing.T, vi *onnxpb.ValueInfoProto, batch int, shape ir.Shape) {
	t.Helper()
	dims := vi.GetType().GetTensorType().GetShape().GetDim()
	if len(dims) == 0 {
		t.Errorf("%s has no shape", vi.GetName())
		return
	}
	static := -1
	if len(shape) > 0 {
		static = shape[0]
	}
	if static >= 0 {
		// A static dimension 0 (imported ONNX models) is written as is.
		if dims[0].GetDimValue() != int64(static) {
			t.Errorf("%s: dimension 0 %v, want %d", vi.GetName(), dims[0], static)
		}
	} else if batch > 0 {
		if dims[0].GetDimValue() != int64(batch) {
			t.Errorf("%s: batch dimension %v, want %d", vi.GetName(), dims[0], batch)
		}
	} else if dims[0].GetDimParam() != "N" {
		t.Errorf("%s: batch dimension %v, want dim_param N", vi.GetName(), dims[0])
	}
	for i, d := range dims[1:] {
		if i+1 < len(shape) && shape[i+1] < 0 {
			if d.GetValue() != nil {
				t.Errorf("%s: dimension %d %v, want it open (the model's is unknown)", vi.GetName(), i+1, d)
			}
		} else if d.GetDimValue() < 1 {
			t.Errorf("%s: dimension %d %v", vi.GetName(), i+1, d)
		}
	}
}

// check exports m with opts and compares ONNX Runtime's and kconv's
// re-imported outputs with kconv's own.
func check(t *testing.T, m *ir.Model, opts onnxexport.Options, batch int) {
	t.Helper()
	path := export(t, m, opts)
	lo, hi := inputRange(m)
	x := randomInput(m, batch, 1, lo, hi)
	want := runKconv(t, m, x)
	in := x // as the graph takes it
	if opts.InputNCHW && len(x.Shape) == 4 && x.Layout != ir.ChannelsFirst {
		in = toNCHW(x)
	}
	t.Run("reimport", func(t *testing.T) {
		compare(t, "re-imported output", reimport(t, path, in), want)
	})
	t.Run("ort", func(t *testing.T) {
		compare(t, "ONNX Runtime output", runORT(t, path, in), want)
	})
}

func TestTinyVGG(t *testing.T) {
	m := tinyVGG(t)
	check(t, m, onnxexport.Options{}, 2)
	t.Run("opset11_batch3", func(t *testing.T) { check(t, m, onnxexport.Options{Opset: 11, Batch: 3}, 3) })
}

func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			if _, err := os.Stat(f.path); err != nil {
				t.Skipf("fixture missing: %v", err)
			}
			m := loadFixture(t, f.path)
			check(t, m, onnxexport.Options{}, 2)
		})
	}
}

func TestSpatialOps(t *testing.T) {
	for _, df := range []ir.Layout{ir.ChannelsLast, ir.ChannelsFirst} {
		t.Run(df.String(), func(t *testing.T) { check(t, spatialOps(t, df), onnxexport.Options{}, 2) })
	}
	t.Run("opset17_input_nchw", func(t *testing.T) {
		check(t, spatialOps(t, ir.ChannelsLast), onnxexport.Options{Opset: 17, InputNCHW: true}, 2)
	})
}

func TestShapeOps(t *testing.T) {
	m := shapeOps(t)
	for _, opset := range []int{11, 13} {
		t.Run("opset"+itoa(opset), func(t *testing.T) { check(t, m, onnxexport.Options{Opset: opset}, 2) })
	}
}

func TestActivations(t *testing.T) {
	m := activations(t)
	for _, opset := range []int{11, 13, 14, 18, 20} {
		t.Run("opset"+itoa(opset), func(t *testing.T) { check(t, m, onnxexport.Options{Opset: opset}, 3) })
	}
}

// TestInputNCHW takes a channels_last model's input as NCHW: the graph has
// no Transpose after its input and declares (N, C, H, W).
func TestInputNCHW(t *testing.T) {
	m := loadFixture(t, fixtures[0].path)
	data, err := onnxexport.Encode(m, onnxexport.Options{InputNCHW: true})
	if err != nil {
		t.Fatal(err)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		t.Fatal(err)
	}
	in := mp.Graph.Input[0]
	var dims []string
	for _, d := range in.GetType().GetTensorType().GetShape().GetDim() {
		if d.GetDimParam() != "" {
			dims = append(dims, d.GetDimParam())
		} else {
			dims = append(dims, itoa(int(d.GetDimValue())))
		}
	}
	if got := strings.Join(dims, ","); got != "N,3,32,32" {
		t.Errorf("input dims %s, want N,3,32,32", got)
	}
	for _, n := range mp.Graph.Node {
		for _, x := range n.Input {
			if x == in.GetName() && n.GetOpType() == "Transpose" {
				t.Errorf("input %s is transposed although it is NCHW", x)
			}
		}
	}
	check(t, m, onnxexport.Options{InputNCHW: true}, 2)
}

// TestStaticBatch fixes the batch dimension.
func TestStaticBatch(t *testing.T) {
	m := loadFixture(t, fixtures[1].path)
	check(t, m, onnxexport.Options{Batch: 4}, 4)
}

func TestNoOverwrite(t *testing.T) {
	m := tinyVGG(t)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := onnxexport.Write(m, path, onnxexport.Options{})
	if !errors.Is(err, atomicfile.ErrExists) {
		t.Fatalf("writing over a file without force: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Fatal("the file was replaced without force")
	}
	if err := onnxexport.Write(m, path, onnxexport.Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) == "keep" {
		t.Fatal("force did not replace the file")
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestUnsupported(t *testing.T) {
	b := ir.NewBuilder("odd")
	b.Input("in", ir.Shape{4}, ir.LayoutNone)
	b.Add("dense", &ir.Dense{Units: 4})
	b.Add("my_layer", &ir.Unknown{ClassName: "MyCustomLayer"})
	m := built(t, b, 1)
	var err error
	_, err = onnxexport.Encode(m, onnxexport.Options{})
	if err == nil || !strings.Contains(err.Error(), "my_layer") || !strings.Contains(err.Error(), "MyCustomLayer") {
		t.Fatalf("unknown layer: %v", err)
	}

	b = ir.NewBuilder("lambda")
	b.Input("in", ir.Shape{4, 4, 3}, ir.ChannelsLast)
	b.Add("mystery", &ir.Lambda{Function: "", OutputShape: ir.Shape{4, 4, 3}})
	m, err = b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err = onnxexport.Encode(m, onnxexport.Options{}); err == nil || !strings.Contains(err.Error(), "mystery") {
		t.Fatalf("unknown lambda: %v", err)
	}

	m = tinyVGG(t)
	for _, opset := range []int{10, 21} {
		if _, err := onnxexport.Encode(m, onnxexport.Options{Opset: opset}); err == nil {
			t.Errorf("opset %d accepted", opset)
		}
	}
	// A model without weights.
	b = ir.NewBuilder("bare")
	b.Input("in", ir.Shape{4}, ir.LayoutNone)
	b.Add("dense", &ir.Dense{Units: 4})
	m, err = b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnxexport.Encode(m, onnxexport.Options{}); err == nil || !strings.Contains(err.Error(), "dense") {
		t.Fatalf("model without weights: %v", err)
	}
}

// TestOutputNames: outputs keep their layers' names, also when an output is
// a Dropout (an alias) or a channels_last rank-4 value converted back.
func TestOutputNames(t *testing.T) {
	const df = ir.ChannelsLast
	b := ir.NewBuilder("outs")
	x := b.Input("in", ir.Shape{5, 5, 2}, df)
	c := b.Add("conv", &ir.Conv2D{Filters: 3, Window2D: same(3, 1), UseBias: true, DataFormat: df}, x)
	p := b.Add("pool", &ir.Pool2D{Max: true, Window2D: same(2, 2), DataFormat: df}, c)
	d := b.Add("drop", &ir.Dropout{Rate: 0.1}, p)
	m := built(t, b, 2, c, d, p)
	check(t, m, onnxexport.Options{}, 2)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestTransposes checks the layout strategy: a channels-first model needs
// no Transpose, a channels_last one one after its input and one where Keras
// order matters (before Flatten), and none around concatenations.
func TestTransposes(t *testing.T) {
	cases := []struct {
		name string
		m    *ir.Model
		opts onnxexport.Options
		want int
	}{
		{"tiny_vgg", tinyVGG(t), onnxexport.Options{}, 0},
		{"cifar_small", loadFixture(t, fixtures[0].path), onnxexport.Options{}, 2},
		{"cifar_small_nchw", loadFixture(t, fixtures[0].path), onnxexport.Options{InputNCHW: true}, 1},
		{"resnet_block", loadFixture(t, fixtures[1].path), onnxexport.Options{}, 1},
	}
	for _, c := range cases {
		data, err := onnxexport.Encode(c.m, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		var mp onnxpb.ModelProto
		if err := proto.Unmarshal(data, &mp); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, nd := range mp.Graph.Node {
			if nd.GetOpType() == "Transpose" {
				n++
			}
		}
		if n != c.want {
			t.Errorf("%s: %d Transpose nodes, want %d", c.name, n, c.want)
		}
	}
}
