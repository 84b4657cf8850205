package exec

import (
	"context"
	"testing"

	"github.com/kconv/kconv/ir"
)

// TestBatchSplit: a multi-threaded Program runs a batch as chunks of
// images, each through the whole model on one worker, and gives what the
// one-thread Program gives, through Run and RunInto, for batch sizes that
// divide into the chunks and ones that leave a short last chunk.
func TestBatchSplit(t *testing.T) {
	m := blocksCNN(t)
	p2, err := Compile(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := Compile(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !p2.splits {
		t.Fatal("a CNN with a dynamic batch does not split")
	}
	for n, want := range map[int]int{1: 0, 2: 1, 3: 1, 5: 2, 8: 2} {
		if got := p2.splitChunk(n); got != want {
			t.Errorf("batch %d on 2 threads: chunks of %d images, want %d", n, got, want)
		}
	}
	if p1.splitChunk(8) != 0 {
		t.Error("a one-thread Program splits its batch")
	}
	// Dense weights over splitWeightBytes keep a run whole (blocksCNN's
	// are a few hundred bytes: its count stands in for a classifier's).
	if p2.denseBytes <= 0 || p2.denseBytes > splitWeightBytes {
		t.Fatalf("blocksCNN's dense weights counted as %d bytes", p2.denseBytes)
	}
	saved := p2.denseBytes
	p2.denseBytes = splitWeightBytes + 1
	if p2.splitChunk(8) != 0 {
		t.Error("a Program with 40 MB of dense weights splits its batch")
	}
	p2.denseBytes = saved
	sameOutputs(t, "split", p2, p1, m, []int{2, 3, 5, 8}, 1e-4)
	ctx := context.Background()
	x := fastInput(m, 7)
	want, err := p1.Run(ctx, []*ir.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	got := []*ir.Tensor{ir.NewTensor(want[0].Shape, want[0].Layout)}
	if err := p2.RunInto(ctx, []*ir.Tensor{x}, got); err != nil {
		t.Fatal(err)
	}
	for i, v := range want[0].Data {
		if d := got[0].Data[i] - v; d > 1e-4 || d < -1e-4 {
			t.Fatalf("RunInto batch 7: output[%d] = %v, one thread gave %v", i, got[0].Data[i], v)
		}
	}
	// A wrong output tensor is refused before anything runs.
	bad := []*ir.Tensor{ir.NewTensor(append(ir.Shape{6}, want[0].Shape[1:]...), want[0].Layout)}
	if err := p2.RunInto(ctx, []*ir.Tensor{x}, bad); err == nil {
		t.Error("RunInto took an output of the wrong batch size")
	}
}

// TestBatchSplitCancel: a cancelled context stops a split run with the
// context's error.
func TestBatchSplitCancel(t *testing.T) {
	m := blocksCNN(t)
	p, err := Compile(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Run(ctx, []*ir.Tensor{fastInput(m, 4)}); err == nil {
		t.Error("a cancelled split run returned no error")
	}
}
