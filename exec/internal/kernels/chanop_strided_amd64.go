package kernels

//go:noescape
func chanAffineStridedAVX512(dst, x, s, b *float32, rows, c, ldx int, tailmask uint64, lo, hi float32)
