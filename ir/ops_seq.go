package ir

import (
	"fmt"
	"math"
)

// Sequence ops: tensors of shape (batch, steps, features), Keras's layout
// for text and time series (channels_first Conv1D/pooling: (batch,
// features, steps)).

// Window1D is the geometry of a 1-D convolution or pooling window.
type Window1D struct {
	K, Stride, Dilation int // window size, stride, dilation (0 or 1: none)
	// Padding is PadValid or PadSame; Causal (Conv1D "causal") left-pads
	// (K-1)·Dilation zeros instead.
	Padding Padding
	Causal  bool
}

// Window2D returns the equivalent window over an H=1 image (its width is
// the sequence); causal padding becomes explicit left padding.
func (w Window1D) Window2D() Window2D {
	w2 := Window2D{KH: 1, KW: w.K, SH: 1, SW: w.Stride, DH: 1, DW: max(w.Dilation, 1), Padding: w.Padding}
	if w.Causal {
		w2.Padding = PadExplicit
		w2.Pads = [4]int{0, 0, (w.K - 1) * max(w.Dilation, 1), 0}
	}
	return w2
}

// out returns the output length for an input of length n (-1: unknown).
func (w Window1D) out(n int) (int, error) {
	if w.Padding != PadValid && w.Padding != PadSame {
		return 0, fmt.Errorf("1-D padding %v is not supported", w.Padding)
	}
	_, o, _, err := w.Window2D().Resolve(1, n)
	if err != nil {
		return 0, err
	}
	if n >= 0 && o < 1 {
		return 0, fmt.Errorf("output length %d is empty for input length %d", o, n)
	}
	return o, nil
}

// seq3 splits a rank-3 sequence type into steps and features for data
// format df.
func seq3(in []TensorType, df Layout) (steps, feat int, err error) {
	if err := checkInputs(in, 1); err != nil {
		return 0, 0, err
	}
	s := in[0].Shape
	if len(s) != 3 {
		return 0, 0, fmt.Errorf("expected a rank-3 (batch, steps, features) input, got %v", s)
	}
	if df == ChannelsFirst {
		return s[2], s[1], nil
	}
	return s[1], s[2], nil
}

func seqShape(n, steps, feat int, df Layout) Shape {
	if df == ChannelsFirst {
		return Shape{n, feat, steps}
	}
	return Shape{n, steps, feat}
}

// Conv1D is a 1-D convolution (Keras Conv1D, Keras 1 Convolution1D).
// Kernel: (K, in, Filters); bias: (Filters).
type Conv1D struct {
	Filters int
	Window1D
	UseBias    bool
	Activation Act
	DataFormat Layout // ChannelsFirst: (batch, channels, steps)
}

func (*Conv1D) Kind() string { return "Conv1D" }
func (o *Conv1D) Infer(in []TensorType) (TensorType, error) {
	if o.Filters < 1 {
		return TensorType{}, fmt.Errorf("filters must be positive, got %d", o.Filters)
	}
	steps, _, err := seq3(in, o.DataFormat)
	if err != nil {
		return TensorType{}, err
	}
	out, err := o.out(steps)
	if err != nil {
		return TensorType{}, err
	}
	if err := o.Activation.Check(); err != nil {
		return TensorType{}, err
	}
	return TensorType{Shape: seqShape(in[0].Shape[0], out, o.Filters, o.DataFormat)}, nil
}
func (o *Conv1D) Weights(in []TensorType) []WeightSpec {
	_, c, _ := seq3(in, o.DataFormat)
	ws := []WeightSpec{{Name: "kernel", Shape: Shape{o.K, c, o.Filters}, Trainable: true}}
	if o.UseBias {
		ws = append(ws, WeightSpec{Name: "bias", Shape: Shape{o.Filters}, Trainable: true})
	}
	return ws
}

// Pool1D is max or average pooling over steps (Keras MaxPooling1D,
// AveragePooling1D); "same" average pooling divides by the cells inside
// the input.
type Pool1D struct {
	Max bool
	Window1D
	DataFormat Layout
}

func (o *Pool1D) Kind() string {
	if o.Max {
		return "MaxPooling1D"
	}
	return "AveragePooling1D"
}
func (o *Pool1D) Infer(in []TensorType) (TensorType, error) {
	steps, c, err := seq3(in, o.DataFormat)
	if err != nil {
		return TensorType{}, err
	}
	out, err := o.out(steps)
	if err != nil {
		return TensorType{}, err
	}
	return TensorType{Shape: seqShape(in[0].Shape[0], out, c, o.DataFormat)}, nil
}
func (*Pool1D) Weights([]TensorType) []WeightSpec { return nil }

// GlobalPool1D is max or average pooling over all steps (Keras
// GlobalMaxPooling1D, GlobalAveragePooling1D).
type GlobalPool1D struct {
	Max        bool
	KeepDims   bool
	DataFormat Layout
}

func (o *GlobalPool1D) Kind() string {
	if o.Max {
		return "GlobalMaxPooling1D"
	}
	return "GlobalAveragePooling1D"
}
func (o *GlobalPool1D) Infer(in []TensorType) (TensorType, error) {
	_, c, err := seq3(in, o.DataFormat)
	if err != nil {
		return TensorType{}, err
	}
	if o.KeepDims {
		return TensorType{Shape: seqShape(in[0].Shape[0], 1, c, o.DataFormat)}, nil
	}
	return TensorType{Shape: Shape{in[0].Shape[0], c}}, nil
}
func (*GlobalPool1D) Weights([]TensorType) []WeightSpec { return nil }

// Embedding maps integer indices (carried as float32 values) to rows of
// its table. Weight: embeddings (InputDim, OutputDim). An index outside
// [0, InputDim) is a run-time error.
type Embedding struct {
	InputDim, OutputDim int
	// MaskZero is Keras's mask_zero: index 0 masks its step for the
	// layers its mask reaches (ModelMasks).
	MaskZero bool
}

func (*Embedding) Kind() string { return "Embedding" }
func (o *Embedding) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if o.InputDim < 1 || o.OutputDim < 1 {
		return TensorType{}, fmt.Errorf("input_dim %d and output_dim %d must be positive", o.InputDim, o.OutputDim)
	}
	s := in[0].Shape
	if len(s) < 1 {
		return TensorType{}, fmt.Errorf("embedding needs a batched input, got %v", s)
	}
	return TensorType{Shape: append(s.Clone(), o.OutputDim)}, nil
}
func (o *Embedding) Weights([]TensorType) []WeightSpec {
	return []WeightSpec{{Name: "embeddings", Shape: Shape{o.InputDim, o.OutputDim}, Trainable: true}}
}

// RepeatVector repeats a (batch, features) input N times: (batch, N,
// features).
type RepeatVector struct{ N int }

func (*RepeatVector) Kind() string { return "RepeatVector" }
func (o *RepeatVector) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if o.N < 1 {
		return TensorType{}, fmt.Errorf("n must be positive, got %d", o.N)
	}
	s := in[0].Shape
	if len(s) != 2 {
		return TensorType{}, fmt.Errorf("expected a rank-2 input, got %v", s)
	}
	return TensorType{Shape: Shape{s[0], o.N, s[1]}}, nil
}
func (*RepeatVector) Weights([]TensorType) []WeightSpec { return nil }

// Masking zeroes the steps whose features all equal Value, and masks those
// steps for the layers its mask reaches (ModelMasks): a recurrent layer's
// states carry over masked steps, and its output there is the previous
// one, as Keras's RNN does (zeros before the first kept step, and at every
// masked step of a Bidirectional layer returning sequences);
// GlobalAveragePooling1D averages over the kept steps.
type Masking struct{ Value float64 }

func (*Masking) Kind() string { return "Masking" }
func (o *Masking) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if len(in[0].Shape) != 3 {
		return TensorType{}, fmt.Errorf("expected a rank-3 (batch, steps, features) input, got %v", in[0].Shape)
	}
	return TensorType{Shape: in[0].Shape.Clone()}, nil
}
func (*Masking) Weights([]TensorType) []WeightSpec { return nil }

// Recurrent cells.
const (
	CellSimpleRNN = "SimpleRNN"
	CellLSTM      = "LSTM"
	CellGRU       = "GRU"
)

// BiMerge is how Bidirectional combines its two directions: "concat",
// "sum", "mul", "ave", or "" (Keras None: both outputs; not supported to
// run).
type BiMerge string

// Recurrent is a SimpleRNN, LSTM or GRU layer, or a Bidirectional wrapper
// of one. Its first input is the sequence; further inputs, when present,
// are the initial states (Keras's initial_state; ONNX's initial_h and
// initial_c): one (batch, Units) tensor per state of the cell (h; LSTM: h
// then c), the forward direction's then the backward one's. Without them
// the states start at zero. With ReturnState the layer has more outputs
// (Keras return_state): the node's output is output 0, and
// RecurrentState nodes reading the node give the final states. Weights (Keras 2/3 layout; importers convert Keras 1's): kernel
// (in, G·Units), recurrent_kernel (Units, G·Units), bias (G·Units) — for
// GRU with ResetAfter (2, 3·Units): input bias then recurrent bias — with
// gates in Keras 2 order: LSTM i, f, c, o (G=4); GRU z, r, h (G=3);
// SimpleRNN G=1. A Bidirectional layer has the forward layer's weights
// followed by the backward layer's.
type Recurrent struct {
	Cell                string // CellSimpleRNN, CellLSTM, CellGRU
	Units               int
	Activation          Act // tanh by default
	RecurrentActivation Act // LSTM/GRU gates: sigmoid or hard_sigmoid
	UseBias             bool
	ResetAfter          bool // GRU: reset gate applied after the recurrent matmul (Keras 2.3+/3 default)
	ReturnSequences     bool
	GoBackwards         bool
	// TimeOrder, with GoBackwards and ReturnSequences, outputs the state
	// after step t at position t (ONNX's reverse direction) instead of in
	// the order the steps were read (Keras).
	TimeOrder     bool
	Bidirectional bool
	Merge         BiMerge
	// ReturnState gives the layer States() more outputs, the final
	// states, read by RecurrentState nodes (Keras return_state).
	ReturnState bool
	// SplitBias keeps the input and recurrent biases apart, as ONNX's B
	// and PyTorch store them (and count them): the bias is (2, G·Units),
	// input bias then recurrent bias, which act as their sum except in a
	// GRU with ResetAfter (whose bias always has both).
	SplitBias bool
	// SeqLens, when set, are ONNX's sequence_lens, one per batch row (the
	// batch size is then len(SeqLens)): row n runs steps 0 … SeqLens[n]-1
	// (a backward direction from step SeqLens[n]-1 down), its outputs at
	// later steps are zero and its final states are those after its last
	// step run.
	SeqLens []int
	// ONNX-only cell options, which no Keras layer has (exporter/keras
	// refuses them by name). Clip, when > 0, bounds the input of every
	// gate's and the candidate's activation to [-Clip, Clip] (ONNX clip;
	// an LSTM's cell state is not clipped).
	Clip float64
	// InputForget couples an LSTM's forget gate to its input gate,
	// f = 1 − i (ONNX input_forget); the forget block of the weights (and
	// of the peepholes) is then unused.
	InputForget bool
	// Peepholes gives an LSTM ONNX's peephole weights P: one more weight
	// per direction, "peephole" (3, Units), rows i, f, o (Keras's gate
	// order); i and f add p∘c of the previous cell state to their inputs,
	// o of the new one.
	Peepholes bool
	// OutputActivation, when its Name is set, is an LSTM's activation of
	// the cell state in h = o∘act(c) (ONNX's third activation, h); unset,
	// Activation serves for both (Keras).
	OutputActivation Act
	// BackwardActs, when set, are a Bidirectional layer's backward
	// direction's activations where they differ from the forward one's
	// (ONNX lists them per direction); nil: the fields above serve both.
	BackwardActs *CellActs
}

// CellActs are one direction's activations of a recurrent cell, as
// Recurrent's Activation, RecurrentActivation and OutputActivation.
type CellActs struct {
	Activation, RecurrentActivation, OutputActivation Act
}

// ONNXOnly names the first of the ONNX-only options (Clip, InputForget,
// Peepholes, an OutputActivation other than Activation, BackwardActs)
// the layer uses, "" when it uses none: no Keras layer has them.
func (o *Recurrent) ONNXOnly() string {
	switch {
	case o.Clip > 0:
		return "clip"
	case o.InputForget:
		return "input_forget"
	case o.Peepholes:
		return "peepholes"
	case o.OutputActivation.Name != "" && o.OutputActivation != o.Activation:
		return "an output activation (h) other than the candidate's (g)"
	case o.BackwardActs != nil:
		return "activations that differ between directions"
	}
	return ""
}

// States is the number of state tensors of the layer: per direction one
// (h) or, for an LSTM, two (h, c); a Bidirectional layer has both
// directions' (forward first). It is the number of initial states the
// layer takes and, with ReturnState, of its extra outputs.
func (o *Recurrent) States() int {
	n := 1
	if o.Cell == CellLSTM {
		n = 2
	}
	if o.Bidirectional {
		n *= 2
	}
	return n
}

// RecurrentState is output Index (1 … States()) of a Recurrent node with
// ReturnState, its only input: a final state (batch, Units), in Keras's
// order of the layer's outputs (h, then c for an LSTM; a Bidirectional
// layer's forward states, then its backward ones). It makes a
// several-output Keras layer fit the IR's one output per node: summaries
// show it as tensor Index of the recurrent layer (lstm[0][1]), not as a
// layer of its own.
type RecurrentState struct {
	Index int
	Units int
}

func (*RecurrentState) Kind() string { return "RecurrentState" }
func (o *RecurrentState) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if o.Index < 1 || o.Units < 1 {
		return TensorType{}, fmt.Errorf("state output %d of %d units is out of range", o.Index, o.Units)
	}
	if len(in[0].Shape) < 2 {
		return TensorType{}, fmt.Errorf("expected a recurrent layer's output, got %v", in[0].Shape)
	}
	return TensorType{Shape: Shape{in[0].Shape[0], o.Units}}, nil
}
func (*RecurrentState) Weights([]TensorType) []WeightSpec { return nil }

// StateOf returns the recurrent op of producer p that state node op reads,
// checking that p returns its states and has output op.Index.
func (o *RecurrentState) StateOf(p *Node) (*Recurrent, error) {
	r, ok := p.Op.(*Recurrent)
	if !ok || !r.ReturnState {
		return nil, fmt.Errorf("reads '%s', which is not a recurrent layer returning its states", p.Name)
	}
	if o.Index > r.States() || o.Units != r.Units {
		return nil, fmt.Errorf("state %d of %d units does not exist in '%s' (%d states of %d units)", o.Index, o.Units, p.Name, r.States(), r.Units)
	}
	return r, nil
}

// Kind is the cell name, or "Bidirectional".
func (o *Recurrent) Kind() string {
	if o.Bidirectional {
		return "Bidirectional"
	}
	return o.Cell
}

// Gates is the number of gate blocks of the cell's weights.
func (o *Recurrent) Gates() int {
	switch o.Cell {
	case CellLSTM:
		return 4
	case CellGRU:
		return 3
	}
	return 1
}

func (o *Recurrent) Infer(in []TensorType) (TensorType, error) {
	if len(in) != 1 && len(in) != 1+o.States() {
		return TensorType{}, fmt.Errorf("expected the sequence alone or with %d initial state(s), got %d input(s)", o.States(), len(in))
	}
	switch o.Cell {
	case CellSimpleRNN, CellLSTM, CellGRU:
	default:
		return TensorType{}, fmt.Errorf("unknown recurrent cell %q", o.Cell)
	}
	if o.Units < 1 || o.Units > 1<<24 {
		return TensorType{}, fmt.Errorf("units %d out of range", o.Units)
	}
	s := in[0].Shape
	if len(s) != 3 {
		return TensorType{}, fmt.Errorf("expected a rank-3 (batch, steps, features) input, got %v", s)
	}
	if s[2] < 1 {
		return TensorType{}, fmt.Errorf("the feature dimension of %v must be known", s)
	}
	if o.SeqLens != nil {
		if s[0] >= 0 && s[0] != len(o.SeqLens) {
			return TensorType{}, fmt.Errorf("%d sequence lengths for a batch of %d", len(o.SeqLens), s[0])
		}
		for _, l := range o.SeqLens {
			if l < 1 || (s[1] >= 0 && l > s[1]) {
				return TensorType{}, fmt.Errorf("sequence length %d out of range for %d steps", l, s[1])
			}
		}
	}
	for i, st := range in[1:] {
		if len(st.Shape) != 2 || st.Shape[1] != o.Units || (st.Shape[0] >= 0 && s[0] >= 0 && st.Shape[0] != s[0]) {
			return TensorType{}, fmt.Errorf("initial state %d has shape %v, expected (%d, %d)", i, st.Shape, s[0], o.Units)
		}
	}
	if err := o.Activation.Check(); err != nil {
		return TensorType{}, err
	}
	if err := o.RecurrentActivation.Check(); err != nil {
		return TensorType{}, err
	}
	if !(o.Clip >= 0) || math.IsInf(o.Clip, 1) {
		return TensorType{}, fmt.Errorf("clip %v is not a finite threshold >= 0", o.Clip)
	}
	if o.Cell != CellLSTM && (o.InputForget || o.Peepholes || o.OutputActivation.Name != "") {
		return TensorType{}, fmt.Errorf("input_forget, peepholes and an output activation belong to an LSTM, not a %s", o.Cell)
	}
	if o.OutputActivation.Name != "" {
		if err := o.OutputActivation.Check(); err != nil {
			return TensorType{}, err
		}
	}
	if b := o.BackwardActs; b != nil {
		if !o.Bidirectional {
			return TensorType{}, fmt.Errorf("backward activations for a layer with one direction")
		}
		if o.Cell != CellLSTM && b.OutputActivation.Name != "" {
			return TensorType{}, fmt.Errorf("an output activation belongs to an LSTM, not a %s", o.Cell)
		}
		for _, a := range []Act{b.Activation, b.RecurrentActivation} {
			if err := a.Check(); err != nil {
				return TensorType{}, err
			}
		}
		if b.OutputActivation.Name != "" {
			if err := b.OutputActivation.Check(); err != nil {
				return TensorType{}, err
			}
		}
	}
	u := o.Units
	if o.Bidirectional {
		switch o.Merge {
		case "concat":
			u *= 2
		case "sum", "mul", "ave":
		default:
			return TensorType{}, fmt.Errorf("Bidirectional merge_mode %q is not supported", o.Merge)
		}
	}
	if o.ReturnSequences {
		return TensorType{Shape: Shape{s[0], s[1], u}}, nil
	}
	return TensorType{Shape: Shape{s[0], u}}, nil
}

func (o *Recurrent) Weights(in []TensorType) []WeightSpec {
	if len(in) < 1 || len(in[0].Shape) != 3 {
		return nil
	}
	f, u, g := in[0].Shape[2], o.Units, o.Gates()
	one := []WeightSpec{
		{Name: "kernel", Shape: Shape{f, g * u}, Trainable: true},
		{Name: "recurrent_kernel", Shape: Shape{u, g * u}, Trainable: true},
	}
	if o.UseBias {
		b := Shape{g * u}
		if o.Cell == CellGRU && o.ResetAfter || o.SplitBias {
			b = Shape{2, g * u}
		}
		one = append(one, WeightSpec{Name: "bias", Shape: b, Trainable: true})
	}
	if o.Peepholes {
		one = append(one, WeightSpec{Name: "peephole", Shape: Shape{3, u}, Trainable: true})
	}
	if !o.Bidirectional {
		return one
	}
	var ws []WeightSpec
	for _, dir := range []string{"forward_", "backward_"} {
		for _, w := range one {
			w.Name = dir + w.Name
			ws = append(ws, w)
		}
	}
	return ws
}
