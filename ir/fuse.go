package ir

import (
	"fmt"
	"slices"
)

// Fusion records what the optimizing passes (FusePasses) folded into a
// convolution or dense node, so that the node's text shows it and exec
// computes it in the node's epilogue. It is nil on every node of an
// imported model: only the pipeline exec compiles with (and kconv ir
// prints) makes it; summaries and exporters never see it.
//
// The node computes, in this order:
//
//	y = Activation( BN( op(pad(x)) + bias ) + Adds… + Residual )
//
// Weights folded from other nodes are not copied or combined here: the
// node carries the same lazy weights (BN's after the op's own, then one
// per Add), and exec does the arithmetic when it compiles, as it folds any
// kernel. Loading a model therefore reads and allocates nothing more.
type Fusion struct {
	// Nodes are the names of the nodes this node stands for, in graph
	// order; the node carries the name of the one its chain ends with,
	// so model outputs and kept nodes keep their names.
	Nodes []string
	// Pads is a ZeroPadding2D folded in front of the window (top, bottom,
	// left, right), on top of the op's own padding. The node's input is
	// then the padding's input.
	Pads [4]int
	// BN is a batch normalization on the output channels folded after the
	// op; its weights (gamma if Scale, beta if Center, moving mean and
	// variance) follow the op's own.
	BN *BatchNorm
	// Adds are the shapes of constants added on the channel axis (biases
	// an ONNX export keeps as separate Adds), each broadcasting along the
	// channel axis only or a single value; one weight each follows BN's.
	Adds []Shape
	// Residual names a node whose output, of the node's own type, is added
	// after BN and Adds and before the activation (a ResNet skip
	// connection). It is the node's last input.
	Residual string
	// Pool is a pooling after the activation (Conv2D only; a 2×2,
	// stride-2, unpadded one, or a max pooling without dilation): the
	// node's output is the pooled tensor. exec computes it inside the
	// convolution's step when its kernel can (SmallConv), else by a
	// pooling step after it.
	Pool *Pool2D
}

// clone returns a deep copy of f (a new Fusion when f is nil).
func (f *Fusion) clone() *Fusion {
	if f == nil {
		return &Fusion{}
	}
	c := *f
	c.Nodes = slices.Clone(f.Nodes)
	c.Adds = slices.Clone(f.Adds)
	if f.BN != nil {
		bn := *f.BN
		c.BN = &bn
	}
	if f.Pool != nil {
		pl := *f.Pool
		c.Pool = &pl
	}
	return &c
}

// PoolOp returns f.Pool, or nil when f is nil.
func (f *Fusion) PoolOp() *Pool2D {
	if f == nil {
		return nil
	}
	return f.Pool
}

// pooled applies f.Pool, if any, to the op's output type.
func (f *Fusion) pooled(out TensorType) (TensorType, error) {
	if f == nil || f.Pool == nil {
		return out, nil
	}
	return f.Pool.Infer([]TensorType{out})
}

// PadsOrZero returns f.Pads, or zeros when f is nil.
func (f *Fusion) PadsOrZero() [4]int {
	if f == nil {
		return [4]int{}
	}
	return f.Pads
}

// ResidualName returns f.Residual, or "" when f is nil.
func (f *Fusion) ResidualName() string {
	if f == nil {
		return ""
	}
	return f.Residual
}

// bnWeights is how many weights a folded BN carries.
func bnWeights(bn *BatchNorm) int {
	n := 2
	if bn.Scale {
		n++
	}
	if bn.Center {
		n++
	}
	return n
}

// WeightCount returns how many of a node's weights the fusion added (they
// come after the op's own).
func (f *Fusion) WeightCount() int {
	if f == nil {
		return 0
	}
	n := len(f.Adds)
	if f.BN != nil {
		n += bnWeights(f.BN)
	}
	return n
}

// split returns the inputs of the op itself (all but the residual) and the
// residual's type, if any.
func (f *Fusion) split(in []TensorType) ([]TensorType, *TensorType, error) {
	if f == nil || f.Residual == "" {
		return in, nil, nil
	}
	if len(in) < 2 {
		return nil, nil, fmt.Errorf("residual %s: expected 2 inputs, got %d", f.Residual, len(in))
	}
	return in[:len(in)-1], &in[len(in)-1], nil
}

// padIn returns in with f.Pads added to the spatial dims of its first
// input (in layout df); in itself is not changed.
func (f *Fusion) padIn(in []TensorType, df Layout) []TensorType {
	if f == nil || f.Pads == [4]int{} || len(in) == 0 || len(in[0].Shape) != 4 {
		return in
	}
	for _, p := range f.Pads {
		if p < 0 {
			return in // windowOut's check names the negative padding
		}
	}
	out := slices.Clone(in)
	t := out[0]
	t.Shape = t.Shape.Clone()
	h, w := 1, 2
	if df == ChannelsFirst {
		h, w = 2, 3
	}
	if t.Shape[h] >= 0 {
		t.Shape[h] += f.Pads[0] + f.Pads[1]
	}
	if t.Shape[w] >= 0 {
		t.Shape[w] += f.Pads[2] + f.Pads[3]
	}
	out[0] = t
	return out
}

// check verifies the folded parts against the op's output type out, whose
// channel axis is ch, and the residual's type.
func (f *Fusion) check(out TensorType, ch int, skip *TensorType) (TensorType, error) {
	if f == nil {
		return out, nil
	}
	r := len(out.Shape)
	if f.BN != nil && f.BN.ResolvedAxis(r) != ch {
		return TensorType{}, fmt.Errorf("folded batch normalization on axis %d, the channels are on axis %d", f.BN.Axis, ch)
	}
	for _, s := range f.Adds {
		if !channelBroadcast(s, r, ch, out.Shape[ch]) {
			return TensorType{}, fmt.Errorf("folded constant of shape %v does not broadcast on the channel axis of %v", s, out.Shape)
		}
	}
	if skip != nil && !skip.Shape.Equal(out.Shape) {
		return TensorType{}, fmt.Errorf("residual %s has shape %v, the output %v", f.Residual, skip.Shape, out.Shape)
	}
	return out, nil
}

// specs returns the weight specs of the folded parts for ch output
// channels.
func (f *Fusion) specs(ch int) []WeightSpec {
	if f == nil {
		return nil
	}
	var ws []WeightSpec
	if f.BN != nil {
		bn := *f.BN
		bn.Axis = -1 // the specs only need the channel count
		ws = append(ws, bn.Weights([]TensorType{{Shape: Shape{-1, ch}}})...)
		for i := range ws {
			ws[i].Name = "bn_" + ws[i].Name
		}
	}
	for i, s := range f.Adds {
		ws = append(ws, WeightSpec{Name: fmt.Sprintf("add%d", i), Shape: s})
	}
	return ws
}

// channelBroadcast reports whether a constant of shape s, added to a
// rank-r tensor with c channels on axis ch, broadcasts along that axis only
// (or is one value) without raising the rank.
func channelBroadcast(s Shape, r, ch, c int) bool {
	if len(s) == 0 || len(s) > r {
		return false
	}
	for i, d := range s {
		axis := r - len(s) + i
		if d != 1 && !(axis == ch && d == c) {
			return false
		}
	}
	return true
}

// channelAxis is the channel axis of a rank-4 tensor in layout df.
func channelAxis(df Layout) int {
	if df == ChannelsFirst {
		return 1
	}
	return 3
}

// CopyForPasses returns a copy of m whose node list holds copies of m's
// nodes (their ops, weights and types shared): passes that replace a
// node's op, inputs or weights rather than change them in place, as the
// fusion passes do, then leave m as it was. Nothing is read or allocated
// per weight.
func (m *Model) CopyForPasses() *Model {
	c := *m
	c.Inputs = slices.Clone(m.Inputs)
	c.Outputs = slices.Clone(m.Outputs)
	c.Warnings = slices.Clone(m.Warnings)
	c.Passes = slices.Clone(m.Passes)
	c.Nodes = make([]*Node, len(m.Nodes))
	for i, n := range m.Nodes {
		nc := *n
		c.Nodes[i] = &nc
	}
	return &c
}
