package h5

// #include <stdlib.h>
// #include "shim.h"
import "C"

// The writers in this file make the HDF5 constructs that File refuses to
// read (see Group.Dataset). They exist so that tests, here and in the
// importers and the command, can build hostile files at run time instead
// of committing them; kconv itself never writes these forms.

// WriteExternal writes a float32 dataset at rel whose data lives in the
// external file ext (read from its first byte), not in this file.
func (g *WGroup) WriteExternal(rel string, shape []int, ext string) error {
	return g.hostile(rel, shape, func(cp *C.char, dims []C.hsize_t) C.herr_t {
		ce := cstr(ext)
		defer free(ce)
		n := C.hsize_t(4)
		for _, d := range dims {
			n *= d
		}
		return C.kc_write_external(g.w.id, cp, C.int(len(dims)), &dims[0], ce, n)
	})
}

// WriteVirtual writes a float32 virtual dataset at rel that maps all of the
// dataset src of the HDF5 file srcFile ("." for this file).
func (g *WGroup) WriteVirtual(rel string, shape []int, srcFile, src string) error {
	return g.hostile(rel, shape, func(cp *C.char, dims []C.hsize_t) C.herr_t {
		cf, cs := cstr(srcFile), cstr(src)
		defer free(cf)
		defer free(cs)
		return C.kc_write_virtual(g.w.id, cp, C.int(len(dims)), &dims[0], cf, cs)
	})
}

// WriteUnallocated writes a chunked float32 dataset at rel of the given
// shape and no data: it stores (almost) nothing, whatever it declares.
func (g *WGroup) WriteUnallocated(rel string, shape []int) error {
	return g.hostile(rel, shape, func(cp *C.char, dims []C.hsize_t) C.herr_t {
		return C.kc_write_unallocated(g.w.id, cp, C.int(len(dims)), &dims[0])
	})
}

// SoftLink makes rel a soft link to the path target of this file.
func (g *WGroup) SoftLink(rel, target string) error {
	return g.hostile(rel, nil, func(cp *C.char, _ []C.hsize_t) C.herr_t {
		ct := cstr(target)
		defer free(ct)
		return C.H5Lcreate_soft(ct, g.w.id, cp, C.H5P_DEFAULT, C.H5P_DEFAULT)
	})
}

// ExternalLink makes rel an external link to the object obj of the HDF5
// file file.
func (g *WGroup) ExternalLink(rel, file, obj string) error {
	return g.hostile(rel, nil, func(cp *C.char, _ []C.hsize_t) C.herr_t {
		cf, co := cstr(file), cstr(obj)
		defer free(cf)
		defer free(co)
		return C.H5Lcreate_external(cf, co, g.w.id, cp, C.H5P_DEFAULT, C.H5P_DEFAULT)
	})
}

// hostile runs make for the new object rel of g, with the dimensions of
// shape (which must not be empty when given).
func (g *WGroup) hostile(rel string, shape []int, make func(cp *C.char, dims []C.hsize_t) C.herr_t) error {
	p := objPath(g.path, rel)
	var dims []C.hsize_t
	for _, d := range shape {
		if d <= 0 {
			return newError(g.w.path, p, "bad shape %v", shape)
		}
		dims = append(dims, C.hsize_t(d))
	}
	if shape != nil && len(dims) == 0 {
		return newError(g.w.path, p, "empty shape")
	}
	lock()
	defer unlock()
	if err := g.w.check(p); err != nil {
		return err
	}
	if k, _ := linkKind(g.w.id, p); k != kindNone {
		return newError(g.w.path, p, "already exists")
	}
	if i := lastSlash(p); i > 0 {
		cg := cstr(p[:i])
		if id := C.kc_create_group(g.w.id, cg); id >= 0 {
			C.H5Gclose(id)
		}
		free(cg)
	}
	cp := cstr(p)
	defer free(cp)
	if make(cp, dims) < 0 {
		return libError(g.w.path, p, "cannot write")
	}
	return nil
}

func lastSlash(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return i
		}
	}
	return -1
}

// WriteBool writes a dataset of h5py's bool type (an int8 enum with FALSE
// and TRUE) at rel, all false.
func (g *WGroup) WriteBool(rel string, shape []int) error {
	return g.hostile(rel, shape, func(cp *C.char, dims []C.hsize_t) C.herr_t {
		return C.kc_write_bool(g.w.id, cp, C.int(len(dims)), &dims[0])
	})
}
