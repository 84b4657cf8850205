package keras

import (
	"fmt"
	"testing"
)

func TestWeightsOnlyLayout(t *testing.T) {
	layers, ok, err := WeightsOnlyLayout("testdata/cifar_small.weights-legacy.h5")
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	var got string
	for _, l := range layers {
		if len(l.Shapes) > 0 {
			got += fmt.Sprintf("%s %v; ", l.Name, l.Shapes)
		}
	}
	if want := "conv2d_1 [[3 3 3 16] [16]]; conv2d_2 [[3 3 16 32] [32]]; dense_2 [[2048 64] [64]]; dense_3 [[64 10] [10]]; "; got != want {
		t.Errorf("layout %q, want %q", got, want)
	}
	for _, f := range []string{"testdata/cifar_small.h5", "testdata/cifar_small.weights.h5", "testdata/cifar_small.keras", "testdata/cifar_small.json", "testdata/nope.h5"} {
		if _, ok, err := WeightsOnlyLayout(f); ok || err != nil {
			t.Errorf("%s: ok %v err %v", f, ok, err)
		}
	}
}
