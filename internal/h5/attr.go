package h5

// #include "shim.h"
import "C"

import (
	"fmt"
	"strconv"
	"unsafe"
)

// AttrNames returns the names of the attributes of g in increasing name
// order.
func (g *Group) AttrNames() ([]string, error) {
	lock()
	defer unlock()
	if err := g.f.check(g.path); err != nil {
		return nil, err
	}
	cp := cstr(g.path)
	defer free(cp)
	var buf *C.char
	n := C.kc_attr_names(g.f.id, cp, &buf)
	if n < 0 {
		return nil, libError(g.f.path, g.path, "cannot list attributes")
	}
	defer free(buf)
	var names []string
	b := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	for len(b) > 0 {
		i := 0
		for b[i] != 0 {
			i++
		}
		names = append(names, string(b[:i]))
		b = b[i+1:]
	}
	return names, nil
}

// HasAttr reports whether g has the attribute name.
func (g *Group) HasAttr(name string) bool {
	lock()
	defer unlock()
	return g.hasAttr(name)
}

func (g *Group) hasAttr(name string) bool {
	if g.f.f == nil {
		return false
	}
	cp, cn := cstr(g.path), cstr(name)
	defer free(cp)
	defer free(cn)
	return C.H5Aexists_by_name(g.f.id, cp, cn, C.H5P_DEFAULT) > 0
}

// withAttr opens the attribute name and calls fn with it. Callers hold mu.
func (g *Group) withAttr(name string, fn func(s source) error) error {
	label := fmt.Sprintf("%s: attribute %q", g.path, name)
	if err := g.f.check(label); err != nil {
		return err
	}
	if !g.hasAttr(name) {
		return newError(g.f.path, label, "%w", ErrNotFound)
	}
	cp, cn := cstr(g.path), cstr(name)
	defer free(cp)
	defer free(cn)
	id := C.H5Aopen_by_name(g.f.id, cp, cn, C.H5P_DEFAULT, C.H5P_DEFAULT)
	if id < 0 {
		return libError(g.f.path, label, "cannot open attribute")
	}
	defer C.H5Aclose(id)
	return fn(source{id: id, attr: true, file: g.f.path, obj: label})
}

// AttrStrings returns the string attribute name as a list. It accepts
// every form found in Keras files: fixed-length strings (NUL-terminated,
// NUL-padded or space-padded, padding removed), variable-length ASCII or
// UTF-8 strings, scalars or arrays of any rank (flattened in row-major
// order), an empty array of any type (Keras' empty list) and a 1-D uint8
// or int8 array (returned as one string).
func (g *Group) AttrStrings(name string) ([]string, error) {
	lock()
	defer unlock()
	var out []string
	err := g.withAttr(name, func(s source) error {
		var err error
		out, err = s.readStrings(g.f.size)
		return err
	})
	return out, err
}

// AttrString returns the string attribute name, which must hold exactly
// one string.
func (g *Group) AttrString(name string) (string, error) {
	ss, err := g.AttrStrings(name)
	if err != nil {
		return "", err
	}
	if len(ss) != 1 {
		return "", newError(g.f.path, fmt.Sprintf("%s: attribute %q", g.path, name), "has %d strings, want 1", len(ss))
	}
	return ss[0], nil
}

// AttrStringsChunked returns the string attribute name or, when g has no
// such attribute, the concatenation of name0, name1, ... as Keras writes
// attributes too large for one HDF5 attribute (64 KiB).
func (g *Group) AttrStringsChunked(name string) ([]string, error) {
	if g.HasAttr(name) {
		return g.AttrStrings(name)
	}
	var out []string
	for i := 0; ; i++ {
		chunk := name + strconv.Itoa(i)
		if !g.HasAttr(chunk) {
			if i == 0 {
				return nil, newError(g.f.path, fmt.Sprintf("%s: attribute %q", g.path, name), "%w (nor %q)", ErrNotFound, chunk)
			}
			return out, nil
		}
		ss, err := g.AttrStrings(chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
}

// AttrInts returns the integer attribute name, flattened.
func (g *Group) AttrInts(name string) ([]int64, error) {
	lock()
	defer unlock()
	var out []int64
	err := g.withAttr(name, func(s source) error {
		_, _, sp, err := s.info()
		if err != nil {
			return err
		}
		if !fitsIn(sp.npoints, 1, g.f.size) {
			return s.errorf("%d elements do not fit in the file", sp.npoints)
		}
		out = make([]int64, sp.npoints)
		return s.readNumbers(C.kc_native_int64(), "int64", ptr(out), len(out), false)
	})
	return out, err
}

// AttrFloat64s returns the numeric (float or integer) attribute name,
// flattened and converted to float64.
func (g *Group) AttrFloat64s(name string) ([]float64, error) {
	lock()
	defer unlock()
	var out []float64
	err := g.withAttr(name, func(s source) error {
		_, _, sp, err := s.info()
		if err != nil {
			return err
		}
		if !fitsIn(sp.npoints, 1, g.f.size) {
			return s.errorf("%d elements do not fit in the file", sp.npoints)
		}
		out = make([]float64, sp.npoints)
		return s.readNumbers(C.kc_native_double(), "float64", ptr(out), len(out), true)
	})
	return out, err
}

// ptr returns a pointer to the first element of s, or nil if s is empty.
func ptr[T any](s []T) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}
