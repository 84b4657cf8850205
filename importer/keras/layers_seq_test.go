package keras

import (
	"path/filepath"

	"github.com/kconv/kconv/internal/h5"
	"os"

	"fmt"
	"github.com/kconv/kconv/summary"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

// seqArch parses a one-layer Sequential config over input (steps, 2).
func seqArch(version, layer string) (*ir.Model, error) {
	cfg := fmt.Sprintf(`{"class_name": "Sequential", "keras_version": %q, "config": [
	 {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 5, 2]}}, %s]}`, version, layer)
	return ParseConfig([]byte(cfg), "seq.json", Options{})
}

// TestSeqLayerConfigs checks config reading against Keras's parameter
// counts and defaults (GRU: 3·(n² + n·m + n), plus 3n with reset_after).
func TestSeqLayerConfigs(t *testing.T) {
	cases := []struct {
		name, version, layer string
		params               int64
		out                  ir.Shape
		check                func(op ir.Op) error
	}{
		{"gru_k2_default_reset_before", "2.2.4", `{"class_name": "GRU", "config": {"name": "g", "units": 3}}`, 54, ir.Shape{-1, 3},
			func(op ir.Op) error {
				r := op.(*ir.Recurrent)
				if r.ResetAfter || r.RecurrentActivation.Name != "hard_sigmoid" || r.RecurrentActivation.Alpha != 0.2 {
					return fmt.Errorf("Keras 2 defaults: %+v", r)
				}
				return nil
			}},
		{"gru_k3_default_reset_after", "3.5.0", `{"class_name": "GRU", "config": {"name": "g", "units": 3, "return_sequences": true}}`, 63, ir.Shape{-1, 5, 3},
			func(op ir.Op) error {
				r := op.(*ir.Recurrent)
				if !r.ResetAfter || r.RecurrentActivation.Name != "sigmoid" {
					return fmt.Errorf("Keras 3 defaults: %+v", r)
				}
				return nil
			}},
		{"gru_k1", "1.2.2", `{"class_name": "GRU", "config": {"name": "g", "output_dim": 3, "inner_activation": "sigmoid"}}`, 54, ir.Shape{-1, 3}, nil},
		{"lstm_keras3_hard_sigmoid", "3.5.0", `{"class_name": "LSTM", "config": {"name": "l", "units": 4, "recurrent_activation": "hard_sigmoid"}}`, 4 * (16 + 8 + 4), ir.Shape{-1, 4},
			func(op ir.Op) error {
				if a := op.(*ir.Recurrent).RecurrentActivation; a.Alpha != 1.0/6 {
					return fmt.Errorf("Keras 3 hard_sigmoid slope %v", a.Alpha)
				}
				return nil
			}},
		{"simple_rnn_no_bias", "2.2.4", `{"class_name": "SimpleRNN", "config": {"name": "s", "units": 4, "use_bias": false, "go_backwards": true}}`, 8 + 16, ir.Shape{-1, 4}, nil},
		{"bidirectional_sum", "2.2.4", `{"class_name": "Bidirectional", "config": {"name": "b", "merge_mode": "sum", "layer": {"class_name": "LSTM", "config": {"name": "l", "units": 3, "return_sequences": true}}}}`, 2 * 4 * (6 + 9 + 3), ir.Shape{-1, 5, 3}, nil},
		{"bidirectional_concat", "2.2.4", `{"class_name": "Bidirectional", "config": {"name": "b", "layer": {"class_name": "GRU", "config": {"name": "g", "units": 3}}}}`, 2 * 54, ir.Shape{-1, 6}, nil},
		{"time_distributed_dense", "2.2.4", `{"class_name": "TimeDistributed", "config": {"name": "td", "layer": {"class_name": "Dense", "config": {"name": "d", "units": 7}}}}`, 2*7 + 7, ir.Shape{-1, 5, 7}, nil},
		{"conv1d_causal", "2.2.4", `{"class_name": "Conv1D", "config": {"name": "c", "filters": 4, "kernel_size": [3], "dilation_rate": [2], "padding": "causal"}}`, 3*2*4 + 4, ir.Shape{-1, 5, 4}, nil},
		{"conv1d_k1", "1.2.2", `{"class_name": "Convolution1D", "config": {"name": "c", "nb_filter": 4, "filter_length": 2, "subsample_length": 2, "border_mode": "valid"}}`, 2*2*4 + 4, ir.Shape{-1, 2, 4}, nil},
		{"maxpool1d_k1", "1.2.2", `{"class_name": "MaxPooling1D", "config": {"name": "p", "pool_length": 2, "stride": null}}`, 0, ir.Shape{-1, 2, 2}, nil},
		{"avgpool1d_same", "2.2.4", `{"class_name": "AveragePooling1D", "config": {"name": "p", "pool_size": [2], "strides": [2], "padding": "same"}}`, 0, ir.Shape{-1, 3, 2}, nil},
		{"global_max_pool1d", "2.2.4", `{"class_name": "GlobalMaxPooling1D", "config": {"name": "p"}}`, 0, ir.Shape{-1, 2}, nil},
		{"layer_norm", "2.4.0", `{"class_name": "LayerNormalization", "config": {"name": "n", "axis": [-1], "epsilon": 1e-6}}`, 4, ir.Shape{-1, 5, 2}, nil},
		{"layer_norm_two_axes_no_center", "3.5.0", `{"class_name": "LayerNormalization", "config": {"name": "n", "axis": [1, 2], "center": false}}`, 10, ir.Shape{-1, 5, 2}, nil},
		{"masking", "2.2.4", `{"class_name": "Masking", "config": {"name": "m", "mask_value": 2.0}}`, 0, ir.Shape{-1, 5, 2}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := seqArch(c.version, c.layer)
			if err != nil {
				t.Fatal(err)
			}
			n := m.Nodes[len(m.Nodes)-1]
			if tr, nt := m.Params(); tr+nt != c.params {
				t.Errorf("params %d, Keras counts %d", tr+nt, c.params)
			}
			if !n.Out.Shape.Equal(c.out) {
				t.Errorf("output %v, want %v", n.Out.Shape, c.out)
			}
			if c.check != nil {
				if err := c.check(n.Op); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestSeqLayerRefusals: what kconv cannot run fails cleanly, naming the
// layer.
func TestSeqLayerRefusals(t *testing.T) {
	for _, c := range []struct{ layer, want string }{
		{`{"class_name": "LSTM", "config": {"name": "l", "units": 3, "stateful": true}}`, "stateful"},
		{`{"class_name": "LSTM", "config": {"name": "l", "units": 3, "return_state": true}}`, "return_state"},
		{`{"class_name": "Bidirectional", "config": {"name": "l", "merge_mode": null, "layer": {"class_name": "LSTM", "config": {"name": "x", "units": 3}}}}`, "merge_mode"},
		{`{"class_name": "Conv1D", "config": {"name": "l", "filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}}`, "dilation"},
		{`{"class_name": "Conv1D", "config": {"name": "l", "filters": 2, "kernel_size": 3, "padding": "full"}}`, "padding"},
		{`{"class_name": "LayerNormalization", "config": {"name": "l", "axis": 1}}`, "trailing"},
		{`{"class_name": "LayerNormalization", "config": {"name": "l", "rms_scaling": true}}`, "rms_scaling"},
	} {
		_, err := seqArch("2.2.4", c.layer)
		if err == nil || !strings.Contains(err.Error(), "layer 'l'") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming layer 'l' and %q", c.layer, err, c.want)
		}
	}
}

// TestAttentionConfig reads a functional Attention([query, value, key])
// with use_scale (one parameter, as Keras counts it).
func TestAttentionConfig(t *testing.T) {
	cfg := `{"class_name": "Model", "keras_version": "2.4.0", "config": {"name": "m", "layers": [
	 {"name": "q", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 4, 3], "name": "q"}, "inbound_nodes": []},
	 {"name": "v", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 2], "name": "v"}, "inbound_nodes": []},
	 {"name": "k", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 3], "name": "k"}, "inbound_nodes": []},
	 {"name": "att", "class_name": "Attention", "config": {"name": "att", "use_scale": true, "causal": false},
	  "inbound_nodes": [[["q", 0, 0, {}], ["v", 0, 0, {}], ["k", 0, 0, {}]]]}],
	 "input_layers": [["q", 0, 0], ["v", 0, 0], ["k", 0, 0]], "output_layers": [["att", 0, 0]]}}`
	m, err := ParseConfig([]byte(cfg), "att.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := m.Node("att")
	if tr, _ := m.Params(); tr != 1 || !n.Out.Shape.Equal(ir.Shape{-1, 4, 2}) {
		t.Errorf("params %d, output %v; want 1 and (None, 4, 2)", tr, n.Out.Shape)
	}
	bad := strings.Replace(cfg, `"causal": false`, `"causal": true`, 1)
	if _, err := ParseConfig([]byte(bad), "att.json", Options{}); err == nil || !strings.Contains(err.Error(), "causal") {
		t.Errorf("causal attention: %v", err)
	}
}

// TestMultiHeadAttentionConfig reads tf.keras's MultiHeadAttention(query,
// value=...) (value passed by keyword) with Keras's parameter count.
func TestMultiHeadAttentionConfig(t *testing.T) {
	cfg := `{"class_name": "Functional", "keras_version": "2.9.0", "config": {"name": "m", "layers": [
	 {"name": "q", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 4, 5], "name": "q"}, "inbound_nodes": []},
	 {"name": "v", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 7], "name": "v"}, "inbound_nodes": []},
	 {"name": "mha", "class_name": "MultiHeadAttention", "config": {"name": "mha", "num_heads": 2, "key_dim": 3, "value_dim": null,
	   "use_bias": true, "output_shape": null, "attention_axes": [1], "dropout": 0.0},
	  "inbound_nodes": [[["q", 0, 0, {"value": ["v", 0, 0]}]]]}],
	 "input_layers": [["q", 0, 0], ["v", 0, 0]], "output_layers": [["mha", 0, 0]]}}`
	m, err := ParseConfig([]byte(cfg), "mha.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := m.Node("mha")
	// query 5·2·3+6, key 7·2·3+6, value 7·2·3+6, output 2·3·5+5.
	if tr, _ := m.Params(); tr != 167 || !n.Out.Shape.Equal(ir.Shape{-1, 4, 5}) || len(n.Inputs) != 2 {
		t.Errorf("params %d, output %v, inputs %v; want 167, (None, 4, 5), [q v]", tr, n.Out.Shape, n.Inputs)
	}
}

// TestRecurrentStates reads the same encoder-decoder model written as a
// tf.keras 2.4 config (initial_state as extra inbound tensors) and as a
// Keras 3 config (initial_state as a call keyword; a Bidirectional with
// the backward_layer copy Keras 3 always writes): LSTMs and a
// Bidirectional GRU with return_state, a decoder started from the
// encoder's states, a Dense on one of the Bidirectional's states. Both
// give the same graph, Keras's parameter count, and summaries as Keras
// prints multi-output layers (a list of shapes; "encoder[0][1]").
func TestRecurrentStates(t *testing.T) {
	for _, v := range []string{"k2", "k3"} {
		t.Run(v, func(t *testing.T) {
			path := "testdata/rnn_state_" + v + ".json"
			m, err := Load(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			idx := m.Index()
			in := func(name string) string { return strings.Join(idx[name].Inputs, " ") }
			if got := in("decoder"); got != "decoder_in encoder:1 encoder:2" {
				t.Errorf("decoder inputs %q", got)
			}
			if got := in("dense"); got != "bidirectional:2" {
				t.Errorf("dense inputs %q", got)
			}
			if got := strings.Join(m.Outputs, " "); got != "bidirectional decoder:2 dense" {
				t.Errorf("outputs %q", got)
			}
			for name, idx2 := range map[string]int{"encoder:1": 1, "encoder:2": 2, "bidirectional:2": 2} {
				st, ok := idx[name].Op.(*ir.RecurrentState)
				if !ok || st.Index != idx2 || idx[name].Inputs[0] != strings.Split(name, ":")[0] {
					t.Errorf("%s: %+v", name, idx[name].Op)
				}
			}
			// A Bidirectional GRU's outputs: merged, forward h, backward h.
			if n := idx["bidirectional:2"]; n == nil || !n.Out.Shape.Equal(ir.Shape{-1, 2}) || idx["bidirectional:3"] != nil {
				t.Errorf("bidirectional's states are not exactly forward h and backward h")
			}
			if tr, nt := m.Params(); tr != 258 || nt != 0 {
				t.Errorf("params %d + %d, Keras counts 258", tr, nt)
			}
			var buf strings.Builder
			if err := summary.Render(&buf, m, summary.Auto); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile("testdata/rnn_state_" + v + ".summary.txt")
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != string(want) {
				t.Errorf("summary differs:\n%s\nwant:\n%s", buf.String(), want)
			}
		})
	}
}

// TestRecurrentStateRefusals: stateful layers stay a clean error; a layer
// with several outputs in a Sequential model is refused as Keras refuses
// it; a wrong number of initial states names the layer.
func TestRecurrentStateRefusals(t *testing.T) {
	if _, err := seqArch("2.2.4", `{"class_name": "LSTM", "config": {"name": "l", "units": 3, "stateful": true}}`); err == nil || !strings.Contains(err.Error(), "stateful") {
		t.Errorf("stateful: %v", err)
	}
	if _, err := seqArch("2.2.4", `{"class_name": "LSTM", "config": {"name": "l", "units": 3, "return_state": true}}`); err == nil || !strings.Contains(err.Error(), "'l'") || !strings.Contains(err.Error(), "several outputs") {
		t.Errorf("return_state in a Sequential model: %v", err)
	}
	cfg := `{"class_name": "Model", "keras_version": "2.2.4", "config": {"name": "m", "layers": [
	 {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 5, 2]}, "name": "x", "inbound_nodes": []},
	 {"class_name": "InputLayer", "config": {"name": "h", "batch_input_shape": [null, 3]}, "name": "h", "inbound_nodes": []},
	 {"class_name": "LSTM", "config": {"name": "lstm", "units": 3}, "name": "lstm", "inbound_nodes": [[["x", 0, 0, {}], ["h", 0, 0, {}]]]}],
	 "input_layers": [["x", 0, 0], ["h", 0, 0]], "output_layers": [["lstm", 0, 0]]}}`
	if _, err := ParseConfig([]byte(cfg), "m.json", Options{}); err == nil || !strings.Contains(err.Error(), "lstm") || !strings.Contains(err.Error(), "initial state") {
		t.Errorf("LSTM with one initial state: %v", err)
	}
}

// TestKeras3RecurrentWeights reads a Keras 3 .weights.h5 laid out as
// Keras 3 saves recurrent layers (the variables in the cell sublayer:
// layers/lstm/cell/vars/0..2; a Bidirectional's in
// layers/bidirectional/forward_layer/cell/vars and backward_layer/…, the
// layers' own vars groups empty) with the Keras 3 encoder-decoder config:
// every weight comes from its own dataset, forward before backward.
func TestKeras3RecurrentWeights(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rnn.weights.h5")
	w, err := h5.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Each dataset holds its own index in every element.
	type ds struct {
		group string
		shape []int
	}
	sets := []ds{
		{"layers/lstm/cell", []int{4, 12}}, {"layers/lstm/cell", []int{3, 12}}, {"layers/lstm/cell", []int{12}},
		{"layers/lstm_1/cell", []int{2, 12}}, {"layers/lstm_1/cell", []int{3, 12}}, {"layers/lstm_1/cell", []int{12}},
		{"layers/bidirectional/forward_layer/cell", []int{3, 6}}, {"layers/bidirectional/forward_layer/cell", []int{2, 6}}, {"layers/bidirectional/forward_layer/cell", []int{2, 6}},
		{"layers/bidirectional/backward_layer/cell", []int{3, 6}}, {"layers/bidirectional/backward_layer/cell", []int{2, 6}}, {"layers/bidirectional/backward_layer/cell", []int{2, 6}},
		{"layers/dense", []int{2, 2}}, {"layers/dense", []int{2}},
	}
	for _, g := range []string{"layers/lstm/vars", "layers/lstm_1/vars", "layers/bidirectional/vars", "layers/bidirectional/forward_layer/vars", "layers/bidirectional/backward_layer/vars"} {
		if _, err := w.CreateGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	count := map[string]int{}
	for i, s := range sets {
		n := 1
		for _, d := range s.shape {
			n *= d
		}
		data := make([]float32, n)
		for k := range data {
			data[k] = float32(i)
		}
		if err := w.WriteFloat32(fmt.Sprintf("%s/vars/%d", s.group, count[s.group]), s.shape, data); err != nil {
			t.Fatal(err)
		}
		count[s.group]++
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, Options{Arch: "testdata/rnn_state_k3.json"})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, name := range []string{"encoder", "decoder", "bidirectional", "dense"} {
		for _, wt := range m.Node(name).Weights {
			d, err := wt.Data()
			if err != nil {
				t.Fatalf("%s %s: %v", name, wt.Name, err)
			}
			if d[0] != float32(i) || len(d) != int(wt.Shape.Elements()) {
				t.Errorf("%s %s holds dataset %v, want %d", name, wt.Name, d[0], i)
			}
			i++
		}
	}
	if i != len(sets) {
		t.Errorf("%d weights, want %d", i, len(sets))
	}
}
