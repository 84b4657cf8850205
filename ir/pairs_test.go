package ir

import (
	"reflect"
	"testing"
)

func TestPermuteTransposeAreOneConversion(t *testing.T) {
	p := &Permute{Dims: []int{3, 1, 2}}
	if got := p.Perm(); !reflect.DeepEqual(got, []int{0, 3, 1, 2}) {
		t.Fatalf("Perm = %v", got)
	}
	back, ok := (&Transpose{Perm: p.Perm()}).AsPermute()
	if !ok || !reflect.DeepEqual(back, p) {
		t.Fatalf("AsPermute(Perm) = %v, %v", back, ok)
	}
	if _, ok := (&Transpose{Perm: []int{1, 0, 2}}).AsPermute(); ok {
		t.Fatal("a Transpose moving the batch axis became a Permute")
	}
	// Both state the same output type.
	in := []TensorType{{Shape: Shape{-1, 2, 3, 4}}}
	a, err1 := p.Infer(in)
	b, err2 := (&Transpose{Perm: p.Perm()}).Infer(in)
	if err1 != nil || err2 != nil || !a.Shape.Equal(b.Shape) {
		t.Fatalf("Permute gives %v (%v), Transpose %v (%v)", a.Shape, err1, b.Shape, err2)
	}
}

func TestReshapeToAsReshape(t *testing.T) {
	r, ok := (&ReshapeTo{Shape: Shape{2, 3, 4}}).AsReshape(Shape{2, 12})
	if !ok || !r.Target.Equal(Shape{3, 4}) {
		t.Fatalf("AsReshape = %v, %v", r, ok)
	}
	if _, ok := (&ReshapeTo{Shape: Shape{4, 6}}).AsReshape(Shape{2, 12}); ok {
		t.Fatal("a reshape changing dimension 0 became a Reshape")
	}
}

func TestZeroPaddingOf(t *testing.T) {
	nchw := TensorType{Shape: Shape{1, 3, 5, 5}, Layout: ChannelsFirst}
	nhwc := TensorType{Shape: Shape{1, 5, 5, 3}, Layout: ChannelsLast}
	for _, c := range []struct {
		pads  []int
		mode  string
		value float64
		t     TensorType
		want  *ZeroPadding2D
	}{
		{[]int{0, 0, 1, 2, 0, 0, 3, 4}, "constant", 0, nchw, &ZeroPadding2D{Pads: [4]int{1, 3, 2, 4}, DataFormat: ChannelsFirst}},
		{[]int{0, 1, 2, 0, 0, 3, 4, 0}, "constant", 0, nhwc, &ZeroPadding2D{Pads: [4]int{1, 3, 2, 4}, DataFormat: ChannelsLast}},
		{[]int{0, 1, 1, 1, 0, 1, 1, 1}, "constant", 0, nchw, nil}, // pads channels
		{[]int{0, 0, 1, 1, 0, 0, 1, 1}, "reflect", 0, nchw, nil},
		{[]int{0, 0, 1, 1, 0, 0, 1, 1}, "constant", 1, nchw, nil},
		{[]int{0, 0, -1, 1, 0, 0, 1, 1}, "constant", 0, nchw, nil},
		{[]int{0, 1, 0, 1}, "constant", 0, TensorType{Shape: Shape{1, 3}}, nil},
	} {
		got, ok := ZeroPaddingOf(c.pads, c.mode, c.value, c.t)
		if ok != (c.want != nil) || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("ZeroPaddingOf(%v, %s, %g, %v) = %v, %v; want %v", c.pads, c.mode, c.value, c.t.Layout, got, ok, c.want)
		}
	}
}

func TestBinaryMergeMode(t *testing.T) {
	for b := BinaryAdd; b <= BinaryPow; b++ {
		m, ok := b.MergeMode()
		if !ok {
			if b != BinaryDiv && b != BinaryPow {
				t.Errorf("Binary %s has no merge mode", b)
			}
			continue
		}
		// Binary's and Merge's output types agree (exec's tests compare values).
		in := []TensorType{{Shape: Shape{-1, 3}}, {Shape: Shape{-1, 3}}}
		x, err1 := (&Binary{Op: b}).Infer(in)
		y, err2 := (&Merge{Mode: m}).Infer(in)
		if err1 != nil || err2 != nil || !x.Shape.Equal(y.Shape) {
			t.Errorf("Binary %s gives %v (%v), Merge %s %v (%v)", b, x.Shape, err1, (&Merge{Mode: m}).Kind(), y.Shape, err2)
		}
	}
}

func TestMergeModeOf(t *testing.T) {
	for m := MergeAdd; m <= MergeConcat; m++ {
		k := (&Merge{Mode: m}).Kind()
		if got, ok := MergeModeOf(k); !ok || got != m {
			t.Errorf("MergeModeOf(%s) = %v, %v; want %v", k, got, ok, m)
		}
	}
	if _, ok := MergeModeOf("Merge"); ok {
		t.Error("Keras 1's Merge class has no one mode")
	}
}

// GemmKernelRows gives kernel[i][j] = alpha·B[i][j] (or alpha·B[j][i]
// with transB), whether B comes whole or a few rows at a time.
func TestGemmKernelRows(t *testing.T) {
	const k, n = 3, 4
	for _, transB := range []bool{false, true} {
		rowsB, rowLen := k, n
		if transB {
			rowsB, rowLen = n, k
		}
		b := make([]float32, k*n)
		for i := range b {
			b[i] = float32(i + 1)
		}
		want := make([]float32, k*n)
		for i := 0; i < k; i++ {
			for j := 0; j < n; j++ {
				v := b[i*n+j]
				if transB {
					v = b[j*k+i]
				}
				want[i*n+j] = 0.5 * v
			}
		}
		whole := make([]float32, k*n)
		GemmKernelRows(b, 0, k, n, 0.5, transB, whole)
		chunked := make([]float32, k*n)
		for r := 0; r < rowsB; r += 2 {
			end := min(r+2, rowsB)
			GemmKernelRows(b[r*rowLen:end*rowLen], r, k, n, 0.5, transB, chunked)
		}
		if !reflect.DeepEqual(whole, want) || !reflect.DeepEqual(chunked, want) {
			t.Errorf("transB %v: whole %v, chunked %v, want %v", transB, whole, chunked, want)
		}
	}
	bias := make([]float32, 3)
	GemmBias(bias, 2, []float32{1.5})
	if !reflect.DeepEqual(bias, []float32{3, 3, 3}) {
		t.Errorf("GemmBias broadcast = %v", bias)
	}
}
