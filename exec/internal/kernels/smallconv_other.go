//go:build !amd64

package kernels

// Without amd64 assembly SmallConv runs its Go micro-kernel (tests only:
// SmallConvPays is false).
const scAVX512 = false

var scForceGo = true

func scKern(nv, np, groups int, src *float32, pix uintptr, taps *scTaps, w, bias, dst *float32, dpix uintptr, mask uint64, epi *scEpi, _ *float32, _ uintptr, skip *float32, spix uintptr) {
	scKernGo(nv, np, groups, src, pix, taps, w, bias, dst, dpix, mask, epi, skip, spix)
}

func scWinoIn(v, src *float32, rowStride uintptr, ntiles, c int) { panic("unreachable") }

func scWinoOut(m *float32, ntiles, oc int, bias, y0, y1 *float32, flags int) {
	panic("unreachable")
}
