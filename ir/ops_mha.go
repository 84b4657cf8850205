package ir

import "fmt"

// MultiHeadAttention is Keras's MultiHeadAttention over the steps axis:
// inputs query (N, Tq, Dq), value (N, Tv, Dv) and optionally key (N, Tv,
// Dk; default value). Per head h: Q = query·Wq[:,h]+bq[h], K, V alike;
// weights softmax(Q·Kᵀ/sqrt(KeyDim)); output Σ_h (weights·V)·Wo[h] + bo, of
// OutputDim features (0: Dq). Weights, in Keras's order: query kernel
// (Dq, Heads, KeyDim) and bias (Heads, KeyDim), key kernel (Dk, Heads,
// KeyDim) and bias, value kernel (Dv, Heads, ValueDim) and bias, output
// kernel (Heads, ValueDim, OutputDim) and bias (OutputDim); biases only
// with UseBias.
type MultiHeadAttention struct {
	Heads, KeyDim, ValueDim int
	OutputDim               int
	UseBias                 bool
}

func (*MultiHeadAttention) Kind() string { return "MultiHeadAttention" }

// dims returns the feature sizes of query, value and key.
func (o *MultiHeadAttention) dims(in []TensorType) (dq, dv, dk int, err error) {
	if len(in) != 2 && len(in) != 3 {
		return 0, 0, 0, fmt.Errorf("expected query, value and optionally key, got %d inputs", len(in))
	}
	for _, t := range in {
		if len(t.Shape) != 3 || t.Shape[1] < 1 || t.Shape[2] < 1 {
			return 0, 0, 0, fmt.Errorf("input %v is not (batch, steps, features) with known steps and features", t.Shape)
		}
	}
	kt := in[1]
	if len(in) == 3 {
		kt = in[2]
	}
	if kt.Shape[1] != in[1].Shape[1] {
		return 0, 0, 0, fmt.Errorf("key %v and value %v have different steps", kt.Shape, in[1].Shape)
	}
	return in[0].Shape[2], in[1].Shape[2], kt.Shape[2], nil
}

func (o *MultiHeadAttention) outDim(dq int) int {
	if o.OutputDim > 0 {
		return o.OutputDim
	}
	return dq
}

func (o *MultiHeadAttention) Infer(in []TensorType) (TensorType, error) {
	if o.Heads < 1 || o.KeyDim < 1 || o.ValueDim < 1 {
		return TensorType{}, fmt.Errorf("num_heads %d, key_dim %d and value_dim %d must be positive", o.Heads, o.KeyDim, o.ValueDim)
	}
	dq, _, _, err := o.dims(in)
	if err != nil {
		return TensorType{}, err
	}
	return TensorType{Shape: Shape{in[0].Shape[0], in[0].Shape[1], o.outDim(dq)}}, nil
}

func (o *MultiHeadAttention) Weights(in []TensorType) []WeightSpec {
	dq, dv, dk, err := o.dims(in)
	if err != nil {
		return nil
	}
	h, k, v, do := o.Heads, o.KeyDim, o.ValueDim, o.outDim(dq)
	var ws []WeightSpec
	add := func(name string, kernel, bias Shape) {
		ws = append(ws, WeightSpec{Name: name + "_kernel", Shape: kernel, Trainable: true})
		if o.UseBias {
			ws = append(ws, WeightSpec{Name: name + "_bias", Shape: bias, Trainable: true})
		}
	}
	add("query", Shape{dq, h, k}, Shape{h, k})
	add("key", Shape{dk, h, k}, Shape{h, k})
	add("value", Shape{dv, h, v}, Shape{h, v})
	add("attention_output", Shape{h, v, do}, Shape{do})
	return ws
}
