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
