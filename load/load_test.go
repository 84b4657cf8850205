package load

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	kexport "github.com/kconv/kconv/exporter/keras"
	"github.com/kconv/kconv/importer/keras"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// TestIdentifiedFile writes keras.applications' MobileNet without top as
// its weight file is laid out (13 MB) and loads it without an
// architecture: it must be identified, name itself, carry its
// preprocessing and read back exactly the weights written.
func TestIdentifiedFile(t *testing.T) {
	src, err := zoo.Lookup("mobilenet_notop")
	if err != nil {
		t.Fatal(err)
	}
	zoo.LazyRandomWeights(src, 3)
	path := filepath.Join(t.TempDir(), "mobilenet_1_0_224_tf_no_top.h5")
	if err := kexport.WriteKeras2Weights(src, path, kexport.Keras2WeightsOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := Model(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "builtin mobilenet_notop (keras.applications MobileNet, include_top=False, matched 54/54 weighted layers)"; m.Meta.Arch != want {
		t.Errorf("Meta.Arch = %q, want %q", m.Meta.Arch, want)
	}
	if m.Meta.Preprocess != "tf" {
		t.Errorf("Meta.Preprocess = %q", m.Meta.Preprocess)
	}
	if tr, nt := m.Params(); tr+nt != 3228864 {
		t.Errorf("%d params", tr+nt)
	}
	for _, name := range []string{"conv1", "conv_dw_7", "conv_pw_13_bn"} {
		a, b := src.Node(name), m.Node(name)
		for i := range a.Weights {
			wa, err := a.Weights[i].Data()
			if err != nil {
				t.Fatal(err)
			}
			wb, err := b.Weights[i].Data()
			if err != nil {
				t.Fatal(err)
			}
			if len(wa) != len(wb) || !b.Weights[i].Shape.Equal(a.Weights[i].Shape) {
				t.Fatalf("%s weight %d: shape %v, want %v", name, i, b.Weights[i].Shape, a.Weights[i].Shape)
			}
			for k := range wa {
				if wa[k] != wb[k] {
					t.Fatalf("%s weight %d value %d: %v, want %v", name, i, k, wb[k], wa[k])
				}
			}
		}
	}
	// --arch overrides: no identification.
	m, err = Model(path, Options{Arch: "mobilenet_notop"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Arch != "" || m.Meta.Preprocess != "tf" {
		t.Errorf("with Arch: Meta %+v", m.Meta)
	}
}

// TestUnidentifiedFile: a weights-only file matching no builtin is a one-line
// error naming the file and the nearest candidates.
func TestUnidentifiedFile(t *testing.T) {
	b := ir.NewBuilder("tiny")
	b.Input("input_1", ir.Shape{8}, ir.LayoutNone)
	b.Add("dense_1", &ir.Dense{Units: 4, UseBias: true})
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 1)
	path := filepath.Join(t.TempDir(), "tiny.h5")
	if err := kexport.WriteKeras2Weights(m, path, kexport.Keras2WeightsOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = Model(path, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), path+": weights-only file: its 1 weighted layers match no builtin") ||
		!strings.Contains(err.Error(), "nearest: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error: %v", err)
	}
}

// TestIdentifyOptions: files in Theano ordering are read with their kernels
// flipped unless the user says otherwise; TensorFlow ordering keeps the
// user's choice.
func TestIdentifyOptions(t *testing.T) {
	for _, c := range []struct {
		builtin, flip, wantArch, wantFlip string
	}{
		{"vgg16", "", "vgg16", "on"},
		{"vgg16", "auto", "vgg16", "on"},
		{"vgg16", "off", "vgg16", "off"},
		{"vgg16_keras_notop_th", "", "vgg16_keras_notop_th", "on"},
		{"vgg19_th", "", "vgg19_th", "on"},
		{"resnet50", "", "resnet50", ""},
		{"xception_notop", "auto", "xception_notop", "auto"},
	} {
		m, err := zoo.Lookup(c.builtin)
		if err != nil {
			t.Fatal(err)
		}
		var layers []keras.StoredLayer
		for _, l := range zoo.Layout(m) {
			layers = append(layers, keras.StoredLayer{Name: l.Name, Shapes: l.Shapes})
		}
		kopt := keras.Options{TheanoFlip: c.flip}
		if _, err := identify(&keras.StoredLayout{Layers: layers}, &kopt); err != nil {
			t.Errorf("%s: %v", c.builtin, err)
			continue
		}
		if kopt.Arch != c.wantArch || kopt.TheanoFlip != c.wantFlip {
			t.Errorf("%s flip %q: arch %q flip %q, want %q %q", c.builtin, c.flip, kopt.Arch, kopt.TheanoFlip, c.wantArch, c.wantFlip)
		}
	}
}

// TestIdentifyFittedArch: a fine-tuned classifier loads with its own class
// count through the options identify sets.
func TestIdentifyFittedArch(t *testing.T) {
	a, _ := zoo.LookupApp("resnet50")
	m, err := a.Build(zoo.AppConfig{IncludeTop: true, Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	var layers []keras.StoredLayer
	for _, l := range zoo.Layout(m) {
		layers = append(layers, keras.StoredLayer{Name: l.Name, Shapes: l.Shapes})
	}
	var kopt keras.Options
	mt, err := identify(&keras.StoredLayout{Layers: layers}, &kopt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := kopt.ArchBuiltin(kopt.Arch)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Node(b.Outputs[0]).Out.Shape.String(); got != "(None, 10)" || !strings.Contains(mt.String(), "classes=10") {
		t.Errorf("output %s, match %s", got, mt)
	}
}

// TestIdentifiedKeras3File: a Keras 3 .weights.h5 (layers/<key>/vars/<i>)
// of a builtin is identified by its keys and reads back its weights.
func TestIdentifiedKeras3File(t *testing.T) {
	src, err := zoo.Lookup("mobilenet_v2_notop")
	if err != nil {
		t.Fatal(err)
	}
	zoo.LazyRandomWeights(src, 4)
	path := filepath.Join(t.TempDir(), "m.weights.h5")
	f, err := h5.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := keras.Keras3Keys(src)
	for _, n := range src.Nodes {
		if _, ok := n.Op.(*ir.Input); ok {
			continue
		}
		g, err := f.Root().CreateGroup("layers/" + keys[n.Name] + "/vars")
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range n.Weights {
			d, err := w.Data()
			if err != nil {
				t.Fatal(err)
			}
			if err := g.WriteFloat32(fmt.Sprint(i), w.Shape, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Model(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Meta.Arch, "builtin mobilenet_v2_notop (") {
		t.Errorf("Meta.Arch %q", m.Meta.Arch)
	}
	for _, name := range []string{"Conv1", "block_16_project_BN"} {
		want, _ := src.Node(name).Weights[0].Data()
		got, err := m.Node(name).Weights[0].Data()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s value %d: %v, want %v", name, i, got[i], want[i])
			}
		}
	}
}
