package onnx_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	onnxexport "github.com/kconv/kconv/exporter/onnx"
	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/refcheck"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
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
		{"layernorm_lstm", []ir.Op{
			&ir.LayerNormalization{Axes: []int{-1}, Epsilon: 1e-3, Center: true, Scale: true},
			&ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true},
			&ir.LayerNormalization{Axes: []int{1, 2}, Epsilon: 1e-5, Scale: true}}},
		{"gmp_repeat_gru", []ir.Op{
			&ir.GlobalPool1D{Max: true, DataFormat: ir.ChannelsLast},
			&ir.RepeatVector{N: 3},
			&ir.Recurrent{Cell: ir.CellGRU, Units: 2, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true},
			&ir.Dense{Units: 3, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}}}},
	}
)

// reimportGaps are the seqModels that importer/onnx cannot read back yet,
// with the op it lacks.
var reimportGaps = map[string]string{}

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
		if i == 0 || c.name == "bi_gru_sum_last" || c.name == "layernorm_lstm" {
			opsets = []int{11, 13, 17}
		}
		for _, opset := range opsets {
			t.Run(fmt.Sprintf("%s_opset%d", c.name, opset), func(t *testing.T) {
				m := seqModel(t, c.name, c.ops, uint64(100+i))
				x := randomInput(m, 3, uint64(i), -1, 1)
				want := runKconv(t, m, x)
				path := export(t, m, onnxexport.Options{Opset: opset})
				got := runORT(t, path, x)
				compare(t, "ONNX Runtime", got, want)
				// And back: importer/onnx reads the RNN/LSTM/GRU nodes; the
				// re-imported model runs to ONNX Runtime's output.
				back, err := onnximport.Load(path)
				if gap, ok := reimportGaps[c.name]; ok {
					// A known importer gap: it must still be one (no stale
					// waivers).
					if err == nil || !strings.Contains(err.Error(), gap) {
						t.Fatalf("re-import: expected the known gap %q, got %v", gap, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("re-import: %v", err)
				}
				compare(t, "re-imported model vs ONNX Runtime", runKconv(t, back, x), got)
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

// TestSeqKerasFilesORT converts the real Keras sequence files that come
// with Keras's predictions to ONNX and runs them in ONNX Runtime: the
// output must match what Keras predicted (rtol 1e-3, atol 1e-5 scaled).
// The copies in testdata always run; the shared keras-seq folder when
// present.
func TestSeqKerasFilesORT(t *testing.T) {
	ortModules(t)
	type pair struct{ model, io string }
	var cases []pair
	for _, n := range []string{"seq01_k1_tf_simple_lstm", "seq04_k2_tf_simple_rnn", "seq08_k2_conv1d_k4_s3_d1_cf_same", "seq11_k2_causal_conv1d_k3_s1_d2_cl"} {
		cases = append(cases, pair{filepath.Join("..", "..", "importer", "keras", "testdata", n+".h5"), filepath.Join("..", "..", "exec", "testdata", n+".io.h5")})
	}
	shared := filepath.Join("..", "..", "..", "shared", "fixtures", "keras-seq")
	ios, _ := filepath.Glob(filepath.Join(shared, "*.io.h5"))
	if len(ios) == 0 {
		t.Logf("shared keras-seq fixtures not found at %s: testdata copies only", shared)
	}
	for _, io := range ios {
		if strings.HasPrefix(filepath.Base(io), "03_") { // training targets only
			continue
		}
		cases = append(cases, pair{strings.TrimSuffix(io, ".io.h5") + ".h5", io})
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.model), func(t *testing.T) {
			m, err := load.Model(c.model, load.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ref, err := refcheck.ReadIO(c.io)
			if err != nil {
				t.Fatal(err)
			}
			got := runORT(t, export(t, m, onnxexport.Options{}), ref.Input)
			r := refcheck.Compare("output", got, ref.Output, 1e-3, 1e-5)
			if !r.OK() {
				t.Errorf("ONNX Runtime differs from Keras's predictions: %v max |diff| %.3g (atol %.3g)", r.Err, r.MaxAbs, r.Atol)
			}
		})
	}
}

// TestSeqKerasImportOnlyORT: the keras-seq files without a Keras-made
// .io.h5 are checked against ONNX Runtime instead: converted to ONNX, ORT's
// output must match kconv's run on the same input (22, of variable
// length, at 7 steps). 20, whose Masking needs inputs with masked steps,
// is TestMaskingKerasFileORT's.
func TestSeqKerasImportOnlyORT(t *testing.T) {
	ortModules(t)
	shared := filepath.Join("..", "..", "..", "shared", "fixtures", "keras-seq")
	files := []string{"03_k2_tf206_simple_lstm_targets_only.h5",
		// 02 and 06, weights with a JSON architecture, run to Keras's
		// predictions in exec's tests (not to an .io.h5).
		"02_k1_tf_simple_lstm_weights.h5", "06_k2_theano_lstm2_weights.h5", "16_k2_tf_bidirectional_lstm_seq.h5", "17_k1_theano_bidirectional_lstm_last.h5",
		"18_k2_theano_embedding_lstm.h5", "19_k1_tf_embedding_conv1d_flatten.h5", "21_k1_tf_lstm_timedistributeddense.h5",
		"22_tfk_bilstm_repeatvector_varlen.h5", "23_k2_conv1d_bn_gap1d_repeatvector.h5", "24_tfk250_conv1d_maxpool1d_leakyrelu.h5", "25_k2_tf_separableconv2d.h5"}
	var paths []string
	if fileThere(filepath.Join(shared, files[0])) {
		for _, f := range files {
			paths = append(paths, filepath.Join(shared, f))
		}
		// Every model file of the folder is converted and run by ONNX
		// Runtime here, in TestSeqKerasFilesORT (those with an .io.h5) or
		// in TestMaskingKerasFileORT (20): a file added there unchecked
		// fails.
		all, _ := filepath.Glob(filepath.Join(shared, "*.h5"))
		for _, f := range all {
			b := filepath.Base(f)
			if strings.HasSuffix(b, ".io.h5") || slices.Contains(files, b) || b == "20_k2_masking2_lstm.h5" || fileThere(strings.TrimSuffix(f, ".h5")+".io.h5") {
				continue
			}
			t.Errorf("%s: not converted to ONNX by any test", b)
		}
	} else {
		t.Logf("shared keras-seq fixtures not found at %s: testdata copies only", shared)
	}
	paths = append(paths, filepath.Join("..", "..", "importer", "keras", "testdata", "seq17_k1_theano_bidirectional_lstm_last.h5"),
		filepath.Join("..", "..", "importer", "keras", "testdata", "seq19_k1_tf_embedding_conv1d_flatten.h5"))
	for i, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			var opts load.Options
			if arch := strings.TrimSuffix(p, ".h5") + ".config.json"; fileThere(arch) {
				opts.Arch = arch
			}
			m, err := load.Model(p, opts)
			if err != nil {
				t.Fatal(err)
			}
			batch := 2
			if d := m.InputTypes()[0].Shape[0]; d > 0 {
				batch = d
			}
			x := randomInput(m, batch, uint64(i), -1, 1)
			for _, n := range m.Nodes {
				if e, ok := n.Op.(*ir.Embedding); ok {
					for j := range x.Data {
						x.Data[j] = float32((j * 3) % e.InputDim)
					}
				}
			}
			want := runKconv(t, m, x)
			got := runORT(t, export(t, m, onnxexport.Options{}), x)
			compare(t, "ONNX Runtime", got, want)
		})
	}
}

func fileThere(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestAttentionORT: Keras's dot-product Attention (with and without key
// and scale) exports as MatMul/Softmax/MatMul that ONNX Runtime runs to
// kconv's output.
func TestAttentionORT(t *testing.T) {
	ortModules(t)
	for i, withKey := range []bool{false, true} {
		t.Run(fmt.Sprintf("key_%v", withKey), func(t *testing.T) {
			b := ir.NewBuilder("attention")
			x := b.Input("x", seqInput, ir.LayoutNone)
			q := b.Add("query", &ir.Dense{Units: 5, UseBias: true}, x)
			v := b.Add("value", &ir.Recurrent{Cell: ir.CellGRU, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true, ReturnSequences: true}, x)
			ins := []string{q, v}
			op := &ir.Attention{}
			if withKey {
				ins = append(ins, b.Add("key", &ir.Dense{Units: 5}, x))
				op.UseScale = true
			} else {
				ins = []string{x, x}
			}
			b.Add("attention", op, ins...)
			m := built(t, b, uint64(40+i))
			in := randomInput(m, 2, 9, -1, 1)
			for _, opset := range []int{11, 13} {
				compare(t, fmt.Sprintf("ONNX Runtime (opset %d)", opset), runORT(t, export(t, m, onnxexport.Options{Opset: opset}), in), runKconv(t, m, in))
			}
		})
	}
}

// TestMultiHeadAttentionORT: MultiHeadAttention (self-attention and
// cross-attention with a key, with and without biases, another output
// size) exports to ONNX that ONNX Runtime runs to kconv's output.
func TestMultiHeadAttentionORT(t *testing.T) {
	ortModules(t)
	for i, c := range []struct {
		name  string
		op    *ir.MultiHeadAttention
		cross bool
	}{
		{"self", &ir.MultiHeadAttention{Heads: 2, KeyDim: 3, ValueDim: 3, UseBias: true}, false},
		{"cross_key_out", &ir.MultiHeadAttention{Heads: 3, KeyDim: 2, ValueDim: 4, OutputDim: 6}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := ir.NewBuilder("mha")
			x := b.Input("x", seqInput, ir.LayoutNone)
			ins := []string{x, x}
			if c.cross {
				q := b.Add("query_in", &ir.Dense{Units: 5, UseBias: true}, x)
				v := b.Add("value_in", &ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true}, x)
				ins = []string{q, v, b.Add("key_in", &ir.Dense{Units: 2}, x)}
			}
			b.Add("mha", c.op, ins...)
			m := built(t, b, uint64(60+i))
			in := randomInput(m, 2, 3, -1, 1)
			for _, opset := range []int{11, 13} {
				compare(t, fmt.Sprintf("ONNX Runtime (opset %d)", opset), runORT(t, export(t, m, onnxexport.Options{Opset: opset}), in), runKconv(t, m, in))
			}
		})
	}
}
