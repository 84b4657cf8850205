package kernels

import (
	"github.com/kconv/kconv/exec/internal/par"
	"math"
	"testing"
)

var eltwiseShapePairs = [][2][]int{
	{{2, 3, 4}, {2, 3, 4}},          // equal
	{{1, 2, 3}, {2, 3}},             // equal modulo leading ones
	{{2, 3, 4}, {}},                 // rank-0 scalar
	{{1}, {2, 3, 4}},                // scalar left
	{{1, 1}, {5}},                   // scalar of higher rank
	{{2, 3, 4}, {4}},                // last-axis vector
	{{2, 3, 4}, {1, 1, 4}},          // last-axis vector, rank 3
	{{1, 4}, {3, 5, 4}},             // vector left
	{{2, 1, 4}, {3, 1}},             // both broadcast
	{{2, 3, 4, 5}, {3, 1, 5}},       // middle broadcast
	{{1, 3, 1}, {2, 1, 4}},          // outer product style
	{{4, 1}, {1, 6}},                // 2-D outer product
	{{2, 3, 1}, {2, 3, 7}},          // last axis broadcast (stride 0 inner)
	{{0, 3}, {3}},                   // empty
	{{2, 0, 3}, {2, 1, 3}},          // empty, general path
	{{4, 64, 64, 8}, {1, 64, 1, 8}}, // big enough to split
	{{8, 100, 100}, {8, 100, 100}},  // big, equal
	{{3, 1, 1, 2}, {1, 5, 4, 1}},
}

var eltwiseOps = []BinaryOp{OpAdd, OpSub, OpMul, OpDiv, OpMax, OpMin, OpPow}

// eltwiseOperands returns operands for op; Pow gets positive bases so that
// fractional exponents are defined.
func eltwiseOperands(op BinaryOp, seed uint64, an, bn int) ([]float32, []float32) {
	a, b := tuRand(seed, an, 3), tuRand(seed+1000, bn, 3)
	if op == OpPow {
		for i := range a {
			a[i] = float32(math.Abs(float64(a[i]))) + 0.1
		}
	}
	return a, b
}

func TestBinaryFastVsRef(t *testing.T) {
	for pi, sp := range eltwiseShapePairs {
		for _, op := range eltwiseOps {
			for _, swap := range []bool{false, true} {
				as, bs := sp[0], sp[1]
				if swap {
					as, bs = bs, as
				}
				a, b := eltwiseOperands(op, uint64(pi*16+int(op)), shapeElems(as), shapeElems(bs))
				want, outShape := RefBinary(op, a, as, b, bs)
				for _, th := range tuThreads {
					got := tuFill(len(want), tuPoison)
					Binary(op, got, a, as, b, bs, par.New(th))
					// Same scalar operation per element: results must be identical.
					tuClose(t, tuName("%v %v %v threads %d", op, as, bs, th), got, want, 0, 0)
				}
				// In place into whichever operand has the output shape.
				if shapeSameModOnes(as, outShape) {
					inpl := append([]float32(nil), a...)
					Binary(op, inpl, inpl, as, b, bs, par.New(2))
					tuClose(t, tuName("%v %v %v in place a", op, as, bs), inpl, want, 0, 0)
				}
				if shapeSameModOnes(bs, outShape) {
					inpl := append([]float32(nil), b...)
					Binary(op, inpl, a, as, inpl, bs, par.New(2))
					tuClose(t, tuName("%v %v %v in place b", op, as, bs), inpl, want, 0, 0)
				}
			}
		}
	}
}

func TestBinaryHandValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		op     BinaryOp
		a      []float32
		as     []int
		b      []float32
		bs     []int
		want   []float32
		wantSh []int
	}{
		{OpAdd, []float32{1, 2}, []int{2, 1}, []float32{10, 20, 30}, []int{3}, []float32{11, 21, 31, 12, 22, 32}, []int{2, 3}},
		{OpSub, []float32{5}, []int{}, []float32{1, 2, 3}, []int{3}, []float32{4, 3, 2}, []int{3}},
		{OpMul, []float32{1, 2, 3, 4, 5, 6}, []int{2, 3}, []float32{2, 0, -1}, []int{1, 3}, []float32{2, 0, -3, 8, 0, -6}, []int{2, 3}},
		{OpDiv, []float32{1, -1, 6}, []int{3}, []float32{0, 0, 4}, []int{3}, []float32{inf, -inf, 1.5}, []int{3}},
		{OpMax, []float32{1, nan, 3}, []int{3}, []float32{2, 0, nan}, []int{3}, []float32{2, nan, nan}, []int{3}},
		{OpMin, []float32{1, nan, 3}, []int{3}, []float32{2, 0, nan}, []int{3}, []float32{1, nan, nan}, []int{3}},
		{OpPow, []float32{2, 4, 9}, []int{3}, []float32{3, 0.5, 0}, []int{3}, []float32{8, 2, 1}, []int{3}},
		{OpPow, []float32{-3, 1.5}, []int{2}, []float32{2}, []int{1}, []float32{9, 2.25}, []int{2}},
		{OpAdd, []float32{1, 2, 3, 4}, []int{2, 1, 2}, []float32{10, 20}, []int{2, 1}, []float32{11, 12, 21, 22, 13, 14, 23, 24}, []int{2, 2, 2}},
	}
	for i, tc := range cases {
		ref, sh := RefBinary(tc.op, tc.a, tc.as, tc.b, tc.bs)
		if !shapeEqual(sh, tc.wantSh) {
			t.Errorf("case %d: shape %v want %v", i, sh, tc.wantSh)
		}
		tuClose(t, tuName("hand %d ref", i), ref, tc.want, 0, 0)
		got := make([]float32, len(tc.want))
		Binary(tc.op, got, tc.a, tc.as, tc.b, tc.bs, nil)
		tuClose(t, tuName("hand %d fast", i), got, tc.want, 0, 0)
	}
}

func TestBroadcastShape(t *testing.T) {
	got, err := BroadcastShape([]int{8, 1, 6, 1}, []int{7, 1, 5}, []int{})
	if err != nil || !shapeEqual(got, []int{8, 7, 6, 5}) {
		t.Errorf("BroadcastShape = %v, %v", got, err)
	}
	if got, err := BroadcastShape([]int{0, 3}, []int{1, 3}); err != nil || !shapeEqual(got, []int{0, 3}) {
		t.Errorf("BroadcastShape with 0 = %v, %v", got, err)
	}
	for _, bad := range [][2][]int{{{2, 3}, {3, 2}}, {{0}, {2}}, {{4}, {1, 3}}} {
		if _, err := BroadcastShape(bad[0], bad[1]); err == nil {
			t.Errorf("BroadcastShape(%v, %v) succeeded", bad[0], bad[1])
		}
	}
}

func TestBroadcastTo(t *testing.T) {
	for i, c := range [][2][]int{{{3}, {2, 3}}, {{2, 1}, {2, 5}}, {{1}, {4, 4}}, {{2, 1, 3}, {1, 2, 4, 3}}, {{2, 3}, {2, 3}}, {{1, 1, 1}, {2, 2}}} {
		x := tuRand(uint64(300+i), shapeElems(c[0]), 1)
		want := RefBroadcastTo(x, c[0], c[1])
		for _, th := range tuThreads {
			got := tuFill(len(want), tuPoison)
			BroadcastTo(got, c[1], x, c[0], par.New(th))
			tuClose(t, tuName("broadcast %v -> %v", c[0], c[1]), got, want, 0, 0)
		}
	}
	tuClose(t, "broadcast hand", RefBroadcastTo([]float32{1, 2}, []int{2, 1}, []int{2, 3}), []float32{1, 1, 1, 2, 2, 2}, 0, 0)
}

func TestNaryFastVsRef(t *testing.T) {
	cases := [][][]int{
		{{2, 3, 4}},
		{{2, 3, 4}, {2, 3, 4}},
		{{2, 3, 4}, {2, 3, 4}, {1, 2, 3, 4}, {2, 3, 4}},
		{{2, 3, 4}, {4}, {3, 1}},
		{{4}, {3, 1}, {2, 1, 1}}, // output larger than the first two
		{{10, 100, 64}, {10, 100, 64}, {10, 100, 64}},
		{{1}, {5, 5}},
	}
	type nary struct {
		name string
		fn   func(dst []float32, in [][]float32, sh [][]int, pl *par.Pool)
		op   BinaryOp
		mean bool
	}
	funcs := []nary{{"sum", SumN, OpAdd, false}, {"prod", ProdN, OpMul, false}, {"max", MaxN, OpMax, false}, {"min", MinN, OpMin, false}, {"mean", MeanN, OpAdd, true}}
	for ci, shapes := range cases {
		inputs := make([][]float32, len(shapes))
		for k, s := range shapes {
			inputs[k] = tuRand(uint64(400+ci*10+k), shapeElems(s), 2)
		}
		for _, f := range funcs {
			var want []float32
			if f.mean {
				want, _ = RefMeanN(inputs, shapes)
			} else {
				want, _ = RefNary(f.op, inputs, shapes)
			}
			for _, th := range tuThreads {
				got := tuFill(len(want), tuPoison)
				f.fn(got, inputs, shapes, par.New(th))
				tuClose(t, tuName("%s %v threads %d", f.name, shapes, th), got, want, 0, 0)
			}
		}
	}
}

func TestNaryHandValues(t *testing.T) {
	in := [][]float32{{1, 2}, {3, 4}, {5, 9}}
	sh := [][]int{{2}, {2}, {2}}
	check := func(name string, fast func([]float32, [][]float32, [][]int, *par.Pool), ref []float32, want []float32) {
		t.Helper()
		tuClose(t, name+" ref", ref, want, 0, 0)
		got := make([]float32, len(want))
		fast(got, in, sh, nil)
		tuClose(t, name+" fast", got, want, 0, 0)
	}
	r, _ := RefMeanN(in, sh)
	check("mean", MeanN, r, []float32{3, 5})
	r, _ = RefNary(OpAdd, in, sh)
	check("sum", SumN, r, []float32{9, 15})
	r, _ = RefNary(OpMul, in, sh)
	check("prod", ProdN, r, []float32{15, 72})
	r, _ = RefNary(OpMax, in, sh)
	check("max", MaxN, r, []float32{5, 9})
	r, _ = RefNary(OpMin, in, sh)
	check("min", MinN, r, []float32{1, 2})
	// Broadcast: a column and a row.
	got := make([]float32, 4)
	MaxN(got, [][]float32{{1, 5}, {3, 4}}, [][]int{{2, 1}, {1, 2}}, nil)
	tuClose(t, "max broadcast", got, []float32{3, 4, 5, 5}, 0, 0)
}

func TestBinaryNoAlloc(t *testing.T) {
	a, b, v := tuRand(1, 4096, 1), tuRand(2, 4096, 1), tuRand(3, 64, 1)
	dst := make([]float32, 4096)
	sh, vs, ss := []int{64, 64}, []int{64}, []int{}
	if n := testing.AllocsPerRun(10, func() {
		Binary(OpAdd, dst, a, sh, b, sh, nil)
		Binary(OpMul, dst, a, sh, v[:1], ss, nil)
		Binary(OpSub, dst, v[:1], ss, a, sh, nil)
		Binary(OpMax, dst, a, sh, v, vs, nil)
		Binary(OpDiv, dst, v, vs, a, sh, nil)
		SumN(dst, [][]float32{a, b}, [][]int{sh, sh}, nil)
	}); n != 0 {
		t.Errorf("serial fast paths allocate %v times per call", n)
	}
}

func TestBinaryPanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("incompatible", func() {
		Binary(OpAdd, make([]float32, 6), make([]float32, 6), []int{2, 3}, make([]float32, 2), []int{2}, nil)
	})
	mustPanic("dst length", func() {
		Binary(OpAdd, make([]float32, 5), make([]float32, 6), []int{2, 3}, make([]float32, 3), []int{3}, nil)
	})
	mustPanic("a length", func() {
		Binary(OpAdd, make([]float32, 6), make([]float32, 5), []int{2, 3}, make([]float32, 3), []int{3}, nil)
	})
	mustPanic("unknown op", func() { BinaryOp(200).Eval(1, 2) })
}

func BenchmarkBinaryAddEqual(b *testing.B) {
	x, y := tuRand(1, 112*112*64, 1), tuRand(2, 112*112*64, 1)
	dst, sh := make([]float32, len(x)), []int{1, 112, 112, 64}
	for b.Loop() {
		Binary(OpAdd, dst, x, sh, y, sh, nil)
	}
}

func BenchmarkBinaryMulChannel(b *testing.B) {
	x, y := tuRand(1, 112*112*64, 1), tuRand(2, 64, 1)
	dst, sh := make([]float32, len(x)), []int{1, 112, 112, 64}
	for b.Loop() {
		Binary(OpMul, dst, x, sh, y, []int{1, 1, 1, 64}, nil)
	}
}
