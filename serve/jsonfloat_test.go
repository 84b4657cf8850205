package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// parseBoth parses raw as FP32 through number's one-pass path
// (parseJSONFloat32) and through its general path only, and fails unless
// both give the same values (bit for bit), shape and error.
func parseBoth(t *testing.T, raw string) {
	t.Helper()
	fp32, _ := lookupDatatype("FP32")
	run := func(general bool) ([]float32, []int, error) {
		p := &arrayParser{b: []byte(raw), dt: fp32, leaf: -1, general: general}
		p.ws()
		if err := p.value(0); err != nil {
			return nil, nil, err
		}
		p.ws()
		if p.i != len(p.b) {
			return nil, nil, errTrailing
		}
		return p.data, p.shape, nil
	}
	got, gotShape, gotErr := run(false)
	want, wantShape, wantErr := run(true)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("%q: one pass: %v; general path: %v", raw, gotErr, wantErr)
	}
	if len(got) != len(want) || len(gotShape) != len(wantShape) {
		t.Fatalf("%q: one pass %v %v; general path %v %v", raw, got, gotShape, want, wantShape)
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%q: value %d: one pass %08x, general path %08x", raw, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
		}
	}
	for i := range gotShape {
		if gotShape[i] != wantShape[i] {
			t.Fatalf("%q: shape %v, general path %v", raw, gotShape, wantShape)
		}
	}
}

// errTrailing marks bytes after the value in parseBoth (parseArray's own
// message is not needed to compare the two paths).
var errTrailing = errors.New("bytes after the array")

// numberForms are numbers in and out of the one-pass path's form, valid
// and not, in the edge cases of JSON's grammar and of Clinger's fast path.
var numberForms = []string{
	"0", "-0", "0.0", "1", "-1", "0.5", "1e22", "1e23", "1e-22", "1E+2", "1e-0", "2.5E-3",
	"123456789012345", "1234567890123456", "9999999999999999999", "99999999999999999999", "0.40872985124588013", "0.000000000000001234", "16777217", "3.4028235e38",
	"3.4028236e38", "1.1754944e-38", "1e-45", "1e1001", "1e-1001",
	"01", "-", "-.5", ".5", "1.", "1.e5", "1e", "1e+", "1e-", "+1", "1-2", "1.5.5", "1e5e5",
	"1ee5", "0x10", "1_0", "--1", "-01", "00", "NaN", "Infinity", "1e99999999999999999999",
}

func TestParseJSONFloat32(t *testing.T) {
	for _, tok := range numberForms {
		for _, doc := range []string{tok, "[" + tok + "]", "[" + tok + ",1]", "[[" + tok + " ],[2]]", "[" + tok + "\n]", "[1," + tok + "]"} {
			parseBoth(t, doc)
		}
	}
	// Random float32s as clients print them, and random decimals.
	r := rand.New(rand.NewPCG(3, 5))
	answered := 0
	for range 20000 {
		f := math.Float32frombits(r.Uint32())
		if f != f || math.IsInf(float64(f), 0) {
			continue
		}
		var toks []string
		toks = append(toks, strconv.FormatFloat(float64(f), 'g', -1, 32), strconv.FormatFloat(float64(f), 'e', r.IntN(17), 32), strconv.FormatFloat(float64(f), 'f', -1, 32))
		digits := strconv.FormatUint(1e18+r.Uint64()%9e18, 10)[:1+r.IntN(19)]
		toks = append(toks, digits+"e"+strconv.Itoa(r.IntN(100)-50), "0."+digits, "-"+digits+"."+digits)
		parseBoth(t, "["+strings.Join(toks, ",")+"]")
		for _, tok := range toks {
			if _, end, ok := parseJSONFloat32([]byte(tok), 0); ok && end == len(tok) {
				answered++
			}
		}
	}
	if answered < 20000 {
		t.Fatalf("the one-pass path answered only %d numbers", answered)
	}
	// What clients send: taken by the one-pass path.
	for _, tok := range []string{"0.5", "-1.25e-3", "0.123456789", "255", "1e10", "0", "0.40872985124588013", "-3.0517578125e-05"} {
		if _, end, ok := parseJSONFloat32([]byte(tok+","), 0); !ok || end != len(tok) {
			t.Errorf("%s: not taken by the one-pass path (end %d, ok %v)", tok, end, ok)
		}
	}
}

// FuzzParseJSONFloat32 checks number's one-pass path against its general
// path on arbitrary documents.
func FuzzParseJSONFloat32(f *testing.F) {
	for _, tok := range numberForms {
		f.Add("[" + tok + "]")
	}
	f.Add("[[0.5,-1e-3],[2,3]]")
	f.Fuzz(func(t *testing.T, doc string) {
		parseBoth(t, doc)
	})
}

// TestEightDigits checks the eight-digit step against strconv, and that a
// byte other than a digit anywhere in the eight stops it.
func TestEightDigits(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for range 100000 {
		s := []byte(fmt.Sprintf("%08d", r.IntN(100000000)))
		w := binary.LittleEndian.Uint64(s)
		want, _ := strconv.ParseUint(string(s), 10, 64)
		if !eightDigits(w) || eightDigitsValue(w) != want {
			t.Fatalf("%s: digits %v, value %d", s, eightDigits(w), eightDigitsValue(w))
		}
		for _, c := range []byte{'/', ':', '.', 'e', '-', ' ', 0, 0xB0, 0x3A, 0x39 + 0x80} {
			s[r.IntN(8)] = c
			if eightDigits(binary.LittleEndian.Uint64(s)) {
				t.Fatalf("%q taken as eight digits", s)
			}
		}
	}
}
