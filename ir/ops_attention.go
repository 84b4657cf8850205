package ir

import "fmt"

// Attention is Keras's dot-product Attention layer: inputs query (N, Tq,
// D), value (N, Tv, Dv) and optionally key (N, Tv, D; default value);
// output softmax(query·keyᵀ · scale) · value, (N, Tq, Dv). UseScale adds
// the trainable scalar weight "scale" (shape ()); without it the scores are
// not scaled. Masks and the causal mask are not part of the op.
type Attention struct{ UseScale bool }

func (*Attention) Kind() string { return "Attention" }
func (o *Attention) Infer(in []TensorType) (TensorType, error) {
	if len(in) != 2 && len(in) != 3 {
		return TensorType{}, fmt.Errorf("expected [query, value] or [query, value, key], got %d inputs", len(in))
	}
	q, v := in[0].Shape, in[1].Shape
	k := v
	if len(in) == 3 {
		k = in[2].Shape
	}
	if len(q) != 3 || len(v) != 3 || len(k) != 3 {
		return TensorType{}, fmt.Errorf("query %v, value %v and key %v must be (batch, steps, features)", q, v, k)
	}
	for _, d := range []int{q[1], q[2], v[1], v[2], k[1], k[2]} {
		if d < 1 {
			return TensorType{}, fmt.Errorf("query %v, value %v and key %v need known steps and features", q, v, k)
		}
	}
	if q[2] != k[2] || k[1] != v[1] {
		return TensorType{}, fmt.Errorf("query %v, key %v and value %v do not fit (query and key features, key and value steps must agree)", q, k, v)
	}
	return TensorType{Shape: Shape{q[0], q[1], v[2]}}, nil
}
func (o *Attention) Weights([]TensorType) []WeightSpec {
	if o.UseScale {
		return []WeightSpec{{Name: "scale", Shape: Shape{}, Trainable: true}}
	}
	return nil
}
