package exec

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// catBuilder builds the toy networks of the concatenation tests, channels
// first (ONNX layout: NHWC-stored values) or channels last (Keras layout:
// values stored as they are).
type catBuilder struct {
	*ir.Builder
	n  int
	df ir.Layout
}

// catLayouts are the data formats the concatenation tests build in.
var catLayouts = []ir.Layout{ir.ChannelsFirst, ir.ChannelsLast}

func newCatBuilder(name string, df ir.Layout, c, h, w int) *catBuilder {
	b := &catBuilder{Builder: ir.NewBuilder(name), df: df}
	if df == ir.ChannelsFirst {
		b.Input("in", ir.Shape{c, h, w}, df)
	} else {
		b.Input("in", ir.Shape{h, w, c}, df)
	}
	return b
}

// axis is the channel axis.
func (b *catBuilder) axis() int {
	if b.df == ir.ChannelsFirst {
		return 1
	}
	return -1
}

func (b *catBuilder) name(kind string) string { b.n++; return fmt.Sprintf("%s%d", kind, b.n) }

func (b *catBuilder) conv(in string, f, kh, kw int, act string, bias bool) string {
	w := ir.Window2D{KH: kh, KW: kw, SH: 1, SW: 1, Padding: ir.PadSame}
	return b.Add(b.name("conv"), &ir.Conv2D{Filters: f, Window2D: w, UseBias: bias, Activation: ir.Act{Name: ir.ActName(act)}, DataFormat: b.df}, in)
}

func (b *catBuilder) pool(in string, max bool, k, s int, pad ir.Padding) string {
	return b.Add(b.name("pool"), &ir.Pool2D{Max: max, Window2D: ir.Window2D{KH: k, KW: k, SH: s, SW: s, Padding: pad}, DataFormat: b.df}, in)
}

func (b *catBuilder) cat(ins ...string) string {
	return b.Add(b.name("cat"), &ir.Merge{Mode: ir.MergeConcat, Axis: b.axis()}, ins...)
}

func (b *catBuilder) bnRelu(in string) string {
	bn := b.Add(b.name("bn"), &ir.BatchNorm{Axis: b.axis(), Epsilon: 1e-3, Center: true, Scale: true}, in)
	return b.Add(b.name("relu"), &ir.Activation{Act: ir.Act{Name: "relu"}}, bn)
}

func (b *catBuilder) head(t testing.TB, in string) *ir.Model {
	t.Helper()
	g := b.Add("gap", &ir.GlobalPool2D{DataFormat: b.df}, in)
	b.Add("dense", &ir.Dense{Units: 5, UseBias: true}, g)
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 5)
	return m
}

// denseBlock adds a DenseNet dense block on x0: each layer concatenates
// all the block's features so far (BN → ReLU → 1×1 → BN → ReLU → 3×3
// growth channels, the first BN's output read by no one else), and the
// block ends with their concatenation.
func (b *catBuilder) denseBlock(x0 string, layers, growth int) string {
	feats := []string{x0}
	for range layers {
		in := x0
		if len(feats) > 1 {
			in = b.cat(feats...)
		}
		h := b.conv(b.bnRelu(in), 4*growth, 1, 1, "linear", false)
		feats = append(feats, b.conv(b.bnRelu(h), growth, 3, 3, "linear", false))
	}
	return b.cat(feats...)
}

// denseNetCNN is DenseNet in small: a stem convolution and max pooling,
// two dense blocks (16- and 48-channel growth: SmallConv's Winograd
// F(2×2) and direct paths), a transition (BN → ReLU → 1×1 → 2×2 average
// pooling, which fuse-pool folds into the convolution) between them.
func denseNetCNN(t testing.TB, df ir.Layout) *ir.Model {
	b := newCatBuilder("densenet_cnn", df, 3, 12, 11)
	x := b.pool(b.conv("in", 16, 3, 3, "relu", true), true, 3, 1, ir.PadSame)
	x = b.denseBlock(x, 3, 16)
	x = b.pool(b.conv(b.bnRelu(x), 32, 1, 1, "linear", false), false, 2, 2, ir.PadValid)
	x = b.denseBlock(x, 2, 24)
	return b.head(t, b.bnRelu(x))
}

// inceptionCNN has GoogLeNet's and Inception-v3's modules: four branches
// (1×1; 1×1 → 3×3; 1×1 → 5×5; 3×3 max pooling → 1×1) concatenated, then
// one with Inception-v3's nested concatenation (1×1 → [1×3, 3×1]) and a
// branch that is a pooling alone, then a concatenation that is read by
// two convolutions (it cannot be a view).
func inceptionCNN(t testing.TB, df ir.Layout) *ir.Model {
	b := newCatBuilder("inception_cnn", df, 8, 10, 9)
	x := b.conv("in", 24, 3, 3, "relu", true)
	x = b.cat(b.conv(x, 16, 1, 1, "relu", true),
		b.conv(b.conv(x, 8, 1, 1, "relu", true), 24, 3, 3, "relu", true),
		b.conv(b.conv(x, 4, 1, 1, "relu", true), 8, 5, 5, "relu", true),
		b.conv(b.pool(x, true, 3, 1, ir.PadSame), 8, 1, 1, "relu", true))
	e := b.conv(x, 16, 1, 1, "relu", true)
	x = b.cat(b.conv(x, 32, 1, 1, "relu", true),
		b.cat(b.conv(e, 16, 1, 3, "relu", true), b.conv(e, 16, 3, 1, "relu", true)),
		b.pool(x, true, 3, 1, ir.PadSame))
	y := b.cat(b.conv(x, 16, 1, 1, "relu", true), b.conv(x, 16, 3, 3, "linear", true))
	y = b.cat(b.conv(y, 8, 1, 1, "relu", true), b.conv(y, 8, 3, 3, "relu", true))
	return b.head(t, y)
}

// squeezeNetCNN has SqueezeNet's fire modules: a 1×1 squeeze, then 1×1
// and 3×3 expands (bias and ReLU) concatenated, a max pooling between.
func squeezeNetCNN(t testing.TB, df ir.Layout) *ir.Model {
	b := newCatBuilder("squeezenet_cnn", df, 3, 16, 15)
	fire := func(x string, s, e int) string {
		q := b.conv(x, s, 1, 1, "relu", true)
		return b.cat(b.conv(q, e, 1, 1, "relu", true), b.conv(q, e, 3, 3, "relu", true))
	}
	x := b.conv("in", 32, 3, 3, "relu", true)
	x = fire(fire(x, 16, 32), 16, 32)
	x = b.pool(x, true, 3, 2, ir.PadValid)
	x = fire(x, 16, 48)
	return b.head(t, b.conv(x, 10, 1, 1, "relu", true))
}

// winogradCatCNN concatenates a 3×3 128→128 convolution on a 32×32 map,
// which runs Winograd F(4×4, 3×3), with a 1×1 one.
func winogradCatCNN(t testing.TB, df ir.Layout) *ir.Model {
	b := newCatBuilder("winograd_cat_cnn", df, 16, 32, 32)
	x := b.conv("in", 128, 3, 3, "relu", true)
	return b.head(t, b.cat(b.conv(x, 128, 3, 3, "relu", true), b.conv(x, 16, 1, 1, "linear", true)))
}

// TestConcatInPlace: on DenseNet-, Inception- and SqueezeNet-style blocks
// the concatenations are gone (their inputs written in place, or copied
// in right after they are computed where their producer cannot write
// strided), DenseNet's dense layers read a prefix of their block's buffer,
// and the outputs are the unfused program's at batch 1 and 3.
func TestConcatInPlace(t *testing.T) {
	for _, tc := range []struct {
		name         string
		model        func(testing.TB, ir.Layout) *ir.Model
		copies, rest int // copy steps, concatenations left as one strided copy
		views        int // concatenations that became views (prefixes, or nested in another)
		bns          int // batch normalization steps left (with SmallConv: the others are in it)
	}{
		// x0 of each block (a pooling) is copied in; every concatenation
		// but the blocks' last is a prefix view.
		// and the BN → ReLU before each 1×1 convolution is applied by the
		// convolution as it reads, except before the transition's (whose
		// pooling is fused into it: SmallConv's pooled path has no
		// pre-affine) and before the global pooling.
		{"densenet", denseNetCNN, 2, 0, 3, 2},
		// The pooling branch is copied in, the nested concatenation is
		// a slice of the outer one; y is read by two convolutions, so
		// its inputs are written into its own buffer.
		{"inception", inceptionCNN, 1, 0, 1, 0},
		{"squeezenet", squeezeNetCNN, 0, 0, 0, 0},
		{"winograd", winogradCatCNN, 0, 0, 0, 0},
	} {
		for _, df := range catLayouts {
			t.Run(fmt.Sprintf("%s/%v", tc.name, df), func(t *testing.T) {
				m := tc.model(t, df)
				p, err := Compile(m, Options{})
				if err != nil {
					t.Fatal(err)
				}
				ref, err := Compile(m, Options{NoFuse: true})
				if err != nil {
					t.Fatal(err)
				}
				copies, cats, views, wino, bns, direct := 0, 0, 0, 0, 0, 0
				for _, s := range p.steps {
					switch s.kind {
					case "Conv2D/winograd":
						wino++
					case "BatchNormalization":
						bns++
					case "Conv2D/direct":
						direct++
					}
					if s.chanConcat {
						cats++
					}
					if s.kind == "Concatenate/copy" {
						copies++
					}
				}
				if direct > 0 && bns != tc.bns {
					t.Errorf("%d batch normalization steps, want %d", bns, tc.bns)
				}
				// Without SmallConv (KCONV_CPU=generic) the other 3×3
				// convolution takes Winograd F(4×4) too.
				if tc.name == "winograd" && (wino < 1 || direct > 0 && wino != 1) {
					t.Errorf("%d Winograd F(4×4) steps, want 1", wino)
				}
				for _, v := range p.values {
					if v.ld > 0 && len(v.shape) == 4 && p.lowered.Node(v.name) != nil {
						if _, ok := p.lowered.Node(v.name).Op.(*ir.Merge); ok {
							views++
						}
					}
				}
				if cats != 0 || copies != tc.copies+tc.rest || views != tc.views {
					for _, s := range p.steps {
						t.Logf("%s %s", s.kind, s.node)
					}
					t.Errorf("%d concatenation steps, %d copies, %d views; want 0, %d, %d", cats, copies, views, tc.copies+tc.rest, tc.views)
				}
				sameOutputs(t, tc.name+" in place vs unfused", p, ref, m, []int{1, 3}, 1e-4)
				// Keeping every concatenation input observable keeps them out
				// of the concatenations' buffers: copies instead, same outputs.
				var keep []string
				for _, n := range p.lowered.Nodes {
					if mg, ok := n.Op.(*ir.Merge); ok && mg.Mode == ir.MergeConcat {
						keep = append(keep, n.Inputs...)
					}
				}
				kp, err := Compile(m, Options{Keep: keep})
				if err != nil {
					t.Fatal(err)
				}
				sameOutputs(t, tc.name+" kept inputs vs unfused", kp, ref, m, []int{1, 3}, 1e-4)
				// Keeping the concatenations makes those whose inputs lie
				// side by side elsewhere (DenseNet's prefixes) one copy.
				keep = keep[:0]
				for _, n := range p.lowered.Nodes {
					if mg, ok := n.Op.(*ir.Merge); ok && mg.Mode == ir.MergeConcat {
						keep = append(keep, n.Name)
					}
				}
				kc, err := Compile(m, Options{Keep: keep})
				if err != nil {
					t.Fatal(err)
				}
				sameOutputs(t, tc.name+" kept concatenations vs unfused", kc, ref, m, []int{1, 3}, 1e-4)
			})
		}
	}
}

// TestConcatViewsInArena: every strided view lies inside its root's
// buffer at every batch size, and every step that reads or writes a view
// runs while its root's buffer is live.
func TestConcatViewsInArena(t *testing.T) {
	for _, model := range []func(testing.TB, ir.Layout) *ir.Model{denseNetCNN, inceptionCNN, squeezeNetCNN} {
		for _, df := range catLayouts {
			p, err := Compile(model(t, df), Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkViews(t, p)
		}
	}
}

func checkViews(t *testing.T, p *Program) {
	t.Helper()
	for _, batch := range []int{1, 3, 64} {
		l, err := p.layout(batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.values {
			if v.ld == 0 {
				continue
			}
			r := v.root()
			c := v.chans()
			if end := v.off + kernels.StridedLen(v.size(batch)/c, c, v.ld); v.off < 0 || v.ld < c || end > r.size(batch) || end > l.sizes[r.slot] {
				t.Fatalf("%s: view [%d, %d) stride %d outside its root %s of %d floats", v.name, v.off, end, v.ld, r.name, r.size(batch))
			}
		}
	}
	for i, s := range p.steps {
		for _, v := range append([]*value{s.out}, s.ins...) {
			r := v.root()
			if r.constant != nil {
				continue
			}
			if lv := p.lives[r.slot]; i < lv[0] || i > lv[1] {
				t.Fatalf("step %d (%s) uses %s in buffer %d, live over steps %v", i, s.node, v.name, r.slot, lv)
			}
		}
	}
}
