package exec

import (
	"testing"

	"github.com/kconv/kconv/ir"
)

// TestPadIntoAvgPool: fuse-pad folds a zero padding into the unpadded
// average pooling after it (the pads counted in the divisor), which gives
// the unfused program's outputs (Pad, then the pooling); a zero padding
// before a max pooling stays (its pads are not -Inf), as does one before
// an average pooling with pads of its own.
func TestPadIntoAvgPool(t *testing.T) {
	df := ir.ChannelsFirst
	b := ir.NewBuilder("pad_pool")
	b.Input("in", ir.Shape{5, 7, 6}, df)
	valid := ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1}
	pad := func(name string, p [4]int) string {
		return b.Add(name, &ir.ZeroPadding2D{Pads: p, DataFormat: df}, "in")
	}
	a := b.Add("avg", &ir.Pool2D{Window2D: valid, DataFormat: df}, pad("pad_avg", [4]int{1, 1, 1, 2}))
	s2 := valid
	s2.SH, s2.SW = 2, 2
	a2 := b.Add("avg2", &ir.Pool2D{Window2D: s2, DataFormat: df}, pad("pad_avg2", [4]int{0, 1, 2, 0}))
	mx := b.Add("max", &ir.Pool2D{Max: true, Window2D: valid, DataFormat: df}, pad("pad_max", [4]int{1, 1, 1, 1}))
	same := valid
	same.Padding = ir.PadSame
	ap := b.Add("avg_same", &ir.Pool2D{Window2D: same, DataFormat: df}, pad("pad_avg_same", [4]int{1, 1, 1, 1}))
	m := randomModel(t, b, 3, a, a2, mx, ap)
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Compile(m, Options{NoFuse: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, fused := range map[string]bool{"pad_avg": true, "pad_avg2": true, "pad_max": false, "pad_avg_same": false} {
		if got := p.lowered.Node(name) == nil; got != fused {
			t.Errorf("%s fused into its pooling: %v, want %v", name, got, fused)
		}
	}
	sameOutputs(t, "fused vs unfused", p, ref, m, []int{1, 3}, 1e-5)
}
