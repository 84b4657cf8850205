package onnx

import (
	"slices"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

// TestUnknownDims: symbolic dimensions after the batch import as -1 and are
// carried through the ops (exec compiles per input shape at run time).
func TestUnknownDims(t *testing.T) {
	b := convModel()
	b.g.Input[0] = valueInfo("x", dtFloat, []int64{-1, 2, -1, -1})
	m, err := Decode(b.bytes(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.InputTypes()[0].Shape; !got.Equal(ir.Shape{-1, 2, -1, -1}) {
		t.Errorf("input shape %v, want (None, 2, None, None)", got)
	}
	out := m.Node(m.Outputs[0]).Out.Shape
	if !out.Equal(ir.Shape{-1, 3, -1, -1}) {
		t.Errorf("output shape %v, want (None, 3, None, None)", out)
	}
}

// TestResolveReshapeUnknown: a reshape may leave one dimension after the
// batch unknown, copied in place or inferred.
func TestResolveReshapeUnknown(t *testing.T) {
	for _, c := range []struct {
		in     ir.Shape
		target []int64
		marks  []bool
		want   []int // nil: an error
	}{
		{ir.Shape{-1, -1, 2, 3}, []int64{0, 0, -1}, nil, []int{-1, -1, 6}},                            // merge the trailing axes
		{ir.Shape{-1, -1, 6}, []int64{0, -1, 2, 3}, nil, []int{-1, -1, 2, 3}},                         // split them
		{ir.Shape{-1, -1, 6}, []int64{0, 0, 2, 3}, nil, []int{-1, -1, 2, 3}},                          // the unknown copied
		{ir.Shape{-1, -1, 6}, []int64{0, -1}, nil, []int{-1, -1}},                                     // flattened into an unknown
		{ir.Shape{-1, -1, -1, 6}, []int64{0, 0, 0, 6}, nil, nil},                                      // two unknowns stay
		{ir.Shape{-1, -1, -1, 6}, []int64{0, 0, -1}, nil, nil},                                        // merged unknown and copied one
		{ir.Shape{-1, -1, 6}, []int64{0, symUnknown, 6}, []bool{true, true, false}, []int{-1, -1, 6}}, // x.view(x.size(0), x.size(1), 6)
		{ir.Shape{-1, 4, 6}, []int64{0, symUnknown, -1}, []bool{true, true, false}, nil},              // a symbol beside an inferred size
		{ir.Shape{-1, 4, 6}, []int64{0, symUnknown, 6}, []bool{true, true, false}, []int{-1, -1, 6}},
	} {
		got, err := resolveReshape(c.in, c.target, c.marks, false)
		switch {
		case c.want == nil && err == nil:
			t.Errorf("reshape %v to %v: got %v, want an error", c.in, c.target, got)
		case c.want != nil && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("reshape %v to %v: got %v, %v; want %v", c.in, c.target, got, err, c.want)
		}
	}
}

// TestZeroFillUse: a zero fill of a symbolic shape (PyTorch's default
// recurrent state) used by anything but a recurrent node is an error
// naming that node and the ConstantOfShape.
func TestZeroFillUse(t *testing.T) {
	b := newGraph(13).input("x", -1, 4).output("y").
		node("Shape", "shape", []string{"x"}, []string{"s"}).
		node("ConstantOfShape", "zeros", []string{"s"}, []string{"z"}).
		node("Add", "add", []string{"x", "z"}, []string{"y"})
	_, err := Decode(b.bytes(t), "")
	if err == nil || !strings.Contains(err.Error(), "node 'add' (op Add)") || !strings.Contains(err.Error(), "ConstantOfShape node 'zeros'") || !strings.Contains(err.Error(), "dynamic batch") {
		t.Errorf("got %v", err)
	}
}
