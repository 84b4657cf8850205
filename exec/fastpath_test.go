package exec

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// smallCNN is a cifar_small-like model at toy size: an RGB 3×3 convolution
// and a 16→16 one (both SmallConv where the CPU has AVX-512), each followed
// by a 2×2 max pooling; the second pooling's input is also read by a
// global pooling when shared is set (so that it cannot be fused); ReLU
// dense head, no softmax.
func smallCNN(t testing.TB, df ir.Layout, shared bool) *ir.Model {
	t.Helper()
	b := ir.NewBuilder("small_cnn")
	shape := ir.Shape{-1, 12, 10, 3}
	if df == ir.ChannelsFirst {
		shape = ir.Shape{-1, 3, 12, 10}
	}
	b.Input("in", shape[1:], df)
	conv := func(name string, f int) {
		b.Add(name, &ir.Conv2D{Filters: f, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame},
			UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df})
	}
	pool := func(name string, in ...string) string {
		return b.Add(name, &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: df}, in...)
	}
	conv("conv1", 16)
	pool("pool1")
	c2 := b.Add("conv2", &ir.Conv2D{Filters: 16, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame},
		UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df})
	p2 := pool("pool2", c2)
	head := b.Add("flatten", &ir.Flatten{}, p2)
	if shared {
		g := b.Add("gap", &ir.GlobalPool2D{DataFormat: df}, c2)
		head = b.Add("concat", &ir.Merge{Mode: ir.MergeConcat, Axis: -1}, head, g)
	}
	b.Add("dense", &ir.Dense{Units: 5, UseBias: true, Activation: ir.Act{Name: "relu"}}, head)
	m := randomModel(t, b, 7)
	return m
}

func fastInput(m *ir.Model, n int) *ir.Tensor {
	it := m.InputTypes()[0]
	x := ir.NewTensor(append(ir.Shape{n}, it.Shape[1:]...), it.Layout)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)*0.37)) * 3
	}
	return x
}

// randomModel builds b's model (outputs as Build takes them) and gives it
// seeded random weights.
func randomModel(t testing.TB, b *ir.Builder, seed uint64, outputs ...string) *ir.Model {
	t.Helper()
	m, err := b.Build(outputs...)
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, seed)
	return m
}

// sameOutputs runs p and ref on fastInput(m, n) for each batch size n and
// fails unless p's first output is within tol (relative, plus tol
// absolute) of ref's everywhere, and not NaN.
func sameOutputs(t *testing.T, what string, p, ref *Program, m *ir.Model, batches []int, tol float64) {
	t.Helper()
	for _, n := range batches {
		x := fastInput(m, n)
		got, err := p.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		exp, err := ref.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range exp[0].Data {
			if d := math.Abs(float64(got[0].Data[i] - v)); d > tol*(1+math.Abs(float64(v))) || math.IsNaN(float64(got[0].Data[i])) {
				t.Fatalf("%s batch %d: output[%d] = %v, reference %v", what, n, i, got[0].Data[i], v)
			}
		}
	}
}

// TestPoolFusedIntoConv: a 2×2 max pooling whose input is a SmallConv
// step's alone is computed by that step (one step fewer, the same outputs
// as without fusions), and is not fused when another node reads the
// convolution or the convolution is kept.
func TestPoolFusedIntoConv(t *testing.T) {
	for _, df := range []ir.Layout{ir.ChannelsLast, ir.ChannelsFirst} {
		for _, shared := range []bool{false, true} {
			m := smallCNN(t, df, shared)
			p, err := Compile(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ref, err := Compile(m, Options{NoFuse: true})
			if err != nil {
				t.Fatal(err)
			}
			kept, err := Compile(m, Options{Keep: []string{"conv1", "conv2"}})
			if err != nil {
				t.Fatal(err)
			}
			fused := 0
			for _, pc := range [][2]string{{"pool1", "conv1"}, {"pool2", "conv2"}} {
				if poolFused(p, pc[0], pc[1]) {
					fused++
				}
			}
			want := 0
			if hasSmallConv(p) {
				want = 2
				if shared {
					want = 1
				}
			}
			if fused != want {
				t.Errorf("%v shared=%v: %d poolings fused, want %d", df, shared, fused, want)
			}
			for _, s := range kept.steps {
				if s.out.name == "pool1" || s.out.name == "pool2" {
					if s.node != "pool1" && s.node != "pool2" {
						t.Errorf("%v shared=%v: pooling fused into kept %s", df, shared, s.node)
					}
				}
			}
			sameOutputs(t, fmt.Sprintf("%v shared=%v", df, shared), p, ref, m, []int{1, 3}, 1e-4)
		}
	}
}

// hasSmallConv reports whether p runs a convolution as SmallConv (which
// depends on the CPU).
func hasSmallConv(p *Program) bool {
	for _, s := range p.steps {
		if s.poolIn != nil || poolFused(p, "pool1", "conv1") {
			return true
		}
	}
	return false
}

// poolFused reports whether the step writing pool (a pooling after conv)
// computes the convolution too: it reads neither conv's output nor the
// unpooled output of a convolution fuse-pool folded the pooling into.
func poolFused(p *Program, pool, conv string) bool {
	for _, s := range p.steps {
		if s.out.name == pool && s.node == pool {
			in := s.ins[0].name
			return in != conv && in != pool+"/unpooled"
		}
	}
	return false
}

// TestRunIntoNoAlloc: a run into caller-owned outputs allocates nothing at
// batch 1 (every step serial, the arena pooled), in either data format.
func TestRunIntoNoAlloc(t *testing.T) {
	for _, df := range []ir.Layout{ir.ChannelsLast, ir.ChannelsFirst} {
		m := smallCNN(t, df, false)
		p, err := Compile(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		x := fastInput(m, 1)
		ctx := context.Background()
		outs, err := p.Run(ctx, []*ir.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		want := append([]float32(nil), outs[0].Data...)
		clear(outs[0].Data)
		in := []*ir.Tensor{x}
		if err := p.RunInto(ctx, in, outs); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if outs[0].Data[i] != want[i] {
				t.Fatalf("%v: RunInto output[%d] = %v, Run gave %v", df, i, outs[0].Data[i], want[i])
			}
		}
		if raceBuild {
			continue
		}
		if a := testing.AllocsPerRun(20, func() {
			if err := p.RunInto(ctx, in, outs); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v: RunInto allocates %v times per run", df, a)
		}
	}
}

func TestRunIntoBadOutputs(t *testing.T) {
	m := smallCNN(t, ir.ChannelsLast, false)
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := fastInput(m, 2)
	ctx := context.Background()
	for _, outs := range [][]*ir.Tensor{
		nil,
		{nil},
		{ir.NewTensor(ir.Shape{1, 5}, ir.ChannelsLast)},
		{ir.NewTensor(ir.Shape{2, 4}, ir.ChannelsLast)},
		{{Shape: ir.Shape{2, 5}, Data: make([]float32, 3)}},
	} {
		if err := p.RunInto(ctx, []*ir.Tensor{x}, outs); err == nil {
			t.Errorf("RunInto accepted outputs %v", outs)
		}
	}
	good := []*ir.Tensor{ir.NewTensor(ir.Shape{2, 5}, p.outputs[0].layout)}
	if err := p.RunInto(ctx, []*ir.Tensor{x}, good); err != nil {
		t.Errorf("RunInto: %v", err)
	}
}

// TestBorrowedInputs: a run reads an input from the caller's tensor where
// no step writes into the input's buffer (a convolution first), copies it
// where a step would (ReLU in place first: the caller's tensor must stay
// as it was), and either way gives what a run with the input copied gives
// and leaves no reference to the tensor in the idle arena.
func TestBorrowedInputs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  ir.Op
		borrow bool
	}{
		{"conv first", &ir.Conv2D{Filters: 8, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}, UseBias: true, Activation: ir.Act{Name: "relu"}}, true},
		{"relu first", &ir.Activation{Act: ir.Act{Name: "relu"}}, false},
	} {
		b := ir.NewBuilder("borrow")
		b.Input("in", ir.Shape{9, 9, 4}, ir.ChannelsLast)
		x := b.Add("first", tc.first, "in")
		x = b.Add("flat", &ir.Flatten{}, x)
		b.Add("dense", &ir.Dense{Units: 5, UseBias: true}, x)
		m := randomModel(t, b, 3)
		p, err := Compile(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.borrow[0] != tc.borrow {
			t.Errorf("%s: borrow %v, want %v", tc.name, p.borrow[0], tc.borrow)
		}
		x0 := fastInput(m, 2)
		for i := range x0.Data {
			x0.Data[i] -= 0.5 // negatives, which ReLU in place would clear
		}
		keep := slices.Clone(x0.Data)
		got, err := p.Run(context.Background(), []*ir.Tensor{x0})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x0.Data, keep) {
			t.Errorf("%s: the run changed the caller's input", tc.name)
		}
		p.borrow[0] = false
		want, err := p.Run(context.Background(), []*ir.Tensor{x0})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[0].Data, want[0].Data) {
			t.Errorf("%s: borrowed input gave %v, copied %v", tc.name, got[0].Data, want[0].Data)
		}
		for _, ap := range p.arenas {
			for _, a := range ap.idle {
				for _, s := range a.slots {
					if len(s) > 0 && &s[0] == &x0.Data[0] {
						t.Errorf("%s: an idle arena holds the caller's input", tc.name)
					}
				}
			}
		}
	}
}
