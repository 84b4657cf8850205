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
	// (hard_sigmoid: Keras 1/2's slope 0.2; Keras 3 uses 1/6).
	Default Act
}

var actTable = [...]ActInfo{
	{ActLinear, []string{"linear"}, "", Act{Name: ActLinear}},
	{ActReLU, []string{"relu"}, "Relu", Act{Name: ActReLU}},
	{ActSigmoid, []string{"sigmoid"}, "Sigmoid", Act{Name: ActSigmoid}},
	{ActTanh, []string{"tanh"}, "Tanh", Act{Name: ActTanh}},
	{ActSoftmax, []string{"softmax"}, "Softmax", Act{Name: ActSoftmax, Axis: -1}},
	{ActLogSoftmax, []string{"log_softmax"}, "LogSoftmax", Act{Name: ActLogSoftmax, Axis: -1}},
	{ActELU, []string{"elu"}, "Elu", Act{Name: ActELU, Alpha: 1}},
	{ActSELU, []string{"selu"}, "Selu", Act{Name: ActSELU}},
	{ActSoftplus, []string{"softplus"}, "Softplus", Act{Name: ActSoftplus}},
	{ActSoftsign, []string{"softsign"}, "Softsign", Act{Name: ActSoftsign}},
	{ActHardSigmoid, []string{"hard_sigmoid"}, "HardSigmoid", Act{Name: ActHardSigmoid, Alpha: 0.2, Beta: 0.5}},
	{ActHardSwish, []string{"hard_swish", "hard_silu"}, "HardSwish", Act{Name: ActHardSwish}},
	{ActSwish, []string{"swish", "silu"}, "Swish", Act{Name: ActSwish}},
	{ActGELU, []string{"gelu"}, "Gelu", Act{Name: ActGELU}},
	{ActReLU6, []string{"relu6"}, "", Act{Name: ActReLU6}},
	{ActLeakyReLU, []string{"leaky_relu"}, "LeakyRelu", Act{Name: ActLeakyReLU, Alpha: 0.2}},
	{ActExponential, []string{"exponential"}, "Exp", Act{Name: ActExponential}},
	{ActMish, []string{"mish"}, "Mish", Act{Name: ActMish}},
	{ActErf, nil, "Erf", Act{Name: ActErf}},
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
