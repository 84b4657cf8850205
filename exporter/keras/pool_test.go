package keras

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// poolModel is x → conv (activation act) → max pooling 3x3/2 with the
// given padding and ceil mode, NCHW as PyTorch exports it.
func poolModel(t *testing.T, act ir.Act, pads [4]int, ceil bool, size int) *ir.Model {
	t.Helper()
	const cf = ir.ChannelsFirst
	b := ir.NewBuilder("pool")
	x := b.Input("x", ir.Shape{3, size, size}, cf)
	c := b.Add("conv", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}, UseBias: true, Activation: act, DataFormat: cf}, x)
	b.Add("pool", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadExplicit, Pads: pads, CeilMode: ceil}, DataFormat: cf}, c)
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 3)
	return m
}

// TestH5PaddedMaxPool: padded and ceil-mode max pooling of a non-negative
// input become ZeroPadding2D + MaxPooling2D and compute what ONNX's
// -inf-padded pooling computes (checked by running both); of a possibly
// negative input they are refused naming the reason.
func TestH5PaddedMaxPool(t *testing.T) {
	relu := ir.Act{Name: ir.ActReLU}
	for _, c := range []struct {
		name string
		pads [4]int
		ceil bool
		size int
	}{
		{"resnet stem", [4]int{1, 1, 1, 1}, false, 12},
		{"asymmetric", [4]int{0, 1, 1, 0}, false, 11},
		{"googlenet ceil", [4]int{}, true, 12}, // 12 → ceil((12-3)/2)+1 = 6, floor 5
		{"ceil and pads", [4]int{1, 1, 1, 1}, true, 14},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, act := range []ir.Act{relu, {Name: ir.ActReLU6}, {Name: ir.ActSigmoid}} {
				m := poolModel(t, act, c.pads, c.ceil, c.size)
				back := writeRead(t, m)
				if n := back.Node("pool_pad"); n == nil || n.Class != "ZeroPadding2D" {
					t.Errorf("%s: no ZeroPadding2D pool_pad before the pooling (got %v)", act, n)
				}
			}
			m := poolModel(t, ir.Act{Name: ir.ActTanh}, c.pads, c.ceil, c.size)
			err := WriteH5Model(m, filepath.Join(t.TempDir(), "x.h5"), H5Options{})
			if err == nil || !strings.Contains(err.Error(), "layer 'pool'") || !strings.Contains(err.Error(), "non-negative") {
				t.Errorf("tanh input: error %v, want a refusal naming pool and non-negativity", err)
			}
		})
	}
}

// TestH5ChannelSlice: a slice of an NCHW image's channels (ShuffleNet's
// channel split) becomes a selecting 1x1 Conv2D with the same output.
func TestH5ChannelSlice(t *testing.T) {
	const cf = ir.ChannelsFirst
	b := ir.NewBuilder("split")
	x := b.Input("x", ir.Shape{6, 5, 4}, cf)
	lo := b.Add("lo", &ir.Slice{Axes: []int{1}, Starts: []int{0}, Ends: []int{2}, Steps: []int{1}}, x)
	hi := b.Add("hi", &ir.Slice{Axes: []int{1}, Starts: []int{2}, Ends: []int{6}, Steps: []int{1}}, x)
	b.Add("cat", &ir.Concat{Axis: 1}, hi, lo)
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	back := writeRead(t, m)
	for _, name := range []string{"lo", "hi"} {
		if n := back.Node(name); n == nil || n.Class != "Conv2D" {
			t.Errorf("%s read back as %v, want Conv2D", name, n)
		}
	}
}
