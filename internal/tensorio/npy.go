// Package tensorio reads and writes the tensor files kconv handles: NumPy
// .npy files, and PNG/JPEG images as RGB pixels (package feed builds model
// inputs from them).
package tensorio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"codeberg.org/sbinet/npyio"
	"github.com/kconv/kconv/internal/regfile"
)

// maxElements bounds what a .npy header may claim before any allocation.
const maxElements = 1 << 31

// ReadNPY reads a .npy file as float32. Other numeric types are converted;
// the returned note says so ("" when the file was float32 already).
func ReadNPY(path string) (shape []int, data []float32, note string, err error) {
	// npyio panics on some malformed headers (found by FuzzReadNPY); the
	// header is checked first and any remaining panic becomes an error.
	defer func() {
		if r := recover(); r != nil {
			shape, data, note, err = nil, nil, "", fmt.Errorf("not a valid NumPy .npy file (%v)", r)
		}
	}()
	f, st, err := regfile.Open(path)
	if err != nil {
		return nil, nil, "", err
	}
	defer f.Close()
	v3, err := checkNPYHeader(f, st.Size())
	if err != nil {
		return nil, nil, "", err
	}
	var src io.Reader = bufio.NewReader(f)
	if v3 {
		// Format 3.0 is 2.0 with a UTF-8 header (numpy uses it only when a
		// structured dtype's field names need it); npyio knows 1.0 and
		// 2.0, so it is shown a 2.0 header.
		var pre [8]byte
		if _, err := io.ReadFull(src, pre[:]); err != nil {
			return nil, nil, "", err
		}
		pre[6] = 2
		src = io.MultiReader(bytes.NewReader(pre[:]), src)
	}
	r, err := npyio.NewReader(src)
	if err != nil {
		return nil, nil, "", fmt.Errorf("not a NumPy .npy file: %w", err)
	}
	h := r.Header
	n := int64(1)
	for _, d := range h.Descr.Shape {
		if d < 0 {
			return nil, nil, "", fmt.Errorf("bad shape %v", h.Descr.Shape)
		}
		n *= int64(d)
		if n > maxElements {
			return nil, nil, "", fmt.Errorf("array of shape %v is too large", h.Descr.Shape)
		}
	}
	typ := strings.TrimLeft(strings.Trim(h.Descr.Type, `'"`), "<>|=")
	dt, ok := npyTypes[typ]
	if !ok {
		return nil, nil, "", fmt.Errorf("unsupported dtype %s (want a numeric type)", h.Descr.Type)
	}
	if n*dt.size > st.Size() {
		return nil, nil, "", fmt.Errorf("file is truncated: shape %v of %s needs %d bytes, file has %d", h.Descr.Shape, h.Descr.Type, n*dt.size, st.Size())
	}
	if data, err = dt.read(r, n); err != nil {
		return nil, nil, "", err
	}
	if typ != "f4" {
		note = fmt.Sprintf("converted %s to float32", h.Descr.Type)
	}
	if h.Descr.Fortran {
		data = fortranToC(data, h.Descr.Shape)
	}
	return append([]int(nil), h.Descr.Shape...), data, note, nil
}

// fortranToC returns the column-major (Fortran-ordered) array src of the
// given shape in row-major (C) order: element (i0, …, ik) sits at
// i0 + d0·(i1 + d1·(…)) in src and at ((i0·d1 + i1)·d2 + …) in the result.
func fortranToC(src []float32, shape []int) []float32 {
	if len(shape) < 2 {
		return src
	}
	dst := make([]float32, len(src))
	// fstride[a] is axis a's stride in src.
	fstride := make([]int, len(shape))
	s := 1
	for a := range shape {
		fstride[a] = s
		s *= shape[a]
	}
	idx := make([]int, len(shape))
	off := 0 // src offset of idx
	for i := range dst {
		dst[i] = src[off]
		// Advance idx in C order (last axis fastest).
		for a := len(shape) - 1; a >= 0; a-- {
			idx[a]++
			off += fstride[a]
			if idx[a] < shape[a] {
				break
			}
			off -= idx[a] * fstride[a]
			idx[a] = 0
		}
	}
	return dst
}

// npyTypes are the element types ReadNPY accepts: their size in the file
// and a reader converting n of them to float32.
var npyTypes = map[string]struct {
	size int64
	read func(r *npyio.Reader, n int64) ([]float32, error)
}{
	"f4": {4, func(r *npyio.Reader, n int64) ([]float32, error) { return readNPYAs[float32](r, n) }},
	"f8": {8, readNPYAs[float64]},
	"i8": {8, readNPYAs[int64]},
	"i4": {4, readNPYAs[int32]},
	"i2": {2, readNPYAs[int16]},
	"i1": {1, readNPYAs[int8]},
	"u1": {1, readNPYAs[uint8]},
	"u2": {2, readNPYAs[uint16]},
	"u4": {4, readNPYAs[uint32]},
	"u8": {8, readNPYAs[uint64]},
	"b1": {1, readNPYBool},
}

// readNPYAs reads n values of type T and converts them to float32 (float32
// data is returned as read).
func readNPYAs[T float32 | float64 | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](r *npyio.Reader, n int64) ([]float32, error) {
	var v []T
	if err := r.Read(&v); err != nil {
		return nil, fmt.Errorf("reading data: %w", err)
	}
	if int64(len(v)) != n {
		return nil, fmt.Errorf("file is truncated: %d of %d values", len(v), n)
	}
	if f, ok := any(v).([]float32); ok {
		return f, nil
	}
	out := make([]float32, n)
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, nil
}

func readNPYBool(r *npyio.Reader, n int64) ([]float32, error) {
	var v []bool
	if err := r.Read(&v); err != nil {
		return nil, fmt.Errorf("reading data: %w", err)
	}
	if int64(len(v)) != n {
		return nil, fmt.Errorf("file is truncated: %d of %d values", len(v), n)
	}
	out := make([]float32, n)
	for i, b := range v {
		if b {
			out[i] = 1
		}
	}
	return out, nil
}

// EncodeNPY writes a float32 array of the given shape in NumPy's .npy
// format (version 1.0, little-endian, C order). npyio can only write
// one-dimensional slices or gonum matrices, so kconv writes the small header
// itself; the tests read the result back with npyio.
func EncodeNPY(w io.Writer, shape []int, data []float32) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	s := "(" + strings.Join(dims, ", ")
	if len(shape) == 1 {
		s += ","
	}
	s += ")"
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", s)
	// Magic (6) + version (2) + length (2) + dict + padding + '\n' ≡ 0 mod 64.
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	hdr := dict + strings.Repeat(" ", pad) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, 4*4096)
	for i := 0; i < len(data); i += 4096 {
		chunk := data[i:min(i+4096, len(data))]
		for j, v := range chunk {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		if _, err := w.Write(buf[:4*len(chunk)]); err != nil {
			return err
		}
	}
	return nil
}

// checkNPYHeader verifies the magic string, version and header length of a
// .npy file before the library parses it, and reports format 3.0.
func checkNPYHeader(f *os.File, fileSize int64) (v3 bool, err error) {
	var pre [12]byte
	n, _ := f.ReadAt(pre[:], 0)
	if n < 10 || string(pre[:6]) != "\x93NUMPY" {
		return false, errors.New("not a NumPy .npy file (bad magic)")
	}
	var hlen int64
	switch pre[6] {
	case 1:
		hlen = int64(binary.LittleEndian.Uint16(pre[8:10])) + 10
	case 2, 3:
		if n < 12 {
			return false, errors.New("not a NumPy .npy file (truncated header)")
		}
		hlen = int64(binary.LittleEndian.Uint32(pre[8:12])) + 12
	default:
		return false, fmt.Errorf("unsupported .npy version %d", pre[6])
	}
	if hlen > fileSize || hlen > 1<<20 {
		return false, errors.New("not a NumPy .npy file (truncated header)")
	}
	hdr := make([]byte, hlen)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return false, err
	}
	h := string(hdr)
	for _, key := range []string{"'descr'", "'fortran_order'", "'shape'", "{", "}"} {
		if !strings.Contains(h, key) {
			return false, fmt.Errorf("not a NumPy .npy file (header lacks %s)", key)
		}
	}
	return pre[6] == 3, nil
}
