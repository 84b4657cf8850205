package ir

import "slices"

// PassNameFuseLayerNorm names the pass that rewrites a layer normalization
// over the last axis that exporters spell out before ONNX's
// LayerNormalization (opset 17) — ReduceMean, Sub, Pow 2, ReduceMean, Add
// ε, Sqrt, Div, then optionally Mul by γ and Add β of the last axis's
// size (torch.onnx's F.layer_norm: ConvNeXt, the transformers) — as one
// LayerNormalization node, which exec runs as one pass per row instead of
// nine over the tensor. The nodes between must be used only there.
const PassNameFuseLayerNorm = "fuse-layernorm"

// layerNorms is the fuse-layernorm pass.
func (fu *fuser) layerNorms() (int, error) {
	consumers := map[string][]*Node{}
	for _, n := range fu.m.Nodes {
		for _, in := range n.Inputs {
			consumers[in] = append(consumers[in], n)
		}
	}
	// only returns the one node that reads name, when name is foldable.
	only := func(name string) *Node {
		if cs := consumers[name]; len(cs) == 1 && fu.foldable(name) && !fu.dead[cs[0].Name] {
			return cs[0]
		}
		return nil
	}
	return fu.eachNode(func(q *Node) (bool, error) {
		if b, ok := q.Op.(*Binary); !ok || b.Op != BinaryDiv || len(q.Inputs) != 2 {
			return false, nil
		}
		d, s := fu.idx[q.Inputs[0]], fu.idx[q.Inputs[1]]
		if d == nil || s == nil || !isBinary(d, BinarySub) || len(d.Inputs) != 2 {
			return false, nil
		}
		x, m1 := d.Inputs[0], fu.idx[d.Inputs[1]]
		r := len(q.Out.Shape)
		if !lastAxisMean(m1, x, r) || !fu.foldable(m1.Name) {
			return false, nil
		}
		// d is read by the Pow and by q, and by nothing else.
		if cs := consumers[d.Name]; len(cs) != 2 || !fu.foldable2(d.Name) {
			return false, nil
		}
		// s = Sqrt(Add(ReduceMean(Pow(d, 2)), ε)).
		u, ok := s.Op.(*Unary)
		if !ok || u.Op != UnarySqrt || len(s.Inputs) != 1 || !fu.foldable(s.Name) {
			return false, nil
		}
		a := fu.idx[s.Inputs[0]]
		if a == nil || !isAdd(a) || len(a.Inputs) != 2 || !fu.foldable(a.Name) {
			return false, nil
		}
		m2, e := fu.idx[a.Inputs[0]], fu.idx[a.Inputs[1]]
		if _, ok := fu.scalar(m2); ok {
			m2, e = e, m2
		}
		eps, ok := fu.scalar(e)
		if !ok || eps < 0 || m2 == nil || !fu.foldable(m2.Name) || len(m2.Inputs) != 1 {
			return false, nil
		}
		p := fu.idx[m2.Inputs[0]]
		if !lastAxisMean(m2, m2.Inputs[0], r) || p == nil || !isBinary(p, BinaryPow) || len(p.Inputs) != 2 ||
			p.Inputs[0] != d.Name || !fu.scalarIs(fu.idx[p.Inputs[1]], 2) || !fu.foldable(p.Name) {
			return false, nil
		}
		xn := fu.idx[x]
		c := q.Out.Shape[r-1]
		if xn == nil || !xn.Out.Shape.Equal(q.Out.Shape) || c < 1 {
			return false, nil
		}
		// γ and β: a Mul and an Add of constants of the last axis's size.
		last, op := q, &LayerNormalization{Axes: []int{-1}, Epsilon: float64(eps)}
		var ws []*Weight
		absorbed := []*Node{m1, d, p, m2, a, s}
		consts := []string{e.Name, p.Inputs[1]}
		for _, want := range []BinaryOp{BinaryMul, BinaryAdd} {
			n := only(last.Name)
			if n == nil || !isBinary(n, want) || len(n.Inputs) != 2 {
				break
			}
			k := fu.idx[n.Inputs[1]]
			if n.Inputs[1] == last.Name {
				k = fu.idx[n.Inputs[0]]
			}
			if !lastAxisConst(k, c) {
				break
			}
			if want == BinaryMul {
				op.Scale = true
			} else {
				op.Center = true
			}
			ws = append(ws, k.Weights[0])
			consts = append(consts, k.Name)
			absorbed = append(absorbed, last)
			last = n
		}
		for _, n := range absorbed {
			fu.remove(n)
		}
		for _, k := range consts {
			if fu.uses[k]--; fu.uses[k] == 0 && !fu.keep[k] && !slices.Contains(fu.m.Outputs, k) {
				fu.dead[k] = true
			}
		}
		fu.uses[x]-- // read by last alone now, not by the mean and the Sub
		last.Op = op
		last.Inputs = []string{x}
		last.Weights = ws
		last.Class = "LayerNormalization"
		return true, fu.infer(last)
	})
}

// foldable2 is foldable for a node with two uses, both to be absorbed.
func (fu *fuser) foldable2(name string) bool {
	return !fu.keep[name] && !slices.Contains(fu.m.Outputs, name) && fu.uses[name] == 2
}

// isBinary reports whether n is the Binary op.
func isBinary(n *Node, op BinaryOp) bool {
	b, ok := n.Op.(*Binary)
	return ok && b.Op == op
}

// lastAxisMean reports whether n is a ReduceMean of x over its last axis
// (rank r) keeping the dims.
func lastAxisMean(n *Node, x string, r int) bool {
	if n == nil || len(n.Inputs) != 1 || n.Inputs[0] != x {
		return false
	}
	m, ok := n.Op.(*ReduceMean)
	return ok && m.KeepDims && len(m.Axes) == 1 && (m.Axes[0] == r-1 || m.Axes[0] == -1)
}

// lastAxisConst reports whether n is a constant of shape (c): one value
// per element of the last axis.
func lastAxisConst(n *Node, c int) bool {
	if n == nil || len(n.Weights) != 1 {
		return false
	}
	k, ok := n.Op.(*Constant)
	return ok && len(k.Shape) == 1 && k.Shape[0] == c
}
