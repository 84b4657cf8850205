package h5

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"bytes"
	"unsafe"
)

// source is an open attribute or dataset to read from. Its methods are
// called with mu held.
type source struct {
	id   C.hid_t
	attr bool

	file string // file path, for errors
	obj  string // object label, for errors
}

func (s source) datatype() C.hid_t {
	if s.attr {
		return C.H5Aget_type(s.id)
	}
	return C.H5Dget_type(s.id)
}

func (s source) dataspace() C.hid_t {
	if s.attr {
		return C.H5Aget_space(s.id)
	}
	return C.H5Dget_space(s.id)
}

func (s source) read(mem C.hid_t, buf unsafe.Pointer) C.herr_t {
	if s.attr {
		return C.H5Aread(s.id, mem, buf)
	}
	return C.H5Dread(s.id, mem, C.H5S_ALL, C.H5S_ALL, C.H5P_DEFAULT, buf)
}

func (s source) errorf(format string, args ...any) error {
	return newError(s.file, s.obj, format, args...)
}

func (s source) libErrorf(format string, args ...any) error {
	return libError(s.file, s.obj, format, args...)
}

// info returns the datatype class, element size and dataspace of s.
func (s source) info() (class string, size int, sp space, err error) {
	tid := s.datatype()
	if tid < 0 {
		return "", 0, sp, s.libErrorf("cannot get datatype")
	}
	defer C.H5Tclose(tid)
	sid := s.dataspace()
	if sid < 0 {
		return "", 0, sp, s.libErrorf("cannot get dataspace")
	}
	defer C.H5Sclose(sid)
	if sp, err = readSpace(sid); err != nil {
		return "", 0, sp, s.errorf("%v", err)
	}
	return typeClass(tid), int(C.H5Tget_size(tid)), sp, nil
}

// readStrings reads s as a list of strings; see Group.AttrStrings for the
// forms accepted. Unless limit is negative, the data must fit in limit
// bytes.
func (s source) readStrings(limit int64) ([]string, error) {
	tid := s.datatype()
	if tid < 0 {
		return nil, s.libErrorf("cannot get datatype")
	}
	defer C.H5Tclose(tid)
	sid := s.dataspace()
	if sid < 0 {
		return nil, s.libErrorf("cannot get dataspace")
	}
	defer C.H5Sclose(sid)
	sp, err := readSpace(sid)
	if err != nil {
		return nil, s.errorf("%v", err)
	}
	n := sp.npoints
	size := int(C.H5Tget_size(tid))
	if size <= 0 {
		return nil, s.libErrorf("cannot get datatype size")
	}
	plausible := func(elem int) error {
		if limit >= 0 && !fitsIn(n, elem, limit) {
			return s.errorf("%d elements of %d bytes do not fit in the file (%d bytes)", n, elem, limit)
		}
		return nil
	}

	switch class := C.H5Tget_class(tid); {
	case class == C.H5T_STRING:
		vlen := C.H5Tis_variable_str(tid)
		if vlen < 0 {
			return nil, s.libErrorf("cannot inspect string type")
		}
		if vlen > 0 {
			// Each element takes at least 16 bytes in the file.
			if err := plausible(16); err != nil {
				return nil, err
			}
			return s.vlenStrings(tid, n)
		}
		if err := plausible(size); err != nil {
			return nil, err
		}
		return s.fixedStrings(tid, n, size)

	case n == 0:
		// Keras stores an empty list as an empty float64 array.
		return []string{}, nil

	case class == C.H5T_INTEGER && size == 1 && len(sp.dims) <= 1:
		// Bytes: one string.
		if err := plausible(1); err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		if s.read(tid, unsafe.Pointer(&buf[0])) < 0 {
			return nil, s.libErrorf("cannot read bytes")
		}
		return []string{string(buf)}, nil

	default:
		return nil, s.errorf("not a string (%s of %d bytes, %d elements)", typeClass(tid), size, n)
	}
}

// vlenStrings reads n variable-length strings of file type tid.
func (s source) vlenStrings(tid C.hid_t, n int) ([]string, error) {
	out := make([]string, n)
	if n == 0 {
		return out, nil
	}
	mt := C.kc_string_type(0, C.int(0))
	if mt < 0 {
		return nil, s.libErrorf("cannot make string type")
	}
	defer C.H5Tclose(mt)
	if C.H5Tset_cset(mt, C.H5Tget_cset(tid)) < 0 {
		return nil, s.libErrorf("cannot set character set")
	}
	buf := (**C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	if buf == nil {
		return nil, s.errorf("out of memory for %d strings", n)
	}
	defer C.free(unsafe.Pointer(buf))
	if s.read(mt, unsafe.Pointer(buf)) < 0 {
		return nil, s.libErrorf("cannot read strings")
	}
	ptrs := unsafe.Slice(buf, n)
	for i, p := range ptrs {
		if p != nil {
			out[i] = C.GoString(p)
		}
	}
	C.kc_free_vlen_strings(buf, C.size_t(n))
	return out, nil
}

// fixedStrings reads n fixed-length strings of size bytes and file type
// tid, removing their padding.
func (s source) fixedStrings(tid C.hid_t, n, size int) ([]string, error) {
	out := make([]string, n)
	if n == 0 {
		return out, nil
	}
	buf := make([]byte, n*size)
	if s.read(tid, unsafe.Pointer(&buf[0])) < 0 {
		return nil, s.libErrorf("cannot read strings")
	}
	pad := C.H5Tget_strpad(tid)
	for i := range out {
		b := buf[i*size : (i+1)*size]
		switch pad {
		case C.H5T_STR_NULLTERM:
			if j := bytes.IndexByte(b, 0); j >= 0 {
				b = b[:j]
			}
		case C.H5T_STR_SPACEPAD:
			b = bytes.TrimRight(b, " \x00")
		default:
			b = bytes.TrimRight(b, "\x00")
		}
		out[i] = string(b)
	}
	return out, nil
}

// readNumbers reads s, which must have n elements of an integer class (or a
// float class if floats is set), converting to memory type mem, named
// memName in errors.
func (s source) readNumbers(mem C.hid_t, memName string, buf unsafe.Pointer, n int, floats bool) error {
	class, size, sp, err := s.info()
	if err != nil {
		return err
	}
	if class != "integer" && (class != "float" || !floats) {
		return s.errorf("cannot read %s data (%d-byte elements) as %s", class, size, memName)
	}
	if sp.npoints != n {
		return s.errorf("buffer has %d elements, data has %d", n, sp.npoints)
	}
	if n == 0 {
		return nil
	}
	if s.read(mem, buf) < 0 {
		return s.libErrorf("cannot read data")
	}
	return nil
}
