package ir

import (
	"fmt"
	"math"
	"slices"
)

// Ops that ONNX graphs need and Keras layers do not provide. The ONNX
// importer uses the Keras-style ops of ops.go wherever their semantics match
// exactly and these only for the rest.
//
// Shapes here follow the rest of package ir: dimension 0 is the batch and
// only it may be -1 (dynamic). Tensors whose every dimension is known (ONNX
// constants, or graphs with a static batch) may have any dimension 0; an op
// that would move, merge, slice or reduce a dynamic dimension 0 is an error
// at shape inference. Constant values are not batched: a Constant's
// dimension 0 is a real size, never the batch.

// Constant is a tensor that does not depend on the model's inputs, such as
// an ONNX initializer read by a general op (e.g. the right operand of a
// Binary). Its value is the node's only weight, "value", of shape Shape
// (the full shape: constants have no batch axis). Its inputs, if any, carry
// no data and only order the graph; they are ignored.
type Constant struct{ Shape Shape }

func (*Constant) Kind() string { return "Constant" }
func (o *Constant) Infer([]TensorType) (TensorType, error) {
	if len(o.Shape) == 0 {
		return TensorType{}, fmt.Errorf("constant has rank 0 (store scalars with shape (1,))")
	}
	for _, d := range o.Shape {
		if d < 1 {
			return TensorType{}, fmt.Errorf("constant shape %v has a dimension < 1", o.Shape)
		}
	}
	return TensorType{Shape: o.Shape.Clone()}, nil
}
func (o *Constant) Weights([]TensorType) []WeightSpec {
	return []WeightSpec{{Name: "value", Shape: o.Shape.Clone()}}
}

// BinaryOp is the element-wise function of a Binary.
type BinaryOp uint8

// Binary functions: a+b, a-b, a*b, a/b (IEEE float division), max(a,b),
// min(a,b), a^b (ONNX Pow: math.Pow in float64, rounded to float32).
const (
	BinaryAdd BinaryOp = iota
	BinarySub
	BinaryMul
	BinaryDiv
	BinaryMax
	BinaryMin
	BinaryPow
)

var binaryNames = [...]string{"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"}

func (b BinaryOp) String() string {
	if int(b) < len(binaryNames) {
		return binaryNames[b]
	}
	return fmt.Sprintf("BinaryOp(%d)", b)
}

// Binary computes out = in[0] Op in[1] element-wise with numpy (ONNX
// multidirectional) broadcasting. Either input may be a Constant node. (Two
// computed tensors combined by Add/Sub/Mul/Max/Min use Merge instead.) A
// dynamic dimension 0 broadcasts only against size 1 or another dynamic
// dimension 0.
type Binary struct{ Op BinaryOp }

func (o *Binary) Kind() string { return "Binary" + o.Op.String() }
func (o *Binary) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 2); err != nil {
		return TensorType{}, err
	}
	if int(o.Op) >= len(binaryNames) {
		return TensorType{}, fmt.Errorf("unknown binary op %d", o.Op)
	}
	s, err := BroadcastStrict(in[0].Shape, in[1].Shape)
	if err != nil {
		return TensorType{}, err
	}
	return TensorType{Shape: s, Layout: layoutOfRank(in, len(s))}, nil
}
func (*Binary) Weights([]TensorType) []WeightSpec { return nil }

// layoutOfRank returns the layout of the first input of rank r that has one.
func layoutOfRank(in []TensorType, r int) Layout {
	for _, t := range in {
		if len(t.Shape) == r && t.Layout != LayoutNone {
			return t.Layout
		}
	}
	return LayoutNone
}

// BroadcastStrict is numpy broadcasting where -1 stands for the dynamic
// batch on dimension 0 (an unknown size elsewhere): it matches only 1 or
// -1, and an operand of lower rank may not carry a dynamic batch, so the
// result keeps its batch axis.
func BroadcastStrict(a, b Shape) (Shape, error) {
	out, err := broadcast(a, b, false)
	if err != nil {
		return nil, err
	}
	for _, x := range []Shape{a, b} {
		if len(x) > 0 && len(x) < len(out) && x[0] < 0 {
			return nil, fmt.Errorf("broadcasting %v and %v moves the batch axis", a, b)
		}
	}
	return out, nil
}

// Transpose permutes all axes, dimension 0 included: output axis i is input
// axis Perm[i]. A dynamic dimension 0 must stay in place, unless MovesDim0:
// then the model's dimension 0 is not (only) a batch — a time-major ONNX
// graph input (steps, batch, features) or output — and exec compiles the
// model for each input shape, dimension 0 included, so that every shape is
// static when it runs. Rank-4 layouts follow NCHW<->NHWC permutations;
// other results have no layout.
type Transpose struct {
	Perm      []int
	MovesDim0 bool
}

func (*Transpose) Kind() string { return "Transpose" }
func (o *Transpose) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	s := in[0].Shape
	if err := checkPerm(o.Perm, len(s)); err != nil {
		return TensorType{}, err
	}
	if s[0] < 0 && o.Perm[0] != 0 && !o.MovesDim0 {
		return TensorType{}, fmt.Errorf("permutation %v moves the dynamic batch axis", o.Perm)
	}
	out := make(Shape, len(s))
	for i, p := range o.Perm {
		out[i] = s[p]
	}
	l := LayoutNone
	if len(s) == 4 {
		switch {
		case slices.Equal(o.Perm, []int{0, 1, 2, 3}):
			l = in[0].Layout
		case slices.Equal(o.Perm, []int{0, 2, 3, 1}) && in[0].Layout != ChannelsLast:
			l = ChannelsLast
		case slices.Equal(o.Perm, []int{0, 3, 1, 2}) && in[0].Layout != ChannelsFirst:
			l = ChannelsFirst
		}
	}
	return TensorType{Shape: out, Layout: l}, nil
}
func (*Transpose) Weights([]TensorType) []WeightSpec { return nil }

func checkPerm(perm []int, rank int) error {
	if len(perm) != rank {
		return fmt.Errorf("permutation %v does not fit rank %d", perm, rank)
	}
	seen := make([]bool, rank)
	for _, p := range perm {
		if p < 0 || p >= rank || seen[p] {
			return fmt.Errorf("bad permutation %v", perm)
		}
		seen[p] = true
	}
	return nil
}

// ReshapeTo reshapes, in memory order, a tensor whose every dimension is
// known to Shape, the complete output shape (dimension 0 included, all
// dimensions known, zero allowed). It is for reshapes that change dimension
// 0, which Reshape (batch kept) cannot express.
type ReshapeTo struct{ Shape Shape }

func (*ReshapeTo) Kind() string { return "ReshapeTo" }
func (o *ReshapeTo) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if len(o.Shape) == 0 {
		return TensorType{}, fmt.Errorf("reshape to rank 0")
	}
	for _, d := range o.Shape {
		if d < 0 {
			return TensorType{}, fmt.Errorf("target shape %v has an unknown dimension", o.Shape)
		}
	}
	for _, d := range in[0].Shape {
		if d < 0 {
			return TensorType{}, fmt.Errorf("cannot reshape %v (dynamic batch) to the static shape %v", in[0].Shape, o.Shape)
		}
	}
	if a, b := staticElems(in[0].Shape), staticElems(o.Shape); a != b {
		return TensorType{}, fmt.Errorf("cannot reshape %v (%d values) to %v (%d)", in[0].Shape, a, o.Shape, b)
	}
	l := LayoutNone
	if len(o.Shape) == len(in[0].Shape) {
		l = in[0].Layout
	}
	return TensorType{Shape: o.Shape.Clone(), Layout: l}, nil
}
func (*ReshapeTo) Weights([]TensorType) []WeightSpec { return nil }

// staticElems is the element count of a shape whose dims are all >= 0.
func staticElems(s Shape) int64 {
	n := int64(1)
	for _, d := range s {
		n *= int64(d)
	}
	return n
}

// Concat concatenates its inputs along Axis (non-negative; any axis,
// including 0). Inputs may be Constant nodes. Merge's Concatenate is used
// where it fits (computed inputs, axis >= 1); Concat is for the rest. All
// inputs have one rank and equal dimensions off Axis; a dynamic dimension 0
// must be dynamic in every input and cannot be the axis.
type Concat struct{ Axis int }

func (*Concat) Kind() string { return "Concat" }
func (o *Concat) Infer(in []TensorType) (TensorType, error) {
	if len(in) < 1 {
		return TensorType{}, fmt.Errorf("concat has no input")
	}
	r := len(in[0].Shape)
	if o.Axis < 0 || o.Axis >= r {
		return TensorType{}, fmt.Errorf("concat axis %d out of range for rank %d", o.Axis, r)
	}
	out := in[0].Shape.Clone()
	for _, t := range in[1:] {
		if len(t.Shape) != r {
			return TensorType{}, fmt.Errorf("cannot concatenate %v and %v", in[0].Shape, t.Shape)
		}
		for i := 0; i < r; i++ {
			if i == o.Axis {
				switch {
				case (out[i] < 0 || t.Shape[i] < 0) && i == 0:
					return TensorType{}, fmt.Errorf("cannot concatenate along the dynamic batch axis")
				case out[i] < 0 || t.Shape[i] < 0:
					out[i] = -1 // an unknown size: known once exec fixes it
				default:
					out[i] += t.Shape[i]
				}
			} else if out[i] != t.Shape[i] {
				return TensorType{}, fmt.Errorf("cannot concatenate %v and %v on axis %d", in[0].Shape, t.Shape, o.Axis)
			}
		}
	}
	return TensorType{Shape: out, Layout: layoutOfRank(in, r)}, nil
}
func (*Concat) Weights([]TensorType) []WeightSpec { return nil }

// Pad pads (or, with negative amounts, crops) every axis. Pads has 2*rank
// entries in ONNX's order: the amounts before each axis 0..rank-1, then the
// amounts after each. Mode is "constant" (fill with Value), "reflect"
// (mirror without repeating the edge) or "edge" (repeat the edge). A dynamic
// dimension 0 cannot be padded.
type Pad struct {
	Pads  []int
	Mode  string
	Value float64
}

func (*Pad) Kind() string { return "Pad" }
func (o *Pad) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	s := in[0].Shape
	if len(o.Pads) != 2*len(s) {
		return TensorType{}, fmt.Errorf("%d pads for rank %d", len(o.Pads), len(s))
	}
	switch o.Mode {
	case "constant", "reflect", "edge":
	default:
		return TensorType{}, fmt.Errorf("unknown pad mode %q", o.Mode)
	}
	out := s.Clone()
	for i, d := range s {
		b, a := o.Pads[i], o.Pads[len(s)+i]
		if d < 0 {
			if b != 0 || a != 0 {
				return TensorType{}, fmt.Errorf("cannot pad the dynamic batch axis")
			}
			continue
		}
		if o.Mode == "reflect" && (b >= d || a >= d) {
			return TensorType{}, fmt.Errorf("reflect padding %d/%d needs more than %d values on axis %d", b, a, d, i)
		}
		out[i] = d + b + a
		if out[i] < 1 {
			return TensorType{}, fmt.Errorf("padding %v leaves nothing of %v", o.Pads, s)
		}
	}
	return TensorType{Shape: out, Layout: in[0].Layout}, nil
}
func (*Pad) Weights([]TensorType) []WeightSpec { return nil }

// Slice takes, on each axis Axes[i], the elements Starts[i], Starts[i]+Steps[i],
// … up to but excluding Ends[i], with ONNX's rules: negative starts and ends
// count from the end of the axis, then starts and ends are clamped to
// [0, dim] (positive step) or [0, dim-1] and [-1, dim-1] (negative step).
// Other axes are kept whole. Resolve computes the effective start, step and
// count per axis; exec should use it. A dynamic dimension 0 cannot be sliced.
type Slice struct {
	Axes, Starts, Ends, Steps []int
}

func (*Slice) Kind() string { return "Slice" }

// SliceAxis is the effective slice of one axis: Count elements from Start
// by Step.
type SliceAxis struct{ Start, Step, Count int }

// Resolve returns, for every axis of an input of shape s, the elements the
// slice takes (whole axes: Start 0, Step 1, Count dim).
func (o *Slice) Resolve(s Shape) ([]SliceAxis, error) {
	n := len(o.Axes)
	if len(o.Starts) != n || len(o.Ends) != n || len(o.Steps) != n {
		return nil, fmt.Errorf("slice has %d axes, %d starts, %d ends and %d steps", n, len(o.Starts), len(o.Ends), len(o.Steps))
	}
	res := make([]SliceAxis, len(s))
	for i, d := range s {
		res[i] = SliceAxis{Start: 0, Step: 1, Count: d}
	}
	seen := map[int]bool{}
	for i, ax := range o.Axes {
		if ax < 0 || ax >= len(s) || seen[ax] {
			return nil, fmt.Errorf("bad slice axes %v for rank %d", o.Axes, len(s))
		}
		seen[ax] = true
		d := s[ax]
		if d < 0 && ax == 0 {
			return nil, fmt.Errorf("cannot slice the dynamic batch axis")
		}
		st, en, step := o.Starts[i], o.Ends[i], o.Steps[i]
		if step == 0 {
			return nil, fmt.Errorf("slice step is 0")
		}
		if d < 0 {
			// An unknown dimension: the count is known once it is
			// (exec compiles per input shape).
			res[ax] = SliceAxis{Start: st, Step: step, Count: -1}
			continue
		}
		if st < 0 {
			st += d
		}
		if en < 0 {
			en += d
		}
		var count int
		if step > 0 {
			st = min(max(st, 0), d)
			en = min(max(en, 0), d)
			count = max(0, (en-st+step-1)/step)
		} else {
			st = min(max(st, 0), d-1)
			en = min(max(en, -1), d-1)
			count = max(0, (st-en-step-1)/(-step))
		}
		res[ax] = SliceAxis{Start: st, Step: step, Count: count}
	}
	return res, nil
}

func (o *Slice) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	res, err := o.Resolve(in[0].Shape)
	if err != nil {
		return TensorType{}, err
	}
	out := make(Shape, len(res))
	for i, r := range res {
		out[i] = r.Count
		if r.Count == 0 {
			return TensorType{}, fmt.Errorf("slice of %v is empty on axis %d", in[0].Shape, i)
		}
	}
	return TensorType{Shape: out, Layout: in[0].Layout}, nil
}
func (*Slice) Weights([]TensorType) []WeightSpec { return nil }

// Gather takes the slices Indices (non-negative, each < the axis size) of
// axis Axis: out[i..., j..., k...] = in[i..., Indices[j...], k...], where the
// indices form a tensor of shape IndicesShape (rank 0: one index, and the
// axis disappears). A dynamic dimension 0 cannot be gathered.
type Gather struct {
	Axis         int
	Indices      []int
	IndicesShape Shape
}

func (*Gather) Kind() string { return "Gather" }
func (o *Gather) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	s := in[0].Shape
	if o.Axis < 0 || o.Axis >= len(s) {
		return TensorType{}, fmt.Errorf("gather axis %d out of range for %v", o.Axis, s)
	}
	if s[o.Axis] < 0 {
		return TensorType{}, fmt.Errorf("cannot gather on the dynamic batch axis")
	}
	if int64(len(o.Indices)) != staticElems(o.IndicesShape) {
		return TensorType{}, fmt.Errorf("%d indices for shape %v", len(o.Indices), o.IndicesShape)
	}
	for _, i := range o.Indices {
		if i < 0 || i >= s[o.Axis] {
			return TensorType{}, fmt.Errorf("index %d out of range for axis %d of %v", i, o.Axis, s)
		}
	}
	out := append(append(s[:o.Axis:o.Axis].Clone(), o.IndicesShape...), s[o.Axis+1:]...)
	if len(out) == 0 {
		return TensorType{}, fmt.Errorf("gather gives a scalar")
	}
	for _, d := range out {
		if d == 0 {
			return TensorType{}, fmt.Errorf("gather gives an empty tensor %v", out)
		}
	}
	l := LayoutNone
	if len(out) == len(s) {
		l = in[0].Layout
	}
	return TensorType{Shape: out, Layout: l}, nil
}
func (*Gather) Weights([]TensorType) []WeightSpec { return nil }

// ReduceMean averages over Axes (non-negative, distinct), keeping them as
// size 1 when KeepDims and removing them otherwise. A dynamic dimension 0
// cannot be reduced. (ReduceMean over the spatial axes of a rank-4 tensor is
// imported as GlobalPool2D instead.)
type ReduceMean struct {
	Axes     []int
	KeepDims bool
}

func (*ReduceMean) Kind() string { return "ReduceMean" }
func (o *ReduceMean) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	s := in[0].Shape
	red := make([]bool, len(s))
	for _, a := range o.Axes {
		if a < 0 || a >= len(s) || red[a] {
			return TensorType{}, fmt.Errorf("bad reduction axes %v for rank %d", o.Axes, len(s))
		}
		if s[a] < 0 && a == 0 {
			return TensorType{}, fmt.Errorf("cannot reduce the dynamic batch axis")
		}
		red[a] = true
	}
	if len(o.Axes) == 0 {
		return TensorType{}, fmt.Errorf("no reduction axes")
	}
	var out Shape
	for i, d := range s {
		switch {
		case !red[i]:
			out = append(out, d)
		case o.KeepDims:
			out = append(out, 1)
		}
	}
	if len(out) == 0 {
		return TensorType{}, fmt.Errorf("reduction gives a scalar")
	}
	l := LayoutNone
	if len(out) == len(s) {
		l = in[0].Layout
	}
	return TensorType{Shape: out, Layout: l}, nil
}
func (*ReduceMean) Weights([]TensorType) []WeightSpec { return nil }

// LRN is local response normalization across channels (axis 1, NCHW and
// its 3-D/5-D kin), as ONNX defines it:
//
//	sq[n,c,…] = Σ x[n,i,…]² for i in [c-⌊(Size-1)/2⌋, c+⌈(Size-1)/2⌉] ∩ [0, C)
//	y = x / (Bias + Alpha/Size · sq)^Beta
type LRN struct {
	Size              int
	Alpha, Beta, Bias float64
}

func (*LRN) Kind() string { return "LRN" }
func (o *LRN) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if o.Size < 1 {
		return TensorType{}, fmt.Errorf("LRN size must be positive, got %d", o.Size)
	}
	if len(in[0].Shape) < 3 {
		return TensorType{}, fmt.Errorf("LRN needs a rank >= 3 input, got %v", in[0].Shape)
	}
	return in[0], nil
}
func (*LRN) Weights([]TensorType) []WeightSpec { return nil }

// Clip limits values to [Min, Max]: y = min(max(x, Min), Max), so Max wins
// when Min > Max. Either bound may be infinite. (Clips that are ReLU
// variants are imported as Activation.)
type Clip struct{ Min, Max float64 }

func (*Clip) Kind() string { return "Clip" }
func (o *Clip) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 1); err != nil {
		return TensorType{}, err
	}
	if math.IsNaN(o.Min) || math.IsNaN(o.Max) {
		return TensorType{}, fmt.Errorf("clip bounds are NaN")
	}
	return in[0], nil
}
func (*Clip) Weights([]TensorType) []WeightSpec { return nil }

// Gemm is ONNX's general matrix product on rank-2 inputs A, B and an
// optional C: Y = Alpha·A'·B' + Beta·C, where A' is A (M,K), or Aᵀ when
// TransA (A is then (K,M)); B' likewise (K,N); C broadcasts to (M,N). Any
// input may be a Constant node. (A Gemm with a constant B is imported as
// Dense.) A's dynamic dimension 0 can only be M.
type Gemm struct {
	TransA, TransB bool
	Alpha, Beta    float64
}

func (*Gemm) Kind() string { return "Gemm" }
func (o *Gemm) Infer(in []TensorType) (TensorType, error) {
	if len(in) != 2 && len(in) != 3 {
		return TensorType{}, fmt.Errorf("expected 2 or 3 inputs, got %d", len(in))
	}
	a, b := in[0].Shape, in[1].Shape
	if len(a) != 2 || len(b) != 2 {
		return TensorType{}, fmt.Errorf("gemm needs rank-2 A and B, got %v and %v", a, b)
	}
	m, k := a[0], a[1]
	if o.TransA {
		m, k = a[1], a[0]
	}
	k2, n := b[0], b[1]
	if o.TransB {
		k2, n = b[1], b[0]
	}
	if k < 0 || k2 < 0 || n < 0 {
		return TensorType{}, fmt.Errorf("gemm cannot reduce over or produce the dynamic batch axis (A %v, B %v)", a, b)
	}
	if k != k2 {
		return TensorType{}, fmt.Errorf("gemm inner sizes differ: A %v, B %v", a, b)
	}
	out := Shape{m, n}
	if len(in) == 3 {
		s, err := BroadcastStrict(out, in[2].Shape)
		if err != nil || !s.Equal(out) {
			return TensorType{}, fmt.Errorf("C %v does not broadcast to %v", in[2].Shape, out)
		}
	}
	return TensorType{Shape: out}, nil
}
func (*Gemm) Weights([]TensorType) []WeightSpec { return nil }

// MatMul is numpy's matmul of two inputs (either may be a Constant node):
// rank-1 operands are promoted to matrices (a row for A, a column for B) and
// the added axis removed from the result; leading (batch) axes broadcast.
// (A MatMul with a constant rank-2 B is imported as Dense.)
type MatMul struct{}

func (*MatMul) Kind() string { return "MatMul" }
func (o *MatMul) Infer(in []TensorType) (TensorType, error) {
	if err := checkInputs(in, 2); err != nil {
		return TensorType{}, err
	}
	a, b := in[0].Shape, in[1].Shape
	if len(a) == 0 || len(b) == 0 {
		return TensorType{}, fmt.Errorf("matmul of a scalar")
	}
	ra, rb := len(a), len(b)
	if ra == 1 {
		a = Shape{1, a[0]}
	}
	if rb == 1 {
		b = Shape{b[0], 1}
	}
	k, k2 := a[len(a)-1], b[len(b)-2]
	if k < 0 || k2 < 0 || b[len(b)-1] < 0 {
		return TensorType{}, fmt.Errorf("matmul cannot reduce over the dynamic batch axis (%v × %v)", in[0].Shape, in[1].Shape)
	}
	if k != k2 {
		return TensorType{}, fmt.Errorf("matmul inner sizes differ: %v × %v", in[0].Shape, in[1].Shape)
	}
	batch, err := BroadcastStrict(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return TensorType{}, err
	}
	out := batch.Clone()
	if ra > 1 {
		out = append(out, a[len(a)-2])
	}
	if rb > 1 {
		out = append(out, b[len(b)-1])
	}
	if len(out) == 0 {
		return TensorType{}, fmt.Errorf("matmul of two vectors gives a scalar")
	}
	for i, d := range out {
		if d < 0 && i != 0 {
			return TensorType{}, fmt.Errorf("matmul moves the dynamic batch axis (%v × %v)", in[0].Shape, in[1].Shape)
		}
	}
	return TensorType{Shape: out}, nil
}
func (*MatMul) Weights([]TensorType) []WeightSpec { return nil }
