package exec_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
)

// TestFixInputs: FixInputs types a variable-length model at given input
// shapes and refuses shapes that contradict it.
func TestFixInputs(t *testing.T) {
	b := ir.NewBuilder("varlen")
	b.Input("x", ir.Shape{-1, 4}, ir.LayoutNone) // (batch, unknown, 4)
	r := b.Add("relu", &ir.Activation{Act: ir.Act{Name: "relu"}}, "x")
	m, err := b.Build(r)
	if err != nil {
		t.Fatal(err)
	}
	f, err := exec.FixInputs(m, []ir.Shape{{3, 7, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if s := f.InputTypes()[0].Shape; !s.Equal(ir.Shape{-1, 7, 4}) {
		t.Errorf("fixed input %v, want (None, 7, 4): dimension 0 stays the batch", s)
	}
	if s := f.Node("relu").Out.Shape; !s.Equal(ir.Shape{-1, 7, 4}) {
		t.Errorf("fixed output %v, want (None, 7, 4)", s)
	}
	if s := m.InputTypes()[0].Shape; !s.Equal(ir.Shape{-1, -1, 4}) {
		t.Errorf("the model itself changed: %v", s)
	}
	for _, bad := range [][]ir.Shape{{{3, 7, 5}}, {{3, 7}}, {{3, 0, 4}}, {}} {
		if _, err := exec.FixInputs(m, bad); err == nil {
			t.Errorf("shapes %v: no error", bad)
		}
	}
}

// TestMovesDim0: a model whose Transpose moves its dynamic dimension 0 (a
// time-major input) compiles per input shape, dimension 0 included, and
// runs at several.
func TestMovesDim0(t *testing.T) {
	b := ir.NewBuilder("time_major")
	b.Input("x", ir.Shape{-1, 2}, ir.LayoutNone) // (steps, batch, 2): steps on dimension 0
	tr := b.Add("tr", &ir.Transpose{Perm: []int{1, 0, 2}, MovesDim0: true}, "x")
	back := b.Add("back", &ir.Transpose{Perm: []int{1, 0, 2}, MovesDim0: true}, tr)
	m, err := b.Build(back)
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []ir.Shape{{3, 2, 2}, {5, 1, 2}} {
		x := ir.NewTensor(s, ir.LayoutNone)
		for i := range x.Data {
			x.Data[i] = float32(i)
		}
		out, err := p.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		if !out[0].Shape.Equal(s) {
			t.Fatalf("%v: output %v", s, out[0].Shape)
		}
		for i, v := range out[0].Data {
			if v != float32(i) {
				t.Fatalf("%v: element %d is %v, want %d", s, i, v, i)
			}
		}
	}
	without := &ir.Transpose{Perm: []int{1, 0, 2}}
	if _, err := without.Infer([]ir.TensorType{{Shape: ir.Shape{-1, 2, 2}}}); err == nil || !strings.Contains(err.Error(), "dynamic batch") {
		t.Errorf("a Transpose moving dimension 0 without MovesDim0: %v", err)
	}
}
