package onnx

import (
	"fmt"
	"slices"

	"github.com/kconv/kconv/ir"
)

// Dropout (inference), BatchNormalization, LRN and ReduceMean.

func (c *nctx) dropout() error {
	v, err := c.need(0)
	if err != nil {
		return err
	}
	rate, err := c.float("ratio", 0.5)
	if err != nil {
		return err
	}
	if c.im.opset >= 12 {
		if t, err := c.constIn(1, "the ratio"); err != nil {
			return err
		} else if t != nil {
			if rate, err = t.scalar(); err != nil {
				return err
			}
		}
		if t, err := c.constIn(2, "training_mode"); err != nil {
			return err
		} else if t != nil {
			// Training mode with ratio 0 is the identity (torchvision's
			// Swin exports its attention dropout so).
			if m, err := t.scalar(); err != nil || (m != 0 && rate != 0) {
				return fmtErr(err, "training mode is not supported")
			}
		}
	}
	if c.outUsed(1) {
		s := shapeOf(v)
		if slices.Contains(s, -1) {
			return fmt.Errorf("the mask output of a dynamic-batch Dropout is not supported")
		}
		t := intTensor(slices.Clone([]int(s)), nil)
		t.i = make([]int64, t.n())
		for k := range t.i {
			t.i[k] = 1
		}
		t.origin = "dropout mask " + c.name
		c.setOut(1, &val{c: t})
	}
	if v.c != nil && v.node == "" {
		c.setOut(0, v)
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Dropout{Rate: rate}, []string{x})
}

func (c *nctx) batchNorm() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	for i := 1; i < len(c.n.GetOutput()); i++ {
		if c.outUsed(i) {
			return fmt.Errorf("training outputs (running mean and variance) are not supported")
		}
	}
	if m, err := c.int("training_mode", 0); err != nil || m != 0 {
		return fmtErr(err, "training mode is not supported")
	}
	if s, err := c.int("spatial", 1); err != nil || s != 1 {
		return fmtErr(err, "spatial=0 (per-activation statistics) is not supported")
	}
	eps, err := c.float("epsilon", 1e-5)
	if err != nil {
		return err
	}
	if len(t.Shape) < 2 {
		return fmt.Errorf("input %v has no channel axis", t.Shape)
	}
	ch := t.Shape[1]
	names := []string{"gamma", "beta", "moving_mean", "moving_variance"}
	var ws []*ir.Weight
	for i, wn := range names {
		p, err := c.constIn(i+1, "the "+wn)
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("input %d (%s) is missing", i+1, wn)
		}
		if p.n() != ch {
			return fmt.Errorf("%s has shape %v, the input has %d channels", wn, p.shape, ch)
		}
		ws = append(ws, weight(wn, ir.Shape{ch}, p, 0, nil))
	}
	return c.emitOut(&ir.BatchNorm{Axis: 1, Epsilon: eps, Center: true, Scale: true}, []string{x}, ws...)
}

func (c *nctx) lrn() error {
	size, err := c.int("size", 0)
	if err != nil {
		return err
	}
	alpha, err := c.float("alpha", 1e-4)
	if err != nil {
		return err
	}
	beta, err := c.float("beta", 0.75)
	if err != nil {
		return err
	}
	bias, err := c.float("bias", 1)
	if err != nil {
		return err
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.LRN{Size: int(size), Alpha: alpha, Beta: beta, Bias: bias}, []string{x})
}

func (c *nctx) reduceMean() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	r := len(t.Shape)
	raw, ok, err := c.listInput("axes", 1, 18, "the axes")
	if err != nil {
		return err
	}
	keep, err := c.int("keepdims", 1)
	if err != nil {
		return err
	}
	if !ok || len(raw) == 0 {
		noop, err := c.int("noop_with_empty_axes", 0)
		if err != nil {
			return err
		}
		if noop != 0 {
			c.setOut(0, c.in(0))
			return nil
		}
		raw = nil
		for i := 0; i < r; i++ {
			raw = append(raw, int64(i))
		}
	}
	var axes []int
	for _, a := range raw {
		ax, err := normAxis(a, r)
		if err != nil {
			return err
		}
		if slices.Contains(axes, ax) {
			return fmt.Errorf("axis %d given twice", ax)
		}
		axes = append(axes, ax)
	}
	slices.Sort(axes)
	if r == 4 {
		switch {
		case slices.Equal(axes, []int{2, 3}) && t.Layout != ir.ChannelsLast:
			return c.emitOut(&ir.GlobalPool2D{KeepDims: keep != 0, DataFormat: ir.ChannelsFirst}, []string{x})
		case slices.Equal(axes, []int{1, 2}) && t.Layout == ir.ChannelsLast:
			return c.emitOut(&ir.GlobalPool2D{KeepDims: keep != 0, DataFormat: ir.ChannelsLast}, []string{x})
		}
	}
	return c.emitOut(&ir.ReduceMean{Axes: axes, KeepDims: keep != 0}, []string{x})
}
