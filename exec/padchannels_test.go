package exec

import (
	"fmt"
	"slices"
	"testing"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
)

// invertedResidual is an inverted-residual block whose expanded tensor has
// mid channels, over an h×w map, after a 3×3 stem convolution (whose
// output the block reads in NHWC storage): a 1×1 convolution + batch normalization + ReLU6 expanding
// 16 channels, a 3×3 depthwise convolution (stride s) + batch
// normalization + ReLU6, then by readers: "heads", a 1×1 projection and a
// 3×3 head reading it, concatenated; "pool", the projection and a global
// pooling that is a model output; "se", a squeeze-and-excitation (global
// pooling, 1×1 + ReLU, 1×1 + hard sigmoid, Mul) before the projection;
// "adds", as "heads" with the expansion's bias an Add of a constant.
func invertedResidual(t *testing.T, df ir.Layout, h, w, mid, s int, readers string) *ir.Model {
	t.Helper()
	b := ir.NewBuilder("inverted_residual")
	if df == ir.ChannelsLast {
		b.Input("in", ir.Shape{h, w, 16}, df)
	} else {
		b.Input("in", ir.Shape{16, h, w}, df)
	}
	win := func(k, s int) ir.Window2D { return ir.Window2D{KH: k, KW: k, SH: s, SW: s, Padding: ir.PadSame} }
	ax := 1
	if df == ir.ChannelsLast {
		ax = 3
	}
	bn := func(name, in string) string {
		n := b.Add(name, &ir.BatchNorm{Axis: ax, Epsilon: 1e-3, Center: true, Scale: true}, in)
		return b.Add(name+"_relu6", &ir.Activation{Act: ir.Act{Name: "relu", MaxValue: 6, HasMax: true}}, n)
	}
	st := b.Add("stem", &ir.Conv2D{Filters: 16, Window2D: win(3, 1), UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df}, "in")
	e := b.Add("expand", &ir.Conv2D{Filters: mid, Window2D: win(1, 1), DataFormat: df}, st)
	if readers == "adds" { // a shift kept as an Add of a constant (fold-channel-add)
		e = b.Add("expand_bn", &ir.BatchNorm{Axis: ax, Epsilon: 1e-3, Center: true, Scale: true}, e)
		shape := ir.Shape{mid, 1, 1}
		if df == ir.ChannelsLast {
			shape = ir.Shape{mid}
		}
		k := b.Add("expand_k", &ir.Constant{Shape: shape})
		e = b.Add("expand_add", &ir.Binary{Op: ir.BinaryAdd}, e, k)
		e = b.Add("expand_bn_relu6", &ir.Activation{Act: ir.Act{Name: "relu", MaxValue: 6, HasMax: true}}, e)
	} else {
		e = bn("expand_bn", e)
	}
	d := b.Add("dw", &ir.DepthwiseConv2D{Multiplier: 1, Window2D: win(3, s), UseBias: true, DataFormat: df}, e)
	d = bn("dw_bn", d)
	if readers == "se" {
		g := b.Add("gap", &ir.GlobalPool2D{KeepDims: true, DataFormat: df}, d)
		f1 := b.Add("fc1", &ir.Conv2D{Filters: 8, Window2D: win(1, 1), UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df}, g)
		f2 := b.Add("fc2", &ir.Conv2D{Filters: mid, Window2D: win(1, 1), UseBias: true, Activation: ir.Act{Name: "hard_sigmoid", Alpha: 1.0 / 6, Beta: 0.5}, DataFormat: df}, f1)
		d = b.Add("scale", &ir.Binary{Op: ir.BinaryMul}, d, f2)
	}
	p := b.Add("project", &ir.Conv2D{Filters: 24, Window2D: win(1, 1), UseBias: true, DataFormat: df}, d)
	switch readers {
	case "se":
		return randomModel(t, b, 5, p)
	case "pool":
		g := b.Add("gap", &ir.GlobalPool2D{KeepDims: true, DataFormat: df}, d)
		return randomModel(t, b, 5, p, g)
	}
	hd := b.Add("head", &ir.Conv2D{Filters: 8, Window2D: win(3, 1), UseBias: true, DataFormat: df}, d)
	b.Add("cat", &ir.Merge{Mode: ir.MergeConcat, Axis: ax}, p, hd)
	m := randomModel(t, b, 5, "cat")
	if readers == "adds" {
		bias := make([]float32, mid)
		for i := range bias {
			bias[i] = float32(i%7)/7 - 0.4
		}
		setConstants(t, m, map[string][]float32{"expand_k": bias})
	}
	return m
}

// TestPadChannels: pad-channels widens an inverted-residual block's
// expanded tensor to the next multiple of 16 channels where that adds at
// most a quarter (72 → 80, 40 → 48, not 24 → 32 or 64), through a
// squeeze-and-excitation, and only where every value widened is read by
// convolutions or ops that keep its channels, none of them an output; the
// widened program gives the unfused one's outputs.
func TestPadChannels(t *testing.T) {
	for _, tc := range []struct {
		mid, s  int
		readers string
		want    int // expanded channels after the passes
	}{
		{72, 1, "heads", 80},
		{40, 2, "heads", 48},
		{120, 1, "se", 128},
		{24, 1, "heads", 24},
		{64, 1, "se", 64},
		{72, 1, "pool", 72},
		{88, 2, "adds", 96},
	} {
		for _, df := range []ir.Layout{ir.ChannelsFirst, ir.ChannelsLast} {
			name := fmt.Sprintf("%d s%d %s %v", tc.mid, tc.s, tc.readers, df)
			m := invertedResidual(t, df, 11, 9, tc.mid, tc.s, tc.readers)
			p, ref := fusedAndUnfused(t, m)
			ch := 3
			if df == ir.ChannelsFirst {
				ch = 1
			}
			for _, n := range []string{"expand_bn_relu6", "dw_bn_relu6"} {
				if got := p.lowered.Node(n).Out.Shape[ch]; got != tc.want {
					t.Errorf("%s: %s has %d channels, want %d", name, n, got, tc.want)
				}
			}
			if err := ir.CheckInvariants(p.lowered, ir.StageWeighted); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			sameOutputs(t, name, p, ref, m, []int{1, 2}, 1e-5)
		}
	}
}

// TestExpandDepthwiseFused: where the expanded tensor outgrows the cache
// (kernels.ConvDepthwisePays), the expansion and the depthwise
// convolution run as one step that reads the block's input, with the
// unfused program's outputs; on a small map they stay two steps. Both
// readers of the depthwise output still read it.
func TestExpandDepthwiseFused(t *testing.T) {
	for _, tc := range []struct {
		h, w, s int
		fused   bool
	}{{64, 60, 1, true}, {61, 64, 2, true}, {11, 9, 1, false}} {
		for _, df := range []ir.Layout{ir.ChannelsFirst, ir.ChannelsLast} {
			name := fmt.Sprintf("%dx%d s%d %v", tc.h, tc.w, tc.s, df)
			m := invertedResidual(t, df, tc.h, tc.w, 72, tc.s, "heads")
			p, ref := fusedAndUnfused(t, m)
			fused := slices.Contains(stepKinds(p), "Conv2D+DepthwiseConv2D")
			want := tc.fused && kernels.ConvDepthwiseOK(kernels.ConvParams{N: 1, H: 8, W: 8, C: 16, OutC: 80, KH: 1, KW: 1},
				kernels.ConvParams{N: 1, H: 8, W: 8, C: 80, OutC: 80, KH: 3, KW: 3})
			if fused != want {
				t.Errorf("%s: expansion and depthwise fused %v, want %v: %v", name, fused, want, stepKinds(p))
			}
			sameOutputs(t, name, p, ref, m, []int{1, 2}, 1e-5)
		}
	}
}
