package exec

import "github.com/kconv/kconv/exec/internal/kernels"

// fusePreAffine joins a step that computes a per-channel affine and clamp
// of its input (a batch normalization + ReLU, step.preAffine) with its
// only reader when that reader can apply it to its input as it reads it
// (step.preIn: a SmallConv, which does it while copying input rows into
// its band). DenseNet's layers and transitions are BN → ReLU → 1×1
// convolution: the normalized copy of the features — written, then read
// back, by every layer — is gone, and the convolution reads the features
// themselves (with a stride when they are a prefix of the block's buffer,
// see concat.go). Like placeConcats it runs only when fusions are on.
func (p *Program) fusePreAffine() {
	if p.opts.NoFuse || p.opts.KeepAll {
		return
	}
	readers := map[*value][]int{}
	writers := map[*value]int{}
	for i, s := range p.steps {
		writers[s.out]++
		for _, in := range s.ins {
			readers[in] = append(readers[in], i)
		}
	}
	pinned := map[*value]bool{}
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
	removed := make([]bool, len(p.steps))
	for i, s := range p.steps {
		v := s.out
		if s.preAffine == nil || len(s.ins) != 1 || pinned[v] || v.view != nil || writers[v] != 1 || len(readers[v]) != 1 {
			continue
		}
		r := p.steps[readers[v][0]]
		if r.preIn == nil || len(r.ins) != 1 {
			continue
		}
		r.ins = []*value{s.ins[0]}
		r.fn, r.preIn = r.preIn(s.preAffine), nil
		removed[i] = true
	}
	out := p.steps[:0]
	for i, s := range p.steps {
		if !removed[i] {
			out = append(out, s)
		}
	}
	p.steps = out
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
