package kernels

// residualAct sets dst = act(dst + skip): the epilogue of a convolution
// whose output feeds a residual Add (ResNet, MobileNetV2), run on each
// output row while it is in cache. Clamp activations are fused into the
// vector add; others run after it.
func residualAct(dst, skip []float32, act Activation) {
	if len(dst) == 0 {
		return
	}
	skip = skip[:len(dst)]
	if lo, hi, ok := act.clampBounds(); ok && simdAVX512() {
		addClampAVX512(&dst[0], &skip[0], len(dst), lo, hi)
		return
	}
	for i, v := range skip {
		dst[i] += v
	}
	act.ApplyFast(dst)
}

// Conv2DAdd computes out = act(conv(in, kernel) + bias + skip), skip being
// an NHWC tensor of out's size (the other input of a residual Add): the
// micro-kernel adds it to its sums before the activation and the stores
// where act is linear or one it applies (ReLU, clamps, hard swish: a
// ResNet block's Add and ReLU); otherwise the addition and the activation
// run on each output row right after the micro-kernel writes it. Either
// way no separate pass over the tensor, and the same bits. Where the call
// takes SmallConv's Winograd F(2×2, 3×3) path, the addition and act run on
// each run of tiles' output pixels right after their output transform
// writes them (linear), as residualAct would on the whole output after
// Conv2D with a linear act: the same bits as that. skip must not overlap
// out.
func (s *SmallConv) Conv2DAdd(p ConvParams, in, bias, skip []float32, act Activation, out []float32, ws *Workspace) {
	s.check(p, in, bias)
	convCheckLen("conv output", out, p.N*s.oh*s.ow*p.OutC)
	convCheckLen("conv residual", skip, len(out))
	s.runSkip(p, in, bias, skip, act, out, ws)
}

// RefConv2DAdd is Conv2DAdd from the definitions: the reference
// convolution without activation, the addition, then act.
func RefConv2DAdd(p ConvParams, in, kernel, bias, skip []float32, act Activation) []float32 {
	out := RefConv2D(p, in, kernel, bias, Activation{})
	for i := range out {
		out[i] += skip[i]
	}
	act.Apply(out)
	return out
}

// ResidualAct sets dst = act(dst + skip): a residual Add and the
// activation after it, as a step of its own after a kernel that cannot
// take the residual (Winograd F(4×4, 3×3), im2col). Split over ws's
// workers as the element-wise kernels are (parGrain), in chunks of whole
// vectors so that every element takes the same path as in one call.
func ResidualAct(dst, skip []float32, act Activation, ws *Workspace) {
	convCheckLen("residual", skip, len(dst))
	w := parChunks(ws.Par().Workers(), len(dst)/16, 16)
	if w == 1 {
		residualAct(dst, skip, act)
		return
	}
	vecChunks(ws.Par(), w, len(dst), func(lo, hi int) { residualAct(dst[lo:hi], skip[lo:hi], act) })
}
