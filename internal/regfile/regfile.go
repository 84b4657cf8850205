// Package regfile opens the files kconv reads as input, and only if they
// are regular files.
//
// A FIFO, a device or a directory named as a model, a weights file or an
// input must give an error, never block or read forever: os.Open of a FIFO
// blocks until a writer appears, and /dev/zero never ends. So Open opens
// with O_NONBLOCK (which makes the open itself of a FIFO return at once and
// is without effect on a regular file), checks the opened file with fstat,
// and closes it with an error unless it is a regular file. OpenIn does the
// same inside an os.Root and also refuses a symbolic link as the last
// component (checked with Lstat, then confirmed as the same file after the
// open).
package regfile // import "github.com/kconv/kconv/internal/regfile"

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by the errors for files that are not regular
// files.
var ErrNotRegular = errors.New("not a regular file")

// flags are the open flags: read-only, and a FIFO's open does not wait for
// a writer.
const flags = os.O_RDONLY | syscall.O_NONBLOCK

// Open opens the regular file path for reading and returns it with its
// fstat result. Errors name path.
func Open(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := check(f)
	if err != nil {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return f, st, nil
}

// OpenIn opens the regular file name inside root, refusing a symbolic link
// as the file itself (links in the folders above are resolved by root,
// which keeps them inside it). Errors name name.
func OpenIn(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	lst, err := root.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !lst.Mode().IsRegular() {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: describe(lst.Mode())}
	}
	f, err := root.OpenFile(name, flags, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := check(f)
	if err == nil && !os.SameFile(lst, st) {
		err = errors.New("file replaced while being opened")
	}
	if err != nil {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, st, nil
}

func check(f *os.File) (fs.FileInfo, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, describe(st.Mode())
	}
	return st, nil
}

// describe says what kind of non-regular file mode is.
func describe(m fs.FileMode) error {
	kind := "special file"
	switch {
	case m&fs.ModeDir != 0:
		kind = "directory"
	case m&fs.ModeSymlink != 0:
		kind = "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		kind = "named pipe"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	case m&fs.ModeDevice != 0:
		kind = "device"
	}
	return fmt.Errorf("%w (a %s)", ErrNotRegular, kind)
}
