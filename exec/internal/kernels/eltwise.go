package kernels

import (
	"fmt"
	"github.com/kconv/kconv/exec/internal/par"
	"math"
)

// BinaryOp names an element-wise binary operation.
type BinaryOp uint8

// The binary operations. Max and Min propagate NaN. Pow is computed in
// float64 as math.Pow and rounded. Division by zero follows IEEE 754.
const (
	OpAdd BinaryOp = iota // a+b
	OpSub                 // a-b
	OpMul                 // a*b
	OpDiv                 // a/b
	OpMax                 // max(a, b)
	OpMin                 // min(a, b)
	OpPow                 // a^b

	opPReLU // internal: a if a >= 0 else a*b (b is the slope)
	opFirst // internal: a (broadcasting copy)
)

var binaryOpNames = [...]string{"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "PReLU", "First"}

func (op BinaryOp) String() string {
	if int(op) < len(binaryOpNames) {
		return binaryOpNames[op]
	}
	return fmt.Sprintf("BinaryOp(%d)", uint8(op))
}

// fmax32 and fmin32 are Go's built-in max and min: NaN if either operand
// is NaN, and +0 > -0.
func fmax32(a, b float32) float32 { return max(a, b) }

func fmin32(a, b float32) float32 { return min(a, b) }

func pow32(a, b float32) float32 { return float32(math.Pow(float64(a), float64(b))) }

// Eval applies op to one pair of values; it defines the semantics every
// vector path reproduces.
func (op BinaryOp) Eval(a, b float32) float32 {
	switch op {
	case OpAdd:
		return a + b
	case OpSub:
		return a - b
	case OpMul:
		return a * b
	case OpDiv:
		return a / b
	case OpMax:
		return fmax32(a, b)
	case OpMin:
		return fmin32(a, b)
	case OpPow:
		return pow32(a, b)
	case opPReLU:
		if a < 0 {
			return a * b
		}
		return a
	case opFirst:
		return a
	}
	panic("kernels: unknown binary op " + op.String())
}

// binVV sets dst[i] = a[i] op b[i].
func binVV(op BinaryOp, dst, a, b []float32) {
	b = b[:len(a)]
	dst = dst[:len(a)]
	switch op {
	case OpAdd:
		for i, v := range a {
			dst[i] = v + b[i]
		}
	case OpSub:
		for i, v := range a {
			dst[i] = v - b[i]
		}
	case OpMul:
		for i, v := range a {
			dst[i] = v * b[i]
		}
	case OpDiv:
		for i, v := range a {
			dst[i] = v / b[i]
		}
	case OpMax:
		for i, v := range a {
			dst[i] = fmax32(v, b[i])
		}
	case OpMin:
		for i, v := range a {
			dst[i] = fmin32(v, b[i])
		}
	case opPReLU:
		for i, v := range a {
			if v < 0 {
				v *= b[i]
			}
			dst[i] = v
		}
	case opFirst:
		copy(dst, a)
	default:
		for i, v := range a {
			dst[i] = op.Eval(v, b[i])
		}
	}
}

// binVS sets dst[i] = a[i] op s.
func binVS(op BinaryOp, dst, a []float32, s float32) {
	dst = dst[:len(a)]
	switch op {
	case OpAdd:
		for i, v := range a {
			dst[i] = v + s
		}
	case OpSub:
		for i, v := range a {
			dst[i] = v - s
		}
	case OpMul:
		for i, v := range a {
			dst[i] = v * s
		}
	case OpDiv:
		for i, v := range a {
			dst[i] = v / s
		}
	case OpMax:
		for i, v := range a {
			dst[i] = fmax32(v, s)
		}
	case OpMin:
		for i, v := range a {
			dst[i] = fmin32(v, s)
		}
	case OpPow:
		switch s {
		case 1:
			copy(dst, a)
		case 2: // exact: the float64 square of a float32 rounds like math.Pow
			for i, v := range a {
				dst[i] = v * v
			}
		default:
			for i, v := range a {
				dst[i] = pow32(v, s)
			}
		}
	case opPReLU:
		for i, v := range a {
			if v < 0 {
				v *= s
			}
			dst[i] = v
		}
	case opFirst:
		copy(dst, a)
	default:
		for i, v := range a {
			dst[i] = op.Eval(v, s)
		}
	}
}

// binSV sets dst[i] = s op b[i].
func binSV(op BinaryOp, dst []float32, s float32, b []float32) {
	dst = dst[:len(b)]
	switch op {
	case OpAdd:
		for i, v := range b {
			dst[i] = s + v
		}
	case OpSub:
		for i, v := range b {
			dst[i] = s - v
		}
	case OpMul:
		for i, v := range b {
			dst[i] = s * v
		}
	case OpDiv:
		for i, v := range b {
			dst[i] = s / v
		}
	case OpMax:
		for i, v := range b {
			dst[i] = fmax32(s, v)
		}
	case OpMin:
		for i, v := range b {
			dst[i] = fmin32(s, v)
		}
	case opFirst:
		for i := range dst {
			dst[i] = s
		}
	default:
		for i, v := range b {
			dst[i] = op.Eval(s, v)
		}
	}
}

// BroadcastShape returns the numpy broadcast of the given shapes: shapes are
// right-aligned, and each dimension must be equal across shapes or 1.
func BroadcastShape(shapes ...[]int) ([]int, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := r - len(s)
		for i, d := range s {
			if d < 0 {
				return nil, fmt.Errorf("kernels: negative dimension in shape %v", s)
			}
			switch o := out[off+i]; {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				// Copy shapes so that the variadic slice does not escape.
				return nil, fmt.Errorf("kernels: shapes %v do not broadcast (dimension %d: %d vs %d)",
					append([][]int(nil), shapes...), off+i-r, o, d)
			}
		}
	}
	return out, nil
}

// shapeBroadcastsTo reports whether src broadcasts to dst without changing
// dst (unidirectional broadcasting).
func shapeBroadcastsTo(src, dst []int) bool {
	if len(src) > len(dst) {
		for _, d := range src[:len(src)-len(dst)] {
			if d != 1 {
				return false
			}
		}
		src = src[len(src)-len(dst):]
	}
	off := len(dst) - len(src)
	for i, d := range src {
		if d != 1 && d != dst[off+i] {
			return false
		}
	}
	return true
}

// shapeSameModOnes reports whether a and b are equal after dropping leading
// 1s, i.e. describe the same layout with the same broadcast result.
func shapeSameModOnes(a, b []int) bool {
	for len(a) > len(b) {
		if a[0] != 1 {
			return false
		}
		a = a[1:]
	}
	for len(b) > len(a) {
		if b[0] != 1 {
			return false
		}
		b = b[1:]
	}
	return shapeEqual(a, b)
}

// shapeIsLastAxisVector reports whether v (of rank <= len(full)) has all
// dimensions 1 except a last one equal to full's last dimension.
func shapeIsLastAxisVector(v, full []int) bool {
	if len(v) == 0 || len(full) == 0 || len(v) > len(full) || v[len(v)-1] != full[len(full)-1] {
		return false
	}
	for _, d := range v[:len(v)-1] {
		if d != 1 {
			return false
		}
	}
	return true
}

// Binary writes a op b with numpy broadcasting into dst, whose length must be
// the element count of BroadcastShape(aShape, bShape). dst may be a (or b)
// when that operand already has the broadcast shape; it must not otherwise
// overlap them. Equal shapes, a scalar operand and a vector along the last
// axis take dedicated paths; other shapes are coalesced into as few
// dimensions as possible and run row by row.
func Binary(op BinaryOp, dst, a []float32, aShape []int, b []float32, bShape []int, pl *par.Pool) {
	aN, bN := shapeElems(aShape), shapeElems(bShape)
	shapeCheckLen("binary a", a, aN)
	shapeCheckLen("binary b", b, bN)
	switch {
	case shapeSameModOnes(aShape, bShape):
		shapeCheckLen("binary output", dst, aN)
		if parChunks(pl.Workers(), aN, 1) == 1 {
			binVV(op, dst, a, b)
			return
		}
		parRange(pl, aN, 1, func(lo, hi int) { binVV(op, dst[lo:hi], a[lo:hi], b[lo:hi]) })
	case bN == 1:
		shapeCheckLen("binary output", dst, aN)
		if parChunks(pl.Workers(), aN, 1) == 1 {
			binVS(op, dst, a, b[0])
			return
		}
		parRange(pl, aN, 1, func(lo, hi int) { binVS(op, dst[lo:hi], a[lo:hi], b[0]) })
	case aN == 1:
		shapeCheckLen("binary output", dst, bN)
		if parChunks(pl.Workers(), bN, 1) == 1 {
			binSV(op, dst, a[0], b)
			return
		}
		parRange(pl, bN, 1, func(lo, hi int) { binSV(op, dst[lo:hi], a[0], b[lo:hi]) })
	case aN > 0 && shapeIsLastAxisVector(bShape, aShape):
		shapeCheckLen("binary output", dst, aN)
		if parChunks(pl.Workers(), aN/bN, bN) == 1 {
			binRowsVec(op, dst, a, b, false, 0, aN/bN)
			return
		}
		parRange(pl, aN/bN, bN, func(lo, hi int) { binRowsVec(op, dst, a, b, false, lo, hi) })
	case bN > 0 && shapeIsLastAxisVector(aShape, bShape):
		shapeCheckLen("binary output", dst, bN)
		if parChunks(pl.Workers(), bN/aN, aN) == 1 {
			binRowsVec(op, dst, b, a, true, 0, bN/aN)
			return
		}
		parRange(pl, bN/aN, aN, func(lo, hi int) { binRowsVec(op, dst, b, a, true, lo, hi) })
	default:
		out, err := BroadcastShape(aShape, bShape)
		if err != nil {
			panic(err)
		}
		n := shapeElems(out)
		shapeCheckLen("binary output", dst, n)
		if n == 0 {
			return
		}
		bcMakePlan(out, aShape, bShape).run(op, dst, a, b, pl)
	}
}

// binRowsVec computes rows [lo, hi) of full op vec (or vec op full when
// vecLeft), vec being broadcast along all but the last axis.
func binRowsVec(op BinaryOp, dst, full, vec []float32, vecLeft bool, lo, hi int) {
	c := len(vec)
	for r := lo; r < hi; r++ {
		if vecLeft {
			binVV(op, dst[r*c:r*c+c], vec, full[r*c:r*c+c])
		} else {
			binVV(op, dst[r*c:r*c+c], full[r*c:r*c+c], vec)
		}
	}
}

// bcPlan is a broadcast iteration over coalesced output dimensions with
// per-operand element strides (0 where the operand is broadcast).
type bcPlan struct {
	dims, sa, sb []int
}

func bcMakePlan(out, aShape, bShape []int) bcPlan {
	r := len(out)
	stridesFor := func(s []int) []int {
		st := make([]int, r)
		acc := 1
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] != 1 {
				st[r-len(s)+i] = acc
			}
			acc *= s[i]
		}
		return st
	}
	fa, fb := stridesFor(aShape), stridesFor(bShape)
	var p bcPlan
	for i, d := range out {
		if d == 1 {
			continue
		}
		if k := len(p.dims) - 1; k >= 0 && p.sa[k] == fa[i]*d && p.sb[k] == fb[i]*d {
			p.dims[k] *= d
			p.sa[k], p.sb[k] = fa[i], fb[i]
			continue
		}
		p.dims = append(p.dims, d)
		p.sa = append(p.sa, fa[i])
		p.sb = append(p.sb, fb[i])
	}
	if len(p.dims) == 0 {
		p.dims, p.sa, p.sb = []int{1}, []int{0}, []int{0}
	}
	return p
}

func (p bcPlan) run(op BinaryOp, dst, a, b []float32, pl *par.Pool) {
	r := len(p.dims)
	L := p.dims[r-1]
	rows := len(dst) / L
	parRange(pl, rows, L, func(lo, hi int) { p.rows(op, dst, a, b, lo, hi) })
}

// rows computes output rows [lo, hi) (a row is the last coalesced dimension).
func (p bcPlan) rows(op BinaryOp, dst, a, b []float32, lo, hi int) {
	r := len(p.dims)
	L := p.dims[r-1]
	la, lb := p.sa[r-1], p.sb[r-1]
	idx := make([]int, r-1)
	oa, ob := 0, 0
	rem := lo
	for i := r - 2; i >= 0; i-- {
		idx[i] = rem % p.dims[i]
		rem /= p.dims[i]
		oa += idx[i] * p.sa[i]
		ob += idx[i] * p.sb[i]
	}
	for row := lo; row < hi; row++ {
		d := dst[row*L : row*L+L]
		switch {
		case la != 0 && lb != 0:
			binVV(op, d, a[oa:oa+L], b[ob:ob+L])
		case la != 0:
			binVS(op, d, a[oa:oa+L], b[ob])
		case lb != 0:
			binSV(op, d, a[oa], b[ob:ob+L])
		default: // only for a single-element output
			for i := range d {
				d[i] = op.Eval(a[oa], b[ob])
			}
		}
		for i := r - 2; i >= 0; i-- {
			idx[i]++
			oa += p.sa[i]
			ob += p.sb[i]
			if idx[i] < p.dims[i] {
				break
			}
			oa -= idx[i] * p.sa[i]
			ob -= idx[i] * p.sb[i]
			idx[i] = 0
		}
	}
}

// BroadcastTo writes x broadcast to dstShape into dst (ONNX Expand with a
// target shape that x broadcasts to unchanged).
func BroadcastTo(dst []float32, dstShape []int, x []float32, xShape []int, pl *par.Pool) {
	if !shapeBroadcastsTo(xShape, dstShape) {
		panic(fmt.Sprintf("kernels: shape %v does not broadcast to %v", xShape, dstShape))
	}
	n := shapeElems(dstShape)
	shapeCheckLen("broadcast input", x, shapeElems(xShape))
	shapeCheckLen("broadcast output", dst, n)
	if n == 0 {
		return
	}
	switch {
	case shapeSameModOnes(xShape, dstShape):
		copy(dst, x)
	case len(x) == 1:
		v := x[0]
		for i := range dst {
			dst[i] = v
		}
	default:
		bcMakePlan(dstShape, xShape, xShape).run(opFirst, dst, x, x, pl)
	}
}

// naryGrain is the block size of the equal-shape N-ary path: each output
// block is finished before moving on, so it stays in cache.
const naryGrain = 4096

func naryRun(op BinaryOp, dst []float32, inputs [][]float32, shapes [][]int, pl *par.Pool) {
	if len(inputs) == 0 || len(inputs) != len(shapes) {
		panic(fmt.Sprintf("kernels: n-ary %v: %d inputs, %d shapes", op.String(), len(inputs), len(shapes)))
	}
	same := true
	for k := range shapes {
		shapeCheckLen("n-ary input", inputs[k], shapeElems(shapes[k]))
		same = same && shapeSameModOnes(shapes[k], shapes[0])
	}
	if same {
		n := len(inputs[0])
		shapeCheckLen("n-ary output", dst, n)
		blocks := (n + naryGrain - 1) / naryGrain
		per := naryGrain * len(inputs)
		if parChunks(pl.Workers(), blocks, per) == 1 {
			naryBlocks(op, dst, inputs, 0, blocks)
			return
		}
		in := append([][]float32(nil), inputs...) // keep inputs itself off the heap
		parRange(pl, blocks, per, func(lo, hi int) { naryBlocks(op, dst, in, lo, hi) })
		return
	}
	out, err := BroadcastShape(shapes...)
	if err != nil {
		panic(err)
	}
	BroadcastTo(dst, out, inputs[0], shapes[0], pl)
	for k := 1; k < len(inputs); k++ {
		Binary(op, dst, dst, out, inputs[k], shapes[k], pl)
	}
}

func naryBlocks(op BinaryOp, dst []float32, inputs [][]float32, lo, hi int) {
	for blk := lo; blk < hi; blk++ {
		i0, i1 := blk*naryGrain, min((blk+1)*naryGrain, len(dst))
		d := dst[i0:i1]
		copy(d, inputs[0][i0:i1])
		for _, in := range inputs[1:] {
			binVV(op, d, d, in[i0:i1])
		}
	}
}

// SumN writes the broadcast sum of inputs into dst (Keras Add), accumulated
// left to right. dst must not overlap any input.
func SumN(dst []float32, inputs [][]float32, shapes [][]int, pl *par.Pool) {
	naryRun(OpAdd, dst, inputs, shapes, pl)
}

// ProdN writes the broadcast product of inputs into dst (Keras Multiply).
func ProdN(dst []float32, inputs [][]float32, shapes [][]int, pl *par.Pool) {
	naryRun(OpMul, dst, inputs, shapes, pl)
}

// MaxN writes the broadcast element-wise max of inputs (Keras Maximum).
func MaxN(dst []float32, inputs [][]float32, shapes [][]int, pl *par.Pool) {
	naryRun(OpMax, dst, inputs, shapes, pl)
}

// MinN writes the broadcast element-wise min of inputs (Keras Minimum).
func MinN(dst []float32, inputs [][]float32, shapes [][]int, pl *par.Pool) {
	naryRun(OpMin, dst, inputs, shapes, pl)
}

// MeanN writes the broadcast mean of inputs (Keras Average): the sum, left to
// right, divided by len(inputs).
func MeanN(dst []float32, inputs [][]float32, shapes [][]int, pl *par.Pool) {
	naryRun(OpAdd, dst, inputs, shapes, pl)
	binVS(OpDiv, dst, dst, float32(len(inputs)))
}
