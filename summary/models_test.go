package summary

import (
	"testing"

	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// Hand-built IR twins of the Keras 3.16 fixtures in
// shared/fixtures/keras3 (names, classes, shapes and parameters as in their
// .json and .summary.txt), until the Keras importer can read them.

const cl = ir.ChannelsLast

func conv(filters, k, stride int, pad ir.Padding, bias bool, act string) *ir.Conv2D {
	return &ir.Conv2D{
		Filters:    filters,
		Window2D:   ir.Window2D{KH: k, KW: k, SH: stride, SW: stride, Padding: pad},
		UseBias:    bias,
		Activation: ir.Act{Name: ir.ActName(act)},
		DataFormat: cl,
	}
}

func pool(max bool, k, stride int, pad ir.Padding) *ir.Pool2D {
	return &ir.Pool2D{Max: max, Window2D: ir.Window2D{KH: k, KW: k, SH: stride, SW: stride, Padding: pad}, DataFormat: cl}
}

func bn() *ir.BatchNorm { return &ir.BatchNorm{Axis: -1, Epsilon: 1e-3, Center: true, Scale: true} }

func finish(t testing.TB, b *ir.Builder, sequential bool, outputs ...string) *ir.Model {
	t.Helper()
	m, err := b.Build(outputs...)
	if err != nil {
		t.Fatal(err)
	}
	m.Meta = ir.Meta{Format: "go", KerasVersion: "3.16.0", Backend: "torch", Sequential: sequential}
	return m
}

// cifarSmall mirrors fixtures/keras3/cifar_small (Sequential).
func cifarSmall(t testing.TB) *ir.Model {
	b := ir.NewBuilder("sequential_1")
	b.Input("input_layer_2", ir.Shape{32, 32, 3}, cl)
	b.Add("conv2d_1", conv(16, 3, 1, ir.PadSame, true, "relu"))
	b.Add("max_pooling2d", pool(true, 2, 2, ir.PadValid))
	b.Add("conv2d_2", conv(32, 3, 1, ir.PadSame, true, "relu"))
	b.Add("max_pooling2d_1", pool(true, 2, 2, ir.PadValid))
	b.Add("flatten_2", &ir.Flatten{})
	b.Add("dense_2", &ir.Dense{Units: 64, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("dense_3", &ir.Dense{Units: 10, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	return finish(t, b, true)
}

// resnetBlock mirrors fixtures/keras3/resnet_block (functional).
func resnetBlock(t testing.TB) *ir.Model {
	relu := func() *ir.Activation { return &ir.Activation{Act: ir.Act{Name: "relu"}} }
	b := ir.NewBuilder("resnet_block")
	in := b.Input("input_layer_7", ir.Shape{32, 32, 8}, cl)
	b.Add("conv2d_38", conv(16, 3, 1, ir.PadSame, false, "linear"), in)
	b.Add("batch_normalization_2", bn())
	r9 := b.AddClass("re_lu_9", "ReLU", relu())
	b.Add("conv2d_39", conv(16, 3, 1, ir.PadSame, true, "linear"))
	b.Add("batch_normalization_3", bn())
	b.AddClass("re_lu_10", "ReLU", relu())
	c40 := b.Add("conv2d_40", conv(16, 3, 1, ir.PadSame, true, "linear"))
	b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, r9, c40)
	r11 := b.AddClass("re_lu_11", "ReLU", relu())
	c41 := b.Add("conv2d_41", conv(8, 1, 1, ir.PadValid, true, "linear"), r11)
	c42 := b.Add("conv2d_42", conv(8, 3, 1, ir.PadSame, true, "linear"), r11)
	mp := b.Add("max_pooling2d_15", pool(true, 3, 1, ir.PadSame), r11)
	b.Add("concatenate", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, c41, c42, mp)
	b.Add("global_max_pooling2d", &ir.GlobalPool2D{Max: true, DataFormat: cl})
	b.Add("dense_14", &ir.Dense{Units: 10, UseBias: true})
	b.AddClass("softmax", "Softmax", &ir.Activation{Act: ir.Act{Name: "softmax", Axis: -1}})
	return finish(t, b, false)
}

// bnNet mirrors fixtures/keras3/bn_net (Sequential; a wrapped name cell).
func bnNet(t testing.TB) *ir.Model {
	b := ir.NewBuilder("sequential_5")
	b.Input("input_layer_6", ir.Shape{48, 48, 3}, cl)
	b.Add("conv2d_35", conv(16, 3, 1, ir.PadSame, true, "linear"))
	b.Add("batch_normalization", bn())
	b.Add("activation_1", &ir.Activation{Act: ir.Act{Name: "relu"}})
	b.Add("average_pooling2d", pool(false, 2, 2, ir.PadValid))
	b.Add("conv2d_36", conv(32, 3, 2, ir.PadSame, false, "linear"))
	b.Add("batch_normalization_1", bn())
	b.AddClass("re_lu_8", "ReLU", &ir.Activation{Act: ir.Act{Name: "relu"}})
	b.Add("conv2d_37", conv(32, 5, 1, ir.PadValid, true, "linear"))
	b.AddClass("leaky_re_lu", "LeakyReLU", &ir.Activation{Act: ir.Act{Name: "leaky_relu", Alpha: 0.1}})
	b.Add("global_average_pooling2d", &ir.GlobalPool2D{DataFormat: cl})
	b.Add("dense_13", &ir.Dense{Units: 10, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	return finish(t, b, true)
}

// activations mirrors fixtures/keras3/activations (functional, one input
// feeding 14 Dense layers concatenated: a long Connected-to cell).
func activations(t testing.TB) *ir.Model {
	b := ir.NewBuilder("activations")
	in := b.Input("input_layer_8", ir.Shape{20}, ir.LayoutNone)
	var outs []string
	for _, a := range []string{"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign", "hard_sigmoid", "swish", "gelu", "relu6", "leaky_relu"} {
		outs = append(outs, b.Add("dense_"+a, &ir.Dense{Units: 6, UseBias: true, Activation: ir.Act{Name: ir.ActName(a), Axis: -1}}, in))
	}
	b.Add("concatenate_1", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, outs...)
	return finish(t, b, false)
}

// vgg16Arch mirrors fixtures/keras3/vgg16_arch (functional but a chain:
// Keras prints it without the Connected-to column, InputLayer shown).
func vgg16Arch(t testing.TB) *ir.Model {
	b := ir.NewBuilder("vgg16")
	b.Input("input_layer_12", ir.Shape{224, 224, 3}, cl)
	for bi, blk := range []struct{ n, f int }{{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}} {
		for i := 1; i <= blk.n; i++ {
			b.Add(blockName(bi+1, "conv", i), conv(blk.f, 3, 1, ir.PadSame, true, "relu"))
		}
		b.Add(blockName(bi+1, "pool", 0), pool(true, 2, 2, ir.PadValid))
	}
	b.Add("flatten", &ir.Flatten{})
	b.Add("fc1", &ir.Dense{Units: 4096, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("fc2", &ir.Dense{Units: 4096, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("predictions", &ir.Dense{Units: 1000, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	return finish(t, b, false)
}

func blockName(block int, kind string, i int) string {
	s := "block" + string(rune('0'+block)) + "_" + kind
	if i > 0 {
		s += string(rune('0' + i))
	}
	return s
}

func vgg16(t testing.TB) *ir.Model {
	t.Helper()
	m, err := zoo.VGG16()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testModels are the models with golden renderings under testdata/.
var testModels = []struct {
	name string
	make func(testing.TB) *ir.Model
	// fixture is the Keras 3.16 summary the Keras3 rendering must equal
	// (under testdata/ or shared/fixtures/keras3/), "" if none.
	fixture string
}{
	{"vgg16", vgg16, ""},
	{"cifar_small", cifarSmall, "cifar_small.summary.txt"},
	{"resnet_block", resnetBlock, "resnet_block.summary.txt"},
	{"bn_net", bnNet, "bn_net.summary.txt"},
	{"activations", activations, "activations.summary.txt"},
	{"vgg16_arch", vgg16Arch, "vgg16_arch.summary.txt"},
}
