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
// thread (openblas_set_num_threads(1) at init) and every BLAS call runs on
// the goroutine that makes it.
//
//   - The budget is the caller's *par.Pool (one per compiled Program; no
//     process-global thread count), passed as Sgemm's and Sgemv's first
//     argument; nil means serial.
//   - Sgemm and Sgemv split a large call into up to pl.Workers() independent
//     sub-problems (row blocks of C, or column blocks when C has few rows,
//     as for a small-batch dense layer) run on goroutines. Small calls stay
//     serial.
//   - Callers that parallelize themselves (Conv2D shares its bounded
//     im2col tiles among the pool's workers) call SgemmSerial/SgemvSerial
//     from each worker, so the two levels never multiply.
//
// Why not OpenBLAS threads: BenchmarkThreading, on the 2-core Zen 4 machine
// (OpenBLAS 0.3.21, Cooperlake kernels), VGG16's 9 conv shapes as GEMMs
// over Conv2D's bounded row tiles, medians of quiet runs, GFLOP/s:
//
//	shape (pixels, K→N)   1 thread  go2tiles  blas2tiles  blas2 (whole)
//	224², 27→64             57        67         70          74
//	224², 576→64            69       132        133         114
//	112², 576→128           84       148        162         139
//	112², 1152→128          82       156        164         140
//	56², 1152→256           93       165        186         164
//	56², 2304→256           94       167        184         183
//	28², 2304→512           98       171        192         176
//	28², 4608→512           98       166        176         197
//	14², 4608→512           93       144        151         137
//
// go2tiles = 2 goroutines pulling tiles, OpenBLAS single-threaded (the
// rule); blas2tiles = the same tiles in sequence with OpenBLAS's 2 threads
// inside each call; blas2 = one call over the whole unbounded im2col matrix.
// For the GEMM alone OpenBLAS's threads are 0-13% faster (its threads share
// one packed copy of the kernel matrix; each goroutine packs its own). The
// rule still holds because, in the whole kernel and network:
//
//   - im2col, bias and activation (5-10% of a conv layer's single-thread
//     time, more on the 224×224 layers) run on both cores only at the Go
//     level; with blas2tiles they are serial, which about cancels the GEMM
//     gain;
//   - after each multi-threaded call OpenBLAS's idle worker spins
//     (sched_yield) for ~2^28 cycles before sleeping and takes a core from
//     whatever Go code runs next: go2tiles run right after a blas2 call
//     fell to one core's speed (112², 576→128: 86 instead of 148 GFLOP/s);
//   - the machine is shared: with dynamic tiles a worker whose core is
//     stolen takes fewer tiles, where OpenBLAS's static split waits for its
//     slowest thread;
//   - one rule serves every caller, including kernels that call
//     SgemmSerial from goroutines of their own.
package gemm
