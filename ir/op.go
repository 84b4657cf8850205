package ir

import "fmt"

// Op is what a node computes. Each op type is defined once, here in package
// ir: its attributes are its struct fields, Infer is its output-shape rule and
// Weights its parameter rule.
type Op interface {
	// Kind is the op's canonical name, Keras's class name where there is
	// one (e.g. "Conv2D", "MaxPooling2D", "Add").
	Kind() string
	// Infer returns the output type for the given input types, or an error
	// saying why the inputs are unacceptable.
	Infer(in []TensorType) (TensorType, error)
	// Weights lists the weights the op expects for the given input types,
	// in Keras's order, with their canonical shapes.
	Weights(in []TensorType) []WeightSpec
}

// Act is an activation function as Keras names it, with its parameters.
type Act struct {
	// Name is Keras's name: linear, relu, sigmoid, tanh, softmax,
	// log_softmax, elu, selu, softplus, softsign, hard_sigmoid, hard_swish,
	// swish (silu), gelu, relu6, leaky_relu, exponential, mish.
	Name string
	// Alpha is ELU's alpha, the leaky slope of leaky_relu and ReLU, and
	// hard_sigmoid's slope (0.2 in Keras 1/2, 1/6 in Keras 3).
	Alpha float64
	// Beta is hard_sigmoid's offset (0.5).
	Beta float64
	// MaxValue clips ReLU from above when HasMax.
	MaxValue float64
	HasMax   bool
	// Threshold is ReLU's threshold (values below it use the slope Alpha).
	Threshold float64
	// Axis is softmax's axis (-1: last; 0, the batch axis, is refused).
	Axis int
	// Approximate selects gelu's tanh approximation.
	Approximate bool
}

// Linear is the identity activation.
var Linear = Act{Name: "linear"}

// IsLinear reports whether a is the identity.
func (a Act) IsLinear() bool { return a.Name == "" || a.Name == "linear" }

// knownActs lists the activation names kconv implements.
var knownActs = map[string]bool{
	"": true, "linear": true, "relu": true, "sigmoid": true, "tanh": true, "softmax": true,
	"log_softmax": true, "elu": true, "selu": true, "softplus": true, "softsign": true,
	"hard_sigmoid": true, "hard_swish": true, "swish": true, "gelu": true, "relu6": true,
	"leaky_relu": true, "exponential": true, "mish": true,
	"erf": true, // ONNX's Erf (no Keras activation: exported GELUs use it)
}

// Check reports whether the activation is one kconv knows.
func (a Act) Check() error {
	if !knownActs[a.Name] {
		return fmt.Errorf("unknown activation %q", a.Name)
	}
	if (a.Name == "softmax" || a.Name == "log_softmax") && a.Axis == 0 {
		// The zero value would normalize over the batch: never what a
		// Keras model means (its default is -1).
		return fmt.Errorf("%s over axis 0 (the batch); Keras's default is -1", a.Name)
	}
	return nil
}

func (a Act) String() string {
	if a.Name == "" {
		return "linear"
	}
	return a.Name
}

// checkInputs verifies the input count of an op.
func checkInputs(in []TensorType, n int) error {
	if len(in) != n {
		return fmt.Errorf("expected %d input(s), got %d", n, len(in))
	}
	return nil
}
