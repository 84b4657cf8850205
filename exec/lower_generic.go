package exec

import (
	"fmt"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
)

var unaryKernels = map[ir.UnaryOp]kernels.UnaryOp{
	ir.UnarySqrt: kernels.UnarySqrt, ir.UnaryReciprocal: kernels.UnaryReciprocal, ir.UnaryNeg: kernels.UnaryNeg,
	ir.UnaryAbs: kernels.UnaryAbs, ir.UnaryLog: kernels.UnaryLog,
}

// genericNode lowers the general tensor ops of ir/ops_tensor.go (the ones
// transformer graphs need). They work on values in logical storage. It
// reports whether it handled the node.
func (l *lowerer) genericNode(n *ir.Node) (bool, error) {
	in := func(i int) *value { return l.need(l.byNode[n.Inputs[i]], false) }
	out := func() *value {
		v := l.newValue(n.Name, n.Out, false)
		l.byNode[n.Name] = v
		return v
	}
	switch op := n.Op.(type) {
	case *ir.Unary:
		x := in(0)
		o := out()
		kop, ok := unaryKernels[op.Op]
		if !ok {
			return true, fmt.Errorf("unary op %v is not supported", op.Op)
		}
		l.add(&step{node: n.Name, ins: []*value{x}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			kernels.Unary(kop, dst, ins[0], ar.ws.Par())
			return nil
		}})
	case *ir.Expand:
		x := in(0)
		o := out()
		l.add(&step{node: n.Name, ins: []*value{x}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			kernels.BroadcastTo(dst, o.dims(bt), ins[0], x.dims(bt), ar.ws.Par())
			return nil
		}})
	default:
		return false, nil
	}
	return true, nil
}
