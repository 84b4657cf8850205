package kernels

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// TestChannelGatherVsRef: shuffles, halves of shuffles, plain slices and
// repeats, serial and on two workers, against RefChannelGather.
func TestChannelGatherVsRef(t *testing.T) {
	shuffle := func(c, g int) []int {
		idx := make([]int, c)
		for i := range c / g {
			for j := range g {
				idx[i*g+j] = j*(c/g) + i
			}
		}
		return idx
	}
	seq := func(a, b int) []int {
		var s []int
		for i := a; i < b; i++ {
			s = append(s, i)
		}
		return s
	}
	cases := []struct {
		pixels, c int
		idx       []int
	}{
		{7, 6, shuffle(6, 2)},
		{900, 116, shuffle(116, 2)[:58]},
		{900, 116, shuffle(116, 2)[58:]},
		{50, 12, shuffle(12, 3)},
		{4000, 64, seq(16, 48)},
		{33, 5, []int{4, 4, 0, 1, 2, 3, 3}},
		{0, 3, []int{1}},
	}
	for _, tc := range cases {
		x := tuRand(uint64(tc.c), tc.pixels*tc.c, 1)
		want := RefChannelGather(x, tc.pixels, tc.c, tc.idx)
		for _, th := range []int{1, 2} {
			got := make([]float32, len(want))
			ChannelGather(got, x, tc.pixels, tc.c, tc.idx, par.New(th))
			khClose(t, fmt.Sprintf("%d×%d idx %v… threads %d", tc.pixels, tc.c, tc.idx[:min(4, len(tc.idx))], th), got, want, 0)
		}
	}
}
