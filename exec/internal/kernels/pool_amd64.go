package kernels

//go:noescape
func pool2x2MaxAVX512(dst, r0, r1 *float32, ow, c int)

//go:noescape
func pool2x2AvgAVX512(dst, r0, r1 *float32, ow, c int)

// pool2x2Asm pools one output row with AVX-512 when C is a multiple of 16,
// reporting whether it did.
func pool2x2Asm(o, r0, r1 []float32, ow, c int, isMax bool) bool {
	if !scAVX512 || c%16 != 0 || ow == 0 {
		return false
	}
	_, _ = r0[2*ow*c-1], r1[2*ow*c-1]
	_ = o[ow*c-1]
	if isMax {
		pool2x2MaxAVX512(&o[0], &r0[0], &r1[0], ow, c)
	} else {
		pool2x2AvgAVX512(&o[0], &r0[0], &r1[0], ow, c)
	}
	return true
}
