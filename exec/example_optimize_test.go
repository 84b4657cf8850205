package exec_test

import (
	"fmt"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
)

// ExampleOptimize shows the optimizing passes Compile runs: a padding, a
// batch normalization, a ReLU and a 2×2 max pooling fold into the
// convolution between them, which takes the pooling's name and records
// what it absorbed. The model
// itself is not changed.
func ExampleOptimize() {
	b := ir.NewBuilder("block")
	b.Input("image", ir.Shape{8, 8, 3}, ir.ChannelsLast)
	b.Add("pad", &ir.ZeroPadding2D{Pads: [4]int{1, 1, 1, 1}, DataFormat: ir.ChannelsLast})
	b.Add("conv", &ir.Conv2D{Filters: 4, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1}, DataFormat: ir.ChannelsLast})
	b.Add("bn", &ir.BatchNorm{Axis: -1, Epsilon: 1e-3, Center: true, Scale: true})
	b.Add("relu", &ir.Activation{Act: ir.Act{Name: ir.ActReLU}})
	b.Add("pool", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: ir.ChannelsLast})
	m, err := b.Build()
	if err != nil {
		panic(err)
	}
	opt, err := exec.Optimize(m, exec.Options{}, "")
	if err != nil {
		panic(err)
	}
	for _, n := range opt.Nodes {
		fmt.Println(ir.NodeText(n, nil))
	}
	for _, p := range opt.Passes[len(m.Passes):] {
		fmt.Println(p.Name, p.Changed)
	}
	fmt.Println(len(m.Nodes), "nodes in the model,", len(opt.Nodes), "optimized")
	// Output:
	// image = Input{Type=(None, 8, 8, 3) channels_last}() -> (None, 8, 8, 3) channels_last
	// pool = Conv2D{Filters=4 KH=3 KW=3 SH=1 SW=1 Padding=valid Activation=relu DataFormat=channels_last Fused={Nodes=["pad","conv","bn","relu","pool"] Pads=[1,1,1,1] BN={Axis=-1 Epsilon=0.001 Center=true Scale=true} Pool={Max=true KH=2 KW=2 SH=2 SW=2 Padding=valid DataFormat=channels_last}}}(image) -> (None, 4, 4, 4) channels_last params 116 frozen 8
	// sink-transpose 0
	// cancel-transposes 0
	// channel-shuffle 0
	// fuse-pad 1
	// fold-batchnorm 1
	// fold-channel-add 0
	// fuse-residual 0
	// fuse-gelu 0
	// fuse-layernorm 0
	// fuse-activation 1
	// fuse-pool 1
	// pad-channels 0
	// 6 nodes in the model, 2 optimized
}
