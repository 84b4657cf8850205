package kernels

import (
	"github.com/kconv/kconv/exec/internal/par"
	"math"
	"testing"
)

func TestUnaryFastVsRef(t *testing.T) {
	for op := UnarySqrt; op <= UnaryLog; op++ {
		for _, n := range []int{0, 1, 7, 100000} {
			x := tuRand(uint64(op)*31+uint64(n), n, 3)
			want := RefUnary(op, x)
			for _, th := range tuThreads {
				got := tuFill(n, tuPoison)
				Unary(op, got, x, par.New(th))
				tuClose(t, tuName("%v n=%d threads %d", op, n, th), got, want, 0, 0)
			}
			inpl := append([]float32(nil), x...)
			Unary(op, inpl, inpl, par.New(2))
			tuClose(t, tuName("%v n=%d in place", op, n), inpl, want, 0, 0)
		}
	}
}

func TestUnaryHandValues(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		op   UnaryOp
		x    []float32
		want []float32
	}{
		{UnarySqrt, []float32{4, 0, 2.25, -1}, []float32{2, 0, 1.5, nan}},
		{UnaryReciprocal, []float32{4, -0.5, 0}, []float32{0.25, -2, inf}},
		{UnaryNeg, []float32{1, -2, 0}, []float32{-1, 2, 0}},
		{UnaryAbs, []float32{-3, 2, 0}, []float32{3, 2, 0}},
		{UnaryLog, []float32{1, float32(math.E), 0, -1}, []float32{0, 1, -inf, nan}},
	}
	for _, c := range cases {
		for _, got := range [][]float32{RefUnary(c.op, c.x), func() []float32 { d := make([]float32, len(c.x)); Unary(c.op, d, c.x, par.New(2)); return d }()} {
			tuClose(t, c.op.String(), got, c.want, 1e-7, 1e-7)
		}
	}
}
