//go:build cgo

// Package openblas is kconv's optional OpenBLAS binding (row-major
// cblas_sgemm / cblas_sgemv through cgo, link flag -lopenblas). It is a
// package of its own because Go does not allow cgo and Go assembly in one
// package; package gemm uses it only in builds with the openblas tag.
package openblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

func init() { C.openblas_set_num_threads(1) }

func cblasTrans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// Sgemm is cblas_sgemm on row-major matrices (arguments as gemm.Sgemm,
// already checked by the caller).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, cblasTrans(transA), cblasTrans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(&a[0]), C.blasint(lda),
		(*C.float)(&b[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}

// Sgemv is cblas_sgemv on a row-major matrix (arguments as gemm.Sgemv,
// already checked by the caller); y is not read when beta is 0.
func Sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if beta == 0 {
		// OpenBLAS's sgemv multiplies y by beta, which keeps NaNs; the API
		// promises y is not read when beta is 0.
		ny := m
		if trans {
			ny = n
		}
		clear(y[:ny])
	}
	C.cblas_sgemv(C.CblasRowMajor, cblasTrans(trans), C.blasint(m), C.blasint(n),
		C.float(alpha), (*C.float)(&a[0]), C.blasint(lda),
		(*C.float)(&x[0]), 1, C.float(beta), (*C.float)(&y[0]), 1)
}

// SetThreads sets OpenBLAS's own thread count (1 at init), breaking
// package gemm's threading rule; only the threading benchmarks use it, to
// measure the alternative.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }
