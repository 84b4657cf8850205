package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/internal/regfile"
	"github.com/kconv/kconv/ir"
	"google.golang.org/protobuf/proto"
)

// maxElements bounds the element count of one tensor (8 GiB of float32).
const maxElements = 1 << 31

// ONNX element types (TensorProto.DataType).
const (
	dtFloat    = 1
	dtUint8    = 2
	dtInt8     = 3
	dtUint16   = 4
	dtInt16    = 5
	dtInt32    = 6
	dtInt64    = 7
	dtString   = 8
	dtBool     = 9
	dtFloat16  = 10
	dtDouble   = 11
	dtUint32   = 12
	dtUint64   = 13
	dtBfloat16 = 16
)

// dtypeName names an ONNX element type for messages.
func dtypeName(dt int32) string {
	if s, ok := onnxpb.TensorProto_DataType_name[dt]; ok {
		return s
	}
	return fmt.Sprintf("type %d", dt)
}

// elemSize is the byte size of an element in raw_data, 0 if unsupported.
func elemSize(dt int32) int {
	switch dt {
	case dtUint8, dtInt8, dtBool:
		return 1
	case dtUint16, dtInt16, dtFloat16, dtBfloat16:
		return 2
	case dtFloat, dtInt32, dtUint32:
		return 4
	case dtInt64, dtDouble, dtUint64:
		return 8
	}
	return 0
}

func isFloatType(dt int32) bool {
	return dt == dtFloat || dt == dtFloat16 || dt == dtDouble || dt == dtBfloat16
}

func irDType(dt int32) ir.DType {
	switch dt {
	case dtFloat16, dtBfloat16:
		return ir.Float16
	case dtDouble:
		return ir.Float64
	case dtInt64:
		return ir.Int64
	case dtInt32, dtInt16, dtUint16, dtUint32, dtUint64:
		return ir.Int32
	case dtInt8:
		return ir.Int8
	case dtUint8:
		return ir.Uint8
	case dtBool:
		return ir.Bool
	}
	return ir.Float32
}

// tdata is the checked description of a TensorProto's data: where it lives
// and how to read it. Reading converts to float32 or int64.
type tdata struct {
	name  string
	dtype int32
	dims  []int
	n     int64
	tp    *onnxpb.TensorProto // typed fields (raw false)
	// raw: the data is little-endian bytes, length bytes at offset in r
	// (the model file or an in-memory copy) or, when location is set, in an
	// external file confined to the model's folder, opened on each read.
	raw      bool
	r        io.ReaderAt
	what     string // names the bytes in messages
	dir      string
	location string
	offset   int64
	length   int64
	mf       *modelFile // the model's bytes (nil for a lone TensorProto)
}

// checkDims validates dims and returns the element count.
func checkDims(dims []int64) ([]int, int64, error) {
	out := make([]int, len(dims))
	n := int64(1)
	for i, d := range dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("negative dimension %d in %v", d, dims)
		}
		if d > maxElements || (d > 0 && n > maxElements/d) {
			return nil, 0, fmt.Errorf("dims %v claim more than %d elements", dims, int64(maxElements))
		}
		n *= d
		out[i] = int(d)
	}
	return out, n, nil
}

// newTData checks a TensorProto: its dims, its type and that it holds (or
// points at) exactly the data its dims claim. dir is the model's folder for
// external data ("" forbids external data); mf, when not nil, holds the
// raw_data strip took out of the TensorProto.
func newTData(tp *onnxpb.TensorProto, dir string, mf *modelFile) (*tdata, error) {
	dims, n, err := checkDims(tp.GetDims())
	if err != nil {
		return nil, err
	}
	dt := tp.GetDataType()
	size := elemSize(dt)
	if size == 0 {
		return nil, fmt.Errorf("element type %s is not supported", dtypeName(dt))
	}
	if tp.GetSegment() != nil {
		return nil, fmt.Errorf("segmented tensors are not supported")
	}
	t := &tdata{name: tp.GetName(), dtype: dt, dims: dims, n: n, tp: tp, mf: mf}
	want := n * int64(size)
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return t, t.checkExternal(dir, want)
	}
	t.raw, t.what = true, "raw_data"
	switch i, ok := rawIndex(tp.ProtoReflect().GetUnknown()); {
	case mf != nil && ok:
		if i >= len(mf.refs) {
			return nil, fmt.Errorf("raw_data: bad reference")
		}
		ref := mf.refs[i]
		t.length = ref.n
		if ref.inline != nil || mf.r == nil {
			t.r = bytes.NewReader(ref.inline)
		} else {
			if ref.off < 0 || ref.off > mf.size || mf.size-ref.off < ref.n {
				return nil, fmt.Errorf("raw_data at offset %d, %d bytes, lies outside the file (%d bytes)", ref.off, ref.n, mf.size)
			}
			t.r, t.offset = mf.r, ref.off
		}
	case tp.RawData != nil:
		t.r, t.length = bytes.NewReader(tp.RawData), int64(len(tp.RawData))
	default:
		t.raw, t.what = false, ""
	}
	if t.raw {
		if t.length != want {
			return nil, fmt.Errorf("raw_data has %d bytes, dims %v of %s need %d", t.length, dims, dtypeName(dt), want)
		}
		return t, nil
	}
	var got int
	field := ""
	switch dt {
	case dtFloat:
		got, field = len(tp.GetFloatData()), "float_data"
	case dtInt32, dtInt16, dtInt8, dtUint16, dtUint8, dtBool, dtFloat16, dtBfloat16:
		got, field = len(tp.GetInt32Data()), "int32_data"
	case dtInt64:
		got, field = len(tp.GetInt64Data()), "int64_data"
	case dtDouble:
		got, field = len(tp.GetDoubleData()), "double_data"
	case dtUint32, dtUint64:
		got, field = len(tp.GetUint64Data()), "uint64_data"
	}
	if int64(got) != n {
		if got == 0 {
			return nil, fmt.Errorf("dims %v claim %d elements but the tensor has no data", dims, n)
		}
		return nil, fmt.Errorf("%s has %d values, dims %v need %d", field, got, dims, n)
	}
	return t, nil
}

// checkExternal validates an external-data reference: a relative path
// inside the model's folder, to a file that holds the claimed bytes.
func (t *tdata) checkExternal(dir string, want int64) error {
	var haveLen bool
	for _, kv := range t.tp.GetExternalData() {
		v := kv.GetValue()
		switch kv.GetKey() {
		case "location":
			t.location = v
		case "offset", "length":
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return fmt.Errorf("external data %s %q is not a non-negative integer", kv.GetKey(), v)
			}
			if kv.GetKey() == "offset" {
				t.offset = x
			} else {
				t.length, haveLen = x, true
			}
		}
	}
	if t.location == "" {
		return fmt.Errorf("external data has no location")
	}
	if dir == "" {
		return fmt.Errorf("external data %q: the model was read without a folder", t.location)
	}
	loc := filepath.FromSlash(t.location)
	if filepath.IsAbs(loc) || strings.HasPrefix(t.location, "/") || !filepath.IsLocal(loc) {
		return fmt.Errorf("external data location %q is outside the model's folder", t.location)
	}
	if haveLen && t.length != want {
		return fmt.Errorf("external data length %d, dims %v of %s need %d bytes", t.length, t.dims, dtypeName(t.dtype), want)
	}
	t.length = want
	t.dir = dir
	t.raw, t.what = true, fmt.Sprintf("external data %q", t.location)
	f, st, err := t.openExternal()
	if err != nil {
		return err
	}
	defer f.Close()
	if t.offset > st.Size() || st.Size()-t.offset < want {
		return fmt.Errorf("external data %q has %d bytes, the tensor needs %d at offset %d", t.location, st.Size(), want, t.offset)
	}
	return nil
}

// openExternal opens the external file through an os.Root on the model's
// folder, so that neither ".." nor a symbolic link can lead outside it,
// and only if it is a regular file: a FIFO, device or directory is refused
// without being opened for reading (see package regfile), and so is a
// symbolic link as the file itself.
func (t *tdata) openExternal() (*os.File, os.FileInfo, error) {
	root, err := os.OpenRoot(t.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("external data %q: %v", t.location, cleanPathErr(err))
	}
	defer root.Close()
	f, st, err := regfile.OpenIn(root, filepath.FromSlash(t.location))
	if err != nil {
		return nil, nil, fmt.Errorf("external data %q: %v", t.location, cleanPathErr(err))
	}
	return f, st, nil
}

func cleanPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// littleEndian reports the host's byte order: float32 raw data is then read
// straight into the weight's memory.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// chunkBytes is the size of the buffer raw data is converted through.
var chunkBytes = 64 << 10

// open returns the reader of raw data (and what closes it).
func (t *tdata) open() (io.ReaderAt, func(), error) {
	if t.location == "" {
		return t.r, func() {}, nil
	}
	f, _, err := t.openExternal()
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// readAt fills b from r at off.
func (t *tdata) readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: %v", t.what, err)
}

// checkRange checks that elements [off, off+n) exist.
func (t *tdata) checkRange(off, n int64) error {
	if off < 0 || n < 0 || off > t.n || t.n-off < n {
		return fmt.Errorf("tensor '%s': %d values at %d of %d elements", t.name, n, off, t.n)
	}
	return nil
}

// readFloatsAt converts elements [off, off+len(dst)) to float32 into dst.
// Raw float32 data on a little-endian host is read directly into dst;
// other raw data goes through a small buffer.
func (t *tdata) readFloatsAt(dst []float32, off int64) error {
	if err := t.checkRange(off, int64(len(dst))); err != nil {
		return err
	}
	if len(dst) == 0 {
		return nil
	}
	if !t.raw {
		t.typedFloats(dst, int(off))
		return nil
	}
	r, done, err := t.open()
	if err != nil {
		return err
	}
	defer done()
	size := elemSize(t.dtype)
	pos := t.offset + off*int64(size)
	if t.dtype == dtFloat && littleEndian {
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst))
		return t.readAt(r, b, pos)
	}
	buf := make([]byte, min(len(dst)*size, max(chunkBytes/size, 1)*size))
	for len(dst) > 0 {
		k := min(len(dst), len(buf)/size)
		b := buf[:k*size]
		if err := t.readAt(r, b, pos); err != nil {
			return err
		}
		rawFloats(t.dtype, b, dst[:k])
		dst, pos = dst[k:], pos+int64(len(b))
	}
	return nil
}

// rawFloats converts little-endian raw data of type dt to float32
// (integers by value).
func rawFloats(dt int32, b []byte, dst []float32) {
	le := binary.LittleEndian
	switch dt {
	case dtFloat:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case dtDouble:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case dtFloat16:
		for i := range dst {
			dst[i] = halfToFloat(le.Uint16(b[2*i:]))
		}
	case dtBfloat16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		}
	default:
		for i := range dst {
			dst[i] = float32(rawInt(dt, b, i))
		}
	}
}

// rawInt returns element i of little-endian integer or bool raw data.
func rawInt(dt int32, b []byte, i int) int64 {
	le := binary.LittleEndian
	switch dt {
	case dtInt64, dtUint64:
		return int64(le.Uint64(b[8*i:]))
	case dtInt32:
		return int64(int32(le.Uint32(b[4*i:])))
	case dtUint32:
		return int64(le.Uint32(b[4*i:]))
	case dtInt16:
		return int64(int16(le.Uint16(b[2*i:])))
	case dtUint16:
		return int64(le.Uint16(b[2*i:]))
	case dtInt8:
		return int64(int8(b[i]))
	case dtUint8:
		return int64(b[i])
	case dtBool:
		if b[i] != 0 {
			return 1
		}
	}
	return 0
}

// typedFloats converts elements [off, off+len(dst)) of the typed fields.
func (t *tdata) typedFloats(dst []float32, off int) {
	tp := t.tp
	switch t.dtype {
	case dtFloat:
		copy(dst, tp.GetFloatData()[off:])
	case dtDouble:
		for i, v := range tp.GetDoubleData()[off : off+len(dst)] {
			dst[i] = float32(v)
		}
	case dtFloat16:
		for i, v := range tp.GetInt32Data()[off : off+len(dst)] {
			dst[i] = halfToFloat(uint16(v))
		}
	case dtBfloat16:
		for i, v := range tp.GetInt32Data()[off : off+len(dst)] {
			dst[i] = math.Float32frombits(uint32(uint16(v)) << 16)
		}
	default:
		ints := make([]int64, len(dst))
		t.typedInts(ints, off)
		for i, v := range ints {
			dst[i] = float32(v)
		}
	}
}

// typedInts converts elements [off, off+len(dst)) of the integer typed
// fields.
func (t *tdata) typedInts(dst []int64, off int) {
	tp := t.tp
	switch t.dtype {
	case dtInt64:
		copy(dst, tp.GetInt64Data()[off:])
	case dtUint32, dtUint64:
		for i, v := range tp.GetUint64Data()[off : off+len(dst)] {
			dst[i] = int64(v)
		}
	default:
		for i, v := range tp.GetInt32Data()[off : off+len(dst)] {
			switch t.dtype {
			case dtBool:
				if v != 0 {
					dst[i] = 1
				}
			case dtUint8:
				dst[i] = int64(uint8(v))
			case dtUint16:
				dst[i] = int64(uint16(v))
			default:
				dst[i] = int64(v)
			}
		}
	}
}

// floats reads the whole tensor as float32.
func (t *tdata) floats() ([]float32, error) {
	dst := make([]float32, t.n)
	return dst, t.readFloatsAt(dst, 0)
}

// ints reads an integer or bool tensor as int64 (floats are truncated).
func (t *tdata) ints() ([]int64, error) {
	if isFloatType(t.dtype) {
		f, err := t.floats()
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(f))
		for i, v := range f {
			out[i] = int64(v)
		}
		return out, nil
	}
	out := make([]int64, t.n)
	if !t.raw {
		t.typedInts(out, 0)
		return out, nil
	}
	r, done, err := t.open()
	if err != nil {
		return nil, err
	}
	defer done()
	b := make([]byte, t.length)
	if err := t.readAt(r, b, t.offset); err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = rawInt(t.dtype, b, i)
	}
	return out, nil
}

// halfToFloat converts an IEEE 754 half-precision value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = frac * 2^-24.
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// ReadTensor reads a serialized TensorProto file, such as the input_N.pb
// and output_N.pb files of ONNX's test data sets, as a float32 tensor
// (integer and bool values converted). Rank-4 tensors are ChannelsFirst.
func ReadTensor(path string) (*ir.Tensor, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	t, err := ReadTensorProto(data)
	if err != nil {
		return nil, &fileError{path, err}
	}
	return t, nil
}

// ReadTensorProto decodes a serialized TensorProto (in-memory data only).
func ReadTensorProto(data []byte) (*ir.Tensor, error) {
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return nil, fmt.Errorf("not a TensorProto: %v", err)
	}
	td, err := newTData(&tp, "", nil)
	if err != nil {
		return nil, fmt.Errorf("tensor '%s': %w", tp.GetName(), err)
	}
	f, err := td.floats()
	if err != nil {
		return nil, fmt.Errorf("tensor '%s': %w", tp.GetName(), err)
	}
	t := &ir.Tensor{Shape: ir.Shape(td.dims).Clone(), Data: f}
	if t.Shape == nil {
		t.Shape = ir.Shape{}
	}
	if len(t.Shape) == 4 {
		t.Layout = ir.ChannelsFirst
	}
	return t, nil
}

// maxFileSize bounds the files kconv reads whole (protobuf's own limit).
const maxFileSize = 2 << 30

// openFile opens a regular file of at most maxFileSize bytes.
func openFile(path string) (*os.File, int64, error) {
	f, st, err := regfile.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %v", path, cleanPathErr(err))
	}
	if st.Size() > maxFileSize {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %d bytes is larger than protobuf's 2 GiB limit", path, st.Size())
	}
	return f, st.Size(), nil
}

// readFile reads a regular file of at most maxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, _, err := readAll(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return data, nil
}

// readAll reads the size bytes of f (a file that changed size is an
// error).
func readAll(f *os.File, size int64) ([]byte, func(), error) {
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && !(err == io.EOF && size == 0) {
		if err == io.EOF {
			return nil, nil, errChanged
		}
		return nil, nil, err
	}
	return data, func() {}, nil
}
