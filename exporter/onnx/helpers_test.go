package onnx_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/exec"
	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/refcheck"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

// Tolerances against kconv's own outputs; refcheck widens atol to
// ScaleTol·max|ref| for each tensor.
const (
	rtol = 1e-4
	atol = 1e-5
)

var runJS = filepath.Join("..", "..", "bench", "ort", "run.js")

// ortModules returns node and the node_modules folder holding
// onnxruntime-node (KCONV_ORT_MODULES, else bench/ort/node_modules), or
// skips the test.
func ortModules(t testing.TB) (node, modules string) {
	t.Helper()
	node, err := osexec.LookPath("node")
	if err != nil {
		t.Skip("ONNX Runtime check skipped: node is not installed")
	}
	modules = os.Getenv("KCONV_ORT_MODULES")
	if modules == "" {
		// Where `npm install --prefix bench/ort onnxruntime-node@1.30.0
		// --ignore-scripts` puts it (.ci/run does this).
		modules = filepath.Join("..", "..", "bench", "ort", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(modules, "onnxruntime-node")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run the ONNX Runtime checks, but there is no onnxruntime-node in %s", modules)
		}
		t.Skipf("ONNX Runtime check skipped: no onnxruntime-node in %s (set KCONV_ORT_MODULES to a node_modules folder holding it)", modules)
	}
	return node, modules
}

// runORT runs an ONNX file on x in ONNX Runtime through bench/ort/run.js
// and returns its first output.
func runORT(t testing.TB, model string, x *ir.Tensor) *ir.Tensor {
	t.Helper()
	node, modules := ortModules(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.npy"), filepath.Join(dir, "out.npy")
	writeNPY(t, in, x)
	cmd := osexec.Command(node, runJS, "run", model, in, out, "--threads", "2")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ONNX Runtime failed on %s: %v\n%s", model, err, stderr.String())
	}
	shape, data, _, err := tensorio.ReadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	return &ir.Tensor{Shape: shape, Data: data}
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

// runKconv runs m natively on x and returns its first output.
func runKconv(t testing.TB, m *ir.Model, x *ir.Tensor) *ir.Tensor {
	t.Helper()
	p, err := exec.Compile(m, exec.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := p.Run(context.Background(), []*ir.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	return outs[0]
}

// randomInput makes a seeded input for m's first input with the given
// batch, uniform in [lo, hi).
func randomInput(m *ir.Model, batch int, seed uint64, lo, hi float32) *ir.Tensor {
	it := m.InputTypes()[0]
	shape := append(ir.Shape{batch}, it.Shape[1:]...)
	for i := 1; i < len(shape); i++ {
		if shape[i] < 0 {
			shape[i] = 7 // a variable length (keras-seq 22's steps)
		}
	}
	x := ir.NewTensor(shape, it.Layout)
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range x.Data {
		x.Data[i] = lo + (hi-lo)*r.Float32()
	}
	return x
}

// inputRange is the input range that suits m: pixel values for models that
// subtract the VGG mean.
func inputRange(m *ir.Model) (float32, float32) {
	for _, n := range m.Nodes {
		if l, ok := n.Op.(*ir.Lambda); ok && l.Function == "vgg_preprocess" {
			return 0, 255
		}
	}
	return -1, 1
}

func compare(t testing.TB, what string, got, want *ir.Tensor) {
	t.Helper()
	r := refcheck.Compare(what, got, want, rtol, atol)
	if !r.OK() {
		t.Errorf("%s differs from kconv: %v max |diff| %.3g (atol %.3g), worst %.3g× tolerance over %d values",
			what, r.Err, r.MaxAbs, r.Atol, r.Worst, r.Elements)
	}
}

// toNCHW transposes an NHWC tensor.
func toNCHW(x *ir.Tensor) *ir.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := ir.NewTensor(ir.Shape{n, c, h, w}, ir.ChannelsFirst)
	for b := 0; b < n; b++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for ch := 0; ch < c; ch++ {
					out.Data[((b*c+ch)*h+y)*w+xx] = x.Data[((b*h+y)*w+xx)*c+ch]
				}
			}
		}
	}
	return out
}

// reimport reads an exported file back with kconv's ONNX importer and runs
// it on x. It reports false (and logs why) when the importer cannot read the
// file yet.
func reimport(t testing.TB, path string, x *ir.Tensor) *ir.Tensor {
	t.Helper()
	m, err := onnximport.Load(path)
	if err != nil {
		t.Fatalf("re-import: importer/onnx cannot read the export: %v", err)
	}
	if err := m.LoadWeights(); err != nil {
		t.Fatalf("re-import: %v", err)
	}
	it := m.InputTypes()[0]
	in := &ir.Tensor{Shape: x.Shape, Layout: it.Layout, Data: x.Data}
	p, err := exec.Compile(m, exec.Options{Threads: 2})
	if err != nil {
		t.Fatalf("re-import: compile: %v", err)
	}
	outs, err := p.Run(context.Background(), []*ir.Tensor{in})
	if err != nil {
		t.Fatalf("re-import: run: %v", err)
	}
	return outs[0]
}
