package ir

// FLOPs returns the floating-point operations per sample of the model's
// multiply-accumulate layers (convolutions and dense layers), counting a
// multiply-add as two — the usual measure (VGG16: 30.9 GFLOP).
func FLOPs(m *Model) int64 {
	idx := m.Index()
	var total int64
	for _, n := range m.Nodes {
		total += NodeFLOPs(idx, n)
	}
	return total
}

// NodeFLOPs returns node n's share of FLOPs (idx is the model's Index).
func NodeFLOPs(idx map[string]*Node, n *Node) int64 {
	var total int64
	var in TensorType
	if len(n.Inputs) > 0 && idx[n.Inputs[0]] != nil {
		in = idx[n.Inputs[0]].Out
	}
	out := n.Out.Shape
	perOut := int64(0) // MACs per output element
	switch op := n.Op.(type) {
	case *Conv2D:
		c := channelsOf([]TensorType{in}, op.DataFormat)
		perOut = int64(op.KH*op.KW) * int64(c/op.groups())
	case *DepthwiseConv2D:
		perOut = int64(op.KH * op.KW)
	case *SeparableConv2D:
		c := channelsOf([]TensorType{in}, op.DataFormat)
		t := in
		t.Layout = op.DataFormat
		_, h, w, _ := t.Spatial()
		oh, ow, _, err := op.Resolve(h, w)
		if err == nil {
			total += 2 * int64(oh*ow) * int64(c*op.Multiplier) * int64(op.KH*op.KW)
		}
		perOut = int64(c * op.Multiplier)
	case *Conv2DTranspose:
		// Each input element meets every kernel tap and output channel.
		return 2 * Shape(in.Shape[1:]).Elements() * int64(op.KH*op.KW*op.Filters)
	case *Dense:
		if len(in.Shape) > 0 {
			perOut = int64(in.Shape[len(in.Shape)-1])
		}
	default:
		return 0
	}
	if len(out) > 1 {
		total += 2 * perOut * Shape(out[1:]).Elements()
	}
	return total
}
