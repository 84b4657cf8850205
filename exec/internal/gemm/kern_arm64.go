//go:build !purego

package gemm

//go:noescape
func sgemmKernNEONN(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernNEONP(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sdotNEON(n int, a, x, out *float32)

//go:noescape
func saxpy8NEON(n int, x, a *float32, lda int, y *float32)

// dot and axpy8 call the NEON kernels.
func (v vecGemv) dot(n int, a, x, out *float32) { sdotNEON(n, a, x, out) }

func (v vecGemv) axpy8(n int, x, a *float32, lda int, y *float32) { saxpy8NEON(n, x, a, lda, y) }

// archFamilies lists the assembly families this CPU can run: NEON
// (Advanced SIMD, part of every ARMv8-A core) with the blocked driver and
// a 6×16 micro-kernel; GEMV with dot and 8-row axpy kernels. Cache sizes are not read on
// arm64: the blocks assume 64 KiB of L1d and 1 MiB of L2.
func archFamilies() []*family {
	bl := newBlocked(neonMR, 16, sgemmKernNEONN, sgemmKernNEONP, 64<<10, 1<<20)
	v := vecGemv{vw: 4, lanes: 16}
	return []*family{{name: "neon", sgemm: bl.sgemm, bl: bl, sgemv: v.sgemv, rows: v.rows}}
}

// neonMR is the NEON micro-kernel's height (gemm_gen.go).
const neonMR = 6

// L2Bytes reports the per-core L2 cache size in bytes: 1 MiB, what the
// NEON family's blocking assumes (arm64 has no CPUID to ask).
func L2Bytes() int { return 1 << 20 }
