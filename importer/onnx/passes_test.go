package onnx

import (
	"slices"
	"testing"

	"github.com/kconv/kconv/ir"
)

// passStats returns name → changed of the passes that ran on m.
func passStats(m *ir.Model) map[string]int {
	out := map[string]int{}
	for _, p := range m.Passes {
		out[p.Name] = p.Changed
	}
	return out
}

func TestPipelineFusesSwishAndDenseBias(t *testing.T) {
	b := newGraph(13).input("x", -1, 4).output("y").
		init(floatT("W", []int64{4, 3}, seq(12))).
		init(floatT("B", []int64{3}, []float32{1, 2, 3})).
		node("Sigmoid", "sig", []string{"x"}, []string{"s"}).
		node("Mul", "silu", []string{"x", "s"}, []string{"h"}).
		node("MatMul", "mm", []string{"h", "W"}, []string{"z"}).
		node("Add", "bias", []string{"z", "B"}, []string{"y"})
	data := b.bytes(t)

	m, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range m.Nodes {
		names = append(names, n.Name)
	}
	if want := []string{"x", "silu", "bias"}; !slices.Equal(names, want) {
		t.Fatalf("nodes %v, want %v", names, want)
	}
	if a, ok := m.Node("silu").Op.(*ir.Activation); !ok || a.Act.Name != "swish" || m.Node("silu").Class != "Swish" {
		t.Errorf("silu is %s %#v, want a Swish activation", m.Node("silu").Class, m.Node("silu").Op)
	}
	if d, ok := m.Node("bias").Op.(*ir.Dense); !ok || !d.UseBias || len(m.Node("bias").Weights) != 2 {
		t.Errorf("bias is %#v, want a Dense with bias", m.Node("bias").Op)
	}
	var order []string
	for _, p := range m.Passes {
		order = append(order, p.Name)
	}
	if want := []string{"order-nodes", "infer-shapes", "fuse-swish", "fold-vgg-preprocess", "fold-dense-bias", "prune-dead", "check-weights"}; !slices.Equal(order, want) {
		t.Errorf("passes %v, want %v", order, want)
	}
	st := passStats(m)
	// prune-dead drops the sigmoid, the MatMul's Dense and the bias
	// Constant.
	if st["fuse-swish"] != 1 || st["fold-dense-bias"] != 1 || st["prune-dead"] != 3 {
		t.Errorf("changed counts %v", st)
	}

	// Stopped before the fusions, the model still has the decomposition.
	m, err = DecodeWith(data, "", Options{StopAfter: "infer-shapes"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Node("sig") == nil || m.Node("silu").Class != "Mul" || len(m.Passes) != 2 {
		t.Errorf("stopped after infer-shapes: sig %v, silu class %s, %d passes", m.Node("sig") != nil, m.Node("silu").Class, len(m.Passes))
	}
	if _, err := DecodeWith(data, "", Options{StopAfter: "no-such-pass"}); err == nil {
		t.Error("StopAfter naming no pass was accepted")
	}
}

// A sigmoid that has another use stays: x*sigmoid(x) is then not fused.
func TestSwishNeedsSingleUse(t *testing.T) {
	b := newGraph(13).input("x", -1, 4).output("y", "s").
		node("Sigmoid", "sig", []string{"x"}, []string{"s"}).
		node("Mul", "silu", []string{"x", "s"}, []string{"y"})
	m, err := Decode(b.bytes(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Node("sig") == nil || m.Node("silu").Class != "Mul" {
		t.Errorf("fused a sigmoid that is also a model output")
	}
}

// TestFuseHardSwish: x · HardSigmoid(x) with torch's hardswish constants
// (alpha 1/6, beta 1/2: its export before opset 14) becomes one HardSwish;
// with other constants it stays a product.
func TestFuseHardSwish(t *testing.T) {
	for _, tc := range []struct {
		alpha float32
		fused bool
	}{{1.0 / 6, true}, {0.2, false}} {
		b := newGraph(13).input("x", -1, 4).output("y").
			node("HardSigmoid", "hs", []string{"x"}, []string{"s"}, aFloat("alpha", tc.alpha), aFloat("beta", 0.5)).
			node("Mul", "hswish", []string{"x", "s"}, []string{"y"})
		m, err := Decode(b.bytes(t), "")
		if err != nil {
			t.Fatal(err)
		}
		a, ok := m.Node("hswish").Op.(*ir.Activation)
		if fused := ok && a.Act.Name == ir.ActHardSwish; fused != tc.fused {
			t.Errorf("alpha %v: hswish is %s %#v, fused %v, want %v", tc.alpha, m.Node("hswish").Class, m.Node("hswish").Op, fused, tc.fused)
		}
	}
}
