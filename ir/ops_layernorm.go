package ir

import "fmt"

// LayerNormalization normalizes each sample over its trailing Axes (Keras
// LayerNormalization): y = (x − mean) / sqrt(var + Epsilon) · gamma + beta,
// var the population variance. Axes (negative: from the end) must be the
// last len(Axes) axes of the input, in order, the batch axis excluded. Weights:
// gamma (Scale) then beta (Center), each of the normalized axes' shape.
type LayerNormalization struct {
	Axes          []int
	Epsilon       float64
	Center, Scale bool
}

func (*LayerNormalization) Kind() string { return "LayerNormalization" }

// normShape returns the normalized axes' dims.
func (o *LayerNormalization) normShape(in []TensorType) (Shape, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	s := in[0].Shape
	r := len(s)
	if len(o.Axes) == 0 || len(o.Axes) >= r {
		return nil, fmt.Errorf("axes %v do not fit rank %d", o.Axes, r)
	}
	for i, a := range o.Axes {
		if a < 0 {
			a += r
		}
		if a != r-len(o.Axes)+i {
			return nil, fmt.Errorf("axes %v: only the trailing axes of a rank-%d input can be normalized", o.Axes, r)
		}
		if s[a] < 1 {
			return nil, fmt.Errorf("normalized axis %d of %v must have a known size", a, s)
		}
	}
	return s[r-len(o.Axes):].Clone(), nil
}

func (o *LayerNormalization) Infer(in []TensorType) (TensorType, error) {
	if _, err := o.normShape(in); err != nil {
		return TensorType{}, err
	}
	if o.Epsilon < 0 {
		return TensorType{}, fmt.Errorf("epsilon %g is negative", o.Epsilon)
	}
	return TensorType{Shape: in[0].Shape.Clone(), Layout: in[0].Layout}, nil
}

func (o *LayerNormalization) Weights(in []TensorType) []WeightSpec {
	s, err := o.normShape(in)
	if err != nil {
		return nil
	}
	var ws []WeightSpec
	if o.Scale {
		ws = append(ws, WeightSpec{Name: "gamma", Shape: s, Trainable: true})
	}
	if o.Center {
		ws = append(ws, WeightSpec{Name: "beta", Shape: s.Clone(), Trainable: true})
	}
	return ws
}
