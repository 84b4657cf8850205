package exec_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
)

// The tests here check how a Keras mask travels to the layers that read it
// (ir.ModelMasks), with expected values computed from Keras's documented
// semantics: a masked RNN skips the masked steps (its last output is the
// state after the last kept step), GlobalAveragePooling1D averages over
// the kept steps.

// rnnCell is the SimpleRNN of the tests: one unit, h = tanh(w·x + 0.5·h +
// 0.1) with w·x the dot product of kernel w and step x.
func rnnCell(w []float64, x []float64, h float64) float64 {
	s := 0.5*h + 0.1
	for i := range w {
		s += w[i] * x[i]
	}
	return math.Tanh(s)
}

// runWithRNN ends b with a SimpleRNN "rnn" over feat features
// (simpleRNN), builds it as a file of Keras version ver would be read, and
// runs it on ins (runMasked); w is the RNN's weights.
func runWithRNN(t *testing.T, b *ir.Builder, feat int, ver string, ins []*ir.Tensor) (w [][]float32, got map[string]*ir.Tensor, err error) {
	t.Helper()
	rnn, w := simpleRNN(feat)
	b.Add("rnn", rnn)
	b.SetWeights("rnn", w...)
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	m.Meta.KerasVersion = ver
	got, err = runMasked(t, m, ins, "rnn")
	return w, got, err
}

func simpleRNN(feat int) (*ir.Recurrent, [][]float32) {
	k := make([]float32, feat)
	for i := range k {
		k[i] = 0.8 - 0.5*float32(i)
	}
	return &ir.Recurrent{Cell: ir.CellSimpleRNN, Units: 1, Activation: ir.Act{Name: ir.ActTanh}, UseBias: true}, [][]float32{k, {0.5}, {0.1}}
}

// lastKept runs rnnCell over the steps of rows (row, step, features) that
// keep[row][step] keeps, returning each row's final state.
func lastKept(w []float64, rows [][][]float64, keep [][]bool) []float64 {
	var out []float64
	for r, row := range rows {
		h := 0.0
		for s, x := range row {
			if keep[r][s] {
				h = rnnCell(w, x, h)
			}
		}
		out = append(out, h)
	}
	return out
}

func runMasked(t *testing.T, m *ir.Model, xs []*ir.Tensor, keep ...string) (map[string]*ir.Tensor, error) {
	t.Helper()
	p, err := exec.Compile(m, exec.Options{Keep: keep})
	if err != nil {
		return nil, err
	}
	_, kept, err := p.RunNodes(context.Background(), xs, keep)
	return kept, err
}

func near(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(float64(got[i])) || math.Abs(float64(got[i])-want[i]) > 1e-5 {
			t.Errorf("%s: got %v, want %v", what, got, want)
			return
		}
	}
}

// TestMaskThroughDense: Keras passes a Masking layer's mask through Dense
// (on each step), Activation, Dropout, PReLU, BatchNormalization and
// LayerNormalization to the SimpleRNN after them, which skips the masked
// steps; Keras 3's TimeDistributed and a Conv1D drop it (the RNN then
// reads every step, the zeroed ones included). The Dense (one unit, y =
// 2x + 1) makes the masked steps nonzero, so reading them would show.
func TestMaskThroughDense(t *testing.T) {
	x := &ir.Tensor{Shape: ir.Shape{2, 4, 1}, Data: []float32{0.5, 0, -1, 0.25, 0, 0.3, 0, 0}}
	keepRows := [][]bool{{true, false, true, true}, {false, true, false, false}}
	dense := func(v float64) float64 { return 2*v + 1 }
	for _, c := range []struct {
		name  string
		ops   []ir.Op
		f     func(float64) float64 // the chain's output at a kept step
		class string                // the Dense's Keras class
		ver   string
		drops bool
	}{
		{name: "dense", ops: []ir.Op{&ir.Dense{Units: 1, UseBias: true}}, f: dense},
		{name: "dense_tanh_dropout", ops: []ir.Op{&ir.Dense{Units: 1, UseBias: true}, &ir.Activation{Act: ir.Act{Name: ir.ActTanh}}, &ir.Dropout{Rate: 0.4}},
			f: func(v float64) float64 { return math.Tanh(dense(v)) }},
		{name: "dense_prelu", ops: []ir.Op{&ir.Dense{Units: 1, UseBias: true}, &ir.PReLU{SharedAxes: []int{1}}},
			f: func(v float64) float64 { y := dense(v); return max(y, 0) + 0.25*min(y, 0) }},
		{name: "dense_batchnorm", ops: []ir.Op{&ir.Dense{Units: 1, UseBias: true}, &ir.BatchNorm{Axis: -1, Epsilon: 0, Center: true, Scale: true}},
			f: func(v float64) float64 { return 3*(dense(v)-1)/2 + 0.5 }},
		{name: "dense_layernorm", ops: []ir.Op{&ir.Dense{Units: 1, UseBias: true}, &ir.LayerNormalization{Axes: []int{-1}, Epsilon: 1e-3, Center: true, Scale: true}},
			f: func(float64) float64 { return 0.25 }}, // one feature: beta
		{name: "timedistributed_keras2", ops: []ir.Op{&ir.Dense{Units: 1, UseBias: true}}, f: dense, class: "TimeDistributed", ver: "2.2.4"},
		{name: "timedistributed_keras3", ops: []ir.Op{&ir.Dense{Units: 1, UseBias: true}}, f: dense, class: "TimeDistributed", ver: "3.3.3", drops: true},
		{name: "conv1d", ops: []ir.Op{&ir.Conv1D{Filters: 1, Window1D: ir.Window1D{K: 1, Stride: 1, Padding: ir.PadValid}, UseBias: true, DataFormat: ir.ChannelsLast}},
			f: dense, drops: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := ir.NewBuilder("mask_" + c.name)
			b.Input("x", ir.Shape{4, 1}, ir.LayoutNone)
			b.Add("mask", &ir.Masking{Value: 0})
			for i, op := range c.ops {
				name := "layer" + string(rune('0'+i))
				class := ""
				if i == 0 {
					class = c.class
				}
				b.AddClass(name, class, op)
				switch op.(type) {
				case *ir.Dense, *ir.Conv1D:
					b.SetWeights(name, []float32{2}, []float32{1})
				case *ir.PReLU:
					b.SetWeights(name, []float32{0.25})
				case *ir.BatchNorm:
					b.SetWeights(name, []float32{3}, []float32{0.5}, []float32{1}, []float32{4})
				case *ir.LayerNormalization:
					b.SetWeights(name, []float32{2}, []float32{0.25})
				}
			}
			_, got, err := runWithRNN(t, b, 1, c.ver, []*ir.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			var rows [][][]float64
			keep := keepRows
			for r := 0; r < 2; r++ {
				var row [][]float64
				for s := 0; s < 4; s++ {
					v := float64(x.Data[r*4+s])
					if !keepRows[r][s] {
						v = 0 // Masking zeroes the step
					}
					row = append(row, []float64{c.f(v)})
				}
				rows = append(rows, row)
			}
			if c.drops {
				keep = [][]bool{{true, true, true, true}, {true, true, true, true}}
			}
			near(t, "rnn", got["rnn"].Data, lastKept([]float64{0.8}, rows, keep))
		})
	}
}

// TestMaskGlobalAveragePooling1D: Embedding(mask_zero) →
// GlobalAveragePooling1D → Dense, the text-model head: the pooling
// averages the embeddings of the nonzero tokens only (a row of zeros only
// gives 0/0, NaN, as Keras), and consumes the mask (the Dense after it
// sees none). GlobalMaxPooling1D ignores the mask (Keras's takes none).
func TestMaskGlobalAveragePooling1D(t *testing.T) {
	table := []float32{9, 9, 1, 2, 3, -4, 0.5, 6} // 4 tokens × 2
	tokens := &ir.Tensor{Shape: ir.Shape{3, 4}, Data: []float32{1, 0, 2, 3, 0, 0, 0, 0, 2, 2, 0, 0}}
	emb := func(tok float32) []float64 {
		i := int(tok)
		return []float64{float64(table[2*i]), float64(table[2*i+1])}
	}
	var wantAvg, wantMax, wantDense []float64
	for r := 0; r < 3; r++ {
		sum, mx := []float64{0, 0}, []float64{math.Inf(-1), math.Inf(-1)}
		n := 0.0
		for s := 0; s < 4; s++ {
			tok := tokens.Data[r*4+s]
			e := emb(tok)
			for j := range e {
				mx[j] = max(mx[j], e[j])
			}
			if tok != 0 {
				n++
				for j := range e {
					sum[j] += e[j]
				}
			}
		}
		avg := []float64{sum[0] / n, sum[1] / n}
		wantAvg = append(wantAvg, avg...)
		wantMax = append(wantMax, mx...)
		wantDense = append(wantDense, 0.5*avg[0]-avg[1]+0.25)
	}
	b := ir.NewBuilder("embedding_pool")
	b.Input("tokens", ir.Shape{4}, ir.LayoutNone)
	b.Add("embedding", &ir.Embedding{InputDim: 4, OutputDim: 2, MaskZero: true})
	b.SetWeights("embedding", table)
	b.Add("avg", &ir.GlobalPool1D{DataFormat: ir.ChannelsLast})
	b.Add("dense", &ir.Dense{Units: 1, UseBias: true})
	b.SetWeights("dense", []float32{0.5, -1}, []float32{0.25})
	b.Add("max", &ir.GlobalPool1D{Max: true, DataFormat: ir.ChannelsLast}, "embedding")
	m, err := b.Build("dense", "max")
	if err != nil {
		t.Fatal(err)
	}
	got, err := runMasked(t, m, []*ir.Tensor{tokens}, "avg", "dense", "max")
	if err != nil {
		t.Fatal(err)
	}
	near(t, "average", got["avg"].Data, wantAvg)
	near(t, "dense", got["dense"].Data, wantDense)
	near(t, "max", got["max"].Data, wantMax)
}

// TestMaskMerge: two masked inputs merged. Keras 1/2 keep a step that
// every masked input keeps (an unmasked input does not count); Keras 3
// keeps one that any input keeps, and drops the mask when an input has
// none; Concatenate on features counts an unmasked input as keeping every
// step. With no Keras version the two disagree, and kconv refuses.
func TestMaskMerge(t *testing.T) {
	x1 := &ir.Tensor{Shape: ir.Shape{1, 4, 1}, Data: []float32{0.5, 0, 0, 0.7}}
	x2 := &ir.Tensor{Shape: ir.Shape{1, 4, 1}, Data: []float32{0, 0, -0.3, 0.2}}
	keep1 := []bool{true, false, false, true}
	and := []bool{false, false, false, true}
	or := []bool{true, false, true, true}
	all := []bool{true, true, true, true}
	for _, c := range []struct {
		name     string
		merge    ir.MergeMode
		unmasked bool // x2 goes in without a Masking
		ver      string
		keep     []bool
		err      string
	}{
		{"add_keras2", ir.MergeAdd, false, "2.2.4", and, ""},
		{"add_tfkeras", ir.MergeAdd, false, "2.9.0", and, ""},
		{"add_keras1", ir.MergeAdd, false, "1.2.2", and, ""},
		{"add_keras3", ir.MergeAdd, false, "3.3.3", or, ""},
		{"multiply_keras3", ir.MergeMultiply, false, "3.3.3", or, ""},
		{"add_unmasked_keras2", ir.MergeAdd, true, "2.2.4", keep1, ""},
		{"add_unmasked_keras3", ir.MergeAdd, true, "3.3.3", all, ""},
		{"concat_keras2", ir.MergeConcat, false, "2.2.4", and, ""},
		{"concat_keras3", ir.MergeConcat, false, "3.3.3", or, ""},
		{"concat_unmasked_keras2", ir.MergeConcat, true, "2.2.4", keep1, ""},
		{"concat_unmasked_keras3", ir.MergeConcat, true, "3.3.3", all, ""},
		{"add_unknown_version", ir.MergeAdd, false, "", nil, "layer 'rnn': SimpleRNN: the file states no Keras version, and Keras 2 and 3 combine the masks of Add 'merge' differently"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := ir.NewBuilder("merge_" + c.name)
			a := b.Add("mask1", &ir.Masking{Value: 0}, b.Input("x1", ir.Shape{4, 1}, ir.LayoutNone))
			in2 := b.Input("x2", ir.Shape{4, 1}, ir.LayoutNone)
			if !c.unmasked {
				in2 = b.Add("mask2", &ir.Masking{Value: 0}, in2)
			}
			feat := 1
			mg := &ir.Merge{Mode: c.merge}
			if c.merge == ir.MergeConcat {
				mg.Axis, feat = -1, 2
			}
			b.Add("merge", mg, a, in2)
			w, got, err := runWithRNN(t, b, feat, c.ver, []*ir.Tensor{x1, x2})
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("got error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var row [][]float64
			var wts []float64
			for _, v := range w[0] {
				wts = append(wts, float64(v))
			}
			for s := 0; s < 4; s++ {
				// Masking zeroes the masked steps of each input.
				v1, v2 := float64(x1.Data[s]), float64(x2.Data[s])
				switch c.merge {
				case ir.MergeAdd:
					row = append(row, []float64{v1 + v2})
				case ir.MergeMultiply:
					row = append(row, []float64{v1 * v2})
				default:
					row = append(row, []float64{v1, v2})
				}
			}
			near(t, "rnn", got["rnn"].Data, lastKept(wts, [][][]float64{row}, [][]bool{c.keep}))
		})
	}
}

// TestMaskRefused: where Keras reads a mask in a way kconv does not follow,
// kconv refuses the model with one line naming the layer: a Concatenate of
// masked values along the steps, an Attention layer (which masks its
// scores), a Softmax layer of tf.keras or Keras 3 (which masks its input);
// a Softmax layer of standalone Keras 2 passes the mask on unchanged.
func TestMaskRefused(t *testing.T) {
	build := func(ver string, add func(b *ir.Builder, masked string) string) (*ir.Model, error) {
		b := ir.NewBuilder("refused")
		masked := b.Add("mask", &ir.Masking{Value: 0}, b.Input("x", ir.Shape{4, 2}, ir.LayoutNone))
		add(b, masked)
		m, err := b.Build()
		if err != nil {
			return nil, err
		}
		m.Meta.KerasVersion = ver
		return m, nil
	}
	rnn := func(b *ir.Builder, feat int) {
		op, w := simpleRNN(feat)
		b.Add("rnn", op)
		b.SetWeights("rnn", w...)
	}
	for _, c := range []struct {
		name, ver string
		add       func(b *ir.Builder, masked string) string
		err       string
	}{
		{"concat_steps", "3.3.3", func(b *ir.Builder, masked string) string {
			b.Add("cat", &ir.Merge{Mode: ir.MergeConcat, Axis: 1}, masked, masked)
			rnn(b, 2)
			return ""
		}, "layer 'rnn': SimpleRNN: Concatenate 'cat' joins masked values along axis 1, and kconv follows masks only through a concatenation of features"},
		{"attention", "2.9.0", func(b *ir.Builder, masked string) string {
			return b.Add("att", &ir.Attention{}, masked, masked)
		}, "layer 'att': Attention: Keras applies the mask its input 'mask' carries (from a Masking or Embedding mask_zero layer), which kconv does not"},
		{"softmax_keras3", "3.3.3", func(b *ir.Builder, masked string) string {
			return b.AddClass("sm", "Softmax", &ir.Activation{Act: ir.Act{Name: ir.ActSoftmax, Axis: -1}}, masked)
		}, "layer 'sm': Softmax: Keras masks its input with the mask it carries (from a Masking or Embedding mask_zero layer), which kconv does not"},
		{"softmax_keras2", "2.2.4", func(b *ir.Builder, masked string) string {
			b.AddClass("sm", "Softmax", &ir.Activation{Act: ir.Act{Name: ir.ActSoftmax, Axis: -1}}, masked)
			rnn(b, 2)
			return ""
		}, ""},
		{"activation_softmax_keras3", "3.3.3", func(b *ir.Builder, masked string) string {
			b.Add("sm", &ir.Activation{Act: ir.Act{Name: ir.ActSoftmax, Axis: -1}}, masked)
			rnn(b, 2)
			return ""
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := build(c.ver, c.add)
			if err != nil {
				t.Fatal(err)
			}
			_, err = exec.Compile(m, exec.Options{})
			switch {
			case c.err == "" && err != nil:
				t.Fatal(err)
			case c.err != "" && (err == nil || err.Error() != c.err):
				t.Fatalf("got error %v, want %q", err, c.err)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Fatalf("error spans lines: %v", err)
			}
		})
	}
}
