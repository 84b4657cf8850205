package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
)

// seqNode lowers the sequence ops; ok is false for other ops.
func (l *lowerer) seqNode(n *ir.Node) (ok bool, err error) {
	switch op := n.Op.(type) {
	case *ir.Conv1D:
		return true, l.conv1D(n, op)
	case *ir.Pool1D:
		return true, l.pool1D(n, op)
	case *ir.GlobalPool1D:
		return true, l.globalPool1D(n, op)
	case *ir.Embedding:
		return true, l.embedding(n, op)
	case *ir.RepeatVector:
		return true, l.repeatVector(n, op)
	case *ir.Masking:
		return true, l.masking(n, op)
	case *ir.Recurrent:
		return true, l.recurrent(n, op)
	case *ir.RecurrentState:
		return true, l.recurrentState(n, op)
	case *ir.LayerNormalization:
		return true, l.layerNorm(n, op)
	case *ir.Attention:
		return true, l.attention(n, op)
	case *ir.MultiHeadAttention:
		return true, l.mha(n, op)
	}
	return false, nil
}

// seqKnown refuses sequences whose length is only known at run time.
func seqKnown(s ir.Shape) error {
	for _, d := range s[1:] {
		if d < 0 {
			return fmt.Errorf("input %v has a variable length; kconv runs sequences of a fixed length only", s)
		}
	}
	return nil
}

// as2D returns the shape of a rank-3 sequence shape as an H=1 image in
// data format df: (N, 1, L, C) or (N, C, 1, L).
func as2D(s ir.Shape, df ir.Layout) ir.Shape {
	if df == ir.ChannelsFirst {
		return ir.Shape{s[0], s[1], 1, s[2]}
	}
	return ir.Shape{s[0], 1, s[1], s[2]}
}

// via2D lowers a 1-D window op as the 2-D op op2 over an H=1 view of its
// input (no copy for channels_last), so that Conv1D and 1-D pooling run
// on the 2-D kernels. lower2D is the lowerer's method for op2.
func (l *lowerer) via2D(n *ir.Node, df ir.Layout, op2 ir.Op, ws []*ir.Weight, specs []ir.WeightSpec, lower2D func(*ir.Node) error) error {
	in := l.need(l.byNode[n.Inputs[0]], false)
	if err := seqKnown(in.shape); err != nil {
		return err
	}
	inName := n.Name + "/as2d_input"
	l.byNode[inName] = l.viewOf(in, inName, ir.TensorType{Shape: as2D(in.shape, df), Layout: df}, false)
	n2 := &ir.Node{Name: n.Name + "/as2d", Class: op2.Kind(), Op: op2, Inputs: []string{inName}, Weights: ws, Specs: specs,
		Out: ir.TensorType{Shape: as2D(n.Out.Shape, df), Layout: df}}
	if err := lower2D(n2); err != nil {
		return err
	}
	out := l.need(l.byNode[n2.Name], false)
	l.byNode[n.Name] = l.viewOf(out, n.Name, n.Out, false)
	return nil
}

func (l *lowerer) conv1D(n *ir.Node, op *ir.Conv1D) error {
	if len(n.Weights) != len(n.Specs) || len(n.Specs) == 0 {
		return fmt.Errorf("has %d weights, expected %d (was the model loaded with its weights?)", len(n.Weights), len(n.Specs))
	}
	k := n.Specs[0].Shape
	kd, err := n.Weights[0].Data()
	if err != nil {
		return fmt.Errorf("weight %s: %w", n.Weights[0].Name, err)
	}
	ks := ir.Shape{1, k[0], k[1], k[2]}
	ws := append([]*ir.Weight{ir.ConstWeight("kernel", ks, kd)}, n.Weights[1:]...)
	specs := append([]ir.WeightSpec{{Name: "kernel", Shape: ks, Trainable: true}}, n.Specs[1:]...)
	op2 := &ir.Conv2D{Filters: op.Filters, Window2D: op.Window1D.Window2D(), UseBias: op.UseBias, Activation: op.Activation, DataFormat: op.DataFormat}
	return l.via2D(n, op.DataFormat, op2, ws, specs, func(n2 *ir.Node) error { return l.conv(n2, op2) })
}

func (l *lowerer) pool1D(n *ir.Node, op *ir.Pool1D) error {
	op2 := &ir.Pool2D{Max: op.Max, Window2D: op.Window1D.Window2D(), DataFormat: op.DataFormat}
	return l.via2D(n, op.DataFormat, op2, nil, nil, func(n2 *ir.Node) error { return l.pool(n2, op2) })
}

func (l *lowerer) globalPool1D(n *ir.Node, op *ir.GlobalPool1D) error {
	in := l.need(l.byNode[n.Inputs[0]], false)
	if err := seqKnown(in.shape); err != nil {
		return err
	}
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	cf := op.DataFormat == ir.ChannelsFirst
	t := in.shape[1]
	if cf {
		t = in.shape[2]
	}
	msrcs, fill, err := l.maskOf(n.Name, t)
	if err != nil {
		return err
	}
	if fill != nil {
		// Keras averages over the kept steps only (0/0 for a row that
		// keeps none, as Keras gives).
		l.add(&step{node: n.Name, ins: append([]*value{in}, msrcs...), out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			s := in.dims(b)
			mask := make([]float32, s[0]*t)
			fill(mask, ins[1:])
			c := s[2]
			if cf {
				c = s[1]
			}
			sum := make([]float64, c)
			for r := 0; r < s[0]; r++ {
				clear(sum)
				x, m := ins[0][r*t*c:(r+1)*t*c], mask[r*t:(r+1)*t]
				var kept float64
				for k, keep := range m {
					if keep == 0 {
						continue
					}
					kept++
					for j := range sum {
						if cf {
							sum[j] += float64(x[j*t+k])
						} else {
							sum[j] += float64(x[k*c+j])
						}
					}
				}
				for j, v := range sum {
					o[r*c+j] = float32(v / kept)
				}
			}
			return nil
		}})
		return nil
	}
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		s := in.dims(b)
		if !cf {
			if op.Max {
				kernels.GlobalMaxPool(o, ins[0], s[0], 1, s[1], s[2], &a.ws)
			} else {
				kernels.GlobalAvgPool(o, ins[0], s[0], 1, s[1], s[2], &a.ws)
			}
			return nil
		}
		// (N, C, L): reduce each row.
		steps := s[2]
		for r := 0; r < s[0]*s[1]; r++ {
			row := ins[0][r*steps : (r+1)*steps]
			if op.Max {
				m := float32(math.Inf(-1))
				for _, v := range row {
					m = max(m, v)
				}
				o[r] = m
				continue
			}
			var sum float64
			for _, v := range row {
				sum += float64(v)
			}
			o[r] = float32(sum / float64(steps))
		}
		return nil
	}})
	return nil
}

func (l *lowerer) embedding(n *ir.Node, op *ir.Embedding) error {
	ws, err := weights(n)
	if err != nil {
		return err
	}
	table, d := ws[0], op.OutputDim
	in := l.need(l.byNode[n.Inputs[0]], false)
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		for i, v := range ins[0] {
			idx := int(v)
			if float32(idx) != v || idx < 0 || idx >= op.InputDim {
				return fmt.Errorf("input value %v is not an index below input_dim %d", v, op.InputDim)
			}
			copy(o[i*d:(i+1)*d], table[idx*d:(idx+1)*d])
		}
		return nil
	}})
	return nil
}

func (l *lowerer) repeatVector(n *ir.Node, op *ir.RepeatVector) error {
	in := l.need(l.byNode[n.Inputs[0]], false)
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	f := in.per
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		for s := 0; s < in.batch(b); s++ {
			row := ins[0][s*f : (s+1)*f]
			for r := 0; r < op.N; r++ {
				copy(o[(s*op.N+r)*f:], row)
			}
		}
		return nil
	}})
	return nil
}

func (l *lowerer) masking(n *ir.Node, op *ir.Masking) error {
	in := l.need(l.byNode[n.Inputs[0]], false)
	if err := seqKnown(in.shape); err != nil {
		return err
	}
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	f := in.shape[2]
	mv := float32(op.Value)
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, inplace: true, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		copy(o, ins[0])
		for r := 0; r*f < len(o); r++ {
			if maskedStep(ins[0][r*f:(r+1)*f], mv) {
				clear(o[r*f : (r+1)*f])
			}
		}
		return nil
	}})
	return nil
}

// maskedStep reports whether every feature of a step equals the mask value.
func maskedStep(feat []float32, mv float32) bool {
	for _, v := range feat {
		if v != mv {
			return false
		}
	}
	return true
}

// maskOf finds the mask node reads on its first input, of t steps (see
// ir.ModelMasks). It returns the values the mask is computed from and a
// function filling mask (N×T, 1 = keep) from them (data holds the values
// of srcs, in order); srcs is nil when no mask applies.
func (l *lowerer) maskOf(node string, t int) (srcs []*value, fill func(mask []float32, data [][]float32), err error) {
	mk := l.p.masks.Into(node)
	if mk == nil {
		return nil, nil, nil
	}
	at := map[*ir.Node]int{}
	type leaf struct {
		src  *ir.Node
		feat int // Masking: features per step; Embedding: 0
		mv   float32
	}
	var leaves []leaf
	for _, src := range mk.Sources() {
		nd := l.idx[src.Name]
		if nd == nil || len(nd.Inputs) == 0 {
			return nil, nil, fmt.Errorf("the mask source '%s' is gone after optimizing", src.Name)
		}
		v := l.need(l.byNode[nd.Inputs[0]], false)
		lf := leaf{src: src}
		switch op := nd.Op.(type) {
		case *ir.Masking:
			if len(v.shape) != 3 {
				return nil, nil, fmt.Errorf("mask source '%s' reads %v, not (batch, steps, features)", src.Name, v.shape)
			}
			lf.feat, lf.mv = v.shape[2], float32(op.Value)
		case *ir.Embedding:
			if len(v.shape) != 2 {
				return nil, nil, fmt.Errorf("mask source '%s' (mask_zero) reads %v, not (batch, steps)", src.Name, v.shape)
			}
		default:
			return nil, nil, fmt.Errorf("'%s' (%s) is not a mask source", src.Name, nd.Op.Kind())
		}
		if v.shape[1] != t {
			return nil, nil, fmt.Errorf("the mask of '%s' has %d steps, the input %d", src.Name, v.shape[1], t)
		}
		at[src] = len(srcs)
		srcs = append(srcs, v)
		leaves = append(leaves, lf)
	}
	return srcs, func(mask []float32, data [][]float32) {
		leafMask := func(src *ir.Node) []float32 {
			i := at[src]
			lf, x := leaves[i], data[i]
			m := make([]float32, len(mask))
			for r := range m {
				if lf.feat > 0 {
					if !maskedStep(x[r*lf.feat:(r+1)*lf.feat], lf.mv) {
						m[r] = 1
					}
				} else if x[r] != 0 {
					m[r] = 1
				}
			}
			return m
		}
		copy(mask, mk.Combine(leafMask))
	}, nil
}

func (l *lowerer) recurrent(n *ir.Node, op *ir.Recurrent) error {
	ws, err := weights(n)
	if err != nil {
		return err
	}
	in := l.need(l.byNode[n.Inputs[0]], false)
	if err := seqKnown(in.shape); err != nil {
		return err
	}
	act, err := kernelAct(op.Activation)
	if err != nil {
		return err
	}
	ract, err := kernelAct(op.RecurrentActivation)
	if err != nil {
		return err
	}
	var outAct *kernels.Activation
	if op.OutputActivation.Name != "" {
		a, err := kernelAct(op.OutputActivation)
		if err != nil {
			return err
		}
		outAct = &a
	}
	var backActs *kernels.RNNActs
	if b := op.BackwardActs; b != nil {
		backActs = &kernels.RNNActs{}
		if backActs.Act, err = kernelAct(b.Activation); err != nil {
			return err
		}
		if backActs.RecAct, err = kernelAct(b.RecurrentActivation); err != nil {
			return err
		}
		if b.OutputActivation.Name != "" {
			a, err := kernelAct(b.OutputActivation)
			if err != nil {
				return err
			}
			backActs.OutAct = &a
		}
	}
	cell := map[string]kernels.RNNCell{ir.CellSimpleRNN: kernels.CellSimple, ir.CellLSTM: kernels.CellLSTM, ir.CellGRU: kernels.CellGRU}[op.Cell]
	dirW := func(w [][]float32) kernels.RNNWeights {
		rw := kernels.RNNWeights{Kernel: w[0], Recurrent: w[1]}
		if op.Peepholes {
			rw.Peephole = w[len(w)-1]
		}
		if op.UseBias {
			rw.Bias = w[2]
			if op.SplitBias && !(op.Cell == ir.CellGRU && op.ResetAfter) && len(rw.Bias)%2 == 0 {
				// Input and recurrent biases act as their sum.
				gu := len(rw.Bias) / 2
				sum := make([]float32, gu)
				for j := range sum {
					sum[j] = rw.Bias[j] + rw.Bias[gu+j]
				}
				rw.Bias = sum
			}
		}
		return rw
	}
	per := len(ws)
	if op.Bidirectional {
		per /= 2
	}
	fw := dirW(ws[:per])
	var bw kernels.RNNWeights
	var merge kernels.BiMerge
	if op.Bidirectional {
		bw = dirW(ws[per:])
		merge = map[ir.BiMerge]kernels.BiMerge{"concat": kernels.BiConcat, "sum": kernels.BiSum, "mul": kernels.BiMul, "ave": kernels.BiAve}[op.Merge]
	}
	steps, feat := in.shape[1], in.shape[2]
	ins := []*value{in}
	// Initial states: inputs 1 … States(), each (N, Units).
	for _, name := range n.Inputs[1:] {
		ins = append(ins, l.need(l.byNode[name], false))
	}
	initial := len(n.Inputs) > 1
	nst := op.States()
	perDir := nst
	if op.Bidirectional {
		perDir /= 2
	}
	msrcs, fill, err := l.maskOf(n.Name, steps)
	if err != nil {
		return err
	}
	maskAt := len(ins)
	ins = append(ins, msrcs...)
	// With ReturnState the step writes a packed value, [output | state 1
	// | … | state k] each over the whole batch: the node's output is a
	// view of its front (views share a prefix of their root's buffer) and
	// the RecurrentState nodes copy their state out of it.
	out := l.newValue(n.Name, n.Out, false)
	outPer := out.per
	l.byNode[n.Name] = out
	if op.ReturnState {
		shape := ir.Shape{n.Out.Shape[0], outPer + nst*op.Units}
		packed := l.newValue(n.Name+"/states", ir.TensorType{Shape: shape}, false)
		out.view = packed
		l.byNode[n.Name+"/states"] = packed
		out = packed
	}
	l.add(&step{node: n.Name, ins: ins, out: out, fn: func(a *arena, b int, xs [][]float32, o []float32) error {
		p := kernels.RNNParams{Cell: cell, N: in.batch(b), T: steps, In: feat, U: op.Units, Act: act, RecAct: ract,
			ResetAfter: op.ResetAfter, Backwards: op.GoBackwards, Sequences: op.ReturnSequences, ReverseOutputs: op.TimeOrder,
			Clip: float32(op.Clip), InputForget: op.InputForget, OutAct: outAct, BackActs: backActs}
		var mask []float32
		switch {
		case op.SeqLens != nil:
			// ONNX's sequence_lens: steps past a row's length are
			// masked (the state kept), and their outputs zeroed below.
			if len(op.SeqLens) != p.N {
				return fmt.Errorf("%d sequence lengths for a batch of %d", len(op.SeqLens), p.N)
			}
			mask = make([]float32, p.N*p.T)
			for r, l := range op.SeqLens {
				if l < 1 || l > p.T {
					return fmt.Errorf("sequence length %d out of range for %d steps", l, p.T)
				}
				for t := 0; t < l; t++ {
					mask[r*p.T+t] = 1
				}
			}
		case fill != nil:
			mask = make([]float32, p.N*p.T)
			fill(mask, xs[maskAt:])
		}
		// States per direction, in Keras's order (h, then c); none (and
		// nothing allocated) for a layer without initial or returned
		// states.
		var sts [2]*kernels.RNNState
		nu := p.N * p.U
		for d := 0; d < nst/perDir && (initial || op.ReturnState); d++ {
			st := &kernels.RNNState{}
			for k := 0; k < perDir; k++ {
				i := d*perDir + k
				var init, final []float32
				if initial {
					init = xs[1+i]
					if len(init) != nu {
						// A state of a static batch size (an ONNX
						// h0 given per direction) against another.
						return fmt.Errorf("initial state %d holds %d values, want %d for a batch of %d", i, len(init), nu, p.N)
					}
				}
				if op.ReturnState {
					off := p.N*outPer + i*nu
					final = o[off : off+nu]
				}
				if k == 0 {
					st.H0, st.H = init, final
				} else {
					st.C0, st.C = init, final
				}
			}
			sts[d] = st
		}
		y := o[:p.N*outPer]
		if op.Bidirectional {
			kernels.BiRNN(p, xs[0], fw, bw, sts[0], sts[1], merge, mask, y, &a.ws)
		} else {
			kernels.RNN(p, xs[0], fw, sts[0], mask, y, op.Units, &a.ws)
		}
		if op.SeqLens != nil && op.ReturnSequences {
			per := outPer / p.T
			for r, l := range op.SeqLens {
				clear(y[(r*p.T+l)*per : (r+1)*p.T*per])
			}
		} else if fill != nil {
			kerasMaskedZeros(p, op.Bidirectional, initial, mask, y, outPer)
		}
		return nil
	}})
	return nil
}

// kerasMaskedZeros zeroes the outputs Keras gives as zeros at masked steps
// where the kernel repeats the carried state (Keras's RNN outputs its
// previous output at a masked step, starting from zeros, not from the
// initial state): a Bidirectional layer returning sequences outputs zeros
// at every masked step (Keras sets zero_output_for_mask on both of its
// layers); a layer given initial states outputs zeros at the masked steps
// before its first kept one, in the order it reads them, and, returning
// only its last output, for a row with no kept step. per is one row's
// output size.
func kerasMaskedZeros(p kernels.RNNParams, bi, initial bool, mask, y []float32, per int) {
	if !bi && !initial {
		return
	}
	for n := 0; n < p.N; n++ {
		m := mask[n*p.T : (n+1)*p.T]
		row := y[n*per : (n+1)*per]
		if !p.Sequences {
			if initial && !slices.ContainsFunc(m, func(v float32) bool { return v != 0 }) {
				clear(row)
			}
			continue
		}
		step := per / p.T
		seen := false // a kept step read before, in reading order
		for s := 0; s < p.T; s++ {
			t, pos := s, s // step read, output position
			if p.Backwards {
				t = p.T - 1 - s
				if p.ReverseOutputs {
					pos = t
				}
			}
			if m[t] != 0 {
				seen = true
				continue
			}
			if bi || !seen {
				clear(row[pos*step : (pos+1)*step])
			}
		}
	}
}

// recurrentState copies state op.Index of the packed value of the
// recurrent node it reads (see recurrent).
func (l *lowerer) recurrentState(n *ir.Node, op *ir.RecurrentState) error {
	p := l.idx[n.Inputs[0]]
	if p == nil {
		return fmt.Errorf("reads '%s', which is not a node", n.Inputs[0])
	}
	if _, err := op.StateOf(p); err != nil {
		return err
	}
	packed := l.byNode[p.Name+"/states"]
	if packed == nil {
		return fmt.Errorf("'%s' was not lowered with its states", p.Name)
	}
	outPer := int(ir.Shape(p.Out.Shape[1:]).Elements())
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	u := op.Units
	l.add(&step{node: n.Name, ins: []*value{packed}, out: out, fn: func(a *arena, b int, xs [][]float32, o []float32) error {
		nb := packed.batch(b)
		off := nb*outPer + (op.Index-1)*nb*u
		copy(o, xs[0][off:off+nb*u])
		return nil
	}})
	return nil
}

func (l *lowerer) layerNorm(n *ir.Node, op *ir.LayerNormalization) error {
	ws, err := weights(n)
	if err != nil {
		return err
	}
	var gamma, beta []float32
	if op.Scale {
		gamma, ws = ws[0], ws[1:]
	}
	if op.Center {
		beta = ws[0]
	}
	in := l.need(l.byNode[n.Inputs[0]], false)
	if err := seqKnown(in.shape); err != nil {
		return err
	}
	size := int(ir.Shape(in.shape[len(in.shape)-len(op.Axes):]).Elements())
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	eps := float32(op.Epsilon)
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, inplace: true, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		kernels.LayerNorm(o, ins[0], size, gamma, beta, eps, &a.ws)
		return nil
	}})
	return nil
}

func (l *lowerer) attention(n *ir.Node, op *ir.Attention) error {
	ws, err := weights(n)
	if err != nil {
		return err
	}
	scale := float32(1)
	if op.UseScale {
		scale = ws[0][0]
	}
	ins := make([]*value, len(n.Inputs))
	for i, name := range n.Inputs {
		ins[i] = l.need(l.byNode[name], false)
	}
	if len(ins) == 2 {
		ins = append(ins, ins[1]) // key = value
	}
	q, v := ins[0].shape, ins[1].shape
	tq, d, tv, dv := q[1], q[2], v[1], v[2]
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	l.add(&step{node: n.Name, ins: ins, out: out, fn: func(a *arena, b int, xs [][]float32, o []float32) error {
		kernels.Attention(xs[0], xs[2], xs[1], o, ins[0].batch(b), tq, tv, d, dv, scale, &a.ws)
		return nil
	}})
	return nil
}

func (l *lowerer) mha(n *ir.Node, op *ir.MultiHeadAttention) error {
	ws, err := weights(n)
	if err != nil {
		return err
	}
	var w kernels.MHAWeights
	dst := []*[]float32{&w.Wq, &w.Bq, &w.Wk, &w.Bk, &w.Wv, &w.Bv, &w.Wo, &w.Bo}
	if !op.UseBias {
		dst = []*[]float32{&w.Wq, &w.Wk, &w.Wv, &w.Wo}
	}
	for i, d := range dst {
		*d = ws[i]
	}
	ins := make([]*value, len(n.Inputs))
	for i, name := range n.Inputs {
		ins[i] = l.need(l.byNode[name], false)
	}
	if len(ins) == 2 {
		ins = append(ins, ins[1]) // key = value
	}
	p := kernels.MHAParams{Tq: ins[0].shape[1], Tv: ins[1].shape[1], Dq: ins[0].shape[2], Dk: ins[2].shape[2], Dv: ins[1].shape[2],
		H: op.Heads, K: op.KeyDim, V: op.ValueDim, Do: n.Out.Shape[2]}
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	l.add(&step{node: n.Name, ins: ins, out: out, fn: func(a *arena, b int, xs [][]float32, o []float32) error {
		q := p
		q.N = ins[0].batch(b)
		kernels.MHA(q, xs[0], xs[2], xs[1], o, w, &a.ws)
		return nil
	}})
	return nil
}
