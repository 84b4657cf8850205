package exec_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
	"github.com/kconv/kconv/zoo"
)

// TestRecurrentStatesHand runs a tf.keras 2 functional config whose
// encoder LSTM returns its states and whose decoder SimpleRNN starts from
// the encoder's h (given as an extra inbound tensor, as Keras 2 writes
// initial_state), with weights set here, and checks every output against
// values computed from Keras's cell equations: the decoder's steps, the
// encoder's final c, and a state read twice (once as an output, once by a
// layer).
func TestRecurrentStatesHand(t *testing.T) {
	cfg := `{"class_name": "Functional", "keras_version": "2.4.0", "config": {"name": "m", "layers": [
	 {"class_name": "InputLayer", "config": {"name": "a", "batch_input_shape": [null, 3, 1]}, "name": "a", "inbound_nodes": []},
	 {"class_name": "InputLayer", "config": {"name": "b", "batch_input_shape": [null, 2, 1]}, "name": "b", "inbound_nodes": []},
	 {"class_name": "LSTM", "config": {"name": "enc", "units": 1, "return_state": true, "recurrent_activation": "sigmoid"}, "name": "enc", "inbound_nodes": [[["a", 0, 0, {}]]]},
	 {"class_name": "SimpleRNN", "config": {"name": "dec", "units": 1, "return_sequences": true}, "name": "dec", "inbound_nodes": [[["b", 0, 0, {}], ["enc", 0, 1, {}]]]},
	 {"class_name": "Activation", "config": {"name": "act", "activation": "linear"}, "name": "act", "inbound_nodes": [[["enc", 0, 2, {}]]]}],
	 "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["dec", 0, 0], ["enc", 0, 2], ["act", 0, 0], ["enc", 0, 1]]}}`
	path := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := load.Model(path, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := func(name string, data ...[]float32) {
		n := m.Node(name)
		n.Weights = nil
		for i, s := range n.Specs {
			n.Weights = append(n.Weights, ir.ConstWeight(s.Name, s.Shape, data[i]))
		}
	}
	// LSTM gates i, f, c, o.
	set("enc", []float32{0.3, -0.4, 0.8, 1.1}, []float32{0.2, 0.5, -0.6, 0.7}, []float32{0.01, 1, -0.2, 0.05})
	set("dec", []float32{0.9}, []float32{-0.5}, []float32{0.1})
	p, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := []float32{1, -2, 0.5}
	bx := []float32{0.25, -1}
	outs, err := p.Run(context.Background(), []*ir.Tensor{{Shape: ir.Shape{1, 3, 1}, Data: a}, {Shape: ir.Shape{1, 2, 1}, Data: bx}})
	if err != nil {
		t.Fatal(err)
	}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	var h, c float64
	for _, v := range a {
		x := float64(v)
		i := sig(0.3*x + 0.2*h + 0.01)
		f := sig(-0.4*x + 0.5*h + 1)
		cc := math.Tanh(0.8*x - 0.6*h - 0.2)
		o := sig(1.1*x + 0.7*h + 0.05)
		c = f*c + i*cc
		h = o * math.Tanh(c)
	}
	d := h
	var dec []float64
	for _, v := range bx {
		d = math.Tanh(0.9*float64(v) - 0.5*d + 0.1)
		dec = append(dec, d)
	}
	want := [][]float64{dec, {c}, {c}, {h}}
	wantShape := []ir.Shape{{1, 2, 1}, {1, 1}, {1, 1}, {1, 1}}
	for k, w := range want {
		g := outs[k]
		if !g.Shape.Equal(wantShape[k]) {
			t.Errorf("output %d (%s): shape %v, want %v", k, m.Outputs[k], g.Shape, wantShape[k])
			continue
		}
		for i := range w {
			if math.Abs(float64(g.Data[i])-w[i]) > 1e-6 {
				t.Errorf("output %d (%s)[%d] = %v, want %v", k, m.Outputs[k], i, g.Data[i], w[i])
			}
		}
	}
	// A second Compile of the same model (weights read again) gives the
	// same program.
	if _, err := exec.Compile(m, exec.Options{Threads: 1}); err != nil {
		t.Errorf("second compile: %v", err)
	}
}

// TestVariableLength: a model whose input is (None, None, 3) (the
// keras-seq file 22, copied into importer/keras/testdata) compiles once
// and runs at every sequence length its inputs have, each length giving
// what a model fixed to that length gives, from one Program used by
// several goroutines at once.
func TestVariableLength(t *testing.T) {
	path := filepath.Join("..", "importer", "keras", "testdata", "seq22_tfk_bilstm_repeatvector_varlen.h5")
	m, err := load.Model(path, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	lengths := []int{1, 4, 9, 4}
	got := make([][]*ir.Tensor, len(lengths))
	errs := make([]error, len(lengths))
	inputs := make([]*ir.Tensor, len(lengths))
	done := make(chan int)
	for i, T := range lengths {
		x := ir.NewTensor(ir.Shape{2, T, 3}, ir.LayoutNone)
		for k := range x.Data {
			x.Data[k] = float32(math.Sin(float64(k)*0.37 + float64(T)))
		}
		inputs[i] = x
		go func() {
			got[i], errs[i] = p.Run(context.Background(), []*ir.Tensor{x})
			done <- i
		}()
	}
	for range lengths {
		<-done
	}
	for i, T := range lengths {
		if errs[i] != nil {
			t.Fatalf("length %d: %v", T, errs[i])
		}
		fixed := fixedLength(t, m, T)
		fp, err := exec.Compile(fixed, exec.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		want, err := fp.Run(context.Background(), []*ir.Tensor{inputs[i]})
		if err != nil {
			t.Fatal(err)
		}
		if !got[i][0].Shape.Equal(want[0].Shape) || !equalF(got[i][0].Data, want[0].Data) {
			t.Errorf("length %d: %v %v, fixed-length model gives %v %v", T, got[i][0].Shape, got[i][0].Data[:4], want[0].Shape, want[0].Data[:4])
		}
	}
	if equalF(got[0][0].Data, got[1][0].Data) {
		t.Errorf("lengths 1 and 4 give the same output")
	}
	// A bad length or feature count is a clean error naming the input.
	if _, err := p.Run(context.Background(), []*ir.Tensor{ir.NewTensor(ir.Shape{1, 4, 2}, ir.LayoutNone)}); err == nil || !strings.Contains(err.Error(), m.Inputs[0]) {
		t.Errorf("4 features: %v", err)
	}
}

// fixedLength returns a copy of m whose (batch, steps, features) input has
// T steps.
func fixedLength(t *testing.T, m *ir.Model, T int) *ir.Model {
	t.Helper()
	c := *m
	c.Nodes = nil
	for _, n := range m.Nodes {
		nn := *n
		if in, ok := n.Op.(*ir.Input); ok {
			s := in.Type.Shape.Clone()
			s[1] = T
			nn.Op = &ir.Input{Type: ir.TensorType{Shape: s, Layout: in.Type.Layout}}
		}
		c.Nodes = append(c.Nodes, &nn)
	}
	if err := ir.RunPasses(&c, ir.PassInfer); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestVariableImageSize: unknown dimensions after the batch need not be
// sequence lengths: a fully convolutional model over (None, None, 3)
// images runs at each image size to what the model fixed to that size
// gives.
func TestVariableImageSize(t *testing.T) {
	build := func(h, w int) *ir.Model {
		b := ir.NewBuilder("fully_conv")
		b.Input("x", ir.Shape{h, w, 3}, ir.ChannelsLast)
		b.Add("conv", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, Padding: ir.PadSame}, UseBias: true,
			Activation: ir.Act{Name: "relu"}, DataFormat: ir.ChannelsLast})
		b.Add("gap", &ir.GlobalPool2D{DataFormat: ir.ChannelsLast})
		m, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		zoo.RandomWeights(m, 1)
		return m
	}
	p, err := exec.Compile(build(-1, -1), exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][2]int{{5, 6}, {9, 4}, {5, 6}} {
		x := ir.NewTensor(ir.Shape{2, s[0], s[1], 3}, ir.ChannelsLast)
		for i := range x.Data {
			x.Data[i] = float32(math.Cos(float64(i) * 0.21))
		}
		got, err := p.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		fp, err := exec.Compile(build(s[0], s[1]), exec.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		want, err := fp.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		if !equalF(got[0].Data, want[0].Data) {
			t.Errorf("size %v: %v, fixed-size model gives %v", s, got[0].Data, want[0].Data)
		}
	}
}
