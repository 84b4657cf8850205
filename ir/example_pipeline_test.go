package ir_test

import (
	"fmt"
	"os"

	"github.com/kconv/kconv/ir"
)

// A model printed in the text form of kconv ir: one line per node.
func ExampleModel_WriteText() {
	b := ir.NewBuilder("tiny")
	x := b.Input("x", ir.Shape{8}, ir.LayoutNone)
	b.Add("fc", &ir.Dense{Units: 2, UseBias: true, Activation: ir.Act{Name: ir.ActSoftmax, Axis: -1}}, x)
	m, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	m.WriteText(os.Stdout)
	// Output:
	// model tiny format=go
	// inputs x
	// outputs fc
	// x = Input{Type=(None, 8)}() -> (None, 8)
	// fc = Dense{Units=2 UseBias=true Activation=softmax{Axis=-1}}(x [(None, 8)]) -> (None, 2) params 18
}

// A pipeline of named passes: the invariants are checked after each one and
// what ran is recorded on the model.
func ExamplePipeline() {
	m := &ir.Model{Name: "m", Inputs: []string{"x"}, Outputs: []string{"y"}, Nodes: []*ir.Node{
		{Name: "x", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, 4}}}},
		{Name: "unused", Op: &ir.Activation{Act: ir.Act{Name: ir.ActTanh}}, Inputs: []string{"x"}},
		{Name: "y", Op: &ir.Activation{Act: ir.Act{Name: ir.ActReLU}}, Inputs: []string{"x"}},
	}}
	p := ir.Pipeline{Passes: []ir.Pass{ir.PassOrder, ir.PassInfer, ir.PassPruneDead}}
	if err := p.Run(m); err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range m.Passes {
		fmt.Println(s.Name, s.Changed)
	}
	fmt.Print(ir.Format(m))
	// Output:
	// order-nodes 0
	// infer-shapes 3
	// prune-dead 1
	// model m
	// inputs x
	// outputs y
	// x = Input{Type=(None, 4)}() -> (None, 4)
	// y = Activation{Act=relu}(x [(None, 4)]) -> (None, 4)
}
