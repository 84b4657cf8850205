package onnx

import (
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
	"google.golang.org/protobuf/proto"
)

// constNodeT adds a Constant node holding t.
func (b *gb) constNodeT(out string, t *onnxpb.TensorProto) *gb {
	return b.node("Constant", out, nil, []string{out}, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t})
}

// paramsOf imports b and returns the model's total and the sum of its
// rows' counts (Node.Params).
func paramsOf(t *testing.T, b *gb) (total, rows int64, m *ir.Model) {
	t.Helper()
	m, err := DecodeWith(b.bytes(t), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, nt := m.Params()
	for _, n := range m.Nodes {
		a, c := n.Params()
		rows += a + c
	}
	return tr + nt, rows, m
}

// An initializer read by several nodes counts once in the model's total,
// as onnx's sum(numel for initializer) counts it; Constant literals and
// integer initializers are not parameters; a value folded at import
// counts as the initializers it is computed from. The expected counts are
// the initializers' sizes, by hand.
func TestParamsCountEachInitializerOnce(t *testing.T) {
	t.Run("two MatMuls and element-wise ops share initializers", func(t *testing.T) {
		b := newGraph(13).input("x", -1, 4).output("y").
			init(floatT("W", []int64{4, 4}, seq(16))).
			init(floatT("B", []int64{4}, seq(4))).
			init(floatT("G", []int64{4}, seq(4))).
			init(floatT("R", []int64{2, 2}, seq(4))).
			init(intT("shape", 4)).
			constNodeT("eps", floatT("", nil, []float32{1e-5})).
			node("MatMul", "mm1", []string{"x", "W"}, []string{"a"}).
			node("Add", "bias1", []string{"a", "B"}, []string{"a2"}).
			node("MatMul", "mm2", []string{"a2", "W"}, []string{"c"}).
			node("Mul", "scale", []string{"c", "G"}, []string{"c2"}).
			node("Add", "shift", []string{"c2", "B"}, []string{"c3"}).
			node("Add", "addeps", []string{"c3", "eps"}, []string{"c4"}).
			node("Reshape", "flat", []string{"R", "shape"}, []string{"r"}).
			node("Add", "addr", []string{"c4", "r"}, []string{"y"})
		total, rows, m := paramsOf(t, b)
		// W 16 + B 4 + G 4 + R 4: W read by two Dense kernels, B by a
		// Dense bias and an Add, eps (a literal) and shape (int) not
		// counted.
		if total != 28 {
			t.Errorf("total %d, want 28 (W 16 + B 4 + G 4 + R 4)", total)
		}
		dense := 0
		for _, n := range m.Nodes {
			if d, ok := n.Op.(*ir.Dense); ok && d.Units == 4 {
				if p, q := n.Params(); p+q < 16 {
					t.Errorf("row %s shows %d parameters, want its kernel's 16 at least", n.Name, p+q)
				}
				dense++
			}
		}
		if dense != 2 {
			t.Errorf("%d Dense nodes, want 2", dense)
		}
		if rows <= total {
			t.Errorf("rows sum to %d, want more than the total %d: each row shows the shared W", rows, total)
		}
	})
	t.Run("two Convs share kernel and bias", func(t *testing.T) {
		b := newGraph(13).input("x", -1, 2, 5, 5).output("y").
			init(floatT("K", []int64{3, 2, 3, 3}, seq(54))).
			init(floatT("C", []int64{3}, seq(3))).
			node("Conv", "c1", []string{"x", "K", "C"}, []string{"a"}, aInts("kernel_shape", 3, 3)).
			node("Conv", "c2", []string{"x", "K", "C"}, []string{"b"}, aInts("kernel_shape", 3, 3)).
			node("Add", "sum", []string{"a", "b"}, []string{"y"})
		total, rows, _ := paramsOf(t, b)
		if total != 57 || rows != 114 {
			t.Errorf("total %d, rows %d; want 57 (K 54 + C 3) and 114 (each Conv's row shows both)", total, rows)
		}
	})
}

// A LayerNormalization node (opset 17) and its spelled-out form (opset 13:
// ReduceMean, Sub, Pow, Add ε, Sqrt, Div, Mul γ, Add β, as torch.onnx
// writes it) count the same: γ and β once, however many layers share them
// (torch.onnx shares identical initializers), the literals 2 and ε not.
func TestParamsLayerNormSameAtBothOpsets(t *testing.T) {
	ln17 := newGraph(17).input("x", -1, 3, 4).output("y").
		init(floatT("g", []int64{4}, seq(4))).
		init(floatT("b", []int64{4}, seq(4))).
		node("LayerNormalization", "ln1", []string{"x", "g", "b"}, []string{"h"}, aInt("axis", -1)).
		node("LayerNormalization", "ln2", []string{"h", "g", "b"}, []string{"y"}, aInt("axis", -1))
	ln13 := newGraph(13).input("x", -1, 3, 4).output("y").
		init(floatT("g", []int64{4}, seq(4))).
		init(floatT("b", []int64{4}, seq(4)))
	in := "x"
	for i, out := range []string{"h", "y"} {
		p := string(rune('a' + i))
		ln13.constNodeT(p+"two", floatT("", nil, []float32{2})).
			constNodeT(p+"eps", floatT("", nil, []float32{1e-5})).
			node("ReduceMean", p+"mean", []string{in}, []string{p + "mu"}, aInts("axes", -1)).
			node("Sub", p+"sub", []string{in, p + "mu"}, []string{p + "d"}).
			node("Pow", p+"pow", []string{p + "d", p + "two"}, []string{p + "d2"}).
			node("ReduceMean", p+"var", []string{p + "d2"}, []string{p + "v"}, aInts("axes", -1)).
			node("Add", p+"addeps", []string{p + "v", p + "eps"}, []string{p + "ve"}).
			node("Sqrt", p+"sqrt", []string{p + "ve"}, []string{p + "s"}).
			node("Div", p+"div", []string{p + "d", p + "s"}, []string{p + "n"}).
			node("Mul", p+"mul", []string{p + "n", "g"}, []string{p + "ng"}).
			node("Add", p+"add", []string{p + "ng", "b"}, []string{out})
		in = out
	}
	t17, _, _ := paramsOf(t, ln17)
	t13, _, _ := paramsOf(t, ln13)
	if t17 != 8 || t13 != 8 {
		t.Errorf("opset 17 counts %d, opset 13 %d; want 8 (γ 4 + β 4) at both", t17, t13)
	}
}
