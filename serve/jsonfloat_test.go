package serve

import (
	"encoding/binary"
	"errors"
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
		p := &arrayParser{b: []byte(raw), dt: fp32, leaf: -1, fast32: !general}
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
		// Within long arrays, where parseJSONFloat32 takes its word path
		// (32 bytes follow): first, in the middle, last, beside
		// whitespace, in nested rows.
		pad := strings.Repeat("0.5,-0.25,", 6)
		for _, doc := range []string{
			"[" + tok + "," + pad + "1]", "[" + pad + tok + "," + pad + "1]", "[" + pad + tok + "]", "[" + pad + tok + " ," + pad + "1]",
			"[" + pad + " " + tok + "," + pad + "1]", "[[" + pad + tok + "],[" + pad + "2]]", "[[" + pad + "2],[" + pad + tok + "]]",
			"[" + pad + tok + "]   " + pad, "[" + pad + tok,
			// fastNumbers' stops: whitespace after the separator, a
			// trailing or doubled comma, an array where numbers were.
			"[" + pad + tok + ", \n\t" + pad + "1]", "[" + pad + tok + ",]", "[" + pad + tok + ",,1]",
			"[[" + pad + "1],[" + tok + "," + pad + "[2]]]", "[[" + pad + "1],[" + pad + tok + "]]",
		} {
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
		for _, tail := range []string{",", "," + strings.Repeat(" ", 40)} {
			if _, end, ok := parseJSONFloat32([]byte(tok+tail), 0); !ok || end != len(tok) {
				t.Errorf("%s: not taken by the one-pass path (end %d, ok %v, %d bytes after)", tok, end, ok, len(tail))
			}
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
	long := strings.Repeat("0.42451832,-0.6046603,", 4)
	f.Add("[" + long + "1e-3," + long + "0]")
	f.Add("[[" + long + "0.5],[" + long + "0.5 ]]")
	f.Fuzz(func(t *testing.T, doc string) {
		parseBoth(t, doc)
	})
}

// TestLeadingDigits checks the word step of parseJSONFloat32 against
// strconv: leadingDigits counts the digits an 8-byte word starts with,
// whatever follows (every byte value, non-digits that border the digit
// range among them), and digitsValue reads them.
func TestLeadingDigits(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	others := []byte{'/', ':', '.', 'e', 'E', '-', '+', ',', ']', ' ', 0, 0x2F, 0x3A, 0xB0, 0xB9, 0xF9, 0xFA, 0xFF, 0x39 + 0x80}
	for n := range 200000 {
		k := n % 9 // digits first
		s := make([]byte, 8)
		for i := range s {
			if i < k {
				s[i] = byte('0' + r.IntN(10))
			} else if n%2 == 0 {
				s[i] = others[r.IntN(len(others))]
			} else {
				s[i] = byte(r.IntN(256))
			}
		}
		if k < 8 && s[k] >= '0' && s[k] <= '9' {
			s[k] = others[r.IntN(len(others))]
		}
		w := binary.LittleEndian.Uint64(s)
		if got := leadingDigits(w); got != k {
			t.Fatalf("%q: %d leading digits, want %d", s, got, k)
		}
		want := uint64(0) // k = 0: parseJSONFloat32Words's second word when the first ends the digits
		if k > 0 {
			want, _ = strconv.ParseUint(string(s[:k]), 10, 64)
		}
		if got := digitsValue(w, k); got != want {
			t.Fatalf("%q: digits %d, want %d", s[:k], got, want)
		}
	}
}
