package summary

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	sharedKeras3 = "../../shared/fixtures/keras3"
	vgg16Ref     = "../testdata/vgg16_summary.txt"
)

// readFixture reads a Keras 3 fixture summary from testdata/ or, failing
// that, from the shared fixtures beside the repository; it skips the test
// when neither has it.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	for _, dir := range []string{"testdata", sharedKeras3} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return b
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	t.Skipf("%s: not in testdata/ and %s is absent", name, sharedKeras3)
	return nil
}

func render(t *testing.T, m *ir.Model, o Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderWith(&buf, m, o); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestKeras3Fixtures(t *testing.T) {
	for _, tm := range testModels {
		if tm.fixture == "" {
			continue
		}
		t.Run(tm.name, func(t *testing.T) {
			want := string(readFixture(t, tm.fixture))
			got := render(t, tm.make(t), Options{Style: Keras3})
			if got != want {
				t.Errorf("Keras3 summary differs from %s\n%s", tm.fixture, lineDiff(got, want))
			}
			// Auto picks Keras3 for these Keras 3.16 models.
			if auto := render(t, tm.make(t), Options{}); auto != want {
				t.Errorf("Auto style differs from Keras3")
			}
		})
	}
}

// TestKeras3CopiesAreCurrent checks the testdata/ copies against the shared
// fixtures when both are there.
func TestKeras3CopiesAreCurrent(t *testing.T) {
	for _, name := range []string{"cifar_small.summary.txt", "resnet_block.summary.txt", "bn_net.summary.txt"} {
		shared, err := os.ReadFile(filepath.Join(sharedKeras3, name))
		if err != nil {
			t.Skipf("%s absent: %v", sharedKeras3, err)
		}
		local, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(shared, local) {
			t.Errorf("testdata/%s differs from %s/%s", name, sharedKeras3, name)
		}
	}
}

func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  got:  " + gl + "\n  want: " + wl + "\n")
		}
	}
	return b.String()
}

// tokens splits text into lines of whitespace-separated tokens, dropping
// blank lines.
func tokens(s string) [][]string {
	var out [][]string
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

func TestKeras1VGG16Reference(t *testing.T) {
	want, err := os.ReadFile(vgg16Ref)
	if err != nil {
		t.Fatal(err)
	}
	got := render(t, vgg16(t), Options{Style: Keras1})
	g, w := tokens(got), tokens(string(want))
	if len(g) != len(w) {
		t.Fatalf("%d non-blank lines, reference has %d\n%s", len(g), len(w), got)
	}
	for i := range g {
		if !reflect.DeepEqual(g[i], w[i]) {
			t.Errorf("line %d: got %q, reference %q", i+1, g[i], w[i])
		}
	}
	// Keras 1 wrote every line at the full line length of 100.
	for i, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if n := len([]rune(l)); n != 100 && !strings.HasPrefix(l, "Total params") {
			t.Errorf("line %d is %d wide: %q", i+1, n, l)
		}
	}
	if auto := render(t, vgg16(t), Options{}); auto != got {
		t.Errorf("Auto style of a Keras 1.2.2 model is not Keras1")
	}
}

// TestGolden compares every rendering of the test models with
// testdata/golden; go test ./summary -update rewrites them.
func TestGolden(t *testing.T) {
	for _, tm := range testModels {
		for _, v := range []struct {
			ext    string
			render func(*bytes.Buffer, *ir.Model) error
		}{
			{"keras1.txt", func(b *bytes.Buffer, m *ir.Model) error { return Render(b, m, Keras1) }},
			{"keras2.txt", func(b *bytes.Buffer, m *ir.Model) error { return Render(b, m, Keras2) }},
			{"keras3.txt", func(b *bytes.Buffer, m *ir.Model) error { return Render(b, m, Keras3) }},
			{"json", func(b *bytes.Buffer, m *ir.Model) error { return RenderJSON(b, m) }},
		} {
			name := tm.name + "." + v.ext
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := v.render(&buf, tm.make(t)); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", "golden", name)
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./summary -update)", err)
				}
				if buf.String() != string(want) {
					t.Errorf("%s differs\n%s", path, lineDiff(buf.String(), string(want)))
				}
			})
		}
	}
}

func TestKeras2Layout(t *testing.T) {
	seq := render(t, cifarSmall(t), Options{Style: Keras2})
	fun := render(t, resnetBlock(t), Options{Style: Keras2})
	chain := render(t, vgg16Arch(t), Options{Style: Keras2})
	for _, c := range []struct {
		name, text string
		width      int
		conn       bool
		input      bool
	}{
		{"sequential", seq, 65, false, false},
		{"functional", fun, 98, true, true},
		{"functional chain", chain, 65, false, true},
	} {
		lines := strings.Split(c.text, "\n")
		if !strings.HasPrefix(lines[0], `Model: "`) {
			t.Errorf("%s: first line %q", c.name, lines[0])
		}
		if len(lines[1]) != c.width {
			t.Errorf("%s: line length %d, want %d", c.name, len(lines[1]), c.width)
		}
		if got := strings.Contains(lines[2], "Connected to"); got != c.conn {
			t.Errorf("%s: Connected-to column %v, want %v", c.name, got, c.conn)
		}
		if got := strings.Contains(c.text, "(InputLayer)"); got != c.input {
			t.Errorf("%s: InputLayer row %v, want %v", c.name, got, c.input)
		}
	}
	if !strings.Contains(fun, "\nTotal params: 7,546\nTrainable params: 7,482\nNon-trainable params: 64\n") {
		t.Errorf("Keras2 totals:\n%s", fun)
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderJSON(&buf, resnetBlock(t)); err != nil {
		t.Fatal(err)
	}
	var s JSONSummary
	if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Model != "resnet_block" || s.Style != "keras3" || s.Sequential || len(s.Layers) != 17 {
		t.Fatalf("summary header: %+v", s)
	}
	bn := s.Layers[2]
	if bn.Name != "batch_normalization_2" || bn.Class != "BatchNormalization" || bn.Params != 64 ||
		bn.TrainableParams != 32 || bn.NonTrainableParams != 32 || !reflect.DeepEqual(bn.Inputs, []string{"conv2d_38"}) {
		t.Errorf("layer 2: %+v", bn)
	}
	if len(bn.OutputShape) != 4 || bn.OutputShape[0] != nil || *bn.OutputShape[3] != 16 {
		t.Errorf("output shape %v", bn.OutputShape)
	}
	if !strings.Contains(buf.String(), `"output_shape": [`+"\n        null,") {
		t.Errorf("None is not null:\n%s", buf.String())
	}
	if s.Totals != (JSONTotals{Params: 7546, TrainableParams: 7482, NonTrainableParams: 64}) {
		t.Errorf("totals %+v", s.Totals)
	}
}

func TestStyleFor(t *testing.T) {
	for _, c := range []struct {
		meta ir.Meta
		want Style
	}{
		{ir.Meta{KerasVersion: "1.2.2"}, Keras1},
		{ir.Meta{KerasVersion: "2.1.3"}, Keras2},
		{ir.Meta{KerasVersion: "3.16.0"}, Keras3},
		{ir.Meta{}, Keras3},
		{ir.Meta{KerasVersion: "weird"}, Keras3},
		{ir.Meta{Format: "onnx", KerasVersion: "2.4.0"}, Keras3},
	} {
		if got := StyleFor(&ir.Model{Meta: c.meta}); got != c.want {
			t.Errorf("StyleFor(%+v) = %v, want %v", c.meta, got, c.want)
		}
	}
	for in, want := range map[string]Style{"keras1": Keras1, "K2": Keras2, "3": Keras3, "": Auto, "auto": Auto} {
		if got, err := ParseStyle(in); err != nil || got != want {
			t.Errorf("ParseStyle(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseStyle("keras4"); err == nil {
		t.Error("ParseStyle(keras4): no error")
	}
	if err := Render(&bytes.Buffer{}, cifarSmall(t), Style(7)); err == nil {
		t.Error("Render with an unknown style: no error")
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 136874: "136,874", 138357544: "138,357,544", -1234: "-1,234"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
	for b, want := range map[float64]string{0: "0.00 B", 256: "256.00 B", 1023: "1023.00 B", 1024: "1.00 KB", 547496: "534.66 KB", 553430176: "527.79 MB", 5 << 30: "5.00 GB"} {
		if got := memorySize(b); got != want {
			t.Errorf("memorySize(%v) = %q, want %q", b, got, want)
		}
	}
	for _, c := range []struct {
		text  string
		width int
		right bool
		want  []string
	}{
		{"batch_normalization_2[0][0]", 26, false, []string{"batch_normalization_2[0][…"}},
		{"re_lu_9[0][0], conv2d_40[0][0]", 26, false, []string{"re_lu_9[0][0],            ", "conv2d_40[0][0]           "}},
		{"batch_normalization_2 (BatchNormalization)", 30, false, []string{"batch_normalization_2         ", "(BatchNormalization)          "}},
		{"1,234", 8, true, []string{"   1,234"}},
		{"", 3, false, []string{"   "}},
		{"a_very_long_layer_name_here (Dense)", 10, false, []string{"a_very_lo…", "(Dense)   "}},
		{"ab cd", 2, false, []string{"ab", "cd"}},
	} {
		if got := wrapCell(c.text, c.width, c.right); !reflect.DeepEqual(got, c.want) {
			t.Errorf("wrapCell(%q, %d) = %q, want %q", c.text, c.width, got, c.want)
		}
	}
	for _, c := range []struct {
		length    int
		positions []float64
		want      []int
	}{
		{110, []float64{0.45, 0.80, 1.0}, []int{48, 37, 21}},
		{110, []float64{0.3, 0.56, 0.74, 1.0}, []int{32, 27, 18, 28}},
	} {
		got, err := keras3ColumnWidths(c.length, c.positions)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("keras3ColumnWidths(%d, %v) = %v, %v; want %v", c.length, c.positions, got, err, c.want)
		}
	}
	// Any line length Keras accepts (no column under 4) gives a table
	// exactly that wide.
	for _, m := range []*ir.Model{resnetBlock(t), cifarSmall(t)} {
		for l := 24; l <= 250; l++ {
			var buf bytes.Buffer
			if err := RenderWith(&buf, m, Options{Style: Keras3, LineLength: l}); err != nil {
				if l >= 30 {
					t.Errorf("line length %d: %v", l, err)
				}
				continue
			}
			top := []rune(strings.Split(buf.String(), "\n")[1])
			if len(top) != l {
				t.Fatalf("line length %d: table is %d wide", l, len(top))
			}
		}
	}
	if err := RenderWith(&bytes.Buffer{}, resnetBlock(t), Options{Style: Keras3, LineLength: 10}); err == nil {
		t.Error("Keras3 at width 10: no error")
	}
}

// ---- Parse and Check.

func parseString(t *testing.T, s string) *Reference {
	t.Helper()
	ref, err := Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func diffStrings(ds []Diff) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

func TestParseKeras3Fixtures(t *testing.T) {
	entries, err := os.ReadDir(sharedKeras3)
	names := []string{"cifar_small.summary.txt", "resnet_block.summary.txt", "bn_net.summary.txt"}
	if err == nil {
		names = nil
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".summary.txt") {
				names = append(names, e.Name())
			}
		}
	}
	twins := map[string]func(testing.TB) *ir.Model{}
	for _, tm := range testModels {
		twins[tm.fixture] = tm.make
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ref := parseString(t, string(readFixture(t, name)))
			if ref.Style != Keras3 || ref.Model == "" || len(ref.Layers) == 0 || ref.Total < 0 || ref.Trainable < 0 || ref.NonTrainable < 0 {
				t.Fatalf("parsed %+v", ref)
			}
			var sum int64
			for _, l := range ref.Layers {
				sum += l.Params
				if l.Name == "" || l.Class == "" || !strings.HasPrefix(l.OutputShape, "(") || strings.Contains(l.Name, Ellipsis) {
					t.Errorf("row %+v", l)
				}
			}
			if sum != ref.Total || ref.Trainable+ref.NonTrainable != ref.Total {
				t.Errorf("rows sum to %d, totals %d = %d + %d", sum, ref.Total, ref.Trainable, ref.NonTrainable)
			}
			if mk := twins[name]; mk != nil {
				if ds := Check(mk(t), ref); len(ds) > 0 {
					t.Errorf("Check against the hand-built twin:\n%s", strings.Join(diffStrings(ds), "\n"))
				}
			}
		})
	}
}

func TestParseKeras3Cells(t *testing.T) {
	ref := parseString(t, string(readFixture(t, "resnet_block.summary.txt")))
	if !ref.HasConnections || ref.Model != "resnet_block" || len(ref.Layers) != 17 {
		t.Fatalf("parsed %+v", ref)
	}
	want := map[int]RefLayer{
		0:  {Name: "input_layer_7", Class: "InputLayer", OutputShape: "(None, 32, 32, 8)", Line: 5},
		2:  {Name: "batch_normalization_2", Class: "BatchNormalization", OutputShape: "(None, 32, 32, 16)", Params: 64, Inputs: []string{"conv2d_38[0][0]"}, Line: 9},
		3:  {Name: "re_lu_9", Class: "ReLU", OutputShape: "(None, 32, 32, 16)", Inputs: []string{"batch_normalization_2[0][…"}, Line: 12},
		8:  {Name: "add", Class: "Add", OutputShape: "(None, 32, 32, 16)", Inputs: []string{"re_lu_9[0][0]", "conv2d_40[0][0]"}, Line: 23},
		13: {Name: "concatenate", Class: "Concatenate", OutputShape: "(None, 32, 32, 32)", Inputs: []string{"conv2d_41[0][0]", "conv2d_42[0][0]", "max_pooling2d_15[0][0]"}, Line: 35},
	}
	for i, w := range want {
		if !reflect.DeepEqual(ref.Layers[i], w) {
			t.Errorf("layer %d = %+v, want %+v", i, ref.Layers[i], w)
		}
	}
}

func TestParseKeras1Reference(t *testing.T) {
	b, err := os.ReadFile(vgg16Ref)
	if err != nil {
		t.Fatal(err)
	}
	ref := parseString(t, string(b))
	if ref.Style != Keras1 || ref.Model != "" || !ref.HasConnections || len(ref.Layers) != 38 ||
		ref.Total != 138357544 || ref.Trainable != -1 || ref.NonTrainable != -1 {
		t.Fatalf("parsed %+v", ref)
	}
	first := RefLayer{Name: "lambda_1", Class: "Lambda", OutputShape: "(None, 3, 224, 224)", Inputs: []string{"lambda_input_1[0][0]"}, Line: 4}
	if !reflect.DeepEqual(ref.Layers[0], first) {
		t.Errorf("first layer %+v", ref.Layers[0])
	}
	if l := ref.Layers[35]; l.Name != "dense_2" || l.Params != 16781312 || l.OutputShape != "(None, 4096)" {
		t.Errorf("layer 36 %+v", l)
	}
	if ds := Check(vgg16(t), ref); len(ds) > 0 {
		t.Errorf("zoo.VGG16 against the reference:\n%s", strings.Join(diffStrings(ds), "\n"))
	}
}

func TestParseTFKeras215(t *testing.T) {
	b, err := os.ReadFile("testdata/tfkeras215_resnet_block.txt")
	if err != nil {
		t.Fatal(err)
	}
	ref := parseString(t, string(b))
	if ref.Style != Keras2 || len(ref.Layers) != 17 || ref.Total != 7546 || ref.NonTrainable != 64 {
		t.Fatalf("parsed %+v", ref)
	}
	if l := ref.Layers[2]; l.Name != "batch_normalization_2" || l.Class != "BatchNormalization" {
		t.Errorf("wrapped name: %+v", l)
	}
	if l := ref.Layers[0]; l.OutputShape != "(None, 32, 32, 8)" || len(l.Inputs) != 0 {
		t.Errorf("input layer: %+v", l)
	}
	if ds := Check(resnetBlock(t), ref); len(ds) > 0 {
		t.Errorf("Check:\n%s", strings.Join(diffStrings(ds), "\n"))
	}
}

// collapse joins runs of spaces into one, as the project's source notes did.
func collapse(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// TestRoundTrip renders every test model in every style, as printed and
// with collapsed spaces, parses it back and checks the model against it.
func TestRoundTrip(t *testing.T) {
	for _, tm := range testModels {
		for _, style := range []Style{Keras1, Keras2, Keras3} {
			m := tm.make(t)
			text := render(t, m, Options{Style: style})
			for _, variant := range []struct{ name, text string }{{"printed", text}, {"collapsed", collapse(text)}} {
				t.Run(tm.name+"/"+style.String()+"/"+variant.name, func(t *testing.T) {
					ref := parseString(t, variant.text)
					if ref.Style != style {
						t.Errorf("style %v, want %v", ref.Style, style)
					}
					if ds := Check(m, ref); len(ds) > 0 {
						t.Errorf("Check:\n%s", strings.Join(diffStrings(ds), "\n"))
					}
				})
			}
		}
	}
}

// TestParseTruncated parses Keras 1/2 rows whose fields were cut at their
// column ends (long names, a narrow line length).
func TestParseTruncated(t *testing.T) {
	m := resnetBlock(t)
	for _, l := range []int{60, 72} {
		text := render(t, m, Options{Style: Keras2, LineLength: l})
		for _, s := range []string{text, collapse(text)} {
			ref := parseString(t, s)
			truncated := 0
			for _, rl := range ref.Layers {
				if strings.HasSuffix(rl.Class, Ellipsis) || strings.HasSuffix(rl.Name, Ellipsis) {
					truncated++
				}
			}
			if truncated == 0 {
				t.Errorf("line length %d: nothing truncated:\n%s", l, s)
			}
			if ds := Check(m, ref); len(ds) > 0 {
				t.Errorf("line length %d:\n%s\n%s", l, strings.Join(diffStrings(ds), "\n"), s)
			}
		}
	}
	for _, l := range []int{36, 44, 60} {
		text := render(t, m, Options{Style: Keras3, LineLength: l})
		ref := parseString(t, text)
		if !strings.Contains(text, Ellipsis) {
			t.Errorf("line length %d: nothing truncated:\n%s", l, text)
		}
		if ds := Check(m, ref); len(ds) > 0 {
			t.Errorf("Keras3 line length %d:\n%s\n%s", l, strings.Join(diffStrings(ds), "\n"), text)
		}
	}
}

func TestCheckMutations(t *testing.T) {
	b, err := os.ReadFile(vgg16Ref)
	if err != nil {
		t.Fatal(err)
	}
	vggRef := string(b)
	resnetRef := string(readFixture(t, "resnet_block.summary.txt"))
	cifarRef := string(readFixture(t, "cifar_small.summary.txt"))
	replace := func(s, old, new string) string {
		t.Helper()
		if strings.Count(s, old) != 1 {
			t.Fatalf("%q occurs %d times", old, strings.Count(s, old))
		}
		return strings.Replace(s, old, new, 1)
	}
	const rule = "____________________________________________________________________________________________________\n"
	for _, c := range []struct {
		name  string
		model func(testing.TB) *ir.Model
		ref   string
		want  []string
	}{
		{"vgg16 unchanged", vgg16, vggRef, []string{}},
		{"one param", vgg16, replace(vggRef, " 36928 ", " 36929 "),
			[]string{"layer 5 'convolution2d_2': params 36928, reference 36929"}},
		{"one shape", vgg16, replace(vggRef, "(None, 128, 56, 56) 0 convolution2d_4", "(None, 128, 57, 56) 0 convolution2d_4"),
			[]string{"layer 11 'maxpooling2d_2': output shape (None, 128, 56, 56), reference (None, 128, 57, 56)"}},
		{"missing row", vgg16, replace(vggRef, "zeropadding2d_3 (ZeroPadding2D) (None, 64, 114, 114) 0 maxpooling2d_1[0][0]\n"+rule, ""),
			[]string{"layer 7 'zeropadding2d_3': not in the reference (ZeroPadding2D (None, 64, 114, 114) 0 params)"}},
		{"extra row", vgg16, replace(vggRef, "flatten_1 (Flatten)", "dropout_9 (Dropout) (None, 512, 7, 7) 0 maxpooling2d_5[0][0]\n"+rule+"flatten_1 (Flatten)"),
			[]string{"reference layer 33 'dropout_9': not in the model (reference: dropout_9 (Dropout) (None, 512, 7, 7) 0 params, line 68)"}},
		{"renamed layer", vgg16, replace(replace(vggRef, "dense_1 (Dense)", "dense_7 (Dense)"), "dense_1[0][0]", "dense_7[0][0]"),
			[]string{"layer 34 'dense_1': name dense_1, reference dense_7"}},
		{"class", vgg16, replace(vggRef, "flatten_1 (Flatten)", "flatten_1 (Reshape)"),
			[]string{"layer 33 'flatten_1': class Flatten, reference Reshape"}},
		{"total", vgg16, replace(vggRef, "Total params: 138357544", "Total params: 138357545"),
			[]string{"total params 138357544, reference 138357545"}},
		{"keras3 unchanged", resnetBlock, resnetRef, []string{}},
		{"keras3 inputs", resnetBlock, replace(resnetRef, "│ re_lu_9[0][0],             │", "│ re_lu_10[0][0],            │"),
			[]string{"layer 9 'add': inputs re_lu_9[0][0], conv2d_40[0][0], reference re_lu_10[0][0], conv2d_40[0][0]"}},
		{"keras3 params and totals", resnetBlock, replace(replace(resnetRef, "│            1,160 │", "│            1,161 │"), "Non-trainable params: 64 ", "Non-trainable params: 65 "),
			[]string{"layer 12 'conv2d_42': params 1160, reference 1161", "non-trainable params 64, reference 65"}},
		{"keras3 sequential row missing", cifarSmall, replace(cifarRef,
			"│ flatten_2 (Flatten)                            │ (None, 2048)                        │                   0 │\n"+
				"├────────────────────────────────────────────────┼─────────────────────────────────────┼─────────────────────┤\n", ""),
			[]string{"layer 5 'flatten_2': not in the reference (Flatten (None, 2048) 0 params)"}},
		{"wrong model", cifarSmall, vggRef, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := diffStrings(Check(c.model(t), parseString(t, c.ref)))
			if c.want == nil {
				if len(got) < 10 {
					t.Errorf("only %d diffs: %q", len(got), got)
				}
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("diffs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "hello\nworld\n", "Layer (type) Output Shape Param #\n=====\nfoo (Dense) (None, 3) many\n"} {
		if _, err := Parse(strings.NewReader(s)); err == nil {
			t.Errorf("Parse(%q): no error", s)
		}
	}
}
