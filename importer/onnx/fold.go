package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/ir"
)

// foldSize returns the element count of a tensor of the given shape that
// folding would build, or an error when the count overflows or the tensor
// (at 8 bytes an element, int64 being the widest held) would exceed budget
// bytes: the memory budget bounds what an import computes, not a fixed
// count (issue 12: real models fold VGG-sized weights).
func foldSize(shape []int, budget int64) (int, error) {
	e, err := ir.CheckedElements(ir.Shape(shape))
	if err != nil {
		return 0, fmt.Errorf("folded tensor of shape %v: %v", shape, err)
	}
	if b, ok := memory.Bytes(e, 8); !ok || b > budget {
		return 0, fmt.Errorf("folded tensor of shape %v needs %s, over the memory budget of %s (set with --memory-budget or Options.MemoryBudget)", shape, memory.Size(b), memory.Size(budget))
	}
	return int(e), nil
}

// tensor is a value known at import time: an initializer, a Constant, a
// bound input or the result of folding. Integer and bool tensors are held as
// int64, float tensors as float32; initializers are read on first use.
type tensor struct {
	shape []int
	isInt bool
	i     []int64
	// batch marks the elements of i that are symbols (nil: none): the
	// dynamic batch size (value 0) or an unknown dimension after the batch
	// (value symUnknown). Shape of a tensor with such dimensions makes
	// them.
	// They pass through data movement (Gather, Slice, Concat, Unsqueeze,
	// Reshape, Transpose, integer Cast) but not through arithmetic, and the
	// readers of plain values (ints, floats, scalar) refuse them. The mark
	// sits beside the value, so that no int64 — INT64_MIN included, which
	// Slice uses for "before the first element" — can be mistaken for it.
	batch  []bool
	f      []float32
	src    *tdata // data not read yet
	origin string
	// prov names the stored tensors of the file the value comes from,
	// for parameter accounting (ir.Model.Params): the initializer or
	// Constant itself, a folded value's stored inputs (setOut fills it),
	// none for integers and values made from attributes alone.
	prov *ir.Provenance
}

// noProv returns the provenance of a value the file does not store as a
// parameter: an integer tensor, a Constant node's value, a value computed
// from attributes or shapes alone (ConstantOfShape, Range), a zero bias
// the importer makes. An ONNX model's parameters are its float
// initializers (and graph inputs bound by Options.Constants, which stand
// for initializers), each counted once, as onnx users count them:
// sum(numel for initializer).
func noProv() *ir.Provenance { return &ir.Provenance{} }

// storedProv is the provenance of a stored tensor named key ("initializer
// fc.weight"): itself when it holds floats, none when integers (shapes,
// indices are not parameters).
func storedProv(key string, t *tensor) *ir.Provenance {
	if t.isInt {
		return noProv()
	}
	return &ir.Provenance{Tensors: []ir.StoredTensor{{Name: key, Elements: int64(t.n())}}}
}

// provOf returns t's provenance; a tensor the importer made with none set
// is not stored in the file.
func provOf(t *tensor) *ir.Provenance {
	if t == nil || t.prov == nil {
		return noProv()
	}
	return t.prov
}

func (t *tensor) n() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// floats returns the values as float32. Unread initializers are read (and
// converted) afresh on each call and never cached here: weights keep their
// own copy, and tensors are shared by lazily loaded weights, so they are
// never written after import.
func (t *tensor) floats() ([]float32, error) {
	if t.src != nil {
		return t.src.floats()
	}
	if !t.isInt {
		return t.f, nil
	}
	if t.hasBatch() {
		return nil, fmt.Errorf("value depends on %s", t.symWhat())
	}
	out := make([]float32, len(t.i))
	for k, v := range t.i {
		out[k] = float32(v)
	}
	return out, nil
}

// readFloatsAt reads elements [off, off+len(dst)) as float32 into dst:
// an unread initializer straight from its file.
func (t *tensor) readFloatsAt(dst []float32, off int) error {
	if t.src != nil {
		return t.src.readFloatsAt(dst, int64(off))
	}
	f, err := t.floats()
	if err != nil {
		return err
	}
	if off < 0 || off > len(f) || len(f)-off < len(dst) {
		return fmt.Errorf("%d values at %d of %d", len(dst), off, len(f))
	}
	copy(dst, f[off:])
	return nil
}

// hasBatch reports whether an element stands for the dynamic batch size
// or an unknown dimension.
func (t *tensor) hasBatch() bool { return slices.Contains(t.batch, true) }

// symUnknown is the value of a marked element standing for an unknown
// dimension after the batch (a marked 0 is the batch size).
const symUnknown int64 = -1

// symWhat names what the marked elements of t stand for.
func (t *tensor) symWhat() string {
	return symWhat(t.i, t.batch)
}

// symWhat names what the marked elements of v stand for: "the dynamic
// batch size" (every import error about the batch says "dynamic batch")
// or "an unknown input dimension".
func symWhat(v []int64, marks []bool) string {
	for k, m := range marks {
		if m && k < len(v) && v[k] == symUnknown {
			return "an unknown input dimension (kconv folds shape arithmetic only over the batch size)"
		}
	}
	return "the dynamic batch size"
}

// ints returns the values as int64 (floats truncated), refusing elements
// that stand for the dynamic batch size.
func (t *tensor) ints() ([]int64, error) { return t.intsNoSym("value") }

// intsNoSym is ints, naming what the values are in its error.
func (t *tensor) intsNoSym(what string) ([]int64, error) {
	v, batch, err := t.symInts()
	if err != nil {
		return nil, err
	}
	if slices.Contains(batch, true) {
		return nil, fmt.Errorf("%s depends on %s", what, symWhat(v, batch))
	}
	return v, nil
}

// symInts returns the values as int64 (floats truncated) and which of them
// stand for the dynamic batch size (nil: none).
func (t *tensor) symInts() ([]int64, []bool, error) {
	if t.src != nil {
		v, err := t.src.ints()
		return v, nil, err
	}
	if t.isInt {
		return t.i, t.batch, nil
	}
	out := make([]int64, len(t.f))
	for k, v := range t.f {
		out[k] = int64(v)
	}
	return out, nil, nil
}

// scalar returns the only value of a one-element tensor.
func (t *tensor) scalar() (float64, error) {
	if t.n() != 1 {
		return 0, fmt.Errorf("expected one value, got shape %v", t.shape)
	}
	if t.isInt {
		v, err := t.intsNoSym("value")
		if err != nil {
			return 0, err
		}
		return float64(v[0]), nil
	}
	f, err := t.floats()
	if err != nil {
		return 0, err
	}
	return float64(f[0]), nil
}

func intTensor(shape []int, v []int64) *tensor {
	return &tensor{shape: shape, isInt: true, i: v}
}

func floatTensor(shape []int, v []float32) *tensor {
	return &tensor{shape: shape, f: v}
}

// strides returns row-major strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	k := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = k
		k *= shape[i]
	}
	return s
}

// gatherIdx builds a tensor by mapping every output index to a source
// index: src(outIndex) returns the flat input index.
func remap(t *tensor, outShape []int, budget int64, src func(idx []int) int) (*tensor, error) {
	var fv []float32
	var iv []int64
	var bv []bool
	var err error
	if t.isInt {
		iv, bv, err = t.symInts()
	} else {
		fv, err = t.floats()
	}
	if err != nil {
		return nil, err
	}
	n, err := foldSize(outShape, budget)
	if err != nil {
		return nil, err
	}
	out := &tensor{shape: outShape, isInt: t.isInt}
	if t.isInt {
		out.i = make([]int64, n)
		if bv != nil {
			out.batch = make([]bool, n)
		}
	} else {
		out.f = make([]float32, n)
	}
	idx := make([]int, len(outShape))
	for k := 0; k < n; k++ {
		j := src(idx)
		if t.isInt {
			out.i[k] = iv[j]
			if bv != nil {
				out.batch[k] = bv[j]
			}
		} else {
			out.f[k] = fv[j]
		}
		for a := len(idx) - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < outShape[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out, nil
}

// reshaped returns t with another shape of the same size (data shared).
func (t *tensor) reshaped(shape []int) (*tensor, error) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != t.n() {
		return nil, fmt.Errorf("cannot reshape %v to %v", t.shape, shape)
	}
	c := *t
	c.shape = shape
	return &c, nil
}

func foldTranspose(t *tensor, perm []int, budget int64) (*tensor, error) {
	if len(perm) != len(t.shape) {
		return nil, fmt.Errorf("permutation %v does not fit %v", perm, t.shape)
	}
	out := make([]int, len(perm))
	for i, p := range perm {
		out[i] = t.shape[p]
	}
	st := strides(t.shape)
	return remap(t, out, budget, func(idx []int) int {
		j := 0
		for i, p := range perm {
			j += idx[i] * st[p]
		}
		return j
	})
}

func foldSlice(t *tensor, op *ir.Slice, budget int64) (*tensor, error) {
	res, err := op.Resolve(ir.Shape(t.shape))
	if err != nil {
		return nil, err
	}
	out := make([]int, len(res))
	for i, r := range res {
		out[i] = r.Count
	}
	st := strides(t.shape)
	return remap(t, out, budget, func(idx []int) int {
		j := 0
		for i, r := range res {
			j += (r.Start + idx[i]*r.Step) * st[i]
		}
		return j
	})
}

func foldGather(t *tensor, axis int, ind []int, indShape []int, budget int64) (*tensor, error) {
	out := append(append(slices.Clone(t.shape[:axis]), indShape...), t.shape[axis+1:]...)
	st := strides(t.shape)
	r := len(indShape)
	ist := strides(indShape)
	return remap(t, out, budget, func(idx []int) int {
		j := 0
		for i := 0; i < axis; i++ {
			j += idx[i] * st[i]
		}
		k := 0
		for i := 0; i < r; i++ {
			k += idx[axis+i] * ist[i]
		}
		j += ind[k] * st[axis]
		for i := axis + 1; i < len(t.shape); i++ {
			j += idx[i-1+r] * st[i]
		}
		return j
	})
}

func foldConcat(ts []*tensor, axis int, budget int64) (*tensor, error) {
	r := len(ts[0].shape)
	isInt := true
	for _, t := range ts {
		if len(t.shape) != r {
			return nil, fmt.Errorf("cannot concatenate shapes %v and %v", ts[0].shape, t.shape)
		}
		if !t.isInt {
			isInt = false
		}
	}
	if axis < 0 || axis >= r {
		return nil, fmt.Errorf("concat axis out of range for rank %d", r)
	}
	out := slices.Clone(ts[0].shape)
	out[axis] = 0
	for _, t := range ts {
		for i := range r {
			if i != axis && t.shape[i] != out[i] {
				return nil, fmt.Errorf("cannot concatenate shapes %v and %v on axis %d", ts[0].shape, t.shape, axis)
			}
		}
		out[axis] += t.shape[axis]
	}
	_, err := foldSize(out, budget)
	if err != nil {
		return nil, err
	}
	res := &tensor{shape: out, isInt: isInt}
	outer := 1
	for _, d := range out[:axis] {
		outer *= d
	}
	fs := make([][]float32, len(ts))
	is := make([][]int64, len(ts))
	bs := make([][]bool, len(ts))
	anyBatch := false
	for k, t := range ts {
		var err error
		if isInt {
			is[k], bs[k], err = t.symInts()
			anyBatch = anyBatch || bs[k] != nil
		} else {
			fs[k], err = t.floats()
		}
		if err != nil {
			return nil, err
		}
	}
	for o := 0; o < outer; o++ {
		for k, t := range ts {
			inner := t.n() / outer
			if isInt {
				res.i = append(res.i, is[k][o*inner:(o+1)*inner]...)
				if anyBatch {
					if bs[k] != nil {
						res.batch = append(res.batch, bs[k][o*inner:(o+1)*inner]...)
					} else {
						res.batch = append(res.batch, make([]bool, inner)...)
					}
				}
			} else {
				res.f = append(res.f, fs[k][o*inner:(o+1)*inner]...)
			}
		}
	}
	return res, nil
}

// foldBinary computes a op b with broadcasting.
func foldBinary(op string, a, b *tensor, budget int64) (*tensor, error) {
	shape, err := ir.BroadcastStrict(ir.Shape(a.shape), ir.Shape(b.shape))
	if err != nil {
		return nil, err
	}
	out := []int(shape)
	n, err := foldSize(out, budget)
	if err != nil {
		return nil, err
	}
	ai := bcastIndex(a.shape, out)
	bi := bcastIndex(b.shape, out)
	if a.isInt && b.isInt {
		x, err := a.intsNoSym("the operand")
		if err != nil {
			return nil, err
		}
		y, err := b.intsNoSym("the operand")
		if err != nil {
			return nil, err
		}
		res := make([]int64, n)
		for k := range res {
			p, q := x[ai(k)], y[bi(k)]
			switch op {
			case "Add":
				res[k] = p + q
			case "Sub":
				res[k] = p - q
			case "Mul":
				res[k] = p * q
			case "Div":
				if q == 0 {
					return nil, fmt.Errorf("integer division by zero")
				}
				res[k] = p / q // ONNX integer Div truncates, as Go does
			case "Max":
				res[k] = max(p, q)
			case "Min":
				res[k] = min(p, q)
			case "Mod", "Fmod": // Mod: the divisor's sign (Python); Fmod: the dividend's (C)
				if q == 0 {
					return nil, fmt.Errorf("integer modulo by zero")
				}
				res[k] = p % q
				if op == "Mod" && res[k] != 0 && (res[k] < 0) != (q < 0) {
					res[k] += q
				}
			default:
				return nil, fmt.Errorf("cannot fold %s", op)
			}
		}
		return intTensor(out, res), nil
	}
	x, err := a.floats()
	if err != nil {
		return nil, err
	}
	y, err := b.floats()
	if err != nil {
		return nil, err
	}
	res := make([]float32, n)
	for k := range res {
		p, q := x[ai(k)], y[bi(k)]
		switch op {
		case "Add":
			res[k] = p + q
		case "Sub":
			res[k] = p - q
		case "Mul":
			res[k] = p * q
		case "Div":
			res[k] = p / q
		case "Max":
			res[k] = max(p, q)
		case "Min":
			res[k] = min(p, q)
		case "Pow":
			res[k] = float32(math.Pow(float64(p), float64(q)))
		case "Fmod":
			res[k] = float32(math.Mod(float64(p), float64(q)))
		default:
			return nil, fmt.Errorf("cannot fold %s", op)
		}
	}
	return floatTensor(out, res), nil
}

// bcastIndex maps a flat index of out to the flat index of a broadcast
// operand of shape s.
func bcastIndex(s, out []int) func(int) int {
	if slices.Equal(s, out) {
		return func(k int) int { return k }
	}
	r := len(out)
	pad := make([]int, r)
	for i := range pad {
		pad[i] = 1
	}
	copy(pad[r-len(s):], s)
	st := strides(pad)
	ost := strides(out)
	return func(k int) int {
		j := 0
		for i := 0; i < r; i++ {
			c := k / ost[i] % out[i]
			if pad[i] != 1 {
				j += c * st[i]
			}
		}
		return j
	}
}

// castTensor converts t to an ONNX element type.
func castTensor(t *tensor, to int32) (*tensor, error) {
	switch {
	case isFloatType(to):
		f, err := t.floats()
		if err != nil {
			return nil, err
		}
		return floatTensor(t.shape, f), nil
	case to == dtBool:
		if t.isInt {
			v, err := t.ints()
			if err != nil {
				return nil, err
			}
			out := make([]int64, len(v))
			for k, x := range v {
				if x != 0 {
					out[k] = 1
				}
			}
			return intTensor(t.shape, out), nil
		}
		f, err := t.floats()
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(f))
		for k, x := range f {
			if x != 0 {
				out[k] = 1
			}
		}
		return intTensor(t.shape, out), nil
	case elemSize(to) > 0 && to != dtString:
		v, batch, err := t.symInts()
		if err != nil {
			return nil, err
		}
		out := intTensor(t.shape, v)
		out.batch = batch
		return out, nil
	}
	return nil, fmt.Errorf("cannot cast to %s", dtypeName(to))
}
