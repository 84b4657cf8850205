package exec

import (
	"context"
	"fmt"

	"github.com/kconv/kconv/ir"
)

// Batch splitting. A run of several images on more than one thread is cut
// into chunks of images, and each chunk runs the whole model on one
// worker, its kernels serial, in its own arena: the workers synchronize
// once per run instead of once per layer, and every activation is written
// and read by the core that computes it. Splitting each layer's work
// instead made two threads 1.5-1.7× faster than one on MobileNetV2 and
// EfficientNet-B0 at batch 8 on these 2-vCPU VMs, where ONNX Runtime's
// per-op threading reached 2×: a batch-1 layer's share of work is small
// next to a wake-up of the other core, and half of each layer's input
// was last written by the other core. There are two chunks per worker
// where the batch allows, so that a worker whose core the machine takes
// away does fewer of them. Batch 1 (and a batch smaller than two) keeps
// per-layer splitting.
//
// A Program splits only when doing so cannot change a result: no
// variable-length specialization, every model input and output carries
// the batch on dimension 0 (the IR refuses ops that reduce, gather or
// normalize over a dynamic batch axis, so every sample's outputs depend
// on that sample's inputs alone), and no recurrent layer (whose ONNX form
// may be time-major).
func (p *Program) canSplit() bool {
	if p.spec != nil || len(p.inputs) == 0 {
		return false
	}
	for _, v := range p.inputs {
		if v.shape[0] >= 0 {
			return false
		}
	}
	for _, v := range p.outputs {
		if v.shape[0] >= 0 {
			return false
		}
	}
	for _, n := range p.lowered.Nodes {
		switch n.Op.(type) {
		case *ir.Recurrent, *ir.RecurrentState:
			return false
		}
	}
	return true
}

// splitChunk returns the images per chunk for a run at batch, or 0 when
// the run is not split. Models whose weights exceed splitWeightBytes take
// one chunk per worker: each chunk streams all the weights from memory,
// so fewer chunks read them fewer times. Models whose Dense layers alone
// exceed it are not split: a dense weight serves one multiply-add per
// image, so two chunks read those megabytes twice for the same work, where
// a Dense step split over the workers reads them once (gemm.SgemmRows).
// Xeon, batch 8, two threads, split / not: AlexNet (233 MB of dense
// weights) 54-68 / 46-62 ms, VGG16 (490 MB) 495-524 / 482-490; with
// convolutions' weights it is the other way (ResNet50 199-207 / 205-264,
// Wide ResNet-50-2 533-536 / 526-569).
func (p *Program) splitChunk(batch int) int {
	w := p.pool.Workers()
	if !p.splits || w < 2 || batch < 2 || p.denseBytes > splitWeightBytes {
		return 0
	}
	per := 2
	if p.weightBytes > splitWeightBytes {
		per = 1
	}
	return (batch + per*w - 1) / (per * w)
}

// splitWeightBytes is about a last-level cache (32 MB on the Zen 4 and 5
// machines here): ResNet50's 100 MB of weights at batch 8 ran ~3% faster as
// two chunks than as four; MobileNetV2 (14 MB) and DenseNet121 (32 MB) ~9%
// faster as four.
const splitWeightBytes = 40 << 20

// runSplit runs checked inputs at batch in chunks of chunk images and
// writes the outputs into outs (one slice of the full output per model
// output).
func (p *Program) runSplit(ctx context.Context, inputs []*ir.Tensor, batch, chunk int, outs [][]float32) error {
	n := (batch + chunk - 1) / chunk
	j := &splitJob{p: p, ctx: ctx, inputs: inputs, outs: outs, batch: batch, chunk: chunk, errs: make([]error, n)}
	p.pool.Do(p.pool.Workers(), n, j)
	for i, err := range j.errs {
		if err != nil {
			return fmt.Errorf("images %d-%d: %w", i*chunk, min((i+1)*chunk, batch)-1, err)
		}
	}
	return nil
}

// splitJob is one split run; item i is chunk i.
type splitJob struct {
	p            *Program
	ctx          context.Context
	inputs       []*ir.Tensor
	outs         [][]float32
	batch, chunk int
	errs         []error
}

func (j *splitJob) RunItem(_, it int) {
	p := j.p
	i0 := it * j.chunk
	n := min(j.chunk, j.batch-i0)
	ins := make([]*ir.Tensor, len(j.inputs))
	for k, t := range j.inputs {
		per := len(t.Data) / j.batch
		s := t.Shape.Clone()
		s[0] = n
		ins[k] = &ir.Tensor{Shape: s, Layout: t.Layout, Data: t.Data[i0*per : (i0+n)*per]}
	}
	a, _, err := p.execOn(j.ctx, ins, n, nil, nil, nil)
	if err != nil {
		j.errs[it] = err
		return
	}
	for k, v := range p.outputs {
		copy(j.outs[k][i0*v.per:(i0+n)*v.per], a.buf(v, n))
	}
	p.putArena(n, a)
}

// BatchChunk reports how many images per chunk a run at batch is split
// into (see above), or 0 when such a run is not split. Profile does not
// split: it times each step with the step's own work divided among the
// workers.
func (p *Program) BatchChunk(batch int) int {
	if p.spec != nil {
		return 0
	}
	return p.splitChunk(batch)
}
