package keras

import (
	"math"

	"github.com/kconv/kconv/ir"
)

// The general ops that importer/onnx produces (ir/ops_onnx.go) are written
// where a Keras 2 layer computes exactly the same thing; every other one is
// an error naming the node:
//
//   - Transpose keeping axis 0 → Permute;
//   - ReshapeTo keeping dimension 0 → Reshape;
//   - Clip(0, max) → ReLU(max_value) (max_value None for +inf);
//   - Gemm (A computed, B and C Constants, no transA) and MatMul (B a rank-2
//     Constant) → Dense, alpha and beta folded into the kernel and bias;
//   - Binary of a computed tensor and a Constant that varies along at most
//     one axis (a per-channel or scalar operand): Add, Sub and Mul →
//     BatchNormalization on that axis with moving mean 0 and moving variance
//     1-ε (ε = 2⁻¹⁰, so that √(var+ε) is exactly 1): y = γ·x + β with
//     γ = 1 or c (or -1 for c - x) and β = ±c or 0, which is the Binary's
//     arithmetic exactly;
//   - Binary of two computed tensors (Add, Sub, Mul, Max, Min) → the merge
//     layer, which broadcasts as Binary does;
//   - Concat of computed tensors on an axis >= 1 → Concatenate;
//   - Slice with step 1 on the spatial axes of an image → Cropping2D.
//
// The exporter translates the IR it is given and recognises no idioms of a
// source format: the VGG preprocessing that PyTorch and tf2onnx export as a
// Sub and a Slice reaches it as a Lambda (pass ir.PassFoldVGGPreprocess, in
// importer/onnx's pipeline).
//
// Constant nodes are no layers: they are taken in by the layer they feed
// (above), and a Constant feeding anything else (a merge, a convolution, …)
// is an error.

// bnEpsilon is the BatchNormalization epsilon of Binary layers: a power of
// two, so that (1-ε)+ε is exactly 1 in float32 and float64.
const bnEpsilon = 1.0 / 1024

// varyingAxis returns the axis (of a rank-r operand it broadcasts against)
// along which a constant of shape s varies: -1 when it is a scalar, false
// when it varies along several axes, along axis 0 or has a higher rank.
func varyingAxis(s ir.Shape, r int) (int, bool) {
	if len(s) > r {
		return 0, false
	}
	ax := -1
	for i, d := range s {
		if d == 1 {
			continue
		}
		if ax >= 0 {
			return 0, false
		}
		ax = r - len(s) + i
	}
	return ax, ax != 0
}

// constData returns the data of the Constant node name, or nil.
func (b *h5build) constData(name string) (*ir.Node, []float32, error) {
	n := b.idx[name]
	if _, ok := n.Op.(*ir.Constant); !ok {
		return nil, nil, nil
	}
	if len(n.Weights) != 1 {
		return nil, nil, layerErr(n, "constant has no value (a model without weights cannot be written)")
	}
	d, err := n.Weights[0].Data()
	if err != nil {
		return nil, nil, layerErr(n, "constant: %v", err)
	}
	return n, d, nil
}

// isConst reports whether node name is a Constant.
func (b *h5build) isConst(name string) bool {
	_, ok := b.idx[name].Op.(*ir.Constant)
	return ok
}

// noConstInputs is the error for a node that takes a Constant it cannot
// state (nil when it takes none).
func (b *h5build) noConstInputs(n *ir.Node) error {
	for _, in := range n.Inputs {
		if b.isConst(in) {
			what := "a Keras layer"
			if _, ok := n.Op.(*ir.Merge); ok {
				what = "a Keras merge layer"
			}
			return layerErr(n, "input '%s' is a Constant, which %s cannot take (Keras layers have no constant inputs)", in, what)
		}
	}
	return nil
}

// onnxNode writes a general op; ok is false for other ops.
func (b *h5build) onnxNode(n *ir.Node, name string, ins []string) (out string, ok bool, err error) {
	switch op := n.Op.(type) {
	case *ir.Constant:
		return "", true, nil // taken in by its consumer

	case *ir.Transpose:
		p, ok := op.AsPermute()
		if !ok {
			return "", true, layerErr(n, "Transpose %v moves axis 0: Keras's Permute keeps the batch axis", op.Perm)
		}
		return b.add("Permute", name, permuteConfig(name, p.Dims), ins, nil), true, nil

	case *ir.ReshapeTo:
		in := b.idx[n.Inputs[0]].Out.Shape
		r, ok := op.AsReshape(in)
		if !ok {
			return "", true, layerErr(n, "reshape from %v to %v changes dimension 0: Keras's Reshape keeps the batch axis", in, op.Shape)
		}
		return b.add("Reshape", name, reshapeConfig(name, r.Target), ins, nil), true, nil

	case *ir.Clip:
		if op.Min != 0 || op.Max < 0 {
			return "", true, layerErr(n, "op Clip [%g, %g] has no Keras layer (only [0, max] is a ReLU)", op.Min, op.Max)
		}
		a := ir.Act{Name: ir.ActReLU}
		if !math.IsInf(op.Max, 1) {
			a.MaxValue, a.HasMax = op.Max, true
		}
		fields, _ := actAsLayer("ReLU", a)
		cfg := base(name)
		cfg = append(cfg, fields...)
		return b.add("ReLU", name, cfg, ins, nil), true, nil

	case *ir.Gemm:
		out, err := b.gemm(n, name, op)
		return out, true, err

	case *ir.MatMul:
		out, err := b.matmul(n, name)
		return out, true, err

	case *ir.Binary:
		out, err := b.binary(n, name, op, ins)
		return out, true, err

	case *ir.Concat:
		if err := b.noConstInputs(n); err != nil {
			return "", true, err
		}
		m, ok := op.AsMerge(false)
		if !ok {
			return "", true, layerErr(n, "concatenation on axis 0 has no Keras layer")
		}
		return b.add("Concatenate", name, mergeConfig("Concatenate", name, m.Axis), ins, nil), true, nil

	case *ir.Slice:
		out, err := b.crop(n, name, op, ins)
		return out, true, err
	}
	return "", false, nil
}

// gemm writes Y = alpha·A·B' + beta·C with constant B and C as Dense.
func (b *h5build) gemm(n *ir.Node, name string, op *ir.Gemm) (string, error) {
	aConst := b.isConst(n.Inputs[0])
	if aConst || op.TransA {
		return "", layerErr(n, "op Gemm has no Keras layer unless A is the computed (batch, K) input and B a Constant (Dense)")
	}
	bn, bd, err := b.constData(n.Inputs[1])
	if err != nil {
		return "", err
	}
	if bn == nil {
		return "", layerErr(n, "op Gemm of two computed tensors has no Keras layer (Dense needs a Constant B)")
	}
	bs := bn.Op.(*ir.Constant).Shape
	if !ir.GemmIsDense(op.TransA, aConst, true, len(bs)) {
		return "", layerErr(n, "op Gemm with B of shape %v has no Keras layer (Dense needs a rank-2 B)", bs)
	}
	k, units := bs[0], bs[1]
	if op.TransB {
		k, units = bs[1], bs[0]
	}
	kernel := make([]float32, k*units)
	ir.GemmKernelRows(bd, 0, k, units, float32(op.Alpha), op.TransB, kernel)
	var bias []float32
	if len(n.Inputs) == 3 && op.Beta != 0 {
		cn, cd, err := b.constData(n.Inputs[2])
		if err != nil {
			return "", err
		}
		if cn == nil {
			return "", layerErr(n, "op Gemm with a computed C has no Keras layer")
		}
		cs := cn.Op.(*ir.Constant).Shape
		if ax, ok := varyingAxis(cs, 2); !ok || (ax == 0) {
			return "", layerErr(n, "op Gemm with C of shape %v has no Keras layer (Dense's bias is one value per unit)", cs)
		}
		bias = make([]float32, units)
		ir.GemmBias(bias, float32(op.Beta), cd)
	}
	return b.dense(n, name, []string{b.out[n.Inputs[0]]}, k, units, kernel, bias), nil
}

// matmul writes A·B with a rank-2 Constant B as Dense.
func (b *h5build) matmul(n *ir.Node, name string) (string, error) {
	bn, bd, err := b.constData(n.Inputs[1])
	if err != nil {
		return "", err
	}
	bRank := 0
	if bn != nil {
		bRank = len(bn.Op.(*ir.Constant).Shape)
	}
	if !ir.MatMulIsDense(b.isConst(n.Inputs[0]), len(b.idx[n.Inputs[0]].Out.Shape), bn != nil, bRank) {
		return "", layerErr(n, "op MatMul has no Keras layer unless B is a rank-2 Constant and A a computed tensor of rank >= 2 (Dense)")
	}
	bs := bn.Op.(*ir.Constant).Shape
	return b.dense(n, name, []string{b.out[n.Inputs[0]]}, bs[0], bs[1], bd, nil), nil
}

// dense adds a Dense layer with the given kernel (k, units) and bias (nil:
// none).
func (b *h5build) dense(n *ir.Node, name string, ins []string, k, units int, kernel, bias []float32) string {
	ws := []kweight{{name: name + "/kernel:0", shape: []int{k, units}, data: kernel}}
	if bias != nil {
		ws = append(ws, kweight{name: name + "/bias:0", shape: []int{units}, data: bias})
	}
	return b.add("Dense", name, denseConfig(name, units, "linear", bias != nil), ins, ws)
}

// binary writes a Binary: a merge layer for two computed tensors, a
// BatchNormalization for a computed tensor and a per-channel Constant.
func (b *h5build) binary(n *ir.Node, name string, op *ir.Binary, ins []string) (string, error) {
	c0, c1 := b.isConst(n.Inputs[0]), b.isConst(n.Inputs[1])
	switch {
	case c0 && c1:
		return "", layerErr(n, "Binary %s of two Constants has no Keras layer", op.Op)
	case !c0 && !c1:
		mode, ok := op.Op.MergeMode()
		if !ok {
			return "", layerErr(n, "Binary %s of two computed tensors has no Keras layer", op.Op)
		}
		class := (&ir.Merge{Mode: mode}).Kind()
		return b.add(class, name, mergeConfig(class, name, 0), ins, nil), nil
	}
	xi, ki := 0, 1
	if c0 {
		xi, ki = 1, 0
	}
	kn, kd, err := b.constData(n.Inputs[ki])
	if err != nil {
		return "", err
	}
	xt := b.idx[n.Inputs[xi]].Out
	ks := kn.Op.(*ir.Constant).Shape
	r := len(xt.Shape)
	ax, ok := varyingAxis(ks, r)
	if !ok || !n.Out.Shape.Equal(xt.Shape) {
		return "", layerErr(n, "Binary %s with a Constant of shape %v has no Keras layer (only a per-channel or scalar operand is: BatchNormalization)", op.Op, ks)
	}
	if ax < 0 {
		ax = r - 1 // a scalar: the same value on every channel of the last axis
	}
	if r < 2 || xt.Shape[ax] < 1 {
		return "", layerErr(n, "Binary %s on %v has no Keras layer", op.Op, xt.Shape)
	}
	ch := xt.Shape[ax]
	at := func(i int) float32 { return kd[i%len(kd)] }
	gamma, beta := make([]float32, ch), make([]float32, ch)
	var scale, center bool
	for i := range gamma {
		switch {
		case op.Op == ir.BinaryAdd:
			beta[i], center = at(i), true
		case op.Op == ir.BinarySub && xi == 0: // x - c
			beta[i], center = -at(i), true
		case op.Op == ir.BinarySub: // c - x
			gamma[i], beta[i], scale, center = -1, at(i), true, true
		case op.Op == ir.BinaryMul:
			gamma[i], scale = at(i), true
		default:
			return "", layerErr(n, "Binary %s with a Constant has no exact Keras layer (Add, Sub and Mul are a BatchNormalization)", op.Op)
		}
	}
	var ws []kweight
	if scale {
		ws = append(ws, kweight{name: name + "/gamma:0", shape: []int{ch}, data: gamma})
	}
	if center {
		ws = append(ws, kweight{name: name + "/beta:0", shape: []int{ch}, data: beta})
	}
	variance := make([]float32, ch)
	for i := range variance {
		variance[i] = float32(1 - bnEpsilon)
	}
	ws = append(ws, kweight{name: name + "/moving_mean:0", shape: []int{ch}, data: make([]float32, ch)},
		kweight{name: name + "/moving_variance:0", shape: []int{ch}, data: variance})
	return b.add("BatchNormalization", name, batchNormConfig(name, ax, bnEpsilon, center, scale), []string{b.out[n.Inputs[xi]]}, ws), nil
}

// crop writes a Slice with step 1 on the height and width of an image as
// Cropping2D.
func (b *h5build) crop(n *ir.Node, name string, op *ir.Slice, ins []string) (string, error) {
	t := b.idx[n.Inputs[0]].Out
	fail := layerErr(n, "op Slice has no Keras layer (only a step-1 slice of an image's height and width is: Cropping2D, or of its channels: a 1x1 Conv2D)")
	if len(t.Shape) == 4 && t.Layout == ir.LayoutNone {
		t.Layout = b.imageLayout()
	}
	if len(t.Shape) != 4 || t.Layout == ir.LayoutNone {
		return "", fail
	}
	res, err := op.Resolve(t.Shape)
	if err != nil {
		return "", &ir.LayerError{Layer: n.Name, Err: err}
	}
	h := 1
	if t.Layout == ir.ChannelsFirst {
		h = 2
	}
	if out, ok := b.channelSlice(n, name, t, res, ins); ok {
		return out, nil
	}
	for i, r := range res {
		whole := r.Start == 0 && r.Step == 1 && r.Count == t.Shape[i]
		if !whole && (i != h && i != h+1 || r.Step != 1) {
			return "", fail
		}
	}
	crop := [4]int{res[h].Start, t.Shape[h] - res[h].Start - res[h].Count, res[h+1].Start, t.Shape[h+1] - res[h+1].Start - res[h+1].Count}
	return b.add("Cropping2D", name, croppingConfig(name, crop, t.Layout), ins, nil), nil
}

// imageLayout is the layout of the model's rank-4 inputs, which rank-4
// tensors without a layout of their own (after a Reshape) keep: an ONNX
// model exported from PyTorch is NCHW throughout. LayoutNone when the
// model has no rank-4 input.
func (b *h5build) imageLayout() ir.Layout {
	for _, in := range b.m.Inputs {
		if t := b.idx[in].Out; len(t.Shape) == 4 {
			return t.Layout
		}
	}
	return ir.LayoutNone
}

// channelSlice writes a step-1 Slice of an image's channels only (ShuffleNet's
// channel split) as a 1x1 Conv2D without bias whose kernel selects the
// channels: each output is 1·x plus 0·(the others), exactly x for finite
// inputs. ok is false for other slices.
func (b *h5build) channelSlice(n *ir.Node, name string, t ir.TensorType, res []ir.SliceAxis, ins []string) (string, bool) {
	ch := 3
	if t.Layout == ir.ChannelsFirst {
		ch = 1
	}
	for i, r := range res {
		whole := r.Start == 0 && r.Step == 1 && r.Count == t.Shape[i]
		if i == ch && (whole || r.Step != 1 || r.Count < 1) || i != ch && !whole {
			return "", false
		}
	}
	c, k, start := t.Shape[ch], res[ch].Count, res[ch].Start
	if c < 1 {
		return "", false
	}
	kernel := make([]float32, c*k)
	for j := 0; j < k; j++ {
		kernel[(start+j)*k+j] = 1
	}
	ws := []kweight{{name: name + "/kernel:0", shape: []int{1, 1, c, k}, data: kernel}}
	cfg := b.convConfig(name, convSpec{class: "Conv2D", filters: k, win: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1},
		padding: "valid", df: t.Layout, act: "linear"})
	return b.add("Conv2D", name, cfg, ins, ws), true
}
