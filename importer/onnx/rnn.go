package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// batchFirstRecurrent rewrites time-major RNN/LSTM/GRU nodes wrapped in
// transposes into their batch-first form (layout = 1), since kconv keeps
// the batch on axis 0:
//
//	Transpose(x, 1,0,2) → LSTM → Y   → Transpose(2,0,1,3)   becomes   LSTM(x, layout=1) → Y
//	                            Y_h → Transpose(1,0,2)                               → Y_h
//	                            Y_c → Transpose(1,0,2)                               → Y_c
//	Transpose(h0, 1,0,2) → initial_h, Transpose(c0, 1,0,2) → initial_c        initial_h = h0, initial_c = c0
//
// (the form kconv's exporter writes). Only when the transposes' outputs
// have no other use; other recurrent nodes are left for recurrent to
// refuse.
func (im *importer) batchFirstRecurrent(nodes []*onnxpb.NodeProto) []*onnxpb.NodeProto {
	if !slices.ContainsFunc(nodes, func(n *onnxpb.NodeProto) bool {
		switch n.GetOpType() {
		case "RNN", "LSTM", "GRU":
			return true
		}
		return false
	}) {
		return nodes // no producer/consumer maps for a graph without recurrences
	}
	producer := map[string]*onnxpb.NodeProto{}
	consumers := map[string][]*onnxpb.NodeProto{}
	for _, n := range nodes {
		for _, o := range n.GetOutput() {
			producer[o] = n
		}
		for _, in := range n.GetInput() {
			consumers[in] = append(consumers[in], n)
		}
	}
	isPerm := func(n *onnxpb.NodeProto, perm ...int64) bool {
		if n == nil || n.GetOpType() != "Transpose" || n.GetDomain() != "" {
			return false
		}
		for _, a := range n.GetAttribute() {
			if a.GetName() == "perm" {
				p := a.GetInts()
				if len(p) != len(perm) {
					return false
				}
				for i := range p {
					if p[i] != perm[i] {
						return false
					}
				}
				return true
			}
		}
		return false
	}
	// soleTranspose returns the only consumer of value name if it is a
	// Transpose with perm.
	soleTranspose := func(name string, perm ...int64) *onnxpb.NodeProto {
		cs := consumers[name]
		if len(cs) != 1 || im.useCount(name) != 1 || !isPerm(cs[0], perm...) {
			return nil
		}
		return cs[0]
	}
	drop := map[*onnxpb.NodeProto]bool{}
	repl := map[*onnxpb.NodeProto]*onnxpb.NodeProto{}
	for _, n := range nodes {
		switch n.GetOpType() {
		case "RNN", "LSTM", "GRU":
		default:
			continue
		}
		if n.GetDomain() != "" || layoutOf(n) != 0 || len(n.GetInput()) == 0 {
			continue
		}
		outs := append(n.GetOutput(), "", "", "")[:3]
		xt := producer[n.GetInput()[0]]
		if !isPerm(xt, 1, 0, 2) || im.useCount(n.GetInput()[0]) != 1 {
			continue
		}
		// Initial states (inputs 5, 6) made batch-first by a transpose.
		ins := append(n.GetInput(), "", "", "", "", "", "", "")[:8]
		var st [2]*onnxpb.NodeProto
		ok := true
		for k := range st {
			if name := ins[5+k]; name != "" {
				if st[k] = producer[name]; !isPerm(st[k], 1, 0, 2) || im.useCount(name) != 1 {
					ok = false
				}
			}
		}
		// Outputs Y, Y_h, Y_c, each read through its transpose alone.
		var ot [3]*onnxpb.NodeProto
		for k, perm := range [][]int64{{2, 0, 1, 3}, {1, 0, 2}, {1, 0, 2}} {
			if outs[k] != "" && im.useCount(outs[k]) > 0 {
				if ot[k] = soleTranspose(outs[k], perm...); ot[k] == nil {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		nn := proto.Clone(n).(*onnxpb.NodeProto)
		nn.Input[0] = xt.GetInput()[0]
		drop[xt] = true
		for k, t := range st {
			if t != nil {
				nn.Input[5+k] = t.GetInput()[0]
				drop[t] = true
			}
		}
		newOuts := []string{"", "", ""}
		for k, t := range ot {
			if t != nil {
				newOuts[k] = t.GetOutput()[0]
				drop[t] = true
			}
		}
		nn.Output = newOuts
		nn.Attribute = append(nn.Attribute, &onnxpb.AttributeProto{Name: proto.String("layout"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)})
		repl[n] = nn
	}
	if len(repl) == 0 {
		return nodes
	}
	out := make([]*onnxpb.NodeProto, 0, len(nodes))
	for _, n := range nodes {
		switch {
		case drop[n]:
		case repl[n] != nil:
			out = append(out, repl[n])
		default:
			out = append(out, n)
		}
	}
	return out
}

func layoutOf(n *onnxpb.NodeProto) int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == "layout" {
			return a.GetI()
		}
	}
	return 0
}

// recurrent imports ONNX RNN, LSTM and GRU as ir.Recurrent: Y (N, T, D,
// H) is a sequence-returning layer split into directions, Y_h (N, D, H) a
// last-step one. W, R and B become Keras's kernel, recurrent_kernel and
// bias (LSTM gates reordered; the W and R biases kept apart, SplitBias, as
// ONNX and PyTorch count them). initial_h and
// initial_c (N, D, H) become the layer's initial-state inputs, one (N, H)
// per direction; when Y_h or Y_c is used with initial states or with Y_c,
// the layer returns its states (ReturnState) and Y_h, Y_c are rebuilt
// from its RecurrentState nodes.
//
// Time-major nodes (layout 0, as PyTorch writes them) read X with its
// batch on axis 1 (a value carried with bax 1, see timemajor.go: the
// transpose of a batch-first value, or the output of another time-major
// recurrence) and give Y and Y_h, Y_c with their batch on axes 2 and 1.
// Their initial states are such values, or tensors (directions, batch,
// hidden) whose dimension 0 is static (graph inputs: PyTorch's h0, c0);
// zero-filled ones of a symbolic shape (PyTorch's default states) are the
// default. sequence_lens must be a constant (ir.Recurrent.SeqLens when not
// every sequence runs to the end). clip, an LSTM's input_forget,
// peepholes P (a constant, ir.Recurrent.Peepholes) and an output
// activation (h) other than its candidate's (g) import as ir.Recurrent's
// ONNX-only options, and so do activations that differ between
// directions; initial_h without initial_c (or the reverse) for an LSTM is
// refused.
func (c *nctx) recurrent() error {
	cell := map[string]string{"RNN": ir.CellSimpleRNN, "LSTM": ir.CellLSTM, "GRU": ir.CellGRU}[c.op]
	layout, err := c.int("layout", 0)
	if err != nil {
		return err
	}
	if layout != 0 && layout != 1 {
		return fmt.Errorf("layout %d is not 0 or 1", layout)
	}
	if c.op != "LSTM" && c.in(7) != nil {
		return fmt.Errorf("%s has no peepholes (P)", c.op)
	}
	if c.op != "LSTM" && (c.state(6) != nil || c.outUsed(2)) {
		return fmt.Errorf("%s has no cell state (initial_c, Y_c)", c.op)
	}
	if c.op == "LSTM" && (c.state(5) == nil) != (c.state(6) == nil) {
		return fmt.Errorf("LSTM with only one of initial_h and initial_c is not supported")
	}
	clip, err := c.float("clip", 0)
	if err != nil {
		return err
	}
	if _, ok := c.attrs["clip"]; ok && !(clip > 0 && clip <= math.MaxFloat32) {
		return fmt.Errorf("%s clip %v is not a threshold > 0", c.op, clip)
	}
	forget, err := c.int("input_forget", 0)
	if err != nil {
		return err
	}
	if forget != 0 && (c.op != "LSTM" || forget != 1) {
		return fmt.Errorf("%s input_forget %d is not 0, or 1 for an LSTM", c.op, forget)
	}
	hidden, err := c.int("hidden_size", 0)
	if err != nil {
		return err
	}
	dir, err := c.str("direction", "forward")
	if err != nil {
		return err
	}
	dirs := 1
	if dir == "bidirectional" {
		dirs = 2
	} else if dir != "forward" && dir != "reverse" {
		return fmt.Errorf("direction %q is not understood", dir)
	}
	lbr, err := c.int("linear_before_reset", 0)
	if err != nil {
		return err
	}
	op := &ir.Recurrent{Cell: cell, Units: int(hidden), UseBias: true, ResetAfter: cell == ir.CellGRU && lbr != 0,
		Bidirectional: dirs == 2, Merge: "concat", GoBackwards: dir == "reverse", SplitBias: true,
		Clip: clip, InputForget: forget == 1, Peepholes: c.in(7) != nil}
	if err := c.rnnActs(op, dirs); err != nil {
		return err
	}
	x, xt, err := c.act(0)
	if err != nil {
		return err
	}
	if xv := c.in(0); layout == 0 && xv.bax != 1 {
		// X (steps, batch, features) as kconv sees it (a time-major
		// graph input: PyTorch's nn.LSTM without batch_first): made
		// batch-first by a Transpose, which moves dimension 0, so exec
		// compiles the model per input shape, dimension 0 included.
		if len(xt.Shape) != 3 {
			return fmt.Errorf("input X %v is not (steps, batch, features)", xt.Shape)
		}
		if x, xt, err = c.emit("batch_first", &ir.Transpose{Perm: []int{1, 0, 2}, MovesDim0: xt.Shape[0] < 0}, []string{x}); err != nil {
			return err
		}
	}
	if len(xt.Shape) != 3 || xt.Shape[1] == 0 || xt.Shape[2] < 1 {
		return fmt.Errorf("input X %v is not (batch, steps, features) with known features", xt.Shape)
	}
	steps, feat := xt.Shape[1], xt.Shape[2]
	if op.SeqLens, err = c.seqLens(steps); err != nil {
		return err
	}
	ws, err := c.rnnWeights(op, dirs, feat)
	if err != nil {
		return err
	}
	// Where the outputs have their batch: Y (T, D, N, H) and the states
	// (D, N, H) when time-major.
	ybax, sbax := 0, 0
	if layout == 0 {
		ybax, sbax = 2, 1
	}
	u := op.Units
	if c.state(5) != nil || c.outUsed(2) || (c.outUsed(0) && c.outUsed(1)) {
		// One recurrence for all outputs.
		return c.recurrentStates(op, x, steps, dirs, ws, layout)
	}
	if c.outUsed(0) {
		seq := *op
		seq.ReturnSequences, seq.TimeOrder = true, op.GoBackwards
		y, _, err := c.emit("", &seq, []string{x}, ws...)
		if err != nil {
			return err
		}
		name, t, err := c.emit("directions", &ir.Reshape{Target: ir.Shape{steps, dirs, u}}, []string{y})
		if err != nil {
			return err
		}
		c.setBatchAxis(0, name, t, ybax)
	}
	if c.outUsed(1) {
		last := *op
		h, _, err := c.emit("last", &last, []string{x}, ws...)
		if err != nil {
			return err
		}
		name, t, err := c.emit("Y_h", &ir.Reshape{Target: ir.Shape{dirs, u}}, []string{h})
		if err != nil {
			return err
		}
		c.setBatchAxis(1, name, t, sbax)
	}
	return nil
}

// state returns initial state input i (5: initial_h, 6: initial_c), nil
// when absent or a zero fill (the default).
func (c *nctx) state(i int) *val {
	v := c.in(i)
	if v == nil || v.zero != nil {
		return nil
	}
	return v
}

// seqLens reads sequence_lens, which must be a constant: nil when absent
// or when every sequence runs to the end (steps known), else the lengths
// (ir.Recurrent.SeqLens: the batch is then fixed at their count).
func (c *nctx) seqLens(steps int) ([]int, error) {
	v := c.in(4)
	if v == nil {
		return nil, nil
	}
	if v.c == nil || v.node != "" {
		return nil, fmt.Errorf("%s sequence_lens computed by the graph is not supported (only constants)", c.op)
	}
	lens, err := v.c.intsNoSym("sequence_lens")
	if err != nil {
		return nil, err
	}
	full := steps > 0
	out := make([]int, len(lens))
	for i, l := range lens {
		if l < 1 || (steps > 0 && l > int64(steps)) || l > maxElements {
			return nil, fmt.Errorf("%s sequence_lens %v: length %d out of range for %d steps", c.op, lens, l, steps)
		}
		out[i] = int(l)
		full = full && l == int64(steps)
	}
	if full || len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// recurrentStates imports a recurrent node with initial states, a used
// Y_c, or both Y and Y_h used: one Recurrent node (with its initial states as inputs, returning
// its states), Y from its output and Y_h, Y_c (N, D, H) concatenated from
// its RecurrentState nodes.
func (c *nctx) recurrentStates(op *ir.Recurrent, x string, steps, dirs int, ws []*ir.Weight, layout int64) error {
	u := op.Units
	per := op.States() / dirs
	ybax, sbax := 0, 0
	if layout == 0 {
		ybax, sbax = 2, 1
	}
	ins := []string{x}
	if c.state(5) != nil {
		// initial_h, initial_c (N, D, H) → (N, H) per direction, in
		// the layer's order: per direction h (then c). Time-major
		// states given as (D, N, H) tensors with a static D are
		// gathered on axis 0 instead.
		var parts [2][]string
		for k := 0; k < per; k++ {
			sv := c.state(5 + k)
			v, vt, err := c.act(5 + k)
			if err != nil {
				return err
			}
			what := []string{"initial_h", "initial_c"}[k]
			if layout == 0 && sv.bax == 0 {
				if len(vt.Shape) != 3 || vt.Shape[0] != dirs || vt.Shape[2] != u {
					return fmt.Errorf("%s %v is not (%d, batch, %d)", what, vt.Shape, dirs, u)
				}
				for d := 0; d < dirs; d++ {
					g, _, err := c.emit(fmt.Sprintf("initial_%d_%d", k, d), &ir.Gather{Axis: 0, Indices: []int{d}, IndicesShape: ir.Shape{}}, []string{v})
					if err != nil {
						return err
					}
					parts[k] = append(parts[k], g)
				}
				continue
			}
			if len(vt.Shape) != 3 || vt.Shape[1] != dirs || vt.Shape[2] != u {
				return fmt.Errorf("%s %v is not (batch, %d, %d)", what, vt.Shape, dirs, u)
			}
			for d := 0; d < dirs; d++ {
				g, _, err := c.emit(fmt.Sprintf("initial_%d_%d", k, d), &ir.Gather{Axis: 1, Indices: []int{d}, IndicesShape: ir.Shape{1}}, []string{v})
				if err != nil {
					return err
				}
				r, _, err := c.emit(fmt.Sprintf("initial_%d_%d", k, d), &ir.Reshape{Target: ir.Shape{u}}, []string{g})
				if err != nil {
					return err
				}
				parts[k] = append(parts[k], r)
			}
		}
		for d := 0; d < dirs; d++ {
			for k := 0; k < per; k++ {
				ins = append(ins, parts[k][d])
			}
		}
	}
	rec := *op
	rec.ReturnSequences, rec.TimeOrder = c.outUsed(0), op.GoBackwards && c.outUsed(0)
	rec.ReturnState = c.outUsed(1) || c.outUsed(2)
	y, _, err := c.emit("", &rec, ins, ws...)
	if err != nil {
		return err
	}
	if c.outUsed(0) {
		name, t, err := c.emit("directions", &ir.Reshape{Target: ir.Shape{steps, dirs, u}}, []string{y})
		if err != nil {
			return err
		}
		c.setBatchAxis(0, name, t, ybax)
	}
	for k := 0; k < per; k++ {
		if !c.outUsed(1 + k) {
			continue
		}
		var dirParts []string
		for d := 0; d < dirs; d++ {
			s, _, err := c.emit(fmt.Sprintf("state_%d_%d", k, d), &ir.RecurrentState{Index: d*per + k + 1, Units: u}, []string{y})
			if err != nil {
				return err
			}
			r, _, err := c.emit(fmt.Sprintf("state_%d_%d", k, d), &ir.Reshape{Target: ir.Shape{1, u}}, []string{s})
			if err != nil {
				return err
			}
			dirParts = append(dirParts, r)
		}
		name, t := dirParts[0], c.im.irType(dirParts[0])
		if dirs == 2 {
			if name, t, err = c.emit([]string{"Y_h", "Y_c"}[k], &ir.Concat{Axis: 1}, dirParts); err != nil {
				return err
			}
		}
		c.setBatchAxis(1+k, name, t, sbax)
	}
	return nil
}

// rnnActs reads the activations attribute: per direction one for the
// gates (f), one for the candidate (g) and, for an LSTM, one for the
// output (h); a backward direction's that differ are BackwardActs.
func (c *nctx) rnnActs(op *ir.Recurrent, dirs int) error {
	per := map[string]int{ir.CellSimpleRNN: 1, ir.CellLSTM: 3, ir.CellGRU: 2}[op.Cell]
	names := []string{"Sigmoid", "Tanh", "Tanh"}[:per]
	if op.Cell == ir.CellSimpleRNN {
		names = []string{"Tanh"}
	}
	a, err := c.attr("activations", onnxpb.AttributeProto_STRINGS)
	if err != nil {
		return err
	}
	if a != nil {
		var got []string
		for _, s := range a.GetStrings() {
			got = append(got, string(s))
		}
		if len(got) != per*dirs {
			return fmt.Errorf("%d activations, expected %d", len(got), per*dirs)
		}
		names = got
	} else {
		for d := 1; d < dirs; d++ {
			names = append(names, names[:per]...)
		}
	}
	alphas, _, err := c.floats("activation_alpha")
	if err != nil {
		return err
	}
	betas, _, err := c.floats("activation_beta")
	if err != nil {
		return err
	}
	var acts []ir.Act
	for _, nm := range names {
		a, err := onnxRNNAct(nm, &alphas, &betas)
		if err != nil {
			return err
		}
		acts = append(acts, a)
	}
	cellActs := func(a []ir.Act) ir.CellActs {
		if op.Cell == ir.CellSimpleRNN {
			return ir.CellActs{Activation: a[0], RecurrentActivation: ir.Linear}
		}
		c := ir.CellActs{RecurrentActivation: a[0], Activation: a[1]}
		if op.Cell == ir.CellLSTM && a[1] != a[2] {
			c.OutputActivation = a[2]
		}
		return c
	}
	fw := cellActs(acts[:per])
	op.Activation, op.RecurrentActivation, op.OutputActivation = fw.Activation, fw.RecurrentActivation, fw.OutputActivation
	if dirs == 2 {
		if bw := cellActs(acts[per:]); bw != fw {
			op.BackwardActs = &bw
		}
	}
	return nil
}

// onnxRNNAct maps an ONNX recurrent activation, taking its alpha and beta
// from the lists (in order, for the activations that have them).
func onnxRNNAct(name string, alphas, betas *[]float32) (ir.Act, error) {
	take := func(l *[]float32, def float32) float64 {
		if len(*l) == 0 {
			return float64(def)
		}
		v := (*l)[0]
		*l = (*l)[1:]
		return float64(v)
	}
	switch strings.ToLower(name) {
	case "sigmoid":
		return ir.Act{Name: "sigmoid"}, nil
	case "tanh":
		return ir.Act{Name: "tanh"}, nil
	case "relu":
		return ir.Act{Name: "relu"}, nil
	case "softsign":
		return ir.Act{Name: "softsign"}, nil
	case "softplus":
		return ir.Act{Name: "softplus"}, nil
	case "hardsigmoid":
		return ir.Act{Name: "hard_sigmoid", Alpha: take(alphas, 0.2), Beta: take(betas, 0.5)}, nil
	case "elu":
		return ir.Act{Name: "elu", Alpha: take(alphas, 1)}, nil
	case "leakyrelu":
		return ir.Act{Name: "leaky_relu", Alpha: take(alphas, 0.01)}, nil
	case "thresholdedrelu":
		// x if x >= alpha else 0: Keras's ReLU with a threshold. Without
		// an alpha ONNX means its ThresholdedRelu's default, 1, where
		// ONNX Runtime's recurrences use 0: refused rather than guessed.
		if len(*alphas) == 0 {
			return ir.Act{}, fmt.Errorf("recurrent activation %s without its alpha in activation_alpha is ambiguous (ONNX's default 1, ONNX Runtime's 0)", name)
		}
		return ir.Act{Name: "relu", Threshold: take(alphas, 1)}, nil
	case "affine":
		if a, b := take(alphas, 1), take(betas, 0); a == 1 && b == 0 {
			return ir.Linear, nil
		}
	}
	return ir.Act{}, fmt.Errorf("recurrent activation %s is not supported", name)
}

// rnnWeights converts W (D, G·H, F), R (D, G·H, H) and B (D, 2·G·H) to
// the Keras weights of op.
func (c *nctx) rnnWeights(op *ir.Recurrent, dirs, feat int) ([]*ir.Weight, error) {
	u, g := op.Units, op.Gates()
	// keras[o] is the Keras gate of ONNX gate block o (LSTM: ONNX i, o, f,
	// c; Keras i, f, c, o).
	keras := map[string][]int{ir.CellLSTM: {0, 3, 1, 2}, ir.CellGRU: {0, 1, 2}, ir.CellSimpleRNN: {0}}[op.Cell]
	w, err := c.constIn(1, "W")
	if err != nil {
		return nil, err
	}
	r, err := c.constIn(2, "R")
	if err != nil {
		return nil, err
	}
	b, err := c.constIn(3, "B")
	if err != nil {
		return nil, err
	}
	if w == nil || r == nil {
		return nil, fmt.Errorf("W and R are required")
	}
	for _, t := range []struct {
		t    *tensor
		what string
		want ir.Shape
	}{{w, "W", ir.Shape{dirs, g * u, feat}}, {r, "R", ir.Shape{dirs, g * u, u}}, {b, "B", ir.Shape{dirs, 2 * g * u}}} {
		if t.t != nil && !ir.Shape(t.t.shape).Equal(t.want) {
			return nil, fmt.Errorf("%s has shape %v, expected %v", t.what, t.t.shape, t.want)
		}
	}
	matrix := func(t *tensor, d, rows int, name string) *ir.Weight {
		m := ir.NewWeight(name, ir.Shape{rows, g * u}, ir.Float32, t.origin, ir.SourceFunc(func(dst []float32) error {
			f, err := t.floats()
			if err != nil {
				return err
			}
			base := d * g * u * rows
			for o, kg := range keras {
				for j := 0; j < u; j++ {
					for k := 0; k < rows; k++ {
						dst[k*g*u+kg*u+j] = f[base+(o*u+j)*rows+k]
					}
				}
			}
			return nil
		}))
		m.Provenance = provOf(t)
		return m
	}
	var p *tensor
	if op.Peepholes {
		if p, err = c.constIn(7, "P"); err != nil {
			return nil, err
		}
		if !ir.Shape(p.shape).Equal(ir.Shape{dirs, 3 * u}) {
			return nil, fmt.Errorf("P has shape %v, expected %v", ir.Shape(p.shape), ir.Shape{dirs, 3 * u})
		}
	}
	var ws []*ir.Weight
	for d := 0; d < dirs; d++ {
		prefix := ""
		if dirs == 2 {
			prefix = []string{"forward_", "backward_"}[d]
		}
		ws = append(ws, matrix(w, d, feat, prefix+"kernel"), matrix(r, d, u, prefix+"recurrent_kernel"))
		// Both biases kept (SplitBias), as ONNX and PyTorch count them.
		shape := ir.Shape{2, g * u}
		dd, origin := d, c.name
		if b != nil {
			origin = b.origin
		}
		bias := ir.NewWeight(prefix+"bias", shape, ir.Float32, origin, ir.SourceFunc(func(dst []float32) error {
			clear(dst)
			if b == nil {
				return nil
			}
			f, err := b.floats()
			if err != nil {
				return err
			}
			base := dd * 2 * g * u
			for o, kg := range keras {
				for j := 0; j < u; j++ {
					dst[kg*u+j], dst[g*u+kg*u+j] = f[base+o*u+j], f[base+g*u+o*u+j]
				}
			}
			return nil
		}))
		bias.Provenance = provOf(b) // none when B is absent: zeros the file does not hold
		ws = append(ws, bias)
		if p != nil {
			// ONNX P rows i, o, f → Keras's gate order i, f, o.
			peep := ir.NewWeight(prefix+"peephole", ir.Shape{3, u}, ir.Float32, p.origin, ir.SourceFunc(func(dst []float32) error {
				f, err := p.floats()
				if err != nil {
					return err
				}
				base := dd * 3 * u
				for o, kg := range []int{0, 2, 1} {
					copy(dst[kg*u:(kg+1)*u], f[base+o*u:base+(o+1)*u])
				}
				return nil
			}))
			peep.Provenance = provOf(p)
			ws = append(ws, peep)
		}
	}
	return ws, nil
}
