package h5

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real Keras files, shared with the rest of kconv. The repository sits
// beside shared/ both here and in CI.
const (
	realDir   = "../../../shared/fixtures/keras-real"
	keras3Dir = "../../../shared/fixtures/keras3"
)

// realFiles returns the *.h5 files of dir, skipping the test if dir is
// absent.
func realFiles(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real Keras fixtures not available: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no *.h5 files in %s", dir)
	}
	return files
}

func openT(t *testing.T, path string) *File {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

// walk visits every group and dataset below g, reading every attribute and
// every dataset.
func walk(t *testing.T, g *Group, stats map[string]int) {
	t.Helper()
	names, err := g.AttrNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range names {
		if !g.HasAttr(a) {
			t.Errorf("%s: HasAttr(%q) = false for a listed attribute", g.Path(), a)
		}
		if _, err := g.AttrStrings(a); err == nil {
			stats["string attrs"]++
			continue
		}
		if _, err := g.AttrFloat64s(a); err != nil {
			t.Errorf("attribute %s@%s is neither strings nor numbers: %v", g.Path(), a, err)
		}
		stats["numeric attrs"]++
	}
	children, err := g.Children()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range children {
		switch {
		case g.IsGroup(c):
			sub, err := g.Group(c)
			if err != nil {
				t.Fatal(err)
			}
			walk(t, sub, stats)
		case g.IsDataset(c):
			d, err := g.Dataset(c)
			if err != nil {
				t.Fatal(err)
			}
			stats["datasets"]++
			switch d.Class() {
			case "float", "integer":
				buf := make([]float32, d.Len())
				if err := d.ReadFloat32(buf); err != nil {
					t.Error(err)
				}
				for _, v := range buf {
					if math.IsNaN(float64(v)) {
						t.Errorf("%s: NaN", d.Path())
						break
					}
				}
			case "string":
				if _, err := d.ReadStrings(); err != nil {
					t.Error(err)
				}
			default:
				t.Errorf("%s: unexpected class %s", d.Path(), d.Class())
			}
		default:
			t.Errorf("%s/%s: neither group nor dataset", g.Path(), c)
		}
	}
}

// TestRealWalk reads every attribute and dataset of every real file.
func TestRealWalk(t *testing.T) {
	for _, dir := range []string{realDir, keras3Dir} {
		for _, path := range realFiles(t, dir) {
			t.Run(filepath.Base(path), func(t *testing.T) {
				stats := map[string]int{}
				walk(t, openT(t, path).Root(), stats)
				if stats["datasets"] == 0 {
					t.Errorf("no datasets found")
				}
				t.Logf("%v", stats)
			})
		}
	}
}

// TestRealWeights resolves every layer's weights the way a Keras loader
// does: layer_names, then each layer's weight_names, in order.
func TestRealWeights(t *testing.T) {
	for _, dir := range []string{realDir, keras3Dir} {
		for _, path := range realFiles(t, dir) {
			if strings.HasSuffix(path, ".io.h5") {
				continue // reference inputs and outputs, not a model
			}
			t.Run(filepath.Base(path), func(t *testing.T) {
				root := openT(t, path).Root()
				wg := root
				if root.IsGroup("model_weights") {
					var err error
					if wg, err = root.Group("model_weights"); err != nil {
						t.Fatal(err)
					}
				}
				if !wg.HasAttr("layer_names") && !wg.HasAttr("layer_names0") {
					t.Skip("no layer_names (Keras 3 .weights.h5 layout)")
				}
				layers, err := wg.AttrStringsChunked("layer_names")
				if err != nil {
					t.Fatal(err)
				}
				if len(layers) == 0 {
					t.Fatal("no layers")
				}
				n := 0
				for _, l := range layers {
					lg, err := wg.Group(l)
					if err != nil {
						t.Fatal(err)
					}
					weights, err := lg.AttrStringsChunked("weight_names")
					if err != nil {
						t.Fatal(err)
					}
					for _, w := range weights {
						d, err := lg.Dataset(w)
						if err != nil {
							t.Fatal(err)
						}
						buf := make([]float32, d.Len())
						if err := d.ReadFloat32(buf); err != nil {
							t.Fatal(err)
						}
						n += len(buf)
					}
				}
				t.Logf("%d layers, %d weights", len(layers), n)
			})
		}
	}
}

// TestRealForms checks the exact values of each string-attribute form in
// known files.
func TestRealForms(t *testing.T) {
	realFiles(t, realDir)

	t.Run("k1", func(t *testing.T) {
		f := openT(t, filepath.Join(realDir, "01_k1_cnn_tf_model.h5"))
		root := f.Root()
		// Scalar variable-length ASCII strings.
		cfg, err := root.AttrString("model_config")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cfg, `{"class_name": "Sequential"`) {
			t.Errorf("model_config = %.40q...", cfg)
		}
		if v, err := root.AttrString("keras_version"); err != nil || v != "1.1.2" {
			t.Errorf("keras_version = %q, %v", v, err)
		}
		// Fixed-length [15] NUL-padded array.
		mw, err := root.Group("model_weights")
		if err != nil {
			t.Fatal(err)
		}
		layers, err := mw.AttrStrings("layer_names")
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 10 || layers[0] != "convolution2d_1" || layers[2] != "activation_1" || layers[9] != "dense_2" {
			t.Errorf("layer_names = %q", layers)
		}
		// Empty float64 array for a layer without weights.
		act, err := mw.Group("activation_1")
		if err != nil {
			t.Fatal(err)
		}
		if w, err := act.AttrStrings("weight_names"); err != nil || w == nil || len(w) != 0 {
			t.Errorf("empty weight_names = %#v, %v", w, err)
		}
		conv, err := mw.Group("convolution2d_1")
		if err != nil {
			t.Fatal(err)
		}
		w, err := conv.AttrStrings("weight_names")
		if err != nil || len(w) != 2 || w[0] != "convolution2d_1_W:0" || w[1] != "convolution2d_1_b:0" {
			t.Errorf("weight_names = %q, %v", w, err)
		}
		d, err := mw.Dataset("convolution2d_1/convolution2d_1_W:0")
		if err != nil {
			t.Fatal(err)
		}
		if s := d.Shape(); len(s) != 4 || s[0] != 3 || s[1] != 2 || s[2] != 3 || s[3] != 2 {
			t.Errorf("shape = %v", s)
		}
		if d.Class() != "float" || d.ElemSize() != 4 || d.Len() != 36 {
			t.Errorf("class %s size %d len %d", d.Class(), d.ElemSize(), d.Len())
		}
		if d.Path() != "/model_weights/convolution2d_1/convolution2d_1_W:0" {
			t.Errorf("path = %s", d.Path())
		}
	})

	t.Run("k3", func(t *testing.T) {
		f := openT(t, filepath.Join(realDir, "34_k3_mnist_cnn_350.h5"))
		root := f.Root()
		// Scalar variable-length UTF-8.
		if v, err := root.AttrString("keras_version"); err != nil || v != "3.5.0" {
			t.Errorf("keras_version = %q, %v", v, err)
		}
		if v, err := root.AttrString("backend"); err != nil || v != "tensorflow" {
			t.Errorf("backend = %q, %v", v, err)
		}
		mw, err := root.Group("model_weights")
		if err != nil {
			t.Fatal(err)
		}
		// Variable-length string arrays.
		layers, err := mw.AttrStrings("layer_names")
		want := []string{"conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dense", "dense_1"}
		if err != nil || strings.Join(layers, ",") != strings.Join(want, ",") {
			t.Errorf("layer_names = %q, %v", layers, err)
		}
		conv, err := mw.Group("conv2d")
		if err != nil {
			t.Fatal(err)
		}
		w, err := conv.AttrStrings("weight_names")
		if err != nil || len(w) != 2 || w[0] != "sequential/conv2d/kernel" {
			t.Errorf("weight_names = %q, %v", w, err)
		}
		d, err := mw.Dataset("dense_1/sequential/dense_1/bias")
		if err != nil {
			t.Fatal(err)
		}
		b := make([]float32, d.Len())
		if err := d.ReadFloat32(b); err != nil {
			t.Fatal(err)
		}
		if len(b) != 10 || math.Abs(float64(b[0])-0.0658351) > 1e-6 || math.Abs(float64(b[9])+0.00235931) > 1e-7 {
			t.Errorf("bias = %v", b)
		}
		// An int64 scalar dataset.
		it, err := root.Dataset("optimizer_weights/adam/iteration")
		if err != nil {
			t.Fatal(err)
		}
		if it.Class() != "integer" || it.ElemSize() != 8 || len(it.Shape()) != 0 || it.Len() != 1 {
			t.Errorf("iteration: class %s size %d shape %v", it.Class(), it.ElemSize(), it.Shape())
		}
		var n [1]int64
		if err := it.ReadInt64(n[:]); err != nil || n[0] != 28125 {
			t.Errorf("iteration = %d, %v", n[0], err)
		}
		var x [1]float32
		if err := it.ReadFloat32(x[:]); err != nil || x[0] != 28125 {
			t.Errorf("iteration as float32 = %v, %v", x[0], err)
		}
	})
}
