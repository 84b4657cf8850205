package keras

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kimport "github.com/kconv/kconv/importer/keras"
	"github.com/kconv/kconv/internal/h5"
)

// readZip returns the member names (in order) and contents of a zip.
func readZip(t *testing.T, path string) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	data := map[string][]byte{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		data[f.Name] = b
	}
	return names, data
}

// skeleton describes a JSON value's structure: objects as their keys in
// order with each value's skeleton, arrays element by element, scalars by
// JSON type. Keras's shared_object_id (an artifact of which layers shared
// one Python dtype-policy object) is left out.
func skeleton(v any) string { return describeJSON(v, false) }

// describeJSON is skeleton, with scalar values when values is set.
func describeJSON(v any, values bool) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			// encoding/json loses the order; keysInOrder keeps it.
			b.WriteString("{")
			for _, k := range orderedKeys(x) {
				if k == "shared_object_id" {
					continue
				}
				b.WriteString(k + ":")
				walk(x[k])
				b.WriteString(",")
			}
			b.WriteString("}")
		case []any:
			b.WriteString("[")
			for _, e := range x {
				walk(e)
				b.WriteString(",")
			}
			b.WriteString("]")
		case nil:
			b.WriteString("null")
		case bool:
			b.WriteString("bool")
			if values {
				fmt.Fprintf(&b, "=%v", x)
			}
		case json.Number:
			b.WriteString("num")
			if values {
				fmt.Fprintf(&b, "=%s", x)
			}
		case string:
			b.WriteString("str")
			if values {
				fmt.Fprintf(&b, "=%q", x)
			}
		}
	}
	walk(v)
	return b.String()
}

// orderedMap is decoded with its key order (orderedKeys).
const orderKey = "\x00order"

func orderedKeys(m map[string]any) []string {
	if o, ok := m[orderKey].([]string); ok {
		return o
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// decodeOrdered decodes JSON keeping each object's key order.
func decodeOrdered(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var parse func() any
	parse = func() any {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch d := tok.(type) {
		case json.Delim:
			switch d {
			case '{':
				m := map[string]any{}
				var order []string
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						t.Fatal(err)
					}
					k := kt.(string)
					order = append(order, k)
					m[k] = parse()
				}
				dec.Token()
				m[orderKey] = order
				return m
			case '[':
				var a []any
				for dec.More() {
					a = append(a, parse())
				}
				dec.Token()
				if a == nil {
					a = []any{}
				}
				return a
			}
		}
		return tok
	}
	return parse()
}

// layersByName returns a config's layers by name.
func layersByName(cfg any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, l := range cfg.(map[string]any)["config"].(map[string]any)["layers"].([]any) {
		lm := l.(map[string]any)
		out[lm["config"].(map[string]any)["name"].(string)] = lm
	}
	return out
}

// isSequential reports whether a config is a Sequential model.
func isSequential(cfg any) bool { return cfg.(map[string]any)["class_name"] == "Sequential" }

// compareConfigs compares kconv's config with Keras's, structure (keys in
// order, JSON types) and then values: the whole config for a Functional
// model; layer by layer (every key but
// inbound_nodes and name, which Sequential layers lack) for a Sequential
// one, which kconv writes as the equivalent Functional model. It returns
// the number of layers compared.
func compareConfigs(t *testing.T, what string, keras, ours any) int {
	t.Helper()
	kl, ol := layersByName(keras), layersByName(ours)
	if !isSequential(keras) {
		if ks, os := skeleton(keras), skeleton(ours); ks != os {
			t.Errorf("%s: structure differs from Keras's\nkeras: %s\nkconv: %s", what, ks, os)
		}
		if ks, os := describeJSON(keras, true), describeJSON(ours, true); ks != os {
			t.Errorf("%s: values differ from Keras's\nkeras: %s\nkconv: %s", what, ks, os)
		}
		return len(kl)
	}
	n := 0
	for name, k := range kl {
		o, ok := ol[name]
		if !ok {
			t.Errorf("%s: layer %s missing", what, name)
			continue
		}
		delete(o, "inbound_nodes")
		delete(o, "name")
		o[orderKey] = slices.DeleteFunc(slices.Clone(o[orderKey].([]string)), func(s string) bool { return s == "name" || s == "inbound_nodes" })
		if ks, os := skeleton(k), skeleton(o); ks != os {
			t.Errorf("%s: layer %s structure differs from Keras's\nkeras: %s\nkconv: %s", what, name, ks, os)
		} else if ks, os := describeJSON(k, true), describeJSON(o, true); ks != os {
			t.Errorf("%s: layer %s values differ from Keras's\nkeras: %s\nkconv: %s", what, name, ks, os)
		}
		n++
	}
	return n
}

// dropInput removes the InputLayer's lines from an h5Tree (a Sequential
// model's files have no InputLayer).
func dropInput(tree []string, inputGroup string) []string {
	return slices.DeleteFunc(slices.Clone(tree), func(s string) bool {
		return strings.Contains(s, "/"+inputGroup+"/") || strings.HasSuffix(s, "/"+inputGroup) || strings.Contains(s, "/"+inputGroup+"@")
	})
}

func diffLines(a, b []string) string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "- "+x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, "+ "+x)
		}
	}
	return strings.Join(out, "\n")
}

// TestKeras3MatchesKerasFiles reads each Keras 3.16 file of
// ../shared/fixtures/keras3, writes it back with WriteKeras3 and
// WriteKeras3H5, and compares the structure with Keras's own files: zip
// members and their order, metadata.json's keys, config.json (keys in
// order, JSON types and values, recursively; see compareConfigs), and both HDF5
// files' groups, datasets (names, shapes, element types) and attribute
// names. The written files must also compute what the fixture computes.
func TestKeras3MatchesKerasFiles(t *testing.T) {
	fx, _ := filepath.Glob(filepath.Join(sharedKeras3, "*.keras"))
	if len(fx) == 0 {
		t.Skipf("%s not found: Keras 3 structure comparison skipped", sharedKeras3)
	}
	for _, path := range fx {
		name := strings.TrimSuffix(filepath.Base(path), ".keras")
		t.Run(name, func(t *testing.T) {
			m, err := kimport.Load(path, kimport.Options{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, name+".keras")
			if err := WriteKeras3(m, out, K3Options{}); err != nil {
				t.Fatal(err)
			}
			kn, kd := readZip(t, path)
			on, od := readZip(t, out)
			if !slices.Equal(kn, on) {
				t.Errorf("zip members %v, Keras wrote %v", on, kn)
			}
			if km, om := zipMethods(t, path), zipMethods(t, out); !slices.Equal(km, om) {
				t.Errorf("zip member methods/dates/extras %v, Keras wrote %v", om, km)
			}
			if ks, os := skeleton(decodeOrdered(t, kd["metadata.json"])), skeleton(decodeOrdered(t, od["metadata.json"])); ks != os {
				t.Errorf("metadata.json %s, Keras wrote %s", os, ks)
			}
			kcfg, ocfg := decodeOrdered(t, kd["config.json"]), decodeOrdered(t, od["config.json"])
			nl := compareConfigs(t, "config.json", kcfg, ocfg)
			seq := isSequential(kcfg)

			kw, ow := filepath.Join(dir, "keras.weights.h5"), filepath.Join(dir, "ours.weights.h5")
			os.WriteFile(kw, kd["model.weights.h5"], 0o644)
			os.WriteFile(ow, od["model.weights.h5"], 0o644)
			kt, ot := h5Tree(t, kw), h5Tree(t, ow)
			if seq {
				ot = dropInput(ot, "input_layer")
			}
			if !slices.Equal(kt, ot) {
				t.Errorf("model.weights.h5 differs from Keras's (- Keras only, + kconv only):\n%s", diffLines(kt, ot))
			}

			// Keras 3's legacy h5, when the fixture has one.
			kh5 := filepath.Join(sharedKeras3, name+".h5")
			if _, err := os.Stat(kh5); err == nil {
				oh5 := filepath.Join(dir, name+".h5")
				if err := WriteKeras3H5(m, oh5, K3Options{}); err != nil {
					t.Fatal(err)
				}
				kt, ot := h5Tree(t, kh5), h5Tree(t, oh5)
				if seq {
					// Keras 3 nests a Sequential model's weights under
					// its name (<layer>/<model>/<layer>/<weight>); a
					// Functional model's, as kconv writes, are
					// <layer>/<layer>/<weight>.
					seqName := "/" + kcfg.(map[string]any)["config"].(map[string]any)["name"].(string) + "/"
					kt = slices.DeleteFunc(kt, func(s string) bool { return strings.HasSuffix(s, strings.TrimSuffix(seqName, "/")) })
					for i, s := range kt {
						kt[i] = strings.Replace(s, seqName, "/", 1)
					}
					slices.Sort(kt)
					ot = dropInput(ot, m.Inputs[0])
				}
				if !slices.Equal(kt, ot) {
					t.Errorf("legacy .h5 differs from Keras's (- Keras only, + kconv only):\n%s", diffLines(kt, ot))
				}
				compareConfigs(t, "legacy model_config", decodeOrdered(t, []byte(attrString(t, kh5, "model_config"))),
					decodeOrdered(t, []byte(attrString(t, oh5, "model_config"))))
				back, err := kimport.Load(oh5, kimport.Options{})
				if err != nil {
					t.Fatal(err)
				}
				// A fresh copy: a .keras model's weights are read once.
				m2, err := kimport.Load(path, kimport.Options{})
				if err != nil {
					t.Fatal(err)
				}
				sameOutputs(t, m2, back)
			}
			back, err := kimport.Load(out, kimport.Options{})
			if err != nil {
				t.Fatal(err)
			}
			sameOutputs(t, m, back)
			t.Logf("%d layers, %d HDF5 objects compared", nl, len(kt))
		})
	}
}

// attrString reads a root string attribute.
func attrString(t *testing.T, path, name string) string {
	t.Helper()
	f, err := h5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := f.Root().AttrString(name)
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", path, err))
	}
	return s
}

// zipMethods describes each member's compression method, whether it is
// dated 1980-01-01 (Python's ZipInfo default) and its extra field length.
func zipMethods(t *testing.T, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []string
	for _, f := range zr.File {
		out = append(out, fmt.Sprintf("%s:method %d, 1980 %v, extra %d", f.Name, f.Method, f.ModifiedDate == 33 && f.ModifiedTime == 0, len(f.Extra)))
	}
	return out
}

// TestSnakeCase checks snakeCase against the values Keras 3.16's
// naming.to_snake_case gives (computed with its regular expressions in
// Python).
func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"ReLU": "re_lu", "DepthwiseConv2D": "depthwise_conv2d", "Conv2DTranspose": "conv2d_transpose",
		"SeparableConv2D": "separable_conv2d", "PReLU": "p_re_lu", "GlobalAveragePooling2D": "global_average_pooling2d",
		"UpSampling2D": "up_sampling2d", "ZeroPadding2D": "zero_padding2d", "LeakyReLU": "leaky_re_lu", "ELU": "elu",
		"InputLayer": "input_layer", "BatchNormalization": "batch_normalization", "MaxPooling2D": "max_pooling2d",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every k3Keys entry names a key (k3 takes ir.KerasKey values and fixed
// keys' names only).
func TestK3KeysNamed(t *testing.T) {
	for class, keys := range k3Keys {
		for i, k := range keys {
			if k.K3Name() == "" {
				t.Errorf("k3Keys[%s][%d] has no name", class, i)
			}
		}
	}
}
