package h5

// #include "shim.h"
import "C"

import (
	"math"
	"math/bits"
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
// It refuses (with an error wrapping ErrRefused) a dataset reached through
// a soft or external link, a virtual dataset, a dataset with external
// storage and a shape bomb; see checkStorage.
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
	switch k, why := f.kind(p); k {
	case kindDataset:
	case kindNone:
		return nil, newError(f.path, p, "dataset %w", ErrNotFound)
	case kindForbidden:
		return nil, newError(f.path, p, "%w: %s", ErrRefused, why)
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
	layout, err := s.checkStorage(sp, size)
	if err != nil {
		return nil, err
	}
	if layout == C.H5D_CONTIGUOUS || layout == C.H5D_COMPACT {
		if !fitsIn(sp.npoints, size, f.size) {
			return nil, s.errorf("%d elements of %d bytes do not fit in the file (%d bytes)", sp.npoints, size, f.size)
		}
		d.checked = true
	}
	return d, nil
}

// Limits of the shape-bomb check (the ones Keras 3 uses): a dataset
// declaring more than bombBytes and more than bombRatio times the bytes it
// stores is refused.
const (
	bombBytes = 4 << 30
	bombRatio = 1000
)

// checkStorage returns the layout of the dataset s, which has the dataspace
// sp and elemSize-byte elements, after checking that reading it reads only
// this file and allocates in proportion to what the file stores:
//
//   - a virtual dataset (data mapped from other datasets, possibly in other
//     files) is refused;
//   - a dataset with external storage (data in other files, such as
//     /etc/passwd or /dev/zero) is refused;
//   - a dataset declaring over 4 GiB and over 1000 times the bytes it stores
//     (a "shape bomb": chunks never written read as the fill value, and
//     compression can shrink a huge array to almost nothing) is refused.
//
// Callers hold mu.
func (s source) checkStorage(sp space, elemSize int) (C.int, error) {
	var layout, next C.int
	var stored C.hsize_t
	if C.kc_dataset_storage(s.id, &layout, &next, &stored) < 0 {
		return 0, s.libErrorf("cannot get storage layout")
	}
	if layout == C.H5D_VIRTUAL {
		return 0, s.errorf("%w: a virtual dataset (data mapped from other datasets or files); kconv reads only the file named", ErrRefused)
	}
	if next > 0 {
		return 0, s.errorf("%w: data stored in %d external file(s); kconv reads only the file named", ErrRefused, int(next))
	}
	hi, declared := bits.Mul64(uint64(sp.npoints), uint64(elemSize))
	if hi != 0 || declared > bombBytes && declared/bombRatio > uint64(stored) {
		return 0, s.errorf("%w: declares %d elements of %d bytes but stores only %d bytes (over %d times less)", ErrRefused, sp.npoints, elemSize, uint64(stored), bombRatio)
	}
	return layout, nil
}

// Path returns the absolute path of the dataset.
func (d *Dataset) Path() string { return d.path }

// Shape returns the dimensions of the dataset, empty for a scalar.
func (d *Dataset) Shape() []int { return append([]int{}, d.sp.dims...) }

// Len returns the number of elements of the dataset: the product of its
// dimensions, 1 for a scalar.
func (d *Dataset) Len() int { return d.sp.npoints }

// Class returns the class of the element type: "float", "integer",
// "string", "enum" (h5py's bool) or "other".
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
	s := source{id: C.hid_t(ds.ID()), file: d.f.path, obj: d.path}
	// The Dataset was checked when it was made; check again in case the
	// path now leads elsewhere (cheap: metadata only).
	if _, err := s.checkStorage(d.sp, d.elemSize); err != nil {
		return err
	}
	return fn(s)
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
