package ir

import (
	"fmt"
	"math/bits"
)

// CheckedElements returns the number of elements of s, treating unknown
// (negative) dims as 1 like Elements, or an error when the product
// overflows int64. Code that sizes buffers from shapes a file declared uses
// it instead of Elements.
func CheckedElements(s Shape) (int64, error) {
	n := uint64(1)
	for _, d := range s {
		if d < 0 {
			continue
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > 1<<63-1 {
			return 0, fmt.Errorf("shape %v has more than 2^63 elements", s)
		}
		n = lo
	}
	return int64(n), nil
}
