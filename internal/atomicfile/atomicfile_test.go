package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.bin")
	if err := WriteBytes(dst, false, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(dst, false, []byte("two")); !errors.Is(err, ErrExists) {
		t.Fatalf("second write without force: %v", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "one" {
		t.Fatalf("file replaced without force: %q", b)
	}
	if err := WriteBytes(dst, true, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "two" {
		t.Fatalf("forced write: %q", b)
	}
	fail := errors.New("boom")
	if err := Write(filepath.Join(dir, "bad.bin"), false, func(string) error { return fail }); !errors.Is(err, fail) {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}
