package kernels

import (
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// TestChannelOpVsRef checks ChannelOp against its reference, RefBinary on
// (n, hw, c) and (n or 1, 1, c), for every binary op, both operand orders,
// per-sample and shared operands, channel counts on and off the vector
// width, 1-3 workers, every kernel family and in place.
func TestChannelOpVsRef(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {1, 49, 16}, {2, 30, 24}, {3, 17, 7}, {1, 300, 144}, {2, 196, 40}}
	forEachFamily(t, func(fam string) {
		for si, s := range shapes {
			n, hw, c := s[0], s[1], s[2]
			for _, op := range eltwiseOps {
				for _, shared := range []bool{false, true} {
					for _, yFirst := range []bool{false, true} {
						yn, ystride := n, c
						if shared {
							yn, ystride = 1, 0
						}
						x, y := eltwiseOperands(op, uint64(si*16+int(op)), n*hw*c, yn*c)
						xs, ys := []int{n, hw, c}, []int{yn, 1, c}
						var want []float32
						if yFirst {
							want, _ = RefBinary(op, y, ys, x, xs)
						} else {
							want, _ = RefBinary(op, x, xs, y, ys)
						}
						for _, th := range []int{1, 2, 3} {
							got := tuFill(len(want), tuPoison)
							ChannelOp(op, got, x, n, hw, c, y, ystride, yFirst, &Workspace{Pool: par.New(th)})
							tuClose(t, tuName("%s %v %v shared=%v yFirst=%v threads %d", fam, op, s, shared, yFirst, th), got, want, 0, 0)
						}
						inpl := append([]float32(nil), x...)
						ChannelOp(op, inpl, inpl, n, hw, c, y, ystride, yFirst, &Workspace{Pool: par.New(2)})
						tuClose(t, tuName("%s %v %v in place", fam, op, s), inpl, want, 0, 0)
					}
				}
			}
		}
	})
}
