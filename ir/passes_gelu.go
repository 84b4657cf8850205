package ir

import (
	"math"
	"slices"
)

// PassNameFuseGELU names the pass that rewrites the exact GELU that
// exporters spell out with ONNX's Erf — x·½·(1 + erf(x/√2)), as
// torch.onnx writes nn.GELU before opset 20: Div(x, √2) (or Mul(x, 1/√2)),
// Erf, Add 1, then the two products with x and ½ in any order and
// grouping — as one Activation gelu of x, which the fusion after it can
// fold into the Dense or convolution that computes x (ConvNeXt's and the
// transformers' MLPs). The nodes between must be used only there.
const PassNameFuseGELU = "fuse-gelu"

// gelus is the fuse-gelu pass.
func (fu *fuser) gelus() (int, error) {
	return fu.eachNode(func(c *Node) (bool, error) {
		if !isProduct(c) || len(c.Inputs) != 2 {
			return false, nil
		}
		// The three factors of c: its inputs, and those of one input that
		// is itself a product used only by c.
		var factors, inner []string
		for _, in := range c.Inputs {
			n := fu.idx[in]
			if n != nil && isProduct(n) && len(n.Inputs) == 2 && fu.foldable(n.Name) && len(inner) == 0 {
				inner = append(inner, n.Name)
				factors = append(factors, n.Inputs...)
				continue
			}
			factors = append(factors, in)
		}
		if len(factors) != 3 {
			return false, nil
		}
		var half, add, x string
		others := 0
		for _, f := range factors {
			n := fu.idx[f]
			switch {
			case n != nil && half == "" && fu.scalarIs(n, 0.5):
				half = f
			case n != nil && add == "" && isAdd(n) && fu.foldable(f):
				add = f
			default:
				x = f
				others++
			}
		}
		if half == "" || add == "" || others != 1 {
			return false, nil
		}
		// add = erf(x/√2) + 1.
		a := fu.idx[add]
		var one, erf string
		for side := range 2 {
			if fu.scalarIs(fu.idx[a.Inputs[side]], 1) {
				one, erf = a.Inputs[side], a.Inputs[1-side]
			}
		}
		e := fu.idx[erf]
		if one == "" || e == nil || !fu.foldable(erf) || len(e.Inputs) != 1 {
			return false, nil
		}
		if act, ok := e.Op.(*Activation); !ok || act.Act.Name != ActErf {
			return false, nil
		}
		d := fu.idx[e.Inputs[0]]
		if d == nil || !fu.foldable(d.Name) || len(d.Inputs) != 2 || d.Inputs[0] != x {
			return false, nil
		}
		b, ok := d.Op.(*Binary)
		k := fu.idx[d.Inputs[1]]
		if !ok || !(b.Op == BinaryDiv && fu.scalarIs(k, math.Sqrt2) || b.Op == BinaryMul && fu.scalarIs(k, 1/math.Sqrt2)) {
			return false, nil
		}
		xn := fu.idx[x]
		if xn == nil || !xn.Out.Shape.Equal(c.Out.Shape) || xn.Out.Layout != c.Out.Layout {
			return false, nil
		}
		for _, n := range append([]string{add, erf, d.Name}, inner...) {
			fu.remove(fu.idx[n])
		}
		for _, k := range []string{half, one, d.Inputs[1]} {
			if fu.uses[k]--; fu.uses[k] == 0 && !fu.keep[k] && !slices.Contains(fu.m.Outputs, k) {
				fu.dead[k] = true
			}
		}
		fu.uses[x]-- // read by c alone now, not by the division too
		c.Op = &Activation{Act: Act{Name: ActGELU}}
		c.Inputs = []string{x}
		c.Weights = nil
		c.Class = "Gelu"
		return true, fu.infer(c)
	})
}

// isProduct reports whether n multiplies its inputs (a Multiply merge or
// a Binary Mul).
func isProduct(n *Node) bool {
	switch o := n.Op.(type) {
	case *Binary:
		return o.Op == BinaryMul
	case *Merge:
		return o.Mode == MergeMultiply
	}
	return false
}

// scalarIs reports whether n is a one-element constant whose value is v
// (within float32 rounding).
func (fu *fuser) scalarIs(n *Node, v float64) bool {
	f, ok := fu.scalar(n)
	return ok && math.Abs(float64(f)-v) <= 1e-6*math.Abs(v)
}

// scalar returns the value of a one-element constant.
func (fu *fuser) scalar(n *Node) (float32, bool) {
	if n == nil {
		return 0, false
	}
	if _, ok := n.Op.(*Constant); !ok || len(n.Weights) != 1 || n.Weights[0].Elements() != 1 {
		return 0, false
	}
	d, err := n.Weights[0].Data()
	if err != nil || len(d) != 1 {
		return 0, false
	}
	return d[0], true
}
