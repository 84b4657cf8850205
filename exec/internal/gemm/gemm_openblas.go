//go:build !purego && cgo

package gemm

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

const backendName = "openblas"

func init() { C.openblas_set_num_threads(1) }

func cblasTrans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, cblasTrans(transA), cblasTrans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(&a[0]), C.blasint(lda),
		(*C.float)(&b[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}

func sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
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

// blasThreads sets OpenBLAS's own thread count, breaking the package's
// threading rule; only the threading benchmarks use it, to measure the
// alternative.
func blasThreads(n int) { C.openblas_set_num_threads(C.int(n)) }
