//go:build !purego && (amd64 || arm64)

package gemm

// vecGemv is Sgemv on vector kernels of vw floats per vector (16: avx512,
// 8: avx2, 4: neon): dot(n, a, x, out) writes lanes partial sums of
// a[:n]·x[:n] (n a multiple of 4·vw) to out; axpy8(n, x, a, lda, y) adds
// x[0..7]·(rows 0..7 of a) to y[:n] (n a multiple of 2·vw). Each
// architecture's file defines dot and axpy8, calling its kernels directly,
// not through function values, so that the small arrays passed to them
// stay on the stack (no allocation per call).
type vecGemv struct{ vw, lanes int }

func (v vecGemv) sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if !trans {
		x = x[:n]
		blk := n / (4 * v.vw) * (4 * v.vw)
		var out [16]float32
		for i := range m {
			row := a[i*lda : i*lda+n]
			var s float32
			if blk > 0 {
				v.dot(blk, &row[0], &x[0], &out[0])
				for _, p := range out[:v.lanes] {
					s += p
				}
			}
			for j := blk; j < n; j++ {
				s += row[j] * x[j]
			}
			y[i] = alpha*s + betaTimes(beta, y[i])
		}
		return
	}
	y = y[:n]
	scale(beta, y)
	blk := n / (2 * v.vw) * (2 * v.vw)
	i := 0
	for ; i+8 <= m; i += 8 {
		var xs [8]float32
		for r := range xs {
			xs[r] = alpha * x[i+r]
		}
		if blk > 0 {
			v.axpy8(blk, &xs[0], &a[i*lda], lda, &y[0])
		}
		for r, xr := range xs {
			row := a[(i+r)*lda : (i+r)*lda+n]
			for j := blk; j < n; j++ {
				y[j] += xr * row[j]
			}
		}
	}
	for ; i < m; i++ {
		xi := alpha * x[i]
		r := a[i*lda : i*lda+n]
		for j := range y {
			y[j] += xi * r[j]
		}
	}
}
