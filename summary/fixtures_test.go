package summary_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/importer/keras"
	"github.com/kconv/kconv/summary"
)

// TestKeras3FixturesByteExact imports every Keras 3 fixture and renders its
// summary, which must equal Keras's own summary.txt byte for byte.
func TestKeras3FixturesByteExact(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "keras3")
	sums, _ := filepath.Glob(filepath.Join(dir, "*.summary.txt"))
	if len(sums) == 0 {
		t.Skipf("shared fixtures not found at %s", dir)
	}
	for _, s := range sums {
		name := strings.TrimSuffix(filepath.Base(s), ".summary.txt")
		for _, ext := range []string{".h5", ".keras", ".json"} {
			model := filepath.Join(dir, name+ext)
			if _, err := os.Stat(model); err != nil {
				continue
			}
			t.Run(name+ext, func(t *testing.T) {
				want, err := os.ReadFile(s)
				if err != nil {
					t.Fatal(err)
				}
				m, err := keras.Load(model, keras.Options{})
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				if err := summary.Render(&got, m, summary.Keras3); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Fatalf("summary differs from Keras's:\n--- got\n%s\n--- want\n%s", got.String(), want)
				}
			})
		}
	}
}
