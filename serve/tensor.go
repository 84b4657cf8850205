package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unsafe"
)

// datatype is an Open Inference Protocol tensor datatype.
type datatype struct {
	name    string
	size    int     // bytes per element in binary form
	integer bool    // JSON values must be whole numbers
	min     float64 // range of integer types
	max     float64
	decode  func(b []byte) float32 // one little-endian element
}

var datatypes = map[string]*datatype{
	"FP32":   {name: "FP32", size: 4, decode: func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }},
	"FP64":   {name: "FP64", size: 8, decode: func(b []byte) float32 { return float32(math.Float64frombits(binary.LittleEndian.Uint64(b))) }},
	"FP16":   {name: "FP16", size: 2, decode: func(b []byte) float32 { return halfToFloat(binary.LittleEndian.Uint16(b)) }},
	"INT8":   {name: "INT8", size: 1, integer: true, min: math.MinInt8, max: math.MaxInt8, decode: func(b []byte) float32 { return float32(int8(b[0])) }},
	"INT16":  {name: "INT16", size: 2, integer: true, min: math.MinInt16, max: math.MaxInt16, decode: func(b []byte) float32 { return float32(int16(binary.LittleEndian.Uint16(b))) }},
	"INT32":  {name: "INT32", size: 4, integer: true, min: math.MinInt32, max: math.MaxInt32, decode: func(b []byte) float32 { return float32(int32(binary.LittleEndian.Uint32(b))) }},
	"INT64":  {name: "INT64", size: 8, integer: true, min: math.MinInt64, max: math.MaxInt64, decode: func(b []byte) float32 { return float32(int64(binary.LittleEndian.Uint64(b))) }},
	"UINT8":  {name: "UINT8", size: 1, integer: true, min: 0, max: math.MaxUint8, decode: func(b []byte) float32 { return float32(b[0]) }},
	"UINT16": {name: "UINT16", size: 2, integer: true, min: 0, max: math.MaxUint16, decode: func(b []byte) float32 { return float32(binary.LittleEndian.Uint16(b)) }},
	"UINT32": {name: "UINT32", size: 4, integer: true, min: 0, max: math.MaxUint32, decode: func(b []byte) float32 { return float32(binary.LittleEndian.Uint32(b)) }},
	"UINT64": {name: "UINT64", size: 8, integer: true, min: 0, max: math.MaxUint64, decode: func(b []byte) float32 { return float32(binary.LittleEndian.Uint64(b)) }},
}

// lookupDatatype returns the datatype named name, or an error saying which
// datatypes a model input accepts.
func lookupDatatype(name string) (*datatype, error) {
	if dt := datatypes[name]; dt != nil {
		return dt, nil
	}
	return nil, fmt.Errorf("datatype %q, model expects FP32 (or another numeric type: INT8…INT64, UINT8…UINT64, FP16, FP64)", name)
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: frac × 2^-24
		f := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// decodeBinary converts n little-endian elements of dt.
func decodeBinary(dt *datatype, b []byte) []float32 {
	return decodeBinaryInto(make([]float32, len(b)/dt.size), dt, b)
}

// decodeBinaryInto converts the little-endian elements of dt in b into out
// (len(out) == len(b)/dt.size) and returns out.
func decodeBinaryInto(out []float32, dt *datatype, b []byte) []float32 {
	if dt.name == "FP32" && littleEndian {
		// The wire format is the memory format: one copy.
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), 4*len(out)), b)
		return out
	}
	if dt.name == "FP32" {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out
	}
	for i := range out {
		out[i] = dt.decode(b[i*dt.size:])
	}
	return out
}

// encodeFP32 appends data as little-endian float32.
func encodeFP32(dst []byte, data []float32) []byte {
	if littleEndian {
		return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data))...)
	}
	for _, v := range data {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

// littleEndian reports whether float32s are stored as the binary tensor
// data extension sends them (little-endian), so that FP32 tensors convert
// by copying bytes.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// maxDepth bounds the nesting of JSON arrays (tensors have far fewer axes).
const maxDepth = 32

// arrayParser reads JSON arrays of numbers, nested to any depth, into a flat
// row-major float32 slice, recording the nested shape. Values are checked
// against dt (whole numbers within range for integer types, finite and in
// float32 range for float types).
type arrayParser struct {
	b  []byte
	i  int
	dt *datatype
	// fast32: FP32 numbers go through parseJSONFloat32 (false in tests:
	// by number's general path only).
	fast32 bool
	data   []float32
	shape  []int // length at each depth; -1 until the first array at that depth closes
	leaf   int   // depth of the numbers; -1 until the first number
}

// parseArray parses raw (a JSON value) into values and their nested shape.
// A bare number gives shape []. capHint preallocates the result.
func parseArray(raw []byte, dt *datatype, capHint int) ([]float32, []int, error) {
	p := &arrayParser{b: raw, dt: dt, leaf: -1, data: make([]float32, 0, capHint), fast32: dt.name == "FP32"}
	p.ws()
	if err := p.value(0); err != nil {
		return nil, nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, nil, fmt.Errorf("unexpected %q after the array", p.b[p.i])
	}
	return p.data, p.shape, nil
}

func (p *arrayParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *arrayParser) value(depth int) error {
	if p.i >= len(p.b) {
		return errors.New("unexpected end of the array")
	}
	if p.b[p.i] != '[' {
		if p.leaf >= 0 && p.leaf != depth {
			return errors.New("ragged nested array (numbers at different depths)")
		}
		p.leaf = depth
		return p.number()
	}
	if depth >= maxDepth {
		return fmt.Errorf("arrays nested deeper than %d", maxDepth)
	}
	if p.leaf >= 0 && depth >= p.leaf {
		return errors.New("ragged nested array (numbers at different depths)")
	}
	p.i++
	if len(p.shape) <= depth {
		p.shape = append(p.shape, -1)
	}
	n := 0
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
	} else {
		for {
			p.ws()
			if p.fast32 && p.leaf == depth+1 {
				k, closed := p.fastNumbers()
				n += k
				if closed {
					break
				}
			}
			if err := p.value(depth + 1); err != nil {
				return err
			}
			n++
			p.ws()
			if p.i >= len(p.b) {
				return errors.New("unexpected end of the array")
			}
			c := p.b[p.i]
			p.i++
			if c == ']' {
				break
			}
			if c != ',' {
				return fmt.Errorf("unexpected %q in the array", c)
			}
		}
	}
	if n == 0 && p.leaf < 0 {
		// an empty array: its elements' depth is depth+1 (numbers)
		p.leaf = depth + 1
	}
	if p.shape[depth] < 0 {
		p.shape[depth] = n
	} else if p.shape[depth] != n {
		return fmt.Errorf("ragged nested array (lengths %d and %d at depth %d)", p.shape[depth], n, depth)
	}
	return nil
}

// fastNumbers takes the elements of an array of numbers from p.i (an
// element's start, after any whitespace) while each is a number parseJSONFloat32 reads followed
// by ']' or by ',' and any whitespace, without value's and number's
// per-element calls and checks: it returns how many it appended and
// whether it took the array's ']'. It stops at the start of an element it
// leaves to value (another form of number, whitespace before the
// separator, a malformed or truncated array), which then decides.
func (p *arrayParser) fastNumbers() (k int, closed bool) {
	b, i, data := p.b, p.i, p.data
	for {
		f, end, ok := parseJSONFloat32(b, i)
		if !ok || end >= len(b) || b[end] != ',' && b[end] != ']' {
			break
		}
		data = append(data, f)
		k++
		if b[end] == ']' {
			p.i, p.data = end+1, data
			return k, true
		}
		i = end + 1
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	p.i, p.data = i, data
	return k, false
}

func (p *arrayParser) number() error {
	if p.fast32 {
		if f, end, ok := parseJSONFloat32(p.b, p.i); ok {
			p.data = append(p.data, f)
			p.i = end
			return nil
		}
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if numberByte(c) {
			p.i++
			continue
		}
		break
	}
	if start == p.i {
		end := min(start+10, len(p.b))
		return fmt.Errorf("expected a number, got %q", p.b[start:end])
	}
	// A view of the bytes, not a copy: strconv keeps no reference (its
	// errors copy the text) and every message below formats a copy.
	tok := unsafe.String(&p.b[start], p.i-start)
	if !jsonNumber(tok) {
		return fmt.Errorf("invalid JSON number %q", tok)
	}
	if p.dt.integer {
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil || f != math.Trunc(f) || f < p.dt.min || f > p.dt.max {
			return fmt.Errorf("value %s is not a %s", tok, p.dt.name)
		}
		p.data = append(p.data, float32(f))
		return nil
	}
	if p.dt.name == "FP32" {
		if f, ok := parseFloat32Fast(tok); ok {
			p.data = append(p.data, f)
			return nil
		}
	}
	bits := 64
	if p.dt.name != "FP64" {
		bits = 32
	}
	f, err := strconv.ParseFloat(tok, bits)
	if err != nil {
		return fmt.Errorf("value %s is not a %s", tok, p.dt.name)
	}
	if bits == 64 && math.Abs(f) > math.MaxFloat32 {
		return fmt.Errorf("value %s is out of float32 range", tok)
	}
	if p.dt.name == "FP16" && math.Abs(f) > 65504 {
		return fmt.Errorf("value %s is not a FP16", tok)
	}
	p.data = append(p.data, float32(f))
	return nil
}

// appendFloats appends data as a flat JSON array; NaN and ±Inf become null.
func appendFloats(dst []byte, data []float32) []byte {
	dst = append(dst, '[')
	for i, v := range data {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendFloat(dst, v)
	}
	return append(dst, ']')
}

func appendFloat(dst []byte, v float32) []byte {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 32)
}

// appendNested appends data as JSON arrays nested by shape (row-major); a
// rank-0 shape gives a bare number.
func appendNested(dst []byte, data []float32, shape []int) []byte {
	if len(shape) == 0 {
		return appendFloat(dst, data[0])
	}
	if len(shape) == 1 {
		return appendFloats(dst, data[:shape[0]])
	}
	stride := 1
	for _, d := range shape[1:] {
		stride *= d
	}
	dst = append(dst, '[')
	for i := 0; i < shape[0]; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendNested(dst, data[i*stride:(i+1)*stride], shape[1:])
	}
	return append(dst, ']')
}

// jsonNumber reports whether tok follows JSON's number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(tok string) bool {
	i := 0
	if i < len(tok) && tok[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(tok) && tok[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(tok) && tok[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(tok)
}

// leadingDigits returns how many of the 8 bytes of w (little-endian: the
// first byte in the low bits) are ASCII digits before the first that is
// not. t = w - '0'·ones leaves a digit byte 0-9; any other byte is 10 or
// more, or has its high bit set (below '0' it wraps); t + 0x76 sets the
// high bit of bytes 10-0x89. The borrows and carries between bytes move
// only towards later bytes, which are not counted after a non-digit.
func leadingDigits(w uint64) int {
	const ones = 0x0101010101010101
	t := w - '0'*ones
	return bits.TrailingZeros64((t|(t+0x76*ones))&(0x80*ones)) >> 3
}

// digitsValue is the number the first k (0 ≤ k ≤ 8) bytes of w spell, all
// ASCII digits (0 for k = 0): they are moved to the top of the word and
// the bytes below them made '0' (leading zeros; Go's shift by 64 gives 0).
func digitsValue(w uint64, k int) uint64 {
	sh := uint(8 * (8 - k))
	return eightDigitsValue(w<<sh | 0x3030303030303030&(1<<sh-1))
}

// pow10u64[k] is 10^k.
var pow10u64 = [16]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// eightDigitsValue is the number the 8 ASCII digits of w (little-endian:
// the first digit in the low byte) spell, combined pairwise in three
// multiplications.
func eightDigitsValue(w uint64) uint64 {
	w -= 0x3030303030303030
	w = w*10 + w>>8 // each even byte: two digits' value
	const mask = 0x000000FF000000FF
	return (w&mask*(100+1000000<<32) + w>>16&mask*(1+10000<<32)) >> 32
}

// maxFastDigits is the most significant digits decimalFloat32 takes: a
// uint64 holds any 19-digit mantissa.
const maxFastDigits = 19

// negPow10f64[k] is 10^-k rounded to float64 (decimalFloat32).
var negPow10f64 = [...]float64{1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22}

// pow10f64 are the powers of ten a float64 holds exactly.
var pow10f64 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseJSONFloat32 reads the JSON number at b[i:] and converts it as
// parseFloat32Fast does, in one pass: the grammar check (jsonNumber), the
// scan and the conversion that number makes in three. It answers (ok) only
// when the number follows JSON's grammar, is in parseFloat32Fast's fast
// form with the same result, and is not followed by a byte number's scan
// would take into the token ([0-9+-.eE]); end is the index after it.
// Otherwise number's general path decides (and writes the error).
func parseJSONFloat32(b []byte, i int) (f float32, end int, ok bool) {
	if i+32 <= len(b) {
		return parseJSONFloat32Words(b, i)
	}
	return parseJSONFloat32Bytes(b, i)
}

// parseJSONFloat32Words is parseJSONFloat32 where 32 bytes follow i (a
// sign, 7 integer digits, a point and two words, then the byte after):
// the integer part's digits are one 8-byte word's leading digits, the
// fraction's two words' (up to 15), read without a branch on how many
// there are (a float32 as clients print it has 1-9 fraction digits, and a
// loop's exit on them was a misprediction per number), and the bytes are
// read without bounds checks (the 32 bytes are checked once). An
// exponent, a long or malformed number, or a value decimalFloat32 leaves
// out go to parseJSONFloat32Bytes.
func parseJSONFloat32Words(b []byte, i int) (f float32, end int, ok bool) {
	_ = b[i+31]
	at := unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i)
	byteAt := func(o int) byte { return *(*byte)(unsafe.Add(at, o)) }
	wordAt := func(o int) uint64 { return binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(at, o)), 8)) }
	neg := byteAt(0) == '-'
	o := 0
	if neg {
		o = 1
	}
	// One integer digit and a point, the common form (a normalized input,
	// a probability), is read from two bytes: the fraction's loads then do
	// not wait on the integer word's digit count and value.
	var mant uint64
	var k int
	if d, dot := byteAt(o), byteAt(o+1); dot == '.' && d-'0' <= 9 {
		mant, k = uint64(d-'0'), 1
	} else {
		w := wordAt(o)
		k = leadingDigits(w)
		if uint(k-1) >= 7 || k > 1 && byte(w) == '0' {
			return parseJSONFloat32Bytes(b, i) // no digit, a long integer part, or a leading zero
		}
		mant = digitsValue(w, k)
	}
	o += k
	kf := 0
	if byteAt(o) == '.' {
		w1, w2 := wordAt(o+1), wordAt(o+9)
		k1 := leadingDigits(w1)
		k2 := leadingDigits(w2) & -(k1 >> 3) // counted only after eight
		kf = k1 + k2
		if k1 == 0 || kf == 16 {
			return parseJSONFloat32Bytes(b, i) // "1." or a long fraction
		}
		mant = mant*pow10u64[k1&15] + digitsValue(w1, k1)
		mant = mant*pow10u64[k2&15] + digitsValue(w2, k2)
		o += 1 + kf
	}
	// Leading zeros counted as digits (0.05) only make the limit
	// stricter; the mantissa (at most 7 + 15 digits) may have wrapped
	// only beyond it.
	if numberByte(byteAt(o)) || k+kf > maxFastDigits {
		return parseJSONFloat32Bytes(b, i) // an exponent, or more digits
	}
	if f, ok = decimalFloat32(neg, mant, -kf); !ok {
		return parseJSONFloat32Bytes(b, i) // which decimalFloat32 refuses alike
	}
	return f, i + o, true
}

// numberByte reports whether number's scan takes c into a token.
func numberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E'
}

// parseJSONFloat32Bytes is parseJSONFloat32 byte by byte (but for the
// fraction's runs of eight digits), for any position.
func parseJSONFloat32Bytes(b []byte, i int) (f float32, end int, ok bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	switch {
	case i >= len(b):
		return 0, 0, false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			mant = mant*10 + uint64(b[i]-'0')
			digits++
		}
	default:
		return 0, 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		first := i
		if mant == 0 { // leading zeros are not significant digits
			for ; i < len(b) && b[i] == '0'; i++ {
				exp--
			}
		}
		for ; i+8 <= len(b); i += 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			if leadingDigits(w) != 8 {
				break
			}
			mant = mant*1e8 + eightDigitsValue(w)
			digits += 8
			exp -= 8
		}
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			exp--
			if mant == 0 && b[i] == '0' {
				continue
			}
			mant = mant*10 + uint64(b[i]-'0')
			digits++
		}
		if i == first {
			return 0, 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		first := i
		e := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			e = e*10 + int(b[i]-'0')
			if e > 1000 {
				return 0, 0, false
			}
		}
		if i == first {
			return 0, 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i < len(b) && numberByte(b[i]) {
		return 0, 0, false
	}
	if digits > maxFastDigits {
		return 0, 0, false
	}
	f, ok = decimalFloat32(neg, mant, exp)
	return f, i, ok
}

// parseFloat32Fast converts a valid JSON number to the nearest float32, as
// strconv.ParseFloat(tok, 32) does, for the common forms: at most 19
// significant digits (a float64 printed in full by Python's json, 17) and
// a decimal exponent from -44 to 22; see decimalFloat32. Otherwise, as
// for every other form, ok is false and the caller uses strconv.
// TestParseFloat32Fast checks it against strconv bit for bit.
func parseFloat32Fast(tok string) (f float32, ok bool) {
	i := 0
	neg := false
	if i < len(tok) && tok[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	for ; i < len(tok) && tok[i] >= '0' && tok[i] <= '9'; i++ {
		if mant == 0 && tok[i] == '0' {
			continue
		}
		mant = mant*10 + uint64(tok[i]-'0')
		digits++
	}
	if i < len(tok) && tok[i] == '.' {
		for i++; i < len(tok) && tok[i] >= '0' && tok[i] <= '9'; i++ {
			exp--
			if mant == 0 && tok[i] == '0' {
				continue
			}
			mant = mant*10 + uint64(tok[i]-'0')
			digits++
		}
	}
	if digits > maxFastDigits {
		return 0, false
	}
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		eneg := false
		if tok[i] == '+' || tok[i] == '-' {
			eneg = tok[i] == '-'
			i++
		}
		e := 0
		for ; i < len(tok); i++ {
			e = e*10 + int(tok[i]-'0')
			if e > 1000 {
				return 0, false
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(tok) {
		return 0, false
	}
	return decimalFloat32(neg, mant, exp)
}

// nearMidpoint32 reports whether v (a float64 within 3 ulps of a decimal)
// is within 4 ulps of a midpoint between two float32s, where rounding it
// to float32 may round the decimal the wrong way (see decimalFloat32).
func nearMidpoint32(v float64) bool {
	return uint64(int64(math.Float64bits(v)&(1<<29-1))-1<<28+4) <= 8
}

// decimalFloat32 is (-1)^neg × mant × 10^exp rounded to float32, or ok
// false where it cannot tell. The float64 v computed from mant (exact below
// 2^53, else rounded) and a power of ten (10^0…10^22 exactly, times; or
// 10^-1…10^-22 rounded to float64, times: a division's latency was a
// quarter of a number's parse; or beyond, two divisions by exact powers)
// has at most three roundings, each a relative error of at most 2^-53:
// within 3 float64 ulps of the decimal (an ulp is at least 2^-53 of the
// value). Rounding v to float32 then gives the float32 nearest the decimal
// unless a midpoint between two float32s lies that close to v (a midpoint
// has a 1 followed by 28 zero bits below float32's 23-bit fraction in
// float64's 52-bit one: v's low 29 bits within 4 of 1<<28 are left out),
// or v is outside float32's normal range: ok is false there, as for
// exponents beyond -44…22.
func decimalFloat32(neg bool, mant uint64, exp int) (f float32, ok bool) {
	var v float64
	switch {
	case mant == 0:
		v = 0
	case exp >= 0 && exp < len(pow10f64):
		v = float64(mant) * pow10f64[exp]
	case exp < 0 && -exp < len(pow10f64):
		v = float64(mant) * negPow10f64[-exp]
	case exp < 0 && -exp < 2*len(pow10f64)-1:
		v = float64(mant) / 1e22 / pow10f64[-exp-22]
	default:
		return 0, false
	}
	if v != 0 {
		if v < 0x1p-126 || v > math.MaxFloat32 {
			return 0, false
		}
		if nearMidpoint32(v) {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	return float32(v), true
}
