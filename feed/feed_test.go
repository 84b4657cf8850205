package feed

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

func imageModel(t *testing.T, l ir.Layout) *ir.Model {
	t.Helper()
	shape := ir.Shape{4, 4, 3}
	if l == ir.ChannelsFirst {
		shape = ir.Shape{3, 4, 4}
	}
	b := ir.NewBuilder("m")
	b.Input("x", shape, l)
	b.Add("y", &ir.Flatten{})
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Read dispatches on the argument: .npy (shape checked), images (resized,
// normalized, in the model's layout), anything else ErrNotInput.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	m := imageModel(t, ir.ChannelsLast)
	npy := filepath.Join(dir, "x.npy")
	f, err := os.Create(npy)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 2*4*4*3)
	for i := range want {
		want[i] = float32(i)
	}
	if err := tensorio.EncodeNPY(f, []int{2, 4, 4, 3}, want); err != nil {
		t.Fatal(err)
	}
	f.Close()
	x, _, err := Read(m, []string{npy}, Options{})
	if err != nil || !x.Shape.Equal(ir.Shape{2, 4, 4, 3}) || x.Data[5] != 5 || x.Layout != ir.ChannelsLast {
		t.Fatalf("npy: %v %v", x, err)
	}
	if _, _, err := Read(imageModel(t, ir.ChannelsFirst), []string{npy}, Options{}); err == nil || !strings.Contains(err.Error(), "x.npy: input has shape [2 4 4 3]") {
		t.Errorf("npy of the wrong shape: %v", err)
	}
	if _, _, err := Read(m, []string{filepath.Join(dir, "x.txt")}, Options{}); !errors.Is(err, ErrNotInput) {
		t.Errorf("x.txt: %v, want ErrNotInput", err)
	}
	img := filepath.Join("testdata", "gradient.png")
	var first float32
	for _, l := range []ir.Layout{ir.ChannelsLast, ir.ChannelsFirst} {
		x, _, err := Read(imageModel(t, l), []string{img, img}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if x.Shape[0] != 2 || x.Layout != l || len(x.Data) != 2*48 {
			t.Fatalf("%v: image batch %v", l, x)
		}
		// Identity preprocessing: 0–255 RGB, red first in both layouts.
		if first = x.Data[0]; first <= 0 || first > 255 {
			t.Errorf("%v: first value %v, want a red value in (0, 255]", l, first)
		}
	}
	tf, _ := Preprocessing("tf")
	x, _, err = Read(m, []string{img}, Options{Normalize: &tf})
	if want := first/127.5 - 1; err != nil || x.Data[0] != want {
		t.Errorf("tf mode: first value %v (%v), want %v", x.Data[0], err, want)
	}
	if _, _, err := Read(m, []string{img}, Options{MemoryBudget: 10}); err == nil || !strings.Contains(err.Error(), "memory budget") {
		t.Errorf("budget: %v", err)
	}
}
