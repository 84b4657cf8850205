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
// PackB packs a constant op(B) (a layer's weights) once; SgemmPacked then
// multiplies it with any A without repacking it per call and per worker,
// as Sgemm must (10-25% faster on small-m products, see below).
// PackStreamInPlace packs a constant B into column panels read as one stream;
// SgemmStream adds A·B to C for a short A (a dense layer's weights at a
// small batch) at memory bandwidth (see StreamB).
//
// When beta is zero C (or y) is not read, so it may hold garbage or NaN.
// Arguments are checked: a slice too short for its shape and leading
// dimension panics rather than reading out of bounds.
//
// # Kernel families
//
// The default build carries its own SGEMM and SGEMV, so its speed depends
// neither on a system BLAS nor on that BLAS's configuration (OpenBLAS under
// OPENBLAS_CORETYPE=Haswell, as set on kconv's development machines, runs
// its AVX2 kernels at half a Zen 5 core's AVX-512 peak). The code comes in
// families, one per instruction set; the package's table of families is
// built once at init from the CPU's features (golang.org/x/sys/cpu) and is
// read-only afterwards:
//
//   - avx512: Goto/BLIS-style blocked GEMM (driver in blocked.go) around a
//     14×32 micro-kernel: 28 ZMM accumulators, 2 for B, 2 for the
//     broadcast A values. op(A) is read in place (packing A would cost as
//     much as a conv-shaped product with a few dozen output channels);
//     op(B) is packed into kc×32 panels; kc and nc come from the L1d and
//     L2 sizes read with CPUID. GEMV: dot and 8-row axpy kernels.
//   - avx2 (with FMA): the same driver around a 6×16 YMM micro-kernel.
//   - neon (arm64): the same driver around a 6×16 micro-kernel in 24 of
//     the 32 vector registers; GEMV dot and 8-row axpy kernels. Tested
//     under qemu-aarch64 (GOARCH=arm64 go test -c, then qemu-aarch64
//     gemm.test), not yet measured on arm64 hardware.
//   - generic: portable Go (purego.go; a packed 4×4 register kernel run as
//     two 2×4 passes, ~4-5 GFLOP/s per core).
//
// The assembly is generated: go generate runs gemm_gen.go, which writes
// gemm_amd64.s and gemm_arm64.s. Name reports the family in use.
// KCONV_CPU=avx512, avx2, neon or generic (read once, at package init; the
// only environment the package reads) forces a family, so every family
// can be run on one machine; a family the CPU lacks is reported on stderr
// and the default kept. Tests run every family the machine supports
// directly, whatever KCONV_CPU says.
//
// Build tags:
//
//   - purego: no assembly; the generic family only.
//   - openblas (cgo): adds OpenBLAS (package gemm/openblas: cgo and Go
//     assembly cannot share a package; link flag -lopenblas) as the
//     default family, the others remaining available through KCONV_CPU.
//     It is kept as a yardstick for the benchmarks and for CPUs without a
//     kconv family that OpenBLAS knows; the default build needs no BLAS.
//
// Measured 2026-12-06 (BenchmarkFamilies, BenchmarkPeakFMA -count 5; one
// thread; medians of per-call thread CPU time, on a shared 2-core AMD EPYC
// Zen 5; OpenBLAS 0.3.21 under the machine's OPENBLAS_CORETYPE=Haswell),
// GFLOP/s:
//
//	shape (m × n × k)                  avx512  avx2  openblas  generic
//	56², 3×3, 64→64    (3136×64×576)      196     97      93       4.4
//	56², 3×3, 128→128  (3136×128×1152)    178    101      84
//	56², 3×3, 256→256  (3136×256×2304)    192     98      94
//	28², 3×3, 256→512  (784×512×2304)     182    101     101       4.5
//	14², 3×3, 512→512  (196×512×4608)     163     84      94
//	56², 1×1, 64→256   (3136×256×64)      199    105      95
//	56², 1×1, 256→64   (3136×64×256)      209    110     103
//	56², 1×1, 240→80   (3136×80×240)      207    113      85
//	28², 1×1, 240→40   (784×40×240)       140     90     107
//	7², 1×1, 512→2048  (49×2048×512)      183     81      88
//	FMA peak (BenchmarkPeakFMA)          224    111
//
// so avx512 runs conv-shaped products at 80-93% of the measured zmm peak
// (the micro-kernel alone, on L1-resident data: ~96%, BenchmarkKernOnly)
// and avx2 at 85-100% of the ymm peak: about twice OpenBLAS as configured
// here. Narrow n loses to the last panel's padding (n = 40: 40 of 48
// columns). With B packed once (PackB, BenchmarkPacked) the small-m
// shapes gain 10-25% (196×512×4608: ~141 → ~169). GEMV (VGG16 fc6 at
// batch 1, 25088×4096, memory-bound), GB/s of A per core: Aᵀx avx512 23,
// OpenBLAS 18; Ax avx512 16, OpenBLAS 13.
//
// # Threading rule
//
// Exactly one layer parallelizes, so the cores are never oversubscribed:
// Go goroutines do; the kernels never start threads of their own (in
// openblas builds OpenBLAS's pool is set to one thread at init and every
// BLAS call runs on the goroutine that makes it).
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
// Why not OpenBLAS threads (when the default was OpenBLAS):
// BenchmarkThreading (-tags openblas), on the 2-core Zen 4 machine
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
