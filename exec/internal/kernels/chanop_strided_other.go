//go:build !amd64

package kernels

func chanAffineStridedAVX512(dst, x, s, b *float32, rows, c, ldx int, tailmask uint64, lo, hi float32) {
	panic("kernels: no AVX-512")
}
