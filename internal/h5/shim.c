#include <stdlib.h>
#include <string.h>

#include "shim.h"

hid_t kc_native_float(void) { return H5T_NATIVE_FLOAT; }
hid_t kc_native_double(void) { return H5T_NATIVE_DOUBLE; }
hid_t kc_native_int64(void) { return H5T_NATIVE_INT64; }
hid_t kc_ieee_f32le(void) { return H5T_IEEE_F32LE; }
hid_t kc_ieee_f64le(void) { return H5T_IEEE_F64LE; }
hid_t kc_std_i32le(void) { return H5T_STD_I32LE; }
hid_t kc_std_i64le(void) { return H5T_STD_I64LE; }
hid_t kc_std_u8le(void) { return H5T_STD_U8LE; }

// kc_ieee_f16le returns IEEE 754 half precision, built the way h5py does.
// The type is created once and kept for the life of the process.
hid_t kc_ieee_f16le(void) {
	static hid_t t = -1;
	if (t >= 0) {
		return t;
	}
	hid_t n = H5Tcopy(H5T_IEEE_F32LE);
	if (n < 0) {
		return -1;
	}
	if (H5Tset_fields(n, 15, 10, 5, 0, 10) < 0 || H5Tset_size(n, 2) < 0 ||
	    H5Tset_ebias(n, 15) < 0 || H5Tlock(n) < 0) {
		H5Tclose(n);
		return -1;
	}
	t = n;
	return t;
}

herr_t kc_silence(void) { return H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

typedef struct {
	char *buf;
	size_t size;
	int n;
} kc_errbuf;

static herr_t kc_walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
	kc_errbuf *b = data;
	if (n != 0 || e->desc == NULL) {
		return 0;
	}
	size_t l = strlen(e->desc);
	if (l >= b->size) {
		l = b->size - 1;
	}
	memcpy(b->buf, e->desc, l);
	b->buf[l] = 0;
	b->n = (int)l;
	return 0;
}

int kc_last_error(char *buf, size_t size) {
	if (size == 0) {
		return 0;
	}
	buf[0] = 0;
	hid_t st = H5Eget_current_stack();
	if (st < 0) {
		return 0;
	}
	kc_errbuf b = {buf, size, 0};
	H5Ewalk2(st, H5E_WALK_UPWARD, kc_walk_cb, &b);
	H5Eclose_stack(st);
	return b.n;
}

typedef struct {
	char *buf;
	size_t len, cap;
} kc_names;

static herr_t kc_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
	(void)loc;
	(void)info;
	kc_names *n = data;
	size_t l = strlen(name) + 1;
	if (n->len + l > n->cap) {
		size_t c = 2 * n->cap + l + 64;
		char *b = realloc(n->buf, c);
		if (b == NULL) {
			return -1;
		}
		n->buf = b;
		n->cap = c;
	}
	memcpy(n->buf + n->len, name, l);
	n->len += l;
	return 0;
}

long kc_attr_names(hid_t loc, const char *path, char **out) {
	kc_names n = {NULL, 0, 0};
	hsize_t idx = 0;
	*out = NULL;
	if (H5Aiterate_by_name(loc, path, H5_INDEX_NAME, H5_ITER_INC, &idx, kc_attr_cb, &n, H5P_DEFAULT) < 0) {
		free(n.buf);
		return -1;
	}
	*out = n.buf;
	return (long)n.len;
}

hid_t kc_string_type(size_t size, int utf8) {
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t < 0) {
		return -1;
	}
	herr_t st;
	if (size == 0) {
		st = H5Tset_size(t, H5T_VARIABLE);
	} else {
		st = H5Tset_size(t, size);
		if (st >= 0) {
			st = H5Tset_strpad(t, H5T_STR_NULLPAD);
		}
	}
	if (st >= 0) {
		st = H5Tset_cset(t, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
	}
	if (st < 0) {
		H5Tclose(t);
		return -1;
	}
	return t;
}

// KC_KEEP_ERRORS runs cleanup after a failure, keeping the error stack of
// the failure: the close calls would otherwise clear it.
#define KC_KEEP_ERRORS(cleanup)                 \
	do {                                        \
		hid_t es_ = H5Eget_current_stack();     \
		cleanup;                                \
		if (es_ >= 0) {                         \
			H5Eset_current_stack(es_);          \
		}                                       \
	} while (0)

herr_t kc_write_attr(hid_t loc, const char *path, const char *name,
                     hid_t ftype, hid_t space, hid_t mtype, const void *buf) {
	htri_t e = H5Aexists_by_name(loc, path, name, H5P_DEFAULT);
	if (e < 0) {
		return -1;
	}
	if (e > 0 && H5Adelete_by_name(loc, path, name, H5P_DEFAULT) < 0) {
		return -1;
	}
	hid_t a = H5Acreate_by_name(loc, path, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	if (a < 0) {
		return -1;
	}
	if (buf != NULL && H5Awrite(a, mtype, buf) < 0) {
		KC_KEEP_ERRORS(H5Aclose(a));
		return -1;
	}
	return H5Aclose(a);
}

static hid_t kc_lcpl(void) {
	hid_t p = H5Pcreate(H5P_LINK_CREATE);
	if (p < 0) {
		return -1;
	}
	if (H5Pset_create_intermediate_group(p, 1) < 0) {
		KC_KEEP_ERRORS(H5Pclose(p));
		return -1;
	}
	return p;
}

hid_t kc_create_group(hid_t loc, const char *path) {
	hid_t p = kc_lcpl();
	if (p < 0) {
		return -1;
	}
	hid_t g = H5Gcreate2(loc, path, p, H5P_DEFAULT, H5P_DEFAULT);
	if (g < 0) {
		KC_KEEP_ERRORS(H5Pclose(p));
		return -1;
	}
	H5Pclose(p);
	return g;
}

herr_t kc_write_dataset(hid_t loc, const char *path, hid_t ftype, int rank,
                        const hsize_t *dims, hid_t mtype, const void *buf) {
	hid_t s = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
	if (s < 0) {
		return -1;
	}
	hid_t p = kc_lcpl();
	if (p < 0) {
		KC_KEEP_ERRORS(H5Sclose(s));
		return -1;
	}
	hid_t d = H5Dcreate2(loc, path, ftype, s, p, H5P_DEFAULT, H5P_DEFAULT);
	if (d < 0) {
		KC_KEEP_ERRORS(H5Pclose(p); H5Sclose(s));
		return -1;
	}
	if (buf != NULL && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
		KC_KEEP_ERRORS(H5Dclose(d); H5Pclose(p); H5Sclose(s));
		return -1;
	}
	H5Pclose(p);
	H5Sclose(s);
	return H5Dclose(d);
}

int kc_dataset_layout(hid_t dset) {
	hid_t p = H5Dget_create_plist(dset);
	if (p < 0) {
		return -1;
	}
	H5D_layout_t l = H5Pget_layout(p);
	if (l < 0) {
		KC_KEEP_ERRORS(H5Pclose(p));
		return -1;
	}
	H5Pclose(p);
	return (int)l;
}

void kc_free_vlen_strings(char **s, size_t n) {
	for (size_t i = 0; i < n; i++) {
		if (s[i] != NULL) {
			H5free_memory(s[i]);
		}
	}
}

int kc_link_type(hid_t loc, const char *path) {
	H5L_info_t info;
	if (H5Lget_info(loc, path, &info, H5P_DEFAULT) < 0) {
		return -1;
	}
	return (int)info.type;
}

herr_t kc_dataset_storage(hid_t dset, int *layout, int *nexternal, hsize_t *stored) {
	hid_t p = H5Dget_create_plist(dset);
	if (p < 0) {
		return -1;
	}
	H5D_layout_t l = H5Pget_layout(p);
	int n = H5Pget_external_count(p);
	if (l < 0 || n < 0) {
		KC_KEEP_ERRORS(H5Pclose(p));
		return -1;
	}
	H5Pclose(p);
	*layout = (int)l;
	*nexternal = n;
	*stored = H5Dget_storage_size(dset);
	return 0;
}

// kc_make_dataset creates a float32 dataset at path with the creation
// property list dcpl and closes it.
static herr_t kc_make_dataset(hid_t loc, const char *path, int rank, const hsize_t *dims, hid_t dcpl) {
	hid_t s = H5Screate_simple(rank, dims, NULL);
	if (s < 0) {
		return -1;
	}
	hid_t lp = kc_lcpl();
	if (lp < 0) {
		KC_KEEP_ERRORS(H5Sclose(s));
		return -1;
	}
	hid_t d = H5Dcreate2(loc, path, H5T_IEEE_F32LE, s, lp, dcpl, H5P_DEFAULT);
	KC_KEEP_ERRORS(H5Pclose(lp); H5Sclose(s));
	if (d < 0) {
		return -1;
	}
	return H5Dclose(d);
}

herr_t kc_write_external(hid_t loc, const char *path, int rank, const hsize_t *dims,
                         const char *ext, hsize_t size) {
	hid_t p = H5Pcreate(H5P_DATASET_CREATE);
	if (p < 0) {
		return -1;
	}
	herr_t st = H5Pset_external(p, ext, 0, size);
	if (st >= 0) {
		st = kc_make_dataset(loc, path, rank, dims, p);
	}
	KC_KEEP_ERRORS(H5Pclose(p));
	return st;
}

herr_t kc_write_virtual(hid_t loc, const char *path, int rank, const hsize_t *dims,
                        const char *srcfile, const char *src) {
	hid_t p = H5Pcreate(H5P_DATASET_CREATE);
	if (p < 0) {
		return -1;
	}
	hid_t s = H5Screate_simple(rank, dims, NULL);
	if (s < 0) {
		KC_KEEP_ERRORS(H5Pclose(p));
		return -1;
	}
	herr_t st = H5Pset_virtual(p, s, srcfile, src, s);
	if (st >= 0) {
		st = kc_make_dataset(loc, path, rank, dims, p);
	}
	KC_KEEP_ERRORS(H5Sclose(s); H5Pclose(p));
	return st;
}

herr_t kc_write_unallocated(hid_t loc, const char *path, int rank, const hsize_t *dims) {
	hid_t p = H5Pcreate(H5P_DATASET_CREATE);
	if (p < 0) {
		return -1;
	}
	hsize_t chunk[H5S_MAX_RANK];
	for (int i = 0; i < rank; i++) {
		chunk[i] = dims[i] < 64 ? dims[i] : 64;
		if (chunk[i] == 0) {
			chunk[i] = 1;
		}
	}
	herr_t st = H5Pset_chunk(p, rank, chunk);
	if (st >= 0) {
		st = kc_make_dataset(loc, path, rank, dims, p);
	}
	KC_KEEP_ERRORS(H5Pclose(p));
	return st;
}

herr_t kc_write_bool(hid_t loc, const char *path, int rank, const hsize_t *dims) {
	hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
	if (t < 0) {
		return -1;
	}
	signed char f = 0, tr = 1;
	herr_t st = H5Tenum_insert(t, "FALSE", &f);
	if (st >= 0) {
		st = H5Tenum_insert(t, "TRUE", &tr);
	}
	hid_t s = -1, lp = -1, d = -1;
	if (st >= 0) {
		s = H5Screate_simple(rank, dims, NULL);
		lp = kc_lcpl();
		d = (s < 0 || lp < 0) ? -1 : H5Dcreate2(loc, path, t, s, lp, H5P_DEFAULT, H5P_DEFAULT);
		st = d < 0 ? -1 : 0;
	}
	KC_KEEP_ERRORS(if (d >= 0) H5Dclose(d); if (lp >= 0) H5Pclose(lp); if (s >= 0) H5Sclose(s); H5Tclose(t));
	return st;
}
