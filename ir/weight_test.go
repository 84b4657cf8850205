package ir

import (
	"errors"
	"slices"
	"testing"
)

// TestWeightReadInto checks that ReadInto copies resident values, reads a
// lazy weight's source without keeping the values, and refuses a buffer of
// the wrong length.
func TestWeightReadInto(t *testing.T) {
	reads := 0
	w := NewWeight("kernel", Shape{2, 2}, Float32, "test", SourceFunc(func(dst []float32) error {
		reads++
		copy(dst, []float32{1, 2, 3, 4})
		return nil
	}))
	dst := make([]float32, 4)
	if err := w.ReadInto(dst); err != nil || !slices.Equal(dst, []float32{1, 2, 3, 4}) || reads != 1 {
		t.Fatalf("ReadInto = %v, %v after %d reads; want [1 2 3 4] after 1", dst, err, reads)
	}
	if w.data != nil {
		t.Fatalf("ReadInto kept the values")
	}
	d, err := w.Data()
	if err != nil || reads != 2 {
		t.Fatalf("Data: %v after %d reads", err, reads)
	}
	d[0] = 9 // ReadInto now copies what is in memory
	if err := w.ReadInto(dst); err != nil || dst[0] != 9 || reads != 2 {
		t.Fatalf("ReadInto of a resident weight = %v, %v after %d reads", dst, err, reads)
	}
	if err := w.ReadInto(make([]float32, 3)); err == nil {
		t.Fatalf("ReadInto of 3 values for shape [2 2]: no error")
	}
	bad := errors.New("disk on fire")
	wb := NewWeight("kernel", Shape{1}, Float32, "test", SourceFunc(func([]float32) error { return bad }))
	if err := wb.ReadInto(make([]float32, 1)); !errors.Is(err, bad) {
		t.Fatalf("ReadInto error = %v, want %v", err, bad)
	}
	if err := ConstWeight("c", Shape{2}, nil).ReadInto(make([]float32, 2)); err == nil {
		t.Fatalf("ReadInto of a weight without data: no error")
	}
}
