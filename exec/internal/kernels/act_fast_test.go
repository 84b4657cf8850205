package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestActivationApplyFast checks ApplyFast, for every activation of the
// shared table, against the table's own float64 function (not against
// Apply): on the table's points, on random values over [-40, 40] in a
// slice whose length is not a multiple of the vector width, and on ±Inf
// and NaN against Apply. It runs once per kernel family the CPU has.
func TestActivationApplyFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := append([]float32(nil), actPoints...)
	for range 1037 {
		xs = append(xs, float32(rng.NormFloat64()*10))
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	special := []float32{nan, inf, -inf, 0, float32(math.Copysign(0, -1))}
	forEachFamily(t, func(fam string) {
		for _, tc := range actCases() {
			got := append([]float32(nil), xs...)
			tc.act.ApplyFast(got)
			for i, in := range xs {
				want := float32(tc.f(float64(in)))
				if !tuNear(got[i], want, 4e-6, 1e-7) {
					t.Fatalf("%s %s(%v) = %v, want %v", fam, tc.name, in, got[i], want)
				}
			}
			got = append([]float32(nil), special...)
			want := append([]float32(nil), special...)
			tc.act.ApplyFast(got)
			tc.act.Apply(want)
			for i := range got {
				if tc.act.Kind == ActSwish && special[i] == -inf {
					// x/(1+e^-x) with the exponent clamped at 88: -Inf,
					// where Apply's x·sigmoid(x) is -Inf·0 = NaN (the
					// limit is 0). Either is garbage in, garbage out.
					continue
				}
				if !tuNear(got[i], want[i], 4e-6, 1e-30) {
					t.Errorf("%s %s(%v) = %v, Apply gives %v", fam, tc.name, special[i], got[i], want[i])
				}
			}
		}
	})
}

// forEachFamily runs f once per vector kernel family this CPU can run:
// "go" (simdOff set) always, "avx512" where present.
func forEachFamily(t *testing.T, f func(fam string)) {
	saved := simdOff
	defer func() { simdOff = saved }()
	simdOff = true
	f("go")
	simdOff = false
	if simdAVX512() {
		f("avx512")
	} else {
		t.Log("AVX-512 kernels off (not on this CPU, or KCONV_CPU names another family): only the Go family tested")
	}
}
