//go:build purego || !cgo

package gemm

const backendName = "purego"

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	goSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	goSgemv(trans, m, n, alpha, a, lda, x, beta, y)
}

func blasThreads(int) {}
