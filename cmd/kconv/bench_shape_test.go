package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// torchTD holds small PyTorch exports with unknown dimensions after the
// batch (importer/onnx/testdata/torch/make.py).
var torchTD = filepath.Join("..", "..", "importer", "onnx", "testdata", "torch")

// TestBenchShape: kconv bench runs a variable-length model at --shape,
// unknown dimensions it does not set at --unknown-dim, and says which.
func TestBenchShape(t *testing.T) {
	fcn := filepath.Join(torchTD, "fcn.onnx")
	text := filepath.Join(torchTD, "textcnn.onnx")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", text, "--runs", "1", "--warmup", "0", "--shape", "17,6"}, "input_shapes=1x17x6\n"},
		{[]string{"bench", text, "--runs", "1", "--warmup", "0", "--batch", "3"}, "input_shapes=3x32x6\n"},
		{[]string{"bench", fcn, "--runs", "1", "--warmup", "0", "--shape", "x=3,20,9", "--batch", "2"}, "input_shapes=2x3x20x9\n"},
		{[]string{"bench", fcn, "--runs", "1", "--warmup", "0", "--unknown-dim", "8"}, "input_shapes=1x3x8x8\n"},
	} {
		code, out, errs := kconv(t, c.args...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, output %q, stderr %q; want %q", c.args[2:], code, out, errs, c.want)
		}
	}
	// A model without unknown dimensions prints no shapes unless given.
	if code, out, _ := kconv(t, "bench", filepath.Join(kerasTD, "cifar_small.h5"), "--runs", "1", "--warmup", "0"); code != 0 || strings.Contains(out, "input_shapes") {
		t.Errorf("fixed-shape model: exit %d, output %q", code, out)
	}
}

// TestBenchShapeErrors: bad --shape values are clean errors naming the
// flag and the input.
func TestBenchShapeErrors(t *testing.T) {
	fcn := filepath.Join(torchTD, "fcn.onnx")
	bench := func(flags ...string) func(string) []string {
		return func(string) []string { return append([]string{"bench", fcn, "--runs", "1", "--warmup", "0"}, flags...) }
	}
	runHostile(t, []hostile{
		{"not a number", bench("--shape", "3,a,4"), 2, []string{"--shape", "3,a,4"}},
		{"zero", bench("--shape", "3,0,4"), 2, []string{"--shape"}},
		{"unknown-dim 0", bench("--unknown-dim", "0"), 2, []string{"--unknown-dim 0"}},
		{"known dimension contradicted", bench("--shape", "4,8,8"), 1, []string{"input 'x'", "dimension 1 is 3"}},
		{"wrong rank", bench("--shape", "3,8"), 1, []string{"input 'x'", "3 after the batch"}},
		{"no such input", bench("--shape", "y=3,8,8"), 1, []string{"no input 'y'"}},
		{"too many", bench("--shape", "3,8,8", "--shape", "3,8,8"), 1, []string{"more --shape flags"}},
		{"over the budget", bench("--shape", "3,100000,100000"), 1, []string{"memory budget"}},
	})
}
