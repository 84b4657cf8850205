package ir

import (
	"fmt"
	"math"
)

// General element-wise and tensor ops that real ONNX graphs (torchvision's
// transformers: ViT, Swin, MaxViT) use beyond ops_onnx.go's.

// UnaryOp is the element-wise function of a Unary.
type UnaryOp uint8

// Unary functions: sqrt(x), 1/x, -x, |x|, ln(x) (IEEE float semantics:
// sqrt and ln of a negative number are NaN, 1/0 is +Inf).
const (
	UnarySqrt UnaryOp = iota
	UnaryReciprocal
	UnaryNeg
	UnaryAbs
	UnaryLog
)

var unaryNames = [...]string{"Sqrt", "Reciprocal", "Neg", "Abs", "Log"}

// String returns the ONNX op name of u.
func (u UnaryOp) String() string {
	if int(u) < len(unaryNames) {
		return unaryNames[u]
	}
	return fmt.Sprintf("UnaryOp(%d)", u)
}

// LookupUnary finds the Unary function ONNX op name computes (its
// String()).
func LookupUnary(name string) (UnaryOp, bool) {
	for i, n := range unaryNames {
		if n == name {
			return UnaryOp(i), true
		}
	}
	return 0, false
}

// Unary computes out = Op(in[0]) element-wise; the output has the input's
// type. (Activations are Activation ops; Unary holds the arithmetic
// functions no framework calls an activation.)
type Unary struct{ Op UnaryOp }

func (o *Unary) Kind() string { return "Unary" + o.Op.String() }
func (o *Unary) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if int(o.Op) >= len(unaryNames) {
		return TensorType{}, fmt.Errorf("unknown unary op %d", o.Op)
	}
	return TensorType{Shape: in[0].Shape.Clone(), Layout: in[0].Layout}, nil
}
func (*Unary) Weights([]TensorType) []WeightSpec { return nil }

// Eval applies u to one value (the folding importers do on constants;
// exec's kernels compute the same).
func (u UnaryOp) Eval(x float32) float32 {
	switch u {
	case UnarySqrt:
		return float32(math.Sqrt(float64(x)))
	case UnaryReciprocal:
		return 1 / x
	case UnaryNeg:
		return -x
	case UnaryAbs:
		return float32(math.Abs(float64(x)))
	case UnaryLog:
		return float32(math.Log(float64(x)))
	}
	return float32(math.NaN())
}

// Expand broadcasts its input to Shape with numpy rules (ONNX Expand: a 1 in
// Shape keeps the input's dimension, and the result may have a higher
// rank). Shape[0] is -1 where it is the dynamic batch.
type Expand struct{ Shape Shape }

func (*Expand) Kind() string { return "Expand" }
func (o *Expand) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	s, err := BroadcastStrict(in[0].Shape, o.Shape)
	if err != nil {
		return TensorType{}, err
	}
	return TensorType{Shape: s, Layout: layoutOfRank(in, len(s))}, nil
}
func (*Expand) Weights([]TensorType) []WeightSpec { return nil }
