package kernels

//go:noescape
func actAVX512(x *float32, n, rows, ld int, kind int, lo, hi float32)

//go:noescape
func softmaxRowAVX512(dst, x *float32, n int, sums *[16]float32) (m float32)

// simdAVX512 reports whether the AVX-512 kernels may run: the CPU has them
// and the tests have not switched them off (simdOff).
func simdAVX512() bool { return scAVX512 && !simdOff }

// simdOff makes the vector kernels of act_fast.go and conv_dw_fast.go fall
// back to Go (tests: each family's result must match the other's).
var simdOff = false

//go:noescape
func nchw3AVX512(dst, s0, s1, s2 *float32, blocks int)

//go:noescape
func dwRowAVX512(dst, src, kern, bias *float32, nx, xstep, dstep int, taps *int, ntaps, cbytes int, tailmask uint64, lo, hi float32)

//go:noescape
func chanOpAVX512(dst, x, y *float32, rows, c int, tailmask uint64, mul int)

//go:noescape
func chanAffineAVX512(dst, x, s, b *float32, rows, c int, tailmask uint64, lo, hi float32)

//go:noescape
func addClampAVX512(dst, a *float32, n int, lo, hi float32)

//go:noescape
func gapAVX512(dst, x *float32, hw, c, n int, tailmask uint64, inv float64, sums *float64)

//go:noescape
func maxRowAVX512(dst, src *float32, nx, xstep, dstep int, taps *int, ntaps, cbytes int, tailmask uint64)
