package onnx_test

import (
	"fmt"
	"testing"

	onnxexport "github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/ir"
)

var (
	tanh      = ir.Act{Name: "tanh"}
	sigmoid   = ir.Act{Name: "sigmoid"}
	hardSig2  = ir.Act{Name: "hard_sigmoid", Alpha: 0.2, Beta: 0.5}     // Keras 1/2
	hardSig3  = ir.Act{Name: "hard_sigmoid", Alpha: 1.0 / 6, Beta: 0.5} // Keras 3
	reluAct   = ir.Act{Name: "relu"}
	seqInput  = ir.Shape{6, 4}
	seqModels = []struct {
		name string
		ops  []ir.Op
	}{
		{"lstm_last", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 5, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true}}},
		{"lstm_seq_backwards", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true, GoBackwards: true}}},
		{"lstm_stack", []ir.Op{
			&ir.Recurrent{Cell: ir.CellLSTM, Units: 4, Activation: tanh, RecurrentActivation: hardSig3, UseBias: true, ReturnSequences: true},
			&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: hardSig3, UseBias: false}}},
		{"gru_reset_before", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 5, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, ReturnSequences: true}}},
		{"gru_reset_after", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 5, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true}}},
		{"gru_reset_after_backwards", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 2, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true, GoBackwards: true, ReturnSequences: true}}},
		{"simple_rnn_relu", []ir.Op{&ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 5, Activation: reluAct, UseBias: true, ReturnSequences: true}}},
		{"bi_lstm_concat_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "concat"}}},
		{"bi_lstm_concat_last", []ir.Op{&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, Bidirectional: true, Merge: "concat"}}},
		{"bi_gru_sum_last", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true, Bidirectional: true, Merge: "sum"}}},
		{"bi_rnn_ave_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 4, Activation: tanh, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "ave"}}},
		{"bi_gru_mul_seq", []ir.Op{&ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "mul"}}},
		{"conv1d_causal_pool_lstm", []ir.Op{
			&ir.Conv1D{Filters: 5, Window1D: ir.Window1D{K: 3, Stride: 1, Dilation: 2, Causal: true}, UseBias: true, Activation: reluAct, DataFormat: ir.ChannelsLast},
			&ir.Pool1D{Max: true, Window1D: ir.Window1D{K: 2, Stride: 2}, DataFormat: ir.ChannelsLast},
			&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true}}},
		{"conv1d_cf_same_gap", []ir.Op{
			&ir.Conv1D{Filters: 5, Window1D: ir.Window1D{K: 4, Stride: 3, Padding: ir.PadSame}, UseBias: true, DataFormat: ir.ChannelsFirst},
			&ir.Pool1D{Window1D: ir.Window1D{K: 2, Stride: 1, Padding: ir.PadSame}, DataFormat: ir.ChannelsFirst},
			&ir.GlobalPool1D{DataFormat: ir.ChannelsFirst}}},
		{"gmp_repeat_gru", []ir.Op{
			&ir.GlobalPool1D{Max: true, DataFormat: ir.ChannelsLast},
			&ir.RepeatVector{N: 3},
			&ir.Recurrent{Cell: ir.CellGRU, Units: 2, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true},
			&ir.Dense{Units: 3, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}}}},
	}
)

func seqModel(t testing.TB, name string, ops []ir.Op, seed uint64) *ir.Model {
	b := ir.NewBuilder(name)
	b.Input("x", seqInput, ir.LayoutNone)
	for i, op := range ops {
		b.Add(fmt.Sprintf("layer_%d", i), op)
	}
	return built(t, b, seed)
}

// TestSeqORT converts sequence models to ONNX (RNN, LSTM, GRU, 1-D Conv
// and pooling) and runs them in ONNX Runtime, whose recurrent code is not
// kconv's: its output must match kconv's own run.
func TestSeqORT(t *testing.T) {
	ortModules(t)
	for i, c := range seqModels {
		opsets := []int{13}
		if i == 0 || c.name == "bi_gru_sum_last" {
			opsets = []int{11, 13, 17}
		}
		for _, opset := range opsets {
			t.Run(fmt.Sprintf("%s_opset%d", c.name, opset), func(t *testing.T) {
				m := seqModel(t, c.name, c.ops, uint64(100+i))
				x := randomInput(m, 3, uint64(i), -1, 1)
				want := runKconv(t, m, x)
				got := runORT(t, export(t, m, onnxexport.Options{Opset: opset}), x)
				compare(t, "ONNX Runtime", got, want)
			})
		}
	}
}

// TestSeqEmbeddingORT: Embedding exports as Gather over cast indices.
func TestSeqEmbeddingORT(t *testing.T) {
	ortModules(t)
	b := ir.NewBuilder("embedding_lstm")
	b.Input("tokens", ir.Shape{7}, ir.LayoutNone)
	b.Add("embedding", &ir.Embedding{InputDim: 11, OutputDim: 4})
	b.Add("lstm", &ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true})
	m := built(t, b, 5)
	x := ir.NewTensor(ir.Shape{2, 7}, ir.LayoutNone)
	for i := range x.Data {
		x.Data[i] = float32((i * 5) % 11)
	}
	want := runKconv(t, m, x)
	got := runORT(t, export(t, m, onnxexport.Options{}), x)
	compare(t, "ONNX Runtime", got, want)
}
