package onnx_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	onnxexport "github.com/kconv/kconv/exporter/onnx"
	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

// maskRows are the masked steps of each batch row of the masking tests'
// inputs, over the given steps (at least 5): none, leading, trailing, in
// the middle, all, here and there, all but one.
func maskRows(steps int) [][]int {
	all, allBut := []int{}, []int{}
	for s := 0; s < steps; s++ {
		all = append(all, s)
		if s != 3 {
			allBut = append(allBut, s)
		}
	}
	return [][]int{{}, {0, 1}, {steps - 2, steps - 1}, {2, 3}, all, {0, 2, steps - 1}, allBut}
}

// maskedInput is a seeded (len(maskRows), steps, features) input whose
// masked steps have every feature mv; one kept step has all features but
// one equal to mv (kept: not all equal).
func maskedInput(m *ir.Model, steps int, seed uint64, mv float32) *ir.Tensor {
	rows := maskRows(steps)
	x := randomInput(m, len(rows), seed, -1, 1)
	if x.Shape[1] != steps {
		panic("maskedInput: steps")
	}
	f := x.Shape[2]
	for r, masked := range rows {
		for _, s := range masked {
			row := x.Data[(r*steps+s)*f : (r*steps+s+1)*f]
			for i := range row {
				row[i] = mv
			}
		}
	}
	near := x.Data[(0*steps+1)*f : (0*steps+2)*f] // row 0 (none masked), step 1
	for i := 1; i < f; i++ {
		near[i] = mv
	}
	return x
}

var maskedRecurrents = []struct {
	name string
	ops  []ir.Op
}{
	{"lstm_last", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 5, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true}}},
	{"lstm_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true}}},
	{"lstm_backwards_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true, GoBackwards: true}}},
	{"lstm_backwards_last", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, GoBackwards: true}}},
	{"gru_reset_before_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, ReturnSequences: true}}},
	{"gru_reset_before_last", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true}}},
	{"gru_reset_after_last", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true}}},
	{"gru_reset_after_backwards_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 2, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true, GoBackwards: true, ReturnSequences: true}}},
	{"simple_rnn_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 4, Activation: tanh, UseBias: true, ReturnSequences: true}}},
	{"simple_rnn_last", []ir.Op{&ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 4, Activation: reluAct, UseBias: true}}},
	{"bi_lstm_concat_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "concat"}}},
	{"bi_lstm_concat_last", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, Bidirectional: true, Merge: "concat"}}},
	{"bi_gru_sum_last", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true, Bidirectional: true, Merge: "sum"}}},
	{"bi_gru_mul_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "mul"}}},
	{"bi_rnn_ave_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 4, Activation: tanh, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "ave"}}},
	// The mask reaches a second recurrent layer through a
	// sequence-returning one and a Dropout.
	{"lstm_seq_dropout_gru", []ir.Op{
		&ir.Recurrent{Cell: ir.CellLSTM, Units: 4, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true},
		&ir.Dropout{Rate: 0.3},
		&ir.Recurrent{Cell: ir.CellGRU, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true}}},
	{"bi_gru_seq_lstm_backwards_seq", []ir.Op{
		&ir.Recurrent{Cell: ir.CellGRU, Units: 2, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "concat"},
		&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true, GoBackwards: true}}},
	// Consumers that are not recurrent: only the zeroing shows.
	{"masking_only", nil},
	{"dense", []ir.Op{&ir.Dense{Units: 3, UseBias: true, Activation: tanh}}},
	// The mask passes through a Dense on each step (and the other layers
	// Keras passes it through) to the LSTM after it (ir.ModelMasks).
	{"dense_lstm", []ir.Op{&ir.Dense{Units: 3, UseBias: true}, &ir.Recurrent{Cell: ir.CellLSTM, Units: 2, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true}}},
	{"dense_layernorm_prelu_bn_gru_seq", []ir.Op{&ir.Dense{Units: 3, UseBias: true, Activation: tanh},
		&ir.LayerNormalization{Axes: []int{-1}, Epsilon: 1e-3, Center: true, Scale: true},
		&ir.PReLU{SharedAxes: []int{1}},
		&ir.BatchNorm{Axis: -1, Epsilon: 1e-3, Center: true, Scale: true},
		&ir.Recurrent{Cell: ir.CellGRU, Units: 2, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true, ReturnSequences: true}}},
	// GlobalAveragePooling1D averages over the kept steps (NaN for the
	// row that keeps none, in kconv as in ONNX Runtime and Keras).
	{"dense_global_average", []ir.Op{&ir.Dense{Units: 3, UseBias: true}, &ir.GlobalPool1D{DataFormat: ir.ChannelsLast}}},
	{"lstm_seq_global_average_keepdims", []ir.Op{
		&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true},
		&ir.GlobalPool1D{DataFormat: ir.ChannelsLast, KeepDims: true}}},
	// GlobalMaxPooling1D ignores the mask (over every step).
	{"global_max", []ir.Op{&ir.GlobalPool1D{Max: true, DataFormat: ir.ChannelsLast}}},
}

// TestMaskingORT: Masking, and the recurrent layers it masks, export to
// ONNX that ONNX Runtime (whose recurrent code is not kconv's, and which
// runs only the steps the export keeps) runs to kconv's output, with rows
// masked nowhere, at the start, at the end, in the middle, everywhere,
// here and there. Opsets 11 (reduce axes as attributes), 13 and 18 (axes
// as inputs).
func TestMaskingORT(t *testing.T) {
	ortModules(t)
	const mv = 0.5
	for i, c := range maskedRecurrents {
		for _, opset := range []int{11, 13, 18} {
			if opset != 13 && i%3 != 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s_opset%d", c.name, opset), func(t *testing.T) {
				b := ir.NewBuilder("masked_" + c.name)
				b.Input("x", ir.Shape{6, 4}, ir.LayoutNone)
				b.Add("masking", &ir.Masking{Value: mv})
				for k, op := range c.ops {
					b.Add(fmt.Sprintf("layer_%d", k), op)
				}
				m := built(t, b, uint64(300+i))
				x := maskedInput(m, 6, uint64(i), mv)
				want := runKconv(t, m, x)
				path := export(t, m, onnxexport.Options{Opset: opset})
				compare(t, "ONNX Runtime", runORT(t, path, x), want)
				checkReimport(t, path, x, want)
			})
		}
	}
}

// checkReimport: importer/onnx reads the export back and runs it to want,
// or refuses it with a one-line error naming a node.
func checkReimport(t *testing.T, path string, x, want *ir.Tensor) {
	t.Helper()
	back, err := onnximport.Load(path)
	if err != nil {
		t.Logf("re-import refused: %v", err)
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "node '") {
			t.Errorf("re-import: want a one-line error naming the node, got %q", msg)
		}
		return
	}
	compare(t, "re-imported model", runKconv(t, back, x), want)
}

// TestMaskingStatesORT: a masked recurrent layer with initial states and
// returned final states: a row without a kept step returns its initial
// states, and a masked step at the start outputs the initial h.
func TestMaskingStatesORT(t *testing.T) {
	ortModules(t)
	const mv = -1
	for i, c := range stateCases {
		t.Run(c.name, func(t *testing.T) {
			op := *c.op
			b := ir.NewBuilder("masked_" + c.name)
			x := b.Input("x", ir.Shape{6, 4}, ir.LayoutNone)
			ins := []string{b.Add("masking", &ir.Masking{Value: mv}, x)}
			if c.initial {
				for k := range op.States() {
					ins = append(ins, b.Input(fmt.Sprintf("s%d", k), ir.Shape{op.Units}, ir.LayoutNone))
				}
			}
			rec := b.Add("rnn", &op, ins...)
			outs := []string{rec}
			if op.ReturnState {
				for k := 1; k <= op.States(); k++ {
					outs = append(outs, b.Add(fmt.Sprintf("rnn:%d", k), &ir.RecurrentState{Index: k, Units: op.Units}, rec))
				}
			}
			m := built(t, b, uint64(400+i), outs...)
			xs := []*ir.Tensor{maskedInput(m, 6, uint64(i), mv)}
			for _, it := range m.InputTypes()[1:] {
				s := ir.NewTensor(append(ir.Shape{len(maskRows(6))}, it.Shape[1:]...), it.Layout)
				fill(s, uint64(50+len(xs)))
				xs = append(xs, s)
			}
			want := runKconvAll(t, m, xs)
			got := runORTAll(t, export(t, m, onnxexport.Options{}), xs, len(m.Outputs))
			for k := range want {
				compare(t, fmt.Sprintf("ONNX Runtime output %d (%s)", k, m.Outputs[k]), got[k], want[k])
			}
		})
	}
}

// TestMaskingMergeORT: the masks of two inputs of a merge layer combine —
// with And in Keras 1/2 and Or in Keras 3 — on their way to the LSTM and
// the GlobalAveragePooling1D after it. The second mask (of the first
// Masking's output, value 0) masks the first one's steps and the steps
// whose features are all 0, so the two combinations differ.
func TestMaskingMergeORT(t *testing.T) {
	ortModules(t)
	const mv = 0.5
	for i, ver := range []string{"2.2.4", "3.3.3"} {
		for _, mode := range []ir.MergeMode{ir.MergeAdd, ir.MergeConcat} {
			mg := &ir.Merge{Mode: mode, Axis: -1}
			t.Run(fmt.Sprintf("%s_keras%s", mg.Kind(), ver), func(t *testing.T) {
				b := ir.NewBuilder("masked_merge")
				b.Input("x", ir.Shape{6, 4}, ir.LayoutNone)
				a := b.Add("masking_a", &ir.Masking{Value: mv})
				mb := b.Add("masking_b", &ir.Masking{Value: 0})
				d := b.Add("dense", &ir.Dense{Units: 4, UseBias: true}, mb)
				b.Add("merge", mg, a, d)
				b.Add("lstm", &ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true})
				b.Add("pool", &ir.GlobalPool1D{DataFormat: ir.ChannelsLast})
				m := built(t, b, uint64(40+i))
				m.Meta.KerasVersion = ver
				x := maskedInput(m, 6, uint64(9+i), mv)
				for _, rs := range [][2]int{{0, 4}, {1, 3}, {3, 5}, {5, 1}} { // steps of all 0
					clear(x.Data[(rs[0]*6+rs[1])*4 : (rs[0]*6+rs[1]+1)*4])
				}
				want := runKconv(t, m, x)
				path := export(t, m, onnxexport.Options{})
				compare(t, "ONNX Runtime", runORT(t, path, x), want)
			})
		}
	}
}

// TestMaskingEmbeddingPoolORT: the text-model head Embedding(mask_zero) →
// GlobalAveragePooling1D → Dense: the pooling averages the nonzero tokens'
// embeddings, in ONNX Runtime as in kconv.
func TestMaskingEmbeddingPoolORT(t *testing.T) {
	ortModules(t)
	b := ir.NewBuilder("embedding_pool")
	b.Input("tokens", ir.Shape{6}, ir.LayoutNone)
	b.Add("embedding", &ir.Embedding{InputDim: 9, OutputDim: 4, MaskZero: true})
	b.Add("pool", &ir.GlobalPool1D{DataFormat: ir.ChannelsLast})
	b.Add("dense", &ir.Dense{Units: 2, UseBias: true, Activation: ir.Act{Name: ir.ActSigmoid}})
	m := built(t, b, 8)
	x := maskedTokens(6)
	want := runKconv(t, m, x)
	path := export(t, m, onnxexport.Options{})
	compare(t, "ONNX Runtime", runORT(t, path, x), want)
}

// maskedTokens returns token rows of the given length, one row per case
// of maskRows, with index 0 (mask_zero's masked token) at its masked steps.
func maskedTokens(steps int) *ir.Tensor {
	rows := maskRows(steps)
	x := ir.NewTensor(ir.Shape{len(rows), steps}, ir.LayoutNone)
	for r, masked := range rows {
		for s := 0; s < steps; s++ {
			x.Data[r*steps+s] = float32(1 + (r*5+s*3)%8)
		}
		for _, s := range masked {
			x.Data[r*steps+s] = 0
		}
	}
	return x
}

// TestMaskingEmbeddingORT: an Embedding with mask_zero masks the steps of
// index 0 for the LSTM after it.
func TestMaskingEmbeddingORT(t *testing.T) {
	ortModules(t)
	for _, seq := range []bool{false, true} {
		t.Run(fmt.Sprintf("seq_%v", seq), func(t *testing.T) {
			b := ir.NewBuilder("embedding_mask_zero")
			b.Input("tokens", ir.Shape{6}, ir.LayoutNone)
			b.Add("embedding", &ir.Embedding{InputDim: 9, OutputDim: 4, MaskZero: true})
			b.Add("lstm", &ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: seq, Bidirectional: true, Merge: "concat"})
			m := built(t, b, 7)
			x := maskedTokens(6)
			want := runKconv(t, m, x)
			path := export(t, m, onnxexport.Options{})
			compare(t, "ONNX Runtime", runORT(t, path, x), want)
			checkReimport(t, path, x, want)
		})
	}
}

// TestMaskingKerasFileORT: keras-seq 20 (Masking(mask_value=2) → LSTM(32)
// over (10, 42)) exports, and ONNX Runtime runs it to kconv's output with
// masked steps anywhere; kconv's own run is checked to skip the masked
// steps: it equals its run on each row with those steps removed.
func TestMaskingKerasFileORT(t *testing.T) {
	ortModules(t)
	p := filepath.Join("..", "..", "..", "shared", "fixtures", "keras-seq", "20_k2_masking2_lstm.h5")
	if !fileThere(p) {
		t.Skipf("shared keras-seq fixture not found at %s", p)
	}
	m, err := load.Model(p, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps, f := 10, 42
	x := maskedInput(m, steps, 20, 2)
	want := runKconv(t, m, x)
	for _, opset := range []int{11, 13, 18} {
		t.Run(fmt.Sprintf("opset%d", opset), func(t *testing.T) {
			path := export(t, m, onnxexport.Options{Opset: opset})
			compare(t, "ONNX Runtime", runORT(t, path, x), want)
			checkReimport(t, path, x, want)
		})
	}
	// kconv's run of one row, its masked steps removed (in a model of
	// that many steps), equals its masked run's row; a row with no kept
	// step gives the LSTM's zero state.
	u := want.Shape[1]
	for r, masked := range maskRows(steps) {
		var kept []float32
		for s := 0; s < steps; s++ {
			row := x.Data[(r*steps+s)*f : (r*steps+s+1)*f]
			if !maskedAt(masked, s) {
				kept = append(kept, row...)
			}
		}
		got := want.Data[r*u : (r+1)*u]
		if len(kept) == 0 {
			for _, v := range got {
				if v != 0 {
					t.Fatalf("row %d (all masked): %v, want zeros", r, got)
				}
			}
			continue
		}
		short := cloneWithSteps(t, m, len(kept)/f)
		ref := runKconv(t, short, &ir.Tensor{Shape: ir.Shape{1, len(kept) / f, f}, Data: kept})
		compare(t, fmt.Sprintf("row %d with its masked steps removed", r), &ir.Tensor{Shape: ir.Shape{1, u}, Data: got}, ref)
	}
}

func maskedAt(masked []int, s int) bool {
	for _, m := range masked {
		if m == s {
			return true
		}
	}
	return false
}

// cloneWithSteps rebuilds keras-seq 20's model (Masking → LSTM, sharing
// its weights) over a sequence of n steps.
func cloneWithSteps(t *testing.T, m *ir.Model, n int) *ir.Model {
	t.Helper()
	var lstm *ir.Node
	var mask *ir.Masking
	for _, nd := range m.Nodes {
		switch op := nd.Op.(type) {
		case *ir.Recurrent:
			lstm = nd
		case *ir.Masking:
			mask = op
		}
	}
	if lstm == nil || mask == nil {
		t.Fatal("keras-seq 20: no Masking or LSTM")
	}
	b := ir.NewBuilder("short")
	b.Input("x", ir.Shape{n, m.InputTypes()[0].Shape[2]}, ir.LayoutNone)
	b.Add("masking", &ir.Masking{Value: mask.Value})
	b.Add("lstm", lstm.Op)
	var ws [][]float32
	for _, w := range lstm.Weights {
		d, err := w.Data()
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, d)
	}
	b.SetWeights("lstm", ws...)
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
