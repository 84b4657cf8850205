package keras

import (
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/kconv/kconv/internal/h5"
)

// h5Tree lists an HDF5 file's structure, one line per object, sorted:
// "G path" for groups, "A path@name" for attributes (names only), and
// "D path shape class/size" for datasets.
func h5Tree(t *testing.T, path string) []string {
	t.Helper()
	f, err := h5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var walk func(g *h5.Group)
	walk = func(g *h5.Group) {
		out = append(out, "G "+g.Path())
		names, err := g.AttrNames()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range names {
			out = append(out, "A "+g.Path()+"@"+a)
		}
		kids, err := g.Children()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kids {
			if g.IsGroup(k) {
				sg, err := g.Group(k)
				if err != nil {
					t.Fatal(err)
				}
				walk(sg)
				continue
			}
			d, err := g.Dataset(k)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("D %s %v %s/%d", d.Path(), d.Shape(), d.Class(), d.ElemSize()))
		}
	}
	walk(f.Root())
	sort.Strings(out)
	return out
}

// TestDumpH5 prints the h5Tree of the file KCONV_DUMP_H5 (a tool for
// comparing kconv's files with Keras's by eye; skipped without it).
func TestDumpH5(t *testing.T) {
	p := os.Getenv("KCONV_DUMP_H5")
	if p == "" {
		t.Skip("KCONV_DUMP_H5 not set")
	}
	for _, l := range h5Tree(t, p) {
		fmt.Println(l)
	}
}
