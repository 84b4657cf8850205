package exec_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

// TestFixturesSeqFreshClone runs the keras-seq files kept in the
// repository against Keras's predictions and per-layer activations.
func TestFixturesSeqFreshClone(t *testing.T) {
	for _, n := range []string{"seq01_k1_tf_simple_lstm", "seq04_k2_tf_simple_rnn", "seq07_k2_conv1d_k3_s1_d2_cl_valid",
		"seq08_k2_conv1d_k4_s3_d1_cf_same", "seq11_k2_causal_conv1d_k3_s1_d2_cl"} {
		t.Run(n, func(t *testing.T) {
			checkIO(t, filepath.Join(kerasTDdata, n+".h5"), "", filepath.Join("testdata", n+".io.h5"))
		})
	}
}

// seqRunOnly are the keras-seq files without a Keras-made output (see
// PROVENANCE.md): they run on a synthetic input and their output shape is
// checked. A non-empty reason says why a file cannot run yet.
var seqRunOnly = map[string]string{
	"03_k2_tf206_simple_lstm_targets_only.h5": "",
	"16_k2_tf_bidirectional_lstm_seq.h5":      "",
	"17_k1_theano_bidirectional_lstm_last.h5": "",
	"18_k2_theano_embedding_lstm.h5":          "",
	"19_k1_tf_embedding_conv1d_flatten.h5":    "",
	"20_k2_masking2_lstm.h5":                  "",
	"21_k1_tf_lstm_timedistributeddense.h5":   "",
	"22_tfk_bilstm_repeatvector_varlen.h5":    "", // input (None, None, 3): runs at length 7
	"23_k2_conv1d_bn_gap1d_repeatvector.h5":   "",
	"24_tfk250_conv1d_maxpool1d_leakyrelu.h5": "",
	"25_k2_tf_separableconv2d.h5":             "",
}

// TestFixturesKerasSeq walks the shared keras-seq folder: every file with
// Keras's predictions runs to them (rtol 1e-3, atol 1e-5 scaled), the
// others run with the right output shape; every model file is covered.
func TestFixturesKerasSeq(t *testing.T) {
	dir := filepath.Join(shared, "keras-seq")
	files, _ := filepath.Glob(filepath.Join(dir, "*.h5"))
	if len(files) == 0 {
		t.Skipf("shared fixtures not found at %s", dir)
	}
	withRef := 0
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, ".io.h5") {
			continue
		}
		stem := strings.TrimSuffix(f, ".h5")
		arch := ""
		if _, err := os.Stat(stem + ".config.json"); err == nil {
			arch = stem + ".config.json"
		}
		t.Run(base, func(t *testing.T) {
			switch {
			case strings.HasPrefix(base, "02_"):
				// 01's model saved as weights + JSON: 01's reference.
				withRef++
				checkIO(t, f, arch, filepath.Join(dir, "01_k1_tf_simple_lstm.io.h5"))
			case strings.HasPrefix(base, "06_"):
				withRef++
				checkSeq06(t, dir, f, arch)
			default:
				if reason, ok := seqRunOnly[base]; ok {
					runOnly(t, f, arch, reason)
					return
				}
				withRef++
				checkIO(t, f, arch, stem+".io.h5")
			}
		})
	}
	// PROVENANCE.md: 01, 02 (01's reference), 04-15 (io.h5 predictions)
	// and 06 (predictions.npy); 03's companion holds training targets.
	if withRef != 14 {
		t.Errorf("%d files ran to Keras's predictions, want 14", withRef)
	}
}

// checkSeq06 runs 06 on its 283 CSV inputs (4 steps × the first 12 of 13
// columns each) against predictions.npy.
func checkSeq06(t *testing.T, dir, model, arch string) {
	_, want, _, err := tensorio.ReadNPY(filepath.Join(dir, "06_k2_theano_lstm2_weights.predictions.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var in []float32
	for i := range want {
		b, err := os.ReadFile(filepath.Join(dir, "06_k2_theano_lstm2_weights.inputs", fmt.Sprintf("%d.csv", i)))
		if err != nil {
			t.Fatal(err)
		}
		rows := strings.Fields(string(b))
		if len(rows) != 4 {
			t.Fatalf("%d.csv: %d rows, want 4", i, len(rows))
		}
		for _, r := range rows {
			cols := strings.Split(r, ";")
			for _, c := range cols[:12] {
				v, err := strconv.ParseFloat(c, 64)
				if err != nil {
					t.Fatalf("%d.csv: %v", i, err)
				}
				in = append(in, float32(v))
			}
		}
	}
	m, err := load.Model(model, load.Options{Arch: arch})
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := p.Run(context.Background(), []*ir.Tensor{{Shape: ir.Shape{len(want), 4, 12}, Data: in}})
	if err != nil {
		t.Fatal(err)
	}
	compare(t, outs[0].Data, want)
}

// runOnly runs a model without a reference on a deterministic input (valid
// indices for an Embedding) and checks its output shape and finiteness.
func runOnly(t *testing.T, model, arch, reason string) {
	m, err := load.Model(model, load.Options{Arch: arch})
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{})
	if reason != "" {
		if err == nil || !strings.Contains(err.Error(), reason) {
			t.Fatalf("expected a clean %q error, got %v", reason, err)
		}
		t.Logf("cannot run (expected): %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	it := m.InputTypes()[0]
	batch := 2
	if it.Shape[0] > 0 {
		batch = it.Shape[0] // 03: batch_input_shape (25, 1, 1)
	}
	shape := append(ir.Shape{batch}, it.Shape[1:]...)
	for d := 1; d < len(shape); d++ {
		if shape[d] < 0 {
			shape[d] = 7 // a variable length
		}
	}
	data := make([]float32, shape.Elements())
	vocab := 0
	for _, n := range m.Nodes {
		if e, ok := n.Op.(*ir.Embedding); ok && len(n.Inputs) == 1 && n.Inputs[0] == m.Inputs[0] {
			vocab = e.InputDim
		}
	}
	for i := range data {
		if vocab > 0 {
			data[i] = float32((i * 7) % vocab)
		} else {
			data[i] = float32(math.Sin(float64(i) * 0.37))
		}
	}
	outs, err := p.Run(context.Background(), []*ir.Tensor{{Shape: shape, Layout: it.Layout, Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	want := m.Node(m.Outputs[0]).Out.Shape.Clone()
	want[0] = batch
	if !outs[0].Shape.Equal(want) {
		t.Fatalf("output shape %v, want %v", outs[0].Shape, want)
	}
	for _, v := range outs[0].Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("output holds %v", v)
		}
	}
}
