package onnx_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
	"github.com/kconv/kconv/zoo"
)

// tinyVGG mirrors the builtin VGG16 (channels-first input, vgg_preprocess
// Lambda, ZeroPadding2D + 3×3 relu convolutions, 2×2 max pooling, Flatten,
// Dense relu, Dropout, Dense softmax) at a tiny size.
func tinyVGG(t testing.TB) *ir.Model {
	t.Helper()
	const df = ir.ChannelsFirst
	b := ir.NewBuilder("tiny_vgg")
	b.Input("lambda_input_1", ir.Shape{3, 32, 32}, df)
	b.Add("lambda_1", &ir.Lambda{Function: "vgg_preprocess", OutputShape: ir.Shape{3, 32, 32}})
	conv, pool := 0, 0
	for _, block := range []struct{ layers, filters int }{{2, 4}, {2, 8}, {3, 8}} {
		for i := 0; i < block.layers; i++ {
			conv++
			b.Add(fmt.Sprintf("zeropadding2d_%d", conv), &ir.ZeroPadding2D{Pads: [4]int{1, 1, 1, 1}, DataFormat: df})
			b.AddClass(fmt.Sprintf("convolution2d_%d", conv), "Convolution2D", &ir.Conv2D{
				Filters: block.filters, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1},
				UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df,
			})
		}
		pool++
		b.Add(fmt.Sprintf("maxpooling2d_%d", pool), &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: df})
	}
	b.Add("flatten_1", &ir.Flatten{})
	b.Add("dense_1", &ir.Dense{Units: 32, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("dropout_1", &ir.Dropout{Rate: 0.5})
	b.Add("dense_2", &ir.Dense{Units: 32, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("dropout_2", &ir.Dropout{Rate: 0.5})
	b.Add("dense_3", &ir.Dense{Units: 10, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	return built(t, b, 11)
}

func built(t testing.TB, b *ir.Builder, seed uint64, outputs ...string) *ir.Model {
	t.Helper()
	m, err := b.Build(outputs...)
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, seed)
	return m
}

func same(k, s int) ir.Window2D { return ir.Window2D{KH: k, KW: k, SH: s, SW: s, Padding: ir.PadSame} }

// spatialOps exercises the spatial ops in layout df: depthwise, separable and
// transposed convolutions, BN, PReLU, pooling with "same" padding,
// upsampling, cropping, merges and concatenation, global pooling.
func spatialOps(t testing.TB, df ir.Layout) *ir.Model {
	t.Helper()
	b := ir.NewBuilder("spatial_ops")
	shape := ir.Shape{13, 12, 3}
	if df == ir.ChannelsFirst {
		shape = ir.Shape{3, 13, 12}
	}
	chAxis := -1
	if df == ir.ChannelsFirst {
		chAxis = 1
	}
	x := b.Input("image", shape, df)
	c1 := b.Add("conv", &ir.Conv2D{Filters: 6, Window2D: ir.Window2D{KH: 3, KW: 2, SH: 2, SW: 1, Padding: ir.PadSame}, UseBias: true, Activation: ir.Act{Name: "relu", HasMax: true, MaxValue: 0.4}, DataFormat: df}, x)
	bn := b.Add("bn", &ir.BatchNorm{Axis: chAxis, Epsilon: 1e-3, Center: true, Scale: true}, c1)
	dw := b.Add("depthwise", &ir.DepthwiseConv2D{Multiplier: 2, Window2D: same(3, 1), UseBias: true, Activation: ir.Act{Name: "elu", Alpha: 1}, DataFormat: df}, bn)
	sep := b.Add("separable", &ir.SeparableConv2D{Filters: 6, Multiplier: 1, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, DH: 2, DW: 2, Padding: ir.PadSame}, UseBias: true, Activation: ir.Act{Name: "swish"}, DataFormat: df}, bn)
	grp := b.Add("grouped", &ir.Conv2D{Filters: 12, Groups: 3, Window2D: same(1, 1), UseBias: false, DataFormat: df}, dw)
	pr := b.Add("prelu", &ir.PReLU{SharedAxes: sharedSpatial(df)}, sep)
	mul := b.Add("multiply", &ir.Merge{Mode: ir.MergeMultiply}, pr, sep, bn)
	avg := b.Add("average", &ir.Merge{Mode: ir.MergeAverage}, mul, bn)
	sub := b.Add("subtract", &ir.Merge{Mode: ir.MergeSubtract}, avg, pr)
	mx := b.Add("maximum", &ir.Merge{Mode: ir.MergeMaximum}, sub, avg, mul)
	mn := b.Add("minimum", &ir.Merge{Mode: ir.MergeMinimum}, mx, pr)
	add := b.Add("add3", &ir.Merge{Mode: ir.MergeAdd}, mn, sub, mx)
	cat := b.Add("concat", &ir.Merge{Mode: ir.MergeConcat, Axis: chAxis}, add, grp)
	ap := b.Add("avgpool", &ir.Pool2D{Window2D: same(3, 2), DataFormat: df}, cat)
	up := b.Add("upsample", &ir.UpSampling2D{SH: 2, SW: 3, Interpolation: "bilinear", DataFormat: df}, ap)
	crop := b.Add("crop", &ir.Cropping2D{Crops: [4]int{1, 0, 2, 1}, DataFormat: df}, up)
	upn := b.Add("upsample_nearest", &ir.UpSampling2D{SH: 2, SW: 2, Interpolation: "nearest", DataFormat: df}, crop)
	pad := b.Add("pad", &ir.ZeroPadding2D{Pads: [4]int{0, 1, 2, 0}, DataFormat: df}, upn)
	mp := b.Add("maxpool", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2}, DataFormat: df}, pad)
	de := b.Add("deconv", &ir.Conv2DTranspose{Filters: 5, Window2D: same(3, 2), UseBias: true, Activation: ir.Act{Name: "leaky_relu", Alpha: 0.2}, DataFormat: df}, mp)
	dv := b.Add("deconv_valid", &ir.Conv2DTranspose{Filters: 4, Window2D: ir.Window2D{KH: 2, KW: 3, SH: 3, SW: 2}, UseBias: true, DataFormat: df}, de)
	gp := b.Add("gap", &ir.GlobalPool2D{KeepDims: true, DataFormat: df}, dv)
	gm := b.Add("gmp", &ir.GlobalPool2D{Max: true, DataFormat: df}, dv)
	fl := b.Add("flatten", &ir.Flatten{}, gp)
	cat2 := b.Add("concat_vec", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, fl, gm)
	bn1 := b.Add("bn_vec", &ir.BatchNorm{Axis: -1, Epsilon: 1e-3, Center: true}, cat2)
	b.Add("logits", &ir.Dense{Units: 7, UseBias: true, Activation: ir.Act{Name: "log_softmax", Axis: -1}}, bn1)
	return built(t, b, 5)
}

func sharedSpatial(df ir.Layout) []int {
	if df == ir.ChannelsFirst {
		return []int{2, 3}
	}
	return []int{1, 2}
}

// shapeOps exercises the ops that need Keras's own axis order: Reshape,
// Permute, Dense on a rank-4 value, BN and softmax on a spatial axis,
// Flatten with data_format channels_first, PReLU with a full slope.
func shapeOps(t testing.TB) *ir.Model {
	t.Helper()
	const df = ir.ChannelsLast
	b := ir.NewBuilder("shape_ops")
	x := b.Input("in", ir.Shape{6, 5, 4}, df)
	c := b.Add("conv", &ir.Conv2D{Filters: 6, Window2D: same(3, 1), UseBias: true, DataFormat: df}, x)
	pr := b.Add("prelu_full", &ir.PReLU{}, c)
	bn := b.Add("bn_height", &ir.BatchNorm{Axis: 1, Epsilon: 1e-3, Center: true, Scale: true}, pr)
	sm := b.Add("softmax_width", &ir.Activation{Act: ir.Act{Name: "softmax", Axis: 2}}, bn)
	d := b.Add("dense4", &ir.Dense{Units: 3, UseBias: true, Activation: ir.Act{Name: "tanh"}}, sm)
	p := b.Add("permute", &ir.Permute{Dims: []int{3, 1, 2}}, d)
	r := b.Add("reshape", &ir.Reshape{Target: ir.Shape{5, 6, -1}}, p)
	r4 := b.Add("reshape4", &ir.Reshape{Target: ir.Shape{5, 3, 6}}, r)
	f := b.Add("flatten_cf", &ir.Flatten{ChannelsFirst: true}, r4)
	cf := b.Add("conv_cf", &ir.Conv2D{Filters: 2, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 1, SW: 1}, UseBias: true, DataFormat: ir.ChannelsFirst}, c)
	f2 := b.Add("flatten_2", &ir.Flatten{}, cf)
	// Squeeze-and-excitation: (N,1,1,C) broadcast against (N,H,W,C).
	g := b.Add("se_pool", &ir.GlobalPool2D{DataFormat: df}, c)
	e := b.Add("se_dense", &ir.Dense{Units: 6, UseBias: true, Activation: ir.Act{Name: "sigmoid"}}, g)
	r11 := b.Add("se_reshape", &ir.Reshape{Target: ir.Shape{1, 1, 6}}, e)
	se := b.Add("se_scale", &ir.Merge{Mode: ir.MergeMultiply}, c, r11)
	sp := b.Add("se_out", &ir.Pool2D{Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: df}, se)
	f3 := b.Add("flatten_3", &ir.Flatten{}, sp)
	cat := b.Add("cat", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, f, f2, f3)
	b.Add("out", &ir.Dense{Units: 4, UseBias: true}, cat)
	return built(t, b, 9)
}

// activations applies every activation to a small dense layer's output.
func activations(t testing.TB) *ir.Model {
	t.Helper()
	b := ir.NewBuilder("activations")
	x := b.Input("in", ir.Shape{6}, ir.LayoutNone)
	h := b.Add("dense", &ir.Dense{Units: 16, UseBias: true}, x)
	acts := []ir.Act{
		{Name: "relu"}, {Name: "relu", Alpha: 0.1}, {Name: "relu", HasMax: true, MaxValue: 0.5},
		{Name: "relu", Alpha: 0.2, Threshold: 0.1, HasMax: true, MaxValue: 0.6}, {Name: "relu", Threshold: -0.2},
		{Name: "relu6"}, {Name: "leaky_relu", Alpha: 0.3}, {Name: "sigmoid"}, {Name: "tanh"},
		{Name: "elu", Alpha: 0.7}, {Name: "selu"}, {Name: "softplus"}, {Name: "softsign"},
		{Name: "hard_sigmoid", Alpha: 0.2, Beta: 0.5}, {Name: "hard_sigmoid", Alpha: 1.0 / 6, Beta: 0.5},
		{Name: "hard_swish"}, {Name: "swish"}, {Name: "gelu"}, {Name: "gelu", Approximate: true},
		{Name: "exponential"}, {Name: "mish"}, {Name: "linear"},
	}
	var outs []string
	for i, a := range acts {
		scale := b.Add(fmt.Sprintf("scale_%d", i), &ir.Dense{Units: 16, UseBias: true}, h)
		outs = append(outs, b.Add(fmt.Sprintf("act_%d_%s", i, a.Name), &ir.Activation{Act: a}, scale))
	}
	cat := b.Add("cat", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, outs...)
	b.Add("softmax", &ir.Activation{Act: ir.Act{Name: "softmax", Axis: -1}}, cat)
	return built(t, b, 3)
}

var (
	kerasTD = filepath.Join("..", "..", "importer", "keras", "testdata")
	execTD  = filepath.Join("..", "..", "exec", "testdata")
)

// fixtures are Keras files of the repository, channels-last unless noted.
var fixtures = []struct{ name, path string }{
	{"cifar_small", filepath.Join(kerasTD, "cifar_small.h5")},
	{"resnet_block", filepath.Join(kerasTD, "resnet_block.h5")}, // BN, residual Add, Concatenate, ReLU layers
	{"bn_net", filepath.Join(execTD, "bn_net.h5")},              // BN, average pooling, LeakyReLU, global pooling
	{"vgg16_mini", filepath.Join(execTD, "vgg16_mini.h5")},      // vgg_preprocess Lambda, ZeroPadding2D
	{"pad_crop_up", filepath.Join(kerasTD, "27_k2_tfkeras_cnn2d_pad_crop_up.h5")},
	{"theano_reshape", filepath.Join(kerasTD, "14_k2_theano_conv2d_reshape.h5")}, // channels-first, Reshape
	{"k2_batch_norm", filepath.Join(kerasTD, "16_k2_cnn_batch_norm.h5")},
	{"k1_cnn", filepath.Join(kerasTD, "01_k1_cnn_tf_model.h5")},
}

func loadFixture(t testing.TB, path string) *ir.Model {
	t.Helper()
	m, err := load.Model(path, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadWeights(); err != nil {
		t.Fatal(err)
	}
	return m
}
