package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kconv/kconv/ir"
)

// Config are a Server's limits and batching choices. Zero fields take the
// defaults named on each.
type Config struct {
	// MaxBatch is the most rows the batcher merges into one run (default 1:
	// no merging). Requests larger than MaxBatch run alone.
	MaxBatch int
	// BatchTimeout is how long a worker collecting a batch waits for more
	// requests while other batches of the model run and keep every core
	// busy (see batcher); a worker that would leave the model idle takes
	// only the requests already queued and runs at once, so a lone request
	// never waits (0: never wait).
	BatchTimeout time.Duration
	// MaxQueue bounds the requests waiting per model (default 64); beyond
	// it requests get 429 with Retry-After.
	MaxQueue int
	// Workers is the number of batches of one model run at once (default 1;
	// each run already uses the program's threads); Model.Workers overrides
	// it per model. Parallelism chooses threads and workers together.
	Workers int
	// MaxBodyBytes limits a request body (default 64 MiB); larger bodies get
	// 413.
	MaxBodyBytes int64
	// Timeout is each inference request's deadline, queueing included
	// (default 30 s); a request past it gets 504.
	Timeout time.Duration
	// DrainTimeout bounds how long Serve waits for in-flight requests after
	// its context ends (default 30 s).
	DrainTimeout time.Duration
	// Version is the server version /v2 reports.
	Version string
	// Log receives one line per internal error (panics); nil: discarded.
	Log *log.Logger
}

func (c *Config) defaults() {
	if c.MaxBatch < 1 {
		c.MaxBatch = 1
	}
	if c.MaxQueue < 1 {
		c.MaxQueue = 64
	}
	if c.Workers < 1 {
		c.Workers = 1
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 20
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 30 * time.Second
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Log == nil {
		c.Log = log.New(io.Discard, "", 0)
	}
}

// Server serves a fixed set of models over HTTP. Create it with New; its
// Handler is safe for concurrent use.
type Server struct {
	cfg      Config
	models   map[string]*entry
	order    []*entry
	metrics  *metrics
	handler  http.Handler
	draining atomic.Bool
	bufs     bufPool   // request and response bodies
	jobs     sync.Pool // *job, answered and free for reuse
}

// New makes a Server for models (names must be distinct) and starts their
// batchers; Close stops them.
func New(cfg Config, models ...Model) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, models: map[string]*entry{}}
	for _, m := range models {
		e, err := newEntry(m)
		if err != nil {
			return nil, err
		}
		if s.models[e.name] != nil {
			return nil, fmt.Errorf("two models are named %q (give distinct names)", e.name)
		}
		s.models[e.name] = e
		s.order = append(s.order, e)
	}
	if len(s.order) == 0 {
		return nil, errors.New("no models to serve")
	}
	s.metrics = newMetrics(s)
	for _, e := range s.order {
		obs := s.metrics.batch.WithLabelValues(e.name)
		e.batcher = newBatcher(e, cfg, func(rows int) { obs.Observe(float64(rows)) })
	}
	s.handler = s.routes()
	return s, nil
}

// Registry returns the Server's Prometheus registry (served at /metrics).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// Handler returns the HTTP handler for every endpoint.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the batchers; requests still queued are answered with an
// error. Call it after Serve and ServeGRPC have returned.
func (s *Server) Close() {
	s.draining.Store(true)
	for _, e := range s.order {
		e.batcher.close()
	}
}

// Serve answers HTTP requests on ln until ctx ends, then stops accepting
// connections and waits for in-flight requests (at most
// Config.DrainTimeout). It returns nil after a clean drain. Call Close once
// Serve (and ServeGRPC) have returned.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.Timeout,                  // a slow body cannot hold a connection forever
		WriteTimeout:      s.cfg.Timeout + 10*time.Second, // the handler answers by its deadline
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          s.cfg.Log,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc // http.ErrServerClosed
	if err != nil {
		return fmt.Errorf("draining in-flight requests: %w", err)
	}
	return nil
}

// routes wires every endpoint.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	v2 := func(h func(w http.ResponseWriter, r *http.Request, e *entry)) http.Handler {
		return s.modelHandler("v2", h)
	}
	tf := func(h func(w http.ResponseWriter, r *http.Request, e *entry)) http.Handler {
		return s.modelHandler("tfserving", h)
	}
	mux.HandleFunc("GET /v2", s.serverMetadata)
	mux.HandleFunc("GET /v2/health/live", s.live)
	mux.HandleFunc("GET /v2/health/ready", s.ready)
	for _, prefix := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		mux.Handle("GET "+prefix, v2(s.modelMetadata))
		mux.Handle("GET "+prefix+"/ready", v2(s.modelReady))
		mux.Handle("POST "+prefix+"/infer", s.measured("v2", v2(s.infer)))
	}
	for _, prefix := range []string{"/v1/models/{name}", "/v1/models/{name}/versions/{version}"} {
		mux.Handle("GET "+prefix, tf(s.tfStatus))
	}
	// TF Serving's verbs follow a colon: /v1/models/NAME:predict.
	mux.Handle("POST /v1/models/{call}", s.measured("tfserving", tf(s.tfPredict)))
	mux.Handle("POST /v1/models/{name}/versions/{call}", s.measured("tfserving", tf(s.tfPredict)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s.recovered(mux)
}

// recovered answers 500 for a request whose handler panics, keeping the
// server up.
func (s *Server) recovered(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Log.Printf("kconv serve: panic serving %s %s: %v", r.Method, r.URL.Path, v)
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// modelHandler resolves the model named in the path (404 if unknown) and
// calls h with it.
func (s *Server) modelHandler(protocol string, h func(w http.ResponseWriter, r *http.Request, e *entry)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if protocol == "tfserving" && r.Method == http.MethodPost {
			call := r.PathValue("call")
			if name == "" {
				var verb string
				var ok bool
				name, verb, ok = cutLast(call, ':')
				if !ok || verb != "predict" {
					writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint POST %s (only :predict is served)", r.URL.Path))
					return
				}
			} else if version, verb, ok := cutLast(call, ':'); !ok || verb != "predict" || version == "" {
				writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint POST %s (only :predict is served)", r.URL.Path))
				return
			} else {
				r.SetPathValue("version", version)
			}
		}
		e := s.models[name]
		if e == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown model %q", name))
			return
		}
		if v := r.PathValue("version"); v != "" && v != "1" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("model %q has no version %q (it has version 1)", name, v))
			return
		}
		if rec, ok := w.(*statusRecorder); ok {
			rec.model = e.name
		}
		h(w, r, e)
	})
}

func cutLast(s string, sep byte) (before, after string, ok bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// statusRecorder remembers a response's status code and the model served.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	model string
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// measured counts an inference endpoint's requests and times them. Requests
// for unknown models are counted with model "".
func (s *Server) measured(protocol string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			if v := recover(); v != nil {
				code = http.StatusInternalServerError
				defer panic(v)
			}
			s.metrics.observe(rec.model, protocol, code, time.Since(start))
		}()
		h.ServeHTTP(rec, r)
	})
}

// httpError is an error with the HTTP status it answers.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// writeError answers {"error": msg}, the error object of both protocols.
func writeError(w http.ResponseWriter, code int, msg string) {
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

// writeErr answers err with its status (httpError) or 500.
func (s *Server) writeErr(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.code, he.msg)
		return
	}
	s.cfg.Log.Printf("kconv serve: %v", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error: encoding the response"}`)
	}
	writeBody(w, code, "application/json", b)
}

func writeBody(w http.ResponseWriter, code int, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// readBody reads a request body within the size limit (413 beyond it) into
// a buffer from s.bufs.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, limit)}
	}
	// A pooled buffer, grown once for a declared length; the caller gives it
	// back with s.bufs.putBytes when it no longer needs the body.
	// (bytes.Buffer.ReadFrom would reallocate a buffer of exactly the
	// declared length before reading EOF.)
	b := s.bufs.getBytes(int(max(r.ContentLength, 0)) + 1)
	body := http.MaxBytesReader(w, r.Body, limit)
	var err error
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		var n int
		n, err = body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			break
		}
	}
	if err == io.EOF {
		err = nil
	}
	if err != nil {
		s.bufs.putBytes(b)
		return nil, bodyError(err)
	}
	return b, nil
}

// bodyError is the answer to an error reading a request body: 413 past
// the size limit, else 400 (a body shorter than its declared length, a
// client gone).
func bodyError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", mb.Limit)}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return badRequest("reading the request body: %v", err)
}

// run queues checked inputs (rows rows each) for e and waits for the
// outputs, within the request's deadline.
func (s *Server) run(ctx context.Context, e *entry, inputs []*ir.Tensor, rows int) ([]*ir.Tensor, error) {
	if s.draining.Load() {
		return nil, &httpError{http.StatusServiceUnavailable, "the server is shutting down"}
	}
	// Jobs are pooled with their channel and timer: the deadline is the
	// job's own (checked by the batcher, timed by the waiting handler), not
	// a context.WithTimeout per request, whose timer, cancel context and
	// registration in the request's context showed in profiles.
	j, _ := s.jobs.Get().(*job)
	if j == nil {
		j = &job{done: make(chan jobResult, 1)}
	}
	j.ctx, j.inputs, j.rows, j.deadline = ctx, inputs, rows, time.Now().Add(s.cfg.Timeout)
	recycle := func() {
		j.ctx, j.inputs = nil, nil
		s.jobs.Put(j)
	}
	inline, err := e.batcher.submit(j)
	if err != nil {
		recycle()
		if errors.Is(err, errQueueFull) {
			return nil, &httpError{http.StatusTooManyRequests, fmt.Sprintf("model %s: %v", e.name, err)}
		}
		return nil, &httpError{http.StatusServiceUnavailable, err.Error()}
	}
	if inline {
		// The model was idle: this goroutine runs the job (see batcher).
		e.batcher.runInline(j)
	}
	res, answered := j.wait(ctx)
	if answered {
		recycle()
	} // else the batcher may still answer j: it is left to the GC
	switch {
	case res.err == nil:
		return res.outputs, nil
	case errors.Is(res.err, context.DeadlineExceeded):
		return nil, &httpError{http.StatusGatewayTimeout, fmt.Sprintf("model %s: the request's deadline (%v) passed", e.name, s.cfg.Timeout)}
	case errors.Is(res.err, context.Canceled):
		return nil, &httpError{499, "the client closed the request"}
	case errors.Is(res.err, errPanic):
		s.cfg.Log.Printf("kconv serve: model %s: %v", e.name, res.err)
		return nil, &httpError{http.StatusInternalServerError, fmt.Sprintf("model %s: internal error while running the model", e.name)}
	}
	return nil, fmt.Errorf("model %s: %w", e.name, res.err)
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}
