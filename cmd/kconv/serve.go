package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/serve"
)

func init() { extraCommands = append(extraCommands, newServeCmd) }

func newServeCmd() *cobra.Command {
	var (
		lf         loadFlags
		addr       string
		grpcAddr   string
		names      []string
		threads    int
		noWinograd bool
		cfg        serve.Config
	)
	cmd := &cobra.Command{
		Use:   "serve MODEL...",
		Short: "Serve models over the KServe v2 (Open Inference Protocol) and TF Serving REST APIs",
		Long: `Load each MODEL once and answer inference requests over HTTP:

  KServe v2 / Open Inference Protocol: GET /v2, /v2/health/live, /v2/health/ready,
    /v2/models/NAME, /v2/models/NAME/ready; POST /v2/models/NAME/infer
    (JSON tensors, or binary tensors with Inference-Header-Content-Length)
  TensorFlow Serving REST: POST /v1/models/NAME:predict ({"instances": …} or
    {"inputs": …}); GET /v1/models/NAME
  Prometheus metrics: GET /metrics
  With --grpc-addr, the same protocol over gRPC (inference.GRPCInferenceService).

A model's name is its file's base name without extension unless --name gives
one (repeat --name once per MODEL, in order). Concurrent requests for one
model are merged into batches of up to --max-batch rows: a worker takes the
requests queued so far and, only while other batches of the model keep every
core busy, waits at most --batch-timeout for more; a request reaching an idle
model runs at once. When --max-queue requests wait, more get 429.
Unless --threads or --workers is given, a model under 10 MFLOP per row runs
on one thread per run with as many runs at once as cores (its run is shorter
than the HTTP work around it), a larger one on every core, one run at a time.
SIGTERM or SIGINT stops accepting connections, finishes the requests in
flight and exits 0. See docs/serving.md.`,
		Example: `  kconv serve cifar_small.keras --addr 127.0.0.1:8080 --max-batch 32 --batch-timeout 2ms
  curl -s localhost:8080/v2/models/cifar_small`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("serve needs at least one MODEL")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(names) > 0 && len(names) != len(args) {
				return usagef("--name is given %d time(s) for %d model(s); give one per MODEL or none", len(names), len(args))
			}
			if cfg.MaxBatch < 1 || cfg.MaxQueue < 1 || cfg.Workers < 0 || cfg.BatchTimeout < 0 || cfg.Timeout <= 0 || cfg.MaxBodyBytes <= 0 {
				return usagef("--max-batch, --max-queue, --timeout and --max-body must be positive, --workers and --batch-timeout not negative")
			}
			if err := threadsOK(threads); err != nil {
				return usagef("%v", err)
			}
			// SIGTERM/SIGINT are ours from before the models load: one
			// that arrives while they load (a Kubernetes pod deleted
			// during startup) stops the server cleanly, exit 0, instead
			// of the default action's exit 143.
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			// A heap floor: serveHeapFloor bytes held for the server's life
			// and never touched (pointer-free, fresh from the OS: no
			// resident memory), which raise the collector's heap goal.
			// Without it a small model's server (live heap of a few MB)
			// collected every ~2 MB allocated (Go's 4 MB minimum goal at
			// GOGC=50): ~6 cycles a second at 2500 requests/s of 1 row,
			// each a stop-the-world pause every request in flight waits
			// for. With it, 10× fewer cycles at the same server CPU per
			// request (docs/serving.md). A model with a large live heap
			// (weights) barely notices it.
			floor := make([]byte, serveHeapFloor)
			defer runtime.KeepAlive(floor)
			var models []serve.Model
			for i, path := range args {
				name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
				if len(names) > 0 {
					name = names[i]
				}
				m, err := lf.load(path)
				if err != nil {
					return err
				}
				if !ir.HasWeights(m) && hasWeightSpecs(m) {
					return fmt.Errorf("%s: the model has no weights (give a weights file)", path)
				}
				if err := compileWeights(m, lf.budget); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				// Threads per run and runs at once, by the model's size
				// unless given (serve.Parallelism).
				t, w := serve.Parallelism(ir.FLOPs(m), runtime.GOMAXPROCS(0), threads, cfg.Workers)
				p, err := exec.Compile(m, exec.Options{Threads: t, NoWinograd: noWinograd, MemoryBudget: lf.budget})
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "kconv: %s: %d thread(s) per run, %d run(s) at once\n", name, p.Threads(), w)
				models = append(models, serve.Model{Name: name, Program: p, Workers: w})
				if ctx.Err() != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "kconv: stopped by a signal before serving")
					return nil
				}
			}
			cfg.Version = version
			cfg.Log = log.New(cmd.ErrOrStderr(), "", log.LstdFlags)
			s, err := serve.New(cfg, models...)
			if err != nil {
				return err
			}
			defer s.Close() // after both servers have drained
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			var gln net.Listener
			if grpcAddr != "" {
				if gln, err = net.Listen("tcp", grpcAddr); err != nil {
					ln.Close()
					return err
				}
			}
			var served []string
			for _, m := range models {
				served = append(served, m.Name)
			}
			where := "http://" + ln.Addr().String()
			if gln != nil {
				where += " and gRPC " + gln.Addr().String()
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kconv: serving %s on %s\n", strings.Join(served, ", "), where)
			errc := make(chan error, 2)
			go func() { errc <- s.Serve(ctx, ln) }()
			if gln != nil {
				go func() { errc <- s.ServeGRPC(ctx, gln) }()
			}
			var first error
			for range 1 + btoi(gln != nil) {
				if err := <-errc; err != nil && first == nil {
					first = err
					stop() // one server failed: stop the other too
				}
			}
			if first != nil {
				return first
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kconv: stopped after finishing the requests in flight\n")
			return nil
		},
	}
	lf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT` (0.0.0.0:8080 for every interface, as in a container)")
	f.StringVar(&grpcAddr, "grpc-addr", "", "also serve the Open Inference Protocol over gRPC on `HOST:PORT` (e.g. 127.0.0.1:8081; KServe uses 8081)")
	f.StringArrayVar(&names, "name", nil, "the `NAME` of each MODEL in URLs, in order (default: the file's base name)")
	f.IntVar(&threads, "threads", 0, "worker threads per run (0: by the model's size, see --workers)")
	f.BoolVar(&noWinograd, "no-winograd", false, "compute 3×3 convolutions without Winograd (less memory)")
	f.IntVar(&cfg.MaxBatch, "max-batch", 1, "merge concurrent requests into batches of up to `B` rows (1: no merging)")
	f.DurationVar(&cfg.BatchTimeout, "batch-timeout", time.Millisecond, "while other batches keep every core busy, wait at most `D` for more requests to fill a batch (an idle model never waits)")
	f.IntVar(&cfg.MaxQueue, "max-queue", 64, "requests waiting per model before answering 429")
	f.IntVar(&cfg.Workers, "workers", 0, "batches of one model run at once (0: by the model's size: a model under 10 MFLOP per row runs on 1 thread, as many runs at once as cores; a larger one on every core, one run at a time; --workers W alone gives each run cores/W threads)")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body", 64<<20, "largest request body in `BYTES` (413 beyond)")
	f.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "each request's deadline, queueing included (504 beyond)")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, wait at most this for requests in flight")
	return cmd
}

// serveHeapFloor is kconv serve's heap floor (see its RunE).
const serveHeapFloor = 32 << 20

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
