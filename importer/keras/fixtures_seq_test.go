package keras

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// seqFixtures lists every model file of a keras-seq folder with the
// parameter count its PROVENANCE.md states (the sum of the weight
// datasets its weight_names list). Every model file of the folder must be
// listed there.
func seqFixtures(t *testing.T, dir string) []fixture {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(dir, "PROVENANCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]int64{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 10 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		n, err := strconv.ParseInt(strings.TrimSpace(cells[5]), 10, 64)
		if err != nil {
			continue
		}
		if _, seen := params[name]; !seen {
			params[name] = n
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.h5"))
	var out []fixture
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, ".io.h5") {
			continue
		}
		n, ok := params[base]
		if !ok {
			t.Errorf("%s: not in %s/PROVENANCE.md", base, dir)
			continue
		}
		fx := fixture{file: f, params: n, format: "keras-h5", major: 2}
		if strings.Contains(base, "_k1_") {
			fx.major = 1
		}
		if arch := strings.TrimSuffix(f, ".h5") + ".config.json"; fileExists(arch) {
			fx.arch = arch
		}
		out = append(out, fx)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestSharedKerasSeq: every real Keras sequence-layer file summarizes with
// the parameter count Keras gives it, every layer known, every weight read
// in its canonical shape.
func TestSharedKerasSeq(t *testing.T) {
	haveShared(t)
	fxs := seqFixtures(t, filepath.Join(sharedDir, "keras-seq"))
	if len(fxs) != 25 {
		t.Errorf("found %d model files, want 25", len(fxs))
	}
	runFixtures(t, fxs)
}

// TestTestdataSeq runs the same checks on the keras-seq files copied to
// testdata/ (see NOTICE).
func TestTestdataSeq(t *testing.T) {
	p := func(s string) string { return filepath.Join("testdata", s) }
	runFixtures(t, []fixture{
		{file: p("seq01_k1_tf_simple_lstm.h5"), params: 10451, format: "keras-h5", major: 1},
		{file: p("seq04_k2_tf_simple_rnn.h5"), params: 2651, format: "keras-h5", major: 2},
		{file: p("seq07_k2_conv1d_k3_s1_d2_cl_valid.h5"), params: 40, format: "keras-h5", major: 2},
		{file: p("seq08_k2_conv1d_k4_s3_d1_cf_same.h5"), params: 52, format: "keras-h5", major: 2},
		{file: p("seq11_k2_causal_conv1d_k3_s1_d2_cl.h5"), params: 40, format: "keras-h5", major: 2},
		{file: p("seq17_k1_theano_bidirectional_lstm_last.h5"), params: 1680, format: "keras-h5", major: 1},
		{file: p("seq19_k1_tf_embedding_conv1d_flatten.h5"), params: 116, format: "keras-h5", major: 1},
	})
}
