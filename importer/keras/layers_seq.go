package keras

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/kconv/kconv/ir"
)

// seqLayer translates the sequence and text layers (Conv1D, 1-D pooling,
// Embedding, Masking, RepeatVector, SimpleRNN/LSTM/GRU, Bidirectional,
// TimeDistributed(Dense)); ok is false for a class it does not know.
func (b *builder) seqLayer(class, name string, c obj) (op ir.Op, ok bool, err error) {
	switch class {
	case "Conv1D", "Convolution1D", "AtrousConvolution1D":
		op, err = b.conv1D(c)
	case "MaxPooling1D", "AveragePooling1D", "MaxPool1D", "AvgPool1D":
		op, err = b.pool1D(c, strings.HasPrefix(class, "Max"))
	case "GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPool1D", "GlobalAvgPool1D":
		var keep bool
		keep, err = c.boolean(false, ir.KeyKeepDims.Read()...)
		op = &ir.GlobalPool1D{Max: strings.HasPrefix(class, "GlobalMax"), KeepDims: keep, DataFormat: seqFormat(c)}
	case "Embedding":
		op, err = embedding(c)
	case "RepeatVector":
		var n int
		n, err = c.integer(0, ir.KeyRepeatN.Read()...)
		op = &ir.RepeatVector{N: n}
	case "Masking":
		var v float64
		v, err = c.num(0, ir.KeyMaskValue.Read()...)
		op = &ir.Masking{Value: v}
	case "SimpleRNN", "LSTM", "GRU", "CuDNNLSTM", "CuDNNGRU":
		op, err = b.recurrent(class, name, c)
	case "Bidirectional":
		op, err = b.bidirectional(name, c)
	case "LayerNormalization":
		op, err = layerNorm(c)
	case "Attention":
		op, err = attention(c)
	case "MultiHeadAttention":
		op, err = mha(c)
	case "TimeDistributedDense":
		op, err = b.dense(c)
	case "TimeDistributed":
		inner := asObj(c.val(ir.KeyTDLayer))
		if inner.str("class_name") != "Dense" {
			return nil, false, nil
		}
		op, err = b.dense(innerConfig(inner))
	default:
		return nil, false, nil
	}
	return op, true, err
}

func innerConfig(inner obj) obj {
	if ic := asObj(inner["config"]); ic != nil {
		return ic
	}
	return obj{}
}

// seqFormat reads a 1-D layer's data_format: channels_last unless it says
// channels_first (Keras 1 1-D layers have no dim ordering).
func seqFormat(c obj) ir.Layout {
	if c.str(ir.KeySeqFormat.Read()...) == "channels_first" {
		return ir.ChannelsFirst
	}
	return ir.ChannelsLast
}

// optInt is integer treating null as absent.
func optInt(c obj, def int, keys ...string) (int, error) {
	if v, ok := c.get(keys...); ok && v == nil {
		return def, nil
	}
	return c.integer(def, keys...)
}

func window1D(c obj, kKey ir.KerasKey, defK int, sKey ir.KerasKey, defS int) (ir.Window1D, error) {
	var w ir.Window1D
	k, err := optInt(c, defK, kKey.Read()...)
	if err != nil {
		return w, err
	}
	if k < 1 {
		return w, fmt.Errorf("window size %d must be positive", k)
	}
	if defS == 0 {
		defS = k // pooling: the stride defaults to the window
	}
	s, err := optInt(c, defS, sKey.Read()...)
	if err != nil {
		return w, err
	}
	d, err := optInt(c, 1, ir.KeyConv1DDilation.Read()...)
	if err != nil {
		return w, err
	}
	if s < 1 || d < 1 {
		return w, fmt.Errorf("strides %d and dilation %d must be positive", s, d)
	}
	w = ir.Window1D{K: k, Stride: s, Dilation: d}
	switch p := strings.ToLower(c.str(ir.KeyConv1DPadding.Read()...)); p {
	case "", "valid":
	case "same":
		w.Padding = ir.PadSame
	case "causal":
		w.Causal = true
	default:
		return w, fmt.Errorf("padding %q is not supported", p)
	}
	return w, nil
}

func (b *builder) conv1D(c obj) (ir.Op, error) {
	filters, err := c.integer(0, ir.KeyFilters.Read()...)
	if err != nil {
		return nil, err
	}
	w, err := window1D(c, ir.KeyConv1DKernel, 0, ir.KeyConv1DStrides, 1)
	if err != nil {
		return nil, err
	}
	if w.Stride != 1 && w.Dilation != 1 {
		return nil, errors.New("strides and dilation_rate both above 1 (Keras refuses it)")
	}
	bias, a, err := b.common(c)
	if err != nil {
		return nil, err
	}
	return &ir.Conv1D{Filters: filters, Window1D: w, UseBias: bias, Activation: a, DataFormat: seqFormat(c)}, nil
}

func (b *builder) pool1D(c obj, isMax bool) (ir.Op, error) {
	w, err := window1D(c, ir.KeyPool1DSize, 2, ir.KeyPool1DStrides, 0)
	if err != nil {
		return nil, err
	}
	if w.Causal {
		return nil, errors.New("causal padding is not a pooling padding")
	}
	w.Dilation = 1
	return &ir.Pool1D{Max: isMax, Window1D: w, DataFormat: seqFormat(c)}, nil
}

func embedding(c obj) (ir.Op, error) {
	in, err := c.integer(0, ir.KeyInputDim.Read()...)
	if err != nil {
		return nil, err
	}
	out, err := c.integer(0, ir.KeyOutputDim.Read()...)
	if err != nil {
		return nil, err
	}
	mz, err := c.boolean(false, ir.KeyMaskZero.Read()...)
	if err != nil {
		return nil, err
	}
	return &ir.Embedding{InputDim: in, OutputDim: out, MaskZero: mz}, nil
}

// recurrent reads SimpleRNN, LSTM and GRU (Keras 1 output_dim /
// inner_activation; Keras 2/3 units / recurrent_activation). The defaults
// of keys a config leaves out follow its Keras version: recurrent
// activation hard_sigmoid (Keras 1/2) or sigmoid (Keras 3), GRU
// reset_after false (Keras 1/2) or true (Keras 3).
func (b *builder) recurrent(class, name string, c obj) (*ir.Recurrent, error) {
	if st, err := c.boolean(false, ir.KeyStateful.Read()...); err != nil || st {
		return nil, errors.New("stateful recurrent layers keep state between calls; kconv runs stateless models only")
	}
	units, err := c.integer(0, ir.KeyUnits.Read()...)
	if err != nil {
		return nil, err
	}
	op := &ir.Recurrent{Cell: strings.TrimPrefix(class, "CuDNN"), Units: units, Activation: ir.Act{Name: "tanh"}}
	if strings.HasPrefix(class, "CuDNN") {
		// cuDNN's cells: sigmoid gates, GRU with the reset gate after
		// the matmul; its LSTM bias (two sets) is not read here.
		if class == "CuDNNLSTM" {
			return nil, errors.New("CuDNNLSTM's double bias is not supported")
		}
		op.RecurrentActivation, op.ResetAfter = ir.Act{Name: "sigmoid"}, true
	}
	if v, ok := c.get(ir.KeyActivation.Read()...); ok {
		if op.Activation, err = b.act(v); err != nil {
			return nil, err
		}
	}
	if op.Cell != ir.CellSimpleRNN && op.RecurrentActivation.Name == "" {
		def := "hard_sigmoid"
		if b.g.major >= 3 {
			def = "sigmoid"
		}
		v, ok := c.get(ir.KeyRecurrentActivation.Read()...)
		if !ok {
			v = def
		}
		if op.RecurrentActivation, err = b.act(v); err != nil {
			return nil, err
		}
	}
	if op.RecurrentActivation.Name == "" {
		op.RecurrentActivation = ir.Linear
	}
	if op.UseBias, err = c.boolean(true, ir.KeyUseBias.Read()...); err != nil {
		return nil, err
	}
	if op.Cell == ir.CellGRU && !op.ResetAfter {
		if op.ResetAfter, err = c.boolean(b.g.major >= 3, ir.KeyResetAfter.Read()...); err != nil {
			return nil, err
		}
	}
	if op.ReturnSequences, err = c.boolean(false, ir.KeyReturnSequences.Read()...); err != nil {
		return nil, err
	}
	if op.GoBackwards, err = c.boolean(false, ir.KeyGoBackwards.Read()...); err != nil {
		return nil, err
	}
	if op.ReturnState, err = c.boolean(false, ir.KeyReturnState.Read()...); err != nil {
		return nil, err
	}
	if u, err := c.boolean(false, ir.KeyUnroll.Read()...); err == nil && u {
		b.warnf("layer '%s': unroll only changes how Keras builds the loop; kconv runs it as a loop", name)
	}
	return op, nil
}

// mirrorLayer reports whether Bidirectional's backward_layer bl is the copy
// of its layer fw that Keras makes when given none: the same class and
// config but for its name and the opposite go_backwards. Keras 3 writes
// that copy into every Bidirectional's config.
func mirrorLayer(fw, bl obj) bool {
	if fw.str("class_name") != bl.str("class_name") {
		return false
	}
	fc, bc := innerConfig(fw), innerConfig(bl)
	fb, _ := fc.boolean(false, ir.KeyGoBackwards.Read()...)
	bb, err := bc.boolean(false, ir.KeyGoBackwards.Read()...)
	if err != nil || fb == bb {
		return false
	}
	strip := func(c obj) obj {
		o := obj{}
		for k, v := range c {
			if k != "name" && k != ir.KeyGoBackwards.Name {
				o[k] = v
			}
		}
		return o
	}
	return reflect.DeepEqual(strip(fc), strip(bc))
}

// bidirectional reads Bidirectional(layer, merge_mode).
func (b *builder) bidirectional(name string, c obj) (ir.Op, error) {
	inner := asObj(c.val(ir.KeyBiLayer))
	if inner == nil {
		return nil, errors.New("Bidirectional has no layer")
	}
	cls := inner.str("class_name")
	switch cls {
	case "SimpleRNN", "LSTM", "GRU", "CuDNNGRU":
	default:
		return nil, fmt.Errorf("Bidirectional(%s) is not supported", cls)
	}
	if bl := asObj(c.val(ir.KeyBackwardLayer)); bl != nil && !mirrorLayer(inner, bl) {
		return nil, errors.New("Bidirectional with a separate backward_layer is not supported")
	}
	op, err := b.recurrent(cls, name, innerConfig(inner))
	if err != nil {
		return nil, err
	}
	if op.GoBackwards {
		return nil, errors.New("Bidirectional of a go_backwards layer is not supported")
	}
	op.Bidirectional = true
	v, ok := c[ir.KeyBiMergeMode.Name]
	switch {
	case !ok:
		op.Merge = "concat"
	case v == nil:
		return nil, errors.New("Bidirectional merge_mode None (two outputs) is not supported")
	default:
		s, _ := v.(string)
		op.Merge = ir.BiMerge(s)
	}
	return op, nil
}

// layerNorm reads LayerNormalization (Keras 2.x/3; Keras 3's rms_scaling
// is refused).
func layerNorm(c obj) (ir.Op, error) {
	axes := []int{-1}
	if v, ok := c.get(ir.KeyNormAxes.Read()...); ok {
		a, err := toInts(v, ir.KeyNormAxes.Name)
		if err != nil {
			return nil, err
		}
		axes = a
	}
	eps, center, scale, err := normConfig(c)
	if err != nil {
		return nil, err
	}
	if rms, err := c.boolean(false, ir.KeyRMSScaling.Read()...); err != nil || rms {
		return nil, errors.New("rms_scaling is not supported")
	}
	return &ir.LayerNormalization{Axes: axes, Epsilon: eps, Center: center, Scale: scale}, nil
}

// attention reads Keras's dot-product Attention (tf.keras 2.x, Keras 3
// score_mode "dot"); the causal mask and Keras 3's "concat" scores are
// refused.
func attention(c obj) (ir.Op, error) {
	if causal, err := c.boolean(false, ir.KeyCausal.Read()...); err != nil || causal {
		return nil, errors.New("causal attention is not supported")
	}
	if m := c.str(ir.KeyScoreMode.Read()...); m != "" && m != "dot" {
		return nil, fmt.Errorf("score_mode %q is not supported", m)
	}
	scale, err := c.boolean(false, ir.KeyUseScale.Read()...)
	if err != nil {
		return nil, err
	}
	return &ir.Attention{UseScale: scale}, nil
}

// mha reads MultiHeadAttention with attention over the steps axis
// (attention_axes None or the steps axis); output_shape may name the
// output features.
func mha(c obj) (ir.Op, error) {
	heads, err := c.integer(0, ir.KeyNumHeads.Read()...)
	if err != nil {
		return nil, err
	}
	kd, err := c.integer(0, ir.KeyKeyDim.Read()...)
	if err != nil {
		return nil, err
	}
	vd, err := optInt(c, kd, ir.KeyValueDim.Read()...)
	if err != nil {
		return nil, err
	}
	bias, err := c.boolean(true, ir.KeyUseBias.Name)
	if err != nil {
		return nil, err
	}
	op := &ir.MultiHeadAttention{Heads: heads, KeyDim: kd, ValueDim: vd, UseBias: bias}
	if v, ok := c.get(ir.KeyAttentionAxes.Read()...); ok {
		a, err := toInts(v, ir.KeyAttentionAxes.Name)
		if err != nil || len(a) != 1 || (a[0] != 1 && a[0] != -2) {
			return nil, fmt.Errorf("attention_axes %s is not supported (only the steps axis)", show(v))
		}
	}
	if v, ok := c.get(ir.KeyMHAOutputDim.Read()...); ok {
		s, err := toInts(v, ir.KeyMHAOutputDim.Name)
		if err != nil || len(s) != 1 || s[0] < 1 {
			return nil, fmt.Errorf("output_shape %s is not supported (only a feature count)", show(v))
		}
		op.OutputDim = s[0]
	}
	return op, nil
}

// kwargTensors returns the tensors an inbound node passes by keyword as
// attention inputs: value, then key (MultiHeadAttention(query,
// value=..., key=...)). Other keyword arguments are not inputs.
func kwargTensors(kw any) []tensorRef {
	o := asObj(kw)
	var out []tensorRef
	for _, k := range []string{"value", "key"} {
		if r, ok := parseRef(o[k]); ok {
			out = append(out, r)
		}
	}
	// A recurrent layer's initial_state: one tensor or a list of them
	// (Keras 3 __keras_tensor__ values, or Keras 2 [layer, node, tensor]
	// lists); they follow the sequence among the node's inputs.
	if r, ok := parseRef(o["initial_state"]); ok && asObj(o["initial_state"]) != nil {
		out = append(out, r)
	} else {
		for _, e := range asList(o["initial_state"]) {
			if r, ok := parseRef(e); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// outputs returns the names of node n's outputs in Keras's order: n
// itself, then, for a recurrent layer with return_state, one
// RecurrentState node per final state ("lstm:1", "lstm:2", …: Keras's
// tensor indices), added to the model after n.
func (b *builder) outputs(n *ir.Node) ([]string, error) {
	names := []string{n.Name}
	r, ok := n.Op.(*ir.Recurrent)
	if !ok || !r.ReturnState {
		return names, nil
	}
	for i := 1; i <= r.States(); i++ {
		s := &ir.Node{Name: fmt.Sprintf("%s:%d", n.Name, i), Op: &ir.RecurrentState{Index: i, Units: r.Units}, Inputs: []string{n.Name}}
		if err := b.addNode(s, ""); err != nil {
			return nil, err
		}
		names = append(names, s.Name)
	}
	return names, nil
}
