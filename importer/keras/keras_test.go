package keras

import (
	"archive/zip"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// ww is a weight to write: its name (weight_names entry), shape and data.
type ww struct {
	name  string
	shape []int
	data  []float32
}

// wl is a layer of a legacy weights group.
type wl struct {
	name string
	ws   []ww
}

func ramp(shape ...int) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(i)
	}
	return d
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeLegacy writes a Keras 1/2 HDF5 file: root attributes, and the layers
// under group ("" for a weights-only file, "model_weights" for a full
// model).
func writeLegacy(t *testing.T, path string, attrs map[string]string, group string, layers []wl) {
	t.Helper()
	w, err := h5.Create(path)
	must(t, err)
	root := w.Root()
	for k, v := range attrs {
		must(t, root.SetAttrString(k, v))
	}
	g := root
	if group != "" {
		g, err = root.CreateGroup(group)
		must(t, err)
	}
	var names []string
	for _, l := range layers {
		names = append(names, l.name)
		lg, err := g.CreateGroup(l.name)
		must(t, err)
		var wn []string
		for _, x := range l.ws {
			wn = append(wn, x.name)
			must(t, lg.WriteFloat32(x.name, x.shape, x.data))
		}
		must(t, lg.SetAttrStringsFixed("weight_names", wn))
	}
	must(t, g.SetAttrStringsFixed("layer_names", names))
	must(t, w.Close())
}

// writeK3 writes a Keras 3 .weights.h5: layers/<key>/vars/<i>.
func writeK3(t *testing.T, path string, layers map[string][]ww) {
	t.Helper()
	w, err := h5.Create(path)
	must(t, err)
	for key, ws := range layers {
		_, err := w.CreateGroup(key + "/vars")
		must(t, err)
		for i, x := range ws {
			must(t, w.WriteFloat32(key+"/vars/"+string(rune('0'+i)), x.shape, x.data))
		}
	}
	_, err = w.CreateGroup("vars")
	must(t, err)
	must(t, w.Close())
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	must(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// checkErr checks that err is one line, starts with file and holds want.
func checkErr(t *testing.T, err error, file string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", file)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.HasPrefix(msg, file+": ") {
		t.Errorf("error does not start with the file %s: %q", file, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}

const k1ThConv = `{"class_name": "Sequential", "keras_version": "1.2.2", "config": [
 {"class_name": "Convolution2D", "config": {"name": "convolution2d_1", "nb_filter": 2, "nb_row": 2, "nb_col": 3,
  "dim_ordering": "th", "border_mode": "valid", "subsample": [1, 1], "activation": "relu", "bias": true,
  "batch_input_shape": [null, 3, 5, 5]}},
 {"class_name": "Flatten", "config": {"name": "flatten_1"}},
 {"class_name": "Dense", "config": {"name": "dense_1", "output_dim": 4, "activation": "linear", "bias": true}}]}`

// TestK1ThKernel checks the Keras 1 "th" kernel transposition and the
// Theano flip, value by value.
func TestK1ThKernel(t *testing.T) {
	const O, I, KH, KW = 2, 3, 2, 3
	for _, tc := range []struct {
		name   string
		suffix string // ":0" for TensorFlow-era names
		flip   string
		want   bool
	}{
		{"theano-auto", "", "auto", true},
		{"theano-off", "", "off", false},
		{"tf-auto", ":0", "", false},
		{"tf-on", ":0", "on", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "m.h5")
			writeLegacy(t, p, map[string]string{"model_config": k1ThConv, "keras_version": "1.2.2"}, "model_weights", []wl{
				{"convolution2d_1", []ww{
					{"convolution2d_1_W" + tc.suffix, []int{O, I, KH, KW}, ramp(O, I, KH, KW)},
					{"convolution2d_1_b" + tc.suffix, []int{O}, ramp(O)}}},
				{"flatten_1", nil},
				{"dense_1", []ww{
					{"dense_1_W" + tc.suffix, []int{2 * 4 * 3, 4}, ramp(24, 4)},
					{"dense_1_b" + tc.suffix, []int{4}, ramp(4)}}},
			})
			m, err := Load(p, Options{TheanoFlip: tc.flip})
			must(t, err)
			n := m.Node("convolution2d_1")
			if got := n.Op.(*ir.Conv2D).TheanoFlipped; got != tc.want {
				t.Errorf("TheanoFlipped %v, want %v", got, tc.want)
			}
			if m.Inputs[0] != "convolution2d_input_1" || n.Out.Shape.String() != "(None, 2, 4, 3)" {
				t.Errorf("input %v, output %v", m.Inputs, n.Out)
			}
			k := n.Weight("kernel")
			if !k.Shape.Equal(ir.Shape{KH, KW, I, O}) {
				t.Fatalf("kernel shape %v", k.Shape)
			}
			d, err := k.Data()
			must(t, err)
			src := ramp(O, I, KH, KW)
			for h := 0; h < KH; h++ {
				for w := 0; w < KW; w++ {
					for i := 0; i < I; i++ {
						for o := 0; o < O; o++ {
							sh, sw := h, w
							if tc.want {
								sh, sw = KH-1-h, KW-1-w
							}
							got := d[((h*KW+w)*I+i)*O+o]
							want := src[((o*I+i)*KH+sh)*KW+sw]
							if got != want {
								t.Fatalf("kernel[%d,%d,%d,%d] = %v, want %v", h, w, i, o, got, want)
							}
						}
					}
				}
			}
			must(t, m.LoadWeights())
		})
	}
}

// TestK1DeconvAndBN checks Keras 1 Deconvolution2D kernels (tf ordering:
// (kh, kw, in, out) → (kh, kw, out, in)), its stated output size, and
// BatchNormalization's running_std as the variance.
func TestK1DeconvAndBN(t *testing.T) {
	cfg := `{"class_name": "Sequential", "config": [
	 {"class_name": "Deconvolution2D", "config": {"name": "deconvolution2d_1", "nb_filter": 2, "nb_row": 3, "nb_col": 3,
	  "output_shape": [null, 9, 9, 2], "dim_ordering": "tf", "border_mode": "valid", "subsample": [2, 2],
	  "activation": "linear", "bias": true, "batch_input_shape": [null, 4, 4, 5]}},
	 {"class_name": "BatchNormalization", "config": {"name": "batchnormalization_1", "epsilon": 0.001, "mode": 0, "axis": -1, "momentum": 0.99}}]}`
	dir := t.TempDir()
	arch := writeFile(t, dir, "arch.json", cfg)
	p := filepath.Join(dir, "w.h5")
	writeLegacy(t, p, nil, "", []wl{
		{"deconvolution2d_1", []ww{{"deconvolution2d_1_W:0", []int{3, 3, 5, 2}, ramp(3, 3, 5, 2)}, {"deconvolution2d_1_b:0", []int{2}, ramp(2)}}},
		{"batchnormalization_1", []ww{
			{"batchnormalization_1_gamma:0", []int{2}, []float32{1, 2}},
			{"batchnormalization_1_beta:0", []int{2}, []float32{3, 4}},
			{"batchnormalization_1_running_mean:0", []int{2}, []float32{5, 6}},
			{"batchnormalization_1_running_std:0", []int{2}, []float32{7, 8}}}},
	})
	m, err := Load(p, Options{Arch: arch})
	must(t, err)
	if m.Meta.KerasMajor() != 1 || m.Inputs[0] != "deconvolution2d_input_1" {
		t.Errorf("meta %+v inputs %v", m.Meta, m.Inputs)
	}
	dn := m.Node("deconvolution2d_1")
	if got := dn.Out.Shape.String(); got != "(None, 9, 9, 2)" {
		t.Errorf("deconv output %s", got)
	}
	k := dn.Weight("kernel")
	if !k.Shape.Equal(ir.Shape{3, 3, 2, 5}) {
		t.Fatalf("deconv kernel shape %v", k.Shape)
	}
	d, err := k.Data()
	must(t, err)
	src := ramp(3, 3, 5, 2)
	if d[((1*3+2)*2+1)*5+4] != src[((1*3+2)*5+4)*2+1] {
		t.Errorf("deconv kernel not transposed to (kh, kw, out, in)")
	}
	bn := m.Node("batchnormalization_1")
	tr, nt := bn.Params()
	if tr != 4 || nt != 4 {
		t.Errorf("BN params %d+%d", tr, nt)
	}
	v, err := bn.Weight("moving_variance").Data()
	must(t, err)
	if v[0] != 7 || v[1] != 8 {
		t.Errorf("moving_variance %v, want running_std [7 8]", v)
	}
}

// TestCrossFormat checks that every format of the same model yields the
// same weights.
func TestCrossFormat(t *testing.T) {
	sets := [][][2]string{
		{{"testdata/01_k1_cnn_tf_model.h5", ""}, {"testdata/02_k1_cnn_tf_weights.h5", "testdata/02_k1_cnn_tf_weights.config.json"}},
		{{"testdata/cifar_small.h5", ""}, {"testdata/cifar_small.keras", ""},
			{"testdata/cifar_small.weights.h5", "testdata/cifar_small.json"},
			{"testdata/cifar_small.weights-legacy.h5", "testdata/cifar_small.json"}},
	}
	if _, err := os.Stat(sharedDir); err == nil {
		k3 := filepath.Join(sharedDir, "keras3")
		sets = append(sets, [][2]string{{k3 + "/vgg16_mini.h5", ""}, {k3 + "/vgg16_mini.keras", ""},
			{k3 + "/vgg16_mini.weights.h5", k3 + "/vgg16_mini.json"}, {k3 + "/vgg16_mini.weights-legacy.h5", k3 + "/vgg16_mini.json"}})
	}
	for _, set := range sets {
		var ref map[string][]float32
		for _, f := range set {
			m, err := Load(f[0], Options{Arch: f[1]})
			must(t, err)
			got := map[string][]float32{}
			for _, n := range m.Nodes {
				for _, w := range n.Weights {
					d, err := w.Data()
					must(t, err)
					got[n.Name+"/"+w.Name] = d
				}
			}
			if ref == nil {
				ref = got
				continue
			}
			if len(got) != len(ref) {
				t.Errorf("%s: %d weights, %s has %d", f[0], len(got), set[0][0], len(ref))
			}
			for k, d := range ref {
				g := got[k]
				if len(g) != len(d) {
					t.Errorf("%s: %s has %d values, want %d", f[0], k, len(g), len(d))
					continue
				}
				for i := range d {
					if g[i] != d[i] {
						t.Errorf("%s: %s[%d] = %v, %s has %v", f[0], k, i, g[i], set[0][0], d[i])
						break
					}
				}
			}
		}
	}
}

// TestLazy checks that Load reads no weight data (the file can go away
// until the weights are wanted) and that a .keras leaves no temporary file.
func TestLazy(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	for _, name := range []string{"cifar_small.h5", "cifar_small.keras"} {
		data, err := os.ReadFile("testdata/" + name)
		must(t, err)
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, data, 0o644))
		m, err := Load(p, Options{})
		must(t, err)
		must(t, os.Rename(p, p+".away"))
		if err := m.LoadWeights(); err == nil {
			t.Errorf("%s: weights loaded without the file: Load read them eagerly", name)
		}
		must(t, os.Rename(p+".away", p))
		m, err = Load(p, Options{})
		must(t, err)
		must(t, m.LoadWeights())
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "kconv-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestReadTwice checks that the weights of a loaded model can be read
// again after they were released (exec releases the weights it packs, so
// a second Compile of the same model reads them again): for a .keras zip
// that re-reads the file, with the same values and no temporary file left.
func TestReadTwice(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, name := range []string{"cifar_small.h5", "cifar_small.keras"} {
		m, err := Load("testdata/"+name, Options{})
		must(t, err)
		must(t, m.LoadWeights())
		var first [][]float32
		for _, n := range m.Nodes {
			for _, w := range n.Weights {
				d, err := w.Data()
				must(t, err)
				first = append(first, append([]float32(nil), d...))
				w.Release()
			}
		}
		if len(first) == 0 {
			t.Fatalf("%s: no weights", name)
		}
		i := 0
		for _, n := range m.Nodes {
			for _, w := range n.Weights {
				d, err := w.Data()
				if err != nil {
					t.Fatalf("%s: second read of layer '%s' weight %s: %v", name, n.Name, w.Name, err)
				}
				if !slices.Equal(d, first[i]) {
					t.Errorf("%s: layer '%s' weight %s differs on the second read", name, n.Name, w.Name)
				}
				i++
			}
		}
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "kconv-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestYAML reads a Keras 2 to_yaml architecture with Python tags and
// aliases.
func TestYAML(t *testing.T) {
	y := `backend: tensorflow
class_name: Sequential
config:
- class_name: Conv2D
  config:
    activation: relu
    batch_input_shape: !!python/tuple [null, 1, 8, 8]
    data_format: channels_first
    dilation_rate: &id001 !!python/tuple [1, 1]
    filters: 4
    kernel_size: !!python/tuple [3, 3]
    name: conv2d_1
    padding: same
    strides: *id001
    use_bias: true
- class_name: Flatten
  config: {name: flatten_1, trainable: true}
- class_name: Dense
  config: {name: dense_1, units: 3, activation: hard_sigmoid, use_bias: true}
keras_version: 2.0.5
`
	p := writeFile(t, t.TempDir(), "model.yaml", y)
	m, err := Load(p, Options{})
	must(t, err)
	if m.Meta.Format != "keras-json" || m.Meta.KerasVersion != "2.0.5" || m.Inputs[0] != "conv2d_1_input" {
		t.Errorf("meta %+v inputs %v", m.Meta, m.Inputs)
	}
	if got := m.Node("conv2d_1").Out.String(); got != "(None, 4, 8, 8) channels_first" {
		t.Errorf("conv output %s", got)
	}
	if a := m.Node("dense_1").Op.(*ir.Dense).Activation; a.Alpha != 0.2 || a.Beta != 0.5 {
		t.Errorf("Keras 2 hard_sigmoid %+v", a)
	}
	tr, _ := m.Params()
	if tr != 4*9+4+256*3+3 {
		t.Errorf("params %d", tr)
	}
}

// TestActivations checks version-dependent activations and an unknown one.
func TestActivations(t *testing.T) {
	mk := func(act string) string {
		return `{"class_name": "Sequential", "config": {"name": "s", "layers": [
		 {"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "input_layer"}},
		 {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "` + act + `"}}]}}`
	}
	m, err := ParseConfig([]byte(mk("hard_sigmoid")), "k3.json", Options{})
	must(t, err)
	if a := m.Node("dense").Op.(*ir.Dense).Activation; a.Alpha != 1.0/6 || a.Beta != 0.5 || m.Meta.KerasMajor() != 3 {
		t.Errorf("Keras 3 hard_sigmoid %+v (version %q)", a, m.Meta.KerasVersion)
	}
	m, err = ParseConfig([]byte(mk("silu")), "k3.json", Options{})
	must(t, err)
	if a := m.Node("dense").Op.(*ir.Dense).Activation; a.Name != "swish" {
		t.Errorf("silu → %+v", a)
	}
	p := writeFile(t, t.TempDir(), "bad.json", mk("swooshy"))
	_, err = Load(p, Options{})
	checkErr(t, err, p, "layer 'dense'", `unknown activation "swooshy"`)
	var le *ir.LayerError
	if !errors.As(err, &le) || le.Layer != "dense" {
		t.Errorf("error does not wrap an ir.LayerError: %v", err)
	}
}

// TestLambda finds the function of Lambda layers in every Keras form.
func TestLambda(t *testing.T) {
	mk := func(fn string) string {
		return `{"class_name": "Sequential", "config": [
		 {"class_name": "Lambda", "config": {"name": "lambda_1", "function": ` + fn + `, "function_type": "lambda",
		  "output_shape": [3, 8, 8], "arguments": {}, "batch_input_shape": [null, 3, 8, 8]}},
		 {"class_name": "Convolution2D", "config": {"name": "convolution2d_1", "nb_filter": 2, "nb_row": 3, "nb_col": 3,
		  "dim_ordering": "th", "border_mode": "same", "subsample": [1, 1], "activation": "relu", "bias": true}}]}`
	}
	// Keras 1: marshal bytes as raw_unicode_escape text.
	k1 := `["\u00e3\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0003\u0000\u0000\u0000\u0002\u0000\u0000\u0000C\u0000\u0000\u0000s\u0014\u0000\u0000\u0000|\u0000\u0000t\u0000\u0000\u0018d\u0000\u0000d\u0000\u0000d\u0001\u0000\u0085\u0002\u0000\u0019S)\u0002N\u00e9\u00ff\u00ff\u00ff\u00ff)\u0001\u00da\bvgg_mean)\u0001\u00da\u0001x\u00a9\u0000r\u0004\u0000\u0000\u0000\u00fa\u0007<stdin>\u00da\u000evgg_preprocess\u0001\u0000\u0000\u0000s\u0002\u0000\u0000\u0000\u0000\u0001", null, null]`
	// Keras 2: base64 of the marshal bytes, with newlines.
	b64 := base64.StdEncoding.EncodeToString([]byte("\xe3\x01\x00\x00\x00\xda\x0evgg_preprocess\x01\x00\x00\x00s\x02"))
	k2 := `["` + b64[:20] + `\n` + b64[20:] + `\n", null, null]`
	k3 := `{"module": "builtins", "class_name": "function", "config": "vgg_preprocess", "registered_name": "function"}`
	for _, tc := range []struct{ name, fn, opt, want string }{
		{"keras1", k1, "", "vgg_preprocess"},
		{"keras2", k2, "", "vgg_preprocess"},
		{"keras3", k3, "", "vgg_preprocess"},
		{"unknown", `["bm90aGluZyBoZXJl", null, null]`, "", ""},
		{"option", `["bm90aGluZyBoZXJl", null, null]`, "vgg_preprocess", "vgg_preprocess"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.opt != "" {
				opts.Lambdas = map[string]string{"lambda_1": tc.opt}
			}
			m, err := ParseConfig([]byte(mk(tc.fn)), "arch.json", opts)
			must(t, err)
			l := m.Node("lambda_1").Op.(*ir.Lambda)
			if l.Function != tc.want {
				t.Errorf("function %q, want %q", l.Function, tc.want)
			}
			if m.Inputs[0] != "lambda_input_1" || m.Node("lambda_1").Out.Layout != ir.ChannelsFirst {
				t.Errorf("input %v, lambda output %v", m.Inputs, m.Node("lambda_1").Out)
			}
			if (tc.want == "") != (len(m.Warnings) > 0) {
				t.Errorf("warnings %q", m.Warnings)
			}
		})
	}
	// A Lambda giving its own mask (Keras's mask argument): read as
	// Lambda.Mask; null (Keras 2 writes it so) or absent is no mask.
	for _, mask := range []string{`, "mask": ["bWFzaw==", null, null], "mask_type": "lambda"`, `, "mask": null`, ""} {
		cfg := strings.Replace(mk(k2), `"arguments": {}`, `"arguments": {}`+mask, 1)
		m, err := ParseConfig([]byte(cfg), "arch.json", Options{})
		must(t, err)
		if got := m.Node("lambda_1").Op.(*ir.Lambda).Mask; got != (mask != "" && mask != `, "mask": null`) {
			t.Errorf("config%s: Mask %v", mask, got)
		}
	}
	_, err := ParseConfig([]byte(mk(k1)), "arch.json", Options{Lambdas: map[string]string{"lambda_1": "nope"}})
	checkErr(t, err, "arch.json", "layer 'lambda_1'", "nope")
	_, err = ParseConfig([]byte(mk(k1)), "arch.json", Options{Lambdas: map[string]string{"lamda_1": "vgg_preprocess"}})
	checkErr(t, err, "arch.json", "lamda_1")
}

// TestGraphs covers nested models, shared layers, Keras 1 Merge, unknown
// classes and implicit input names.
func TestGraphs(t *testing.T) {
	// A Keras 3 Functional model using a nested Sequential, with its
	// weights in a .weights.h5 (nested keys) and a legacy file (the nested
	// model's weights in one entry).
	nested := `{"class_name": "Functional", "config": {"name": "outer", "layers": [
	 {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [null, 6], "name": "in"}, "inbound_nodes": []},
	 {"class_name": "Sequential", "name": "block", "config": {"name": "block", "layers": [
	   {"class_name": "InputLayer", "config": {"batch_shape": [null, 6], "name": "input_layer_1"}},
	   {"class_name": "Dense", "config": {"name": "dense", "units": 5, "activation": "relu"}},
	   {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": -1}},
	   {"class_name": "Dense", "config": {"name": "dense_1", "units": 4}}]},
	  "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0]}}], "kwargs": {}}]},
	 {"class_name": "Dense", "name": "shared", "config": {"name": "shared", "units": 4},
	  "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["block", 0, 0]}}], "kwargs": {}},
	                    {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["shared", 0, 0]}}], "kwargs": {}}]},
	 {"class_name": "Add", "name": "add", "config": {"name": "add"},
	  "inbound_nodes": [{"args": [[{"class_name": "__keras_tensor__", "config": {"keras_history": ["shared", 1, 0]}},
	                               {"class_name": "__keras_tensor__", "config": {"keras_history": ["block", 0, 0]}}]], "kwargs": {}}]},
	 {"class_name": "Mystery", "name": "mystery", "config": {"name": "mystery"},
	  "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["add", 0, 0]}}], "kwargs": {}}]}],
	 "input_layers": ["in", 0, 0], "output_layers": ["mystery", 0, 0]}}`
	dir := t.TempDir()
	arch := writeFile(t, dir, "nested.json", nested)
	k3 := filepath.Join(dir, "nested.weights.h5")
	writeK3(t, k3, map[string][]ww{
		"layers/sequential/layers/dense": {{"", []int{6, 5}, ramp(6, 5)}, {"", []int{5}, ramp(5)}},
		"layers/sequential/layers/batch_normalization": {{"", []int{5}, ramp(5)}, {"", []int{5}, ramp(5)},
			{"", []int{5}, ramp(5)}, {"", []int{5}, ramp(5)}},
		"layers/sequential/layers/dense_1": {{"", []int{5, 4}, ramp(5, 4)}, {"", []int{4}, ramp(4)}},
		"layers/dense":                     {{"", []int{4, 4}, ramp(4, 4)}, {"", []int{4}, ramp(4)}},
		"layers/mystery":                   {{"", []int{3}, ramp(3)}},
	})
	legacy := filepath.Join(dir, "nested.legacy.h5")
	writeLegacy(t, legacy, map[string]string{"keras_version": "2.2.4", "backend": "tensorflow"}, "", []wl{
		{"in", nil},
		{"block", []ww{ // trainable weights first, as Keras 2 lists a model's weights
			{"dense/kernel:0", []int{6, 5}, ramp(6, 5)}, {"dense/bias:0", []int{5}, ramp(5)},
			{"bn/gamma:0", []int{5}, ramp(5)}, {"bn/beta:0", []int{5}, ramp(5)},
			{"dense_1/kernel:0", []int{5, 4}, ramp(5, 4)}, {"dense_1/bias:0", []int{4}, ramp(4)},
			{"bn/moving_mean:0", []int{5}, ramp(5)}, {"bn/moving_variance:0", []int{5}, ramp(5)}}},
		{"shared", []ww{{"shared/kernel:0", []int{4, 4}, ramp(4, 4)}, {"shared/bias:0", []int{4}, ramp(4)}}},
		{"add", nil},
		{"mystery", []ww{{"mystery/w:0", []int{3}, ramp(3)}}},
	})
	for _, f := range []string{k3, legacy} {
		m, err := Load(f, Options{Arch: arch})
		must(t, err)
		if m.Node("input_layer_1") != nil || m.Node("dense") == nil || m.Node("shared@1") == nil {
			t.Errorf("%s: nodes %v", f, names(m))
		}
		if m.Node("shared@1").Weights[0] != m.Node("shared").Weights[0] {
			t.Errorf("%s: shared layer calls do not share weights", f)
		}
		if u, ok := m.Node("mystery").Op.(*ir.Unknown); !ok || u.ClassName != "Mystery" || len(m.Node("mystery").Weights) != 1 {
			t.Errorf("%s: unknown layer %+v", f, m.Node("mystery"))
		}
		if got := m.Node("add").Inputs; got[0] != "shared@1" || got[1] != "dense_1" {
			t.Errorf("%s: add inputs %v", f, got)
		}
		if len(m.Warnings) != 2 {
			t.Errorf("%s: warnings %q", f, m.Warnings)
		}
		must(t, m.LoadWeights())
		mv, _ := m.Node("bn").Weight("moving_variance").Data()
		if len(mv) != 5 {
			t.Errorf("%s: bn weights not distributed", f)
		}
	}

	// Keras 1 functional Merge, and a Keras 2 Sequential's implicit input.
	k1 := `{"class_name": "Model", "config": {"name": "model_1", "layers": [
	 {"class_name": "InputLayer", "name": "a", "config": {"batch_input_shape": [null, 3], "name": "a"}, "inbound_nodes": []},
	 {"class_name": "InputLayer", "name": "b", "config": {"batch_input_shape": [null, 5], "name": "b"}, "inbound_nodes": []},
	 {"class_name": "Merge", "name": "merge_1", "config": {"name": "merge_1", "mode": "concat", "concat_axis": -1},
	  "inbound_nodes": [[["a", 0, 0], ["b", 0, 0]]]}],
	 "input_layers": [["b", 0, 0], ["a", 0, 0]], "output_layers": [["merge_1", 0, 0]]}}`
	m, err := ParseConfig([]byte(k1), "k1.json", Options{})
	must(t, err)
	if got := m.Node("merge_1").Out.Shape.String(); got != "(None, 8)" || m.Inputs[0] != "b" || m.Meta.KerasMajor() != 2 {
		t.Errorf("merge output %s, inputs %v, version %q", got, m.Inputs, m.Meta.KerasVersion)
	}
	// Keras 1 Sequential whose first layer merges two Sequential branches.
	branches := `{"class_name": "Sequential", "config": [
	 {"class_name": "Merge", "config": {"name": "merge_1", "mode": "sum", "layers": [
	   {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "dense_1", "output_dim": 4, "batch_input_shape": [null, 3]}}]},
	   {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "dense_2", "output_dim": 4, "batch_input_shape": [null, 5]}}]}]}},
	 {"class_name": "Dense", "config": {"name": "dense_3", "output_dim": 2, "activation": "softmax"}}]}`
	m, err = ParseConfig([]byte(branches), "branches.json", Options{})
	must(t, err)
	if strings.Join(m.Inputs, ",") != "dense_input_1,dense_input_2" || strings.Join(m.Node("merge_1").Inputs, ",") != "dense_1,dense_2" {
		t.Errorf("branch inputs %v, merge inputs %v", m.Inputs, m.Node("merge_1").Inputs)
	}
	if tr, _ := m.Params(); tr != 16+24+10 {
		t.Errorf("branch params %d", tr)
	}
	k2 := `{"class_name": "Sequential", "keras_version": "2.1.3", "config": [
	 {"class_name": "Dense", "config": {"name": "dense_1", "units": 2, "batch_input_shape": [null, 3]}}]}`
	m, err = ParseConfig([]byte(k2), "k2.json", Options{})
	must(t, err)
	if m.Inputs[0] != "dense_1_input" {
		t.Errorf("Keras 2 implicit input %v", m.Inputs)
	}
}

func names(m *ir.Model) []string {
	var out []string
	for _, n := range m.Nodes {
		out = append(out, n.Name)
	}
	return out
}

// TestBuiltinArch loads weights into a builtin architecture.
func TestBuiltinArch(t *testing.T) {
	builtin := func(name string) (*ir.Model, error) {
		if name != "tiny" {
			return nil, errors.New("no such builtin")
		}
		b := ir.NewBuilder("tiny")
		b.Input("in", ir.Shape{3, 6, 6}, ir.ChannelsFirst)
		b.AddClass("convolution2d_1", "Convolution2D", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1}, UseBias: true, DataFormat: ir.ChannelsFirst})
		return b.Build()
	}
	p := filepath.Join(t.TempDir(), "w.h5")
	writeLegacy(t, p, nil, "", []wl{{"convolution2d_1", []ww{
		{"convolution2d_1_W", []int{4, 3, 3, 3}, ramp(4, 3, 3, 3)}, {"convolution2d_1_b", []int{4}, ramp(4)}}}})
	m, err := Load(p, Options{Arch: "tiny", ArchBuiltin: builtin})
	must(t, err)
	if c := m.Node("convolution2d_1").Op.(*ir.Conv2D); !c.TheanoFlipped {
		t.Errorf("Keras 1 Theano weights not flipped")
	}
	must(t, m.LoadWeights())
	_, err = Load(p, Options{Arch: "huge", ArchBuiltin: builtin})
	checkErr(t, err, p, "huge")
}

// TestBadFiles checks that bad inputs give one-line errors naming the file
// (and the layer where one is at fault), never panics.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	rnd := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.IntN(256))
	}
	fixture, err := os.ReadFile("testdata/cifar_small.h5")
	must(t, err)
	zipped, err := os.ReadFile("testdata/cifar_small.keras")
	must(t, err)
	archJSON, err := os.ReadFile("testdata/cifar_small.json")
	must(t, err)

	// A weights-only file whose conv2d_1 kernel disagrees with the config.
	narrow := writeFile(t, dir, "narrow.json", strings.Replace(string(archJSON), `"filters": 16`, `"filters": 8`, 1))
	// A config with an unknown activation for conv2d_2.
	badAct := writeFile(t, dir, "badact.json", strings.Replace(string(archJSON), `"activation": "relu"`, `"activation": "frobnicate"`, 2))
	// model_config that is not JSON.
	notJSON := filepath.Join(dir, "notjson.h5")
	writeLegacy(t, notJSON, map[string]string{"model_config": "class_name: Sequential"}, "model_weights", nil)
	// A weights file missing a layer the architecture needs.
	missing := filepath.Join(dir, "missing.h5")
	writeLegacy(t, missing, nil, "", []wl{
		{"conv2d_1", []ww{{"conv2d_1/kernel:0", []int{3, 3, 3, 16}, ramp(3, 3, 3, 16)}, {"conv2d_1/bias:0", []int{16}, ramp(16)}}}})
	// A weights file with a bias too few.
	fewer := filepath.Join(dir, "fewer.h5")
	writeLegacy(t, fewer, nil, "", []wl{
		{"conv2d_1", []ww{{"conv2d_1/kernel:0", []int{3, 3, 3, 16}, ramp(3, 3, 3, 16)}}}})
	// A .keras without config.json.
	noCfg := filepath.Join(dir, "nocfg.keras")
	{
		f, err := os.Create(noCfg)
		must(t, err)
		zw := zip.NewWriter(f)
		w, err := zw.Create("metadata.json")
		must(t, err)
		w.Write([]byte(`{"keras_version": "3.16.0"}`))
		must(t, zw.Close())
		must(t, f.Close())
	}

	for _, tc := range []struct {
		name string
		file string
		data []byte // written to file when not nil
		opts Options
		want []string
	}{
		{name: "empty", file: "empty.h5", data: []byte{}, want: []string{"empty file"}},
		{name: "random", file: "random.h5", data: rnd, want: []string{"not a Keras model file"}},
		{name: "text", file: "text.h5", data: []byte("this is not a model\n"), want: []string{"not a Keras model file"}},
		{name: "json-list", file: "list.json", data: []byte("[1, 2, 3]"), want: []string{"not a Keras model file"}},
		{name: "bad-json", file: "bad.json", data: []byte(`{"class_name": "Sequential", "config": [`), want: []string{"not valid JSON"}},
		{name: "truncated-h5", file: "trunc.h5", data: fixture[:len(fixture)/2]},
		{name: "truncated-head", file: "head.h5", data: fixture[:600]},
		{name: "truncated-zip", file: "trunc.keras", data: zipped[:len(zipped)/2]},
		{name: "missing-file", file: "nonexistent.h5", want: []string{"no such file"}},
		{name: "directory", file: ".", want: []string{"directory"}},
		{name: "model-config-not-json", file: notJSON, want: []string{"model_config", "not JSON"}},
		{name: "weights-without-arch", file: "testdata/cifar_small.weights-legacy.h5", want: []string{"Options.Arch"}},
		{name: "k3-weights-without-arch", file: "testdata/cifar_small.weights.h5", want: []string{"Options.Arch"}},
		{name: "kernel-shape", file: "testdata/cifar_small.weights-legacy.h5", opts: Options{Arch: narrow}, want: []string{"layer 'conv2d_1'", "(3, 3, 3, 16)", "(3, 3, 3, 8)"}},
		{name: "k3-kernel-shape", file: "testdata/cifar_small.weights.h5", opts: Options{Arch: narrow}, want: []string{"layer 'conv2d_1'", "(3, 3, 3, 8)"}},
		{name: "zip-kernel-shape", file: "testdata/cifar_small.keras", opts: Options{Arch: narrow}, want: []string{"layer 'conv2d_1'", "(3, 3, 3, 8)"}},
		{name: "unknown-activation", file: badAct, want: []string{"layer 'conv2d_1'", "frobnicate"}},
		{name: "unknown-activation-arch", file: "testdata/cifar_small.weights.h5", opts: Options{Arch: badAct}, want: []string{"layer 'conv2d_1'", "frobnicate"}},
		{name: "missing-weights", file: missing, opts: Options{Arch: "testdata/cifar_small.json"}, want: []string{"layer 'conv2d_2'", "expects 2 weight"}},
		{name: "fewer-weights", file: fewer, opts: Options{Arch: "testdata/cifar_small.json"}, want: []string{"layer 'conv2d_1'", "expects 2 weight"}},
		{name: "arch-missing", file: "testdata/cifar_small.weights.h5", opts: Options{Arch: filepath.Join(dir, "nope.json")}, want: []string{"nope.json"}},
		{name: "no-config-json", file: noCfg, want: []string{"config.json"}},
		{name: "bad-flip", file: "testdata/cifar_small.h5", opts: Options{TheanoFlip: "maybe"}, want: []string{"TheanoFlip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if tc.data != nil {
				file = filepath.Join(dir, tc.file)
				must(t, os.WriteFile(file, tc.data, 0o644))
			} else if tc.name == "missing-file" || tc.name == "directory" {
				file = filepath.Join(dir, tc.file)
				if tc.name == "directory" {
					file = dir
				}
			}
			m, err := Load(file, tc.opts)
			if err == nil && strings.HasPrefix(tc.name, "truncated") {
				// A file cut after its metadata may load; its weights not.
				err = m.LoadWeights()
				if err != nil {
					t.Logf("weights: %v", err)
					return
				}
			}
			want := file
			if tc.name == "unknown-activation-arch" {
				want = tc.opts.Arch // the architecture file is at fault
			}
			checkErr(t, err, want, tc.want...)
			t.Log(err)
		})
	}
}

// TestXform checks the layout transform against a direct computation, for
// rank 4 (fast path) and rank 3.
func TestXform(t *testing.T) {
	fs := []int{2, 3, 4, 5}
	src := ramp(fs...)
	for _, flip := range []bool{false, true} {
		x := xform{perm: []int{2, 3, 1, 0}, flip: flip}
		cs := x.shape(fs)
		dst := make([]float32, len(src))
		x.apply(src, fs, dst)
		o := 0
		for a := 0; a < cs[0]; a++ {
			for b := 0; b < cs[1]; b++ {
				for c := 0; c < cs[2]; c++ {
					for d := 0; d < cs[3]; d++ {
						aa, bb := a, b
						if flip {
							aa, bb = cs[0]-1-a, cs[1]-1-b
						}
						// file index (out=d, in=c, kh=aa, kw=bb)
						want := src[((d*fs[1]+c)*fs[2]+aa)*fs[3]+bb]
						if dst[o] != want {
							t.Fatalf("flip %v: [%d %d %d %d] = %v, want %v", flip, a, b, c, d, dst[o], want)
						}
						o++
					}
				}
			}
		}
	}
	x := xform{perm: []int{2, 0, 1}}
	dst := make([]float32, 24)
	x.apply(ramp(2, 3, 4), []int{2, 3, 4}, dst)
	if dst[1] != 4 || dst[3] != 12 || dst[6] != 1 {
		t.Errorf("rank-3 transpose %v", dst)
	}
}

// TestK1Separable checks Keras 1 "th" SeparableConvolution2D kernels.
func TestK1Separable(t *testing.T) {
	cfg := `{"class_name": "Sequential", "keras_version": "1.2.2", "config": [
	 {"class_name": "SeparableConvolution2D", "config": {"name": "separableconvolution2d_1", "nb_filter": 4, "nb_row": 3, "nb_col": 2,
	  "depth_multiplier": 2, "dim_ordering": "th", "border_mode": "same", "subsample": [1, 1], "activation": "linear", "bias": true,
	  "batch_input_shape": [null, 3, 6, 6]}}]}`
	dir := t.TempDir()
	arch := writeFile(t, dir, "arch.json", cfg)
	p := filepath.Join(dir, "w.h5")
	writeLegacy(t, p, nil, "", []wl{{"separableconvolution2d_1", []ww{
		{"separableconvolution2d_1_depthwise_kernel:0", []int{2, 3, 3, 2}, ramp(2, 3, 3, 2)},
		{"separableconvolution2d_1_pointwise_kernel:0", []int{4, 6, 1, 1}, ramp(4, 6, 1, 1)},
		{"separableconvolution2d_1_b:0", []int{4}, ramp(4)}}}})
	m, err := Load(p, Options{Arch: arch})
	must(t, err)
	n := m.Node("separableconvolution2d_1")
	if !n.Weights[0].Shape.Equal(ir.Shape{3, 2, 3, 2}) || !n.Weights[1].Shape.Equal(ir.Shape{1, 1, 6, 4}) {
		t.Fatalf("shapes %v %v", n.Weights[0].Shape, n.Weights[1].Shape)
	}
	pw, err := n.Weights[1].Data()
	must(t, err)
	// canonical [0,0,c,f] = file [f,c,0,0] = f*6+c
	if pw[5*4+3] != 3*6+5 {
		t.Errorf("pointwise kernel not transposed: %v", pw)
	}
	if got := n.Out.Shape.String(); got != "(None, 4, 6, 6)" {
		t.Errorf("output %s", got)
	}
}

func TestPadding4(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want [4]int
	}{
		{float64(2), [4]int{2, 2, 2, 2}},
		{[]any{float64(1), float64(2)}, [4]int{1, 1, 2, 2}},
		{[]any{[]any{float64(0), float64(1)}, []any{float64(2), float64(3)}}, [4]int{0, 1, 2, 3}},
		{[]any{float64(4), float64(5), float64(6), float64(7)}, [4]int{4, 5, 6, 7}},
		{map[string]any{"top_pad": float64(1), "bottom_pad": float64(2), "left_pad": float64(3), "right_pad": float64(4)}, [4]int{1, 2, 3, 4}},
	} {
		got, err := padding4(obj{"padding": tc.v}, "padding", 1)
		if err != nil || got != tc.want {
			t.Errorf("%v: %v %v, want %v", tc.v, got, err, tc.want)
		}
	}
	if _, err := padding4(obj{"padding": "x"}, "padding", 1); err == nil {
		t.Error("bad padding accepted")
	}
	if got := snakeCase("LeakyReLU") + " " + snakeCase("Conv2DTranspose") + " " + snakeCase("PReLU") + " " + snakeCase("GlobalAveragePooling2D"); got != "leaky_re_lu conv2d_transpose p_re_lu global_average_pooling2d" {
		t.Errorf("snake case: %s", got)
	}
}
