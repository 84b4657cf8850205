package serve

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

func TestTFStatus(t *testing.T) {
	_, hs := testServer(t, Config{})
	for _, path := range []string{"/v1/models/cnn", "/v1/models/cnn/versions/1"} {
		r := do(t, "GET", hs.URL+path, nil, nil)
		want := `{"model_version_status":[{"state":"AVAILABLE","status":{"error_code":"OK","error_message":""},"version":"1"}]}`
		if r.code != 200 || string(r.body) != want {
			t.Errorf("GET %s: %d %s", path, r.code, r.body)
		}
	}
}

// rows splits t's data into its batch rows.
func rows(t *ir.Tensor) [][]float32 {
	n := t.Shape[0]
	row := len(t.Data) / n
	out := make([][]float32, n)
	for i := range out {
		out[i] = t.Data[i*row : (i+1)*row]
	}
	return out
}

func TestTFPredictEqualsRun(t *testing.T) {
	s, hs := testServer(t, Config{})
	r := rand.New(rand.NewPCG(5, 6))

	// Single input, row format: instances are nested 8×8×3 arrays.
	x := randTensor(r, ir.Shape{2, 8, 8, 3}, ir.ChannelsLast)
	want := reference(t, s.models["cnn"].prog, x)
	inst := make([][][][]float32, 2)
	for n := range inst {
		inst[n] = make([][][]float32, 8)
		for h := range inst[n] {
			inst[n][h] = make([][]float32, 8)
			for w := range inst[n][h] {
				i := ((n*8+h)*8 + w) * 3
				inst[n][h][w] = x.Data[i : i+3]
			}
		}
	}
	res := do(t, "POST", hs.URL+"/v1/models/cnn:predict", nil, mustJSON(t, map[string]any{"instances": inst}))
	var pred struct {
		Predictions [][]float32 `json:"predictions"`
	}
	if res.code != 200 || json.Unmarshal(res.body, &pred) != nil || len(pred.Predictions) != 2 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	for i, row := range rows(want[0]) {
		sameTensor(t, "prediction", []int{len(pred.Predictions[i])}, pred.Predictions[i], &ir.Tensor{Shape: ir.Shape{len(row)}, Data: row})
	}
	// Columnar, versioned path.
	res = do(t, "POST", hs.URL+"/v1/models/cnn/versions/1:predict", nil, mustJSON(t, map[string]any{"inputs": inst}))
	var cols struct {
		Outputs [][]float32 `json:"outputs"`
	}
	if res.code != 200 || json.Unmarshal(res.body, &cols) != nil || len(cols.Outputs) != 2 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	sameTensor(t, "outputs", []int{2, 2}, append(cols.Outputs[0], cols.Outputs[1]...), want[0])

	// Two inputs and two outputs: instances are objects; so are columns.
	a := randTensor(r, ir.Shape{3, 4}, ir.LayoutNone)
	b := randTensor(r, ir.Shape{3, 4}, ir.LayoutNone)
	want = reference(t, s.models["two"].prog, a, b)
	var insts []map[string][]float32
	for i := range 3 {
		insts = append(insts, map[string][]float32{"a": rows(a)[i], "b": rows(b)[i]})
	}
	res = do(t, "POST", hs.URL+"/v1/models/two:predict", nil, mustJSON(t, map[string]any{"signature_name": "serving_default", "instances": insts}))
	var pred2 struct {
		Predictions []map[string][]float32 `json:"predictions"`
	}
	if res.code != 200 || json.Unmarshal(res.body, &pred2) != nil || len(pred2.Predictions) != 3 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	for i := range 3 {
		for o, name := range []string{"out1", "out2"} {
			row := rows(want[o])[i]
			sameTensor(t, name, []int{len(pred2.Predictions[i][name])}, pred2.Predictions[i][name], &ir.Tensor{Shape: ir.Shape{len(row)}, Data: row})
		}
	}
	res = do(t, "POST", hs.URL+"/v1/models/two:predict", nil, mustJSON(t, map[string]any{"inputs": map[string][][]float32{"a": rows(a), "b": rows(b)}}))
	var cols2 struct {
		Outputs map[string][][]float32 `json:"outputs"`
	}
	if res.code != 200 || json.Unmarshal(res.body, &cols2) != nil {
		t.Fatalf("%d %s", res.code, res.body)
	}
	for o, name := range []string{"out1", "out2"} {
		var flat []float32
		for _, row := range cols2.Outputs[name] {
			flat = append(flat, row...)
		}
		sameTensor(t, name, want[o].Shape, flat, want[o])
	}
}

func TestTFPredictBadRequests(t *testing.T) {
	_, hs := testServer(t, Config{})
	cases := []struct {
		name, path, body string
		code             int
		msg              string
	}{
		{"malformed", "cnn:predict", `{"instances": [`, 400, "malformed"},
		{"neither", "cnn:predict", `{"signature_name": "x"}`, 400, "exactly one"},
		{"both", "two:predict", `{"instances": [{"a":[1,2,3,4],"b":[1,2,3,4]}], "inputs": {"a":[[1,2,3,4]],"b":[[1,2,3,4]]}}`, 400, "exactly one"},
		{"instances not a list", "cnn:predict", `{"instances": {"image": 1}}`, 400, "must be a list"},
		{"wrong row shape", "cnn:predict", `{"instances": [[1,2,3]]}`, 400, "input 'image': shape (1, 3)"},
		{"ragged instances", "two:predict", `{"instances": [{"a":[1,2,3,4],"b":[1,2,3,4]},{"a":[1,2,3],"b":[1,2,3,4]}]}`, 400, "instance 1: input 'a'"},
		{"missing input", "two:predict", `{"instances": [{"a":[1,2,3,4]}]}`, 400, "input 'b' is missing"},
		{"unknown input", "two:predict", `{"instances": [{"a":[1,2,3,4],"b":[1,2,3,4],"c":[1]}]}`, 400, "unknown input 'c'"},
		{"unnamed instances for two inputs", "two:predict", `{"instances": [[1,2,3,4]]}`, 400, "object naming them"},
		{"strings", "two:predict", `{"inputs": {"a":[["x","y","z","w"]],"b":[[1,2,3,4]]}}`, 400, "input 'a'"},
		{"batch mismatch", "two:predict", `{"inputs": {"a":[[1,2,3,4],[1,2,3,4]],"b":[[1,2,3,4]]}}`, 400, "batch size"},
		{"empty instances", "two:predict", `{"instances": []}`, 400, "instances"},
		{"unknown verb", "cnn:classify", `{"instances": [[1]]}`, 404, ":predict"},
		{"unknown model", "nope:predict", `{"instances": [[1]]}`, 404, "unknown model"},
		{"unknown version", "cnn/versions/3:predict", `{"instances": [[1]]}`, 404, "version"},
	}
	for _, c := range cases {
		res := do(t, "POST", hs.URL+"/v1/models/"+c.path, nil, []byte(c.body))
		if msg := errorOf(res.body); res.code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %s, want %d with an error containing %q", c.name, res.code, res.body, c.code, c.msg)
		}
	}
}
