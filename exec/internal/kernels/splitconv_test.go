package kernels

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// TestSplitConvVsRef: convolutions whose blocks' weights are over
// splitBytes (3×3 and 1×1 over the fewest channels, a multiple of 64, that
// put them there on this machine), run as SplitConv against the
// reference, with a last block narrower than 32 channels, stride 2, batch
// 2, bias or none, and activations the chunks' last epilogue applies or
// not (ELU).
func TestSplitConvVsRef(t *testing.T) {
	if !scAVX512 {
		t.Skip("SmallConv needs AVX-512 (SplitConv is made of SmallConvs)")
	}
	over := func(taps int) int { return (splitBytes()/(4*taps*32)/64 + 1) * 64 }
	cases := []struct {
		p    ConvParams
		bias bool
		act  Activation
	}{
		{ConvParams{N: 2, H: 5, W: 5, C: over(9), OutC: 40, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		{ConvParams{N: 1, H: 7, W: 6, C: over(9) + 64, OutC: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, false, khELU},
		{ConvParams{N: 1, H: 3, W: 4, C: over(1), OutC: 33, KH: 1, KW: 1}, true, Activation{}},
	}
	for ci, tc := range cases {
		if !SplitConvPays(tc.p, tc.act) {
			t.Fatalf("%+v: SplitConvPays false, the case would not test a split", tc.p)
		}
		q := tc.p.norm()
		x := khRand(uint64(ci)*3+1, tc.p.InLen())
		k := khRand(uint64(ci)*3+2, q.KH*q.KW*q.C*q.OutC)
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, q.OutC)
		}
		want := RefConv2D(tc.p, x, k, bias, tc.act)
		s := NewSplitConv(k, tc.p)
		if len(s.parts) < 2 {
			t.Fatalf("%+v: %d parts", tc.p, len(s.parts))
		}
		for _, threads := range []int{1, 2} {
			got := khPoison(len(want))
			s.Conv2D(tc.p, x, bias, tc.act, got, &Workspace{Pool: par.New(threads)})
			khClose(t, fmt.Sprintf("%+v threads=%d", tc.p, threads), got, want, 1e-4)
		}
	}
}
