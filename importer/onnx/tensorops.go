package onnx

import (
	"fmt"
	"math"
	"strings"

	"github.com/kconv/kconv/ir"
)

// General tensor ops of transformer graphs (torchvision's ViT, Swin,
// MaxViT): element-wise arithmetic functions and more (ir/ops_tensor.go).

// unary imports Sqrt, Reciprocal, Neg, Abs and Log; a constant input is
// folded.
func (c *nctx) unary() error {
	op, _ := ir.LookupUnary(c.op)
	v, err := c.need(0)
	if err != nil {
		return err
	}
	if v.c != nil && v.node == "" && !v.c.isInt {
		x, err := v.c.floats()
		if err != nil {
			return err
		}
		out := make([]float32, len(x))
		for i, f := range x {
			out[i] = op.Eval(f)
		}
		t := floatTensor(v.c.shape, out)
		t.origin = "folded " + c.name
		c.setOut(0, &val{c: t})
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Unary{Op: op}, []string{x})
}

// mod folds Mod of two constants (shape arithmetic: Swin's window shifts);
// a computed operand is refused. Integer Mod takes the divisor's sign
// unless fmod=1; float Mod must have fmod=1 (C's fmod), as ONNX requires.
func (c *nctx) mod() error {
	f, err := c.int("fmod", 0)
	if err != nil {
		return err
	}
	a, err := c.need(0)
	if err != nil {
		return err
	}
	b, err := c.need(1)
	if err != nil {
		return err
	}
	if a.c == nil || a.node != "" || b.c == nil || b.node != "" {
		return fmt.Errorf("Mod of a computed tensor is not supported (only of constants)")
	}
	op := "Mod"
	if f != 0 {
		op = "Fmod"
	} else if !a.c.isInt || !b.c.isInt {
		return fmt.Errorf("float Mod needs fmod=1")
	}
	t, err := foldBinary(op, a.c, b.c, c.im.budget)
	if err != nil {
		return err
	}
	t.origin = "folded " + c.name
	c.setOut(0, &val{c: t})
	return nil
}

// expand imports Expand; its target shape must be known at import. A
// constant input is folded.
func (c *nctx) expand() error {
	v, err := c.need(0)
	if err != nil {
		return err
	}
	st, err := c.constIn(1, "the target shape")
	if err != nil {
		return err
	}
	if st == nil || !st.isInt || len(st.shape) != 1 {
		return fmt.Errorf("input 1 (the target shape) must be a 1-D integer constant")
	}
	dims, marks, err := st.symInts()
	if err != nil {
		return err
	}
	in := shapeOf(v)
	target := make(ir.Shape, len(dims))
	for k := range target {
		if marks != nil && marks[k] {
			// The batch size, standing for the input's own dynamic
			// dimension 0: only where that dimension lands.
			if k != len(target)-len(in) {
				return fmt.Errorf("Expand with the dynamic batch size on axis %d is not supported", k)
			}
			target[k] = ir.Batch
			continue
		}
		if dims[k] < 0 || dims[k] > maxElements {
			return fmt.Errorf("bad target shape %v", dims)
		}
		target[k] = int(dims[k])
	}
	if v.c != nil && v.node == "" {
		out, err := ir.BroadcastStrict(ir.Shape(v.c.shape), target)
		if err != nil {
			return err
		}
		if _, err := foldSize([]int(out), c.im.budget); err != nil {
			return err
		}
		// Adding zeros broadcasts the values (x+0 is x, but for -0).
		zero := floatTensor([]int(out), make([]float32, out.Elements()))
		if v.c.isInt {
			zero = intTensor([]int(out), make([]int64, out.Elements()))
		}
		t, err := foldBinary("Add", v.c, zero, c.im.budget)
		if err != nil {
			return err
		}
		t.origin = "folded " + c.name
		c.setOut(0, &val{c: t})
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	return c.emitOut(&ir.Expand{Shape: target}, []string{x})
}

// rangeOp folds Range of constant start, limit and delta (Swin builds its
// shifted-window masks from them); computed operands are refused.
func (c *nctx) rangeOp() error {
	var ts [3]*tensor
	isInt := true
	for i, what := range []string{"start", "limit", "delta"} {
		t, err := c.constIn(i, what)
		if err != nil {
			return err
		}
		if t == nil || t.n() != 1 {
			return fmt.Errorf("%s must be a scalar constant", what)
		}
		ts[i] = t
		isInt = isInt && t.isInt
	}
	if isInt {
		v := [3]int64{}
		for i, t := range ts {
			x, err := t.intsNoSym("the " + []string{"start", "limit", "delta"}[i])
			if err != nil {
				return err
			}
			v[i] = x[0]
		}
		if v[2] == 0 {
			return fmt.Errorf("delta is 0")
		}
		n := max(0, (v[1]-v[0]+v[2]-sign64(v[2]))/v[2])
		if _, err := foldSize([]int{int(n)}, c.im.budget); err != nil || n > 1<<31 {
			return fmtErr(err, "range of %d values is too long", n)
		}
		out := make([]int64, n)
		for k := range out {
			out[k] = v[0] + int64(k)*v[2]
		}
		t := intTensor([]int{int(n)}, out)
		t.origin = "folded " + c.name
		c.setOut(0, &val{c: t})
		return nil
	}
	var v [3]float64
	for i, t := range ts {
		x, err := t.scalar()
		if err != nil {
			return err
		}
		v[i] = x
	}
	if v[2] == 0 {
		return fmt.Errorf("delta is 0")
	}
	nf := math.Ceil((v[1] - v[0]) / v[2])
	if !(nf < 1<<31) {
		return fmt.Errorf("range of %g values is too long", nf)
	}
	n := max(0, int(nf))
	if _, err := foldSize([]int{n}, c.im.budget); err != nil {
		return err
	}
	out := make([]float32, n)
	for k := range out {
		out[k] = float32(v[0] + float64(k)*v[2])
	}
	t := floatTensor([]int{n}, out)
	t.origin = "folded " + c.name
	c.setOut(0, &val{c: t})
	return nil
}

func sign64(x int64) int64 {
	if x < 0 {
		return -1
	}
	return 1
}

// compare folds Equal, Less, Greater, LessOrEqual and GreaterOrEqual of two
// constants to a 0/1 integer tensor (ONNX's bool); computed operands are
// refused (kconv computes floats only).
func (c *nctx) compare() error {
	a, b, err := c.constPair()
	if err != nil {
		return err
	}
	out, ai, bi, err := bcastPair(a, b, c.im.budget)
	if err != nil {
		return err
	}
	x, y := numbers(a), numbers(b)
	if x == nil || y == nil {
		return fmt.Errorf("the operand depends on the dynamic batch size")
	}
	res := make([]int64, shapeElems(out))
	for k := range res {
		p, q := x(ai(k)), y(bi(k))
		var r bool
		switch c.op {
		case "Equal":
			r = p == q
		case "Less":
			r = p < q
		case "Greater":
			r = p > q
		case "LessOrEqual":
			r = p <= q
		case "GreaterOrEqual":
			r = p >= q
		case "And":
			r = p != 0 && q != 0
		case "Or":
			r = p != 0 || q != 0
		case "Xor":
			r = (p != 0) != (q != 0)
		}
		if r {
			res[k] = 1
		}
	}
	t := intTensor(out, res)
	t.origin = "folded " + c.name
	c.setOut(0, &val{c: t})
	return nil
}

// where folds Where of constants: out = cond ? x : y, broadcast.
func (c *nctx) where() error {
	vs := make([]*tensor, 3)
	for i := range vs {
		v, err := c.need(i)
		if err != nil {
			return err
		}
		if v.c == nil || v.node != "" {
			return fmt.Errorf("Where of a computed tensor is not supported (only of constants)")
		}
		vs[i] = v.c
	}
	s1, err := ir.BroadcastStrict(ir.Shape(vs[0].shape), ir.Shape(vs[1].shape))
	if err != nil {
		return err
	}
	s, err := ir.BroadcastStrict(s1, ir.Shape(vs[2].shape))
	if err != nil {
		return err
	}
	out := []int(s)
	n, err := foldSize(out, c.im.budget)
	if err != nil {
		return err
	}
	cond, x, y := numbers(vs[0]), numbers(vs[1]), numbers(vs[2])
	if cond == nil || x == nil || y == nil {
		return fmt.Errorf("the operand depends on the dynamic batch size")
	}
	ci, xi, yi := bcastIndex(vs[0].shape, out), bcastIndex(vs[1].shape, out), bcastIndex(vs[2].shape, out)
	pick := func(k int) float64 {
		if cond(ci(k)) != 0 {
			return x(xi(k))
		}
		return y(yi(k))
	}
	var t *tensor
	if vs[1].isInt && vs[2].isInt {
		res := make([]int64, n)
		for k := range res {
			res[k] = int64(pick(k))
		}
		t = intTensor(out, res)
	} else {
		res := make([]float32, n)
		for k := range res {
			res[k] = float32(pick(k))
		}
		t = floatTensor(out, res)
	}
	t.origin = "folded " + c.name
	c.setOut(0, &val{c: t})
	return nil
}

// constPair returns inputs 0 and 1, which must be constants.
func (c *nctx) constPair() (*tensor, *tensor, error) {
	var ts [2]*tensor
	for i := range ts {
		v, err := c.need(i)
		if err != nil {
			return nil, nil, err
		}
		if v.c == nil || v.node != "" {
			return nil, nil, fmt.Errorf("%s of a computed tensor is not supported (only of constants)", c.op)
		}
		ts[i] = v.c
	}
	return ts[0], ts[1], nil
}

// bcastPair returns the broadcast shape of a and b and their index maps.
func bcastPair(a, b *tensor, budget int64) ([]int, func(int) int, func(int) int, error) {
	s, err := ir.BroadcastStrict(ir.Shape(a.shape), ir.Shape(b.shape))
	if err != nil {
		return nil, nil, nil, err
	}
	out := []int(s)
	if _, err := foldSize(out, budget); err != nil {
		return nil, nil, nil, err
	}
	return out, bcastIndex(a.shape, out), bcastIndex(b.shape, out), nil
}

// numbers returns an accessor for t's values as float64 (exact for the
// integers shape arithmetic uses); nil when t holds the batch symbol or
// cannot be read.
func numbers(t *tensor) func(int) float64 {
	if t.isInt {
		x, err := t.intsNoSym("the operand")
		if err != nil {
			return nil
		}
		return func(k int) float64 { return float64(x[k]) }
	}
	x, err := t.floats()
	if err != nil {
		return nil
	}
	return func(k int) float64 { return float64(x[k]) }
}

func shapeElems(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// scatterND folds ScatterND of constants (reduction "none"): a copy of data
// with the slices that indices' last axis addresses replaced by updates.
// Swin's shifted-window mask is built so.
func (c *nctx) scatterND() error {
	if r, err := c.str("reduction", "none"); err != nil || r != "none" {
		return fmtErr(err, "reduction %q is not supported", r)
	}
	var ts [3]*tensor
	for i := range ts {
		v, err := c.need(i)
		if err != nil {
			return err
		}
		if v.c == nil || v.node != "" {
			return fmt.Errorf("ScatterND of a computed tensor is not supported (only of constants)")
		}
		ts[i] = v.c
	}
	data, idx, upd := ts[0], ts[1], ts[2]
	if !idx.isInt || len(idx.shape) < 1 {
		return fmt.Errorf("indices must be an integer tensor")
	}
	k := idx.shape[len(idx.shape)-1]
	if k > len(data.shape) {
		return fmt.Errorf("indices address %d axes of a rank-%d tensor", k, len(data.shape))
	}
	slice := shapeElems(data.shape[k:])
	count := shapeElems(idx.shape[:len(idx.shape)-1])
	if upd.n() != count*slice {
		return fmt.Errorf("updates have %d values, want %d", upd.n(), count*slice)
	}
	ix, err := idx.intsNoSym("the indices")
	if err != nil {
		return err
	}
	dv, uv := numbers(data), numbers(upd)
	if dv == nil || uv == nil {
		return fmt.Errorf("the operand depends on the dynamic batch size")
	}
	n := data.n()
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = dv(i)
	}
	st := strides(data.shape)
	for j := 0; j < count; j++ {
		off := 0
		for a := 0; a < k; a++ {
			p := ix[j*k+a]
			if p < 0 {
				p += int64(data.shape[a])
			}
			if p < 0 || p >= int64(data.shape[a]) {
				return fmt.Errorf("index %d out of range for axis %d of size %d", ix[j*k+a], a, data.shape[a])
			}
			off += int(p) * st[a]
		}
		for e := 0; e < slice; e++ {
			vals[off+e] = uv(j*slice + e)
		}
	}
	var t *tensor
	if data.isInt {
		res := make([]int64, n)
		for i, v := range vals {
			res[i] = int64(v)
		}
		t = intTensor(data.shape, res)
	} else {
		res := make([]float32, n)
		for i, v := range vals {
			res[i] = float32(v)
		}
		t = floatTensor(data.shape, res)
	}
	t.origin = "folded " + c.name
	c.setOut(0, &val{c: t})
	return nil
}

// not folds Not of a constant 0/1 tensor.
func (c *nctx) not() error {
	v, err := c.need(0)
	if err != nil {
		return err
	}
	if v.c == nil || v.node != "" {
		return fmt.Errorf("Not of a computed tensor is not supported (only of constants)")
	}
	x := numbers(v.c)
	if x == nil {
		return fmt.Errorf("the operand depends on the dynamic batch size")
	}
	res := make([]int64, v.c.n())
	for k := range res {
		if x(k) == 0 {
			res[k] = 1
		}
	}
	t := intTensor(v.c.shape, res)
	t.origin = "folded " + c.name
	c.setOut(0, &val{c: t})
	return nil
}

// einsum imports the Einsum equations that are a batched matrix product:
// "P ik, P kj -> P ij" or "P ik, P jk -> P ij" with the same batch letters
// P on all three (MaxViT's attention: "bghid,bghjd->bghij" and
// "bghij,bghjd->bghid"). The second operand is transposed where needed,
// then multiplied as MatMul. Other equations are refused.
func (c *nctx) einsum() error {
	eq, err := c.str("equation", "")
	if err != nil {
		return err
	}
	eq = strings.ReplaceAll(eq, " ", "")
	bad := fmt.Errorf("Einsum equation %q is not supported (only batched matrix products)", eq)
	lhs, out, ok := strings.Cut(eq, "->")
	ops := strings.Split(lhs, ",")
	if !ok || len(ops) != 2 || c.nin() != 2 {
		return bad
	}
	a, b := ops[0], ops[1]
	r := len(out)
	if r < 2 || len(a) != r || len(b) != r || a[:r-2] != b[:r-2] || a[:r-2] != out[:r-2] {
		return bad
	}
	i, k := a[r-2], a[r-1]
	oi, oj := out[r-2], out[r-1]
	if oi != i || oj == k || oj == i || k == i {
		return bad
	}
	var transB bool
	switch {
	case b[r-2] == k && b[r-1] == oj:
	case b[r-1] == k && b[r-2] == oj:
		transB = true
	default:
		return bad
	}
	return c.batchedMatMul(transB, r)
}

// layerNorm imports LayerNormalization (opset 17) as ir.LayerNormalization
// over axes axis..rank-1, with constant Scale and optional constant B of
// the normalized axes' shape (or as many values). The Mean and InvStdDev
// outputs are refused when used.
func (c *nctx) layerNorm() error {
	x, t, err := c.act(0)
	if err != nil {
		return err
	}
	if c.outUsed(1) || c.outUsed(2) {
		return fmt.Errorf("the Mean and InvStdDev outputs are not supported")
	}
	r := len(t.Shape)
	ax, err := c.int("axis", -1)
	if err != nil {
		return err
	}
	axis, err := normAxis(ax, r)
	if err != nil {
		return err
	}
	if axis == 0 {
		return fmt.Errorf("normalizing over the batch axis is not supported")
	}
	eps, err := c.float("epsilon", 1e-5)
	if err != nil {
		return err
	}
	axes := make([]int, r-axis)
	for i := range axes {
		axes[i] = axis + i
	}
	norm := t.Shape[axis:].Clone()
	op := &ir.LayerNormalization{Axes: axes, Epsilon: eps, Scale: true}
	scale, err := c.constIn(1, "the scale")
	if err != nil {
		return err
	}
	if scale == nil {
		return fmt.Errorf("input 1 (the scale) is missing")
	}
	if scale.n() != int(norm.Elements()) {
		return fmt.Errorf("scale has %d values for normalized shape %v", scale.n(), norm)
	}
	ws := []*ir.Weight{weight("gamma", norm, scale, 0, nil)}
	bias, err := c.constIn(2, "the bias")
	if err != nil {
		return err
	}
	if bias != nil {
		if bias.n() != int(norm.Elements()) {
			return fmt.Errorf("bias has %d values for normalized shape %v", bias.n(), norm)
		}
		op.Center = true
		ws = append(ws, weight("beta", norm.Clone(), bias, 0, nil))
	}
	return c.emitOut(op, []string{x}, ws...)
}

// maxTileCopies bounds the copies Tile makes along one axis of a computed
// tensor (each is one input of a Concat).
const maxTileCopies = 4096

// tile imports Tile of a computed tensor by constant repeats as a Concat of
// copies along each repeated axis (kconv's exporter writes RepeatVector
// so); the dynamic batch axis is not repeated. A constant input is folded.
func (c *nctx) tile() error {
	data, err := c.need(0)
	if err != nil {
		return err
	}
	rt, err := c.constIn(1, "the repeats")
	if err != nil {
		return err
	}
	if rt == nil {
		return fmt.Errorf("input 1 (the repeats) is missing")
	}
	reps, err := rt.intsNoSym("the repeats")
	if err != nil {
		return err
	}
	s := shapeOf(data)
	if len(reps) != len(s) {
		return fmt.Errorf("%d repeats for rank %d", len(reps), len(s))
	}
	if data.c != nil && data.node == "" {
		out := make([]int, len(s))
		for i, r := range reps {
			if r < 1 || r > maxElements {
				return fmt.Errorf("repeat %d on axis %d is not supported", r, i)
			}
			out[i] = s[i] * int(r)
		}
		t, err := remap(data.c, out, c.im.budget, func(idx []int) int {
			j := 0
			for a, x := range idx {
				j = j*s[a] + x%s[a]
			}
			return j
		})
		if err != nil {
			return err
		}
		c.setOut(0, &val{c: t})
		return nil
	}
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	name := x
	for a, r := range reps {
		switch {
		case r == 1:
			continue
		case r < 1 || r > maxTileCopies:
			return fmt.Errorf("repeat %d on axis %d is not supported (1 to %d)", r, a, maxTileCopies)
		case a == 0 && s[0] < 0:
			return fmt.Errorf("cannot repeat the dynamic batch axis")
		}
		ins := make([]string, r)
		for k := range ins {
			ins[k] = name
		}
		if name, _, err = c.emit(fmt.Sprintf("axis%d", a), &ir.Concat{Axis: a}, ins); err != nil {
			return err
		}
	}
	c.setOut(0, &val{node: name, t: c.im.irType(name)})
	return nil
}
