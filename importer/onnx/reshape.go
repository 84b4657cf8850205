package onnx

import (
	"fmt"
	"slices"

	"github.com/kconv/kconv/ir"
)

// Reshape, Flatten and Transpose: static ir reshapes with the dynamic batch
// resolved, and transposes folded in pairs.

// reshapeVal defines output 0 as v reshaped to out (-1: the dynamic batch).
func (c *nctx) reshapeVal(v *val, out []int) error {
	if v.c != nil && v.node == "" {
		t, err := v.c.reshaped(out)
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	in := v.t.Shape
	if in.Equal(ir.Shape(out)) {
		c.setOut(0, v)
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	name, t, err := c.reshapeNode("", x, in, ir.Shape(out))
	if err != nil {
		return err
	}
	c.setOut(0, &val{node: name, t: t})
	return nil
}

// reshapeNode emits the reshape of node x (shape in) to out: Reshape when
// dimension 0 is kept, ReshapeTo for static shapes.
func (c *nctx) reshapeNode(suffix, x string, in, out ir.Shape) (string, ir.TensorType, error) {
	if len(out) == 0 {
		return "", ir.TensorType{}, fmt.Errorf("the result would be a scalar")
	}
	hasZero := slices.Contains(out, 0)
	if len(in) > 0 && out[0] == in[0] && !hasZero && len(out) > 1 {
		return c.emit(suffix, &ir.Reshape{Target: out[1:].Clone()}, []string{x})
	}
	if !slices.ContainsFunc(in, func(d int) bool { return d < 0 }) && !slices.ContainsFunc(out, func(d int) bool { return d < 0 }) {
		return c.emit(suffix, &ir.ReshapeTo{Shape: out.Clone()}, []string{x})
	}
	return "", ir.TensorType{}, fmt.Errorf("reshape from %v to %v moves the dynamic batch axis", in, out)
}

func (c *nctx) reshapeOp() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	var target []int64
	var batch []bool
	if c.im.opset < 5 {
		v, ok, err := c.ints("shape")
		if err != nil || !ok {
			return fmtErr(err, "shape is missing")
		}
		target = v
	} else {
		t, err := c.constIn(1, "the target shape")
		if err != nil {
			return err
		}
		if t == nil {
			return fmt.Errorf("input 1 is missing")
		}
		if target, batch, err = t.symInts(); err != nil {
			return err
		}
	}
	allowZero, err := c.int("allowzero", 0)
	if err != nil {
		return err
	}
	out, err := resolveReshape(shapeOf(data), target, batch, allowZero != 0)
	if err != nil {
		return err
	}
	return c.reshapeVal(data, out)
}

// resolveReshape computes ONNX Reshape's output shape. A dynamic batch
// (-1 in `in`; in target, the elements isBatch marks with value 0) must
// stay dimension 0. Unknown dimensions after the batch (-1 in `in` past
// dimension 0; marked symUnknown elements of target) leave one unknown
// output dimension at most, -1 in the result, which ir.Reshape infers
// once the input's shape is known (exec compiles per input shape).
func resolveReshape(in ir.Shape, target []int64, isBatch []bool, allowZero bool) ([]int, error) {
	out := make([]int, len(target))
	batch := make([]bool, len(target))
	unknown := make([]bool, len(target))
	copied := make([]bool, len(target)) // unknown[i] copied from in[i]
	infer := -1
	for i, t := range target {
		switch {
		case i < len(isBatch) && isBatch[i] && t == symUnknown:
			unknown[i] = true
		case i < len(isBatch) && isBatch[i]:
			batch[i] = true
		case t == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("target %v copies dimension %d of %v", target, i, in)
			}
			switch {
			case in[i] >= 0:
				out[i] = in[i]
			case i == 0:
				batch[i] = true
			default:
				unknown[i], copied[i] = true, true
			}
		case t == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("target %v has two -1", target)
			}
			infer = i
		case t < 0 || t > maxElements:
			return nil, fmt.Errorf("bad target shape %v", target)
		default:
			out[i] = int(t)
		}
	}
	dynamic := len(in) > 0 && in[0] < 0
	for i, b := range batch {
		if b && (i != 0 || !dynamic) {
			return nil, fmt.Errorf("target %v moves the dynamic batch axis of %v", target, in)
		}
	}
	unknownIn := len(in) > 1 && slices.ContainsFunc(in[1:], func(d int) bool { return d < 0 })
	if unknownIn || slices.Contains(unknown, true) {
		// One output dimension after the batch may stay unknown: a
		// copied or symbolic one, or the -1 when the input has
		// unknown dimensions.
		if dynamic && infer == 0 && !batch[0] {
			return nil, fmt.Errorf("cannot reshape %v to %v keeping the dynamic batch axis first", in, target)
		}
		// Every unknown input dimension copied in place: the rest,
		// -1 included, is known.
		allCopied := true
		kIn := int64(1)
		for i := 1; i < len(in); i++ {
			switch {
			case in[i] >= 0:
				kIn *= int64(in[i])
			case i >= len(copied) || !copied[i]:
				allCopied = false
			}
		}
		if !dynamic && len(in) > 0 {
			kIn *= int64(in[0])
		}
		for i, u := range unknown {
			if u && !copied[i] {
				allCopied = false // a symbol: its size is not in's
			}
		}
		n := 0
		for i := range out {
			if unknown[i] || (i == infer && !allCopied) {
				out[i] = -1
				n++
			}
		}
		if n != 1 {
			return nil, fmt.Errorf("reshape of %v to %v leaves %d dimensions unknown (kconv infers one)", in, target, n)
		}
		if infer >= 0 && allCopied {
			kOut := int64(1)
			for i, d := range out {
				if i != infer && !batch[i] && !unknown[i] {
					kOut *= int64(d)
				}
			}
			if kOut == 0 || kIn%kOut != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
			}
			out[infer] = int(kIn / kOut)
		} else if infer >= 0 && !unknownIn {
			// The -1 is known once the unknown dimension is: not before.
			return nil, fmt.Errorf("reshape of %v to %v has an inferred dimension beside an unknown one", in, target)
		}
		if dynamic {
			out[0] = -1
		}
		return out, nil
	}
	total := int64(1)
	for i, d := range in {
		if i == 0 && dynamic {
			continue
		}
		total *= int64(d)
	}
	known := int64(1)
	for i, d := range out {
		if i != infer && !batch[i] {
			known *= int64(d)
		}
	}
	if dynamic {
		switch {
		case len(out) > 0 && batch[0]:
		case infer == 0 && known == total:
			batch[0], infer = true, -1
		default:
			return nil, fmt.Errorf("cannot reshape %v to %v keeping the dynamic batch axis first", in, target)
		}
		out[0] = -1
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
		}
		out[infer] = int(total / known)
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d values) to %v (%d)", in, total, target, known)
	}
	return out, nil
}

func (c *nctx) flatten() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	s := shapeOf(data)
	a, err := c.int("axis", 1)
	if err != nil {
		return err
	}
	if a < 0 {
		a += int64(len(s))
	}
	if a < 0 || a > int64(len(s)) {
		return fmt.Errorf("axis %d out of range for rank %d", a, len(s))
	}
	axis := int(a)
	if len(s) > 1 && slices.ContainsFunc(s[1:], func(d int) bool { return d < 0 }) && (axis != 1 || data.node == "") {
		return fmt.Errorf("flatten at axis %d of %v: only axis 1 flattens unknown dimensions", axis, s)
	}
	outer, inner := 1, 1
	for i, d := range s {
		if d < 0 {
			continue
		}
		if i < axis {
			outer *= d
		} else {
			inner *= d
		}
	}
	if len(s) > 0 && s[0] < 0 {
		if axis == 0 || outer != 1 {
			return fmt.Errorf("flatten at axis %d of %v merges the dynamic batch axis", axis, s)
		}
		outer = -1
	}
	if axis == 1 && data.node != "" && len(s) >= 2 {
		if len(s) == 2 {
			c.setOut(0, data)
			return nil
		}
		x, _, err := c.act(0)
		if err != nil {
			return err
		}
		return c.emitOut(&ir.Flatten{}, []string{x})
	}
	return c.reshapeVal(data, []int{outer, inner})
}

func (c *nctx) transpose() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	s := shapeOf(data)
	perm, err := c.perm(len(s))
	if err != nil {
		return err
	}
	if data.c != nil && data.node == "" {
		t, err := foldTranspose(data.c, perm, c.im.budget)
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	if len(s) > 1 && s[0] < 0 && perm[0] != 0 {
		// The batch moves: carried as a time-major value (timemajor.go).
		return c.transposeBatchAxis(data)
	}
	identity := true
	for i, x := range perm {
		if x != i {
			identity = false
		}
	}
	if identity {
		c.setOut(0, data)
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	// Transpose of a Transpose is one Transpose (or none): exporters from
	// channels-last frameworks emit NHWC→NCHW→NHWC pairs.
	if prev := c.im.nodes[x]; prev != nil {
		if pt, ok := prev.Op.(*ir.Transpose); ok {
			comp := make([]int, len(perm))
			identity := true
			for i, p := range perm {
				comp[i] = pt.Perm[p]
				identity = identity && comp[i] == i
			}
			src := prev.Inputs[0]
			if identity {
				c.setOut(0, &val{node: src, t: c.im.irType(src)})
				return nil
			}
			perm, x = comp, src
		}
	}
	return c.emitOut(&ir.Transpose{Perm: perm}, []string{x})
}
