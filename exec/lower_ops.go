package exec

import (
	"fmt"
	"sync"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
)

// node lowers one ir node (and whatever it fuses) to steps.
func (l *lowerer) node(n *ir.Node) error {
	switch op := n.Op.(type) {
	case *ir.Input:
		l.byNode[n.Name] = l.newValue(n.Name, n.Out, false)
		return nil
	case *ir.Dropout:
		in := l.byNode[n.Inputs[0]]
		l.byNode[n.Name] = l.viewOf(in, n.Name, n.Out, in.nhwc)
		return nil
	case *ir.Flatten:
		in := l.byNode[n.Inputs[0]]
		// Keras's Flatten(data_format="channels_first") moves channels
		// last first: exactly our NHWC storage of a channels-first value.
		in = l.need(in, op.ChannelsFirst && len(in.shape) == 4)
		l.byNode[n.Name] = l.viewOf(in, n.Name, n.Out, false)
		return nil
	case *ir.Reshape:
		in := l.need(l.byNode[n.Inputs[0]], false)
		l.byNode[n.Name] = l.viewOf(in, n.Name, n.Out, false)
		return nil
	case *ir.Lambda:
		return l.lambda(n, op)
	case *ir.ZeroPadding2D:
		return l.padCrop(n, op.Pads, op.DataFormat, true)
	case *ir.Cropping2D:
		return l.padCrop(n, op.Crops, op.DataFormat, false)
	case *ir.Conv2D:
		return l.conv(n, op)
	case *ir.DepthwiseConv2D:
		return l.depthwise(n, op)
	case *ir.SeparableConv2D:
		return l.separable(n, op)
	case *ir.Conv2DTranspose:
		return l.deconv(n, op)
	case *ir.Pool2D:
		return l.pool(n, op)
	case *ir.GlobalPool2D:
		return l.globalPool(n, op)
	case *ir.Dense:
		return l.dense(n, op)
	case *ir.Activation:
		return l.activation(n, op.Act)
	case *ir.PReLU:
		return l.prelu(n, op)
	case *ir.BatchNorm:
		return l.batchNorm(n, op)
	case *ir.Merge:
		return l.merge(n, op)
	case *ir.Permute:
		return l.permute(n, op)
	case *ir.UpSampling2D:
		return l.upsample(n, op)
	case *ir.Unknown:
		return fmt.Errorf("kconv cannot run layer class %s (it is listed in summaries only)", op.ClassName)
	}
	if ok, err := l.seqNode(n); ok || err != nil {
		return err
	}
	if ok, err := l.genericNode(n); ok || err != nil {
		return err
	}
	if ok, err := l.onnxNode(n); ok || err != nil {
		return err
	}
	return fmt.Errorf("kconv cannot run op %s", n.Op.Kind())
}

func (l *lowerer) lambda(n *ir.Node, op *ir.Lambda) error {
	impl, ok := ir.LookupLambda(op.Function)
	if !ok {
		what := "its Python function cannot run in Go"
		if op.Function != "" {
			what = fmt.Sprintf("no Go implementation is registered for %q", op.Function)
		}
		return fmt.Errorf("Lambda: %s; supply one with --lambda %s=NAME (builtin: %v) or ir.RegisterLambda", what, n.Name, ir.LambdaNames())
	}
	in := l.need(l.byNode[n.Inputs[0]], false)
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		ti := &ir.Tensor{Shape: in.dims(b), Layout: in.layout, Data: ins[0]}
		to := &ir.Tensor{Shape: out.dims(b), Layout: out.layout, Data: o}
		return impl.Eval(ti, to)
	}})
	return nil
}

// nhwcDims returns n, h, w, c of a value stored as NHWC for an op of format df.
func nhwcDims(v *value, df ir.Layout, batch int) (n, h, w, c int) {
	s := v.dims(batch)
	if df == ir.ChannelsFirst {
		return s[0], s[2], s[3], s[1]
	}
	return s[0], s[1], s[2], s[3]
}

func (l *lowerer) padCrop(n *ir.Node, p [4]int, df ir.Layout, pad bool) error {
	in := l.spatialIn(n, df)
	out := l.newValue(n.Name, n.Out, df == ir.ChannelsFirst)
	l.byNode[n.Name] = out
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		bn, h, w, c := nhwcDims(in, df, b)
		if pad {
			padNHWC(o, ins[0], bn, h, w, c, p)
		} else {
			cropNHWC(o, ins[0], bn, h, w, c, p)
		}
		return nil
	}})
	return nil
}

// convGeom builds the kernel parameters of a window op on value in.
func convGeom(in *value, df ir.Layout, w ir.Window2D, outC, groups int, extra [4]int) func(batch int) kernels.ConvParams {
	_, h, wd, c := nhwcDims(in, df, 1)
	_, _, pads, _ := w.Resolve(h+extra[0]+extra[1], wd+extra[2]+extra[3])
	for i := range pads {
		pads[i] += extra[i]
	}
	dh, dw := max(w.DH, 1), max(w.DW, 1)
	return func(batch int) kernels.ConvParams {
		return kernels.ConvParams{
			N: batch, H: h, W: wd, C: c, OutC: outC, KH: w.KH, KW: w.KW,
			StrideH: w.SH, StrideW: w.SW, DilH: dh, DilW: dw,
			PadTop: pads[0], PadBottom: pads[1], PadLeft: pads[2], PadRight: pads[3],
			Groups: max(groups, 1),
		}
	}
}

// finish makes the output value of a step that computes node n and its
// fused tail: the step writes the buffer of out (typed as n's output,
// stored NHWC-transposed when nhwc), returned as final too (what a softmax
// after the step works on). It also returns the epilogue's element-wise
// activation.
func (l *lowerer) finish(n *ir.Node, t tail, nhwc bool) (out, final *value, ka kernels.Activation, err error) {
	out = l.newValue(n.Name, n.Out, nhwc)
	l.byNode[n.Name] = out
	final = out
	if elementwise(t.act) {
		ka, err = kernelAct(t.act)
	}
	return out, final, ka, err
}

// softmaxAfter adds a softmax step on v's logical axis when act is softmax.
func (l *lowerer) softmaxAfter(v *value, act ir.Act) {
	name := v.name
	if elementwise(act) {
		return
	}
	log := act.Name == "log_softmax"
	axis := physAxis(v, act.Axis)
	l.add(&step{node: name, ins: []*value{v}, out: v, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		if log {
			kernels.LogSoftmax(o, ins[0], v.physical(b), axis, nil)
		} else {
			kernels.Softmax(o, ins[0], v.physical(b), axis, nil)
		}
		return nil
	}})
}

// physAxis maps a logical axis of v (negative counts from the end) to its
// storage axis.
func physAxis(v *value, axis int) int {
	r := len(v.shape)
	if axis < 0 {
		axis += r
	}
	if v.nhwc {
		return [4]int{0, 3, 1, 2}[axis]
	}
	return axis
}

func (l *lowerer) conv(n *ir.Node, op *ir.Conv2D) error {
	kc, bias, bn, err := l.convWeights(n, op.UseBias, op.Fused, op.Filters)
	if err != nil {
		return err
	}
	t := tail{act: op.Activation, bn: bn}
	in := l.spatialIn(n, op.DataFormat)
	geom := convGeom(in, op.DataFormat, op.Window2D, op.Filters, op.Groups, op.Fused.PadsOrZero())
	p1 := geom(1)
	wino := !l.p.opts.NoWinograd && kernels.WinogradOK(p1) && kernels.WinogradPays(p1)
	cn := n // the node whose output the kernel writes: n, or n before its pooling
	if op.Fused.PoolOp() != nil {
		if cn, err = l.unpooled(n, op); err != nil {
			return err
		}
	}
	out, final, ka, err := l.finish(cn, t, op.DataFormat == ir.ChannelsFirst)
	if err != nil {
		return err
	}
	// A residual input (fuse-residual) is added by the convolution where
	// SmallConv (its direct kernel's epilogue, or after its Winograd
	// F(2×2) output transform) or Winograd F(4×4) computes the layer, each
	// output row or tile right after it is written; after the im2col
	// kernel, which then runs without the activation, by a step of its own
	// with the activation.
	var skip *value
	residualStep, afterAct := false, ka
	if r := op.Fused.ResidualName(); r != "" {
		skip = l.need(l.byNode[r], op.DataFormat == ir.ChannelsFirst)
		if !wino && !kernels.SmallConvPays(p1, ka, false) {
			residualStep, ka = true, kernels.Activation{}
		}
	}
	// The model's kernel is not needed once packed, transformed or folded:
	// let it go (it is read from its file again if ever needed). A packed
	// kernel is read when it is packed, and let go then (see convKernel).
	releaseKernel := false
	defer func() {
		if t.bn && !releaseKernel {
			n.Weights[0].Release()
		}
	}()
	switch {
	case skip != nil && !residualStep && kernels.SmallConvPays(p1, ka, wino):
		// SmallConv adds the residual to the sums its direct kernel
		// stores (or to each row it writes, or to the pixels its Winograd
		// F(2×2) path writes), then applies the activation after the Add;
		// so does Winograd F(4×4, 3×3) at the batch sizes where it takes
		// over (as in the case below).
		newSC := kernels.NewSmallConv
		if l.p.opts.NoWinograd {
			newSC = kernels.NewSmallConvDirect
		}
		var sc *kernels.SmallConv
		l.packKernel(kc, func(k []float32) { sc = newSC(k, p1) })
		releaseKernel = true
		var wg func() *kernels.Winograd
		if wino && !kernels.SmallConvPays(geom(1<<20), ka, true) {
			wg = sync.OnceValue(func() *kernels.Winograd { return kernels.NewWinogradFrom(sc) })
		}
		l.add(&step{node: n.Name, kind: "Conv2D/direct+add", ins: []*value{in, skip}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			if p := geom(in.batch(b)); wg == nil || kernels.SmallConvPays(p, ka, true) {
				sc.Conv2DAdd(p, ins[0], bias, ins[1], ka, o, &a.ws)
			} else {
				wg().Conv2DAdd(p, ins[0], bias, ins[1], ka, o, &a.ws)
			}
			return nil
		}, scaleIn: func(y *value) stepFn {
			return func(a *arena, b int, ins [][]float32, o []float32) error {
				p := geom(in.batch(b))
				sc.Conv2DScaled(p, ins[0], ins[2], scaleStride(y, b, p), bias, ins[1], ka, o, p.OutC, &a.ws)
				return nil
			}
		}})
	case skip == nil && op.Fused.PoolOp() == nil && kernels.SplitConvPays(p1, ka) &&
		kernels.SmallConvPays(p1, ka, wino) && !(wino && !kernels.SmallConvPays(geom(1<<20), ka, true)):
		// A direct convolution whose blocks' weights outgrow the cache
		// (Wide ResNet's 7²×1024→1024 3×3): SmallConvs over chunks of its
		// input channels (kernels.SplitConv).
		var sc *kernels.SplitConv
		l.packKernel(kc, func(k []float32) { sc = kernels.NewSplitConv(k, p1) })
		releaseKernel = true
		l.add(&step{node: n.Name, kind: "Conv2D/split", ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			sc.Conv2D(geom(in.batch(b)), ins[0], bias, ka, o, &a.ws)
			return nil
		}})
	case kernels.SmallConvPays(p1, ka, wino):
		// Direct convolution or Winograd F(2×2, 3×3) on AVX-512, the
		// kernel packed once here. Where Winograd F(4×4, 3×3) applies too,
		// it takes over from the batch size at which it is expected to be
		// faster, if any.
		newSC := kernels.NewSmallConv
		if l.p.opts.NoWinograd {
			newSC = kernels.NewSmallConvDirect
		}
		var sc *kernels.SmallConv
		l.packKernel(kc, func(k []float32) { sc = newSC(k, p1) })
		releaseKernel = true
		// Winograd F(4×4, 3×3) for the batch sizes where it is expected to
		// win, built from the packed kernel at the first such run: a
		// Program run only at small batches never holds its 4× kernel, nor
		// pays for the transform when compiled.
		var wg func() *kernels.Winograd
		if wino && !kernels.SmallConvPays(geom(1<<20), ka, true) {
			wg = sync.OnceValue(func() *kernels.Winograd { return kernels.NewWinogradFrom(sc) })
		}
		s := &step{node: n.Name, kind: "Conv2D/direct", ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			if p := geom(in.batch(b)); wg == nil || kernels.SmallConvPays(p, ka, true) {
				sc.Conv2D(p, ins[0], bias, ka, o, &a.ws)
			} else {
				wg().Conv2D(p, ins[0], bias, ka, o, &a.ws)
			}
			return nil
		}}
		c := &scStep{sc: &sc, wg: wg, geom: geom, in: in, bias: bias, ka: ka}
		c.hooks(s)
		s.expand = c
		if wg == nil {
			s.poolIn = func(pp kernels.PoolParams, isMax bool) stepFn {
				if !kernels.PoolIs2x2(pp) && !(isMax && kernels.MaxPoolFits(pp)) {
					return nil
				}
				if !kernels.PoolIs2x2(pp) && (!kernels.SmallConvMaxPoolPays(p1) || !l.p.opts.NoWinograd && kernels.SmallConvWinograd(p1, ka)) {
					return nil // a pooling step after the convolution is faster
				}
				c.pool, c.poolMax = &pp, isMax
				return c.fn()
			}
		}
		l.add(s)
	case wino:
		// 3×3 stride-1 convolutions: Winograd F(4×4, 3×3), kernel
		// transformed once here (4× its size), 2.25× fewer multiplications.
		var wg *kernels.Winograd
		l.packKernel(kc, func(k []float32) { wg = kernels.NewWinograd(k, p1.C, op.Filters) })
		releaseKernel = true
		if skip != nil {
			l.add(&step{node: n.Name, kind: "Conv2D/winograd+add", ins: []*value{in, skip}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
				wg.Conv2DAdd(geom(in.batch(b)), ins[0], bias, ins[1], ka, o, &a.ws)
				return nil
			}})
			break
		}
		l.add(&step{node: n.Name, kind: "Conv2D/winograd", ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			wg.Conv2D(geom(in.batch(b)), ins[0], bias, ka, o, &a.ws)
			return nil
		}, outStride: winogradStrided(&wg, geom, in, bias, ka)})
	default:
		kind := "Conv2D/im2col"
		if p1.KH == 1 && p1.KW == 1 {
			kind = "Conv2D/1x1"
		}
		kernel, err := kc.values()
		if err != nil {
			return err
		}
		l.add(&step{node: n.Name, kind: kind, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			kernels.Conv2D(geom(in.batch(b)), ins[0], kernel, bias, ka, o, &a.ws)
			return nil
		}, outStride: conv2DStrided(geom, in, kernel, bias, ka)})
	}
	if residualStep {
		l.addResidual(out, skip, afterAct)
	}
	l.softmaxAfter(final, t.act)
	if pool := op.Fused.PoolOp(); pool != nil {
		return l.pooled(n, pool, out)
	}
	return nil
}

// unpooled returns a node standing for convolution n before the pooling
// fuse-pool folded into it: its output type and an internal name.
func (l *lowerer) unpooled(n *ir.Node, op *ir.Conv2D) (*ir.Node, error) {
	c := *op
	f := *op.Fused
	f.Pool, c.Fused = nil, &f
	in := make([]ir.TensorType, len(n.Inputs))
	for i, name := range n.Inputs {
		in[i] = l.idx[name].Out
	}
	t, err := c.Infer(in)
	if err != nil {
		return nil, err
	}
	return &ir.Node{Name: n.Name + "/unpooled", Class: n.Class, Op: &c, Inputs: n.Inputs, Out: t}, nil
}

// pooled lowers the pooling fuse-pool folded into convolution n, whose
// unpooled output is conv: the step just added computes it when its kernel
// can (SmallConv: Conv2DPool2x2, Conv2DMaxPool) and conv is its own
// output, else a pooling step follows. A max-pooled step keeps only the
// hook that reads a channels-first input (a stem's convolution and max
// pooling: Conv2DNCHWMaxPool, for a 2×2 window too).
func (l *lowerer) pooled(n *ir.Node, pool *ir.Pool2D, conv *value) error {
	_, h, w, c := nhwcDims(conv, pool.DataFormat, 1)
	oh, ow, pads, err := pool.Window2D.Resolve(h, w)
	if err != nil {
		return err
	}
	pp := kernels.PoolParams{N: 1, H: h, W: w, C: c, KH: pool.KH, KW: pool.KW, StrideH: pool.SH, StrideW: pool.SW,
		PadTop: pads[0], PadBottom: pads[1], PadLeft: pads[2], PadRight: pads[3], OutH: oh, OutW: ow}
	if s := l.p.steps[len(l.p.steps)-1]; s.poolIn != nil && s.out == conv && max(pool.DH, 1) == 1 && max(pool.DW, 1) == 1 {
		if fn := s.poolIn(pp, pool.Max); fn != nil {
			out := l.newValue(n.Name, n.Out, conv.nhwc)
			l.byNode[n.Name] = out
			s.fn, s.out, s.poolIn, s.outStride, s.inStride, s.preIn, s.scaleIn, s.expand = fn, out, nil, nil, nil, nil, nil, nil
			if !pool.Max {
				s.nchwIn = nil
			}
			return nil
		}
	}
	cur := l.cur
	l.cur = pool.Kind() // the pooling step's kind in profiles
	defer func() { l.cur = cur }()
	return l.pool(&ir.Node{Name: n.Name, Class: pool.Kind(), Op: pool, Inputs: []string{conv.name}, Out: n.Out}, pool)
}

// addResidual adds a step that adds skip to out in place, then applies
// the element-wise activation ka.
func (l *lowerer) addResidual(out, skip *value, ka kernels.Activation) {
	l.add(&step{node: out.name, ins: []*value{out, skip}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		kernels.ResidualAct(o, ins[1][:len(o)], ka, &a.ws)
		return nil
	}})
}

func (l *lowerer) depthwise(n *ir.Node, op *ir.DepthwiseConv2D) error {
	if err := noResidual(op.Fused); err != nil {
		return err
	}
	in := l.spatialIn(n, op.DataFormat)
	_, _, _, c := nhwcDims(in, op.DataFormat, 1)
	ks, bias, bn, err := foldedWeights(n, op.UseBias, op.Fused, c*op.Multiplier, 0)
	if err != nil {
		return err
	}
	kernel := ks[0]
	t := tail{act: op.Activation, bn: bn}
	out, final, ka, err := l.finish(n, t, op.DataFormat == ir.ChannelsFirst)
	if err != nil {
		return err
	}
	geom := convGeom(in, op.DataFormat, op.Window2D, c*op.Multiplier, 1, op.Fused.PadsOrZero())
	s := &step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		kernels.DepthwiseConv2D(geom(in.batch(b)), ins[0], kernel, bias, ka, o, &a.ws)
		return nil
	}}
	s.expandIn = func(e *scStep) stepFn {
		if !e.plain() || !kernels.ConvDepthwisePays(e.geom(1), e.ka, geom(1)) {
			return nil
		}
		nchw := e.nchw
		return func(a *arena, b int, ins [][]float32, o []float32) error {
			(*e.sc).ConvDepthwise(e.geom(e.in.batch(b)), ins[0], nchw, e.bias, e.ka, geom(in.batch(b)), kernel, bias, ka, o, &a.ws)
			return nil
		}
	}
	l.add(s)
	l.softmaxAfter(final, t.act)
	return nil
}

func (l *lowerer) separable(n *ir.Node, op *ir.SeparableConv2D) error {
	if err := noResidual(op.Fused); err != nil {
		return err
	}
	if op.Fused.PadsOrZero() != [4]int{} {
		return fmt.Errorf("folded padding is supported on Conv2D and DepthwiseConv2D only")
	}
	ks, bias, bn, err := foldedWeights(n, op.UseBias, op.Fused, op.Filters, 1)
	if err != nil {
		return err
	}
	dk, pk := ks[0], ks[1]
	in := l.spatialIn(n, op.DataFormat)
	_, _, _, c := nhwcDims(in, op.DataFormat, 1)
	mid := c * op.Multiplier
	t := tail{act: op.Activation, bn: bn}
	// The depthwise result is an internal value in NHWC.
	dh, dw, _, err := op.Window2D.Resolve(nhwcH(in, op.DataFormat), nhwcW(in, op.DataFormat))
	if err != nil {
		return err
	}
	midT := ir.TensorType{Shape: ir.Shape{-1, dh, dw, mid}, Layout: ir.ChannelsLast}
	dv := l.newValue(n.Name+"/depthwise", midT, false)
	geom := convGeom(in, op.DataFormat, op.Window2D, mid, 1, [4]int{})
	l.add(&step{node: n.Name, ins: []*value{in}, out: dv, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		kernels.DepthwiseConv2D(geom(in.batch(b)), ins[0], dk, nil, kernels.Activation{}, o, &a.ws)
		return nil
	}})
	out, final, ka, err := l.finish(n, t, op.DataFormat == ir.ChannelsFirst)
	if err != nil {
		return err
	}
	pgeom := convGeom(dv, ir.ChannelsLast, ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}, op.Filters, 1, [4]int{})
	l.add(&step{node: n.Name, ins: []*value{dv}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		kernels.Conv2D(pgeom(dv.batch(b)), ins[0], pk, bias, ka, o, &a.ws)
		return nil
	}})
	l.softmaxAfter(final, t.act)
	return nil
}

func nhwcH(v *value, df ir.Layout) int { _, h, _, _ := nhwcDims(v, df, 1); return h }
func nhwcW(v *value, df ir.Layout) int { _, _, w, _ := nhwcDims(v, df, 1); return w }

func (l *lowerer) deconv(n *ir.Node, op *ir.Conv2DTranspose) error {
	ks, bias, err := kernelsAndBias(n, op.UseBias)
	if err != nil {
		return err
	}
	kernel := ks[0]
	in := l.spatialIn(n, op.DataFormat)
	_, h, w, c := nhwcDims(in, op.DataFormat, 1)
	oh, ow, crop, err := op.Geometry(h, w)
	if err != nil {
		return err
	}
	t := tail{act: op.Activation}
	out, final, ka, err := l.finish(n, t, op.DataFormat == ir.ChannelsFirst)
	if err != nil {
		return err
	}
	dh, dw := max(op.DH, 1), max(op.DW, 1)
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		p := kernels.ConvTransposeParams{N: in.batch(b), H: h, W: w, C: c, OutC: op.Filters, KH: op.KH, KW: op.KW,
			StrideH: op.SH, StrideW: op.SW, DilH: dh, DilW: dw,
			PadTop: crop[0], PadBottom: max(crop[1], 0), PadLeft: crop[2], PadRight: max(crop[3], 0),
			OutPadH: max(-crop[1], 0), OutPadW: max(-crop[3], 0)}
		if p.OutH() != oh || p.OutW() != ow {
			return fmt.Errorf("transposed convolution geometry %dx%d, expected %dx%d", p.OutH(), p.OutW(), oh, ow)
		}
		kernels.Conv2DTranspose(p, ins[0], kernel, bias, ka, o, &a.ws)
		return nil
	}})
	l.softmaxAfter(final, t.act)
	return nil
}

func (l *lowerer) pool(n *ir.Node, op *ir.Pool2D) error {
	in := l.spatialIn(n, op.DataFormat)
	out := l.newValue(n.Name, n.Out, op.DataFormat == ir.ChannelsFirst)
	l.byNode[n.Name] = out
	_, h, w, c := nhwcDims(in, op.DataFormat, 1)
	oh, ow, pads, err := op.Window2D.Resolve(h, w)
	if err != nil {
		return err
	}
	if max(op.DH, 1) > 1 || max(op.DW, 1) > 1 {
		l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			dilatedPool(o, ins[0], in.batch(b), h, w, c, oh, ow, op, pads)
			return nil
		}})
		return nil
	}
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		p := kernels.PoolParams{N: in.batch(b), H: h, W: w, C: c, KH: op.KH, KW: op.KW, StrideH: op.SH, StrideW: op.SW,
			PadTop: pads[0], PadBottom: pads[1], PadLeft: pads[2], PadRight: pads[3], OutH: oh, OutW: ow,
			CountIncludePad: op.CountIncludePad}
		if op.Max {
			kernels.MaxPool(o, ins[0], p, &a.ws)
		} else {
			kernels.AvgPool(o, ins[0], p, &a.ws)
		}
		return nil
	}})
	return nil
}

func (l *lowerer) globalPool(n *ir.Node, op *ir.GlobalPool2D) error {
	in := l.spatialIn(n, op.DataFormat)
	// Output (N, C) or (N,1,1,C)/(N,C,1,1): the same memory either way,
	// so a channels-first 4-D output is marked NHWC-stored: the 1×1
	// convolutions of a squeeze-and-excitation block then take it as is.
	out := l.newValue(n.Name, n.Out, op.DataFormat == ir.ChannelsFirst)
	l.byNode[n.Name] = out
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		bn, h, w, c := nhwcDims(in, op.DataFormat, b)
		if op.Max {
			kernels.GlobalMaxPool(o, ins[0], bn, h, w, c, &a.ws)
		} else {
			kernels.GlobalAvgPool(o, ins[0], bn, h, w, c, &a.ws)
		}
		return nil
	}})
	return nil
}

func (l *lowerer) dense(n *ir.Node, op *ir.Dense) error {
	if err := noResidual(op.Fused); err != nil {
		return err
	}
	in := l.need(l.byNode[n.Inputs[0]], false)
	k := in.shape[len(in.shape)-1]
	rowsPer := in.per / k
	// A Dense over the last axis of a rank-3 or rank-4 input (ConvNeXt's
	// and the transformers' MLPs) is a 1×1 convolution over rowsPer
	// pixels: SmallConv packs its kernel once here, where the GEMM packed
	// it at every call (ConvNeXt-T's 7²×768→3072 at batch 1: 9.4 MB a
	// call, 83 GFLOP/s on two threads), and applies the activation to
	// each row of output while it is in cache. The model's kernel is let
	// go once packed, as a convolution's is.
	geom := func(b int) kernels.ConvParams {
		return kernels.ConvParams{N: in.batch(b), H: rowsPer, W: 1, C: k, OutC: op.Units, KH: 1, KW: 1}
	}
	if rowsPer >= denseConvRows && kernels.SmallConvPays(geom(1), kernels.Activation{}, false) {
		kc, bias, bn, err := l.convWeights(n, op.UseBias, op.Fused, op.Units)
		if err != nil {
			return err
		}
		t := tail{act: op.Activation, bn: bn}
		out, final, ka, err := l.finish(n, t, false)
		if err != nil {
			return err
		}
		var sc *kernels.SmallConv
		l.packKernel(kc, func(kernel []float32) { sc = kernels.NewSmallConvDirect(kernel, geom(1)) })
		l.add(&step{node: n.Name, kind: "Dense/direct", ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			sc.Conv2D(geom(in.batch(b)), ins[0], bias, ka, o, &a.ws)
			return nil
		}})
		l.softmaxAfter(final, t.act)
		return nil
	}
	// A kernel that DensePacks is read into a buffer of its own, which
	// it is packed in (the model's copy let go, as a convolution's is);
	// others are kept as they are.
	var dk *kernels.DenseKernel
	var bias []float32
	var bn bool
	if kernels.DensePacks(k, op.Units) {
		var kc *convKernel
		var err error
		if kc, bias, bn, err = l.convWeights(n, op.UseBias, op.Fused, op.Units); err != nil {
			return err
		}
		l.prepare(func() {
			if buf := make([]float32, kc.w.Elements()); kc.readInto(buf) {
				dk = kernels.NewDenseKernel(k, op.Units, buf)
			}
		})
	} else {
		ks, b, folded, err := foldedWeights(n, op.UseBias, op.Fused, op.Units, 0)
		if err != nil {
			return err
		}
		dk, bias, bn = kernels.NewDenseKernel(k, op.Units, ks[0]), b, folded
	}
	t := tail{act: op.Activation, bn: bn}
	out, final, ka, err := l.finish(n, t, false)
	if err != nil {
		return err
	}
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		kernels.DenseWith(in.batch(b)*rowsPer, ins[0], dk, bias, ka, o, &a.ws)
		return nil
	}})
	l.softmaxAfter(final, t.act)
	return nil
}

// denseConvRows is the fewest rows per sample for which a Dense runs as a
// 1×1 SmallConv (see lowerer.dense): below it the rows are a batch of
// vectors, which the GEMV and small-batch GEMMs serve.
const denseConvRows = 8

func (l *lowerer) activation(n *ir.Node, act ir.Act) error {
	in := l.byNode[n.Inputs[0]]
	out := l.newValue(n.Name, n.Out, in.nhwc)
	l.byNode[n.Name] = out
	if !elementwise(act) {
		axis := physAxis(in, act.Axis)
		log := act.Name == "log_softmax"
		l.add(&step{node: n.Name, ins: []*value{in}, out: out, inplace: true, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
			if log {
				kernels.LogSoftmax(o, ins[0], in.physical(b), axis, a.ws.Par())
			} else {
				kernels.Softmax(o, ins[0], in.physical(b), axis, a.ws.Par())
			}
			return nil
		}})
		return nil
	}
	ka, err := kernelAct(act)
	if err != nil {
		return err
	}
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, inplace: true, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		copy(o, ins[0])
		ka.ApplyFast(o)
		return nil
	}})
	return nil
}

func (l *lowerer) prelu(n *ir.Node, op *ir.PReLU) error {
	ws, err := weights(n)
	if err != nil {
		return err
	}
	alpha := ws[0]
	in := l.need(l.byNode[n.Inputs[0]], false)
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	ashape := n.Specs[0].Shape
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, inplace: true, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		copy(o, ins[0])
		kernels.PReLU(o, in.dims(b), alpha, ashape)
		return nil
	}})
	return nil
}

func (l *lowerer) batchNorm(n *ir.Node, op *ir.BatchNorm) error {
	scale, shift, err := bnAffine(n)
	if err != nil {
		return err
	}
	ka, err := kernelAct(op.Activation)
	if err != nil {
		return err
	}
	if l.bnAct(n, op, scale, shift, ka) {
		return nil
	}
	in := l.byNode[n.Inputs[0]]
	out := l.newValue(n.Name, n.Out, in.nhwc)
	l.byNode[n.Name] = out
	axis := physAxis(in, op.ResolvedAxis(len(in.shape)))
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, inplace: true, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		s := in.physical(b)
		inner := 1
		for _, d := range s[axis+1:] {
			inner *= d
		}
		c := s[axis]
		outer := len(o) / (c * inner)
		x := ins[0]
		for i := 0; i < outer; i++ {
			for ch := 0; ch < c; ch++ {
				base := (i*c + ch) * inner
				sc, sh := scale[ch], shift[ch]
				for j := base; j < base+inner; j++ {
					o[j] = x[j]*sc + sh
				}
			}
		}
		ka.ApplyFast(o)
		return nil
	}})
	return nil
}

func (l *lowerer) merge(n *ir.Node, op *ir.Merge) error {
	ins := make([]*value, len(n.Inputs))
	same := true
	for i, name := range n.Inputs {
		ins[i] = l.byNode[name]
		if !ins[i].shape.Equal(n.Out.Shape) {
			same = false
		}
	}
	// Same-shape inputs can stay in the first input's storage; otherwise
	// broadcasting works on logical shapes.
	nhwc := same && ins[0].nhwc
	if op.Mode == ir.MergeConcat {
		nhwc = concatKeepsNHWC(ins)
	}
	for i := range ins {
		ins[i] = l.need(ins[i], nhwc)
	}
	out := l.newValue(n.Name, n.Out, nhwc)
	l.byNode[n.Name] = out
	if op.Mode == ir.MergeConcat {
		axis := physAxis(out, op.ResolvedAxis(len(out.shape)))
		l.add(&step{node: n.Name, ins: ins, out: out, chanConcat: len(out.shape) == 4 && axis == 3, fn: func(a *arena, b int, bufs [][]float32, o []float32) error {
			shapes := make([][]int, len(ins))
			for i, v := range ins {
				shapes[i] = v.physical(b)
			}
			kernels.Concat(o, bufs, shapes, axis)
			return nil
		}})
		return nil
	}
	l.add(&step{node: n.Name, ins: ins, out: out, fn: func(a *arena, b int, bufs [][]float32, o []float32) error {
		shapes := make([][]int, len(ins))
		for i, v := range ins {
			shapes[i] = v.physical(b)
		}
		switch op.Mode {
		case ir.MergeAdd:
			kernels.SumN(o, bufs, shapes, a.ws.Par())
		case ir.MergeSubtract:
			kernels.Binary(kernels.OpSub, o, bufs[0], shapes[0], bufs[1], shapes[1], a.ws.Par())
		case ir.MergeMultiply:
			kernels.ProdN(o, bufs, shapes, a.ws.Par())
		case ir.MergeAverage:
			kernels.MeanN(o, bufs, shapes, a.ws.Par())
		case ir.MergeMaximum:
			kernels.MaxN(o, bufs, shapes, a.ws.Par())
		case ir.MergeMinimum:
			kernels.MinN(o, bufs, shapes, a.ws.Par())
		default:
			return fmt.Errorf("merge mode %d", op.Mode)
		}
		return nil
	}})
	return nil
}

func (l *lowerer) permute(n *ir.Node, op *ir.Permute) error {
	in := l.need(l.byNode[n.Inputs[0]], false)
	out := l.newValue(n.Name, n.Out, false)
	l.byNode[n.Name] = out
	perm := append([]int{0}, op.Dims...)
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		kernels.Transpose(o, ins[0], in.dims(b), perm, a.ws.Par())
		return nil
	}})
	return nil
}

func (l *lowerer) upsample(n *ir.Node, op *ir.UpSampling2D) error {
	in := l.spatialIn(n, op.DataFormat)
	out := l.newValue(n.Name, n.Out, op.DataFormat == ir.ChannelsFirst)
	l.byNode[n.Name] = out
	bilinear := op.Interpolation == "bilinear"
	l.add(&step{node: n.Name, ins: []*value{in}, out: out, fn: func(a *arena, b int, ins [][]float32, o []float32) error {
		bn, h, w, c := nhwcDims(in, op.DataFormat, b)
		if bilinear {
			kernels.UpsampleBilinear(o, ins[0], bn, h, w, c, op.SH, op.SW, a.ws.Par())
		} else {
			kernels.UpsampleNearest(o, ins[0], bn, h, w, c, op.SH, op.SW, a.ws.Par())
		}
		return nil
	}})
	return nil
}
