package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"

	onnxexport "github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/importer/onnx/internal/onnxtest"
	"github.com/kconv/kconv/internal/refcheck"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

// roundTripSkips are the cases that exec runs but that cannot go
// ONNX → ir → ONNX → ONNX Runtime, with the reason. An entry that starts to
// pass fails the test, so that it is removed.
var roundTripSkips = map[string]string{}

// ortModules returns node and the node_modules folder holding
// onnxruntime-node (KCONV_ORT_MODULES, else bench/ort/node_modules), or
// skips the test (fails it under CI=true, which must run it).
func ortModules(t testing.TB) (node, modules string) {
	t.Helper()
	node, err := osexec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run the ONNX Runtime checks, but node is not installed")
		}
		t.Skip("ONNX Runtime check skipped: node is not installed")
	}
	modules = os.Getenv("KCONV_ORT_MODULES")
	if modules == "" {
		modules = filepath.Join("..", "..", "..", "bench", "ort", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(modules, "onnxruntime-node")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run the ONNX Runtime checks, but there is no onnxruntime-node in %s", modules)
		}
		t.Skipf("ONNX Runtime check skipped: no onnxruntime-node in %s (set KCONV_ORT_MODULES)", modules)
	}
	return node, modules
}

// ortJob is one model for testdata/ort_cases.js.
type ortJob struct {
	ID      string            `json:"id"`
	Model   string            `json:"model"`
	Inputs  map[string]string `json:"inputs"`
	Outputs map[string]string `json:"outputs"`
}

// rtCase is a case prepared for the round trip.
type rtCase struct {
	id       string
	model    *ir.Model
	want     []*ir.Tensor
	outs     []string // .npy files ONNX Runtime writes, one per output
	exported string   // why it could not be exported ("" when it was)
}

// TestRoundTrip exports every case that exec runs correctly (see
// TestConformance) back to ONNX, runs the export in ONNX Runtime on the
// case's inputs and compares with the case's reference outputs, as ONNX's
// runner does (rtol 1e-3, atol 1e-7, the absolute tolerance widened to
// refcheck.ScaleTol·max|ref| where float32 cancellation needs it). Models
// are exported at the default opset, or the newest one when they need it.
func TestRoundTrip(t *testing.T) {
	node, modules := ortModules(t)
	cases, missing := onnxtest.Cases("..")
	for _, s := range missing {
		t.Logf("suite %s not found (neither in shared/ nor in testdata/): skipped", s)
	}
	if len(cases) == 0 {
		t.Skip("no ONNX test cases found")
	}
	dir := t.TempDir()
	var prepared []*rtCase
	var jobs []ortJob
	for k, c := range cases {
		im, err := c.Import()
		if err != nil {
			continue // see TestImportCases
		}
		if err := run(c, im); err != nil {
			continue // see TestConformance
		}
		feeds, want := im.Feeds, im.Want
		if c.Suite == "keras3" {
			ref, err := refcheck.ReadIO(filepath.Join(filepath.Dir(c.Model), c.Name+".io.h5"))
			if err != nil {
				t.Fatal(err)
			}
			feeds, want = []*ir.Tensor{ref.Input}, []*ir.Tensor{ref.Output}
		}
		rc := &rtCase{id: c.ID(), model: im.Model, want: want}
		prepared = append(prepared, rc)
		path := filepath.Join(dir, fmt.Sprintf("case%d.onnx", k))
		if err := exportRT(im.Model, path); err != nil {
			rc.exported = err.Error()
			continue
		}
		job := ortJob{ID: rc.id, Model: path, Inputs: map[string]string{}, Outputs: map[string]string{}}
		for i, name := range im.Model.Inputs {
			in := filepath.Join(dir, fmt.Sprintf("case%d_in%d.npy", k, i))
			writeNPY(t, in, feeds[i])
			job.Inputs[name] = in
		}
		for i, name := range im.Model.Outputs {
			out := filepath.Join(dir, fmt.Sprintf("case%d_out%d.npy", k, i))
			job.Outputs[name] = out
			rc.outs = append(rc.outs, out)
		}
		jobs = append(jobs, job)
	}
	errs := runORTJobs(t, node, modules, dir, jobs)

	passed, scaled := 0, 0
	for _, rc := range prepared {
		t.Run(rc.id, func(t *testing.T) {
			err := rc.check(errs[rc.id])
			why, skip := roundTripSkips[rc.id]
			switch {
			case skip && err == nil:
				t.Fatalf("round-trips now: remove it from roundTripSkips (%s)", why)
			case skip:
				t.Skipf("%s (%v)", why, err)
			case err != nil:
				t.Fatal(err)
			}
			passed++
			if rc.scaledAtol() {
				scaled++
			}
		})
	}
	t.Logf("%d of %d cases that exec runs round-trip through ONNX Runtime (%d with the scaled atol), %d listed in roundTripSkips",
		passed, len(prepared), scaled, len(roundTripSkips))
}

// exportRT exports m at the default opset, or at the newest one when m
// needs a newer op.
func exportRT(m *ir.Model, path string) error {
	err := onnxexport.Write(m, path, onnxexport.Options{})
	if err != nil && strings.Contains(err.Error(), "needs opset") {
		err = onnxexport.Write(m, path, onnxexport.Options{Opset: onnxexport.MaxOpset})
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// runORTJobs runs the jobs in one ONNX Runtime process and returns the
// error of each (by id; "" when it ran).
func runORTJobs(t *testing.T, node, modules, dir string, jobs []ortJob) map[string]string {
	t.Helper()
	jobsPath, resultsPath := filepath.Join(dir, "jobs.json"), filepath.Join(dir, "results.json")
	data, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jobsPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := osexec.Command(node, filepath.Join("testdata", "ort_cases.js"), jobsPath, resultsPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ONNX Runtime: %v\n%s", err, stderr.String())
	}
	data, err = os.ReadFile(resultsPath)
	if err != nil {
		t.Fatal(err)
	}
	var results []struct{ ID, Error string }
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range results {
		out[r.ID] = r.Error
	}
	return out
}

// check compares ONNX Runtime's outputs with the references.
func (rc *rtCase) check(ortErr string) error {
	if rc.exported != "" {
		return fmt.Errorf("%s", rc.exported)
	}
	if ortErr != "" {
		return fmt.Errorf("ONNX Runtime: %s", ortErr)
	}
	var errs []string
	for i, want := range rc.want {
		shape, data, _, err := tensorio.ReadNPY(rc.outs[i])
		if err != nil {
			return err
		}
		got := &ir.Tensor{Shape: shape, Data: data}
		if err := allCloseScaled(got, want); err != nil {
			errs = append(errs, fmt.Sprintf("output %d (%s): %v", i, rc.model.Outputs[i], err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// scaledAtol reports whether an output passes only with the widened atol.
func (rc *rtCase) scaledAtol() bool {
	for i, want := range rc.want {
		shape, data, _, err := tensorio.ReadNPY(rc.outs[i])
		if err != nil {
			return false
		}
		if allClose(&ir.Tensor{Shape: shape, Data: data}, want) != nil {
			return true
		}
	}
	return false
}

// allCloseScaled is allClose with atol widened as refcheck.Compare does.
func allCloseScaled(got, want *ir.Tensor) error {
	if allClose(got, want) == nil {
		return nil
	}
	maxRef := 0.0
	for _, w := range want.Data {
		if a := math.Abs(float64(w)); a > maxRef && !math.IsInf(a, 0) {
			maxRef = a
		}
	}
	return allCloseTol(got, want, rtol, math.Max(atol, refcheck.ScaleTol*maxRef))
}

func writeNPY(t testing.TB, path string, x *ir.Tensor) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tensorio.EncodeNPY(f, x.Shape, x.Data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
