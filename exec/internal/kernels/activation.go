package kernels

import "math"

// ActKind names an element-wise activation function.
type ActKind uint8

// The element-wise activations. Softmax and LogSoftmax are not element-wise
// and live in their own kernels.
const (
	ActLinear      ActKind = iota // x
	ActReLU                       // generalized ReLU: NegativeSlope, MaxValue, Threshold (Keras ReLU layer)
	ActSigmoid                    // 1/(1+e^-x)
	ActTanh                       // tanh(x)
	ActELU                        // x if x>0 else Alpha*(e^x-1)
	ActSELU                       // scale*elu(x, alpha) with Keras's constants
	ActSoftplus                   // log(1+e^x)
	ActSoftsign                   // x/(1+|x|)
	ActHardSigmoid                // clip(Alpha*x+Beta, 0, 1)
	ActHardSwish                  // x*clip(x/6+1/2, 0, 1)
	ActSwish                      // x*sigmoid(x) (silu)
	ActGELU                       // exact: x*Φ(x)
	ActGELUTanh                   // tanh approximation of gelu
	ActExponential                // e^x
	ActClip                       // clip(x, Min, Max)
	ActMish                       // x*tanh(softplus(x))
	ActErf                        // erf(x) (ONNX Erf: exported GELUs)
)

// Activation is an element-wise function with its parameters. The zero value
// is the identity. For ActReLU, MaxValue <= 0 with HasMax false means no
// upper clip.
type Activation struct {
	Kind          ActKind
	Alpha, Beta   float32 // ELU alpha; hard-sigmoid slope and offset
	NegativeSlope float32 // ReLU: slope below Threshold (LeakyReLU alpha)
	Threshold     float32 // ReLU: values below it use NegativeSlope
	MaxValue      float32 // ReLU: upper clip when HasMax
	HasMax        bool
	Min, Max      float32 // ActClip bounds
}

// IsLinear reports whether a is the identity.
func (a Activation) IsLinear() bool { return a.Kind == ActLinear }

const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

// Apply applies a to x in place.
func (a Activation) Apply(x []float32) {
	switch a.Kind {
	case ActLinear:
	case ActReLU:
		if a.NegativeSlope == 0 && a.Threshold == 0 && !a.HasMax {
			for i, v := range x {
				if v < 0 {
					x[i] = 0
				}
			}
			return
		}
		// Keras's relu(x, negative_slope, max_value, threshold): the positive
		// part is x where x > threshold (relu(x) when threshold is 0),
		// clipped to [0, max_value]; below the threshold the slope applies.
		for i, v := range x {
			pos := v
			if a.Threshold != 0 {
				if !(v > a.Threshold) {
					pos = 0
				}
			} else if pos < 0 {
				pos = 0
			}
			if a.HasMax {
				pos = clamp(pos, 0, a.MaxValue)
			}
			if a.NegativeSlope != 0 && v < a.Threshold {
				pos += a.NegativeSlope * (v - a.Threshold)
			}
			x[i] = pos
		}
	case ActSigmoid:
		for i, v := range x {
			x[i] = sigmoid(v)
		}
	case ActTanh:
		for i, v := range x {
			x[i] = float32(math.Tanh(float64(v)))
		}
	case ActELU:
		for i, v := range x {
			if v <= 0 {
				x[i] = a.Alpha * float32(math.Expm1(float64(v)))
			}
		}
	case ActSELU:
		for i, v := range x {
			if v > 0 {
				x[i] = float32(seluScale * float64(v))
			} else {
				x[i] = float32(seluScale * seluAlpha * math.Expm1(float64(v)))
			}
		}
	case ActSoftplus:
		for i, v := range x {
			x[i] = softplus(v)
		}
	case ActSoftsign:
		for i, v := range x {
			x[i] = v / (1 + float32(math.Abs(float64(v))))
		}
	case ActHardSigmoid:
		for i, v := range x {
			x[i] = clamp(a.Alpha*v+a.Beta, 0, 1)
		}
	case ActHardSwish:
		for i, v := range x {
			x[i] = v * clamp(v/6+0.5, 0, 1)
		}
	case ActSwish:
		for i, v := range x {
			x[i] = v * sigmoid(v)
		}
	case ActGELU:
		for i, v := range x {
			x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	case ActGELUTanh:
		for i, v := range x {
			f := float64(v)
			x[i] = float32(0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f))))
		}
	case ActExponential:
		for i, v := range x {
			x[i] = float32(math.Exp(float64(v)))
		}
	case ActErf:
		for i, v := range x {
			x[i] = float32(math.Erf(float64(v)))
		}
	case ActClip:
		// ONNX: min(max(x, Min), Max), so Max wins when Min > Max.
		for i, v := range x {
			x[i] = min(max(v, a.Min), a.Max)
		}
	case ActMish:
		for i, v := range x {
			x[i] = v * float32(math.Tanh(float64(softplus(v))))
		}
	default:
		panic("kernels: unknown activation")
	}
}

func sigmoid(v float32) float32 {
	if v >= 0 {
		return float32(1 / (1 + math.Exp(-float64(v))))
	}
	e := math.Exp(float64(v))
	return float32(e / (1 + e))
}

func softplus(v float32) float32 {
	f := float64(v)
	if f > 20 {
		return v
	}
	return float32(math.Log1p(math.Exp(f)))
}

func clamp(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
