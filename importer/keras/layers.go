package keras

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/kconv/kconv/ir"
)

// k1Classes are Keras 1 class names whose kernels use Keras 1 layouts.
var k1Classes = map[string]bool{
	"Convolution2D": true, "AtrousConvolution2D": true, "Deconvolution2D": true, "SeparableConvolution2D": true,
}

// convert translates one layer's config into an op. k1 reports that the
// layer follows Keras 1 conventions (config keys, kernel layouts).
func (b *builder) convert(class, name string, c obj) (op ir.Op, k1 bool, err error) {
	// Keys only Keras 1 spells so: dim_ordering, nb_filter, border_mode, output_dim.
	k1 = b.g.major == 1 || k1Classes[class] || c.has(ir.KeyDataFormat.Old[0], ir.KeyFilters.Old[0], ir.KeyPadding.Old[0], ir.KeyUnits.Old[0])
	if err := validateAttrs(c); err != nil {
		return nil, k1, err
	}
	switch class {
	case "Conv2D", "Convolution2D", "AtrousConvolution2D":
		op, err = b.conv2D(c)
	case "SeparableConv2D", "SeparableConvolution2D":
		op, err = b.separable(c)
	case "DepthwiseConv2D":
		op, err = b.depthwise(c)
	case "Conv2DTranspose", "Deconvolution2D", "Deconv2D":
		op, err = b.deconv(c, name, class == "Deconvolution2D" || c.has(ir.KeyFilters.Old...))
	case "MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D":
		op, err = b.pool(c, strings.HasPrefix(class, "Max"))
	case "GlobalMaxPooling2D", "GlobalAveragePooling2D", "GlobalMaxPool2D", "GlobalAvgPool2D":
		var keep bool
		keep, err = c.boolean(false, ir.KeyKeepDims.Read()...)
		op = &ir.GlobalPool2D{Max: strings.HasPrefix(class, "GlobalMax"), KeepDims: keep, DataFormat: b.dataFormat(c)}
	case "Flatten":
		op = &ir.Flatten{ChannelsFirst: c.str(ir.KeyFlattenFormat.Read()...) == "channels_first"}
	case "Dense":
		op, err = b.dense(c)
	case "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization":
		var rate float64
		rate, err = c.num(0, ir.KeyRate.Read()...)
		op = &ir.Dropout{Rate: rate, Spatial: class == "SpatialDropout2D"}
	case "Activation":
		var a ir.Act
		a, err = b.act(c.val(ir.KeyAct))
		op = &ir.Activation{Act: a}
	case "ReLU":
		op, err = relu(c)
	case "LeakyReLU":
		var alpha float64
		alpha, err = c.num(0.3, ir.KeyLeakyAlpha.Read()...)
		op = &ir.Activation{Act: ir.Act{Name: ir.ActLeakyReLU, Alpha: alpha}}
	case "ELU":
		var alpha float64
		alpha, err = c.num(1, ir.KeyELUAlpha.Read()...)
		op = &ir.Activation{Act: ir.Act{Name: ir.ActELU, Alpha: alpha}}
	case "Softmax":
		var axis int
		axis, err = c.integer(-1, ir.KeySoftmaxAxis.Read()...)
		op = &ir.Activation{Act: ir.Act{Name: ir.ActSoftmax, Axis: axis}}
	case "ThresholdedReLU":
		var theta float64
		theta, err = c.num(1, ir.KeyTheta.Read()...)
		op = &ir.Activation{Act: ir.Act{Name: ir.ActReLU, Threshold: theta}}
	case "PReLU":
		var axes []int
		if v, ok := c.get(ir.KeySharedAxes.Read()...); ok {
			axes, err = toInts(v, ir.KeySharedAxes.Name)
		}
		op = &ir.PReLU{SharedAxes: axes}
	case "BatchNormalization":
		op, err = b.batchNorm(c, name)
	case "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate":
		mode, _ := ir.MergeModeOf(class) // the case lists Merge's kinds
		var axis int
		axis, err = c.integer(-1, ir.KeyMergeAxis.Read()...)
		op = &ir.Merge{Mode: mode, Axis: axis}
	case "Merge":
		op, err = b.merge1(c, name)
	case "Reshape":
		var t []int
		v, ok := c.get(ir.KeyTargetShape.Read()...)
		if !ok {
			return nil, k1, errors.New("Reshape has no target_shape")
		}
		t, err = toInts(v, ir.KeyTargetShape.Name)
		op = &ir.Reshape{Target: ir.Shape(t)}
	case "Permute":
		var d []int
		v, ok := c.get(ir.KeyDims.Read()...)
		if !ok {
			return nil, k1, errors.New("Permute has no dims")
		}
		d, err = toInts(v, ir.KeyDims.Name)
		op = &ir.Permute{Dims: d}
	case "UpSampling2D":
		var size [2]int
		size, err = c.pair([2]int{2, 2}, ir.KeySize.Read()...)
		interp := c.str(ir.KeyInterpolation.Read()...)
		if interp == "" {
			interp = "nearest"
		}
		op = &ir.UpSampling2D{SH: size[0], SW: size[1], Interpolation: interp, DataFormat: b.dataFormat(c)}
	case "ZeroPadding2D":
		var p [4]int
		p, err = padding4(c, ir.KeyZeroPadding.Name, 1)
		op = &ir.ZeroPadding2D{Pads: p, DataFormat: b.dataFormat(c)}
	case "Cropping2D":
		var p [4]int
		p, err = padding4(c, ir.KeyCropping.Name, 0)
		op = &ir.Cropping2D{Crops: p, DataFormat: b.dataFormat(c)}
	case "Lambda":
		op, err = b.lambda(c, name)
	default:
		var ok bool
		if op, ok, err = b.seqLayer(class, name, c); !ok {
			b.warnf("layer '%s': class %s is not supported; kept as an unknown layer with its stored weights (it cannot run)", name, class)
			op = &ir.Unknown{ClassName: class}
		}
	}
	if err != nil {
		return nil, k1, err
	}
	return op, k1, nil
}

func (b *builder) warnf(format string, args ...any) {
	b.g.m.Warnings = append(b.g.m.Warnings, fmt.Sprintf(format, args...))
}

// dataFormat reads data_format (Keras 2/3) or dim_ordering (Keras 1).
func (b *builder) dataFormat(c obj) ir.Layout {
	s := c.str(ir.KeyDataFormat.Read()...)
	if l, err := ir.ParseLayout(s); err == nil {
		return l
	}
	return b.layout
}

func parsePadding(c obj) (ir.Padding, error) {
	s := strings.ToLower(c.str(ir.KeyPadding.Read()...))
	switch s {
	case "", "valid":
		return ir.PadValid, nil
	case "same":
		return ir.PadSame, nil
	case "full":
		return ir.PadFull, nil
	}
	return 0, fmt.Errorf("padding %q is not supported", s)
}

// window reads the kernel size, strides, dilation and padding of a
// convolution (Keras 2/3 keys, or Keras 1's nb_row/nb_col, subsample,
// atrous_rate, border_mode).
func window(c obj) (ir.Window2D, error) {
	var w ir.Window2D
	k, err := c.pair([2]int{0, 0}, ir.KeyKernelSize.Name)
	if err != nil {
		return w, err
	}
	if k[0] == 0 {
		if k[0], err = c.integer(0, ir.KeyKernelSize.Old[0]); err != nil {
			return w, err
		}
		if k[1], err = c.integer(0, ir.KeyKernelSize.Old[1]); err != nil {
			return w, err
		}
	}
	if k[0] < 1 || k[1] < 1 {
		return w, errors.New("no kernel size (kernel_size or nb_row/nb_col)")
	}
	s, err := c.pair([2]int{1, 1}, ir.KeyStrides.Read()...)
	if err != nil {
		return w, err
	}
	d, err := c.pair([2]int{1, 1}, ir.KeyDilation.Read()...)
	if err != nil {
		return w, err
	}
	p, err := parsePadding(c)
	if err != nil {
		return w, err
	}
	return ir.Window2D{KH: k[0], KW: k[1], SH: s[0], SW: s[1], DH: d[0], DW: d[1], Padding: p}, nil
}

// common reads use_bias/bias and activation.
func (b *builder) common(c obj) (bool, ir.Act, error) {
	bias, err := c.boolean(true, ir.KeyUseBias.Read()...)
	if err != nil {
		return false, ir.Act{}, err
	}
	a, err := b.act(c.val(ir.KeyActivation))
	return bias, a, err
}

func (b *builder) conv2D(c obj) (ir.Op, error) {
	filters, err := c.integer(0, ir.KeyFilters.Read()...)
	if err != nil {
		return nil, err
	}
	w, err := window(c)
	if err != nil {
		return nil, err
	}
	groups, err := c.integer(1, ir.KeyGroups.Read()...)
	if err != nil {
		return nil, err
	}
	bias, a, err := b.common(c)
	if err != nil {
		return nil, err
	}
	return &ir.Conv2D{Filters: filters, Window2D: w, Groups: groups, UseBias: bias, Activation: a, DataFormat: b.dataFormat(c)}, nil
}

// groupsOne refuses a groups key other than 1 in a convolution class
// without groups (Keras 2.3+ writes groups 1 for every convolution).
func groupsOne(c obj) error {
	g, err := c.integer(1, ir.KeyGroupsOne.Read()...)
	if err != nil {
		return err
	}
	if g != 1 {
		return fmt.Errorf("groups %d is not supported for this layer (only Conv2D has groups)", g)
	}
	return nil
}

func (b *builder) separable(c obj) (ir.Op, error) {
	if err := groupsOne(c); err != nil {
		return nil, err
	}
	filters, err := c.integer(0, ir.KeyFilters.Read()...)
	if err != nil {
		return nil, err
	}
	mult, err := c.integer(1, ir.KeyDepthMultiplier.Read()...)
	if err != nil {
		return nil, err
	}
	w, err := window(c)
	if err != nil {
		return nil, err
	}
	bias, a, err := b.common(c)
	if err != nil {
		return nil, err
	}
	return &ir.SeparableConv2D{Filters: filters, Multiplier: mult, Window2D: w, UseBias: bias, Activation: a, DataFormat: b.dataFormat(c)}, nil
}

func (b *builder) depthwise(c obj) (ir.Op, error) {
	if err := groupsOne(c); err != nil {
		return nil, err
	}
	mult, err := c.integer(1, ir.KeyDepthMultiplier.Read()...)
	if err != nil {
		return nil, err
	}
	w, err := window(c)
	if err != nil {
		return nil, err
	}
	bias, a, err := b.common(c)
	if err != nil {
		return nil, err
	}
	return &ir.DepthwiseConv2D{Multiplier: mult, Window2D: w, UseBias: bias, Activation: a, DataFormat: b.dataFormat(c)}, nil
}

func (b *builder) deconv(c obj, name string, k1 bool) (ir.Op, error) {
	if err := groupsOne(c); err != nil {
		return nil, err
	}
	filters, err := c.integer(0, ir.KeyFilters.Read()...)
	if err != nil {
		return nil, err
	}
	w, err := window(c)
	if err != nil {
		return nil, err
	}
	bias, a, err := b.common(c)
	if err != nil {
		return nil, err
	}
	op := &ir.Conv2DTranspose{Filters: filters, Window2D: w, UseBias: bias, Activation: a, DataFormat: b.dataFormat(c)}
	if v, ok := c.get(ir.KeyOutputPadding.Read()...); ok {
		p, err := c.pair([2]int{}, ir.KeyOutputPadding.Read()...)
		if err != nil {
			return nil, fmt.Errorf("output_padding %s: %v", show(v), err)
		}
		op.OutputPadding, op.HasOutputPadding = p, true
	}
	if k1 {
		// Keras 1 states the output size (batch first, in its ordering);
		// fixDeconvs makes the op produce it.
		if v, ok := c.get(ir.KeyDeconvOutputShape.Read()...); ok {
			if s, err := toInts(v, "output_shape"); err == nil && len(s) == 4 {
				h, wd := s[1], s[2]
				if op.DataFormat == ir.ChannelsFirst {
					h, wd = s[2], s[3]
				}
				b.pendingDeconv = &deconvFix{h: h, w: wd} // its node is set by simple
			}
		}
	}
	return op, nil
}

func (b *builder) pool(c obj, isMax bool) (ir.Op, error) {
	size, err := c.pair([2]int{2, 2}, ir.KeyPoolSize.Read()...)
	if err != nil {
		return nil, err
	}
	s, err := c.pair(size, ir.KeyPoolStrides.Read()...)
	if err != nil {
		return nil, err
	}
	p, err := parsePadding(c)
	if err != nil {
		return nil, err
	}
	return &ir.Pool2D{Max: isMax, Window2D: ir.Window2D{KH: size[0], KW: size[1], SH: s[0], SW: s[1], Padding: p}, DataFormat: b.dataFormat(c)}, nil
}

func (b *builder) dense(c obj) (ir.Op, error) {
	units, err := c.integer(0, ir.KeyUnits.Read()...)
	if err != nil {
		return nil, err
	}
	bias, a, err := b.common(c)
	if err != nil {
		return nil, err
	}
	return &ir.Dense{Units: units, UseBias: bias, Activation: a}, nil
}

func relu(c obj) (ir.Op, error) {
	slope, err := c.num(0, ir.KeyNegativeSlope.Read()...)
	if err != nil {
		return nil, err
	}
	th, err := c.num(0, ir.KeyThreshold.Read()...)
	if err != nil {
		return nil, err
	}
	a := ir.Act{Name: ir.ActReLU, Alpha: slope, Threshold: th}
	if v, ok := c.get(ir.KeyMaxValue.Read()...); ok {
		mv, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("max_value must be a number, got %s", show(v))
		}
		a.MaxValue, a.HasMax = mv, true
	}
	return &ir.Activation{Act: a}, nil
}

// batchNorm reads BatchNormalization. Keras 1 has no center/scale flags
// (gamma and beta always exist) and stores running_mean and running_std;
// Keras 1.2's K.batch_normalization uses running_std as the variance (the
// training update stores the batch variance in it), so it loads as
// moving_variance unchanged.
func (b *builder) batchNorm(c obj, name string) (ir.Op, error) {
	axis, err := c.integer(-1, ir.KeyAxis.Read()...)
	if err != nil {
		return nil, err
	}
	eps, center, scale, err := normConfig(c)
	if err != nil {
		return nil, err
	}
	if mode, _ := c.integer(0, ir.KeyBNMode.Read()...); mode != 0 {
		b.warnf("layer '%s': Keras 1 BatchNormalization mode %d normalizes with batch statistics; kconv applies the stored moving statistics (mode 0)", name, mode)
	}
	return &ir.BatchNorm{Axis: axis, Epsilon: eps, Center: center, Scale: scale}, nil
}

// merge1 reads Keras 1's Merge layer.
func (b *builder) merge1(c obj, name string) (ir.Op, error) {
	mode, _ := c.val(ir.KeyMerge1Mode).(string)
	axis, err := c.integer(-1, ir.KeyMerge1Axis.Read()...)
	if err != nil {
		return nil, err
	}
	switch mode {
	case "sum", "":
		return &ir.Merge{Mode: ir.MergeAdd}, nil
	case "mul":
		return &ir.Merge{Mode: ir.MergeMultiply}, nil
	case "ave":
		return &ir.Merge{Mode: ir.MergeAverage}, nil
	case "max":
		return &ir.Merge{Mode: ir.MergeMaximum}, nil
	case "concat":
		return &ir.Merge{Mode: ir.MergeConcat, Axis: axis}, nil
	}
	b.warnf("layer '%s': Merge mode %s is not supported; kept as an unknown layer (it cannot run)", name, show(c["mode"]))
	return &ir.Unknown{ClassName: "Merge"}, nil
}

// padding4 reads ZeroPadding2D's padding / Cropping2D's cropping: an int,
// (rows, cols), ((top, bottom), (left, right)), Keras 1's (top, bottom,
// left, right) or its {top_pad, bottom_pad, left_pad, right_pad} dict.
func padding4(c obj, key string, def int) ([4]int, error) {
	v, ok := c.get(key)
	if !ok {
		return [4]int{def, def, def, def}, nil
	}
	bad := fmt.Errorf("%s %s is not understood", key, show(v))
	if n, ok := toInt(v); ok {
		return [4]int{n, n, n, n}, nil
	}
	if o := asObj(v); o != nil {
		var p [4]int
		for i, k := range []string{"top_pad", "bottom_pad", "left_pad", "right_pad"} {
			n, err := o.integer(0, k)
			if err != nil {
				return p, bad
			}
			p[i] = n
		}
		return p, nil
	}
	l := asList(v)
	switch len(l) {
	case 2:
		var p [4]int
		for i, e := range l {
			if n, ok := toInt(e); ok {
				p[2*i], p[2*i+1] = n, n
				continue
			}
			ab, err := toInts(e, key)
			if err != nil || len(ab) != 2 {
				return p, bad
			}
			p[2*i], p[2*i+1] = ab[0], ab[1]
		}
		return p, nil
	case 4:
		s, err := toInts(v, key)
		if err != nil {
			return [4]int{}, bad
		}
		return [4]int{s[0], s[1], s[2], s[3]}, nil
	}
	return [4]int{}, bad
}

// act reads an activation: a name, or a serialized function (Keras 3
// {"class_name": "function", "config": "relu"}) or object.
func (b *builder) act(v any) (ir.Act, error) {
	switch x := v.(type) {
	case nil:
		return ir.Linear, nil
	case string:
		return b.actNamed(x)
	}
	if o := asObj(v); o != nil {
		if s, ok := o["config"].(string); ok {
			return b.actNamed(s)
		}
		if c := asObj(o["config"]); c != nil && c.str("name") != "" {
			return b.actNamed(c.str("name"))
		}
		if s := o.str("class_name"); s != "" {
			return b.actNamed(snakeCase(s))
		}
	}
	return ir.Act{}, fmt.Errorf("activation %s is not understood", show(v))
}

// actNamed maps Keras's activation names (of the config's Keras version)
// to ir.Act through ir's activation table, with Keras's defaults.
func (b *builder) actNamed(name string) (ir.Act, error) {
	if name == "" {
		return ir.Linear, nil
	}
	info, ok := ir.LookupKerasAct(name)
	if !ok {
		return ir.Act{}, fmt.Errorf("unknown activation %q", name)
	}
	// Keras 1/2's hard_sigmoid is clip(0.2x + 0.5), Keras 3's clip(x/6 + 0.5).
	return info.KerasDefault(b.g.major >= 3), nil
}

// lambda reads a Lambda layer: its function is taken from Options.Lambdas
// (by layer name) or recognized in the config by a registered name.
func (b *builder) lambda(c obj, name string) (ir.Op, error) {
	op := &ir.Lambda{Arguments: asObj(c.val(ir.KeyLambdaArguments)), Mask: c.val(ir.KeyLambdaMask) != nil}
	if v, ok := c.get(ir.KeyLambdaOutputShape.Read()...); ok && c.str(ir.KeyLambdaOutputShapeType.Read()...) != "lambda" {
		if s, err := toInts(v, ir.KeyLambdaOutputShape.Name); err == nil && len(s) > 0 {
			op.OutputShape = ir.Shape(s)
		}
	}
	if fn, ok := b.lambdas[name]; ok {
		b.used[name] = true
		if _, ok := ir.LookupLambda(fn); !ok {
			return nil, fmt.Errorf("--lambda %s=%s: no lambda function %q is registered (registered: %s)", name, fn, fn, strings.Join(ir.LambdaNames(), ", "))
		}
		op.Function = fn
		return op, nil
	}
	op.Function = findLambda(c.val(ir.KeyLambdaFunction))
	if op.Function == "" {
		b.warnf("layer '%s': Lambda function not recognized (Python code cannot run in Go); pass --lambda %s=NAME with one of: %s", name, name, strings.Join(ir.LambdaNames(), ", "))
	}
	return op, nil
}

// findLambda looks for a registered lambda name in a Lambda's function:
// a plain name (Keras 2 function_type "function", Keras 3 {"config":
// name}), or the code Keras 1 (marshal bytes as raw_unicode_escape text)
// and Keras 2/3 (base64 of the marshal bytes) serialize, in which the
// function's name appears. The longest matching name wins.
func findLambda(fn any) string {
	var texts [][]byte
	var add func(v any, depth int)
	add = func(v any, depth int) {
		if depth > 8 {
			return
		}
		switch x := v.(type) {
		case string:
			if _, ok := ir.LookupLambda(x); ok {
				texts = append(texts, []byte(x))
				return
			}
			raw := make([]byte, 0, len(x))
			for _, r := range x {
				if r < 256 {
					raw = append(raw, byte(r))
				}
			}
			texts = append(texts, raw)
			if dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(x), "")); err == nil {
				texts = append(texts, dec)
			}
		case []any:
			if len(x) > 0 {
				add(x[0], depth+1)
			}
		case map[string]any:
			o := obj(x)
			add(o["config"], depth+1)
			add(o["code"], depth+1)
		}
	}
	add(fn, 0)
	best := ""
	for _, name := range ir.LambdaNames() {
		for _, t := range texts {
			if strings.Contains(string(t), name) && len(name) > len(best) {
				best = name
			}
		}
	}
	return best
}

// normConfig reads the settings BatchNormalization and LayerNormalization
// share: epsilon (default 1e-3), center and scale (default true).
func normConfig(c obj) (eps float64, center, scale bool, err error) {
	if eps, err = c.num(1e-3, ir.KeyEpsilon.Read()...); err != nil {
		return
	}
	if center, err = c.boolean(true, ir.KeyCenter.Read()...); err != nil {
		return
	}
	scale, err = c.boolean(true, ir.KeyScale.Read()...)
	return
}
