// Package h5 is the only package in kconv that calls libhdf5.
//
// It reads the HDF5 files written by Keras 1, Keras 2, tf.keras and Keras 3
// (full models and weights-only files) and writes files of the same form.
// It builds on gonum.org/v1/hdf5 and adds, through a little cgo, what that
// package lacks: attribute introspection, variable-length strings, type
// inspection and reads with type conversion.
//
// # Reading
//
// Open a file with Open, then walk it from File.Root. Group and Dataset
// values are light: they hold a path, not an open HDF5 identifier, so only
// the File needs closing. Object paths are absolute and use '/' as the
// separator; HDF5 allows any other character in a name, ':' included, so
// "conv2d_1/conv2d_1/kernel:0" is a three-level path.
//
// String attributes are returned as []string whatever their storage:
// fixed-length NUL- or space-padded arrays, variable-length ASCII or UTF-8
// scalars and arrays, 1-D uint8/int8 byte arrays (one string), and the
// empty float64 array Keras writes for an empty list.
//
// # Writing
//
// Create makes a new file. WGroup sets attributes in the forms Keras uses
// and WriteFloat32 writes a contiguous float32 dataset in one call.
//
// # Errors
//
// Every error names the file and the object, for example
//
//	h5: model.h5: /model_weights/dense_1/dense_1/kernel:0: not a dataset
//
// and, when libhdf5 failed, ends with the innermost libhdf5 error message.
// Errors for missing objects and attributes wrap ErrNotFound.
// The automatic printing of the libhdf5 error stack is turned off.
//
// # Concurrency
//
// libhdf5 must not be entered by two threads at once unless it was built
// thread-safe, so every call into it from this package goes through one
// package-level mutex. (Debian's libhdf5 1.10 is in fact built thread-safe,
// which makes the error stack per thread: while holding the mutex the
// goroutine is also pinned to its OS thread.) Files, groups and datasets
// may be used from several goroutines, but calls are serialized. Do not
// call libhdf5 from elsewhere (directly or through gonum.org/v1/hdf5) while
// this package is in use.
//
// # Untrusted input
//
// kconv reads only the files the user named. Open checks that the path is
// a regular file (never opening a FIFO or device for reading) carrying the
// HDF5 signature before libhdf5 sees it. Every link along an object's path
// is checked before it is followed: soft, external and user-defined links
// are refused. Group.Dataset refuses virtual datasets, datasets with
// external storage (H5Pset_external: data in /etc/passwd, /dev/zero, a
// sibling file) and "shape bombs" (over 4 GiB declared and over 1000 times
// the bytes stored, Keras 3's rule), and checks that an uncompressed
// dataset fits in the file, all before reporting its shape or reading it.
// These errors wrap ErrRefused and name the file and the dataset. libhdf5
// itself is not hardened against every malicious file.
package h5 // import "github.com/kconv/kconv/internal/h5"
