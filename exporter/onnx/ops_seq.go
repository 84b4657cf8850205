package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// seqNode exports the sequence ops; ok is false for other ops.
func (b *builder) seqNode(n *ir.Node) (v *value, ok bool, err error) {
	switch op := n.Op.(type) {
	case *ir.Recurrent:
		v, err = b.recurrent(n, op)
	case *ir.RecurrentState:
		v, err = b.recurrentState(n, op)
	case *ir.Conv1D:
		v, err = b.conv1D(n, op)
	case *ir.Pool1D:
		v, err = b.pool1D(n, op)
	case *ir.GlobalPool1D:
		v, err = b.globalPool1D(n, op)
	case *ir.Embedding:
		v, err = b.embedding(n, op)
	case *ir.RepeatVector:
		v, err = b.repeatVector(n, op)
	case *ir.LayerNormalization:
		v, err = b.layerNorm(n, op)
	case *ir.Attention:
		v, err = b.attention(n, op)
	case *ir.MultiHeadAttention:
		v, err = b.mha(n, op)
	case *ir.Masking:
		v, err = b.masking(n)
	default:
		return nil, false, nil
	}
	return v, true, err
}

// addMulti appends a node with several outputs.
func (b *builder) addMulti(opType string, inputs, outputs []string, attrs ...*onnxpb.AttributeProto) {
	name := b.fresh(outputs[len(outputs)-1] + "/" + opType)
	b.nodes[name] = true
	b.graph.Node = append(b.graph.Node, &onnxpb.NodeProto{
		Input: inputs, Output: outputs, Name: proto.String(name), OpType: proto.String(opType), Attribute: attrs,
	})
}

func aStrings(name string, v ...string) *onnxpb.AttributeProto {
	a := attr(name, onnxpb.AttributeProto_STRINGS)
	for _, s := range v {
		a.Strings = append(a.Strings, []byte(s))
	}
	return a
}

func aFloats(name string, v ...float32) *onnxpb.AttributeProto {
	a := attr(name, onnxpb.AttributeProto_FLOATS)
	a.Floats = v
	return a
}

// rnnAct maps a Keras cell activation to ONNX's recurrent activation name
// and its alpha/beta (nil when it takes none).
func rnnAct(a ir.Act) (name string, alpha, beta []float32, err error) {
	switch a.Name {
	case "tanh":
		return "Tanh", nil, nil, nil
	case "sigmoid":
		return "Sigmoid", nil, nil, nil
	case "hard_sigmoid":
		return "HardSigmoid", []float32{float32(a.Alpha)}, []float32{float32(a.Beta)}, nil
	case "", "linear":
		return "Affine", []float32{1}, []float32{0}, nil
	case "relu":
		switch {
		case a.HasMax:
		case a.Alpha == 0 && a.Threshold == 0:
			return "Relu", nil, nil, nil
		case a.Threshold == 0:
			return "LeakyRelu", []float32{float32(a.Alpha)}, nil, nil
		case a.Alpha == 0:
			return "ThresholdedRelu", []float32{float32(a.Threshold)}, nil, nil
		}
	case "leaky_relu":
		return "LeakyRelu", []float32{float32(a.Alpha)}, nil, nil
	case "softsign":
		return "Softsign", nil, nil, nil
	case "softplus":
		return "Softplus", nil, nil, nil
	case "elu":
		return "Elu", []float32{float32(a.Alpha)}, nil, nil
	}
	return "", nil, nil, fmt.Errorf("activation %s has no ONNX recurrent equivalent", a)
}

// onnxGates maps ONNX's gate blocks to Keras's: ONNX LSTM orders gates
// i, o, f, c (Keras i, f, c, o); GRU z, r, h in both.
func onnxGates(cell string) []int {
	switch cell {
	case ir.CellLSTM:
		return []int{0, 3, 1, 2}
	case ir.CellGRU:
		return []int{0, 1, 2}
	}
	return []int{0}
}

// recurrent exports SimpleRNN, LSTM, GRU and Bidirectional as ONNX RNN,
// LSTM and GRU (batch-second, so the input is transposed in and the
// outputs out).
func (b *builder) recurrent(n *ir.Node, op *ir.Recurrent) (*value, error) {
	x := b.logical(b.in(n, 0))
	if len(x.shape) != 3 || x.shape[2] < 1 {
		return nil, fmt.Errorf("input %v is not (batch, steps, features)", x.shape)
	}
	feat, u := x.shape[2], op.Units
	gates := onnxGates(op.Cell)
	g := len(gates)
	dirs := 1
	if op.Bidirectional {
		dirs = 2
	}
	per := len(n.Weights) / dirs
	W := make([]float32, 0, dirs*g*u*feat)
	R := make([]float32, 0, dirs*g*u*u)
	B := make([]float32, 0, dirs*2*g*u)
	for d := 0; d < dirs; d++ {
		ws := n.Weights[d*per : (d+1)*per]
		k, err := ws[0].Data()
		if err != nil {
			return nil, err
		}
		r, err := ws[1].Data()
		if err != nil {
			return nil, err
		}
		// ONNX W[gate·U+j][k] = Keras kernel[k][kgate·U+j].
		for _, kg := range gates {
			for j := 0; j < u; j++ {
				for i := 0; i < feat; i++ {
					W = append(W, k[i*g*u+kg*u+j])
				}
			}
		}
		for _, kg := range gates {
			for j := 0; j < u; j++ {
				for i := 0; i < u; i++ {
					R = append(R, r[i*g*u+kg*u+j])
				}
			}
		}
		bias := make([]float32, 2*g*u) // Wb then Rb
		if op.UseBias {
			bd, err := ws[2].Data()
			if err != nil {
				return nil, err
			}
			for o, kg := range gates {
				copy(bias[o*u:(o+1)*u], bd[kg*u:(kg+1)*u])
				if op.Cell == ir.CellGRU && op.ResetAfter || op.SplitBias {
					copy(bias[g*u+o*u:g*u+(o+1)*u], bd[g*u+kg*u:g*u+(kg+1)*u])
				}
			}
		}
		B = append(B, bias...)
	}
	var names []string
	var alphas, betas []float32
	// One direction's ONNX activations: f (gates), g (candidate), h
	// (LSTM output); a SimpleRNN's one.
	dirActs := func(c ir.CellActs) []ir.Act {
		if op.Cell == ir.CellSimpleRNN {
			return []ir.Act{c.Activation}
		}
		acts := []ir.Act{c.RecurrentActivation, c.Activation}
		if op.Cell == ir.CellLSTM {
			h := c.Activation
			if c.OutputActivation.Name != "" {
				h = c.OutputActivation
			}
			acts = append(acts, h)
		}
		return acts
	}
	for d := 0; d < dirs; d++ {
		c := ir.CellActs{Activation: op.Activation, RecurrentActivation: op.RecurrentActivation, OutputActivation: op.OutputActivation}
		if d == 1 && op.BackwardActs != nil {
			c = *op.BackwardActs
		}
		for _, a := range dirActs(c) {
			nm, al, be, err := rnnAct(a)
			if err != nil {
				return nil, err
			}
			names = append(names, nm)
			alphas = append(alphas, al...)
			betas = append(betas, be...)
		}
	}
	attrs := []*onnxpb.AttributeProto{aInt("hidden_size", int64(u)), aStrings("activations", names...)}
	if len(alphas) > 0 {
		attrs = append(attrs, aFloats("activation_alpha", alphas...))
	}
	if len(betas) > 0 {
		attrs = append(attrs, aFloats("activation_beta", betas...))
	}
	switch {
	case op.Bidirectional:
		attrs = append(attrs, aString("direction", "bidirectional"))
	case op.GoBackwards:
		attrs = append(attrs, aString("direction", "reverse"))
	}
	kind := map[string]string{ir.CellSimpleRNN: "RNN", ir.CellLSTM: "LSTM", ir.CellGRU: "GRU"}[op.Cell]
	if op.Cell == ir.CellGRU && op.ResetAfter {
		attrs = append(attrs, aInt("linear_before_reset", 1))
	}
	if op.Clip > 0 {
		attrs = append(attrs, aFloat("clip", op.Clip))
	}
	if op.InputForget {
		attrs = append(attrs, aInt("input_forget", 1))
	}
	// A mask (see masking.go): the kept steps compacted to the front of
	// each row, run with sequence_lens. ONNX's own sequence_lens (an
	// imported node's) take precedence, as in exec.
	var mask *stepMask
	xin := x.name
	if mk := b.mm.Into(n.Name); mk != nil && op.SeqLens == nil {
		var err error
		if mask, err = b.mask(mk); err != nil {
			return nil, err
		}
		b.compact(mask)
		xin = b.compacted(xin, mask, n.Name+"/mask")
	}
	xt := b.step("Transpose", []string{xin}, n.Name+"/time_major", aInts("perm", 1, 0, 2))
	wi := b.weightInit(n.Name+"/W", []int{dirs, g * u, feat}, W)
	ri := b.weightInit(n.Name+"/R", []int{dirs, g * u, u}, R)
	bi := b.weightInit(n.Name+"/B", []int{dirs, 2 * g * u}, B)
	ins := []string{xt, wi, ri, bi}
	if op.SeqLens != nil {
		// sequence_lens is int32: a Cast of the int64 constant.
		lens := make([]int64, len(op.SeqLens))
		for i, l := range op.SeqLens {
			lens[i] = int64(l)
		}
		ins = append(ins, b.step("Cast", []string{b.constI(lens...)}, n.Name+"/sequence_lens", aInt("to", int64(onnxpb.TensorProto_INT32))))
	} else if mask != nil {
		ins = append(ins, mask.lens)
	}
	var init [2]string // initial_h, initial_c (D, N, U) when given
	if len(n.Inputs) > 1 {
		// Keras's initial states, each (N, U), forward then backward,
		// h then c per direction → initial_h and initial_c (D, N, U).
		if len(n.Inputs) != 1+op.States() {
			return nil, fmt.Errorf("%d initial states, expected %d", len(n.Inputs)-1, op.States())
		}
		per := op.States() / dirs
		for k, what := range []string{"initial_h", "initial_c"}[:per] {
			// (N, U) per direction → (N, D, U) → (D, N, U), the form
			// importer/onnx reads back (a batch-first value transposed).
			var parts []string
			for d := 0; d < dirs; d++ {
				s := b.logical(b.in(n, 1+d*per+k)).name
				parts = append(parts, b.step("Reshape", []string{s, b.constI(0, 1, int64(u))}, n.Name+"/"+what))
			}
			st := parts[0]
			if dirs == 2 {
				st = b.step("Concat", parts, n.Name+"/"+what, aInt("axis", 1))
			}
			st = b.step("Transpose", []string{st}, n.Name+"/"+what, aInts("perm", 1, 0, 2))
			init[k] = st
			if k == 0 {
				if len(ins) == 4 {
					ins = append(ins, "") // no sequence_lens
				}
				ins = append(ins, st) // initial_h
			} else {
				ins = append(ins, st)
			}
		}
	}
	if op.Peepholes {
		// Keras-order peepholes i, f, o per direction → ONNX P (D, 3U),
		// rows i, o, f.
		P := make([]float32, 0, dirs*3*u)
		for d := 0; d < dirs; d++ {
			pd, err := n.Weights[(d+1)*per-1].Data()
			if err != nil {
				return nil, err
			}
			for _, kg := range []int{0, 2, 1} {
				P = append(P, pd[kg*u:(kg+1)*u]...)
			}
		}
		for len(ins) < 7 {
			ins = append(ins, "")
		}
		ins = append(ins, b.weightInit(n.Name+"/P", []int{dirs, 3 * u}, P))
	}
	y, yh := b.fresh(n.Name+"/Y"), b.fresh(n.Name+"/Y_h")
	outs := []string{y}
	if !op.ReturnSequences || op.ReturnState {
		outs = append(outs, yh) // Y stays unused without sequences
	}
	yc := ""
	if op.ReturnState && op.Cell == ir.CellLSTM {
		yc = b.fresh(n.Name + "/Y_c")
		outs = append(outs, yc)
	}
	b.addMulti(kind, ins, outs, attrs...)
	// Y_h (D, N, U) → (N, D, U), once for the output and the states.
	var yhb, yhOut string
	if !op.ReturnSequences || op.ReturnState {
		yhb = b.step("Transpose", []string{yh}, n.Name+"/batch_major", aInts("perm", 1, 0, 2))
		yhOut = yhb
	}
	if mask != nil && yhb != "" {
		// A row without a kept step ran one (sequence_lens ≥ 1): its
		// final states are the initial ones, its last output zeros.
		raw := yhb
		yhOut = b.emptyRows(raw, mask, "", n.Name+"/Y_h_masked")
		yhb = yhOut
		if init[0] != "" {
			yhb = b.emptyRows(raw, mask, b.step("Transpose", []string{init[0]}, n.Name+"/initial_h", aInts("perm", 1, 0, 2)), n.Name+"/Y_h_masked")
		}
	}
	if op.ReturnState {
		if b.rnnStates == nil {
			b.rnnStates = map[string][2]string{}
		}
		st := [2]string{yhb}
		if yc != "" {
			st[1] = b.step("Transpose", []string{yc}, n.Name+"/batch_major", aInts("perm", 1, 0, 2))
			if mask != nil {
				c0 := ""
				if init[1] != "" {
					c0 = b.step("Transpose", []string{init[1]}, n.Name+"/initial_c", aInts("perm", 1, 0, 2))
				}
				st[1] = b.emptyRows(st[1], mask, c0, n.Name+"/Y_c_masked")
			}
		}
		b.rnnStates[n.Name] = st
	}
	// Per direction: (N, [T,] D, U).
	var perDir string
	if op.ReturnSequences {
		// Y (T, D, N, U) → (N, T, D, U).
		perDir = b.step("Transpose", []string{y}, n.Name+"/batch_major", aInts("perm", 2, 0, 1, 3))
		if mask != nil {
			rev := []bool{op.GoBackwards}
			if op.Bidirectional {
				rev = []bool{false, true}
			}
			perDir = b.uncompact(perDir, mask, rev, u, n.Name+"/mask")
			if op.Bidirectional {
				// Keras zeroes a Bidirectional layer's sequence
				// outputs at masked steps.
				keep := b.step("Reshape", []string{mask.keep, b.constI(0, 0, 1, 1)}, n.Name+"/mask/keep")
				perDir = b.step("Where", []string{keep, perDir, b.scalar(0)}, n.Name+"/mask/zeroed")
			}
		}
		if op.GoBackwards && !op.TimeOrder {
			// Keras outputs a backwards layer's steps in the order it
			// read them; ONNX's reverse direction keeps time order.
			perDir = b.step("Slice", []string{perDir, b.constI(-1), b.constI(-int64Max), b.constI(1), b.constI(-1)}, n.Name+"/reversed")
		}
	} else {
		perDir = yhOut
	}
	dirAxis := int64(1)
	shape := []int64{0, -1}
	if op.ReturnSequences {
		dirAxis, shape = 2, []int64{0, 0, -1}
	}
	if !op.Bidirectional || op.Merge == "concat" {
		return result(n, b.add("Reshape", []string{perDir, b.constI(shape...)}, n.Name), false), nil
	}
	fw := b.step("Gather", []string{perDir, b.constI(0)}, n.Name+"/forward", aInt("axis", dirAxis))
	bw := b.step("Gather", []string{perDir, b.constI(1)}, n.Name+"/backward", aInt("axis", dirAxis))
	var m string
	switch op.Merge {
	case "sum":
		m = b.step("Add", []string{fw, bw}, n.Name+"/sum")
	case "mul":
		m = b.step("Mul", []string{fw, bw}, n.Name+"/mul")
	case "ave":
		s := b.step("Add", []string{fw, bw}, n.Name+"/sum")
		m = b.step("Mul", []string{s, b.constF(nil, 0.5)}, n.Name+"/ave")
	default:
		return nil, fmt.Errorf("Bidirectional merge_mode %q cannot be exported", op.Merge)
	}
	return result(n, b.add("Reshape", []string{m, b.constI(shape...)}, n.Name), false), nil
}

// recurrentState exports a final state of a recurrent node: direction d
// of its Y_h or Y_c, transposed to (N, D, U).
func (b *builder) recurrentState(n *ir.Node, op *ir.RecurrentState) (*value, error) {
	p := b.m.Node(n.Inputs[0])
	if p == nil {
		return nil, fmt.Errorf("reads '%s', which is not a node", n.Inputs[0])
	}
	r, err := op.StateOf(p)
	if err != nil {
		return nil, err
	}
	st, ok := b.rnnStates[p.Name]
	if !ok {
		return nil, fmt.Errorf("'%s' was not exported with its states", p.Name)
	}
	per := 1
	if r.Cell == ir.CellLSTM {
		per = 2
	}
	i := op.Index - 1
	g := b.step("Gather", []string{st[i%per], b.constI(int64(i / per))}, n.Name+"/direction", aInt("axis", 1))
	return result(n, b.add("Reshape", []string{g, b.constI(0, -1)}, n.Name), false), nil
}

// ncl returns a sequence value as (N, C, L) for a 1-D op of data format df.
func (b *builder) ncl(n *ir.Node, df ir.Layout) string {
	x := b.logical(b.in(n, 0))
	if df == ir.ChannelsFirst {
		return x.name
	}
	return b.step("Transpose", []string{x.name}, n.Name+"/ncl", aInts("perm", 0, 2, 1))
}

// fromNCL names the (N, C, L) result of node n in its data format.
func (b *builder) fromNCL(n *ir.Node, df ir.Layout, ncl string) *value {
	return result(n, b.add("Transpose", []string{ncl}, n.Name, aInts("perm", 0, 2, 1)), false)
}

// pads1D returns the ONNX begin/end padding of a 1-D window over length l.
func pads1D(w ir.Window1D, l int) ([]int64, error) {
	_, _, p, err := w.Window2D().Resolve(1, l)
	if err != nil {
		return nil, err
	}
	return []int64{int64(p[2]), int64(p[3])}, nil
}

func (b *builder) conv1D(n *ir.Node, op *ir.Conv1D) (*value, error) {
	x := b.logical(b.in(n, 0))
	steps := x.shape[1]
	if op.DataFormat == ir.ChannelsFirst {
		steps = x.shape[2]
	}
	if steps < 0 {
		return nil, fmt.Errorf("input %v has a variable length", x.shape)
	}
	pads, err := pads1D(op.Window1D, steps)
	if err != nil {
		return nil, err
	}
	k, ks, err := weight(n, "kernel", 0)
	if err != nil {
		return nil, err
	}
	// Keras (K, C, F) → ONNX (F, C, K).
	wk := permute(k, []int(ks), []int{2, 1, 0})
	ins := []string{b.ncl(n, op.DataFormat), b.weightInit(n.Name+"/kernel", []int{ks[2], ks[1], ks[0]}, wk)}
	if op.UseBias {
		d, bs, err := weight(n, "bias", 1)
		if err != nil {
			return nil, err
		}
		ins = append(ins, b.weightInit(n.Name+"/bias", []int(bs), d))
	}
	out := b.preName(n, op.Activation)
	conv := out
	if op.DataFormat != ir.ChannelsFirst {
		conv = b.fresh(n.Name + "/conv")
	}
	b.add("Conv", ins, conv, aInts("kernel_shape", int64(op.K)), aInts("strides", int64(op.Stride)),
		aInts("dilations", int64(max(op.Dilation, 1))), aInts("pads", pads...))
	if op.DataFormat != ir.ChannelsFirst {
		b.add("Transpose", []string{conv}, out, aInts("perm", 0, 2, 1))
	}
	return b.activation(result(n, out, false), op.Activation, n.Name)
}

func (b *builder) pool1D(n *ir.Node, op *ir.Pool1D) (*value, error) {
	x := b.logical(b.in(n, 0))
	steps := x.shape[1]
	if op.DataFormat == ir.ChannelsFirst {
		steps = x.shape[2]
	}
	if steps < 0 {
		return nil, fmt.Errorf("input %v has a variable length", x.shape)
	}
	pads, err := pads1D(op.Window1D, steps)
	if err != nil {
		return nil, err
	}
	kind := "AveragePool"
	if op.Max {
		kind = "MaxPool"
	}
	in := b.ncl(n, op.DataFormat)
	if op.DataFormat == ir.ChannelsFirst {
		return result(n, b.add(kind, []string{in}, n.Name, aInts("kernel_shape", int64(op.K)), aInts("strides", int64(op.Stride)), aInts("pads", pads...)), false), nil
	}
	p := b.step(kind, []string{in}, n.Name+"/pool", aInts("kernel_shape", int64(op.K)), aInts("strides", int64(op.Stride)), aInts("pads", pads...))
	return b.fromNCL(n, op.DataFormat, p), nil
}

func (b *builder) globalPool1D(n *ir.Node, op *ir.GlobalPool1D) (*value, error) {
	kind := "GlobalAveragePool"
	if op.Max {
		kind = "GlobalMaxPool"
	}
	var p string // (N, C, 1)
	if mk := b.mm.Into(n.Name); mk != nil {
		// Keras averages over the kept steps only: the sum of the kept
		// steps (Where, as Keras 3, so a masked infinity counts 0) over
		// their count (0/0 for a row that keeps none, as Keras gives).
		m, err := b.mask(mk)
		if err != nil {
			return nil, err
		}
		keep := b.step("Reshape", []string{m.keep, b.constI(0, 1, -1)}, n.Name+"/keep")
		kept := b.step("Where", []string{keep, b.ncl(n, op.DataFormat), b.scalar(0)}, n.Name+"/kept")
		sum := b.reduce("ReduceSum", kept, 2, true, n.Name+"/sum")
		cnt := b.step("Reshape", []string{b.reduce("ReduceSum", m.keepF, 1, true, n.Name+"/count"), b.constI(0, 1, 1)}, n.Name+"/count")
		p = b.step("Div", []string{sum, cnt}, n.Name+"/pool")
	} else {
		p = b.step(kind, []string{b.ncl(n, op.DataFormat)}, n.Name+"/pool")
	}
	if op.KeepDims && op.DataFormat == ir.ChannelsFirst {
		return result(n, b.add("Identity", []string{p}, n.Name), false), nil
	}
	shape := []int64{0, -1}
	if op.KeepDims {
		shape = []int64{0, 1, -1}
	}
	return result(n, b.add("Reshape", []string{p, b.constI(shape...)}, n.Name), false), nil
}

func (b *builder) embedding(n *ir.Node, op *ir.Embedding) (*value, error) {
	x := b.logical(b.in(n, 0))
	d, s, err := weight(n, "embeddings", 0)
	if err != nil {
		return nil, err
	}
	idx := b.step("Cast", []string{x.name}, n.Name+"/indices", aInt("to", int64(onnxpb.TensorProto_INT64)))
	return result(n, b.add("Gather", []string{b.weightInit(n.Name+"/embeddings", []int(s), d), idx}, n.Name, aInt("axis", 0)), false), nil
}

func (b *builder) repeatVector(n *ir.Node, op *ir.RepeatVector) (*value, error) {
	x := b.logical(b.in(n, 0))
	r := b.step("Reshape", []string{x.name, b.constI(0, 1, -1)}, n.Name+"/row")
	return result(n, b.add("Tile", []string{r, b.constI(1, int64(op.N), 1)}, n.Name), false), nil
}

// layerNorm exports LayerNormalization: the ONNX op from opset 17, else
// its definition (ReduceMean with axes as an attribute, valid to opset 17).
func (b *builder) layerNorm(n *ir.Node, op *ir.LayerNormalization) (*value, error) {
	x := b.logical(b.in(n, 0))
	r := len(x.shape)
	k := len(op.Axes)
	nshape := []int(x.shape[r-k:])
	ws := n.Weights
	var gamma, beta string
	if op.Scale {
		d, err := ws[0].Data()
		if err != nil {
			return nil, err
		}
		gamma, ws = b.weightInit(n.Name+"/gamma", nshape, d), ws[1:]
	}
	if op.Center {
		d, err := ws[0].Data()
		if err != nil {
			return nil, err
		}
		beta = b.weightInit(n.Name+"/beta", nshape, d)
	}
	if b.opset >= 17 {
		if gamma == "" {
			ones := make([]float32, ir.Shape(nshape).Elements())
			for i := range ones {
				ones[i] = 1
			}
			gamma = b.weightInit(n.Name+"/gamma", nshape, ones)
		}
		ins := []string{x.name, gamma}
		if beta != "" {
			ins = append(ins, beta)
		}
		return result(n, b.add("LayerNormalization", ins, n.Name, aInt("axis", int64(r-k)), aFloat("epsilon", op.Epsilon)), false), nil
	}
	axes := make([]int64, k)
	for i := range axes {
		axes[i] = int64(r - k + i)
	}
	mean := b.step("ReduceMean", []string{x.name}, n.Name+"/mean", aInts("axes", axes...))
	d := b.step("Sub", []string{x.name, mean}, n.Name+"/centered")
	sq := b.step("Mul", []string{d, d}, n.Name+"/squared")
	v := b.step("ReduceMean", []string{sq}, n.Name+"/variance", aInts("axes", axes...))
	ve := b.step("Add", []string{v, b.constF(nil, float32(op.Epsilon))}, n.Name+"/variance_eps")
	sd := b.step("Sqrt", []string{ve}, n.Name+"/std")
	out := n.Name
	if gamma != "" || beta != "" {
		out = b.fresh(n.Name + "/normalized")
	}
	y := b.add("Div", []string{d, sd}, out)
	if gamma != "" {
		o := n.Name
		if beta != "" {
			o = b.fresh(n.Name + "/scaled")
		}
		y = b.add("Mul", []string{y, gamma}, o)
	}
	if beta != "" {
		y = b.add("Add", []string{y, beta}, n.Name)
	}
	return result(n, y, false), nil
}

// attention exports dot-product Attention as MatMul, Softmax, MatMul.
func (b *builder) attention(n *ir.Node, op *ir.Attention) (*value, error) {
	q, v := b.logical(b.in(n, 0)).name, b.logical(b.in(n, 1)).name
	k := v
	if len(n.Inputs) == 3 {
		k = b.logical(b.in(n, 2)).name
	}
	kt := b.step("Transpose", []string{k}, n.Name+"/key_t", aInts("perm", 0, 2, 1))
	s := b.step("MatMul", []string{q, kt}, n.Name+"/scores")
	if op.UseScale {
		d, err := n.Weights[0].Data()
		if err != nil {
			return nil, err
		}
		s = b.step("Mul", []string{s, b.constF(nil, d[0])}, n.Name+"/scaled")
	}
	p := b.step("Softmax", []string{s}, n.Name+"/weights", aInt("axis", -1))
	return result(n, b.add("MatMul", []string{p, v}, n.Name), false), nil
}

// mha exports MultiHeadAttention as projections (MatMul, Add), heads split
// by Reshape and Transpose, MatMul/Softmax/MatMul attention and the output
// projection.
func (b *builder) mha(n *ir.Node, op *ir.MultiHeadAttention) (*value, error) {
	ws := make([][]float32, len(n.Weights))
	for i, w := range n.Weights {
		d, err := w.Data()
		if err != nil {
			return nil, err
		}
		ws[i] = d
	}
	next := func() (kernel, bias []float32) {
		kernel, ws = ws[0], ws[1:]
		if op.UseBias {
			bias, ws = ws[0], ws[1:]
		}
		return kernel, bias
	}
	h, kd, vd := op.Heads, op.KeyDim, op.ValueDim
	proj := func(x *value, what string, cols int) string {
		k, bias := next()
		din := x.shape[2]
		y := b.step("MatMul", []string{x.name, b.weightInit(n.Name+"/"+what+"_kernel", []int{din, cols}, k)}, n.Name+"/"+what)
		if bias != nil {
			y = b.step("Add", []string{y, b.weightInit(n.Name+"/"+what+"_bias", []int{cols}, bias)}, n.Name+"/"+what+"_biased")
		}
		return y
	}
	heads := func(y, what string, size int, perm ...int64) string {
		r := b.step("Reshape", []string{y, b.constI(0, 0, int64(h), int64(size))}, n.Name+"/"+what+"_heads")
		return b.step("Transpose", []string{r}, n.Name+"/"+what+"_t", aInts("perm", perm...))
	}
	qv, vv := b.logical(b.in(n, 0)), b.logical(b.in(n, 1))
	kv := vv
	if len(n.Inputs) == 3 {
		kv = b.logical(b.in(n, 2))
	}
	q := heads(proj(qv, "query", h*kd), "query", kd, 0, 2, 1, 3)
	q = b.step("Mul", []string{q, b.constF(nil, float32(1/math.Sqrt(float64(kd))))}, n.Name+"/query_scaled")
	k := heads(proj(kv, "key", h*kd), "key", kd, 0, 2, 3, 1)
	v := heads(proj(vv, "value", h*vd), "value", vd, 0, 2, 1, 3)
	s := b.step("MatMul", []string{q, k}, n.Name+"/scores")
	p := b.step("Softmax", []string{s}, n.Name+"/weights", aInt("axis", -1))
	c := b.step("MatMul", []string{p, v}, n.Name+"/context")
	c = b.step("Transpose", []string{c}, n.Name+"/context_t", aInts("perm", 0, 2, 1, 3))
	c = b.step("Reshape", []string{c, b.constI(0, 0, int64(h*vd))}, n.Name+"/context_flat")
	wo, bo := next()
	do := n.Out.Shape[2]
	out := n.Name
	if bo != nil {
		out = b.fresh(n.Name + "/output")
	}
	y := b.add("MatMul", []string{c, b.weightInit(n.Name+"/attention_output_kernel", []int{h * vd, do}, wo)}, out)
	if bo != nil {
		y = b.add("Add", []string{y, b.weightInit(n.Name+"/attention_output_bias", []int{do}, bo)}, n.Name)
	}
	return result(n, y, false), nil
}
