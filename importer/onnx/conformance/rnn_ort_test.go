package conformance

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/exporter/keras"
	"github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

// rnnCase is one ONNX RNN, LSTM or GRU node as a whole graph: X a graph
// input, weights, biases, sequence_lens and initial states initializers,
// the node's used outputs graph outputs. ONNX's own node tests (lstm_*,
// gru_*, simple_rnn_*, rnn_seq_length: time-major graph inputs of static
// shape, batchwise ones with layout 1, GRU with linear_before_reset 0,
// peepholes) take these forms; their files are not in shared/, so the
// forms are rebuilt here with seeded weights and checked against ONNX
// Runtime, whose recurrent kernels are not kconv's.
type rnnCase struct {
	name      string
	op        string // RNN, LSTM, GRU
	layout    int64
	steps     int
	batch     int
	feat      int
	hidden    int
	dir       string   // forward, reverse, bidirectional
	lbr       int64    // GRU linear_before_reset
	acts      []string // activations of one direction
	bias      bool
	initial   bool    // initial_h (and initial_c)
	seqLens   []int64 // sequence_lens, nil: none
	peepholes bool
	badP      bool    // P of shape (D, 2·hidden) instead of (D, 3·hidden)
	clip      float32 // clip attribute, 0: none
	forget    bool    // LSTM input_forget
	alphas    []float32
	betas     []float32
	backActs  []string // the backward direction's activations, nil: acts
	outs      []int    // used outputs: 0 Y, 1 Y_h, 2 Y_c
	refused   string
}

var rnnCases = []rnnCase{
	{name: "lstm_defaults", op: "LSTM", steps: 1, batch: 3, feat: 2, hidden: 3, outs: []int{1}},
	{name: "lstm_seq_states", op: "LSTM", steps: 4, batch: 3, feat: 2, hidden: 3, bias: true, outs: []int{0, 1, 2}},
	{name: "lstm_initial_reverse", op: "LSTM", steps: 5, batch: 2, feat: 3, hidden: 4, dir: "reverse", bias: true, initial: true, outs: []int{0, 1, 2}},
	{name: "lstm_bidirectional_initial", op: "LSTM", steps: 4, batch: 2, feat: 3, hidden: 2, dir: "bidirectional", bias: true, initial: true, outs: []int{0, 1}},
	{name: "lstm_batchwise", op: "LSTM", layout: 1, steps: 3, batch: 3, feat: 2, hidden: 7, bias: true, outs: []int{0, 1}},
	{name: "lstm_batchwise_bidirectional_initial", op: "LSTM", layout: 1, steps: 3, batch: 2, feat: 2, hidden: 3, dir: "bidirectional", bias: true, initial: true, outs: []int{0, 1, 2}},
	{name: "lstm_hard_sigmoid", op: "LSTM", steps: 4, batch: 2, feat: 3, hidden: 3, bias: true, acts: []string{"HardSigmoid", "Tanh", "Tanh"}, outs: []int{0}},
	{name: "gru_defaults", op: "GRU", steps: 1, batch: 3, feat: 2, hidden: 5, outs: []int{1}},
	{name: "gru_seq_length", op: "GRU", steps: 2, batch: 3, feat: 3, hidden: 5, bias: true, seqLens: []int64{2, 2, 2}, outs: []int{0, 1}},
	{name: "gru_initial_bias", op: "GRU", steps: 4, batch: 3, feat: 3, hidden: 3, bias: true, initial: true, outs: []int{0, 1}},
	{name: "gru_linear_before_reset", op: "GRU", steps: 4, batch: 2, feat: 3, hidden: 4, lbr: 1, bias: true, initial: true, outs: []int{0, 1}},
	{name: "gru_bidirectional_lbr", op: "GRU", steps: 3, batch: 2, feat: 3, hidden: 4, lbr: 1, dir: "bidirectional", bias: true, outs: []int{0}},
	{name: "gru_reverse", op: "GRU", steps: 5, batch: 2, feat: 2, hidden: 3, dir: "reverse", bias: true, outs: []int{0, 1}},
	{name: "gru_batchwise", op: "GRU", layout: 1, steps: 3, batch: 3, feat: 2, hidden: 6, bias: true, outs: []int{0, 1}},
	{name: "simple_rnn_defaults", op: "RNN", steps: 1, batch: 3, feat: 2, hidden: 4, outs: []int{1}},
	{name: "simple_rnn_initial_bias", op: "RNN", steps: 3, batch: 3, feat: 3, hidden: 5, bias: true, initial: true, outs: []int{0, 1}},
	{name: "rnn_seq_length", op: "RNN", steps: 2, batch: 3, feat: 3, hidden: 5, bias: true, seqLens: []int64{2, 2, 2}, outs: []int{0, 1}},
	{name: "simple_rnn_batchwise", op: "RNN", layout: 1, steps: 3, batch: 3, feat: 2, hidden: 4, bias: true, outs: []int{0, 1}},
	{name: "rnn_relu_bidirectional", op: "RNN", steps: 4, batch: 2, feat: 3, hidden: 3, dir: "bidirectional", bias: true, acts: []string{"Relu"}, outs: []int{0, 1}},
	{name: "lstm_with_peepholes", op: "LSTM", steps: 1, batch: 2, feat: 4, hidden: 3, bias: true, peepholes: true, outs: []int{1}},
	{name: "gru_ragged_seq_lens", op: "GRU", steps: 3, batch: 2, feat: 2, hidden: 3, bias: true, seqLens: []int64{3, 1}, outs: []int{0, 1}},
	{name: "lstm_ragged_bidirectional", op: "LSTM", steps: 5, batch: 3, feat: 2, hidden: 3, dir: "bidirectional", bias: true, initial: true, seqLens: []int64{2, 5, 4}, outs: []int{0, 1, 2}},
	{name: "rnn_ragged_reverse", op: "RNN", steps: 4, batch: 3, feat: 3, hidden: 2, dir: "reverse", bias: true, seqLens: []int64{4, 1, 3}, outs: []int{0, 1}},
	{name: "gru_ragged_batchwise_lbr", op: "GRU", layout: 1, steps: 4, batch: 2, feat: 3, hidden: 3, lbr: 1, bias: true, seqLens: []int64{1, 3}, outs: []int{0, 1}},
	{name: "lstm_seq_lens_too_long", op: "LSTM", steps: 2, batch: 2, feat: 2, hidden: 2, seqLens: []int64{3, 1}, outs: []int{0}, refused: "sequence_lens"},
	// ONNX-only cell options: peepholes, clip, input_forget and
	// activations Keras has no spelling for.
	{name: "lstm_peepholes_seq_states", op: "LSTM", steps: 5, batch: 3, feat: 3, hidden: 4, bias: true, initial: true, peepholes: true, outs: []int{0, 1, 2}},
	{name: "lstm_peepholes_bidirectional", op: "LSTM", steps: 4, batch: 2, feat: 3, hidden: 3, dir: "bidirectional", bias: true, initial: true, peepholes: true, outs: []int{0, 1, 2}},
	{name: "lstm_peepholes_batchwise_ragged", op: "LSTM", layout: 1, steps: 4, batch: 2, feat: 2, hidden: 3, bias: true, peepholes: true, seqLens: []int64{4, 2}, outs: []int{0, 1, 2}},
	{name: "lstm_batchwise_clip_forget", op: "LSTM", layout: 1, steps: 3, batch: 2, feat: 3, hidden: 4, bias: true, clip: 0.4, forget: true, outs: []int{0, 1}},
	{name: "lstm_batchwise_output_activation", op: "LSTM", layout: 1, steps: 3, batch: 2, feat: 3, hidden: 4, bias: true, acts: []string{"Sigmoid", "Tanh", "Softsign"}, outs: []int{0, 1}},
	{name: "gru_batchwise_clip", op: "GRU", layout: 1, steps: 3, batch: 2, feat: 3, hidden: 4, bias: true, clip: 0.4, outs: []int{0, 1}},
	{name: "lstm_clip", op: "LSTM", steps: 4, batch: 3, feat: 3, hidden: 4, bias: true, initial: true, clip: 0.3, outs: []int{0, 1, 2}},
	{name: "lstm_input_forget", op: "LSTM", steps: 4, batch: 2, feat: 3, hidden: 4, bias: true, initial: true, forget: true, outs: []int{0, 1, 2}},
	{name: "lstm_peepholes_forget_clip_reverse", op: "LSTM", steps: 5, batch: 2, feat: 3, hidden: 3, dir: "reverse", bias: true, initial: true, peepholes: true, forget: true, clip: 0.6, outs: []int{0, 1, 2}},
	{name: "lstm_output_activation", op: "LSTM", steps: 4, batch: 2, feat: 3, hidden: 4, bias: true, acts: []string{"Sigmoid", "Tanh", "Relu"}, outs: []int{0, 1, 2}},
	{name: "lstm_alpha_activations", op: "LSTM", steps: 3, batch: 2, feat: 3, hidden: 3, bias: true, dir: "bidirectional",
		acts: []string{"HardSigmoid", "LeakyRelu", "ThresholdedRelu"}, alphas: []float32{0.3, 0.05, 0.2, 0.3, 0.05, 0.2}, betas: []float32{0.4, 0.4}, outs: []int{0, 1, 2}},
	{name: "gru_clip", op: "GRU", steps: 4, batch: 3, feat: 3, hidden: 4, bias: true, initial: true, clip: 0.4, outs: []int{0, 1}},
	{name: "gru_clip_lbr_bidirectional", op: "GRU", steps: 4, batch: 2, feat: 3, hidden: 3, lbr: 1, dir: "bidirectional", bias: true, clip: 0.5, outs: []int{0, 1}},
	{name: "gru_elu_softsign", op: "GRU", steps: 3, batch: 2, feat: 2, hidden: 3, bias: true, acts: []string{"Softsign", "Elu"}, alphas: []float32{0.7}, outs: []int{0, 1}},
	{name: "rnn_clip_leaky", op: "RNN", steps: 4, batch: 2, feat: 3, hidden: 4, bias: true, clip: 0.5, acts: []string{"LeakyRelu"}, outs: []int{0, 1}},
	{name: "rnn_thresholded", op: "RNN", steps: 3, batch: 2, feat: 3, hidden: 4, bias: true, acts: []string{"ThresholdedRelu"}, alphas: []float32{0.1}, outs: []int{0, 1}},
	{name: "rnn_thresholded_default_alpha", op: "RNN", steps: 3, batch: 2, feat: 3, hidden: 4, bias: true, acts: []string{"ThresholdedRelu"}, outs: []int{0, 1}, refused: "ambiguous"},
	{name: "lstm_scaled_tanh", op: "LSTM", steps: 2, batch: 2, feat: 2, hidden: 2, acts: []string{"Sigmoid", "ScaledTanh", "Tanh"}, outs: []int{0}, refused: "ScaledTanh"},
	{name: "rnn_directions_differ", op: "RNN", steps: 3, batch: 2, feat: 2, hidden: 3, dir: "bidirectional", bias: true, acts: []string{"Tanh"}, backActs: []string{"Relu"}, outs: []int{0, 1}},
	{name: "lstm_directions_differ", op: "LSTM", steps: 4, batch: 2, feat: 3, hidden: 3, dir: "bidirectional", bias: true, initial: true,
		acts: []string{"Sigmoid", "Tanh", "Tanh"}, backActs: []string{"HardSigmoid", "Softsign", "Relu"}, outs: []int{0, 1, 2}},
	{name: "gru_batchwise_directions_differ", op: "GRU", layout: 1, steps: 3, batch: 2, feat: 3, hidden: 3, dir: "bidirectional", bias: true,
		acts: []string{"Sigmoid", "Tanh"}, backActs: []string{"HardSigmoid", "Tanh"}, outs: []int{0, 1}},
	{name: "gru_directions_differ_lbr", op: "GRU", steps: 3, batch: 2, feat: 3, hidden: 3, lbr: 1, dir: "bidirectional", bias: true,
		acts: []string{"Sigmoid", "Tanh"}, backActs: []string{"Sigmoid", "Softsign"}, outs: []int{0, 1}},
	{name: "lstm_peepholes_bad_shape", op: "LSTM", steps: 2, batch: 2, feat: 2, hidden: 2, peepholes: true, badP: true, outs: []int{0}, refused: "P has shape (1, 4), expected (1, 6)"},
	{name: "gru_input_forget", op: "GRU", steps: 2, batch: 2, feat: 2, hidden: 2, forget: true, outs: []int{0}, refused: "input_forget"},
}

// gates is the number of gate blocks of an op's W, R and B.
func gates(op string) int {
	return map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[op]
}

// model builds the case's ONNX file in dir, with layout (the case's, or 0
// for ONNX Runtime, which runs no batch-first recurrences); X is the graph
// input "x". Weights come from a generator seeded with seed, so both
// layouts get the same ones (initial states transposed).
func (c rnnCase) model(t *testing.T, dir string, seed uint64, layout int64) string {
	r := rand.New(rand.NewPCG(seed, 3))
	t.Helper()
	dirs := 1
	if c.dir == "bidirectional" {
		dirs = 2
	}
	g, h := gates(c.op), c.hidden
	f32 := func(name string, dims []int64) *onnxpb.TensorProto {
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.5)
		}
		if (name == "h0" || name == "c0") && layout != c.layout {
			// Drawn as (N, D, H), written as (D, N, H).
			v = swap01(v, int(dims[1]), int(dims[0]), int(dims[2]))
		}
		raw := make([]byte, 4*n)
		for i, x := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw}
	}
	vi := func(name string, dims ...int64) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
	}
	T, N := int64(c.steps), int64(c.batch)
	x := vi("x", T, N, int64(c.feat))
	state := []int64{int64(dirs), N, int64(h)}
	if layout == 1 {
		x = vi("x", N, T, int64(c.feat))
		state = []int64{N, int64(dirs), int64(h)}
	}
	ins := []string{"x", "W", "R", "", "", "", "", ""}
	inits := []*onnxpb.TensorProto{f32("W", []int64{int64(dirs), int64(g * h), int64(c.feat)}), f32("R", []int64{int64(dirs), int64(g * h), int64(h)})}
	if c.bias {
		ins[3] = "B"
		inits = append(inits, f32("B", []int64{int64(dirs), int64(2 * g * h)}))
	}
	if c.seqLens != nil {
		ins[4] = "seq_lens"
		inits = append(inits, &onnxpb.TensorProto{Name: proto.String("seq_lens"), Dims: []int64{int64(len(c.seqLens))},
			DataType: proto.Int32(int32(onnxpb.TensorProto_INT32)), Int32Data: func() []int32 {
				var v []int32
				for _, l := range c.seqLens {
					v = append(v, int32(l))
				}
				return v
			}()})
	}
	if c.initial {
		ins[5] = "h0"
		inits = append(inits, f32("h0", state))
		if c.op == "LSTM" {
			ins[6] = "c0"
			inits = append(inits, f32("c0", state))
		}
	}
	if c.peepholes {
		ins[7] = "P"
		rows := 3
		if c.badP {
			rows = 2
		}
		inits = append(inits, f32("P", []int64{int64(dirs), int64(rows * h)}))
	}
	for len(ins) > 0 && ins[len(ins)-1] == "" {
		ins = ins[:len(ins)-1]
	}
	outNames := []string{"", "", ""}
	var outs []*onnxpb.ValueInfoProto
	for _, o := range c.outs {
		outNames[o] = []string{"y", "y_h", "y_c"}[o]
		outs = append(outs, &onnxpb.ValueInfoProto{Name: proto.String(outNames[o])})
	}
	for len(outNames) > 0 && outNames[len(outNames)-1] == "" {
		outNames = outNames[:len(outNames)-1]
	}
	attrs := []*onnxpb.AttributeProto{
		{Name: proto.String("hidden_size"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(h))},
		{Name: proto.String("layout"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(layout)},
	}
	if c.dir != "" {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("direction"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(c.dir)})
	}
	if c.op == "GRU" {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("linear_before_reset"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(c.lbr)})
	}
	if c.acts != nil {
		a := &onnxpb.AttributeProto{Name: proto.String("activations"), Type: onnxpb.AttributeProto_STRINGS.Enum()}
		for d := 0; d < dirs; d++ {
			acts := c.acts // one direction's list, repeated
			if d == 1 && c.backActs != nil {
				acts = c.backActs
			}
			for _, s := range acts {
				a.Strings = append(a.Strings, []byte(s))
			}
		}
		attrs = append(attrs, a)
	}
	if c.alphas != nil {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("activation_alpha"), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: c.alphas})
	}
	if c.betas != nil {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("activation_beta"), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: c.betas})
	}
	if c.clip != 0 {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("clip"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(c.clip)})
	}
	if c.forget {
		attrs = append(attrs, &onnxpb.AttributeProto{Name: proto.String("input_forget"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)})
	}
	gp := &onnxpb.GraphProto{Name: proto.String(c.name), Input: []*onnxpb.ValueInfoProto{x}, Initializer: inits,
		Node:   []*onnxpb.NodeProto{{Name: proto.String(c.name), OpType: proto.String(c.op), Input: ins, Output: outNames, Attribute: attrs}},
		Output: outs}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: gp,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(14)}}}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, fmt.Sprintf("%s.layout%d.onnx", c.name, layout))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRecurrentNodesORT imports each recurrent node form, runs it in kconv
// and compares every output with ONNX Runtime's; the forms kconv leaves
// out fail at import, naming what they use.
func TestRecurrentNodesORT(t *testing.T) {
	node, modules := ortModules(t)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(12, 1))
	var jobs []ortJob
	got := map[string][]*ir.Tensor{}
	exported := map[string][]string{} // case → its export's outputs
	nkeras := 0                       // cases checked to be refused by exporter/keras
	for k, c := range rnnCases {
		seed := uint64(100 + k)
		path := c.model(t, dir, seed, c.layout)
		m, err := onnx.Load(path)
		if c.refused != "" {
			if err == nil || !strings.Contains(err.Error(), c.refused) || !strings.Contains(err.Error(), "node '"+c.name+"'") {
				t.Errorf("%s: want an error naming the node and %q, got %v", c.name, c.refused, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		p, err := exec.Compile(m, exec.Options{Threads: 1})
		if err != nil {
			t.Errorf("%s: compile: %v", c.name, err)
			continue
		}
		shape := m.InputTypes()[0].Shape.Clone()
		xt := ir.NewTensor(shape, ir.LayoutNone)
		for i := range xt.Data {
			xt.Data[i] = float32(r.NormFloat64())
		}
		outs, err := p.Run(context.Background(), []*ir.Tensor{xt})
		if err != nil {
			t.Errorf("%s: run: %v", c.name, err)
			continue
		}
		got[c.name] = outs
		// ONNX Runtime runs the time-major twin of a batch-first case.
		ortPath, ortX := path, xt
		if c.layout == 1 {
			ortPath = c.model(t, dir, seed, 0)
			ortX = &ir.Tensor{Shape: ir.Shape{shape[1], shape[0], shape[2]}, Data: swap01(xt.Data, shape[0], shape[1], shape[2])}
		}
		job := ortJob{ID: c.name, Model: ortPath, Inputs: map[string]string{"x": filepath.Join(dir, c.name+".x.npy")}, Outputs: map[string]string{}}
		writeNPY(t, job.Inputs["x"], ortX)
		for _, o := range c.outs {
			name := []string{"y", "y_h", "y_c"}[o]
			job.Outputs[name] = filepath.Join(dir, c.name+"."+name+".npy")
		}
		jobs = append(jobs, job)
		// kconv's own export of the imported node, run by ONNX Runtime
		// on the same input, must give kconv's outputs.
		rt := ortJob{ID: c.name + "/export", Model: filepath.Join(dir, c.name+".export.onnx"), Inputs: map[string]string{}, Outputs: map[string]string{}}
		if err := exportRT(m, rt.Model); err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else {
			rt.Inputs[m.Inputs[0]] = filepath.Join(dir, c.name+".kx.npy")
			writeNPY(t, rt.Inputs[m.Inputs[0]], xt)
			for i, name := range m.Outputs {
				rt.Outputs[name] = filepath.Join(dir, fmt.Sprintf("%s.export%d.npy", c.name, i))
			}
			jobs = append(jobs, rt)
			exported[c.name] = m.Outputs
		}
		// Keras has no spelling for ONNX's cell options: refused naming
		// the node (checked on batch-first nodes, since a time-major
		// one is refused first for its transpose of the batch axis).
		if c.layout == 1 && (c.peepholes || c.clip != 0 || c.forget || c.backActs != nil || len(c.acts) == 3 && c.acts[1] != c.acts[2]) {
			err := keras.WriteKeras3(m, filepath.Join(dir, c.name+".keras"), keras.K3Options{})
			if err == nil || !strings.Contains(err.Error(), c.name) || !strings.Contains(err.Error(), "ONNX's") {
				t.Errorf("%s: Keras export: want an error naming the node, got %v", c.name, err)
			}
			nkeras++
		}
	}
	results := runORTJobs(t, node, modules, dir, jobs)
	nexp := 0
	for _, c := range rnnCases {
		names := exported[c.name]
		if names == nil {
			continue
		}
		if e := results[c.name+"/export"]; e != "" {
			t.Errorf("%s: kconv's export in ONNX Runtime: %s", c.name, e)
			continue
		}
		for i, name := range names {
			shape, data, _, err := tensorio.ReadNPY(filepath.Join(dir, fmt.Sprintf("%s.export%d.npy", c.name, i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := allCloseTol(got[c.name][i], &ir.Tensor{Shape: shape, Data: data}, 1e-4, 1e-5); err != nil {
				t.Errorf("%s: kconv's export, output %s: %v", c.name, name, err)
			}
		}
		nexp++
	}
	for _, c := range rnnCases {
		if got[c.name] == nil {
			continue
		}
		if e := results[c.name]; e != "" {
			t.Errorf("%s: ONNX Runtime: %s", c.name, e)
			continue
		}
		for i, o := range c.outs {
			name := []string{"y", "y_h", "y_c"}[o]
			shape, data, _, err := tensorio.ReadNPY(filepath.Join(dir, c.name+"."+name+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			want := &ir.Tensor{Shape: shape, Data: data}
			if c.layout == 1 {
				// Time-major Y (T, D, N, H) → (N, T, D, H); states
				// (D, N, H) → (N, D, H).
				if o == 0 {
					want = &ir.Tensor{Shape: ir.Shape{shape[2], shape[0], shape[1], shape[3]}, Data: moveAxis2(data, shape)}
				} else {
					want = &ir.Tensor{Shape: ir.Shape{shape[1], shape[0], shape[2]}, Data: swap01(data, shape[0], shape[1], shape[2])}
				}
			}
			if err := allCloseTol(got[c.name][i], want, 1e-4, 1e-5); err != nil {
				t.Errorf("%s: output %s: %v", c.name, name, err)
			}
		}
	}
	t.Logf("%d forms match ONNX Runtime, %d refused; %d exported back to ONNX run in ONNX Runtime to kconv's outputs; %d refused by exporter/keras",
		len(got), len(rnnCases)-len(got), nexp, nkeras)
}

// swap01 transposes (a, b, c) data to (b, a, c).
func swap01(v []float32, a, b, c int) []float32 {
	out := make([]float32, len(v))
	for i := 0; i < a; i++ {
		for j := 0; j < b; j++ {
			copy(out[(j*a+i)*c:(j*a+i+1)*c], v[(i*b+j)*c:(i*b+j+1)*c])
		}
	}
	return out
}

// moveAxis2 transposes (T, D, N, H) data to (N, T, D, H).
func moveAxis2(v []float32, s []int) []float32 {
	T, D, N, H := s[0], s[1], s[2], s[3]
	out := make([]float32, len(v))
	for t := 0; t < T; t++ {
		for d := 0; d < D; d++ {
			for n := 0; n < N; n++ {
				copy(out[((n*T+t)*D+d)*H:((n*T+t)*D+d+1)*H], v[((t*D+d)*N+n)*H:((t*D+d)*N+n+1)*H])
			}
		}
	}
	return out
}
