package onnx_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/exec"
	onnxexport "github.com/kconv/kconv/exporter/onnx"
	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
	"github.com/kconv/kconv/zoo"
)

// ortAllJS feeds every input of a model (files in the session's input
// order) and writes every output (in the session's output order): the
// several-input, several-output form of bench/ort/run.js's "run".
const ortAllJS = `'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');
function readNpy(p) {
  const b = fs.readFileSync(p);
  const hl = b.readUInt16LE(8), h = b.toString('latin1', 10, 10 + hl);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(h)[1].split(',').map(s => s.trim()).filter(s => s !== '').map(Number);
  const n = shape.reduce((a, c) => a * c, 1), d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = b.readFloatLE(10 + hl + 4 * i);
  return new ort.Tensor('float32', d, shape);
}
function writeNpy(p, t) {
  const dims = t.dims.length === 1 ? t.dims[0] + ',' : t.dims.join(', ');
  let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + '), }';
  h += ' '.repeat((64 - ((11 + h.length) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(h.length, 8);
  const body = Buffer.alloc(t.data.length * 4);
  for (let i = 0; i < t.data.length; i++) body.writeFloatLE(t.data[i], 4 * i);
  fs.writeFileSync(p, Buffer.concat([head, Buffer.from(h, 'latin1'), body]));
}
(async () => {
  const [model, dir] = process.argv.slice(2);
  const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', intraOpNumThreads: 2, logSeverityLevel: 3 });
  const feeds = {};
  s.inputNames.forEach((n, i) => { feeds[n] = readNpy(dir + '/in' + i + '.npy'); });
  const r = await s.run(feeds);
  s.outputNames.forEach((n, i) => writeNpy(dir + '/out' + i + '.npy', r[n]));
})().catch(e => { console.error(e.message); process.exit(1); });
`

// runORTAll runs an ONNX file on xs in ONNX Runtime and returns every
// output.
func runORTAll(t testing.TB, model string, xs []*ir.Tensor, nout int) []*ir.Tensor {
	t.Helper()
	node, modules := ortModules(t)
	dir := t.TempDir()
	js := filepath.Join(dir, "run_all.js")
	if err := os.WriteFile(js, []byte(ortAllJS), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		writeNPY(t, filepath.Join(dir, fmt.Sprintf("in%d.npy", i)), x)
	}
	cmd := osexec.Command(node, js, model, dir)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ONNX Runtime failed on %s: %v\n%s", model, err, stderr.String())
	}
	var outs []*ir.Tensor
	for i := 0; i < nout; i++ {
		shape, data, _, err := tensorio.ReadNPY(filepath.Join(dir, fmt.Sprintf("out%d.npy", i)))
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, &ir.Tensor{Shape: shape, Data: data})
	}
	return outs
}

// runKconvAll runs m on xs and returns every output.
func runKconvAll(t testing.TB, m *ir.Model, xs []*ir.Tensor) []*ir.Tensor {
	t.Helper()
	p, err := exec.Compile(m, exec.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := p.Run(context.Background(), xs)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

// stateModel builds a recurrent layer op over a (6, 4) sequence with
// initial states (as model inputs) when initial is set, returning its
// output and every final state when op.ReturnState is set, then a Dense
// over one state (when returned) so that a state is also consumed inside
// the graph.
func stateModel(t testing.TB, name string, op *ir.Recurrent, initial bool, seed uint64) *ir.Model {
	b := ir.NewBuilder(name)
	x := b.Input("x", ir.Shape{6, 4}, ir.LayoutNone)
	ins := []string{x}
	if initial {
		for i := range op.States() {
			ins = append(ins, b.Input(fmt.Sprintf("s%d", i), ir.Shape{op.Units}, ir.LayoutNone))
		}
	}
	rec := b.Add("rnn", op, ins...)
	outs := []string{rec}
	if op.ReturnState {
		for i := 1; i <= op.States(); i++ {
			outs = append(outs, b.Add(fmt.Sprintf("rnn:%d", i), &ir.RecurrentState{Index: i, Units: op.Units}, rec))
		}
		outs = append(outs, b.Add("dense", &ir.Dense{Units: 2, UseBias: true}, outs[len(outs)-1]))
	}
	return built(t, b, seed, outs...)
}

var stateCases = []struct {
	name    string
	op      *ir.Recurrent
	initial bool
}{
	{"lstm_state_last", &ir.Recurrent{Cell: ir.CellLSTM, Units: 5, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, ReturnState: true}, false},
	{"lstm_state_seq_initial", &ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true, ReturnState: true}, true},
	{"lstm_initial_only", &ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true}, true},
	{"lstm_state_backwards_initial", &ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, GoBackwards: true, ReturnSequences: true, ReturnState: true}, true},
	{"gru_state_reset_after_initial", &ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true, ReturnState: true}, true},
	{"gru_state_reset_before", &ir.Recurrent{Cell: ir.CellGRU, Units: 4, Activation: tanh, RecurrentActivation: hardSig2, UseBias: true, ReturnSequences: true, ReturnState: true}, false},
	{"simple_rnn_state_initial", &ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 4, Activation: tanh, UseBias: true, ReturnState: true}, true},
	{"bi_lstm_state_concat_seq_initial", &ir.Recurrent{Cell: ir.CellLSTM, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "concat", ReturnState: true}, true},
	{"bi_gru_state_sum_last", &ir.Recurrent{Cell: ir.CellGRU, Units: 3, Activation: tanh, RecurrentActivation: sigmoid, UseBias: true, ResetAfter: true, Bidirectional: true, Merge: "sum", ReturnState: true}, false},
	{"bi_rnn_initial_ave", &ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 3, Activation: tanh, UseBias: true, ReturnSequences: true, Bidirectional: true, Merge: "ave"}, true},
}

// TestRecurrentStatesORT: recurrent layers with initial states and
// returned final states export to ONNX RNN/LSTM/GRU with initial_h,
// initial_c, Y_h and Y_c, and ONNX Runtime (whose recurrent code is not
// kconv's) gives every output kconv gives, at batch 3; importer/onnx reads
// the file back to ONNX Runtime's outputs too.
func TestRecurrentStatesORT(t *testing.T) {
	ortModules(t)
	for i, c := range stateCases {
		for _, opset := range []int{11, 14} {
			t.Run(fmt.Sprintf("%s_opset%d", c.name, opset), func(t *testing.T) {
				op := *c.op
				m := stateModel(t, c.name, &op, c.initial, uint64(200+i))
				var xs []*ir.Tensor
				for k, it := range m.InputTypes() {
					shape := append(ir.Shape{3}, it.Shape[1:]...)
					x := ir.NewTensor(shape, it.Layout)
					fill(x, uint64(10*i+k))
					xs = append(xs, x)
				}
				want := runKconvAll(t, m, xs)
				path := export(t, m, onnxexport.Options{Opset: opset})
				got := runORTAll(t, path, xs, len(m.Outputs))
				for k := range want {
					compare(t, fmt.Sprintf("ONNX Runtime output %d (%s)", k, m.Outputs[k]), got[k], want[k])
				}
				back, err := onnximport.Load(path)
				if err != nil {
					t.Fatalf("re-import: %v", err)
				}
				again := runKconvAll(t, back, xs)
				for k := range got {
					compare(t, fmt.Sprintf("re-imported output %d vs ONNX Runtime", k), again[k], got[k])
				}
			})
		}
	}
}

// fill puts seeded values in [-1, 1) into x.
func fill(x *ir.Tensor, seed uint64) {
	r := randomInput(&ir.Model{Nodes: []*ir.Node{{Name: "i", Op: &ir.Input{Type: ir.TensorType{Shape: x.Shape}}, Out: ir.TensorType{Shape: x.Shape}}}, Inputs: []string{"i"}}, x.Shape[0], seed, -1, 1)
	copy(x.Data, r.Data)
}

// TestRecurrentStatesKerasORT converts the encoder-decoder Keras configs
// of importer/keras's tests (tf.keras 2 and Keras 3 forms: LSTM states
// feeding another LSTM, a Bidirectional GRU's states, a Dense on one; and
// a Bidirectional LSTM's four states starting another Bidirectional, a
// shared GRU whose second call starts from its first call's state),
// with seeded weights, to ONNX: ONNX Runtime gives every output kconv
// gives, and the file reads back to ONNX Runtime's outputs.
func TestRecurrentStatesKerasORT(t *testing.T) {
	ortModules(t)
	for _, v := range []string{"k2", "k3", "bi_k2"} {
		t.Run(v, func(t *testing.T) {
			m, err := load.Model(filepath.Join("..", "..", "importer", "keras", "testdata", "rnn_state_"+v+".json"), load.Options{})
			if err != nil {
				t.Fatal(err)
			}
			zoo.RandomWeights(m, 9)
			var xs []*ir.Tensor
			for k, it := range m.InputTypes() {
				x := ir.NewTensor(append(ir.Shape{2}, it.Shape[1:]...), it.Layout)
				fill(x, uint64(k+1))
				xs = append(xs, x)
			}
			want := runKconvAll(t, m, xs)
			path := export(t, m, onnxexport.Options{})
			got := runORTAll(t, path, xs, len(m.Outputs))
			for k := range want {
				compare(t, fmt.Sprintf("ONNX Runtime output %d (%s)", k, m.Outputs[k]), got[k], want[k])
			}
			back, err := onnximport.Load(path)
			if err != nil {
				t.Fatalf("re-import: %v", err)
			}
			again := runKconvAll(t, back, xs)
			for k := range got {
				compare(t, fmt.Sprintf("re-imported output %d vs ONNX Runtime", k), again[k], got[k])
			}
		})
	}
}

// TestVariableLengthORT: the variable-length keras-seq file 22 ((None,
// None, 3) input, two Bidirectional LSTMs around a RepeatVector), run by
// one kconv Program at several lengths, matches ONNX Runtime running the
// model exported at each length and the model exported with its dynamic
// length.
func TestVariableLengthORT(t *testing.T) {
	ortModules(t)
	path := filepath.Join("..", "..", "importer", "keras", "testdata", "seq22_tfk_bilstm_repeatvector_varlen.h5")
	m, err := load.Model(path, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Exported as is, the ONNX file has an unknown time axis too (not
	// export's structure check, which wants every dimension after the
	// batch known).
	dyn := filepath.Join(t.TempDir(), "varlen.onnx")
	if err := onnxexport.Write(m, dyn, onnxexport.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, T := range []int{1, 3, 10} {
		x := ir.NewTensor(ir.Shape{2, T, 3}, ir.LayoutNone)
		fill(x, uint64(T))
		got, err := p.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatalf("length %d: %v", T, err)
		}
		fixed := *m
		fixed.Name = fmt.Sprintf("varlen_%d", T)
		fixed.Nodes = nil
		for _, n := range m.Nodes {
			nn := *n
			if in, ok := n.Op.(*ir.Input); ok {
				nn.Op = &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, T, 3}, Layout: in.Type.Layout}}
			}
			fixed.Nodes = append(fixed.Nodes, &nn)
		}
		if err := ir.RunPasses(&fixed, ir.PassInfer); err != nil {
			t.Fatal(err)
		}
		want := runORT(t, export(t, &fixed, onnxexport.Options{}), x)
		compare(t, fmt.Sprintf("length %d: kconv's variable-length run vs ONNX Runtime", T), got[0], want)
		compare(t, fmt.Sprintf("length %d: kconv's variable-length run vs ONNX Runtime on the dynamic-length export", T), got[0], runORT(t, dyn, x))
	}
}
