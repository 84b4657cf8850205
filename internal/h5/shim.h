// Small C helpers for package h5: things that are macros in hdf5.h (and so
// not reachable from cgo) or that need a C callback.

#ifndef KCONV_H5_SHIM_H
#define KCONV_H5_SHIM_H

#include "hdf5.h"

// Predefined datatypes (macros that call H5open in hdf5.h).
hid_t kc_native_float(void);
hid_t kc_native_double(void);
hid_t kc_native_int64(void);
hid_t kc_ieee_f32le(void);
hid_t kc_ieee_f64le(void);
hid_t kc_ieee_f16le(void);
hid_t kc_std_i32le(void);
hid_t kc_std_i64le(void);
hid_t kc_std_u8le(void);

// kc_silence turns off the automatic printing of the error stack.
herr_t kc_silence(void);

// kc_last_error copies the description of the innermost error on the
// current error stack into buf and clears the stack. It returns the number
// of bytes written, 0 if there is no error.
int kc_last_error(char *buf, size_t size);

// kc_attr_names lists the attribute names of the object at path, in
// increasing name order, as consecutive NUL-terminated strings in a
// malloc'd buffer stored in *out. It returns the buffer length or -1.
long kc_attr_names(hid_t loc, const char *path, char **out);

// kc_string_type returns a new C string datatype: variable length when
// size is 0, otherwise fixed length and NUL padded.
hid_t kc_string_type(size_t size, int utf8);

// kc_write_attr creates (replacing any existing one) the attribute name on
// the object at path and, unless buf is NULL, writes buf to it.
herr_t kc_write_attr(hid_t loc, const char *path, const char *name,
                     hid_t ftype, hid_t space, hid_t mtype, const void *buf);

// kc_create_group creates the group at path, creating missing
// intermediate groups.
hid_t kc_create_group(hid_t loc, const char *path);

// kc_write_dataset creates a contiguous dataset at path (creating missing
// intermediate groups) with file type ftype and the given shape, then
// writes buf (of memory type mtype) to it unless buf is NULL.
herr_t kc_write_dataset(hid_t loc, const char *path, hid_t ftype, int rank,
                        const hsize_t *dims, hid_t mtype, const void *buf);

// kc_dataset_layout returns the storage layout of a dataset (H5D_layout_t
// value) or -1.
int kc_dataset_layout(hid_t dset);

// kc_link_type returns the type of the link at path (an H5L_type_t value:
// H5L_TYPE_HARD, H5L_TYPE_SOFT, H5L_TYPE_EXTERNAL or a user-defined type)
// without following it, or -1. Intermediate links of path are followed, so
// callers check them first.
int kc_link_type(hid_t loc, const char *path);

// kc_dataset_storage reports where the data of an open dataset lives: its
// layout (H5D_layout_t), its number of external storage files and the bytes
// it stores in the file. It returns -1 on failure.
herr_t kc_dataset_storage(hid_t dset, int *layout, int *nexternal, hsize_t *stored);

// kc_write_external creates a float32 dataset at path whose data is stored
// in the external file ext (from byte 0, size bytes). For tests of hostile
// files only.
herr_t kc_write_external(hid_t loc, const char *path, int rank, const hsize_t *dims,
                         const char *ext, hsize_t size);

// kc_write_virtual creates a float32 virtual dataset at path mapping all of
// the dataset src of the file srcfile. For tests of hostile files only.
herr_t kc_write_virtual(hid_t loc, const char *path, int rank, const hsize_t *dims,
                        const char *srcfile, const char *src);

// kc_write_unallocated creates a chunked float32 dataset at path and writes
// nothing to it, so it stores (almost) no bytes whatever its shape. For
// tests of hostile files only.
herr_t kc_write_unallocated(hid_t loc, const char *path, int rank, const hsize_t *dims);

// kc_write_bool creates a dataset at path of h5py's bool type (an int8
// enum FALSE=0, TRUE=1), not written (all fill values). For tests only.
herr_t kc_write_bool(hid_t loc, const char *path, int rank, const hsize_t *dims);

// kc_free_vlen_strings frees the n strings of a variable-length string
// read buffer.
void kc_free_vlen_strings(char **s, size_t n);

#endif
