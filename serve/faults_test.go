package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kconv/kconv/ir"
)

// oneRequest sends a random request for model cnn (kind 0, v2 JSON), two
// (kind 1, v2 binary) or cnn (kind 2, TF Serving) and checks the answer
// against running the model alone.
func oneRequest(t testing.TB, s *Server, url string, r *rand.Rand, kind int) error {
	n := 1 + r.IntN(3)
	switch kind {
	case 0, 2:
		x := randTensor(r, ir.Shape{n, 8, 8, 3}, ir.ChannelsLast)
		want, err := s.models["cnn"].prog.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			return err
		}
		var got []float32
		if kind == 0 {
			body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "image", "shape": x.Shape, "datatype": "FP32", "data": x.Data}}})
			res, err := post(url+"/v2/models/cnn/infer", nil, body)
			if err != nil {
				return err
			}
			var v v2Resp
			if err := json.Unmarshal(res, &v); err != nil || len(v.Outputs) != 1 {
				return fmt.Errorf("%v: %s", err, res)
			}
			got = v.Outputs[0].Data
		} else {
			body := []byte(`{"inputs":` + nestedJSON(x) + `}`)
			res, err := post(url+"/v1/models/cnn:predict", nil, body)
			if err != nil {
				return err
			}
			var v struct{ Outputs [][]float32 }
			if err := json.Unmarshal(res, &v); err != nil {
				return fmt.Errorf("%v: %s", err, res)
			}
			for _, row := range v.Outputs {
				got = append(got, row...)
			}
		}
		return near(got, want[0].Data)
	default:
		a := randTensor(r, ir.Shape{n, 4}, ir.LayoutNone)
		b := randTensor(r, ir.Shape{n, 4}, ir.LayoutNone)
		want, err := s.models["two"].prog.Run(context.Background(), []*ir.Tensor{a, b})
		if err != nil {
			return err
		}
		js, _ := json.Marshal(map[string]any{
			"parameters": map[string]any{"binary_data_output": true},
			"inputs": []map[string]any{
				{"name": "a", "shape": a.Shape, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 16 * n}},
				{"name": "b", "shape": b.Shape, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 16 * n}},
			}})
		body := append(append(append([]byte(nil), js...), fp32Bytes(a.Data)...), fp32Bytes(b.Data)...)
		res, err := post(url+"/v2/models/two/infer", map[string]string{headerLength: fmt.Sprint(len(js))}, body)
		if err != nil {
			return err
		}
		bin := res[bytes.LastIndexByte(res, '}')+1:]
		got := decodeBinary(datatypes["FP32"], bin)
		return near(got, append(append([]float32(nil), want[0].Data...), want[1].Data...))
	}
}

func nestedJSON(x *ir.Tensor) string { return string(appendNested(nil, x.Data, x.Shape)) }

func post(url string, header map[string]string, body []byte) ([]byte, error) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("status %d: %s", res.StatusCode, buf.Bytes())
	}
	return buf.Bytes(), nil
}

func near(got, want []float32) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	for i := range got {
		d := float64(got[i] - want[i])
		if d < 0 {
			d = -d
		}
		w := float64(want[i])
		if w < 0 {
			w = -w
		}
		if d > 1e-5+1e-5*w {
			return fmt.Errorf("value %d is %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

// stall replaces model name's batcher with one that has no workers, so
// queued requests wait.
func stall(s *Server, name string, queue int) *batcher {
	e := s.models[name]
	e.batcher.close()
	e.batcher = newBatcher(e, Config{MaxQueue: queue, MaxBatch: 1}, func(int) {})
	return e.batcher
}

func TestQueueFullAnswers429(t *testing.T) {
	s, hs := testServer(t, Config{})
	b := stall(s, "two", 1)
	if _, err := b.submit(&job{ctx: context.Background(), done: make(chan jobResult, 1)}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"b","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`)
	res := do(t, "POST", hs.URL+"/v2/models/two/infer", nil, body)
	if res.code != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" || !strings.Contains(errorOf(res.body), "queue is full") {
		t.Fatalf("%d %v %s, want 429 with Retry-After", res.code, res.header, res.body)
	}
	res = do(t, "POST", hs.URL+"/v1/models/two:predict", nil, []byte(`{"instances":[{"a":[1,2,3,4],"b":[1,2,3,4]}]}`))
	if res.code != http.StatusTooManyRequests {
		t.Fatalf("TF Serving: %d %s, want 429", res.code, res.body)
	}
}

func TestDeadlineAnswers504(t *testing.T) {
	s, hs := testServer(t, Config{Timeout: 20 * time.Millisecond})
	stall(s, "two", 4)
	body := []byte(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"b","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`)
	res := do(t, "POST", hs.URL+"/v2/models/two/infer", nil, body)
	if res.code != http.StatusGatewayTimeout || !strings.Contains(errorOf(res.body), "deadline") {
		t.Fatalf("%d %s, want 504", res.code, res.body)
	}
}

func TestPanicInRunKeepsServing(t *testing.T) {
	s, err := New(Config{}, Model{Name: "two", Program: twoProgram(t)})
	if err != nil {
		t.Fatal(err)
	}
	var boom atomic.Bool
	e := s.models["two"]
	run := e.run
	e.run = func(ctx context.Context, ins []*ir.Tensor) ([]*ir.Tensor, error) {
		if boom.Load() {
			panic("boom")
		}
		return run(ctx, ins)
	}
	hs := httptest.NewServer(s.Handler())
	defer func() { hs.Close(); s.Close() }()
	body := []byte(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"b","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`)
	boom.Store(true)
	res := do(t, "POST", hs.URL+"/v2/models/two/infer", nil, body)
	if res.code != http.StatusInternalServerError || errorOf(res.body) == "" {
		t.Fatalf("%d %s, want 500 with an error", res.code, res.body)
	}
	boom.Store(false)
	if res := do(t, "POST", hs.URL+"/v2/models/two/infer", nil, body); res.code != 200 {
		t.Fatalf("after the panic: %d %s", res.code, res.body)
	}
}

func TestPanicInHandlerAnswers500(t *testing.T) {
	s, _ := testServer(t, Config{})
	h := s.recovered(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || errorOf(rec.Body.Bytes()) == "" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestServeDrains ends Serve's context while a request runs: the request
// still gets its answer and Serve returns nil.
func TestServeDrains(t *testing.T) {
	s, err := New(Config{}, Model{Name: "two", Program: twoProgram(t)})
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	e := s.models["two"]
	run := e.run
	e.run = func(ctx context.Context, ins []*ir.Tensor) ([]*ir.Tensor, error) {
		close(started)
		<-release
		return run(ctx, ins)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	answered := make(chan error, 1)
	go func() {
		body := []byte(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"b","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`)
		_, err := post("http://"+ln.Addr().String()+"/v2/models/two/infer", nil, body)
		answered <- err
	}()
	<-started
	cancel()
	for !s.draining.Load() {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-answered; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	s.Close()
}

func TestMetrics(t *testing.T) {
	s, hs := testServer(t, Config{})
	r := rand.New(rand.NewPCG(1, 1))
	if err := oneRequest(t, s, hs.URL, r, 1); err != nil {
		t.Fatal(err)
	}
	if err := oneRequest(t, s, hs.URL, r, 2); err != nil {
		t.Fatal(err)
	}
	do(t, "POST", hs.URL+"/v2/models/two/infer", nil, []byte("{"))
	res := do(t, "GET", hs.URL+"/metrics", nil, nil)
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.body)
	}
	for _, want := range []string{
		`kconv_requests_total{code="200",model="two",protocol="v2"} 1`,
		`kconv_requests_total{code="400",model="two",protocol="v2"} 1`,
		`kconv_requests_total{code="200",model="cnn",protocol="tfserving"} 1`,
		`kconv_request_duration_seconds_count{model="two",protocol="v2"} 2`,
		`kconv_batch_size_count{model="two"} 1`,
		`kconv_queue_depth{model="cnn"} 0`,
		`kconv_queue_depth{model="two"} 0`,
	} {
		if !strings.Contains(string(res.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
