package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRefuses checks that FIFOs, devices, directories and (in OpenIn)
// symbolic links are refused without blocking, and regular files open.
func TestRefuses(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg")
	if err := os.WriteFile(reg, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	if err := os.Symlink("reg", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, _, err := Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range []string{fifo, dir, "/dev/zero", "/dev/null"} {
		if f, _, err := Open(p); err == nil || !errors.Is(err, ErrNotRegular) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Open(%s): %v, want ErrNotRegular", p, err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if f, _, err := OpenIn(root, "reg"); err != nil {
		t.Error(err)
	} else {
		f.Close()
	}
	for _, name := range []string{"fifo", "link", "sub", "."} {
		if f, _, err := OpenIn(root, name); err == nil || !errors.Is(err, ErrNotRegular) {
			if f != nil {
				f.Close()
			}
			t.Errorf("OpenIn(%s): %v, want ErrNotRegular", name, err)
		}
	}
}
