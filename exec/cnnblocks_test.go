package exec

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
)

// blocksCNN is a toy channels-first (ONNX-layout) network with one of each
// modern CNN block: an inverted residual with a squeeze-and-excitation
// (depthwise 3×3 + swish, global pool → 1×1 swish → 1×1 sigmoid → channel
// scale, linear 1×1 projection, residual Add → ReLU), a DenseNet-style
// concat → BN → ReLU → 1×1, and a strided 5×5 depthwise with hard swish.
func blocksCNN(t testing.TB) *ir.Model {
	t.Helper()
	df := ir.ChannelsFirst
	b := ir.NewBuilder("blocks_cnn")
	b.Input("in", ir.Shape{8, 10, 9}, df)
	win := func(k, s int) ir.Window2D { return ir.Window2D{KH: k, KW: k, SH: s, SW: s, Padding: ir.PadSame} }
	conv := func(name string, f, k int, act string, in ...string) string {
		return b.Add(name, &ir.Conv2D{Filters: f, Window2D: win(k, 1), UseBias: true, Activation: ir.Act{Name: ir.ActName(act)}, DataFormat: df}, in...)
	}
	c1 := conv("c1", 16, 3, "relu6")
	dw := b.Add("dw", &ir.DepthwiseConv2D{Multiplier: 1, Window2D: win(3, 1), UseBias: true, Activation: ir.Act{Name: "swish"}, DataFormat: df}, c1)
	gp := b.Add("gp", &ir.GlobalPool2D{KeepDims: true, DataFormat: df}, dw)
	se1 := conv("se1", 4, 1, "swish", gp)
	se2 := conv("se2", 16, 1, "sigmoid", se1)
	sc := b.Add("scale", &ir.Binary{Op: ir.BinaryMul}, dw, se2)
	pj := conv("proj", 16, 1, "linear", sc)
	add := b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, pj, c1)
	r := b.Add("relu", &ir.Activation{Act: ir.Act{Name: "relu"}}, add)
	cat := b.Add("cat", &ir.Merge{Mode: ir.MergeConcat, Axis: 1}, r, c1)
	bn := b.Add("bn", &ir.BatchNorm{Axis: 1, Epsilon: 1e-3, Center: true, Scale: true}, cat)
	br := b.Add("bnrelu", &ir.Activation{Act: ir.Act{Name: "relu"}}, bn)
	c3 := conv("c3", 8, 1, "relu", br)
	dw2 := b.Add("dw2", &ir.DepthwiseConv2D{Multiplier: 1, Window2D: win(5, 2), UseBias: true, Activation: ir.Act{Name: "hard_swish"}, DataFormat: df}, c3)
	g := b.Add("gap", &ir.GlobalPool2D{DataFormat: df}, dw2)
	b.Add("dense", &ir.Dense{Units: 5, UseBias: true}, g)
	m := randomModel(t, b, 11)
	return m
}

// TestCNNBlocksFusedVsUnfused: the block lowerings (channel scale, NHWC
// concat, BN + activation, residual Add in the convolution's epilogue)
// give the unfused program's outputs, and take their nodes: no layout
// conversion but the input's, no step of its own for the fused Add and
// activations.
func TestCNNBlocksFusedVsUnfused(t *testing.T) {
	m := blocksCNN(t)
	p, ref := fusedAndUnfused(t, m)
	conversions, own := 0, map[string]int{}
	for _, s := range p.steps {
		// A producer whose kernel cannot write into its slice of a
		// concatenation is copied in by a step under its name
		// (Concatenate/copy, counted in concat_test.go).
		if s.kind != "Concatenate/copy" {
			own[s.node]++
		}
		if len(s.ins) == 1 && len(s.out.shape) == 4 && s.ins[0].nhwc != s.out.nhwc && s.ins[0].name == s.out.name {
			conversions++
		}
		// fuseInputLayout: the first convolution reads the NCHW input.
		if strings.HasPrefix(s.kind, "Conv2D") && len(s.ins[0].shape) == 4 && !s.ins[0].nhwc && s.out.nhwc {
			conversions++
		}
	}
	if conversions != 1 {
		t.Errorf("%d layout conversions (or convolutions reading NCHW), want 1 (the input's)", conversions)
	}
	// fuse-residual and fuse-activation fold proj, add and relu into one
	// Conv2D node named relu; on SmallConv's direct kernel it is one step
	// (the Add and ReLU in its epilogue), elsewhere the Add and ReLU
	// follow as one step.
	fused := p.lowered.Node("relu")
	if c, ok := fused.Op.(*ir.Conv2D); !ok || c.Fused.ResidualName() != "c1" || c.Activation.Name != "relu" || p.lowered.Node("proj") != nil || p.lowered.Node("add") != nil {
		t.Errorf("proj, add and relu not fused in the IR: %s", ir.NodeText(fused, nil))
	}
	// fuse-activation folds bnrelu into bn: one BatchNorm node named
	// bnrelu, one step at most (fusePreAffine joins it with c3, which
	// applies it as it reads its input).
	if b, ok := p.lowered.Node("bnrelu").Op.(*ir.BatchNorm); !ok || b.Activation.Name != "relu" || p.lowered.Node("bn") != nil {
		t.Errorf("bn and bnrelu not fused in the IR: %s", ir.NodeText(p.lowered.Node("bnrelu"), nil))
	}
	if own["bn"] > 0 || own["bnrelu"] > 1 || own["relu"] > 2 {
		t.Errorf("activation after BN or after the residual Add has its own step: %v", own)
	}
	if own["add"] > 0 || own["proj"] > 0 {
		t.Errorf("residual Add or its convolution has its own step")
	}
	// fuseChannelScale: the squeeze-and-excitation scale is applied by the
	// projection (on SmallConv's direct kernel, the step named relu) as
	// it reads its input.
	for _, s := range p.steps {
		if s.node == "relu" && s.kind == "Conv2D/direct+add" && (own["scale"] > 0 || len(s.ins) != 3) {
			t.Errorf("the channel scale has its own step (%d) before a SmallConv projection with %d inputs", own["scale"], len(s.ins))
		}
	}
	sameOutputs(t, "fused vs unfused", p, ref, m, []int{1, 3}, 1e-4)
}

// A kept node that ends a fused chain (relu: proj, add and relu fused) and
// one the chain reads (c1, the residual) give the unfused program's
// values through RunNodes.
func TestCNNBlocksKeptThroughFusion(t *testing.T) {
	m := blocksCNN(t)
	keep := []string{"c1", "relu", "bn"}
	p, err := Compile(m, Options{Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := p.lowered.Node("relu").Op.(*ir.Conv2D); !ok || c.Fused.ResidualName() != "c1" {
		t.Fatalf("keeping relu and c1 prevented the residual fusion: %s", ir.NodeText(p.lowered.Node("relu"), nil))
	}
	if _, ok := p.lowered.Node("bn").Op.(*ir.BatchNorm); !ok {
		t.Fatalf("kept bn changed: %s", ir.NodeText(p.lowered.Node("bn"), nil))
	}
	ref, err := Compile(m, Options{KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	x := fastInput(m, 2)
	_, got, err := p.RunNodes(context.Background(), []*ir.Tensor{x}, keep)
	if err != nil {
		t.Fatal(err)
	}
	_, want, err := ref.RunNodes(context.Background(), []*ir.Tensor{x}, keep)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range keep {
		for i, v := range want[name].Data {
			if d := math.Abs(float64(got[name].Data[i] - v)); d > 1e-4*(1+math.Abs(float64(v))) {
				t.Fatalf("%s[%d] = %v, unfused %v", name, i, got[name].Data[i], v)
			}
		}
	}
	if _, _, err := p.RunNodes(context.Background(), []*ir.Tensor{x}, []string{"proj"}); err == nil {
		t.Error("proj, fused away, was observable")
	}
}

// TestWinogradTakesOverAtLargeBatch: a 3×3 layer that runs the direct
// kernel at batch 1 and Winograd F(4×4, 3×3) from a large batch (built
// lazily from the packed kernel at its first such run) gives the same
// outputs at both batches as the program without Winograd, and again on a
// second large-batch run.
func TestWinogradTakesOverAtLargeBatch(t *testing.T) {
	df := ir.ChannelsLast
	b := ir.NewBuilder("wino_batch")
	b.Input("in", ir.Shape{8, 8, 128}, df)
	win := ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}
	b.Add("c", &ir.Conv2D{Filters: 128, Window2D: win, UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df})
	m := randomModel(t, b, 3)
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Compile(m, Options{NoWinograd: true})
	if err != nil {
		t.Fatal(err)
	}
	sameOutputs(t, "with vs without Winograd", p, ref, m, []int{1, 64, 64}, 1e-3)
}

// TestResidual3x3Kernels: a basic residual block (3×3 conv, 3×3 conv, Add,
// ReLU) on maps where the second conv runs on SmallConv's Winograd F(2×2)
// path, on Winograd F(4×4) from batch 1, and on SmallConv at batch 1 but
// F(4×4) at batch 8 (on one thread, where batch 8 is not split): one step computes the conv, the Add and the ReLU
// (the residual added as each output row or tile is written), and the
// outputs are the unfused program's at batches 1 and 8.
func TestResidual3x3Kernels(t *testing.T) {
	for _, sh := range []struct {
		hw, c int
		kind  string
	}{{14, 64, "Conv2D/direct+add"}, {28, 128, "Conv2D/winograd+add"}, {16, 128, "Conv2D/direct+add"}} {
		df := ir.ChannelsLast
		b := ir.NewBuilder("basic_block")
		b.Input("in", ir.Shape{sh.hw, sh.hw, sh.c}, df)
		win := ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}
		c1 := b.Add("c1", &ir.Conv2D{Filters: sh.c, Window2D: win, UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df}, "in")
		c2 := b.Add("c2", &ir.Conv2D{Filters: sh.c, Window2D: win, UseBias: true, Activation: ir.Act{Name: "linear"}, DataFormat: df}, c1)
		add := b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, c2, "in") // a residual of both signs
		b.Add("relu", &ir.Activation{Act: ir.Act{Name: "relu"}}, add)
		m := randomModel(t, b, 5)
		// One thread: batch 8 runs whole, not in chunks of images.
		p, err := Compile(m, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := Compile(m, Options{NoFuse: true, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, s := range p.steps {
			if s.node == "relu" || s.node == "add" {
				kinds = append(kinds, s.kind)
			}
		}
		want := []string{sh.kind}
		if !kernels.SmallConvPays(kernels.ConvParams{N: 1, H: sh.hw, W: sh.hw, C: sh.c, OutC: sh.c, KH: 3, KW: 3}, kernels.Activation{}, false) {
			want = []string{"Conv2D/winograd+add"} // no AVX-512: Winograd F(4×4) everywhere
		}
		if !slices.Equal(kinds, want) {
			t.Errorf("%d²×%d: steps of the block's end %q, want %q", sh.hw, sh.c, kinds, want)
		}
		sameOutputs(t, fmt.Sprintf("%d²×%d", sh.hw, sh.c), p, ref, m, []int{1, 8}, 1e-4)
	}
}

// TestStemMaxPoolFused: a stem (a 7×7 stride-2 convolution reading the
// channels-first input, then a padded 3×3 stride-2 max pooling; a 3×3
// convolution, then a 3×3 stride-2 max pooling in ceil mode) computes each
// pooling in its convolution's step where the convolution runs on
// SmallConv (no pooling step, no layout step for the input), with the
// unfused program's outputs at batches 1 and 3, and 8 on one thread.
func TestStemMaxPoolFused(t *testing.T) {
	df := ir.ChannelsFirst
	b := ir.NewBuilder("stem")
	b.Input("in", ir.Shape{3, 45, 41}, df)
	c1 := b.Add("c1", &ir.Conv2D{Filters: 24, Window2D: ir.Window2D{KH: 7, KW: 7, SH: 2, SW: 2, Padding: ir.PadExplicit, Pads: [4]int{3, 3, 3, 3}},
		UseBias: true, Activation: ir.Act{Name: "relu"}, DataFormat: df}, "in")
	p1 := b.Add("p1", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 1, 1}}, DataFormat: df}, c1)
	c2 := b.Add("c2", &ir.Conv2D{Filters: 32, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame},
		UseBias: true, Activation: ir.Act{Name: "relu6"}, DataFormat: df}, p1)
	b.Add("p2", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, CeilMode: true}, DataFormat: df}, c2)
	m := randomModel(t, b, 9)
	for _, threads := range []int{0, 1} {
		p, err := Compile(m, Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := Compile(m, Options{NoFuse: true, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		if hasSmallConv(p) || kernels.SmallConvPays(kernels.ConvParams{N: 1, H: 8, W: 8, C: 8, OutC: 8, KH: 3, KW: 3}, kernels.Activation{}, false) {
			kinds := stepKinds(p)
			if want := []string{"Conv2D/direct", "Conv2D/direct", "layout"}; !slices.Equal(kinds, want) {
				t.Errorf("steps %q, want %q (each pooling in its convolution's step, the input read channels-first)", kinds, want)
			}
		}
		batches := []int{1, 3}
		if threads == 1 {
			batches = []int{8}
		}
		sameOutputs(t, fmt.Sprintf("threads=%d", threads), p, ref, m, batches, 1e-4)
	}
}

// TestMaxPoolKeptApart: fuse-pool folds a 3×3 stride-2 max pooling
// into the convolution before it, but where SmallConv would compute that
// convolution on its Winograd F(2×2) path (ReLU) or its weights outgrow
// the cache (SmallConvMaxPoolPays: a 5×5 64→128, 800 KB) lowering keeps the
// pooling as a step of its own; with ReLU6 and few weights (the direct
// kernel either way) the pooling stays in the convolution's step. Outputs
// as unfused.
func TestMaxPoolKeptApart(t *testing.T) {
	for _, tc := range []struct {
		act  string
		c, k int
		want []string
	}{
		{"relu", 16, 3, []string{"Conv2D/direct", "MaxPooling2D"}},
		{"relu6", 16, 3, []string{"Conv2D/direct"}},
		{"relu6", 64, 5, []string{"Conv2D/direct", "MaxPooling2D"}},
	} {
		b := ir.NewBuilder("winopool")
		b.Input("in", ir.Shape{29, 29, tc.c}, ir.ChannelsLast)
		c := b.Add("c", &ir.Conv2D{Filters: 2 * tc.c, Window2D: ir.Window2D{KH: tc.k, KW: tc.k, SH: 1, SW: 1, Padding: ir.PadSame},
			UseBias: true, Activation: ir.Act{Name: ir.ActName(tc.act)}}, "in")
		b.Add("p", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2}}, c)
		m := randomModel(t, b, 5)
		p, ref := fusedAndUnfused(t, m)
		if kernels.SmallConvPays(kernels.ConvParams{N: 1, H: 8, W: 8, C: 8, OutC: 8, KH: 3, KW: 3}, kernels.Activation{}, false) { // AVX-512
			kinds := stepKinds(p)
			if !slices.Equal(kinds, tc.want) {
				t.Errorf("%s, %d channels: steps %q, want %q", tc.act, tc.c, kinds, tc.want)
			}
		}
		sameOutputs(t, tc.act, p, ref, m, []int{1, 2}, 1e-4)
	}
}

// TestFusedGELU: an exported GELU (Div by √2, Erf, Add 1, Mul x, Mul ½)
// after a Dense runs as the Dense's gelu activation (fuse-gelu, then
// fuse-activation; the vector kernel where the CPU has one) and gives the
// unfused graph's outputs, whose Erf runs in float64.
func TestFusedGELU(t *testing.T) {
	b := ir.NewBuilder("gelu")
	b.Input("in", ir.Shape{5, 40}, ir.ChannelsLast)
	b.Add("x", &ir.Dense{Units: 48, UseBias: true}, "in")
	b.Add("k_s", &ir.Constant{Shape: ir.Shape{1}})
	b.Add("d", &ir.Binary{Op: ir.BinaryDiv}, "x", "k_s")
	b.Add("erf", &ir.Activation{Act: ir.Act{Name: ir.ActErf}}, "d")
	b.Add("k_one", &ir.Constant{Shape: ir.Shape{1}})
	b.Add("add", &ir.Binary{Op: ir.BinaryAdd}, "erf", "k_one")
	b.Add("m1", &ir.Merge{Mode: ir.MergeMultiply}, "x", "add")
	b.Add("k_half", &ir.Constant{Shape: ir.Shape{1}})
	b.Add("out", &ir.Binary{Op: ir.BinaryMul}, "m1", "k_half")
	m := randomModel(t, b, 4, "out")
	setConstants(t, m, map[string][]float32{"k_s": {math.Sqrt2}, "k_one": {1}, "k_half": {0.5}})
	p, ref := fusedAndUnfused(t, m)
	if len(p.steps) != 1 {
		t.Errorf("steps %q, want the Dense alone", stepKinds(p))
	}
	sameOutputs(t, "gelu", p, ref, m, []int{1, 3}, 1e-5)
}

// TestDenseAsConv: a Dense over the last axis of a rank-3 or rank-4 input
// with enough rows runs as a 1×1 SmallConv (Dense/direct, on AVX-512),
// with its activation; its outputs are the reference Dense's row by row.
// Fewer rows keep the GEMM path.
func TestDenseAsConv(t *testing.T) {
	for _, tc := range []struct {
		in   ir.Shape
		act  ir.ActName
		conv bool
	}{
		{ir.Shape{40, 24}, ir.ActGELU, true},
		{ir.Shape{7, 5, 40}, ir.ActReLU, true},
		{ir.Shape{9, 3, 70}, "", true},
		{ir.Shape{3, 40}, ir.ActGELU, false},
	} {
		b := ir.NewBuilder("dense")
		b.Input("in", tc.in, ir.ChannelsLast)
		b.Add("d", &ir.Dense{Units: 37, UseBias: true, Activation: ir.Act{Name: tc.act}}, "in")
		m := randomModel(t, b, 6)
		p, err := Compile(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		avx512 := kernels.SmallConvPays(kernels.ConvParams{N: 1, H: 8, W: 8, C: 8, OutC: 8, KH: 1, KW: 1}, kernels.Activation{}, false)
		if got := p.steps[0].kind == "Dense/direct"; avx512 && got != tc.conv {
			t.Errorf("%v: step %q", tc.in, p.steps[0].kind)
		}
		w, _ := m.Node("d").Weights[0].Data()
		bias, _ := m.Node("d").Weights[1].Data()
		ka, err := kernelAct(ir.Act{Name: tc.act})
		if err != nil {
			t.Fatal(err)
		}
		k := tc.in[len(tc.in)-1]
		for _, n := range []int{1, 3} {
			x := fastInput(m, n)
			got, err := p.Run(context.Background(), []*ir.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			want := kernels.RefDense(len(x.Data)/k, k, 37, x.Data, w, bias, ka)
			for i, v := range want {
				if d := math.Abs(float64(got[0].Data[i] - v)); d > 1e-5*(1+math.Abs(float64(v))) {
					t.Fatalf("%v batch %d: output[%d] = %v, reference %v", tc.in, n, i, got[0].Data[i], v)
				}
			}
		}
	}
}

// TestLayerScaleNHWC: a channels-first Mul by a (C, 1, 1) constant
// between two convolutions (ConvNeXt's layer scale) runs on the NHWC
// storage as a channel op: no layout step, the unfused outputs.
func TestLayerScaleNHWC(t *testing.T) {
	df := ir.ChannelsFirst
	b := ir.NewBuilder("scale")
	b.Input("in", ir.Shape{8, 9, 9}, df)
	b.Add("c1", &ir.Conv2D{Filters: 16, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadSame}, UseBias: true, DataFormat: df}, "in")
	b.Add("k", &ir.Constant{Shape: ir.Shape{16, 1, 1}})
	b.Add("mul", &ir.Binary{Op: ir.BinaryMul}, "k", "c1")
	b.Add("c2", &ir.Conv2D{Filters: 8, Window2D: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}, UseBias: true, DataFormat: df}, "mul")
	m := randomModel(t, b, 8, "c2")
	vals := make([]float32, 16)
	for i := range vals {
		vals[i] = float32(i) - 7.5
	}
	setConstants(t, m, map[string][]float32{"k": vals})
	p, ref := fusedAndUnfused(t, m)
	for _, s := range p.steps {
		if s.kind == "layout" && s.node != "in" && s.node != "c2" {
			t.Errorf("layout step for %s", s.node)
		}
	}
	sameOutputs(t, "layer scale", p, ref, m, []int{1, 2}, 1e-5)
}

// TestFusedLayerNorm: an exported layer normalization over the last axis
// (ReduceMean, Sub, Pow 2, ReduceMean, Add ε, Sqrt, Div, then Mul γ and
// Add β, as torch.onnx writes F.layer_norm before opset 17) runs as one
// LayerNormalization step (fuse-layernorm), with and without γ and β, and
// gives the unfused graph's outputs; with Pow 4 it is left as it is.
func TestFusedLayerNorm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		affine bool
		pow    float32
		fused  bool
	}{{"affine", true, 2, true}, {"plain", false, 2, true}, {"pow 4", true, 4, false}} {
		b := ir.NewBuilder("ln")
		b.Input("in", ir.Shape{6, 40}, ir.ChannelsLast)
		b.Add("x", &ir.Dense{Units: 48, UseBias: true}, "in")
		b.Add("m1", &ir.ReduceMean{Axes: []int{2}, KeepDims: true}, "x")
		b.Add("d", &ir.Binary{Op: ir.BinarySub}, "x", "m1")
		b.Add("k_pow", &ir.Constant{Shape: ir.Shape{1}})
		b.Add("p", &ir.Binary{Op: ir.BinaryPow}, "d", "k_pow")
		b.Add("m2", &ir.ReduceMean{Axes: []int{2}, KeepDims: true}, "p")
		b.Add("k_eps", &ir.Constant{Shape: ir.Shape{1}})
		b.Add("a", &ir.Binary{Op: ir.BinaryAdd}, "m2", "k_eps")
		b.Add("s", &ir.Unary{Op: ir.UnarySqrt}, "a")
		out := b.Add("q", &ir.Binary{Op: ir.BinaryDiv}, "d", "s")
		vals := map[string][]float32{"k_pow": {tc.pow}, "k_eps": {1e-6}}
		if tc.affine {
			b.Add("k_g", &ir.Constant{Shape: ir.Shape{48}})
			b.Add("g", &ir.Binary{Op: ir.BinaryMul}, "q", "k_g")
			b.Add("k_b", &ir.Constant{Shape: ir.Shape{48}})
			out = b.Add("out", &ir.Binary{Op: ir.BinaryAdd}, "g", "k_b")
			vals["k_g"], vals["k_b"] = make([]float32, 48), make([]float32, 48)
			for i := range 48 {
				vals["k_g"][i], vals["k_b"][i] = 0.5+float32(i)/48, float32(i%7)-3
			}
		}
		m := randomModel(t, b, 2, out)
		setConstants(t, m, vals)
		p, ref := fusedAndUnfused(t, m)
		kinds := stepKinds(p)
		if fused := len(kinds) == 2 && kinds[1] == "LayerNormalization"; fused != tc.fused {
			t.Errorf("%s: steps %q", tc.name, kinds)
		}
		sameOutputs(t, tc.name, p, ref, m, []int{1, 3}, 1e-4)
	}
}

// stepKinds lists the kinds of p's steps in order.
func stepKinds(p *Program) []string {
	var kinds []string
	for _, s := range p.steps {
		kinds = append(kinds, s.kind)
	}
	return kinds
}

// setConstants gives the Constant nodes of m named in vals those values
// (in each node's own shape) and no inputs (the Builder chains every node
// to the one before it), then retypes m.
func setConstants(t *testing.T, m *ir.Model, vals map[string][]float32) {
	t.Helper()
	for name, v := range vals {
		n := m.Node(name)
		n.Inputs = nil
		n.Weights = []*ir.Weight{ir.ConstWeight("value", n.Op.(*ir.Constant).Shape, v)}
	}
	if err := ir.RunPasses(m, ir.PassOrder, ir.PassInfer); err != nil {
		t.Fatal(err)
	}
}

// fusedAndUnfused compiles m as Compile does and without fusions (the
// reference the fused program's outputs are compared with).
func fusedAndUnfused(t *testing.T, m *ir.Model) (p, ref *Program) {
	t.Helper()
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ref, err = Compile(m, Options{NoFuse: true}); err != nil {
		t.Fatal(err)
	}
	return p, ref
}
