package exec_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
)

func runSeq(t *testing.T, m *ir.Model, x *ir.Tensor, keep ...string) (map[string]*ir.Tensor, error) {
	t.Helper()
	p, err := exec.Compile(m, exec.Options{Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	_, kept, err := p.RunNodes(context.Background(), []*ir.Tensor{x}, keep)
	return kept, err
}

// TestMaskingHand: Masking zeroes the masked steps, and the recurrent
// layers after it (the mask passing through a sequence-returning layer
// and a Dropout, as Keras propagates it) keep their state and repeat their
// last output there. Expected values are computed here from SimpleRNN's
// equation h = tanh(x·w + h·u + b).
func TestMaskingHand(t *testing.T) {
	b := ir.NewBuilder("masking")
	b.Input("x", ir.Shape{4, 1}, ir.LayoutNone)
	b.Add("mask", &ir.Masking{Value: 0})
	b.Add("rnn1", &ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 1, Activation: ir.Act{Name: "tanh"}, UseBias: true, ReturnSequences: true})
	b.Add("drop", &ir.Dropout{Rate: 0.5})
	b.Add("rnn2", &ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 1, Activation: ir.Act{Name: "tanh"}, UseBias: true, ReturnSequences: true})
	b.SetWeights("rnn1", []float32{0.8}, []float32{0.5}, []float32{0.1})
	b.SetWeights("rnn2", []float32{-1.2}, []float32{0.3}, []float32{0.2})
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	x := &ir.Tensor{Shape: ir.Shape{1, 4, 1}, Data: []float32{0.5, 0, -1, 0}}
	got, err := runSeq(t, m, x, "mask", "rnn1", "rnn2")
	if err != nil {
		t.Fatal(err)
	}
	keep := []bool{true, false, true, false}
	var h1, h2 float64
	var want1, want2 []float64
	for i, v := range x.Data {
		if keep[i] {
			h1n := math.Tanh(0.8*float64(v) + 0.5*h1 + 0.1)
			h2 = math.Tanh(-1.2*h1n + 0.3*h2 + 0.2)
			h1 = h1n
		}
		want1 = append(want1, h1)
		want2 = append(want2, h2)
	}
	for i := range keep {
		if got["mask"].Data[i] != x.Data[i] && keep[i] || !keep[i] && got["mask"].Data[i] != 0 {
			t.Errorf("mask step %d: %v", i, got["mask"].Data[i])
		}
		if math.Abs(float64(got["rnn1"].Data[i])-want1[i]) > 1e-6 || math.Abs(float64(got["rnn2"].Data[i])-want2[i]) > 1e-6 {
			t.Errorf("step %d: rnn1 %v rnn2 %v, want %v %v", i, got["rnn1"].Data[i], got["rnn2"].Data[i], want1[i], want2[i])
		}
	}
}

// TestMaskingKerasZeros: where Keras's masked RNN outputs zeros rather
// than the carried state (its previous output starts at zeros): at the
// masked steps before the first kept one of a layer given an initial
// state (whose state still carries the initial one), for a row with no
// kept step, and at every masked step of a Bidirectional layer returning
// sequences (Keras sets zero_output_for_mask on both of its layers).
// Expected values come from SimpleRNN's h = tanh(x·w + h·u + b).
func TestMaskingKerasZeros(t *testing.T) {
	cell := func(x, h float64) float64 { return math.Tanh(0.8*x + 0.5*h + 0.1) }
	x := &ir.Tensor{Shape: ir.Shape{2, 4, 1}, Data: []float32{0, 0.5, 0, -1, 0, 0, 0, 0}}
	keep := []bool{false, true, false, true}
	run := func(op *ir.Recurrent, initial bool, outputs ...string) map[string]*ir.Tensor {
		t.Helper()
		b := ir.NewBuilder("masking")
		ins := []string{b.Add("mask", &ir.Masking{Value: 0}, b.Input("x", ir.Shape{4, 1}, ir.LayoutNone))}
		inputs := []*ir.Tensor{x}
		if initial {
			ins = append(ins, b.Input("h0", ir.Shape{1}, ir.LayoutNone))
			inputs = append(inputs, &ir.Tensor{Shape: ir.Shape{2, 1}, Data: []float32{0.7, -0.4}})
		}
		b.Add("rnn", op, ins...)
		if op.ReturnState {
			b.Add("rnn:1", &ir.RecurrentState{Index: 1, Units: 1}, "rnn")
		}
		ws := [][]float32{{0.8}, {0.5}, {0.1}}
		if op.Bidirectional {
			ws = append(ws, ws...)
		}
		b.SetWeights("rnn", ws...)
		m, err := b.Build(outputs...)
		if err != nil {
			t.Fatal(err)
		}
		p, err := exec.Compile(m, exec.Options{Keep: outputs})
		if err != nil {
			t.Fatal(err)
		}
		_, kept, err := p.RunNodes(context.Background(), inputs, outputs)
		if err != nil {
			t.Fatal(err)
		}
		return kept
	}
	check := func(what string, got []float32, want []float64) {
		t.Helper()
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-6 {
				t.Errorf("%s: %v, want %v", what, got, want)
				return
			}
		}
	}
	simple := ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 1, Activation: ir.Act{Name: "tanh"}, UseBias: true}

	// An initial state, sequences and the final state: row 0 outputs 0 at
	// step 0, then the carried state; row 1 (all masked) zeros, and its
	// state stays the initial one.
	op := simple
	op.ReturnSequences, op.ReturnState = true, true
	got := run(&op, true, "rnn", "rnn:1")
	h := 0.7
	var want []float64
	seen := false
	for i, v := range x.Data[:4] {
		if keep[i] {
			h, seen = cell(float64(v), h), true
		}
		want = append(want, map[bool]float64{true: h, false: 0}[seen])
	}
	check("initial state, sequences", got["rnn"].Data, append(want, 0, 0, 0, 0))
	check("initial state, final state", got["rnn:1"].Data, []float64{h, -0.4})

	// The last output only: row 1 (all masked) outputs 0.
	op = simple
	got = run(&op, true, "rnn")
	check("initial state, last output", got["rnn"].Data, []float64{h, 0})

	// Bidirectional (concat) sequences: zeros at the masked steps.
	op = simple
	op.ReturnSequences, op.Bidirectional, op.Merge = true, true, "concat"
	got = run(&op, false, "rnn")
	fw, bw := make([]float64, 4), make([]float64, 4)
	h = 0
	for i := 0; i < 4; i++ {
		if keep[i] {
			h = cell(float64(x.Data[i]), h)
			fw[i] = h
		}
	}
	h = 0
	for i := 3; i >= 0; i-- {
		if keep[i] {
			h = cell(float64(x.Data[i]), h)
			bw[i] = h
		}
	}
	want = nil
	for i := range fw {
		want = append(want, fw[i], bw[i])
	}
	check("bidirectional sequences", got["rnn"].Data, append(want, make([]float64, 8)...))
}

// TestEmbeddingBadIndex: an index outside the table is a clean run-time
// error naming the layer.
func TestEmbeddingBadIndex(t *testing.T) {
	b := ir.NewBuilder("emb")
	b.Input("tokens", ir.Shape{3}, ir.LayoutNone)
	b.Add("embedding", &ir.Embedding{InputDim: 4, OutputDim: 2})
	b.SetWeights("embedding", []float32{0, 1, 2, 3, 4, 5, 6, 7})
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	got, err := runSeq(t, m, &ir.Tensor{Shape: ir.Shape{1, 3}, Data: []float32{3, 0, 1}}, "embedding")
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{6, 7, 0, 1, 2, 3}; !equalF(got["embedding"].Data, want) {
		t.Errorf("embedding %v, want %v", got["embedding"].Data, want)
	}
	for _, bad := range []float32{4, -1, 1.5} {
		_, err := runSeq(t, m, &ir.Tensor{Shape: ir.Shape{1, 3}, Data: []float32{0, bad, 1}}, "embedding")
		if err == nil || !strings.Contains(err.Error(), "embedding") || !strings.Contains(err.Error(), "input_dim") {
			t.Errorf("index %v: error %v, want one naming the layer and input_dim", bad, err)
		}
	}
}

func equalF(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
