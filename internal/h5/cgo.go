package h5

// #cgo LDFLAGS: -lhdf5 -lhdf5_hl
// #cgo darwin CFLAGS: -I/usr/local/include
// #cgo darwin LDFLAGS: -L/usr/local/lib
// #cgo linux,!arm64 CFLAGS: -I/usr/lib/x86_64-linux-gnu/hdf5/serial/include
// #cgo linux,!arm64 LDFLAGS: -L/usr/lib/x86_64-linux-gnu/hdf5/serial/
// #cgo linux,arm64 CFLAGS: -I/usr/lib/aarch64-linux-gnu/hdf5/serial/include
// #cgo linux,arm64 LDFLAGS: -L/usr/lib/aarch64-linux-gnu/hdf5/serial/
// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// mu serializes every call into libhdf5.
var mu sync.Mutex

// lock acquires mu for a sequence of libhdf5 calls. It also pins the
// goroutine to its OS thread until unlock: a thread-safe libhdf5 build
// (Debian's is one) keeps the error stack and its automatic printing per
// thread, so the calls, the silencing and the reading of the error stack
// must happen on one thread.
func lock() {
	mu.Lock()
	runtime.LockOSThread()
	C.kc_silence()
}

// unlock releases what lock acquired.
func unlock() {
	runtime.UnlockOSThread()
	mu.Unlock()
}

func init() {
	lock()
	defer unlock()
	if C.H5open() < 0 || C.kc_silence() < 0 {
		panic("h5: cannot initialize libhdf5")
	}
}

// ErrNotFound is wrapped by the errors for missing objects and attributes.
var ErrNotFound = errors.New("not found")

// ErrRefused is wrapped by the errors for objects kconv refuses to read
// because reading them would read outside the file (external storage,
// external links, virtual datasets), follow a soft link, or allocate far
// more than the file stores (a "shape bomb").
var ErrRefused = errors.New("refused")

// newError returns an error naming the file and object. Callers hold mu.
func newError(file, obj, format string, args ...any) error {
	return fmt.Errorf("h5: %s: %s: %w", file, obj, fmt.Errorf(format, args...))
}

// libError is like newError and appends the innermost message of the
// current libhdf5 error stack, which it clears. Callers hold mu and must
// call it before any other libhdf5 call that could reset the stack.
func libError(file, obj, format string, args ...any) error {
	if msg := lastLibError(); msg != "" {
		format += " (libhdf5: %s)"
		args = append(args, msg)
	}
	return newError(file, obj, format, args...)
}

func lastLibError() string {
	var buf [512]C.char
	n := C.kc_last_error(&buf[0], C.size_t(len(buf)))
	if n <= 0 {
		return ""
	}
	return C.GoStringN(&buf[0], n)
}

// cstr is a C copy of s; free it with C.free.
func cstr(s string) *C.char { return C.CString(s) }

func free(p *C.char) { C.free(unsafe.Pointer(p)) }

// objPath joins rel to the absolute path base. A rel starting with '/' is
// absolute. Empty components are dropped.
func objPath(base, rel string) string {
	if strings.HasPrefix(rel, "/") {
		base = "/"
	}
	parts := strings.Split(strings.TrimSuffix(base, "/"), "/")
	for _, p := range strings.Split(rel, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 1 {
		return "/"
	}
	return strings.Join(parts, "/")
}

// space describes a dataspace.
type space struct {
	dims    []int // nil for a scalar
	npoints int   // number of elements
}

// readSpace reads the dataspace sid. Callers hold mu.
func readSpace(sid C.hid_t) (space, error) {
	var s space
	switch C.H5Sget_simple_extent_type(sid) {
	case C.H5S_NULL:
		return s, nil
	case C.H5S_SCALAR:
		s.npoints = 1
		return s, nil
	case C.H5S_SIMPLE:
	default:
		return s, errors.New("bad dataspace")
	}
	rank := C.H5Sget_simple_extent_ndims(sid)
	if rank < 0 || rank > C.H5S_MAX_RANK {
		return s, errors.New("bad dataspace rank")
	}
	cdims := make([]C.hsize_t, int(rank)+1)
	if C.H5Sget_simple_extent_dims(sid, &cdims[0], nil) < 0 {
		return s, errors.New("cannot read dataspace dimensions")
	}
	s.dims = make([]int, rank)
	n := uint64(1)
	for i := range s.dims {
		d := uint64(cdims[i])
		hi, lo := bits.Mul64(n, d)
		if d > math.MaxInt || hi != 0 || lo > math.MaxInt {
			return s, fmt.Errorf("dataspace too large: %v", cdims[:rank])
		}
		s.dims[i], n = int(d), lo
	}
	s.npoints = int(n)
	return s, nil
}

// typeClass names the class of a datatype.
func typeClass(tid C.hid_t) string {
	switch C.H5Tget_class(tid) {
	case C.H5T_FLOAT:
		return "float"
	case C.H5T_INTEGER:
		return "integer"
	case C.H5T_STRING:
		return "string"
	case C.H5T_ENUM:
		return "enum" // h5py stores numpy bool as an int8 enum
	default:
		return "other"
	}
}

// fitsIn reports whether n elements of size bytes each take at most limit
// bytes.
func fitsIn(n, size int, limit int64) bool {
	hi, lo := bits.Mul64(uint64(n), uint64(size))
	return limit >= 0 && hi == 0 && lo <= uint64(limit)
}
