package golden

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

// TestPassesKeepOutputs runs every ONNX fixture twice on the same seeded
// input: as imported (stopped after infer-shapes, compiled without exec's
// fusions, so each ONNX node is computed by its own kernel) and fully
// optimized (the whole pipeline and exec's fusions). The outputs must
// agree: the transformation passes change how a model computes, never what.
// (exec's fixture tests compare the optimized models with Keras.)
func TestPassesKeepOutputs(t *testing.T) {
	var models []model
	for _, suite := range []string{"onnx-node", "onnx-pytorch"} {
		models = append(models, onnxSuite(t, filepath.Join(root, "importer", "onnx", "testdata", suite))...)
	}
	if paths, _ := filepath.Glob(filepath.Join(shared, "keras3", "*.onnx")); len(paths) > 0 {
		for _, p := range paths {
			models = append(models, model{filepath.Base(p), p, ""})
		}
	} else {
		t.Logf("shared fixtures not found at %s: checking the repository's ONNX models only", shared)
	}
	compared := 0
	for _, mo := range models {
		opt, err := load.Model(mo.path, load.Options{})
		if err != nil {
			continue // import failures are in the goldens
		}
		changed := 0
		for _, p := range opt.Passes {
			if p.Name != "order-nodes" && p.Name != "infer-shapes" {
				changed += p.Changed
			}
		}
		imp, err := load.Model(mo.path, load.Options{StopAfter: imported})
		if err != nil {
			t.Fatalf("%s: %v", mo.name, err)
		}
		ref, err := exec.Compile(imp, exec.Options{Threads: 1, NoFuse: true})
		if err != nil {
			continue // a model exec cannot run (the conformance tests say which)
		}
		fast, err := exec.Compile(opt, exec.Options{Threads: 1})
		if err != nil {
			t.Errorf("%s: the imported model compiles, the optimized one not: %v", mo.name, err)
			continue
		}
		in := inputsFor(t, imp, rand.New(rand.NewPCG(1, 2)))
		want, err := ref.Run(context.Background(), in)
		if err != nil {
			continue
		}
		got, err := fast.Run(context.Background(), in)
		if err != nil {
			t.Errorf("%s: optimized model: %v", mo.name, err)
			continue
		}
		for i := range want {
			if !close(want[i].Data, got[i].Data) {
				t.Errorf("%s: output %d differs after the passes (%d nodes changed)", mo.name, i, changed)
			}
		}
		compared++
	}
	if compared < 20 {
		t.Errorf("only %d models compared", compared)
	}
	t.Logf("compared %d ONNX models imported and optimized", compared)
}

// inputsFor makes seeded inputs in [-2, 2] for m's inputs, batch 1 where
// the batch is dynamic.
func inputsFor(t *testing.T, m *ir.Model, r *rand.Rand) []*ir.Tensor {
	t.Helper()
	var out []*ir.Tensor
	for _, tt := range m.InputTypes() {
		s := tt.Shape.Clone()
		if s[0] < 0 {
			s[0] = 1
		}
		x := ir.NewTensor(s, tt.Layout)
		for i := range x.Data {
			x.Data[i] = float32(4*r.Float64() - 2)
		}
		out = append(out, x)
	}
	return out
}

// close compares within float32 reassociation noise.
func close(want, got []float32) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsNaN(w) != math.IsNaN(g) || math.Abs(w-g) > 1e-5+1e-4*math.Abs(w) {
			return false
		}
	}
	return true
}
