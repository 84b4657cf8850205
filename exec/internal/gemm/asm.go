//go:build !purego && (amd64 || arm64)

package gemm

// Shared by the assembly families (amd64, arm64): the blocked driver's
// constructor and entry point, and the vector GEMV driver.

// newBlocked sizes the blocks of a family with mr×nr micro-kernels from the
// per-core L1 data and L2 cache sizes: the A tile (mr×kc) takes about half
// of L1, the packed B block (kc×nc) about half of L2. B is packed unless
// C has at most four row tiles.
//
// Measured on Zen 5 (48 KiB L1d, 2 MiB L2; avx512, single thread, VGG- and
// ResNet-shaped products): kc 384 and 512 within noise of each other and
// 5-10% above 256; packing B 10-40% faster than reading it in place once m
// is a hundred or more (in place, each k step of a panel is a new line ldb
// floats away: TLB and prefetcher misses), about even for m in the
// thousands; in place is 0-30% faster for m ≤ 56 (49×512×512: 170 against
// 140 GFLOP/s), where each packed value would be used at most 4 times.
func newBlocked(mr, nr int, kernN, kernP kernFunc, l1, l2 int) *blocked {
	kc := min(max(l1/2/(4*mr)/16*16, 128), 512)
	nc := max(l2/2/(4*kc)/nr*nr, 4*nr)
	return &blocked{mr: mr, nr: nr, kernN: kernN, kernP: kernP, kc: kc, nc: nc, packMinM: 4*mr + 1}
}

func (bl *blocked) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	bl.run(transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
}

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

// rowsCols is the column block of vecGemv.rows: 8 rows of B and each row
// of C over it take 16 KB each (512 floats), in L1 together.
const rowsCols = 512

// rows adds A·B to C (A m×k, B k×n, row-major) for the few rows of A: B
// goes 8 rows at a time, in blocks of rowsCols columns that stay in L1
// while every row of A uses them (axpy8, the transposed GEMV's kernel), so
// B streams from memory once where the blocked GEMM, for a short A, reads
// it in place a k step per line and page. Each element of C sums its terms
// in the order the transposed GEMV does: a row of A gives, bit for bit,
// what Sgemv gives for it.
func (v vecGemv) rows(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for j0 := 0; j0 < n; j0 += rowsCols {
		w := min(rowsCols, n-j0)
		blk := w / (2 * v.vw) * (2 * v.vw)
		p := 0
		for ; p+8 <= k; p += 8 {
			for i := range m {
				xs := a[i*lda+p : i*lda+p+8]
				y := c[i*ldc+j0 : i*ldc+j0+w]
				if blk > 0 {
					v.axpy8(blk, &xs[0], &b[p*ldb+j0], ldb, &y[0])
				}
				for r, xr := range xs {
					row := b[(p+r)*ldb+j0 : (p+r)*ldb+j0+w]
					for j := blk; j < w; j++ {
						y[j] += xr * row[j]
					}
				}
			}
		}
		for ; p < k; p++ {
			for i := range m {
				xr := a[i*lda+p]
				row := b[p*ldb+j0 : p*ldb+j0+w]
				y := c[i*ldc+j0 : i*ldc+j0+w]
				for j := range y {
					y[j] += xr * row[j]
				}
			}
		}
	}
}
