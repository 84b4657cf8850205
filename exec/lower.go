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
	cur       string   // the kind of the node being lowered (step.kind's default)
	preps     []func() // kernel preparations the steps wait for (see prepare)
	reads     kernelReads
}

func (p *Program) lower() error {
	m := p.lowered
	l := &lowerer{
		p:         p,
		idx:       m.Index(),
		byNode:    map[string]*value{},
		converted: map[*value]*value{},
		consumers: map[string][]*ir.Node{},
		keep:      map[string]bool{},
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
	l.prefetch(m)
	for _, n := range m.Nodes {
		l.cur = n.Op.Kind()
		if err := l.node(n); err != nil {
			return &ir.LayerError{Layer: n.Name, Err: err}
		}
	}
	// The kernels' packing and transforms, queued by the steps that use
	// them, run here on the Program's workers: they are independent and
	// took most of a large model's compile time on one core.
	p.pool.Do(p.threads, len(l.preps), preparations(l.preps))
	if err := l.reads.firstErr(); err != nil {
		return err
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

// prepare queues f, which builds something a step's function uses (a
// packed or transformed kernel), to run before lowering returns: the
// preparations of all nodes run together on the Program's workers. A step
// function must only read what f sets when it runs, never while lowering.
func (l *lowerer) prepare(f func()) { l.preps = append(l.preps, f) }

// preparations runs queued preparations as a par.Job.
type preparations []func()

// RunItem runs preparation i.
func (ps preparations) RunItem(_, i int) { ps[i]() }

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
	l.add(&step{node: v.name, kind: "layout", toNHWC: toNHWC, ins: []*value{v}, out: c, fn: func(a *arena, n int, ins [][]float32, out []float32) error {
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

// tail is what a convolution or dense node computes after its op, as the
// optimizing passes (ir.FusePasses, run by Optimize) recorded it in the IR:
// its activation, and whether a batch normalization was folded into its
// kernel (which is then a folded copy).
type tail struct {
	act ir.Act
	bn  bool
}

// foldedWeights returns node n's own weights (kernels, then the bias when
// useBias) with what the fusion f recorded folded in: a batch
// normalization scales kernel ks[k] (whose last axis is the outC output
// channels) and the bias, and per-channel constants are added to the bias.
// bn reports a folded batch normalization. The arithmetic is done here,
// at compile time: the IR only references the folded nodes' weights.
func foldedWeights(n *ir.Node, useBias bool, f *ir.Fusion, outC, k int) (ks [][]float32, bias []float32, bn bool, err error) {
	ws, err := weights(n)
	if err != nil {
		return nil, nil, false, err
	}
	ks, bias, scale, err := foldWeights(ws, useBias, f, outC, k)
	if err != nil || scale == nil {
		return ks, bias, false, err
	}
	ks = append([][]float32(nil), ks...)
	ks[k] = scaledKernel(ks[k], outC, scale)
	return ks, bias, true, nil
}

// foldWeights is foldedWeights on the values ws of the node's weights,
// leaving kernel ws[k] as it is (it may be nil: not read yet): scale, when
// a batch normalization is folded, is what its output channels are to be
// multiplied by.
func foldWeights(ws [][]float32, useBias bool, f *ir.Fusion, outC, k int) (ks [][]float32, bias, scale []float32, err error) {
	own := len(ws) - f.WeightCount()
	if own < 1 {
		return nil, nil, nil, fmt.Errorf("has %d weights, its fusion alone takes %d", len(ws), f.WeightCount())
	}
	ks, extra := ws[:own], ws[own:]
	if useBias {
		ks, bias = ks[:own-1], ks[own-1]
	}
	if f == nil {
		return ks, bias, nil, nil
	}
	if k >= len(ks) {
		return nil, nil, nil, fmt.Errorf("has no kernel %d", k)
	}
	if f.BN != nil {
		nb := 2
		if f.BN.Scale {
			nb++
		}
		if f.BN.Center {
			nb++
		}
		var shift []float32
		scale, shift, err = bnAffineOf(f.BN, extra[:nb])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("folding %s: %w", f.Nodes[len(f.Nodes)-1], err)
		}
		if len(scale) != outC {
			return nil, nil, nil, fmt.Errorf("folded batch normalization has %d channels, expected %d", len(scale), outC)
		}
		_, bias = foldAffine(nil, bias, outC, scale, shift)
		extra = extra[nb:]
	}
	if len(extra) > 0 {
		nb := make([]float32, outC)
		copy(nb, bias)
		for _, a := range extra {
			if len(a) != 1 && len(a) != outC {
				return nil, nil, nil, fmt.Errorf("folded constant has %d values for %d channels", len(a), outC)
			}
			for i := range nb {
				if len(a) == 1 {
					nb[i] += a[0]
				} else {
					nb[i] += a[i]
				}
			}
		}
		bias = nb
	}
	return ks, bias, scale, nil
}

// noResidual refuses a residual input or a pooling recorded on an op whose
// lowering does not compute them (fuse-residual and fuse-pool fold only
// into Conv2D).
func noResidual(f *ir.Fusion) error {
	if r := f.ResidualName(); r != "" {
		return fmt.Errorf("residual input %s is supported on Conv2D only", r)
	}
	if f.PoolOp() != nil {
		return fmt.Errorf("a folded pooling is supported on Conv2D only")
	}
	return nil
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
	ws, err := weights(n)
	if err != nil {
		return nil, nil, err
	}
	return bnAffineOf(n.Op.(*ir.BatchNorm), ws)
}

// bnAffineOf returns the per-channel scale and shift of batch
// normalization b with weights ws (gamma if Scale, beta if Center, mean,
// variance).
func bnAffineOf(b *ir.BatchNorm, ws [][]float32) (scale, shift []float32, err error) {
	want := 2
	if b.Scale {
		want++
	}
	if b.Center {
		want++
	}
	if len(ws) != want {
		return nil, nil, fmt.Errorf("batch normalization has %d weights, expected %d", len(ws), want)
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

// foldAffine folds a per-channel affine into a kernel whose last axis is
// the outC output channels, and into a bias (created if nil).
func foldAffine(kernel, bias []float32, outC int, scale, shift []float32) ([]float32, []float32) {
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
	return k, b
}
