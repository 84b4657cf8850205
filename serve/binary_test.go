package serve

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// The FP32 binary paths copy memory on little-endian machines; they must
// agree bit for bit with the element-by-element conversion (NaN payloads,
// -0 and infinities included).
func TestFP32BinaryCopy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	data := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001), math.Float32frombits(0xffbfffff), math.SmallestNonzeroFloat32}
	for range 1000 {
		data = append(data, math.Float32frombits(r.Uint32()))
	}
	var want []byte
	for _, v := range data {
		want = binary.LittleEndian.AppendUint32(want, math.Float32bits(v))
	}
	got := encodeFP32([]byte("prefix"), data)
	if string(got[:6]) != "prefix" || string(got[6:]) != string(want) {
		t.Fatal("encodeFP32 differs from the element-by-element encoding")
	}
	back := decodeBinaryInto(make([]float32, len(data)), datatypes["FP32"], want)
	for i := range data {
		if math.Float32bits(back[i]) != math.Float32bits(data[i]) {
			t.Fatalf("element %d: decoded %08x, sent %08x", i, math.Float32bits(back[i]), math.Float32bits(data[i]))
		}
	}
}

// parseFloat32Fast must give strconv.ParseFloat(tok, 32)'s float32 bit for
// bit whenever it answers, and answer for the short forms clients send.
func TestParseFloat32Fast(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var toks []string
	for range 50000 {
		f := math.Float32frombits(r.Uint32())
		if f != f || math.IsInf(float64(f), 0) {
			continue
		}
		toks = append(toks, strconv.FormatFloat(float64(f), 'g', -1, 32))
		toks = append(toks, strconv.FormatFloat(float64(f), 'e', r.IntN(17), 32))
		toks = append(toks, strconv.FormatFloat(float64(f), 'g', -1, 64))
		// Midpoints between neighbouring float32s, exactly and nearly.
		g := math.Nextafter32(f, float32(math.Inf(1)))
		mid := (float64(f) + float64(g)) / 2
		toks = append(toks, strconv.FormatFloat(mid, 'g', -1, 64), strconv.FormatFloat(mid, 'e', 14, 64), strconv.FormatFloat(mid, 'e', 20, 64))
		// Near midpoints in 17-19 digits (the longest fast forms), and a
		// float64 printed in full as Python's json does.
		for _, prec := range []int{16, 17, 18} {
			toks = append(toks, strconv.FormatFloat(mid, 'e', prec, 64), strconv.FormatFloat(math.Nextafter(mid, 0), 'e', prec, 64), strconv.FormatFloat(math.Nextafter(mid, 1e300), 'e', prec, 64))
		}
		toks = append(toks, strconv.FormatFloat(float64(f)*(1+r.Float64()*1e-7), 'g', -1, 64))
		// Random decimals of 1–19 digits and exponents.
		digits := strconv.FormatUint(1e18+r.Uint64()%9e18, 10)[:1+r.IntN(19)]
		toks = append(toks, digits+"e"+strconv.Itoa(r.IntN(100)-50), "0."+digits, "-"+digits+"."+digits, "0.0000000000000000000000"+digits)
	}
	toks = append(toks, "0", "-0", "0.0", "1e22", "1e23", "1e-22", "1e-44", "1e-45", "123456789012345", "1234567890123456", "9999999999999999999", "18446744073709551615", "0.40872985124588013", "3.4028235e38", "3.4028236e38", "1.1754944e-38", "1.17549435e-38", "1e-45", "0.000000000000000000001", "16777217", "16777219", "33554434", "33554438", "-16777217")
	answered := 0
	for _, tok := range toks {
		if !jsonNumber(tok) {
			continue
		}
		got, ok := parseFloat32Fast(tok)
		if !ok {
			continue
		}
		answered++
		want, err := strconv.ParseFloat(tok, 32)
		if err != nil {
			t.Fatalf("%s: fast path %v, strconv refuses it: %v", tok, got, err)
		}
		if math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Fatalf("%s: fast path %08x, strconv %08x", tok, math.Float32bits(got), math.Float32bits(float32(want)))
		}
	}
	if answered < len(toks)/3 {
		t.Fatalf("the fast path answered only %d of %d numbers", answered, len(toks))
	}
	// 16777217 = 2^24+1 is exactly halfway between two float32s: the
	// float64 guard must leave it to strconv (ties to even).
	if _, ok := parseFloat32Fast("16777217"); ok {
		t.Error("16777217 (a float32 midpoint) taken by the fast path")
	}
	for _, tok := range []string{"0.5", "-1.25e-3", "0.123456789", "255", "1e10"} {
		if _, ok := parseFloat32Fast(tok); !ok {
			t.Errorf("%s: not taken by the fast path", tok)
		}
	}
}

// FuzzParseFloat32Fast checks parseFloat32Fast against strconv on
// arbitrary JSON numbers.
func FuzzParseFloat32Fast(f *testing.F) {
	for _, s := range []string{"0.5", "16777217", "1e-38", "123456789012345e7", "-0.000123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if !jsonNumber(tok) {
			return
		}
		got, ok := parseFloat32Fast(tok)
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(tok, 32)
		if err != nil || math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Fatalf("%s: fast path %08x, strconv %08x (%v)", tok, math.Float32bits(got), math.Float32bits(float32(want)), err)
		}
	})
}
