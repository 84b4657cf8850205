package zoo

import (
	"fmt"
	"strings"

	"github.com/kconv/kconv/ir"
)

// AppConfig are keras.applications' constructor arguments.
type AppConfig struct {
	// IncludeTop keeps the classifier (include_top=True).
	IncludeTop bool
	// Pooling is "", "avg" or "max": the global pooling of a model without
	// its top (Keras's pooling argument). Ignored with IncludeTop.
	Pooling string
	// Classes is the classifier's size (default 1000).
	Classes int
	// Height and Width are the input size; 0 means the application's
	// default size (224, or 299 for InceptionV3 and Xception). Unlike Keras,
	// which leaves the size of a model without top as None×None, kconv uses
	// the default size then too, so that the model can run as built.
	Height, Width int
	// Theano builds the Theano-ordering variant of keras.applications'
	// "th_dim_ordering_th_kernels" files: channels-first, Keras 1
	// Convolution2D layers whose kernels files store as (out, in, rows,
	// cols). Only applications that had such files (and whose layers Keras 1
	// had) offer it; see App.Theano.
	Theano bool
}

// App describes one keras.applications architecture.
type App struct {
	// Name is the builtin name ("resnet50"); Keras is its keras.applications
	// function ("ResNet50").
	Name, Keras string
	// Legacy names the Keras versions whose code an older variant follows
	// ("" for the current code).
	Legacy string
	// Size is the default input height and width.
	Size int
	// Preprocess is keras.applications' preprocess_input mode: "caffe"
	// (RGB→BGR, minus the ImageNet BGR means), "tf" (x/127.5 − 1) or
	// "torch" (x/255, minus the ImageNet means, over the deviations).
	Preprocess string
	// Theano reports whether the Theano-ordering variant exists: for the
	// applications keras.applications shipped th_dim_ordering_th_kernels
	// files for (VGG16, VGG19, ResNet50). ResNet50's were written by its
	// Keras 1 code, whose layer names resnet50_legacy has.
	Theano bool
	// Params are Keras's documented total parameter counts with the top
	// (1000 classes, default size) and without it.
	Params, ParamsNoTop int64

	build func(n *net, cfg AppConfig)
}

// Apps lists the keras.applications builtins.
func Apps() []App { return apps }

var apps = []App{
	{Name: "vgg16_keras", Keras: "VGG16", Size: 224, Preprocess: "caffe", Theano: true, Params: 138357544, ParamsNoTop: 14714688, build: vggBuild([]int{2, 2, 3, 3, 3})},
	{Name: "vgg19", Keras: "VGG19", Size: 224, Preprocess: "caffe", Theano: true, Params: 143667240, ParamsNoTop: 20024384, build: vggBuild([]int{2, 2, 4, 4, 4})},
	{Name: "resnet50", Keras: "ResNet50", Size: 224, Preprocess: "caffe", Theano: true, Params: 25636712, ParamsNoTop: 23587712, build: resnet50},
	{Name: "resnet50_legacy", Keras: "ResNet50", Legacy: "Keras <= 2.2.4", Size: 224, Preprocess: "caffe", Theano: true, Params: 25636712, ParamsNoTop: 23587712, build: resnet50Legacy},
	{Name: "mobilenet", Keras: "MobileNet", Size: 224, Preprocess: "tf", Params: 4253864, ParamsNoTop: 3228864, build: mobilenet},
	{Name: "mobilenet_v2", Keras: "MobileNetV2", Size: 224, Preprocess: "tf", Params: 3538984, ParamsNoTop: 2257984, build: mobilenetV2},
	{Name: "densenet121", Keras: "DenseNet121", Size: 224, Preprocess: "torch", Params: 8062504, ParamsNoTop: 7037504, build: densenet121},
	{Name: "inception_v3", Keras: "InceptionV3", Size: 299, Preprocess: "tf", Params: 23851784, ParamsNoTop: 21802784, build: inceptionV3},
	{Name: "xception", Keras: "Xception", Size: 299, Preprocess: "tf", Params: 22910480, ParamsNoTop: 20861480, build: xception},
}

// LookupApp returns the keras.applications builtin called name.
func LookupApp(name string) (App, bool) {
	for _, a := range apps {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}

// variant suffixes of builtin names, in the order they are written.
const (
	sufNoTop = "_notop"
	sufAvg   = "_avg"
	sufMax   = "_max"
	sufTh    = "_th"
)

// ParseVariant splits a builtin name such as "resnet50_notop_th" into its
// application and configuration: "_notop" drops the top, "_avg" and "_max"
// drop it and add global pooling, "_th" selects Theano ordering.
func ParseVariant(name string) (App, AppConfig, bool) {
	cfg := AppConfig{IncludeTop: true}
	base := name
	if b, ok := strings.CutSuffix(base, sufTh); ok {
		base, cfg.Theano = b, true
	}
	for suf, pool := range map[string]string{sufNoTop: "", sufAvg: "avg", sufMax: "max"} {
		if b, ok := strings.CutSuffix(base, suf); ok {
			base, cfg.IncludeTop, cfg.Pooling = b, false, pool
			break
		}
	}
	a, ok := LookupApp(base)
	return a, cfg, ok
}

// VariantName is the builtin name of an application in a configuration
// (input size and class count are not part of the name).
func VariantName(a App, cfg AppConfig) string {
	s := a.Name
	if !cfg.IncludeTop {
		switch cfg.Pooling {
		case "avg":
			s += sufAvg
		case "max":
			s += sufMax
		default:
			s += sufNoTop
		}
	}
	if cfg.Theano {
		s += sufTh
	}
	return s
}

// Build makes the application's architecture (without weights) as
// keras.applications builds it: the same layer names, classes, shapes and
// parameter counts. Layers Keras names automatically get Keras 3's names
// ("conv2d", "conv2d_1", …); the input is "input_layer".
func (a App) Build(cfg AppConfig) (*ir.Model, error) {
	if cfg.Classes == 0 {
		cfg.Classes = 1000
	}
	if cfg.Height == 0 {
		cfg.Height = a.Size
	}
	if cfg.Width == 0 {
		cfg.Width = a.Size
	}
	if cfg.Classes < 1 || cfg.Height < 1 || cfg.Width < 1 {
		return nil, fmt.Errorf("%s: classes %d and input %dx%d must be positive", a.Name, cfg.Classes, cfg.Height, cfg.Width)
	}
	switch cfg.Pooling {
	case "", "avg", "max":
	default:
		return nil, fmt.Errorf("%s: pooling must be avg or max, not %q", a.Name, cfg.Pooling)
	}
	if cfg.Theano && !a.Theano {
		return nil, fmt.Errorf("%s: keras.applications has no Theano-ordering variant of %s", a.Name, a.Keras)
	}
	df := ir.ChannelsLast
	if cfg.Theano {
		df = ir.ChannelsFirst
	}
	// Keras's model names.
	name := map[string]string{"InceptionV3": "inception_v3"}[a.Keras]
	switch {
	case name != "":
	case a.Keras == "MobileNet" || a.Keras == "MobileNetV2":
		name = fmt.Sprintf("%s_1.00_%d", strings.ToLower(a.Keras), cfg.Height)
	default:
		name = strings.ToLower(a.Keras)
	}
	n := newNet(name, df, cfg.Theano)
	n.input("input_layer", 3, cfg.Height, cfg.Width)
	a.build(n, cfg)
	m, err := n.build()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", a.Name, err)
	}
	m.Meta = ir.Meta{Format: "builtin", KerasVersion: "3", Backend: "tensorflow", Source: VariantName(a, cfg), Preprocess: a.Preprocess}
	if cfg.Theano {
		m.Meta.KerasVersion, m.Meta.Backend = "1.2.2", "theano"
	}
	return m, nil
}

// top adds the pooling of a model without its top (names as given).
func top(n *net, cfg AppConfig, avgName, maxName string) {
	switch cfg.Pooling {
	case "avg":
		n.global(avgName, false, false)
	case "max":
		n.global(maxName, true, false)
	}
}

func vggBuild(convs []int) func(*net, AppConfig) {
	return func(n *net, cfg AppConfig) {
		filters := []int{64, 128, 256, 512, 512}
		for b, k := range convs {
			for i := 1; i <= k; i++ {
				n.conv(fmt.Sprintf("block%d_conv%d", b+1, i), filters[b], 3, 3, 1, 1, true, true, "relu")
			}
			n.pool(fmt.Sprintf("block%d_pool", b+1), true, 2, 2, false)
		}
		if cfg.IncludeTop {
			n.add("flatten", "", &ir.Flatten{})
			n.dense("fc1", 4096, "relu")
			n.dense("fc2", 4096, "relu")
			n.dense("predictions", cfg.Classes, "softmax")
			return
		}
		top(n, cfg, "", "")
	}
}

// resnet50 follows keras.applications.resnet (ResNet50: stack1 blocks
// 3, 4, 6, 3; convolutions with biases, batch norms with epsilon 1.001e-5).
func resnet50(n *net, cfg AppConfig) {
	const eps = 1.001e-5
	n.pad("conv1_pad", 3, 3, 3, 3)
	n.conv("conv1_conv", 64, 7, 7, 2, 2, false, true, "")
	n.bn("conv1_bn", eps, true)
	n.relu("conv1_relu")
	n.pad("pool1_pad", 1, 1, 1, 1)
	x := n.pool("pool1_pool", true, 3, 2, false)
	block := func(x string, filters, stride int, shortcut bool, name string) string {
		sc := x
		if shortcut {
			n.conv(name+"_0_conv", 4*filters, 1, 1, stride, stride, false, true, "", x)
			sc = n.bn(name+"_0_bn", eps, true)
		}
		n.conv(name+"_1_conv", filters, 1, 1, stride, stride, false, true, "", x)
		n.bn(name+"_1_bn", eps, true)
		n.relu(name + "_1_relu")
		n.conv(name+"_2_conv", filters, 3, 3, 1, 1, true, true, "")
		n.bn(name+"_2_bn", eps, true)
		n.relu(name + "_2_relu")
		n.conv(name+"_3_conv", 4*filters, 1, 1, 1, 1, false, true, "")
		y := n.bn(name+"_3_bn", eps, true)
		n.addMerge(name+"_add", sc, y)
		return n.relu(name + "_out")
	}
	for s, st := range []struct{ filters, blocks, stride int }{{64, 3, 1}, {128, 4, 2}, {256, 6, 2}, {512, 3, 2}} {
		name := fmt.Sprintf("conv%d", s+2)
		x = block(x, st.filters, st.stride, true, name+"_block1")
		for i := 2; i <= st.blocks; i++ {
			x = block(x, st.filters, 1, false, fmt.Sprintf("%s_block%d", name, i))
		}
	}
	if cfg.IncludeTop {
		n.global("avg_pool", false, false)
		n.dense("predictions", cfg.Classes, "softmax")
		return
	}
	top(n, cfg, "avg_pool", "max_pool")
}

// resnet50Legacy follows keras.applications' ResNet50 up to Keras 2.2.4
// (keras/applications/resnet50.py, whose weight files keras.applications
// used until then, and whose Keras 1 ancestor wrote the Theano files):
// layers conv1, bn_conv1, res2a_branch2a, bn2a_branch2a, …, fc1000; batch
// norms with Keras's default epsilon 1e-3.
func resnet50Legacy(n *net, cfg AppConfig) {
	const eps = 1e-3
	n.pad("conv1_pad", 3, 3, 3, 3)
	n.conv("conv1", 64, 7, 7, 2, 2, false, true, "")
	n.bn("bn_conv1", eps, true)
	n.relu("")
	n.pad("pool1_pad", 1, 1, 1, 1)
	x := n.pool("", true, 3, 2, false)
	block := func(x string, k int, f [3]int, stage int, b string, stride int, shortcut bool) string {
		conv := fmt.Sprintf("res%d%s_branch", stage, b)
		bnn := fmt.Sprintf("bn%d%s_branch", stage, b)
		n.conv(conv+"2a", f[0], 1, 1, stride, stride, false, true, "", x)
		n.bn(bnn+"2a", eps, true)
		n.relu("")
		n.conv(conv+"2b", f[1], k, k, 1, 1, true, true, "")
		n.bn(bnn+"2b", eps, true)
		n.relu("")
		n.conv(conv+"2c", f[2], 1, 1, 1, 1, false, true, "")
		y := n.bn(bnn+"2c", eps, true)
		sc := x
		if shortcut {
			n.conv(conv+"1", f[2], 1, 1, stride, stride, false, true, "", x)
			sc = n.bn(bnn+"1", eps, true)
		}
		n.addMerge("", y, sc)
		return n.relu("")
	}
	for i, st := range []struct {
		f      [3]int
		blocks string
		stride int
	}{{[3]int{64, 64, 256}, "abc", 1}, {[3]int{128, 128, 512}, "abcd", 2}, {[3]int{256, 256, 1024}, "abcdef", 2}, {[3]int{512, 512, 2048}, "abc", 2}} {
		for j, b := range st.blocks {
			if j == 0 {
				x = block(x, 3, st.f, i+2, string(b), st.stride, true)
			} else {
				x = block(x, 3, st.f, i+2, string(b), 1, false)
			}
		}
	}
	if cfg.IncludeTop {
		n.global("avg_pool", false, false)
		n.dense("fc1000", cfg.Classes, "softmax")
		return
	}
	top(n, cfg, "", "")
}

// mobilenet follows keras.applications.mobilenet (alpha 1, depth
// multiplier 1; batch norms with Keras's default epsilon 1e-3).
func mobilenet(n *net, cfg AppConfig) {
	const eps = 1e-3
	n.conv("conv1", 32, 3, 3, 2, 2, true, false, "")
	n.bn("conv1_bn", eps, true)
	n.relu6("conv1_relu")
	blocks := []struct{ filters, stride int }{
		{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
		{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1},
	}
	for i, b := range blocks {
		id := i + 1
		same := true
		if b.stride == 2 {
			n.pad(fmt.Sprintf("conv_pad_%d", id), 0, 1, 0, 1)
			same = false
		}
		p := ir.PadValid
		if same {
			p = ir.PadSame
		}
		n.add(fmt.Sprintf("conv_dw_%d", id), "", &ir.DepthwiseConv2D{Multiplier: 1, Window2D: ir.Window2D{KH: 3, KW: 3, SH: b.stride, SW: b.stride, Padding: p}, DataFormat: n.df})
		n.bn(fmt.Sprintf("conv_dw_%d_bn", id), eps, true)
		n.relu6(fmt.Sprintf("conv_dw_%d_relu", id))
		n.conv(fmt.Sprintf("conv_pw_%d", id), b.filters, 1, 1, 1, 1, true, false, "")
		n.bn(fmt.Sprintf("conv_pw_%d_bn", id), eps, true)
		n.relu6(fmt.Sprintf("conv_pw_%d_relu", id))
	}
	if cfg.IncludeTop {
		n.global("", false, true)
		n.add("dropout", "", &ir.Dropout{Rate: 1e-3})
		n.conv("conv_preds", cfg.Classes, 1, 1, 1, 1, true, true, "")
		n.add("reshape_2", "", &ir.Reshape{Target: ir.Shape{cfg.Classes}})
		n.add("predictions", "", &ir.Activation{Act: ir.Act{Name: "softmax", Axis: -1}})
		return
	}
	top(n, cfg, "", "")
}

// mobilenetV2 follows keras.applications.mobilenet_v2 (alpha 1).
func mobilenetV2(n *net, cfg AppConfig) {
	const eps = 1e-3
	n.conv("Conv1", 32, 3, 3, 2, 2, true, false, "")
	n.bn("bn_Conv1", eps, true)
	x := n.relu6("Conv1_relu")
	block := func(x string, expansion, stride, filters, id int) string {
		in := n.channels(x)
		prefix := fmt.Sprintf("block_%d_", id)
		y := x
		if id > 0 {
			n.conv(prefix+"expand", expansion*in, 1, 1, 1, 1, true, false, "", y)
			n.bn(prefix+"expand_BN", eps, true)
			y = n.relu6(prefix + "expand_relu")
		} else {
			prefix = "expanded_conv_"
		}
		p := ir.PadSame
		if stride == 2 {
			h, w := n.hw(y)
			// imagenet_utils.correct_pad for a 3×3 kernel.
			n.pad(prefix+"pad", 1-(1-h%2), 1, 1-(1-w%2), 1, y)
			p = ir.PadValid
		}
		n.add(prefix+"depthwise", "", &ir.DepthwiseConv2D{Multiplier: 1, Window2D: ir.Window2D{KH: 3, KW: 3, SH: stride, SW: stride, Padding: p}, DataFormat: n.df})
		n.bn(prefix+"depthwise_BN", eps, true)
		n.relu6(prefix + "depthwise_relu")
		n.conv(prefix+"project", filters, 1, 1, 1, 1, true, false, "")
		out := n.bn(prefix+"project_BN", eps, true)
		if in == filters && stride == 1 {
			return n.addMerge(prefix+"add", x, out)
		}
		return out
	}
	for i, b := range []struct{ filters, stride, expansion int }{
		{16, 1, 1}, {24, 2, 6}, {24, 1, 6}, {32, 2, 6}, {32, 1, 6}, {32, 1, 6},
		{64, 2, 6}, {64, 1, 6}, {64, 1, 6}, {64, 1, 6}, {96, 1, 6}, {96, 1, 6}, {96, 1, 6},
		{160, 2, 6}, {160, 1, 6}, {160, 1, 6}, {320, 1, 6},
	} {
		x = block(x, b.expansion, b.stride, b.filters, i)
	}
	n.conv("Conv_1", 1280, 1, 1, 1, 1, false, false, "", x)
	n.bn("Conv_1_bn", eps, true)
	n.relu6("out_relu")
	if cfg.IncludeTop {
		n.global("", false, false)
		n.dense("predictions", cfg.Classes, "softmax")
		return
	}
	top(n, cfg, "", "")
}

// densenet121 follows keras.applications.densenet (blocks 6, 12, 24, 16;
// growth rate 32; Keras 3's layer names, which use "_" where Keras 2's had
// "/").
func densenet121(n *net, cfg AppConfig) {
	const eps = 1.001e-5
	n.pad("", 3, 3, 3, 3)
	n.conv("conv1_conv", 64, 7, 7, 2, 2, false, false, "")
	n.bn("conv1_bn", eps, true)
	n.relu("conv1_relu")
	n.pad("", 1, 1, 1, 1)
	x := n.pool("pool1", true, 3, 2, false)
	for b, blocks := range []int{6, 12, 24, 16} {
		name := fmt.Sprintf("conv%d", b+2)
		for i := 1; i <= blocks; i++ {
			p := fmt.Sprintf("%s_block%d", name, i)
			n.bn(p+"_0_bn", eps, true, x)
			n.relu(p + "_0_relu")
			n.conv(p+"_1_conv", 128, 1, 1, 1, 1, false, false, "")
			n.bn(p+"_1_bn", eps, true)
			n.relu(p + "_1_relu")
			y := n.conv(p+"_2_conv", 32, 3, 3, 1, 1, true, false, "")
			x = n.concat(p+"_concat", x, y)
		}
		if b < 3 {
			p := fmt.Sprintf("pool%d", b+2)
			n.bn(p+"_bn", eps, true, x)
			n.relu(p + "_relu")
			n.conv(p+"_conv", n.channels(x)/2, 1, 1, 1, 1, false, false, "")
			x = n.pool(p+"_pool", false, 2, 2, false)
		}
	}
	n.bn("bn", eps, true, x)
	n.relu("relu")
	if cfg.IncludeTop {
		n.global("avg_pool", false, false)
		n.dense("predictions", cfg.Classes, "softmax")
		return
	}
	top(n, cfg, "avg_pool", "max_pool")
}

// inceptionV3 follows keras.applications.inception_v3: every convolution
// is conv2d_bn (Conv2D without bias, BatchNormalization without scale,
// epsilon 1e-3, ReLU), all automatically named.
func inceptionV3(n *net, cfg AppConfig) {
	cb := func(x string, filters, kh, kw, s int, valid bool) string {
		n.conv("", filters, kh, kw, s, s, !valid, false, "", x)
		n.bn("", 1e-3, false)
		return n.relu("")
	}
	avg := func(x string) string { return n.pool("", false, 3, 1, true, x) }
	x := cb(n.last, 32, 3, 3, 2, true)
	x = cb(x, 32, 3, 3, 1, true)
	cb(x, 64, 3, 3, 1, false) // n.last: the pool reads it
	x = n.pool("", true, 3, 2, false)
	x = cb(x, 80, 1, 1, 1, true)
	cb(x, 192, 3, 3, 1, true) // n.last: the pool reads it
	x = n.pool("", true, 3, 2, false)
	// mixed 0, 1, 2: 35 × 35 × 256/288
	for i, pf := range []int{32, 64, 64} {
		b1 := cb(x, 64, 1, 1, 1, false)
		b5 := cb(x, 48, 1, 1, 1, false)
		b5 = cb(b5, 64, 5, 5, 1, false)
		b3 := cb(x, 64, 1, 1, 1, false)
		b3 = cb(b3, 96, 3, 3, 1, false)
		b3 = cb(b3, 96, 3, 3, 1, false)
		bp := cb(avg(x), pf, 1, 1, 1, false)
		x = n.concat(fmt.Sprintf("mixed%d", i), b1, b5, b3, bp)
	}
	// mixed 3: 17 × 17 × 768
	b3 := cb(x, 384, 3, 3, 2, true)
	bd := cb(x, 64, 1, 1, 1, false)
	bd = cb(bd, 96, 3, 3, 1, false)
	bd = cb(bd, 96, 3, 3, 2, true)
	bp := n.pool("", true, 3, 2, false, x)
	x = n.concat("mixed3", b3, bd, bp)
	// mixed 4–7: 17 × 17 × 768
	for i, c := range []int{128, 160, 160, 192} {
		b1 := cb(x, 192, 1, 1, 1, false)
		b7 := cb(x, c, 1, 1, 1, false)
		b7 = cb(b7, c, 1, 7, 1, false)
		b7 = cb(b7, 192, 7, 1, 1, false)
		bd := cb(x, c, 1, 1, 1, false)
		bd = cb(bd, c, 7, 1, 1, false)
		bd = cb(bd, c, 1, 7, 1, false)
		bd = cb(bd, c, 7, 1, 1, false)
		bd = cb(bd, 192, 1, 7, 1, false)
		bp := cb(avg(x), 192, 1, 1, 1, false)
		x = n.concat(fmt.Sprintf("mixed%d", 4+i), b1, b7, bd, bp)
	}
	// mixed 8: 8 × 8 × 1280
	b3 = cb(x, 192, 1, 1, 1, false)
	b3 = cb(b3, 320, 3, 3, 2, true)
	b7 := cb(x, 192, 1, 1, 1, false)
	b7 = cb(b7, 192, 1, 7, 1, false)
	b7 = cb(b7, 192, 7, 1, 1, false)
	b7 = cb(b7, 192, 3, 3, 2, true)
	bp = n.pool("", true, 3, 2, false, x)
	x = n.concat("mixed8", b3, b7, bp)
	// mixed 9, 10: 8 × 8 × 2048
	for i := 0; i < 2; i++ {
		b1 := cb(x, 320, 1, 1, 1, false)
		b3 := cb(x, 384, 1, 1, 1, false)
		b31 := cb(b3, 384, 1, 3, 1, false)
		b32 := cb(b3, 384, 3, 1, 1, false)
		b3 = n.concat(fmt.Sprintf("mixed9_%d", i), b31, b32)
		bd := cb(x, 448, 1, 1, 1, false)
		bd = cb(bd, 384, 3, 3, 1, false)
		bd1 := cb(bd, 384, 1, 3, 1, false)
		bd2 := cb(bd, 384, 3, 1, 1, false)
		bd = n.concat("", bd1, bd2)
		bp := cb(avg(x), 192, 1, 1, 1, false)
		x = n.concat(fmt.Sprintf("mixed%d", 9+i), b1, b3, bd, bp)
	}
	if cfg.IncludeTop {
		n.global("avg_pool", false, false)
		n.dense("predictions", cfg.Classes, "softmax")
		return
	}
	top(n, cfg, "", "")
}

// xception follows keras.applications.xception (batch norms with Keras's
// default epsilon 1e-3; residual branches automatically named).
func xception(n *net, cfg AppConfig) {
	const eps = 1e-3
	sep := func(name string, filters int, ins ...string) string {
		return n.add(name, "", &ir.SeparableConv2D{Filters: filters, Multiplier: 1, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}, DataFormat: n.df}, ins...)
	}
	residual := func(x string, filters int) string {
		n.conv("", filters, 1, 1, 2, 2, true, false, "", x)
		return n.bn("", eps, true)
	}
	n.conv("block1_conv1", 32, 3, 3, 2, 2, false, false, "")
	n.bn("block1_conv1_bn", eps, true)
	n.relu("block1_conv1_act")
	n.conv("block1_conv2", 64, 3, 3, 1, 1, false, false, "")
	n.bn("block1_conv2_bn", eps, true)
	x := n.relu("block1_conv2_act")

	r := residual(x, 128)
	sep("block2_sepconv1", 128, x)
	n.bn("block2_sepconv1_bn", eps, true)
	n.relu("block2_sepconv2_act")
	sep("block2_sepconv2", 128)
	n.bn("block2_sepconv2_bn", eps, true)
	y := n.pool("block2_pool", true, 3, 2, true)
	x = n.addMerge("", y, r)

	for b, f := range []int{256, 728} {
		p := fmt.Sprintf("block%d", b+3)
		r = residual(x, f)
		n.relu(p+"_sepconv1_act", x)
		sep(p+"_sepconv1", f)
		n.bn(p+"_sepconv1_bn", eps, true)
		n.relu(p + "_sepconv2_act")
		sep(p+"_sepconv2", f)
		n.bn(p+"_sepconv2_bn", eps, true)
		y = n.pool(p+"_pool", true, 3, 2, true)
		x = n.addMerge("", y, r)
	}
	for i := 0; i < 8; i++ {
		p := fmt.Sprintf("block%d", i+5)
		r = x
		n.relu(p+"_sepconv1_act", x)
		for k := 1; k <= 3; k++ {
			if k > 1 {
				n.relu(fmt.Sprintf("%s_sepconv%d_act", p, k))
			}
			sep(fmt.Sprintf("%s_sepconv%d", p, k), 728)
			y = n.bn(fmt.Sprintf("%s_sepconv%d_bn", p, k), eps, true)
		}
		x = n.addMerge("", y, r)
	}
	r = residual(x, 1024)
	n.relu("block13_sepconv1_act", x)
	sep("block13_sepconv1", 728)
	n.bn("block13_sepconv1_bn", eps, true)
	n.relu("block13_sepconv2_act")
	sep("block13_sepconv2", 1024)
	n.bn("block13_sepconv2_bn", eps, true)
	y = n.pool("block13_pool", true, 3, 2, true)
	x = n.addMerge("", y, r)

	sep("block14_sepconv1", 1536, x)
	n.bn("block14_sepconv1_bn", eps, true)
	n.relu("block14_sepconv1_act")
	sep("block14_sepconv2", 2048)
	n.bn("block14_sepconv2_bn", eps, true)
	n.relu("block14_sepconv2_act")
	if cfg.IncludeTop {
		n.global("avg_pool", false, false)
		n.dense("predictions", cfg.Classes, "softmax")
		return
	}
	top(n, cfg, "", "")
}

// PreprocessOf returns the input preprocessing of a builtin architecture
// (see Preprocess); "" for names that are not builtins.
func PreprocessOf(name string) string {
	switch name {
	case "vgg16":
		return "none" // its vgg_preprocess Lambda layer does it
	case "vgg16_torchvision":
		return "torch"
	}
	if a, _, ok := ParseVariant(name); ok {
		return a.Preprocess
	}
	return ""
}
