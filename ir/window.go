package ir

import "fmt"

// Padding is how a sliding window treats the borders.
type Padding uint8

const (
	// PadValid uses no padding (Keras "valid").
	PadValid Padding = iota
	// PadSame pads so that out = ceil(in/stride), the extra cell at the
	// end (Keras "same", ONNX SAME_UPPER).
	PadSame
	// PadSameLower is PadSame with the extra cell at the start (ONNX SAME_LOWER).
	PadSameLower
	// PadExplicit uses Window2D.Pads.
	PadExplicit
	// PadFull pads k-1 on each side (Keras 1 "full").
	PadFull
)

func (p Padding) String() string {
	return [...]string{"valid", "same", "same_lower", "explicit", "full"}[p]
}

// Window2D is the geometry shared by convolutions and pooling.
type Window2D struct {
	KH, KW   int     // window (kernel or pool) size
	SH, SW   int     // strides
	DH, DW   int     // dilations (0 or 1 mean none)
	Padding  Padding //
	Pads     [4]int  // top, bottom, left, right; used with PadExplicit
	CeilMode bool    // ONNX pooling ceil_mode
}

func (w Window2D) dil() (int, int) {
	dh, dw := w.DH, w.DW
	if dh < 1 {
		dh = 1
	}
	if dw < 1 {
		dw = 1
	}
	return dh, dw
}

func (w Window2D) check() error {
	if w.KH < 1 || w.KW < 1 {
		return fmt.Errorf("window size %dx%d must be positive", w.KH, w.KW)
	}
	if w.SH < 1 || w.SW < 1 {
		return fmt.Errorf("strides %dx%d must be positive", w.SH, w.SW)
	}
	if w.DH < 0 || w.DW < 0 {
		return fmt.Errorf("dilations %dx%d must be positive", w.DH, w.DW)
	}
	for _, p := range w.Pads {
		if p < 0 {
			return fmt.Errorf("negative padding %v", w.Pads)
		}
	}
	return nil
}

// Resolve computes the output size for an h×w input and the explicit
// padding (top, bottom, left, right) that realizes it.
func (w Window2D) Resolve(h, wd int) (oh, ow int, pads [4]int, err error) {
	if err := w.check(); err != nil {
		return 0, 0, pads, err
	}
	dh, dw := w.dil()
	var b, a int
	oh, b, a, err = axisOut(h, w.KH, w.SH, dh, w.Padding, w.Pads[0], w.Pads[1], w.CeilMode)
	if err != nil {
		return 0, 0, pads, err
	}
	pads[0], pads[1] = b, a
	ow, b, a, err = axisOut(wd, w.KW, w.SW, dw, w.Padding, w.Pads[2], w.Pads[3], w.CeilMode)
	if err != nil {
		return 0, 0, pads, err
	}
	pads[2], pads[3] = b, a
	return oh, ow, pads, nil
}

// axisOut is the output length of one window axis and its padding.
func axisOut(in, k, s, d int, p Padding, before, after int, ceil bool) (out, b, a int, err error) {
	ek := (k-1)*d + 1
	if in < 0 {
		return -1, 0, 0, nil // unknown size stays unknown
	}
	switch p {
	case PadValid:
		before, after = 0, 0
	case PadFull:
		before, after = ek-1, ek-1
	case PadSame, PadSameLower:
		out = (in + s - 1) / s
		total := (out-1)*s + ek - in
		if total < 0 {
			total = 0
		}
		b = total / 2
		a = total - b
		if p == PadSameLower {
			b, a = a, b
		}
		return out, b, a, nil
	}
	span := in + before + after - ek
	if span < 0 {
		return 0, 0, 0, fmt.Errorf("window %d (dilated) is larger than the padded input %d", ek, in+before+after)
	}
	out = span/s + 1
	if ceil {
		out = (span+s-1)/s + 1
		// The last window must start inside the input or its left padding.
		if (out-1)*s >= in+before {
			out--
		}
	}
	return out, before, after, nil
}
