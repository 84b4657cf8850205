package kernels

import (
	"github.com/kconv/kconv/exec/internal/par"
	"math"
	"testing"
)

func TestSoftmaxFastVsRef(t *testing.T) {
	cases := []struct {
		shape []int
		axis  int
	}{
		{[]int{1000}, 0}, {[]int{1, 1000}, -1}, {[]int{4, 10}, 1}, {[]int{4, 10}, 0},
		{[]int{2, 5, 5, 21}, -1}, {[]int{2, 5, 5, 21}, 3}, {[]int{2, 3, 4, 5}, 1}, {[]int{2, 3, 4, 5}, 2},
		{[]int{3, 7, 130}, 1}, {[]int{1}, 0}, {[]int{5, 1, 3}, 1}, {[]int{64, 512}, 1}, {[]int{0, 4}, 1},
		{[]int{2, 40, 70}, 1},
	}
	for i, tc := range cases {
		x := tuRand(uint64(200+i), shapeElems(tc.shape), 8)
		want, wantLog := RefSoftmax(x, tc.shape, tc.axis), RefLogSoftmax(x, tc.shape, tc.axis)
		for _, th := range tuThreads {
			got := tuFill(len(x), tuPoison)
			Softmax(got, x, tc.shape, tc.axis, par.New(th))
			tuClose(t, tuName("softmax %v axis %d threads %d", tc.shape, tc.axis, th), got, want, 1e-5, 1e-8)
			got = tuFill(len(x), tuPoison)
			LogSoftmax(got, x, tc.shape, tc.axis, par.New(th))
			tuClose(t, tuName("logsoftmax %v axis %d threads %d", tc.shape, tc.axis, th), got, wantLog, 1e-5, 1e-5)
			// In place.
			inpl := append([]float32(nil), x...)
			Softmax(inpl, inpl, tc.shape, tc.axis, par.New(th))
			tuClose(t, tuName("softmax in place %v", tc.shape), inpl, want, 1e-5, 1e-8)
			inpl = append(inpl[:0], x...)
			LogSoftmax(inpl, inpl, tc.shape, tc.axis, par.New(th))
			tuClose(t, tuName("logsoftmax in place %v", tc.shape), inpl, wantLog, 1e-5, 1e-5)
		}
	}
}

func TestSoftmaxHandValues(t *testing.T) {
	// softmax([1,2,3]) = e^k / (e+e^2+e^3).
	z := math.E + math.E*math.E + math.E*math.E*math.E
	s123 := []float32{float32(math.E / z), float32(math.E * math.E / z), float32(math.E * math.E * math.E / z)}
	l123 := []float32{float32(1 - math.Log(z)), float32(2 - math.Log(z)), float32(3 - math.Log(z))}
	type hand struct {
		x, soft, log []float32
		shape        []int
		axis         int
	}
	cases := []hand{
		{[]float32{1, 2, 3}, s123, l123, []int{3}, 0},
		// Large values: stable only if the max is subtracted.
		{[]float32{1000, 1000}, []float32{0.5, 0.5}, []float32{float32(-math.Ln2), float32(-math.Ln2)}, []int{1, 2}, 1},
		{[]float32{-1000, 0}, []float32{0, 1}, []float32{-1000, 0}, []int{2}, 0},
		// Axis 0 of a 3x2: columns [1,2,3] and [5,5,5].
		{[]float32{1, 5, 2, 5, 3, 5}, []float32{s123[0], 1. / 3, s123[1], 1. / 3, s123[2], 1. / 3},
			[]float32{l123[0], float32(-math.Log(3)), l123[1], float32(-math.Log(3)), l123[2], float32(-math.Log(3))}, []int{3, 2}, 0},
	}
	for i, tc := range cases {
		for _, ref := range []bool{true, false} {
			soft, log := make([]float32, len(tc.x)), make([]float32, len(tc.x))
			if ref {
				soft, log = RefSoftmax(tc.x, tc.shape, tc.axis), RefLogSoftmax(tc.x, tc.shape, tc.axis)
			} else {
				Softmax(soft, tc.x, tc.shape, tc.axis, nil)
				LogSoftmax(log, tc.x, tc.shape, tc.axis, nil)
			}
			tuClose(t, tuName("hand %d softmax ref=%v", i, ref), soft, tc.soft, 1e-6, 0)
			tuClose(t, tuName("hand %d logsoftmax ref=%v", i, ref), log, tc.log, 1e-6, 0)
		}
	}
}

func TestSoftmaxNoAlloc(t *testing.T) {
	shape := []int{2, 9, 100}
	x := tuRand(3, shapeElems(shape), 1)
	dst := make([]float32, len(x))
	if n := testing.AllocsPerRun(10, func() {
		Softmax(dst, x, shape, -1, nil)
		LogSoftmax(dst, x, shape, 1, nil)
	}); n != 0 {
		t.Errorf("serial softmax allocates %v times per call", n)
	}
}

func BenchmarkSoftmax1000(b *testing.B) {
	x, dst := tuRand(1, 1000, 5), make([]float32, 1000)
	shape := []int{1, 1000}
	for b.Loop() {
		Softmax(dst, x, shape, -1, nil)
	}
}

func BenchmarkSoftmaxAxis1NHWC(b *testing.B) {
	shape := []int{1, 56, 56, 64}
	x := tuRand(1, shapeElems(shape), 5)
	dst := make([]float32, len(x))
	for b.Loop() {
		Softmax(dst, x, shape, 1, nil)
	}
}

// TestSoftmaxSpecialRows: rows of 37 with -Inf entries (0 there), a NaN
// (NaN throughout, from the scalar loop), all -Inf (NaN) and a +Inf give
// the same as the scalar loop, on every kernel family; the vector path's
// other rows within 1e-6 of it.
func TestSoftmaxSpecialRows(t *testing.T) {
	n := 37
	x := tuRand(77, 5*n, 8)
	ninf, pinf := float32(math.Inf(-1)), float32(math.Inf(1))
	x[3], x[20] = ninf, ninf
	x[n+5] = float32(math.NaN())
	for i := 2 * n; i < 3*n; i++ {
		x[i] = ninf
	}
	x[3*n+9] = pinf
	shape := []int{5, n}
	saved := simdOff
	defer func() { simdOff = saved }()
	simdOff = true
	want := make([]float32, len(x))
	Softmax(want, x, shape, 1, nil)
	forEachFamily(t, func(fam string) {
		got := tuFill(len(x), tuPoison)
		Softmax(got, x, shape, 1, par.New(2))
		for i := range got {
			g, w := got[i], want[i]
			if math.IsNaN(float64(g)) != math.IsNaN(float64(w)) || !math.IsNaN(float64(w)) && math.Abs(float64(g-w)) > 1e-6*math.Abs(float64(w))+1e-12 {
				t.Fatalf("%s: softmax[%d] = %v, scalar %v", fam, i, g, w)
			}
		}
	})
	if want[3] != 0 || !math.IsNaN(float64(want[n])) || !math.IsNaN(float64(want[2*n])) {
		t.Errorf("scalar rows: %v %v %v", want[3], want[n], want[2*n])
	}
}
