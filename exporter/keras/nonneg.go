package keras

import "github.com/kconv/kconv/ir"

// nonNegAct reports whether activation a never gives a negative value
// (for any finite input).
func nonNegAct(a ir.Act) bool {
	switch a.Name {
	case ir.ActReLU:
		return a.Alpha == 0 && a.Threshold >= 0
	case ir.ActReLU6, ir.ActSigmoid, ir.ActSoftmax, ir.ActSoftplus, ir.ActExponential:
		return true
	case ir.ActHardSigmoid:
		return true // clip(αx+β, 0, 1)
	}
	return false
}

// nonNegative reports whether node name's output is provably ≥ 0 for every
// input: the output of a ReLU (with slope 0), ReLU6, sigmoid, softmax,
// softplus, exponential or hard_sigmoid (as an activation layer or fused
// into a convolution or Dense), of a Clip with a non-negative lower bound,
// and max or average pooling, padding, cropping, reshaping, concatenation,
// addition, multiplication, maximum or minimum of such outputs.
//
// It lets a max pooling with explicit (or ceil-mode) padding be written as
// ZeroPadding2D + MaxPooling2D: ONNX pads max pooling with -inf, and over
// inputs ≥ 0 a zero cell changes no window's maximum (every window holds
// at least one input cell). memo caches results per node.
func (b *h5build) nonNegative(name string, memo map[string]bool) bool {
	if v, ok := memo[name]; ok {
		return v
	}
	memo[name] = false // cycles (none in a valid model) are not proofs
	n := b.idx[name]
	all := func() bool {
		for _, in := range n.Inputs {
			if !b.nonNegative(in, memo) {
				return false
			}
		}
		return len(n.Inputs) > 0
	}
	var v bool
	switch op := n.Op.(type) {
	case *ir.Activation:
		v = nonNegAct(op.Act)
	case *ir.Conv2D:
		v = nonNegAct(op.Activation)
	case *ir.DepthwiseConv2D:
		v = nonNegAct(op.Activation)
	case *ir.SeparableConv2D:
		v = nonNegAct(op.Activation)
	case *ir.Conv2DTranspose:
		v = nonNegAct(op.Activation)
	case *ir.Dense:
		v = nonNegAct(op.Activation)
	case *ir.Clip:
		v = op.Min >= 0
	case *ir.Pool2D, *ir.GlobalPool2D, *ir.ZeroPadding2D, *ir.Cropping2D, *ir.Flatten,
		*ir.Reshape, *ir.ReshapeTo, *ir.Permute, *ir.Transpose, *ir.Dropout, *ir.Concat,
		*ir.UpSampling2D, *ir.Slice:
		v = all()
	case *ir.Merge:
		switch op.Mode {
		case ir.MergeAdd, ir.MergeMultiply, ir.MergeMaximum, ir.MergeMinimum, ir.MergeConcat, ir.MergeAverage:
			v = all()
		}
	case *ir.Binary:
		switch op.Op {
		case ir.BinaryAdd, ir.BinaryMul, ir.BinaryMax, ir.BinaryMin:
			v = all()
		}
	case *ir.Constant:
		v = b.constNonNeg(n)
	}
	memo[name] = v
	return v
}

// constNonNeg reports whether every value of Constant node n is ≥ 0.
func (b *h5build) constNonNeg(n *ir.Node) bool {
	if len(n.Weights) != 1 {
		return false
	}
	d, err := n.Weights[0].Data()
	if err != nil {
		return false
	}
	for _, x := range d {
		if !(x >= 0) {
			return false
		}
	}
	return true
}
