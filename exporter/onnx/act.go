package onnx

import (
	"fmt"
	"math"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// SELU's constants as Keras (and ONNX's defaults) define them.
const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

// activation applies a to v, computing the result into out (the value
// itself when a is linear).
func (b *builder) activation(v *value, a ir.Act, out string) (*value, error) {
	res := &value{name: out, shape: v.shape, layout: v.layout, moved: v.moved}
	x := v.name
	one := func(op string, attrs ...any) (*value, error) {
		b.add(op, []string{x}, out, attrsOf(attrs)...)
		return res, nil
	}
	switch a.Name {
	case "", ir.ActLinear:
		// Nothing to compute: the input stands for the result.
		return v, nil
	case ir.ActReLU:
		return b.relu(v, a, out)
	case ir.ActReLU6:
		b.add("Clip", []string{x, b.scalar(0), b.scalar(6)}, out)
		return res, nil
	case ir.ActLeakyReLU:
		return one("LeakyRelu", "alpha", a.Alpha)
	case ir.ActSigmoid, ir.ActTanh, ir.ActSoftplus, ir.ActSoftsign, ir.ActExponential, ir.ActErf:
		// Parameterless, with an ONNX op in every opset kconv writes:
		// ir's activation table names it.
		info, _ := a.Name.Info()
		return one(info.ONNX)
	case ir.ActELU:
		return one("Elu", "alpha", a.Alpha)
	case ir.ActSELU:
		return one("Selu", "alpha", seluAlpha, "gamma", seluScale)
	case ir.ActHardSigmoid:
		return one("HardSigmoid", "alpha", a.Alpha, "beta", a.Beta)
	case ir.ActHardSwish:
		if b.opset >= 14 {
			return one("HardSwish")
		}
		hs := b.step("HardSigmoid", []string{x}, out+"/hard_sigmoid", attrsOf([]any{"alpha", 1.0 / 6, "beta", 0.5})...)
		b.add("Mul", []string{x, hs}, out)
		return res, nil
	case ir.ActSwish:
		s := b.step("Sigmoid", []string{x}, out+"/sigmoid")
		b.add("Mul", []string{x, s}, out)
		return res, nil
	case ir.ActMish:
		if b.opset >= 18 {
			return one("Mish")
		}
		sp := b.step("Softplus", []string{x}, out+"/softplus")
		t := b.step("Tanh", []string{sp}, out+"/tanh")
		b.add("Mul", []string{x, t}, out)
		return res, nil
	case ir.ActGELU:
		return b.gelu(v, a, out)
	case ir.ActSoftmax, ir.ActLogSoftmax:
		return b.softmax(v, a, out)
	}
	return nil, fmt.Errorf("activation %q is not supported", a.Name)
}

// attrsOf makes float attributes from name, value pairs.
func attrsOf(kv []any) []*onnxpb.AttributeProto {
	var out []*onnxpb.AttributeProto
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, aFloat(kv[i].(string), kv[i+1].(float64)))
	}
	return out
}

// relu is Keras's relu(x, negative_slope, max_value, threshold), as kconv
// computes it: the positive part is x where x > threshold (max(x, 0) when
// the threshold is 0), clipped to [0, max_value]; below the threshold
// negative_slope*(x-threshold) is added. It is written with ops that
// importer/onnx reads back: Relu, LeakyRelu, ThresholdedRelu (x where
// x > alpha, else 0) and Clip alone, else
//
//	positive = ThresholdedRelu(x, threshold) or Relu(x), then Clip(0, max)
//	y = positive - Mul(Relu(Sub(threshold, x)), negative_slope)
//
// where slope·relu(threshold-x) is exactly -slope·(x-threshold) below the
// threshold and 0 above it.
func (b *builder) relu(v *value, a ir.Act, out string) (*value, error) {
	res := &value{name: out, shape: v.shape, layout: v.layout, moved: v.moved}
	x := v.name
	slope, th := a.Alpha, a.Threshold
	switch {
	case slope == 0 && th == 0 && !a.HasMax:
		b.add("Relu", []string{x}, out)
		return res, nil
	case slope == 0 && th == 0:
		b.add("Clip", []string{x, b.scalar(0), b.scalar(float32(a.MaxValue))}, out)
		return res, nil
	case th == 0 && !a.HasMax:
		b.add("LeakyRelu", []string{x}, out, aFloat("alpha", slope))
		return res, nil
	case slope == 0 && !a.HasMax:
		b.add("ThresholdedRelu", []string{x}, out, aFloat("alpha", th))
		return res, nil
	}
	pos := func(name string) string {
		if th != 0 {
			return b.add("ThresholdedRelu", []string{x}, name, aFloat("alpha", th))
		}
		return b.add("Relu", []string{x}, name)
	}
	clip := func(in, name string) string {
		return b.add("Clip", []string{in, b.scalar(0), b.scalar(float32(a.MaxValue))}, name)
	}
	if slope == 0 { // with a maximum
		clip(pos(b.fresh(out+"/positive")), out)
		return res, nil
	}
	p := pos(b.fresh(out + "/positive"))
	if a.HasMax {
		p = clip(p, b.fresh(out+"/clipped"))
	}
	below := b.step("Relu", []string{b.step("Sub", []string{b.scalar(float32(th)), x}, out+"/below")}, out+"/below_relu")
	neg := b.step("Mul", []string{below, b.scalar(float32(slope))}, out+"/negative")
	b.add("Sub", []string{p, neg}, out)
	return res, nil
}

// gelu is Gelu at opset 20, else its formula: x*Φ(x) with erf, or the tanh
// approximation.
func (b *builder) gelu(v *value, a ir.Act, out string) (*value, error) {
	res := &value{name: out, shape: v.shape, layout: v.layout, moved: v.moved}
	x := v.name
	if b.opset >= 20 {
		approx := "none"
		if a.Approximate {
			approx = "tanh"
		}
		b.add("Gelu", []string{x}, out, aString("approximate", approx))
		return res, nil
	}
	var inner string
	if a.Approximate {
		// tanh(sqrt(2/π)·(x + 0.044715·x³))
		x3 := b.step("Mul", []string{x, b.step("Mul", []string{x, x}, out+"/x2")}, out+"/x3")
		s := b.step("Add", []string{x, b.step("Mul", []string{x3, b.scalar(0.044715)}, out+"/cubic")}, out+"/sum")
		inner = b.step("Tanh", []string{b.step("Mul", []string{s, b.scalar(float32(math.Sqrt(2 / math.Pi)))}, out+"/scaled")}, out+"/tanh")
	} else {
		inner = b.step("Erf", []string{b.step("Mul", []string{x, b.scalar(float32(1 / math.Sqrt2))}, out+"/scaled")}, out+"/erf")
	}
	p := b.step("Add", []string{inner, b.scalar(1)}, out+"/plus1")
	half := b.step("Mul", []string{x, b.scalar(0.5)}, out+"/half")
	b.add("Mul", []string{half, p}, out)
	return res, nil
}

// softmax normalizes over the activation's logical axis, mapped to the
// value's storage. Before opset 13 Softmax flattens the axes from axis on,
// so a softmax over another axis than the last is done between transposes.
func (b *builder) softmax(v *value, a ir.Act, out string) (*value, error) {
	res := &value{name: out, shape: v.shape, layout: v.layout, moved: v.moved}
	kind := "Softmax"
	if a.Name == ir.ActLogSoftmax {
		kind = "LogSoftmax"
	}
	r := len(v.shape)
	la := a.Axis
	if la < 0 {
		la += r
	}
	if la < 0 || la >= r {
		return nil, fmt.Errorf("%s axis %d out of range for %v", a.Name, a.Axis, v.shape)
	}
	p := v.physAxis(la)
	if b.opset >= 13 || p == r-1 {
		b.add(kind, []string{v.name}, out, aInt("axis", int64(p)))
		return res, nil
	}
	perm := make([]int64, r)
	for i := range perm {
		perm[i] = int64(i)
	}
	perm[p], perm[r-1] = perm[r-1], perm[p]
	t := b.step("Transpose", []string{v.name}, out+"/swapped", aInts("perm", perm...))
	s := b.step(kind, []string{t}, out+"/normalized", aInt("axis", int64(r-1)))
	b.add("Transpose", []string{s}, out, aInts("perm", perm...))
	return res, nil
}
