// Command loadtest measures kconv serve on loopback: N concurrent clients
// send KServe v2 inference requests for D seconds (or until a request
// count), then it prints throughput, latency percentiles, errors and lost
// requests. It stops by itself and talks only to 127.0.0.1.
//
// By default it serves MODEL itself, in this process, on 127.0.0.1:0 with
// the given batching options, and also times Program.Run in-process at
// --max-batch rows for comparison. With --url it loads a running server
// instead (loopback addresses only).
//
//	go run ./bench/loadtest --model importer/keras/testdata/cifar_small.keras --clients 32 --duration 30s --max-batch 32
//	go run ./bench/loadtest --url http://127.0.0.1:8080 --name cifar_small --clients 32 --duration 10s
//
// --rate R sends R requests per second in all (open loop) instead of each
// client sending its next request as soon as the last is answered; use it
// to measure latency below saturation.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
	"github.com/kconv/kconv/serve"
)

// Bounds that keep a run short whatever the flags say.
const (
	maxDuration = 10 * time.Minute
	maxClients  = 1024
)

type options struct {
	model, name, target string
	clients             int
	duration            time.Duration
	requests            int
	rows                int
	rate                float64
	binary              bool
	threads             int
	cfg                 serve.Config
}

func main() {
	var o options
	flag.StringVar(&o.model, "model", "", "model file to serve in this process")
	flag.StringVar(&o.target, "url", "", "load a running server at this loopback URL instead")
	flag.StringVar(&o.name, "name", "", "model name (default: the file's base name)")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long to send requests (at most 10m)")
	flag.IntVar(&o.requests, "requests", 0, "stop after this many requests (0: no count limit)")
	flag.IntVar(&o.rows, "rows", 1, "rows (batch size) per request")
	flag.Float64Var(&o.rate, "rate", 0, "requests per second in all, open loop (0: closed loop, as fast as answered)")
	flag.BoolVar(&o.binary, "binary", true, "send and receive tensors with the binary data extension (false: JSON)")
	flag.IntVar(&o.threads, "threads", 0, "threads per model run (in-process server)")
	flag.IntVar(&o.cfg.MaxBatch, "max-batch", 32, "in-process server: batch up to this many rows")
	flag.DurationVar(&o.cfg.BatchTimeout, "batch-timeout", time.Millisecond, "in-process server: batch timeout")
	flag.IntVar(&o.cfg.MaxQueue, "max-queue", 256, "in-process server: queue bound per model")
	flag.IntVar(&o.cfg.Workers, "workers", 1, "in-process server: batches run at once")
	flag.DurationVar(&o.cfg.Timeout, "timeout", 30*time.Second, "in-process server: per-request deadline")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the load run (client and in-process server) to FILE")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(o); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.clients < 1 || o.clients > maxClients {
		return fmt.Errorf("--clients must be 1…%d", maxClients)
	}
	if o.duration <= 0 || o.duration > maxDuration {
		return fmt.Errorf("--duration must be positive and at most %v", maxDuration)
	}
	if o.rows < 1 {
		return errors.New("--rows must be positive")
	}
	base := o.target
	var prog *exec.Program
	var srv *serve.Server
	if base == "" {
		if o.model == "" {
			return errors.New("give --model FILE (served in this process) or --url of a running server")
		}
		if o.name == "" {
			o.name = strings.TrimSuffix(filepath.Base(o.model), filepath.Ext(o.model))
		}
		m, err := load.Model(o.model, load.Options{})
		if err != nil {
			return err
		}
		if err := m.LoadWeights(); err != nil {
			return err
		}
		prog, err = exec.Compile(m, exec.Options{Threads: o.threads})
		if err != nil {
			return err
		}
		s, err := serve.New(o.cfg, serve.Model{Name: o.name, Program: prog})
		if err != nil {
			return err
		}
		srv = s
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, ln) }()
		defer func() {
			cancel()
			<-done
			s.Close()
		}()
		base = "http://" + ln.Addr().String()
		fmt.Printf("serving %s in-process on %s: max-batch %d, batch-timeout %v, workers %d, threads %d\n",
			o.name, base, o.cfg.MaxBatch, o.cfg.BatchTimeout, o.cfg.Workers, prog.Threads())
	} else if err := loopbackOnly(base); err != nil {
		return err
	}
	if o.name == "" {
		return errors.New("--url needs --name")
	}
	body, header, err := request(base, o)
	if err != nil {
		return err
	}
	st := drive(base+"/v2/models/"+o.name+"/infer", body, header, o)
	st.print(o)
	if srv != nil {
		batchSizes(srv)
	}
	if prog != nil {
		inProcess(prog, o, st)
	}
	if st.errors > 0 || st.lost > 0 {
		return fmt.Errorf("%d errors, %d lost requests", st.errors, st.lost)
	}
	return nil
}

func loopbackOnly(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--url %s: only loopback addresses (127.0.0.1, ::1, localhost)", target)
	}
	return nil
}

// request builds one inference request with random inputs from the model's
// metadata.
func request(base string, o options) ([]byte, http.Header, error) {
	res, err := http.Get(base + "/v2/models/" + o.name)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	var meta struct {
		Inputs []struct {
			Name  string `json:"name"`
			Shape []int  `json:"shape"`
		} `json:"inputs"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&meta); err != nil || res.StatusCode != 200 {
		return nil, nil, fmt.Errorf("model metadata: %d %v %s", res.StatusCode, err, meta.Error)
	}
	r := rand.New(rand.NewPCG(1, 1))
	type input struct {
		Name       string         `json:"name"`
		Shape      []int          `json:"shape"`
		Datatype   string         `json:"datatype"`
		Parameters map[string]any `json:"parameters,omitempty"`
		Data       []float32      `json:"data,omitempty"`
	}
	var ins []input
	var bin []byte
	for _, in := range meta.Inputs {
		shape := append([]int(nil), in.Shape...)
		if shape[0] < 0 {
			shape[0] = o.rows
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = r.Float32()
		}
		x := input{Name: in.Name, Shape: shape, Datatype: "FP32"}
		if o.binary {
			x.Parameters = map[string]any{"binary_data_size": 4 * n}
			for _, v := range data {
				bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(v))
			}
		} else {
			x.Data = data
		}
		ins = append(ins, x)
	}
	req := map[string]any{"inputs": ins}
	if o.binary {
		req["parameters"] = map[string]any{"binary_data_output": true}
	}
	js, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if o.binary {
		h.Set("Inference-Header-Content-Length", strconv.Itoa(len(js)))
		h.Set("Content-Type", "application/octet-stream")
	}
	return append(js, bin...), h, nil
}

type stats struct {
	sent, ok, errors, lost int
	codes                  map[string]int
	lat                    []time.Duration
	elapsed                time.Duration
}

// drive runs the clients until the duration passes or the request count is
// reached.
func drive(target string, body []byte, header http.Header, o options) *stats {
	tr := &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()

	var tokens chan struct{}
	if o.rate > 0 {
		tokens = make(chan struct{}, o.clients)
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					select {
					case tokens <- struct{}{}:
					default: // every client is busy: the server is saturated
					}
				}
			}
		}()
	}
	var (
		mu    sync.Mutex
		st    = &stats{codes: map[string]int{}}
		count int
	)
	take := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil || (o.requests > 0 && count >= o.requests) {
			return false
		}
		count++
		st.sent++
		return true
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if tokens != nil {
					select {
					case <-tokens:
					case <-ctx.Done():
						return
					}
				}
				if !take() {
					return
				}
				req, _ := http.NewRequest("POST", target, bytes.NewReader(body))
				req.Header = header.Clone()
				t0 := time.Now()
				res, err := client.Do(req)
				var code string
				if err != nil {
					code = "transport error"
				} else {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					code = strconv.Itoa(res.StatusCode)
				}
				d := time.Since(t0)
				mu.Lock()
				st.codes[code]++
				if code == "200" {
					st.ok++
					st.lat = append(st.lat, d)
				} else {
					st.errors++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	st.lost = st.sent - st.ok - st.errors
	return st
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(lat)))) - 1
	return lat[max(i, 0)]
}

func (st *stats) print(o options) {
	sort.Slice(st.lat, func(i, j int) bool { return st.lat[i] < st.lat[j] })
	mode := "closed loop"
	if o.rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f req/s", o.rate)
	}
	format := "JSON"
	if o.binary {
		format = "binary"
	}
	fmt.Printf("%d clients, %s, %d row(s)/request, %s tensors, %.1fs\n", o.clients, mode, o.rows, format, st.elapsed.Seconds())
	fmt.Printf("requests: %d sent, %d ok, %d errors, %d lost", st.sent, st.ok, st.errors, st.lost)
	if st.errors > 0 {
		fmt.Printf(" %v", st.codes)
	}
	fmt.Println()
	s := st.elapsed.Seconds()
	fmt.Printf("throughput: %.1f req/s, %.1f rows/s\n", float64(st.ok)/s, float64(st.ok*o.rows)/s)
	fmt.Printf("latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		ms(pct(st.lat, 0.5)), ms(pct(st.lat, 0.9)), ms(pct(st.lat, 0.99)), ms(pct(st.lat, 1)))
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// inProcess times Program.Run at --max-batch rows for a few seconds and
// prints the server's throughput relative to it.
func inProcess(p *exec.Program, o options, st *stats) {
	rows := o.cfg.MaxBatch
	var ins []*ir.Tensor
	m := p.Model()
	for _, tt := range m.InputTypes() {
		shape := tt.Shape.Clone()
		if shape[0] < 0 {
			shape[0] = rows
		}
		t := ir.NewTensor(shape, tt.Layout)
		for i := range t.Data {
			t.Data[i] = float32(i%255) / 255
		}
		ins = append(ins, t)
	}
	ctx := context.Background()
	if _, err := p.Run(ctx, ins); err != nil {
		fmt.Printf("in-process Run: %v\n", err)
		return
	}
	runs := 0
	start := time.Now()
	for time.Since(start) < 3*time.Second || runs < 3 {
		if _, err := p.Run(ctx, ins); err != nil {
			fmt.Printf("in-process Run: %v\n", err)
			return
		}
		runs++
	}
	rate := float64(runs*rows) / time.Since(start).Seconds()
	served := float64(st.ok*o.rows) / st.elapsed.Seconds()
	fmt.Printf("in-process Program.Run at batch %d: %.1f rows/s; served/in-process: %.2f\n", rows, rate, served/rate)
}

// batchSizes prints the mean rows per model run from the server's metrics.
func batchSizes(s *serve.Server) {
	mfs, err := s.Registry().Gather()
	if err != nil {
		return
	}
	for _, mf := range mfs {
		if mf.GetName() != "kconv_batch_size" {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h.GetSampleCount() > 0 {
				fmt.Printf("batches: %d runs, %.1f rows per run on average\n", h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount()))
			}
		}
	}
}
