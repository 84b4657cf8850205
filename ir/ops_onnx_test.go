package ir

import (
	"math"
	"reflect"
	"testing"
)

func tt(s ...int) TensorType { return TensorType{Shape: Shape(s)} }

func TestONNXOpShapes(t *testing.T) {
	nchw := TensorType{Shape: Shape{-1, 3, 8, 8}, Layout: ChannelsFirst}
	cases := []struct {
		name string
		op   Op
		in   []TensorType
		want Shape
		bad  bool
	}{
		{"constant", &Constant{Shape: Shape{1, 3, 1, 1}}, nil, Shape{1, 3, 1, 1}, false},
		{"constant ignores inputs", &Constant{Shape: Shape{2}}, []TensorType{nchw}, Shape{2}, false},
		{"constant rank 0", &Constant{Shape: Shape{}}, nil, nil, true},
		{"binary bias", &Binary{Op: BinaryAdd}, []TensorType{nchw, tt(3, 1, 1)}, Shape{-1, 3, 8, 8}, false},
		{"binary constant first", &Binary{Op: BinarySub}, []TensorType{tt(1), nchw}, Shape{-1, 3, 8, 8}, false},
		{"binary batch vs 4", &Binary{Op: BinaryMul}, []TensorType{tt(-1, 3), tt(4, 3)}, nil, true},
		{"binary mismatch", &Binary{Op: BinaryDiv}, []TensorType{tt(2, 3), tt(4)}, nil, true},
		{"transpose to nhwc", &Transpose{Perm: []int{0, 2, 3, 1}}, []TensorType{nchw}, Shape{-1, 8, 8, 3}, false},
		{"transpose moves batch", &Transpose{Perm: []int{1, 0, 2, 3}}, []TensorType{nchw}, nil, true},
		{"transpose static", &Transpose{Perm: []int{2, 0, 1}}, []TensorType{tt(2, 3, 4)}, Shape{4, 2, 3}, false},
		{"transpose bad perm", &Transpose{Perm: []int{0, 0, 1}}, []TensorType{tt(2, 3, 4)}, nil, true},
		{"reshapeto", &ReshapeTo{Shape: Shape{6, 4}}, []TensorType{tt(2, 3, 4)}, Shape{6, 4}, false},
		{"reshapeto zero", &ReshapeTo{Shape: Shape{3, 4, 0}}, []TensorType{tt(0, 3, 4)}, Shape{3, 4, 0}, false},
		{"reshapeto dynamic", &ReshapeTo{Shape: Shape{6, 4}}, []TensorType{tt(-1, 3, 4)}, nil, true},
		{"reshapeto count", &ReshapeTo{Shape: Shape{5, 4}}, []TensorType{tt(2, 3, 4)}, nil, true},
		{"concat axis 0", &Concat{Axis: 0}, []TensorType{tt(2, 3), tt(1, 3)}, Shape{3, 3}, false},
		{"concat constant", &Concat{Axis: 1}, []TensorType{tt(-1, 3), tt(-1, 2)}, Shape{-1, 5}, false},
		{"concat batch axis", &Concat{Axis: 0}, []TensorType{tt(-1, 3), tt(1, 3)}, nil, true},
		{"pad", &Pad{Pads: []int{0, 0, 1, -1, 0, 0, 2, 0}, Mode: "constant"}, []TensorType{nchw}, Shape{-1, 3, 11, 7}, false},
		{"pad batch", &Pad{Pads: []int{1, 0, 0, 0, 0, 0, 0, 0}, Mode: "constant"}, []TensorType{nchw}, nil, true},
		{"pad reflect too wide", &Pad{Pads: []int{0, 0, 8, 0, 0, 0, 0, 0}, Mode: "reflect"}, []TensorType{nchw}, nil, true},
		{"pad mode", &Pad{Pads: make([]int, 8), Mode: "wrap"}, []TensorType{nchw}, nil, true},
		{"slice reverse", &Slice{Axes: []int{1}, Starts: []int{-1}, Ends: []int{math.MinInt32}, Steps: []int{-1}}, []TensorType{nchw}, Shape{-1, 3, 8, 8}, false},
		{"slice step", &Slice{Axes: []int{2, 3}, Starts: []int{1, 0}, Ends: []int{math.MaxInt32, 5}, Steps: []int{2, 2}}, []TensorType{nchw}, Shape{-1, 3, 4, 3}, false},
		{"slice batch", &Slice{Axes: []int{0}, Starts: []int{0}, Ends: []int{1}, Steps: []int{1}}, []TensorType{nchw}, nil, true},
		{"slice empty", &Slice{Axes: []int{1}, Starts: []int{2}, Ends: []int{1}, Steps: []int{1}}, []TensorType{nchw}, nil, true},
		{"gather", &Gather{Axis: 1, Indices: []int{2, 0}, IndicesShape: Shape{2}}, []TensorType{nchw}, Shape{-1, 2, 8, 8}, false},
		{"gather scalar index", &Gather{Axis: 1, Indices: []int{2}, IndicesShape: Shape{}}, []TensorType{nchw}, Shape{-1, 8, 8}, false},
		{"gather 2-d indices", &Gather{Axis: 1, Indices: []int{0, 1}, IndicesShape: Shape{1, 2}}, []TensorType{tt(3, 3)}, Shape{3, 1, 2}, false},
		{"gather out of range", &Gather{Axis: 1, Indices: []int{3}, IndicesShape: Shape{1}}, []TensorType{nchw}, nil, true},
		{"reducemean keep", &ReduceMean{Axes: []int{1}, KeepDims: true}, []TensorType{tt(3, 2, 2)}, Shape{3, 1, 2}, false},
		{"reducemean drop", &ReduceMean{Axes: []int{2, 3}}, []TensorType{nchw}, Shape{-1, 3}, false},
		{"reducemean batch", &ReduceMean{Axes: []int{0}}, []TensorType{nchw}, nil, true},
		{"reducemean scalar", &ReduceMean{Axes: []int{0}}, []TensorType{tt(3)}, nil, true},
		{"lrn", &LRN{Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 1}, []TensorType{nchw}, Shape{-1, 3, 8, 8}, false},
		{"lrn size", &LRN{}, []TensorType{nchw}, nil, true},
		{"clip", &Clip{Min: -1, Max: math.Inf(1)}, []TensorType{nchw}, Shape{-1, 3, 8, 8}, false},
		{"clip nan", &Clip{Min: math.NaN()}, []TensorType{nchw}, nil, true},
		{"gemm", &Gemm{Alpha: 1, Beta: 1}, []TensorType{tt(-1, 4), tt(4, 5), tt(5)}, Shape{-1, 5}, false},
		{"gemm trans", &Gemm{TransA: true, TransB: true}, []TensorType{tt(4, 3), tt(5, 4), tt(3, 5)}, Shape{3, 5}, false},
		{"gemm transA batch", &Gemm{TransA: true}, []TensorType{tt(-1, 3), tt(-1, 4)}, nil, true},
		{"gemm bad C", &Gemm{}, []TensorType{tt(2, 4), tt(4, 5), tt(3)}, nil, true},
		{"matmul 3d", &MatMul{}, []TensorType{tt(2, 3, 4), tt(2, 4, 3)}, Shape{2, 3, 3}, false},
		{"matmul bcast", &MatMul{}, []TensorType{tt(3, 1, 3, 4), tt(1, 2, 4, 2)}, Shape{3, 2, 3, 2}, false},
		{"matmul 1d", &MatMul{}, []TensorType{tt(4), tt(2, 4, 1)}, Shape{2, 1}, false},
		{"matmul batch", &MatMul{}, []TensorType{tt(-1, 4), tt(4, 2)}, Shape{-1, 2}, false},
		{"matmul scalar", &MatMul{}, []TensorType{tt(3), tt(3)}, nil, true},
		{"matmul inner", &MatMul{}, []TensorType{tt(2, 3), tt(4, 2)}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.op.Infer(c.in)
			if c.bad {
				if err == nil {
					t.Fatalf("accepted: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Shape.Equal(c.want) {
				t.Errorf("shape %v, want %v", got.Shape, c.want)
			}
		})
	}
}

func TestONNXOpLayouts(t *testing.T) {
	nchw := TensorType{Shape: Shape{-1, 3, 8, 8}, Layout: ChannelsFirst}
	nhwc, _ := (&Transpose{Perm: []int{0, 2, 3, 1}}).Infer([]TensorType{nchw})
	if nhwc.Layout != ChannelsLast {
		t.Errorf("NCHW→NHWC gives %v", nhwc.Layout)
	}
	back, _ := (&Transpose{Perm: []int{0, 3, 1, 2}}).Infer([]TensorType{nhwc})
	if back.Layout != ChannelsFirst {
		t.Errorf("NHWC→NCHW gives %v", back.Layout)
	}
	b, _ := (&Binary{Op: BinaryAdd}).Infer([]TensorType{tt(3, 1, 1), nchw})
	if b.Layout != ChannelsFirst {
		t.Errorf("binary layout %v", b.Layout)
	}
}

func TestSliceResolve(t *testing.T) {
	s := &Slice{Axes: []int{0, 1}, Starts: []int{-2, 10}, Ends: []int{math.MaxInt32, -100}, Steps: []int{1, -3}}
	got, err := s.Resolve(Shape{5, 7, 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []SliceAxis{{3, 1, 2}, {6, -3, 3}, {0, 1, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestConstantInModel: a Constant node, its weight and a Binary reading it
// pass the standard pipeline.
func TestConstantInModel(t *testing.T) {
	m := &Model{
		Nodes: []*Node{
			{Name: "x", Op: &Input{Type: TensorType{Shape: Shape{-1, 3}}}},
			{Name: "k", Op: &Constant{Shape: Shape{3}}, Inputs: []string{"x"}, Weights: []*Weight{ConstWeight("value", Shape{3}, []float32{1, 2, 3})}},
			{Name: "y", Op: &Binary{Op: BinaryDiv}, Inputs: []string{"x", "k"}},
		},
		Inputs: []string{"x"}, Outputs: []string{"y"},
	}
	if err := Prepare(m); err != nil {
		t.Fatal(err)
	}
	if got := m.Node("y").Out.Shape; !got.Equal(Shape{-1, 3}) {
		t.Errorf("shape %v", got)
	}
	if tr, nt := m.Params(); tr != 0 || nt != 3 {
		t.Errorf("params %d/%d: constants are non-trainable", tr, nt)
	}
}
