package h5

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"gonum.org/v1/hdf5"
)

// Writer is an HDF5 file open for writing.
type Writer struct {
	path string
	f    *hdf5.File // nil once closed
	id   C.hid_t
}

// WGroup is a group of a Writer.
type WGroup struct {
	w    *Writer
	path string
}

// Create creates the HDF5 file at path, truncating any existing file.
func Create(path string) (*Writer, error) {
	lock()
	defer unlock()
	f, err := hdf5.CreateFile(path, hdf5.F_ACC_TRUNC)
	if err != nil {
		return nil, libError(path, "/", "cannot create file")
	}
	return &Writer{path: path, f: f, id: C.hid_t(f.ID())}, nil
}

// Path returns the path the file was created with.
func (w *Writer) Path() string { return w.path }

// Close flushes and closes the file.
func (w *Writer) Close() error {
	lock()
	defer unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f, w.id = nil, -1
	if err != nil {
		return libError(w.path, "/", "cannot close file")
	}
	return nil
}

// Root returns the root group.
func (w *Writer) Root() *WGroup { return &WGroup{w: w, path: "/"} }

// CreateGroup is Root().CreateGroup.
func (w *Writer) CreateGroup(path string) (*WGroup, error) {
	return w.Root().CreateGroup(path)
}

// WriteFloat32 is Root().WriteFloat32.
func (w *Writer) WriteFloat32(path string, shape []int, data []float32) error {
	return w.Root().WriteFloat32(path, shape, data)
}

// check returns an error if the file is closed. Callers hold mu.
func (w *Writer) check(obj string) error {
	if w.f == nil {
		return newError(w.path, obj, "file is closed")
	}
	return nil
}

// Path returns the absolute path of the group.
func (g *WGroup) Path() string { return g.path }

// CreateGroup returns the group at rel, a path relative to g, creating it
// and any missing intermediate groups if needed.
func (g *WGroup) CreateGroup(rel string) (*WGroup, error) {
	p := objPath(g.path, rel)
	lock()
	defer unlock()
	if err := g.w.check(p); err != nil {
		return nil, err
	}
	switch k, _ := linkKind(g.w.id, p); k {
	case kindGroup:
		return &WGroup{w: g.w, path: p}, nil
	case kindNone:
	default:
		return nil, newError(g.w.path, p, "exists and is not a group")
	}
	cp := cstr(p)
	defer free(cp)
	id := C.kc_create_group(g.w.id, cp)
	if id < 0 {
		return nil, libError(g.w.path, p, "cannot create group")
	}
	C.H5Gclose(id)
	return &WGroup{w: g.w, path: p}, nil
}

// fileType is a file datatype for dataset writes.
type fileType int

const (
	typeF32 fileType = iota
	typeF16
	typeF64
	typeI32
	typeU8
)

func (t fileType) id() C.hid_t {
	switch t {
	case typeF16:
		return C.kc_ieee_f16le()
	case typeF64:
		return C.kc_ieee_f64le()
	case typeI32:
		return C.kc_std_i32le()
	case typeU8:
		return C.kc_std_u8le()
	default:
		return C.kc_ieee_f32le()
	}
}

// WriteFloat32 writes data as a new contiguous little-endian float32
// dataset at rel, a path relative to g, with the given shape (empty for a
// scalar), creating missing intermediate groups. The data is written with
// one call to libhdf5.
func (g *WGroup) WriteFloat32(rel string, shape []int, data []float32) error {
	return g.writeAs(rel, shape, data, typeF32)
}

// writeAs is WriteFloat32 with the file datatype t; libhdf5 converts.
func (g *WGroup) writeAs(rel string, shape []int, data []float32, t fileType) error {
	p := objPath(g.path, rel)
	dims, err := dimsOf(shape, len(data))
	if err != nil {
		return newError(g.w.path, p, "%v", err)
	}
	lock()
	defer unlock()
	if err := g.w.check(p); err != nil {
		return err
	}
	return g.writeDataset(p, t.id(), dims, C.kc_native_float(), ptr(data))
}

// writeStrings writes vals as a new 1-D string dataset at rel.
func (g *WGroup) writeStrings(rel string, vals []string, vlen bool) error {
	p := objPath(g.path, rel)
	lock()
	defer unlock()
	if err := g.w.check(p); err != nil {
		return err
	}
	st, err := newStrings(vals, vlen)
	if err != nil {
		return newError(g.w.path, p, "%v", err)
	}
	defer st.close()
	dims := []C.hsize_t{C.hsize_t(len(vals))}
	return g.writeDataset(p, st.tid, dims, st.tid, st.buf)
}

// writeDataset creates the dataset p and writes buf to it. Callers hold mu.
func (g *WGroup) writeDataset(p string, ftype C.hid_t, dims []C.hsize_t, mtype C.hid_t, buf unsafe.Pointer) error {
	if ftype < 0 || mtype < 0 {
		return libError(g.w.path, p, "cannot make datatype")
	}
	if k, _ := linkKind(g.w.id, p); k != kindNone {
		return newError(g.w.path, p, "already exists")
	}
	cp := cstr(p)
	defer free(cp)
	var pdims *C.hsize_t
	if len(dims) > 0 {
		pdims = &dims[0]
	}
	if C.kc_write_dataset(g.w.id, cp, ftype, C.int(len(dims)), pdims, mtype, buf) < 0 {
		return libError(g.w.path, p, "cannot write dataset")
	}
	return nil
}

// dimsOf checks that shape has n elements and returns it as HDF5 dims.
func dimsOf(shape []int, n int) ([]C.hsize_t, error) {
	if len(shape) > C.H5S_MAX_RANK {
		return nil, fmt.Errorf("rank %d exceeds %d", len(shape), C.H5S_MAX_RANK)
	}
	dims := make([]C.hsize_t, len(shape))
	prod := uint64(1)
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", shape)
		}
		hi, lo := bits.Mul64(prod, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return nil, fmt.Errorf("shape %v too large", shape)
		}
		prod = lo
		dims[i] = C.hsize_t(d)
	}
	if prod != uint64(n) {
		return nil, fmt.Errorf("shape %v has %d elements, data has %d", shape, prod, n)
	}
	return dims, nil
}

// SetAttrString sets the attribute name of g to a scalar variable-length
// string, as h5py writes a Python str. The character set is ASCII if value
// is pure ASCII, UTF-8 otherwise.
func (g *WGroup) SetAttrString(name, value string) error {
	return g.setAttrStrings(name, []string{value}, true, true)
}

// SetAttrStringsFixed sets the attribute name of g to a 1-D array of
// fixed-length NUL-padded strings as long as the longest value, the form
// Keras 1 and 2 use for layer_names and weight_names. An empty vals is
// stored as an empty float64 array, as Keras does.
//
// libhdf5 limits an attribute to 64 KiB; Keras splits longer lists into
// name0, name1, ... (see Group.AttrStringsChunked).
func (g *WGroup) SetAttrStringsFixed(name string, vals []string) error {
	return g.setAttrStrings(name, vals, false, false)
}

// SetAttrStringsVlen sets the attribute name of g to a 1-D array of
// variable-length strings, the form tf.keras 2.11+ and Keras 3 use. An
// empty vals is stored as an empty float64 array, as Keras does.
func (g *WGroup) SetAttrStringsVlen(name string, vals []string) error {
	return g.setAttrStrings(name, vals, true, false)
}

func (g *WGroup) setAttrStrings(name string, vals []string, vlen, scalar bool) error {
	lock()
	defer unlock()
	label := fmt.Sprintf("%s: attribute %q", g.path, name)
	if err := g.w.check(label); err != nil {
		return err
	}
	if len(vals) == 0 {
		return g.setAttr(label, name, C.kc_ieee_f64le(), []C.hsize_t{0}, C.kc_native_double(), nil)
	}
	st, err := newStrings(vals, vlen)
	if err != nil {
		return newError(g.w.path, label, "%v", err)
	}
	defer st.close()
	var dims []C.hsize_t
	if !scalar {
		dims = []C.hsize_t{C.hsize_t(len(vals))}
	}
	return g.setAttr(label, name, st.tid, dims, st.tid, st.buf)
}

// SetAttrInt64s sets the attribute name of g to a 1-D array of
// little-endian int64.
func (g *WGroup) SetAttrInt64s(name string, vals []int64) error {
	lock()
	defer unlock()
	label := fmt.Sprintf("%s: attribute %q", g.path, name)
	if err := g.w.check(label); err != nil {
		return err
	}
	dims := []C.hsize_t{C.hsize_t(len(vals))}
	return g.setAttr(label, name, C.kc_std_i64le(), dims, C.kc_native_int64(), ptr(vals))
}

// SetAttrFloat64s sets the attribute name of g to a 1-D array of
// little-endian float64.
func (g *WGroup) SetAttrFloat64s(name string, vals []float64) error {
	lock()
	defer unlock()
	label := fmt.Sprintf("%s: attribute %q", g.path, name)
	if err := g.w.check(label); err != nil {
		return err
	}
	dims := []C.hsize_t{C.hsize_t(len(vals))}
	return g.setAttr(label, name, C.kc_ieee_f64le(), dims, C.kc_native_double(), ptr(vals))
}

// setAttr replaces the attribute name of g; nil dims make a scalar.
// Callers hold mu.
func (g *WGroup) setAttr(label, name string, ftype C.hid_t, dims []C.hsize_t, mtype C.hid_t, buf unsafe.Pointer) error {
	var sid C.hid_t
	if dims == nil {
		sid = C.H5Screate(C.H5S_SCALAR)
	} else {
		sid = C.H5Screate_simple(C.int(len(dims)), &dims[0], nil)
	}
	if sid < 0 {
		return libError(g.w.path, label, "cannot make dataspace")
	}
	defer C.H5Sclose(sid)
	cp, cn := cstr(g.path), cstr(name)
	defer free(cp)
	defer free(cn)
	if len(dims) == 1 && dims[0] == 0 {
		buf = nil
	}
	if C.kc_write_attr(g.w.id, cp, cn, ftype, sid, mtype, buf) < 0 {
		return libError(g.w.path, label, "cannot write attribute")
	}
	return nil
}

// cStrings holds a string datatype and a C buffer of strings of that type.
type cStrings struct {
	tid  C.hid_t
	buf  unsafe.Pointer
	ptrs []*C.char // C strings to free (variable length only)
}

// newStrings lays out vals for writing: as C string pointers if vlen, else
// as NUL-padded fixed-length strings as long as the longest value (at
// least 1). Callers hold mu.
func newStrings(vals []string, vlen bool) (*cStrings, error) {
	utf8 := 0
	size := 1
	for _, v := range vals {
		size = max(size, len(v))
		for i := 0; i < len(v); i++ {
			if v[i] >= 0x80 {
				utf8 = 1
			}
		}
	}
	if vlen {
		size = 0
	}
	tid := C.kc_string_type(C.size_t(size), C.int(utf8))
	if tid < 0 {
		return nil, fmt.Errorf("cannot make string datatype (libhdf5: %s)", lastLibError())
	}
	st := &cStrings{tid: tid}
	if vlen {
		arr := C.calloc(C.size_t(len(vals)), C.size_t(unsafe.Sizeof((*C.char)(nil))))
		if arr == nil {
			st.close()
			return nil, fmt.Errorf("out of memory for %d strings", len(vals))
		}
		st.buf = arr
		st.ptrs = unsafe.Slice((**C.char)(arr), len(vals))
		for i, v := range vals {
			st.ptrs[i] = C.CString(v)
		}
		return st, nil
	}
	b := C.calloc(C.size_t(len(vals)), C.size_t(size))
	if b == nil {
		st.close()
		return nil, fmt.Errorf("out of memory for %d strings of %d bytes", len(vals), size)
	}
	st.buf = b
	bs := unsafe.Slice((*byte)(b), len(vals)*size)
	for i, v := range vals {
		copy(bs[i*size:], v)
	}
	return st, nil
}

func (st *cStrings) close() {
	for _, p := range st.ptrs {
		C.free(unsafe.Pointer(p))
	}
	C.free(st.buf)
	C.H5Tclose(st.tid)
}
