package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/kconv/kconv/ir"
)

// imageProgram has a cifar-sized input (32×32×3) and a cheap body (global
// pool → dense 10), so that serving costs, not the model, dominate a
// request.
func imageProgram(t testing.TB) *ir.Builder {
	t.Helper()
	b := ir.NewBuilder("image")
	x := b.Input("image", ir.Shape{32, 32, 3}, ir.ChannelsLast)
	b.Add("pool", &ir.GlobalPool2D{DataFormat: ir.ChannelsLast}, x)
	b.Add("logits", &ir.Dense{Units: 10, UseBias: true})
	return b
}

// benchInfer measures one v2 infer request through the Server's handler
// (no network): parsing, queueing, the batcher's hand-off, the model and
// the response. It reports ns/op and allocs/op per request.
func benchInfer(b *testing.B, binaryData bool) { benchInferForm(b, binaryData, false) }

// benchInferForm is benchInfer; with wide, the JSON numbers are the
// float32 values as float64s, printed in full (up to 17 digits, as
// Python's json prints a numpy float32 converted to float).
func benchInferForm(b *testing.B, binaryData, wide bool) {
	s, err := New(Config{MaxBatch: 8}, Model{Name: "image", Program: compile(b, imageProgram(b))})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(3, 3))
	x := randTensor(r, ir.Shape{1, 32, 32, 3}, ir.ChannelsLast)
	var body []byte
	header := http.Header{}
	if binaryData {
		js := mustJSON(b, map[string]any{
			"inputs":     []any{map[string]any{"name": "image", "shape": []int{1, 32, 32, 3}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 4 * len(x.Data)}}},
			"parameters": map[string]any{"binary_data_output": true},
		})
		body = append(js, fp32Bytes(x.Data)...)
		header.Set(headerLength, strconv.Itoa(len(js)))
		header.Set("Content-Type", "application/octet-stream")
	} else {
		var data any = x.Data
		if wide {
			d := make([]float64, len(x.Data))
			for i, v := range x.Data {
				d[i] = float64(v)
			}
			data = d
		}
		body = mustJSON(b, map[string]any{
			"inputs": []any{map[string]any{"name": "image", "shape": []int{1, 32, 32, 3}, "datatype": "FP32", "data": data}},
		})
		header.Set("Content-Type", "application/json")
	}
	h := s.Handler()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequestWithContext(context.Background(), "POST", "/v2/models/image/infer", bytes.NewReader(body))
		req.Header = header
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/request")
}

// BenchmarkInferJSON is one request with a 3072-value JSON data array.
func BenchmarkInferJSON(b *testing.B) { benchInfer(b, false) }

// BenchmarkInferJSONWide is BenchmarkInferJSON with numbers of up to 17
// digits (float64 forms).
func BenchmarkInferJSONWide(b *testing.B) { benchInferForm(b, false, true) }

// BenchmarkInferBinary is the same request with the binary data extension.
func BenchmarkInferBinary(b *testing.B) { benchInfer(b, true) }

// TestLoneRequestDoesNotWait: with an hour of batch timeout, a request
// arriving at an idle model must still be answered (a batcher that waited
// for the timeout would hang the test until its own timeout).
func TestLoneRequestDoesNotWait(t *testing.T) {
	_, hs := testServer(t, Config{MaxBatch: 8, BatchTimeout: time.Hour})
	p := cnnProgram(t)
	r := rand.New(rand.NewPCG(5, 5))
	x := randTensor(r, ir.Shape{1, 8, 8, 3}, ir.ChannelsLast)
	want := reference(t, p, x)
	for i := range 3 {
		res := do(t, "POST", hs.URL+"/v2/models/cnn/infer", nil, mustJSON(t, map[string]any{
			"inputs": []any{map[string]any{"name": "image", "shape": []int{1, 8, 8, 3}, "datatype": "FP32", "data": x.Data}},
		}))
		if res.code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, res.code, res.body)
		}
		var got v2Resp
		if err := json.Unmarshal(res.body, &got); err != nil || len(got.Outputs) != 1 {
			t.Fatalf("request %d: %v %s", i, err, res.body)
		}
		sameTensor(t, "logits", got.Outputs[0].Shape, got.Outputs[0].Data, want[0])
	}
}

// BenchmarkParseArray parses a flat JSON data array of one 224×224×3
// image (150,528 numbers as encoding/json prints float32s: uniform in
// [0, 1), as bench/loadtest sends, and in [-1, 1); and the first with
// Python json.dumps's ", " between numbers), reporting ns/number.
func BenchmarkParseArray(b *testing.B) {
	dt, err := lookupDatatype("FP32")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		lo, hi float32
		python bool
	}{{"unit", 0, 1, false}, {"signed", -1, 1, false}, {"python", 0, 1, true}} {
		r := rand.New(rand.NewPCG(7, 7))
		data := make([]float32, 224*224*3)
		for i := range data {
			data[i] = c.lo + (c.hi-c.lo)*r.Float32()
		}
		raw := mustJSON(b, data)
		if c.python {
			raw = bytes.ReplaceAll(raw, []byte(","), []byte(", ")) // json.dumps's separators
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				got, _, err := parseArray(raw, dt, len(data))
				if err != nil || len(got) != len(data) {
					b.Fatal(err, len(got))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(data)), "ns/number")
		})
	}
}
