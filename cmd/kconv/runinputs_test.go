package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/exporter/keras"
	onnxexport "github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

// twoInputModels writes a model with inputs "a" (N, 3) and "b" (N, 2),
// concatenated to (N, 5), as a Keras 3 .keras file and as ONNX.
func twoInputModels(t *testing.T, dir string) []string {
	t.Helper()
	m := &ir.Model{Name: "two", Inputs: []string{"a", "b"}, Outputs: []string{"cat"}, Nodes: []*ir.Node{
		{Name: "a", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, 3}}}},
		{Name: "b", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, 2}}}},
		{Name: "cat", Op: &ir.Concat{Axis: 1}, Inputs: []string{"a", "b"}},
	}}
	if err := (ir.Pipeline{Passes: []ir.Pass{ir.PassOrder, ir.PassInfer}}).Run(m); err != nil {
		t.Fatal(err)
	}
	k, o := filepath.Join(dir, "two.keras"), filepath.Join(dir, "two.onnx")
	if err := keras.WriteKeras3(m, k, keras.K3Options{}); err != nil {
		t.Fatal(err)
	}
	if err := onnxexport.Write(m, o, onnxexport.Options{}); err != nil {
		t.Fatal(err)
	}
	return []string{k, o}
}

// npyOf writes a .npy file of shape holding first, first+1, ….
func npyOf(t *testing.T, dir, name string, shape []int, first float32) string {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = first + float32(i)
	}
	var b bytes.Buffer
	if err := tensorio.EncodeNPY(&b, shape, v); err != nil {
		t.Fatal(err)
	}
	return file(t, dir, name, b.Bytes())
}

// TestRunSeveralInputs runs two-input Keras and ONNX models with named
// and positional --input flags, checks the output against the inputs
// concatenated, and that a missing, unknown, doubled or mis-shaped input
// fails with a one-line usage error naming it.
func TestRunSeveralInputs(t *testing.T) {
	d := t.TempDir()
	a := npyOf(t, d, "a.npy", []int{2, 3}, 0)
	b := npyOf(t, d, "b.npy", []int{2, 2}, 100)
	bad := npyOf(t, d, "bad.npy", []int{2, 4}, 0)
	batch3 := npyOf(t, d, "b3.npy", []int{3, 2}, 0)
	want := []float32{0, 1, 2, 100, 101, 3, 4, 5, 102, 103}
	for _, model := range twoInputModels(t, d) {
		name := filepath.Ext(model)
		for _, args := range [][]string{
			{"--input", "a=" + a, "--input", "b=" + b},
			{"--input", "b=" + b, "--input", "a=" + a},
			{"--input", a, "--input", b},
		} {
			y := filepath.Join(d, "y.npy")
			code, _, errs := kconv(t, append([]string{"run", model, "--out", y, "--force"}, args...)...)
			if code != 0 {
				t.Fatalf("%s %v: exit %d: %s", name, args, code, errs)
			}
			shape, got, _, err := tensorio.ReadNPY(y)
			if err != nil {
				t.Fatal(err)
			}
			if len(shape) != 2 || shape[0] != 2 || shape[1] != 5 || len(got) != len(want) {
				t.Fatalf("%s %v: output shape %v", name, args, shape)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %v: output %v, want %v", name, args, got, want)
				}
			}
			os.Remove(y)
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--input", "a=" + a}, `no --input for the model's input "b"`},
			{[]string{"--input", "a=" + a, "--input", "c=" + b}, `the model has no input "c" (its inputs: a, b)`},
			{[]string{"--input", "a=" + a, "--input", "a=" + a}, "--input a is given twice"},
			{[]string{"--input", a}, "the model has 2 inputs (a, b)"},
			{[]string{"--input", "a=" + a, "--input", b}, "not a mix"},
			{[]string{"--input", "a=" + a, "--input", "b=" + bad}, `input "b": ` + bad + ": input has shape [2 4], the model expects"},
			{[]string{"--input", "a=" + a, "--input", "b=" + batch3}, `input "b" (` + batch3 + ") has batch 3"},
			{[]string{"--input", "a=" + a, "--input", "b=" + filepath.Join(d, "cat.png")}, "images feed single-input models"},
		} {
			code, _, errs := kconv(t, append([]string{"run", model}, c.args...)...)
			if code == 0 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 1 {
				t.Errorf("%s %v: exit %d, stderr %q; want an error containing %q", name, c.args, code, errs, c.want)
			}
		}
	}
}

// TestRunNamedSingleInput: a single-input model takes --input NAME=FILE
// too, and refuses a name it does not have.
func TestRunNamedSingleInput(t *testing.T) {
	d := t.TempDir()
	relu := onnxModel(t, d, "relu.onnx", []int64{-1, 4}, &onnxpb.NodeProto{OpType: proto.String("Relu"), Name: proto.String("r"), Input: []string{"x"}, Output: []string{"y"}})
	x := npyOf(t, d, "x.npy", []int{1, 4}, -1.5)
	y := filepath.Join(d, "y.npy")
	if code, _, errs := kconv(t, "run", relu, "--input", "x="+x, "--out", y); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, got, _, err := tensorio.ReadNPY(y)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 0, 0.5, 1.5}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("output %v, want %v", got, want)
	}
	if code, _, errs := kconv(t, "run", relu, "--input", "z="+x); code == 0 || !strings.Contains(errs, `the model has no input "z" (its inputs: x)`) {
		t.Errorf("unknown name: exit %d, stderr %q", code, errs)
	}
}
