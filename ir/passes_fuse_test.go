package ir_test

import (
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

// fuseModel is a channels-first block with one of each fusion: a
// ZeroPadding2D before a Conv2D, a BatchNormalization, a constant
// per-channel Add and a ReLU after it, a second Conv2D whose output is
// added to the first's (a residual), a ReLU after the Add, and a
// Transpose to channels-last before a Dense's bias Add and softmax.
func fuseModel(t *testing.T) *ir.Model {
	t.Helper()
	df := ir.ChannelsFirst
	b := ir.NewBuilder("fuse")
	b.Input("in", ir.Shape{3, 6, 6}, df)
	win := ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1}
	b.Add("pad", &ir.ZeroPadding2D{Pads: [4]int{1, 1, 1, 1}, DataFormat: df}, "in")
	b.Add("c1", &ir.Conv2D{Filters: 4, Window2D: win, UseBias: true, DataFormat: df}, "pad")
	b.Add("bn", &ir.BatchNorm{Axis: 1, Epsilon: 1e-3, Center: true, Scale: true}, "c1")
	b.Add("k", &ir.Constant{Shape: ir.Shape{1, 4, 1, 1}})
	b.Add("bias", &ir.Binary{Op: ir.BinaryAdd}, "bn", "k")
	b.Add("r1", &ir.Activation{Act: ir.Act{Name: ir.ActReLU}}, "bias")
	b.Add("c2", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}, DataFormat: df}, "r1")
	b.Add("add", &ir.Merge{Mode: ir.MergeAdd}, "r1", "c2")
	b.Add("r2", &ir.Activation{Act: ir.Act{Name: ir.ActReLU}}, "add")
	b.Add("nhwc", &ir.Transpose{Perm: []int{0, 2, 3, 1}}, "r2")
	b.Add("d", &ir.Dense{Units: 2}, "nhwc")
	b.Add("dk", &ir.Constant{Shape: ir.Shape{2}})
	b.Add("dbias", &ir.Binary{Op: ir.BinaryAdd}, "d", "dk")
	b.Add("sm", &ir.Activation{Act: ir.Act{Name: ir.ActSoftmax, Axis: -1}}, "dbias")
	m, err := b.Build("sm")
	if err != nil {
		t.Fatal(err)
	}
	return constants(t, m)
}

// constants makes the Constant nodes of m (added by the Builder after
// another node) input-less, with weights, and retypes m.
func constants(t *testing.T, m *ir.Model) *ir.Model {
	t.Helper()
	for _, n := range m.Nodes {
		if k, ok := n.Op.(*ir.Constant); ok {
			n.Inputs = nil
			n.Weights = []*ir.Weight{ir.ConstWeight("value", k.Shape, make([]float32, k.Shape.Elements()))}
		}
	}
	if err := ir.RunPasses(m, ir.PassOrder, ir.PassInfer); err != nil {
		t.Fatal(err)
	}
	return m
}

func optimize(t *testing.T, m *ir.Model, keep ...string) *ir.Model {
	t.Helper()
	k := map[string]bool{}
	for _, n := range keep {
		k[n] = true
	}
	c := m.CopyForPasses()
	if err := (ir.Pipeline{Passes: ir.FusePasses(k)}).Run(c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFusePasses(t *testing.T) {
	m := fuseModel(t)
	before := ir.Format(m)
	o := optimize(t, m)
	if ir.Format(m) != before {
		t.Fatal("the passes changed the model they were given a copy of")
	}
	var got []string
	for _, n := range o.Nodes {
		got = append(got, ir.NodeText(n, nil))
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		// pad, c1, bn, bias and r1 are one Conv2D named r1.
		`r1 = Conv2D{Filters=4 KH=3 KW=3 SH=1 SW=1 Padding=valid UseBias=true Activation=relu DataFormat=channels_first Fused={Nodes=["pad","c1","bn","bias","r1"] Pads=[1,1,1,1] BN={Axis=1 Epsilon=0.001 Center=true Scale=true} Adds=[(1, 4, 1, 1)]}}(in) -> (None, 4, 6, 6) channels_first params 120 frozen 12 weights value (1, 4, 1, 1)`,
		// c2, add and r2: the Conv2D gains the residual input.
		`r2 = Conv2D{Filters=4 KH=1 KW=1 SH=1 SW=1 Padding=valid Activation=relu DataFormat=channels_first Fused={Nodes=["c2","add","r2"] Residual="r1"}}(r1, r1) -> (None, 4, 6, 6) channels_first`,
		// Dense, its bias Add and the softmax.
		`sm = Dense{Units=2 Activation=softmax{Axis=-1} Fused={Nodes=["d","dbias","sm"] Adds=[(2,)]}}(nhwc) -> (None, 6, 6, 2) channels_last`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing\n%s\nin\n%s", want, text)
		}
	}
	if len(o.Nodes) != 5 { // in, r1, r2, nhwc, sm
		t.Errorf("%d nodes left, want 5:\n%s", len(o.Nodes), text)
	}
	var changed []string
	for _, p := range o.Passes[len(m.Passes):] {
		changed = append(changed, p.Name+":"+string(rune('0'+p.Changed)))
	}
	if want := "sink-transpose:0 cancel-transposes:0 channel-shuffle:0 fuse-pad:1 fold-batchnorm:1 fold-channel-add:2 fuse-residual:1 fuse-gelu:0 fuse-layernorm:0 fuse-activation:3 fuse-pool:0 pad-channels:0"; strings.Join(changed, " ") != want {
		t.Errorf("passes %q, want %q", strings.Join(changed, " "), want)
	}
	// The fused nodes carry the folded nodes' weights (here only the
	// constant has any) after their own.
	if err := ir.CheckInvariants(o, ir.StageTyped); err != nil {
		t.Fatal(err)
	}
	if r1 := o.Node("r1"); len(r1.Specs) != 2+4+1 || r1.Specs[2].Name != "bn_gamma" || r1.Specs[6].Name != "add0" {
		t.Errorf("r1 specs %v; want kernel, bias, 4 BN weights, 1 constant", r1.Specs)
	}
}

// Nothing fuses into or across a kept node; the kept node itself may end a
// chain (it then names the fused node).
func TestFusePassesKeep(t *testing.T) {
	o := optimize(t, fuseModel(t), "c1", "bias", "pad")
	text := ir.Format(o)
	for _, name := range []string{"pad", "c1", "bias", "r1", "r2", "sm"} {
		if o.Node(name) == nil {
			t.Errorf("node %s gone:\n%s", name, text)
		}
	}
	// bn cannot fold into the kept c1; the Add of k ends a chain only
	// after a convolution, so bn stays, and r1 (after the kept bias)
	// stays an Activation.
	if o.Node("bn") == nil {
		t.Errorf("bn folded into kept c1:\n%s", text)
	}
	if _, ok := o.Node("r1").Op.(*ir.Activation); !ok {
		t.Errorf("r1 fused across the kept bias:\n%s", text)
	}
	if c, ok := o.Node("c1").Op.(*ir.Conv2D); !ok || c.Fused != nil {
		t.Errorf("kept pad folded into c1:\n%s", text)
	}
}

// sink-transpose moves a layout Transpose after the ops a convolution
// absorbs: Conv (NCHW) → Transpose → Add(bias of shape (1,1,1,C)) → Relu,
// as ONNX exports of Keras models have it, becomes one Conv2D and a
// Transpose named after the Relu.
func TestSinkTranspose(t *testing.T) {
	df := ir.ChannelsFirst
	b := ir.NewBuilder("sink")
	b.Input("in", ir.Shape{3, 5, 5}, df)
	b.Add("c", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}, DataFormat: df}, "in")
	b.Add("t", &ir.Transpose{Perm: []int{0, 2, 3, 1}}, "c")
	b.Add("k", &ir.Constant{Shape: ir.Shape{1, 1, 1, 4}})
	b.Add("add", &ir.Binary{Op: ir.BinaryAdd}, "t", "k")
	b.Add("relu", &ir.Activation{Act: ir.Act{Name: ir.ActReLU}}, "add")
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	m = constants(t, m)
	o := optimize(t, m)
	text := ir.Format(o)
	r := o.Node("relu")
	if tr, ok := r.Op.(*ir.Transpose); !ok || tr.Perm[3] != 1 || r.Out.Layout != ir.ChannelsLast {
		t.Fatalf("relu is not the transpose to channels-last:\n%s", text)
	}
	c, ok := o.Node(r.Inputs[0]).Op.(*ir.Conv2D)
	if !ok || c.Activation.Name != ir.ActReLU || c.Fused == nil || len(c.Fused.Adds) != 1 || !c.Fused.Adds[0].Equal(ir.Shape{1, 4, 1, 1}) {
		t.Fatalf("conv, bias and relu not fused:\n%s", text)
	}
	if len(o.Nodes) != 3 {
		t.Errorf("%d nodes, want in, conv, transpose:\n%s", len(o.Nodes), text)
	}
	// A kept transpose stays where it is.
	o = optimize(t, m, "t")
	if _, ok := o.Node("t").Op.(*ir.Transpose); !ok {
		t.Errorf("kept transpose moved:\n%s", ir.Format(o))
	}
}

// A fused node's shape rule checks what it folded.
func TestFusionInfer(t *testing.T) {
	in := ir.TensorType{Shape: ir.Shape{-1, 4, 4, 3}, Layout: ir.ChannelsLast}
	conv := &ir.Conv2D{Filters: 2, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1}, Fused: &ir.Fusion{Pads: [4]int{1, 1, 1, 1}}}
	out, err := conv.Infer([]ir.TensorType{in})
	if err != nil || !out.Shape.Equal(ir.Shape{-1, 4, 4, 2}) {
		t.Errorf("padded conv: %v %v", out, err)
	}
	conv.Fused.Residual = "skip"
	if _, err := conv.Infer([]ir.TensorType{in, {Shape: ir.Shape{-1, 4, 4, 3}}}); err == nil || !strings.Contains(err.Error(), "residual skip") {
		t.Errorf("residual of another shape: %v", err)
	}
	if _, err := conv.Infer([]ir.TensorType{in}); err == nil {
		t.Error("missing residual input accepted")
	}
	conv.Fused = &ir.Fusion{BN: &ir.BatchNorm{Axis: 1}}
	if _, err := conv.Infer([]ir.TensorType{in}); err == nil || !strings.Contains(err.Error(), "axis") {
		t.Errorf("BN off the channel axis: %v", err)
	}
	conv.Fused = &ir.Fusion{Adds: []ir.Shape{{1, 4, 1, 1}}}
	if _, err := conv.Infer([]ir.TensorType{in}); err == nil {
		t.Error("constant off the channel axis accepted")
	}
}

// An ONNX export of Keras's conv → ReLU → max pooling: channels-first Conv,
// Transpose to channels-last, bias Add, Relu, Transpose back, MaxPool.
// sink-transpose moves the first Transpose after the Relu, the pair
// cancels, and the pooling folds into the Conv2D.
func TestCancelTransposesAndPool(t *testing.T) {
	df := ir.ChannelsFirst
	b := ir.NewBuilder("pool")
	b.Input("in", ir.Shape{3, 6, 6}, df)
	b.Add("c", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1}, DataFormat: df}, "in")
	b.Add("t", &ir.Transpose{Perm: []int{0, 2, 3, 1}}, "c")
	b.Add("k", &ir.Constant{Shape: ir.Shape{4}})
	b.Add("add", &ir.Binary{Op: ir.BinaryAdd}, "t", "k")
	b.Add("relu", &ir.Activation{Act: ir.Act{Name: ir.ActReLU}}, "add")
	b.Add("back", &ir.Transpose{Perm: []int{0, 3, 1, 2}}, "relu")
	b.Add("pool", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: df}, "back")
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	m = constants(t, m)
	o := optimize(t, m)
	text := ir.Format(o)
	p := o.Node("pool")
	c, ok := p.Op.(*ir.Conv2D)
	if !ok || c.Fused.PoolOp() == nil || c.Activation.Name != ir.ActReLU || len(c.Fused.Adds) != 1 || len(o.Nodes) != 2 ||
		!p.Out.Shape.Equal(ir.Shape{-1, 4, 3, 3}) {
		t.Fatalf("not one pooled Conv2D:\n%s", text)
	}
	// Keeping the ReLU keeps its transpose (it carries the ReLU's value)
	// and the pair, so the pooling reads the transpose back, not the conv.
	o = optimize(t, m, "relu")
	if _, ok := o.Node("pool").Op.(*ir.Pool2D); !ok || o.Node("back") == nil {
		t.Fatalf("fused across the kept relu:\n%s", ir.Format(o))
	}
}
