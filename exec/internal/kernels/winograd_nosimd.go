//go:build !goexperiment.simd || !amd64

package kernels

// Without GOEXPERIMENT=simd the transforms are the scalar Go loops.

func winoBt(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5 []float32) {
	winoBtGo(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5)
}

func winoAt(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3 []float32) {
	winoAtGo(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)
}

func winoAtBias(m0, m1, m2, m3, m4, m5, b, y0, y1, y2, y3 []float32) {
	winoAtBiasGo(m0, m1, m2, m3, m4, m5, b, y0, y1, y2, y3)
}
