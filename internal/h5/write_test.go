package h5

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func createT(t *testing.T, name string) *Writer {
	t.Helper()
	w, err := Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func closeW(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ramp(n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(i)*0.5 - 3
	}
	return d
}

// TestRoundTrip writes every string-attribute form Keras uses and datasets
// of several types, then reads them back.
func TestRoundTrip(t *testing.T) {
	w := createT(t, "model.h5")
	root := w.Root()
	cfg := `{"class_name": "Sequential", "config": {"name": "héllo ✓"}}`
	must(t, root.SetAttrString("model_config", cfg))
	must(t, root.SetAttrString("keras_version", "2.1.3"))
	must(t, root.SetAttrString("empty", ""))
	must(t, root.SetAttrString("backend", "theano"))
	must(t, root.SetAttrString("backend", "tensorflow")) // replaces

	mw, err := w.CreateGroup("model_weights")
	must(t, err)
	layers := []string{"conv2d_1", "activation_1", "dense_10", "d"}
	must(t, mw.SetAttrStringsFixed("layer_names", layers))
	must(t, mw.SetAttrStringsVlen("layer_names_vlen", layers))
	must(t, mw.SetAttrStringsFixed("split0", layers[:2]))
	must(t, mw.SetAttrStringsVlen("split1", layers[2:]))
	must(t, mw.SetAttrStringsFixed("utf8", []string{"ünï", "x"}))
	must(t, mw.SetAttrInt64s("ints", []int64{-1, 2, 1 << 40}))
	must(t, mw.SetAttrFloat64s("floats", []float64{0.5, -2}))

	conv, err := mw.CreateGroup("conv2d_1")
	must(t, err)
	if again, err := w.CreateGroup("/model_weights/conv2d_1/"); err != nil || again.Path() != conv.Path() {
		t.Errorf("CreateGroup on an existing group: %v, %v", again, err)
	}
	must(t, conv.SetAttrStringsFixed("weight_names", []string{"conv2d_1/kernel:0", "conv2d_1/bias:0"}))
	must(t, conv.WriteFloat32("conv2d_1/kernel:0", []int{3, 3, 1, 2}, ramp(18)))
	must(t, conv.WriteFloat32("conv2d_1/bias:0", []int{2}, []float32{1, -1}))
	act, err := mw.CreateGroup("activation_1")
	must(t, err)
	must(t, act.SetAttrStringsFixed("weight_names", nil))
	must(t, act.SetAttrStringsVlen("weight_names_vlen", []string{}))
	deep, err := w.CreateGroup("a/b/c")
	must(t, err)
	must(t, deep.SetAttrString("k", "v"))

	must(t, w.WriteFloat32("data/scalar", nil, []float32{42}))
	must(t, w.WriteFloat32("data/empty", []int{0, 3}, nil))
	must(t, root.writeAs("data/f16", []int{2, 2}, []float32{1.5, -2, 65504, 0.099975586}, typeF16))
	must(t, root.writeAs("data/f64", []int{3}, []float32{1e-30, 3.25, -7}, typeF64))
	must(t, root.writeAs("data/i32", []int{2, 2}, []float32{-3, 0, 7, 100000}, typeI32))
	must(t, root.writeAs("data/u8", []int{3}, []float32{0, 7, 255}, typeU8))
	must(t, root.writeStrings("data/vlen", []string{"a", "bé", ""}, true))
	must(t, root.writeStrings("data/fixed", []string{"abc", "d"}, false))
	closeW(t, w)
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	f := openT(t, w.Path())
	r := f.Root()
	strs := func(g *Group, name string, want ...string) {
		t.Helper()
		got, err := g.AttrStrings(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s@%s = %q, want %q", g.Path(), name, got, want)
		}
	}
	strs(r, "model_config", cfg)
	strs(r, "keras_version", "2.1.3")
	strs(r, "empty", "")
	strs(r, "backend", "tensorflow")
	if s, err := r.AttrString("model_config"); err != nil || s != cfg {
		t.Errorf("AttrString = %q, %v", s, err)
	}
	names, err := r.AttrNames()
	if err != nil || strings.Join(names, ",") != "backend,empty,keras_version,model_config" {
		t.Errorf("AttrNames = %q, %v", names, err)
	}

	g, err := r.Group("model_weights")
	must(t, err)
	strs(g, "layer_names", layers...)
	strs(g, "layer_names_vlen", layers...)
	strs(g, "utf8", "ünï", "x")
	if _, err := g.AttrString("layer_names"); err == nil {
		t.Error("AttrString of a 4-element attribute succeeded")
	}
	chunked, err := g.AttrStringsChunked("split")
	if err != nil || !reflect.DeepEqual(chunked, layers) {
		t.Errorf("AttrStringsChunked = %q, %v", chunked, err)
	}
	if chunked, err := g.AttrStringsChunked("layer_names"); err != nil || !reflect.DeepEqual(chunked, layers) {
		t.Errorf("AttrStringsChunked(whole) = %q, %v", chunked, err)
	}
	if _, err := g.AttrStringsChunked("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AttrStringsChunked(missing) = %v", err)
	}
	if v, err := g.AttrInts("ints"); err != nil || !reflect.DeepEqual(v, []int64{-1, 2, 1 << 40}) {
		t.Errorf("AttrInts = %v, %v", v, err)
	}
	if v, err := g.AttrFloat64s("ints"); err != nil || !reflect.DeepEqual(v, []float64{-1, 2, 1 << 40}) {
		t.Errorf("AttrFloat64s(ints) = %v, %v", v, err)
	}
	if v, err := g.AttrFloat64s("floats"); err != nil || !reflect.DeepEqual(v, []float64{0.5, -2}) {
		t.Errorf("AttrFloat64s = %v, %v", v, err)
	}
	if _, err := g.AttrInts("floats"); err == nil {
		t.Error("AttrInts of a float attribute succeeded")
	}
	if _, err := g.AttrInts("layer_names"); err == nil {
		t.Error("AttrInts of a string attribute succeeded")
	}
	if _, err := g.AttrStrings("floats"); err == nil || !strings.Contains(err.Error(), "not a string") {
		t.Errorf("AttrStrings of a float attribute: %v", err)
	}
	kids, err := g.Children()
	if err != nil || strings.Join(kids, ",") != "activation_1,conv2d_1" {
		t.Errorf("Children = %q, %v", kids, err)
	}
	if !g.HasAttr("layer_names") || g.HasAttr("nope") {
		t.Error("HasAttr")
	}

	conv2, err := g.Group("conv2d_1")
	must(t, err)
	strs(conv2, "weight_names", "conv2d_1/kernel:0", "conv2d_1/bias:0")
	act2, err := g.Group("activation_1")
	must(t, err)
	strs(act2, "weight_names")
	strs(act2, "weight_names_vlen")
	c, err := r.Group("a/b/c")
	must(t, err)
	strs(c, "k", "v")

	d, err := conv2.Dataset("conv2d_1/kernel:0")
	must(t, err)
	if d.Path() != "/model_weights/conv2d_1/conv2d_1/kernel:0" || !reflect.DeepEqual(d.Shape(), []int{3, 3, 1, 2}) ||
		d.Len() != 18 || d.Class() != "float" || d.ElemSize() != 4 {
		t.Errorf("kernel: path %s shape %v len %d class %s size %d", d.Path(), d.Shape(), d.Len(), d.Class(), d.ElemSize())
	}
	got := make([]float32, d.Len())
	must(t, d.ReadFloat32(got))
	if !reflect.DeepEqual(got, ramp(18)) {
		t.Errorf("kernel = %v", got)
	}
	got64 := make([]float64, d.Len())
	must(t, d.ReadFloat64(got64))
	if got64[17] != float64(ramp(18)[17]) {
		t.Errorf("kernel as float64 = %v", got64)
	}
	if err := d.ReadInt64(make([]int64, 18)); err == nil {
		t.Error("ReadInt64 of float data succeeded")
	}
	if err := d.ReadFloat32(make([]float32, 17)); err == nil || !strings.Contains(err.Error(), "17") {
		t.Errorf("ReadFloat32 with a short buffer: %v", err)
	}

	read32 := func(path string, shape []int, class string, size int, want []float32) {
		t.Helper()
		d, err := r.Dataset(path)
		if err != nil {
			t.Error(err)
			return
		}
		if !reflect.DeepEqual(d.Shape(), shape) || d.Class() != class || d.ElemSize() != size {
			t.Errorf("%s: shape %v class %s size %d", path, d.Shape(), d.Class(), d.ElemSize())
		}
		got := make([]float32, d.Len())
		if err := d.ReadFloat32(got); err != nil {
			t.Error(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	read32("data/scalar", []int{}, "float", 4, []float32{42})
	read32("data/empty", []int{0, 3}, "float", 4, []float32{})
	read32("data/f16", []int{2, 2}, "float", 2, []float32{1.5, -2, 65504, 0.099975586})
	read32("/data/f64", []int{3}, "float", 8, []float32{1e-30, 3.25, -7})
	read32("data//i32", []int{2, 2}, "integer", 4, []float32{-3, 0, 7, 100000})
	read32("data/u8", []int{3}, "integer", 1, []float32{0, 7, 255})
	if i, err := r.Dataset("data/i32"); err == nil {
		v := make([]int64, 4)
		if err := i.ReadInt64(v); err != nil || !reflect.DeepEqual(v, []int64{-3, 0, 7, 100000}) {
			t.Errorf("ReadInt64 = %v, %v", v, err)
		}
	}

	for path, want := range map[string][]string{"data/vlen": {"a", "bé", ""}, "data/fixed": {"abc", "d"}} {
		d, err := r.Dataset(path)
		must(t, err)
		if d.Class() != "string" {
			t.Errorf("%s: class %s", path, d.Class())
		}
		got, err := d.ReadStrings()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %q, %v", path, got, err)
		}
		if err := d.ReadFloat32(make([]float32, d.Len())); err == nil || !strings.Contains(err.Error(), "cannot read string data") {
			t.Errorf("ReadFloat32 of strings: %v", err)
		}
	}
}

// TestNavigationErrors checks Has/IsGroup/IsDataset along broken paths and
// the wording of errors.
func TestNavigationErrors(t *testing.T) {
	w := createT(t, "nav.h5")
	must(t, w.WriteFloat32("model_weights/dense_1/dense_1/kernel:0", []int{2}, []float32{1, 2}))
	closeW(t, w)

	f := openT(t, w.Path())
	r := f.Root()
	for rel, want := range map[string][3]bool{ // Has, IsGroup, IsDataset
		"":                                       {true, true, false},
		"/":                                      {true, true, false},
		"model_weights":                          {true, true, false},
		"model_weights/dense_1/dense_1/":         {true, true, false},
		"model_weights/dense_1/dense_1/kernel:0": {true, false, true},
		"model_weights/dense_1/dense_1/kernel:0/x": {false, false, false},
		"model_weights/dense_2/dense_2/kernel:0":   {false, false, false},
		"nope/a/b/c":                               {false, false, false},
	} {
		got := [3]bool{r.Has(rel), r.IsGroup(rel), r.IsDataset(rel)}
		if got != want {
			t.Errorf("%q: Has, IsGroup, IsDataset = %v, want %v", rel, got, want)
		}
	}

	kernel := "model_weights/dense_1/dense_1/kernel:0"
	_, err := r.Group(kernel)
	wantMsg := fmt.Sprintf("h5: %s: /%s: not a group", w.Path(), kernel)
	if err == nil || err.Error() != wantMsg {
		t.Errorf("Group(dataset) = %v, want %s", err, wantMsg)
	}
	g, err := r.Group("model_weights/dense_1")
	must(t, err)
	_, err = g.Dataset("dense_1")
	wantMsg = fmt.Sprintf("h5: %s: /model_weights/dense_1/dense_1: not a dataset", w.Path())
	if err == nil || err.Error() != wantMsg {
		t.Errorf("Dataset(group) = %v, want %s", err, wantMsg)
	}
	for _, fn := range []func() error{
		func() error { _, err := g.Dataset("nope"); return err },
		func() error { _, err := g.Dataset("dense_1/kernel:0/x"); return err },
		func() error { _, err := g.Group("nope/deeper"); return err },
		func() error { _, err := g.AttrStrings("nope"); return err },
		func() error { _, err := g.AttrInts("nope"); return err },
	} {
		err := fn()
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), w.Path()) || !strings.Contains(err.Error(), "/model_weights/dense_1") {
			t.Errorf("missing object: %v", err)
		}
	}

	// A closed file gives errors, not crashes.
	d, err := g.Dataset("dense_1/kernel:0")
	must(t, err)
	must(t, f.Close())
	if err := d.ReadFloat32(make([]float32, 2)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("read after Close: %v", err)
	}
	if _, err := g.Children(); err == nil {
		t.Error("Children after Close succeeded")
	}
	if g.Has("dense_1") || g.HasAttr("x") {
		t.Error("Has after Close")
	}
}

func TestWriteErrors(t *testing.T) {
	w := createT(t, "bad.h5")
	defer closeW(t, w)
	if err := w.WriteFloat32("x", []int{2, 2}, make([]float32, 3)); err == nil {
		t.Error("shape mismatch accepted")
	}
	if err := w.WriteFloat32("x", []int{-1}, nil); err == nil {
		t.Error("negative dimension accepted")
	}
	must(t, w.WriteFloat32("x", []int{1}, []float32{1}))
	if err := w.WriteFloat32("x", []int{1}, []float32{1}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("duplicate dataset: %v", err)
	}
	if _, err := w.CreateGroup("x"); err == nil {
		t.Error("CreateGroup over a dataset succeeded")
	}
	if err := w.WriteFloat32("x/y", []int{1}, []float32{1}); err == nil {
		t.Error("dataset below a dataset accepted")
	}
	// One attribute is limited to 64 KiB in the default file format.
	if err := w.Root().SetAttrStringsFixed("big", []string{strings.Repeat("x", 70000)}); err == nil {
		t.Error("70 kB attribute accepted")
	} else {
		t.Log(err)
	}
}

// TestConcurrent reads and writes files from many goroutines; run with
// -race.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, fmt.Sprintf("c%d.h5", i))
			w, err := Create(path)
			if err != nil {
				errs <- err
				return
			}
			for j := range 20 {
				if err := w.WriteFloat32(fmt.Sprintf("g%d/w:0", j), []int{100}, ramp(100)); err != nil {
					errs <- err
				}
				if _, err := w.Root().CreateGroup(fmt.Sprintf("g%d", j)); err != nil {
					errs <- err
				}
			}
			if err := w.Root().SetAttrStringsVlen("layer_names", []string{"g0", "g1"}); err != nil {
				errs <- err
			}
			if err := w.Close(); err != nil {
				errs <- err
			}
			f, err := Open(path)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			for j := range 20 {
				d, err := f.Root().Dataset(fmt.Sprintf("g%d/w:0", j))
				if err != nil {
					errs <- err
					continue
				}
				buf := make([]float32, d.Len())
				if err := d.ReadFloat32(buf); err != nil {
					errs <- err
				}
				if buf[99] != ramp(100)[99] {
					errs <- fmt.Errorf("bad data %v", buf[99])
				}
				if _, err := f.Root().Dataset("missing"); !errors.Is(err, ErrNotFound) {
					errs <- fmt.Errorf("missing: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestLarge writes and reads back a 64 MiB dataset.
func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	const n = 16 << 20
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(math.Sin(float64(i)))
	}
	w := createT(t, "large.h5")
	must(t, w.WriteFloat32("fc1/fc1_W:0", []int{4096, n / 4096}, data))
	closeW(t, w)
	d, err := openT(t, w.Path()).Root().Dataset("fc1/fc1_W:0")
	must(t, err)
	got := make([]float32, d.Len())
	must(t, d.ReadFloat32(got))
	if !reflect.DeepEqual(got, data) {
		t.Error("data differs")
	}
}
