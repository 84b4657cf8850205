// Command loadtest measures kconv serve on loopback: N concurrent clients
// send KServe v2 inference requests for D seconds (or until a request
// count), then it prints throughput, latency percentiles (the client's and
// the in-process server's own), errors and lost requests. It stops by
// itself and talks only to loopback addresses.
//
// By default it serves MODEL itself, in this process, on 127.0.0.1:0 with
// the given batching options, and times Program.Run in the same process on
// the batch sizes the server formed, for comparison (rows/s and rows per
// CPU-second). With --url it loads a running server instead.
//
// --floors runs every floor of issue 13 in turn and prints a summary (see
// floors and docs/serving.md, "Load test"):
//
//	go run ./bench/loadtest --model importer/keras/testdata/cifar_small.keras --floors --duration 30s --max-batch 32
//	go run ./bench/loadtest --model importer/keras/testdata/cifar_small.keras --clients 32 --duration 30s --max-batch 32 --half
//	go run ./bench/loadtest --url http://127.0.0.1:8080 --name cifar_small --clients 32 --duration 10s
//
// --rate R sends R requests per second in all (open loop) instead of each
// client sending its next request as soon as the last is answered; use it
// to measure latency below saturation. Requests go through a lean HTTP/1.1
// client (client.go); --std-client uses net/http's.
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
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	half                bool
	null                bool
	floors              bool
	floorRows           int
	segments            int
	stdClient           bool
	threads             int
	cfg                 serve.Config
	prof                *loadProfile // --cpuprofile: the first load run
	sameProcess         bool         // clients in this process (else a child, see driveChild)
	child               bool         // this is the child: drive and print stats
	stallDump           string       // in-process server: goroutine dump file for a stalled request
	heapFloor           int          // in-process server: MiB of never-touched heap (see kconv serve)
}

// loadProfile writes a CPU profile of the first load run only (not the
// model loading nor the in-process timing that follows each run).
type loadProfile struct {
	path string
	done bool
}

// start begins the profile unless it was taken already; stop ends it.
func (p *loadProfile) start() (stop func()) {
	if p == nil || p.done || p.path == "" {
		return func() {}
	}
	p.done = true
	f, err := os.Create(p.path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: --cpuprofile: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
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
	flag.BoolVar(&o.half, "half", false, "after the closed-loop run, run open loop at half the throughput it measured (the latency floor: p99 ≤ 3× p50)")
	flag.BoolVar(&o.floors, "floors", false, "in-process server: run every floor of issue 13 in turn (1 row/request binary closed loop, then open loop at half its throughput; 1 row JSON and --floor-rows rows binary, closed loop; each for --duration) and print a summary")
	flag.IntVar(&o.floorRows, "floor-rows", 0, "--floors: rows per request of the multi-row run (default --max-batch)")
	flag.IntVar(&o.segments, "segments", 3, "--floors: split each closed-loop run into this many turns of load (--duration/N each) and in-process timing; a throughput ratio is the median of the turns'")
	flag.BoolVar(&o.sameProcess, "same-process-client", false, "in-process server: run the clients in this process too, not in a child process (see child.go)")
	flag.StringVar(&o.stallDump, "stall-dump", "", "in-process server: when a request's handler has run for 1 s, write the server's goroutines to FILE (once)")
	flag.IntVar(&o.heapFloor, "heap-floor", 32, "in-process server: hold this many MiB of never-touched heap, which raises the collector's heap goal, as kconv serve does (0: none)")
	flag.BoolVar(&o.child, "drive-child", false, "internal: run as the client process of an in-process server's load test")
	flag.BoolVar(&o.stdClient, "std-client", false, "send with net/http's client instead of the lean HTTP/1.1 client (see client.go)")
	flag.BoolVar(&o.null, "null", false, "in-process server: answer infer without running the model (measures HTTP and the machine alone)")
	flag.BoolVar(&o.binary, "binary", true, "send and receive tensors with the binary data extension (false: JSON)")
	flag.IntVar(&o.threads, "threads", 0, "threads per model run (in-process server; 0: as kconv serve chooses, serve.Parallelism)")
	flag.IntVar(&o.cfg.MaxBatch, "max-batch", 32, "in-process server: batch up to this many rows")
	flag.DurationVar(&o.cfg.BatchTimeout, "batch-timeout", time.Millisecond, "in-process server: batch timeout")
	flag.IntVar(&o.cfg.MaxQueue, "max-queue", 256, "in-process server: queue bound per model")
	flag.IntVar(&o.cfg.Workers, "workers", 0, "in-process server: batches run at once (0: as kconv serve chooses, serve.Parallelism)")
	flag.DurationVar(&o.cfg.Timeout, "timeout", 30*time.Second, "in-process server: per-request deadline")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the first load run (client and in-process server) to FILE")
	memprofile := flag.String("memprofile", "", "write an allocation profile of the whole run (client and in-process server) to FILE")
	flag.Parse()
	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			if f, err := os.Create(*memprofile); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	o.prof = &loadProfile{path: *cpuprofile}
	if o.child {
		if err := loopbackOnly(o.target); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
			os.Exit(1)
		}
		if err := childMain(o); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest (client process): %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
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
	var timer *serverTimer
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
		// Threads and workers as kconv serve chooses them unless given.
		var threads int
		threads, o.cfg.Workers = serve.Parallelism(ir.FLOPs(m), runtime.GOMAXPROCS(0), o.threads, o.cfg.Workers)
		prog, err = exec.Compile(m, exec.Options{Threads: threads})
		if err != nil {
			return err
		}
		s, err := serve.New(o.cfg, serve.Model{Name: o.name, Program: prog})
		if err != nil {
			return err
		}
		// The collector as kconv serve runs it (GOGC=50, cmd/kconv/main.go)
		// unless GOGC is set: this process is the server.
		gogc := os.Getenv("GOGC")
		if gogc == "" {
			gogc = "50"
			debug.SetGCPercent(50)
		}
		fmt.Printf("GOGC=%s in the server\n", gogc)
		if o.heapFloor > 0 {
			// As kconv serve does (cmd/kconv/serve.go): a pointer-free
			// block never touched, which raises the collector's heap goal.
			floor := make([]byte, o.heapFloor<<20)
			defer runtime.KeepAlive(floor)
			fmt.Printf("heap floor: %d MiB\n", o.heapFloor)
		}
		srv = s
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		// The Server's handler behind a plain http.Server (Serve adds only
		// timeouts and draining), timed per infer request: the server-side
		// latency, from the handler's start to its return, beside the
		// client's.
		h := s.Handler()
		if o.null {
			// Infer answers at once without the model: the HTTP ceiling and
			// the machine's latency tail.
			h = nullInfer(h)
		}
		timer = &serverTimer{stallDump: o.stallDump, stallAfter: time.Second}
		hs := &http.Server{Handler: timer.wrap(h)}
		done := make(chan struct{})
		go func() { hs.Serve(ln); close(done) }()
		defer func() {
			hs.Close()
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
	if o.floors {
		if prog == nil || o.null {
			return errors.New("--floors needs an in-process server (--model, without --null)")
		}
		return floors(&target{base, srv, timer}, prog, o)
	}
	// Program.Run at --max-batch is timed before the load too: the machine
	// is shared, and its speed before and after brackets the run.
	pre := 0.0
	if prog != nil && !o.null {
		pre = runRate(prog, o.cfg.MaxBatch, o.cfg.Workers)
	}
	res, err := measure(&target{base, srv, timer}, prog, o, pre)
	if err != nil {
		return err
	}
	errs, lost := res.st.errors, res.st.lost
	if o.half && o.rate == 0 {
		// Half the saturation rate just measured, open loop.
		o.rate = res.reqRate / 2
		fmt.Printf("\nopen loop at half the saturation rate (%.0f req/s):\n", o.rate)
		res2, err := measure(&target{base, srv, timer}, nil, o, 0)
		if err != nil {
			return err
		}
		fmt.Printf("p99/p50 at half saturation: %.2f\n", res2.tail)
		errs, lost = errs+res2.st.errors, lost+res2.st.lost
	}
	if errs > 0 || lost > 0 {
		return fmt.Errorf("%d errors, %d lost requests", errs, lost)
	}
	return nil
}

// result is one measured run.
type result struct {
	label     string
	st        *stats
	reqRate   float64 // requests/s answered
	rowRate   float64 // rows/s answered
	meanRows  float64 // rows per model run the server formed (0: unknown)
	formed    float64 // in-process Program.Run rows/s on the batches formed (0: not timed)
	ratio     float64 // rowRate / formed
	rowsCPU   float64 // rows answered per CPU-second of this process (server and client)
	formedCPU float64 // in-process rows per CPU-second on the batches formed
	cpuRatio  float64 // rowsCPU / formedCPU
	// rows per CPU-second of the server alone (clients in a child process)
	// and that over formedCPU (0: unknown)
	rowsServerCPU, serverCPURatio float64
	turns                         []float64     // each turn's ratio (combineTurns)
	tail                          float64       // p99 / p50
	cores                         float64       // CPU of server and client over the run's wall time (0: unknown)
	srv50                         time.Duration // server-side latency percentiles (0: unknown)
	srv99                         time.Duration
}

// measure drives one run with o's rows, format and rate and, for an
// in-process server, reads the batches it formed and (prog != nil) times
// Program.Run on them.
// target is the server under load: its URL and, when it runs in this
// process, the Server and its handler's timer.
type target struct {
	base  string
	srv   *serve.Server
	timer *serverTimer
}

func measure(t *target, prog *exec.Program, o options, pre float64) (*result, error) {
	base, srv := t.base, t.srv
	body, header, err := request(base, o)
	if err != nil {
		return nil, err
	}
	var before map[int]int
	if srv != nil {
		before = batchSizes(srv)
	}
	var srv50, srv99 time.Duration
	if t.timer != nil {
		t.timer.reset()
	}
	var st *stats
	var serverCPU time.Duration // this process's CPU with the clients in a child
	var gc0 runtime.MemStats
	runtime.ReadMemStats(&gc0)
	if srv != nil && !o.sameProcess {
		stop := o.prof.start() // the server alone
		st, serverCPU, err = driveChild(base, o)
		stop()
		if err != nil {
			return nil, err
		}
	} else {
		st = drive(base, "/v2/models/"+o.name+"/infer", body, header, o)
	}
	st.print(o)
	var gc1 runtime.MemStats
	runtime.ReadMemStats(&gc1)
	fmt.Printf("this process's collector: %d cycles, %.2f ms of stop-the-world pauses, %.0f bytes allocated per request\n",
		gc1.NumGC-gc0.NumGC, float64(gc1.PauseTotalNs-gc0.PauseTotalNs)/1e6, float64(gc1.TotalAlloc-gc0.TotalAlloc)/float64(max(st.sent, 1)))
	if t.timer != nil {
		lat := t.timer.take()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Printf("server-side latency (handler start to return, %d requests): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			len(lat), ms(pct(lat, 0.5)), ms(pct(lat, 0.9)), ms(pct(lat, 0.99)), ms(pct(lat, 1)))
		srv50, srv99 = pct(lat, 0.5), pct(lat, 0.99)
	}
	r := &result{st: st, srv50: srv50, srv99: srv99}
	s := st.elapsed.Seconds()
	r.reqRate = float64(st.ok) / s
	r.rowRate = float64(st.ok*o.rows) / s
	switch {
	case serverCPU > 0:
		r.cores = (serverCPU + st.cpu).Seconds() / s
		r.rowsCPU = float64(st.ok*o.rows) / (serverCPU + st.cpu).Seconds()
		r.rowsServerCPU = float64(st.ok*o.rows) / serverCPU.Seconds()
		fmt.Printf("CPU: %.2f cores on average: server %.2f (this process), client %.2f (the child process); per request: server %.1f µs, client %.1f µs\n",
			(serverCPU+st.cpu).Seconds()/s, serverCPU.Seconds()/s, st.cpu.Seconds()/s,
			float64(serverCPU.Microseconds())/float64(max(st.ok, 1)), float64(st.cpu.Microseconds())/float64(max(st.ok, 1)))
	case st.cpu > 0:
		r.rowsCPU = float64(st.ok*o.rows) / st.cpu.Seconds()
		who := "server and client"
		if srv == nil {
			who = "the client only: the server runs elsewhere"
		}
		fmt.Printf("CPU: %.2f cores of this process on average (%s)\n", st.cpu.Seconds()/s, who)
	}
	r.tail = float64(pct(st.lat, 0.99)) / float64(max(pct(st.lat, 0.5), 1))
	if srv != nil {
		hist := histDelta(batchSizes(srv), before)
		r.meanRows = printHist(hist)
		if prog != nil {
			r.formed, r.formedCPU = inProcess(prog, o, r.rowRate, hist, pre)
			if r.formed > 0 {
				r.ratio = r.rowRate / r.formed
			}
			if r.formedCPU > 0 && r.rowsCPU > 0 {
				r.cpuRatio = r.rowsCPU / r.formedCPU
				fmt.Printf("rows per CPU-second: served %.1f (server and client), %.2f of in-process\n", r.rowsCPU, r.cpuRatio)
				if r.rowsServerCPU > 0 {
					r.serverCPURatio = r.rowsServerCPU / r.formedCPU
					fmt.Printf("rows per server CPU-second: %.1f, %.2f of in-process\n", r.rowsServerCPU, r.serverCPURatio)
				}
			}
		}
	}
	return r, nil
}

// floors runs every floor of issue 13 against the in-process server and
// prints a summary: the throughput floor (served rows/s ≥ 0.9× in-process
// Program.Run rows/s on the batches the server formed) for 1-row binary,
// 1-row JSON and multi-row binary requests, each closed loop; the latency
// floor (p99 ≤ 3× p50) open loop at half the 1-row binary run's
// saturation throughput, right after that run; and 0 errors, 0 lost
// requests in all of them.
func floors(t *target, prog *exec.Program, o options) error {
	rows := o.floorRows
	if rows <= 0 {
		rows = o.cfg.MaxBatch
	}
	pre := runRate(prog, o.cfg.MaxBatch, o.cfg.Workers)
	fmt.Printf("in-process Program.Run at batch %d before the load: %.1f rows/s\n", o.cfg.MaxBatch, pre)
	runs := []struct {
		label  string
		rows   int
		binary bool
	}{
		{"1 row/request, binary", 1, true},
		{"1 row/request, JSON", 1, false},
		{fmt.Sprintf("%d rows/request, binary", rows), rows, true},
	}
	var results []*result
	var half *result
	seg := max(o.segments, 1)
	for i, c := range runs {
		oc := o
		oc.rows, oc.binary, oc.rate = c.rows, c.binary, 0
		oc.duration = max(o.duration/time.Duration(seg), time.Second)
		var turns []*result
		for k := range seg {
			fmt.Printf("\n== %s, closed loop, turn %d of %d (load average %s) ==\n", c.label, k+1, seg, loadAverage())
			r, err := measure(t, prog, oc, pre)
			if err != nil {
				return err
			}
			turns = append(turns, r)
		}
		r := combineTurns(turns)
		r.label = c.label
		results = append(results, r)
		if i > 0 {
			continue
		}
		// Half saturation right after the saturation run, before the
		// machine's speed (shared) drifts further.
		oh := oc
		oh.rate, oh.duration = r.reqRate/2, o.duration
		fmt.Printf("\n== %s, open loop at half the saturation rate (%.0f req/s) (load average %s) ==\n", c.label, oh.rate, loadAverage())
		var err error
		if half, err = measure(t, nil, oh, 0); err != nil {
			return err
		}
		half.label = fmt.Sprintf("%s, open loop at %.0f req/s", c.label, oh.rate)
	}
	fmt.Printf("\nload average at the end: %s\n", loadAverage())

	fmt.Printf("\n== floors (issue 13) ==\n")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT MET"
	}
	errs, lost := half.st.errors, half.st.lost
	for _, r := range results {
		errs, lost = errs+r.st.errors, lost+r.st.lost
		fmt.Printf("throughput, %-26s %8.1f rows/s served, %8.1f rows/s in-process on the batches formed (mean %.1f rows): %.2f× (floor 0.9): %s\n",
			r.label+":", r.rowRate, r.formed, r.meanRows, r.ratio, verdict(r.ratio >= 0.9))
		if len(r.turns) > 1 {
			fmt.Printf("  median of %d turns of load and in-process timing: %s\n", len(r.turns), fmtRatios(r.turns))
		}
		fmt.Printf("  per CPU-second (less sensitive to a shared machine): %.1f rows served (server and client), %.1f in-process: %.2f×\n", r.rowsCPU, r.formedCPU, r.cpuRatio)
		if r.serverCPURatio > 0 {
			fmt.Printf("  per server CPU-second (the client's CPU, in its own process, left out): %.1f rows served, %.1f in-process: %.2f×\n", r.rowsServerCPU, r.formedCPU, r.serverCPURatio)
		}
	}
	fmt.Printf("latency, %s: p50 %.2f ms, p99 %.2f ms from the scheduled send: p99/p50 %.2f (floor 3): %s\n",
		half.label, ms(pct(half.st.lat, 0.5)), ms(pct(half.st.lat, 0.99)), half.tail, verdict(half.tail <= 3))
	fmt.Printf("  server side of the same requests (handler start to return): p50 %.3f ms, p99 %.3f ms\n", ms(half.srv50), ms(half.srv99))
	if sat := results[0]; sat.cores > 0 && half.cores > 0 {
		// Below saturation a request costs the server and the paced client
		// more CPU than at saturation (docs/serving.md): half the rate is
		// not half the cores.
		fmt.Printf("  CPU (server and client): %.2f cores at half the rate, %.2f saturated: %.0f%% of the saturated run's\n", half.cores, sat.cores, 100*half.cores/sat.cores)
	}
	fmt.Printf("errors and lost requests, every run: %d errors, %d lost, %d arrivals dropped: %s\n", errs, lost, half.st.dropped, verdict(errs == 0 && lost == 0 && half.st.dropped == 0))
	if errs > 0 || lost > 0 {
		return fmt.Errorf("%d errors, %d lost requests", errs, lost)
	}
	return nil
}

// combineTurns makes one result of a closed-loop run measured in turns,
// each turn load for a while then in-process timing on the batches it
// formed (the machine is shared and its speed drifts over tens of
// seconds: a reference timed only after the whole run compared the run
// with another moment's machine; ResNet50, 1 row/request, Xeon: 0.83×
// against a reference timed before the load, 0.93× against one after).
// Rates are the turns' means; ratios their medians; errors and lost
// requests add up.
func combineTurns(turns []*result) *result {
	if len(turns) == 1 {
		return turns[0]
	}
	median := func(f func(*result) float64) float64 {
		v := make([]float64, len(turns))
		for i, r := range turns {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	mean := func(f func(*result) float64) float64 {
		var s float64
		for _, r := range turns {
			s += f(r)
		}
		return s / float64(len(turns))
	}
	st := *turns[0].st
	for _, r := range turns[1:] {
		st.errors += r.st.errors
		st.lost += r.st.lost
		st.ok += r.st.ok
		st.sent += r.st.sent
	}
	c := &result{st: &st, srv50: turns[0].srv50, srv99: turns[0].srv99, tail: turns[0].tail}
	c.reqRate = mean(func(r *result) float64 { return r.reqRate })
	c.rowRate = mean(func(r *result) float64 { return r.rowRate })
	c.meanRows = mean(func(r *result) float64 { return r.meanRows })
	c.formed = mean(func(r *result) float64 { return r.formed })
	c.rowsCPU = mean(func(r *result) float64 { return r.rowsCPU })
	c.formedCPU = mean(func(r *result) float64 { return r.formedCPU })
	c.rowsServerCPU = mean(func(r *result) float64 { return r.rowsServerCPU })
	c.cores = mean(func(r *result) float64 { return r.cores })
	c.ratio = median(func(r *result) float64 { return r.ratio })
	c.cpuRatio = median(func(r *result) float64 { return r.cpuRatio })
	c.serverCPURatio = median(func(r *result) float64 { return r.serverCPURatio })
	for _, r := range turns {
		c.turns = append(c.turns, r.ratio)
	}
	return c
}

// fmtRatios prints ratios as "0.91, 0.88, 0.93".
func fmtRatios(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, ", ")
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
	dropped                int // open loop: arrivals that found every client busy
	codes                  map[string]int
	lat                    []time.Duration
	elapsed                time.Duration
	cpu                    time.Duration // this process's CPU time during the run (server and client)
}

// drive runs the clients until the duration passes or the request count is
// reached.
func drive(base, path string, body []byte, header http.Header, o options) *stats {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var (
		mu    sync.Mutex
		st    = &stats{codes: map[string]int{}}
		count int
	)
	// Each client sends with its own connection.
	timeout := o.cfg.Timeout + 10*time.Second
	var send func(client int) (string, error)
	if o.stdClient {
		tr := &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients}
		client := &http.Client{Transport: tr, Timeout: timeout}
		defer tr.CloseIdleConnections()
		send = func(int) (string, error) {
			req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
			req.Header = header.Clone()
			res, err := client.Do(req)
			if err != nil {
				return "", err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return strconv.Itoa(res.StatusCode), nil
		}
	} else {
		u, _ := url.Parse(base)
		h := map[string]string{}
		for k := range header {
			h[k] = header.Get(k)
		}
		raw := rawRequest(u.Host, path, h, body)
		conns := make([]rawConn, o.clients)
		for i := range conns {
			conns[i].addr = u.Host
		}
		defer func() {
			for i := range conns {
				conns[i].close()
			}
		}()
		send = func(client int) (string, error) {
			code, err := conns[client].do(raw, timeout)
			if err != nil {
				return "", err
			}
			return strconv.Itoa(code), nil
		}
	}

	// Open loop: arrivals are scheduled at the rate into a queue that a
	// free client takes from; each request's latency counts from its
	// scheduled arrival, so time spent waiting for a free client (the
	// server was slow) counts too (no coordinated omission). The queue
	// holds far more than half a saturated second of arrivals; one that
	// finds it full is counted as dropped.
	var tokens chan time.Time
	var dropped int
	if o.rate > 0 {
		tokens = make(chan time.Time, 1<<16)
		go func() {
			// Arrival k is due at start + k/rate; a late wake-up (the
			// machine is shared) emits every arrival due by then, each with
			// its own scheduled time, so the rate is kept (a time.Ticker
			// would drop the ticks a slow receiver misses).
			//
			// The pacer sleeps in nanosleep on its own thread, not on a Go
			// timer: an idle Go runtime waits for timers in epoll with
			// millisecond granularity, so at thousands of arrivals a
			// second a timer-paced loop woke ~1 ms late and sent the
			// arrivals of each millisecond in one burst, charging the
			// server with the pacer's lateness (up to 1 ms on every
			// request) and with the queueing the bursts caused.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			interval := time.Duration(float64(time.Second) / o.rate)
			t0 := time.Now()
			for k := 1; ; k++ {
				due := t0.Add(time.Duration(k) * interval)
				for d := time.Until(due); d > 0; d = time.Until(due) {
					if ctx.Err() != nil {
						return
					}
					ts := syscall.NsecToTimespec(int64(min(d, 10*time.Millisecond)))
					syscall.Nanosleep(&ts, nil)
				}
				if ctx.Err() != nil {
					return
				}
				select {
				case tokens <- due:
				default:
					mu.Lock()
					dropped++
					mu.Unlock()
				}
			}
		}()
	}
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
	stopProfile := o.prof.start()
	defer stopProfile()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var t0 time.Time
				if tokens != nil {
					select {
					case t0 = <-tokens:
					case <-ctx.Done():
						return
					}
				}
				if !take() {
					return
				}
				if t0.IsZero() {
					t0 = time.Now()
				}
				code, err := send(c)
				if err != nil {
					code = "transport error"
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
	st.elapsed, st.cpu = time.Since(start), cpuTime()-cpu0
	st.lost = st.sent - st.ok - st.errors
	mu.Lock()
	st.dropped = dropped
	mu.Unlock()
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
	if o.rate > 0 {
		fmt.Printf(", %d arrivals dropped (all clients busy)", st.dropped)
	}
	if st.errors > 0 {
		fmt.Printf(" %v", st.codes)
	}
	fmt.Println()
	s := st.elapsed.Seconds()
	fmt.Printf("throughput: %.1f req/s, %.1f rows/s\n", float64(st.ok)/s, float64(st.ok*o.rows)/s)
	fmt.Printf("latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		ms(pct(st.lat, 0.5)), ms(pct(st.lat, 0.9)), ms(pct(st.lat, 0.99)), ms(pct(st.lat, 1)))
	fmt.Printf("latency histogram: %s\n", histogram(st.lat))
}

// histogram renders sorted latencies as counts per power-of-two bucket of
// milliseconds (where the tail sits: a mode near 10 ms, a TCP backoff).
func histogram(sorted []time.Duration) string {
	var parts []string
	i := 0
	for le := 125 * time.Microsecond; i < len(sorted); le *= 2 {
		n := 0
		for i < len(sorted) && sorted[i] <= le {
			i, n = i+1, n+1
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("≤%g ms: %d", ms(le), n))
		}
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// loadAverage is the machine's 1, 5 and 15 minute load averages (Linux),
// printed because the machine may be shared.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuTime is the CPU time (user and system, every thread) this process has
// used. The machine may be shared: rows per CPU-second compare the served
// and in-process runs by the work they cost, whatever share of the cores
// the process got.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// inProcess times Program.Run in this process at each batch size the
// server formed (hist: runs by rows) and at --max-batch, and prints the
// served throughput relative to in-process Run doing the same batches:
// Σ runs·rows / Σ runs·time(rows). Sizes are timed in turns (round robin)
// for about 4 s so that a change in the machine's load hits them alike.
// With --workers W > 1 each timed run is W runs of the size at once (see
// runGroup), as the server runs W batches at once: the reference then
// uses the cores the server's configuration uses.
func inProcess(p *exec.Program, o options, served float64, hist map[int]int, pre float64) (formed, formedCPU float64) {
	w := max(o.cfg.Workers, 1)
	sizes := []int{}
	for b := range hist {
		sizes = append(sizes, b)
	}
	if hist[o.cfg.MaxBatch] == 0 {
		sizes = append(sizes, o.cfg.MaxBatch)
	}
	sort.Ints(sizes)
	inputs := map[int][]*ir.Tensor{}
	reps := map[int]int{} // runs in a row per timed group
	m := p.Model()
	ctx := context.Background()
	for _, rows := range sizes {
		var ins []*ir.Tensor
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
		t0 := time.Now()
		if err := runGroup(ctx, p, ins, w, 1); err != nil { // warm up
			fmt.Printf("in-process Run at batch %d: %v\n", rows, err)
			return 0, 0
		}
		reps[rows] = groupReps(time.Since(t0))
		inputs[rows] = ins
	}
	times := map[int][]time.Duration{}
	cpu := map[int]time.Duration{} // CPU time of all runs of a size
	start := time.Now()
	for round := 0; round < 3 || time.Since(start) < 4*time.Second; round++ {
		if round >= 1000 {
			break
		}
		for _, rows := range sizes {
			t0, c0 := time.Now(), cpuTime()
			if err := runGroup(ctx, p, inputs[rows], w, reps[rows]); err != nil {
				fmt.Printf("in-process Run: %v\n", err)
				return 0, 0
			}
			// Per run of each goroutine: the group's time and CPU over its
			// runs in a row.
			times[rows] = append(times[rows], time.Since(t0)/time.Duration(reps[rows]))
			cpu[rows] += (cpuTime() - c0) / time.Duration(reps[rows])
		}
	}
	median := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2].Seconds()
	}
	var rows, secs, cpuSecs float64
	for b, n := range hist {
		// A timed group is w runs: a run of b rows takes 1/w of its time
		// and CPU.
		rows += float64(n * b)
		secs += float64(n) * median(times[b]) / float64(w)
		cpuSecs += float64(n) * cpu[b].Seconds() / float64(len(times[b])*w)
	}
	mb := o.cfg.MaxBatch
	atMax := float64(mb*w) / median(times[mb])
	fmt.Printf("in-process Program.Run at batch %d: %.1f rows/s (served/that: %.2f)\n", mb, atMax, served/atMax)
	if pre > 0 {
		fmt.Printf("  before the load: %.1f rows/s (served/that: %.2f)\n", pre, served/pre)
	}
	if secs <= 0 {
		return 0, 0
	}
	formed = rows / secs
	fmt.Printf("in-process Program.Run on the batches the server formed: %.1f rows/s; served/in-process: %.2f", formed, served/formed)
	if pre > 0 {
		// The same batches at the machine's speed before the load.
		fmt.Printf(" (%.2f at the speed measured before the load)", served/(formed*pre/atMax))
	}
	fmt.Println()
	if cpuSecs > 0 {
		formedCPU = rows / cpuSecs
		fmt.Printf("rows per CPU-second: in-process on the batches formed %.1f\n", formedCPU)
	}
	return formed, formedCPU
}

// batchSizes returns the server's batch-size histogram: runs by rows
// (exact when --max-batch ≤ 64, whose buckets are every size).
func batchSizes(s *serve.Server) map[int]int {
	out := map[int]int{}
	mfs, err := s.Registry().Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != "kconv_batch_size" {
			continue
		}
		for _, m := range mf.GetMetric() {
			prev := uint64(0)
			for _, b := range m.GetHistogram().GetBucket() {
				if n := b.GetCumulativeCount() - prev; n > 0 {
					out[int(b.GetUpperBound())] += int(n)
				}
				prev = b.GetCumulativeCount()
			}
		}
	}
	return out
}

func histDelta(after, before map[int]int) map[int]int {
	out := map[int]int{}
	for b, n := range after {
		if d := n - before[b]; d > 0 {
			out[b] = d
		}
	}
	return out
}

// printHist prints runs by batch size and returns the mean rows per run.
func printHist(hist map[int]int) float64 {
	var sizes []int
	runs, rows := 0, 0
	for b, n := range hist {
		sizes = append(sizes, b)
		runs += n
		rows += n * b
	}
	if runs == 0 {
		return 0
	}
	sort.Ints(sizes)
	var parts []string
	for _, b := range sizes {
		parts = append(parts, fmt.Sprintf("%d:%d", b, hist[b]))
	}
	fmt.Printf("batches: %d runs, %.1f rows per run on average; rows:runs %s\n", runs, float64(rows)/float64(runs), strings.Join(parts, " "))
	return float64(rows) / float64(runs)
}

// serverTimer records the duration of every infer request the in-process
// server handles.
type serverTimer struct {
	mu  sync.Mutex
	lat []time.Duration
	// stallDump, when set, receives the server's goroutines (once) when a
	// request's handler has run for stallAfter: where a stalled request
	// waits (reading its body from the connection, queued for the model,
	// writing the response).
	stallDump  string
	stallAfter time.Duration
	dumped     sync.Once
}

// dump writes every goroutine's stack to t.stallDump.
func (t *serverTimer) dump() {
	t.dumped.Do(func() {
		f, err := os.Create(t.stallDump)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: --stall-dump: %v\n", err)
			return
		}
		defer f.Close()
		fmt.Fprintf(f, "a request's handler ran for %v at %s; the server's goroutines:\n", t.stallAfter, time.Now().Format(time.RFC3339Nano))
		pprof.Lookup("goroutine").WriteTo(f, 1)
		fmt.Fprintf(os.Stderr, "loadtest: a handler ran for %v: goroutines written to %s\n", t.stallAfter, t.stallDump)
	})
}

func (t *serverTimer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/infer") {
			h.ServeHTTP(w, r)
			return
		}
		t0 := time.Now()
		if t.stallDump != "" {
			stalled := time.AfterFunc(t.stallAfter, t.dump)
			defer stalled.Stop()
		}
		h.ServeHTTP(w, r)
		d := time.Since(t0)
		t.mu.Lock()
		t.lat = append(t.lat, d)
		t.mu.Unlock()
	})
}

func (t *serverTimer) reset() {
	t.mu.Lock()
	t.lat = t.lat[:0]
	t.mu.Unlock()
}

// take returns the durations recorded since reset.
func (t *serverTimer) take() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Duration(nil), t.lat...)
}

// nullInfer answers POST …/infer by reading the body and sending a fixed
// response the size of a cifar_small binary answer, without the model;
// everything else goes to h.
func nullInfer(h http.Handler) http.Handler {
	js := []byte(`{"model_name":"null","model_version":"1","outputs":[{"name":"out","datatype":"FP32","shape":[1,10],"parameters":{"binary_data_size":40}}]}`)
	resp := append(js, make([]byte, 40)...)
	hdr := strconv.Itoa(len(js))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/infer") {
			h.ServeHTTP(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Inference-Header-Content-Length", hdr)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
		w.Write(resp)
	})
}

// runGroup runs p on ins n times in a row on each of w goroutines at
// once (Program.Run is safe for concurrent use and does not write its
// inputs), as a server with w workers runs w batches at once; n runs in a
// row keep the goroutines' start and wake-up out of the timing of short
// runs. The calling goroutine is one of the w.
func runGroup(ctx context.Context, p *exec.Program, ins []*ir.Tensor, w, n int) error {
	loop := func() error {
		for range n {
			if _, err := p.Run(ctx, ins); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make(chan error, w)
	for range w - 1 {
		go func() { errs <- loop() }()
	}
	first := loop()
	for range w - 1 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// groupReps is how many runs in a row runGroup should make so that a
// group lasts about 2 ms, given one group of single runs took d.
func groupReps(d time.Duration) int {
	return min(max(int(2*time.Millisecond/max(d, 1)), 1), 200)
}

// runRate times Program.Run at rows rows, w runs at once (runGroup), for
// about 4 s (at least 3 groups) and returns rows/s from the median group.
func runRate(p *exec.Program, rows, w int) float64 {
	w = max(w, 1)
	var ins []*ir.Tensor
	for _, tt := range p.Model().InputTypes() {
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
	t0 := time.Now()
	if err := runGroup(ctx, p, ins, w, 1); err != nil {
		return 0
	}
	n := groupReps(time.Since(t0))
	var d []time.Duration
	start := time.Now()
	for len(d) < 3 || (time.Since(start) < 4*time.Second && len(d) < 1000) {
		t0 := time.Now()
		if err := runGroup(ctx, p, ins, w, n); err != nil {
			return 0
		}
		d = append(d, time.Since(t0)/time.Duration(n))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(rows*w) / d[len(d)/2].Seconds()
}
