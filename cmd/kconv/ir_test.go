package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestIRCommand(t *testing.T) {
	linear := filepath.Join("..", "..", "importer", "onnx", "testdata", "onnx-pytorch", "test_Linear", "model.onnx")
	code, out, errs := kconv(t, "ir", "vgg16")
	if code != 0 || !strings.Contains(out, "convolution2d_1 = Conv2D{Filters=64 ") || strings.Count(out, "\n") != 3+39 {
		t.Errorf("ir vgg16: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = kconv(t, "ir", linear, "--passes")
	if code != 0 || !strings.Contains(out, "fold-dense-bias") || !strings.Contains(out, "check-weights") {
		t.Errorf("ir --passes: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = kconv(t, "ir", linear, "--after", "order-nodes")
	// Before infer-shapes, output types are unknown.
	if code != 0 || !strings.Contains(out, "-> ?") {
		t.Errorf("ir --after order-nodes: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = kconv(t, "ir", linear, "--after", "no-such-pass")
	if code != 1 || !strings.Contains(errs, `no pass named "no-such-pass"`) {
		t.Errorf("ir --after no-such-pass: exit %d, %s", code, errs)
	}
}
