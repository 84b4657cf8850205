package onnx

import (
	"fmt"

	"github.com/kconv/kconv/ir"
)

// geom is a window op's attributes for 1 or 2 spatial axes, lifted to 2-D
// (a 1-D axis becomes the width of a height-1 image).
type geom struct {
	k, s, d [2]int
	pads    [4]int // top, bottom, left, right
	autoPad string
}

// geometry reads kernel_shape (or kernel, from the weights), strides,
// dilations, pads and auto_pad for an input of rank r (3 or 4).
func (c *nctx) geometry(r int, kernel []int) (geom, error) {
	g := geom{k: [2]int{1, 1}, s: [2]int{1, 1}, d: [2]int{1, 1}}
	sp := r - 2
	if sp != 1 && sp != 2 {
		if sp == 3 {
			return g, fmt.Errorf("3-D (rank-5) inputs are not supported: kconv computes 1-D and 2-D windows")
		}
		return g, fmt.Errorf("expected a rank-3 or rank-4 (N, C, …) input, got rank %d", r)
	}
	off := 2 - sp // 1 for 1-D: the axis is the width
	read := func(name string, n int, def []int) ([]int, error) {
		v, ok, err := c.ints(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return def, nil
		}
		if len(v) != n {
			return nil, fmt.Errorf("%s %v has %d values, expected %d", name, v, len(v), n)
		}
		return toInts(v, name)
	}
	ks, err := read("kernel_shape", sp, kernel)
	if err != nil {
		return g, err
	}
	if len(ks) != sp {
		return g, fmt.Errorf("kernel_shape is missing")
	}
	ones := make([]int, sp)
	for i := range ones {
		ones[i] = 1
	}
	st, err := read("strides", sp, ones)
	if err != nil {
		return g, err
	}
	di, err := read("dilations", sp, ones)
	if err != nil {
		return g, err
	}
	pd, err := read("pads", 2*sp, make([]int, 2*sp))
	if err != nil {
		return g, err
	}
	for i := 0; i < sp; i++ {
		g.k[off+i], g.s[off+i], g.d[off+i] = ks[i], st[i], di[i]
		if ks[i] < 1 {
			return g, fmt.Errorf("kernel_shape %v must be positive", ks)
		}
		if st[i] < 1 {
			return g, fmt.Errorf("strides %v must be positive", st)
		}
		if di[i] < 1 {
			return g, fmt.Errorf("dilations %v must be positive", di)
		}
	}
	for _, p := range pd {
		if p < 0 {
			return g, fmt.Errorf("pads %v must not be negative", pd)
		}
	}
	// ONNX pads: [x1_begin, x2_begin, x1_end, x2_end].
	if sp == 2 {
		g.pads = [4]int{pd[0], pd[2], pd[1], pd[3]}
	} else {
		g.pads = [4]int{0, 0, pd[0], pd[1]}
	}
	if g.autoPad, err = c.str("auto_pad", "NOTSET"); err != nil {
		return g, err
	}
	return g, nil
}

// window converts the geometry to ir's Window2D.
func (g geom) window(ceil bool) (ir.Window2D, error) {
	w := ir.Window2D{KH: g.k[0], KW: g.k[1], SH: g.s[0], SW: g.s[1], DH: g.d[0], DW: g.d[1], CeilMode: ceil}
	switch g.autoPad {
	case "NOTSET", "":
		w.Padding = ir.PadExplicit
		w.Pads = g.pads
		if g.pads == [4]int{} {
			w.Padding = ir.PadValid
		}
	case "VALID":
		w.Padding = ir.PadValid
	case "SAME_UPPER":
		w.Padding = ir.PadSame
	case "SAME_LOWER":
		w.Padding = ir.PadSameLower
	default:
		return w, fmt.Errorf("unknown auto_pad %q", g.autoPad)
	}
	if ceil && (w.Padding == ir.PadSame || w.Padding == ir.PadSameLower) {
		w.CeilMode = false // SAME output sizes do not depend on ceil_mode
	}
	return w, nil
}

// spatialIn returns input 0 as a rank-4 NCHW node: rank-3 (N, C, L)
// inputs are reshaped to (N, C, 1, L). It returns the original shape too.
func (c *nctx) spatialIn() (string, ir.Shape, error) {
	x, t, err := c.act(0)
	if err != nil {
		return "", nil, err
	}
	s := t.Shape
	if len(s) == 3 {
		x, _, err = c.reshapeNode("to2d", x, s, ir.Shape{s[0], s[1], 1, s[2]})
		if err != nil {
			return "", nil, err
		}
	}
	return x, s, nil
}

// spatialOut defines output 0 from a rank-4 result, reshaped back to
// rank 3 for 1-D inputs.
func (c *nctx) spatialOut(rank int, op ir.Op, x string, ws ...*ir.Weight) error {
	if rank == 4 {
		return c.emitOut(op, []string{x}, ws...)
	}
	y, t, err := c.emit(op.Kind(), op, []string{x}, ws...)
	if err != nil {
		return err
	}
	s := t.Shape
	out, tt, err := c.reshapeNode("", y, s, ir.Shape{s[0], s[1], s[3]})
	if err != nil {
		return err
	}
	c.setOut(0, &val{node: out, t: tt})
	return nil
}

// kernelIn reads what Conv and ConvTranspose share: the spatial input, the
// constant kernel (input 1) and the window geometry it implies.
func (c *nctx) kernelIn() (x string, in ir.Shape, w *tensor, g geom, err error) {
	if x, in, err = c.spatialIn(); err != nil {
		return
	}
	if w, err = c.constIn(1, "the kernel"); err != nil {
		return
	}
	if w == nil {
		err = fmt.Errorf("input 1 (the kernel) is missing")
		return
	}
	if len(w.shape) != len(in) {
		err = fmt.Errorf("kernel shape %v does not fit input %v", w.shape, in)
		return
	}
	if len(in) < 3 { // found by FuzzDecode: a rank-1 input and kernel
		err = fmt.Errorf("expected a rank-3 or rank-4 (N, C, …) input, got %v", in)
		return
	}
	g, err = c.geometry(len(in), w.shape[2:])
	return
}

func (c *nctx) conv() error {
	x, in, w, g, err := c.kernelIn()
	if err != nil {
		return err
	}
	r := len(in)
	win, err := g.window(false)
	if err != nil {
		return err
	}
	group, err := c.int("group", 1)
	if err != nil {
		return err
	}
	m, cin := w.shape[0], in[1]
	kh, kw := g.k[0], g.k[1]
	if group < 1 || int64(cin)%group != 0 || int64(m)%group != 0 {
		return fmt.Errorf("group %d does not divide %d input and %d output channels", group, cin, m)
	}
	if w.shape[1] != cin/int(group) {
		return fmt.Errorf("kernel %v does not fit %d input channels in %d groups", w.shape, cin, group)
	}
	if w.shape[len(w.shape)-1] != kw || (r == 4 && w.shape[2] != kh) {
		return fmt.Errorf("kernel %v does not match kernel_shape", w.shape)
	}
	var bias *ir.Weight
	if b, err := c.constIn(2, "the bias"); err != nil {
		return err
	} else if b != nil {
		if b.n() != m {
			return fmt.Errorf("bias has shape %v, expected (%d)", b.shape, m)
		}
		bias = weight("bias", ir.Shape{m}, b, 0, nil)
	}
	cg := cin / int(group)
	if group > 1 && int(group) == cin {
		mult := m / cin
		// ONNX (C*mult, 1, kh, kw), out channel c*mult+j → (kh, kw, C, mult).
		// Both are m-contiguous: (kh, kw, C, mult) is (kh, kw, C*mult).
		k := weight("depthwise_kernel", ir.Shape{kh, kw, cin, mult}, w, kh*kw, func(src []float32, o0 int, dst []float32) {
			transposeRows(dst, src, kh*kw, 1, m, o0)
		})
		op := &ir.DepthwiseConv2D{Multiplier: mult, Window2D: win, UseBias: bias != nil, DataFormat: ir.ChannelsFirst}
		return c.spatialOut(r, op, x, nonNil(k, bias)...)
	}
	// ONNX (M, C/g, kh, kw) → (kh, kw, C/g, M).
	khw := kh * kw
	k := weight("kernel", ir.Shape{kh, kw, cg, m}, w, cg*khw, func(src []float32, o0 int, dst []float32) {
		transposeRows(dst, src, khw, cg, m, o0)
	})
	op := &ir.Conv2D{Filters: m, Window2D: win, Groups: int(group), UseBias: bias != nil, DataFormat: ir.ChannelsFirst}
	return c.spatialOut(r, op, x, nonNil(k, bias)...)
}

// transposeRows writes the rows of src (each khw·cg values, an ONNX
// kernel's (C/g, kh, kw) for output channels o0, o0+1, …) as columns of
// dst, whose rows are m wide: row t = p·cg + i of dst (position p of the
// window, input channel i: HWIO) takes column i·khw + p of each src row,
// at o0 + r for src row r. It goes through dst in order, 16 src rows at a
// time, so that the writes stream (16 values per dst row, rows in order)
// and the 16 src rows being read stay in cache while every column is
// taken from them; no scratch buffer. The 16 values of a dst row are
// read and written unrolled, one bounds check for them all: a loop over
// them (a check, an index product and a branch per value) ran at ~1 ns a
// value with the data in cache, 2.2-2.9 GB/s over ResNet-sized kernels;
// unrolled, 3.5-6.3 GB/s (BenchmarkTransposeRows). (A column-by-column
// loop over src missed cache on every write; a column function
// t%cg·khw + t/cg, two integer divisions per dst row, took two thirds of
// the time.)
func transposeRows(dst, src []float32, khw, cg, m, o0 int) {
	n := khw * cg
	rows := len(src) / n
	r0 := 0
	for ; r0+16 <= rows; r0 += 16 {
		s := src[r0*n : (r0+16)*n]
		o, t := o0+r0, 0
		for p := range khw {
			for i := range cg {
				d := dst[t*m+o : t*m+o+16]
				t++
				c := s[i*khw+p:]
				_ = c[15*n]
				d[0], d[1], d[2], d[3] = c[0], c[n], c[2*n], c[3*n]
				d[4], d[5], d[6], d[7] = c[4*n], c[5*n], c[6*n], c[7*n]
				d[8], d[9], d[10], d[11] = c[8*n], c[9*n], c[10*n], c[11*n]
				d[12], d[13], d[14], d[15] = c[12*n], c[13*n], c[14*n], c[15*n]
			}
		}
	}
	for ; r0 < rows; r0++ { // the last rows, one at a time
		s := src[r0*n : (r0+1)*n]
		o, t := o0+r0, 0
		for p := range khw {
			for i := range cg {
				dst[t*m+o] = s[i*khw+p]
				t++
			}
		}
	}
}

func nonNil(ws ...*ir.Weight) []*ir.Weight {
	var out []*ir.Weight
	for _, w := range ws {
		if w != nil {
			out = append(out, w)
		}
	}
	return out
}

func (c *nctx) convTranspose() error {
	x, in, w, g, err := c.kernelIn()
	if err != nil {
		return err
	}
	r := len(in)
	if group, err := c.int("group", 1); err != nil || group != 1 {
		return fmtErr(err, "grouped transposed convolution (group %d) is not supported", group)
	}
	cin, m := w.shape[0], w.shape[1]
	if cin != in[1] {
		return fmt.Errorf("kernel %v does not fit %d input channels", w.shape, in[1])
	}
	kh, kw := g.k[0], g.k[1]
	sp := r - 2
	off := 2 - sp
	outPad := [2]int{}
	if v, ok, err := c.ints("output_padding"); err != nil {
		return err
	} else if ok {
		if len(v) != sp {
			return fmt.Errorf("output_padding %v has %d values, expected %d", v, len(v), sp)
		}
		for i, p := range v {
			if p < 0 {
				return fmt.Errorf("output_padding %v must not be negative", v)
			}
			outPad[off+i] = int(p)
		}
	}
	// Resolve the padding as ONNX does, to explicit pads.
	hw := [2]int{1, in[r-1]}
	if r == 4 {
		hw = [2]int{in[2], in[3]}
	}
	pads := g.pads
	outShape, haveOut, err := c.ints("output_shape")
	if err != nil {
		return err
	}
	if haveOut || g.autoPad == "SAME_UPPER" || g.autoPad == "SAME_LOWER" {
		var target [2]int
		for i := 0; i < 2; i++ {
			target[i] = hw[i] * g.s[i]
		}
		if haveOut {
			if len(outShape) != sp && len(outShape) != r {
				return fmt.Errorf("output_shape %v does not fit rank %d", outShape, r)
			}
			os := outShape[len(outShape)-sp:]
			target = [2]int{1, 1}
			for i, v := range os {
				target[off+i] = int(v)
			}
		}
		for i := 0; i < 2; i++ {
			total := g.s[i]*(hw[i]-1) + outPad[i] + (g.k[i]-1)*g.d[i] + 1 - target[i]
			if total < 0 {
				return fmt.Errorf("output_shape %v is larger than the transposed convolution can produce", outShape)
			}
			b, e := total-total/2, total/2
			if g.autoPad == "SAME_UPPER" {
				b, e = total/2, total-total/2
			}
			pads[2*i], pads[2*i+1] = b, e
		}
	} else if g.autoPad == "VALID" {
		pads = [4]int{}
	} else if g.autoPad != "NOTSET" && g.autoPad != "" {
		return fmt.Errorf("unknown auto_pad %q", g.autoPad)
	}
	var bias *ir.Weight
	if b, err := c.constIn(2, "the bias"); err != nil {
		return err
	} else if b != nil {
		if b.n() != m {
			return fmt.Errorf("bias has shape %v, expected (%d)", b.shape, m)
		}
		bias = weight("bias", ir.Shape{m}, b, 0, nil)
	}
	// ONNX (C, M, kh, kw) → (kh, kw, M, C).
	k := weight("kernel", ir.Shape{kh, kw, m, cin}, w, m*kh*kw, func(src []float32, i0 int, dst []float32) {
		n := m * kh * kw
		rows := len(src) / n
		for o := 0; o < m; o++ {
			for p := 0; p < kh*kw; p++ {
				d := dst[(p*m+o)*cin+i0:][:rows]
				for r := range d {
					d[r] = src[r*n+o*kh*kw+p]
				}
			}
		}
	})
	op := &ir.Conv2DTranspose{
		Filters:          m,
		Window2D:         ir.Window2D{KH: kh, KW: kw, SH: g.s[0], SW: g.s[1], DH: g.d[0], DW: g.d[1], Padding: ir.PadExplicit, Pads: pads},
		OutputPadding:    outPad,
		HasOutputPadding: true,
		UseBias:          bias != nil,
		DataFormat:       ir.ChannelsFirst,
	}
	return c.spatialOut(r, op, x, nonNil(k, bias)...)
}

func (c *nctx) pool() error {
	if c.outUsed(1) {
		return fmt.Errorf("the indices output of MaxPool is not supported")
	}
	x, in, err := c.spatialIn()
	if err != nil {
		return err
	}
	g, err := c.geometry(len(in), nil)
	if err != nil {
		return err
	}
	ceil, err := c.int("ceil_mode", 0)
	if err != nil {
		return err
	}
	win, err := g.window(ceil != 0)
	if err != nil {
		return err
	}
	op := &ir.Pool2D{Max: c.op == "MaxPool", Window2D: win, DataFormat: ir.ChannelsFirst}
	if !op.Max {
		cip, err := c.int("count_include_pad", 0)
		if err != nil {
			return err
		}
		op.CountIncludePad = cip != 0
	}
	return c.spatialOut(len(in), op, x)
}

func (c *nctx) globalPool() error {
	x, in, err := c.spatialIn()
	if err != nil {
		return err
	}
	if len(in) != 3 && len(in) != 4 {
		return fmt.Errorf("expected a rank-3 or rank-4 (N, C, …) input, got %v", in)
	}
	op := &ir.GlobalPool2D{Max: c.op == "GlobalMaxPool", KeepDims: true, DataFormat: ir.ChannelsFirst}
	return c.spatialOut(len(in), op, x)
}
