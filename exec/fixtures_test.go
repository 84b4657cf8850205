package exec_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/internal/refcheck"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

const (
	rtol = 1e-3
	atol = 1e-5
)

var (
	shared      = filepath.Join("..", "..", "shared", "fixtures")
	kerasTDdata = filepath.Join("..", "importer", "keras", "testdata")
)

// checkIO loads model (with arch for weights-only forms), runs it on the
// reference input and compares every layer the reference holds; the first
// layer out of tolerance fails the test by name.
func checkIO(t *testing.T, model, arch, io string) {
	t.Helper()
	m, err := load.Model(model, load.Options{Arch: arch})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := refcheck.ReadIO(io)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := refcheck.Run(context.Background(), m, ref, exec.Options{}, rtol, atol)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 && len(ref.Layers) > 0 && !strings.HasSuffix(model, ".onnx") {
		t.Fatalf("only %d comparisons", len(rows))
	}
	if bad := refcheck.FirstFailure(rows); bad != nil {
		t.Fatalf("first layer out of tolerance: %s\n%s", bad.Layer, refcheck.Table(rows))
	}
	// A second load: the run above released weights a .keras file's
	// stream cannot give twice.
	if m, err = load.Model(model, load.Options{Arch: arch}); err != nil {
		t.Fatal(err)
	}
	checkOptimized(t, m, ref)
}

// checkOptimized runs m fully optimized (every fusion pass, nothing kept
// but what survives fusion) on the reference input and compares the final
// output and every layer that survives in the optimized IR with Keras's
// reference: the fusions are checked against Keras, not against kconv.
// Keeping the survivors changes no fusion (a fused node takes the name of
// the last node of its chain, and only nodes folded into another are
// required not to be kept); the test checks that too.
func checkOptimized(t *testing.T, m *ir.Model, ref *refcheck.Reference) {
	t.Helper()
	opt, err := exec.Optimize(m, exec.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	fused := 0
	for _, p := range opt.Passes[len(m.Passes):] {
		fused += p.Changed
	}
	survivors := &refcheck.Reference{Input: ref.Input, Output: ref.Output, Layers: map[string]*ir.Tensor{}}
	var keep []string
	for _, n := range opt.Nodes {
		if r, ok := ref.Layers[n.Name]; ok {
			survivors.Layers[n.Name] = r
			survivors.Order = append(survivors.Order, n.Name)
			keep = append(keep, n.Name)
		}
	}
	again, err := exec.Optimize(m, exec.Options{Keep: keep}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ir.Format(again) != ir.Format(opt) {
		t.Fatalf("keeping the layers that survive fusion changes the fusions")
	}
	rows, err := refcheck.Run(context.Background(), m, survivors, exec.Options{}, rtol, atol)
	if err != nil {
		t.Fatalf("optimized (%d nodes fused): %v", fused, err)
	}
	if bad := refcheck.FirstFailure(rows); bad != nil {
		t.Fatalf("optimized (%d nodes fused): first layer out of tolerance: %s\n%s", fused, bad.Layer, refcheck.Table(rows))
	}
	t.Logf("optimized: %d nodes fused, %d comparisons", fused, len(rows))
}

// TestFixturesFreshClone runs the fixtures kept in the repository.
func TestFixturesFreshClone(t *testing.T) {
	cases := []struct{ name, model, arch, io string }{
		{"cifar_small.h5", filepath.Join(kerasTDdata, "cifar_small.h5"), "", "testdata/cifar_small.io.h5"},
		{"cifar_small.keras", filepath.Join(kerasTDdata, "cifar_small.keras"), "", "testdata/cifar_small.io.h5"},
		{"cifar_small.weights.h5", filepath.Join(kerasTDdata, "cifar_small.weights.h5"), filepath.Join(kerasTDdata, "cifar_small.json"), "testdata/cifar_small.io.h5"},
		{"cifar_small.weights-legacy.h5", filepath.Join(kerasTDdata, "cifar_small.weights-legacy.h5"), filepath.Join(kerasTDdata, "cifar_small.json"), "testdata/cifar_small.io.h5"},
		{"resnet_block.h5", filepath.Join(kerasTDdata, "resnet_block.h5"), "", "testdata/resnet_block.io.h5"},
		{"bn_net.h5", "testdata/bn_net.h5", "", "testdata/bn_net.io.h5"},
		{"vgg16_mini.h5", "testdata/vgg16_mini.h5", "", "testdata/vgg16_mini.io.h5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkIO(t, c.model, c.arch, c.io) })
	}
}

// TestFixturesKeras3 runs every model of the shared Keras 3 set in every form.
func TestFixturesKeras3(t *testing.T) {
	dir := filepath.Join(shared, "keras3")
	ios, _ := filepath.Glob(filepath.Join(dir, "*.io.h5"))
	if len(ios) == 0 {
		t.Skipf("shared fixtures not found at %s", dir)
	}
	for _, io := range ios {
		name := strings.TrimSuffix(filepath.Base(io), ".io.h5")
		base := filepath.Join(dir, name)
		forms := []struct{ file, arch string }{
			{base + ".h5", ""}, {base + ".keras", ""},
			{base + ".weights.h5", base + ".json"}, {base + ".weights-legacy.h5", base + ".json"},
			{base + ".onnx", ""}, // Keras's own ONNX export: the final output is compared
		}
		for _, f := range forms {
			if _, err := os.Stat(f.file); err != nil {
				continue
			}
			t.Run(filepath.Base(f.file), func(t *testing.T) { checkIO(t, f.file, f.arch, io) })
		}
	}
}

// TestFixturesKerasReal checks the real Keras 1/2/3 files that come with
// reference outputs.
func TestFixturesKerasReal(t *testing.T) {
	dir := filepath.Join(shared, "keras-real")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared fixtures not found at %s", dir)
	}
	for _, n := range []string{"34_k3_mnist_cnn_350.h5", "37_k3_mnist_cnn_keras_zip.keras"} {
		t.Run(n, func(t *testing.T) {
			io := filepath.Join(dir, strings.TrimSuffix(strings.TrimSuffix(n, ".h5"), ".keras")+".ref.io.h5")
			checkIO(t, filepath.Join(dir, n), "", io)
		})
	}
}

// TestKerasRealCompanions runs the Keras 1 and Keras 2 files whose
// repositories ship an input and Keras's output.
func TestKerasRealCompanions(t *testing.T) {
	t.Run("01_k1_cnn_tf_model", func(t *testing.T) {
		// The repository (DL4J's test resources) stores the 8×8×3 input in
		// channels-first order; the model is Keras 1 dim_ordering "tf".
		chw := readText(t, "testdata/01_k1_cnn_tf_model.input.txt")
		in := make([]float32, len(chw))
		for c := 0; c < 3; c++ {
			for p := 0; p < 64; p++ {
				in[p*3+c] = chw[c*64+p]
			}
		}
		want := readText(t, "testdata/01_k1_cnn_tf_model.output.txt")
		got := runModel(t, filepath.Join(kerasTDdata, "01_k1_cnn_tf_model.h5"), in)
		compare(t, got, want)
	})
	t.Run("16_k2_cnn_batch_norm", func(t *testing.T) {
		_, in, _, err := tensorio.ReadNPY("testdata/16_k2_cnn_batch_norm.input.npy")
		if err != nil {
			t.Fatal(err)
		}
		_, want, _, err := tensorio.ReadNPY("testdata/16_k2_cnn_batch_norm.predictions.npy")
		if err != nil {
			t.Fatal(err)
		}
		got := runModel(t, filepath.Join(kerasTDdata, "16_k2_cnn_batch_norm.h5"), in)
		compare(t, got, want)
	})
}

func readText(t *testing.T, path string) []float32 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for _, f := range strings.Fields(string(b)) {
		v, err := strconv.ParseFloat(f, 32)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, float32(v))
	}
	return out
}

// runModel runs a model on flat input data, deriving the batch from its size.
func runModel(t *testing.T, path string, data []float32) []float32 {
	t.Helper()
	m, err := load.Model(path, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it := m.InputTypes()[0]
	per := int(ir.Shape(it.Shape[1:]).Elements())
	shape := append(ir.Shape{len(data) / per}, it.Shape[1:]...)
	outs, err := p.Run(context.Background(), []*ir.Tensor{{Shape: shape, Layout: it.Layout, Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	return outs[0].Data
}

func compare(t *testing.T, got, want []float32) {
	t.Helper()
	r := refcheck.Compare("output", &ir.Tensor{Shape: ir.Shape{len(got)}, Data: got}, &ir.Tensor{Shape: ir.Shape{len(want)}, Data: want}, rtol, atol)
	if !r.OK() {
		t.Fatalf("output differs: %v\n got %v\nwant %v", r.Err, got, want)
	}
}
