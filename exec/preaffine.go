package exec

import (
	"slices"

	"github.com/kconv/kconv/exec/internal/kernels"
)

// fusePreAffine joins a step that computes a per-channel affine and clamp
// of its input (a batch normalization + ReLU, step.preAffine) with its
// only reader when that reader can apply it to its input as it reads it
// (step.preIn: a SmallConv, which does it while copying input rows into
// its band). DenseNet's layers and transitions are BN → ReLU → 1×1
// convolution: the normalized copy of the features — written, then read
// back, by every layer — is gone, and the convolution reads the features
// themselves (with a stride when they are a prefix of the block's buffer,
// see concat.go). (joinReaders: only when fusions are on.)
func (p *Program) fusePreAffine() {
	p.joinReaders(func(s *step) bool { return s.preAffine != nil && len(s.ins) == 1 }, func(s, r *step) bool {
		if r.preIn == nil || len(r.ins) != 1 {
			return false
		}
		r.ins = []*value{s.ins[0]}
		r.fn, r.preIn = r.preIn(s.preAffine), nil
		return true
	})
}

// preAffineOf is the preAffine of a batch normalization step with
// activation ka (nil when ka is not a clamp).
func preAffineOf(scale, shift []float32, ka kernels.Activation) *kernels.PreAffine {
	pre, ok := kernels.NewPreAffine(scale, shift, ka)
	if !ok {
		return nil
	}
	return pre
}

// fuseInputLayout joins a layout step converting a value from NCHW to NHWC
// storage with its only reader when that reader can read NCHW itself
// (step.nchwIn: a SmallConv, which transposes input rows as it copies them
// into its band). An ONNX CNN's input is NCHW and its first convolution
// its only reader: the pass over the image before the first layer is gone.
// (joinReaders: only when fusions are on.)
func (p *Program) fuseInputLayout() {
	p.joinReaders(func(s *step) bool { return s.toNHWC && len(s.ins) == 1 }, func(s, r *step) bool {
		if r.nchwIn == nil || len(r.ins) != 1 {
			return false
		}
		r.ins = []*value{s.ins[0]}
		r.fn = r.nchwIn()
		// The step now reads NCHW rows: a strided or pre-affine input no
		// longer applies.
		r.nchwIn, r.preIn, r.inStride = nil, nil, nil
		return true
	})
}

// joinReaders is the shape of the passes above: every step s that match
// accepts, whose output is read by one step r alone (and is not pinned),
// is removed when join(s, r) rewrites r to compute from s's inputs.
// They run only when fusions are on.
func (p *Program) joinReaders(match func(s *step) bool, join func(s, r *step) bool) {
	if p.opts.NoFuse || p.opts.KeepAll {
		return
	}
	rd := p.stepReaders()
	removed := make([]bool, len(p.steps))
	for i, s := range p.steps {
		if !match(s) || !rd.single(s.out) {
			continue
		}
		removed[i] = join(s, p.steps[rd.readers[s.out][0]])
	}
	p.dropSteps(removed)
}

// stepReaders indexes p.steps: which steps read and how many write each
// value, and which values must keep a buffer of their own (outputs, kept
// values, values others view).
type stepReaders struct {
	readers map[*value][]int
	writers map[*value]int
	pinned  map[*value]bool
}

func (p *Program) stepReaders() stepReaders {
	rd := stepReaders{readers: map[*value][]int{}, writers: map[*value]int{}, pinned: map[*value]bool{}}
	for i, s := range p.steps {
		rd.writers[s.out]++
		for _, in := range s.ins {
			rd.readers[in] = append(rd.readers[in], i)
		}
	}
	for _, v := range p.outputs {
		rd.pinned[v] = true
	}
	for _, v := range p.kept {
		rd.pinned[v] = true
	}
	for _, v := range p.values {
		if v.view != nil {
			rd.pinned[v.view] = true
		}
	}
	return rd
}

// single reports whether v is an unpinned value, not a view, written by one
// step and read by one: a step that reads it could compute from what it is
// computed from instead.
func (rd stepReaders) single(v *value) bool {
	return !rd.pinned[v] && v.view == nil && rd.writers[v] == 1 && len(rd.readers[v]) == 1
}

// dropSteps removes the steps marked removed.
func (p *Program) dropSteps(removed []bool) {
	out := p.steps[:0]
	for i, s := range p.steps {
		if !removed[i] {
			out = append(out, s)
		}
	}
	p.steps = out
}

// fuseChannelScale joins a step scaling its input per image and channel
// (step.chanScale: a squeeze-and-excitation block's Mul(x, sigmoid(…)))
// with its only reader when that reader can scale its input as it reads
// it (step.scaleIn: a SmallConv, plain or with a residual, which does it
// while copying input rows into its band). The scaled copy of the
// expanded tensor — a pass of its own over it, written and read back —
// is gone: EfficientNet's and MobileNetV3's projections read the
// depthwise convolution's output and the scale. (joinReaders: only when
// fusions are on.)
func (p *Program) fuseChannelScale() {
	p.joinReaders(func(s *step) bool { return s.chanScale && len(s.ins) == 2 }, func(s, r *step) bool {
		v := s.out
		if r.scaleIn == nil || r.ins[0] != v || slices.Contains(r.ins[1:], v) {
			return false
		}
		x, y := s.ins[0], s.ins[1]
		r.ins = append(append([]*value{x}, r.ins[1:]...), y)
		r.fn = r.scaleIn(y)
		r.scaleIn, r.preIn, r.inStride, r.nchwIn = nil, nil, nil, nil
		return true
	})
}

// fuseExpandDepthwise joins a convolution step (step.expand: a SmallConv
// computing it as lowered, from NHWC or, after fuseInputLayout, NCHW
// input) with its only reader when that reader is a depthwise convolution
// that can compute from the convolution's input (step.expandIn:
// kernels.ConvDepthwise, where it pays): an inverted residual block's
// expanded tensor (MobileNetV2's 112²×96, 4.8 MB), or a MobileNet's stem
// output, is computed a few rows at a time into the worker's cache and
// never stored. Run after fuseInputLayout (the stem reads the model's NCHW
// input) and before placeConcats (only a plain step joins).
// (joinReaders: only when fusions are on.)
func (p *Program) fuseExpandDepthwise() {
	p.joinReaders(func(s *step) bool { return s.expand != nil && len(s.ins) == 1 }, func(s, r *step) bool {
		if r.expandIn == nil || len(r.ins) != 1 || r.ins[0] != s.out {
			return false
		}
		fn := r.expandIn(s.expand)
		if fn == nil {
			return false
		}
		r.ins = []*value{s.ins[0]}
		r.fn, r.expandIn = fn, nil
		r.kind = "Conv2D+DepthwiseConv2D"
		return true
	})
}
