package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Test helpers shared by the pool/eltwise/softmax/norm/shape/act tests. The
// tu prefix keeps them clear of helpers other files of the package define.

// tuRand returns n pseudo-random values in [-scale, scale) from a fixed seed.
func tuRand(seed uint64, n int, scale float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x6b636f6e76))
	v := make([]float32, n)
	for i := range v {
		v[i] = (r.Float32()*2 - 1) * scale
	}
	return v
}

// tuNear reports whether got is within atol+rtol*|want| of want; NaNs match
// NaNs and infinities must match exactly.
func tuNear(got, want float32, rtol, atol float64) bool {
	g, w := float64(got), float64(want)
	if math.IsNaN(w) || math.IsNaN(g) {
		return math.IsNaN(w) && math.IsNaN(g)
	}
	if math.IsInf(w, 0) || math.IsInf(g, 0) {
		return g == w
	}
	return math.Abs(g-w) <= atol+rtol*math.Abs(w)
}

// tuClose fails t at the first element where got and want differ by more
// than the tolerance.
func tuClose(t testing.TB, what string, got, want []float32, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d elements, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !tuNear(got[i], want[i], rtol, atol) {
			t.Fatalf("%s: element %d = %v, want %v (|diff| %g)", what, i, got[i], want[i],
				math.Abs(float64(got[i])-float64(want[i])))
		}
	}
}

// tuFill returns n copies of v (used to pre-poison outputs so that a kernel
// that skips an element is caught).
func tuFill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// tuPoison is the value outputs are pre-filled with.
var tuPoison = float32(math.NaN())

// tuThreads are the thread counts every fast kernel is run with.
var tuThreads = []int{1, 2, 3, 8}

func tuName(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestTuCloseCanFail makes sure the comparison helper is not vacuous.
func TestTuCloseCanFail(t *testing.T) {
	if tuNear(1, 1.01, 1e-5, 1e-6) || !tuNear(1, 1.000001, 1e-5, 1e-6) {
		t.Fatal("tuNear tolerance wrong")
	}
	if tuNear(tuPoison, 0, 1, 1) || !tuNear(tuPoison, tuPoison, 0, 0) {
		t.Fatal("tuNear NaN handling wrong")
	}
	if tuNear(float32(math.Inf(1)), 1e30, 1, 1) {
		t.Fatal("tuNear Inf handling wrong")
	}
}
