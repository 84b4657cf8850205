package exec_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kconv/kconv/exec"
	kexport "github.com/kconv/kconv/exporter/keras"
	"github.com/kconv/kconv/importer/keras"
	"github.com/kconv/kconv/internal/refcheck"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// smallVGG is fast.ai's VGG16 pattern at toy size (channels-first, Keras 1
// names), so its weights fit in a unit test.
func smallVGG(t testing.TB) *ir.Model {
	t.Helper()
	m := smallVGGArch(t)
	zoo.RandomWeights(m, 42)
	return m
}

func smallVGGArch(t testing.TB) *ir.Model {
	t.Helper()
	const df = ir.ChannelsFirst
	b := ir.NewBuilder("sequential_1")
	b.Input("lambda_input_1", ir.Shape{3, 16, 16}, df)
	b.Add("lambda_1", &ir.Lambda{Function: "vgg_preprocess"})
	conv := func(i, f int) {
		b.Add(fmt.Sprintf("zeropadding2d_%d", i), &ir.ZeroPadding2D{Pads: [4]int{1, 1, 1, 1}, DataFormat: df})
		b.AddClass(fmt.Sprintf("convolution2d_%d", i), "Convolution2D", &ir.Conv2D{Filters: f,
			Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1}, UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df})
	}
	conv(1, 4)
	conv(2, 4)
	b.Add("maxpooling2d_1", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: df})
	conv(3, 8)
	b.Add("maxpooling2d_2", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: df})
	b.Add("flatten_1", &ir.Flatten{})
	b.Add("dense_1", &ir.Dense{Units: 16, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("dropout_1", &ir.Dropout{Rate: 0.5})
	b.Add("dense_2", &ir.Dense{Units: 5, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randomInput(m *ir.Model, n int, seed uint64) *ir.Tensor {
	it := m.InputTypes()[0]
	x := ir.NewTensor(append(ir.Shape{n}, it.Shape[1:]...), it.Layout)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range x.Data {
		x.Data[i] = r.Float32() * 255
	}
	return x
}

// TestConcurrentRun runs one program from 8 goroutines at once (run the
// tests with -race) and expects identical outputs.
func TestConcurrentRun(t *testing.T) {
	m := smallVGG(t)
	p, err := exec.Compile(m, exec.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	inputs := make([]*ir.Tensor, 8)
	want := make([][]float32, 8)
	for i := range inputs {
		inputs[i] = randomInput(m, 1+i%3, uint64(i))
		out, err := p.Run(context.Background(), []*ir.Tensor{inputs[i]})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = out[0].Data
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*4)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for rep := 0; rep < 4; rep++ {
				i := (g + rep) % 8
				out, err := p.Run(context.Background(), []*ir.Tensor{inputs[i]})
				if err != nil {
					errs <- err
					return
				}
				for j, v := range out[0].Data {
					if v != want[i][j] {
						errs <- fmt.Errorf("goroutine %d input %d: output %d = %v, want %v", g, i, j, v, want[i][j])
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestTheanoRoundTrip writes a model as a Theano-era Keras 1 weights file
// (kernels flipped, names without ":0") and reads it back with the
// architecture: the flip must be undone, so outputs match the original.
func TestTheanoRoundTrip(t *testing.T) {
	m := smallVGG(t)
	path := filepath.Join(t.TempDir(), "small_vgg.h5")
	if err := kexport.WriteKeras1Weights(m, path, kexport.Keras1Options{Theano: true}); err != nil {
		t.Fatal(err)
	}
	x := randomInput(m, 2, 7)
	want := runOnce(t, m, x)
	for _, c := range []struct {
		flip  string
		match bool
	}{{"auto", true}, {"on", true}, {"off", false}} {
		t.Run("flip="+c.flip, func(t *testing.T) {
			got, err := keras.Load(path, keras.Options{Arch: "small_vgg", TheanoFlip: c.flip,
				ArchBuiltin: func(string) (*ir.Model, error) { return smallVGGArch(t), nil }})
			if err != nil {
				t.Fatal(err)
			}
			out := runOnce(t, got, x)
			r := refcheck.Compare("output", out, want, 1e-4, 1e-6)
			if r.OK() != c.match {
				t.Fatalf("flip %s: match %v (max abs err %g), want match %v", c.flip, r.OK(), r.MaxAbs, c.match)
			}
		})
	}
}

func runOnce(t *testing.T, m *ir.Model, x *ir.Tensor) *ir.Tensor {
	t.Helper()
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(context.Background(), []*ir.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

// BenchmarkVGG16 runs the full-size builtin VGG16 (random weights) at batch 1.
func BenchmarkVGG16(b *testing.B) {
	m, err := zoo.VGG16()
	if err != nil {
		b.Fatal(err)
	}
	zoo.RandomWeights(m, 1)
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		b.Fatal(err)
	}
	x := randomInput(m, 1, 1)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Run(ctx, []*ir.Tensor{x}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ir.FLOPs(m))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkCifarSmall runs the cifar_small fixture (32×32×3) at batch 1 and 64.
func BenchmarkCifarSmall(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			m, err := keras.Load(filepath.Join(kerasTDdata, "cifar_small.h5"), keras.Options{})
			if err != nil {
				b.Fatal(err)
			}
			p, err := exec.Compile(m, exec.Options{})
			if err != nil {
				b.Fatal(err)
			}
			x := randomInput(m, batch, 1)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.Run(ctx, []*ir.Tensor{x}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ir.FLOPs(m))*float64(batch)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestProgramsOwnBudgets compiles one model twice with different thread
// budgets and runs both Programs at once (run with -race): each keeps its
// own pool (compiling the second changes nothing in the first), so each
// reproduces its own serial results exactly, and the two agree within
// float32 tolerance.
func TestProgramsOwnBudgets(t *testing.T) {
	m := smallVGG(t)
	progs := make([]*exec.Program, 2)
	for i, threads := range []int{1, 2} {
		p, err := exec.Compile(m, exec.Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		progs[i] = p
	}
	x := randomInput(m, 2, 7)
	want := make([][]float32, len(progs))
	for i, p := range progs {
		out, err := p.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = out[0].Data
	}
	for j, v := range want[0] {
		if d := math.Abs(float64(v - want[1][j])); d > 1e-4*(1+math.Abs(float64(v))) {
			t.Fatalf("Threads 1 and 2 differ at %d: %v vs %v", j, v, want[1][j])
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := g % 2
			for range 3 {
				out, err := progs[i].Run(context.Background(), []*ir.Tensor{x})
				if err != nil {
					errs <- err
					return
				}
				for j, v := range out[0].Data {
					if v != want[i][j] {
						errs <- fmt.Errorf("Threads %d, concurrent run: output %d = %v, serial %v", progs[i].Threads(), j, v, want[i][j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
