package h5

// #include "shim.h"
import "C"

import (
	"math"
)

// Dataset is a dataset of an open File.
type Dataset struct {
	f        *File
	path     string
	sp       space
	class    string
	elemSize int
	checked  bool // data known to fit in the file (not chunked)
}

// Dataset returns the dataset at rel, a path relative to g.
//
// For datasets stored uncompressed (contiguous or compact layout), it checks
// that the data fits in the file, so the shape of a forged or truncated
// file cannot make the caller allocate a huge buffer. Chunked datasets,
// which may be compressed, are not checked.
func (g *Group) Dataset(rel string) (*Dataset, error) {
	p := objPath(g.path, rel)
	lock()
	defer unlock()
	f := g.f
	if err := f.check(p); err != nil {
		return nil, err
	}
	switch f.kind(p) {
	case kindDataset:
	case kindNone:
		return nil, newError(f.path, p, "dataset %w", ErrNotFound)
	case kindBroken:
		return nil, libError(f.path, p, "cannot open object")
	default:
		return nil, newError(f.path, p, "not a dataset")
	}
	ds, err := f.f.OpenDataset(p)
	if err != nil {
		return nil, libError(f.path, p, "cannot open dataset")
	}
	defer ds.Close()
	s := source{id: C.hid_t(ds.ID()), file: f.path, obj: p}
	class, size, sp, err := s.info()
	if err != nil {
		return nil, err
	}
	d := &Dataset{f: f, path: p, sp: sp, class: class, elemSize: size}
	layout := C.kc_dataset_layout(s.id)
	if layout < 0 {
		return nil, s.libErrorf("cannot get storage layout")
	}
	if layout == C.H5D_CONTIGUOUS || layout == C.H5D_COMPACT {
		if !fitsIn(sp.npoints, size, f.size) {
			return nil, s.errorf("%d elements of %d bytes do not fit in the file (%d bytes)", sp.npoints, size, f.size)
		}
		d.checked = true
	}
	return d, nil
}

// Path returns the absolute path of the dataset.
func (d *Dataset) Path() string { return d.path }

// Shape returns the dimensions of the dataset, empty for a scalar.
func (d *Dataset) Shape() []int { return append([]int{}, d.sp.dims...) }

// Len returns the number of elements of the dataset: the product of its
// dimensions, 1 for a scalar.
func (d *Dataset) Len() int { return d.sp.npoints }

// Class returns the class of the element type: "float", "integer",
// "string" or "other".
func (d *Dataset) Class() string { return d.class }

// ElemSize returns the size in bytes of an element in the file.
func (d *Dataset) ElemSize() int { return d.elemSize }

// withData opens the dataset and calls fn with it. Callers hold mu.
func (d *Dataset) withData(fn func(s source) error) error {
	if err := d.f.check(d.path); err != nil {
		return err
	}
	ds, err := d.f.f.OpenDataset(d.path)
	if err != nil {
		return libError(d.f.path, d.path, "cannot open dataset")
	}
	defer ds.Close()
	return fn(source{id: C.hid_t(ds.ID()), file: d.f.path, obj: d.path})
}

// ReadFloat32 reads the whole dataset into dst, which must have Len
// elements, converting float16, float32, float64 and integer data to
// float32.
func (d *Dataset) ReadFloat32(dst []float32) error {
	lock()
	defer unlock()
	return d.withData(func(s source) error {
		return s.readNumbers(C.kc_native_float(), "float32", ptr(dst), len(dst), true)
	})
}

// ReadFloat64 reads the whole dataset into dst, which must have Len
// elements, converting float and integer data to float64.
func (d *Dataset) ReadFloat64(dst []float64) error {
	lock()
	defer unlock()
	return d.withData(func(s source) error {
		return s.readNumbers(C.kc_native_double(), "float64", ptr(dst), len(dst), true)
	})
}

// ReadInt64 reads the whole integer dataset into dst, which must have Len
// elements.
func (d *Dataset) ReadInt64(dst []int64) error {
	lock()
	defer unlock()
	return d.withData(func(s source) error {
		return s.readNumbers(C.kc_native_int64(), "int64", ptr(dst), len(dst), false)
	})
}

// ReadStrings reads a string dataset, in the forms Group.AttrStrings
// accepts.
func (d *Dataset) ReadStrings() ([]string, error) {
	lock()
	defer unlock()
	var out []string
	err := d.withData(func(s source) error {
		limit := int64(math.MaxInt64)
		if d.checked {
			limit = d.f.size
		}
		var err error
		out, err = s.readStrings(limit)
		return err
	})
	return out, err
}
