//go:build goexperiment.simd

package kernels

import "simd/archsimd"

// With GOEXPERIMENT=simd on amd64 the transforms' channel loops run eight
// channels at a time in AVX2 registers (the scalar loop finishes the
// remainder, and runs everything on CPUs without AVX2).

var winoAVX2 = archsimd.X86.AVX2()

func winoBt(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5 []float32) {
	n := len(d0)
	k := 0
	if winoAVX2 {
		d1, d2, d3, d4, d5 = d1[:n], d2[:n], d3[:n], d4[:n], d5[:n]
		r0, r1, r2, r3, r4, r5 = r0[:n], r1[:n], r2[:n], r3[:n], r4[:n], r5[:n]
		four := archsimd.BroadcastFloat32x8(4)
		for ; k+8 <= n; k += 8 {
			x0 := archsimd.LoadFloat32x8Slice(d0[k:])
			x1 := archsimd.LoadFloat32x8Slice(d1[k:])
			x2 := archsimd.LoadFloat32x8Slice(d2[k:])
			x3 := archsimd.LoadFloat32x8Slice(d3[k:])
			x4 := archsimd.LoadFloat32x8Slice(d4[k:])
			x5 := archsimd.LoadFloat32x8Slice(d5[k:])
			t0 := x4.Sub(x2.Mul(four))
			t1 := x3.Sub(x1.Mul(four))
			t2 := x4.Sub(x2)
			t3 := x3.Sub(x1)
			t3 = t3.Add(t3)
			x0.Sub(x2).Mul(four).Add(t2).StoreSlice(r0[k:])
			t0.Add(t1).StoreSlice(r1[k:])
			t0.Sub(t1).StoreSlice(r2[k:])
			t2.Add(t3).StoreSlice(r3[k:])
			t2.Sub(t3).StoreSlice(r4[k:])
			x5.Sub(x3).Sub(t3.Add(t3)).StoreSlice(r5[k:])
		}
	}
	if k < n {
		winoBtGo(d0[k:], d1[k:], d2[k:], d3[k:], d4[k:], d5[k:], r0[k:], r1[k:], r2[k:], r3[k:], r4[k:], r5[k:])
	}
}

func winoAt(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3 []float32) {
	n := len(m0)
	k := 0
	if winoAVX2 {
		m1, m2, m3, m4, m5 = m1[:n], m2[:n], m3[:n], m4[:n], m5[:n]
		y0, y1, y2, y3 = y0[:n], y1[:n], y2[:n], y3[:n]
		four := archsimd.BroadcastFloat32x8(4)
		eight := archsimd.BroadcastFloat32x8(8)
		for ; k+8 <= n; k += 8 {
			x1 := archsimd.LoadFloat32x8Slice(m1[k:])
			x2 := archsimd.LoadFloat32x8Slice(m2[k:])
			x3 := archsimd.LoadFloat32x8Slice(m3[k:])
			x4 := archsimd.LoadFloat32x8Slice(m4[k:])
			s12, d12 := x1.Add(x2), x1.Sub(x2)
			s34, d34 := x3.Add(x4), x3.Sub(x4)
			archsimd.LoadFloat32x8Slice(m0[k:]).Add(s12).Add(s34).StoreSlice(y0[k:])
			d12.Add(d34.Add(d34)).StoreSlice(y1[k:])
			s12.Add(s34.Mul(four)).StoreSlice(y2[k:])
			d12.Add(d34.Mul(eight)).Add(archsimd.LoadFloat32x8Slice(m5[k:])).StoreSlice(y3[k:])
		}
	}
	if k < n {
		winoAtGo(m0[k:], m1[k:], m2[k:], m3[k:], m4[k:], m5[k:], y0[k:], y1[k:], y2[k:], y3[k:])
	}
}

func winoAtBias(m0, m1, m2, m3, m4, m5, b, y0, y1, y2, y3 []float32) {
	n := len(m0)
	k := 0
	if winoAVX2 {
		m1, m2, m3, m4, m5, b = m1[:n], m2[:n], m3[:n], m4[:n], m5[:n], b[:n]
		y0, y1, y2, y3 = y0[:n], y1[:n], y2[:n], y3[:n]
		four := archsimd.BroadcastFloat32x8(4)
		eight := archsimd.BroadcastFloat32x8(8)
		for ; k+8 <= n; k += 8 {
			x1 := archsimd.LoadFloat32x8Slice(m1[k:])
			x2 := archsimd.LoadFloat32x8Slice(m2[k:])
			x3 := archsimd.LoadFloat32x8Slice(m3[k:])
			x4 := archsimd.LoadFloat32x8Slice(m4[k:])
			bk := archsimd.LoadFloat32x8Slice(b[k:])
			s12, d12 := x1.Add(x2), x1.Sub(x2)
			s34, d34 := x3.Add(x4), x3.Sub(x4)
			archsimd.LoadFloat32x8Slice(m0[k:]).Add(s12).Add(s34).Add(bk).StoreSlice(y0[k:])
			d12.Add(d34.Add(d34)).Add(bk).StoreSlice(y1[k:])
			s12.Add(s34.Mul(four)).Add(bk).StoreSlice(y2[k:])
			d12.Add(d34.Mul(eight)).Add(archsimd.LoadFloat32x8Slice(m5[k:])).Add(bk).StoreSlice(y3[k:])
		}
	}
	if k < n {
		winoAtBiasGo(m0[k:], m1[k:], m2[k:], m3[k:], m4[k:], m5[k:], b[k:], y0[k:], y1[k:], y2[k:], y3[k:])
	}
}
