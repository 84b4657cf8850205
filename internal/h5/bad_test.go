package h5

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFiles checks that files that are not (whole) HDF5 files give an
// error, not a crash.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rnd := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}

	cases := map[string]struct {
		path string
		msg  string // substring of the error
	}{
		"missing":   {filepath.Join(dir, "missing.h5"), "no such file"},
		"directory": {dir, "not a regular file"},
		"empty":     {write("empty.h5", nil), "not an HDF5 file"},
		"random":    {write("random.h5", rnd), "not an HDF5 file"},
		"text":      {write("text.h5", []byte(strings.Repeat("{\"class_name\": \"Sequential\"}\n", 100))), "not an HDF5 file"},
		"signature": {write("sig.h5", []byte(signature)), "cannot open file"},
		"garbage":   {write("garbage.h5", append([]byte(signature), rnd...)), "cannot open file"},
	}
	if src, err := os.ReadFile(filepath.Join(realDir, "34_k3_mnist_cnn_350.h5")); err == nil {
		cases["half"] = struct{ path, msg string }{write("half.h5", src[:len(src)/2]), "truncated"}
		cases["header"] = struct{ path, msg string }{write("header.h5", src[:200]), "truncated"}
		cases["no tail"] = struct{ path, msg string }{write("tail.h5", src[:len(src)-1]), "truncated"}
	} else {
		t.Logf("no real file for truncation tests: %v", err)
	}
	for name, c := range cases {
		f, err := Open(c.path)
		if err == nil {
			f.Close()
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %q, want it to name the file and contain %q", name, err, c.msg)
		}
	}
}

// TestUserBlock opens a file preceded by a 512-byte user block.
func TestUserBlock(t *testing.T) {
	w := createT(t, "plain.h5")
	must(t, w.WriteFloat32("w", []int{3}, []float32{1, 2, 3}))
	closeW(t, w)
	b, err := os.ReadFile(w.Path())
	must(t, err)
	ub := append(bytes.Repeat([]byte("#"), 512), b...)
	p := filepath.Join(t.TempDir(), "ub.h5")
	must(t, os.WriteFile(p, ub, 0o644))
	d, err := openT(t, p).Root().Dataset("w")
	must(t, err)
	got := make([]float32, 3)
	must(t, d.ReadFloat32(got))
	if got[2] != 3 {
		t.Errorf("got %v", got)
	}
}

// TestForgedShape patches the dataspace of a dataset to claim 2^40
// elements: Dataset must refuse it rather than report a shape the caller
// would allocate.
func TestForgedShape(t *testing.T) {
	const n = 77777
	w := createT(t, "forge.h5")
	must(t, w.WriteFloat32("dense_1/dense_1_W:0", []int{n}, make([]float32, n)))
	closeW(t, w)
	b, err := os.ReadFile(w.Path())
	must(t, err)
	var old, huge [8]byte
	binary.LittleEndian.PutUint64(old[:], n)
	binary.LittleEndian.PutUint64(huge[:], 1<<40)
	if bytes.Count(b, old[:]) == 0 {
		t.Fatal("dimension not found in file")
	}
	p := filepath.Join(t.TempDir(), "forged.h5")
	must(t, os.WriteFile(p, bytes.ReplaceAll(b, old[:], huge[:]), 0o644))

	f, err := Open(p)
	if err != nil {
		t.Logf("Open refused the forged file: %v", err)
		return
	}
	defer f.Close()
	d, err := f.Root().Dataset("dense_1/dense_1_W:0")
	if err == nil {
		t.Fatalf("forged dataset accepted with shape %v", d.Shape())
	}
	if !strings.Contains(err.Error(), "do not fit in the file") && !strings.Contains(err.Error(), "stores only") {
		t.Errorf("error %q", err)
	}
}
