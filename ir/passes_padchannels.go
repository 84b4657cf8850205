package ir

import (
	"fmt"
	"slices"
	"strings"
)

// PassNamePadChannels names the pass that widens the expanded tensor of an
// inverted-residual block — a Conv2D whose one use is a DepthwiseConv2D
// (multiplier 1) whose uses are all ordinary Conv2Ds (MobileNetV2/V3,
// MnasNet, EfficientNet, ShuffleNetV2's branches) — from C channels to the
// next multiple of 16 when C is not one (72 → 80, 120 → 128, 58 → 64) and
// the extra channels are at most a quarter of C. The new channels have
// zero weights everywhere: the first convolution computes act(BN(0)) or
// act(0 + adds) for them, the depthwise convolution multiplies that by a
// zero kernel (adding a zero bias: its outputs there are act(0)-like
// constants), and every convolution after it reads them with zero kernel
// rows, so the block's output is the same sums with zero terms added.
// (Only a non-finite input can tell: 0·∞ is NaN where the unpadded block
// would carry the infinity.)
//
// Why: exec stores activations channels-last, so with C·4 bytes not a
// multiple of 64 every other pixel's 16-channel vectors straddle two cache
// lines, and the depthwise convolution — every load of it a pixel's vector
// — and the first convolution's stores pay for two. Measured on the Xeon,
// one thread, the depthwise layer alone: 56²×72 3×3 105 µs, padded to 80
// channels 81; 28²×120 5×5 95 → 69; 28²×58 3×3 23.4 → 15. The cost is the
// last convolution's extra kernel rows (C → Cpad multiply-adds per output)
// and the wider tensor's bytes; the first convolution and the depthwise
// one compute whole 16-channel blocks either way.
//
// Nothing observable changes: the widened values are neither kept nor
// model outputs, and the last convolutions' outputs keep their shapes.
const PassNamePadChannels = "pad-channels"

// padChannelsMaxGrowth bounds the extra channels: at most C/4.
const padChannelsMaxGrowth = 4

// padChannels is the pad-channels pass.
func (fu *fuser) padChannels() (int, error) {
	return fu.eachNode(func(d *Node) (bool, error) {
		dw, ok := d.Op.(*DepthwiseConv2D)
		if !ok || dw.Multiplier != 1 || len(d.Inputs) != 1 || len(d.Out.Shape) != 4 || dw.Fused.ResidualName() != "" {
			return false, nil
		}
		p := fu.idx[d.Inputs[0]]
		pc, ok := p.Op.(*Conv2D)
		if !ok || pc.groups() != 1 || !fu.foldable(p.Name) || pc.DataFormat != dw.DataFormat ||
			pc.Fused.ResidualName() != "" || pc.Fused.PoolOp() != nil || len(p.Out.Shape) != 4 {
			return false, nil
		}
		ch := channelAxis(dw.DataFormat)
		c := d.Out.Shape[ch]
		cp := (c + 15) / 16 * 16
		if c < 1 || cp == c || (cp-c)*padChannelsMaxGrowth > c {
			return false, nil
		}
		if fu.keep[d.Name] || slices.Contains(fu.m.Outputs, d.Name) {
			return false, nil
		}
		var cons []*Node
		for _, n := range fu.m.Nodes {
			if fu.dead[n.Name] || !slices.Contains(n.Inputs, d.Name) {
				continue
			}
			cc, ok := n.Op.(*Conv2D)
			if !ok || cc.groups() != 1 || cc.DataFormat != dw.DataFormat || n.Inputs[0] != d.Name || slices.Contains(n.Inputs[1:], d.Name) {
				return false, nil
			}
			cons = append(cons, n)
		}
		if len(cons) == 0 || len(cons) != fu.uses[d.Name] {
			return false, nil
		}
		op := *pc
		op.Filters = cp
		p.Op = &op
		for _, n := range append([]*Node{p, d}, cons...) {
			if err := fu.padWeights(n, c, cp); err != nil {
				return false, err
			}
		}
		return true, nil
	})
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
