package kernels

import (
	"math"
	"testing"
)

// actPoints are inputs every activation is checked on: both signs, zero,
// the hard-sigmoid/hard-swish knees, and large magnitudes.
var actPoints = []float32{-100, -30, -20, -6, -3, -2.5, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 2.5, 3, 6, 20, 21, 30, 100}

// actCase is one activation with an expected function, written here
// independently of activation.go (different but equivalent formulas), and
// literal hand values.
type actCase struct {
	name string
	act  Activation
	f    func(x float64) float64
	hand [][2]float32 // {x, f(x)} computed by hand / high precision
}

func actCases() []actCase {
	relu := func(x float64) float64 { return math.Max(x, 0) }
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	softplus := func(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
	clip := func(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }
	const (
		seluL = 1.0507009873554805
		seluA = 1.6732632423543772
	)
	return []actCase{
		{"linear", Activation{}, func(x float64) float64 { return x }, [][2]float32{{-2, -2}, {3.5, 3.5}}},
		{"relu", Activation{Kind: ActReLU}, relu, [][2]float32{{-1, 0}, {0, 0}, {2, 2}}},
		{"leaky relu", Activation{Kind: ActReLU, NegativeSlope: 0.1},
			func(x float64) float64 {
				if x < 0 {
					return float64(float32(0.1)) * x
				}
				return x
			}, [][2]float32{{-2, -0.2}, {3, 3}}},
		{"relu6", Activation{Kind: ActReLU, HasMax: true, MaxValue: 6},
			func(x float64) float64 { return clip(x, 0, 6) }, [][2]float32{{-1, 0}, {5, 5}, {6, 6}, {7, 6}}},
		{"relu max 0.5", Activation{Kind: ActReLU, HasMax: true, MaxValue: 0.5},
			func(x float64) float64 { return clip(x, 0, 0.5) }, [][2]float32{{0.25, 0.25}, {1, 0.5}}},
		{"thresholded relu", Activation{Kind: ActReLU, Threshold: 1.5},
			func(x float64) float64 {
				if x > 1.5 {
					return x
				}
				return 0
			}, [][2]float32{{-3, 0}, {1, 0}, {2, 2}}}, // the Keras docstring example
		{"relu slope+threshold+max", Activation{Kind: ActReLU, NegativeSlope: 0.5, Threshold: 1.25, HasMax: true, MaxValue: 10},
			func(x float64) float64 {
				switch {
				case x >= 10:
					return 10
				case x > 1.25:
					return x
				}
				return 0.5 * (x - 1.25)
			}, [][2]float32{{-10, -5.625}, {0, -0.625}, {5, 5}, {11, 10}}},
		{"sigmoid", Activation{Kind: ActSigmoid}, sig, [][2]float32{{0, 0.5}, {1, 0.7310585786300049}, {-1, 0.2689414213699951}}},
		{"tanh", Activation{Kind: ActTanh}, math.Tanh, [][2]float32{{0, 0}, {1, 0.7615941559557649}}},
		{"elu", Activation{Kind: ActELU, Alpha: 1},
			func(x float64) float64 {
				if x > 0 {
					return x
				}
				return math.Exp(x) - 1
			}, [][2]float32{{-1, -0.6321205588285577}, {2, 2}, {-100, -1}}},
		{"elu alpha 0.5", Activation{Kind: ActELU, Alpha: 0.5},
			func(x float64) float64 {
				if x > 0 {
					return x
				}
				return 0.5 * (math.Exp(x) - 1)
			}, [][2]float32{{-1, -0.31606027941427883}}},
		{"selu", Activation{Kind: ActSELU},
			func(x float64) float64 {
				if x > 0 {
					return seluL * x
				}
				return seluL * seluA * (math.Exp(x) - 1)
			}, [][2]float32{{1, 1.0507009873554805}, {-1, -1.1113307378125625}, {-100, -1.7580993408473766}}},
		{"softplus", Activation{Kind: ActSoftplus}, softplus,
			[][2]float32{{0, float32(math.Ln2)}, {1, 1.3132616875182228}, {30, 30}, {100, 100}, {-30, 9.357622968840175e-14}}},
		{"softsign", Activation{Kind: ActSoftsign}, func(x float64) float64 { return x / (1 + math.Abs(x)) },
			[][2]float32{{1, 0.5}, {-3, -0.75}}},
		{"hard sigmoid keras2", Activation{Kind: ActHardSigmoid, Alpha: 0.2, Beta: 0.5},
			func(x float64) float64 { return clip(float64(float32(0.2))*x+0.5, 0, 1) },
			[][2]float32{{0, 0.5}, {1, 0.7}, {-2.5, 0}, {2.5, 1}, {-3, 0}}},
		{"hard sigmoid keras3", Activation{Kind: ActHardSigmoid, Alpha: 1.0 / 6, Beta: 0.5},
			func(x float64) float64 { return clip(x+3, 0, 6) / 6 }, // relu6(x+3)/6
			[][2]float32{{0, 0.5}, {-3, 0}, {3, 1}, {1.5, 0.75}}},
		{"hard swish", Activation{Kind: ActHardSwish}, func(x float64) float64 { return x * clip(x+3, 0, 6) / 6 },
			[][2]float32{{-3, 0}, {3, 3}, {1, 2.0 / 3}, {-1, -1.0 / 3}}},
		{"swish", Activation{Kind: ActSwish}, func(x float64) float64 { return x * sig(x) },
			[][2]float32{{0, 0}, {1, 0.7310585786300049}}},
		{"gelu", Activation{Kind: ActGELU}, func(x float64) float64 { return x * 0.5 * math.Erfc(-x/math.Sqrt2) },
			[][2]float32{{1, 0.8413447460685429}, {-1, -0.15865525393145707}, {0, 0}}},
		{"gelu tanh", Activation{Kind: ActGELUTanh},
			func(x float64) float64 {
				return 0.5 * x * (1 + math.Tanh(0.7978845608028654*(x+0.044715*x*x*x)))
			}, [][2]float32{{1, 0.8411919906082768}, {0, 0}}},
		{"exponential", Activation{Kind: ActExponential}, math.Exp, [][2]float32{{0, 1}, {1, math.E}}},
		{"erf", Activation{Kind: ActErf}, math.Erf, [][2]float32{{0, 0}, {1, 0.8427007929497149}, {-2, -0.9953222650189527}}},
		{"clip", Activation{Kind: ActClip, Min: -1, Max: 2}, func(x float64) float64 { return clip(x, -1, 2) },
			[][2]float32{{-5, -1}, {0.5, 0.5}, {3, 2}}},
		{"mish", Activation{Kind: ActMish}, func(x float64) float64 { return x * math.Tanh(softplus(x)) },
			[][2]float32{{0, 0}, {1, 0.8650983882673103}, {-1, -0.30340146137410895}}},
	}
}

func TestActivationApply(t *testing.T) {
	seen := map[ActKind]bool{}
	for _, tc := range actCases() {
		seen[tc.act.Kind] = true
		x := append([]float32(nil), actPoints...)
		tc.act.Apply(x)
		for i, in := range actPoints {
			want := float32(tc.f(float64(in)))
			if !tuNear(x[i], want, 2e-6, 1e-30) {
				t.Errorf("%s(%v) = %v, want %v", tc.name, in, x[i], want)
			}
		}
		for _, h := range tc.hand {
			got := []float32{h[0]}
			tc.act.Apply(got)
			if !tuNear(got[0], h[1], 1e-6, 1e-30) {
				t.Errorf("%s(%v) = %v, want %v (hand)", tc.name, h[0], got[0], h[1])
			}
		}
	}
	for k := ActLinear; k <= ActMish; k++ {
		if !seen[k] {
			t.Errorf("ActKind %d has no test case", k)
		}
	}
	if !(Activation{}).IsLinear() || (Activation{Kind: ActReLU}).IsLinear() {
		t.Error("IsLinear wrong")
	}
}

func TestActivationSpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	// Saturation at the infinities and NaN propagation.
	for _, c := range []struct {
		act    Activation
		in     []float32
		expect []float32
	}{
		{Activation{Kind: ActSigmoid}, []float32{inf, -inf, nan}, []float32{1, 0, nan}},
		{Activation{Kind: ActTanh}, []float32{inf, -inf}, []float32{1, -1}},
		{Activation{Kind: ActSoftplus}, []float32{inf, -inf, 1e30}, []float32{inf, 0, 1e30}},
		{Activation{Kind: ActReLU}, []float32{inf, -inf, nan}, []float32{inf, 0, nan}},
		{Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}, []float32{inf, 7}, []float32{6, 6}},
		{Activation{Kind: ActELU, Alpha: 1}, []float32{-inf, inf}, []float32{-1, inf}},
		{Activation{Kind: ActExponential}, []float32{-inf, 100}, []float32{0, inf}},
		{Activation{Kind: ActHardSigmoid, Alpha: 0.2, Beta: 0.5}, []float32{inf, -inf}, []float32{1, 0}},
	} {
		got := append([]float32(nil), c.in...)
		c.act.Apply(got)
		for i := range got {
			if !tuNear(got[i], c.expect[i], 0, 0) {
				t.Errorf("kind %d (%v) = %v, want %v", c.act.Kind, c.in[i], got[i], c.expect[i])
			}
		}
	}
	(Activation{Kind: ActGELU}).Apply(nil) // empty input is fine
	defer func() {
		if recover() == nil {
			t.Error("unknown kind did not panic")
		}
	}()
	(Activation{Kind: ActErf + 1}).Apply([]float32{1})
}

// TestActivationReLUEdges pins generalized-ReLU edge cases against Keras's
// relu(x, negative_slope, max_value, threshold) = x*(x > threshold), clipped
// to [0, max_value], minus slope*relu(threshold-x):
//   - x == threshold (!= 0) gives 0, as ONNX ThresholdedRelu does;
//   - relu6(-Inf) is 0, not 0*(-Inf) = NaN;
//   - a negative threshold with max_value clips (threshold, 0) to 0.
func TestActivationReLUEdges(t *testing.T) {
	x := []float32{1, 1}
	(Activation{Kind: ActReLU, Threshold: 1}).Apply(x[:1])
	(Activation{Kind: ActReLU, Threshold: 1, NegativeSlope: 0.5}).Apply(x[1:])
	y := []float32{float32(math.Inf(-1))}
	(Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}).Apply(y)
	var bugs []string
	if x[0] != 0 || x[1] != 0 {
		bugs = append(bugs, tuName("relu at x == threshold gives %v, want [0 0]", x))
	}
	if y[0] != 0 {
		bugs = append(bugs, tuName("relu6(-Inf) = %v, want 0", y[0]))
	}
	z := []float32{-0.5}
	(Activation{Kind: ActReLU, Threshold: -1, HasMax: true, MaxValue: 6}).Apply(z)
	if z[0] != 0 {
		bugs = append(bugs, tuName("relu(-0.5, threshold -1, max 6) = %v, want 0", z[0]))
	}
	if len(bugs) > 0 {
		t.Fatal(bugs)
	}
}
