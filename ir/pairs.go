package ir

import "slices"

// The conversions between the ops that state one concept in two forms (see
// the package doc, "One name per concept", and each row's Notes in
// AllOps). Each is written once, here; importers and exporters that turn
// one form into the other call these functions, so the rule for when the
// Keras-level form applies cannot differ between them.

// Perm is the Transpose permutation doing what o does: the batch axis
// stays first and Keras's 1-based Dims follow.
func (o *Permute) Perm() []int {
	return append([]int{0}, o.Dims...)
}

// AsPermute returns the Permute doing what o does, when o keeps the batch
// axis first (the only permutations Keras's Permute layer states).
func (o *Transpose) AsPermute() (*Permute, bool) {
	if len(o.Perm) < 2 || o.Perm[0] != 0 {
		return nil, false
	}
	return &Permute{Dims: slices.Clone(o.Perm[1:])}, true
}

// AsReshape returns the Reshape doing what o does to an input of shape in,
// when o keeps dimension 0 (the batch) as it is: Reshape's target is the
// shape after the batch axis.
func (o *ReshapeTo) AsReshape(in Shape) (*Reshape, bool) {
	if len(in) == 0 || len(o.Shape) < 2 || in[0] != o.Shape[0] {
		return nil, false
	}
	return &Reshape{Target: o.Shape[1:].Clone()}, true
}

// ZeroPaddingOf returns the ZeroPadding2D doing what a Pad with ONNX pads
// (begins of every axis, then ends), mode and value does to an input of
// type t: zero padding of a rank-4 image's height and width only. t's
// layout picks the spatial axes (channels-first unless it is
// channels-last).
func ZeroPaddingOf(pads []int, mode string, value float64, t TensorType) (*ZeroPadding2D, bool) {
	if len(t.Shape) != 4 || len(pads) != 8 || mode != "constant" || value != 0 ||
		slices.ContainsFunc(pads, func(p int) bool { return p < 0 }) {
		return nil, false
	}
	switch {
	case t.Layout != ChannelsLast && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0:
		return &ZeroPadding2D{Pads: [4]int{pads[2], pads[6], pads[3], pads[7]}, DataFormat: ChannelsFirst}, true
	case t.Layout == ChannelsLast && pads[0] == 0 && pads[3] == 0 && pads[4] == 0 && pads[7] == 0:
		return &ZeroPadding2D{Pads: [4]int{pads[1], pads[5], pads[2], pads[6]}, DataFormat: ChannelsLast}, true
	}
	return nil, false
}

// MergeMode returns the Merge mode computing b of two computed tensors of
// one shape (Keras's Add, Subtract, Multiply, Maximum, Minimum); Div and
// Pow have none.
func (b BinaryOp) MergeMode() (MergeMode, bool) {
	switch b {
	case BinaryAdd:
		return MergeAdd, true
	case BinarySub:
		return MergeSubtract, true
	case BinaryMul:
		return MergeMultiply, true
	case BinaryMax:
		return MergeMaximum, true
	case BinaryMin:
		return MergeMinimum, true
	}
	return 0, false
}

// AsMerge returns the Keras Concatenate (a Merge) doing what o does, when
// no input is a constant and the axis is not the batch (a Keras merge
// layer takes computed tensors only and keeps the batch axis).
func (o *Concat) AsMerge(anyConst bool) (*Merge, bool) {
	if anyConst || o.Axis < 1 {
		return nil, false
	}
	return &Merge{Mode: MergeConcat, Axis: o.Axis}, true
}

// GemmIsDense reports whether an ONNX Gemm is a Dense: A computed and not
// transposed, B a rank-2 constant (alpha and transB fold into the kernel,
// beta·C into the bias or an Add after it). The kernel arithmetic stays
// with each caller: importer/onnx folds it lazily into protobuf reads,
// exporter/keras eagerly for IR built by hand.
func GemmIsDense(transA, aConst, bConst bool, bRank int) bool {
	return !transA && !aConst && bConst && bRank == 2
}

// MatMulIsDense reports whether an ONNX MatMul is a Dense: A computed of
// rank ≥ 2, B a rank-2 constant.
func MatMulIsDense(aConst bool, aRank int, bConst bool, bRank int) bool {
	return !aConst && aRank >= 2 && bConst && bRank == 2
}

// MergeModeOf returns the Merge mode whose Kind (Keras's class name: Add,
// …, Concatenate) is kind.
func MergeModeOf(kind string) (MergeMode, bool) {
	for m, k := range mergeKinds {
		if k == kind {
			return MergeMode(m), true
		}
	}
	return 0, false
}

// GemmKernelRows writes into kernel, the (k, n) kernel of the Dense a Gemm
// is (GemmIsDense), what rows first… of the Gemm's B give, scaled by
// alpha: B is (n, k) when transB (its row j is the kernel's column j),
// else (k, n) (its row i is the kernel's row i). Callers pass all of B
// (first 0) or, reading it lazily, whole rows at a time.
func GemmKernelRows(rows []float32, first, k, n int, alpha float32, transB bool, kernel []float32) {
	if transB {
		m := len(rows) / k
		for i := 0; i < k; i++ {
			d := kernel[i*n+first : i*n+first+m]
			for r := range d {
				d[r] = alpha * rows[r*k+i]
			}
		}
		return
	}
	d := kernel[first*n : first*n+len(rows)]
	for i, v := range rows {
		d[i] = alpha * v
	}
}

// GemmBias writes into bias the Dense bias of a Gemm's beta·C, with C a
// constant of n values, or of one broadcast to all.
func GemmBias(bias []float32, beta float32, c []float32) {
	for j := range bias {
		bias[j] = beta * c[j%len(c)]
	}
}
