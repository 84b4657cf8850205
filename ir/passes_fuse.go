package ir

import "slices"

// Fusion passes: the optimizing pipeline exec compiles with (and kconv ir
// prints). Each folds a node into the convolution or dense node before it
// and records it in the op (Fusion, or the op's Activation attribute), so
// that exec's lowering only reads decisions. They run on a copy of an
// imported model (exec.Optimize), never in an importer's pipeline:
// summaries and exporters see the model as its source describes it.
//
// Nothing fuses into or across a node the caller keeps observable (keep,
// plus the model's outputs): a node is folded into its producer only when
// the producer has that one use and is not kept. The fused node takes the
// name of the last node of its chain, which may be kept (its output is the
// fused node's output). Each pass removes the nodes it folded; counts are
// the fused nodes it rewrote.

// Fusion pass names, in pipeline order.
const (
	PassNameChannelShuffle = "channel-shuffle"
	PassNameFusePad        = "fuse-pad"
	PassNameFoldBatchNorm  = "fold-batchnorm"
	PassNameFoldChannelAdd = "fold-channel-add"
	PassNameFuseResidual   = "fuse-residual"
	PassNameFuseActivation = "fuse-activation"
	PassNameFusePool       = "fuse-pool"
)

// FusePasses returns the fusion passes for a model whose nodes named in
// keep (and its outputs) must stay observable, in order: sink-transpose (a
// layout Transpose after a convolution moves after the activation, batch
// normalization or constant Add that follows it), cancel-transposes (the
// consumers of two inverse layout transposes read the value before them),
// channel-shuffle (a ShuffleNet channel shuffle — Reshape to (N, g, C/g,
// H, W), Transpose (0, 2, 1, 3, 4), Reshape back — and the channel Slices
// of it as Gathers on the channel axis, which exec runs as one pass per
// pixel on channels-last storage), fuse-pad (a
// ZeroPadding2D into the Conv2D, DepthwiseConv2D or unpadded average
// pooling after it),
// fold-batchnorm (a BatchNormalization on the output channels into the
// convolution or dense before it), fold-channel-add (an Add of a
// per-channel constant into the same), fuse-residual (an Add of another
// computed value of the same shape into the Conv2D before it), fuse-gelu
// (an exported GELU's Erf and arithmetic as one gelu Activation),
// fuse-layernorm (an exported layer normalization's nine nodes as one
// LayerNormalization) and fuse-activation (an element-wise activation, or a softmax on the last
// axis of a channels-last output, into the op before it; an element-wise
// one into a BatchNormalization too) and fuse-pool (a 2×2, stride-2,
// unpadded pooling, or a max pooling, into the Conv2D before it, which
// exec's SmallConv kernel computes in the convolution's step) and
// pad-channels (an inverted-residual block's expanded tensor widened to a
// multiple of 16 channels with zero weights, see PassNamePadChannels).
func FusePasses(keep map[string]bool) []Pass {
	run := func(f func(*fuser) (int, error)) func(*Model) (int, error) {
		return func(m *Model) (int, error) {
			fu := newFuser(m, keep)
			n, err := f(fu)
			fu.sweep()
			return n, err
		}
	}
	return []Pass{
		{Name: PassNameSinkTranspose, Run: run((*fuser).sinkTransposes), After: StageTyped},
		{Name: PassNameCancelTransposes, Run: run((*fuser).cancelTransposes), After: StageTyped},
		{Name: PassNameChannelShuffle, Run: run((*fuser).channelShuffles), After: StageTyped},
		{Name: PassNameFusePad, Run: run((*fuser).pads), After: StageTyped},
		{Name: PassNameFoldBatchNorm, Run: run((*fuser).batchNorms), After: StageTyped},
		{Name: PassNameFoldChannelAdd, Run: run((*fuser).channelAdds), After: StageTyped},
		{Name: PassNameFuseResidual, Run: run((*fuser).residuals), After: StageTyped},
		{Name: PassNameFuseGELU, Run: run((*fuser).gelus), After: StageTyped},
		{Name: PassNameFuseLayerNorm, Run: run((*fuser).layerNorms), After: StageTyped},
		{Name: PassNameFuseActivation, Run: run((*fuser).activations), After: StageTyped},
		{Name: PassNameFusePool, Run: run((*fuser).pools), After: StageTyped},
		{Name: PassNamePadChannels, Run: run((*fuser).padChannels), After: StageTyped},
	}
}

// fuser is one fusion pass's view of a model.
type fuser struct {
	m    *Model
	keep map[string]bool
	idx  map[string]*Node
	uses map[string]int // inputs of live nodes and model outputs
	pos  map[string]int
	dead map[string]bool
}

func newFuser(m *Model, keep map[string]bool) *fuser {
	fu := &fuser{m: m, keep: keep, idx: m.Index(), uses: m.Consumers(), pos: make(map[string]int, len(m.Nodes)), dead: map[string]bool{}}
	for i, n := range m.Nodes {
		fu.pos[n.Name] = i
	}
	return fu
}

// foldable reports whether node name can be folded into its one consumer:
// it has that one use and is neither kept nor a model output.
func (fu *fuser) foldable(name string) bool {
	if fu.keep[name] || slices.Contains(fu.m.Outputs, name) {
		return false
	}
	return fu.uses[name] == 1
}

// remove marks node p, now folded, for removal and releases its inputs'
// uses.
func (fu *fuser) remove(p *Node) {
	fu.dead[p.Name] = true
	fu.uses[p.Name] = 0
}

// sweep drops the removed nodes from the model.
func (fu *fuser) sweep() {
	if !slices.ContainsFunc(fu.m.Nodes, func(n *Node) bool { return fu.dead[n.Name] }) {
		return
	}
	kept := fu.m.Nodes[:0]
	for _, n := range fu.m.Nodes {
		if !fu.dead[n.Name] {
			kept = append(kept, n)
		}
	}
	clear(fu.m.Nodes[len(kept):])
	fu.m.Nodes = kept
}

// fusable returns a copy of p's op with a copied Fusion, its Fusion, its
// activation and the channel axis of its output, when p is a node the
// fusions may extend: a convolution or dense node.
func fusable(p *Node) (op Op, f *Fusion, act Act, ch int, ok bool) {
	r := len(p.Out.Shape)
	switch o := p.Op.(type) {
	case *Conv2D:
		c := *o
		c.Fused = o.Fused.clone()
		return &c, c.Fused, o.Activation, channelAxis(o.DataFormat), r == 4
	case *DepthwiseConv2D:
		c := *o
		c.Fused = o.Fused.clone()
		return &c, c.Fused, o.Activation, channelAxis(o.DataFormat), r == 4
	case *SeparableConv2D:
		c := *o
		c.Fused = o.Fused.clone()
		return &c, c.Fused, o.Activation, channelAxis(o.DataFormat), r == 4
	case *Dense:
		c := *o
		c.Fused = o.Fused.clone()
		return &c, c.Fused, o.Activation, r - 1, r >= 2
	}
	return nil, nil, Act{}, 0, false
}

// absorb rewrites node c (which consumed p) into op, the fused copy of p's
// op with fusion f: c takes p's inputs (then extra), p's weights (then
// extraW) and p's class, and p is removed.
func (fu *fuser) absorb(c, p *Node, op Op, f *Fusion, extra []string, extraW []*Weight) error {
	if f != nil {
		if len(f.Nodes) == 0 {
			f.Nodes = []string{p.Name}
		}
		f.Nodes = append(f.Nodes, c.Name)
	}
	c.Op = op
	c.Inputs = append(slices.Clone(p.Inputs), extra...)
	c.Weights = append(slices.Clone(p.Weights), extraW...)
	c.Class = p.Class
	fu.remove(p)
	return fu.infer(c)
}

func (fu *fuser) infer(n *Node) error { return inferNode(fu.idx, n) }

// pads folds a ZeroPadding2D into the Conv2D or DepthwiseConv2D (of the
// same data format) that is its one consumer.
func (fu *fuser) pads() (int, error) {
	return fu.eachNode(func(c *Node) (bool, error) {
		if len(c.Inputs) != 1 {
			return false, nil
		}
		p := fu.idx[c.Inputs[0]]
		zp, ok := p.Op.(*ZeroPadding2D)
		if !ok || !fu.foldable(p.Name) {
			return false, nil
		}
		var f *Fusion
		switch o := c.Op.(type) {
		case *Conv2D:
			if o.DataFormat != zp.DataFormat || o.Fused.PadsOrZero() != [4]int{} {
				return false, nil
			}
			op := *o
			op.Fused = o.Fused.clone()
			f = op.Fused
			c.Op = &op
		case *DepthwiseConv2D:
			if o.DataFormat != zp.DataFormat || o.Fused.PadsOrZero() != [4]int{} {
				return false, nil
			}
			op := *o
			op.Fused = o.Fused.clone()
			f = op.Fused
			c.Op = &op
		case *Pool2D:
			// An average over a zero-padded input is the average with
			// those pads counted in the divisor (torchvision's
			// Inception-v3 exports avg_pool2d(padding=1) so: Pad, then an
			// unpadded AveragePool). Not a max: the pads would be -Inf.
			// Pool2D has no Fused record: the Pad node is gone, and only
			// kconv ir --keep (fu.foldable) keeps it.
			if o.Max || o.DataFormat != zp.DataFormat || o.CeilMode || o.Padding != PadValid || max(o.DH, 1) > 1 || max(o.DW, 1) > 1 {
				return false, nil
			}
			op := *o
			op.Padding, op.Pads, op.CountIncludePad = PadExplicit, zp.Pads, true
			c.Op = &op
			c.Inputs = slices.Clone(p.Inputs)
			fu.remove(p)
			return true, fu.infer(c)
		default:
			return false, nil
		}
		f.Pads = zp.Pads
		if len(f.Nodes) == 0 {
			f.Nodes = []string{c.Name}
		}
		f.Nodes = append([]string{p.Name}, f.Nodes...)
		c.Inputs = slices.Clone(p.Inputs)
		fu.remove(p)
		return true, fu.infer(c)
	})
}

// eachNode calls try on every live node in order and counts the rewrites.
func (fu *fuser) eachNode(try func(c *Node) (bool, error)) (int, error) {
	changed := 0
	for _, c := range fu.m.Nodes {
		if fu.dead[c.Name] {
			continue
		}
		ok, err := try(c)
		if err != nil {
			return changed, err
		}
		if ok {
			changed++
		}
	}
	return changed, nil
}

// plainTail reports whether fusion f and activation act leave the output
// open for more folding: a linear activation and no residual yet.
func plainTail(f *Fusion, act Act) bool { return act.IsLinear() && f.Residual == "" }

// batchNorms folds a BatchNormalization on the output channels into the
// convolution or dense node before it.
func (fu *fuser) batchNorms() (int, error) {
	return fu.eachNode(func(c *Node) (bool, error) {
		bn, ok := c.Op.(*BatchNorm)
		if !ok || len(c.Inputs) != 1 {
			return false, nil
		}
		p := fu.idx[c.Inputs[0]]
		if !fu.foldable(p.Name) {
			return false, nil
		}
		op, f, act, ch, ok := fusable(p)
		if !ok || !plainTail(f, act) || f.BN != nil || len(f.Adds) > 0 || bn.ResolvedAxis(len(p.Out.Shape)) != ch || !bn.Activation.IsLinear() {
			return false, nil
		}
		b := *bn
		f.BN = &b
		return true, fu.absorb(c, p, op, f, nil, c.Weights)
	})
}

// channelAdds folds an Add of a constant broadcasting on the output
// channels into the convolution or dense node before it.
func (fu *fuser) channelAdds() (int, error) {
	return fu.eachNode(func(c *Node) (bool, error) {
		if !isAdd(c) || len(c.Inputs) != 2 {
			return false, nil
		}
		for side := range 2 {
			p, k := fu.idx[c.Inputs[side]], fu.idx[c.Inputs[1-side]]
			kc, ok := k.Op.(*Constant)
			if !ok || len(k.Weights) != 1 || p == k || !fu.foldable(p.Name) {
				continue
			}
			op, f, act, ch, ok := fusable(p)
			if !ok || !plainTail(f, act) || !c.Out.Shape.Equal(p.Out.Shape) ||
				!channelBroadcast(kc.Shape, len(p.Out.Shape), ch, p.Out.Shape[ch]) {
				continue
			}
			f.Adds = append(f.Adds, kc.Shape.Clone())
			if fu.uses[k.Name]--; fu.uses[k.Name] == 0 && !fu.keep[k.Name] && !slices.Contains(fu.m.Outputs, k.Name) {
				fu.dead[k.Name] = true
			}
			return true, fu.absorb(c, p, op, f, nil, k.Weights)
		}
		return false, nil
	})
}

// residuals folds an Add of two computed values of one shape into the
// Conv2D computing one of them (the later one in the graph); the other
// becomes the conv's residual input.
func (fu *fuser) residuals() (int, error) {
	return fu.eachNode(func(c *Node) (bool, error) {
		if !isAdd(c) || len(c.Inputs) != 2 || c.Inputs[0] == c.Inputs[1] {
			return false, nil
		}
		first := 1
		if fu.pos[c.Inputs[0]] > fu.pos[c.Inputs[1]] {
			first = 0
		}
		for _, side := range []int{first, 1 - first} {
			p, s := fu.idx[c.Inputs[side]], fu.idx[c.Inputs[1-side]]
			if _, ok := p.Op.(*Conv2D); !ok || !fu.foldable(p.Name) {
				continue
			}
			if _, ok := s.Op.(*Constant); ok {
				continue
			}
			op, f, act, _, ok := fusable(p)
			if !ok || !plainTail(f, act) || !c.Out.Shape.Equal(p.Out.Shape) || !s.Out.Shape.Equal(p.Out.Shape) {
				continue
			}
			f.Residual = s.Name
			return true, fu.absorb(c, p, op, f, []string{s.Name}, nil)
		}
		return false, nil
	})
}

// activations folds an Activation into the op before it when that op has
// an activation attribute left linear: element-wise activations always,
// softmax and log_softmax on the last axis of an output that is not
// channels-first.
func (fu *fuser) activations() (int, error) {
	return fu.eachNode(func(c *Node) (bool, error) {
		a, ok := c.Op.(*Activation)
		if !ok || len(c.Inputs) != 1 {
			return false, nil
		}
		p := fu.idx[c.Inputs[0]]
		if !fu.foldable(p.Name) {
			return false, nil
		}
		r := len(p.Out.Shape)
		if a.Act.Name == ActSoftmax || a.Act.Name == ActLogSoftmax {
			if (a.Act.Axis != -1 && a.Act.Axis != r-1) || p.Out.Layout == ChannelsFirst {
				return false, nil
			}
		}
		op, f, ok := withActivation(p.Op, a.Act)
		if !ok {
			return false, nil
		}
		return true, fu.absorb(c, p, op, f, nil, nil)
	})
}

// withActivation returns a copy of op (and of its Fusion) with activation
// a, when op has an activation attribute that is still linear: the 2-D
// convolutions and Dense, and (element-wise only) Conv1D and a BatchNorm,
// which exec then runs with its activation as one step.
func withActivation(op Op, a Act) (Op, *Fusion, bool) {
	elementwise := a.Name != ActSoftmax && a.Name != ActLogSoftmax
	switch o := op.(type) {
	case *Conv2D:
		c := *o
		c.Fused, c.Activation = o.Fused.clone(), a
		return &c, c.Fused, o.Activation.IsLinear()
	case *DepthwiseConv2D:
		c := *o
		c.Fused, c.Activation = o.Fused.clone(), a
		return &c, c.Fused, o.Activation.IsLinear()
	case *SeparableConv2D:
		c := *o
		c.Fused, c.Activation = o.Fused.clone(), a
		return &c, c.Fused, o.Activation.IsLinear()
	case *Dense:
		c := *o
		c.Fused, c.Activation = o.Fused.clone(), a
		return &c, c.Fused, o.Activation.IsLinear()
	case *Conv2DTranspose:
		c := *o
		c.Activation = a
		return &c, nil, o.Activation.IsLinear()
	case *Conv1D:
		c := *o
		c.Activation = a
		return &c, nil, o.Activation.IsLinear() && elementwise
	case *BatchNorm:
		c := *o
		c.Activation = a
		return &c, nil, o.Activation.IsLinear() && elementwise
	}
	return nil, nil, false
}

// isAdd reports whether n adds its inputs (an Add merge, or the Binary
// whose merge form is one: BinaryOp.MergeMode).
func isAdd(n *Node) bool {
	switch o := n.Op.(type) {
	case *Binary:
		m, ok := o.Op.MergeMode()
		return ok && m == MergeAdd
	case *Merge:
		return o.Mode == MergeAdd
	}
	return false
}

// PassNameSinkTranspose names the pass that moves layout transposes after
// the ops a convolution can absorb (see FusePasses).
const PassNameSinkTranspose = "sink-transpose"

// transposeNCHW reports whether perm is one of the rank-4 layout changes
// NCHW→NHWC or NHWC→NCHW (which exec computes as storage views).
func transposeNCHW(perm []int) bool {
	return slices.Equal(perm, []int{0, 2, 3, 1}) || slices.Equal(perm, []int{0, 3, 1, 2})
}

// sinkTransposes moves a layout Transpose T that follows a convolution or
// dense node (or an op this pass already moved) after its one consumer c
// when c is an element-wise activation, a batch normalization or an Add of
// a constant with at most one axis above 1, so that the fusion passes find
// c right after the convolution (ONNX exporters of Keras models put a
// Transpose to channels-last between a channels-first Conv and its bias
// Add and activation). c's op then works in T's input layout (a BN's axis
// and the constant's shape permuted; the constant is a new node sharing
// the old one's lazy weight) under T's name, and c's name goes to the
// Transpose, so a kept or output c keeps its value. T must not be kept.
func (fu *fuser) sinkTransposes() (int, error) {
	moved := map[string]bool{}
	var consts []*Node
	n, err := fu.eachNode(func(c *Node) (bool, error) {
		if len(c.Inputs) == 0 {
			return false, nil
		}
		ti := 0
		if isAdd(c) && len(c.Inputs) == 2 {
			if _, ok := fu.idx[c.Inputs[0]].Op.(*Constant); ok {
				ti = 1
			}
		}
		t := fu.idx[c.Inputs[ti]]
		top, ok := t.Op.(*Transpose)
		if !ok || !transposeNCHW(top.Perm) || len(t.Inputs) != 1 || !fu.foldable(t.Name) {
			return false, nil
		}
		x := fu.idx[t.Inputs[0]]
		if _, _, _, _, ok := fusable(x); !ok && !moved[x.Name] {
			return false, nil
		}
		perm := top.Perm
		var op Op
		inputs := []string{x.Name}
		switch o := c.Op.(type) {
		case *Activation:
			if o.Act.Name == ActSoftmax || o.Act.Name == ActLogSoftmax || len(c.Inputs) != 1 {
				return false, nil
			}
			op = &Activation{Act: o.Act}
		case *BatchNorm:
			if len(c.Inputs) != 1 {
				return false, nil
			}
			a := o.ResolvedAxis(4)
			if a < 0 || a > 3 {
				return false, nil
			}
			b := *o
			b.Axis = perm[a]
			op = &b
		case *Binary, *Merge:
			if !isAdd(c) || len(c.Inputs) != 2 {
				return false, nil
			}
			k := fu.idx[c.Inputs[1-ti]]
			kc, ok := k.Op.(*Constant)
			if !ok || len(k.Weights) != 1 || len(kc.Shape) > 4 {
				return false, nil
			}
			s4 := append(Shape{1, 1, 1, 1}[:4-len(kc.Shape)], kc.Shape...)
			big := 0
			for _, d := range s4 {
				if d > 1 {
					big++
				}
			}
			if big > 1 {
				return false, nil // permuting it would reorder its data
			}
			ns := make(Shape, 4)
			for a := range 4 {
				ns[perm[a]] = s4[a]
			}
			name := k.Name + "/" + t.Name
			if fu.idx[name] != nil {
				return false, nil
			}
			w := k.Weights[0]
			nk := &Node{Name: name, Class: k.Class, Op: &Constant{Shape: ns},
				Weights: []*Weight{NewWeight(w.Name, ns, w.DType, w.Origin, SourceFunc(func(dst []float32) error {
					v, err := w.Data()
					if err != nil {
						return err
					}
					copy(dst, v)
					return nil
				}))}}
			nk.Weights[0].Provenance = w.Provenance // a permuted view of the same stored values
			if err := fu.infer(nk); err != nil {
				return false, err
			}
			fu.idx[name] = nk
			consts = append(consts, nk)
			if fu.uses[k.Name]--; fu.uses[k.Name] == 0 && !fu.keep[k.Name] && !slices.Contains(fu.m.Outputs, k.Name) {
				fu.dead[k.Name] = true
			}
			fu.uses[name] = 1
			op = &Binary{Op: BinaryAdd}
			inputs = append(inputs, name)
		default:
			return false, nil
		}
		// c's op moves under T's name (T's node), the Transpose under c's.
		class := c.Class
		t.Op, t.Inputs, t.Class, t.Weights = op, inputs, class, c.Weights
		c.Op, c.Inputs, c.Class, c.Weights = &Transpose{Perm: slices.Clone(perm)}, []string{t.Name}, "Transpose", nil
		moved[t.Name] = true
		if err := fu.infer(t); err != nil {
			return false, err
		}
		return true, fu.infer(c)
	})
	if len(consts) > 0 {
		fu.m.Nodes = append(consts, fu.m.Nodes...)
	}
	return n, err
}

// pools folds a 2×2, stride-2, unpadded max or average pooling (of the
// same data format, without dilation or ceil mode), or a max pooling of
// any window, stride, padding and ceil mode without dilation (a stem's
// 3×3 stride-2 MaxPool), into the Conv2D before it when that
// convolution's activation is element-wise.
func (fu *fuser) pools() (int, error) {
	return fu.eachNode(func(c *Node) (bool, error) {
		pl, ok := c.Op.(*Pool2D)
		if !ok || len(c.Inputs) != 1 || !is2x2(pl) && !(pl.Max && max(pl.DH, 1) == 1 && max(pl.DW, 1) == 1) {
			return false, nil
		}
		p := fu.idx[c.Inputs[0]]
		conv, ok := p.Op.(*Conv2D)
		if !ok || !fu.foldable(p.Name) || conv.DataFormat != pl.DataFormat || conv.Fused.PoolOp() != nil ||
			conv.Activation.Name == ActSoftmax || conv.Activation.Name == ActLogSoftmax {
			return false, nil
		}
		op, f, _, _, _ := fusable(p)
		q := *pl
		f.Pool = &q
		return true, fu.absorb(c, p, op, f, nil, nil)
	})
}

// is2x2 reports whether pl is a 2×2, stride-2 pooling without padding,
// dilation or ceil mode (its output is the floor size).
func is2x2(pl *Pool2D) bool {
	w := pl.Window2D
	return w.KH == 2 && w.KW == 2 && w.SH == 2 && w.SW == 2 && max(w.DH, 1) == 1 && max(w.DW, 1) == 1 &&
		!w.CeilMode && w.Pads == [4]int{} && (w.Padding == PadValid || w.Padding == PadExplicit)
}

// PassNameCancelTransposes names the pass that drops inverse pairs of
// layout transposes (see FusePasses).
const PassNameCancelTransposes = "cancel-transposes"

// cancelTransposes makes the consumers of Transpose(Transpose(x)), two
// inverse layout changes, read x itself when neither transpose is kept and
// the inner one has no other use (ONNX exports of Keras models transpose
// a convolution's output to channels-last and straight back for the
// pooling after it; without the pair the pooling follows the convolution
// and fuse-pool can fold it). The transposes left unused are removed.
func (fu *fuser) cancelTransposes() (int, error) {
	return fu.eachNode(func(c *Node) (bool, error) {
		changed := false
		for i, name := range c.Inputs {
			t2 := fu.idx[name]
			o2, ok := t2.Op.(*Transpose)
			if !ok || !transposeNCHW(o2.Perm) || len(t2.Inputs) != 1 || fu.keep[t2.Name] || slices.Contains(fu.m.Outputs, t2.Name) {
				continue
			}
			t1 := fu.idx[t2.Inputs[0]]
			o1, ok := t1.Op.(*Transpose)
			if !ok || !transposeNCHW(o1.Perm) || slices.Equal(o1.Perm, o2.Perm) || len(t1.Inputs) != 1 || !fu.foldable(t1.Name) {
				continue
			}
			x := fu.idx[t1.Inputs[0]]
			if !sameType(x.Out, t2.Out) {
				continue
			}
			if !changed {
				c.Inputs = slices.Clone(c.Inputs) // shared with the model copied
			}
			c.Inputs[i] = x.Name
			fu.uses[x.Name]++
			if fu.uses[t2.Name]--; fu.uses[t2.Name] == 0 {
				fu.dead[t2.Name] = true
				fu.uses[x.Name]--
				fu.uses[t1.Name] = 0
				fu.dead[t1.Name] = true
			}
			changed = true
		}
		return changed, nil
	})
}

// channelShuffles rewrites channel shuffles of 4-D values (a reshape to
// (N, g, C/g, H, W), Transpose (0, 2, 1, 3, 4), a reshape back to (N, C, H,
// W)) as a Gather on axis 1 — output channel i·g+j is input channel
// j·C/g+i — and then a Slice of channels (step 1) of a channel Gather as
// the Gather of its share of the indices, reading the Gather's input.
// ShuffleNetV2 follows every block's shuffle with two such slices: lowered
// as they come, a shuffle and its slices were five passes over the
// block's output (two storage-layout conversions, a transpose, two
// copies), as Gathers two.
func (fu *fuser) channelShuffles() (int, error) {
	n, err := fu.eachNode(func(r2 *Node) (bool, error) {
		if !isReshape(r2) || len(r2.Inputs) != 1 {
			return false, nil
		}
		t := fu.idx[r2.Inputs[0]]
		tr, ok := t.Op.(*Transpose)
		if !ok || !slices.Equal(tr.Perm, []int{0, 2, 1, 3, 4}) || len(t.Inputs) != 1 || !fu.foldable(t.Name) {
			return false, nil
		}
		r1 := fu.idx[t.Inputs[0]]
		if !isReshape(r1) || len(r1.Inputs) != 1 || !fu.foldable(r1.Name) {
			return false, nil
		}
		xs, s1 := fu.idx[r1.Inputs[0]].Out.Shape, r1.Out.Shape
		if len(xs) != 4 || len(s1) != 5 || !r2.Out.Shape.Equal(xs) || s1[0] != xs[0] || s1[3] != xs[2] || s1[4] != xs[3] {
			return false, nil
		}
		g, cg := s1[1], s1[2]
		if g < 1 || cg < 1 || g*cg != xs[1] {
			return false, nil
		}
		idx := make([]int, xs[1])
		for i := range cg {
			for j := range g {
				idx[i*g+j] = j*cg + i
			}
		}
		r2.Op = &Gather{Axis: 1, Indices: idx, IndicesShape: Shape{xs[1]}}
		r2.Inputs = slices.Clone(r1.Inputs)
		fu.remove(t)
		fu.remove(r1)
		return true, fu.infer(r2)
	})
	if err != nil {
		return n, err
	}
	m, err := fu.eachNode(func(s *Node) (bool, error) {
		sl, ok := s.Op.(*Slice)
		if !ok || len(s.Inputs) != 1 || len(sl.Axes) != 1 || sl.Axes[0] != 1 || len(s.Out.Shape) != 4 {
			return false, nil
		}
		g := fu.idx[s.Inputs[0]]
		ga, ok := g.Op.(*Gather)
		if !ok || fu.dead[g.Name] || ga.Axis != 1 || len(ga.IndicesShape) != 1 || len(g.Inputs) != 1 {
			return false, nil
		}
		ax, err := sl.Resolve(g.Out.Shape)
		if err != nil || ax[1].Step != 1 {
			return false, nil
		}
		k0, k1 := ax[1].Start, ax[1].Start+ax[1].Count
		s.Op = &Gather{Axis: 1, Indices: slices.Clone(ga.Indices[k0:k1]), IndicesShape: Shape{k1 - k0}}
		s.Inputs = slices.Clone(g.Inputs)
		fu.uses[g.Inputs[0]]++
		if fu.uses[g.Name]--; fu.uses[g.Name] == 0 && !fu.keep[g.Name] && !slices.Contains(fu.m.Outputs, g.Name) {
			fu.remove(g)
			fu.uses[g.Inputs[0]]--
		}
		return true, fu.infer(s)
	})
	return n + m, err
}

// isReshape reports whether n only reshapes its input.
func isReshape(n *Node) bool {
	switch n.Op.(type) {
	case *Reshape, *ReshapeTo:
		return true
	}
	return false
}
