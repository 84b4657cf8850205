package onnx_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/importer/onnx/internal/onnxtest"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// skipCase is a case kconv rejects on purpose: why, and a part of the error
// it must give.
type skipCase struct{ why, err string }

// skipped is the one table of rejected cases. Every other case must import
// with the output shapes of its reference; every case here must fail with
// the error given (so an entry that starts to import fails the test and
// has to go).
var skipped = map[string]skipCase{
	// Not CNN ops: the expanded (function body) forms of activations.
	"onnx-node/test_clip_default_max_expanded":               {"op Less of a computed tensor: comparisons fold on constants only (expanded Clip)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_clip_default_min_expanded":               {"op Less of a computed tensor: comparisons fold on constants only (expanded Clip)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_clip_example_expanded":                   {"op Less of a computed tensor: comparisons fold on constants only (expanded Clip)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_clip_expanded":                           {"op Less of a computed tensor: comparisons fold on constants only (expanded Clip)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_clip_inbounds_expanded":                  {"op Less of a computed tensor: comparisons fold on constants only (expanded Clip)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_clip_min_greater_than_max_expanded":      {"op Less of a computed tensor: comparisons fold on constants only (expanded Clip)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_clip_outbounds_expanded":                 {"op Less of a computed tensor: comparisons fold on constants only (expanded Clip)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_clip_splitbounds_expanded":               {"op Less of a computed tensor: comparisons fold on constants only (expanded Clip)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_elu_default_expanded_ver18":              {"op Less of a computed tensor: comparisons fold on constants only (expanded Elu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_elu_example_expanded_ver18":              {"op Less of a computed tensor: comparisons fold on constants only (expanded Elu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_elu_expanded_ver18":                      {"op Less of a computed tensor: comparisons fold on constants only (expanded Elu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_leakyrelu_default_expanded":              {"op Less of a computed tensor: comparisons fold on constants only (expanded LeakyRelu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_leakyrelu_example_expanded":              {"op Less of a computed tensor: comparisons fold on constants only (expanded LeakyRelu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_leakyrelu_expanded":                      {"op Less of a computed tensor: comparisons fold on constants only (expanded LeakyRelu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_selu_default_expanded_ver18":             {"op Less of a computed tensor: comparisons fold on constants only (expanded Selu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_selu_example_expanded_ver18":             {"op Less of a computed tensor: comparisons fold on constants only (expanded Selu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_selu_expanded_ver18":                     {"op Less of a computed tensor: comparisons fold on constants only (expanded Selu)", "(op Less): Less of a computed tensor is not supported"},
	"onnx-node/test_logsoftmax_axis_0_expanded":              {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_axis_0_expanded_ver18":        {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_axis_1_expanded":              {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_axis_1_expanded_ver18":        {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_axis_2_expanded":              {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_axis_2_expanded_ver18":        {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_default_axis_expanded":        {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_default_axis_expanded_ver18":  {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_example_1_expanded":           {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_example_1_expanded_ver18":     {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_large_number_expanded":        {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_large_number_expanded_ver18":  {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_negative_axis_expanded":       {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_logsoftmax_negative_axis_expanded_ver18": {"op ReduceMax: not a CNN op (expanded LogSoftmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_axis_0_expanded":                 {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_axis_0_expanded_ver18":           {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_axis_1_expanded":                 {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_axis_1_expanded_ver18":           {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_axis_2_expanded":                 {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_axis_2_expanded_ver18":           {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_default_axis_expanded":           {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_default_axis_expanded_ver18":     {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_example_expanded":                {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_example_expanded_ver18":          {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_large_number_expanded":           {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_large_number_expanded_ver18":     {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_negative_axis_expanded":          {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},
	"onnx-node/test_softmax_negative_axis_expanded_ver18":    {"op ReduceMax: not a CNN op (expanded Softmax)", "(op ReduceMax): unsupported op"},

	// Listed ops in forms ir cannot hold.
	"onnx-node/test_averagepool_3d_default":                                                   {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False": {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True":  {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False": {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True":  {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_averagepool_3d_dilations_small":                                           {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_maxpool_3d_default":                                                       {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_maxpool_3d_dilations":                                                     {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_maxpool_3d_dilations_use_ref_impl":                                        {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_maxpool_3d_dilations_use_ref_impl_large":                                  {"3-D pooling: ir has 1-D/2-D windows only", "3-D (rank-5) inputs are not supported"},
	"onnx-node/test_matmul_1d_1d":                                                             {"rank-0 result: ir tensors have at least one axis", "matmul of two vectors gives a scalar"},
	"onnx-node/test_shape_start_greater_than_end":                                             {"empty result: ir tensors are never empty", "is empty (shape [0])"},
}

// TestImportCases imports every case: ir.Prepare must succeed and the
// output shapes ir infers must equal the references'.
func TestImportCases(t *testing.T) {
	cases, missing := onnxtest.Cases(".")
	for _, s := range missing {
		t.Logf("suite %s not found (neither in shared/ nor in testdata/): skipped", s)
	}
	if len(cases) == 0 {
		t.Skip("no ONNX test cases found")
	}
	seen := map[string]bool{}
	imported, rejected := 0, 0
	for _, c := range cases {
		seen[c.ID()] = true
		t.Run(c.ID(), func(t *testing.T) {
			im, err := c.Import()
			if sk, ok := skipped[c.ID()]; ok {
				if err == nil {
					t.Fatalf("imports now: remove it from the skip table (%s)", sk.why)
				}
				checkCleanError(t, err, c.Model)
				if !strings.Contains(err.Error(), sk.err) {
					t.Fatalf("error %q, expected one containing %q", err, sk.err)
				}
				rejected++
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			imported++
			m := im.Model
			if c.Suite == "keras3" {
				checkKerasOutput(t, m, filepath.Join(filepath.Dir(c.Model), c.Name+".io.h5"))
				return
			}
			if len(im.Want) != len(m.Outputs) {
				t.Fatalf("%d outputs, %d references", len(m.Outputs), len(im.Want))
			}
			for i, o := range m.Outputs {
				got := m.Node(o).Out.Shape
				if !onnxtest.SameShape(got, im.Want[i].Shape) {
					t.Errorf("output %d (%s): ir infers %v, reference has %v", i, o, got, im.Want[i].Shape)
				}
			}
			for i, f := range im.Feeds {
				if in := m.InputTypes()[i].Shape; !onnxtest.SameShape(in, f.Shape) {
					t.Errorf("input %d: model takes %v, data set has %v", i, in, f.Shape)
				}
			}
		})
	}
	t.Logf("%d cases imported, %d rejected as listed in the skip table", imported, rejected)
	if len(missing) == 0 {
		for id := range skipped {
			if !seen[id] {
				t.Errorf("skip table names %s, which is not a case", id)
			}
		}
	}
}

// checkCleanError requires a one-line error that names the file.
func checkCleanError(t *testing.T, err error, file string) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	if !strings.HasPrefix(msg, file+": ") {
		t.Errorf("error does not start with the file name %s: %q", file, msg)
	}
}

// checkKerasOutput compares the model's output shape with the io.h5
// reference's (batch 2).
func checkKerasOutput(t *testing.T, m *ir.Model, io string) {
	t.Helper()
	f, err := h5.Open(io)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := f.Root().Dataset("output")
	if err != nil {
		t.Fatal(err)
	}
	want := ir.Shape(d.Shape())
	got := m.Node(m.Outputs[0]).Out.Shape
	if !onnxtest.SameShape(got, want) || got[0] != -1 {
		t.Errorf("output shape %v, reference %v (batch must be dynamic)", got, want)
	}
	in, err := f.Root().Dataset("input")
	if err != nil {
		t.Fatal(err)
	}
	if gi := m.InputTypes()[0].Shape; !onnxtest.SameShape(gi, ir.Shape(in.Shape())) {
		t.Errorf("input shape %v, reference %v", gi, in.Shape())
	}
}
