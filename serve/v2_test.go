package serve

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

func TestV2ServerEndpoints(t *testing.T) {
	_, hs := testServer(t, Config{Version: "1.2.3"})
	r := do(t, "GET", hs.URL+"/v2", nil, nil)
	var meta struct {
		Name       string   `json:"name"`
		Version    string   `json:"version"`
		Extensions []string `json:"extensions"`
	}
	if r.code != 200 || json.Unmarshal(r.body, &meta) != nil || meta.Name != "kconv" || meta.Version != "1.2.3" || len(meta.Extensions) != 1 || meta.Extensions[0] != "binary_tensor_data" {
		t.Fatalf("GET /v2: %d %s", r.code, r.body)
	}
	for _, path := range []string{"/v2/health/live", "/v2/health/ready"} {
		if r := do(t, "GET", hs.URL+path, nil, nil); r.code != 200 {
			t.Errorf("GET %s: %d %s", path, r.code, r.body)
		}
	}
}

func TestV2ModelMetadata(t *testing.T) {
	_, hs := testServer(t, Config{})
	for _, path := range []string{"/v2/models/two", "/v2/models/two/versions/1"} {
		r := do(t, "GET", hs.URL+path, nil, nil)
		var meta struct {
			Name     string     `json:"name"`
			Versions []string   `json:"versions"`
			Platform string     `json:"platform"`
			Inputs   []v2Tensor `json:"inputs"`
			Outputs  []v2Tensor `json:"outputs"`
		}
		if r.code != 200 {
			t.Fatalf("GET %s: %d %s", path, r.code, r.body)
		}
		if err := json.Unmarshal(r.body, &meta); err != nil {
			t.Fatal(err)
		}
		want := `{two [1] kconv [{a FP32 [-1 4]} {b FP32 [-1 4]}] [{out1 FP32 [-1 3]} {out2 FP32 [-1 2]}]}`
		if got := strings.TrimPrefix(strings.ReplaceAll(jsonish(meta), "\n", ""), ""); got != want {
			t.Errorf("GET %s:\n got %s\nwant %s", path, got, want)
		}
		if r := do(t, "GET", hs.URL+path+"/ready", nil, nil); r.code != 200 || !strings.Contains(string(r.body), `"ready":true`) {
			t.Errorf("GET %s/ready: %d %s", path, r.code, r.body)
		}
	}
	for _, path := range []string{"/v2/models/nope", "/v2/models/nope/ready", "/v2/models/two/versions/2", "/v2/models/two/versions/2/ready", "/v1/models/nope", "/v3/what"} {
		r := do(t, "GET", hs.URL+path, nil, nil)
		if r.code != 404 || errorOf(r.body) == "" {
			t.Errorf("GET %s: %d %s, want 404 with an error", path, r.code, r.body)
		}
	}
}

func jsonish(v any) string {
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	s := "{" + m["name"].(string) + " " + strings.Trim(strings.ReplaceAll(string(mustJSONAny(m["versions"])), `"`, ""), "") + " " + m["platform"].(string)
	for _, k := range []string{"inputs", "outputs"} {
		s += " ["
		for i, x := range m[k].([]any) {
			o := x.(map[string]any)
			if i > 0 {
				s += " "
			}
			sh := strings.ReplaceAll(string(mustJSONAny(o["shape"])), ",", " ")
			s += "{" + o["name"].(string) + " " + o["datatype"].(string) + " " + sh + "}"
		}
		s += "]"
	}
	return s + "}"
}

func mustJSONAny(v any) []byte { b, _ := json.Marshal(v); return b }

func errorOf(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error
}

func TestV2InferJSONEqualsRun(t *testing.T) {
	s, hs := testServer(t, Config{})
	r := rand.New(rand.NewPCG(1, 2))
	x := randTensor(r, ir.Shape{3, 8, 8, 3}, ir.ChannelsLast)
	want := reference(t, s.models["cnn"].prog, x)
	body := mustJSON(t, map[string]any{
		"id":     "req-1",
		"inputs": []map[string]any{{"name": "image", "shape": []int{3, 8, 8, 3}, "datatype": "FP32", "data": x.Data}},
	})
	res := do(t, "POST", hs.URL+"/v2/models/cnn/infer", map[string]string{"Content-Type": "application/json"}, body)
	var got v2Resp
	if res.code != 200 || json.Unmarshal(res.body, &got) != nil {
		t.Fatalf("%d %s", res.code, res.body)
	}
	if got.ModelName != "cnn" || got.ModelVersion != "1" || got.ID != "req-1" || len(got.Outputs) != 1 || got.Outputs[0].Name != "logits" || got.Outputs[0].Datatype != "FP32" {
		t.Fatalf("response %s", res.body)
	}
	sameTensor(t, "logits", got.Outputs[0].Shape, got.Outputs[0].Data, want[0])

	// The same through the versioned path, with nested data.
	nested := make([][][][]float32, 3)
	for n := range nested {
		nested[n] = make([][][]float32, 8)
		for h := range nested[n] {
			nested[n][h] = make([][]float32, 8)
			for w := range nested[n][h] {
				i := ((n*8+h)*8 + w) * 3
				nested[n][h][w] = x.Data[i : i+3]
			}
		}
	}
	body = mustJSON(t, map[string]any{"inputs": []map[string]any{{"name": "image", "shape": []int{3, 8, 8, 3}, "datatype": "FP32", "data": nested}}})
	res = do(t, "POST", hs.URL+"/v2/models/cnn/versions/1/infer", nil, body)
	got = v2Resp{}
	if res.code != 200 || json.Unmarshal(res.body, &got) != nil || strings.Contains(string(res.body), `"id"`) {
		t.Fatalf("%d %s", res.code, res.body)
	}
	sameTensor(t, "logits (nested request)", got.Outputs[0].Shape, got.Outputs[0].Data, want[0])
}

func TestV2InferIntegerTypes(t *testing.T) {
	s, hs := testServer(t, Config{})
	a := &ir.Tensor{Shape: ir.Shape{2, 4}, Data: []float32{0, 1, 2, 255, 7, 8, 9, 10}}
	b := &ir.Tensor{Shape: ir.Shape{2, 4}, Data: []float32{-128, 127, 0, -1, 5, -5, 3, 2}}
	want := reference(t, s.models["two"].prog, a, b)
	body := mustJSON(t, map[string]any{"inputs": []map[string]any{
		{"name": "b", "shape": []int{2, 4}, "datatype": "INT8", "data": []int{-128, 127, 0, -1, 5, -5, 3, 2}},
		{"name": "a", "shape": []int{2, 4}, "datatype": "UINT8", "data": []int{0, 1, 2, 255, 7, 8, 9, 10}},
	}})
	res := do(t, "POST", hs.URL+"/v2/models/two/infer", nil, body)
	var got v2Resp
	if res.code != 200 || json.Unmarshal(res.body, &got) != nil || len(got.Outputs) != 2 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	sameTensor(t, "out1", got.Outputs[0].Shape, got.Outputs[0].Data, want[0])
	sameTensor(t, "out2", got.Outputs[1].Shape, got.Outputs[1].Data, want[1])

	for _, dt := range []string{"INT16", "INT32", "INT64", "UINT16", "UINT32", "UINT64", "FP64", "FP16"} {
		vals := []int{0, 1, 2, 255, 7, 8, 9, 10}
		body := mustJSON(t, map[string]any{"inputs": []map[string]any{
			{"name": "a", "shape": []int{2, 4}, "datatype": dt, "data": vals},
			{"name": "b", "shape": []int{2, 4}, "datatype": "FP32", "data": b.Data},
		}})
		res := do(t, "POST", hs.URL+"/v2/models/two/infer", nil, body)
		got = v2Resp{}
		if res.code != 200 || json.Unmarshal(res.body, &got) != nil {
			t.Fatalf("%s: %d %s", dt, res.code, res.body)
		}
		sameTensor(t, dt+" out1", got.Outputs[0].Shape, got.Outputs[0].Data, want[0])
	}
}

// binaryBody assembles a binary-extension request: JSON header then the
// inputs' bytes.
func binaryBody(t testing.TB, header any, bins ...[]byte) ([]byte, map[string]string) {
	js := mustJSON(t, header)
	body := append([]byte(nil), js...)
	for _, b := range bins {
		body = append(body, b...)
	}
	return body, map[string]string{headerLength: strconv.Itoa(len(js)), "Content-Type": "application/octet-stream"}
}

func TestV2InferBinary(t *testing.T) {
	s, hs := testServer(t, Config{})
	r := rand.New(rand.NewPCG(3, 4))
	a := randTensor(r, ir.Shape{5, 4}, ir.LayoutNone)
	b := randTensor(r, ir.Shape{5, 4}, ir.LayoutNone)
	want := reference(t, s.models["two"].prog, a, b)

	// Binary inputs; out2 in binary (asked per output), out1 in JSON.
	body, hdr := binaryBody(t, map[string]any{
		"inputs": []map[string]any{
			{"name": "a", "shape": []int{5, 4}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 80}},
			{"name": "b", "shape": []int{5, 4}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 80}},
		},
		"outputs": []map[string]any{{"name": "out2", "parameters": map[string]any{"binary_data": true}}, {"name": "out1"}},
	}, fp32Bytes(a.Data), fp32Bytes(b.Data))
	res := do(t, "POST", hs.URL+"/v2/models/two/infer", hdr, body)
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	n, err := strconv.Atoi(res.header.Get(headerLength))
	if err != nil || n <= 0 || n > len(res.body) {
		t.Fatalf("%s: %q", headerLength, res.header.Get(headerLength))
	}
	var got v2Resp
	if err := json.Unmarshal(res.body[:n], &got); err != nil || len(got.Outputs) != 2 {
		t.Fatalf("%v: %s", err, res.body[:n])
	}
	if got.Outputs[0].Name != "out2" || got.Outputs[0].Parameters["binary_data_size"] != float64(40) || got.Outputs[0].Data != nil {
		t.Fatalf("out2: %+v", got.Outputs[0])
	}
	bin := res.body[n:]
	if len(bin) != 40 {
		t.Fatalf("%d binary bytes, want 40", len(bin))
	}
	out2 := make([]float32, 10)
	for i := range out2 {
		out2[i] = math.Float32frombits(uint32(bin[4*i]) | uint32(bin[4*i+1])<<8 | uint32(bin[4*i+2])<<16 | uint32(bin[4*i+3])<<24)
	}
	sameTensor(t, "out2 (binary)", got.Outputs[0].Shape, out2, want[1])
	sameTensor(t, "out1 (json)", got.Outputs[1].Shape, got.Outputs[1].Data, want[0])

	// binary_data_output asks for every output in binary; FP16 and UINT8
	// binary inputs convert.
	half := []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x38} // 1, -2, 0, 0.5
	body, hdr = binaryBody(t, map[string]any{
		"parameters": map[string]any{"binary_data_output": true},
		"inputs": []map[string]any{
			{"name": "a", "shape": []int{1, 4}, "datatype": "FP16", "parameters": map[string]any{"binary_data_size": 8}},
			{"name": "b", "shape": []int{1, 4}, "datatype": "UINT8", "parameters": map[string]any{"binary_data_size": 4}},
		},
	}, half, []byte{1, 2, 3, 250})
	want = reference(t, s.models["two"].prog,
		&ir.Tensor{Shape: ir.Shape{1, 4}, Data: []float32{1, -2, 0, 0.5}},
		&ir.Tensor{Shape: ir.Shape{1, 4}, Data: []float32{1, 2, 3, 250}})
	res = do(t, "POST", hs.URL+"/v2/models/two/infer", hdr, body)
	n, _ = strconv.Atoi(res.header.Get(headerLength))
	if res.code != 200 || n <= 0 || len(res.body) != n+4*(3+2) {
		t.Fatalf("%d %s (header length %d)", res.code, res.body, n)
	}
	bin = res.body[n:]
	dec := func(b []byte) []float32 {
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
		}
		return out
	}
	sameTensor(t, "out1", []int{1, 3}, dec(bin[:12]), want[0])
	sameTensor(t, "out2", []int{1, 2}, dec(bin[12:]), want[1])
}

func TestHalfToFloat(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x3800, 0.5}, {0x7bff, 65504}, {0x0001, 5.9604645e-08}, {0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))}} {
		if got := halfToFloat(c.h); got != c.want || math.Signbit(float64(got)) != math.Signbit(float64(c.want)) {
			t.Errorf("halfToFloat(%#x) = %v, want %v", c.h, got, c.want)
		}
	}
	if !math.IsNaN(float64(halfToFloat(0x7e00))) {
		t.Error("halfToFloat(0x7e00) is not NaN")
	}
}

func TestV2BadRequests(t *testing.T) {
	_, hs := testServer(t, Config{MaxBodyBytes: 1 << 16})
	ok := func(data any) map[string]any {
		return map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "FP32", "data": data}
	}
	bIn := map[string]any{"name": "b", "shape": []int{1, 4}, "datatype": "FP32", "data": []float32{1, 2, 3, 4}}
	req := func(ins ...map[string]any) []byte { return mustJSON(t, map[string]any{"inputs": ins}) }
	bin := func(size int) map[string]any {
		return map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": size}}
	}
	binHdr := func(header []byte, bins int) ([]byte, map[string]string) {
		return append(header, make([]byte, bins)...), map[string]string{headerLength: strconv.Itoa(len(header))}
	}
	type tc struct {
		name   string
		path   string
		header map[string]string
		body   []byte
		code   int
		msg    string // the error must contain this
	}
	cases := []tc{
		{"malformed JSON", "two", nil, []byte(`{"inputs": [`), 400, "malformed"},
		{"not an object", "two", nil, []byte(`[1,2]`), 400, "malformed"},
		{"empty body", "two", nil, nil, 400, "malformed"},
		{"no inputs", "two", nil, []byte(`{"inputs": []}`), 400, "no inputs"},
		{"unknown model", "nope", nil, req(ok([]int{1, 2, 3, 4}), bIn), 404, "unknown model"},
		{"unknown input", "two", nil, req(ok([]int{1, 2, 3, 4}), bIn, map[string]any{"name": "c", "shape": []int{1, 4}, "datatype": "FP32", "data": []int{1, 2, 3, 4}}), 400, "unknown input 'c'"},
		{"missing input", "two", nil, req(ok([]int{1, 2, 3, 4})), 400, "input 'b' is missing"},
		{"duplicate input", "two", nil, req(ok([]int{1, 2, 3, 4}), ok([]int{1, 2, 3, 4}), bIn), 400, "twice"},
		{"wrong shape", "two", nil, req(map[string]any{"name": "a", "shape": []int{1, 5}, "datatype": "FP32", "data": []int{1, 2, 3, 4, 5}}, bIn), 400, "input 'a': shape (1, 5), model expects (None, 4)"},
		{"wrong rank", "two", nil, req(map[string]any{"name": "a", "shape": []int{4}, "datatype": "FP32", "data": []int{1, 2, 3, 4}}, bIn), 400, "input 'a': shape"},
		{"zero batch", "two", nil, req(map[string]any{"name": "a", "shape": []int{0, 4}, "datatype": "FP32", "data": []int{}}, bIn), 400, "input 'a': shape"},
		{"negative dim", "two", nil, req(map[string]any{"name": "a", "shape": []int{-1, 4}, "datatype": "FP32", "data": []int{1, 2, 3, 4}}, bIn), 400, "input 'a': shape"},
		{"huge shape", "two", nil, req(map[string]any{"name": "a", "shape": []int64{1 << 40, 4}, "datatype": "FP32", "data": []int{1, 2, 3, 4}}, bIn), 400, "input 'a'"},
		{"batch mismatch", "two", nil, req(map[string]any{"name": "a", "shape": []int{2, 4}, "datatype": "FP32", "data": []int{1, 2, 3, 4, 5, 6, 7, 8}}, bIn), 400, "batch size"},
		{"wrong dtype BOOL", "two", nil, req(map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "BOOL", "data": []bool{true, false, true, true}}, bIn), 400, "input 'a': datatype \"BOOL\""},
		{"wrong dtype BYTES", "two", nil, req(map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "BYTES", "data": []string{"a", "b", "c", "d"}}, bIn), 400, "input 'a': datatype"},
		{"unknown dtype", "two", nil, req(map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "FP8", "data": []int{1, 2, 3, 4}}, bIn), 400, "input 'a': datatype"},
		{"too few values", "two", nil, req(ok([]int{1, 2, 3}), bIn), 400, "input 'a'"},
		{"too many values", "two", nil, req(ok([]int{1, 2, 3, 4, 5}), bIn), 400, "input 'a': 5 values"},
		{"strings as data", "two", nil, req(ok([]string{"1", "2", "3", "4"}), bIn), 400, "input 'a': data"},
		{"no data", "two", nil, req(map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "FP32"}, bIn), 400, "input 'a': no data"},
		{"ragged data", "two", nil, req(ok([]any{[]int{1, 2}, []int{3}, 4}), bIn), 400, "ragged"},
		{"fraction in INT32", "two", nil, req(map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "INT32", "data": []float64{1, 2.5, 3, 4}}, bIn), 400, "2.5 is not a INT32"},
		{"UINT8 out of range", "two", nil, req(map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "UINT8", "data": []int{1, 256, 3, 4}}, bIn), 400, "256 is not a UINT8"},
		{"FP32 out of range", "two", nil, []byte(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,1e39]},{"name":"b","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`), 400, "input 'a'"},
		{"unknown output", "two", nil, mustJSON(t, map[string]any{"inputs": []any{ok([]int{1, 2, 3, 4}), bIn}, "outputs": []any{map[string]any{"name": "out9"}}}), 400, "unknown output 'out9'"},
		{"binary_data not bool", "two", nil, mustJSON(t, map[string]any{"inputs": []any{ok([]int{1, 2, 3, 4}), bIn}, "outputs": []any{map[string]any{"name": "out1", "parameters": map[string]any{"binary_data": "yes"}}}}), 400, "binary_data"},
		{"huge body", "two", nil, append(append([]byte(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[`), []byte(strings.Repeat("1,", 40000))...), []byte(`1]}]}`)...), 413, "limit"},
		{"TF unknown model", "", nil, nil, 404, "unknown model"},
	}
	h, hh := binHdr(req(bin(16), bIn), 8)
	cases = append(cases, tc{"truncated binary data", "two", hh, h, 400, "input 'a': binary data truncated"})
	h, hh = binHdr(req(bin(16), bIn), 20)
	cases = append(cases, tc{"extra binary data", "two", hh, h, 400, "4 bytes of binary data follow"})
	h, hh = binHdr(req(bin(12), bIn), 12)
	cases = append(cases, tc{"binary size mismatch", "two", hh, h, 400, "binary_data_size 12"})
	h, hh = binHdr(req(bin(16), bIn), 16)
	hh[headerLength] = "999999"
	cases = append(cases, tc{"header length past the body", "two", hh, h, 400, headerLength})
	h, hh = binHdr(req(bin(16), bIn), 16)
	hh[headerLength] = "12"
	cases = append(cases, tc{"header length cuts the JSON", "two", hh, h, 400, "malformed"})
	h, hh = binHdr(req(map[string]any{"name": "a", "shape": []int{1, 4}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": "16"}}, bIn), 16)
	cases = append(cases, tc{"binary_data_size not a number", "two", hh, h, 400, "binary_data_size"})

	for _, c := range cases {
		path := hs.URL + "/v2/models/" + c.path + "/infer"
		if c.path == "" {
			path = hs.URL + "/v1/models/nope:predict"
		}
		res := do(t, "POST", path, c.header, c.body)
		msg := errorOf(res.body)
		if res.code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %q, want %d with an error containing %q", c.name, res.code, res.body, c.code, c.msg)
		}
		if !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: Content-Type %q", c.name, res.header.Get("Content-Type"))
		}
	}
	// Still serving.
	res := do(t, "POST", hs.URL+"/v2/models/two/infer", nil, req(ok([]int{1, 2, 3, 4}), bIn))
	if res.code != http.StatusOK {
		t.Fatalf("after the bad requests: %d %s", res.code, res.body)
	}
}
