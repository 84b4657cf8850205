package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// TestRace starts many writers creating the same new file at once, without
// force: exactly one must win and every other must get ErrExists, each
// round, and no temporary file may be left.
func TestRace(t *testing.T) {
	dir := t.TempDir()
	for round := 0; round < 50; round++ {
		dst := filepath.Join(dir, fmt.Sprintf("out%d.bin", round))
		const writers = 8
		errs := make(chan error, writers)
		start := make(chan struct{})
		for i := 0; i < writers; i++ {
			go func(i int) {
				<-start
				errs <- WriteBytes(dst, false, []byte{byte(i)})
			}(i)
		}
		close(start)
		wins := 0
		for i := 0; i < writers; i++ {
			err := <-errs
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrExists):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d writers won", round, wins)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 50 {
		t.Fatalf("%d entries, want 50 (temporary files left?)", len(ents))
	}
}

// TestErrorsNameDestination: errors name the user's path, not the hidden
// temporary file.
func TestErrorsNameDestination(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "out.npy")
	err := Write(dst, false, func(tmp string) error {
		_, err := os.Open(tmp + ".missing")
		if pe, ok := err.(*os.PathError); ok {
			pe.Path = tmp
		}
		return err
	})
	if err == nil || !strings.Contains(err.Error(), dst) || strings.Contains(err.Error(), ".tmp-") {
		t.Fatalf("error %v, want it to name %s and not the temporary file", err, dst)
	}
	if err := WriteBytes(filepath.Join(t.TempDir(), "no", "such", "dir", "x"), false, nil); err == nil || strings.Contains(err.Error(), ".tmp-") {
		t.Fatalf("error %v names the temporary file", err)
	}
}
