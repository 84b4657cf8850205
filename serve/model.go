package serve

import (
	"context"
	"fmt"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
)

// Model is one model a Server serves.
type Model struct {
	// Name is the model's name in URLs (/v2/models/{Name}).
	Name string
	// Program is the compiled model; the Server never recompiles it.
	Program *exec.Program
	// Workers is the number of batches of this model run at once (0:
	// Config.Workers); see Parallelism.
	Workers int
}

// tensorSpec is a model input or output as the protocols describe it.
type tensorSpec struct {
	name   string
	shape  ir.Shape // batch first; -1 marks a dynamic dimension
	layout ir.Layout
}

// rowElements is the number of elements of one batch row (every dimension
// but the first must be known).
func (t tensorSpec) rowElements() int {
	n := 1
	for _, d := range t.shape[1:] {
		n *= d
	}
	return n
}

// entry is a served model: its program, the specs of its inputs and outputs,
// and its batcher.
type entry struct {
	name      string
	prog      *exec.Program
	inputs    []tensorSpec
	outputs   []tensorSpec
	mergeable bool // every input and output has a dynamic batch dimension
	workers   int  // Model.Workers (0: Config.Workers)
	batcher   *batcher
	bufs      bufPool // decoded inputs and merged batches
	// run executes a batch: prog.Run (tests substitute faults).
	run func(ctx context.Context, inputs []*ir.Tensor) ([]*ir.Tensor, error)
}

func newEntry(m Model) (*entry, error) {
	if m.Name == "" {
		return nil, fmt.Errorf("a model has no name")
	}
	if m.Program == nil {
		return nil, fmt.Errorf("model %s: no program", m.Name)
	}
	im := m.Program.Model()
	idx := im.Index()
	if m.Workers < 0 {
		return nil, fmt.Errorf("model %s: %d workers", m.Name, m.Workers)
	}
	e := &entry{name: m.Name, prog: m.Program, mergeable: true, workers: m.Workers, run: m.Program.Run}
	for _, names := range []struct {
		names []string
		dst   *[]tensorSpec
	}{{im.Inputs, &e.inputs}, {im.Outputs, &e.outputs}} {
		for _, n := range names.names {
			node := idx[n]
			if node == nil {
				return nil, fmt.Errorf("model %s: no node '%s'", m.Name, n)
			}
			s := node.Out.Shape
			if len(s) == 0 {
				return nil, fmt.Errorf("model %s: '%s' has no shape", m.Name, n)
			}
			for _, d := range s[1:] {
				if d < 0 {
					return nil, fmt.Errorf("model %s: '%s' has shape %v; only the first (batch) dimension may be dynamic", m.Name, n, s)
				}
			}
			if s[0] >= 0 {
				e.mergeable = false
			}
			*names.dst = append(*names.dst, tensorSpec{name: n, shape: s.Clone(), layout: node.Out.Layout})
		}
	}
	return e, nil
}

// shapeJSON renders a shape for metadata (-1 for dynamic dimensions).
func shapeJSON(s ir.Shape) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// checkShape checks a request's shape for input t and returns its batch
// size and element count. Errors name the input.
func (t tensorSpec) checkShape(shape []int64) (batch, elements int, err error) {
	bad := func() error {
		got := make(ir.Shape, len(shape))
		for i, d := range shape {
			got[i] = int(d)
		}
		return fmt.Errorf("input '%s': shape %v, model expects %v (None: any size)", t.name, got, t.shape)
	}
	if len(shape) != len(t.shape) {
		return 0, 0, bad()
	}
	for i, d := range shape {
		if d < 0 || (t.shape[i] >= 0 && d != int64(t.shape[i])) || (i == 0 && d == 0) {
			return 0, 0, bad()
		}
	}
	row := t.rowElements()
	if shape[0] > int64(maxElements/max(row, 1)) {
		return 0, 0, fmt.Errorf("input '%s': shape %v is too large", t.name, shape)
	}
	return int(shape[0]), int(shape[0]) * row, nil
}

// maxElements bounds any tensor a request may declare (the body limit is
// usually much smaller).
const maxElements = 1 << 31
