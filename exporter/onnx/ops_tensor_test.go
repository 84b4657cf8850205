package onnx_test

import (
	"testing"

	onnxexport "github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/ir"
)

// TestTensorOps exports ir/ops_tensor.go's ops (every Unary, Expand) and
// Binary Pow; ONNX Runtime and kconv's re-import must compute what kconv
// computes.
func TestTensorOps(t *testing.T) {
	b := ir.NewBuilder("tensor_ops")
	x := b.Input("x", ir.Shape{1, 4}, ir.LayoutNone)
	a := b.Add("abs", &ir.Unary{Op: ir.UnaryAbs}, x)
	s := b.Add("sqrt", &ir.Unary{Op: ir.UnarySqrt}, a)
	k := b.Add("k", &ir.Constant{Shape: ir.Shape{4}}, x)
	p := b.Add("pow", &ir.Binary{Op: ir.BinaryPow}, s, k)
	l := b.Add("log", &ir.Unary{Op: ir.UnaryLog}, p)
	n := b.Add("neg", &ir.Unary{Op: ir.UnaryNeg}, l)
	r := b.Add("reciprocal", &ir.Unary{Op: ir.UnaryReciprocal}, s)
	m := b.Add("mul", &ir.Binary{Op: ir.BinaryMul}, n, r)
	b.Add("expand", &ir.Expand{Shape: ir.Shape{ir.Batch, 3, 4}}, m)
	model := built(t, b, 5)
	for _, opset := range []int{13, 17} {
		t.Run("opset"+itoa(opset), func(t *testing.T) { check(t, model, onnxexport.Options{Opset: opset}, 2) })
	}
}
