package exec

import (
	"fmt"

	"github.com/kconv/kconv/exec/internal/gemm"
	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/exec/internal/par"
	"github.com/kconv/kconv/ir"
)

// onnxNode lowers the general tensor ops that ONNX graphs need (ir's
// ops_onnx.go). They work on values in logical storage. It reports whether
// it handled the node.
func (l *lowerer) onnxNode(n *ir.Node) (bool, error) {
	in := func(i int) *value { return l.need(l.byNode[n.Inputs[i]], false) }
	out := func() *value {
		v := l.newValue(n.Name, n.Out, false)
		l.byNode[n.Name] = v
		return v
	}
	switch op := n.Op.(type) {
	case *ir.Constant:
		ws, err := weights(n)
		if err != nil {
			return true, err
		}
		v := l.newValue(n.Name, n.Out, false)
		v.constant = ws[0]
		l.byNode[n.Name] = v
		return true, nil

	case *ir.Binary:
		if l.channelOp(n, op) {
			return true, nil
		}
		a, b := in(0), in(1)
		o := out()
		kop := [...]kernels.BinaryOp{kernels.OpAdd, kernels.OpSub, kernels.OpMul, kernels.OpDiv, kernels.OpMax, kernels.OpMin, kernels.OpPow}[op.Op]
		l.add(&step{node: n.Name, ins: []*value{a, b}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			kernels.Binary(kop, dst, ins[0], a.dims(bt), ins[1], b.dims(bt), ar.ws.Par())
			return nil
		}})

	case *ir.Transpose:
		// NCHW<->NHWC transposes are storage changes: a channels-first value
		// kept in NHWC is, as memory, the channels-last tensor, and the
		// reverse. Exporters surround every NHWC op with such pairs.
		if src := l.byNode[n.Inputs[0]]; len(src.shape) == 4 && len(op.Perm) == 4 {
			p := op.Perm
			if p[0] == 0 && p[1] == 2 && p[2] == 3 && p[3] == 1 {
				v := l.need(src, true)
				l.byNode[n.Name] = l.viewOf(v, n.Name, n.Out, false)
				return true, nil
			}
			if p[0] == 0 && p[1] == 3 && p[2] == 1 && p[3] == 2 {
				v := l.need(src, false)
				l.byNode[n.Name] = l.viewOf(v, n.Name, n.Out, true)
				return true, nil
			}
		}
		x := in(0)
		o := out()
		l.add(&step{node: n.Name, ins: []*value{x}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			kernels.Transpose(dst, ins[0], x.dims(bt), op.Perm, ar.ws.Par())
			return nil
		}})

	case *ir.ReshapeTo:
		x := in(0)
		l.byNode[n.Name] = l.viewOf(x, n.Name, n.Out, false)

	case *ir.Concat:
		if l.concatNHWC(n, op) {
			return true, nil
		}
		vs := make([]*value, len(n.Inputs))
		for i := range vs {
			vs[i] = in(i)
		}
		o := out()
		axis := op.Axis
		if axis < 0 {
			axis += len(n.Out.Shape)
		}
		l.add(&step{node: n.Name, ins: vs, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			shapes := make([][]int, len(vs))
			for i, v := range vs {
				shapes[i] = v.dims(bt)
			}
			kernels.Concat(dst, ins, shapes, axis)
			return nil
		}})

	case *ir.Pad:
		x := in(0)
		o := out()
		r := len(x.shape)
		if len(op.Pads) != 2*r {
			return true, fmt.Errorf("pad has %d values for rank %d", len(op.Pads), r)
		}
		mode := map[string]kernels.PadMode{"constant": kernels.PadConstant, "": kernels.PadConstant, "reflect": kernels.PadReflect, "edge": kernels.PadEdge}
		m, ok := mode[op.Mode]
		if !ok {
			return true, fmt.Errorf("pad mode %q is not supported", op.Mode)
		}
		begin, end := op.Pads[:r], op.Pads[r:]
		l.add(&step{node: n.Name, ins: []*value{x}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			kernels.Pad(dst, ins[0], x.dims(bt), begin, end, m, float32(op.Value))
			return nil
		}})

	case *ir.Slice:
		if v := l.byNode[n.Inputs[0]]; v != nil && v.nhwc && len(v.shape) == 4 {
			// A slice of channels alone, on a channels-last value: a
			// channel gather of a run.
			axes, err := op.Resolve(v.shape)
			if err != nil {
				return true, err
			}
			if a := axes[1]; a.Step == 1 && axes[2].Count == v.shape[2] && axes[3].Count == v.shape[3] && (v.shape[0] < 0 || axes[0].Count == v.shape[0]) {
				idx := make([]int, a.Count)
				for i := range idx {
					idx[i] = a.Start + i
				}
				l.channelGather(n, v, idx)
				return true, nil
			}
		}
		x := in(0)
		o := out()
		axes, err := op.Resolve(x.shape)
		if err != nil {
			return true, err
		}
		starts, steps, counts := make([]int, len(axes)), make([]int, len(axes)), make([]int, len(axes))
		for i, a := range axes {
			starts[i], steps[i], counts[i] = a.Start, a.Step, a.Count
		}
		l.add(&step{node: n.Name, ins: []*value{x}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			shape := x.dims(bt)
			cs := append([]int(nil), counts...)
			if x.shape[0] < 0 {
				cs[0] = bt
			}
			kernels.Slice(dst, ins[0], shape, starts, steps, cs)
			return nil
		}})

	case *ir.Gather:
		if v := l.byNode[n.Inputs[0]]; v != nil && v.nhwc && len(v.shape) == 4 && op.Axis == 1 && len(op.IndicesShape) == 1 {
			// A Gather of channels (the channel-shuffle pass's) on a
			// channels-last value.
			l.channelGather(n, v, op.Indices)
			return true, nil
		}
		x := in(0)
		o := out()
		axis := op.Axis
		if axis < 0 {
			axis += len(x.shape)
		}
		l.add(&step{node: n.Name, ins: []*value{x}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			s := x.dims(bt)
			outer, inner := 1, 1
			for _, d := range s[:axis] {
				outer *= d
			}
			for _, d := range s[axis+1:] {
				inner *= d
			}
			dim := s[axis]
			src := ins[0]
			k := 0
			for i := 0; i < outer; i++ {
				for _, idx := range op.Indices {
					copy(dst[k*inner:(k+1)*inner], src[(i*dim+idx)*inner:(i*dim+idx+1)*inner])
					k++
				}
			}
			return nil
		}})

	case *ir.ReduceMean:
		x := in(0)
		o := out()
		axes := make([]int, len(op.Axes))
		for i, a := range op.Axes {
			if a < 0 {
				a += len(x.shape)
			}
			axes[i] = a
		}
		l.add(&step{node: n.Name, ins: []*value{x}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			kernels.ReduceMean(dst, ins[0], x.dims(bt), axes, ar.ws.Par())
			return nil
		}})

	case *ir.LRN:
		// Across channels: on NHWC storage the channel axis is last.
		src := l.byNode[n.Inputs[0]]
		if len(src.shape) != 4 {
			return true, fmt.Errorf("LRN on rank-%d tensors is not supported (rank 4 only)", len(src.shape))
		}
		x := l.need(src, true)
		o := l.newValue(n.Name, n.Out, true)
		l.byNode[n.Name] = o
		c := x.shape[1]
		l.add(&step{node: n.Name, ins: []*value{x}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			kernels.LRN(dst, ins[0], c, op.Size, float32(op.Alpha), float32(op.Beta), float32(op.Bias), ar.ws.Par())
			return nil
		}})

	case *ir.Clip:
		src := l.byNode[n.Inputs[0]]
		o := l.newValue(n.Name, n.Out, src.nhwc)
		l.byNode[n.Name] = o
		act := kernels.Activation{Kind: kernels.ActClip, Min: float32(op.Min), Max: float32(op.Max)}
		l.add(&step{node: n.Name, ins: []*value{src}, out: o, inplace: true, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			copy(dst, ins[0])
			act.ApplyFast(dst)
			return nil
		}})

	case *ir.Gemm:
		vs := []*value{in(0), in(1)}
		if len(n.Inputs) == 3 {
			vs = append(vs, in(2))
		}
		o := out()
		l.add(&step{node: n.Name, ins: vs, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			as, bs := vs[0].dims(bt), vs[1].dims(bt)
			m, k := as[0], as[1]
			if op.TransA {
				m, k = as[1], as[0]
			}
			nn := bs[1]
			if op.TransB {
				nn = bs[0]
			}
			beta := float32(0)
			if len(vs) == 3 {
				kernels.BroadcastTo(dst, []int{m, nn}, ins[2], vs[2].dims(bt), nil)
				beta = float32(op.Beta)
			}
			gemm.Sgemm(ar.ws.Par(), op.TransA, op.TransB, m, nn, k, float32(op.Alpha), ins[0], as[1], ins[1], bs[1], beta, dst, nn)
			return nil
		}})

	case *ir.MatMul:
		a, b := in(0), in(1)
		o := out()
		l.add(&step{node: n.Name, ins: []*value{a, b}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
			return matmul(ar.ws.Par(), dst, ins[0], a.dims(bt), ins[1], b.dims(bt))
		}})

	default:
		return false, nil
	}
	return true, nil
}

// matmul is numpy's matmul with broadcasting of the leading axes.
func matmul(pl *par.Pool, dst, a []float32, as []int, b []float32, bs []int) error {
	ra, rb := len(as), len(bs)
	if ra == 1 {
		as = []int{1, as[0]}
	}
	if rb == 1 {
		bs = []int{bs[0], 1}
	}
	m, k, n := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	batch, err := kernels.BroadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return err
	}
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	// Offsets of each batch matrix in a and b under broadcasting.
	idx := func(shape []int, flat int) int {
		off, stride := 0, 1
		r := len(batch)
		for i := r - 1; i >= 0; i-- {
			coord := flat % batch[i]
			flat /= batch[i]
			j := i - (r - len(shape))
			if j >= 0 {
				if shape[j] != 1 {
					off += coord * stride
				}
				stride *= shape[j]
			}
		}
		return off
	}
	for i := 0; i < nb; i++ {
		ao := idx(as[:len(as)-2], i) * m * k
		bo := idx(bs[:len(bs)-2], i) * k * n
		gemm.Sgemm(pl, false, false, m, n, k, 1, a[ao:ao+m*k], k, b[bo:bo+k*n], n, 0, dst[i*m*n:(i+1)*m*n], n)
	}
	return nil
}

// channelGather lowers node n, which takes channels idx of v (a 4-D value
// in channels-last storage), as one pass per pixel, its output
// channels-last too: ShuffleNet's channel shuffles and their halves (see
// ir's channel-shuffle pass) and channel slices.
func (l *lowerer) channelGather(n *ir.Node, v *value, idx []int) {
	o := l.newValue(n.Name, n.Out, true)
	l.byNode[n.Name] = o
	c := v.shape[1]
	l.add(&step{node: n.Name, kind: "Gather/channels", ins: []*value{v}, out: o, fn: func(ar *arena, bt int, ins [][]float32, dst []float32) error {
		kernels.ChannelGather(dst, ins[0], len(ins[0])/c, c, idx, ar.ws.Par())
		return nil
	}})
}
