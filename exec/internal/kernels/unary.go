package kernels

import (
	"fmt"
	"github.com/kconv/kconv/exec/internal/par"
	"math"
)

// UnaryOp is an element-wise arithmetic function (ir.Unary).
type UnaryOp uint8

// Unary functions, in ir.UnaryOp's order.
const (
	UnarySqrt UnaryOp = iota
	UnaryReciprocal
	UnaryNeg
	UnaryAbs
	UnaryLog
)

// String returns the name of op (ONNX's).
func (op UnaryOp) String() string {
	if n := [...]string{"Sqrt", "Reciprocal", "Neg", "Abs", "Log"}; int(op) < len(n) {
		return n[op]
	}
	return fmt.Sprintf("UnaryOp(%d)", op)
}

// Eval applies op to one value in float64, rounded to float32: the
// definition both Unary and RefUnary follow.
func (op UnaryOp) Eval(x float32) float32 {
	v := float64(x)
	switch op {
	case UnarySqrt:
		return float32(math.Sqrt(v))
	case UnaryReciprocal:
		return 1 / x
	case UnaryNeg:
		return -x
	case UnaryAbs:
		return float32(math.Abs(v))
	case UnaryLog:
		return float32(math.Log(v))
	}
	panic(fmt.Sprintf("kernels: unknown unary op %d", op))
}

// Unary writes op(x[i]) to dst[i] (dst may be x), split over threads.
func Unary(op UnaryOp, dst, x []float32, pl *par.Pool) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("kernels: unary of %d values into %d", len(x), len(dst)))
	}
	parRange(pl, len(x), 1, func(lo, hi int) {
		d, s := dst[lo:hi], x[lo:hi]
		switch op {
		case UnarySqrt:
			for i, v := range s {
				d[i] = float32(math.Sqrt(float64(v)))
			}
		case UnaryReciprocal:
			for i, v := range s {
				d[i] = 1 / v
			}
		case UnaryNeg:
			for i, v := range s {
				d[i] = -v
			}
		default:
			for i, v := range s {
				d[i] = op.Eval(v)
			}
		}
	})
}

// RefUnary is Unary's naive twin: one Eval per element, no threads.
func RefUnary(op UnaryOp, x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = op.Eval(v)
	}
	return out
}
