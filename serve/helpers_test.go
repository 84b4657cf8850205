package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// cnnProgram is a small CNN: image (8×8×3, channels last) → conv → add →
// global pool → softmax logits (2).
func cnnProgram(t testing.TB) *exec.Program {
	t.Helper()
	b := ir.NewBuilder("cnn")
	x := b.Input("image", ir.Shape{8, 8, 3}, ir.ChannelsLast)
	c1 := b.Add("conv_a", &ir.Conv2D{Filters: 3, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}, UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: ir.ChannelsLast}, x)
	sum := b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, x, c1)
	b.Add("pool", &ir.GlobalPool2D{DataFormat: ir.ChannelsLast}, sum)
	b.Add("logits", &ir.Dense{Units: 2, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	return compile(t, b)
}

// twoProgram has two inputs (a, b: 4 values each) and two outputs (out1: 3
// values, out2: 2 values).
func twoProgram(t testing.TB) *exec.Program {
	t.Helper()
	b := ir.NewBuilder("two")
	a := b.Input("a", ir.Shape{4}, ir.LayoutNone)
	c := b.Input("b", ir.Shape{4}, ir.LayoutNone)
	sum := b.Add("sum", &ir.Merge{Mode: ir.MergeAdd}, a, c)
	b.Add("out1", &ir.Dense{Units: 3, UseBias: true}, sum)
	b.Add("out2", &ir.Dense{Units: 2, UseBias: true, Activation: ir.Act{Name: "tanh"}}, sum)
	return compile(t, b, "out1", "out2")
}

func compile(t testing.TB, b *ir.Builder, outputs ...string) *exec.Program {
	t.Helper()
	m, err := b.Build(outputs...)
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 7)
	p, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testServer serves cnn and two over real HTTP on 127.0.0.1.
func testServer(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg, Model{Name: "cnn", Program: cnnProgram(t)}, Model{Name: "two", Program: twoProgram(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return s, hs
}

// randTensor makes a tensor of the given shape with values in [-1, 1).
func randTensor(r *rand.Rand, shape ir.Shape, layout ir.Layout) *ir.Tensor {
	t := ir.NewTensor(shape, layout)
	for i := range t.Data {
		t.Data[i] = r.Float32()*2 - 1
	}
	return t
}

// reference runs p directly.
func reference(t testing.TB, p *exec.Program, ins ...*ir.Tensor) []*ir.Tensor {
	t.Helper()
	outs, err := p.Run(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func do(t testing.TB, method, url string, header map[string]string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v2Out is a response output as a client reads it.
type v2Out struct {
	Name       string         `json:"name"`
	Datatype   string         `json:"datatype"`
	Shape      []int          `json:"shape"`
	Parameters map[string]any `json:"parameters"`
	Data       []float32      `json:"data"`
}

type v2Resp struct {
	ModelName    string  `json:"model_name"`
	ModelVersion string  `json:"model_version"`
	ID           string  `json:"id"`
	Outputs      []v2Out `json:"outputs"`
	Error        string  `json:"error"`
}

func fp32Bytes(data []float32) []byte {
	var b []byte
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// sameTensor fails unless got equals want exactly (float32 survives the
// shortest JSON round trip exactly).
func sameTensor(t testing.TB, what string, gotShape []int, got []float32, want *ir.Tensor) {
	t.Helper()
	if !ir.Shape(gotShape).Equal(want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, gotShape, want.Shape)
	}
	if len(got) != len(want.Data) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want.Data))
	}
	for i := range got {
		if got[i] != want.Data[i] {
			t.Fatalf("%s: value %d is %v, want %v", what, i, got[i], want.Data[i])
		}
	}
}
