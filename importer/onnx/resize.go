package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/kconv/kconv/ir"
)

// resize imports Upsample (opsets 7–9) and Resize (opsets 10+) as
// ir.UpSampling2D: integer height and width factors, batch and channel
// factors 1, and a sampling that equals UpSampling2D's — nearest whose
// source index is floor(out/factor) (asymmetric/floor as PyTorch and kconv's
// exporter write it, Upsample and Resize-10 nearest, and the other
// coordinate and rounding modes that pick the same pixels for the factors
// given), or linear with half-pixel centres (half_pixel, or
// pytorch_half_pixel). Factors of 1 on every axis are the identity. Other
// forms are errors saying what is not supported.
func (c *nctx) resize() error {
	v, err := c.need(0)
	if err != nil {
		return err
	}
	s := shapeOf(v)
	r := len(s)
	mode, err := c.str("mode", "nearest")
	if err != nil {
		return err
	}
	// Upsample and Resize-10 sample as Resize-11's asymmetric transform
	// with floor rounding (ONNX Runtime's "simple" nearest mode).
	ctm, nearest := "asymmetric", "floor"
	resize11 := c.op == "Resize" && c.im.opset >= 11
	if resize11 {
		if ctm, err = c.str("coordinate_transformation_mode", "half_pixel"); err != nil {
			return err
		}
		if nearest, err = c.str("nearest_mode", "round_prefer_floor"); err != nil {
			return err
		}
		if p, err := c.str("keep_aspect_ratio_policy", "stretch"); err != nil {
			return err
		} else if p != "stretch" {
			return fmt.Errorf("keep_aspect_ratio_policy %q is not supported (only stretch)", p)
		}
	}
	// Scales or sizes, per axis (1 where not given).
	var scales []float64
	var sizes []int64
	var sizeIsBatch []bool
	switch {
	case c.op == "Upsample" && c.im.opset < 9:
		f, ok, err := c.floats("scales")
		if err != nil || !ok {
			return fmtErr(err, "scales are missing")
		}
		for _, x := range f {
			scales = append(scales, float64(x))
		}
	case !resize11:
		t, err := c.constIn(1, "the scales")
		if err != nil {
			return err
		}
		if t == nil {
			return fmt.Errorf("input 1 (scales) is missing")
		}
		f, err := t.floats()
		if err != nil {
			return err
		}
		for _, x := range f {
			scales = append(scales, float64(x))
		}
	default:
		st, err := c.constIn(2, "the scales")
		if err != nil {
			return err
		}
		if st != nil && st.n() > 0 {
			f, err := st.floats()
			if err != nil {
				return err
			}
			for _, x := range f {
				scales = append(scales, float64(x))
			}
		}
		zt, err := c.constIn(3, "the sizes")
		if err != nil {
			return err
		}
		if zt != nil && zt.n() > 0 {
			// The batch size may come from Shape (PyTorch computes sizes
			// so): it keeps the batch axis's size.
			if sizes, sizeIsBatch, err = zt.symInts(); err != nil {
				return err
			}
		}
		if (scales == nil) == (sizes == nil) {
			return fmt.Errorf("exactly one of scales and sizes must be given")
		}
	}
	axes := make([]int, 0, r)
	if a, ok, err := c.ints("axes"); err != nil {
		return err
	} else if ok && c.op == "Resize" && c.im.opset >= 18 {
		for _, x := range a {
			ax, err := normAxis(x, r)
			if err != nil {
				return err
			}
			if slices.Contains(axes, ax) {
				return fmt.Errorf("axis %d given twice", ax)
			}
			axes = append(axes, ax)
		}
	} else {
		for i := 0; i < r; i++ {
			axes = append(axes, i)
		}
	}
	if n := max(len(scales), len(sizes)); n != len(axes) {
		return fmt.Errorf("%d scales or sizes for %d axes", n, len(axes))
	}
	// factor[i] is the integer factor of axis i; out and in sizes must be
	// known where it is not 1.
	factor := make([]int, r)
	for i := range factor {
		factor[i] = 1
	}
	for k, ax := range axes {
		in := s[ax]
		var f float64
		if sizes != nil {
			isBatch := k < len(sizeIsBatch) && sizeIsBatch[k]
			if in < 0 || isBatch {
				if in < 0 && isBatch {
					continue
				}
				return fmt.Errorf("size %d of axis %d: the batch axis is dynamic, so only the batch size itself (from Shape) can be its size", sizes[k], ax)
			}
			if sizes[k] < 1 || sizes[k]%int64(in) != 0 {
				return fmt.Errorf("size %d of axis %d is not a whole multiple of %d: only integer upsampling factors are supported", sizes[k], ax, in)
			}
			f = float64(sizes[k] / int64(in))
		} else {
			f = scales[k]
		}
		if !(f >= 1) || f != math.Trunc(f) || f > 1<<16 {
			return fmt.Errorf("scale %g of axis %d is not supported: only integer upsampling factors are (UpSampling2D)", f, ax)
		}
		if f != 1 && in < 0 && ax == 0 {
			return fmt.Errorf("scale %g resizes the dynamic batch axis", f)
		}
		factor[ax] = int(f)
	}
	if !slices.ContainsFunc(factor, func(f int) bool { return f != 1 }) && ctm != "tf_crop_and_resize" {
		c.setOut(0, v) // every factor 1: the identity
		return nil
	}
	if r != 4 {
		return fmt.Errorf("resizing a rank-%d tensor is not supported (only rank-4 images: N, C, H, W or N, H, W, C)", r)
	}
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	cf := factor[0] == 1 && factor[1] == 1
	cl := factor[0] == 1 && factor[3] == 1
	var op *ir.UpSampling2D
	switch {
	case cl && (t.Layout == ir.ChannelsLast || !cf):
		op = &ir.UpSampling2D{SH: factor[1], SW: factor[2], DataFormat: ir.ChannelsLast}
	case cf:
		op = &ir.UpSampling2D{SH: factor[2], SW: factor[3], DataFormat: ir.ChannelsFirst}
	default:
		return fmt.Errorf("factors %v resize the batch or channel axis: only height and width can be upsampled", factor)
	}
	hAxis := 2
	if op.DataFormat == ir.ChannelsLast {
		hAxis = 1
	}
	switch mode {
	case "nearest":
		op.Interpolation = "nearest"
		for i, f := range []int{op.SH, op.SW} {
			if err := nearestIsRepeat(ctm, nearest, s[hAxis+i], f); err != nil {
				return err
			}
		}
	case "linear", "bilinear":
		op.Interpolation = "bilinear"
		if ctm != "half_pixel" && ctm != "pytorch_half_pixel" {
			return fmt.Errorf("linear resizing with coordinate_transformation_mode %s is not supported (only half_pixel and pytorch_half_pixel, as UpSampling2D's bilinear interpolation)", ctm)
		}
	default:
		return fmt.Errorf("resize mode %s is not supported (only nearest and linear)", mode)
	}
	return c.emitOut(op, []string{x})
}

// nearestIsRepeat checks that nearest resizing of an axis of length in by
// the integer factor f, with the given coordinate transformation and
// rounding, takes source index floor(o/f) for every output index o, which
// is what UpSampling2D repeats.
func nearestIsRepeat(ctm, rounding string, in, f int) error {
	if in < 1 {
		// An unknown length: away from align_corners the source index
		// depends on o alone (x = o/f + a constant; clamping changes
		// nothing where floor(o/f) is taken), so any length shows
		// whether the rule repeats pixels.
		if ctm == "align_corners" {
			return fmt.Errorf("nearest resizing with align_corners of an axis of unknown size is not supported")
		}
		in = 8
	}
	out := in * f
	scale := float64(f)
	for o := 0; o < out; o++ {
		var x float64
		switch ctm {
		case "asymmetric":
			x = float64(o) / scale
		case "half_pixel":
			x = (float64(o)+0.5)/scale - 0.5
		case "pytorch_half_pixel":
			if out > 1 {
				x = (float64(o)+0.5)/scale - 0.5
			}
		case "tf_half_pixel_for_nn":
			x = (float64(o) + 0.5) / scale
		case "align_corners":
			if out > 1 {
				x = float64(o) * float64(in-1) / float64(out-1)
			}
		default:
			return fmt.Errorf("nearest resizing with coordinate_transformation_mode %s is not supported", ctm)
		}
		var i float64
		switch rounding {
		case "floor":
			i = math.Floor(x)
		case "ceil":
			i = math.Ceil(x)
		case "round_prefer_floor":
			i = math.Ceil(x - 0.5)
		case "round_prefer_ceil":
			i = math.Floor(x + 0.5)
		default:
			return fmt.Errorf("nearest_mode %s is not supported", rounding)
		}
		i = min(max(i, 0), float64(in-1))
		if int(i) != o/f {
			return fmt.Errorf("nearest resizing with coordinate_transformation_mode %s and nearest_mode %s does not repeat pixels for factor %d, which is all kconv computes (asymmetric/floor does)", ctm, rounding, f)
		}
	}
	return nil
}
