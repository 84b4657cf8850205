package exec

import (
	"fmt"

	"github.com/kconv/kconv/ir"
)

// OptimizePasses returns the names of the optimizing pipeline's passes, in
// order (see Optimize).
func OptimizePasses() []string { return ir.Pipeline{Passes: ir.FusePasses(nil)}.Names() }

// Optimize returns a copy of m after the optimizing pipeline Compile runs
// with opts: the fusion passes of ir.FusePasses (layout transposes moved
// out of the way, then padding, batch normalization, per-channel
// constants, residual Adds, activations and 2×2 poolings folded into the
// convolution or dense node next to them), each followed
// by ir's invariant check and recorded in the copy's Passes after m's.
// Nothing fuses into or across a node opts keeps (Keep and the model's
// outputs; with KeepAll or NoFuse the passes keep every node and change
// nothing). m itself is not changed and no weight is read: the copy's
// fused nodes reference the same lazy weights. stopAfter, when not empty,
// names the pass after which the pipeline stops (kconv ir --after).
//
// The copy is for exec (and for reading, as kconv ir does): its fused
// nodes mean what exec computes, and exporters and summaries, which
// describe a model as its source does, take the imported model instead.
//
// Decision: the keep set is an input of the pipeline, not a mark undone
// afterwards, so the IR that kconv ir prints for a keep set is exactly
// what Compile lowers for it.
func Optimize(m *ir.Model, opts Options, stopAfter string) (*ir.Model, error) {
	if err := ir.CheckInvariants(m, ir.StageTyped); err != nil {
		return nil, err
	}
	keep := make(map[string]bool, len(opts.Keep)+len(m.Outputs))
	if opts.KeepAll || opts.NoFuse {
		for _, n := range m.Nodes {
			keep[n.Name] = true
		}
	}
	if len(opts.Keep) > 0 {
		idx := m.Index()
		for _, k := range opts.Keep {
			if idx[k] == nil {
				return nil, fmt.Errorf("keep: no layer '%s'", k)
			}
			keep[k] = true
		}
	}
	for _, o := range m.Outputs {
		keep[o] = true
	}
	c := m.CopyForPasses()
	if err := (ir.Pipeline{Passes: ir.FusePasses(keep), StopAfter: stopAfter}).Run(c); err != nil {
		return nil, fmt.Errorf("optimizing: %w", err)
	}
	return c, nil
}
