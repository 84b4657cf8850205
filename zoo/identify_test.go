package zoo

import (
	"strings"
	"testing"
)

// TestIdentifyEveryBuiltin identifies the stored layout of every builtin
// variant (TensorFlow and Theano ordering, with and without top), also
// with Keras 2's "/" names and with foreign names (paired by position).
func TestIdentifyEveryBuiltin(t *testing.T) {
	cands := candidates()
	for i, c := range candidates() {
		m, err := c.build()
		if err != nil {
			t.Fatal(err)
		}
		lay := Layout(m)
		got, err := identifyAmong(lay, cands, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.Name != c.name || got.Matched != len(lay) || got.Total != len(lay) || got.ByOrder || got.Theano != c.theano {
			t.Errorf("%s: identified as %+v", c.name, got)
		}
		if c.name == "vgg16" && got.String() != "builtin vgg16 (fast.ai, matched 16/16 weighted layers)" {
			t.Errorf("vgg16: %q", got.String())
		}
		// Layers without weights, as Keras 2 lists them, do not matter.
		if i > 3 {
			continue
		}
		withEmpty := append([]FileLayer{{Name: "input_1"}}, lay...)
		if got, err := identifyAmong(withEmpty, cands, nil); err != nil || got.Name != c.name {
			t.Errorf("%s with an empty layer: %v %v", c.name, got.Name, err)
		}
	}
}

func TestIdentifyNames(t *testing.T) {
	m, err := Lookup("densenet121")
	if err != nil {
		t.Fatal(err)
	}
	lay := Layout(m)
	k2 := make([]FileLayer, len(lay))
	for i, l := range lay {
		k2[i] = FileLayer{Name: strings.Replace(l.Name, "_", "/", 1), Shapes: l.Shapes}
	}
	if got, err := Identify(k2); err != nil || got.Name != "densenet121" || got.ByOrder {
		t.Errorf("Keras 2 names: %+v %v", got, err)
	}
	foreign := make([]FileLayer, len(lay))
	for i, l := range lay {
		foreign[i] = FileLayer{Name: "layer" + strings.Repeat("x", i), Shapes: l.Shapes}
	}
	got, err := Identify(foreign)
	if err != nil || got.Name != "densenet121" || !got.ByOrder {
		t.Errorf("foreign names: %+v %v", got, err)
	}
	if !strings.Contains(got.String(), "by position") {
		t.Errorf("%s", got)
	}
}

func TestIdentifyFailures(t *testing.T) {
	// fast.ai's VGG16 and keras.applications' Theano VGG16 store the same
	// shapes; without either's names the file is ambiguous.
	m, _ := Lookup("vgg16")
	lay := Layout(m)
	anon := make([]FileLayer, len(lay))
	for i, l := range lay {
		anon[i] = FileLayer{Name: "w" + strings.Repeat("_", i), Shapes: l.Shapes}
	}
	if _, err := Identify(anon); err == nil || !strings.Contains(err.Error(), "several") || !strings.Contains(err.Error(), "vgg16_keras_th") {
		t.Errorf("ambiguous: %v", err)
	}
	// A ResNet50 with one layer changed matches nothing; the error names
	// resnet50 first and that layer.
	m, _ = Lookup("resnet50")
	lay = Layout(m)
	for i := range lay {
		if lay[i].Name == "conv3_block2_1_conv" {
			lay[i].Shapes[0] = []int{1, 1, 512, 99}
		}
	}
	_, err := Identify(lay)
	if err == nil || !strings.Contains(err.Error(), "nearest: resnet50 106/107") || !strings.Contains(err.Error(), "'conv3_block2_1_conv' holds [(1, 1, 512, 99) (128)]") {
		t.Fatalf("no match: %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %v", err)
	}
	if _, err := Identify([]FileLayer{{Name: "dense_1", Shapes: [][]int{{3, 4}, {4}}}}); err == nil || !strings.Contains(err.Error(), "match no builtin") {
		t.Errorf("tiny: %v", err)
	}
	if _, err := Identify([]FileLayer{{Name: "a"}}); err == nil {
		t.Error("empty file identified")
	}
}

// TestIdentifyFitted: fine-tuned classifiers (another class count) and VGGs
// built for another input size are identified with that configuration.
func TestIdentifyFitted(t *testing.T) {
	for _, c := range []struct {
		app  string
		cfg  AppConfig
		desc string
	}{
		{"resnet50", AppConfig{IncludeTop: true, Classes: 10}, "keras.applications ResNet50, classes=10"},
		{"mobilenet", AppConfig{IncludeTop: true, Classes: 2}, "keras.applications MobileNet, classes=2"},
		{"vgg16_keras", AppConfig{IncludeTop: true, Height: 64, Width: 64}, "keras.applications VGG16, input 64x64"},
		{"vgg19", AppConfig{IncludeTop: true, Height: 96, Width: 96, Classes: 5, Theano: true}, "keras.applications VGG19, classes=5, input 96x96, Theano ordering"},
	} {
		a, _ := LookupApp(c.app)
		m, err := a.Build(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Identify(Layout(m))
		if err != nil {
			t.Errorf("%s %+v: %v", c.app, c.cfg, err)
			continue
		}
		if got.Description != c.desc {
			t.Errorf("%s: %q, want %q", c.app, got.Description, c.desc)
		}
		b, err := got.Build()
		if err != nil {
			t.Fatal(err)
		}
		tm, _ := m.Params()
		tb, _ := b.Params()
		if tm != tb || b.Node(b.Outputs[0]).Out.Shape.String() != m.Node(m.Outputs[0]).Out.Shape.String() {
			t.Errorf("%s: rebuilt model differs", c.app)
		}
	}
}

// TestIdentifyKeras20Names: InceptionV3 as Keras 2.0 saved it (automatic
// names counted from 1: conv2d_1 … conv2d_94), its layers in another order,
// is identified by name, and the architecture it builds has the file's
// names, so that weights pair by name.
func TestIdentifyKeras20Names(t *testing.T) {
	m, _ := Lookup("inception_v3")
	lay := keras20Names(Layout(m))
	if lay == nil || lay[0].Name != "conv2d_1" || lay[len(lay)-1].Name != "predictions" {
		t.Fatalf("renamed: %v … %v", lay[0].Name, lay[len(lay)-1].Name)
	}
	// Reverse the order: pairing must be by name.
	rev := make([]FileLayer, len(lay))
	for i, l := range lay {
		rev[len(lay)-1-i] = l
	}
	got, err := Identify(rev)
	if err != nil || got.Name != "inception_v3" || got.ByOrder {
		t.Fatalf("%+v %v", got, err)
	}
	b, err := got.Build()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, l := range Layout(b) {
		have[l.Name] = true
	}
	for _, l := range lay {
		if !have[l.Name] {
			t.Fatalf("built model lacks layer %s", l.Name)
		}
	}
	if b.Node("conv2d_94") == nil || b.Node("conv2d") != nil {
		t.Error("renaming incomplete")
	}
}
