package exec

import (
	"fmt"

	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/ir"
)

// ErrBudget is wrapped by the errors for a model or a batch that would need
// more memory than Options.MemoryBudget allows.
var ErrBudget = fmt.Errorf("over the memory budget")

// checkModel checks, before anything is lowered or allocated, that every
// node's output (per sample) and the weights together fit in the budget,
// with overflow-checked arithmetic: a file's declared shapes (a Pad to
// 2^31 × 2^31) must give an error naming the node, not a crash.
func (p *Program) checkModel(m *ir.Model) error {
	for _, n := range m.Nodes {
		if len(n.Out.Shape) > 0 {
			e, err := ir.CheckedElements(n.Out.Shape[1:])
			if err != nil {
				return fmt.Errorf("layer '%s': output %v", n.Name, err)
			}
			if b, ok := memory.Bytes(e, 4); !ok || b > p.budget || e > maxInt {
				return p.over(fmt.Sprintf("layer '%s': output %v", n.Name, n.Out.Shape), b, ok)
			}
		}
	}
	return p.checkWeights(m)
}

// checkWeights checks that the weights, as float32, fit in the budget, and
// records their size.
func (p *Program) checkWeights(m *ir.Model) error {
	var weights, dense int64
	for _, n := range m.Nodes {
		_, isDense := n.Op.(*ir.Dense)
		for _, w := range n.Weights {
			e, err := ir.CheckedElements(w.Shape)
			if err != nil {
				return fmt.Errorf("layer '%s': weight %s: %v", n.Name, w.Name, err)
			}
			b, ok := memory.Bytes(e, 4)
			if ok {
				weights += b
				ok = weights >= 0
				if isDense {
					dense += b
				}
			}
			if !ok || weights > p.budget {
				return p.over(fmt.Sprintf("layer '%s': weights up to %s", n.Name, w.Name), weights, ok)
			}
		}
	}
	p.weightBytes, p.denseBytes = weights, dense
	return nil
}

// CheckWeights checks, from the declared shapes alone (before any weight is
// read), that all the weights of m, as float32, fit in the memory budget
// (0: the default), naming the layer where they would exceed it. Callers
// that read weights before compiling call it first.
func CheckWeights(m *ir.Model, budget int64) error {
	p := &Program{budget: memory.Resolve(budget)}
	return p.checkWeights(m)
}

// maxInt is the largest element count a Go slice may have here.
const maxInt = int64(^uint(0) >> 1)

// over is the error for what needing b bytes (ok false: more than int64).
func (p *Program) over(what string, b int64, ok bool) error {
	need := "more than 2^63 bytes"
	if ok {
		need = memory.Size(b)
	}
	return fmt.Errorf("%s needs %s, %w of %s (set with --memory-budget or Options.MemoryBudget)", what, need, ErrBudget, memory.Size(p.budget))
}

// ArenaBytes returns the bytes of the buffers a run at batch size batch
// allocates (the values' arena, not counting weights or kernel
// workspaces), or an error when that overflows.
func (p *Program) ArenaBytes(batch int) (int64, error) {
	l, err := p.layout(batch)
	if err != nil {
		return 0, err
	}
	return 4 * int64(l.total), nil
}

// CheckBatch reports an error, naming the bytes it would need, unless a
// run at batch size batch fits in the memory budget together with the
// weights. Run checks it before allocating a new batch size's buffers;
// callers that build inputs of that batch call it first.
func (p *Program) CheckBatch(batch int) error {
	if batch < 1 {
		return fmt.Errorf("batch size %d: must be at least 1", batch)
	}
	a, err := p.ArenaBytes(batch)
	if err != nil {
		return fmt.Errorf("%v, %w of %s", err, ErrBudget, memory.Size(p.budget))
	}
	if a > p.budget-p.weightBytes {
		return p.over(fmt.Sprintf("batch size %d", batch), a+p.weightBytes, true)
	}
	return nil
}

// MemoryBudget returns the budget the program checks against, in bytes.
func (p *Program) MemoryBudget() int64 { return p.budget }
