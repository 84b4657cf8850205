package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are a Server's Prometheus collectors, registered in its own
// registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // model, protocol, code
	latency  *prometheus.HistogramVec // model, protocol
	batch    *prometheus.HistogramVec // model
	// ok holds the series of successful requests for each model and
	// protocol, resolved once: WithLabelValues hashes and validates its
	// labels (and the status code is formatted) on every call.
	ok map[okKey]*okSeries
}

type okKey struct{ model, protocol string }

// okSeries are the series a successful request of one model and protocol
// updates.
type okSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

func (o *okSeries) observe(d time.Duration) {
	o.count.Inc()
	o.latency.Observe(d.Seconds())
}

// protocols are the protocol label's values.
var protocols = []string{"v2", "tfserving", "grpc"}

// okCode is the code label of a successful request over protocol: the
// HTTP status for REST, the gRPC status code's name for gRPC.
func okCode(protocol string) string {
	if protocol == "grpc" {
		return "OK"
	}
	return "200"
}

// okFor returns the series of successful requests of model (a served
// model's name) over protocol (one of protocols).
func (m *metrics) okFor(model, protocol string) *okSeries {
	if o := m.ok[okKey{model, protocol}]; o != nil {
		return o
	}
	return &okSeries{m.requests.WithLabelValues(model, protocol, okCode(protocol)), m.latency.WithLabelValues(model, protocol)}
}

// observe counts and times one HTTP request (model "" when the model is
// unknown).
func (m *metrics) observe(model, protocol string, code int, d time.Duration) {
	if code == http.StatusOK && model != "" {
		m.okFor(model, protocol).observe(d)
		return
	}
	m.requests.WithLabelValues(model, protocol, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(model, protocol).Observe(d.Seconds())
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kconv", Name: "requests_total",
			Help: "Inference requests by model, protocol (v2, tfserving) and HTTP status code.",
		}, []string{"model", "protocol", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "kconv", Name: "request_duration_seconds",
			Help:    "Inference request latency, from the request's arrival to its response, by model and protocol.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18), // 0.1 ms … 13 s
		}, []string{"model", "protocol"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "kconv", Name: "batch_size",
			Help:    "Rows per model run (requests merged by the dynamic batcher).",
			Buckets: batchBuckets(s.cfg.MaxBatch),
		}, []string{"model"}),
	}
	m.ok = map[okKey]*okSeries{}
	for _, e := range s.order {
		for _, p := range protocols {
			m.ok[okKey{e.name, p}] = &okSeries{m.requests.WithLabelValues(e.name, p, okCode(p)), m.latency.WithLabelValues(e.name, p)}
		}
	}
	queue := prometheus.NewGaugeFunc
	m.reg.MustRegister(m.requests, m.latency, m.batch,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, e := range s.order {
		e := e
		m.reg.MustRegister(queue(prometheus.GaugeOpts{
			Namespace: "kconv", Name: "queue_depth",
			Help:        "Requests waiting in a model's queue.",
			ConstLabels: prometheus.Labels{"model": e.name},
		}, func() float64 { return float64(e.batcher.depth()) }))
	}
	return m
}

// batchBuckets are the batch-size histogram's buckets: every size up to
// maxBatch when that is at most 64 (the exact distribution of the batches
// formed), else powers of two.
func batchBuckets(maxBatch int) []float64 {
	if maxBatch <= 64 {
		return prometheus.LinearBuckets(1, 1, max(maxBatch, 1))
	}
	return prometheus.ExponentialBucketsRange(1, float64(maxBatch), 1+bitsLen(maxBatch))
}

func bitsLen(n int) int {
	k := 0
	for ; n > 1; n >>= 1 {
		k++
	}
	return k
}
