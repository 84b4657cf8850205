package kernels

import (
	"fmt"
	"github.com/kconv/kconv/exec/internal/par"
	"math"
)

// ReduceShape returns the shape of reducing axes (negative counts from the
// end; duplicates are an error) of shape: the reduced dimensions become 1
// with keepdims, and are dropped otherwise. The data layout is the same
// either way.
func ReduceShape(shape, axes []int, keepdims bool) ([]int, error) {
	red, err := reduceMask(shape, axes)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(shape))
	for i, d := range shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case keepdims:
			out = append(out, 1)
		}
	}
	return out, nil
}

func reduceMask(shape, axes []int) ([]bool, error) {
	red := make([]bool, len(shape))
	for _, a := range axes {
		ax, err := shapeAxis(a, len(shape))
		if err != nil {
			return nil, err
		}
		if red[ax] {
			return nil, fmt.Errorf("kernels: reduce: axis %d repeated in %v", a, axes)
		}
		red[ax] = true
	}
	return red, nil
}

// redTile is the channel tile of ReduceMean when the innermost dimension is
// kept; the float64 accumulators live on the stack.
const redTile = 64

// redPlan is a reduction over coalesced dimensions. The innermost coalesced
// dimension (length inner, stride 1) is either reduced or kept; the other
// kept and reduced dimensions are listed with their strides in x.
type redPlan struct {
	outDims, outStrides []int
	redDims, redStrides []int
	inner               int
	innerReduced        bool
	count               int // elements averaged per output
	outLen              int // elements of the result
	outN, redN          int // products of outDims and redDims
}

func redMakePlan(shape, axes []int) (redPlan, error) {
	red, err := reduceMask(shape, axes)
	if err != nil {
		return redPlan{}, err
	}
	var dims, strides []int
	var flags []bool
	st := shapeStrides(shape)
	p := redPlan{count: 1, outLen: 1}
	for i, d := range shape {
		if red[i] {
			p.count *= d
		} else {
			p.outLen *= d
		}
		if d == 1 {
			continue
		}
		if k := len(dims) - 1; k >= 0 && flags[k] == red[i] && strides[k] == st[i]*d {
			dims[k] *= d
			strides[k] = st[i]
			continue
		}
		dims, strides, flags = append(dims, d), append(strides, st[i]), append(flags, red[i])
	}
	if len(dims) == 0 {
		dims, strides, flags = []int{1}, []int{1}, []bool{false}
	}
	last := len(dims) - 1
	p.inner, p.innerReduced = dims[last], flags[last]
	for i := range last {
		if flags[i] {
			p.redDims, p.redStrides = append(p.redDims, dims[i]), append(p.redStrides, strides[i])
		} else {
			p.outDims, p.outStrides = append(p.outDims, dims[i]), append(p.outStrides, strides[i])
		}
	}
	p.outN, p.redN = shapeProd(p.outDims, 0, len(p.outDims)), shapeProd(p.redDims, 0, len(p.redDims))
	return p, nil
}

// redOffset returns the offset in x of the idx-th element of the dims
// (row-major) with the given strides.
func redOffset(idx int, dims, strides []int) int {
	off := 0
	for i := len(dims) - 1; i >= 0; i-- {
		off += (idx % dims[i]) * strides[i]
		idx /= dims[i]
	}
	return off
}

// ReduceMean writes the mean of x over axes into dst, whose length is the
// element count of ReduceShape(shape, axes, keepdims); sums run in float64.
// An empty axes list reduces nothing (dst = x; ONNX's reduce-all default
// must be spelled out by the caller). The mean of zero elements is NaN.
func ReduceMean(dst, x []float32, shape, axes []int, pl *par.Pool) {
	p, err := redMakePlan(shape, axes)
	if err != nil {
		panic(err)
	}
	n := shapeElems(shape)
	shapeCheckLen("reduce input", x, n)
	shapeCheckLen("reduce output", dst, p.outLen)
	if p.count == 0 {
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
		return
	}
	if n == 0 {
		return
	}
	if p.innerReduced {
		per := p.redN * p.inner
		parRange(pl, p.outN, per, func(lo, hi int) { p.meanInner(dst, x, lo, hi) })
		return
	}
	tiles := (p.inner + redTile - 1) / redTile
	per := p.redN * redTile
	parRange(pl, p.outN*tiles, per, func(lo, hi int) { p.meanTiles(dst, x, tiles, lo, hi) })
}

// meanInner computes outputs [lo, hi) when the innermost dimension is
// reduced: each output sums redN contiguous runs of length inner.
func (p *redPlan) meanInner(dst, x []float32, lo, hi int) {
	inv := 1 / float64(p.count)
	for o := lo; o < hi; o++ {
		base := redOffset(o, p.outDims, p.outStrides)
		var s float64
		for r := 0; r < p.redN; r++ {
			off := base + redOffset(r, p.redDims, p.redStrides)
			for _, v := range x[off : off+p.inner] {
				s += float64(v)
			}
		}
		dst[o] = float32(s * inv)
	}
}

// meanTiles computes output tiles [lo, hi) when the innermost dimension is
// kept: item it is row it/tiles, columns of tile it%tiles.
func (p *redPlan) meanTiles(dst, x []float32, tiles, lo, hi int) {
	inv := 1 / float64(p.count)
	var acc [redTile]float64
	for it := lo; it < hi; it++ {
		row, t := it/tiles, it%tiles
		c0 := t * redTile
		c1 := min(c0+redTile, p.inner)
		a := acc[:c1-c0]
		for j := range a {
			a[j] = 0
		}
		base := redOffset(row, p.outDims, p.outStrides) + c0
		for r := 0; r < p.redN; r++ {
			off := base + redOffset(r, p.redDims, p.redStrides)
			in := x[off : off+len(a)]
			for j, v := range in {
				a[j] += float64(v)
			}
		}
		out := dst[row*p.inner+c0 : row*p.inner+c1]
		for j := range out {
			out[j] = float32(a[j] * inv)
		}
	}
}

// RefReduceMean is the reference of ReduceMean: every input element is added
// to the output element with its reduced coordinates dropped.
func RefReduceMean(x []float32, shape, axes []int) []float32 {
	red, err := reduceMask(shape, axes)
	if err != nil {
		panic(err)
	}
	var outShape []int
	count := 1
	for i, d := range shape {
		if red[i] {
			count *= d
		} else {
			outShape = append(outShape, d)
		}
	}
	sums := make([]float64, shapeElems(outShape))
	for i, v := range x {
		// Coordinates of i, keeping only the kept axes.
		rem, o, ostride := i, 0, 1
		for d := len(shape) - 1; d >= 0; d-- {
			coord := rem % shape[d]
			rem /= shape[d]
			if !red[d] {
				o += coord * ostride
				ostride *= shape[d]
			}
		}
		sums[o] += float64(v)
	}
	out := make([]float32, len(sums))
	for i, s := range sums {
		out[i] = float32(s / float64(count))
	}
	return out
}
