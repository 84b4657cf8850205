package ir

import (
	"fmt"
)

// Input is a model input (Keras InputLayer). Type.Shape includes the batch.
type Input struct{ Type TensorType }

func (*Input) Kind() string { return "InputLayer" }
func (o *Input) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 0); err != nil {
		return TensorType{}, err
	}
	if len(o.Type.Shape) == 0 {
		return TensorType{}, fmt.Errorf("input has no shape")
	}
	for _, d := range o.Type.Shape[1:] {
		if d == 0 || d < -1 {
			return TensorType{}, fmt.Errorf("input shape %v has a bad dimension", o.Type.Shape)
		}
	}
	return TensorType{Shape: o.Type.Shape.Clone(), Layout: o.Type.Layout, DType: Float32}, nil
}
func (*Input) Weights([]TensorType) []WeightSpec { return nil }

// Lambda runs a Go function registered under Function (see RegisterLambda).
// Python code in Keras files cannot run in Go: importers pick the function
// by the name stored in the file or one the user names.
type Lambda struct {
	Function string // registered name; "" when unknown
	// OutputShape is the config's output_shape (no batch axis), nil if absent.
	OutputShape Shape
	Arguments   map[string]any
	// Mask: the config gives the layer's own output mask (Keras's Lambda
	// mask argument: a function or a fixed mask), which kconv cannot
	// compute; a layer reading it is refused (see ModelMasks).
	Mask bool
}

func (*Lambda) Kind() string { return "Lambda" }
func (o *Lambda) Infer(in []TensorType) (TensorType, error) {
	if len(in) < 1 {
		return TensorType{}, fmt.Errorf("lambda has no input")
	}
	if impl, ok := LookupLambda(o.Function); ok && impl.Infer != nil {
		return impl.Infer(in[0])
	}
	if o.OutputShape != nil {
		s := append(Shape{in[0].Shape[0]}, o.OutputShape...)
		l := in[0].Layout
		if len(s) != len(in[0].Shape) {
			l = LayoutNone
		}
		return TensorType{Shape: s, Layout: l}, nil
	}
	return in[0], nil
}
func (*Lambda) Weights([]TensorType) []WeightSpec { return nil }

// ZeroPadding2D pads height and width with zeros.
type ZeroPadding2D struct {
	Pads       [4]int // top, bottom, left, right
	DataFormat Layout
}

func (*ZeroPadding2D) Kind() string { return "ZeroPadding2D" }
func (o *ZeroPadding2D) Infer(in []TensorType) (TensorType, error) {
	return padCrop(in, o.Pads, o.DataFormat, 1)
}
func (*ZeroPadding2D) Weights([]TensorType) []WeightSpec { return nil }

// Cropping2D removes rows and columns at the borders.
type Cropping2D struct {
	Crops      [4]int // top, bottom, left, right
	DataFormat Layout
}

func (*Cropping2D) Kind() string { return "Cropping2D" }
func (o *Cropping2D) Infer(in []TensorType) (TensorType, error) {
	return padCrop(in, o.Crops, o.DataFormat, -1)
}
func (*Cropping2D) Weights([]TensorType) []WeightSpec { return nil }

func padCrop(in []TensorType, p [4]int, df Layout, sign int) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	t := in[0]
	t.Layout = df
	c, h, w, err := t.Spatial()
	if err != nil {
		return TensorType{}, err
	}
	for _, v := range p {
		if v < 0 {
			return TensorType{}, fmt.Errorf("negative padding or cropping %v", p)
		}
	}
	if h >= 0 {
		h += sign * (p[0] + p[1])
	}
	if w >= 0 {
		w += sign * (p[2] + p[3])
	}
	if (h == 0 || h < -1) || (w == 0 || w < -1) {
		return TensorType{}, fmt.Errorf("cropping %v leaves nothing of %v", p, in[0].Shape)
	}
	return TensorType{Shape: image4(t.Shape[0], c, h, w, df), Layout: df}, nil
}

// Conv2D is a 2-D convolution (cross-correlation, as TensorFlow computes it).
// Kernel: (KH, KW, in/Groups, Filters); bias: (Filters).
type Conv2D struct {
	Filters int
	Window2D
	Groups     int // 0 or 1: ordinary convolution
	UseBias    bool
	Activation Act
	DataFormat Layout
	// TheanoFlipped records that the importer flipped the kernel spatially
	// because the file came from Theano's true convolution (Keras's
	// convert_kernel). The stored kernel is already cross-correlation.
	TheanoFlipped bool
	// Fused is what the optimizing passes folded into this node (nil in
	// imported models; see Fusion).
	Fused *Fusion
}

func (*Conv2D) Kind() string { return "Conv2D" }
func (o *Conv2D) groups() int {
	if o.Groups < 1 {
		return 1
	}
	return o.Groups
}
func (o *Conv2D) Infer(in []TensorType) (TensorType, error) {
	if o.Filters < 1 {
		return TensorType{}, fmt.Errorf("filters must be positive, got %d", o.Filters)
	}
	in, skip, err := o.Fused.split(in)
	if err != nil {
		return TensorType{}, err
	}
	c, oh, ow, err := windowOut(o.Fused.padIn(in, o.DataFormat), o.Window2D, o.DataFormat)
	if err != nil {
		return TensorType{}, err
	}
	if g := o.groups(); c > 0 && (c%g != 0 || o.Filters%g != 0) {
		return TensorType{}, fmt.Errorf("groups %d do not divide channels %d and filters %d", g, c, o.Filters)
	}
	if err := o.Activation.Check(); err != nil {
		return TensorType{}, err
	}
	out := TensorType{Shape: image4(in[0].Shape[0], o.Filters, oh, ow, o.DataFormat), Layout: o.DataFormat}
	if out, err = o.Fused.check(out, channelAxis(o.DataFormat), skip); err != nil {
		return TensorType{}, err
	}
	return o.Fused.pooled(out)
}
func (o *Conv2D) Weights(in []TensorType) []WeightSpec {
	c := channelsOf(in, o.DataFormat)
	ws := []WeightSpec{{Name: "kernel", Shape: Shape{o.KH, o.KW, c / o.groups(), o.Filters}, Trainable: true}}
	if o.UseBias {
		ws = append(ws, WeightSpec{Name: "bias", Shape: Shape{o.Filters}, Trainable: true})
	}
	return append(ws, o.Fused.specs(o.Filters)...)
}

// DepthwiseConv2D convolves each input channel with Multiplier filters.
// Kernel: (KH, KW, in, Multiplier); output channel c*Multiplier+m.
type DepthwiseConv2D struct {
	Multiplier int
	Window2D
	UseBias    bool
	Activation Act
	DataFormat Layout
	// Fused is what the optimizing passes folded into this node (nil in
	// imported models; see Fusion).
	Fused *Fusion
}

func (*DepthwiseConv2D) Kind() string { return "DepthwiseConv2D" }
func (o *DepthwiseConv2D) Infer(in []TensorType) (TensorType, error) {
	if o.Multiplier < 1 {
		return TensorType{}, fmt.Errorf("depth multiplier must be positive, got %d", o.Multiplier)
	}
	in, skip, err := o.Fused.split(in)
	if err != nil {
		return TensorType{}, err
	}
	c, oh, ow, err := windowOut(o.Fused.padIn(in, o.DataFormat), o.Window2D, o.DataFormat)
	if err != nil {
		return TensorType{}, err
	}
	if err := o.Activation.Check(); err != nil {
		return TensorType{}, err
	}
	out := TensorType{Shape: image4(in[0].Shape[0], c*o.Multiplier, oh, ow, o.DataFormat), Layout: o.DataFormat}
	return o.Fused.check(out, channelAxis(o.DataFormat), skip)
}
func (o *DepthwiseConv2D) Weights(in []TensorType) []WeightSpec {
	c := channelsOf(in, o.DataFormat)
	ws := []WeightSpec{{Name: "depthwise_kernel", Shape: Shape{o.KH, o.KW, c, o.Multiplier}, Trainable: true}}
	if o.UseBias {
		ws = append(ws, WeightSpec{Name: "bias", Shape: Shape{c * o.Multiplier}, Trainable: true})
	}
	return append(ws, o.Fused.specs(c*o.Multiplier)...)
}

// SeparableConv2D is a depthwise convolution followed by a 1×1 convolution.
// Kernels: depthwise (KH, KW, in, Multiplier), pointwise (1, 1, in*Multiplier,
// Filters); bias (Filters).
type SeparableConv2D struct {
	Filters, Multiplier int
	Window2D
	UseBias    bool
	Activation Act
	DataFormat Layout
	// Fused is what the optimizing passes folded into this node (nil in
	// imported models; see Fusion).
	Fused *Fusion
}

func (*SeparableConv2D) Kind() string { return "SeparableConv2D" }
func (o *SeparableConv2D) Infer(in []TensorType) (TensorType, error) {
	if o.Filters < 1 || o.Multiplier < 1 {
		return TensorType{}, fmt.Errorf("filters %d and depth multiplier %d must be positive", o.Filters, o.Multiplier)
	}
	in, skip, err := o.Fused.split(in)
	if err != nil {
		return TensorType{}, err
	}
	_, oh, ow, err := windowOut(o.Fused.padIn(in, o.DataFormat), o.Window2D, o.DataFormat)
	if err != nil {
		return TensorType{}, err
	}
	if err := o.Activation.Check(); err != nil {
		return TensorType{}, err
	}
	out := TensorType{Shape: image4(in[0].Shape[0], o.Filters, oh, ow, o.DataFormat), Layout: o.DataFormat}
	return o.Fused.check(out, channelAxis(o.DataFormat), skip)
}
func (o *SeparableConv2D) Weights(in []TensorType) []WeightSpec {
	c := channelsOf(in, o.DataFormat)
	ws := []WeightSpec{
		{Name: "depthwise_kernel", Shape: Shape{o.KH, o.KW, c, o.Multiplier}, Trainable: true},
		{Name: "pointwise_kernel", Shape: Shape{1, 1, c * o.Multiplier, o.Filters}, Trainable: true},
	}
	if o.UseBias {
		ws = append(ws, WeightSpec{Name: "bias", Shape: Shape{o.Filters}, Trainable: true})
	}
	return append(ws, o.Fused.specs(o.Filters)...)
}

// Conv2DTranspose is the gradient of Conv2D (a "deconvolution").
// Kernel: (KH, KW, Filters, in) as Keras stores it; bias (Filters).
// With PadExplicit, Pads are ONNX ConvTranspose's pads.
type Conv2DTranspose struct {
	Filters int
	Window2D
	OutputPadding    [2]int
	HasOutputPadding bool
	UseBias          bool
	Activation       Act
	DataFormat       Layout
}

func (*Conv2DTranspose) Kind() string { return "Conv2DTranspose" }

// Geometry returns the output size and the (top, bottom, left, right) cropping
// of the full transposed convolution, whose size is (in-1)*s + dilated k.
func (o *Conv2DTranspose) Geometry(h, w int) (oh, ow int, crop [4]int, err error) {
	if err := o.check(); err != nil {
		return 0, 0, crop, err
	}
	dh, dw := o.dil()
	var b, a int
	oh, b, a = deconvAxis(h, o.KH, o.SH, dh, o.Padding, o.Pads[0], o.Pads[1], o.OutputPadding[0], o.HasOutputPadding)
	crop[0], crop[1] = b, a
	ow, b, a = deconvAxis(w, o.KW, o.SW, dw, o.Padding, o.Pads[2], o.Pads[3], o.OutputPadding[1], o.HasOutputPadding)
	crop[2], crop[3] = b, a
	if (h > 0 && oh < 1) || (w > 0 && ow < 1) {
		return 0, 0, crop, fmt.Errorf("transposed convolution output %dx%d is empty", oh, ow)
	}
	return oh, ow, crop, nil
}

// deconvAxis follows Keras's deconv_output_length; the crop says how much of
// the full output ((in-1)*s+ek) is cut at each end (negative: extended).
func deconvAxis(in, k, s, d int, p Padding, pb, pa, outPad int, hasOutPad bool) (out, cb, ca int) {
	ek := (k-1)*d + 1
	if in < 0 {
		return -1, 0, 0
	}
	full := (in-1)*s + ek
	switch p {
	case PadExplicit:
		out = full - pb - pa + outPad
		return out, pb, full - pb - out
	case PadSame, PadSameLower:
		if !hasOutPad {
			out = in * s
			total := full - out
			cb = total / 2
			if p == PadSameLower {
				cb = total - total/2
			}
			return out, cb, full - cb - out
		}
		pad := ek / 2
		out = full - 2*pad + outPad
		return out, pad, full - pad - out
	case PadFull:
		out = full - 2*(ek-1) + outPad
		return out, ek - 1, full - (ek - 1) - out
	default: // valid
		if !hasOutPad {
			out = in*s + max(ek-s, 0)
			return out, 0, full - out
		}
		out = full + outPad
		return out, 0, full - out
	}
}

func (o *Conv2DTranspose) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if o.Filters < 1 {
		return TensorType{}, fmt.Errorf("filters must be positive, got %d", o.Filters)
	}
	t := in[0]
	t.Layout = o.DataFormat
	_, h, w, err := t.Spatial()
	if err != nil {
		return TensorType{}, err
	}
	oh, ow, _, err := o.Geometry(h, w)
	if err != nil {
		return TensorType{}, err
	}
	if err := o.Activation.Check(); err != nil {
		return TensorType{}, err
	}
	return TensorType{Shape: image4(t.Shape[0], o.Filters, oh, ow, o.DataFormat), Layout: o.DataFormat}, nil
}
func (o *Conv2DTranspose) Weights(in []TensorType) []WeightSpec {
	c := channelsOf(in, o.DataFormat)
	ws := []WeightSpec{{Name: "kernel", Shape: Shape{o.KH, o.KW, o.Filters, c}, Trainable: true}}
	if o.UseBias {
		ws = append(ws, WeightSpec{Name: "bias", Shape: Shape{o.Filters}, Trainable: true})
	}
	return ws
}

// windowOut checks a rank-4 input and computes a window op's output size.
func windowOut(in []TensorType, w Window2D, df Layout) (c, oh, ow int, err error) {
	if err := checkInputs(in, 1); err != nil {
		return 0, 0, 0, err
	}
	t := in[0]
	t.Layout = df
	c, h, wd, err := t.Spatial()
	if err != nil {
		return 0, 0, 0, err
	}
	oh, ow, _, err = w.Resolve(h, wd)
	if err != nil {
		return 0, 0, 0, err
	}
	if (h >= 0 && oh < 1) || (wd >= 0 && ow < 1) {
		return 0, 0, 0, fmt.Errorf("output %dx%d is empty for input %dx%d", oh, ow, h, wd)
	}
	return c, oh, ow, nil
}

func channelsOf(in []TensorType, df Layout) int {
	if len(in) == 0 || len(in[0].Shape) != 4 {
		return 0
	}
	t := in[0]
	t.Layout = df
	c, _, _, _ := t.Spatial()
	return c
}

// Pool2D is max or average pooling (Keras MaxPooling2D, AveragePooling2D).
// Average pooling with Keras "same" padding divides by the number of input
// cells in each window; CountIncludePad (ONNX) divides by the window size
// including explicit padding.
type Pool2D struct {
	Max bool
	Window2D
	CountIncludePad bool
	DataFormat      Layout
}

func (o *Pool2D) Kind() string {
	if o.Max {
		return "MaxPooling2D"
	}
	return "AveragePooling2D"
}
func (o *Pool2D) Infer(in []TensorType) (TensorType, error) {
	c, oh, ow, err := windowOut(in, o.Window2D, o.DataFormat)
	if err != nil {
		return TensorType{}, err
	}
	return TensorType{Shape: image4(in[0].Shape[0], c, oh, ow, o.DataFormat), Layout: o.DataFormat}, nil
}
func (*Pool2D) Weights([]TensorType) []WeightSpec { return nil }

// GlobalPool2D pools each channel over all of height and width.
type GlobalPool2D struct {
	Max        bool
	KeepDims   bool
	DataFormat Layout
}

func (o *GlobalPool2D) Kind() string {
	if o.Max {
		return "GlobalMaxPooling2D"
	}
	return "GlobalAveragePooling2D"
}
func (o *GlobalPool2D) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	t := in[0]
	t.Layout = o.DataFormat
	c, _, _, err := t.Spatial()
	if err != nil {
		return TensorType{}, err
	}
	if o.KeepDims {
		return TensorType{Shape: image4(t.Shape[0], c, 1, 1, o.DataFormat), Layout: o.DataFormat}, nil
	}
	return TensorType{Shape: Shape{t.Shape[0], c}}, nil
}
func (*GlobalPool2D) Weights([]TensorType) []WeightSpec { return nil }

// Flatten reshapes to (batch, rest) in the input's memory order. With
// ChannelsFirst set (Keras 2 Flatten(data_format="channels_first")) it first
// moves channels last, as Keras does, so the order is H, W, C.
type Flatten struct{ ChannelsFirst bool }

func (*Flatten) Kind() string { return "Flatten" }
func (o *Flatten) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	s := in[0].Shape
	if len(s) < 2 {
		return TensorType{}, fmt.Errorf("cannot flatten rank-%d input", len(s))
	}
	n := 1
	for _, d := range s[1:] {
		if d < 0 {
			n = -1
			break
		}
		n *= d
	}
	return TensorType{Shape: Shape{s[0], n}}, nil
}
func (*Flatten) Weights([]TensorType) []WeightSpec { return nil }

// Dense is a fully connected layer on the last axis. Kernel (in, Units);
// bias (Units).
type Dense struct {
	Units      int
	UseBias    bool
	Activation Act
	// Fused is what the optimizing passes folded into this node (nil in
	// imported models; see Fusion).
	Fused *Fusion
}

func (*Dense) Kind() string { return "Dense" }
func (o *Dense) Infer(in []TensorType) (TensorType, error) {
	in, skip, err := o.Fused.split(in)
	if err != nil {
		return TensorType{}, err
	}
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if o.Units < 1 {
		return TensorType{}, fmt.Errorf("units must be positive, got %d", o.Units)
	}
	if o.Units > 1<<31 {
		return TensorType{}, fmt.Errorf("units %d is too large", o.Units)
	}
	s := in[0].Shape
	if len(s) < 2 {
		return TensorType{}, fmt.Errorf("dense needs a rank >= 2 input, got %v", s)
	}
	if err := o.Activation.Check(); err != nil {
		return TensorType{}, err
	}
	out := s.Clone()
	out[len(out)-1] = o.Units
	l := LayoutNone
	if len(out) == 4 {
		l = in[0].Layout
	}
	return o.Fused.check(TensorType{Shape: out, Layout: l}, len(out)-1, skip)
}
func (o *Dense) Weights(in []TensorType) []WeightSpec {
	c := 0
	if len(in) >= 1 && len(in[0].Shape) > 0 {
		c = in[0].Shape[len(in[0].Shape)-1]
	}
	ws := []WeightSpec{{Name: "kernel", Shape: Shape{c, o.Units}, Trainable: true}}
	if o.UseBias {
		ws = append(ws, WeightSpec{Name: "bias", Shape: Shape{o.Units}, Trainable: true})
	}
	return append(ws, o.Fused.specs(o.Units)...)
}

// Dropout is the identity at inference. Spatial marks SpatialDropout2D.
type Dropout struct {
	Rate    float64
	Spatial bool
}

func (o *Dropout) Kind() string {
	if o.Spatial {
		return "SpatialDropout2D"
	}
	return "Dropout"
}
func (o *Dropout) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	return in[0], nil
}
func (*Dropout) Weights([]TensorType) []WeightSpec { return nil }

// Activation applies an element-wise activation (or softmax on an axis). It
// stands for Keras's Activation, ReLU, LeakyReLU, ELU, Softmax and
// ThresholdedReLU layers; the node's Class keeps which one it was.
type Activation struct{ Act Act }

func (*Activation) Kind() string { return "Activation" }
func (o *Activation) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if err := o.Act.Check(); err != nil {
		return TensorType{}, err
	}
	return in[0], nil
}
func (*Activation) Weights([]TensorType) []WeightSpec { return nil }

// PReLU is a leaky ReLU with a learned slope per element; SharedAxes (Keras
// 1-based axes, batch excluded) share one slope. Weight alpha has the input
// shape without batch, with shared axes set to 1.
type PReLU struct{ SharedAxes []int }

func (*PReLU) Kind() string { return "PReLU" }
func (o *PReLU) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	for _, a := range o.SharedAxes {
		if a < 1 || a >= len(in[0].Shape) {
			return TensorType{}, fmt.Errorf("shared axis %d out of range for %v", a, in[0].Shape)
		}
	}
	return in[0], nil
}
func (o *PReLU) Weights(in []TensorType) []WeightSpec {
	if len(in) != 1 || len(in[0].Shape) < 1 {
		return nil
	}
	s := in[0].Shape[1:].Clone()
	for _, a := range o.SharedAxes {
		if a >= 1 && a <= len(s) {
			s[a-1] = 1
		}
	}
	return []WeightSpec{{Name: "alpha", Shape: s, Trainable: true}}
}

// BatchNorm is inference-time batch normalization on one axis:
// y = gamma*(x-mean)/sqrt(var+eps) + beta. Weights in Keras's order: gamma
// (if Scale), beta (if Center), moving_mean and moving_variance (the last two
// non-trainable, as Keras counts them).
type BatchNorm struct {
	Axis          int // -1: last; for rank-4 inputs 1 means channels-first
	Epsilon       float64
	Center, Scale bool
	// Activation is an element-wise activation applied after the
	// normalization: only the fuse-activation pass sets it (Keras has
	// none), so that exec runs DenseNet's BN → ReLU as one step.
	Activation Act
}

func (*BatchNorm) Kind() string { return "BatchNormalization" }

// ResolvedAxis returns the normalized axis for a rank-r input.
func (o *BatchNorm) ResolvedAxis(rank int) int {
	a := o.Axis
	if a < 0 {
		a += rank
	}
	return a
}
func (o *BatchNorm) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	a := o.ResolvedAxis(len(in[0].Shape))
	if a < 1 || a >= len(in[0].Shape) {
		return TensorType{}, fmt.Errorf("axis %d out of range for %v", o.Axis, in[0].Shape)
	}
	if o.Epsilon < 0 {
		return TensorType{}, fmt.Errorf("negative epsilon %g", o.Epsilon)
	}
	if err := o.Activation.Check(); err != nil {
		return TensorType{}, err
	}
	return in[0], nil
}
func (o *BatchNorm) Weights(in []TensorType) []WeightSpec {
	c := 0
	if len(in) == 1 {
		if a := o.ResolvedAxis(len(in[0].Shape)); a >= 0 && a < len(in[0].Shape) {
			c = in[0].Shape[a]
		}
	}
	var ws []WeightSpec
	if o.Scale {
		ws = append(ws, WeightSpec{Name: "gamma", Shape: Shape{c}, Trainable: true})
	}
	if o.Center {
		ws = append(ws, WeightSpec{Name: "beta", Shape: Shape{c}, Trainable: true})
	}
	return append(ws,
		WeightSpec{Name: "moving_mean", Shape: Shape{c}},
		WeightSpec{Name: "moving_variance", Shape: Shape{c}})
}

// MergeMode is how a Merge combines its inputs.
type MergeMode uint8

// Merge modes (Keras merge layers and Keras 1 Merge modes).
const (
	MergeAdd MergeMode = iota
	MergeSubtract
	MergeMultiply
	MergeAverage
	MergeMaximum
	MergeMinimum
	MergeConcat
)

var mergeKinds = [...]string{"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"}

// Merge combines several inputs element-wise (with numpy broadcasting) or by
// concatenation along Axis.
type Merge struct {
	Mode MergeMode
	Axis int // Concatenate's axis; negative counts from the end
}

func (o *Merge) Kind() string { return mergeKinds[o.Mode] }
func (o *Merge) Infer(in []TensorType) (TensorType, error) {
	if len(in) < 1 || (o.Mode == MergeSubtract && len(in) != 2) {
		return TensorType{}, fmt.Errorf("%s got %d inputs", o.Kind(), len(in))
	}
	if o.Mode == MergeConcat {
		return concatShape(in, o.Axis)
	}
	out := in[0].Shape
	layout := in[0].Layout
	for _, t := range in[1:] {
		s, err := Broadcast(out, t.Shape)
		if err != nil {
			return TensorType{}, err
		}
		out = s
		if t.Layout != LayoutNone {
			layout = t.Layout
		}
	}
	return TensorType{Shape: out, Layout: layout}, nil
}
func (*Merge) Weights([]TensorType) []WeightSpec { return nil }

// Axis resolves Concatenate's axis for rank r.
func (o *Merge) ResolvedAxis(rank int) int {
	if o.Axis < 0 {
		return o.Axis + rank
	}
	return o.Axis
}

func concatShape(in []TensorType, axis int) (TensorType, error) {
	r := len(in[0].Shape)
	a := axis
	if a < 0 {
		a += r
	}
	if a < 1 || a >= r {
		return TensorType{}, fmt.Errorf("concat axis %d out of range for rank %d", axis, r)
	}
	out := in[0].Shape.Clone()
	for _, t := range in[1:] {
		if len(t.Shape) != r {
			return TensorType{}, fmt.Errorf("cannot concatenate %v and %v", in[0].Shape, t.Shape)
		}
		for i := 1; i < r; i++ {
			if i == a {
				if out[i] < 0 || t.Shape[i] < 0 {
					out[i] = -1
				} else {
					out[i] += t.Shape[i]
				}
			} else if out[i] != t.Shape[i] {
				return TensorType{}, fmt.Errorf("cannot concatenate %v and %v on axis %d", in[0].Shape, t.Shape, axis)
			}
		}
	}
	return TensorType{Shape: out, Layout: in[0].Layout}, nil
}

// Broadcast returns the numpy broadcast of two shapes; an unknown (-1)
// dimension broadcasts against anything.
func Broadcast(a, b Shape) (Shape, error) { return broadcast(a, b, true) }

// broadcast aligns a and b from the right; with lenient, -1 matches any
// size, otherwise only 1 or -1.
func broadcast(a, b Shape, lenient bool) (Shape, error) {
	n := max(len(a), len(b))
	out := make(Shape, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case lenient && (da < 0 || db < 0):
			out[i] = max(da, db)
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// Reshape changes the shape (batch kept); Target excludes the batch and may
// hold one -1.
type Reshape struct{ Target Shape }

func (*Reshape) Kind() string { return "Reshape" }
func (o *Reshape) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	total := int64(1)
	known := true
	for _, d := range in[0].Shape[1:] {
		if d < 0 {
			known = false
		}
		total *= int64(d)
	}
	out := Shape{in[0].Shape[0]}
	unknown := -1
	prod := int64(1)
	for i, d := range o.Target {
		switch {
		case d == -1 && unknown < 0:
			unknown = i
		case d <= 0:
			return TensorType{}, fmt.Errorf("bad target shape %v", o.Target)
		default:
			prod *= int64(d)
		}
		out = append(out, d)
	}
	if known {
		if unknown >= 0 {
			if prod == 0 || total%prod != 0 {
				return TensorType{}, fmt.Errorf("cannot reshape %v to %v", in[0].Shape, o.Target)
			}
			out[unknown+1] = int(total / prod)
		} else if prod != total {
			return TensorType{}, fmt.Errorf("cannot reshape %v (%d values) to %v (%d)", in[0].Shape, total, o.Target, prod)
		}
	}
	l := LayoutNone
	if len(out) == len(in[0].Shape) {
		l = in[0].Layout
	}
	return TensorType{Shape: out, Layout: l}, nil
}
func (*Reshape) Weights([]TensorType) []WeightSpec { return nil }

// Permute reorders the non-batch axes; Dims are Keras's 1-based axes.
type Permute struct{ Dims []int }

func (*Permute) Kind() string { return "Permute" }
func (o *Permute) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	s := in[0].Shape
	if len(o.Dims) != len(s)-1 {
		return TensorType{}, fmt.Errorf("permutation %v does not fit %v", o.Dims, s)
	}
	seen := make([]bool, len(s))
	out := Shape{s[0]}
	for _, d := range o.Dims {
		if d < 1 || d >= len(s) || seen[d] {
			return TensorType{}, fmt.Errorf("bad permutation %v", o.Dims)
		}
		seen[d] = true
		out = append(out, s[d])
	}
	return TensorType{Shape: out}, nil
}
func (*Permute) Weights([]TensorType) []WeightSpec { return nil }

// UpSampling2D repeats rows and columns (nearest) or interpolates (bilinear).
type UpSampling2D struct {
	SH, SW        int
	Interpolation string // "nearest" or "bilinear"
	DataFormat    Layout
}

func (*UpSampling2D) Kind() string { return "UpSampling2D" }
func (o *UpSampling2D) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if o.SH < 1 || o.SW < 1 {
		return TensorType{}, fmt.Errorf("upsampling size %dx%d must be positive", o.SH, o.SW)
	}
	t := in[0]
	t.Layout = o.DataFormat
	c, h, w, err := t.Spatial()
	if err != nil {
		return TensorType{}, err
	}
	if h > 0 {
		h *= o.SH
	}
	if w > 0 {
		w *= o.SW
	}
	return TensorType{Shape: image4(t.Shape[0], c, h, w, o.DataFormat), Layout: o.DataFormat}, nil
}
func (*UpSampling2D) Weights([]TensorType) []WeightSpec { return nil }

// Unknown is a layer kconv cannot compute. It keeps its class name and its
// stored weights so that summaries still work; running it fails.
type Unknown struct {
	ClassName string
	// OutputShape (without batch) when the source states it; otherwise the
	// first input's shape is assumed.
	OutputShape Shape
}

func (o *Unknown) Kind() string { return o.ClassName }
func (o *Unknown) Infer(in []TensorType) (TensorType, error) {
	if o.OutputShape != nil {
		b := -1
		if len(in) > 0 && len(in[0].Shape) > 0 {
			b = in[0].Shape[0]
		}
		return TensorType{Shape: append(Shape{b}, o.OutputShape...)}, nil
	}
	if len(in) == 0 {
		return TensorType{}, fmt.Errorf("unknown layer %s has no input and no output shape", o.ClassName)
	}
	return in[0], nil
}

// Weights of an Unknown op are whatever the file stored (see Node.Specs).
func (*Unknown) Weights([]TensorType) []WeightSpec { return nil }
