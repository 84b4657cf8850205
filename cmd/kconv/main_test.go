package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/internal/tensorio"
)

var kerasTD = filepath.Join("..", "..", "importer", "keras", "testdata")

func kconv(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestSummaryCheck(t *testing.T) {
	code, out, errs := kconv(t, "summary", "vgg16", "--check", "../../testdata/vgg16_summary.txt")
	if code != 0 || !strings.HasPrefix(out, "ok: vgg16 matches") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	ref, err := os.ReadFile("../../testdata/vgg16_summary.txt")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, bytes.Replace(ref, []byte("36928"), []byte("36929"), 1), 0o644)
	code, out, errs = kconv(t, "summary", "vgg16", "--check", bad)
	if code != 1 || !strings.Contains(out, "convolution2d_2") || !strings.Contains(out, "36929") {
		t.Fatalf("wrong reference: exit %d\n%s%s", code, out, errs)
	}
	if n := strings.Count(strings.TrimSpace(errs), "\n"); n != 0 {
		t.Errorf("error is not one line: %q", errs)
	}
}

func TestSummaryStylesAndJSON(t *testing.T) {
	for _, args := range [][]string{
		{"summary", "vgg16"},
		{"summary", "vgg16", "--style", "keras3"},
		{"summary", "vgg16", "--style", "keras2"},
		{"summary", "vgg16", "--json"},
		{"summary", filepath.Join(kerasTD, "cifar_small.keras")},
		{"summary", filepath.Join(kerasTD, "cifar_small.weights.h5"), "--arch", filepath.Join(kerasTD, "cifar_small.json")},
	} {
		code, out, errs := kconv(t, args...)
		if code != 0 || (!strings.Contains(out, "138357544") && !strings.Contains(out, "138,357,544") && !strings.Contains(out, "136,874")) {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	junk := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	real, err := os.ReadFile(filepath.Join(kerasTD, "cifar_small.h5"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"no args", []string{"summary"}, 2},
		{"unknown flag", []string{"summary", "vgg16", "--bogus"}, 2},
		{"unknown command", []string{"frobnicate"}, 2},
		{"bad style", []string{"summary", "vgg16", "--style", "keras9"}, 2},
		{"missing file", []string{"summary", filepath.Join(dir, "nope.h5")}, 1},
		{"empty h5", []string{"summary", write("empty.h5", nil)}, 1},
		{"random h5", []string{"summary", write("random.h5", junk)}, 1},
		{"random keras", []string{"summary", write("random.keras", junk)}, 1},
		{"random json", []string{"summary", write("random.json", junk)}, 1},
		{"text h5", []string{"summary", write("text.h5", []byte("this is not a model\n"))}, 1},
		{"truncated h5", []string{"summary", write("trunc.h5", real[:len(real)/2])}, 1},
		{"run without input", []string{"run", "vgg16"}, 2},
		{"run without weights", []string{"run", "vgg16", "--input", write("x.npy", nil)}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := kconv(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.code, errs)
			}
			first := strings.SplitN(errs, "\n", 2)[0]
			if !strings.HasPrefix(first, "kconv: ") || strings.Contains(errs, "internal error") || strings.Contains(errs, "goroutine") {
				t.Fatalf("bad error output %q", errs)
			}
			if c.code == 1 && len(c.args) > 1 && strings.HasPrefix(c.args[1], dir) && !strings.Contains(first, filepath.Base(c.args[1])) {
				t.Errorf("error does not name the file: %q", first)
			}
		})
	}
}

func TestRunNPY(t *testing.T) {
	dir := t.TempDir()
	x := make([]float32, 2*32*32*3)
	for i := range x {
		x[i] = float32(i%255) / 255
	}
	in := filepath.Join(dir, "x.npy")
	f, _ := os.Create(in)
	tensorio.EncodeNPY(f, []int{2, 32, 32, 3}, x)
	f.Close()
	out := filepath.Join(dir, "y.npy")
	model := filepath.Join(kerasTD, "cifar_small.h5")
	code, stdout, errs := kconv(t, "run", model, "--input", in, "--out", out, "--top", "3")
	if code != 0 || !strings.Contains(stdout, "sample 1:") {
		t.Fatalf("exit %d\n%s%s", code, stdout, errs)
	}
	shape, y, _, err := tensorio.ReadNPY(out)
	if err != nil || len(shape) != 2 || shape[0] != 2 || shape[1] != 10 {
		t.Fatalf("output %v %v", shape, err)
	}
	var sum float32
	for _, v := range y[:10] {
		sum += v
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("softmax row sums to %v", sum)
	}
	// An existing output is never replaced without --force.
	code, _, errs = kconv(t, "run", model, "--input", in, "--out", out)
	if code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("overwrite without --force: exit %d %q", code, errs)
	}
	// A wrong shape names both shapes.
	bad := filepath.Join(dir, "bad.npy")
	f, _ = os.Create(bad)
	tensorio.EncodeNPY(f, []int{1, 3, 32, 32}, x[:3072])
	f.Close()
	code, _, errs = kconv(t, "run", model, "--input", bad)
	if code != 1 || !strings.Contains(errs, "[1 3 32 32]") || !strings.Contains(errs, "(None, 32, 32, 3)") {
		t.Fatalf("wrong shape: exit %d %q", code, errs)
	}
}

func TestVerify(t *testing.T) {
	code, out, errs := kconv(t, "verify", filepath.Join(kerasTD, "cifar_small.h5"), "--io", "../../exec/testdata/cifar_small.io.h5")
	if code != 0 || !strings.Contains(out, "conv2d_1") || !strings.Contains(out, "ok:") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	// Another model's reference must fail with a one-line error.
	code, _, errs = kconv(t, "verify", filepath.Join(kerasTD, "cifar_small.h5"), "--io", "../../exec/testdata/bn_net.io.h5")
	if code != 1 || !strings.Contains(errs, "shape") {
		t.Fatalf("mismatched reference: exit %d %q", code, errs)
	}
}

// TestFixedBatch: --fixed-batch fixes an ONNX model's dynamic batch at
// import (the summary shows it), and a negative value is a usage error.
func TestFixedBatch(t *testing.T) {
	onnxFile := filepath.Join(t.TempDir(), "cifar.onnx")
	if code, out, errs := kconv(t, "convert", filepath.Join(kerasTD, "cifar_small.keras"), onnxFile); code != 0 {
		t.Fatalf("convert: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := kconv(t, "summary", onnxFile)
	if code != 0 || !strings.Contains(out, "(None, ") {
		t.Fatalf("dynamic: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = kconv(t, "summary", onnxFile, "--fixed-batch", "3")
	if code != 0 || strings.Contains(out, "(None, ") || !strings.Contains(out, "(3, ") {
		t.Fatalf("--fixed-batch 3: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs = kconv(t, "summary", onnxFile, "--fixed-batch", "-1"); code != 2 || !strings.Contains(errs, "--fixed-batch") {
		t.Fatalf("--fixed-batch -1: exit %d, %s", code, errs)
	}
}
