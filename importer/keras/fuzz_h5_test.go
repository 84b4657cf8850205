package keras

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/internal/h5"
)

// FuzzLoadH5Attrs writes an HDF5 Keras file whose attributes (model_config,
// keras_version, backend, layer_names and weight_names) come from the
// fuzzer, then loads it and reads its weights: the HDF5 attribute and
// config readers must return a model or an error, never panic, and the
// error must name the file.
func FuzzLoadH5Attrs(f *testing.F) {
	cfg, err := os.ReadFile("testdata/cifar_small.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cfg, "2.4.0", "tensorflow", "conv2d\x00dense", "conv2d/kernel:0")
	f.Add([]byte(`{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [null, 3]}}]}`), "1.2.2", "theano", "d", "d_W\x00d_b")
	f.Fuzz(func(t *testing.T, config []byte, version, backend, layers, weights string) {
		p := filepath.Join(t.TempDir(), "fuzz.h5")
		w, err := h5.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		root := w.Root()
		root.SetAttrString("model_config", string(config))
		root.SetAttrString("keras_version", version)
		root.SetAttrString("backend", backend)
		if mw, err := root.CreateGroup("model_weights"); err == nil {
			names := strings.Split(layers, "\x00")
			mw.SetAttrStringsFixed("layer_names", names)
			for _, n := range names {
				if n == "" || strings.ContainsAny(n, "/.") {
					continue
				}
				if g, err := mw.CreateGroup(n); err == nil {
					wn := strings.Split(weights, "\x00")
					g.SetAttrStringsVlen("weight_names", wn)
					for _, x := range wn {
						if x != "" && !strings.HasPrefix(x, "/") && !strings.Contains(x, "..") {
							g.WriteFloat32(x, []int{2}, []float32{1, 2})
						}
					}
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Skip(err)
		}
		m, err := Load(p, Options{})
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.h5") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if m == nil {
			t.Fatal("no model and no error")
		}
		m.LoadWeights()
	})
}
