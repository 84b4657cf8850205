package kernels

import "fmt"

// shapeElems returns the number of elements of a tensor of the given shape
// (1 for a scalar, shape []). It panics on a negative dimension.
func shapeElems(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("kernels: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// shapeStrides returns row-major element strides for shape.
func shapeStrides(shape []int) []int {
	s := make([]int, len(shape))
	st := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = st
		st *= shape[i]
	}
	return s
}

// shapeAxis resolves a possibly negative (Python-style) axis against rank.
func shapeAxis(axis, rank int) (int, error) {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return 0, fmt.Errorf("kernels: axis %d out of range for rank %d", axis, rank)
	}
	return axis, nil
}

func shapeMustAxis(axis, rank int) int {
	a, err := shapeAxis(axis, rank)
	if err != nil {
		panic(err)
	}
	return a
}

// shapeCheckLen panics unless len(buf) == want.
func shapeCheckLen(what string, buf []float32, want int) {
	if len(buf) != want {
		panic(fmt.Sprintf("kernels: %s has %d elements, want %d", what, len(buf), want))
	}
}

func shapeEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// shapeProd returns the product of shape[lo:hi].
func shapeProd(shape []int, lo, hi int) int {
	n := 1
	for _, d := range shape[lo:hi] {
		n *= d
	}
	return n
}
