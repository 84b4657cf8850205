package zoo

import (
	"bytes"
	"os"
	"strings"

	"github.com/kconv/kconv/summary"
	"testing"
)

// TestAppParams holds every keras.applications builtin against the
// parameter counts Keras documents (keras.io/api/applications: the table's
// totals with the top; without it, Keras's own summaries of
// include_top=False, i.e. the total minus the classifier), and the
// trainable/non-trainable split where batch norms make one.
func TestAppParams(t *testing.T) {
	nonTrainable := map[string]int64{
		"vgg16_keras": 0, "vgg19": 0, "resnet50": 53120, "resnet50_legacy": 53120, "mobilenet": 21888,
		"mobilenet_v2": 34112, "densenet121": 83648, "inception_v3": 34432, "xception": 54528,
	}
	for _, a := range Apps() {
		for _, c := range []struct {
			cfg  AppConfig
			want int64
		}{
			{AppConfig{IncludeTop: true}, a.Params},
			{AppConfig{}, a.ParamsNoTop},
			{AppConfig{Pooling: "avg"}, a.ParamsNoTop},
			{AppConfig{Pooling: "max"}, a.ParamsNoTop},
			{AppConfig{IncludeTop: true, Theano: true}, a.Params},
		} {
			if c.cfg.Theano && !a.Theano {
				continue
			}
			name := VariantName(a, c.cfg)
			m, err := a.Build(c.cfg)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			tr, nt := m.Params()
			if tr+nt != c.want {
				t.Errorf("%s: %d params (%d + %d), want %d", name, tr+nt, tr, nt, c.want)
			}
			if nt != nonTrainable[a.Name] {
				t.Errorf("%s: %d non-trainable params, want %d", name, nt, nonTrainable[a.Name])
			}
		}
	}
}

// TestVGG16KerasSummary holds the builtin against the summary Keras 3.16
// itself printed for keras.applications.VGG16 (its input was the session's
// 13th, "input_layer_12"; the builtin's is the first, "input_layer").
func TestVGG16KerasSummary(t *testing.T) {
	want, err := os.ReadFile("testdata/vgg16_arch.summary.txt")
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Replace(string(want), "input_layer_12 (InputLayer)   ", "input_layer (InputLayer)      ", 1)
	m, err := Lookup("vgg16_keras")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := summary.Render(&buf, m, summary.Keras3); err != nil {
		t.Fatal(err)
	}
	if buf.String() != w {
		t.Errorf("summary differs from Keras's:\n%s\nwant:\n%s", buf.String(), w)
	}
}

// TestAppShapes checks each application's last feature map and output.
func TestAppShapes(t *testing.T) {
	for name, want := range map[string][2]string{
		"vgg19_notop":      {"block5_pool", "(None, 7, 7, 512)"},
		"resnet50":         {"conv5_block3_out", "(None, 7, 7, 2048)"},
		"mobilenet":        {"conv_pw_13_relu", "(None, 7, 7, 1024)"},
		"mobilenet_v2":     {"out_relu", "(None, 7, 7, 1280)"},
		"densenet121":      {"relu", "(None, 7, 7, 1024)"},
		"inception_v3":     {"mixed10", "(None, 8, 8, 2048)"},
		"xception":         {"block14_sepconv2_act", "(None, 10, 10, 2048)"},
		"resnet50_avg":     {"avg_pool", "(None, 2048)"},
		"densenet121_max":  {"max_pool", "(None, 1024)"},
		"mobilenet_v2_avg": {"global_average_pooling2d", "(None, 1280)"},
		"resnet50_th":      {"conv5_block3_out", "(None, 2048, 7, 7)"},
	} {
		m, err := Lookup(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		n := m.Node(want[0])
		if n == nil {
			t.Errorf("%s: no layer %s", name, want[0])
			continue
		}
		if got := n.Out.Shape.String(); got != want[1] {
			t.Errorf("%s: %s is %s, want %s", name, want[0], got, want[1])
		}
		if out := m.Node(m.Outputs[0]); !strings.Contains(name, "_") && out.Out.Shape.String() != "(None, 1000)" {
			t.Errorf("%s: output %s", name, out.Out.Shape)
		}
	}
}

// TestKerasOrder: branches are ordered as Keras orders model.layers (by
// depth, then by a depth-first walk from the output): in ResNet50's first
// block the shortcut convolution comes right before the third one, as
// Keras's summary shows it.
func TestKerasOrder(t *testing.T) {
	m, err := Lookup("resnet50")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range m.Nodes {
		names = append(names, n.Name)
	}
	got := strings.Join(names[7:20], " ")
	want := "conv2_block1_1_conv conv2_block1_1_bn conv2_block1_1_relu conv2_block1_2_conv conv2_block1_2_bn conv2_block1_2_relu " +
		"conv2_block1_0_conv conv2_block1_3_conv conv2_block1_0_bn conv2_block1_3_bn conv2_block1_add conv2_block1_out conv2_block2_1_conv"
	if got != want {
		t.Errorf("order:\n got %s\nwant %s", got, want)
	}
}
