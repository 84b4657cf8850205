package ir_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

func TestVGG16FLOPs(t *testing.T) {
	m, err := zoo.VGG16()
	if err != nil {
		t.Fatal(err)
	}
	// 30.94 GFLOP for the 13 convolutions and 3 dense layers at 224×224.
	if f := ir.FLOPs(m); f < 30.9e9 || f > 31.0e9 {
		t.Fatalf("VGG16 FLOPs = %d", f)
	}
}

// Shape rules checked against values Keras reports (Keras's own summaries).
func TestShapeRules(t *testing.T) {
	in := func(s ...int) []ir.TensorType {
		return []ir.TensorType{{Shape: append(ir.Shape{-1}, s...), Layout: ir.ChannelsLast}}
	}
	cases := []struct {
		name   string
		op     ir.Op
		in     []ir.TensorType
		want   string
		params int64
	}{
		{"conv same stride 2", &ir.Conv2D{Filters: 8, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadSame}, UseBias: true}, in(15, 15, 3), "(None, 8, 8, 8)", 3*3*3*8 + 8},
		{"conv valid dilated", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, DH: 2, DW: 2}}, in(10, 10, 2), "(None, 6, 6, 4)", 72},
		{"pool valid", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}}, in(7, 7, 3), "(None, 3, 3, 3)", 0},
		{"pool same", &ir.Pool2D{Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2, Padding: ir.PadSame}}, in(7, 7, 3), "(None, 4, 4, 3)", 0},
		{"pool ceil", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadExplicit, CeilMode: true}}, in(8, 8, 1), "(None, 4, 4, 1)", 0},
		{"deconv same", &ir.Conv2DTranspose{Filters: 5, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadSame}, UseBias: true}, in(4, 4, 2), "(None, 8, 8, 5)", 3*3*5*2 + 5},
		{"deconv valid", &ir.Conv2DTranspose{Filters: 1, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2}}, in(4, 4, 2), "(None, 9, 9, 1)", 18},
		{"depthwise", &ir.DepthwiseConv2D{Multiplier: 2, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}, UseBias: true}, in(5, 5, 3), "(None, 5, 5, 6)", 3*3*3*2 + 6},
		{"separable", &ir.SeparableConv2D{Filters: 4, Multiplier: 1, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1}, UseBias: true}, in(5, 5, 3), "(None, 3, 3, 4)", 27 + 12 + 4},
		{"bn", &ir.BatchNorm{Axis: -1, Epsilon: 1e-3, Center: true, Scale: true}, in(4, 4, 16), "(None, 4, 4, 16)", 64},
		{"flatten", &ir.Flatten{}, in(7, 7, 512), "(None, 25088)", 0},
		{"dense", &ir.Dense{Units: 10, UseBias: true}, []ir.TensorType{{Shape: ir.Shape{-1, 64}}}, "(None, 10)", 650},
		{"reshape", &ir.Reshape{Target: ir.Shape{-1, 4}}, in(2, 2, 4), "(None, 4, 4)", 0},
		{"permute", &ir.Permute{Dims: []int{3, 1, 2}}, in(2, 5, 7), "(None, 7, 2, 5)", 0},
		{"concat", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, append(in(4, 4, 8), in(4, 4, 8)[0]), "(None, 4, 4, 16)", 0},
		{"add broadcast", &ir.Merge{Mode: ir.MergeAdd}, []ir.TensorType{{Shape: ir.Shape{-1, 4, 1}}, {Shape: ir.Shape{-1, 1, 3}}}, "(None, 4, 3)", 0},
		{"crop", &ir.Cropping2D{Crops: [4]int{1, 2, 0, 1}, DataFormat: ir.ChannelsLast}, in(8, 8, 1), "(None, 5, 7, 1)", 0},
		{"upsample", &ir.UpSampling2D{SH: 2, SW: 3, DataFormat: ir.ChannelsLast}, in(2, 2, 1), "(None, 4, 6, 1)", 0},
		{"prelu shared", &ir.PReLU{SharedAxes: []int{1, 2}}, in(5, 5, 3), "(None, 5, 5, 3)", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := c.op.Infer(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if out.Shape.String() != c.want {
				t.Errorf("shape %s, want %s", out.Shape, c.want)
			}
			var p int64
			for _, s := range c.op.Weights(c.in) {
				p += s.Shape.Elements()
			}
			if p != c.params {
				t.Errorf("params %d, want %d", p, c.params)
			}
		})
	}
}

func TestValidationErrorsNameTheLayer(t *testing.T) {
	cases := []struct {
		name  string
		build func() (*ir.Model, error)
		want  string
	}{
		{"bad strides", func() (*ir.Model, error) {
			b := ir.NewBuilder("m")
			b.Input("in", ir.Shape{8, 8, 3}, ir.ChannelsLast)
			b.Add("conv_bad", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 3, KW: 3}})
			return b.Build()
		}, "layer 'conv_bad': strides"},
		{"huge dense", func() (*ir.Model, error) {
			b := ir.NewBuilder("m")
			b.Input("in", ir.Shape{8}, ir.LayoutNone)
			b.Add("big", &ir.Dense{Units: 1e12})
			return b.Build()
		}, "layer 'big': units"},
		{"cycle", func() (*ir.Model, error) {
			m := &ir.Model{Name: "m", Inputs: []string{"in"}, Outputs: []string{"b"}}
			m.Nodes = []*ir.Node{
				{Name: "in", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, 4}}}},
				{Name: "a", Op: &ir.Merge{Mode: ir.MergeAdd}, Inputs: []string{"in", "b"}},
				{Name: "b", Op: &ir.Activation{Act: ir.Act{Name: "relu"}}, Inputs: []string{"a"}},
			}
			return m, ir.Prepare(m)
		}, "cycle"},
		{"undefined input", func() (*ir.Model, error) {
			m := &ir.Model{Name: "m", Inputs: []string{"in"}, Outputs: []string{"a"}}
			m.Nodes = []*ir.Node{
				{Name: "in", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, 4}}}},
				{Name: "a", Op: &ir.Activation{}, Inputs: []string{"ghost"}},
			}
			return m, ir.Prepare(m)
		}, "layer 'a': input 'ghost'"},
		{"wrong weight shape", func() (*ir.Model, error) {
			b := ir.NewBuilder("m")
			b.Input("in", ir.Shape{4}, ir.LayoutNone)
			b.Add("fc", &ir.Dense{Units: 2, UseBias: true})
			b.SetWeights("fc", make([]float32, 8), make([]float32, 3))
			return b.Build()
		}, "layer 'fc': weight bias"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.build()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			var le *ir.LayerError
			if c.name != "huge dense" && !errors.As(err, &le) && !strings.Contains(err.Error(), "layer") {
				t.Errorf("error does not name a layer: %v", err)
			}
		})
	}
}

// ExampleBuilder builds a small functional model with a residual
// connection and prints its summary facts.
func ExampleBuilder() {
	b := ir.NewBuilder("tiny_resnet")
	x := b.Input("image", ir.Shape{8, 8, 3}, ir.ChannelsLast)
	c1 := b.Add("conv_a", &ir.Conv2D{Filters: 3, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}, UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: ir.ChannelsLast}, x)
	sum := b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, x, c1)
	b.Add("pool", &ir.GlobalPool2D{DataFormat: ir.ChannelsLast}, sum)
	b.Add("logits", &ir.Dense{Units: 2, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	m, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range m.Nodes {
		t, _ := n.Params()
		fmt.Printf("%-7s %-22s %-18v %d\n", n.Name, n.Class, n.Out.Shape, t)
	}
	// Output:
	// image   InputLayer             (None, 8, 8, 3)    0
	// conv_a  Conv2D                 (None, 8, 8, 3)    84
	// add     Add                    (None, 8, 8, 3)    0
	// pool    GlobalAveragePooling2D (None, 3)          0
	// logits  Dense                  (None, 2)          8
}
