package exec

import (
	"fmt"
	"math"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
)

// lowerer turns the model's nodes into steps.
type lowerer struct {
	p         *Program
	idx       map[string]*ir.Node
	byNode    map[string]*value // node → its output value (any storage)
	converted map[*value]*value // value → its other-storage twin
	consumers map[string][]*ir.Node
	keep      map[string]bool
	fused     map[string]bool   // nodes absorbed into another node's step
	padded    map[string][4]int // convolutions that absorbed a ZeroPadding2D
	cur       string            // the kind of the node being lowered (step.kind's default)
}

func (p *Program) lower() error {
	m := p.model
	l := &lowerer{
		p:         p,
		idx:       m.Index(),
		byNode:    map[string]*value{},
		converted: map[*value]*value{},
		consumers: map[string][]*ir.Node{},
		keep:      map[string]bool{},
		fused:     map[string]bool{},
	}
	for _, n := range m.Nodes {
		for _, in := range n.Inputs {
			l.consumers[in] = append(l.consumers[in], n)
		}
		if p.opts.KeepAll {
			l.keep[n.Name] = true
		}
	}
	for _, k := range p.opts.Keep {
		if l.idx[k] == nil {
			return fmt.Errorf("keep: no layer '%s'", k)
		}
		l.keep[k] = true
	}
	for _, o := range m.Outputs {
		l.keep[o] = true
	}
	for _, n := range m.Nodes {
		if l.fused[n.Name] {
			continue
		}
		l.cur = n.Op.Kind()
		if err := l.node(n); err != nil {
			return &ir.LayerError{Layer: n.Name, Err: err}
		}
	}
	for _, name := range m.Inputs {
		p.inputs = append(p.inputs, l.byNode[name])
	}
	for _, name := range m.Outputs {
		p.outputs = append(p.outputs, l.need(l.byNode[name], false))
	}
	for name := range l.keep {
		if v := l.byNode[name]; v != nil {
			p.kept[name] = l.need(v, false)
		}
	}
	return nil
}

// newValue makes a value for node n's output.
func (l *lowerer) newValue(name string, t ir.TensorType, nhwc bool) *value {
	v := &value{id: len(l.p.values), name: name, shape: t.Shape.Clone(), layout: t.Layout, nhwc: nhwc && len(t.Shape) == 4}
	v.per = int(ir.Shape(t.Shape[1:]).Elements())
	l.p.values = append(l.p.values, v)
	return v
}

// viewOf makes a value sharing v's buffer with another logical type.
func (l *lowerer) viewOf(v *value, name string, t ir.TensorType, nhwc bool) *value {
	w := l.newValue(name, t, nhwc)
	w.view = v
	return w
}

func (l *lowerer) add(s *step) {
	if s.kind == "" {
		s.kind = l.cur
	}
	l.p.steps = append(l.p.steps, s)
}

// need returns v in the requested storage, adding a conversion if needed.
func (l *lowerer) need(v *value, nhwc bool) *value {
	if len(v.shape) != 4 || v.nhwc == nhwc {
		return v
	}
	if c := l.converted[v]; c != nil {
		return c
	}
	c := l.newValue(v.name, ir.TensorType{Shape: v.shape, Layout: v.layout}, nhwc)
	toNHWC := nhwc
	l.add(&step{node: v.name, kind: "layout", ins: []*value{v}, out: c, fn: func(a *arena, n int, ins [][]float32, out []float32) error {
		s := v.dims(n)
		if toNHWC {
			nchwToNHWC(out, ins[0], s[0], s[1], s[2], s[3])
		} else {
			nhwcToNCHW(out, ins[0], s[0], s[1], s[2], s[3])
		}
		return nil
	}})
	l.converted[v] = c
	l.converted[c] = v
	return c
}

// spatialIn returns the node's single input in NHWC storage for an op whose
// data format is df (a channels-first op reads its input as NCHW).
func (l *lowerer) spatialIn(n *ir.Node, df ir.Layout) *value {
	return l.need(l.byNode[n.Inputs[0]], df == ir.ChannelsFirst)
}

// soleConsumer returns the only consumer of node name if fusing into it is
// allowed.
func (l *lowerer) soleConsumer(name string) *ir.Node {
	if l.p.opts.NoFuse || l.keep[name] {
		return nil
	}
	cs := l.consumers[name]
	if len(cs) != 1 {
		return nil
	}
	return cs[0]
}

// tail is what a convolution or dense layer absorbs from the nodes after
// it: NCHW<->NHWC transposes (storage views), a batch normalization on the
// channel axis, additions of per-channel constants (a bias exported as a
// separate Add), and finally an element-wise activation.
type tail struct {
	chain []*ir.Node  // absorbed nodes, in order
	act   ir.Act      // the activation applied in the epilogue
	bn    *ir.Node    // folded batch normalization, if any
	adds  [][]float32 // per-channel constants added after bn
}

// fuseTail walks the single-consumer chain after node n, whose output is
// stored NHWC-transposed when nhwc is set, and returns what can be fused.
func (l *lowerer) fuseTail(n *ir.Node, act ir.Act, nhwc, allowBN bool) tail {
	t := tail{act: act}
	if !act.IsLinear() {
		return t
	}
	cur := n
	for {
		c := l.soleConsumer(cur.Name)
		if c == nil {
			return t
		}
		r := len(c.Out.Shape)
		chAxis := r - 1
		if nhwc {
			chAxis = 1
		}
		switch op := c.Op.(type) {
		case *ir.Transpose:
			p := op.Perm
			switch {
			case r == 4 && nhwc && len(p) == 4 && p[0] == 0 && p[1] == 2 && p[2] == 3 && p[3] == 1:
				nhwc = false
			case r == 4 && !nhwc && len(p) == 4 && p[0] == 0 && p[1] == 3 && p[2] == 1 && p[3] == 2:
				nhwc = true
			default:
				return t
			}
		case *ir.BatchNorm:
			if !allowBN || t.bn != nil || len(t.adds) > 0 || op.ResolvedAxis(r) != chAxis {
				return t
			}
			t.bn = c
		case *ir.Binary, *ir.Merge:
			if b, ok := op.(*ir.Binary); ok && b.Op != ir.BinaryAdd {
				return t
			}
			if m, ok := op.(*ir.Merge); ok && m.Mode != ir.MergeAdd {
				return t
			}
			add := l.channelConstant(c, cur.Name, r, chAxis)
			if add == nil {
				return t
			}
			t.adds = append(t.adds, add)
		case *ir.Activation:
			if !elementwise(op.Act) && !(op.Act.Name == "softmax" && (op.Act.Axis == -1 || op.Act.Axis == r-1) && !nhwc) {
				return t
			}
			t.act = op.Act
			t.chain = append(t.chain, c)
			l.fused[c.Name] = true
			return t
		default:
			return t
		}
		t.chain = append(t.chain, c)
		l.fused[c.Name] = true
		cur = c
	}
}

// channelConstant returns the per-channel values of node c's other input
// when c adds a Constant that broadcasts along one channel axis (or is a
// scalar) to the output of node from; nil otherwise.
func (l *lowerer) channelConstant(c *ir.Node, from string, rank, chAxis int) []float32 {
	if len(c.Inputs) != 2 {
		return nil
	}
	other := c.Inputs[0]
	if other == from {
		other = c.Inputs[1]
	} else if c.Inputs[1] != from {
		return nil
	}
	cn := l.idx[other]
	if cn == nil {
		return nil
	}
	if _, ok := cn.Op.(*ir.Constant); !ok || len(cn.Weights) != 1 {
		return nil
	}
	s := cn.Out.Shape
	if len(s) > rank {
		return nil
	}
	chans := c.Out.Shape[chAxis]
	for i, d := range s {
		axis := rank - len(s) + i
		if d != 1 && !(axis == chAxis && d == chans) {
			return nil
		}
	}
	data, err := cn.Weights[0].Data()
	if err != nil {
		return nil
	}
	out := make([]float32, chans)
	for i := range out {
		if len(data) == 1 {
			out[i] = data[0]
		} else {
			out[i] = data[i]
		}
	}
	return out
}

// fold applies the tail's batch normalization and additions to a kernel
// whose last axis is the outC output channels, and to its bias (nil: none).
func (t tail) fold(kernel, bias []float32, outC int) ([]float32, []float32, error) {
	var err error
	if t.bn != nil {
		if kernel, bias, err = foldBN(kernel, bias, outC, t.bn); err != nil {
			return nil, nil, err
		}
	}
	if len(t.adds) > 0 {
		nb := make([]float32, outC)
		copy(nb, bias)
		for _, a := range t.adds {
			for i := range nb {
				nb[i] += a[i]
			}
		}
		bias = nb
	}
	return kernel, bias, nil
}

func elementwise(a ir.Act) bool { return a.Name != "softmax" && a.Name != "log_softmax" }

// kernelAct maps an ir activation to the kernels' element-wise form.
func kernelAct(a ir.Act) (kernels.Activation, error) {
	k := kernels.Activation{}
	switch a.Name {
	case "", "linear":
		k.Kind = kernels.ActLinear
	case "relu":
		k.Kind = kernels.ActReLU
		k.NegativeSlope = float32(a.Alpha)
		k.Threshold = float32(a.Threshold)
		k.HasMax, k.MaxValue = a.HasMax, float32(a.MaxValue)
	case "relu6":
		k.Kind, k.HasMax, k.MaxValue = kernels.ActReLU, true, 6
	case "leaky_relu":
		k.Kind, k.NegativeSlope = kernels.ActReLU, float32(a.Alpha)
	case "sigmoid":
		k.Kind = kernels.ActSigmoid
	case "tanh":
		k.Kind = kernels.ActTanh
	case "elu":
		k.Kind, k.Alpha = kernels.ActELU, float32(a.Alpha)
	case "selu":
		k.Kind = kernels.ActSELU
	case "softplus":
		k.Kind = kernels.ActSoftplus
	case "softsign":
		k.Kind = kernels.ActSoftsign
	case "hard_sigmoid":
		k.Kind, k.Alpha, k.Beta = kernels.ActHardSigmoid, float32(a.Alpha), float32(a.Beta)
	case "hard_swish":
		k.Kind = kernels.ActHardSwish
	case "swish":
		k.Kind = kernels.ActSwish
	case "gelu":
		k.Kind = kernels.ActGELU
		if a.Approximate {
			k.Kind = kernels.ActGELUTanh
		}
	case "exponential":
		k.Kind = kernels.ActExponential
	case "erf":
		k.Kind = kernels.ActErf
	case "mish":
		k.Kind = kernels.ActMish
	default:
		return k, fmt.Errorf("activation %q cannot be fused", a.Name)
	}
	return k, nil
}

// weights returns the data of node n's weights, in spec order.
func weights(n *ir.Node) ([][]float32, error) {
	out := make([][]float32, len(n.Weights))
	for i, w := range n.Weights {
		d, err := w.Data()
		if err != nil {
			return nil, fmt.Errorf("weight %s: %w", w.Name, err)
		}
		out[i] = d
	}
	if len(n.Weights) != len(n.Specs) {
		return nil, fmt.Errorf("has %d weights, expected %d (was the model loaded with its weights?)", len(n.Weights), len(n.Specs))
	}
	return out, nil
}

// kernelsAndBias returns node n's weights with the bias (the last weight,
// present when useBias) split off.
func kernelsAndBias(n *ir.Node, useBias bool) (ks [][]float32, bias []float32, err error) {
	ws, err := weights(n)
	if err != nil {
		return nil, nil, err
	}
	if useBias && len(ws) > 0 {
		return ws[:len(ws)-1], ws[len(ws)-1], nil
	}
	return ws, nil, nil
}

// bnAffine returns the per-channel scale and shift of an inference BN.
func bnAffine(n *ir.Node) (scale, shift []float32, err error) {
	b := n.Op.(*ir.BatchNorm)
	ws, err := weights(n)
	if err != nil {
		return nil, nil, err
	}
	i := 0
	var gamma, beta []float32
	if b.Scale {
		gamma, i = ws[i], i+1
	}
	if b.Center {
		beta, i = ws[i], i+1
	}
	mean, variance := ws[i], ws[i+1]
	scale = make([]float32, len(mean))
	shift = make([]float32, len(mean))
	for c := range mean {
		g := 1.0
		if gamma != nil {
			g = float64(gamma[c])
		}
		s := g / math.Sqrt(float64(variance[c])+b.Epsilon)
		scale[c] = float32(s)
		bt := 0.0
		if beta != nil {
			bt = float64(beta[c])
		}
		shift[c] = float32(bt - float64(mean[c])*s)
	}
	return scale, shift, nil
}

// foldBN folds a BN's affine into a kernel whose last axis is the output
// channel, and into a bias (created if nil).
func foldBN(kernel, bias []float32, outC int, bn *ir.Node) ([]float32, []float32, error) {
	scale, shift, err := bnAffine(bn)
	if err != nil {
		return nil, nil, fmt.Errorf("folding %s: %w", bn.Name, err)
	}
	if len(scale) != outC {
		return nil, nil, fmt.Errorf("folding %s: %d channels, expected %d", bn.Name, len(scale), outC)
	}
	k := make([]float32, len(kernel))
	for i, v := range kernel {
		k[i] = v * scale[i%outC]
	}
	b := make([]float32, outC)
	for c := range b {
		bv := float32(0)
		if bias != nil {
			bv = bias[c]
		}
		b[c] = bv*scale[c] + shift[c]
	}
	return k, b, nil
}
