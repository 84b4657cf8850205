// Package onnxtest finds the ONNX test cases kconv's tests run (ONNX's node
// and PyTorch-converted backend tests, Keras-exported fixtures) and imports
// them the way ONNX's runner feeds them. It is shared by the importer's
// tests and the conformance test that runs the cases with exec.
package onnxtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
	"google.golang.org/protobuf/proto"
)

// Case is one model to import.
type Case struct {
	Suite string // "onnx-node", "onnx-pytorch" or "keras3"
	Name  string // test folder name, or the fixture's base name
	Model string // path of the .onnx file
	// Data is the test_data_set_0 folder ("" for Keras fixtures, whose
	// reference is NAME.io.h5 beside the model).
	Data string
}

// ID is Suite/Name.
func (c Case) ID() string { return c.Suite + "/" + c.Name }

// SharedDir returns the shared/ folder beside the repository, seen from the
// importer/onnx folder root, or $KCONV_SHARED when set.
func SharedDir(root string) string {
	if d := os.Getenv("KCONV_SHARED"); d != "" {
		return d
	}
	return filepath.Join(root, "..", "..", "..", "shared")
}

// Cases lists the cases under root (the importer/onnx folder): each
// conformance suite from shared/ when it is there, else from testdata/
// (the copied subset); the Keras fixtures only from shared/. missing names
// the suites found nowhere.
func Cases(root string) (cases []Case, missing []string) {
	shared := SharedDir(root)
	for _, suite := range []string{"onnx-node", "onnx-pytorch"} {
		dir := filepath.Join(shared, "conformance", suite)
		if _, err := os.Stat(dir); err != nil {
			dir = filepath.Join(root, "testdata", suite)
			if _, err := os.Stat(dir); err != nil {
				missing = append(missing, suite)
				continue
			}
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			m := filepath.Join(dir, e.Name(), "model.onnx")
			if _, err := os.Stat(m); err == nil {
				cases = append(cases, Case{Suite: suite, Name: e.Name(), Model: m, Data: filepath.Join(dir, e.Name(), "test_data_set_0")})
			}
		}
	}
	ms, _ := filepath.Glob(filepath.Join(shared, "fixtures", "keras3", "*.onnx"))
	if len(ms) == 0 {
		missing = append(missing, "keras3")
	}
	sort.Strings(ms)
	for _, m := range ms {
		cases = append(cases, Case{Suite: "keras3", Name: strings.TrimSuffix(filepath.Base(m), ".onnx"), Model: m})
	}
	return cases, missing
}

// Imported is an imported case with its data.
type Imported struct {
	Model *ir.Model
	Feeds []*ir.Tensor // one per model input, in order
	Want  []*ir.Tensor // one per model output, in order
	Bound []string     // graph inputs given as constants
}

// Import imports a node-test style case (Data set). Its graph inputs are
// fed from input_N.pb; as ONNX's runners do, inputs that kconv needs to
// know at import time are given as constants: first those of an integer
// type; if the import still fails, every input but the first.
func (c Case) Import() (*Imported, error) {
	if c.Data == "" {
		m, err := onnx.Load(c.Model)
		if err != nil {
			return nil, err
		}
		return &Imported{Model: m}, nil
	}
	names, ints, err := graphInputs(c.Model)
	if err != nil {
		return nil, err
	}
	vals := make([]*ir.Tensor, len(names))
	for i := range names {
		if vals[i], err = onnx.ReadTensor(filepath.Join(c.Data, fmt.Sprintf("input_%d.pb", i))); err != nil {
			return nil, err
		}
	}
	bind := map[string]*ir.Tensor{}
	for i, n := range names {
		if ints[i] {
			bind[n] = vals[i]
		}
	}
	m, err := onnx.LoadWith(c.Model, onnx.Options{Constants: bind})
	if err != nil && len(names) > 1 {
		bind = map[string]*ir.Tensor{}
		for i, n := range names {
			if i > 0 || ints[i] {
				bind[n] = vals[i]
			}
		}
		if m2, err2 := onnx.LoadWith(c.Model, onnx.Options{Constants: bind}); err2 == nil {
			m, err = m2, nil
		} else if errors.Is(err, onnx.ErrNotConstant) {
			err = err2
		}
	}
	if err != nil {
		return nil, err
	}
	im := &Imported{Model: m}
	for i, n := range names {
		if _, ok := bind[n]; ok {
			im.Bound = append(im.Bound, n)
		} else {
			im.Feeds = append(im.Feeds, vals[i])
		}
	}
	for i := range m.Outputs {
		t, err := onnx.ReadTensor(filepath.Join(c.Data, fmt.Sprintf("output_%d.pb", i)))
		if err != nil {
			return nil, err
		}
		im.Want = append(im.Want, t)
	}
	return im, nil
}

// graphInputs lists the graph inputs that are not initializers, and which
// of them have an integer or bool element type.
func graphInputs(path string) ([]string, []bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	init := map[string]bool{}
	for _, t := range mp.GetGraph().GetInitializer() {
		init[t.GetName()] = true
	}
	var names []string
	var ints []bool
	for _, in := range mp.GetGraph().GetInput() {
		if init[in.GetName()] {
			continue
		}
		names = append(names, in.GetName())
		switch in.GetType().GetTensorType().GetElemType() {
		case 1, 10, 11, 16: // FLOAT, FLOAT16, DOUBLE, BFLOAT16
			ints = append(ints, false)
		default:
			ints = append(ints, true)
		}
	}
	return names, ints, nil
}

// SameShape reports whether an ir output shape (batch -1 allowed) matches a
// reference tensor's shape; ir stores scalars as (1,).
func SameShape(got ir.Shape, want ir.Shape) bool {
	if len(want) == 0 {
		return len(got) == 1 && got[0] == 1
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && !(i == 0 && got[i] < 0) {
			return false
		}
	}
	return true
}
