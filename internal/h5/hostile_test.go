package h5

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadsOnlyTheFile builds, at run time, files whose datasets would make
// libhdf5 read other files (external storage, external links, virtual
// datasets), follow soft links, or allocate far more than the file stores,
// and checks that every one is refused by Group.Dataset (and Group.Group)
// with an error naming the file and the object, before anything is read.
func TestReadsOnlyTheFile(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.bin")
	if err := os.WriteFile(secret, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.h5")
	{
		w, err := Create(other)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFloat32("/g/w", []int{2, 2}, []float32{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}

	cases := []struct {
		name  string
		build func(g *WGroup) error
		path  string // what the reader asks for
		group bool   // ask for a group rather than a dataset
		want  string
	}{
		{"external storage", func(g *WGroup) error { return g.WriteExternal("/w/kernel:0", []int{8}, secret) }, "/w/kernel:0", false, "external file"},
		{"external storage /dev/zero", func(g *WGroup) error { return g.WriteExternal("/w/kernel:0", []int{1 << 20}, "/dev/zero") }, "/w/kernel:0", false, "external file"},
		{"virtual dataset", func(g *WGroup) error { return g.WriteVirtual("/w/kernel:0", []int{2, 2}, other, "/g/w") }, "/w/kernel:0", false, "virtual dataset"},
		{"external link to dataset", func(g *WGroup) error { return g.ExternalLink("/w/kernel:0", other, "/g/w") }, "/w/kernel:0", false, "external link"},
		{"external link to group", func(g *WGroup) error { return g.ExternalLink("/w", other, "/g") }, "/w/w", false, "/w is an external link"},
		{"external link as group", func(g *WGroup) error { return g.ExternalLink("/w", other, "/g") }, "/w", true, "external link"},
		{"soft link to dataset", func(g *WGroup) error {
			if err := g.WriteFloat32("/real", []int{2}, []float32{1, 2}); err != nil {
				return err
			}
			return g.SoftLink("/w/kernel:0", "/real")
		}, "/w/kernel:0", false, "soft link"},
		{"soft link cycle", func(g *WGroup) error { return g.SoftLink("/w", "/w") }, "/w/kernel:0", false, "soft link"},
		{"dangling soft link", func(g *WGroup) error { return g.SoftLink("/w", "/nowhere") }, "/w", true, "soft link"},
		{"shape bomb", func(g *WGroup) error { return g.WriteUnallocated("/w/kernel:0", []int{1 << 20, 1 << 20}) }, "/w/kernel:0", false, "stores only"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, "hostile"+string(rune('a'+i))+".h5")
			w, err := Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.build(w.Root()); err != nil {
				w.Close()
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if c.group {
				_, err = f.Root().Group(c.path)
			} else {
				_, err = f.Root().Dataset(c.path)
			}
			if err == nil {
				t.Fatalf("%s: no error", c.path)
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("error %q, want ErrRefused naming %s and %s and saying %q", err, p, c.path, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if strings.Contains(c.want, "link") && !(f.Root().IsDataset(c.path) && f.Root().IsGroup(c.path)) {
				t.Errorf("IsDataset/IsGroup(%s) false for a refused link: callers would treat it as absent", c.path)
			}
		})
	}
}

// TestBigButStored checks that the shape-bomb rule does not refuse a dataset
// that declares little: an unwritten 1 MiB dataset (all fill values) reads.
func TestBigButStored(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fill.h5")
	w, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Root().WriteUnallocated("/w", []int{512, 512}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := f.Root().Dataset("/w")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, d.Len())
	if err := d.ReadFloat32(buf); err != nil {
		t.Fatal(err)
	}
}
