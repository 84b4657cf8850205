package ir_test

import (
	"strings"
	"testing"

	"github.com/kconv/kconv/ir"
)

func twoNodes() *ir.Model {
	return &ir.Model{Name: "m", Inputs: []string{"in"}, Outputs: []string{"b"}, Nodes: []*ir.Node{
		{Name: "b", Op: &ir.Activation{Act: ir.Act{Name: "relu"}}, Inputs: []string{"in"}},
		{Name: "in", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, 4}}}},
		{Name: "dead", Op: &ir.Activation{Act: ir.Act{Name: "tanh"}}, Inputs: []string{"in"}},
	}}
}

func TestPipelineRecordsAndStops(t *testing.T) {
	m := twoNodes()
	p := ir.Pipeline{Passes: []ir.Pass{ir.PassOrder, ir.PassInfer, ir.PassPruneDead}}
	if err := p.Run(m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range m.Passes {
		got = append(got, s.Name+":"+string(rune('0'+s.Changed)))
	}
	// order-nodes swaps the input and b; infer-shapes types all three;
	// prune-dead drops "dead".
	if want := "order-nodes:2 infer-shapes:3 prune-dead:1"; strings.Join(got, " ") != want {
		t.Errorf("recorded %q, want %q", strings.Join(got, " "), want)
	}
	if len(m.Nodes) != 2 || m.Node("dead") != nil {
		t.Errorf("dead node kept: %d nodes", len(m.Nodes))
	}

	m = twoNodes()
	p.StopAfter = "order-nodes"
	if err := p.Run(m); err != nil {
		t.Fatal(err)
	}
	if len(m.Passes) != 1 || len(m.Nodes[1].Out.Shape) != 0 {
		t.Errorf("did not stop after order-nodes: %v", m.Passes)
	}
	p.StopAfter = "nope"
	if err := p.Run(twoNodes()); err == nil || !strings.Contains(err.Error(), "order-nodes, infer-shapes, prune-dead") {
		t.Errorf("unknown StopAfter: %v", err)
	}
}

// A pass that breaks an invariant is named by the check that follows it.
func TestPipelineChecksAfterEachPass(t *testing.T) {
	bad := ir.Pass{Name: "drop-types", After: ir.StageGraph, Run: func(m *ir.Model) (int, error) {
		m.Nodes[1].Out = ir.TensorType{}
		return 1, nil
	}}
	err := ir.Pipeline{Passes: []ir.Pass{ir.PassOrder, ir.PassInfer, bad}}.Run(twoNodes())
	if err == nil || !strings.Contains(err.Error(), "after pass drop-types") || !strings.Contains(err.Error(), "no output type") {
		t.Errorf("got %v", err)
	}
}

// The passes that share a Pipeline's graph index give what they give run
// one at a time (each indexing the model itself), and a pass that changes
// the graph's structure makes the next check index it again.
func TestPipelineSharedIndex(t *testing.T) {
	// in → a → c, in → b → c (b after c in the file), "dead" unused.
	diamond := func() *ir.Model {
		relu := func(name string, in ...string) *ir.Node {
			if len(in) == 2 {
				return &ir.Node{Name: name, Op: &ir.Merge{Mode: ir.MergeAdd}, Inputs: in}
			}
			return &ir.Node{Name: name, Op: &ir.Activation{Act: ir.Act{Name: "relu"}}, Inputs: in}
		}
		return &ir.Model{Name: "m", Inputs: []string{"in"}, Outputs: []string{"c"}, Nodes: []*ir.Node{
			{Name: "in", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, 4}}}},
			relu("a", "in"), relu("c", "a", "b"), relu("dead", "c"), relu("b", "in"),
		}}
	}
	names := func(m *ir.Model) string {
		var s []string
		for _, n := range m.Nodes {
			s = append(s, n.Name+n.Out.Shape.String())
		}
		return strings.Join(s, " ")
	}
	piped := diamond()
	if err := (ir.Pipeline{Passes: []ir.Pass{ir.PassOrder, ir.PassInfer, ir.PassPruneDead}}).Run(piped); err != nil {
		t.Fatal(err)
	}
	alone := diamond()
	for _, q := range []ir.Pass{ir.PassOrder, ir.PassInfer, ir.PassPruneDead} {
		if _, err := q.Run(alone); err != nil {
			t.Fatal(err)
		}
	}
	if names(piped) != names(alone) || strings.Contains(names(piped), "dead") {
		t.Errorf("pipeline: %s\none pass at a time: %s", names(piped), names(alone))
	}

	// A pass that renames a node (and says so) is followed by a check
	// that indexes the model again: the stale index would accept it.
	rename := ir.Pass{Name: "rename", After: ir.StageTyped, Run: func(m *ir.Model) (int, error) {
		m.Nodes[1].Name = "zzz"
		return 1, nil
	}}
	err := ir.Pipeline{Passes: []ir.Pass{ir.PassOrder, ir.PassInfer, rename, ir.PassPruneDead}}.Run(diamond())
	if err == nil || !strings.Contains(err.Error(), "after pass rename") {
		t.Errorf("renamed input: got %v", err)
	}

	cycle := diamond()
	cycle.Nodes[1].Inputs = []string{"c"}
	err = ir.Pipeline{Passes: []ir.Pass{ir.PassOrder}}.Run(cycle)
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: got %v", err)
	}
}
