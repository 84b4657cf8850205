package kernels

// An inverted-residual block (MobileNetV2/V3, MnasNet, EfficientNet)
// expands its input with a 1×1 convolution to several times its channels
// and runs a depthwise convolution over the result. Stored, the expanded
// tensor of an early block outgrows the cache (MnasNet's 112²×48: 2.4 MB):
// the expansion writes it out to memory and the depthwise convolution
// reads it back. ConvDepthwise computes the two together: each item, a
// band of the depthwise convolution's output rows, computes the expanded
// rows they read into a ring of KH rows (dilated: the window's span) on
// its worker, each just before the first depthwise row that reads it, so
// that the expanded tensor never leaves the core's cache. A band
// recomputes the rows its window shares with the band before it (two of a
// 3×3 window's), so bands are few: one per worker at batch 1. The first
// convolution may be any the direct kernel computes: a MobileNet's stem
// (3×3 stride 2 over the NCHW image) feeds a depthwise layer the same way.

// ConvDepthwiseOK reports whether ConvDepthwise computes the convolution
// pe (ungrouped; s made for it) followed by the depthwise convolution pd
// over its output: channel multiplier 1, a window of at most dwMaxTaps
// taps, the vector depthwise kernel present.
func ConvDepthwiseOK(pe, pd ConvParams) bool {
	pe, pd = pe.norm(), pd.norm()
	return pe.Groups <= 1 && pe.Validate() == nil && pd.N == pe.N && pd.H == pe.OutH() && pd.W == pe.OutW() &&
		pd.C == pe.OutC && pd.OutC == pd.C && dwFastOK(&pd) && pd.Validate() == nil
}

// ConvDepthwisePays reports whether ConvDepthwise is expected to beat the
// two layers apart, act being pe's activation: where one image's
// convolution output outgrows 1.5·scCacheBytes, and SmallConv would not
// compute pe on its Winograd path (ConvDepthwise computes rows on the
// direct kernel). Below that size the tensor stays in cache between the
// layers anyway, and the fused call's shorter micro-kernel calls (one
// row's pixels) and the rows its bands recompute are a loss. Xeon, µs, one
// thread / two, apart → fused: 112²×16→96 1×1 + 3×3/2 658 → 452 / 320 →
// 224; 112²×16→48 1×1 + 3×3/2 315 → 223 / 130 → 123; 56²×24→144 1×1 +
// 3×3 358 → 302 / 173 → 162; 56²×24→80 1×1 + 5×5/2 154 → 155 / 114 → 84;
// but 28²×32→192 (600 KB) 113 → 128 / 93 → 73, 28²×40→240 (750 KB) in
// MnasNet 0.141 → 0.162 ms one thread, 14²×80→480 124 → 150 / 79 → 89.
func ConvDepthwisePays(pe ConvParams, act Activation, pd ConvParams) bool {
	q := pe.norm()
	return ConvDepthwiseOK(pe, pd) && !SmallConvWinograd(pe, act) && 4*q.OutH()*q.OutW()*q.OutC > 3*scCacheBytes/2
}

// ConvDepthwise computes out = dact(depthwise(act(in ⊛ s + bias), dk) +
// dbias) for NHWC out and in (NCHW in when nchw), pe and pd as
// ConvDepthwiseOK requires (any N), dk and dbias as DepthwiseConv2D takes
// them, without storing the convolution's output (see above). It splits
// bands of output rows over ws.Par()'s workers.
func (s *SmallConv) ConvDepthwise(pe ConvParams, in []float32, nchw bool, bias []float32, act Activation, pd ConvParams, dk, dbias []float32, dact Activation, out []float32, ws *Workspace) {
	if !ConvDepthwiseOK(pe, pd) {
		panic("kernels: ConvDepthwise of a convolution and depthwise convolution it does not compute")
	}
	s.check(pe, in, bias)
	pe, pd = pe.norm(), pd.norm()
	convCheckLen("depthwise kernel", dk, pd.KH*pd.KW*pd.C)
	if dbias != nil {
		convCheckLen("depthwise bias", dbias, pd.C)
	}
	convCheckLen("depthwise output", out, pd.OutLen())
	oh, ow := pd.OutH(), pd.OutW()
	if pe.N == 0 || oh == 0 || ow == 0 {
		return
	}
	workers := ws.Par().Workers()
	perImg := min(oh, max(1, (workers+pe.N-1)/pe.N))
	ring := (pd.KH-1)*pd.DilH + 1
	rowLen := s.ow * pe.OutC
	how := scInput{ldi: pe.C, nchw: nchw}
	inPlace := s.inPlace && how.asIs(pe.C)
	bandLen := 0 // one conv row's band
	if !inPlace {
		bandLen = ((pe.KH-1)*pe.DilH + 1) * s.wp * pe.C
	}
	nb := pe.OutC + scBiasPad
	buf := ws.Get(nb + workers*(ring*rowLen+bandLen))
	pb := buf[:nb]
	s.packBias(pb, bias)
	var j *cdJob
	select {
	case j = <-cdJobs:
	default:
		j = new(cdJob)
	}
	*j = cdJob{
		e: scRun{s: s, p: pe, in: in, bias: pb, act: act, ldo: pe.OutC, groups: 1, inPlace: inPlace, scInput: how,
			bands: buf[nb+workers*ring*rowLen:], bandLen: bandLen},
		pd:     pd,
		d:      dwJob{kernel: dk, bias: dbias, oh: oh, ow: ow},
		out:    out,
		rings:  buf[nb : nb+workers*ring*rowLen],
		ring:   ring,
		perImg: perImg,
	}
	j.d.p = &j.pd
	j.d.setAct(dact)
	j.e.epi = scEpiFor(act)
	j.e.postAct = j.e.epi.kind == scEpiNone && !act.IsLinear()
	ws.Par().Do(workers, pe.N*perImg, j)
	*j = cdJob{}
	select {
	case cdJobs <- j:
	default:
	}
}

// cdJob is one ConvDepthwise call: items are bands of output rows, perImg
// to an image.
type cdJob struct {
	e      scRun      // the expansion (its rows written into a ring)
	pd     ConvParams // the depthwise convolution's geometry (d.p points here)
	d      dwJob      // the depthwise convolution (its rows read from the ring)
	out    []float32
	rings  []float32 // ring rows of the convolution's output, ring·OW·C floats per worker
	ring   int
	perImg int
}

// cdJobs holds idle cdJobs, as scRuns does scRuns.
var cdJobs = make(chan *cdJob, 8)

func (j *cdJob) RunItem(w, item int) {
	pd := j.d.p
	s := j.e.s
	n, b := item/j.perImg, item%j.perImg
	y0, y1 := b*j.d.oh/j.perImg, (b+1)*j.d.oh/j.perImg
	rowLen := s.ow * pd.C
	ring := j.rings[w*j.ring*rowLen : (w+1)*j.ring*rowLen]
	c := pd.C
	next := 0 // the first conv row not yet computed
	for y := y0; y < y1; y++ {
		top := y*pd.StrideH - pd.PadTop
		lo, hi := max(0, top, next), min(s.oh, top+(pd.KH-1)*pd.DilH+1)
		for cy := lo; cy < hi; cy++ {
			dst := ring[cy%j.ring*rowLen : (cy%j.ring+1)*rowLen]
			src := j.e.band(w, n, cy, cy+1)
			for bi := range s.blocks {
				j.e.rowBlock(bi, src, dst, nil)
			}
			j.e.rowEpilogue(n, cy, 0, len(s.blocks), dst)
		}
		next = max(next, hi)
		r := n*j.d.oh + y
		j.d.row(ring, j.ring, y, j.out[r*j.d.ow*c:(r+1)*j.d.ow*c], 0, c)
	}
}
