package tensorio

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio"
)

// FuzzReadNPY feeds arbitrary bytes as a .npy file: ReadNPY must return
// data or an error, never panic or allocate for a size the file lacks.
func FuzzReadNPY(f *testing.F) {
	var b bytes.Buffer
	EncodeNPY(&b, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	f.Add(b.Bytes())
	b.Reset()
	npyio.Write(&b, []float64{1, 2, 3})
	f.Add(b.Bytes())
	b.Reset()
	npyio.Write(&b, []int64{7, 8})
	f.Add(b.Bytes())
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.npy")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		shape, vals, _, err := ReadNPY(p)
		if err != nil {
			return
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if n != len(vals) {
			t.Fatalf("shape %v but %d values", shape, len(vals))
		}
	})
}
