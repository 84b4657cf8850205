package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/internal/tensorio"
)

// hostile is one generated bad input and what kconv must say about it.
type hostile struct {
	name string
	args func(dir string) []string // the command line, files made in dir
	code int
	want []string // substrings of the one-line error
}

// writeKeras2 writes a Keras 2 full-model h5 with the given config and
// weights (layer → dataset name → shape; nil data means zeros). Layers with
// weight names but no datasets are written as named only.
func writeKeras2(t *testing.T, path string, config any, weights map[string]map[string][]int, extraNames map[string][]string) {
	t.Helper()
	writeKeras2With(t, path, config, weights, extraNames, nil)
}

// writeKeras2With is writeKeras2 that then calls hook, when not nil, with
// the model_weights group, to add hostile objects.
func writeKeras2With(t *testing.T, path string, config any, weights map[string]map[string][]int, extraNames map[string][]string, hook func(mw *h5.WGroup) error) {
	t.Helper()
	cfg, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	w, err := h5.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	root := w.Root()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(root.SetAttrString("model_config", string(cfg)))
	must(root.SetAttrString("keras_version", "2.4.0"))
	must(root.SetAttrString("backend", "tensorflow"))
	mw, err := root.CreateGroup("model_weights")
	must(err)
	var layers []string
	for l := range weights {
		layers = append(layers, l)
	}
	for l := range extraNames {
		if weights[l] == nil {
			layers = append(layers, l)
		}
	}
	must(mw.SetAttrStringsFixed("layer_names", layers))
	for _, l := range layers {
		g, err := mw.CreateGroup(l)
		must(err)
		var names []string
		for ds, shape := range weights[l] {
			n := 1
			for _, d := range shape {
				n *= d
			}
			must(g.WriteFloat32(l+"/"+ds, shape, make([]float32, n)))
			names = append(names, l+"/"+ds)
		}
		names = append(names, extraNames[l]...)
		must(g.SetAttrStringsFixed("weight_names", names))
	}
	if hook != nil {
		must(hook(mw))
	}
}

func dense(name string, units any, extra map[string]any) map[string]any {
	c := map[string]any{"name": name, "units": units, "activation": "linear", "use_bias": true}
	for k, v := range extra {
		c[k] = v
	}
	return map[string]any{"class_name": "Dense", "config": c}
}

func seq(layers ...any) map[string]any {
	return map[string]any{"class_name": "Sequential", "config": map[string]any{"name": "m", "layers": layers}}
}

func input(shape ...any) map[string]any {
	return map[string]any{"class_name": "InputLayer", "config": map[string]any{"name": "in", "batch_input_shape": append([]any{nil}, shape...)}}
}

func TestHostileInputs(t *testing.T) {
	junk := make([]byte, 8192)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	realH5, _ := os.ReadFile(filepath.Join(kerasTD, "cifar_small.h5"))
	realZip, _ := os.ReadFile(filepath.Join(kerasTD, "cifar_small.keras"))
	file := func(dir, name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var cases []hostile
	for _, ext := range []string{".h5", ".keras", ".onnx", ".json"} {
		for kind, data := range map[string][]byte{"empty": nil, "random": junk, "text": []byte("not a model at all\n"), "truncated": realH5[:len(realH5)/3]} {
			ext, kind, data := ext, kind, data
			cases = append(cases, hostile{kind + ext, func(d string) []string { return []string{"summary", file(d, kind+ext, data)} }, 1, []string{kind + ext}})
		}
	}
	cases = append(cases,
		hostile{"model_config not JSON", func(d string) []string {
			p := filepath.Join(d, "notjson.h5")
			w, _ := h5.Create(p)
			w.Root().SetAttrString("model_config", "{this is not json")
			w.Root().SetAttrString("keras_version", "2.4.0")
			w.Close()
			return []string{"summary", p}
		}, 1, []string{"notjson.h5"}},
		hostile{"kernel shape disagrees", func(d string) []string {
			p := filepath.Join(d, "shape.h5")
			writeKeras2(t, p, seq(input(8), dense("fc", 4, nil)), map[string]map[string][]int{"fc": {"kernel:0": {8, 5}, "bias:0": {4}}}, nil)
			return []string{"run", p, "--input", file(d, "x.npy", npy(t, []int{1, 8}))}
		}, 1, []string{"shape.h5", "layer 'fc'", "kernel"}},
		hostile{"weight named but missing", func(d string) []string {
			p := filepath.Join(d, "missing.h5")
			writeKeras2(t, p, seq(input(8), dense("fc", 4, nil)), map[string]map[string][]int{"fc": {"kernel:0": {8, 4}}}, map[string][]string{"fc": {"fc/bias:0"}})
			return []string{"run", p, "--input", file(d, "x.npy", npy(t, []int{1, 8}))}
		}, 1, []string{"missing.h5", "fc"}},
		hostile{"dense with 10^12 units", func(d string) []string {
			p := filepath.Join(d, "huge.h5")
			writeKeras2(t, p, seq(input(8), dense("fc", 1e12, nil)), map[string]map[string][]int{}, map[string][]string{"fc": nil})
			return []string{"summary", p}
		}, 1, []string{"huge.h5", "layer 'fc'", "units"}},
		hostile{"zero strides", func(d string) []string {
			cfg := seq(input(8, 8, 3), map[string]any{"class_name": "Conv2D", "config": map[string]any{"name": "conv", "filters": 4, "kernel_size": []int{3, 3}, "strides": []int{0, 0}, "padding": "valid", "activation": "relu", "use_bias": true}})
			b, _ := json.Marshal(cfg)
			return []string{"summary", file(d, "stride.json", b)}
		}, 1, []string{"stride.json", "layer 'conv'", "strides"}},
		hostile{"negative filters", func(d string) []string {
			cfg := seq(input(8, 8, 3), map[string]any{"class_name": "Conv2D", "config": map[string]any{"name": "conv", "filters": -4, "kernel_size": []int{3, 3}, "strides": []int{1, 1}, "padding": "valid", "activation": "relu", "use_bias": true}})
			b, _ := json.Marshal(cfg)
			return []string{"summary", file(d, "neg.json", b)}
		}, 1, []string{"neg.json", "layer 'conv'", "filters"}},
		hostile{"functional cycle", func(d string) []string {
			node := func(name string, in string) map[string]any {
				return map[string]any{"class_name": "Activation", "name": name, "config": map[string]any{"name": name, "activation": "relu"}, "inbound_nodes": []any{[]any{[]any{in, 0, 0, map[string]any{}}}}}
			}
			cfg := map[string]any{"class_name": "Model", "config": map[string]any{"name": "m",
				"layers":        []any{map[string]any{"class_name": "InputLayer", "name": "in", "config": map[string]any{"name": "in", "batch_input_shape": []any{nil, 4}}, "inbound_nodes": []any{}}, node("a", "b"), node("b", "a")},
				"input_layers":  []any{[]any{"in", 0, 0}},
				"output_layers": []any{[]any{"b", 0, 0}}}}
			b, _ := json.Marshal(cfg)
			return []string{"summary", file(d, "cycle.json", b)}
		}, 1, []string{"cycle.json", "layer 'a'"}},
		hostile{"unknown layer runs", func(d string) []string {
			cfg := seq(input(8), map[string]any{"class_name": "FancyLayer", "config": map[string]any{"name": "fancy"}})
			p := filepath.Join(d, "fancy.h5")
			writeKeras2(t, p, cfg, map[string]map[string][]int{"fancy": {"w:0": {8}}}, nil)
			return []string{"run", p, "--input", file(d, "x.npy", npy(t, []int{1, 8}))}
		}, 1, []string{"fancy.h5", "layer 'fancy'", "FancyLayer"}},
		hostile{"keras zip bomb", func(d string) []string {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			f, _ := zw.Create("config.json")
			chunk := bytes.Repeat([]byte(" "), 1<<20)
			for i := 0; i < 300; i++ {
				f.Write(chunk)
			}
			zw.Close()
			return []string{"summary", file(d, "bomb.keras", b.Bytes())}
		}, 1, []string{"bomb.keras"}},
		hostile{"keras zip with ../ names", func(d string) []string {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			zr, _ := zip.NewReader(bytes.NewReader(realZip), int64(len(realZip)))
			for _, m := range zr.File {
				rc, _ := m.Open()
				w, _ := zw.Create("../../" + m.Name)
				buf := new(bytes.Buffer)
				buf.ReadFrom(rc)
				w.Write(buf.Bytes())
			}
			zw.Close()
			return []string{"summary", file(d, "evil.keras", b.Bytes())}
		}, 1, []string{"evil.keras"}},
		hostile{"truncated npy input", func(d string) []string {
			full := npy(t, []int{1, 32, 32, 3})
			return []string{"run", filepath.Join(kerasTD, "cifar_small.h5"), "--input", file(d, "t.npy", full[:len(full)/2])}
		}, 1, []string{"t.npy"}},
		hostile{"text as npy", func(d string) []string {
			return []string{"run", filepath.Join(kerasTD, "cifar_small.h5"), "--input", file(d, "x.npy", []byte("1 2 3"))}
		}, 1, []string{"x.npy"}},
		hostile{"string dtype npy", func(d string) []string {
			hdr := "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }"
			data := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)+1), 0)
			data = append(append(data, hdr...), '\n')
			data = append(data, make([]byte, 24)...)
			return []string{"run", filepath.Join(kerasTD, "cifar_small.h5"), "--input", file(d, "s.npy", data)}
		}, 1, []string{"s.npy", "dtype"}},
		hostile{"unreadable image", func(d string) []string {
			return []string{"run", filepath.Join(kerasTD, "cifar_small.h5"), "--input", file(d, "cat.jpg", junk[:100])}
		}, 1, []string{"cat.jpg"}},
	)
	runHostile(t, cases)
}

// runHostile runs each case as a kconv command line and checks that it
// fails with the expected exit code and one clean line naming what the
// case wants named, in bounded time and memory, writing nothing outside
// the case's folder.
func runHostile(t *testing.T, cases []hostile) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			args := c.args(dir)
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			code, _, errs := kconv(t, args...)
			took := time.Since(start)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %q", code, c.code, errs)
			}
			lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
			last := lines[len(lines)-1]
			if c.code == 2 && len(lines) == 2 && strings.HasPrefix(lines[1], "Run 'kconv --help'") {
				last = lines[0] // usage errors add a hint line
			}
			if strings.Contains(errs, "internal error") || strings.Contains(errs, "goroutine ") || !strings.HasPrefix(last, "kconv: ") {
				t.Fatalf("not a clean error: %q", errs)
			}
			for _, w := range c.want {
				if !strings.Contains(last, w) {
					t.Errorf("error %q lacks %q", last, w)
				}
			}
			t.Logf("%s", last)
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 128<<20 {
				t.Errorf("allocated %d MB", grew>>20)
			}
			for _, ent := range mustReadDir(t, filepath.Dir(dir)) {
				if strings.Contains(ent, "..") {
					t.Errorf("file written outside: %s", ent)
				}
			}
		})
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func npy(t *testing.T, shape []int) []byte {
	n := 1
	for _, d := range shape {
		n *= d
	}
	var b bytes.Buffer
	if err := tensorio.EncodeNPY(&b, shape, make([]float32, n)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
