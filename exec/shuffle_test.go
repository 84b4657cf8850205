package exec

import (
	"testing"

	"github.com/kconv/kconv/ir"
)

// TestChannelShuffle: a ShuffleNetV2 unit as torch exports it (channel
// Slices, a branch, Concat, Reshape → Transpose (0, 2, 1, 3, 4) → Reshape,
// then the next unit's Slices) runs as channel Gathers on channels-last
// values, with the unfused program's outputs (which runs the Reshapes,
// Transpose and Slices as they are).
func TestChannelShuffle(t *testing.T) {
	df := ir.ChannelsFirst
	b := ir.NewBuilder("shuffle")
	b.Input("in", ir.Shape{12, 5, 6}, df)
	one := ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}
	c0 := b.Add("c0", &ir.Conv2D{Filters: 12, Window2D: one, UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df}, "in")
	half := func(name, x string, lo, hi int) string {
		return b.Add(name, &ir.Slice{Axes: []int{1}, Starts: []int{lo}, Ends: []int{hi}, Steps: []int{1}}, x)
	}
	unit := func(p, x string) string {
		x1, x2 := half(p+"x1", x, 0, 6), half(p+"x2", x, 6, 12)
		br := b.Add(p+"br", &ir.Conv2D{Filters: 6, Window2D: one, UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df}, x2)
		cat := b.Add(p+"cat", &ir.Merge{Mode: ir.MergeConcat, Axis: 1}, x1, br)
		r1 := b.Add(p+"r1", &ir.Reshape{Target: ir.Shape{2, 6, 5, 6}}, cat)
		tr := b.Add(p+"tr", &ir.Transpose{Perm: []int{0, 2, 1, 3, 4}}, r1)
		return b.Add(p+"r2", &ir.Reshape{Target: ir.Shape{12, 5, 6}}, tr)
	}
	u2 := unit("u2", unit("u1", c0))
	out := b.Add("out", &ir.Conv2D{Filters: 4, Window2D: one, UseBias: true, DataFormat: df}, u2)
	m := randomModel(t, b, 5, out)
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Compile(m, Options{NoFuse: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"u1r1", "u1tr", "u2r1", "u2tr", "u1r2"} {
		if p.lowered.Node(name) != nil {
			t.Errorf("%s is left after the channel-shuffle pass", name)
		}
	}
	gathers := 0
	for _, s := range p.steps {
		if s.kind == "Gather/channels" {
			gathers++
		}
	}
	if gathers != 5 {
		for _, s := range p.steps {
			t.Logf("%s %s nhwc-in=%v", s.node, s.kind, len(s.ins) > 0 && s.ins[0].nhwc)
		}
		for _, n := range p.lowered.Nodes {
			t.Log(ir.NodeText(n, nil))
		} // u1's two halves; u2's two, of u1's shuffle; u2's shuffle
		t.Errorf("%d channel gathers, want 5", gathers)
	}
	sameOutputs(t, "shuffle fused vs unfused", p, ref, m, []int{1, 2}, 1e-5)
}
