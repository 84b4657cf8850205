package ir

import (
	"fmt"
	"slices"
	"strings"
)

// PassNamePadChannels names the pass that widens the expanded tensor of an
// inverted-residual block (MobileNetV2/V3, MnasNet, EfficientNet,
// ShuffleNetV2's branches) from C channels to the next multiple of 16 when
// C is not one (72 → 80, 120 → 128, 58 → 64) and the extra channels are at
// most a quarter of C. The values widened are a region closed over the
// channel axis: from a DepthwiseConv2D (multiplier 1), its input, and
// through every reader that keeps the channels — depthwise convolutions, a
// squeeze-and-excitation's global pooling (4-D, kept dims) and its Mul,
// whose other operand then widens too. The region begins at ordinary
// Conv2Ds (the expansion; the excitation's last 1×1), which compute the
// new channels with zero weights, and ends at ordinary Conv2Ds reading it
// as their input (the projection; the squeeze's first 1×1), whose kernels
// gain zero rows for them. The new channels hold finite constants (act(0)
// and what follows from it: a depthwise convolution with a zero kernel, a
// pooling of a constant, 0.5 from a hard sigmoid), and every convolution
// leaving the region adds them times zero: the same sums with zero terms
// added. (Only a non-finite input can tell: 0·∞ is NaN where the unpadded
// block would carry the infinity.)
//
// Why: exec stores activations channels-last, so with C·4 bytes not a
// multiple of 64 every other pixel's 16-channel vectors straddle two cache
// lines, and the depthwise convolution — every load of it a pixel's vector
// — and the first convolution's stores pay for two. Measured on the Xeon,
// one thread, the depthwise layer alone: 56²×72 3×3 105 µs, padded to 80
// channels 81; 28²×120 5×5 95 → 69; 28²×58 3×3 23.4 → 15. The cost is the
// last convolutions' extra kernel rows (C → Cpad multiply-adds per output)
// and the wider tensors' bytes; the first convolution and the depthwise
// one compute whole 16-channel blocks either way.
//
// Nothing observable changes: no widened value is kept or a model output,
// and the region's readers keep their output shapes.
const PassNamePadChannels = "pad-channels"

// padChannelsMaxGrowth bounds the extra channels: at most C/4.
const padChannelsMaxGrowth = 4

// padChannels is the pad-channels pass.
func (fu *fuser) padChannels() (int, error) {
	var readers map[string][]*Node
	return fu.eachNode(func(d *Node) (bool, error) {
		dw, ok := d.Op.(*DepthwiseConv2D)
		if !ok || dw.Multiplier != 1 || len(d.Out.Shape) != 4 {
			return false, nil
		}
		ch := channelAxis(dw.DataFormat)
		c := d.Out.Shape[ch]
		cp := (c + 15) / 16 * 16
		if c < 1 || cp == c || (cp-c)*padChannelsMaxGrowth > c {
			return false, nil
		}
		if readers == nil {
			readers = map[string][]*Node{}
			for _, n := range fu.m.Nodes {
				for _, in := range n.Inputs {
					readers[in] = append(readers[in], n)
				}
			}
		}
		region, ends, ok := fu.channelRegion(d, dw.DataFormat, c, readers)
		if !ok {
			return false, nil
		}
		// A node that cannot widen after all (a weight of an unforeseen
		// shape) leaves the region as it was: the pass only optimizes.
		type saved struct {
			op    Op
			ws    []*Weight
			out   TensorType
			specs []WeightSpec
		}
		all := append(slices.Clone(region), ends...)
		old := make([]saved, len(all))
		for i, n := range all {
			old[i] = saved{n.Op, n.Weights, n.Out, n.Specs}
		}
		for i, n := range all {
			if i < len(region) {
				switch o := n.Op.(type) {
				case *Conv2D:
					op := *o
					op.Filters = cp
					op.Fused = widenAdds(o.Fused, c, cp)
					n.Op = &op
				case *DepthwiseConv2D:
					op := *o
					op.Fused = widenAdds(o.Fused, c, cp)
					n.Op = &op
				}
			}
			if err := fu.padWeights(n, c, cp); err != nil {
				for k, m := range all {
					m.Op, m.Weights, m.Out, m.Specs = old[k].op, old[k].ws, old[k].out, old[k].specs
				}
				return false, nil
			}
		}
		return true, nil
	})
}

// channelRegion returns the region of d (see PassNamePadChannels) in graph
// order, and the convolutions reading it, or false when a value of it
// cannot widen: a producer or reader of another kind, a value kept, an
// output, of another channel count or data format.
func (fu *fuser) channelRegion(d *Node, df Layout, c int, readers map[string][]*Node) (region, ends []*Node, ok bool) {
	in := map[string]bool{d.Name: true}
	end := map[string]bool{}
	queue := []*Node{d}
	add := func(n *Node) bool {
		if n == nil || fu.dead[n.Name] {
			return false
		}
		if !in[n.Name] {
			in[n.Name] = true
			queue = append(queue, n)
		}
		return true
	}
	ch := channelAxis(df)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if fu.keep[n.Name] || slices.Contains(fu.m.Outputs, n.Name) || len(n.Out.Shape) != 4 || n.Out.Shape[ch] != c {
			return nil, nil, false
		}
		// Where the node's channels come from.
		switch o := n.Op.(type) {
		case *Conv2D:
			if o.groups() != 1 || o.DataFormat != df || o.Fused.ResidualName() != "" || o.Fused.PoolOp() != nil {
				return nil, nil, false
			}
		case *DepthwiseConv2D:
			if o.Multiplier != 1 || o.DataFormat != df || o.Fused.ResidualName() != "" || len(n.Inputs) != 1 || !add(fu.idx[n.Inputs[0]]) {
				return nil, nil, false
			}
		case *GlobalPool2D:
			if !o.KeepDims || o.DataFormat != df || len(n.Inputs) != 1 || !add(fu.idx[n.Inputs[0]]) {
				return nil, nil, false
			}
		default:
			if !isProduct(n) || len(n.Inputs) != 2 || !add(fu.idx[n.Inputs[0]]) || !add(fu.idx[n.Inputs[1]]) {
				return nil, nil, false
			}
		}
		// Where they go.
		for _, r := range readers[n.Name] {
			if fu.dead[r.Name] {
				continue
			}
			switch o := r.Op.(type) {
			case *Conv2D:
				if o.groups() != 1 || o.DataFormat != df || r.Inputs[0] != n.Name || slices.Contains(r.Inputs[1:], n.Name) {
					return nil, nil, false
				}
				end[r.Name] = true
			case *DepthwiseConv2D, *GlobalPool2D:
				add(r)
			default:
				if !isProduct(r) {
					return nil, nil, false
				}
				add(r)
			}
		}
	}
	for _, n := range fu.m.Nodes {
		switch {
		case in[n.Name] && end[n.Name]:
			return nil, nil, false // a convolution both in the region and reading it
		case in[n.Name]:
			region = append(region, n)
		case end[n.Name]:
			ends = append(ends, n)
		}
	}
	return region, ends, true
}

// widenAdds returns f with the constants it adds on the channel axis (c
// values; fold-channel-add) widened to cp, their weights to be padded with
// zeros (f itself when it adds none).
func widenAdds(f *Fusion, c, cp int) *Fusion {
	if f == nil || len(f.Adds) == 0 {
		return f
	}
	g := f.clone()
	for i, sh := range g.Adds {
		sh = sh.Clone()
		for a, d := range sh {
			if d == c {
				sh[a] = cp
			}
		}
		g.Adds[i] = sh
	}
	return g
}

// padWeights re-infers n (whose op or input now has cp channels where it had
// c) and widens each weight whose spec grew on one axis from c to cp,
// lazily: the new values are read from the old weight when first used.
func (fu *fuser) padWeights(n *Node, c, cp int) error {
	if err := fu.infer(n); err != nil {
		return err
	}
	if len(n.Specs) != len(n.Weights) {
		return layerErr(n.Name, "%s: %d weights for %d specs", PassNamePadChannels, len(n.Weights), len(n.Specs))
	}
	ws := slices.Clone(n.Weights)
	for i, w := range ws {
		to := n.Specs[i].Shape
		if w.Shape.Equal(to) {
			continue
		}
		axis := -1
		for a := range to {
			if a < len(w.Shape) && w.Shape[a] != to[a] {
				if axis >= 0 || w.Shape[a] != c || to[a] != cp {
					axis = -2
					break
				}
				axis = a
			}
		}
		if axis < 0 || len(w.Shape) != len(to) {
			return layerErr(n.Name, "%s: weight %s of shape %v cannot widen to %v", PassNamePadChannels, w.Name, w.Shape, to)
		}
		// A padded batch normalization is the identity on zeros: variance
		// 1 (its ε may be 0), everything else 0.
		fill := float32(0)
		if strings.HasSuffix(n.Specs[i].Name, "moving_variance") {
			fill = 1
		}
		ws[i] = paddedWeight(w, to.Clone(), axis, fill)
	}
	n.Weights = ws
	return nil
}

// paddedWeight returns w widened to shape to on axis, the new entries fill.
func paddedWeight(w *Weight, to Shape, axis int, fill float32) *Weight {
	from := w.Shape.Clone()
	// The shapes are (outer, from[axis], inner) and (outer, to[axis], inner).
	inner := 1
	for _, d := range from[axis+1:] {
		inner *= d
	}
	outer := 1
	for _, d := range from[:axis] {
		outer *= d
	}
	src := SourceFunc(func(dst []float32) error {
		old := make([]float32, from.Elements())
		if err := w.ReadInto(old); err != nil {
			return err
		}
		a, b := from[axis]*inner, to[axis]*inner
		for o := range outer {
			copy(dst[o*b:], old[o*a:(o+1)*a])
			for i := o*b + a; i < (o+1)*b; i++ {
				dst[i] = fill
			}
		}
		return nil
	})
	nw := NewWeight(w.Name, to, w.DType, fmt.Sprintf("%s (padded by %s)", w.Origin, PassNamePadChannels), src)
	nw.Provenance = w.Provenance
	return nw
}
