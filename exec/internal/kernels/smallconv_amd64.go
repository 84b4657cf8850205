package kernels

import "os"

// scAVX512 reports AVX-512F with the ZMM state enabled by the OS, and
// KCONV_CPU unset or "avx512".
var scAVX512 = func() bool {
	_, _, c, _ := scCPUID(1, 0)
	if c&(1<<27) == 0 { // OSXSAVE
		return false
	}
	if scXGETBV()&0xE6 != 0xE6 { // SSE, AVX, opmask, ZMM0-15 upper, ZMM16-31
		return false
	}
	_, b, _, _ := scCPUID(7, 0)
	return b&(1<<16) != 0 && cpuAllows("avx512") // AVX512F
}()

// scForceGo makes scKern run the Go micro-kernel (tests).
var scForceGo = false

func scCPUID(leaf, sub uint32) (a, b, c, d uint32)

//go:noescape
func scWinoIn(v, src *float32, rowStride uintptr, ntiles, c int)

//go:noescape
func scWinoOut(m *float32, ntiles, oc int, bias, y0, y1 *float32, flags int)
func scXGETBV() (eax uint32)

// scKern runs the micro-kernel for nv vectors × np pixels (1 ≤ np ≤
// scMaxPix[nv]) over groups ≥ 1 runs of np pixels in a row (run g at src
// + g·np·pix and dst + g·np·dpix), applying epi (nil or kind scEpiNone:
// none), after adding skip (nil: none; pixel p's at skip + p·spix, runs
// advancing it as dst) to the sums. With two or three vectors it also prefetches into L2 one line at pf,
// pf+pfStep, … per tap (nil: none; the fourth of each four taps of a run
// left out): the next block's weights.
func scKern(nv, np, groups int, src *float32, pix uintptr, taps *scTaps, w, bias, dst *float32, dpix uintptr, mask uint64, epi *scEpi, pf *float32, pfStep uintptr, skip *float32, spix uintptr) {
	if !scAVX512 || scForceGo {
		scKernGo(nv, np, groups, src, pix, taps, w, bias, dst, dpix, mask, epi, skip, spix)
		return
	}
	if skip == nil {
		spix = 0 // the kernel advances skip by spix per pixel: nil stays nil
	}
	if epi != nil && epi.kind == scEpiNone {
		epi = nil
	}
	if pf == nil {
		pf, pfStep = w, 0
	}
	scKernels[nv][np](src, pix, &taps.runs[0], len(taps.runs)/3, w, bias, dst, dpix, mask, epi, pf, pfStep, groups, skip, spix)
}

// cpuAllows reports whether $KCONV_CPU (the gemm package's override of the
// kernel family, read once at init) leaves the family named fam on: unset
// or naming fam. KCONV_CPU=avx2 or generic thus turns every AVX-512 kernel
// of this package off, as it does the GEMM's.
func cpuAllows(fam string) bool {
	v := os.Getenv("KCONV_CPU")
	return v == "" || v == fam
}
