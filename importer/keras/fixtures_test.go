package keras

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

// sharedDir holds the project's shared fixtures (not in a fresh clone).
const sharedDir = "../../../shared/fixtures"

// fixture is one model file and what Keras says of it.
type fixture struct {
	file    string // model file
	arch    string // Options.Arch ("" for none)
	params  int64  // Keras's total parameter count
	summary string // Keras model.summary() text ("" for none)
	format  string // expected Meta.Format
	major   int    // expected Keras major version
	flipped bool   // convolution kernels flipped (Theano)
	noW     bool   // architecture only
}

// realFixtures are the files of keras-real (PROVENANCE.md: weights column).
func realFixtures(dir string) []fixture {
	p := func(s string) string { return filepath.Join(dir, s) }
	return []fixture{
		{file: p("01_k1_cnn_tf_model.h5"), params: 64, format: "keras-h5", major: 1},
		{file: p("02_k1_cnn_tf_weights.h5"), arch: p("02_k1_cnn_tf_weights.config.json"), params: 64, format: "keras-h5", major: 1},
		{file: p("09_k1_mnist_cnn_th_weights.h5"), arch: p("09_k1_mnist_cnn_th_weights.config.json"), params: 600810, format: "keras-h5", major: 1, flipped: true},
		{file: p("14_k2_theano_conv2d_reshape.h5"), params: 1950, format: "keras-h5", major: 2, flipped: true},
		{file: p("16_k2_cnn_batch_norm.h5"), params: 79, format: "keras-h5", major: 2},
		{file: p("21_k2_wgan_disc_zeropad_bn.h5"), params: 97536, format: "keras-h5", major: 2},
		{file: p("24_k2_mnist_cnn_chfirst_weights.h5"), arch: p("24_k2_mnist_cnn_chfirst_weights.config.yaml"), params: 600810, format: "keras-h5", major: 2},
		{file: p("27_k2_tfkeras_cnn2d_pad_crop_up.h5"), params: 260, format: "keras-h5", major: 2},
		{file: p("34_k3_mnist_cnn_350.h5"), params: 225034, format: "keras-h5", major: 3},
		// 36 has no architecture; testdata/36_mnist_arch.json is written
		// for it from its weight shapes (an MNIST CNN).
		{file: p("36_k3_mnist_weights_only.weights.h5"), arch: "testdata/36_mnist_arch.json", params: 179926, format: "keras-h5", major: 3},
		{file: p("37_k3_mnist_cnn_keras_zip.keras"), params: 225034, format: "keras-zip", major: 3},
	}
}

// keras3Fixtures lists every model file of a keras3 fixture folder from its
// MANIFEST.json.
func keras3Fixtures(t *testing.T, dir string) []fixture {
	data, err := os.ReadFile(filepath.Join(dir, "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Models map[string]struct {
			Params int64    `json:"params"`
			Files  []string `json:"files"`
		} `json:"models"`
	}
	if err := json.Unmarshal(data, &man); err != nil {
		t.Fatal(err)
	}
	var out []fixture
	for name, m := range man.Models {
		summary := ""
		for _, f := range m.Files {
			if f == name+".summary.txt" {
				summary = filepath.Join(dir, f)
			}
		}
		for _, f := range m.Files {
			fx := fixture{file: filepath.Join(dir, f), params: m.Params, summary: summary, major: 3, format: "keras-h5"}
			switch {
			case strings.HasSuffix(f, ".weights.h5"), strings.HasSuffix(f, ".weights-legacy.h5"):
				fx.arch = filepath.Join(dir, name+".json")
			case strings.HasSuffix(f, ".io.h5"):
				continue
			case strings.HasSuffix(f, ".h5"):
			case strings.HasSuffix(f, ".keras"):
				fx.format = "keras-zip"
			case strings.HasSuffix(f, ".json"):
				fx.format, fx.noW = "keras-json", true
			default:
				continue
			}
			if _, err := os.Stat(fx.file); err != nil {
				continue // listed but not copied (testdata holds a few)
			}
			out = append(out, fx)
		}
	}
	return out
}

func haveShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skipf("shared fixtures not found at %s (not part of a fresh clone); testdata/ covers a subset", sharedDir)
	}
}

func TestSharedKeras3(t *testing.T) {
	haveShared(t)
	runFixtures(t, keras3Fixtures(t, filepath.Join(sharedDir, "keras3")))
}

func TestSharedKerasReal(t *testing.T) {
	haveShared(t)
	dir := filepath.Join(sharedDir, "keras-real")
	fx := realFixtures(dir)
	runFixtures(t, fx)
	// Every model file of the folder is one of them: a file added there
	// without a parameter count here fails.
	listed := map[string]bool{}
	for _, f := range fx {
		listed[filepath.Base(f.file)] = true
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.h5"))
	zips, _ := filepath.Glob(filepath.Join(dir, "*.keras"))
	for _, f := range append(files, zips...) {
		if b := filepath.Base(f); !strings.HasSuffix(b, ".io.h5") && !listed[b] {
			t.Errorf("%s: a model file of %s with no fixture (parameter count) in realFixtures", b, dir)
		}
	}
	// 36 has no architecture of its own.
	p := filepath.Join(dir, "36_k3_mnist_weights_only.weights.h5")
	_, err := Load(p, Options{})
	checkErr(t, err, p, "no architecture", "Options.Arch")
}

// TestTestdata runs the same checks on the small copies in testdata/.
func TestTestdata(t *testing.T) {
	var fx []fixture
	for _, f := range realFixtures("testdata") {
		if _, err := os.Stat(f.file); err == nil {
			fx = append(fx, f)
		}
	}
	fx = append(fx, keras3Fixtures(t, "testdata")...)
	if len(fx) < 10 {
		t.Fatalf("testdata holds only %d fixtures", len(fx))
	}
	runFixtures(t, fx)
}

func runFixtures(t *testing.T, fxs []fixture) {
	for _, fx := range fxs {
		t.Run(filepath.Base(fx.file), func(t *testing.T) {
			t.Parallel()
			checkFixture(t, fx)
		})
	}
}

func checkFixture(t *testing.T, fx fixture) {
	m, err := Load(fx.file, Options{Arch: fx.arch})
	if err != nil {
		t.Fatal(err)
	}
	tr, nt := m.Params()
	if tr+nt != fx.params {
		t.Errorf("total params %d (%d trainable), Keras says %d", tr+nt, tr, fx.params)
	}
	if m.Meta.Format != fx.format {
		t.Errorf("format %q, want %q", m.Meta.Format, fx.format)
	}
	if got := m.Meta.KerasMajor(); got != fx.major {
		t.Errorf("Keras version %q (major %d), want major %d", m.Meta.KerasVersion, got, fx.major)
	}
	if fx.noW != !ir.HasWeights(m) {
		t.Errorf("has weights: %v, want %v", ir.HasWeights(m), !fx.noW)
	}
	for _, n := range m.Nodes {
		if c, ok := n.Op.(*ir.Conv2D); ok && c.TheanoFlipped != fx.flipped && !fx.noW {
			t.Errorf("layer '%s': TheanoFlipped %v, want %v", n.Name, c.TheanoFlipped, fx.flipped)
		}
		if _, ok := n.Op.(*ir.Unknown); ok {
			t.Errorf("layer '%s': class %s imported as unknown", n.Name, n.Class)
		}
	}
	if fx.summary != "" {
		checkSummary(t, m, fx.summary)
	}
	if fx.noW {
		return
	}
	if err := m.LoadWeights(); err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Nodes {
		for i, w := range n.Weights {
			d, err := w.Data()
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(d)) != n.Specs[i].Shape.Elements() || !w.Shape.Equal(n.Specs[i].Shape) {
				t.Errorf("layer '%s': weight %s has %d values of shape %v, spec %v", n.Name, w.Name, len(d), w.Shape, n.Specs[i].Shape)
			}
		}
	}
}

// summaryRow is one layer of a Keras 3 boxed summary.
type summaryRow struct {
	name, class, shape string
	params             int64
}

var reNameClass = regexp.MustCompile(`^(\S+) \((\w+)\)$`)

// parseSummary reads the rows of Keras 3's boxed model.summary(): cells
// between │ separators, a row's lines (wrapped cells) up to the next ├ or └
// rule.
func parseSummary(t *testing.T, text string) ([]summaryRow, int64) {
	var rows []summaryRow
	var cells []string
	var total int64
	flush := func() {
		if len(cells) < 3 {
			cells = nil
			return
		}
		var r summaryRow
		nc := strings.Join(strings.Fields(cells[0]), " ")
		mm := reNameClass.FindStringSubmatch(nc)
		if mm == nil {
			t.Fatalf("summary row %q: cannot read the layer name", nc)
		}
		r.name, r.class = mm[1], mm[2]
		r.shape = strings.Join(strings.Fields(cells[1]), " ")
		p, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(cells[2]), ",", ""), 10, 64)
		if err != nil {
			t.Fatalf("summary row %q: params %q", nc, cells[2])
		}
		r.params = p
		rows = append(rows, r)
		cells = nil
	}
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "│"):
			parts := strings.Split(strings.Trim(line, "│"), "│")
			if cells == nil {
				cells = make([]string, len(parts))
			}
			for i, p := range parts {
				if i < len(cells) {
					cells[i] += " " + strings.TrimSpace(p)
				}
			}
		case strings.HasPrefix(line, "├"), strings.HasPrefix(line, "└"):
			flush()
		case strings.Contains(line, "Total params:"):
			f := strings.Fields(strings.SplitN(line, ":", 2)[1])
			total, _ = strconv.ParseInt(strings.ReplaceAll(f[0], ",", ""), 10, 64)
		}
	}
	return rows, total
}

// checkSummary compares every layer's output shape, class and params with
// Keras's summary.
func checkSummary(t *testing.T, m *ir.Model, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, total := parseSummary(t, string(data))
	if len(rows) == 0 {
		t.Fatalf("%s: no rows", path)
	}
	tr, nt := m.Params()
	if total != tr+nt {
		t.Errorf("summary total %d, model %d", total, tr+nt)
	}
	for _, r := range rows {
		n := m.Node(r.name)
		if n == nil {
			t.Errorf("summary layer %s is not in the model", r.name)
			continue
		}
		if got := n.Out.Shape.String(); got != r.shape {
			t.Errorf("layer '%s': output shape %s, Keras says %s", r.name, got, r.shape)
		}
		a, b := n.Params()
		if a+b != r.params {
			t.Errorf("layer '%s': %d params, Keras says %d", r.name, a+b, r.params)
		}
		if n.Class != r.class {
			t.Errorf("layer '%s': class %s, Keras says %s", r.name, n.Class, r.class)
		}
	}
}
