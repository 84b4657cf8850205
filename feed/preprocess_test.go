package feed

import (
	"math"
	"testing"
)

// TestPreprocessing checks each mode against values computed by hand from
// keras.applications' preprocess_input formulas for the pixel
// (R, G, B) = (255, 128, 0).
func TestPreprocessing(t *testing.T) {
	px := []float32{255, 128, 0}
	for _, c := range []struct {
		mode string
		want [3]float64 // in the model's channel order
	}{
		{"none", [3]float64{255, 128, 0}},
		{"caffe", [3]float64{0 - 103.939, 128 - 116.779, 255 - 123.68}},
		{"tf", [3]float64{1, 128/127.5 - 1, -1}},
		{"torch", [3]float64{(1 - 0.485) / 0.229, (128.0/255 - 0.456) / 0.224, (0 - 0.406) / 0.225}},
	} {
		n, err := Preprocessing(c.mode)
		if err != nil {
			t.Fatal(err)
		}
		for _, cf := range []bool{false, true} {
			dst := make([]float32, 3)
			n.Apply(px, dst, cf)
			for i := range dst {
				if math.Abs(float64(dst[i])-c.want[i]) > 1e-5 {
					t.Errorf("%s: channel %d = %v, want %v", c.mode, i, dst[i], c.want[i])
				}
			}
		}
	}
	// Layouts: two pixels, channels first vs last.
	n, _ := Preprocessing("none")
	two := []float32{1, 2, 3, 4, 5, 6}
	cl, cf := make([]float32, 6), make([]float32, 6)
	n.Apply(two, cl, false)
	n.Apply(two, cf, true)
	for i, w := range []float32{1, 2, 3, 4, 5, 6} {
		if cl[i] != w {
			t.Errorf("channels last %v", cl)
		}
	}
	for i, w := range []float32{1, 4, 2, 5, 3, 6} {
		if cf[i] != w {
			t.Errorf("channels first %v", cf)
		}
	}
	if _, err := Preprocessing("inception"); err == nil {
		t.Error("unknown mode accepted")
	}
}
