package exec_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// kernelReadModel is a few convolutions of the kinds whose kernels are
// packed at compile time (a folded batch normalization, a residual add)
// and of ones that keep theirs (a 1×1, a 5×5 at stride 2).
func kernelReadModel(t *testing.T) *ir.Model {
	t.Helper()
	b := ir.NewBuilder("kernelread")
	x := b.Input("x", ir.Shape{16, 16, 8}, ir.ChannelsLast)
	w3 := ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}
	b.Add("c1", &ir.Conv2D{Filters: 64, Window2D: w3, UseBias: true, DataFormat: ir.ChannelsLast}, x)
	b.Add("bn", &ir.BatchNorm{Axis: -1, Epsilon: 1e-3, Center: true, Scale: true})
	r := b.Add("relu", &ir.Activation{Act: ir.Act{Name: ir.ActReLU}})
	c2 := b.Add("c2", &ir.Conv2D{Filters: 64, Window2D: w3, UseBias: true, DataFormat: ir.ChannelsLast}, r)
	a := b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, c2, r)
	c3 := b.Add("c3", &ir.Conv2D{Filters: 32, Window2D: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}, UseBias: true, DataFormat: ir.ChannelsLast}, a)
	b.Add("c4", &ir.Conv2D{Filters: 16, Window2D: ir.Window2D{KH: 5, KW: 5, SH: 2, SW: 2, Padding: ir.PadSame}, UseBias: true, DataFormat: ir.ChannelsLast}, c3)
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 3)
	return m
}

// lazyCopy gives every weight of m a source that reads a copy of its
// values (as an importer's file-backed weights do); fail, when not nil,
// makes the kernel of that node fail to read.
func lazyCopy(m *ir.Model, fail string, failErr error) {
	for _, n := range m.Nodes {
		for i, w := range n.Weights {
			d, _ := w.Data()
			src := ir.SourceFunc(func(dst []float32) error {
				copy(dst, d)
				return nil
			})
			if n.Name == fail && i == 0 {
				src = func([]float32) error { return failErr }
			}
			n.Weights[i] = ir.NewWeight(w.Name, w.Shape, ir.Float32, "test", src)
		}
	}
}

// TestKernelsReadAtPacking checks that convolution kernels read from their
// source when packed give the results of kernels held in memory, and that a
// kernel that cannot be read fails the compile naming its layer.
func TestKernelsReadAtPacking(t *testing.T) {
	x := &ir.Tensor{Shape: ir.Shape{2, 16, 16, 8}, Layout: ir.ChannelsLast, Data: make([]float32, 2*16*16*8)}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x.Data {
		x.Data[i] = r.Float32()*2 - 1
	}
	run := func(m *ir.Model, opt exec.Options) []float32 {
		opt.Threads = 2
		p, err := exec.Compile(m, opt)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Data
	}
	// The reference runs the batch normalization and the Add as layers of
	// their own.
	want := run(kernelReadModel(t), exec.Options{NoFuse: true})
	lazy := kernelReadModel(t)
	lazyCopy(lazy, "", nil)
	for _, c := range []struct {
		name string
		m    *ir.Model
	}{{"in memory", kernelReadModel(t)}, {"read at packing", lazy}} {
		got := run(c.m, exec.Options{})
		if len(got) != len(want) {
			t.Fatalf("%s: %d outputs, want %d", c.name, len(got), len(want))
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("kernels %s: output %d = %g, unfused %g", c.name, i, got[i], want[i])
			}
		}
	}
	// The layer named is the optimized model's: c1 takes the name of the
	// ReLU fused into it, c2 the Add's.
	for layer, named := range map[string]string{"c1": "relu", "c2": "add", "c4": "c4"} {
		bad := errors.New("disk on fire")
		m := kernelReadModel(t)
		lazyCopy(m, layer, bad)
		_, err := exec.Compile(m, exec.Options{Threads: 2})
		if !errors.Is(err, bad) || !strings.Contains(err.Error(), "'"+named+"'") {
			t.Errorf("kernel of %s unreadable: Compile error = %v, want %v naming layer '%s'", layer, err, bad, named)
		}
	}
}
