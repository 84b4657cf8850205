package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

type convCase struct {
	name string
	p    ConvParams
	bias bool
	act  Activation
}

func convCases() []convCase {
	return []convCase{
		{"3x3 s1 same", ConvParams{N: 1, H: 8, W: 8, C: 3, OutC: 4, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{}},
		{"3x3 s1 valid odd", ConvParams{N: 1, H: 5, W: 7, C: 3, OutC: 5, KH: 3, KW: 3}, false, khReLU},
		{"3x3 s2 same asym", ConvParams{N: 2, H: 8, W: 6, C: 5, OutC: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 0, PadBottom: 1, PadLeft: 0, PadRight: 1}, true, khELU},
		{"2x2 s2 valid", ConvParams{N: 1, H: 7, W: 5, C: 3, OutC: 6, KH: 2, KW: 2, StrideH: 2, StrideW: 2}, true, Activation{}},
		{"s2x1 explicit pads", ConvParams{N: 3, H: 5, W: 7, C: 5, OutC: 7, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadTop: 2, PadBottom: 0, PadLeft: 1, PadRight: 3}, true, khReLU},
		{"dilation 2", ConvParams{N: 1, H: 9, W: 7, C: 3, OutC: 5, KH: 3, KW: 3, DilH: 2, DilW: 2, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, khELU},
		{"dilation 2x1 stride 2", ConvParams{N: 2, H: 11, W: 9, C: 4, OutC: 3, KH: 3, KW: 2, DilH: 2, DilW: 1, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 2}, false, Activation{}},
		{"groups 2", ConvParams{N: 2, H: 6, W: 5, C: 6, OutC: 4, KH: 3, KW: 3, Groups: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		{"groups 3 stride 2", ConvParams{N: 1, H: 7, W: 7, C: 9, OutC: 6, KH: 3, KW: 3, Groups: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, false, khELU},
		{"1x1", ConvParams{N: 3, H: 5, W: 7, C: 5, OutC: 3, KH: 1, KW: 1}, true, khReLU},
		{"1x1 groups", ConvParams{N: 2, H: 5, W: 7, C: 6, OutC: 9, KH: 1, KW: 1, Groups: 3}, true, khELU},
		{"1x1 stride 2", ConvParams{N: 2, H: 5, W: 7, C: 5, OutC: 4, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, true, Activation{}},
		{"1x1 padded", ConvParams{N: 1, H: 3, W: 4, C: 3, OutC: 2, KH: 1, KW: 1, PadTop: 1, PadLeft: 2}, true, khReLU},
		{"kernel larger than input", ConvParams{N: 2, H: 2, W: 3, C: 3, OutC: 4, KH: 5, KW: 5, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, khELU},
		{"kernel larger, big pads", ConvParams{N: 1, H: 1, W: 2, C: 5, OutC: 3, KH: 5, KW: 3, PadTop: 4, PadBottom: 1, PadLeft: 3, PadRight: 0}, false, Activation{}},
		{"relu6 clip", ConvParams{N: 1, H: 6, W: 6, C: 4, OutC: 8, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActReLU, MaxValue: 0.5, HasMax: true}},
		// Multi-tile cases: more output pixels than one tile (convMinRows).
		{"many tiles", ConvParams{N: 3, H: 23, W: 19, C: 5, OutC: 6, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khELU},
		{"many tiles 1x1", ConvParams{N: 2, H: 20, W: 17, C: 7, OutC: 5, KH: 1, KW: 1}, true, khReLU},
		{"many tiles groups", ConvParams{N: 2, H: 17, W: 13, C: 8, OutC: 6, KH: 3, KW: 3, Groups: 2, StrideH: 1, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 0, PadRight: 1}, true, Activation{}},
		{"big k", ConvParams{N: 1, H: 14, W: 14, C: 64, OutC: 32, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		{"empty output", ConvParams{N: 1, H: 2, W: 2, C: 3, OutC: 2, KH: 3, KW: 3}, true, Activation{}},
		{"batch 0", ConvParams{N: 0, H: 4, W: 4, C: 3, OutC: 2, KH: 3, KW: 3}, true, Activation{}},
	}
}

func TestConv2DFastVsRef(t *testing.T) {
	for ci, tc := range convCases() {
		p := tc.p
		in := khRand(uint64(ci)*3+1, p.InLen())
		kernel := khRand(uint64(ci)*3+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, p.OutC)
		}
		want := RefConv2D(p, in, kernel, bias, tc.act)
		for _, threads := range []int{1, 2, 3} {
			pool := par.New(threads)
			ws := &Workspace{Pool: pool}
			for rep := range 2 { // the second run reuses the workspace
				got := khPoison(p.OutLen())
				Conv2D(p, in, kernel, bias, tc.act, got, ws)
				khClose(t, fmt.Sprintf("%s threads=%d rep=%d", tc.name, threads, rep), got, want, 1e-4)
			}
		}
		got := khPoison(p.OutLen())
		Conv2D(p, in, kernel, bias, tc.act, got, nil)
		khClose(t, tc.name+" nil workspace", got, want, 1e-4)
	}
}

// TestRefConv2DHand checks the reference itself on numbers worked out by
// hand.
func TestRefConv2DHand(t *testing.T) {
	// 1×3×3×1 input 1..9, 2×2 kernel [[1,0],[0,-1]] (HWIO 2×2×1×1),
	// stride 1, pads top 0 bottom 1 left 0 right 1 ("same"), bias 10:
	//   out[y][x] = in[y][x] - in[y+1][x+1] + 10 (missing → 0)
	//   in = 1 2 3 / 4 5 6 / 7 8 9
	//   row0: 1-5, 2-6, 3-0 → -4, -4, 3
	//   row1: 4-8, 5-9, 6-0 → -4, -4, 6
	//   row2: 7, 8, 9
	p := ConvParams{N: 1, H: 3, W: 3, C: 1, OutC: 1, KH: 2, KW: 2, PadBottom: 1, PadRight: 1}
	in := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	kernel := []float32{1, 0, 0, -1}
	want := []float32{6, 6, 13, 6, 6, 16, 17, 18, 19}
	khClose(t, "ref same", RefConv2D(p, in, kernel, []float32{10}, Activation{}), want, 1e-6)
	got := make([]float32, 9)
	Conv2D(p, in, kernel, []float32{10}, Activation{}, got, nil)
	khClose(t, "fast same", got, want, 1e-6)

	// Stride 2 valid, 2 input channels, 2 output channels, ReLU.
	// in (1×2×4×2): pixel (y,x) has channels (y*4+x, -(y*4+x)).
	// kernel 1×2×2×2: tap kw=0: [[1,0],[0,1]]; kw=1: [[1,1],[0,0]]
	//   (rows = input channel, cols = output channel).
	// out (1×2×2×2) at (y, x): a = pixel (y, 2x), b = pixel (y, 2x+1)
	//   o0 = a0 + b0, o1 = a1 + b0 = -a + b = 1 → relu keeps both
	//   y=0,x=0: a=0,b=1 → (1, 1); x=1: a=2,b=3 → (5, 1)
	//   y=1,x=0: a=4,b=5 → (9, 1); x=1: a=6,b=7 → (13, 1)
	p2 := ConvParams{N: 1, H: 2, W: 4, C: 2, OutC: 2, KH: 1, KW: 2, StrideH: 1, StrideW: 2}
	in2 := make([]float32, 16)
	for i := range 8 {
		in2[2*i], in2[2*i+1] = float32(i), -float32(i)
	}
	kernel2 := []float32{1, 0, 0, 1, 1, 1, 0, 0}
	want2 := []float32{1, 1, 5, 1, 9, 1, 13, 1}
	khClose(t, "ref stride 2", RefConv2D(p2, in2, kernel2, nil, khReLU), want2, 1e-6)
}

func TestConvParamsOut(t *testing.T) {
	for _, c := range []struct {
		p      ConvParams
		oh, ow int
	}{
		{ConvParams{H: 224, W: 224, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, 224, 224},
		{ConvParams{H: 7, W: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, 3, 2},
		{ConvParams{H: 8, W: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadBottom: 1, PadRight: 1}, 4, 4},
		{ConvParams{H: 9, W: 9, KH: 3, KW: 3, DilH: 2, DilW: 3}, 5, 3},
		{ConvParams{H: 2, W: 2, KH: 3, KW: 3}, 0, 0},
	} {
		if oh, ow := c.p.OutH(), c.p.OutW(); oh != c.oh || ow != c.ow {
			t.Errorf("%+v: out %d×%d, want %d×%d", c.p, oh, ow, c.oh, c.ow)
		}
	}
}

func TestConv2DBadArgs(t *testing.T) {
	p := ConvParams{N: 1, H: 4, W: 4, C: 4, OutC: 4, KH: 3, KW: 3, Groups: 3}
	defer func() {
		if recover() == nil {
			t.Fatal("groups not dividing channels: no panic")
		}
	}()
	Conv2D(p, make([]float32, 64), make([]float32, 48), nil, Activation{}, make([]float32, 16), nil)
}

func TestConvReLUBits(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	base := []float32{1, -1, 0, negZero, 3.5, -2.25, inf, -inf, 1e-40, -1e-40, 7}
	for off := range 3 {
		for n := 0; n+off <= len(base); n++ {
			got := append([]float32(nil), base[off:off+n]...)
			want := append([]float32(nil), got...)
			khReLU.Apply(want)
			convReLUBits(got)
			for i := range want {
				if got[i] != want[i] || math.Signbit(float64(got[i])) {
					t.Fatalf("off %d n %d: [%d] = %v, want %v", off, n, i, got[i], want[i])
				}
			}
		}
	}
}

type dwCase struct {
	name string
	p    ConvParams
	bias bool
	act  Activation
}

func TestDepthwiseConv2DFastVsRef(t *testing.T) {
	cases := []dwCase{
		{"3x3 s1 same", ConvParams{N: 1, H: 5, W: 7, C: 3, OutC: 3, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		{"3x3 s2 same asym", ConvParams{N: 2, H: 8, W: 7, C: 5, OutC: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadBottom: 1, PadRight: 1}, true, khELU},
		{"multiplier 2", ConvParams{N: 3, H: 5, W: 7, C: 3, OutC: 6, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{}},
		{"multiplier 3 valid", ConvParams{N: 1, H: 6, W: 5, C: 5, OutC: 15, KH: 2, KW: 3}, false, khReLU},
		{"dilation 2", ConvParams{N: 2, H: 9, W: 8, C: 4, OutC: 4, KH: 3, KW: 3, DilH: 2, DilW: 2, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, khELU},
		{"explicit pads stride 2x1", ConvParams{N: 1, H: 7, W: 5, C: 3, OutC: 3, KH: 5, KW: 3, StrideH: 2, StrideW: 1, PadTop: 3, PadBottom: 0, PadLeft: 0, PadRight: 2}, true, Activation{}},
		{"kernel larger than input", ConvParams{N: 2, H: 2, W: 3, C: 3, OutC: 6, KH: 5, KW: 5, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, khReLU},
		{"1x1", ConvParams{N: 2, H: 5, W: 7, C: 5, OutC: 10, KH: 1, KW: 1}, true, khELU},
		{"s2 pads 1", ConvParams{N: 1, H: 7, W: 8, C: 4, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		{"5x5 s2 pads 3 mult 2", ConvParams{N: 2, H: 6, W: 9, C: 3, OutC: 6, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 3, PadBottom: 1, PadLeft: 3, PadRight: 2}, true, Activation{}},
		{"s3 dil 2", ConvParams{N: 1, H: 10, W: 11, C: 2, OutC: 2, KH: 3, KW: 3, StrideH: 3, StrideW: 3, DilH: 2, DilW: 2, PadTop: 1, PadBottom: 2, PadLeft: 1, PadRight: 2}, true, khELU},
		{"big", ConvParams{N: 2, H: 30, W: 29, C: 16, OutC: 16, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		{"empty output", ConvParams{N: 1, H: 2, W: 2, C: 3, OutC: 3, KH: 3, KW: 3}, true, Activation{}},
		// The shapes of MobileNet/EfficientNet blocks, for the vector kernel:
		// channels in full and partial 16-blocks, every fusable activation.
		{"3x3 s1 relu6 c32", ConvParams{N: 1, H: 14, W: 13, C: 32, OutC: 32, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}},
		{"3x3 s2 relu6 c24 no bias", ConvParams{N: 2, H: 15, W: 16, C: 24, OutC: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, false, Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}},
		{"5x5 s1 swish c40", ConvParams{N: 1, H: 11, W: 12, C: 40, OutC: 40, KH: 5, KW: 5, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, Activation{Kind: ActSwish}},
		{"5x5 s2 sigmoid c7", ConvParams{N: 1, H: 13, W: 9, C: 7, OutC: 7, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, Activation{Kind: ActSigmoid}},
		{"3x3 s1 hard swish c17", ConvParams{N: 2, H: 6, W: 21, C: 17, OutC: 17, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActHardSwish}},
		{"3x3 s2 asym pads relu c48", ConvParams{N: 1, H: 10, W: 10, C: 48, OutC: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadBottom: 1, PadRight: 1}, true, khReLU},
		{"3x3 s1 clip c16 one column", ConvParams{N: 1, H: 5, W: 1, C: 16, OutC: 16, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActClip, Min: -0.5, Max: 0.5}},
		{"7x7 s1 linear c1", ConvParams{N: 1, H: 9, W: 10, C: 1, OutC: 1, KH: 7, KW: 7, PadTop: 3, PadBottom: 3, PadLeft: 3, PadRight: 3}, true, Activation{}},
		{"3x3 huge pads", ConvParams{N: 1, H: 2, W: 2, C: 16, OutC: 16, KH: 3, KW: 3, PadTop: 4, PadBottom: 4, PadLeft: 4, PadRight: 4}, true, khReLU},
		{"3x3 big relu6 c96", ConvParams{N: 1, H: 56, W: 56, C: 96, OutC: 96, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}},
		// Small maps, where pixels go one or four at a time over four or two
		// channel blocks at once: full blocks, a partial last one, no bias.
		{"5x5 7x7 swish c72", ConvParams{N: 1, H: 7, W: 7, C: 72, OutC: 72, KH: 5, KW: 5, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, Activation{Kind: ActSwish}},
		{"5x5 7x7 linear c80 no bias", ConvParams{N: 2, H: 7, W: 7, C: 80, OutC: 80, KH: 5, KW: 5, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, false, Activation{}},
		{"3x3 6x6 relu c256", ConvParams{N: 1, H: 6, W: 6, C: 256, OutC: 256, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		// Rows whose interior has 8 or more pixels, at stride 1, for 3, 5
		// and 7 columns: partial blocks, rows dilated, no bias.
		{"5x5 s1 9x20 relu c72", ConvParams{N: 1, H: 9, W: 20, C: 72, OutC: 72, KH: 5, KW: 5, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, khReLU},
		{"7x7 s1 dil-h 2 c24 no bias", ConvParams{N: 2, H: 20, W: 21, C: 24, OutC: 24, KH: 7, KW: 7, DilH: 2, PadTop: 6, PadBottom: 6, PadLeft: 3, PadRight: 3}, false, Activation{}},
		{"3x3 s1 28x28 hard swish c40", ConvParams{N: 1, H: 28, W: 28, C: 40, OutC: 40, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActHardSwish}},
		// Fewer rows than items: rows split into channel groups (dwSplit),
		// the last group's last block partial.
		{"5x5 7x7 relu6 c120 channel groups", ConvParams{N: 1, H: 7, W: 7, C: 120, OutC: 120, KH: 5, KW: 5, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}},
		{"3x3 3x64 relu c40 one block a group", ConvParams{N: 1, H: 3, W: 64, C: 40, OutC: 40, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, false, khReLU},
		{"3x3 s2 9x9 relu6 c64", ConvParams{N: 1, H: 9, W: 9, C: 64, OutC: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}},
	}
	for ci, tc := range cases {
		p := tc.p
		in := khRand(uint64(ci)*3+101, p.InLen())
		kernel := khRand(uint64(ci)*3+102, p.KH*p.KW*p.OutC)
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+103, p.OutC)
		}
		want := RefDepthwiseConv2D(p, in, kernel, bias, tc.act)
		forEachFamily(t, func(fam string) {
			for _, threads := range []int{1, 2, 3} {
				got := khPoison(p.OutLen())
				DepthwiseConv2D(p, in, kernel, bias, tc.act, got, &Workspace{Pool: par.New(threads)})
				khClose(t, fmt.Sprintf("%s %s threads=%d", tc.name, fam, threads), got, want, 1e-4)
			}
		})
	}
}

// TestRefDepthwiseHand checks the depthwise reference by hand: 1×2×2×2
// input, 2×2 kernel, multiplier 2, valid → one output pixel of 4 channels.
func TestRefDepthwiseHand(t *testing.T) {
	p := ConvParams{N: 1, H: 2, W: 2, C: 2, OutC: 4, KH: 2, KW: 2}
	// Pixels (0,0) (0,1) (1,0) (1,1); channels (c0, c1).
	in := []float32{1, 10, 2, 20, 3, 30, 4, 40}
	// kernel[kh][kw][c][m]: m=0 weights 1 everywhere; m=1 weights are the
	// tap index kh*2+kw.
	kernel := []float32{
		1, 0, 1, 0, // (0,0): c0 m0, c0 m1, c1 m0, c1 m1
		1, 1, 1, 1, // (0,1)
		1, 2, 1, 2, // (1,0)
		1, 3, 1, 3, // (1,1)
	}
	// c0: m0 = 1+2+3+4 = 10, m1 = 0*1+1*2+2*3+3*4 = 20
	// c1: m0 = 100, m1 = 200; bias (1, 2, 3, 4)
	want := []float32{11, 22, 103, 204}
	bias := []float32{1, 2, 3, 4}
	khClose(t, "ref", RefDepthwiseConv2D(p, in, kernel, bias, Activation{}), want, 1e-6)
	got := make([]float32, 4)
	DepthwiseConv2D(p, in, kernel, bias, Activation{}, got, nil)
	khClose(t, "fast", got, want, 1e-6)
}

func TestConv2DTransposeFastVsRef(t *testing.T) {
	cases := []struct {
		name string
		p    ConvTransposeParams
		bias bool
		act  Activation
	}{
		{"3x3 s1 valid", ConvTransposeParams{N: 1, H: 5, W: 7, C: 3, OutC: 4, KH: 3, KW: 3}, true, Activation{}},
		{"3x3 s1 same", ConvTransposeParams{N: 2, H: 5, W: 7, C: 3, OutC: 5, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		{"3x3 s2 same", ConvTransposeParams{N: 1, H: 4, W: 5, C: 5, OutC: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 0, PadLeft: 1, PadRight: 0}, true, khELU},
		{"3x3 s2 valid outpad", ConvTransposeParams{N: 3, H: 3, W: 4, C: 2, OutC: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, OutPadH: 1, OutPadW: 1}, true, Activation{}},
		{"4x4 s2 pads 1", ConvTransposeParams{N: 2, H: 5, W: 3, C: 4, OutC: 2, KH: 4, KW: 4, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, false, khReLU},
		{"2x2 s2", ConvTransposeParams{N: 1, H: 5, W: 7, C: 3, OutC: 5, KH: 2, KW: 2, StrideH: 2, StrideW: 2}, true, khReLU},
		{"dilation 2", ConvTransposeParams{N: 1, H: 4, W: 5, C: 3, OutC: 2, KH: 3, KW: 3, DilH: 2, DilW: 2, PadTop: 2, PadBottom: 1, PadLeft: 0, PadRight: 3}, true, khELU},
		{"stride 3x1 outpad 2", ConvTransposeParams{N: 2, H: 3, W: 4, C: 3, OutC: 3, KH: 2, KW: 3, StrideH: 3, StrideW: 1, OutPadH: 2}, true, Activation{}},
		{"1x1 s2", ConvTransposeParams{N: 2, H: 4, W: 3, C: 5, OutC: 3, KH: 1, KW: 1, StrideH: 2, StrideW: 2, OutPadH: 1}, true, khReLU},
		{"big", ConvTransposeParams{N: 2, H: 16, W: 13, C: 24, OutC: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 0, PadLeft: 1, PadRight: 0}, true, khReLU},
	}
	for ci, tc := range cases {
		p := tc.p
		in := khRand(uint64(ci)*3+201, p.InLen())
		kernel := khRand(uint64(ci)*3+202, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+203, p.OutC)
		}
		want := RefConv2DTranspose(p, in, kernel, bias, tc.act)
		for _, threads := range []int{1, 2, 3} {
			pool := par.New(threads)
			got := khPoison(p.OutLen())
			Conv2DTranspose(p, in, kernel, bias, tc.act, got, &Workspace{Pool: pool})
			khClose(t, fmt.Sprintf("%s threads=%d", tc.name, threads), got, want, 1e-4)
		}
	}
}

// TestRefConv2DTransposeHand: 1×2×2×1 input [[1,2],[3,4]], 2×2 kernel
// [[1,10],[100,1000]] (KH×KW×1×1), stride 2, valid: each input pixel stamps
// value*kernel into its own 2×2 block of the 4×4 output.
func TestRefConv2DTransposeHand(t *testing.T) {
	p := ConvTransposeParams{N: 1, H: 2, W: 2, C: 1, OutC: 1, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	in := []float32{1, 2, 3, 4}
	kernel := []float32{1, 10, 100, 1000}
	want := []float32{
		1, 10, 2, 20,
		100, 1000, 200, 2000,
		3, 30, 4, 40,
		300, 3000, 400, 4000,
	}
	khClose(t, "ref", RefConv2DTranspose(p, in, kernel, nil, Activation{}), want, 1e-6)
	got := make([]float32, 16)
	Conv2DTranspose(p, in, kernel, nil, Activation{}, got, nil)
	khClose(t, "fast", got, want, 1e-6)

	// Stride 1, pads 1 all round ("same" for a 3-wide kernel) on a 1×1×1×2
	// input with 2 input channels: out = in0*k[.,.,0,0] + in1*k[.,.,0,1]
	// at the center tap only → single output pixel = 2*5 + 3*7 = 31.
	p2 := ConvTransposeParams{N: 1, H: 1, W: 1, C: 2, OutC: 1, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	kernel2 := make([]float32, 18)
	kernel2[8], kernel2[9] = 5, 7 // tap (1,1): [o=0][c=0], [o=0][c=1]
	khClose(t, "ref same", RefConv2DTranspose(p2, []float32{2, 3}, kernel2, nil, Activation{}), []float32{31}, 1e-6)
	if p2.OutH() != 1 || p2.OutW() != 1 {
		t.Fatalf("same out %d×%d", p2.OutH(), p2.OutW())
	}
}
