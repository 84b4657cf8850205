package kernels

import (
	"math"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

func TestBNScaleShift(t *testing.T) {
	// gamma 2, beta 1, mean 3, var 4-eps: scale 1, shift -2.
	eps := float32(0.001)
	scale, shift := BNScaleShift([]float32{2, 1}, []float32{1, 0}, []float32{3, -1}, []float32{4 - eps, 0.25 - eps}, eps)
	tuClose(t, "scale", scale, []float32{1, 2}, 1e-6, 0)
	tuClose(t, "shift", shift, []float32{-2, 2}, 1e-6, 0)
	// nil gamma and beta: 1 and 0.
	scale, shift = BNScaleShift(nil, nil, []float32{1}, []float32{3}, 1)
	tuClose(t, "scale nil", scale, []float32{0.5}, 0, 0)
	tuClose(t, "shift nil", shift, []float32{-0.5}, 0, 0)
	// Against the unfolded formula on random data.
	const c = 37
	g, b, m := tuRand(1, c, 2), tuRand(2, c, 1), tuRand(3, c, 1)
	v := tuRand(4, c, 1)
	for i := range v {
		v[i] = v[i]*v[i] + 0.01
	}
	x := tuRand(5, 6*c, 4)
	scale, shift = BNScaleShift(g, b, m, v, 1e-3)
	got := append([]float32(nil), x...)
	ChannelAffine(got, c, scale, shift)
	want := make([]float32, len(x))
	for i, xv := range x {
		j := i % c
		want[i] = float32(float64(g[j])*(float64(xv)-float64(m[j]))/math.Sqrt(float64(v[j])+float64(float32(1e-3))) + float64(b[j]))
	}
	tuClose(t, "bn affine vs formula", got, want, 1e-5, 1e-5)
}

func TestChannelAffineFastVsRef(t *testing.T) {
	for i, dims := range [][2]int{{1, 1}, {10, 3}, {7, 64}, {100, 17}} {
		rows, c := dims[0], dims[1]
		x, s, b := tuRand(uint64(i), rows*c, 3), tuRand(uint64(i+10), c, 2), tuRand(uint64(i+20), c, 2)
		for _, v := range [][2][]float32{{s, b}, {s, nil}, {nil, b}, {nil, nil}} {
			want := RefChannelAffine(x, c, v[0], v[1])
			got := append([]float32(nil), x...)
			ChannelAffine(got, c, v[0], v[1])
			tuClose(t, tuName("affine %v nil scale %v nil shift %v", dims, v[0] == nil, v[1] == nil), got, want, 0, 0)
		}
	}
	x := []float32{1, 2, 3, 4}
	ChannelAffine(x, 2, []float32{10, -1}, []float32{0.5, 1})
	tuClose(t, "affine hand", x, []float32{10.5, -1, 30.5, -3}, 0, 0)
	tuClose(t, "affine ref hand", RefChannelAffine([]float32{1, 2, 3, 4}, 2, []float32{10, -1}, []float32{0.5, 1}), []float32{10.5, -1, 30.5, -3}, 0, 0)
}

func TestPReLUFastVsRef(t *testing.T) {
	cases := [][2][]int{
		{{2, 4, 4, 8}, {1}},          // shared
		{{2, 4, 4, 8}, {}},           // rank-0
		{{2, 4, 4, 8}, {8}},          // per channel (ONNX [C] / shared_axes)
		{{2, 4, 4, 8}, {1, 1, 8}},    // Keras shared_axes=[1,2]
		{{2, 4, 4, 8}, {4, 4, 8}},    // Keras default alpha H×W×C
		{{2, 4, 4, 8}, {4, 1, 8}},    // shared over W
		{{2, 4, 4, 8}, {2, 4, 4, 8}}, // full
		{{3, 5}, {1, 1, 5}},          // extra leading ones
	}
	for i, c := range cases {
		x := tuRand(uint64(500+i), shapeElems(c[0]), 2)
		alpha := tuRand(uint64(600+i), shapeElems(c[1]), 0.5)
		want := RefPReLU(x, c[0], alpha, c[1])
		got := append([]float32(nil), x...)
		PReLU(got, c[0], alpha, c[1])
		tuClose(t, tuName("prelu %v %v", c[0], c[1]), got, want, 0, 0)
	}
	// Hand: per channel alpha 0.1 and 2.
	x := []float32{-1, -1, 3, -4, 0, 0}
	want := []float32{-0.1, -2, 3, -8, 0, 0}
	tuClose(t, "prelu ref hand", RefPReLU(x, []int{3, 2}, []float32{0.1, 2}, []int{2}), want, 0, 0)
	PReLU(x, []int{3, 2}, []float32{0.1, 2}, []int{2})
	tuClose(t, "prelu hand", x, want, 0, 0)
	defer func() {
		if recover() == nil {
			t.Error("PReLU with alpha larger than x did not panic")
		}
	}()
	PReLU(make([]float32, 2), []int{2}, make([]float32, 4), []int{2, 2})
}

func TestLRNFastVsRef(t *testing.T) {
	type p struct {
		rows, c, size     int
		alpha, beta, bias float32
	}
	for i, tc := range []p{
		{10, 16, 5, 1e-4, 0.75, 1}, {3, 3, 5, 0.1, 0.75, 2}, {4, 64, 4, 0.01, 0.5, 1}, {2, 7, 1, 1, 1, 1},
		{50, 96, 5, 2e-4, 0.75, 2}, {1, 1, 3, 0.5, 0.75, 1},
	} {
		x := tuRand(uint64(700+i), tc.rows*tc.c, 3)
		want := RefLRN(x, tc.c, tc.size, tc.alpha, tc.beta, tc.bias)
		for _, th := range tuThreads {
			got := tuFill(len(x), tuPoison)
			LRN(got, x, tc.c, tc.size, tc.alpha, tc.beta, tc.bias, par.New(th))
			tuClose(t, tuName("lrn %+v threads %d", tc, th), got, want, 1e-5, 1e-7)
		}
	}
	// Hand: c=3, size=2 (window [i, i+1]), alpha=2 (alpha/size=1), beta=1,
	// bias=1: y0 = 1/(1+1+4), y1 = 2/(1+4+9), y2 = 3/(1+9).
	x := []float32{1, 2, 3}
	want := []float32{1. / 6, 2. / 14, 3. / 10}
	got := make([]float32, 3)
	LRN(got, x, 3, 2, 2, 1, 1, nil)
	tuClose(t, "lrn hand", got, want, 1e-6, 0)
	tuClose(t, "lrn ref hand", RefLRN(x, 3, 2, 2, 1, 1), want, 1e-6, 0)
	// size 3 is symmetric: y1 = 2/(1+ (1+4+9)/3*3)^1 with alpha=3.
	LRN(got, x, 3, 3, 3, 1, 1, nil)
	tuClose(t, "lrn hand size 3", got, []float32{1. / 6, 2. / 15, 3. / 14}, 1e-6, 0)
}

func TestReduceMeanFastVsRef(t *testing.T) {
	cases := []struct {
		shape, axes []int
	}{
		{[]int{2, 5, 6, 7}, []int{1, 2}}, // spatial (GAP)
		{[]int{2, 5, 6, 7}, []int{-1}},
		{[]int{2, 5, 6, 7}, []int{0}},
		{[]int{2, 5, 6, 7}, []int{0, 2}},
		{[]int{2, 5, 6, 7}, []int{1, 3}},
		{[]int{2, 5, 6, 7}, []int{0, 1, 2, 3}},
		{[]int{2, 5, 6, 7}, []int{}},
		{[]int{3, 1, 4}, []int{1}},
		{[]int{1, 14, 14, 200}, []int{1, 2}}, // tiles with a remainder
		{[]int{4, 3}, []int{0}},
		{[]int{0, 3}, []int{1}},
		{[]int{8, 33, 33, 16}, []int{1, 2}},
		{[]int{8, 33, 33, 16}, []int{3}},
	}
	for i, tc := range cases {
		x := tuRand(uint64(800+i), shapeElems(tc.shape), 2)
		want := RefReduceMean(x, tc.shape, tc.axes)
		if sh, err := ReduceShape(tc.shape, tc.axes, false); err != nil || shapeElems(sh) != len(want) {
			t.Fatalf("ReduceShape(%v, %v) = %v, %v", tc.shape, tc.axes, sh, err)
		}
		for _, th := range tuThreads {
			got := tuFill(len(want), tuPoison)
			ReduceMean(got, x, tc.shape, tc.axes, par.New(th))
			tuClose(t, tuName("reducemean %v %v threads %d", tc.shape, tc.axes, th), got, want, 1e-6, 1e-7)
		}
	}
	// Hand: 2x3 [[1,2,3],[4,5,6]].
	x := []float32{1, 2, 3, 4, 5, 6}
	for _, h := range []struct {
		axes []int
		want []float32
	}{{[]int{0}, []float32{2.5, 3.5, 4.5}}, {[]int{1}, []float32{2, 5}}, {[]int{0, -1}, []float32{3.5}}} {
		got := make([]float32, len(h.want))
		ReduceMean(got, x, []int{2, 3}, h.axes, nil)
		tuClose(t, tuName("reducemean hand %v", h.axes), got, h.want, 0, 0)
		tuClose(t, tuName("reducemean ref hand %v", h.axes), RefReduceMean(x, []int{2, 3}, h.axes), h.want, 0, 0)
	}
	got := make([]float32, 2)
	ReduceMean(got, nil, []int{2, 0}, []int{1}, nil)
	if !math.IsNaN(float64(got[0])) {
		t.Errorf("mean of nothing = %v, want NaN", got[0])
	}
	if sh, _ := ReduceShape([]int{2, 3, 4}, []int{-1, 0}, true); !shapeEqual(sh, []int{1, 3, 1}) {
		t.Errorf("ReduceShape keepdims = %v", sh)
	}
	if _, err := ReduceShape([]int{2, 3}, []int{1, -1}, true); err == nil {
		t.Error("repeated axis accepted")
	}
	if _, err := ReduceShape([]int{2, 3}, []int{2}, true); err == nil {
		t.Error("out of range axis accepted")
	}
}

// TestChannelAffineActVsRef checks the fused BN + activation against its
// reference for clamp and non-clamp activations, channel counts on and off
// the vector width, 1-3 workers, every kernel family and in place.
func TestChannelAffineActVsRef(t *testing.T) {
	acts := []Activation{{}, {Kind: ActReLU}, {Kind: ActReLU, HasMax: true, MaxValue: 6}, {Kind: ActSwish}, {Kind: ActELU, Alpha: 1}}
	forEachFamily(t, func(fam string) {
		for i, dims := range [][2]int{{1, 1}, {10, 3}, {7, 64}, {100, 17}, {3000, 48}} {
			rows, c := dims[0], dims[1]
			x, s, b := tuRand(uint64(i), rows*c, 3), tuRand(uint64(i+10), c, 2), tuRand(uint64(i+20), c, 2)
			for _, act := range acts {
				want := RefChannelAffineAct(x, c, s, b, act)
				for _, th := range []int{1, 2, 3} {
					got := tuFill(len(x), tuPoison)
					ChannelAffineAct(got, x, c, s, b, act, &Workspace{Pool: par.New(th)})
					tuClose(t, tuName("%s %v act %d threads %d", fam, dims, act.Kind, th), got, want, 1e-5, 1e-6)
				}
				inpl := append([]float32(nil), x...)
				ChannelAffineAct(inpl, inpl, c, s, b, act, &Workspace{Pool: par.New(2)})
				tuClose(t, tuName("%s %v act %d in place", fam, dims, act.Kind), inpl, want, 1e-5, 1e-6)
			}
		}
	})
}
