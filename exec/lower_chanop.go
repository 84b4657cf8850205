package exec

import (
	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
)

// channelOp lowers a broadcast Binary between a 4-D NCHW tensor x kept in
// NHWC storage and a per-channel operand y of shape (N or 1, C, 1, 1) —
// the channel scale of a squeeze-and-excitation block, Mul(x, sigmoid(…))
// — or (C, 1, 1) (a per-channel constant that ONNX broadcasts from the
// right: ConvNeXt's layer scale) as one channels-last step: without it, the logical-layout Binary
// would transpose x to NCHW and its result back for the next convolution.
// y's storage needs no conversion (with 1×1 spatial dims both layouts are
// the same memory). It reports whether it took the node.
func (l *lowerer) channelOp(n *ir.Node, op *ir.Binary) bool {
	if l.p.opts.NoFuse || len(n.Inputs) != 2 {
		return false
	}
	out := n.Out.Shape
	if len(out) != 4 || out[1] < 1 || out[2] < 1 || out[3] < 1 {
		return false
	}
	for xi := range 2 {
		x, y := l.byNode[n.Inputs[xi]], l.byNode[n.Inputs[1-xi]]
		if x == nil || y == nil || !x.nhwc || !x.shape.Equal(out) {
			continue
		}
		c := out[1]
		switch ys := y.shape; {
		case len(ys) == 4 && ys[1] == c && ys[2] == 1 && ys[3] == 1 && (ys[0] == 1 || ys[0] == out[0]):
		case len(ys) == 3 && ys[0] == c && ys[1] == 1 && ys[2] == 1 && y.constant != nil:
		default:
			continue
		}
		perSample := len(y.shape) == 4
		o := l.newValue(n.Name, n.Out, true)
		l.byNode[n.Name] = o
		kop := [...]kernels.BinaryOp{kernels.OpAdd, kernels.OpSub, kernels.OpMul, kernels.OpDiv, kernels.OpMax, kernels.OpMin}[op.Op]
		yFirst := xi == 1
		l.add(&step{node: n.Name, ins: []*value{x, y}, out: o, inplace: true, chanScale: kop == kernels.OpMul, fn: func(a *arena, b int, ins [][]float32, dst []float32) error {
			bn := x.batch(b)
			stride := 0 // y shared by every sample
			if perSample && y.batch(b) == bn {
				stride = c
			}
			kernels.ChannelOp(kop, dst, ins[0], bn, out[2]*out[3], c, ins[1], stride, yFirst, &a.ws)
			return nil
		}})
		return true
	}
	return false
}

// concatNHWC lowers a 4-D Concat whose inputs are all kept in NHWC storage
// (DenseNet's and SqueezeNet's channel concats of convolution outputs) as
// a concat of the stored tensors on the stored axis, so that neither the
// inputs nor the result are transposed. It reports whether it took the
// node.
func (l *lowerer) concatNHWC(n *ir.Node, op *ir.Concat) bool {
	if len(n.Out.Shape) != 4 || len(n.Inputs) == 0 {
		return false
	}
	vs := make([]*value, len(n.Inputs))
	for i, name := range n.Inputs {
		if vs[i] = l.byNode[name]; vs[i] == nil {
			return false
		}
	}
	if !concatKeepsNHWC(vs) {
		return false
	}
	o := l.newValue(n.Name, n.Out, true)
	l.byNode[n.Name] = o
	axis := physAxis(o, op.Axis)
	l.add(&step{node: n.Name, ins: vs, out: o, chanConcat: axis == 3, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
		shapes := make([][]int, len(vs))
		for i, v := range vs {
			shapes[i] = v.physical(bt)
		}
		kernels.Concat(dst, ins, shapes, axis)
		return nil
	}})
	return true
}

// concatKeepsNHWC reports whether a concat of ins can work on their NHWC
// storage (on the stored axis): all are 4-D and so stored. Concat is
// layout-agnostic once the axis is mapped, so transposing every input to
// NCHW (and, for the convolution after it, the result back) is waste.
func concatKeepsNHWC(ins []*value) bool {
	for _, v := range ins {
		if len(v.shape) != 4 || !v.nhwc || v.constant != nil {
			return false
		}
	}
	return len(ins) > 0
}

// bnAct lowers an inference batch normalization whose channel axis is the
// stored last axis (NCHW kept in NHWC storage, or channels-last data) as
// one vector step with its element-wise activation ka (the activation after
// it that fuse-activation folded in: DenseNet's BN → ReLU before each
// convolution). It reports whether it took the node.
func (l *lowerer) bnAct(n *ir.Node, op *ir.BatchNorm, scale, shift []float32, ka kernels.Activation) bool {
	in := l.byNode[n.Inputs[0]]
	r := len(in.shape)
	if r < 2 || physAxis(in, op.ResolvedAxis(r)) != r-1 || in.constant != nil {
		return false
	}
	c := in.shape[op.ResolvedAxis(r)]
	if c != len(scale) {
		return false
	}
	out := l.newValue(n.Name, n.Out, in.nhwc)
	l.byNode[n.Name] = out
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, inplace: true, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		kernels.ChannelAffineAct(o, ins[0], c, scale, shift, ka, &a.ws)
		return nil
	}, inStride: bnActStrided(c, scale, shift, ka), preAffine: preAffineOf(scale, shift, ka)})
	return true
}
