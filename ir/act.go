package ir

// ActName names an activation function by Keras's name for it. The
// constants below are every activation kconv implements; Activations
// describes each one (its Keras spellings, its ONNX op, its defaults), the
// one table importers and exporters translate through.
type ActName string

// Activations kconv implements.
const (
	ActLinear      ActName = "linear"
	ActReLU        ActName = "relu"
	ActSigmoid     ActName = "sigmoid"
	ActTanh        ActName = "tanh"
	ActSoftmax     ActName = "softmax"
	ActLogSoftmax  ActName = "log_softmax"
	ActELU         ActName = "elu"
	ActSELU        ActName = "selu"
	ActSoftplus    ActName = "softplus"
	ActSoftsign    ActName = "softsign"
	ActHardSigmoid ActName = "hard_sigmoid"
	ActHardSwish   ActName = "hard_swish"
	ActSwish       ActName = "swish"
	ActGELU        ActName = "gelu"
	ActReLU6       ActName = "relu6"
	ActLeakyReLU   ActName = "leaky_relu"
	ActExponential ActName = "exponential"
	ActMish        ActName = "mish"
	// ActErf is ONNX's Erf, which no Keras activation names (exported
	// GELUs use it).
	ActErf ActName = "erf"
)

// ActInfo is one row of the activation table.
type ActInfo struct {
	Name ActName
	// Keras lists the spellings Keras configs use for it: Name first,
	// then aliases (Keras 3's "silu", "hard_silu").
	Keras []string
	// ONNX is the ONNX op that computes it, its parameters as the op's
	// attributes; "" when ONNX has no such op (relu6 is a Clip, linear
	// nothing). Exporters still choose a composite where the opset lacks
	// the op or the parameters need one (relu with a threshold).
	ONNX string
	// Default is the activation a Keras config means by the bare name
	// (hard_sigmoid: Keras 1/2's slope 0.2; Keras 3 uses 1/6, see
	// KerasDefault).
	Default Act
	// Keras2Since is the first Keras 2 minor version whose configs know
	// the name (0: every one; -1: Keras 2 has none), for exporter/keras.
	Keras2Since int
	// Keras3 is the spelling Keras 3 writes ("": it has none).
	Keras3 string
}

// KerasDefault is the activation a Keras config of the given vintage
// means by the bare name: Default, but for Keras 3's hard_sigmoid
// (relu6(x+3)/6 = clip(x/6 + 1/2), slope 1/6 instead of Keras 1/2's 0.2).
func (a ActInfo) KerasDefault(keras3 bool) Act {
	d := a.Default
	if keras3 && d.Name == ActHardSigmoid {
		d.Alpha = 1.0 / 6
	}
	return d
}

// KerasName returns the name exporter/keras writes for the activation in
// a Keras 3 config (keras3) or a Keras 2.minor one, if that vintage has
// one.
func (a ActInfo) KerasName(keras3 bool, minor int) (string, bool) {
	if keras3 {
		return a.Keras3, a.Keras3 != ""
	}
	if a.Keras2Since < 0 || minor < a.Keras2Since || len(a.Keras) == 0 {
		return "", false
	}
	return a.Keras[0], true
}

// actTable: name, Keras spellings, ONNX op, default, first Keras 2 minor
// with the name (-1: none; swish 2.3, gelu 2.4, mish 2.13), Keras 3's name.
var actTable = [...]ActInfo{
	{ActLinear, []string{"linear"}, "", Act{Name: ActLinear}, 0, "linear"},
	{ActReLU, []string{"relu"}, "Relu", Act{Name: ActReLU}, 0, "relu"},
	{ActSigmoid, []string{"sigmoid"}, "Sigmoid", Act{Name: ActSigmoid}, 0, "sigmoid"},
	{ActTanh, []string{"tanh"}, "Tanh", Act{Name: ActTanh}, 0, "tanh"},
	{ActSoftmax, []string{"softmax"}, "Softmax", Act{Name: ActSoftmax, Axis: -1}, 0, "softmax"},
	{ActLogSoftmax, []string{"log_softmax"}, "LogSoftmax", Act{Name: ActLogSoftmax, Axis: -1}, -1, "log_softmax"},
	{ActELU, []string{"elu"}, "Elu", Act{Name: ActELU, Alpha: 1}, 0, "elu"},
	{ActSELU, []string{"selu"}, "Selu", Act{Name: ActSELU}, 0, "selu"},
	{ActSoftplus, []string{"softplus"}, "Softplus", Act{Name: ActSoftplus}, 0, "softplus"},
	{ActSoftsign, []string{"softsign"}, "Softsign", Act{Name: ActSoftsign}, 0, "softsign"},
	{ActHardSigmoid, []string{"hard_sigmoid"}, "HardSigmoid", Act{Name: ActHardSigmoid, Alpha: 0.2, Beta: 0.5}, 0, "hard_sigmoid"},
	{ActHardSwish, []string{"hard_swish", "hard_silu"}, "HardSwish", Act{Name: ActHardSwish}, -1, "hard_silu"},
	{ActSwish, []string{"swish", "silu"}, "Swish", Act{Name: ActSwish}, 3, "silu"},
	{ActGELU, []string{"gelu"}, "Gelu", Act{Name: ActGELU}, 4, "gelu"},
	{ActReLU6, []string{"relu6"}, "", Act{Name: ActReLU6}, -1, "relu6"},
	{ActLeakyReLU, []string{"leaky_relu"}, "LeakyRelu", Act{Name: ActLeakyReLU, Alpha: 0.2}, -1, "leaky_relu"},
	{ActExponential, []string{"exponential"}, "Exp", Act{Name: ActExponential}, 0, "exponential"},
	{ActMish, []string{"mish"}, "Mish", Act{Name: ActMish}, 13, "mish"},
	{ActErf, nil, "Erf", Act{Name: ActErf}, -1, ""},
}

// Activations returns the activation table, one row per ActName (callers
// must not modify the rows' Keras slices).
func Activations() []ActInfo { return append([]ActInfo(nil), actTable[:]...) }

// Info returns n's row of the activation table ("" is linear).
func (n ActName) Info() (ActInfo, bool) {
	if n == "" {
		n = ActLinear
	}
	for _, a := range actTable {
		if a.Name == n {
			return a, true
		}
	}
	return ActInfo{}, false
}

// LookupKerasAct finds the activation a Keras config names (any spelling).
func LookupKerasAct(name string) (ActInfo, bool) {
	for _, a := range actTable {
		for _, k := range a.Keras {
			if k == name {
				return a, true
			}
		}
	}
	return ActInfo{}, false
}

// LookupONNXAct finds the activation an ONNX op computes.
func LookupONNXAct(op string) (ActInfo, bool) {
	for _, a := range actTable {
		if a.ONNX != "" && a.ONNX == op {
			return a, true
		}
	}
	return ActInfo{}, false
}
