package gemm

import "sync"

// The pure-Go GEMM follows the usual Goto/BLIS structure: C is walked in
// goNC-column × goKC-deep blocks of op(B), packed into goNR-wide panels, and
// goMC-row blocks of op(A), packed (with alpha folded in) into goMR-tall
// panels; a goMR×goNR register micro-kernel then runs over contiguous packed
// memory. See kern4x4 for the register budget.
const (
	goMR = 4
	goNR = 4
	goKC = 256
	goMC = 128
	goNC = 2048
)

type packBufs struct{ a, b []float32 }

var packPool = sync.Pool{New: func() any {
	return &packBufs{
		a: make([]float32, goMC*goKC),
		b: make([]float32, goNC*goKC),
	}
}}

// GoSgemm is Sgemm's pure-Go implementation on the calling goroutine. It is
// the backend of purego builds and is compiled into every build so the two
// can be compared.
func GoSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if trivialGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	goSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GoSgemv is Sgemv's pure-Go implementation on the calling goroutine.
func GoSgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if trivialGemv(trans, m, n, alpha, a, lda, x, beta, y) {
		return
	}
	goSgemv(trans, m, n, alpha, a, lda, x, beta, y)
}

func goSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		scale(beta, c[i*ldc:i*ldc+n])
	}
	bufs := packPool.Get().(*packBufs)
	defer packPool.Put(bufs)
	for jc := 0; jc < n; jc += goNC {
		nc := min(goNC, n-jc)
		for pc := 0; pc < k; pc += goKC {
			kc := min(goKC, k-pc)
			packB(transB, b, ldb, pc, jc, kc, nc, bufs.b)
			for ic := 0; ic < m; ic += goMC {
				mc := min(goMC, m-ic)
				packA(transA, a, lda, ic, pc, mc, kc, alpha, bufs.a)
				goMacro(mc, nc, kc, bufs.a, bufs.b, c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// packB packs op(B)[pc:pc+kc, jc:jc+nc] into goNR-column panels, each kc×goNR
// row-major, zero-padding the last panel.
func packB(transB bool, b []float32, ldb, pc, jc, kc, nc int, dst []float32) {
	for j0 := 0; j0 < nc; j0 += goNR {
		nr := min(goNR, nc-j0)
		d := dst[j0*kc : j0*kc+kc*goNR]
		if !transB && nr == goNR {
			for p := range kc {
				s := b[(pc+p)*ldb+jc+j0:]
				s = s[:4]
				dp := d[p*goNR : p*goNR+4]
				dp[0], dp[1], dp[2], dp[3] = s[0], s[1], s[2], s[3]
			}
			continue
		}
		for p := range kc {
			dp := d[p*goNR : p*goNR+goNR]
			for jj := range goNR {
				var v float32
				if jj < nr {
					if transB {
						v = b[(jc+j0+jj)*ldb+pc+p]
					} else {
						v = b[(pc+p)*ldb+jc+j0+jj]
					}
				}
				dp[jj] = v
			}
		}
	}
}

// packA packs alpha*op(A)[ic:ic+mc, pc:pc+kc] into goMR-row panels, each
// kc×goMR (k-major), zero-padding the last panel.
func packA(transA bool, a []float32, lda, ic, pc, mc, kc int, alpha float32, dst []float32) {
	for i0 := 0; i0 < mc; i0 += goMR {
		mr := min(goMR, mc-i0)
		d := dst[i0*kc : i0*kc+kc*goMR]
		if !transA && mr == goMR {
			r0 := a[(ic+i0)*lda+pc:]
			r1 := a[(ic+i0+1)*lda+pc:]
			r2 := a[(ic+i0+2)*lda+pc:]
			r3 := a[(ic+i0+3)*lda+pc:]
			r0, r1, r2, r3 = r0[:kc], r1[:kc], r2[:kc], r3[:kc]
			for p := range kc {
				dp := d[p*goMR : p*goMR+4]
				dp[0], dp[1], dp[2], dp[3] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p]
			}
			continue
		}
		for p := range kc {
			dp := d[p*goMR : p*goMR+goMR]
			for ii := range goMR {
				var v float32
				if ii < mr {
					if transA {
						v = a[(pc+p)*lda+ic+i0+ii]
					} else {
						v = a[(ic+i0+ii)*lda+pc+p]
					}
				}
				dp[ii] = alpha * v
			}
		}
	}
}

func goMacro(mc, nc, kc int, ap, bp, c []float32, ldc int) {
	var tmp [goMR * goNR]float32
	for j0 := 0; j0 < nc; j0 += goNR {
		nr := min(goNR, nc-j0)
		bpan := bp[j0*kc : j0*kc+kc*goNR]
		for i0 := 0; i0 < mc; i0 += goMR {
			mr := min(goMR, mc-i0)
			apan := ap[i0*kc : i0*kc+kc*goMR]
			if mr == goMR && nr == goNR {
				kern4x4(kc, apan, bpan, c[i0*ldc+j0:], ldc)
				continue
			}
			clear(tmp[:])
			kern4x4(kc, apan, bpan, tmp[:], goNR)
			for ii := range mr {
				row := c[(i0+ii)*ldc+j0:]
				for jj := range nr {
					row[jj] += tmp[ii*goNR+jj]
				}
			}
		}
	}
}

// kern4x4 adds the 4×4 product of a packed A panel and a packed B panel
// (both kc deep) to c, as two passes of a 2×4 kernel: 8 accumulators, 4 B
// values, an A value and a temporary fit the Go compiler's 15 float
// registers on amd64, where a one-pass 4×4 spills on every step.
func kern4x4(kc int, ap, bp, c []float32, ldc int) {
	kern2x4(kc, ap, bp, c, ldc, 0)
	kern2x4(kc, ap, bp, c[2*ldc:], ldc, 2)
}

func kern2x4(kc int, ap, bp, c []float32, ldc, row int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	ap = ap[:kc*4]
	bp = bp[:kc*4]
	for p := 0; p+4 <= len(bp); p += 4 {
		b := bp[p : p+4 : p+4]
		a := ap[p+row : p+row+2 : p+row+2]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		a0 := a[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := a[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	r := c[:4]
	r[0] += c00
	r[1] += c01
	r[2] += c02
	r[3] += c03
	r = c[ldc : ldc+4]
	r[0] += c10
	r[1] += c11
	r[2] += c12
	r[3] += c13
}

func goSgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if !trans {
		x = x[:n]
		for i := range m {
			y[i] = alpha*dot(a[i*lda:i*lda+n], x) + betaTimes(beta, y[i])
		}
		return
	}
	y = y[:n]
	scale(beta, y)
	// Four rows of A at a time: y += (alpha*x[i..i+3]) · A[i..i+3, :].
	i := 0
	for ; i+4 <= m; i += 4 {
		x0, x1, x2, x3 := alpha*x[i], alpha*x[i+1], alpha*x[i+2], alpha*x[i+3]
		r0 := a[i*lda : i*lda+n]
		r1 := a[(i+1)*lda : (i+1)*lda+n]
		r2 := a[(i+2)*lda : (i+2)*lda+n]
		r3 := a[(i+3)*lda : (i+3)*lda+n]
		for j := range y {
			y[j] += x0*r0[j] + x1*r1[j] + x2*r2[j] + x3*r3[j]
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

func betaTimes(beta, v float32) float32 {
	if beta == 0 {
		return 0
	}
	return beta * v
}

func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	b = b[:len(a)]
	i := 0
	for ; i+4 <= len(a); i += 4 {
		aa := a[i : i+4 : i+4]
		bb := b[i : i+4 : i+4]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
