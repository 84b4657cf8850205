package kernels

import (
	"fmt"
	"github.com/kconv/kconv/exec/internal/par"
)

// TransposeShape checks that perm is a permutation of the axes of shape and
// returns the transposed shape, out[i] = shape[perm[i]].
func TransposeShape(shape, perm []int) ([]int, error) {
	if err := transposeCheck(shape, perm); err != nil {
		return nil, err
	}
	out := make([]int, len(shape))
	for i, p := range perm {
		out[i] = shape[p]
	}
	return out, nil
}

func transposeCheck(shape, perm []int) error {
	if len(perm) != len(shape) {
		return fmt.Errorf("kernels: transpose: perm %v for rank %d", perm, len(shape))
	}
	var seen uint64
	for _, p := range perm {
		if p < 0 || p >= len(shape) || p >= 64 || seen&(1<<p) != 0 {
			return fmt.Errorf("kernels: transpose: %v is not a permutation of rank %d", perm, len(shape))
		}
		seen |= 1 << p
	}
	return nil
}

// transposeTile is the block edge of the tiled 2-D transpose.
const transposeTile = 32

// Transpose writes x (of the given shape) with its axes permuted into dst:
// dst has shape TransposeShape(shape, perm). Axes are first coalesced (size-1
// axes dropped, axes that stay adjacent merged); then a contiguous last axis
// is copied row by row, a batched 2-D transpose (e.g. NHWC↔NCHW) runs in
// cache tiles, and anything else gathers with strided reads. dst must not
// overlap x.
func Transpose(dst, x []float32, shape, perm []int, pl *par.Pool) {
	if err := transposeCheck(shape, perm); err != nil {
		panic(err)
	}
	n := shapeElems(shape)
	shapeCheckLen("transpose input", x, n)
	shapeCheckLen("transpose output", dst, n)
	if n == 0 {
		return
	}
	// Output-order dims with their strides in x, coalesced.
	var dimBuf, strBuf [8]int
	dims, strides := dimBuf[:0], strBuf[:0]
	for _, p := range perm {
		d := shape[p]
		if d == 1 {
			continue
		}
		s := shapeProd(shape, p+1, len(shape))
		if k := len(dims) - 1; k >= 0 && strides[k] == s*d {
			dims[k] *= d
			strides[k] = s
			continue
		}
		dims, strides = append(dims, d), append(strides, s)
	}
	r := len(dims)
	tr := transposePlan{dims: dims, strides: strides}
	switch {
	case r <= 1: // a single non-trivial axis is already contiguous
		copy(dst, x)
	case strides[r-2] == 1 && strides[r-1] == dims[r-2]:
		tr.run(dst, x, pl, true)
	default:
		tr.run(dst, x, pl, false)
	}
}

type transposePlan struct {
	dims, strides []int
}

func (t *transposePlan) run(dst, x []float32, pl *par.Pool, tiled bool) {
	r := len(t.dims)
	if tiled {
		// Batches of a B×A matrix stored row-major in x (B = dims[r-1],
		// A = dims[r-2]) written as A×B.
		a, b := t.dims[r-2], t.dims[r-1]
		batches := len(dst) / (a * b)
		aTiles := (a + transposeTile - 1) / transposeTile
		items := batches * aTiles
		per := transposeTile * b
		if parChunks(pl.Workers(), items, per) == 1 {
			t.tiles(dst, x, aTiles, 0, items)
			return
		}
		tc := &transposePlan{dims: append([]int(nil), t.dims...), strides: append([]int(nil), t.strides...)}
		parRange(pl, items, per, func(lo, hi int) { tc.tiles(dst, x, aTiles, lo, hi) })
		return
	}
	L := t.dims[r-1]
	rows := len(dst) / L
	if parChunks(pl.Workers(), rows, L) == 1 {
		t.rows(dst, x, 0, rows)
		return
	}
	tc := &transposePlan{dims: append([]int(nil), t.dims...), strides: append([]int(nil), t.strides...)}
	parRange(pl, rows, L, func(lo, hi int) { tc.rows(dst, x, lo, hi) })
}

// offset returns the x offset of the idx-th element of dims[:k] (row-major).
func (t *transposePlan) offset(idx, k int) int {
	off := 0
	for i := k - 1; i >= 0; i-- {
		off += (idx % t.dims[i]) * t.strides[i]
		idx /= t.dims[i]
	}
	return off
}

// rows writes output rows [lo, hi), a row being the last coalesced axis.
func (t *transposePlan) rows(dst, x []float32, lo, hi int) {
	r := len(t.dims)
	L, s := t.dims[r-1], t.strides[r-1]
	for row := lo; row < hi; row++ {
		src := t.offset(row, r-1)
		out := dst[row*L : row*L+L]
		if s == 1 {
			copy(out, x[src:src+L])
			continue
		}
		for i := range out {
			out[i] = x[src+i*s]
		}
	}
}

// tiles writes items [lo, hi) of the batched 2-D transpose: item it is batch
// it/aTiles, output rows of tile it%aTiles.
func (t *transposePlan) tiles(dst, x []float32, aTiles, lo, hi int) {
	r := len(t.dims)
	a, b := t.dims[r-2], t.dims[r-1]
	for it := lo; it < hi; it++ {
		batch, at := it/aTiles, it%aTiles
		src := x[t.offset(batch, r-2):]
		out := dst[batch*a*b : (batch+1)*a*b]
		a0, a1 := at*transposeTile, min((at+1)*transposeTile, a)
		for b0 := 0; b0 < b; b0 += transposeTile {
			b1 := min(b0+transposeTile, b)
			for i := a0; i < a1; i++ {
				o := out[i*b+b0 : i*b+b1]
				for j := range o {
					o[j] = src[(b0+j)*a+i]
				}
			}
		}
	}
}

// ConcatShape checks that shapes agree except along axis and returns the
// concatenated shape.
func ConcatShape(shapes [][]int, axis int) ([]int, error) {
	if err := concatCheck(shapes, axis); err != nil {
		return nil, err
	}
	ax, _ := shapeAxis(axis, len(shapes[0]))
	out := append([]int(nil), shapes[0]...)
	for _, s := range shapes[1:] {
		out[ax] += s[ax]
	}
	return out, nil
}

func concatCheck(shapes [][]int, axis int) error {
	if len(shapes) == 0 {
		return fmt.Errorf("kernels: concat: no inputs")
	}
	r := len(shapes[0])
	ax, err := shapeAxis(axis, r)
	if err != nil {
		return err
	}
	for k, s := range shapes {
		if len(s) != r {
			return fmt.Errorf("kernels: concat: input %d has rank %d, want %d", k, len(s), r)
		}
		for i := range s {
			if i != ax && s[i] != shapes[0][i] {
				return fmt.Errorf("kernels: concat: input %d dimension %d is %d, want %d", k, i, s[i], shapes[0][i])
			}
		}
	}
	return nil
}

// Concat writes the concatenation of inputs along axis (negative counts
// from the end) into dst.
func Concat(dst []float32, inputs [][]float32, shapes [][]int, axis int) {
	if err := concatCheck(shapes, axis); err != nil {
		panic(err)
	}
	if len(inputs) != len(shapes) {
		panic(fmt.Sprintf("kernels: concat: %d inputs, %d shapes", len(inputs), len(shapes)))
	}
	ax, _ := shapeAxis(axis, len(shapes[0]))
	outer := shapeProd(shapes[0], 0, ax)
	total := 0
	for k, s := range shapes {
		shapeCheckLen("concat input", inputs[k], shapeElems(s))
		total += shapeProd(s, ax, len(s))
	}
	shapeCheckLen("concat output", dst, outer*total)
	off := 0
	for k, s := range shapes {
		chunk := shapeProd(s, ax, len(s))
		in := inputs[k]
		for o := 0; o < outer; o++ {
			copy(dst[o*total+off:o*total+off+chunk], in[o*chunk:o*chunk+chunk])
		}
		off += chunk
	}
}

// PadMode selects how Pad fills the border.
type PadMode uint8

// The padding modes (ONNX Pad modes, numpy.pad names).
const (
	PadConstant PadMode = iota // the given value
	PadReflect                 // mirror without repeating the edge: ...c b | a b c | b a...
	PadEdge                    // repeat the edge value: a a | a b c | c c
)

// PadShape returns the shape of padding shape by begin and end (negative
// amounts crop, as ONNX allows).
func PadShape(shape, begin, end []int) ([]int, error) {
	if len(begin) != len(shape) || len(end) != len(shape) {
		return nil, fmt.Errorf("kernels: pad: %d begin and %d end amounts for rank %d", len(begin), len(end), len(shape))
	}
	out := make([]int, len(shape))
	for i, d := range shape {
		out[i] = d + begin[i] + end[i]
		if out[i] < 0 {
			return nil, fmt.Errorf("kernels: pad: dimension %d would be %d", i, out[i])
		}
	}
	return out, nil
}

// padSource maps the padded coordinate o of a dimension of size n with
// begin padding b to the source coordinate; ok is false where the constant
// applies.
func padSource(o, b, n int, mode PadMode) (int, bool) {
	i := o - b
	if i >= 0 && i < n {
		return i, true
	}
	switch mode {
	case PadEdge:
		return min(max(i, 0), n-1), true
	case PadReflect:
		if n == 1 {
			return 0, true
		}
		p := 2 * (n - 1)
		m := ((i % p) + p) % p
		if m >= n {
			m = p - m
		}
		return m, true
	}
	return 0, false
}

// Pad writes x padded by begin[i] before and end[i] after each dimension
// into dst (shape PadShape(shape, begin, end)); negative amounts crop. The
// border is value (PadConstant), the mirror image without the edge
// (PadReflect, numpy "reflect", repeating the reflection for pads wider than
// the input) or the edge value (PadEdge). Reflect and edge need a non-empty
// dimension wherever they pad.
func Pad(dst, x []float32, shape, begin, end []int, mode PadMode, value float32) {
	if len(begin) != len(shape) || len(end) != len(shape) {
		panic(fmt.Sprintf("kernels: pad: %d begin and %d end amounts for rank %d", len(begin), len(end), len(shape)))
	}
	padCore(dst, x, shape, begin, end, 1, mode, value)
}

// Crop writes x with begin[i] elements removed before and end[i] after
// each dimension into dst (Keras Cropping1D/2D/3D).
func Crop(dst, x []float32, shape, begin, end []int) {
	if len(begin) != len(shape) || len(end) != len(shape) {
		panic(fmt.Sprintf("kernels: crop: %d begin and %d end amounts for rank %d", len(begin), len(end), len(shape)))
	}
	for i := range shape {
		if begin[i] < 0 || end[i] < 0 {
			panic(fmt.Sprintf("kernels: crop: negative amount in %v %v", begin, end))
		}
	}
	padCore(dst, x, shape, begin, end, -1, PadConstant, 0)
}

// padCore pads by sign*begin and sign*end.
func padCore(dst, x []float32, shape, begin, end []int, sign int, mode PadMode, value float32) {
	r := len(shape)
	shapeCheckLen("pad input", x, shapeElems(shape))
	outN := 1
	for i, d := range shape {
		o := d + sign*(begin[i]+end[i])
		if o < 0 {
			panic(fmt.Sprintf("kernels: pad: dimension %d would be %d", i, o))
		}
		if mode != PadConstant && d == 0 && o > 0 {
			panic("kernels: pad: reflect/edge padding of an empty dimension")
		}
		outN *= o
	}
	shapeCheckLen("pad output", dst, outN)
	if outN == 0 {
		return
	}
	if r == 0 {
		dst[0] = x[0]
		return
	}
	outDim := func(i int) int { return shape[i] + sign*(begin[i]+end[i]) }
	L, n, b := outDim(r-1), shape[r-1], sign*begin[r-1]
	rows := outN / L
	// Columns [c0, c1) of the output row map to input columns c0-b...
	c0, c1 := min(max(b, 0), L), min(max(b+n, 0), L)
	for row := 0; row < rows; row++ {
		out := dst[row*L : row*L+L]
		// Map the leading coordinates of this row.
		src, inside, rem := 0, true, row
		stride := n
		for i := r - 2; i >= 0; i-- {
			od := outDim(i)
			o := rem % od
			rem /= od
			s, ok := padSource(o, sign*begin[i], shape[i], mode)
			if !ok {
				inside = false
				break
			}
			src += s * stride
			stride *= shape[i]
		}
		if !inside {
			for j := range out {
				out[j] = value
			}
			continue
		}
		in := x[src : src+n]
		copy(out[c0:c1], in[c0-b:c1-b])
		for j := 0; j < c0; j++ {
			out[j] = padValue(in, j, b, mode, value)
		}
		for j := c1; j < L; j++ {
			out[j] = padValue(in, j, b, mode, value)
		}
	}
}

func padValue(in []float32, o, b int, mode PadMode, value float32) float32 {
	if s, ok := padSource(o, b, len(in), mode); ok {
		return in[s]
	}
	return value
}

// SliceBounds resolves an ONNX Slice range on a dimension of size dim:
// negative start and end count from the end, then both are clamped ([0, dim]
// for a positive step, start to [0, dim-1] and end to [-1, dim-1] for a
// negative one). It returns the first index and the element count.
func SliceBounds(dim, start, end, step int) (first, count int, err error) {
	if step == 0 {
		return 0, 0, fmt.Errorf("kernels: slice: zero step")
	}
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start, end = min(max(start, 0), dim), min(max(end, 0), dim)
		if end <= start {
			return start, 0, nil
		}
		return start, (end - start + step - 1) / step, nil
	}
	start, end = min(max(start, 0), dim-1), min(max(end, -1), dim-1)
	if start <= end {
		return start, 0, nil
	}
	return start, (start - end - step - 1) / -step, nil
}

// Slice writes the strided slice of x into dst: along dimension i it takes
// outShape[i] elements starting at starts[i] with step steps[i] (nil steps
// means all 1; steps may be negative). Use SliceBounds to resolve ONNX
// starts/ends.
func Slice(dst, x []float32, shape, starts, steps, outShape []int) {
	r := len(shape)
	if len(starts) != r || len(outShape) != r || (steps != nil && len(steps) != r) {
		panic(fmt.Sprintf("kernels: slice: rank %d with %d starts, %d steps, out shape %v", r, len(starts), len(steps), outShape))
	}
	step := func(i int) int {
		if steps == nil {
			return 1
		}
		return steps[i]
	}
	shapeCheckLen("slice input", x, shapeElems(shape))
	outN := shapeElems(outShape)
	shapeCheckLen("slice output", dst, outN)
	if outN == 0 {
		return
	}
	for i := range shape {
		last := starts[i] + (outShape[i]-1)*step(i)
		if starts[i] < 0 || starts[i] >= shape[i] || last < 0 || last >= shape[i] {
			panic(fmt.Sprintf("kernels: slice: dimension %d: %d elements from %d step %d outside [0,%d)", i, outShape[i], starts[i], step(i), shape[i]))
		}
	}
	if r == 0 {
		dst[0] = x[0]
		return
	}
	L, s0, st := outShape[r-1], starts[r-1], step(r-1)
	rows := outN / L
	for row := 0; row < rows; row++ {
		src, rem, stride := s0, row, shape[r-1]
		for i := r - 2; i >= 0; i-- {
			o := rem % outShape[i]
			rem /= outShape[i]
			src += (starts[i] + o*step(i)) * stride
			stride *= shape[i]
		}
		out := dst[row*L : row*L+L]
		if st == 1 {
			copy(out, x[src:src+L])
			continue
		}
		for j := range out {
			out[j] = x[src+j*st]
		}
	}
}
