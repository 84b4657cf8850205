//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gemm_gen.go

//go:noescape
func sgemmKernAVX512N(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX512P(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX2N(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX2P(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX512NH(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX512PH(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX2NH(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX2PH(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX512R7N(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sgemmKernAVX512R7P(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

//go:noescape
func sdotAVX512(n int, a, x, out *float32)

//go:noescape
func sdotAVX2(n int, a, x, out *float32)

//go:noescape
func saxpy8AVX512(n int, x, a *float32, lda int, y *float32)

//go:noescape
func saxpy8AVX2(n int, x, a *float32, lda int, y *float32)

func fmaPeakAVX512(n int) (fmas int)
func fmaPeakAVX2(n int) (fmas int)

//go:noescape
func sstreamAVX512R1(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R2(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R3(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R4(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R5(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R6(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R7(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R8(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R9(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R10(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R11(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R12(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R13(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX512R14(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX2R1(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX2R2(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX2R3(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX2R4(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX2R5(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func sstreamAVX2R6(k int, a *float32, lda int, b, c *float32, ldc int)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// archFamilies lists the assembly families this CPU can run, fastest first.
func archFamilies() []*family {
	l1, l2 := cacheSizes()
	var fs []*family
	if cpu.X86.HasAVX512F {
		bl := newBlocked(14, 32, sgemmKernAVX512N, sgemmKernAVX512P, l1, l2)
		bl.kernNH, bl.kernPH = sgemmKernAVX512NH, sgemmKernAVX512PH
		bl.lowMR, bl.kernNL, bl.kernPL = 7, sgemmKernAVX512R7N, sgemmKernAVX512R7P
		fs = append(fs, &family{name: "avx512", sgemm: bl.sgemm, bl: bl,
			sgemv: vecGemv{vw: 16, lanes: 16}.sgemv, rows: vecGemv{vw: 16, lanes: 16}.rows,
			peak: fmaPeakAVX512, peakWidth: 16,
			stream: []streamKern{sstreamAVX512R1, sstreamAVX512R2, sstreamAVX512R3, sstreamAVX512R4,
				sstreamAVX512R5, sstreamAVX512R6, sstreamAVX512R7, sstreamAVX512R8, sstreamAVX512R9,
				sstreamAVX512R10, sstreamAVX512R11, sstreamAVX512R12, sstreamAVX512R13, sstreamAVX512R14},
			streamW: 32})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		bl := newBlocked(6, 16, sgemmKernAVX2N, sgemmKernAVX2P, l1, l2)
		bl.kernNH, bl.kernPH = sgemmKernAVX2NH, sgemmKernAVX2PH
		fs = append(fs, &family{name: "avx2", sgemm: bl.sgemm, bl: bl,
			sgemv: vecGemv{vw: 8, lanes: 8}.sgemv, rows: vecGemv{vw: 8, lanes: 8}.rows,
			peak: fmaPeakAVX2, peakWidth: 8,
			stream: []streamKern{sstreamAVX2R1, sstreamAVX2R2, sstreamAVX2R3, sstreamAVX2R4,
				sstreamAVX2R5, sstreamAVX2R6},
			streamW: 16})
	}
	return fs
}

// cacheSizes reads the per-core L1 data and L2 sizes in bytes from CPUID's
// deterministic cache parameters (leaf 4 on Intel, 0x8000001D on AMD),
// falling back to 32 KiB and 1 MiB.
func cacheSizes() (l1, l2 int) {
	l1, l2 = 32<<10, 1<<20
	maxLeaf, vb, vc, vd := cpuid(0, 0)
	leaf := uint32(4)
	if vb == 0x68747541 && vd == 0x69746e65 && vc == 0x444d4163 { // "AuthenticAMD"
		if maxExt, _, _, _ := cpuid(0x80000000, 0); maxExt < 0x8000001D {
			return
		}
		leaf = 0x8000001D
	} else if maxLeaf < 4 {
		return
	}
	for sub := uint32(0); sub < 16; sub++ {
		a, b, c, _ := cpuid(leaf, sub)
		typ, level := a&31, (a>>5)&7
		if typ == 0 {
			break
		}
		size := int((b>>22)+1) * int((b>>12)&0x3ff+1) * int(b&0xfff+1) * int(c+1)
		switch {
		case level == 1 && typ == 1: // data
			l1 = size
		case level == 2 && typ != 2: // unified or data
			l2 = size
		}
	}
	return
}

// dot and axpy8 call the avx512 (vw = 16) or avx2 (vw = 8) kernels.
func (v vecGemv) dot(n int, a, x, out *float32) {
	if v.vw == 16 {
		sdotAVX512(n, a, x, out)
	} else {
		sdotAVX2(n, a, x, out)
	}
}

func (v vecGemv) axpy8(n int, x, a *float32, lda int, y *float32) {
	if v.vw == 16 {
		saxpy8AVX512(n, x, a, lda, y)
	} else {
		saxpy8AVX2(n, x, a, lda, y)
	}
}

// l2Bytes is the per-core L2 size CPUID reports (L2Bytes), read once.
var l2Bytes = func() int { _, l2 := cacheSizes(); return l2 }()

// L2Bytes reports the per-core L2 cache size in bytes (1 MiB when the CPU
// does not say).
func L2Bytes() int { return l2Bytes }
