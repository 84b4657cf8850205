package ir_test

import (
	"math"
	"testing"

	"github.com/kconv/kconv/ir"
)

// geluModel is a Dense whose output x goes through an exported GELU:
// x/√2 (or x·(1/√2)), Erf, +1, then the products with x and ½ grouped as
// variant says; half is the value of the ½ constant.
func geluModel(t *testing.T, variant string, half float32) *ir.Model {
	t.Helper()
	b := ir.NewBuilder("gelu")
	b.Input("in", ir.Shape{8}, ir.ChannelsLast)
	b.Add("x", &ir.Dense{Units: 6, UseBias: true}, "in")
	if variant == "mul" {
		b.Add("k_s", &ir.Constant{Shape: ir.Shape{1}})
		b.Add("d", &ir.Binary{Op: ir.BinaryMul}, "x", "k_s")
	} else {
		b.Add("k_s", &ir.Constant{Shape: ir.Shape{1}})
		b.Add("d", &ir.Binary{Op: ir.BinaryDiv}, "x", "k_s")
	}
	b.Add("erf", &ir.Activation{Act: ir.Act{Name: ir.ActErf}}, "d")
	b.Add("k_one", &ir.Constant{Shape: ir.Shape{1}})
	b.Add("add", &ir.Binary{Op: ir.BinaryAdd}, "erf", "k_one")
	b.Add("k_half", &ir.Constant{Shape: ir.Shape{1}})
	switch variant {
	case "(x·a)·½", "mul", "erf kept":
		b.Add("m1", &ir.Merge{Mode: ir.MergeMultiply}, "x", "add")
		b.Add("out", &ir.Binary{Op: ir.BinaryMul}, "m1", "k_half")
	case "x·(a·½)":
		b.Add("m1", &ir.Binary{Op: ir.BinaryMul}, "add", "k_half")
		b.Add("out", &ir.Merge{Mode: ir.MergeMultiply}, "x", "m1")
	case "(x·½)·a":
		b.Add("m1", &ir.Binary{Op: ir.BinaryMul}, "x", "k_half")
		b.Add("out", &ir.Merge{Mode: ir.MergeMultiply}, "m1", "add")
	}
	outs := []string{"out"}
	if variant == "erf kept" {
		outs = append(outs, "erf")
	}
	m, err := b.Build(outs...)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]float32{"k_s": math.Sqrt2, "k_one": 1, "k_half": half}
	if variant == "mul" {
		vals["k_s"] = 1 / math.Sqrt2
	}
	for _, n := range m.Nodes {
		if _, ok := n.Op.(*ir.Constant); ok {
			n.Inputs = nil
			n.Weights = []*ir.Weight{ir.ConstWeight("value", ir.Shape{1}, []float32{vals[n.Name]})}
		}
	}
	if err := ir.RunPasses(m, ir.PassOrder, ir.PassInfer); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFuseGELU: every grouping of an exported GELU becomes one gelu
// activation, which fuse-activation then folds into the Dense computing x;
// a wrong constant, or an Erf that is also a model output, leaves the
// nodes as they are.
func TestFuseGELU(t *testing.T) {
	for _, tc := range []struct {
		variant string
		half    float32
		fused   bool
	}{
		{"(x·a)·½", 0.5, true},
		{"x·(a·½)", 0.5, true},
		{"(x·½)·a", 0.5, true},
		{"mul", 0.5, true},
		{"(x·a)·½", 0.4, false},
		{"erf kept", 0.5, false},
	} {
		m := optimize(t, geluModel(t, tc.variant, tc.half))
		out := m.Node("out")
		d, ok := out.Op.(*ir.Dense)
		fused := ok && d.Activation.Name == ir.ActGELU && len(m.Nodes) == 2
		if fused != tc.fused {
			t.Errorf("%s (½ = %v): fused %v, want %v:\n%s", tc.variant, tc.half, fused, tc.fused, ir.Format(m))
		}
	}
}
