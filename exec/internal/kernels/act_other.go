//go:build !amd64

package kernels

func actAVX512(x *float32, n, rows, ld int, kind int, lo, hi float32) { panic("kernels: no AVX-512") }

func simdAVX512() bool { return false }

var simdOff = false

func nchw3AVX512(dst, s0, s1, s2 *float32, blocks int) { panic("kernels: no AVX-512") }

func dwRowAVX512(dst, src, kern, bias *float32, nx, xstep, dstep int, taps *int, ntaps, cbytes int, tailmask uint64, lo, hi float32) {
	panic("kernels: no AVX-512")
}

func chanOpAVX512(dst, x, y *float32, rows, c int, tailmask uint64, mul int) {
	panic("kernels: no AVX-512")
}

func chanAffineAVX512(dst, x, s, b *float32, rows, c int, tailmask uint64, lo, hi float32) {
	panic("kernels: no AVX-512")
}

func addClampAVX512(dst, a *float32, n int, lo, hi float32) { panic("kernels: no AVX-512") }

func gapAVX512(dst, x *float32, hw, c, n int, tailmask uint64, inv float64, sums *float64) {
	panic("kernels: no AVX-512")
}

func maxRowAVX512(dst, src *float32, nx, xstep, dstep int, taps *int, ntaps, cbytes int, tailmask uint64) {
	panic("kernels: no AVX-512")
}

func softmaxRowAVX512(dst, x *float32, n int, sums *[16]float32) float32 {
	panic("kernels: no AVX-512")
}
