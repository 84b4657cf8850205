package exec_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

// TestTorchvisionZoo imports every NAME.onnx in the folders named by
// KCONV_ZOO (colon-separated; written by ../shared/bench/export_zoo.py with
// NAME.in.npy and NAME.torch.npy beside each), runs it directly (NCHW, no
// conversion) and compares with torch's own output: rtol 1e-3 and atol
// 1e-4 or 1e-6 of the output's largest magnitude, whichever is larger; and
// within 1e-4 of that magnitude overall. It logs a ZOO line per model (the
// numbers of docs/zoo.md).
// KCONV_ZOO_ONLY (comma-separated names) restricts the run.
func TestTorchvisionZoo(t *testing.T) {
	dirs := os.Getenv("KCONV_ZOO")
	if dirs == "" {
		t.Skip("KCONV_ZOO not set (e.g. KCONV_ZOO=/work/zoo:/work/zoo2): torchvision zoo skipped")
	}
	only := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("KCONV_ZOO_ONLY"), ",") {
		if n != "" {
			only[n] = true
		}
	}
	for _, dir := range filepath.SplitList(dirs) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
		if len(files) == 0 {
			t.Errorf("%s: no .onnx files", dir)
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".onnx")
			if len(only) > 0 && !only[name] {
				continue
			}
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) { checkZoo(t, dir, name) })
		}
	}
}

func checkZoo(t *testing.T, dir, name string) {
	xs, xd, _, err := tensorio.ReadNPY(filepath.Join(dir, name+".in.npy"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := load.Model(filepath.Join(dir, name+".onnx"), load.Options{})
	if err != nil && strings.Contains(err.Error(), "batch") {
		// Graphs that fold the batch into other axes (Swin, MaxViT) import
		// at a fixed batch only.
		t.Logf("dynamic batch: %v; importing at batch %d", err, xs[0])
		m, err = load.Model(filepath.Join(dir, name+".onnx"), load.Options{Batch: xs[0]})
	}
	if err != nil {
		t.Fatal(err)
	}
	ws, wd, _, err := tensorio.ReadNPY(filepath.Join(dir, name+".torch.npy"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := &ir.Tensor{Shape: ir.Shape(xs), Layout: ir.ChannelsFirst, Data: xd}
	t0 := time.Now()
	out, err := p.Run(context.Background(), []*ir.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Since(t0).Seconds() * 1000
	got := out[0]
	if got.Shape.Elements() != int64(len(wd)) {
		t.Fatalf("output %v, torch's %v", got.Shape, ws)
	}
	big := 0.0
	for _, v := range wd {
		big = math.Max(big, math.Abs(float64(v)))
	}
	atol := math.Max(1e-4, 1e-6*big)
	worst, worstRel := 0.0, 0.0
	bad := -1
	for i, v := range wd {
		d := math.Abs(float64(got.Data[i] - v))
		worst = math.Max(worst, d)
		if v != 0 {
			worstRel = math.Max(worstRel, d/math.Abs(float64(v)))
		}
		if !(d <= atol+1e-3*math.Abs(float64(v))) && bad < 0 {
			bad = i
		}
	}
	t.Logf("ZOO %s max abs %.3g max rel %.3g largest %.3g, %.0f ms (batch %d, first run)", name, worst, worstRel, big, ms, xs[0])
	if bad >= 0 {
		t.Errorf("output[%d] = %g, torch %g (max abs diff %g)", bad, got.Data[bad], wd[bad], worst)
	}
	// Randomly initialized exports can have tiny outputs (efficientnet_b1:
	// 3e-14), which atol alone would not check: the error must also be
	// small against them.
	if worst > 1e-4*big {
		t.Errorf("max abs diff %g is more than 1e-4 of the largest output %g", worst, big)
	}
}
