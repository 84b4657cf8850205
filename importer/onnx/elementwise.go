package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/kconv/kconv/ir"
)

// Element-wise ops (arithmetic, Sum/Max/Min/Mean) and activations
// (Softmax, PRelu, Clip, Selu, …).

var binaryOps = map[string]ir.BinaryOp{
	"Add": ir.BinaryAdd, "Sub": ir.BinarySub, "Mul": ir.BinaryMul, "Div": ir.BinaryDiv,
	"Sum": ir.BinaryAdd, "Mean": ir.BinaryAdd, "Max": ir.BinaryMax, "Min": ir.BinaryMin,
	"Pow": ir.BinaryPow,
}

// mergeMode returns the Merge (a Keras merge layer) an element-wise ONNX
// op is over computed tensors of one shape: its Binary's Merge form
// (ir.BinaryOp.MergeMode), or Average for Mean (whose Binary form is a sum
// then a scaling).
func mergeMode(op string) (ir.MergeMode, bool) {
	if op == "Mean" {
		return ir.MergeAverage, true
	}
	b, ok := binaryOps[op]
	if !ok {
		return 0, false
	}
	return b.MergeMode()
}

func (c *nctx) elementwise() error {
	n := c.nin()
	variadic := c.op == "Sum" || c.op == "Mean" || c.op == "Max" || c.op == "Min"
	if n < 1 || (!variadic && n != 2) {
		return fmt.Errorf("expected 2 inputs, got %d", n)
	}
	vals := make([]*val, n)
	allConst, anyConst := true, false
	for i := range vals {
		v, err := c.need(i)
		if err != nil {
			return err
		}
		vals[i] = v
		if v.c != nil && v.node == "" {
			anyConst = true
		} else {
			allConst = false
		}
	}
	// Opsets < 7 broadcast B from axis (attribute broadcast=1, axis=k).
	if c.im.opset < 7 && n == 2 {
		if b, err := c.int("broadcast", 0); err != nil {
			return err
		} else if b != 0 {
			if a := c.attrs["axis"]; a != nil {
				ra, sb := len(shapeOf(vals[0])), shapeOf(vals[1])
				axis, err := normAxis(a.GetI(), ra)
				if err != nil {
					return err
				}
				pad := ra - axis - len(sb)
				if pad < 0 {
					return fmt.Errorf("cannot broadcast %v from axis %d of rank %d", sb, axis, ra)
				}
				if pad > 0 {
					if vals[1].c == nil || vals[1].node != "" {
						return fmt.Errorf("legacy broadcasting of a computed tensor is not supported")
					}
					shape := append(slices.Clone([]int(sb)), make([]int, pad)...)
					for k := len(sb); k < len(shape); k++ {
						shape[k] = 1
					}
					t, err := vals[1].c.reshaped(shape)
					if err != nil {
						return err
					}
					vals[1] = &val{c: t}
				}
			}
		}
	}
	if n == 1 {
		c.setOut(0, vals[0])
		return nil
	}
	if allConst {
		opName := c.op
		if opName == "Sum" || opName == "Mean" {
			opName = "Add"
		}
		acc := vals[0].c
		for _, v := range vals[1:] {
			t, err := foldBinary(opName, acc, v.c, c.im.budget)
			if err != nil {
				return err
			}
			acc = t
		}
		if c.op == "Mean" {
			t, err := foldBinary("Div", acc, floatTensor(nil, []float32{float32(n)}), c.im.budget)
			if err != nil {
				return err
			}
			acc = t
		}
		acc.origin = "folded " + c.name
		c.setOut(0, &val{c: acc})
		return nil
	}
	names := make([]string, n)
	same := true
	for i, v := range vals {
		var err error
		if names[i], err = c.im.nodeOf(c.inName(i), v); err != nil {
			return err
		}
		if !shapeOf(v).Equal(shapeOf(vals[0])) {
			same = false
		}
	}
	if mode, ok := mergeMode(c.op); ok && same && !anyConst && !(c.op == "Sub" && n != 2) {
		return c.emitOut(&ir.Merge{Mode: mode}, names)
	}
	op := binaryOps[c.op]
	acc := names[0]
	for i := 1; i < n; i++ {
		suffix := ""
		if i < n-1 || c.op == "Mean" {
			suffix = fmt.Sprintf("part%d", i)
		}
		name, _, err := c.emit(suffix, &ir.Binary{Op: op}, []string{acc, names[i]})
		if err != nil {
			return err
		}
		acc = name
	}
	if c.op == "Mean" {
		k, err := c.im.constNode(c.name+"/count", floatTensor([]int{1}, []float32{1 / float32(n)}))
		if err != nil {
			return err
		}
		return c.emitOut(&ir.Binary{Op: ir.BinaryMul}, []string{acc, k})
	}
	c.setOut(0, &val{node: acc, t: c.im.irType(acc)})
	return nil
}

func (c *nctx) activation(a ir.Act) error {
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Activation{Act: a}, []string{x})
}

// ONNX's SELU defaults, which equal Keras's selu constants in float32.
const (
	seluAlpha = 1.67326319217681884765625
	seluGamma = 1.05070102214813232421875
)

func (c *nctx) selu() error {
	a, err := c.float("alpha", seluAlpha)
	if err != nil {
		return err
	}
	g, err := c.float("gamma", seluGamma)
	if err != nil {
		return err
	}
	if math.Abs(a-seluAlpha) < 1e-6 && math.Abs(g-seluGamma) < 1e-6 {
		return c.activation(ir.Act{Name: ir.ActSELU})
	}
	// selu(x) = gamma · elu_alpha(x).
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	e, _, err := c.emit("elu", &ir.Activation{Act: ir.Act{Name: ir.ActELU, Alpha: a}}, []string{x})
	if err != nil {
		return err
	}
	k, err := c.im.constNode(c.name+"/gamma", floatTensor([]int{1}, []float32{float32(g)}))
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Binary{Op: ir.BinaryMul}, []string{e, k})
}

func (c *nctx) softmax() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	name := ir.ActSoftmax
	if c.op == "LogSoftmax" {
		name = ir.ActLogSoftmax
	}
	r := len(t.Shape)
	if c.im.opset >= 13 {
		a, err := c.int("axis", -1)
		if err != nil {
			return err
		}
		axis, err := normAxis(a, r)
		if err != nil {
			return err
		}
		if axis == 0 && t.Shape[0] < 0 {
			return fmt.Errorf("softmax over the dynamic batch axis")
		}
		// Act's axis 0 is refused (the zero value would mean the batch);
		// a static dimension 0 is named by its negative form, -rank.
		ax := axis
		if axis == r-1 || axis == 0 {
			ax = axis - r
		}
		return c.emitOut(&ir.Activation{Act: ir.Act{Name: name, Axis: ax}}, []string{x})
	}
	// Opsets < 13: the input is seen as 2-D (d0…d(axis-1), d(axis)…) and
	// softmax runs over the second dimension.
	a, err := c.int("axis", 1)
	if err != nil {
		return err
	}
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a > int64(r) {
		return fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	axis := int(a)
	if axis >= r-1 {
		if axis == r {
			return fmt.Errorf("softmax over an empty axis set")
		}
		return c.emitOut(&ir.Activation{Act: ir.Act{Name: name, Axis: -1}}, []string{x})
	}
	flat := ir.Shape{}
	outer := 1
	for i, d := range t.Shape[:axis] {
		if d < 0 && i == 0 {
			continue
		}
		outer *= d
	}
	inner := 1
	for _, d := range t.Shape[axis:] {
		inner *= d
	}
	if t.Shape[0] < 0 {
		if axis == 0 {
			return fmt.Errorf("softmax over the dynamic batch axis")
		}
		flat = append(flat, -1)
		flat = append(flat, t.Shape[1:axis]...)
	} else {
		flat = append(flat, t.Shape[:axis]...)
	}
	if axis == 0 {
		flat = ir.Shape{1}
	}
	_ = outer
	flat = append(flat, inner)
	f, _, err := c.reshapeNode("flat", x, t.Shape, flat)
	if err != nil {
		return err
	}
	s, _, err := c.emit(string(name), &ir.Activation{Act: ir.Act{Name: name, Axis: -1}}, []string{f})
	if err != nil {
		return err
	}
	out, tt, err := c.reshapeNode("", s, flat, t.Shape)
	if err != nil {
		return err
	}
	c.setOut(0, &val{node: out, t: tt})
	return nil
}

func (c *nctx) prelu() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	slope, err := c.constIn(1, "the slope")
	if err != nil {
		return err
	}
	if slope == nil {
		return fmt.Errorf("input 1 is missing")
	}
	r := len(t.Shape)
	if len(slope.shape) > r {
		return fmt.Errorf("slope %v has a higher rank than the input %v", slope.shape, t.Shape)
	}
	// Align the slope right, as ONNX broadcasting does (opsets < 7: a
	// vector of C values is per channel, axis 1).
	aligned := make([]int, r)
	for i := range aligned {
		aligned[i] = 1
	}
	if c.im.opset < 7 && len(slope.shape) == 1 && r >= 2 && slope.shape[0] == t.Shape[1] {
		aligned[1] = slope.shape[0]
	} else {
		copy(aligned[r-len(slope.shape):], slope.shape)
	}
	if aligned[0] != 1 {
		return fmt.Errorf("slope %v varies along dimension 0", slope.shape)
	}
	op := &ir.PReLU{}
	wshape := ir.Shape{}
	for i := 1; i < r; i++ {
		switch {
		case aligned[i] == t.Shape[i]:
		case aligned[i] == 1:
			op.SharedAxes = append(op.SharedAxes, i)
		default:
			return fmt.Errorf("slope %v does not broadcast to %v", slope.shape, t.Shape)
		}
		wshape = append(wshape, aligned[i])
	}
	if len(wshape) == 0 {
		return fmt.Errorf("PRelu of a rank-1 input is not supported")
	}
	return c.emitOut(op, []string{x}, weight("alpha", wshape, slope, 0, nil))
}

func (c *nctx) clip() error {
	lo, hi := math.Inf(-1), math.Inf(1)
	if c.im.opset < 11 {
		var err error
		if lo, err = c.float("min", -math.MaxFloat32); err != nil {
			return err
		}
		if hi, err = c.float("max", math.MaxFloat32); err != nil {
			return err
		}
	} else {
		for i, p := range []*float64{&lo, &hi} {
			t, err := c.constIn(i+1, "the bound")
			if err != nil {
				return err
			}
			if t != nil {
				if *p, err = t.scalar(); err != nil {
					return err
				}
			}
		}
	}
	if lo <= -math.MaxFloat32 {
		lo = math.Inf(-1)
	}
	if hi >= math.MaxFloat32 {
		hi = math.Inf(1)
	}
	switch {
	case lo == 0 && math.IsInf(hi, 1):
		return c.activation(ir.Act{Name: ir.ActReLU})
	case lo == 0 && hi == 6:
		return c.activation(ir.Act{Name: ir.ActReLU6})
	case lo == 0 && hi > 0:
		return c.activation(ir.Act{Name: ir.ActReLU, HasMax: true, MaxValue: hi})
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Clip{Min: lo, Max: hi}, []string{x})
}
