package onnx

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
	"google.golang.org/protobuf/proto"
)

// runT imports b and runs it on x (batch 2), returning output 0.
func runT(t *testing.T, b *gb, x *ir.Tensor) *ir.Tensor {
	t.Helper()
	m := decodeT(t, b)
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(context.Background(), []*ir.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func scalarT(name string, v float32) *onnxpb.TensorProto {
	return floatT(name, nil, []float32{v})
}

func scalarI(name string, v int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(dtInt64), Int64Data: []int64{v}}
}

func closeT(t *testing.T, what string, got *ir.Tensor, shape ir.Shape, want []float32) {
	t.Helper()
	if !got.Shape.Equal(shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, shape)
	}
	for i, w := range want {
		g := got.Data[i]
		if math.IsNaN(float64(w)) != math.IsNaN(float64(g)) || math.Abs(float64(g-w)) > 1e-5*(1+math.Abs(float64(w))) {
			t.Fatalf("%s: [%d] = %g, want %g", what, i, g, w)
		}
	}
}

// TestTensorOpsRun checks the transformer ops on hand-computed values.
func TestTensorOpsRun(t *testing.T) {
	x := &ir.Tensor{Shape: ir.Shape{2, 3}, Data: []float32{4, 0.25, -1, 9, 2, 1}}
	nan := float32(math.NaN())
	for _, c := range []struct {
		op   string
		want []float32
	}{
		{"Sqrt", []float32{2, 0.5, nan, 3, float32(math.Sqrt(2)), 1}},
		{"Reciprocal", []float32{0.25, 4, -1, 1.0 / 9, 0.5, 1}},
		{"Neg", []float32{-4, -0.25, 1, -9, -2, -1}},
		{"Abs", []float32{4, 0.25, 1, 9, 2, 1}},
		{"Log", []float32{float32(math.Log(4)), float32(math.Log(0.25)), nan, float32(math.Log(9)), float32(math.Log(2)), 0}},
	} {
		b := newGraph(13).input("x", -1, 3).output("y").node(c.op, "u", []string{"x"}, []string{"y"})
		closeT(t, c.op, runT(t, b, x), ir.Shape{2, 3}, c.want)
	}
	// Pow with a broadcast exponent.
	b := newGraph(13).input("x", -1, 3).output("y").init(floatT("e", []int64{3}, []float32{2, 0.5, 3})).
		node("Pow", "p", []string{"x", "e"}, []string{"y"})
	closeT(t, "Pow", runT(t, b, x), ir.Shape{2, 3}, []float32{16, 0.5, -1, 81, float32(math.Sqrt(2)), 1})

	// Expand (N,1,3) to (N,2,3) with the target's 1 keeping the batch.
	x3 := &ir.Tensor{Shape: ir.Shape{2, 1, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}
	b = newGraph(13).input("x", -1, 1, 3).output("y").init(intT("s", 1, 2, 1)).
		node("Expand", "e", []string{"x", "s"}, []string{"y"})
	closeT(t, "Expand", runT(t, b, x3), ir.Shape{2, 2, 3}, []float32{1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6})

	// LayerNormalization over the last axis: rows (1,2,3) and (4,5,9).
	xl := &ir.Tensor{Shape: ir.Shape{2, 3}, Data: []float32{1, 2, 3, 4, 5, 9}}
	b = newGraph(17).input("x", -1, 3).output("y").
		init(floatT("g", []int64{3}, []float32{1, 2, 3})).init(floatT("b", []int64{3}, []float32{0, 1, 0})).
		node("LayerNormalization", "ln", []string{"x", "g", "b"}, []string{"y"}, aFloat("epsilon", 0))
	s1 := float32(math.Sqrt(2.0 / 3))
	s2 := float32(math.Sqrt(14.0 / 3)) // mean 6, deviations -2,-1,3
	closeT(t, "LayerNormalization", runT(t, b, xl), ir.Shape{2, 3},
		[]float32{-1 / s1, 1, 3 / s1, -2 / s2, 1 - 2/s2, 9 / s2})

	// Einsum "bij,bkj->bik": x·xᵀ per sample.
	b = newGraph(13).input("x", -1, 1, 3).output("y").
		node("Einsum", "e", []string{"x", "x"}, []string{"y"}, aStr("equation", "bij,bkj->bik"))
	closeT(t, "Einsum", runT(t, b, x3), ir.Shape{2, 1, 1}, []float32{14, 77})
	b = newGraph(13).input("x", -1, 1, 3).output("y").
		node("Einsum", "e", []string{"x", "x"}, []string{"y"}, aStr("equation", "bij,bjk->bik"))
	if _, err := Decode(b.bytes(t), ""); err == nil || !strings.Contains(err.Error(), "matmul inner sizes differ") {
		t.Errorf("Einsum with mismatched sizes: %v", err)
	}
	b = newGraph(13).input("x", -1, 1, 3).output("y").
		node("Einsum", "e", []string{"x", "x"}, []string{"y"}, aStr("equation", "bij,bij->b"))
	if _, err := Decode(b.bytes(t), ""); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Einsum reduction: %v", err)
	}
}

// TestTensorOpsFold checks the constant folding of Swin's mask
// arithmetic: Range, Mod, comparisons, Not, Where and ScatterND, added to
// the input so that the folded constant is visible.
func TestTensorOpsFold(t *testing.T) {
	// r = Range(0, 6, 1) = 0..5; m = r Mod 3 (= 0 1 2 0 1 2, also for
	// -6..-1 below: Python's sign); e = m == 0; w = Where(Not(e), 10, -1);
	// s = ScatterND(w, [[1]], [7]).
	b := newGraph(13).input("x", -1, 6).output("y").
		init(scalarI("start", 0)).init(scalarI("limit", 6)).init(scalarI("delta", 1)).
		init(scalarI("three", 3)).init(scalarI("zero", 0)).init(scalarI("six", 6)).
		init(scalarT("ten", 10)).init(scalarT("minus1", -1)).
		init(&onnxpb.TensorProto{Name: proto.String("idx"), Dims: []int64{1, 1}, DataType: proto.Int32(dtInt64), Int64Data: []int64{1}}).
		init(floatT("upd", []int64{1}, []float32{7})).
		node("Range", "range", []string{"start", "limit", "delta"}, []string{"r"}).
		node("Sub", "neg", []string{"r", "six"}, []string{"rn"}).
		node("Mod", "mod", []string{"rn", "three"}, []string{"m"}).
		node("Equal", "eq", []string{"m", "zero"}, []string{"e"}).
		node("Not", "not", []string{"e"}, []string{"ne"}).
		node("Where", "where", []string{"ne", "ten", "minus1"}, []string{"w"}).
		node("ScatterND", "scatter", []string{"w", "idx", "upd"}, []string{"s"}).
		node("Add", "add", []string{"x", "s"}, []string{"y"})
	x := &ir.Tensor{Shape: ir.Shape{2, 6}, Data: make([]float32, 12)}
	closeT(t, "fold", runT(t, b, x), ir.Shape{2, 6}, []float32{-1, 7, 10, -1, 10, 10, -1, 7, 10, -1, 10, 10})

	// A computed operand is refused with the op's name.
	b = newGraph(13).input("x", -1, 6).output("y").init(scalarT("z", 0)).
		node("Equal", "eq", []string{"x", "z"}, []string{"y"})
	if _, err := Decode(b.bytes(t), ""); err == nil || !strings.Contains(err.Error(), "Equal of a computed tensor") {
		t.Errorf("Equal of the input: %v", err)
	}
}
