package keras

import (
	"fmt"
	"reflect"

	"github.com/kconv/kconv/ir"
)

// lambdaModule is the module written for Lambda functions: kconv's
// registered lambdas (ir.RegisterLambda), which Python does not have.
const lambdaModule = "kconv"

func layerErr(n *ir.Node, format string, args ...any) error {
	return &ir.LayerError{Layer: n.Name, Err: fmt.Errorf(format, args...)}
}

// base is the config every layer starts with (Layer.get_config).
func base(name string) jobj { return obj("name", name, "trainable", true, "dtype", "float32") }

// initializer is a serialized Keras 2 initializer.
func initializer(class string) jobj {
	if class == "GlorotUniform" {
		return obj("class_name", class, "config", obj("seed", nil))
	}
	return obj("class_name", class, "config", obj())
}

func pair(a, b int) []int { return []int{a, b} }

func dataFormat(l ir.Layout) string {
	if l == ir.ChannelsFirst {
		return "channels_first"
	}
	return "channels_last"
}

func (b *h5build) add(class, name string, cfg jobj, inputs []string, ws []kweight) string {
	b.layers = append(b.layers, &klayer{class: class, name: name, cfg: cfg, inputs: inputs, weights: ws})
	return name
}

// extraName is a fresh name for a layer added for node n.
func (b *h5build) extraName(n *ir.Node, suffix string) string {
	name := uniqueName(b.names[n.Name]+suffix, b.taken)
	b.taken[name] = true
	return name
}

// inputs returns the Keras layers giving n's inputs.
func (b *h5build) inputs(n *ir.Node) []string {
	out := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		out[i] = b.out[in]
	}
	return out
}

// inSize returns the height and width of n's first input (-1: unknown).
func (b *h5build) inSize(n *ir.Node, df ir.Layout) (h, w int) {
	t := b.idx[n.Inputs[0]].Out
	t.Layout = df
	_, h, w, err := t.Spatial()
	if err != nil {
		return -1, -1
	}
	return h, w
}

// weights returns n's weights as Keras datasets of layer lname.
func (b *h5build) weights(n *ir.Node, lname string) ([]kweight, error) {
	if len(n.Weights) != len(n.Specs) {
		return nil, layerErr(n, "has %d weight(s), expected %d (a model without weights cannot be written)", len(n.Weights), len(n.Specs))
	}
	out := make([]kweight, len(n.Specs))
	for i, s := range n.Specs {
		data, err := n.Weights[i].Data()
		if err != nil {
			return nil, layerErr(n, "weight %s: %v", s.Name, err)
		}
		if int64(len(data)) != s.Shape.Elements() {
			return nil, layerErr(n, "weight %s has %d values, expected %d for shape %v", s.Name, len(data), s.Shape.Elements(), s.Shape)
		}
		out[i] = kweight{name: lname + "/" + s.Name + ":0", shape: s.Shape.Clone(), data: data}
	}
	return out, nil
}

// zeroPad adds a ZeroPadding2D layer.
func (b *h5build) zeroPad(name string, p [4]int, df ir.Layout, in []string) []string {
	return []string{b.add("ZeroPadding2D", name, zeroPaddingConfig(name, p, df), in, nil)}
}

// windowKind says how a window op may realize padding.
type windowKind int

const (
	winConv    windowKind = iota // zero padding is the op's own padding
	winPool                      // max, or average not counting the padding
	winAvgIncl                   // average counting the padding (ONNX)
)

// window maps a window op's geometry to Keras's padding ("valid" or
// "same") and, when needed, explicit pads (top, bottom, left, right) for a
// ZeroPadding2D layer before it.
//
// zeroPadOK says that a zero padding is exact for this max pooling (its
// input is provably non-negative, see nonNegative): explicit padding and
// a ceil_mode that adds an output row or column then become a
// ZeroPadding2D (the ceil mode as extra bottom and right padding that
// completes the last window). Without it they are errors saying why.
func (b *h5build) window(n *ir.Node, win ir.Window2D, df ir.Layout, kind windowKind, zeroPadOK bool) (string, *[4]int, error) {
	h, w := b.inSize(n, df)
	known := h >= 0 && w >= 0
	if win.DH > 1 || win.DW > 1 {
		if kind != winConv {
			return "", nil, layerErr(n, "Keras 2 pooling has no dilation (dilations %dx%d)", win.DH, win.DW)
		}
		if win.SH > 1 || win.SW > 1 {
			return "", nil, layerErr(n, "Keras 2 does not allow strides > 1 with dilation > 1 (strides %dx%d, dilations %dx%d)", win.SH, win.SW, win.DH, win.DW)
		}
	}
	if win.CeilMode {
		floor := win
		floor.CeilMode = false
		if !known {
			return "", nil, layerErr(n, "ceil_mode needs a known input size to be written for Keras 2")
		}
		oh, ow, cp, err1 := win.Resolve(h, w)
		fh, fw, _, err2 := floor.Resolve(h, w)
		if err1 != nil || err2 != nil {
			return "", nil, layerErr(n, "ceil_mode: window does not fit the input")
		}
		if oh != fh || ow != fw {
			if kind != winPool || !zeroPadOK {
				return "", nil, layerErr(n, "ceil_mode changes the output size (%dx%d instead of %dx%d): Keras has no ceil mode, and extra zero padding is exact only for max pooling of a non-negative input (after a ReLU)", oh, ow, fh, fw)
			}
			// The last window, completed by zero padding at the bottom
			// and right, gives the ceil-mode row and column.
			dh, dw := max(win.DH, 1), max(win.DW, 1)
			cp[1] += max(0, (oh-1)*win.SH+(win.KH-1)*dh+1-(h+cp[0]+cp[1]))
			cp[3] += max(0, (ow-1)*win.SW+(win.KW-1)*dw+1-(w+cp[2]+cp[3]))
			return "valid", &cp, nil
		}
		win = floor
	}
	var pads [4]int
	switch win.Padding {
	case ir.PadValid:
		return "valid", nil, nil
	case ir.PadSame:
		if kind != winAvgIncl {
			return "same", nil, nil
		}
		if !known {
			return "", nil, layerErr(n, "average pooling counting the padding needs a known input size to be written for Keras 2")
		}
		_, _, pads, _ = win.Resolve(h, w)
	case ir.PadSameLower:
		if !known {
			return "", nil, layerErr(n, "padding same_lower needs a known input size to be written for Keras 2")
		}
		_, _, pads, _ = win.Resolve(h, w)
	case ir.PadExplicit:
		pads = win.Pads
	case ir.PadFull:
		ekh, ekw := (win.KH-1)*max(win.DH, 1)+1, (win.KW-1)*max(win.DW, 1)+1
		pads = [4]int{ekh - 1, ekh - 1, ekw - 1, ekw - 1}
	default:
		return "", nil, layerErr(n, "padding %v has no Keras 2 equivalent", win.Padding)
	}
	if pads == [4]int{} {
		return "valid", nil, nil
	}
	if kind != winAvgIncl && known {
		// Keras's "same" when it pads exactly so for this input size; for
		// a convolution only with stride 1, where "same" pads the same
		// for every input size (a Keras model runs on other sizes too).
		same := win
		same.Padding = ir.PadSame
		stride1 := kind == winConv && win.SH == 1 && win.SW == 1
		if _, _, sp, err := same.Resolve(h, w); err == nil && sp == pads && (kind == winPool || stride1 || win.Padding == ir.PadSameLower) {
			return "same", nil, nil
		}
	}
	if kind == winPool && !zeroPadOK {
		return "", nil, layerErr(n, "pooling with padding %v has no Keras equivalent (Keras pads max and average pooling only as \"same\"; a ZeroPadding2D is exact only before max pooling of a non-negative input, such as a ReLU's output)", pads)
	}
	return "valid", &pads, nil
}

// node converts one node.
func (b *h5build) node(n *ir.Node) error {
	switch n.Op.(type) {
	case *ir.Constant, *ir.Binary, *ir.Gemm, *ir.MatMul:
		// They take Constants in (h5model_onnx.go).
	default:
		if err := b.noConstInputs(n); err != nil {
			return err
		}
	}
	name := b.names[n.Name]
	ins := b.inputs(n)
	var out string
	var err error
	switch op := n.Op.(type) {
	case *ir.Input:
		shape := make([]any, len(n.Out.Shape))
		for i, d := range n.Out.Shape {
			if d >= 0 {
				shape[i] = d
			}
		}
		cfg := obj(ir.KeyBatchInputShape.Name, shape, "dtype", "float32", "sparse", false)
		if b.atLeast(3) || b.tf {
			cfg.add("ragged", false)
		}
		cfg.add("name", name)
		out = b.add("InputLayer", name, cfg, nil, nil)

	case *ir.Conv2D:
		if op.Groups > 1 && !b.atLeast(3) {
			return layerErr(n, "Keras %s has no grouped convolution (groups appeared in 2.3)", b.version)
		}
		out, err = b.conv(n, name, ins, op.Activation, convSpec{class: "Conv2D", filters: op.Filters, groups: op.Groups,
			win: op.Window2D, df: op.DataFormat, useBias: op.UseBias})

	case *ir.DepthwiseConv2D:
		out, err = b.conv(n, name, ins, op.Activation, convSpec{class: "DepthwiseConv2D", mult: op.Multiplier,
			win: op.Window2D, df: op.DataFormat, useBias: op.UseBias})

	case *ir.SeparableConv2D:
		out, err = b.conv(n, name, ins, op.Activation, convSpec{class: "SeparableConv2D", filters: op.Filters, mult: op.Multiplier,
			win: op.Window2D, df: op.DataFormat, useBias: op.UseBias})

	case *ir.Conv2DTranspose:
		out, err = b.deconv(n, name, ins, op)

	case *ir.Pool2D:
		kind := winPool
		if !op.Max && op.CountIncludePad {
			kind = winAvgIncl
		}
		zeroPadOK := op.Max && b.nonNegative(n.Inputs[0], b.nonneg)
		pad, pre, werr := b.window(n, op.Window2D, op.DataFormat, kind, zeroPadOK)
		if werr != nil {
			return werr
		}
		if pre != nil {
			ins = b.zeroPad(b.extraName(n, "_pad"), *pre, op.DataFormat, ins)
		}
		cfg := base(name)
		cfg.add(ir.KeyPoolSize.Name, pair(op.KH, op.KW), ir.KeyPadding.Name, pad, ir.KeyPoolStrides.Name, pair(op.SH, op.SW),
			ir.KeyDataFormat.Name, dataFormat(op.DataFormat))
		out = b.add(op.Kind(), name, cfg, ins, nil)

	case *ir.GlobalPool2D:
		cfg := base(name)
		cfg.add(ir.KeyDataFormat.Name, dataFormat(op.DataFormat))
		if b.atLeast(6) {
			cfg.add(ir.KeyKeepDims.Name, op.KeepDims)
		} else if op.KeepDims {
			return layerErr(n, "Keras %s global pooling has no keepdims (it appeared in 2.6)", b.version)
		}
		out = b.add(op.Kind(), name, cfg, ins, nil)

	case *ir.Flatten:
		cfg := base(name)
		df := ir.ChannelsLast
		if op.ChannelsFirst {
			df = ir.ChannelsFirst
		}
		cfg.add(ir.KeyFlattenFormat.Name, dataFormat(df))
		out = b.add("Flatten", name, cfg, ins, nil)

	case *ir.Dense:
		act, split, aerr := b.inlineAct(n, op.Activation)
		if aerr != nil {
			return aerr
		}
		ws, werr := b.weights(n, name)
		if werr != nil {
			return werr
		}
		out = b.add("Dense", name, denseConfig(name, op.Units, act, op.UseBias), ins, ws)
		if split {
			out, err = b.actLayer(n, b.extraName(n, "_act"), "", op.Activation, out)
		}

	case *ir.Dropout:
		cfg := base(name)
		cfg.add(ir.KeyRate.Name, op.Rate, "noise_shape", nil, "seed", nil)
		out = b.add(op.Kind(), name, cfg, ins, nil)

	case *ir.Activation:
		out, err = b.actLayer(n, name, n.Class, op.Act, ins[0])

	case *ir.PReLU:
		ws, werr := b.weights(n, name)
		if werr != nil {
			return werr
		}
		var axes any
		if len(op.SharedAxes) > 0 {
			axes = append([]int(nil), op.SharedAxes...)
		}
		cfg := base(name)
		cfg.add("alpha_initializer", initializer("Zeros"), "alpha_regularizer", nil, "alpha_constraint", nil, ir.KeySharedAxes.Name, axes)
		out = b.add("PReLU", name, cfg, ins, ws)

	case *ir.BatchNorm:
		ws, werr := b.weights(n, name)
		if werr != nil {
			return werr
		}
		out = b.add("BatchNormalization", name, batchNormConfig(name, op.Axis, op.Epsilon, op.Center, op.Scale), ins, ws)

	case *ir.Merge:
		out = b.add(op.Kind(), name, mergeConfig(op.Kind(), name, op.Axis), ins, nil)

	case *ir.Reshape:
		out = b.add("Reshape", name, reshapeConfig(name, op.Target), ins, nil)

	case *ir.Permute:
		out = b.add("Permute", name, permuteConfig(name, op.Dims), ins, nil)

	case *ir.UpSampling2D:
		interp := op.Interpolation
		if interp == "" {
			interp = "nearest"
		}
		cfg := base(name)
		cfg.add(ir.KeySize.Name, pair(op.SH, op.SW), ir.KeyDataFormat.Name, dataFormat(op.DataFormat), ir.KeyInterpolation.Name, interp)
		out = b.add("UpSampling2D", name, cfg, ins, nil)

	case *ir.ZeroPadding2D:
		out = b.zeroPad(name, op.Pads, op.DataFormat, ins)[0]

	case *ir.Cropping2D:
		out = b.add("Cropping2D", name, croppingConfig(name, op.Crops, op.DataFormat), ins, nil)

	case *ir.Lambda:
		if op.Function == "" {
			return layerErr(n, "Lambda has no registered function (its Python code is not known to kconv)")
		}
		if _, ok := ir.LookupLambda(op.Function); !ok {
			return layerErr(n, "Lambda function %q is not registered", op.Function)
		}
		if op.Mask {
			return layerErr(n, "Lambda gives its own mask (a function kconv does not know) and cannot be written")
		}
		var oshape any
		if op.OutputShape != nil {
			oshape = []int(op.OutputShape.Clone())
		}
		args := op.Arguments
		if args == nil {
			args = map[string]any{}
		}
		cfg := base(name)
		cfg.add(ir.KeyLambdaFunction.Name, op.Function, "function_type", "function", "module", lambdaModule,
			ir.KeyLambdaOutputShape.Name, oshape, ir.KeyLambdaOutputShapeType.Name, "raw", "output_shape_module", nil,
			ir.KeyLambdaArguments.Name, args)
		out = b.add("Lambda", name, cfg, ins, nil)

	case *ir.Unknown:
		return layerErr(n, "class %s is not known to kconv (an unknown layer) and cannot be written", op.ClassName)

	case *ir.Recurrent:
		if why := op.ONNXOnly(); why != "" {
			return layerErr(n, "%s with ONNX's %s has no Keras layer (no Keras cell has the option)", op.Kind(), why)
		}
		return layerErr(n, "op %s has no Keras layer (exporter/keras writes no recurrent layers yet)", op.Kind())

	default:
		var ok bool
		if out, ok, err = b.onnxNode(n, name, ins); ok {
			if err != nil {
				return err
			}
			if out != "" {
				b.out[n.Name] = out
			}
			return nil
		}
		kind := n.Op.Kind()
		if t := reflect.TypeOf(n.Op); t != nil {
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Name() != kind {
				kind = fmt.Sprintf("%s (%s)", t.Name(), kind)
			}
		}
		return layerErr(n, "op %s has no Keras layer", kind)
	}
	if err != nil {
		return err
	}
	b.out[n.Name] = out
	return nil
}

// conv writes a convolution layer (Conv2D, DepthwiseConv2D,
// SeparableConv2D; s without padding and activation): explicit padding
// first, then the layer (convConfig), then a separate activation if
// needed.
func (b *h5build) conv(n *ir.Node, name string, ins []string, a ir.Act, s convSpec) (string, error) {
	pad, pre, err := b.window(n, s.win, s.df, winConv, false)
	if err != nil {
		return "", err
	}
	act, split, err := b.inlineAct(n, a)
	if err != nil {
		return "", err
	}
	ws, err := b.weights(n, name)
	if err != nil {
		return "", err
	}
	if pre != nil {
		ins = b.zeroPad(b.extraName(n, "_pad"), *pre, s.df, ins)
	}
	s.padding, s.act = pad, act
	out := b.add(s.class, name, b.convConfig(name, s), ins, ws)
	if split {
		return b.actLayer(n, b.extraName(n, "_act"), "", a, out)
	}
	return out, nil
}

// deconv writes a Conv2DTranspose. Keras pads transposed convolutions only
// as "valid" or "same"; other paddings (ONNX pads, same_lower, full)
// become a "valid" layer whose output_padding gives the full output,
// followed by a Cropping2D.
func (b *h5build) deconv(n *ir.Node, name string, ins []string, op *ir.Conv2DTranspose) (string, error) {
	if (op.DH > 1 || op.DW > 1) && (op.SH > 1 || op.SW > 1) {
		return "", layerErr(n, "Keras 2 does not allow strides > 1 with dilation > 1 (strides %dx%d, dilations %dx%d)", op.SH, op.SW, op.DH, op.DW)
	}
	var outPad any
	var crop [4]int
	padding := "valid"
	switch op.Padding {
	case ir.PadValid, ir.PadSame:
		padding = op.Padding.String()
		if op.HasOutputPadding {
			outPad = pair(op.OutputPadding[0], op.OutputPadding[1])
		}
	default:
		h, w := b.inSize(n, op.DataFormat)
		if op.Padding == ir.PadSameLower && (h < 0 || w < 0) {
			return "", layerErr(n, "padding same_lower needs a known input size to be written for Keras 2")
		}
		// The cropping of explicit and full padding does not depend on
		// the input size.
		if h < 0 {
			h = 64
		}
		if w < 0 {
			w = 64
		}
		_, _, c, err := op.Geometry(h, w)
		if err != nil {
			return "", &ir.LayerError{Layer: n.Name, Err: err}
		}
		var p [2]int
		if c[1] < 0 {
			p[0], c[1] = -c[1], 0
		}
		if c[3] < 0 {
			p[1], c[3] = -c[3], 0
		}
		if c[0] < 0 || c[2] < 0 {
			return "", layerErr(n, "padding %v of the transposed convolution has no Keras 2 equivalent", op.Pads)
		}
		outPad, crop = pair(p[0], p[1]), c
	}
	if p, ok := outPad.([]int); ok && (p[0] >= op.SH || p[1] >= op.SW) {
		return "", layerErr(n, "output padding %v is not smaller than the strides %dx%d: Keras 2 does not allow it", p, op.SH, op.SW)
	}
	act, split, err := b.inlineAct(n, op.Activation)
	if err != nil {
		return "", err
	}
	ws, err := b.weights(n, name)
	if err != nil {
		return "", err
	}
	cfg := b.convConfig(name, convSpec{class: "Conv2DTranspose", filters: op.Filters, win: op.Window2D, padding: padding,
		df: op.DataFormat, act: act, useBias: op.UseBias, outPad: outPad})
	out := b.add("Conv2DTranspose", name, cfg, ins, ws)
	if crop != [4]int{} {
		cname := b.extraName(n, "_crop")
		out = b.add("Cropping2D", cname, croppingConfig(cname, crop, op.DataFormat), []string{out}, nil)
	}
	if split {
		return b.actLayer(n, b.extraName(n, "_act"), "", op.Activation, out)
	}
	return out, nil
}

// actString returns the name of an activation that a layer's "activation"
// argument can state in the file's Keras version: the name ir's activation
// table gives for that version (ir.ActInfo.KerasName), when a has the
// parameters the bare name means there.
func (b *h5build) actString(a ir.Act, rank int) (string, bool) {
	info, ok := a.Name.Info()
	if !ok {
		return "", false
	}
	name, ok := info.KerasName(b.k3, b.minor)
	if !ok {
		return "", false
	}
	switch a.Name {
	case ir.ActReLU:
		return name, a.Alpha == 0 && a.Threshold == 0 && !a.HasMax
	case ir.ActSoftmax, ir.ActLogSoftmax:
		return name, a.Axis == -1 || (rank > 1 && a.Axis == rank-1)
	case ir.ActELU:
		return name, a.Alpha == 1
	case ir.ActLeakyReLU:
		return name, a.Alpha == info.KerasDefault(b.k3).Alpha
	case ir.ActHardSigmoid:
		// Keras 2: clip(0.2x + 0.5, 0, 1). Keras 3: relu6(x + 3) / 6 =
		// clip(x/6 + 1/2, 0, 1), PyTorch's and ONNX's HardSigmoid with
		// alpha 1/6 (stored as float32).
		if b.k3 {
			return name, isSixth(a.Alpha) && a.Beta == 0.5
		}
		return name, a.Alpha == 0.2 && a.Beta == 0.5
	case ir.ActGELU:
		return name, !a.Approximate
	}
	return name, true
}

// actAsLayer returns the config keys of activation layer class computing
// a, if it can.
func actAsLayer(class string, a ir.Act) (jobj, bool) {
	switch class {
	case "ReLU":
		switch a.Name {
		case ir.ActReLU:
			if a.Alpha < 0 || a.Threshold < 0 || (a.HasMax && a.MaxValue < 0) {
				return nil, false
			}
			var mv any
			if a.HasMax {
				mv = a.MaxValue
			}
			return obj(ir.KeyMaxValue.Name, mv, ir.KeyNegativeSlope.Name, a.Alpha, ir.KeyThreshold.Name, a.Threshold), true
		case ir.ActReLU6:
			return obj(ir.KeyMaxValue.Name, 6.0, ir.KeyNegativeSlope.Name, 0.0, ir.KeyThreshold.Name, 0.0), true
		}
	case "LeakyReLU":
		if a.Name == ir.ActLeakyReLU || (a.Name == ir.ActReLU && a.Threshold == 0 && !a.HasMax) {
			return obj(ir.KeyLeakyAlpha.Name, a.Alpha), true
		}
	case "ELU":
		if a.Name == ir.ActELU {
			return obj(ir.KeyELUAlpha.Name, a.Alpha), true
		}
	case "Softmax":
		if a.Name == ir.ActSoftmax {
			return obj(ir.KeySoftmaxAxis.Name, a.Axis), true
		}
	case "ThresholdedReLU":
		if a.Name == ir.ActReLU && a.Alpha == 0 && !a.HasMax && a.Threshold >= 0 {
			return obj(ir.KeyTheta.Name, a.Threshold), true
		}
	}
	return nil, false
}

// actLayerConfig chooses the Keras layer for an activation node of the
// given class (ReLU, LeakyReLU, ELU, Softmax and ThresholdedReLU are kept
// when they fit), else Activation with a name, else the layer that can
// compute it.
func (b *h5build) actLayerConfig(class string, a ir.Act, rank int) (string, jobj, error) {
	switch class {
	case "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU":
		if f, ok := actAsLayer(class, a); ok {
			return class, f, nil
		}
	}
	if s, ok := b.actString(a, rank); ok {
		return "Activation", obj(ir.KeyAct.Name, s), nil
	}
	for _, c := range []string{"ReLU", "LeakyReLU", "ELU", "Softmax"} {
		if f, ok := actAsLayer(c, a); ok {
			return c, f, nil
		}
	}
	if b.k3 {
		return "", nil, fmt.Errorf("activation %s has no Keras 3 equivalent", describeAct3(a))
	}
	return "", nil, fmt.Errorf("activation %s has no Keras %s equivalent", describeAct(a), b.version)
}

func describeAct(a ir.Act) string {
	switch a.Name {
	case "hard_sigmoid":
		if a.Alpha != 0.2 || a.Beta != 0.5 {
			// PyTorch's and Keras 3's x/6 + 1/2.
			return fmt.Sprintf("hard_sigmoid (%gx%+g; Keras 2's is 0.2x+0.5, write a Keras 3 .keras file)", a.Alpha, a.Beta)
		}
		return fmt.Sprintf("hard_sigmoid (%gx%+g)", a.Alpha, a.Beta)
	case "gelu":
		if a.Approximate {
			return "gelu (tanh approximation)"
		}
	}
	return a.String()
}

// inlineAct returns the activation name to state in a layer, or "linear"
// and split when a separate activation layer must follow.
func (b *h5build) inlineAct(n *ir.Node, a ir.Act) (string, bool, error) {
	rank := len(n.Out.Shape)
	if s, ok := b.actString(a, rank); ok {
		return s, false, nil
	}
	if _, _, err := b.actLayerConfig("", a, rank); err != nil {
		return "", false, &ir.LayerError{Layer: n.Name, Err: err}
	}
	return "linear", true, nil
}

// actLayer adds the activation layer for a of node n, named name.
func (b *h5build) actLayer(n *ir.Node, name, class string, a ir.Act, in string) (string, error) {
	kclass, fields, err := b.actLayerConfig(class, a, len(n.Out.Shape))
	if err != nil {
		return "", &ir.LayerError{Layer: n.Name, Err: err}
	}
	cfg := base(name)
	cfg = append(cfg, fields...)
	return b.add(kclass, name, cfg, []string{in}, nil), nil
}
