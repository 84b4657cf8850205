package exec

import (
	"context"
	"runtime"
	"time"

	"github.com/kconv/kconv/ir"
)

// StepTime is the time one step of a Program took, summed over the runs of
// a Profile.
type StepTime struct {
	// Node is the node whose output the step computes (a layout conversion
	// carries the name of the value it converts).
	Node string
	// Kind is what computes it: the op's kind ("DepthwiseConv2D"), the op
	// and the kernel chosen for it ("Conv2D/winograd"), or "layout" for a
	// conversion between NCHW and NHWC storage.
	Kind string
	Time time.Duration
	// CPU is the CPU time of the thread that ran the steps. With Threads 1
	// every kernel runs on that thread, so CPU is the step's cost without
	// what other processes took from the core: the measure to use on a
	// shared machine. With more threads it misses the helpers' share.
	CPU time.Duration
	// FLOPs is the node's multiply-add work per run at the profiled batch
	// (ir.NodeFLOPs), on the node's first step only; 0 for layout
	// conversions, ops without MACs and a node's later steps.
	FLOPs int64
}

// Profile runs the model runs times on inputs, as Run does, and returns
// each step's wall time summed over the runs, in execution order. Steps
// are what lowering made of the nodes: fused nodes have none of their own.
func (p *Program) Profile(ctx context.Context, inputs []*ir.Tensor, runs int) ([]StepTime, error) {
	if p.spec != nil { // variable lengths: profile the Program for these inputs
		c, err := p.spec.program(inputs)
		if err != nil {
			return nil, err
		}
		return c.Profile(ctx, inputs, runs)
	}
	// With one thread, keep the profile on one OS thread so that CPU times
	// are its own. (Not with more: a goroutine locked to its thread makes
	// every yield to a pool helper hand the P between threads, which
	// tripled MobileNetV2's step times on two threads.)
	if p.threads == 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	times := make([]time.Duration, len(p.steps))
	cpu := make([]time.Duration, len(p.steps))
	for r := 0; r < max(runs, 1); r++ {
		a, batch, err := p.execTimed(ctx, inputs, times, cpu)
		if err != nil {
			return nil, err
		}
		p.putArena(batch, a)
	}
	batch := 1
	if len(inputs) > 0 && len(inputs[0].Shape) > 0 {
		batch = inputs[0].Shape[0]
	}
	idx := p.lowered.Index() // the nodes the steps were made from (fused)
	out := make([]StepTime, len(p.steps))
	counted := map[string]bool{}
	for i, s := range p.steps {
		out[i] = StepTime{Node: s.node, Kind: s.kind, Time: times[i], CPU: cpu[i]}
		// A node's work is its first step's (a residual Add or a pooling
		// after its convolution, when a kernel cannot take them, is a
		// step of its own under the node's name).
		if n := idx[s.node]; n != nil && s.kind != "layout" && !counted[s.node] {
			out[i].FLOPs = ir.NodeFLOPs(idx, n) * int64(batch)
			counted[s.node] = true
		}
	}
	return out, nil
}
