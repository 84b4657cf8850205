package gemm

import (
	"fmt"

	"github.com/kconv/kconv/exec/internal/par"
)

// Name reports the kernel family in use: "avx512", "avx2", "neon" or
// "generic" ("openblas" in builds with the openblas tag), chosen at init
// from the CPU or $KCONV_CPU (see the package doc).
func Name() string { return backendName }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(A) is m×k (A is m×k with lda >= k, or k×m with lda >= m when transA),
// op(B) is k×n (B is k×n with ldb >= n, or n×k with ldb >= k when transB)
// and C is m×n with ldc >= n. Large products are split across pl's
// workers (nil pl: serial).
func Sgemm(pl *par.Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if trivialGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	t := pl.Workers()
	// Below ~4 MFLOP per worker the goroutine hand-off costs more than it gains.
	if t > 1 && int64(m)*int64(n)*int64(k) >= int64(t)*8<<20 {
		// Split the larger of A's rows and B's columns: each worker packs
		// the part of op(B) it uses, so a row split packs all of B once
		// per worker (op(A) is read in place). Column blocks are multiples
		// of 32 (the widest micro-kernel's width).
		if m >= n || n < 64*t {
			pl.For(m, 4, func(i0, i1 int) {
				var aa []float32
				if transA {
					aa = a[i0:]
				} else {
					aa = a[i0*lda:]
				}
				sgemm(transA, transB, i1-i0, n, k, alpha, aa, lda, b, ldb, beta, c[i0*ldc:], ldc)
			})
		} else {
			pl.For(n, 32, func(j0, j1 int) {
				var bb []float32
				if transB {
					bb = b[j0*ldb:]
				} else {
					bb = b[j0:]
				}
				sgemm(transA, transB, m, j1-j0, k, alpha, a, lda, bb, ldb, beta, c[j0:], ldc)
			})
		}
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that
// parallelize themselves.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if trivialGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemv computes y = alpha*op(A)*x + beta*y for a row-major m×n matrix A
// (lda >= n). With trans false op(A) = A, x has n elements and y has m; with
// trans true op(A) = Aᵀ, x has m elements and y has n. Large products are
// split across pl's workers (nil pl: serial).
func Sgemv(pl *par.Pool, trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if trivialGemv(trans, m, n, alpha, a, lda, x, beta, y) {
		return
	}
	// Split from 256 KB of A per worker: a model's classifier at batch 1
	// reads its weights from L3 or DRAM (the layers before evicted them),
	// ~23-26 GB/s on one core of the Xeon, so 256 KB is ~10 µs. With 1 MB
	// per worker before, RegNetX's 400→1000 and ResNet18's 512→1000 ran on
	// one core: with 40 copies cycled, 61 → 35 and 80 → 45 µs on two.
	t := pl.Workers()
	if t > 1 && int64(m)*int64(n) >= int64(t)*1<<16 {
		if trans {
			// y[j] depends on column j of A: split the columns.
			pl.For(n, 64, func(j0, j1 int) {
				sgemv(true, m, j1-j0, alpha, a[j0:], lda, x, beta, y[j0:j1])
			})
		} else {
			pl.For(m, 16, func(i0, i1 int) {
				sgemv(false, i1-i0, n, alpha, a[i0*lda:], lda, x, beta, y[i0:i1])
			})
		}
		return
	}
	sgemv(trans, m, n, alpha, a, lda, x, beta, y)
}

// SgemmRows adds A·B to C for a short A: C (m×n, ldc) += A (m×k, lda) ·
// B (k×n, ldb), all row-major. On the assembly families B streams from
// memory once, each block of it used by every row of A while in L1 (a
// dense layer at a small batch: its weights are B); each row of C then
// equals, bit for bit, what Sgemv (trans, alpha 1, beta 1) gives for that
// row of A. Elsewhere it is Sgemm. Columns are split across pl's workers.
func SgemmRows(pl *par.Pool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	need("A", len(a), m, k, lda)
	need("B", len(b), k, n, ldb)
	need("C", len(c), m, n, ldc)
	run := func(j0, j1 int) {
		if active.rows == nil {
			sgemm(false, false, m, j1-j0, k, 1, a, lda, b[j0:], ldb, 1, c[j0:], ldc)
			return
		}
		active.rows(m, j1-j0, k, a, lda, b[j0:], ldb, c[j0:], ldc)
	}
	if t := pl.Workers(); t > 1 && int64(m)*int64(n)*int64(k) >= int64(t)<<18 {
		pl.For(n, 64, run)
		return
	}
	run(0, n)
}

// SgemvSerial is Sgemv on the calling goroutine only.
func SgemvSerial(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if trivialGemv(trans, m, n, alpha, a, lda, x, beta, y) {
		return
	}
	sgemv(trans, m, n, alpha, a, lda, x, beta, y)
}

// need panics unless a row-major rows×cols matrix with leading dimension ld
// fits in a slice of length n.
func need(name string, n, rows, cols, ld int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("gemm: negative dimension for %s (%d×%d)", name, rows, cols))
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: ld%s = %d < max(1, %d)", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if n < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: %s has %d elements, needs %d (%d×%d, ld %d)", name, n, (rows-1)*ld+cols, rows, cols, ld))
	}
}

// trivialGemm checks the arguments and handles the cases without a product
// (empty C, k == 0, alpha == 0). It reports whether nothing is left to do.
func trivialGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if k < 0 {
		panic("gemm: negative k")
	}
	if transA {
		need("a", len(a), k, m, lda)
	} else {
		need("a", len(a), m, k, lda)
	}
	if transB {
		need("b", len(b), n, k, ldb)
	} else {
		need("b", len(b), k, n, ldb)
	}
	need("c", len(c), m, n, ldc)
	if m == 0 || n == 0 {
		return true
	}
	if k == 0 || alpha == 0 {
		for i := range m {
			scale(beta, c[i*ldc:i*ldc+n])
		}
		return true
	}
	return false
}

func trivialGemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) bool {
	need("a", len(a), m, n, lda)
	nx, ny := n, m
	if trans {
		nx, ny = m, n
	}
	if len(x) < nx {
		panic(fmt.Sprintf("gemm: x has %d elements, needs %d", len(x), nx))
	}
	if len(y) < ny {
		panic(fmt.Sprintf("gemm: y has %d elements, needs %d", len(y), ny))
	}
	if ny == 0 {
		return true
	}
	if nx == 0 || alpha == 0 {
		scale(beta, y[:ny])
		return true
	}
	return false
}

// scale sets x = beta*x, writing zeros (not reading x) when beta is 0.
func scale(beta float32, x []float32) {
	switch beta {
	case 1:
	case 0:
		clear(x)
	default:
		for i := range x {
			x[i] *= beta
		}
	}
}
