package kernels

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

func BenchmarkXW5(b *testing.B) {
	for _, c := range []int{512} {
		for _, batch := range []int{1, 8} {
			p := ConvParams{N: batch, H: 7, W: 7, C: c, OutC: c, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
			const copies = 20
			var scs []*SmallConv
			var sps []*SplitConv
			for i := range copies {
				w := khRand(uint64(i+1), 9*c*c)
				scs = append(scs, NewSmallConvDirect(w, p))
				q := p.norm()
				q.N = 1
				cc := c / 2
				transposeBlocks(w, 9, 2, cc*c)
				s := &SplitConv{p: q}
				pc := q
				pc.C = cc
				n := 9 * cc * c
				for h := range 2 {
					s.parts = append(s.parts, NewSmallConvDirect(w[h*n:(h+1)*n], pc))
					s.c0 = append(s.c0, h*cc)
				}
				sps = append(sps, s)
			}
			x := khRand(99, batch*49*c)
			bias := khRand(98, c)
			y := make([]float32, batch*49*c)
			act := Activation{Kind: ActReLU}
			flops := 2 * float64(batch*9*49*c*c)
			pool := par.New(2)
			for r := 0; r < 2; r++ {
				b.Run(fmt.Sprintf("whole/b%d", batch), func(b *testing.B) {
					ws := &Workspace{Pool: pool}
					i := 0
					for b.Loop() {
						scs[i%copies].Conv2D(p, x, bias, act, y, ws)
						i++
					}
					b.ReportMetric(flops/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GFLOP/s")
				})
				b.Run(fmt.Sprintf("split2/b%d", batch), func(b *testing.B) {
					ws := &Workspace{Pool: pool}
					i := 0
					for b.Loop() {
						sps[i%copies].Conv2D(p, x, bias, act, y, ws)
						i++
					}
					b.ReportMetric(flops/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GFLOP/s")
				})
			}
		}
	}
}
