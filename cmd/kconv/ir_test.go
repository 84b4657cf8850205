package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestIRCommand(t *testing.T) {
	linear := filepath.Join("..", "..", "importer", "onnx", "testdata", "onnx-pytorch", "test_Linear", "model.onnx")
	// The optimizing passes fold vgg16's 13 ZeroPadding2D layers into the
	// convolutions after them, and its 5 max poolings into the
	// convolutions before them.
	code, out, errs := kconv(t, "ir", "vgg16")
	if code != 0 || !strings.Contains(out, `convolution2d_1 = Conv2D{Filters=64 `) ||
		!strings.Contains(out, `Fused={Nodes=["zeropadding2d_1","convolution2d_1"] Pads=[1,1,1,1]}`) || strings.Count(out, "\n") != 3+39-13-5 {
		t.Errorf("ir vgg16: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = kconv(t, "ir", "vgg16", "--after", "infer-shapes")
	if code != 0 || strings.Contains(out, "Fused=") || strings.Count(out, "\n") != 3+39 {
		t.Errorf("ir vgg16 --after infer-shapes: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = kconv(t, "ir", "vgg16", "--keep", "zeropadding2d_1", "--passes")
	if code != 0 || !strings.Contains(out, "fuse-pad ") || !regexp.MustCompile(`fuse-pad +\S+ +12\n`).MatchString(out) {
		t.Errorf("ir vgg16 --keep zeropadding2d_1 --passes: exit %d\n%s%s", code, out, errs)
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
