package keras

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadKerasZip feeds arbitrary bytes as a .keras file (and mutations
// of a real one): Load must return a model or an error, never panic, and
// leave no temporary files behind.
func FuzzLoadKerasZip(f *testing.F) {
	if data, err := os.ReadFile("testdata/cifar_small.keras"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("PK\x03\x04"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "m.keras")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(p, Options{})
		if err == nil {
			if m == nil {
				t.Fatal("no model and no error")
			}
			_ = m.LoadWeights()
		}
	})
}
