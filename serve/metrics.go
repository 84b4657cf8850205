package serve

import (
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
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, []string{"model"}),
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
