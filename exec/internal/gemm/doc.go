// Package gemm provides the single-precision matrix kernels (GEMM and GEMV)
// that kconv's CPU convolutions and dense layers are built on.
//
// All matrices are row-major. A matrix X with r rows, c columns and leading
// dimension ldx (ldx >= c) has element (i, j) at x[i*ldx+j]. The API mirrors
// the row-major CBLAS calls:
//
//	Sgemm: C = alpha*op(A)*op(B) + beta*C, op(A) m×k, op(B) k×n, C m×n
//	Sgemv: y = alpha*op(A)*x + beta*y,     A m×n, op(A) = A or Aᵀ
//
// When beta is zero C (or y) is not read, so it may hold garbage or NaN.
// Arguments are checked: a slice too short for its shape and leading
// dimension panics rather than reading out of bounds.
//
// # Backends
//
// The backend is chosen at build time:
//
//   - default (cgo enabled, no tag): OpenBLAS through cgo
//     (cblas_sgemm / cblas_sgemv, CblasRowMajor; link flag -lopenblas).
//   - build tag purego, or cgo disabled: a pure-Go blocked and packed
//     implementation (4×8 register micro-kernel over packed panels,
//     goroutine-parallel over column/row blocks). It is roughly an order of
//     magnitude slower than OpenBLAS and is meant for machines without it.
//
// Name reports which backend is linked in. The pure-Go code is compiled into
// every build (GoSgemm, GoSgemv), so tests and benchmarks can compare both.
//
// # Threading rule
//
// Exactly one layer parallelizes, so the cores are never oversubscribed:
// Go goroutines do, OpenBLAS does not. OpenBLAS's own thread pool is pinned to
// one thread (openblas_set_num_threads(1) at init and in SetThreads) and every
// BLAS call runs on the goroutine that makes it.
//
//   - SetThreads(n) sets the number of workers (default runtime.NumCPU()).
//     Threads() reports it.
//   - Sgemm and Sgemv themselves split a large call into up to Threads()
//     independent sub-problems (row blocks of C, or column blocks when C has
//     few rows) and run them on goroutines. Small calls stay serial.
//   - Callers that already run on Threads() workers of their own (the conv
//     kernels tile the output and run one worker per tile stream) call
//     SgemmSerial / SgemvSerial from each worker instead, so the product of
//     the two levels never exceeds Threads().
//
// Measured on the 2-core Zen 4 development machine (OpenBLAS 0.3.21,
// Cooperlake kernels), VGG16's 13 conv layers as im2col GEMMs: two goroutines
// each calling single-threaded OpenBLAS on their own output tiles beat one
// OpenBLAS call with two threads, because the tiles' im2col and epilogue run
// in parallel too and no OpenBLAS thread synchronisation happens per call.
// See the package README-style numbers in threads_bench_test.go.
package gemm
