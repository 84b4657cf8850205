// Package refcheck compares a model's outputs, layer by layer, with
// reference values computed by Keras (the fixtures' io.h5 files: datasets
// input, output and layers/<layer name>). It serves `kconv verify` and the
// fixture tests, so that a failure names the first wrong layer.
package refcheck

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// Reference is a set of named tensors: the input, the final output and
// per-layer outputs.
type Reference struct {
	Input  *ir.Tensor
	Output *ir.Tensor
	Layers map[string]*ir.Tensor
	Order  []string // layer names in file order
}

// ReadIO reads a Keras reference file (input, output, layers/*).
func ReadIO(path string) (*Reference, error) {
	f, err := h5.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	root := f.Root()
	read := func(p string) (*ir.Tensor, error) { return readTensor(root, p) }
	if !root.Has("input") && root.IsGroup("inputs") {
		return readDL4J(root)
	}
	ref := &Reference{Layers: map[string]*ir.Tensor{}}
	if ref.Input, err = read("input"); err != nil {
		return nil, err
	}
	if root.Has("output") {
		if ref.Output, err = read("output"); err != nil {
			return nil, err
		}
	}
	if err := readLayers(root, "layers", ref); err != nil {
		return nil, err
	}
	return ref, nil
}

// readTensor reads dataset p of root as a float32 tensor.
func readTensor(root *h5.Group, p string) (*ir.Tensor, error) {
	d, err := root.Dataset(p)
	if err != nil {
		return nil, err
	}
	t := &ir.Tensor{Shape: d.Shape(), Data: make([]float32, d.Len())}
	if err := d.ReadFloat32(t.Data); err != nil {
		return nil, err
	}
	return t, nil
}

// readLayers adds every dataset of root's group dir (when there is one) to
// ref's layers, in file order.
func readLayers(root *h5.Group, dir string, ref *Reference) error {
	if !root.IsGroup(dir) {
		return nil
	}
	g, err := root.Group(dir)
	if err != nil {
		return err
	}
	names, err := g.Children()
	if err != nil {
		return err
	}
	for _, n := range names {
		t, err := readTensor(root, dir+"/"+n)
		if err != nil {
			return err
		}
		ref.Layers[n] = t
		ref.Order = append(ref.Order, n)
	}
	return nil
}

// Row is the comparison of one layer (or the final output).
type Row struct {
	Layer    string
	MaxAbs   float64 // max |got - want|
	MaxRel   float64 // max |got - want| / |want| over elements with |want| > atol
	MaxRef   float64 // max |want|: the layer's scale
	Atol     float64 // the absolute tolerance applied (see Compare)
	Worst    float64 // max |got-want| / (atol + rtol*|want|): > 1 means out of tolerance
	Elements int
	Err      error // shape mismatch or missing layer
}

// OK reports whether the row is within tolerance.
func (r Row) OK() bool { return r.Err == nil && r.Worst <= 1 }

// ScaleTol is the part of a layer's largest reference magnitude that counts
// as absolute tolerance. A float32 sum of K products carries rounding error
// proportional to the size of its terms, not of its result, so where terms
// cancel to near zero two correct implementations differ by a few units in
// the last place of the layer's large values; an element-wise relative test
// would call that a failure. 1e-6 is about 8 float32 ulps of the largest
// value.
const ScaleTol = 1e-6

// Compare returns the comparison of got against want: an element passes when
// |got-want| <= atol' + rtol*|want|, with atol' = max(atol, ScaleTol*max|want|).
func Compare(layer string, got, want *ir.Tensor, rtol, atol float64) Row {
	r := Row{Layer: layer, Elements: len(want.Data)}
	for _, w := range want.Data {
		if a := math.Abs(float64(w)); a > r.MaxRef && !math.IsInf(a, 0) {
			r.MaxRef = a
		}
	}
	atol = math.Max(atol, ScaleTol*r.MaxRef)
	r.Atol = atol
	if got == nil {
		r.Err = fmt.Errorf("no output")
		return r
	}
	if !ir.Shape(got.Shape).Equal(want.Shape) {
		r.Err = fmt.Errorf("shape %v, reference %v", got.Shape, want.Shape)
		return r
	}
	for i, w := range want.Data {
		g := float64(got.Data[i])
		wf := float64(w)
		if g == wf || math.IsNaN(g) && math.IsNaN(wf) {
			continue // equal, the same infinity, or NaN where the reference has NaN
		}
		d := math.Abs(g - wf)
		if math.IsNaN(d) || math.IsInf(wf, 0) {
			d = math.Inf(1) // NaN against a number, or a wrong infinity
		}
		r.MaxAbs = math.Max(r.MaxAbs, d)
		if math.Abs(wf) > atol {
			r.MaxRel = math.Max(r.MaxRel, d/math.Abs(wf))
		}
		r.Worst = math.Max(r.Worst, d/(atol+rtol*math.Abs(wf)))
	}
	return r
}

// Run compiles m keeping every layer the reference holds, runs it on the
// reference input and compares each of those layers and the final output.
// Rows come in the model's layer order, the final output last.
func Run(ctx context.Context, m *ir.Model, ref *Reference, opts exec.Options, rtol, atol float64) ([]Row, error) {
	var keep []string
	for _, n := range m.Nodes {
		if _, ok := ref.Layers[n.Name]; ok {
			keep = append(keep, n.Name)
		}
	}
	opts.Keep = append(opts.Keep, keep...)
	p, err := exec.Compile(m, opts)
	if err != nil {
		return nil, err
	}
	in := *ref.Input
	in.Layout = m.InputTypes()[0].Layout
	outs, nodes, err := p.RunNodes(ctx, []*ir.Tensor{&in}, keep)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, name := range keep {
		rows = append(rows, Compare(name, nodes[name], ref.Layers[name], rtol, atol))
	}
	if ref.Output != nil && len(outs) > 0 {
		rows = append(rows, Compare("(output)", outs[0], ref.Output, rtol, atol))
	}
	return rows, nil
}

// Missing lists reference layers that the model does not have.
func Missing(m *ir.Model, ref *Reference) []string {
	var miss []string
	for name := range ref.Layers {
		if m.Node(name) == nil {
			miss = append(miss, name)
		}
	}
	sort.Strings(miss)
	return miss
}

// FirstFailure returns the first row out of tolerance, or nil.
func FirstFailure(rows []Row) *Row {
	for i := range rows {
		if !rows[i].OK() {
			return &rows[i]
		}
	}
	return nil
}

// Table renders rows as an aligned text table.
func Table(rows []Row) string {
	var b strings.Builder
	w := len("layer")
	for _, r := range rows {
		w = max(w, len(r.Layer))
	}
	fmt.Fprintf(&b, "%-*s  %12s  %12s  %10s  %9s  %8s  %s\n", w, "layer", "max abs err", "max rel err", "max |ref|", "atol used", "elements", "status")
	for _, r := range rows {
		status := "ok"
		if r.Err != nil {
			status = "FAIL: " + r.Err.Error()
		} else if !r.OK() {
			status = fmt.Sprintf("FAIL (%.3gx tolerance)", r.Worst)
		}
		fmt.Fprintf(&b, "%-*s  %12.3e  %12.3e  %10.3g  %9.2g  %8d  %s\n", w, r.Layer, r.MaxAbs, r.MaxRel, r.MaxRef, r.Atol, r.Elements, status)
	}
	return b.String()
}
