package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// Keras's step masks, as kconv follows them.
//
// A Masking layer (steps whose features all equal its value are masked) or
// an Embedding with mask_zero (index 0) attaches a (batch, steps) mask to
// its output, and Keras carries it from layer to layer (each layer's
// compute_mask) to the layers whose call reads it. Which layers pass it
// on, and how, is the rule below, one case per op (checked against
// keras/src/layers/** of Keras 3 and tf_keras/layers/** of tf.keras, whose
// Keras 1/2 behaviour these files share except where noted):
//
//   - Masking, Embedding(mask_zero): a new mask (the incoming one is
//     dropped); Embedding without mask_zero: none (core/masking.py,
//     core/embedding.py).
//   - passed on unchanged: Dropout and the other regularization layers
//     read as Dropout (regularization/*.py), Activation and the activation
//     layers (core/activation.py, activations/*.py), PReLU,
//     BatchNormalization, LayerNormalization (normalization/*.py), Dense
//     (core/dense.py), and a SimpleRNN/LSTM/GRU or Bidirectional layer
//     returning sequences (rnn/rnn.py, rnn/bidirectional.py; its states and
//     its last output carry none).
//   - TimeDistributed(Dense): passed on by Keras 1/2 (tf.keras
//     rnn/time_distributed.py compute_mask), dropped by Keras 3 (its
//     TimeDistributed sets supports_masking = False).
//   - SpatialDropout2D: passed on by Keras 2 (a Dropout subclass), dropped
//     by Keras 3 (regularization/spatial_dropout.py does not support
//     masking).
//   - Add, Subtract, Multiply, Average, Maximum, Minimum
//     (merging/base_merge.py): Keras 1/2 keep a step that every masked
//     input keeps (unmasked inputs do not count); Keras 3 keeps a step
//     that any input keeps, and gives no mask when an input has none.
//   - Concatenate on the feature axis (merging/concatenate.py): an
//     unmasked input counts as keeping every step; Keras 1/2 keep a step
//     every input keeps, Keras 3 one any input keeps. On the step axis the
//     masks are concatenated, which kconv does not follow (refused where a
//     layer reads it).
//   - every other layer drops the mask: Keras 3 drops it in any layer that
//     does not support masking (layers/layer.py __call__ warns), tf.keras
//     never computes one for it (engine/base_layer.py
//     _set_mask_metadata), Keras 1/2 refuse to build such a model. This
//     covers Conv1D and the 1-D poolings, GlobalMaxPooling1D (which
//     ignores it: pooling/global_max_pooling1d.py takes no mask), Reshape,
//     Flatten, Permute, RepeatVector (reshaping/*.py), and Lambda, whose
//     compute_mask returns its mask argument (None by default; a Lambda
//     whose config gives one makes a mask kconv cannot compute, refused
//     where a layer reads it; core/lambda_layer.py).
//
// The layers that read the mask (their call takes it):
//
//   - SimpleRNN/LSTM/GRU/Bidirectional skip masked steps (kconv follows;
//     see Masking).
//   - GlobalAveragePooling1D averages over the kept steps only
//     (pooling/global_average_pooling1d.py; a row with no kept step gives
//     0/0, NaN). kconv follows.
//   - Attention and MultiHeadAttention mask scores and outputs with their
//     inputs' masks (attention/attention.py, multi_head_attention.py), and
//     the Softmax layer masks its input with it (activations/softmax.py;
//     Keras 2 before tf.keras: passed on unchanged). kconv refuses these
//     when a mask reaches them.
//   - BatchNormalization reads it only in training: no effect.
//
// ModelMasks works this out once on the model as imported (before exec's
// fusion passes rename values); exec runs and exporter/onnx writes what it
// finds, so that they agree.

// Mask is the mask a value carries: one source's, or a combination of
// several (a merge layer's).
type Mask struct {
	// Source is a Masking node, or an Embedding with mask_zero, whose
	// input the mask is computed from; nil for a combination.
	Source *Node
	// Any: a combination keeps a step that any of Terms keeps (Keras 3's
	// merges); otherwise one that all of them keep.
	Any   bool
	Terms []*Mask
	key   string
}

// Key names the mask: equal keys, equal masks.
func (m *Mask) Key() string { return m.key }

// Sources returns the distinct source nodes of m, in order of appearance.
func (m *Mask) Sources() []*Node {
	var out []*Node
	seen := map[*Node]bool{}
	var walk func(*Mask)
	walk = func(x *Mask) {
		if x.Source != nil {
			if !seen[x.Source] {
				seen[x.Source] = true
				out = append(out, x.Source)
			}
			return
		}
		for _, t := range x.Terms {
			walk(t)
		}
	}
	walk(m)
	return out
}

// Combine computes m from its sources' masks: leaf returns one source's
// mask (1 kept, 0 masked, one value per row and step); all have the same
// length, as has the result.
func (m *Mask) Combine(leaf func(src *Node) []float32) []float32 {
	if m.Source != nil {
		return leaf(m.Source)
	}
	out := append([]float32(nil), m.Terms[0].Combine(leaf)...)
	for _, t := range m.Terms[1:] {
		v := t.Combine(leaf)
		for i := range out {
			if m.Any {
				out[i] = max(out[i], v[i])
			} else {
				out[i] = min(out[i], v[i])
			}
		}
	}
	return out
}

func sourceMask(n *Node) *Mask { return &Mask{Source: n, key: n.Name} }

// combine returns the combination of terms (nil terms excluded), or the
// single distinct term.
func combine(any bool, terms []*Mask) *Mask {
	var ts []*Mask
	seen := map[string]bool{}
	for _, t := range terms {
		if t != nil && !seen[t.key] {
			seen[t.key] = true
			ts = append(ts, t)
		}
	}
	switch len(ts) {
	case 0:
		return nil
	case 1:
		return ts[0]
	}
	keys := make([]string, len(ts))
	for i, t := range ts {
		keys[i] = t.key
	}
	f := "all"
	if any {
		f = "any"
	}
	return &Mask{Any: any, Terms: ts, key: f + "(" + strings.Join(keys, ",") + ")"}
}

// maskEra is how a file's Keras propagates masks where versions differ.
type maskEra int

const (
	eraUnknown maskEra = iota
	eraKeras2          // Keras 1/2 standalone (before tf.keras)
	eraTFKeras         // tf.keras (Keras 2.4+, or a "-tf" version)
	eraKeras3
)

func kerasMaskEra(v string) maskEra {
	if v == "" {
		return eraUnknown
	}
	parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return eraUnknown
	}
	minor := 0
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(parts[1])
	}
	switch {
	case major >= 3:
		return eraKeras3
	case major == 2 && (strings.HasSuffix(v, "-tf") || minor >= 4):
		return eraTFKeras
	case major >= 1:
		return eraKeras2
	}
	return eraUnknown
}

// Masks are the masks of a model's values (see the comment at the top of
// this file).
type Masks struct {
	idx  map[string]*Node
	era  maskEra
	memo map[string]maskResult
	// into holds the mask each reading node's first input carries.
	into map[string]*Mask
}

type maskResult struct {
	m   *Mask
	err error
}

// ModelMasks finds the masks that reach the layers reading them (the
// recurrent layers and GlobalAveragePooling1D), and refuses a model where
// Keras reads a mask in a way kconv does not follow, naming the layer.
func ModelMasks(m *Model) (*Masks, error) {
	ms := &Masks{idx: m.Index(), era: kerasMaskEra(m.Meta.KerasVersion), memo: map[string]maskResult{}, into: map[string]*Mask{}}
	hasSource := false
	for _, n := range m.Nodes {
		switch op := n.Op.(type) {
		case *Masking:
			hasSource = true
		case *Embedding:
			hasSource = hasSource || op.MaskZero
		}
	}
	if !hasSource {
		return ms, nil
	}
	for _, n := range m.Nodes {
		if len(n.Inputs) == 0 {
			continue
		}
		switch op := n.Op.(type) {
		case *Recurrent, *GlobalPool1D:
			if gp, ok := op.(*GlobalPool1D); ok && gp.Max {
				continue
			}
			mk, err := ms.of(n.Inputs[0], 0)
			if err != nil {
				return nil, layerErr(n.Name, "%s: %v", n.Op.Kind(), err)
			}
			if mk != nil {
				ms.into[n.Name] = mk
			}
		case *Attention, *MultiHeadAttention:
			for _, in := range n.Inputs {
				if mk, err := ms.of(in, 0); err != nil || mk != nil {
					return nil, layerErr(n.Name, "%s: Keras applies the mask its input '%s' carries (from a Masking or Embedding mask_zero layer), which kconv does not", n.Op.Kind(), in)
				}
			}
		case *Activation:
			if n.Class == "Softmax" && ms.era != eraKeras2 {
				if mk, err := ms.of(n.Inputs[0], 0); err != nil || mk != nil {
					return nil, layerErr(n.Name, "Softmax: Keras masks its input with the mask it carries (from a Masking or Embedding mask_zero layer), which kconv does not")
				}
			}
		}
	}
	return ms, nil
}

// Into returns the mask the first input of node name carries when the node
// reads it (a recurrent layer, GlobalAveragePooling1D); nil when none.
func (ms *Masks) Into(name string) *Mask {
	if ms == nil {
		return nil
	}
	return ms.into[name]
}

// of returns the mask value name carries.
func (ms *Masks) of(name string, depth int) (*Mask, error) {
	if r, ok := ms.memo[name]; ok {
		return r.m, r.err
	}
	if depth > 10000 {
		return nil, fmt.Errorf("the layers before '%s' nest too deep to follow its mask", name)
	}
	m, err := ms.compute(name, depth)
	ms.memo[name] = maskResult{m, err}
	return m, err
}

func (ms *Masks) compute(name string, depth int) (*Mask, error) {
	nd := ms.idx[name]
	if nd == nil || len(nd.Inputs) == 0 {
		return nil, nil
	}
	first := func() (*Mask, error) { return ms.of(nd.Inputs[0], depth+1) }
	switch op := nd.Op.(type) {
	case *Masking:
		return sourceMask(nd), nil
	case *Embedding:
		if op.MaskZero {
			return sourceMask(nd), nil
		}
		return nil, nil
	case *Recurrent:
		if !op.ReturnSequences {
			return nil, nil
		}
		return first()
	case *Activation, *PReLU, *BatchNorm, *LayerNormalization:
		return first()
	case *Dropout:
		if op.Spatial {
			return ms.byEra(nd, "SpatialDropout2D", first, false)
		}
		return first()
	case *Dense:
		if nd.Class == "TimeDistributed" {
			return ms.byEra(nd, "TimeDistributed", first, false)
		}
		return first()
	case *Merge:
		return ms.merge(nd, op, depth)
	case *Lambda:
		if op.Mask {
			return nil, fmt.Errorf("Lambda '%s' gives its own mask (a function kconv cannot run)", nd.Name)
		}
	}
	return nil, nil
}

// byEra returns f's mask where Keras 1/2 pass it on and none where Keras 3
// drops it (keras3 false), refusing a mask when the version is unknown.
func (ms *Masks) byEra(nd *Node, what string, f func() (*Mask, error), keras3 bool) (*Mask, error) {
	m, err := f()
	if err != nil || m == nil {
		return m, err
	}
	switch ms.era {
	case eraKeras3:
		if !keras3 {
			return nil, nil
		}
	case eraUnknown:
		return nil, fmt.Errorf("the file states no Keras version, and Keras 2 and 3 differ on whether %s '%s' passes a mask on", what, nd.Name)
	}
	return m, nil
}

func (ms *Masks) merge(nd *Node, op *Merge, depth int) (*Mask, error) {
	ins := make([]*Mask, len(nd.Inputs))
	none, masked := 0, 0
	for i, in := range nd.Inputs {
		m, err := ms.of(in, depth+1)
		if err != nil {
			return nil, err
		}
		ins[i] = m
		if m == nil {
			none++
		} else {
			masked++
		}
	}
	if masked == 0 {
		return nil, nil
	}
	if op.Mode == MergeConcat {
		rank := len(nd.Out.Shape)
		if ax := op.Axis; ax != -1 && ax != rank-1 {
			return nil, fmt.Errorf("%s '%s' joins masked values along axis %d, and kconv follows masks only through a concatenation of features", op.Kind(), nd.Name, ax)
		}
	}
	same := none == 0 && combine(false, ins) == ins[0] && len(ins) > 0
	if same {
		return ins[0], nil // every input carries the same mask: all versions agree
	}
	switch ms.era {
	case eraKeras3:
		if none > 0 {
			// Merges give none; Concatenate counts the unmasked input
			// as keeping every step.
			return nil, nil
		}
		return combine(true, ins), nil
	case eraKeras2, eraTFKeras:
		return combine(false, ins), nil
	}
	return nil, fmt.Errorf("the file states no Keras version, and Keras 2 and 3 combine the masks of %s '%s' differently", op.Kind(), nd.Name)
}
