package serve

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
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
