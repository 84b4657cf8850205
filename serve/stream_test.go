package serve

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

// A binary request of known length is read from the connection into the
// input buffers (parseV2Stream); one without a length (chunked) is read
// whole first (parseV2). Both must answer the same, for FP32 (read
// straight into the tensor) and other datatypes (through a byte buffer).
func TestV2BinaryStreamedEqualsBuffered(t *testing.T) {
	s, _ := testServer(t, Config{})
	h := s.Handler()
	r := rand.New(rand.NewPCG(9, 9))
	a := randTensor(r, ir.Shape{3, 4}, ir.LayoutNone)
	b := randTensor(r, ir.Shape{3, 4}, ir.LayoutNone)
	var fp16 []byte
	for range b.Data {
		fp16 = binary.LittleEndian.AppendUint16(fp16, uint16(r.IntN(0x7c00))) // finite halves
	}
	for _, dt := range []string{"FP32", "FP16"} {
		bbin, bsize := fp32Bytes(b.Data), 48
		if dt == "FP16" {
			bbin, bsize = fp16, 24
		}
		body, hdr := binaryBody(t, map[string]any{
			"inputs": []map[string]any{
				{"name": "a", "shape": []int{3, 4}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 48}},
				{"name": "b", "shape": []int{3, 4}, "datatype": dt, "parameters": map[string]any{"binary_data_size": bsize}},
			},
			"parameters": map[string]any{"binary_data_output": true},
		}, fp32Bytes(a.Data), bbin)
		var answers [2]*httptest.ResponseRecorder
		for i, length := range []int64{int64(len(body)), -1} {
			req := httptest.NewRequest("POST", "/v2/models/two/infer", bytes.NewReader(body))
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			req.ContentLength = length
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				t.Fatalf("%s, length %d: %d %s", dt, length, w.Code, w.Body)
			}
			answers[i] = w
		}
		if !bytes.Equal(answers[0].Body.Bytes(), answers[1].Body.Bytes()) {
			t.Fatalf("%s: streamed and buffered answers differ", dt)
		}
	}
}

// A body shorter than its Content-Length, cut inside the binary part, is
// a 400 naming the body, not a hang or a 500.
func TestV2BinaryStreamShortBody(t *testing.T) {
	s, _ := testServer(t, Config{})
	body, hdr := binaryBody(t, map[string]any{
		"inputs": []map[string]any{
			{"name": "a", "shape": []int{1, 4}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 16}},
			{"name": "b", "shape": []int{1, 4}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 16}},
		},
	}, make([]byte, 32))
	for _, cut := range []int{len(body) - 5, len(body) - 20, 3} {
		req := httptest.NewRequest("POST", "/v2/models/two/infer", io.LimitReader(bytes.NewReader(body), int64(cut)))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		req.ContentLength = int64(len(body))
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "reading the request body") {
			t.Fatalf("cut at %d of %d: %d %s", cut, len(body), w.Code, w.Body)
		}
	}
}
