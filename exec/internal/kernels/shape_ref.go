package kernels

import "math"

// refUnravel returns the coordinates of flat index i in shape.
func refUnravel(i int, shape []int) []int {
	c := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		c[d] = i % shape[d]
		i /= shape[d]
	}
	return c
}

// refRavel returns the flat index of coordinates c in shape.
func refRavel(c, shape []int) int {
	i := 0
	for d := range shape {
		i = i*shape[d] + c[d]
	}
	return i
}

// RefTranspose is the reference transpose: out[c] = x[c'] with
// c'[perm[i]] = c[i].
func RefTranspose(x []float32, shape, perm []int) []float32 {
	outShape, err := TransposeShape(shape, perm)
	if err != nil {
		panic(err)
	}
	out := make([]float32, len(x))
	src := make([]int, len(shape))
	for i := range out {
		c := refUnravel(i, outShape)
		for k, p := range perm {
			src[p] = c[k]
		}
		out[i] = x[refRavel(src, shape)]
	}
	return out
}

// RefConcat is the reference concatenation along axis.
func RefConcat(inputs [][]float32, shapes [][]int, axis int) []float32 {
	outShape, err := ConcatShape(shapes, axis)
	if err != nil {
		panic(err)
	}
	ax, _ := shapeAxis(axis, len(outShape))
	out := make([]float32, shapeElems(outShape))
	for i := range out {
		c := refUnravel(i, outShape)
		k := 0
		for c[ax] >= shapes[k][ax] {
			c[ax] -= shapes[k][ax]
			k++
		}
		out[i] = inputs[k][refRavel(c, shapes[k])]
	}
	return out
}

// RefPad is the reference of Pad; it returns the padded tensor.
func RefPad(x []float32, shape, begin, end []int, mode PadMode, value float32) []float32 {
	outShape, err := PadShape(shape, begin, end)
	if err != nil {
		panic(err)
	}
	out := make([]float32, shapeElems(outShape))
	src := make([]int, len(shape))
outer:
	for i := range out {
		c := refUnravel(i, outShape)
		for d := range c {
			s := c[d] - begin[d]
			n := shape[d]
			switch {
			case s >= 0 && s < n:
			case mode == PadConstant:
				out[i] = value
				continue outer
			case mode == PadEdge:
				s = max(0, min(s, n-1))
			case mode == PadReflect:
				// Bounce off the edges until inside.
				for s < 0 || s >= n {
					if n == 1 {
						s = 0
						break
					}
					if s < 0 {
						s = -s
					}
					if s >= n {
						s = 2*(n-1) - s
					}
				}
			}
			src[d] = s
		}
		out[i] = x[refRavel(src, shape)]
	}
	return out
}

// RefCrop is the reference of Crop.
func RefCrop(x []float32, shape, begin, end []int) []float32 {
	outShape := make([]int, len(shape))
	for i := range shape {
		outShape[i] = shape[i] - begin[i] - end[i]
	}
	out := make([]float32, shapeElems(outShape))
	for i := range out {
		c := refUnravel(i, outShape)
		for d := range c {
			c[d] += begin[d]
		}
		out[i] = x[refRavel(c, shape)]
	}
	return out
}

// RefSlice is the reference of Slice.
func RefSlice(x []float32, shape, starts, steps, outShape []int) []float32 {
	out := make([]float32, shapeElems(outShape))
	for i := range out {
		c := refUnravel(i, outShape)
		for d := range c {
			st := 1
			if steps != nil {
				st = steps[d]
			}
			c[d] = starts[d] + c[d]*st
		}
		out[i] = x[refRavel(c, shape)]
	}
	return out
}

// RefUpsampleNearest is the reference of UpsampleNearest.
func RefUpsampleNearest(x []float32, n, h, w, c, sh, sw int) []float32 {
	oh, ow := h*sh, w*sw
	out := make([]float32, n*oh*ow*c)
	for b := 0; b < n; b++ {
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				for ch := 0; ch < c; ch++ {
					out[((b*oh+y)*ow+xx)*c+ch] = x[((b*h+y/sh)*w+xx/sw)*c+ch]
				}
			}
		}
	}
	return out
}

// RefResizeBilinear is the reference of ResizeBilinear, from the half-pixel
// definition in float64: sample the input at ((o+0.5)*in/out - 0.5) with
// coordinates clamped to [0, in-1] and interpolate linearly in each axis.
func RefResizeBilinear(x []float32, n, h, w, c, oh, ow int) []float32 {
	out := make([]float32, n*oh*ow*c)
	coord := func(o, in, outN int) (int, int, float64) {
		s := (float64(o)+0.5)*float64(in)/float64(outN) - 0.5
		s = math.Max(0, math.Min(s, float64(in-1)))
		i0 := int(math.Floor(s))
		return i0, min(i0+1, in-1), s - float64(i0)
	}
	for b := 0; b < n; b++ {
		for y := 0; y < oh; y++ {
			y0, y1, ly := coord(y, h, oh)
			for xx := 0; xx < ow; xx++ {
				x0, x1, lx := coord(xx, w, ow)
				for ch := 0; ch < c; ch++ {
					at := func(iy, ix int) float64 { return float64(x[((b*h+iy)*w+ix)*c+ch]) }
					v := (1-ly)*((1-lx)*at(y0, x0)+lx*at(y0, x1)) + ly*((1-lx)*at(y1, x0)+lx*at(y1, x1))
					out[((b*oh+y)*ow+xx)*c+ch] = float32(v)
				}
			}
		}
	}
	return out
}
