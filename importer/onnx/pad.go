package onnx

import (
	"fmt"

	"github.com/kconv/kconv/ir"
)

// Pad.

func (c *nctx) pad() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	r := len(t.Shape)
	mode, err := c.str("mode", "constant")
	if err != nil {
		return err
	}
	var raw []int64
	value := 0.0
	if c.im.opset < 11 {
		var ok bool
		name := "pads"
		if c.im.opset < 2 {
			name = "paddings"
		}
		if raw, ok, err = c.ints(name); err != nil || !ok {
			return fmtErr(err, "pads are missing")
		}
		if value, err = c.float("value", 0); err != nil {
			return err
		}
	} else {
		pt, err := c.constIn(1, "the pads")
		if err != nil {
			return err
		}
		if pt == nil {
			return fmt.Errorf("input 1 is missing")
		}
		if raw, err = pt.intsNoSym("the pads"); err != nil {
			return err
		}
		if vt, err := c.constIn(2, "the constant value"); err != nil {
			return err
		} else if vt != nil {
			if value, err = vt.scalar(); err != nil {
				return err
			}
		}
		if at, err := c.constIn(3, "the axes"); err != nil {
			return err
		} else if at != nil {
			axes, err := at.intsNoSym("the axes")
			if err != nil {
				return err
			}
			if len(raw) != 2*len(axes) {
				return fmt.Errorf("%d pads for %d axes", len(raw), len(axes))
			}
			full := make([]int64, 2*r)
			for k, a := range axes {
				ax, err := normAxis(a, r)
				if err != nil {
					return err
				}
				full[ax], full[r+ax] = raw[k], raw[len(axes)+k]
			}
			raw = full
		}
	}
	if len(raw) != 2*r {
		return fmt.Errorf("%d pads for rank %d", len(raw), r)
	}
	pads, err := toInts(raw, "the pads")
	if err != nil {
		return err
	}
	if mode == "wrap" {
		return fmt.Errorf("pad mode wrap is not supported")
	}
	if zp, ok := ir.ZeroPaddingOf(pads, mode, value, t); ok {
		return c.emitOut(zp, []string{x})
	}
	return c.emitOut(&ir.Pad{Pads: pads, Mode: mode, Value: value}, []string{x})
}
