package optable

import (
	"context"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	kexport "github.com/kconv/kconv/exporter/keras"
	oexport "github.com/kconv/kconv/exporter/onnx"
	kimport "github.com/kconv/kconv/importer/keras"
	oimport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/internal/refcheck"
	"github.com/kconv/kconv/ir"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/optable.txt")

// golden is the op table as the code behaves, one line per kind, kept in
// testdata/optable.txt so that a review shows what a change did to what
// kconv reads, writes and runs (go test ./ir/optable -update rewrites it).
const golden = "testdata/optable.txt"

// Every Op type declared in package ir has at least one row, each row's
// Kind is its Example's, and kinds are unique.
func TestEveryOpTypeHasARow(t *testing.T) {
	types := opTypes(t, filepath.Join("..")) // package ir's sources
	if len(types) < 20 {
		t.Fatalf("found only %d Op types in ir's sources: %v", len(types), types)
	}
	covered := map[string]bool{}
	seen := map[string]bool{}
	for _, o := range ir.AllOps() {
		if seen[o.Kind] {
			t.Errorf("kind %s has two rows", o.Kind)
		}
		seen[o.Kind] = true
		e := o.Example()
		if e.Op == nil {
			t.Errorf("%s: Example has no op", o.Kind)
			continue
		}
		if k := e.Op.Kind(); k != o.Kind {
			t.Errorf("row %s: its Example's Kind is %s", o.Kind, k)
		}
		covered[reflect.TypeOf(e.Op).Elem().Name()] = true
		if _, ok := ir.OpByKind(o.Kind); !ok {
			t.Errorf("OpByKind(%q) finds no row", o.Kind)
		}
	}
	for _, ty := range types {
		if !covered[ty] {
			t.Errorf("ir.%s is an Op (it has a Kind method) but no row of ir.AllOps uses it: add one to ir/optable.go", ty)
		}
	}
}

// opTypes parses package ir's non-test sources in dir and returns the
// types with a Kind() string method (pointer receivers included).
func opTypes(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != "Kind" || len(fd.Recv.List) != 1 {
				continue
			}
			rt := fd.Recv.List[0].Type
			if s, ok := rt.(*ast.StarExpr); ok {
				rt = s.X
			}
			if id, ok := rt.(*ast.Ident); ok && !slices.Contains(out, id.Name) {
				out = append(out, id.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Each Example is valid under its op's shape and parameter rules.
func TestExamplesFollowTheRules(t *testing.T) {
	for _, o := range ir.AllOps() {
		if o.Kind == "InputLayer" {
			continue
		}
		m, err := build(o)
		if err != nil {
			t.Errorf("%s: %v", o.Kind, err)
			continue
		}
		n := m.Node("y")
		for _, s := range n.Specs {
			if !s.Shape.Known() || s.Shape.Elements() < 1 {
				t.Errorf("%s: weight %s has shape %v", o.Kind, s.Name, s.Shape)
			}
		}
	}
}

// caseStrings returns the string literals of the case clauses of every
// switch statement in dir's non-test sources matching glob whose tag is tag
// (an identifier, or the selector's field name).
func caseStrings(t *testing.T, dir, glob, tag string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(x ast.Node) bool {
			sw, ok := x.(*ast.SwitchStmt)
			if !ok || sw.Tag == nil {
				return true
			}
			name := ""
			switch e := sw.Tag.(type) {
			case *ast.Ident:
				name = e.Name
			case *ast.SelectorExpr:
				name = e.Sel.Name
			}
			if name != tag {
				return true
			}
			for _, st := range sw.Body.List {
				for _, v := range st.(*ast.CaseClause).List {
					if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						out[s] = true
					}
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Fatalf("no switch on %s with string cases in %s: the test's view of the importer is out of date", tag, dir)
	}
	return out
}

// Classes importer/keras's class switch reads that are not one op kind.
var kerasNotOneKind = map[string]string{
	"Merge": "Keras 1 Merge: its mode picks the Merge kind (Add, Concatenate, ...)",
}

// ONNX op types importer/onnx handles that never become a node of their
// own: they are folded into constants or absorbed by their neighbours.
var onnxFolded = map[string]string{
	"Cast": "folded", "CastLike": "folded", "Shape": "folded",
	"Sum":     "n-ary Add: Merge Add",
	"Squeeze": "ReshapeTo or folded", "Unsqueeze": "ReshapeTo or folded",
	"Identity": "dropped",
	// Folded when every input is a constant (Swin's shifted-window mask);
	// a computed input is refused naming the node.
	"Range": "folded", "Mod": "folded", "Fmod": "folded", "ScatterND": "folded", "Where": "folded",
	"Equal": "folded", "Less": "folded", "LessOrEqual": "folded", "Greater": "folded", "GreaterOrEqual": "folded",
	"Not": "folded", "And": "folded", "Or": "folded", "Xor": "folded",
	"Einsum": "batched matrix products only: Transpose + MatMul",
}

// The table's Keras class names are exactly what importer/keras's layer
// switch reads.
func TestKerasClassesMatchImporter(t *testing.T) {
	imp := caseStrings(t, filepath.Join("..", "..", "importer", "keras"), "layers*.go", "class")
	table := map[string]string{}
	for _, o := range ir.AllOps() {
		for _, c := range o.KerasClasses {
			table[c] = o.Kind
			if !imp[c] && c != "InputLayer" {
				t.Errorf("%s lists Keras class %s, which importer/keras's class switch does not read", o.Kind, c)
			}
		}
	}
	for c := range imp {
		if _, ok := table[c]; !ok && kerasNotOneKind[c] == "" {
			t.Errorf("importer/keras reads class %s, which no row of ir.AllOps lists in KerasClasses", c)
		}
	}
}

// The table's ONNX op types are what importer/onnx's op switch handles.
func TestONNXOpsMatchImporter(t *testing.T) {
	imp := caseStrings(t, filepath.Join("..", "..", "importer", "onnx"), "*.go", "op")
	table := map[string]bool{}
	for _, o := range ir.AllOps() {
		for _, c := range o.ONNX {
			table[c] = true
			if !imp[c] {
				t.Errorf("%s lists ONNX op %s, which importer/onnx's op switch does not handle", o.Kind, c)
			}
		}
	}
	for c := range imp {
		if !table[c] && onnxFolded[c] == "" {
			t.Errorf("importer/onnx handles ONNX op %s, which no row of ir.AllOps lists in ONNX (nor is it a folded op of this test)", c)
		}
	}
}

// Every capability of every op either works or is marked unsupported with
// a reason, and every mark is still true.
func TestCapabilities(t *testing.T) {
	var table strings.Builder
	table.WriteString("# kind | Keras classes read | Keras layers written | ONNX ops read | ONNX ops written | unsupported\n")
	table.WriteString("# Regenerate: go test ./ir/optable -update\n")
	for _, o := range ir.AllOps() {
		t.Run(o.Kind, func(t *testing.T) {
			m, err := build(o)
			if err != nil {
				t.Fatal(err)
			}
			x := inputs(m, o.Example().Indices)
			want, runErr := run(m, x)
			onnxFile, onnxErr := oexport.Encode(m, oexport.Options{})
			kerasWritten := "-"
			defer func() {
				var marks []string
				for _, c := range ir.Capabilities() {
					if !o.Supports(c) {
						marks = append(marks, string(c))
					}
				}
				fmt.Fprintf(&table, "%s | %s | %s | %s | %s | %s\n", o.Kind, list(o.KerasClasses), kerasWritten,
					list(o.ONNX), onnxOps(t, onnxFile, onnxErr), list(marks))
			}()
			for _, c := range ir.Capabilities() {
				var err error
				switch c {
				case ir.CapExec:
					err = runErr
				case ir.CapKerasExport:
					kerasWritten, err = kerasRoundTrip(t, o, m, x, want, runErr)
				case ir.CapONNXExport:
					err = onnxErr
				case ir.CapONNXReadBack:
					err = onnxErr
					if err == nil {
						err = onnxReadBack(t, onnxFile, x, want, runErr)
					}
				}
				why, marked := o.Unsupported[c]
				switch {
				case err != nil && !marked:
					t.Errorf("%s: %v (fix it, or mark it in ir/optable.go: Unsupported[%s] = why)", c, err, c)
				case err == nil && marked:
					t.Errorf("%s works now, but the table marks it unsupported (%q): remove the mark", c, why)
				case marked && strings.TrimSpace(why) == "":
					t.Errorf("%s is marked unsupported without a reason", c)
				}
			}
		})
	}
	got := table.String()
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantTable, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./ir/optable -update writes it)", err)
	}
	if got != string(wantTable) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(wantTable), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s differs at line %d (go test ./ir/optable -update rewrites it):\nwant: %s\n got: %s", golden, i+1, w, g)
				break
			}
		}
	}
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, " ")
}

// onnxOps lists the distinct op types of an exported ONNX model, in order
// of first use.
func onnxOps(t *testing.T, data []byte, exportErr error) string {
	if exportErr != nil {
		return "-"
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		t.Errorf("exported ONNX does not decode: %v", err)
		return "?"
	}
	var ops []string
	for _, n := range mp.GetGraph().GetNode() {
		if !slices.Contains(ops, n.GetOpType()) {
			ops = append(ops, n.GetOpType())
		}
	}
	return list(ops)
}

// build makes the model x0.. (inputs), c0.. (constants) → y of a row's
// Example, with seeded weights.
func build(o ir.OpInfo) (*ir.Model, error) {
	e := o.Example()
	r := rand.New(rand.NewPCG(11, uint64(len(o.Kind))))
	m := &ir.Model{Name: "op_" + strings.ToLower(o.Kind), Meta: ir.Meta{Format: "go"}}
	var ins []string
	for i, it := range e.Inputs {
		name := fmt.Sprintf("x%d", i)
		m.Nodes = append(m.Nodes, &ir.Node{Name: name, Class: "InputLayer", Op: &ir.Input{Type: it}})
		m.Inputs = append(m.Inputs, name)
		ins = append(ins, name)
	}
	if o.Kind == "InputLayer" {
		m.Outputs = []string{"x0"}
		return m, ir.Prepare(m)
	}
	for i, s := range e.Consts {
		name := fmt.Sprintf("c%d", i)
		m.Nodes = append(m.Nodes, &ir.Node{Name: name, Class: "Constant", Op: &ir.Constant{Shape: s},
			Weights: []*ir.Weight{ir.ConstWeight("value", s.Clone(), random(r, int(s.Elements())))}})
		ins = append(ins, name)
	}
	if e.From != nil {
		m.Nodes = append(m.Nodes, &ir.Node{Name: "p", Class: e.From.Kind(), Op: e.From, Inputs: ins})
		ins = []string{"p"}
	}
	y := &ir.Node{Name: "y", Class: e.Op.Kind(), Op: e.Op, Inputs: ins}
	m.Nodes = append(m.Nodes, y)
	m.Outputs = []string{"y"}
	if err := ir.RunPasses(m, ir.PassOrder, ir.PassInfer); err != nil {
		return nil, err
	}
	if _, unknown := e.Op.(*ir.Unknown); !unknown {
		for _, n := range m.Nodes {
			if n.Name != "y" && n.Name != "p" {
				continue
			}
			for _, s := range n.Specs {
				n.Weights = append(n.Weights, ir.ConstWeight(s.Name, s.Shape.Clone(), random(r, int(s.Shape.Elements()))))
			}
		}
	}
	return m, ir.Prepare(m)
}

// random returns n values in [0.25, 1.25): positive, so that variances and
// scales are valid.
func random(r *rand.Rand, n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = 0.25 + r.Float32()
	}
	return d
}

// inputs makes seeded inputs for m with batch 2 where the batch is
// dynamic: values in [-1, 1), or indices below indices when it is > 0.
func inputs(m *ir.Model, indices int) []*ir.Tensor {
	r := rand.New(rand.NewPCG(3, 5))
	var xs []*ir.Tensor
	for _, it := range m.InputTypes() {
		s := it.Shape.Clone()
		if s[0] < 0 {
			s[0] = 2
		}
		x := ir.NewTensor(s, it.Layout)
		for i := range x.Data {
			if indices > 0 {
				x.Data[i] = float32(r.IntN(indices))
			} else {
				x.Data[i] = 2*r.Float32() - 1
			}
		}
		xs = append(xs, x)
	}
	return xs
}

func run(m *ir.Model, xs []*ir.Tensor) ([]*ir.Tensor, error) {
	p, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	// Inputs are relabelled with the model's own layouts (a re-imported
	// model may state them differently).
	in := make([]*ir.Tensor, len(xs))
	its := m.InputTypes()
	if len(its) != len(xs) {
		return nil, fmt.Errorf("model has %d inputs, want %d", len(its), len(xs))
	}
	for i, x := range xs {
		in[i] = &ir.Tensor{Shape: x.Shape, Layout: its[i].Layout, Data: x.Data}
	}
	return p.Run(context.Background(), in)
}

func same(got, want []*ir.Tensor) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d outputs, want %d", len(got), len(want))
	}
	for i := range got {
		r := refcheck.Compare("output", got[i], want[i], 1e-4, 1e-5)
		if !r.OK() {
			return fmt.Errorf("read back, output %d differs: %v (max |diff| %.3g)", i, r.Err, r.MaxAbs)
		}
	}
	return nil
}

// kerasRoundTrip writes m with exporter/keras, reads it back with
// importer/keras, and compares outputs (when m runs). It returns the
// classes of the layers written (InputLayer aside).
func kerasRoundTrip(t *testing.T, o ir.OpInfo, m *ir.Model, xs, want []*ir.Tensor, runErr error) (string, error) {
	path := filepath.Join(t.TempDir(), "m.h5")
	if err := kexport.WriteH5Model(m, path, kexport.H5Options{}); err != nil {
		return "-", fmt.Errorf("export: %w", err)
	}
	back, err := kimport.Load(path, kimport.Options{})
	if err != nil {
		return "-", fmt.Errorf("read back: %w", err)
	}
	var classes []string
	for _, n := range back.Nodes {
		if n.Class != "InputLayer" && !slices.Contains(classes, n.Class) {
			classes = append(classes, n.Class)
		}
	}
	written := list(classes)
	if o.KerasExport != "" && o.KerasExport != "InputLayer" && !slices.Contains(classes, o.KerasExport) {
		t.Errorf("keras-export: the table says %s is written as %s; the file holds %v", o.Kind, o.KerasExport, classes)
	}
	if runErr != nil {
		return written, nil
	}
	if err := back.LoadWeights(); err != nil {
		return written, fmt.Errorf("read back: %w", err)
	}
	got, err := run(back, xs)
	if err != nil {
		return written, fmt.Errorf("read back: %w", err)
	}
	return written, same(got, want)
}

// onnxReadBack reads exporter/onnx's file back with importer/onnx and
// compares outputs (when the original runs).
func onnxReadBack(t *testing.T, data []byte, xs, want []*ir.Tensor, runErr error) error {
	back, err := oimport.Decode(data, t.TempDir())
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if runErr != nil {
		return nil
	}
	if err := back.LoadWeights(); err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	got, err := run(back, xs)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	return same(got, want)
}
