package ir

import "slices"

// PassFoldVGGPreprocess rewrites Slice(Sub(x, mean)) — the VGG mean
// subtracted on the channel axis of an image, then the channels reversed,
// which is how PyTorch and tf2onnx export fast.ai's vgg_preprocess Lambda —
// into Lambda vgg_preprocess(x) under the Slice's name, when the Sub has no
// other use. The Lambda computes the same float32 operations; the Sub and
// its constant are left to prune-dead. Exporters then see one Lambda (Keras
// writes it as the Lambda layer fast.ai's models use) instead of having to
// recognise the idiom themselves.
var PassFoldVGGPreprocess = Pass{Name: "fold-vgg-preprocess", Run: foldVGGPreprocess, After: StageTyped}

func foldVGGPreprocess(m *Model) (int, error) {
	if !slices.ContainsFunc(m.Nodes, func(n *Node) bool { _, ok := n.Op.(*Slice); return ok }) {
		return 0, nil // no full-graph index for a model without Slice
	}
	idx := m.Index()
	consumers := m.Consumers()
	outputs := map[string]bool{}
	for _, o := range m.Outputs {
		outputs[o] = true
	}
	changed := 0
	for _, n := range m.Nodes {
		sl, ok := n.Op.(*Slice)
		if !ok || len(n.Inputs) != 1 {
			continue
		}
		sub := idx[n.Inputs[0]]
		bin, ok := sub.Op.(*Binary)
		if !ok || bin.Op != BinarySub || len(sub.Inputs) != 2 || consumers[sub.Name] != 1 || outputs[sub.Name] {
			continue
		}
		x, k := idx[sub.Inputs[0]], idx[sub.Inputs[1]]
		if _, ok := k.Op.(*Constant); !ok {
			continue
		}
		if _, ok := x.Op.(*Constant); ok {
			continue
		}
		t := x.Out
		if len(t.Shape) != 4 || t.Layout == LayoutNone {
			continue
		}
		ch := 3
		if t.Layout == ChannelsFirst {
			ch = 1
		}
		if t.Shape[ch] != 3 || !holdsVGGMean(k, ch, len(t.Shape)) {
			continue
		}
		res, err := sl.Resolve(t.Shape)
		if err != nil || len(sl.Axes) != 1 || sl.Axes[0] != ch || res[ch] != (SliceAxis{Start: 2, Step: -1, Count: 3}) {
			continue
		}
		n.Op, n.Inputs, n.Class = &Lambda{Function: "vgg_preprocess"}, []string{x.Name}, "Lambda"
		if err := inferNode(idx, n); err != nil {
			return changed, err
		}
		consumers[sub.Name] = 0
		changed++
	}
	return changed, nil
}

// holdsVGGMean reports whether the Constant node k holds VGGMean along axis
// ch of a rank-r operand, and nothing else varies.
func holdsVGGMean(k *Node, ch, r int) bool {
	s := k.Op.(*Constant).Shape
	if len(s) > r || len(k.Weights) != 1 {
		return false
	}
	ax := -1
	for i, d := range s {
		if d == 1 {
			continue
		}
		if ax >= 0 {
			return false
		}
		ax = r - len(s) + i
	}
	if ax != ch {
		return false
	}
	d, err := k.Weights[0].Data()
	if err != nil || len(d) != 3 {
		return false
	}
	return d[0] == VGGMean[0] && d[1] == VGGMean[1] && d[2] == VGGMean[2]
}
