package graph

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func vgg16(t *testing.T) *ir.Model {
	t.Helper()
	m, err := zoo.VGG16()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// functional is a small functional model: a residual Add, a Concatenate
// with a 1×1 branch, batch norm, and two outputs.
func functional(t *testing.T) *ir.Model {
	t.Helper()
	const df = ir.ChannelsLast
	conv := func(filters, k int, act string) *ir.Conv2D {
		return &ir.Conv2D{Filters: filters, Window2D: ir.Window2D{KH: k, KW: k, SH: 1, SW: 1, Padding: ir.PadSame},
			UseBias: true, Activation: ir.Act{Name: ir.ActName(act)}, DataFormat: df}
	}
	b := ir.NewBuilder("resnet_block")
	x := b.Input("image", ir.Shape{32, 32, 3}, df)
	c1 := b.Add("conv1", conv(16, 3, "relu"), x)
	bn := b.Add("bn1", &ir.BatchNorm{Axis: -1, Epsilon: 1e-3, Center: true, Scale: true}, c1)
	c2 := b.Add("conv2", conv(16, 3, ""), bn)
	add := b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, c1, c2)
	relu := b.Add("relu", &ir.Activation{Act: ir.Act{Name: "relu"}}, add)
	side := b.Add("shortcut", conv(8, 1, ""), x)
	cat := b.Add("concat", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, relu, side)
	gap := b.Add("gap", &ir.GlobalPool2D{DataFormat: df}, cat)
	probs := b.Add("probs", &ir.Dense{Units: 10, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}}, gap)
	aux := b.Add("aux", &ir.Dense{Units: 1, UseBias: true}, gap)
	m, err := b.Build(probs, aux)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func dotOf(t *testing.T, m *ir.Model, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteDOT(&buf, m, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file  string
		model func(*testing.T) *ir.Model
	}{
		{"vgg16.dot", vgg16},
		{"functional.dot", functional},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := dotOf(t, tc.model(t), Options{})
			if again := dotOf(t, tc.model(t), Options{}); !bytes.Equal(got, again) {
				t.Fatal("output differs between two runs")
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./graph -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("DOT differs from %s (run go test ./graph -update after checking the change)\ngot:\n%s", path, got)
			}
			checkDot(t, got)
		})
	}
}

func TestStructure(t *testing.T) {
	m := functional(t)
	s := string(dotOf(t, m, Options{}))
	for _, want := range []string{
		"rankdir=TB",
		`"conv1" -> "add";`, `"conv2" -> "add";`, // residual
		`"relu" -> "concat";`, `"shortcut" -> "concat";`,
		`"gap" -> "probs";`, `"gap" -> "aux";`,
		"(None, 32, 32, 24)", // concat output
		"activation", "softmax",
		"448",                   // conv1: 3*3*3*16 + 16
		"64 (32 non-trainable)", // bn1
		`COLOR="` + borderInput + `"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("DOT lacks %q", want)
		}
	}
	// Both outputs are marked, not just the last node.
	if n := strings.Count(s, `COLOR="`+borderOutput+`"`); n != 2 {
		t.Errorf("%d output-marked nodes, want 2", n)
	}
	if n := strings.Count(s, " -> "); n != 12 {
		t.Errorf("%d edges, want 12", n)
	}
	lr := string(dotOf(t, m, Options{RankDir: "lr"}))
	if !strings.Contains(lr, "rankdir=LR") {
		t.Error("RankDir LR not applied")
	}
	var buf bytes.Buffer
	if err := WriteDOT(&buf, m, Options{RankDir: "sideways"}); err == nil {
		t.Error("bad RankDir accepted")
	}
}

func TestBadModel(t *testing.T) {
	m := &ir.Model{Name: "bad", Nodes: []*ir.Node{{Name: "a", Op: &ir.Dense{Units: 1}, Inputs: []string{"ghost"}}}}
	if err := WriteDOT(&bytes.Buffer{}, m, Options{}); err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("dangling input: err = %v", err)
	}
	if err := WriteDOT(&bytes.Buffer{}, nil, Options{}); err == nil {
		t.Error("nil model accepted")
	}
}

func TestEscaping(t *testing.T) {
	names := []string{`a"b`, `x<y>&z`, `back\slash`, `conv/1:0`, `trail\`, "new\nline", "bad\xffutf8"}
	b := ir.NewBuilder(`model "<&>" \`)
	b.Input(names[0], ir.Shape{4}, ir.LayoutNone)
	for _, n := range names[1:] {
		b.Add(n, &ir.Dense{Units: 4, UseBias: true})
	}
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	m.Nodes[1].Class = `Cls<&>"`
	s := string(dotOf(t, m, Options{}))
	for _, want := range []string{
		`"a\"b" [label=<`, `<B>a&quot;b</B>`,
		`"x<y>&z" [label=<`, `<B>x&lt;y&gt;&amp;z</B>`, `Cls&lt;&amp;&gt;&quot;`,
		`"back\\slash" [label=<`, `<B>back\slash</B>`,
		`"conv/1:0" [label=<`, `<B>conv/1:0</B>`,
		`"trail\\" [label=<`,
		`"new\x0aline" [label=<`, "<B>new\uFFFDline</B>",
		`"bad\xffutf8" [label=<`, "<B>bad\uFFFDutf8</B>",
		`"a\"b" -> "x<y>&z";`,
		`digraph "model \"<&>\" \\" {`, `<B>model &quot;&lt;&amp;&gt;&quot; \</B>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("DOT lacks %q", want)
		}
	}
	for _, bad := range []string{"x<y>&z</B>", "\n\t\"new\nline", "\xff"} {
		if strings.Contains(s, bad) {
			t.Errorf("DOT contains unescaped %q", bad)
		}
	}
	// Graphviz itself must parse it and keep every node distinct.
	out := checkDot(t, []byte(s))
	if out != nil {
		if n := bytes.Count(out, []byte(`class="node"`)); n != len(names) {
			t.Errorf("dot drew %d nodes, want %d", n, len(names))
		}
		if !bytes.Contains(out, []byte("x&lt;y&gt;&amp;z")) {
			t.Error("SVG lacks the escaped name x<y>&z")
		}
	}
}

// checkDot runs Graphviz on src when it is installed and returns the SVG.
func checkDot(t *testing.T, src []byte) []byte {
	t.Helper()
	dot, err := exec.LookPath("dot")
	if err != nil {
		return nil
	}
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin = bytes.NewReader(src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("dot rejects the DOT: %v: %s", err, stderr.String())
	}
	return out
}

func TestFormatFor(t *testing.T) {
	for in, want := range map[string]string{"a.dot": "dot", "a.GV": "dot", "x/y.svg": "svg", "m.PNG": "png"} {
		if got, err := FormatFor(in); err != nil || got != want {
			t.Errorf("FormatFor(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"a.pdf", "a", "a.dot.txt"} {
		if _, err := FormatFor(in); err == nil {
			t.Errorf("FormatFor(%q) accepted", in)
		}
	}
}

func TestRenderDot(t *testing.T) {
	m := functional(t)
	dst := filepath.Join(t.TempDir(), "m.dot")
	if err := Render(m, "dot", dst, false); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, dotOf(t, m, Options{})) {
		t.Error("rendered .dot differs from WriteDOT's output")
	}
	// No overwrite without force; the file is left alone.
	err = Render(vgg16(t), "dot", dst, false)
	if !errors.Is(err, atomicfile.ErrExists) {
		t.Fatalf("overwrite without force: err = %v", err)
	}
	if again, _ := os.ReadFile(dst); !bytes.Equal(again, got) {
		t.Error("existing file changed without force")
	}
	if err := Render(vgg16(t), "dot", dst, true, Options{RankDir: "LR"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(dst); !bytes.Contains(again, []byte("rankdir=LR")) || !bytes.Contains(again, []byte("sequential_1")) {
		t.Error("force did not replace the file")
	}
	if err := Render(m, "pdf", filepath.Join(t.TempDir(), "m.pdf"), false); err == nil {
		t.Error("unknown format accepted")
	}
	noTemps(t, filepath.Dir(dst))
}

func TestRenderSVG(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz's dot is not installed")
	}
	dir := t.TempDir()
	svg := filepath.Join(dir, "vgg16.svg")
	if err := Render(vgg16(t), "svg", svg, false); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("<?xml")) && !bytes.Contains(got, []byte("<svg")) {
		t.Errorf("not SVG: %.100q", got)
	}
	if !bytes.Contains(got, []byte("convolution2d_13")) {
		t.Error("SVG lacks a layer name")
	}
	if err := Render(vgg16(t), "svg", svg, false); !errors.Is(err, atomicfile.ErrExists) {
		t.Errorf("overwrite without force: err = %v", err)
	}
	png := filepath.Join(dir, "m.png")
	if err := Render(functional(t), "png", png, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(png); !bytes.HasPrefix(got, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("not PNG: %.16q", got)
	}
	noTemps(t, dir)
}

func TestRenderNoDot(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dst := filepath.Join(t.TempDir(), "m.svg")
	err := Render(functional(t), "svg", dst, false)
	if !errors.Is(err, ErrNoDot) {
		t.Fatalf("err = %v, want ErrNoDot", err)
	}
	const want = "svg output needs Graphviz's dot program (apt-get install graphviz); write .dot instead"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("%s exists after the failure", dst)
	}
	// .dot output needs no Graphviz.
	if err := Render(functional(t), "dot", filepath.Join(filepath.Dir(dst), "m.dot"), false); err != nil {
		t.Error(err)
	}
}

// fakeDot puts a dot program running script first on the PATH.
func fakeDot(t *testing.T, script string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell-script stand-in for dot")
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "dot"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestRenderDotFails(t *testing.T) {
	// dot writes half an output, complains and fails: no file is left.
	fakeDot(t, `cat >/dev/null; printf '<?xml half'; echo "Error: <stdin>: syntax error in line 3" >&2; echo "second line" >&2; exit 1`)
	dir := t.TempDir()
	dst := filepath.Join(dir, "m.svg")
	err := Render(functional(t), "svg", dst, false)
	if err == nil {
		t.Fatal("no error")
	}
	if msg := err.Error(); !strings.Contains(msg, "syntax error in line 3; second line") || strings.Contains(msg, "\n") {
		t.Errorf("err = %q, want dot's stderr on one line", msg)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("%s exists after the failure", dst)
	}
	noTemps(t, dir)
}

func TestRenderDotEmpty(t *testing.T) {
	fakeDot(t, `cat >/dev/null; exit 0`)
	dir := t.TempDir()
	if err := Render(functional(t), "png", filepath.Join(dir, "m.png"), false); err == nil || !strings.Contains(err.Error(), "no output") {
		t.Errorf("err = %v, want no output", err)
	}
	noTemps(t, dir)
}

func TestRenderTimeout(t *testing.T) {
	fakeDot(t, `exec sleep 30`)
	dir := t.TempDir()
	start := time.Now()
	err := Render(functional(t), "svg", filepath.Join(dir, "m.svg"), false, Options{Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	noTemps(t, dir)
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 138357544: "138,357,544", -1234: "-1,234"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}
