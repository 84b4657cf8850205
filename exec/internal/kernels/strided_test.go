package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// stridedWant returns a buffer of StridedLen(rows, c, ld) floats whose rows
// of c floats, ld apart, are packed's rows and whose gaps hold a sentinel,
// and gaps reports whether got kept every sentinel.
func stridedWant(packed []float32, rows, c, ld int) []float32 {
	s := make([]float32, StridedLen(rows, c, ld))
	for i := range s {
		s[i] = 12345
	}
	for r := range rows {
		copy(s[r*ld:r*ld+c], packed[r*c:(r+1)*c])
	}
	return s
}

// stridedOut returns an output buffer: NaN in the rows (which must be
// written), the sentinel in the gaps (which must not).
func stridedOut(rows, c, ld int) []float32 {
	s := make([]float32, StridedLen(rows, c, ld))
	for i := range s {
		s[i] = 12345
	}
	for r := range rows {
		for k := range c {
			s[r*ld+k] = float32(math.NaN())
		}
	}
	return s
}

// TestConv2DStridedVsRef runs the strided convolutions (SmallConv's direct
// and Winograd F(2×2) paths, the im2col/1×1 GEMM path) over the shared
// conv tables against RefConv2D: every output pixel at its stride, the
// floats between pixels untouched.
func TestConv2DStridedVsRef(t *testing.T) {
	kernelsGo := []bool{true}
	if scAVX512 {
		kernelsGo = []bool{false, true}
	}
	for ci, tc := range smallConvCases() {
		p := tc.p
		rows := p.N * p.OutH() * p.OutW()
		in := khRand(uint64(ci)*3+1, p.InLen())
		kernel := khRand(uint64(ci)*3+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, p.OutC)
		}
		ref := RefConv2D(p, in, kernel, bias, tc.act)
		for _, extra := range []int{0, 37} {
			ld := p.OutC + extra
			want := stridedWant(ref, rows, p.OutC, ld)
			for _, threads := range []int{1, 3} {
				ws := &Workspace{Pool: par.New(threads)}
				got := stridedOut(rows, p.OutC, ld)
				Conv2DStrided(p, in, kernel, bias, tc.act, got, ld, ws)
				khClose(t, fmt.Sprintf("im2col %s ld=%d threads=%d", tc.name, ld, threads), got, want, 1e-4)
				if p.Validate() != nil {
					continue
				}
				sc := NewSmallConv(kernel, p)
				for _, goKernel := range kernelsGo {
					saved := scForceGo
					scForceGo = goKernel
					got := stridedOut(rows, p.OutC, ld)
					sc.Conv2DStrided(p, in, bias, tc.act, got, ld, ws)
					scForceGo = saved
					khClose(t, fmt.Sprintf("SmallConv %s ld=%d threads=%d go=%v wino=%v", tc.name, ld, threads, goKernel, sc.wino != nil), got, want, 1e-4)
				}
			}
		}
	}
}

// TestWinogradStridedVsRef runs Winograd F(4×4, 3×3) writing strided over
// its own case table against RefConv2D, the gaps untouched.
func TestWinogradStridedVsRef(t *testing.T) {
	for ci, tc := range winoCases() {
		p := tc.p
		rows := p.N * p.OutH() * p.OutW()
		in := khRand(uint64(ci)*3+1, p.InLen())
		kernel := khRand(uint64(ci)*3+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, p.OutC)
		}
		ref := RefConv2D(p, in, kernel, bias, tc.act)
		w := NewWinograd(kernel, p.C, p.OutC)
		for _, extra := range []int{0, 3, 40} {
			ld := p.OutC + extra
			want := stridedWant(ref, rows, p.OutC, ld)
			for _, threads := range []int{1, 3} {
				got := stridedOut(rows, p.OutC, ld)
				w.Conv2DStrided(p, in, bias, tc.act, got, ld, &Workspace{Pool: par.New(threads)})
				packed := make([]float32, rows*p.OutC)
				CopyStrided(packed, p.OutC, got, ld, rows, p.OutC)
				winoCheck(t, fmt.Sprintf("%s ld=%d threads=%d", tc.name, ld, threads), packed, ref)
				for r := range rows - 1 { // the gaps
					for k := p.OutC; k < ld; k++ {
						if got[r*ld+k] != want[r*ld+k] {
							t.Fatalf("%s ld=%d: gap float %d of pixel %d written", tc.name, ld, k, r)
						}
					}
				}
			}
		}
	}
}

// TestChannelAffineActStridedVsRef checks the strided-input channel affine
// (vector kernel and Go) against RefChannelAffineAct on the packed rows.
func TestChannelAffineActStridedVsRef(t *testing.T) {
	saved := simdOff
	defer func() { simdOff = saved }()
	for _, off := range []bool{false, true} {
		simdOff = off
		for _, tc := range []struct{ rows, c, ld int }{{1, 1, 1}, {7, 3, 8}, {50, 16, 48}, {33, 40, 100}, {3000, 64, 256}, {9, 130, 130}} {
			for _, act := range []Activation{{}, khReLU, {Kind: ActReLU, HasMax: true, MaxValue: 6}, khELU} {
				x := khRand(uint64(tc.rows*tc.c), StridedLen(tc.rows, tc.c, tc.ld))
				packed := make([]float32, tc.rows*tc.c)
				CopyStrided(packed, tc.c, x, tc.ld, tc.rows, tc.c)
				scale, shift := khRand(1, tc.c), khRand(2, tc.c)
				want := RefChannelAffineAct(packed, tc.c, scale, shift, act)
				for _, threads := range []int{1, 2} {
					got := khPoison(tc.rows * tc.c)
					ChannelAffineActStrided(got, x, tc.rows, tc.c, tc.ld, scale, shift, act, &Workspace{Pool: par.New(threads)})
					khClose(t, fmt.Sprintf("%+v act=%v simdOff=%v threads=%d", tc, act.Kind, off, threads), got, want, 1e-5)
				}
			}
		}
	}
}

// TestCopyStrided checks the copy both ways and that gaps stay untouched.
func TestCopyStrided(t *testing.T) {
	src := khRand(3, StridedLen(5, 3, 7))
	dst := stridedOut(5, 3, 4)
	CopyStrided(dst, 4, src, 7, 5, 3)
	packed := make([]float32, 15)
	for r := range 5 {
		copy(packed[r*3:r*3+3], src[r*7:r*7+3])
	}
	khClose(t, "strided copy", dst, stridedWant(packed, 5, 3, 4), 0)
	if StridedLen(0, 3, 7) != 0 {
		t.Errorf("StridedLen of no rows = %d", StridedLen(0, 3, 7))
	}
}

// TestSmallConvPreVsRef runs SmallConv with a pre-affine and a strided
// input and output (Conv2DPre) over the shared table against RefConv2D of
// the normalized, packed input (under the race detector, every third case).
func TestSmallConvPreVsRef(t *testing.T) {
	for ci, tc := range smallConvCases() {
		p := tc.p
		if p.Validate() != nil || scRace && ci%3 != 0 {
			continue
		}
		pixels, rows := p.N*p.H*p.W, p.N*p.OutH()*p.OutW()
		kernel := khRand(uint64(ci)*3+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, p.OutC)
		}
		sc := NewSmallConv(kernel, p)
		for _, pa := range []Activation{khReLU, {Kind: ActReLU, HasMax: true, MaxValue: 0.5}, {Kind: ActSwish}} {
			scale, shift := khRand(uint64(ci)+7, p.C), khRand(uint64(ci)+8, p.C)
			pre, ok := NewPreAffine(scale, shift, pa)
			if ok != (pa.Kind != ActSwish) {
				t.Fatalf("NewPreAffine(%v) ok = %v", pa.Kind, ok)
			}
			for _, in := range []struct{ ldi, ldo int }{{p.C, p.OutC}, {2*p.C + 3, p.OutC + 5}} {
				x := khRand(uint64(ci)*3+1, StridedLen(pixels, p.C, in.ldi))
				packed := make([]float32, pixels*p.C)
				CopyStrided(packed, p.C, x, in.ldi, pixels, p.C)
				normed := packed
				if pre != nil {
					normed = RefChannelAffineAct(packed, p.C, scale, shift, pa)
				} else {
					pre = nil
				}
				want := stridedWant(RefConv2D(p, normed, kernel, bias, tc.act), rows, p.OutC, in.ldo)
				threads := 1 + 2*(ci%2) // 1 or 3, by case
				scEachKernel(func(goKernel bool) {
					got := stridedOut(rows, p.OutC, in.ldo)
					sc.Conv2DPre(p, x, in.ldi, pre, bias, tc.act, got, in.ldo, &Workspace{Pool: par.New(threads)})
					khClose(t, fmt.Sprintf("%s pre=%v ldi=%d ldo=%d go=%v threads=%d", tc.name, pa.Kind, in.ldi, in.ldo, goKernel, threads), got, want, 1e-4)
				})
			}
		}
	}
}

// TestSmallConvNCHWVsRef runs SmallConv on channels-first input
// (Conv2DNCHW), packed and strided output, over the shared table against
// RefConv2D of the channels-last copy of the input.
func TestSmallConvNCHWVsRef(t *testing.T) {
	for ci, tc := range smallConvCases() {
		p := tc.p
		if p.Validate() != nil || scRace && ci%3 != 0 {
			continue
		}
		rows := p.N * p.OutH() * p.OutW()
		kernel := khRand(uint64(ci)*5+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*5+3, p.OutC)
		}
		sc := NewSmallConv(kernel, p)
		x := khRand(uint64(ci)*5+1, p.InLen()) // N, C, H, W
		nhwc := make([]float32, len(x))
		Transpose(nhwc, x, []int{p.N, p.C, p.H, p.W}, []int{0, 2, 3, 1}, nil)
		for _, ldo := range []int{p.OutC, p.OutC + 3} {
			want := stridedWant(RefConv2D(p, nhwc, kernel, bias, tc.act), rows, p.OutC, ldo)
			threads := 1 + ci%2
			scEachKernel(func(goKernel bool) {
				got := stridedOut(rows, p.OutC, ldo)
				sc.Conv2DNCHW(p, x, bias, tc.act, got, ldo, &Workspace{Pool: par.New(threads)})
				khClose(t, fmt.Sprintf("%s nchw ldo=%d go=%v threads=%d", tc.name, ldo, goKernel, threads), got, want, 1e-4)
			})
		}
	}
}

// TestSmallConvScaledVsRef runs SmallConv with a per-image channel scale
// (Conv2DScaled: one scale per image, or one shared) over the shared table
// against RefConv2D of the scaled input.
func TestSmallConvScaledVsRef(t *testing.T) {
	for ci, tc := range smallConvCases() {
		p := tc.p
		if p.Validate() != nil || scRace && ci%3 != 0 {
			continue
		}
		rows := p.N * p.OutH() * p.OutW()
		kernel := khRand(uint64(ci)*7+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*7+3, p.OutC)
		}
		sc := NewSmallConv(kernel, p)
		x := khRand(uint64(ci)*7+1, p.InLen())
		for _, stride := range []int{p.C, 0} {
			scale := khRand(uint64(ci)*7+4, max(1, p.N)*p.C)
			scaled := make([]float32, len(x))
			for i := range scaled {
				n, c := i/(p.H*p.W*p.C), i%p.C
				scaled[i] = x[i] * scale[n*stride+c]
			}
			for _, ldo := range []int{p.OutC, p.OutC + 2} {
				want := stridedWant(RefConv2D(p, scaled, kernel, bias, tc.act), rows, p.OutC, ldo)
				threads := 1 + ci%2
				scEachKernel(func(goKernel bool) {
					got := stridedOut(rows, p.OutC, ldo)
					sc.Conv2DScaled(p, x, scale[:max(0, p.N-1)*stride+p.C], stride, bias, nil, tc.act, got, ldo, &Workspace{Pool: par.New(threads)})
					khClose(t, fmt.Sprintf("%s scale stride=%d ldo=%d go=%v threads=%d", tc.name, stride, ldo, goKernel, threads), got, want, 1e-4)
					if ldo == p.OutC {
						skip := khRand(uint64(ci)*7+5, rows*p.OutC)
						got := make([]float32, rows*p.OutC)
						sc.Conv2DScaled(p, x, scale[:max(0, p.N-1)*stride+p.C], stride, bias, skip, tc.act, got, ldo, &Workspace{Pool: par.New(threads)})
						khClose(t, fmt.Sprintf("%s scale+add stride=%d go=%v threads=%d", tc.name, stride, goKernel, threads), got, RefConv2DAdd(p, scaled, kernel, bias, skip, tc.act), 1e-4)
					}
				})
			}
		}
	}
}

// scEachKernel runs f with SmallConv's Go micro-kernel and Go vector code
// forced (goKernel true) and, where the CPU has AVX-512, with the vector
// kernels too.
func scEachKernel(f func(goKernel bool)) {
	kernelsGo := []bool{true}
	if scAVX512 {
		kernelsGo = []bool{false, true}
	}
	for _, goKernel := range kernelsGo {
		saved, savedSimd := scForceGo, simdOff
		scForceGo, simdOff = goKernel, goKernel
		f(goKernel)
		scForceGo, simdOff = saved, savedSimd
	}
}
