package exec

import (
	"github.com/kconv/kconv/exec/internal/kernels"
)

// Channel concatenations written in place.
//
// A Concat of 4-D values on their last stored axis — the channels of
// NHWC-stored channels-first values and of channels-last ones (DenseNet's
// dense blocks, SqueezeNet's fire modules, GoogLeNet's and Inception's
// branches, from ONNX or Keras) —
// used to copy every input into a new buffer. placeConcats, run on the
// lowered steps before the arena is planned, removes those copies where it
// can:
//
//   - An input whose producer can write its output with a pixel stride
//     (step.outStride: the SmallConv, Winograd F(2×2) and im2col/1×1
//     convolutions), and that nothing but concatenations reads, becomes a
//     strided view of the concatenation's buffer (value.off, value.ld):
//     its producer writes straight into its slice.
//   - Any other input (a pooling's output, a value other steps read too, a
//     model input) is copied into its slice by a step of its own right
//     after it is computed ("Concatenate/copy"), not at the concatenation.
//   - A concatenation whose inputs all lie side by side in one buffer by
//     then — DenseNet's concat_k = [x0, f1, …, fk] is a prefix of its
//     block's last concatenation, which holds all the block's features —
//     becomes itself a strided view of that buffer when every step reading
//     it can read with a pixel stride (step.inStride: the batch
//     normalization + activation that reads it in DenseNet), or else one
//     strided copy.
//
// The concatenation steps are then gone. Concatenations are visited last
// first, so that the widest buffer of a family is placed before the
// concatenations that are its prefixes, and a concatenation that is itself
// an input of a later one is placed inside it (Inception-v3's nested
// concatenations). The arena planner needs nothing more: a view's reads
// and writes count for its root buffer, whose life thus spans from its
// first slice's producer to its last reader.
//
// Decision: with Options.NoFuse or KeepAll nothing is placed (the
// unfused program is the reference the tests compare with).

// loc is where a value's data lies: a channel slice of root's buffer.
type loc struct {
	root    *value
	off, ld int
}

// chans returns the last stored dimension of a 4-D value: the channels of
// an NHWC-stored or channels-last one, the floats of each row a
// concatenation on that axis interleaves.
func (v *value) chans() int {
	if v.nhwc {
		return v.shape[1]
	}
	return v.shape[len(v.shape)-1]
}

// pixelStride returns the floats between v's pixels in its buffer.
func (v *value) pixelStride() int {
	if v.ld > 0 {
		return v.ld
	}
	return v.chans()
}

// placeConcats rewrites p.steps as the comment above describes.
func (p *Program) placeConcats() {
	if p.opts.NoFuse || p.opts.KeepAll {
		return
	}
	steps := p.steps
	has := false
	for _, s := range steps {
		has = has || s.chanConcat
	}
	if !has {
		return
	}
	writers := map[*value][]int{}
	readers := map[*value][]int{}
	for i, s := range steps {
		writers[s.out] = append(writers[s.out], i)
		for _, in := range s.ins {
			readers[in] = append(readers[in], i)
		}
	}
	pinned := map[*value]bool{} // inputs, outputs, kept values and values others view
	for _, v := range p.inputs {
		pinned[v] = true
	}
	for _, v := range p.outputs {
		pinned[v] = true
	}
	for _, v := range p.kept {
		pinned[v] = true
	}
	for _, v := range p.values {
		if v.view != nil {
			pinned[v.view] = true
		}
	}
	mirrors := map[*value][]loc{}       // copies of a value made by copy steps
	after := map[int][]*step{}          // copy steps to run after step i (-1: first)
	removed := make([]bool, len(steps)) // concatenations gone
	visited := make([]bool, len(steps)) // concatenations gone or replaced by a copy
	placed := func(v *value) bool { return v.view != nil || v.ld > 0 }
	// at reports whether v's data lies at l by the time it is computed.
	at := func(v *value, l loc) bool {
		if v.ld > 0 && v.view == l.root && v.off == l.off && v.ld == l.ld {
			return true
		}
		if v == l.root && l.off == 0 && l.ld == v.chans() {
			return true
		}
		for _, m := range mirrors[v] {
			if m == l {
				return true
			}
		}
		return false
	}
	// locs lists where v's data lies.
	locs := func(v *value) []loc {
		ls := append([]loc(nil), mirrors[v]...)
		if v.ld > 0 {
			ls = append(ls, loc{v.view, v.off, v.ld})
		}
		return ls
	}
	// side reports where the values of ins lie side by side, in order, in
	// one buffer.
	side := func(ins []*value) (loc, bool) {
		for _, l := range locs(ins[0]) {
			off, ok := l.off, true
			for _, v := range ins {
				if !at(v, loc{l.root, off, l.ld}) {
					ok = false
					break
				}
				off += v.chans()
			}
			if ok {
				return l, true
			}
		}
		return loc{}, false
	}
	// direct reports whether v's producer may write v into a slice: it
	// is v's only writer, can write strided (or is a concatenation, which
	// is placed in turn), and only concatenations read v.
	direct := func(v *value) (int, bool) {
		w := writers[v]
		if placed(v) || pinned[v] || v.constant != nil || len(w) != 1 {
			return 0, false
		}
		if s := steps[w[0]]; s.outStride == nil && !s.chanConcat {
			return 0, false
		}
		for _, j := range readers[v] {
			if !steps[j].chanConcat {
				return 0, false
			}
		}
		return w[0], true
	}
	// strideReaders reports whether every reader of v can take it strided.
	strideReaders := func(v *value) bool {
		for _, j := range readers[v] {
			s := steps[j]
			if s.chanConcat || visited[j] {
				continue // concatenations: they copy v if they need it
			}
			if s.inStride == nil || len(s.ins) != 1 {
				return false
			}
		}
		return true
	}
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		if !s.chanConcat {
			continue
		}
		visited[i] = true
		o := s.out
		l, together := side(s.ins)
		if together && !placed(o) && !pinned[o] && len(writers[o]) == 1 && strideReaders(o) {
			// A prefix (or any slice) of a wider buffer: o becomes a view
			// of it and its readers read strided.
			o.view, o.off, o.ld = l.root, l.off, l.ld
			for _, j := range readers[o] {
				if r := steps[j]; !r.chanConcat && !visited[j] {
					r.fn, r.inStride = r.inStride(l.ld), nil
				}
			}
			removed[i] = true
			continue
		}
		if together && !placed(o) {
			// o must be a buffer of its own: one strided copy.
			src := &value{id: len(p.values), name: o.name, shape: o.shape, layout: o.layout, nhwc: o.nhwc, per: o.per, view: l.root, off: l.off, ld: l.ld}
			p.values = append(p.values, src)
			steps[i] = copyStep(src, o)
			continue
		}
		dest := loc{o, 0, o.chans()}
		if placed(o) {
			dest = loc{o.view, o.off, o.ld}
		}
		off := dest.off
		for _, v := range s.ins {
			t := loc{dest.root, off, dest.ld}
			off += v.chans()
			if at(v, t) {
				continue
			}
			if w, ok := direct(v); ok {
				v.view, v.off, v.ld = t.root, t.off, t.ld
				if ws := steps[w]; !ws.chanConcat {
					ws.fn, ws.outStride = ws.outStride(t.ld), nil
				}
				continue
			}
			dst := &value{id: len(p.values), name: v.name, shape: v.shape, layout: v.layout, nhwc: v.nhwc, per: v.per, view: t.root, off: t.off, ld: t.ld}
			p.values = append(p.values, dst)
			// The copy runs once v is computed: after the last step
			// writing it (or the value it is a plain view of).
			u, w := v, -1
			for u.view != nil && u.ld == 0 {
				u = u.view
			}
			for _, j := range writers[u] {
				w = max(w, j)
			}
			after[w] = append(after[w], copyStep(v, dst))
			mirrors[v] = append(mirrors[v], t)
		}
		removed[i] = true
	}
	out := make([]*step, 0, len(steps)+len(after[-1]))
	out = append(out, after[-1]...)
	for i, s := range steps {
		if !removed[i] {
			out = append(out, s)
		}
		out = append(out, after[i]...)
	}
	p.steps = out
}

// copyStep copies src into dst (either may be strided).
func copyStep(src, dst *value) *step {
	return &step{node: dst.name, kind: "Concatenate/copy", ins: []*value{src}, out: dst, fn: func(a *arena, n int, ins [][]float32, out []float32) error {
		c := src.chans()
		kernels.CopyStrided(out, dst.pixelStride(), ins[0], src.pixelStride(), src.size(n)/c, c)
		return nil
	}}
}

// scStep makes the fns of a SmallConv step as placeConcats,
// fusePreAffine and fuseInputLayout change how it reads its input and
// writes its output: with pixel strides ldi and ldo (0: packed), pre
// applied to its input, or its input read in channels-first storage.
type scStep struct {
	sc   **kernels.SmallConv // read when the step runs: prepared after lowering
	wg   func() *kernels.Winograd
	geom func(int) kernels.ConvParams
	in   *value // the step's input as lowered (its batch is the run's)
	bias []float32
	ka   kernels.Activation

	ldi, ldo int
	pre      *kernels.PreAffine
	nchw     bool
	scaleBy  *value // a per-image channel scale, the step's last input
	// pool, when not nil, is a pooling the step computes instead of
	// storing the convolution's output (image geometry; lowerer.pooled):
	// 2×2 stride-2 max or average (poolMax) from a packed input, or a
	// max pooling of any window (a 2×2 one too from a channels-first
	// input).
	pool    *kernels.PoolParams
	poolMax bool
}

// hooks sets s's outStride, inStride, preIn, nchwIn and scaleIn.
func (c *scStep) hooks(s *step) {
	s.outStride = func(ld int) stepFn { c.ldo = ld; return c.fn() }
	s.inStride = func(ld int) stepFn { c.ldi = ld; return c.fn() }
	s.preIn = func(pre *kernels.PreAffine) stepFn { c.pre = pre; return c.fn() }
	s.nchwIn = func() stepFn { c.nchw = true; return c.fn() }
	s.scaleIn = func(y *value) stepFn { c.scaleBy = y; return c.fn() }
}

// plain reports whether the step computes the convolution as lowered,
// from a packed NHWC input or (fuseInputLayout) an NCHW one: packed output,
// no pooling, pre-affine, channel scale or Winograd takeover.
func (c *scStep) plain() bool {
	return c.ldi == 0 && c.ldo == 0 && c.pre == nil && c.scaleBy == nil && c.pool == nil && c.wg == nil
}

// fn is the step's fn as c now says. With a packed input it hands the
// batch sizes where Winograd F(4×4, 3×3) is expected to win to wg when
// not nil, as the lowered step does.
func (c *scStep) fn() stepFn {
	ldi, ldo, pre, nchw, y := c.ldi, c.ldo, c.pre, c.nchw, c.scaleBy
	if c.pool != nil {
		pool, isMax := *c.pool, c.poolMax
		return func(a *arena, b int, ins [][]float32, o []float32) error {
			p := c.geom(c.in.batch(b))
			pp := pool
			pp.N = p.N
			switch {
			case nchw && isMax:
				(*c.sc).Conv2DNCHWMaxPool(p, pp, ins[0], c.bias, c.ka, o, &a.ws)
			case nchw:
				panic("exec: a convolution's average pooling reading a channels-first input") // pooled keeps no nchwIn
			case kernels.PoolIs2x2(pp):
				(*c.sc).Conv2DPool2x2(p, ins[0], c.bias, c.ka, isMax, o, &a.ws)
			default:
				(*c.sc).Conv2DMaxPool(p, pp, ins[0], c.bias, c.ka, o, &a.ws)
			}
			return nil
		}
	}
	return func(a *arena, b int, ins [][]float32, o []float32) error {
		p := c.geom(c.in.batch(b))
		li, lo := max(ldi, p.C), max(ldo, p.OutC)
		switch {
		case y != nil:
			(*c.sc).Conv2DScaled(p, ins[0], ins[len(ins)-1], scaleStride(y, b, p), c.bias, nil, c.ka, o, lo, &a.ws)
		case nchw:
			(*c.sc).Conv2DNCHW(p, ins[0], c.bias, c.ka, o, lo, &a.ws)
		case pre != nil || li != p.C:
			(*c.sc).Conv2DPre(p, ins[0], li, pre, c.bias, c.ka, o, lo, &a.ws)
		case c.wg == nil || kernels.SmallConvPays(p, c.ka, true):
			(*c.sc).Conv2DStrided(p, ins[0], c.bias, c.ka, o, lo, &a.ws)
		default:
			c.wg().Conv2DStrided(p, ins[0], c.bias, c.ka, o, lo, &a.ws)
		}
		return nil
	}
}

// scaleStride is the stride between images' channel scales in y at batch
// b (0 when one scale serves every image), for a convolution p.
func scaleStride(y *value, b int, p kernels.ConvParams) int {
	if y.batch(b) == p.N {
		return p.C
	}
	return 0
}

// winogradStrided is the outStride of a Winograd F(4×4, 3×3) step (wg is
// read when the step runs).
func winogradStrided(wg **kernels.Winograd, geom func(int) kernels.ConvParams, in *value, bias []float32, ka kernels.Activation) func(ld int) stepFn {
	return func(ld int) stepFn {
		return func(a *arena, b int, ins [][]float32, o []float32) error {
			(*wg).Conv2DStrided(geom(in.batch(b)), ins[0], bias, ka, o, ld, &a.ws)
			return nil
		}
	}
}

// conv2DStrided is the outStride of an im2col or 1×1 Conv2D step.
func conv2DStrided(geom func(int) kernels.ConvParams, in *value, kernel, bias []float32, ka kernels.Activation) func(ld int) stepFn {
	return func(ld int) stepFn {
		return func(a *arena, b int, ins [][]float32, o []float32) error {
			kernels.Conv2DStrided(geom(in.batch(b)), ins[0], kernel, bias, ka, o, ld, &a.ws)
			return nil
		}
	}
}

// bnActStrided is the inStride of a channels-last batch normalization +
// activation step (bnAct) over c channels.
func bnActStrided(c int, scale, shift []float32, ka kernels.Activation) func(ld int) stepFn {
	return func(ld int) stepFn {
		return func(a *arena, b int, ins [][]float32, o []float32) error {
			kernels.ChannelAffineActStrided(o, ins[0], len(o)/c, c, ld, scale, shift, ka, &a.ws)
			return nil
		}
	}
}
