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
	// Name is Keras's name (see ActName and Activations); "" is linear.
	Name ActName
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
var Linear = Act{Name: ActLinear}

// IsLinear reports whether a is the identity.
func (a Act) IsLinear() bool { return a.Name == "" || a.Name == ActLinear }

// Check reports whether the activation is one kconv knows.
func (a Act) Check() error {
	if _, ok := a.Name.Info(); !ok {
		return fmt.Errorf("unknown activation %q", a.Name)
	}
	if (a.Name == ActSoftmax || a.Name == ActLogSoftmax) && a.Axis == 0 {
		// The zero value would normalize over the batch: never what a
		// Keras model means (its default is -1).
		return fmt.Errorf("%s over axis 0 (the batch); Keras's default is -1", a.Name)
	}
	return nil
}

func (a Act) String() string {
	if a.Name == "" {
		return string(ActLinear)
	}
	return string(a.Name)
}

// checkInputs verifies the input count of an op.
func checkInputs(in []TensorType, n int) error {
	if len(in) != n {
		return fmt.Errorf("expected %d input(s), got %d", n, len(in))
	}
	return nil
}
