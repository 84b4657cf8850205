package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

func init() { extraCommands = append(extraCommands, newBenchCmd) }

type benchResult struct {
	Model string `json:"model"`
	Batch int    `json:"batch"`
	// Shapes are the input shapes run, batch included.
	Shapes     [][]int `json:"input_shapes"`
	Threads    int     `json:"threads"`
	Runs       int     `json:"runs"`
	LoadMS     float64 `json:"load_ms"`
	CompileMS  float64 `json:"compile_ms"`
	FirstMS    float64 `json:"first_result_ms"`
	MedianMS   float64 `json:"median_ms"`
	MinMS      float64 `json:"min_ms"`
	ImagesPerS float64 `json:"images_per_s"`
	GFLOP      float64 `json:"gflop_per_image"`
	GFLOPS     float64 `json:"gflop_per_s"`
	PeakShare  float64 `json:"peak_share"`
	// Family is the GEMM kernel family; PeakPerCore the measured FMA peak
	// of one core in GFLOP/s (PeakShare = GFLOPS / (PeakPerCore·Threads)).
	Family      string  `json:"kernel_family"`
	PeakPerCore float64 `json:"core_peak_gflop_per_s"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	// BatchChunk is the images per chunk a run is split into, each
	// chunk running the whole model on one worker (0: not split).
	BatchChunk int `json:"batch_chunk"`
}

func newBenchCmd() *cobra.Command {
	var (
		lf                    loadFlags
		batch, threads, runs  int
		warmup                int
		asJSON, randomWeights bool
		noWinograd            bool
		seed                  uint64
		profile               int
		cpuProfile            string
		shapeFlags            []string
		unknownDim            int
	)
	cmd := &cobra.Command{
		Use:   "bench MODEL",
		Short: "Time a model on random inputs",
		Long: `Load MODEL, compile it and time runs on random inputs. Prints load time,
median and minimum latency, images per second, GFLOP/s and the share of this
machine's measured FP32 FMA peak, and the process's peak memory. --profile N
then times each step over the runs and prints the time by kernel kind and
the N slowest steps.
A model with unknown dimensions after the batch (variable-length
sequences, fully convolutional images) runs at the shape --shape gives
(the dimensions after the batch, e.g. --shape 128,64 for a (None, None, 64)
sequence; INPUT=DIMS for one input of several); unknown dimensions it does
not set are --unknown-dim (32).
A model without weights (a builtin such as vgg16, or an architecture file)
gets seeded random weights.`,
		Example: `  kconv bench vgg16 --batch 1 --threads 2 --runs 10
  kconv bench lstm.onnx --batch 8 --shape 200,64`,
		Args: exactArgs(1, "one MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFlags(positive("batch", batch), positive("runs", runs), notNegative("warmup", warmup), threadsOK(threads), positive("unknown-dim", unknownDim)); err != nil {
				return err
			}
			shapeSpecs, err := parseShapes(shapeFlags)
			if err != nil {
				return usageError{err}
			}
			if err := lf.parseBudget(); err != nil {
				return err
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			t0 := time.Now()
			m, err := lf.load(args[0])
			if err != nil {
				return err
			}
			if !ir.HasWeights(m) || randomWeights {
				zoo.RandomWeights(m, seed)
			}
			if err := compileWeights(m, lf.budget); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			load := time.Since(t0)
			t1 := time.Now()
			p, err := exec.Compile(m, exec.Options{Threads: threads, NoWinograd: noWinograd, MemoryBudget: lf.budget})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			// Checked before the random inputs are made.
			if err := p.CheckBatch(batch); err != nil {
				return fmt.Errorf("%s: --batch %d: %w", args[0], batch, err)
			}
			compile := time.Since(t1)
			shapes, err := benchShapes(m, batch, shapeSpecs, unknownDim, memory.Resolve(lf.budget))
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			// FLOPs at the shapes run (a model with unknown
			// dimensions counts none for them).
			fm := m
			if shapeSpecs != nil || hasUnknownDims(m) {
				if fm, err = exec.FixInputs(m, shapes); err != nil {
					return fmt.Errorf("%s: %w (unknown dimensions not given by --shape are --unknown-dim %d)", args[0], err, unknownDim)
				}
			}
			inputs := randomInputs(m, shapes, seed)
			ctx := context.Background()
			var times []float64
			var first time.Duration
			bar := progressBar(cmd, int64(warmup+runs), "benchmarking", false)
			for i := 0; i < warmup+runs; i++ {
				bar.Add(1)
				s := time.Now()
				if _, err := p.Run(ctx, inputs); err != nil {
					if fm != m {
						return fmt.Errorf("%s: at input shapes %s: %w (unknown dimensions not given by --shape are --unknown-dim %d)", args[0], shapesText(shapes), err, unknownDim)
					}
					return fmt.Errorf("%s: %w", args[0], err)
				}
				d := time.Since(s)
				if i == 0 {
					first = time.Since(t0)
				}
				if i >= warmup {
					times = append(times, float64(d.Microseconds())/1000)
				}
			}
			bar.Finish()
			sort.Float64s(times)
			med := times[len(times)/2]
			if len(times)%2 == 0 {
				med = (times[len(times)/2-1] + times[len(times)/2]) / 2
			}
			flop := float64(ir.FLOPs(fm))
			r := benchResult{
				Model: args[0], Batch: batch, Threads: p.Threads(), Runs: runs, Shapes: shapeInts(shapes),
				LoadMS: ms(load), CompileMS: ms(compile), FirstMS: ms(first),
				MedianMS: med, MinMS: times[0],
				ImagesPerS: float64(batch) / (med / 1000),
				GFLOP:      flop / 1e9,
				GFLOPS:     flop * float64(batch) / (med / 1000) / 1e9,
				PeakRSSMB:  peakRSSMB(),
				BatchChunk: p.BatchChunk(batch),
			}
			// The share of this machine's measured FMA peak (per core,
			// times the threads used), never a reference CPU's.
			r.Family = exec.KernelFamily()
			r.PeakPerCore = exec.PeakGFLOPS(200 * time.Millisecond)
			if r.PeakPerCore > 0 {
				r.PeakShare = r.GFLOPS / (r.PeakPerCore * float64(p.Threads()))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			fmt.Fprintf(out, "model=%s batch=%d threads=%d runs=%d\n", r.Model, r.Batch, r.Threads, r.Runs)
			if fm != m {
				fmt.Fprintf(out, "input_shapes=%s\n", shapesText(shapes))
			}
			fmt.Fprintf(out, "load_ms=%.1f compile_ms=%.1f ready_ms=%.1f first_result_ms=%.1f\n", r.LoadMS, r.CompileMS, r.LoadMS+r.CompileMS, r.FirstMS)
			fmt.Fprintf(out, "median_ms=%.2f min_ms=%.2f images_per_s=%.2f\n", r.MedianMS, r.MinMS, r.ImagesPerS)
			fmt.Fprintf(out, "gflop_per_image=%.2f gflop_per_s=%.1f peak_share=%.0f%% peak_rss_mb=%.0f\n", r.GFLOP, r.GFLOPS, 100*r.PeakShare, r.PeakRSSMB)
			fmt.Fprintf(out, "kernel_family=%s core_peak_gflop_per_s=%.0f (measured)\n", r.Family, r.PeakPerCore)
			if r.BatchChunk > 0 {
				fmt.Fprintf(out, "batch_chunk=%d (runs go as chunks of %d images, each through the whole model on one worker)\n", r.BatchChunk, r.BatchChunk)
			}
			if profile > 0 {
				if r.BatchChunk > 0 {
					fmt.Fprintln(out, "(the profile splits each step among the workers instead of the batch)")
				}
				steps, err := p.Profile(ctx, inputs, runs)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				printProfile(out, steps, p.Threads(), runs, profile)
			}
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().IntVar(&batch, "batch", 1, "batch size")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads (default: all cores)")
	cmd.Flags().BoolVar(&noWinograd, "no-winograd", false, "compute 3×3 convolutions with im2col+GEMM (less memory: Winograd keeps 4× the 3×3 kernels)")
	cmd.Flags().IntVar(&runs, "runs", 10, "timed runs")
	cmd.Flags().IntVar(&warmup, "warmup", 2, "untimed runs first")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	cmd.Flags().BoolVar(&randomWeights, "random-weights", false, "replace the model's weights with seeded random ones")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed for inputs and weights")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile of load, compile and runs to `FILE` (go tool pprof)")
	cmd.Flags().IntVar(&profile, "profile", 0, "after timing, profile the steps and print the N slowest (0: no profile)")
	cmd.Flags().StringArrayVar(&shapeFlags, "shape", nil, "an input's dimensions after the batch, `[INPUT=]D1,D2,...` (repeat for several inputs; default: the model's, unknown ones --unknown-dim)")
	cmd.Flags().IntVar(&unknownDim, "unknown-dim", 32, "size of the unknown dimensions after the batch that --shape does not set")
	return cmd
}

// printProfile prints the per-run time of each kernel kind, then the top
// slowest steps.
func printProfile(out io.Writer, steps []exec.StepTime, threads, runs, top int) {
	// With one thread, rank by the thread's CPU time (what other processes
	// take from the core does not count); else by wall time.
	cost := func(s exec.StepTime) time.Duration { return s.Time }
	what := "wall"
	if threads == 1 {
		cost, what = func(s exec.StepTime) time.Duration { return s.CPU }, "CPU"
	}
	var total time.Duration
	byKind := map[string]time.Duration{}
	count := map[string]int{}
	for _, s := range steps {
		total += cost(s)
		byKind[s.Kind] += cost(s)
		count[s.Kind]++
	}
	per := func(d time.Duration) float64 { return ms(d) / float64(runs) }
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return byKind[kinds[i]] > byKind[kinds[j]] })
	fmt.Fprintf(out, "profile: %.2f ms %s time per run in %d steps\n", per(total), what, len(steps))
	for _, k := range kinds {
		fmt.Fprintf(out, "  %-24s %8.3f ms %5.1f%% %4d steps\n", k, per(byKind[k]), 100*float64(byKind[k])/float64(total), count[k])
	}
	sorted := append([]exec.StepTime(nil), steps...)
	sort.SliceStable(sorted, func(i, j int) bool { return cost(sorted[i]) > cost(sorted[j]) })
	fmt.Fprintf(out, "slowest steps:\n")
	for _, s := range sorted[:min(top, len(sorted))] {
		gf := ""
		if s.FLOPs > 0 && cost(s) > 0 {
			gf = fmt.Sprintf(" %6.1f GFLOP/s", float64(s.FLOPs)*float64(runs)/cost(s).Seconds()/1e9)
		}
		fmt.Fprintf(out, "  %-48s %-20s %8.3f ms%s\n", s.Node, s.Kind, per(cost(s)), gf)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// shapeSpec is one --shape flag: the dimensions after the batch of the
// named input (the first input not named by another flag when name is "").
type shapeSpec struct {
	name string
	dims []int
}

// parseShapes parses the --shape flags.
func parseShapes(flags []string) ([]shapeSpec, error) {
	var specs []shapeSpec
	for _, f := range flags {
		var sp shapeSpec
		text := f
		if i := strings.LastIndex(f, "="); i >= 0 {
			sp.name, text = f[:i], f[i+1:]
		}
		for _, d := range strings.Split(text, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil || v < 1 {
				return nil, fmt.Errorf("--shape %q: dimensions are whole numbers of at least 1, comma-separated", f)
			}
			sp.dims = append(sp.dims, v)
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// hasUnknownDims reports whether a model input has an unknown dimension
// after dimension 0.
func hasUnknownDims(m *ir.Model) bool {
	for _, t := range m.InputTypes() {
		for _, d := range t.Shape[1:] {
			if d < 0 {
				return true
			}
		}
	}
	return false
}

// benchShapes returns the shape of each model input for bench: batch on a
// dynamic dimension 0, the --shape dimensions after it, unknown ones not
// set unknownDim; sizes are checked against the memory budget before any
// input is made.
func benchShapes(m *ir.Model, batch int, specs []shapeSpec, unknownDim int, budget int64) ([]ir.Shape, error) {
	types := m.InputTypes()
	given := make([][]int, len(types))
	next := 0
	for _, sp := range specs {
		k := -1
		if sp.name != "" {
			k = slices.Index(m.Inputs, sp.name)
			if k < 0 {
				return nil, fmt.Errorf("--shape %s=…: the model has no input '%s' (inputs: %s)", sp.name, sp.name, strings.Join(m.Inputs, ", "))
			}
		} else {
			for next < len(types) && given[next] != nil {
				next++
			}
			if next == len(types) {
				return nil, fmt.Errorf("more --shape flags than model inputs (%d)", len(types))
			}
			k = next
		}
		if given[k] != nil {
			return nil, fmt.Errorf("--shape given twice for input '%s'", m.Inputs[k])
		}
		given[k] = sp.dims
	}
	var total int64
	shapes := make([]ir.Shape, len(types))
	for i, t := range types {
		s := t.Shape.Clone()
		if s[0] < 0 {
			s[0] = batch
		}
		if g := given[i]; g != nil {
			if len(g) != len(s)-1 {
				return nil, fmt.Errorf("--shape for input '%s': %d dimensions, the input %v has %d after the batch", m.Inputs[i], len(g), t.Shape, len(s)-1)
			}
			for d, v := range g {
				if t.Shape[d+1] >= 0 && t.Shape[d+1] != v {
					return nil, fmt.Errorf("--shape for input '%s': dimension %d is %d in the model, not %d", m.Inputs[i], d+1, t.Shape[d+1], v)
				}
				s[d+1] = v
			}
		}
		for d := 1; d < len(s); d++ {
			if s[d] < 0 {
				s[d] = unknownDim
			}
		}
		n, err := ir.CheckedElements(s)
		if err != nil {
			return nil, fmt.Errorf("input '%s' at %v: %v", m.Inputs[i], s, err)
		}
		total += n
		if b, ok := memory.Bytes(total, 4); !ok || b > budget {
			return nil, fmt.Errorf("random inputs of shapes up to %v need %s, over the memory budget of %s", s, memory.Size(b), memory.Size(budget))
		}
		shapes[i] = s
	}
	return shapes, nil
}

func shapeInts(shapes []ir.Shape) [][]int {
	out := make([][]int, len(shapes))
	for i, s := range shapes {
		out[i] = []int(s)
	}
	return out
}

func shapesText(shapes []ir.Shape) string {
	var b strings.Builder
	for i, s := range shapes {
		if i > 0 {
			b.WriteByte(' ')
		}
		for j, d := range s {
			if j > 0 {
				b.WriteByte('x')
			}
			b.WriteString(strconv.Itoa(d))
		}
	}
	return b.String()
}

// randomInputs makes seeded random inputs of the given shapes.
func randomInputs(m *ir.Model, shapes []ir.Shape, seed uint64) []*ir.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	var ts []*ir.Tensor
	for i, t := range m.InputTypes() {
		x := ir.NewTensor(shapes[i].Clone(), t.Layout)
		for i := range x.Data {
			x.Data[i] = r.Float32() * 255
		}
		ts = append(ts, x)
	}
	return ts
}

// peakRSSMB reads the process's peak resident set size (VmHWM) on Linux.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.Sys) / 1e6
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb * 1024 / 1e6
			}
		}
	}
	return 0
}
