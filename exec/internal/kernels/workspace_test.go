package kernels

import "testing"

func TestWorkspace(t *testing.T) {
	var nilWS *Workspace
	if got := len(nilWS.Get(5)); got != 5 || nilWS.Cap() != 0 {
		t.Fatalf("nil workspace: len %d cap %d", got, nilWS.Cap())
	}
	ws := NewWorkspace(10)
	a := ws.Get(8)
	if len(a) != 8 || ws.Cap() != 10 {
		t.Fatalf("Get(8): len %d cap %d", len(a), ws.Cap())
	}
	b := ws.Get(10)
	if &a[0] != &b[0] {
		t.Fatal("Get within capacity reallocated")
	}
	c := ws.Get(100)
	if len(c) != 100 || ws.Cap() < 100 {
		t.Fatalf("Get(100): len %d cap %d", len(c), ws.Cap())
	}
	if d := ws.Get(50); &d[0] != &c[0] {
		t.Fatal("smaller Get after growth reallocated")
	}
	var zero Workspace
	if len(zero.Get(3)) != 3 {
		t.Fatal("zero Workspace")
	}
}

// TestConv2DWorkspaceReuse checks that a workspace sized by one layer is
// reused without allocation by a later, smaller layer.
func TestConv2DWorkspaceReuse(t *testing.T) {
	ws := &Workspace{}
	big := ConvParams{N: 1, H: 20, W: 20, C: 16, OutC: 8, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	small := ConvParams{N: 1, H: 6, W: 6, C: 4, OutC: 4, KH: 3, KW: 3}
	run := func(p ConvParams) {
		Conv2D(p, khRand(1, p.InLen()), khRand(2, p.KernelLen()), nil, Activation{}, make([]float32, p.OutLen()), ws)
	}
	run(big)
	c := ws.Cap()
	if c == 0 {
		t.Fatal("Conv2D did not use the workspace")
	}
	run(small)
	if ws.Cap() != c {
		t.Fatalf("workspace grew from %d to %d for a smaller layer", c, ws.Cap())
	}
}
