package onnx

import (
	"fmt"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// Keras's masks in ONNX.
//
// A Masking layer (or an Embedding with mask_zero) masks the steps of a
// row whose features all equal its value (whose index is 0), and the
// recurrent layers it reaches (ir.ModelMasks; through a merge layer,
// several sources' masks combine with And or Or) skip those steps, as
// kconv's runtime and Keras's RNN do: the states are carried over a masked step,
// and the output there is the previous output — zeros before the first
// kept step, even with initial states, and zeros at every masked step of
// a Bidirectional layer returning sequences (Keras's zero_output_for_mask).
// ONNX's RNN, LSTM and GRU have no per-step mask, only sequence_lens: each
// row runs its first sequence_lens steps (a reverse direction from step
// sequence_lens-1 down to 0). A mask with holes anywhere is therefore made
// a length:
//
//   - keep[n,t] is 1 for a kept step, 0 for a masked one;
//   - each row's kept steps move to its front in their order (a stable
//     partition): TopK, smallest first, of the unique keys t + T·(1-keep)
//     gives the step each position reads, and GatherElements reads it;
//   - the recurrent node runs with sequence_lens = the kept steps per row:
//     its forward direction sees exactly the kept steps in order, its
//     reverse direction the kept steps last to first (its reversal covers
//     only the first sequence_lens positions), so Y_h and Y_c are the
//     states after the last kept step — what skipping the masked steps
//     gives, in either direction; go_backwards is the reverse direction,
//     as without a mask;
//   - with return_sequences the output at original step t is the output
//     after the kept steps read up to t: forward, the compacted output at
//     cnt(t)-1 where cnt(t) counts the kept steps ≤ t; reverse, the
//     compacted output at cntx(t), the kept steps < t, while cntx(t) <
//     sequence_lens; zeros where no kept step has been read (cnt(t) = 0,
//     or cntx(t) = sequence_lens). One GatherElements over zeros
//     concatenated in front of Y does both.
//
// This is exact (the recurrence runs on the same steps in the same order,
// and no arithmetic touches the data besides the cell's), general (T and
// the batch are read from the tensors' shapes; step positions are counted
// in float32, exact below 2^24 steps), and uses standard ops ONNX Runtime
// runs from opset 11 (Equal, Not, Cast, ReduceMax, ReduceSum, CumSum,
// TopK, GatherElements, Where, Expand). A row with no kept step runs with
// sequence_lens 1 (ONNX leaves 0 to the runtime): Where then gives it the
// initial states as final states and a zero output. A Scan whose body
// runs the cell with a Where would be exact too, but ONNX Runtime would
// run the cell op by op instead of its LSTM/GRU kernels, and importers
// that read recurrent nodes would not recognise it.

// stepMask is the ONNX form of one mask source's mask, made once.
type stepMask struct {
	base  string // the prefix of the names of its nodes
	keep  string // (N, T) bool: the step is kept
	keepF string // (N, T) float: 1 kept, 0 masked
	// Made by compact for the recurrent layers.
	order string // (N, T) int64: the step compacted position p reads
	lens  string // (N) int32: kept steps per row, at least 1
	lensF string // (N, 1) float: kept steps per row
	empty string // (N, 1, 1) bool: the row has no kept step
	cnt   string // (N, T) float: kept steps ≤ t
	cntx  string // (N, T) float: kept steps < t
}

// mask returns the ONNX form of mask mk (see ir.ModelMasks): its sources'
// masks, combined with And or Or for a merge layer's.
func (b *builder) mask(mk *ir.Mask) (*stepMask, error) {
	if mk.Source != nil {
		return b.sourceMask(mk.Source)
	}
	if m, ok := b.masks[mk.Key()]; ok {
		return m, nil
	}
	base := b.fresh("mask")
	keep := ""
	for _, t := range mk.Terms {
		tm, err := b.mask(t)
		if err != nil {
			return nil, err
		}
		if keep == "" {
			keep = tm.keep
			continue
		}
		op := "And"
		if mk.Any {
			op = "Or"
		}
		keep = b.step(op, []string{keep, tm.keep}, base+"/keep")
	}
	m := &stepMask{base: base, keep: keep, keepF: b.cast(keep, onnxpb.TensorProto_FLOAT, base+"/keep")}
	b.masks[mk.Key()] = m
	return m, nil
}

// sourceMask returns the mask of source node src (a Masking, or an
// Embedding with mask_zero), computed from src's input.
func (b *builder) sourceMask(src *ir.Node) (*stepMask, error) {
	if m, ok := b.masks[src.Name]; ok {
		return m, nil
	}
	x := b.logical(b.vals[src.Inputs[0]])
	base := src.Name + "/mask"
	m := &stepMask{base: base}
	switch op := src.Op.(type) {
	case *ir.Masking:
		if len(x.shape) != 3 {
			return nil, fmt.Errorf("'%s' masks a rank-%d value, not (batch, steps, features)", src.Name, len(x.shape))
		}
		// A step is kept when any feature differs from the value (so a
		// NaN feature keeps it, as in kconv and Keras).
		ne := b.step("Not", []string{b.step("Equal", []string{x.name, b.scalar(float32(op.Value))}, base+"/equal")}, base+"/differs")
		m.keepF = b.reduce("ReduceMax", b.cast(ne, onnxpb.TensorProto_FLOAT, base+"/differs"), 2, false, base+"/keep")
		m.keep = b.cast(m.keepF, onnxpb.TensorProto_BOOL, base+"/keep")
	case *ir.Embedding:
		if len(x.shape) != 2 {
			return nil, fmt.Errorf("'%s' (mask_zero) reads a rank-%d value, not (batch, steps)", src.Name, len(x.shape))
		}
		m.keep = b.step("Not", []string{b.step("Equal", []string{x.name, b.scalar(0)}, base+"/zero")}, base+"/keep")
		m.keepF = b.cast(m.keep, onnxpb.TensorProto_FLOAT, base+"/keep")
	default:
		return nil, fmt.Errorf("'%s' (%s) is not a mask source", src.Name, src.Op.Kind())
	}
	b.masks[src.Name] = m
	return m, nil
}

// compact adds to m what the recurrent layers read (see the comment at the
// top of this file), once.
func (b *builder) compact(m *stepMask) {
	if m.order != "" {
		return
	}
	base := m.base
	shp := b.step("Shape", []string{m.keepF}, base+"/shape")
	ones := b.step("Expand", []string{b.scalar(1), shp}, base+"/ones")
	axis1 := b.scalarI(1)
	t := b.step("Sub", []string{b.step("CumSum", []string{ones, axis1}, base+"/step"), b.scalar(1)}, base+"/step")
	steps := b.reduce("ReduceSum", ones, 1, true, base+"/steps")
	masked := b.step("Sub", []string{b.scalar(1), m.keepF}, base+"/masked")
	key := b.step("Add", []string{t, b.step("Mul", []string{steps, masked}, base+"/key")}, base+"/key")
	k := b.step("Slice", []string{shp, b.constI(1), b.constI(2)}, base+"/steps")
	vals, order := b.fresh(base+"/sorted"), b.fresh(base+"/order")
	b.addMulti("TopK", []string{key, k}, []string{vals, order}, aInt("axis", 1), aInt("largest", 0), aInt("sorted", 1))
	m.order = order
	m.cnt = b.step("CumSum", []string{m.keepF, axis1}, base+"/count")
	m.cntx = b.step("Sub", []string{m.cnt, m.keepF}, base+"/count_before")
	m.lensF = b.reduce("ReduceSum", m.keepF, 1, true, base+"/lengths")
	flat := b.step("Reshape", []string{m.lensF, b.constI(-1)}, base+"/lengths")
	m.lens = b.cast(b.step("Max", []string{flat, b.scalar(1)}, base+"/lengths"), onnxpb.TensorProto_INT32, base+"/sequence_lens")
	m.empty = b.step("Reshape", []string{b.step("Equal", []string{m.lensF, b.scalar(0)}, base+"/empty"), b.constI(-1, 1, 1)}, base+"/empty")
}

// compacted returns x (N, T, F) with each row's kept steps moved to its
// front, in order.
func (b *builder) compacted(x string, m *stepMask, base string) string {
	idx := b.step("Expand", []string{b.step("Reshape", []string{m.order, b.constI(0, 0, 1)}, base+"/order"), b.step("Shape", []string{x}, base+"/shape")}, base+"/order")
	return b.step("GatherElements", []string{x, idx}, base+"/compacted", aInt("axis", 1))
}

// uncompact returns the sequence output (N, T, D, U) at the original steps
// from y, the compacted one (see the comment at the top of this file):
// direction d is reverse when rev[d].
func (b *builder) uncompact(y string, m *stepMask, rev []bool, u int, base string) string {
	d := len(rev)
	var fw, bw string
	idx := make([]string, d)
	for i, r := range rev {
		if !r {
			if fw == "" {
				fw = b.step("Reshape", []string{m.cnt, b.constI(0, 0, 1)}, base+"/forward_index")
			}
			idx[i] = fw
			continue
		}
		if bw == "" {
			// cntx+1 while a kept step remains at or after t, else 0.
			more := b.step("Less", []string{m.cntx, m.lensF}, base+"/kept_after")
			next := b.step("Add", []string{m.cntx, b.scalar(1)}, base+"/reverse_index")
			w := b.step("Where", []string{more, next, b.scalar(0)}, base+"/reverse_index")
			bw = b.step("Reshape", []string{w, b.constI(0, 0, 1)}, base+"/reverse_index")
		}
		idx[i] = bw
	}
	ix := idx[0]
	if d > 1 {
		ix = b.step("Concat", idx, base+"/index", aInt("axis", 2))
	}
	ix = b.cast(ix, onnxpb.TensorProto_INT64, base+"/index")
	ix = b.step("Reshape", []string{ix, b.constI(0, 0, int64(d), 1)}, base+"/index")
	ix = b.step("Expand", []string{ix, b.step("Shape", []string{y}, base+"/shape")}, base+"/index")
	n := b.step("Slice", []string{b.step("Shape", []string{y}, base+"/shape"), b.constI(0), b.constI(1)}, base+"/batch")
	shape := b.step("Concat", []string{n, b.constI(1, int64(d), int64(u))}, base+"/zeros_shape", aInt("axis", 0))
	zeros := b.step("Expand", []string{b.scalar(0), shape}, base+"/zeros")
	padded := b.step("Concat", []string{zeros, y}, base+"/with_zeros", aInt("axis", 1))
	return b.step("GatherElements", []string{padded, ix}, base+"/uncompacted", aInt("axis", 1))
}

// emptyRows returns the final state st (N, D, U) with the rows that kept
// no step set to init ((N, D, U); "" for zeros).
func (b *builder) emptyRows(st string, m *stepMask, init, base string) string {
	if init == "" {
		init = b.scalar(0)
	}
	return b.step("Where", []string{m.empty, init, st}, base)
}

// masking exports Masking: the masked steps zeroed (Where, so that an
// infinite mask value gives 0, not NaN).
func (b *builder) masking(n *ir.Node) (*value, error) {
	m, err := b.sourceMask(n)
	if err != nil {
		return nil, err
	}
	x := b.logical(b.in(n, 0))
	keep := b.step("Reshape", []string{m.keep, b.constI(0, 0, 1)}, n.Name+"/keep")
	return result(n, b.add("Where", []string{keep, x.name, b.scalar(0)}, n.Name), false), nil
}

// reduce adds Reduce<op> of x over one axis: axes as an attribute before
// the opset that made them an input (13 for ReduceSum, 18 for the others).
func (b *builder) reduce(op, x string, axis int64, keep bool, base string) string {
	k := int64(0)
	if keep {
		k = 1
	}
	from := 18
	if op == "ReduceSum" {
		from = 13
	}
	if b.opset >= from {
		return b.step(op, []string{x, b.constI(axis)}, base, aInt("keepdims", k))
	}
	return b.step(op, []string{x}, base, aInts("axes", axis), aInt("keepdims", k))
}

func (b *builder) cast(x string, to onnxpb.TensorProto_DataType, base string) string {
	return b.step("Cast", []string{x}, base, aInt("to", int64(to)))
}

// scalarI adds (or reuses) a rank-0 int64 constant.
func (b *builder) scalarI(v int64) string {
	key := fmt.Sprintf("i0:%d", v)
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := b.fresh("const_i")
	b.inits = append(b.inits, &initializer{name: name, dims: []int64{}, i64: []int64{v}})
	b.consts[key] = name
	return name
}
