package ir

import (
	"slices"
	"testing"
)

// TestKerasMaskEra: the file's keras_version decides how merges combine
// masks: Keras 1/2 standalone and tf.keras ("-tf", or 2.4 on) And them,
// Keras 3 Ors them; a Softmax layer reads the mask from tf.keras on.
func TestKerasMaskEra(t *testing.T) {
	for v, want := range map[string]maskEra{
		"": eraUnknown, "x": eraUnknown, "1.2.2": eraKeras2, "2.1.6": eraKeras2, "2.3.1": eraKeras2,
		"2.2.4-tf": eraTFKeras, "2.4.0": eraTFKeras, "2.15.0": eraTFKeras, "3": eraKeras3, "3.3.3": eraKeras3,
	} {
		if got := kerasMaskEra(v); got != want {
			t.Errorf("%q: era %d, want %d", v, got, want)
		}
	}
}

// TestModelMasksSources: a merge of two masks and a third path to the same
// source: Into gives the combination with each source once, keyed so that
// equal combinations share a key; layers that drop the mask give none.
func TestModelMasksSources(t *testing.T) {
	b := NewBuilder("masks")
	x := b.Input("x", Shape{4, 2}, LayoutNone)
	a := b.Add("a", &Masking{Value: 0}, x)
	c := b.Add("c", &Masking{Value: 1}, x)
	d := b.Add("d", &Activation{Act: Act{Name: ActTanh}}, a)
	b.Add("sum", &Merge{Mode: MergeAdd}, a, c, d)
	rec := &Recurrent{Cell: CellSimpleRNN, Units: 1, Activation: Act{Name: ActTanh}}
	b.Add("rnn", rec, "sum")
	b.Add("flat", &Flatten{}, a)
	b.Add("rnn2", &Recurrent{Cell: CellSimpleRNN, Units: 1, Activation: Act{Name: ActTanh}}, "c")
	m, err := b.Build("rnn", "flat", "rnn2")
	if err != nil {
		t.Fatal(err)
	}
	m.Meta.KerasVersion = "2.2.4"
	ms, err := ModelMasks(m)
	if err != nil {
		t.Fatal(err)
	}
	mk := ms.Into("rnn")
	if mk == nil || mk.Key() != "all(a,c)" || len(mk.Sources()) != 2 || mk.Any {
		t.Fatalf("rnn's mask: %+v", mk)
	}
	got := mk.Combine(func(src *Node) []float32 {
		if src.Name == "a" {
			return []float32{1, 0, 1, 0}
		}
		return []float32{1, 1, 0, 0}
	})
	if want := []float32{1, 0, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("combined %v, want %v", got, want)
	}
	if mk := ms.Into("rnn2"); mk == nil || mk.Key() != "c" {
		t.Errorf("rnn2's mask: %+v", mk)
	}
	if ms.Into("flat") != nil {
		t.Error("Flatten reads no mask")
	}
}

// TestModelMasksLambda: a Lambda drops the mask, unless its config gives
// its own (a function kconv cannot run): then a layer reading it is
// refused, naming the layer.
func TestModelMasksLambda(t *testing.T) {
	for _, own := range []bool{false, true} {
		b := NewBuilder("lambda")
		b.Input("x", Shape{4, 2}, LayoutNone)
		b.Add("mask", &Masking{Value: 0})
		b.Add("lam", &Lambda{OutputShape: Shape{4, 2}, Mask: own})
		b.Add("rnn", &Recurrent{Cell: CellSimpleRNN, Units: 1, Activation: Act{Name: ActTanh}})
		m, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		ms, err := ModelMasks(m)
		switch {
		case !own && (err != nil || ms.Into("rnn") != nil):
			t.Errorf("plain Lambda: %v, mask %v", err, ms.Into("rnn"))
		case own && (err == nil || err.Error() != "layer 'rnn': SimpleRNN: Lambda 'lam' gives its own mask (a function kconv cannot run)"):
			t.Errorf("Lambda with a mask: error %v", err)
		}
	}
}
