package summary

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text to the reference-summary parser: it must
// return a reference or an error, never panic or hang.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.txt")
	seeds = append(seeds, "../testdata/vgg16_summary.txt")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("Layer (type) Output Shape Param #\n=====\nx (Dense) (None, 3) 12\n=====\nTotal params: 12\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ref, err := Parse(bytes.NewReader(data))
		if err == nil && ref == nil {
			t.Fatal("no reference and no error")
		}
	})
}
