package onnx

import (
	"fmt"
	"math"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// preName is the name an op computes into: the node's own name, or a
// temporary when an activation follows.
func (b *builder) preName(n *ir.Node, a ir.Act) string {
	if a.IsLinear() {
		return n.Name
	}
	return b.fresh(n.Name + "/linear")
}

// spatialHW returns the logical height and width of a rank-4 value read with
// data format df.
func spatialHW(v *value, df ir.Layout) (h, w int) {
	t := ir.TensorType{Shape: v.shape, Layout: df}
	_, h, w, _ = t.Spatial()
	return h, w
}

// windowAttrs are the kernel_shape, strides, dilations and pads (or
// auto_pad when the size is unknown) of a convolution or pooling on v.
func windowAttrs(w ir.Window2D, v *value, df ir.Layout, conv bool) ([]*onnxpb.AttributeProto, error) {
	attrs := []*onnxpb.AttributeProto{
		aInts("kernel_shape", int64(w.KH), int64(w.KW)),
		aInts("strides", int64(w.SH), int64(w.SW)),
	}
	dh, dw := max(w.DH, 1), max(w.DW, 1)
	if conv || dh != 1 || dw != 1 {
		attrs = append(attrs, aInts("dilations", int64(dh), int64(dw)))
	}
	h, wd := spatialHW(v, df)
	var pads [4]int // top, bottom, left, right
	if h < 0 || wd < 0 {
		switch w.Padding {
		case ir.PadSame:
			return append(attrs, aString("auto_pad", "SAME_UPPER")), nil
		case ir.PadSameLower:
			return append(attrs, aString("auto_pad", "SAME_LOWER")), nil
		case ir.PadExplicit:
			pads = w.Pads
		case ir.PadFull:
			ph, pw := (w.KH-1)*dh, (w.KW-1)*dw
			pads = [4]int{ph, ph, pw, pw}
		}
	} else {
		_, _, p, err := w.Resolve(h, wd)
		if err != nil {
			return nil, err
		}
		pads = p
	}
	// A pool leaves zero pads out (the default): that also keeps ONNX
	// Runtime from fusing a preceding Pad into it (see padCrop). A
	// convolution states them, so that a Pad before it is fused.
	if conv || pads != [4]int{} {
		attrs = append(attrs, aInts("pads", int64(pads[0]), int64(pads[2]), int64(pads[1]), int64(pads[3])))
	}
	if w.CeilMode {
		attrs = append(attrs, aInt("ceil_mode", 1))
	}
	return attrs, nil
}

func (b *builder) conv(n *ir.Node, op *ir.Conv2D) (*value, error) {
	x := b.nchw(b.in(n, 0), op.DataFormat)
	k, ks, err := weight(n, "kernel", 0)
	if err != nil {
		return nil, err
	}
	// (kh, kw, in/groups, out) → (out, in/groups, kh, kw)
	w := b.weightInit(n.Name+"/kernel", []int{ks[3], ks[2], ks[0], ks[1]}, permute(k, ks, []int{3, 2, 0, 1}))
	ins := []string{x.name, w}
	if op.UseBias {
		bias, bs, err := weight(n, "bias", 1)
		if err != nil {
			return nil, err
		}
		ins = append(ins, b.weightInit(n.Name+"/bias", bs, bias))
	}
	attrs, err := windowAttrs(op.Window2D, x, op.DataFormat, true)
	if err != nil {
		return nil, err
	}
	if op.Groups > 1 {
		attrs = append(attrs, aInt("group", int64(op.Groups)))
	}
	out := b.add("Conv", ins, b.preName(n, op.Activation), attrs...)
	return b.activation(result(n, out, op.DataFormat != ir.ChannelsFirst), op.Activation, n.Name)
}

// depthwiseKernel turns (kh, kw, in, mult) into ONNX's (in*mult, 1, kh, kw):
// output channel c*mult+m.
func depthwiseKernel(k []float32, ks ir.Shape) ([]float32, []int) {
	cm := ks[2] * ks[3]
	return permute(k, []int{ks[0] * ks[1], cm}, []int{1, 0}), []int{cm, 1, ks[0], ks[1]}
}

func (b *builder) depthwise(n *ir.Node, op *ir.DepthwiseConv2D) (*value, error) {
	x := b.nchw(b.in(n, 0), op.DataFormat)
	k, ks, err := weight(n, "depthwise_kernel", 0)
	if err != nil {
		return nil, err
	}
	kd, kdims := depthwiseKernel(k, ks)
	ins := []string{x.name, b.weightInit(n.Name+"/depthwise_kernel", kdims, kd)}
	if op.UseBias {
		bias, bs, err := weight(n, "bias", 1)
		if err != nil {
			return nil, err
		}
		ins = append(ins, b.weightInit(n.Name+"/bias", bs, bias))
	}
	attrs, err := windowAttrs(op.Window2D, x, op.DataFormat, true)
	if err != nil {
		return nil, err
	}
	attrs = append(attrs, aInt("group", int64(ks[2])))
	out := b.add("Conv", ins, b.preName(n, op.Activation), attrs...)
	return b.activation(result(n, out, op.DataFormat != ir.ChannelsFirst), op.Activation, n.Name)
}

func (b *builder) separable(n *ir.Node, op *ir.SeparableConv2D) (*value, error) {
	x := b.nchw(b.in(n, 0), op.DataFormat)
	k, ks, err := weight(n, "depthwise_kernel", 0)
	if err != nil {
		return nil, err
	}
	p, ps, err := weight(n, "pointwise_kernel", 1)
	if err != nil {
		return nil, err
	}
	kd, kdims := depthwiseKernel(k, ks)
	attrs, err := windowAttrs(op.Window2D, x, op.DataFormat, true)
	if err != nil {
		return nil, err
	}
	attrs = append(attrs, aInt("group", int64(ks[2])))
	dw := b.step("Conv", []string{x.name, b.weightInit(n.Name+"/depthwise_kernel", kdims, kd)}, n.Name+"/depthwise", attrs...)
	// (1, 1, in*mult, filters) → (filters, in*mult, 1, 1)
	pw := b.weightInit(n.Name+"/pointwise_kernel", []int{ps[3], ps[2], 1, 1}, permute(p, []int{ps[2], ps[3]}, []int{1, 0}))
	ins := []string{dw, pw}
	if op.UseBias {
		bias, bs, err := weight(n, "bias", 2)
		if err != nil {
			return nil, err
		}
		ins = append(ins, b.weightInit(n.Name+"/bias", bs, bias))
	}
	out := b.add("Conv", ins, b.preName(n, op.Activation), aInts("kernel_shape", 1, 1))
	return b.activation(result(n, out, op.DataFormat != ir.ChannelsFirst), op.Activation, n.Name)
}

func (b *builder) deconv(n *ir.Node, op *ir.Conv2DTranspose) (*value, error) {
	x := b.nchw(b.in(n, 0), op.DataFormat)
	h, w := spatialHW(x, op.DataFormat)
	if h < 0 || w < 0 {
		return nil, fmt.Errorf("transposed convolution of an input of unknown size %v", x.shape)
	}
	_, _, crop, err := op.Geometry(h, w)
	if err != nil {
		return nil, err
	}
	// ONNX crops pads from the full output and adds output_padding at the
	// end; a negative crop at the end (Keras extends the output) becomes
	// output padding.
	var pads [4]int64 // top, left, bottom, right
	var outPad [2]int64
	for i, c := range []int{crop[0], crop[2], crop[1], crop[3]} {
		switch {
		case c >= 0:
			pads[i] = int64(c)
		case i >= 2:
			outPad[i-2] = int64(-c)
		default:
			return nil, fmt.Errorf("transposed convolution geometry %v cannot be expressed in ONNX", crop)
		}
	}
	k, ks, err := weight(n, "kernel", 0)
	if err != nil {
		return nil, err
	}
	// (kh, kw, out, in) → (in, out, kh, kw)
	ins := []string{x.name, b.weightInit(n.Name+"/kernel", []int{ks[3], ks[2], ks[0], ks[1]}, permute(k, ks, []int{3, 2, 0, 1}))}
	if op.UseBias {
		bias, bs, err := weight(n, "bias", 1)
		if err != nil {
			return nil, err
		}
		ins = append(ins, b.weightInit(n.Name+"/bias", bs, bias))
	}
	attrs := []*onnxpb.AttributeProto{
		aInts("kernel_shape", int64(op.KH), int64(op.KW)),
		aInts("strides", int64(op.SH), int64(op.SW)),
		aInts("dilations", int64(max(op.DH, 1)), int64(max(op.DW, 1))),
		aInts("pads", pads[:]...),
	}
	if outPad != [2]int64{} {
		attrs = append(attrs, aInts("output_padding", outPad[:]...))
	}
	out := b.add("ConvTranspose", ins, b.preName(n, op.Activation), attrs...)
	return b.activation(result(n, out, op.DataFormat != ir.ChannelsFirst), op.Activation, n.Name)
}

func (b *builder) pool(n *ir.Node, op *ir.Pool2D) (*value, error) {
	x := b.nchw(b.in(n, 0), op.DataFormat)
	if !op.Max && (op.DH > 1 || op.DW > 1) {
		// MaxPool has dilations since opset 10, AveragePool since 19.
		if err := b.needOpset(19, "dilated average pooling"); err != nil {
			return nil, err
		}
	}
	attrs, err := windowAttrs(op.Window2D, x, op.DataFormat, false)
	if err != nil {
		return nil, err
	}
	kind := "MaxPool"
	if !op.Max {
		kind = "AveragePool"
		inc := int64(0)
		if op.CountIncludePad {
			inc = 1
		}
		attrs = append(attrs, aInt("count_include_pad", inc))
	}
	return result(n, b.add(kind, []string{x.name}, n.Name, attrs...), op.DataFormat != ir.ChannelsFirst), nil
}

func (b *builder) globalPool(n *ir.Node, op *ir.GlobalPool2D) (*value, error) {
	x := b.nchw(b.in(n, 0), op.DataFormat)
	kind := "GlobalAveragePool"
	if op.Max {
		kind = "GlobalMaxPool"
	}
	if op.KeepDims {
		return result(n, b.add(kind, []string{x.name}, n.Name), op.DataFormat != ir.ChannelsFirst), nil
	}
	p := b.step(kind, []string{x.name}, n.Name+"/pool")
	return result(n, b.add("Flatten", []string{p}, n.Name, aInt("axis", 1)), false), nil
}

func (b *builder) dense(n *ir.Node, op *ir.Dense) (*value, error) {
	x := b.logical(b.in(n, 0))
	k, ks, err := weight(n, "kernel", 0)
	if err != nil {
		return nil, err
	}
	w := b.weightInit(n.Name+"/kernel", ks, k)
	var bias string
	if op.UseBias {
		d, bs, err := weight(n, "bias", 1)
		if err != nil {
			return nil, err
		}
		bias = b.weightInit(n.Name+"/bias", bs, d)
	}
	out := b.preName(n, op.Activation)
	switch {
	case len(x.shape) == 2 && bias != "":
		b.add("Gemm", []string{x.name, w, bias}, out)
	case len(x.shape) == 2:
		b.add("Gemm", []string{x.name, w}, out)
	case bias != "":
		mm := b.step("MatMul", []string{x.name, w}, n.Name+"/matmul")
		b.add("Add", []string{mm, bias}, out)
	default:
		b.add("MatMul", []string{x.name, w}, out)
	}
	return b.activation(result(n, out, false), op.Activation, n.Name)
}

func (b *builder) flatten(n *ir.Node, op *ir.Flatten) (*value, error) {
	x := b.logical(b.in(n, 0))
	name := x.name
	if op.ChannelsFirst && len(x.shape) == 4 {
		// Keras moves channels last first (the NHWC order of the logical
		// tensor, whatever its layout).
		name = b.step("Transpose", []string{name}, n.Name+"/hwc", aInts("perm", 0, 2, 3, 1))
	}
	return result(n, b.add("Flatten", []string{name}, n.Name, aInt("axis", 1)), false), nil
}

func (b *builder) reshape(n *ir.Node, op *ir.Reshape) (*value, error) {
	x := b.logical(b.in(n, 0))
	shape := []int64{0} // keep the batch
	for _, d := range op.Target {
		shape = append(shape, int64(d))
	}
	return result(n, b.add("Reshape", []string{x.name, b.constI(shape...)}, n.Name), false), nil
}

func (b *builder) permute(n *ir.Node, op *ir.Permute) (*value, error) {
	x := b.logical(b.in(n, 0))
	var perm []int64
	for _, d := range op.Perm() {
		perm = append(perm, int64(d))
	}
	return result(n, b.add("Transpose", []string{x.name}, n.Name, aInts("perm", perm...)), false), nil
}

func (b *builder) prelu(n *ir.Node, op *ir.PReLU) (*value, error) {
	x := b.in(n, 0)
	a, as, err := weight(n, "alpha", 0)
	if err != nil {
		return nil, err
	}
	dims := []int(as)
	if x.moved {
		// The slope (H, W, C) of an NHWC value stored NCHW: (C, H, W).
		a = permute(a, as, []int{2, 0, 1})
		dims = []int{as[2], as[0], as[1]}
	}
	slope := b.weightInit(n.Name+"/alpha", dims, a)
	return result(n, b.add("PRelu", []string{x.name, slope}, n.Name), x.moved), nil
}

func (b *builder) batchNorm(n *ir.Node, op *ir.BatchNorm) (*value, error) {
	x := b.in(n, 0)
	r := len(x.shape)
	axis := x.physAxis(op.ResolvedAxis(r))
	i := 0
	var gamma, beta []float32
	var err error
	if op.Scale {
		if gamma, _, err = weight(n, "gamma", i); err != nil {
			return nil, err
		}
		i++
	}
	if op.Center {
		if beta, _, err = weight(n, "beta", i); err != nil {
			return nil, err
		}
		i++
	}
	mean, _, err := weight(n, "moving_mean", i)
	if err != nil {
		return nil, err
	}
	variance, _, err := weight(n, "moving_variance", i+1)
	if err != nil {
		return nil, err
	}
	c := len(mean)
	if axis == 1 {
		if gamma == nil {
			gamma = fill(c, 1)
		}
		if beta == nil {
			beta = fill(c, 0)
		}
		ins := []string{x.name,
			b.weightInit(n.Name+"/gamma", []int{c}, gamma), b.weightInit(n.Name+"/beta", []int{c}, beta),
			b.weightInit(n.Name+"/moving_mean", []int{c}, mean), b.weightInit(n.Name+"/moving_variance", []int{c}, variance)}
		return result(n, b.add("BatchNormalization", ins, n.Name, aFloat("epsilon", op.Epsilon)), x.moved), nil
	}
	// Another axis: the affine y = x*scale + shift, broadcast on it.
	scale, shift := make([]float32, c), make([]float32, c)
	for j := range mean {
		g := 1.0
		if gamma != nil {
			g = float64(gamma[j])
		}
		s := g / math.Sqrt(float64(variance[j])+op.Epsilon)
		bt := 0.0
		if beta != nil {
			bt = float64(beta[j])
		}
		scale[j], shift[j] = float32(s), float32(bt-float64(mean[j])*s)
	}
	dims := []int{c}
	for k := axis + 1; k < r; k++ {
		dims = append(dims, 1)
	}
	mul := b.step("Mul", []string{x.name, b.weightInit(n.Name+"/scale", dims, scale)}, n.Name+"/scaled")
	return result(n, b.add("Add", []string{mul, b.weightInit(n.Name+"/shift", dims, shift)}, n.Name), x.moved), nil
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func (b *builder) merge(n *ir.Node, op *ir.Merge) (*value, error) {
	ins := make([]*value, len(n.Inputs))
	rank4 := len(n.Out.Shape) == 4
	for i := range n.Inputs {
		ins[i] = b.in(n, i)
		if len(ins[i].shape) != 4 {
			rank4 = false
		}
	}
	// Rank-4 inputs stay in the first one's storage: the same permutation
	// of every input keeps concatenation and broadcasting (e.g. (N,1,1,C)
	// against (N,H,W,C)) intact. Mixed ranks broadcast on logical shapes.
	moved := rank4 && ins[0].moved
	names := make([]string, len(ins))
	for i, v := range ins {
		names[i] = b.form(v, moved).name
	}
	res := func(name string) *value { return result(n, name, moved) }
	switch op.Mode {
	case ir.MergeConcat:
		v := &value{shape: n.Out.Shape, moved: moved}
		return res(b.add("Concat", names, n.Name, aInt("axis", int64(v.physAxis(op.ResolvedAxis(len(n.Out.Shape))))))), nil
	case ir.MergeSubtract:
		return res(b.add("Sub", names, n.Name)), nil
	case ir.MergeAverage:
		return res(b.add("Mean", names, n.Name)), nil
	case ir.MergeMaximum:
		return res(b.add("Max", names, n.Name)), nil
	case ir.MergeMinimum:
		return res(b.add("Min", names, n.Name)), nil
	case ir.MergeAdd, ir.MergeMultiply:
		kind := "Add"
		if op.Mode == ir.MergeMultiply {
			kind = "Mul"
		}
		if len(names) == 1 {
			return res(b.add("Identity", names, n.Name)), nil
		}
		if kind == "Add" && len(names) > 2 {
			return res(b.add("Sum", names, n.Name)), nil
		}
		acc := names[0]
		for i, x := range names[1:] {
			if i == len(names)-2 {
				return res(b.add(kind, []string{acc, x}, n.Name)), nil
			}
			acc = b.step(kind, []string{acc, x}, n.Name+"/partial")
		}
	}
	return nil, fmt.Errorf("merge mode %s is not supported", op.Kind())
}

func (b *builder) padCrop(n *ir.Node, p [4]int, df ir.Layout, pad bool) (*value, error) {
	x := b.nchw(b.in(n, 0), df)
	top, bottom, left, right := int64(p[0]), int64(p[1]), int64(p[2]), int64(p[3])
	var out string
	if pad {
		ins := []string{x.name, b.constI(0, 0, top, left, 0, 0, bottom, right)}
		if b.feedsPool[n.Name] {
			// ONNX Runtime's PadFusion moves a zero Pad into a following
			// MaxPool's pads, which pool over -inf, not zero (a known bug
			// of its optimizer). Padding with -0.0, equal to 0 in every
			// comparison and sum, is not fused.
			ins = append(ins, b.scalar(float32(math.Copysign(0, -1))))
		}
		out = b.add("Pad", ins, n.Name, aString("mode", "constant"))
	} else {
		end := func(c int64) int64 {
			if c == 0 {
				return int64Max
			}
			return -c
		}
		out = b.add("Slice", []string{x.name, b.constI(top, left), b.constI(end(bottom), end(right)), b.constI(2, 3)}, n.Name)
	}
	return result(n, out, df != ir.ChannelsFirst), nil
}

func (b *builder) upsample(n *ir.Node, op *ir.UpSampling2D) (*value, error) {
	x := b.nchw(b.in(n, 0), op.DataFormat)
	roi := ""
	if b.opset < 13 {
		roi = b.constF([]int{0})
	}
	scales := b.constF([]int{4}, 1, 1, float32(op.SH), float32(op.SW))
	var attrs []*onnxpb.AttributeProto
	switch op.Interpolation {
	case "", "nearest":
		// Keras repeats rows and columns: source index floor(out/scale).
		attrs = append(attrs, aString("mode", "nearest"), aString("coordinate_transformation_mode", "asymmetric"), aString("nearest_mode", "floor"))
	case "bilinear":
		// tf.image.resize: half-pixel centres, clamped at the edges.
		attrs = append(attrs, aString("mode", "linear"), aString("coordinate_transformation_mode", "half_pixel"))
	default:
		return nil, fmt.Errorf("upsampling interpolation %q is not supported", op.Interpolation)
	}
	return result(n, b.add("Resize", []string{x.name, roi, scales}, n.Name, attrs...), op.DataFormat != ir.ChannelsFirst), nil
}

func (b *builder) lambda(n *ir.Node, op *ir.Lambda) (*value, error) {
	switch op.Function {
	case "vgg_preprocess":
		x := b.in(n, 0)
		if len(x.shape) != 4 {
			return nil, fmt.Errorf("vgg_preprocess needs a rank-4 input, got %v", x.shape)
		}
		// The function reads its input's own layout.
		x = b.nchw(x, x.layout)
		mean := b.constF([]int{1, 3, 1, 1}, ir.VGGMean[0], ir.VGGMean[1], ir.VGGMean[2])
		sub := b.step("Sub", []string{x.name, mean}, n.Name+"/centered")
		// Reverse the channels (RGB → BGR): a Slice with step -1 from the
		// last channel to before the first (end -4 = -1 after adding the 3
		// channels, which ONNX reads as "past index 0").
		out := b.add("Slice", []string{sub, b.constI(-1), b.constI(-4), b.constI(1), b.constI(-1)}, n.Name)
		return result(n, out, x.moved), nil
	case "":
		return nil, fmt.Errorf("Lambda: its Python function is unknown, so it cannot be exported (name a Go implementation with --lambda %s=NAME)", n.Name)
	}
	return nil, fmt.Errorf("Lambda function %q has no ONNX translation (supported: vgg_preprocess)", op.Function)
}
