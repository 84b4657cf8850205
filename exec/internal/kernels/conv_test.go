package kernels

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/gemm"
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
	defer gemm.SetThreads(0)
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
			gemm.SetThreads(threads)
			ws := &Workspace{}
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
