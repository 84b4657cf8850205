package onnx_test

import (
	"math"
	"testing"

	onnxexport "github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// generalOps chains the general (ONNX-only) ops of ir/ops_onnx.go on a
// dynamic batch: Slice (backwards with INT64_MIN, strided), LRN, Pad in
// every mode (negative amounts crop), Clip with one bound, Binary with a
// Constant, ReduceMean, MatMul, Gather (rank-1 and rank-0 indices),
// Transpose and Gemm.
func generalOps(t testing.TB) *ir.Model {
	t.Helper()
	const df = ir.ChannelsFirst
	b := ir.NewBuilder("general_ops")
	x := b.Input("x", ir.Shape{3, 6, 5}, df)
	rev := b.Add("reverse", &ir.Slice{Axes: []int{1}, Starts: []int{-1}, Ends: []int{math.MinInt32}, Steps: []int{-1}}, x)
	lrn := b.Add("lrn", &ir.LRN{Size: 3, Alpha: 0.3, Beta: 0.75, Bias: 1}, rev)
	pr := b.Add("pad_reflect", &ir.Pad{Pads: []int{0, 0, 1, 2, 0, 0, 2, 1}, Mode: "reflect"}, lrn)
	pe := b.Add("pad_edge", &ir.Pad{Pads: []int{0, 0, -1, 1, 0, 0, 1, -2}, Mode: "edge"}, pr)
	pc := b.Add("pad_constant", &ir.Pad{Pads: []int{0, 1, 0, 0, 0, 0, 1, 1}, Mode: "constant", Value: 0.5}, pe)
	sl := b.Add("strided", &ir.Slice{Axes: []int{3, 2}, Starts: []int{5, 1}, Ends: []int{0, 100}, Steps: []int{-2, 3}}, pc)
	cl := b.Add("clip", &ir.Clip{Min: math.Inf(-1), Max: 0.3}, sl)
	k := b.Add("k", &ir.Constant{Shape: ir.Shape{4, 1, 1}}, x)
	mx := b.Add("max", &ir.Binary{Op: ir.BinaryMax}, cl, k)
	w := b.Add("w", &ir.Constant{Shape: ir.Shape{3, 4}}, x)
	mm := b.Add("matmul", &ir.MatMul{}, mx, w)
	g := b.Add("gather", &ir.Gather{Axis: 2, Indices: []int{2, 0}, IndicesShape: ir.Shape{2}}, mm)
	g0 := b.Add("gather0", &ir.Gather{Axis: 1, Indices: []int{3}, IndicesShape: ir.Shape{}}, g)
	tr := b.Add("transpose", &ir.Transpose{Perm: []int{0, 2, 1}}, g0)
	rm := b.Add("mean", &ir.ReduceMean{Axes: []int{2}, KeepDims: false}, tr)
	bw := b.Add("gemm_b", &ir.Constant{Shape: ir.Shape{5, 4}}, x)
	bc := b.Add("gemm_c", &ir.Constant{Shape: ir.Shape{5}}, x)
	b.Add("gemm", &ir.Gemm{TransB: true, Alpha: 0.5, Beta: 2}, rm, bw, bc)
	return built(t, b, 4)
}

// staticOps is a model with a static batch (as ONNX files often have):
// ReshapeTo and Concat on axis 0, with a Constant.
func staticOps(t testing.TB) *ir.Model {
	t.Helper()
	m := &ir.Model{Name: "static_ops", Inputs: []string{"x"}, Outputs: []string{"out"}, Nodes: []*ir.Node{
		{Name: "x", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{2, 3, 4}}}},
		{Name: "flat", Op: &ir.ReshapeTo{Shape: ir.Shape{4, 6}}, Inputs: []string{"x"}},
		{Name: "rows", Op: &ir.Constant{Shape: ir.Shape{2, 6}}, Inputs: []string{"x"}},
		{Name: "cat", Op: &ir.Concat{Axis: 0}, Inputs: []string{"flat", "rows"}},
		{Name: "a", Op: &ir.Constant{Shape: ir.Shape{6, 2}}, Inputs: []string{"x"}},
		{Name: "gemm_ta", Op: &ir.Gemm{TransA: true, Alpha: 1, Beta: 1}, Inputs: []string{"cat", "a"}},
		{Name: "sub", Op: &ir.Binary{Op: ir.BinarySub}, Inputs: []string{"a", "gemm_ta"}},
		{Name: "out", Op: &ir.Binary{Op: ir.BinaryDiv}, Inputs: []string{"sub", "a"}},
	}}
	if err := ir.Prepare(m); err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 6)
	return m
}

// TestGeneralOps exports the ONNX-only ops; ONNX Runtime and kconv's
// re-import must compute what kconv computes.
func TestGeneralOps(t *testing.T) {
	m := generalOps(t)
	for _, opset := range []int{11, 13, 18} {
		t.Run("opset"+itoa(opset), func(t *testing.T) { check(t, m, onnxexport.Options{Opset: opset}, 2) })
	}
	t.Run("static", func(t *testing.T) { check(t, staticOps(t), onnxexport.Options{}, 2) })
}

// TestReluForms: every Keras relu (slope, maximum, threshold) is written
// with ops that ONNX Runtime runs and kconv's importer reads back.
func TestReluForms(t *testing.T) {
	b := ir.NewBuilder("relus")
	x := b.Input("in", ir.Shape{64}, ir.LayoutNone)
	acts := []ir.Act{
		{Name: "relu"}, {Name: "relu", HasMax: true, MaxValue: 0.5}, {Name: "relu", Alpha: 0.1},
		{Name: "relu", Threshold: 0.2}, {Name: "relu", Threshold: -0.2},
		{Name: "relu", Threshold: 0.1, HasMax: true, MaxValue: 0.6}, {Name: "relu", Threshold: -0.3, HasMax: true, MaxValue: 0.4},
		{Name: "relu", Alpha: 0.2, Threshold: 0.1, HasMax: true, MaxValue: 0.6}, {Name: "relu", Alpha: 0.3, Threshold: -0.25},
		{Name: "relu", Alpha: 0.15, HasMax: true, MaxValue: 0.7},
	}
	var outs []string
	for i, a := range acts {
		outs = append(outs, b.Add("relu_"+itoa(i), &ir.Activation{Act: a}, x))
	}
	b.Add("cat", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, outs...)
	m := built(t, b, 1)
	path := export(t, m, onnxexport.Options{})
	xin := randomInput(m, 3, 2, -1, 1)
	want := runKconv(t, m, xin)
	compare(t, "ONNX Runtime output", runORT(t, path, xin), want)
	compare(t, "re-imported output", reimport(t, path, xin), want)
}
