package optable

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	kexport "github.com/kconv/kconv/exporter/keras"
	kimport "github.com/kconv/kconv/importer/keras"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// keysGolden is the Keras key table as text, one line per key of each
// row (go test ./ir/optable -update rewrites it), so that a review shows
// what a change did to the keys kconv reads and writes.
const keysGolden = "testdata/keraskeys.txt"

// Every key of the Keras key table names attributes its row's op has, has
// a spelling, and belongs to classes of its row.
func TestKerasKeysNameAttributes(t *testing.T) {
	var text strings.Builder
	text.WriteString("# kind | Keras 2 key | Keras 3 key | older spellings read | attributes | classes\n")
	text.WriteString("# Regenerate: go test ./ir/optable -update\n")
	dash := func(s ...string) string {
		if len(s) == 0 || len(s) == 1 && s[0] == "" {
			return "-"
		}
		return strings.Join(s, " ")
	}
	for _, o := range ir.AllOps() {
		for _, k := range o.KerasKeys {
			k3 := dash(k.K3Name())
			if k.K3 == "" && k.Name != "" {
				k3 = "="
			}
			fmt.Fprintf(&text, "%s | %s | %s | %s | %s | %s\n", o.Kind, dash(k.Name), k3, dash(k.Old...), dash(k.Attrs...), dash(k.Classes...))
		}
		typ := reflect.TypeOf(o.Example().Op).Elem()
		for _, k := range o.KerasKeys {
			if len(k.Read()) == 0 {
				t.Errorf("%s: a Keras key without any spelling", o.Kind)
			}
			for _, a := range k.Attrs {
				f := typ
				for _, part := range strings.Split(a, ".") {
					sf, ok := f.FieldByName(part)
					if !ok {
						t.Errorf("%s: key %s carries attribute %s, which %s lacks", o.Kind, k.Read()[0], a, typ.Name())
						break
					}
					f = sf.Type
				}
			}
			for _, c := range k.Classes {
				if !slices.Contains(o.KerasClasses, c) && kerasNotOneKind[c] == "" {
					t.Errorf("%s: key %s is for class %s, which the row does not read", o.Kind, k.Read()[0], c)
				}
			}
		}
		if len(o.KerasClasses) > 0 && len(o.KerasKeys) == 0 && o.Kind != "InputLayer" && o.Kind != "Unknown" {
			t.Errorf("%s reads Keras classes %v but lists no config keys", o.Kind, o.KerasClasses)
		}
	}
	got := text.String()
	if *update {
		if err := os.WriteFile(keysGolden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(keysGolden)
	if err != nil {
		t.Fatalf("%v (go test ./ir/optable -update writes it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s differs at line %d (go test ./ir/optable -update rewrites it):\nwant: %s\n got: %s", keysGolden, i+1, w, g)
				break
			}
		}
	}
}

// keyCase is one model exporter/keras writes for the key test: a row's
// Example, or a variation of it (an activation layer class, a setting the
// Example leaves at its default).
type keyCase struct {
	name  string
	row   ir.OpInfo
	class string // the node's Class ("" keeps the op's Kind)
}

func keyCases() []keyCase {
	var cs []keyCase
	for _, o := range ir.AllOps() {
		if o.KerasExport == "" || o.Kind == "InputLayer" {
			continue
		}
		cs = append(cs, keyCase{name: o.Kind, row: o})
	}
	act, _ := ir.OpByKind("Activation")
	with := func(name string, o ir.OpInfo, op ir.Op, class string) keyCase {
		e := o.Example()
		o.Example = func() ir.OpExample { e.Op = op; return e }
		return keyCase{name: name, row: o, class: class}
	}
	for class, a := range map[string]ir.Act{
		"ReLU":            {Name: ir.ActReLU, MaxValue: 6, HasMax: true, Alpha: 0.1, Threshold: 0.5},
		"LeakyReLU":       {Name: ir.ActLeakyReLU, Alpha: 0.25},
		"ELU":             {Name: ir.ActELU, Alpha: 1},
		"Softmax":         {Name: ir.ActSoftmax, Axis: -1},
		"ThresholdedReLU": {Name: ir.ActReLU, Threshold: 0.5},
	} {
		cs = append(cs, with(class, act, &ir.Activation{Act: a}, class))
	}
	conv, _ := ir.OpByKind("Conv2DTranspose")
	cs = append(cs, with("Conv2DTranspose/output_padding", conv, &ir.Conv2DTranspose{Filters: 3,
		Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadSame}, UseBias: true, DataFormat: ir.ChannelsLast,
		OutputPadding: [2]int{1, 0}, HasOutputPadding: true}, ""))
	gp, _ := ir.OpByKind("GlobalAveragePooling2D")
	cs = append(cs, with("GlobalAveragePooling2D/keepdims", gp, &ir.GlobalPool2D{KeepDims: true, DataFormat: ir.ChannelsLast}, ""))
	lam, _ := ir.OpByKind("Lambda")
	cs = append(cs, with("Lambda/output_shape", lam, &ir.Lambda{Function: "vgg_preprocess", OutputShape: ir.Shape{4, 4, 3}}, ""))
	mp, _ := ir.OpByKind("MaxPooling2D")
	cs = append(cs, with("MaxPooling2D/same", mp, &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame},
		DataFormat: ir.ChannelsLast}, ""))
	slices.SortFunc(cs, func(a, b keyCase) int { return strings.Compare(a.name, b.name) })
	return cs
}

// kerasLayer is one layer of a written Keras config.
type kerasLayer struct {
	class string
	name  string
	cfg   map[string]any
}

func layersOf(t *testing.T, text string) (map[string]any, []kerasLayer) {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal([]byte(text), &top); err != nil {
		t.Fatalf("config: %v", err)
	}
	var out []kerasLayer
	for _, l := range top["config"].(map[string]any)["layers"].([]any) {
		lo := l.(map[string]any)
		cfg := lo["config"].(map[string]any)
		name, _ := cfg["name"].(string)
		out = append(out, kerasLayer{class: lo["class_name"].(string), name: name, cfg: cfg})
	}
	return top, out
}

// rowOfClass returns the row whose Keras classes include class.
func rowOfClass(class string) (ir.OpInfo, bool) {
	for _, o := range ir.AllOps() {
		if slices.Contains(o.KerasClasses, class) {
			return o, true
		}
	}
	return ir.OpInfo{}, false
}

// Every key exporter/keras writes (Keras 2 .h5 and Keras 3 .keras) is one
// that importer/keras reads for the layer's class — a key of the class's
// row in ir's Keras key table — or a fixed training setting
// (ir.KerasFixedKey); and importer/keras really reads it: in at least one
// of the models written, deleting it or giving it another value changes
// what the layer imports as (or makes it an error).
func TestKerasKeysRoundTrip(t *testing.T) {
	read := map[string]bool{} // class.key → detected as read
	for _, kc := range keyCases() {
		t.Run(kc.name, func(t *testing.T) {
			m, err := build(kc.row)
			if err != nil {
				t.Fatal(err)
			}
			if kc.class != "" {
				m.Node("y").Class = kc.class
			}
			dir := t.TempDir()
			h5path, k3path := filepath.Join(dir, "m.h5"), filepath.Join(dir, "m.keras")
			if err := kexport.WriteH5Model(m, h5path, kexport.H5Options{}); err != nil {
				t.Fatalf("export: %v", err)
			}
			k2text := modelConfig(t, h5path)
			top, k2 := layersOf(t, k2text)
			checkKeys(t, k2, false)
			if err := kexport.WriteKeras3(m, k3path, kexport.K3Options{}); err != nil {
				if !strings.Contains(err.Error(), "Keras 3") {
					t.Fatalf("export Keras 3: %v", err)
				}
				t.Logf("no Keras 3 file: %v", err)
			} else {
				_, k3 := layersOf(t, zipMember(t, k3path, "config.json"))
				checkKeys(t, k3, true)
			}
			probeKeys(t, top, k2, read)
		})
	}
	var unread []string
	for k, ok := range read {
		if !ok {
			unread = append(unread, k)
		}
	}
	slices.Sort(unread)
	for _, k := range unread {
		t.Errorf("key %s: in no model written does deleting or changing it change what importer/keras makes of the layer (is it read?)", k)
	}
}

func checkKeys(t *testing.T, layers []kerasLayer, keras3 bool) {
	t.Helper()
	vintage := "Keras 2"
	if keras3 {
		vintage = "Keras 3"
	}
	for _, l := range layers {
		row, ok := rowOfClass(l.class)
		if !ok {
			t.Errorf("%s: exporter/keras writes class %s, which no row of ir.AllOps reads", vintage, l.class)
			continue
		}
		for key := range l.cfg {
			if _, fixed := ir.KerasFixedKey(key); fixed {
				continue
			}
			if _, ok := ir.KerasKeyFor(row.KerasKeys, l.class, key, keras3); !ok {
				t.Errorf("%s: exporter/keras writes key %q for %s, which is not a key of row %s in ir's Keras key table (importer/keras does not read it)",
					vintage, key, l.class, row.Kind)
			}
		}
	}
}

// probeKeys changes each attribute key of each layer of a Keras 2 config
// and records in read (class.key) whether importer/keras then imports
// that layer differently (or fails).
func probeKeys(t *testing.T, top map[string]any, layers []kerasLayer, read map[string]bool) {
	t.Helper()
	base, err := kimport.ParseConfig([]byte(mustJSON(t, top)), "probe.json", kimport.Options{})
	if err != nil {
		t.Fatalf("read back the written config: %v", err)
	}
	for li, l := range layers {
		for key, v := range l.cfg {
			if _, fixed := ir.KerasFixedKey(key); fixed {
				continue
			}
			id := l.class + "." + key
			if read[id] {
				continue
			}
			read[id] = false
			for _, alt := range probeValues(v) {
				var cfg map[string]any
				if err := json.Unmarshal([]byte(mustJSON(t, top)), &cfg); err != nil {
					t.Fatal(err)
				}
				lc := cfg["config"].(map[string]any)["layers"].([]any)[li].(map[string]any)["config"].(map[string]any)
				if alt == nil {
					delete(lc, key)
				} else {
					lc[key] = alt
				}
				got, err := kimport.ParseConfig([]byte(mustJSON(t, cfg)), "probe.json", kimport.Options{})
				if err != nil || !sameOp(base, got, l.name) {
					read[id] = true
					break
				}
			}
		}
	}
}

// probeValues lists replacements for a config value: nil (delete the
// key), a value of the wrong type, and for strings, booleans and numbers
// another valid-looking one.
func probeValues(v any) []any {
	alts := []any{nil, map[string]any{"kconv": "probe"}}
	switch x := v.(type) {
	case string:
		for _, s := range []string{"same", "valid", "channels_first", "channels_last", "bilinear", "nearest", "softmax", "tanh", "raw", "lambda"} {
			if s != x {
				alts = append(alts, s)
			}
		}
	case bool:
		alts = append(alts, !x)
	case float64:
		alts = append(alts, x+1, -x-2)
	case nil:
		alts = append(alts, []any{2.0}, "same", true)
	case []any:
		if len(x) > 0 {
			alts = append(alts, x[:len(x)-1])
		}
		alts = append(alts, append(slices.Clone(x), 1.0))
	}
	return alts
}

// sameOp reports whether layer name imports as the same op in both models.
func sameOp(a, b *ir.Model, name string) bool {
	na, nb := a.Node(name), b.Node(name)
	if na == nil || nb == nil {
		return na == nb
	}
	return reflect.DeepEqual(na.Op, nb.Op)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// modelConfig returns the model_config attribute of a Keras .h5 file.
func modelConfig(t *testing.T, path string) string {
	t.Helper()
	f, err := h5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := f.Root().AttrString("model_config")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// zipMember returns a member of a zip file.
func zipMember(t *testing.T, path, name string) string {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		if f.Name == name {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("%s has no %s", path, name)
	return ""
}

// Every key variable of ir's Keras key table is used by importer/keras: a
// key in the table that no reader names would be a key kconv claims to
// read but ignores (the round-trip test proves this only for the keys
// exporter/keras writes; the sequence and attention layers are read-only).
func TestKerasKeysAreRead(t *testing.T) {
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, filepath.Join("..", "keraskeys.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, d := range af.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				if strings.HasPrefix(n.Name, "Key") {
					vars = append(vars, n.Name)
				}
			}
		}
	}
	if len(vars) < 40 {
		t.Fatalf("found only %d Key variables in ir/keraskeys.go: the test's view of it is out of date", len(vars))
	}
	used := map[string]bool{}
	files, err := filepath.Glob(filepath.Join("..", "..", "importer", "keras", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(x ast.Node) bool {
			if se, ok := x.(*ast.SelectorExpr); ok {
				if id, ok := se.X.(*ast.Ident); ok && id.Name == "ir" {
					used[se.Sel.Name] = true
				}
			}
			return true
		})
	}
	for _, v := range vars {
		if !used[v] {
			t.Errorf("ir.%s is in the Keras key table but importer/keras never reads it", v)
		}
	}
}
