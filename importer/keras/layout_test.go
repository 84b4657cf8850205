package keras

import (
	"fmt"
	"testing"
)

func TestWeightsOnlyLayout(t *testing.T) {
	lay, err := WeightsOnlyLayout("testdata/cifar_small.weights-legacy.h5")
	if err != nil || lay == nil || lay.Keras3 {
		t.Fatalf("layout %+v err %v", lay, err)
	}
	var got string
	for _, l := range lay.Layers {
		if len(l.Shapes) > 0 {
			got += fmt.Sprintf("%s %v; ", l.Name, l.Shapes)
		}
	}
	if want := "conv2d_1 [[3 3 3 16] [16]]; conv2d_2 [[3 3 16 32] [32]]; dense_2 [[2048 64] [64]]; dense_3 [[64 10] [10]]; "; got != want {
		t.Errorf("layout %q, want %q", got, want)
	}
	lay, err = WeightsOnlyLayout("testdata/cifar_small.weights.h5")
	if err != nil || lay == nil || !lay.Keras3 {
		t.Fatalf("Keras 3: layout %+v err %v", lay, err)
	}
	got = ""
	for _, l := range lay.Layers {
		if len(l.Shapes) > 0 {
			got += fmt.Sprintf("%s %v; ", l.Name, l.Shapes)
		}
	}
	// The same layers under Keras 3's keys, which Keras3Keys gives the
	// architecture's layers.
	if want := "conv2d [[3 3 3 16] [16]]; conv2d_1 [[3 3 16 32] [32]]; dense [[2048 64] [64]]; dense_1 [[64 10] [10]]; "; got != want {
		t.Errorf("Keras 3 layout %q, want %q", got, want)
	}
	arch, err := LoadArch("testdata/cifar_small.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys := Keras3Keys(arch)
	if keys["conv2d_2"] != "conv2d_1" || keys["dense_3"] != "dense_1" {
		t.Errorf("keys %v", keys)
	}
	for _, f := range []string{"testdata/cifar_small.h5", "testdata/cifar_small.keras", "testdata/cifar_small.json", "testdata/nope.h5"} {
		if lay, err := WeightsOnlyLayout(f); lay != nil || err != nil {
			t.Errorf("%s: layout %v err %v", f, lay, err)
		}
	}
}
