package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

var update = flag.Bool("update", false, "rewrite the goldens under testdata/")

const (
	root   = "../.."
	shared = "../../../shared/fixtures"
	// imported is the pass after which a model is as its importer
	// translated it, typed: every pipeline has it.
	imported = "infer-shapes"
)

// model is one fixture: a file (or builtin name) and, for weights-only
// files, its architecture.
type model struct{ name, path, arch string }

// snapshot is a model's sections: its passes with the nodes each changed,
// its IR after infer-shapes and after the whole pipeline — the import
// pipeline, then the optimizing passes exec compiles with (exec.Optimize:
// the fusions), nothing kept but the outputs — (or the import or
// optimization error, which is a fact about the model too).
func snapshot(t *testing.T, mo model) []txtar.File {
	t.Helper()
	clean := func(err error) []byte {
		// Errors start with the path, which depends on where the tests run.
		s := strings.ReplaceAll(err.Error(), mo.path, mo.name)
		if mo.arch != "" {
			s = strings.ReplaceAll(s, mo.arch, filepath.Base(mo.arch))
		}
		return []byte("error: " + s + "\n")
	}
	opt := load.Options{Arch: mo.arch}
	m, err := load.Model(mo.path, opt)
	if err == nil {
		m, err = exec.Optimize(m, exec.Options{}, "")
	}
	if err != nil {
		return []txtar.File{{Name: mo.name + "/error", Data: clean(err)}}
	}
	var passes bytes.Buffer
	for _, p := range m.Passes {
		fmt.Fprintf(&passes, "%s %d\n", p.Name, p.Changed)
	}
	optimized := ir.Format(m)
	opt.StopAfter = imported
	first, err := load.Model(mo.path, opt)
	if err != nil {
		t.Fatalf("%s: loaded, but not when stopped after %s: %v", mo.name, imported, err)
	}
	before := ir.Format(first)
	if optimized == before {
		optimized = "(same as imported: no pass after " + imported + " changed the model)\n"
	}
	return []txtar.File{
		{Name: mo.name + "/passes", Data: passes.Bytes()},
		{Name: mo.name + "/imported", Data: []byte(before)},
		{Name: mo.name + "/optimized", Data: []byte(optimized)},
	}
}

// check compares (or, with -update, writes) the golden archive of models.
func check(t *testing.T, golden, comment string, models []model) {
	t.Helper()
	a := &txtar.Archive{Comment: []byte(comment + "\nRegenerate: go test ./ir/golden -update\n")}
	for _, mo := range models {
		a.Files = append(a.Files, snapshot(t, mo)...)
	}
	got := txtar.Format(a)
	path := filepath.Join("testdata", golden+".txtar")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ir/golden -update)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	wa := txtar.Parse(want)
	wantFiles := map[string]string{}
	for _, f := range wa.Files {
		wantFiles[f.Name] = string(f.Data)
	}
	for _, f := range a.Files {
		w, ok := wantFiles[f.Name]
		if !ok {
			t.Errorf("%s: section %s is new", path, f.Name)
			continue
		}
		delete(wantFiles, f.Name)
		if w != string(f.Data) {
			t.Errorf("%s: section %s differs:\n%s", path, f.Name, lineDiff(w, string(f.Data)))
		}
	}
	for name := range wantFiles {
		t.Errorf("%s: section %s is gone", path, name)
	}
	if !t.Failed() {
		t.Errorf("%s differs (comment or order); run go test ./ir/golden -update and review the diff", path)
	}
}

// lineDiff shows the first differing line of want and got.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d\nwant: %s\n got: %s", i+1, w, g)
		}
	}
	return "(same lines)"
}

// modelsIn lists the model files of a fixture folder: .h5, .keras, .onnx,
// and .json/.yaml architectures that are models of their own. Weights-only
// files get their architecture: X.weights.h5 and X.weights-legacy.h5 take
// X.json; X.h5 takes X.config.json or X.config.yaml.
func modelsIn(t *testing.T, dir string) []model {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	var out []model
	for _, e := range entries {
		n := e.Name()
		p := filepath.Join(dir, n)
		switch {
		case e.IsDir(), strings.HasSuffix(n, ".io.h5"), strings.Contains(n, ".config."), n == "MANIFEST.json":
		case strings.HasSuffix(n, ".weights.h5"), strings.HasSuffix(n, ".weights-legacy.h5"):
			stem := strings.TrimSuffix(strings.TrimSuffix(n, ".weights.h5"), ".weights-legacy.h5")
			out = append(out, model{n, p, filepath.Join(dir, stem+".json")})
		case strings.HasSuffix(n, ".h5"):
			stem := strings.TrimSuffix(n, ".h5")
			arch := ""
			for _, c := range []string{stem + ".config.json", stem + ".config.yaml"} {
				if exists(c) {
					arch = filepath.Join(dir, c)
				}
			}
			out = append(out, model{n, p, arch})
		case strings.HasSuffix(n, ".keras"), strings.HasSuffix(n, ".onnx"):
			out = append(out, model{n, p, ""})
		case strings.HasSuffix(n, ".json"), strings.HasSuffix(n, ".yaml"):
			stem := strings.TrimSuffix(strings.TrimSuffix(n, ".json"), ".yaml")
			if !exists(stem+".h5") && !exists(stem+".keras") && !exists(stem+".weights.h5") {
				out = append(out, model{n, p, ""})
			}
		}
	}
	return out
}

// onnxSuite lists the dir/*/model.onnx test models, named by their folder.
func onnxSuite(t *testing.T, dir string) []model {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*", "model.onnx"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no ONNX models under %s", dir)
	}
	slices.Sort(paths)
	var out []model
	for _, p := range paths {
		out = append(out, model{filepath.Base(filepath.Dir(p)), p, ""})
	}
	return out
}

// TestRepoFixtures snapshots the models a fresh clone has.
func TestRepoFixtures(t *testing.T) {
	t.Run("builtin", func(t *testing.T) {
		check(t, "builtin", "The builtin vgg16 (zoo).", []model{{"vgg16", "vgg16", ""}})
	})
	t.Run("keras-testdata", func(t *testing.T) {
		check(t, "keras-testdata", "importer/keras/testdata.", modelsIn(t, filepath.Join(root, "importer", "keras", "testdata")))
	})
	t.Run("exec-testdata", func(t *testing.T) {
		check(t, "exec-testdata", "exec/testdata.", modelsIn(t, filepath.Join(root, "exec", "testdata")))
	})
	for _, suite := range []string{"onnx-node", "onnx-pytorch"} {
		t.Run(suite, func(t *testing.T) {
			check(t, suite, "importer/onnx/testdata/"+suite+" (ONNX's own test models).", onnxSuite(t, filepath.Join(root, "importer", "onnx", "testdata", suite)))
		})
	}
}

// TestSharedFixtures snapshots the shared fixture sets, one golden each.
func TestSharedFixtures(t *testing.T) {
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("shared fixtures not found at %s: their goldens are not checked", shared)
	}
	for _, set := range []string{"keras3", "keras-real", "keras-seq"} {
		t.Run(set, func(t *testing.T) {
			dir := filepath.Join(shared, set)
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("shared fixture set %s not found", dir)
			}
			check(t, "shared-"+set, "../shared/fixtures/"+set+".", modelsIn(t, dir))
		})
	}
}
