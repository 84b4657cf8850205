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
//     implementation (Goto/BLIS-style: kc×nc panels of op(B) and mc×kc
//     panels of alpha*op(A) packed contiguously, a 4×4 register micro-kernel
//     run as two 2×4 passes so it does not spill, goroutine-parallel through
//     Sgemm's split). Scalar Go reaches ~4-5 GFLOP/s per core, some 20×
//     below OpenBLAS; it is meant for machines without OpenBLAS.
//
// Name reports which backend is linked in. The pure-Go code is compiled into
// every build (GoSgemm, GoSgemv), so tests and benchmarks can compare both.
//
// # Threading rule
//
// Exactly one layer parallelizes, so the cores are never oversubscribed:
// Go goroutines do, OpenBLAS never does. OpenBLAS's own pool is set to one
// thread (openblas_set_num_threads(1) at init and in SetThreads, whatever n)
// and every BLAS call runs on the goroutine that makes it.
//
//   - SetThreads(n) sets the number of workers (default runtime.NumCPU());
//     Threads() reports it. Call it before running, not concurrently with
//     kernels.
//   - Sgemm and Sgemv split a large call into up to Threads() independent
//     sub-problems (row blocks of C, or column blocks when C has few rows,
//     as for a small-batch dense layer) run on goroutines. Small calls stay
//     serial.
//   - Callers that parallelize themselves (Conv2D shares its bounded
//     im2col tiles among Threads() goroutines) call SgemmSerial/SgemvSerial
//     from each worker, so the two levels never multiply.
//
// Why not OpenBLAS threads: measured on the 2-core Zen 4 machine (OpenBLAS
// 0.3.21, Cooperlake kernels), see BenchmarkThreading:
//
//   - With Conv2D's bounded tiles, two goroutines each running OpenBLAS
//     single-threaded on its own tiles ("go2tiles") match or beat OpenBLAS's
//     2 threads inside each tile's call ("blas2tiles") on 7 of VGG16's 9
//     layer shapes and win clearly where K is small (the 224×224 layers,
//     where im2col and the epilogue are a large share and run in parallel
//     only at the Go level). NUMBERS
//   - After each multi-threaded call OpenBLAS's idle workers spin
//     (sched_yield) for ~2^28 cycles before sleeping, taking a core from
//     whatever Go code runs next (pooling, the next layer's im2col): in
//     interleaved runs without a pause, go2tiles fell to single-core speed.
//   - The machine is shared: with dynamic tiles a worker whose core is
//     stolen simply takes fewer tiles, where OpenBLAS's static split waits
//     for its slowest thread.
//
// One whole-layer OpenBLAS call with 2 threads ("blas2") is ~10-20% faster
// on the 28×28 and 56×56 layers, but needs the unbounded im2col matrix
// (14-29 MB per layer), which Conv2D deliberately avoids.
package gemm
