package h5

// #include "shim.h"
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/kconv/kconv/internal/regfile"
	"gonum.org/v1/hdf5"
)

// signature starts every HDF5 file, at offset 0 or, after a user block,
// at 512, 1024, 2048, ...
var signature = []byte("\x89HDF\r\n\x1a\n")

// File is an HDF5 file open for reading.
type File struct {
	path string
	f    *hdf5.File // nil once closed
	id   C.hid_t
	size int64 // file size as seen by libhdf5
}

// Open opens the HDF5 file at path read-only.
//
// It checks that path is a regular file carrying the HDF5 signature before
// handing it to libhdf5, so other files give a clear "not an HDF5 file"
// error.
func Open(path string) (*File, error) {
	if err := checkSignature(path); err != nil {
		return nil, err
	}

	lock()
	defer unlock()
	f, err := hdf5.OpenFile(path, hdf5.F_ACC_RDONLY)
	if err != nil {
		return nil, libError(path, "/", "cannot open file")
	}
	file := &File{path: path, f: f, id: C.hid_t(f.ID())}
	var size C.hsize_t
	if C.H5Fget_filesize(file.id, &size) < 0 {
		err := libError(path, "/", "cannot get file size")
		f.Close()
		return nil, err
	}
	file.size = int64(size)
	return file, nil
}

// checkSignature reports an error unless path is a regular file with the
// HDF5 signature at offset 0, 512, 1024, 2048, ...
func checkSignature(path string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("h5: %s: %s", path, fmt.Sprintf(format, args...))
	}
	fd, st, err := regfile.Open(path)
	if err != nil {
		if errors.Is(err, regfile.ErrNotRegular) {
			return fail("not a regular file")
		}
		return fmt.Errorf("h5: %w", err)
	}
	defer fd.Close()
	buf := make([]byte, len(signature))
	for off := int64(0); off+int64(len(buf)) <= st.Size(); {
		if _, err := fd.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("h5: %w", err)
		}
		if bytes.Equal(buf, signature) {
			return nil
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	if st.Size() == 0 {
		return fail("not an HDF5 file (empty)")
	}
	return fail("not an HDF5 file")
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Close closes the file. Groups and datasets of a closed file return errors.
func (f *File) Close() error {
	lock()
	defer unlock()
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f, f.id = nil, -1
	if err != nil {
		return libError(f.path, "/", "cannot close file")
	}
	return nil
}

// Root returns the root group.
func (f *File) Root() *Group { return &Group{f: f, path: "/"} }

// check returns an error if the file is closed. Callers hold mu.
func (f *File) check(obj string) error {
	if f.f == nil {
		return newError(f.path, obj, "file is closed")
	}
	return nil
}
