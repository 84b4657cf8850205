package kernels

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// TestConvDepthwise checks ConvDepthwise against the two layers run
// apart (SmallConv.Conv2D or Conv2DNCHW into a stored tensor, then
// DepthwiseConv2D), bit for bit: 1×1 expansions and padded, strided
// convolutions (a stem's, NCHW input too), batch sizes whose bands split
// images or not, strides, dilation, asymmetric padding, windows wider
// than the image, partial channel blocks, fused and row-wise activations
// on both sides, no biases.
func TestConvDepthwise(t *testing.T) {
	relu6 := Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}
	cases := []struct {
		name           string
		n, h, w, c, oc int
		e              ConvParams // the convolution's window (zero: 1×1)
		nchw           bool
		d              ConvParams // the depthwise window
		bias           bool
		act, dact      Activation
	}{
		{"3x3 s1 relu6", 1, 12, 17, 16, 72, ConvParams{}, false, ConvParams{KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, relu6, relu6},
		{"3x3 s2 batch 3", 3, 13, 14, 24, 48, ConvParams{}, false, ConvParams{KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU, khReLU},
		{"5x5 s2 asym pads hard swish", 2, 15, 11, 16, 40, ConvParams{}, false, ConvParams{KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 2, PadLeft: 2, PadRight: 1}, true, Activation{Kind: ActHardSwish}, Activation{Kind: ActHardSwish}},
		{"5x5 s1 swish no bias", 1, 9, 30, 8, 120, ConvParams{}, false, ConvParams{KH: 5, KW: 5, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, false, Activation{Kind: ActSwish}, Activation{Kind: ActSwish}},
		{"3x3 dil 2 linear", 2, 10, 10, 12, 33, ConvParams{}, false, ConvParams{KH: 3, KW: 3, DilH: 2, DilW: 2, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, Activation{}, Activation{}},
		{"7x7 on a 3x4 map", 1, 3, 4, 16, 64, ConvParams{}, false, ConvParams{KH: 7, KW: 7, PadTop: 3, PadBottom: 3, PadLeft: 3, PadRight: 3}, true, relu6, khReLU},
		{"1x1 s2", 2, 7, 9, 16, 32, ConvParams{}, false, ConvParams{KH: 1, KW: 1, StrideH: 2, StrideW: 2}, true, khReLU, relu6},
		{"stem 3x3/2 NCHW", 2, 23, 20, 3, 32, ConvParams{KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, ConvParams{KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, relu6, relu6},
		{"3x3 valid then 5x5/2", 1, 14, 19, 8, 24, ConvParams{KH: 3, KW: 3}, false, ConvParams{KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, false, khReLU, Activation{Kind: ActSwish}},
		{"3x1 valid", 1, 8, 5, 16, 24, ConvParams{}, false, ConvParams{KH: 3, KW: 1}, true, khReLU, Activation{}},
	}
	for ci, tc := range cases {
		pe := tc.e
		if pe.KH == 0 {
			pe.KH, pe.KW = 1, 1
		}
		pe.N, pe.H, pe.W, pe.C, pe.OutC = tc.n, tc.h, tc.w, tc.c, tc.oc
		pd := tc.d
		pd.N, pd.H, pd.W, pd.C, pd.OutC = tc.n, pe.OutH(), pe.OutW(), tc.oc, tc.oc
		if !ConvDepthwiseOK(pe, pd) {
			if simdAVX512() {
				t.Fatalf("%s: ConvDepthwiseOK false", tc.name)
			}
			t.Skip("no vector depthwise kernel on this CPU (or KCONV_CPU names another family)")
		}
		in := khRand(uint64(ci)*5+1, pe.InLen())
		for i := range in {
			in[i] = 4*in[i] - 1 // past the activations' bends
		}
		kernel, dk := khRand(uint64(ci)*5+2, pe.KernelLen()), khRand(uint64(ci)*5+3, pd.KH*pd.KW*pd.C)
		var bias, dbias []float32
		if tc.bias {
			bias, dbias = khRand(uint64(ci)*5+4, pe.OutC), khRand(uint64(ci)*5+5, pd.C)
		}
		sc := NewSmallConv(kernel, pe)
		for _, threads := range []int{1, 2, 3} {
			ws := &Workspace{Pool: par.New(threads)}
			mid := khPoison(pe.OutLen())
			if tc.nchw {
				sc.Conv2DNCHW(pe, in, bias, tc.act, mid, pe.OutC, ws)
			} else {
				sc.Conv2D(pe, in, bias, tc.act, mid, ws)
			}
			want := khPoison(pd.OutLen())
			DepthwiseConv2D(pd, mid, dk, dbias, tc.dact, want, ws)
			got := khPoison(pd.OutLen())
			sc.ConvDepthwise(pe, in, tc.nchw, bias, tc.act, pd, dk, dbias, tc.dact, got, ws)
			khSameBits(t, fmt.Sprintf("%s threads=%d", tc.name, threads), got, want)
		}
	}
}

// TestConvDepthwiseNoAlloc: a call allocates nothing once warm.
func TestConvDepthwiseNoAlloc(t *testing.T) {
	if scRace {
		t.Skip("the race detector allocates")
	}
	pe := ConvParams{N: 1, H: 20, W: 20, C: 16, OutC: 48, KH: 1, KW: 1}
	pd := ConvParams{N: 1, H: 20, W: 20, C: 48, OutC: 48, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	if !ConvDepthwiseOK(pe, pd) {
		t.Skip("no vector depthwise kernel on this CPU")
	}
	sc := NewSmallConv(khRand(1, pe.KernelLen()), pe)
	in, dk, out := khRand(2, pe.InLen()), khRand(3, 9*48), make([]float32, pd.OutLen())
	ws := &Workspace{Pool: par.New(1)}
	call := func() { sc.ConvDepthwise(pe, in, false, nil, khReLU, pd, dk, nil, khReLU, out, ws) }
	if a := testing.AllocsPerRun(20, call); a != 0 {
		t.Errorf("serial: %v allocations per call", a)
	}
	ws.Pool = par.New(2)
	if a := khMallocs(500, call); a > 0.05 {
		t.Errorf("2 threads: %v allocations per call", a)
	}
}
