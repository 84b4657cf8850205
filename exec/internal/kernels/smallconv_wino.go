package kernels

// SmallConv's Winograd F(2×2, 3×3) path, for 3×3 stride-1 convolutions
// whose C and OutC are multiples of 16 and whose activation is linear or
// ReLU (cifar_small's second layer, 16→32, is the case it was written for).
//
// Each 2×2 block of output pixels (a tile) comes from the 4×4 input patch
// under it: Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, 16 multiplications per 4 outputs
// and input/output channel pair instead of 36. The 16 element-wise
// products summed over the input channels are 16 small GEMMs per run of
// tiles, [tiles × C]·[C × 16], which the direct convolution's
// micro-kernels compute as they are (a run of up to 24 tiles for
// "pixels", the C channels for "taps", the transformed kernel for
// weights), so only the transforms are new (smallconv_wino_amd64.s,
// 16-channel vectors). With the 2×2 pooling fused, the pooled pixel is the
// max or mean of a tile's four outputs. The interpolation points are 0 and
// ±1: Bᵀ and Aᵀ hold only 0 and ±1, and G's ½ is applied to the kernel
// once, in float64, so the error stays close to the direct sum's.
//
//	     ⎡1  0 -1  0⎤        ⎡ 1   0   0 ⎤
//	Bᵀ = ⎢0  1  1  0⎥    G = ⎢ ½   ½   ½ ⎥    Aᵀ = ⎡1  1  1  0⎤
//	     ⎢0 -1  1  0⎥        ⎢ ½  -½   ½ ⎥         ⎣0  1 -1 -1⎦
//	     ⎣0  1  0 -1⎦        ⎣ 0   0   1 ⎦
//
// V and M are laid out so that every access of the transforms is a
// 16-float vector at a fixed offset: per tile, per 16-channel chunk, the
// 16 vectors ξ = 4i+j. Measured (Zen 4, cifar_small's 16×16×16→32 layer
// with its pooling, batch 64): direct 1.42 ms on one thread and 0.71 on
// two, F(2×2, 3×3) 0.95 and 0.49 (batch 1: 22 → 14 µs); of the single
// thread's time, the GEMMs take 70% at ~85% of the FMA peak, the
// transforms 13%. On larger layers see SmallConvPays.
type scWino struct {
	th, tw int       // tile grid (ceil of the output size / 2)
	wt     int       // band width in pixels: ≥ 2·tw+2, so every patch is in the band
	u      []float32 // G g Gᵀ as [ξ][OutC/16][C][16]
	taps   scTaps    // the C channels in V's layout
	zero   []float32 // 16 zeros: the GEMMs' bias
}

// scWinoRun is the most tiles per GEMM run (the micro-kernel's 24 pixels).
const scWinoRun = 24

// scWinoPad floats follow each tile in V and M: with C a multiple of 64 a
// tile takes a multiple of 4 KiB, and the GEMMs' loads of one ξ across 24
// tiles would all fall into one L1 set (56²×64→64: 100 GFLOP/s unpadded).
const scWinoPad = 16

func newSCWino(kernel []float32, p ConvParams, oh, ow, wp int) *scWino {
	c, oc := p.C, p.OutC
	w := &scWino{th: (oh + 1) / 2, tw: (ow + 1) / 2, zero: make([]float32, 16)}
	w.wt = max(wp, 2*w.tw+2)
	offs := make([]int, c)
	for ci := range c {
		offs[ci] = 4 * (ci/16*256 + ci%16)
	}
	w.taps = newSCTaps(offs)
	nob := oc / 16
	w.u = make([]float32, 16*oc*c)
	// One 16-output-channel block at a time, the transform G g Gᵀ over its
	// 16 lanes stage by stage in float64 (G's ½ applied once, one rounding
	// per value; TestWinogradKernelTransforms checks every value against
	// the reference transform), each tile row written whole. A tile per lane, its 16 values stored one by one
	// and read back as rows, took 3.2 ms for 256→256; stage by stage 1.6
	// (Xeon, BenchmarkWinogradKernelTransforms). Output-channel blocks
	// outside: consecutive input channels then write on along the 16
	// planes of w.u.
	var m [4][3][16]float64
	var t [16][16]float32
	for ob := range nob {
		for ci := range c {
			for kw := range 3 {
				g0 := (*[16]float32)(kernel[(kw*c+ci)*oc+ob*16:])
				g1 := (*[16]float32)(kernel[((3+kw)*c+ci)*oc+ob*16:])
				g2 := (*[16]float32)(kernel[((6+kw)*c+ci)*oc+ob*16:])
				for l := range 16 {
					m[0][kw][l], m[1][kw][l], m[2][kw][l], m[3][kw][l] = scWinoG(float64(g0[l]), float64(g1[l]), float64(g2[l]))
				}
			}
			for i := range 4 {
				r := &m[i]
				t0, t1, t2, t3 := &t[4*i], &t[4*i+1], &t[4*i+2], &t[4*i+3]
				for l := range 16 {
					u0, u1, u2, u3 := scWinoG(r[0][l], r[1][l], r[2][l])
					t0[l], t1[l], t2[l], t3[l] = float32(u0), float32(u1), float32(u2), float32(u3)
				}
			}
			for xi := range 16 {
				*(*[16]float32)(w.u[((xi*nob+ob)*c+ci)*16:]) = t[xi]
			}
		}
	}
	return w
}

// scWinoG is G·(g0, g1, g2) for F(2×2, 3×3).
func scWinoG(g0, g1, g2 float64) (float64, float64, float64, float64) {
	return g0, (g0 + g1 + g2) * 0.5, (g0 - g1 + g2) * 0.5, g2
}

// scWinoFits reports whether SmallConv's Winograd path computes p.
//
// As for F(4×4) (scWinoMinCover), not where the 2×2 tiles waste more than
// a fifth of their outputs: a 7×7 map takes 4×4 tiles for 49 outputs, and
// there the transformed kernel (16/9 of the kernel, 16.7 MB for
// 3×3×512→512) streamed for only 16 tiles per image cost more than the
// multiplications it saved. ResNet18 at batch 1 on two threads: 15.1 →
// 11.1 ms with its 7×7 layers direct; ResNet50 27.8 → 26.2 ms.
func scWinoFits(p ConvParams) bool {
	if !WinogradOK(p) || p.C%16 != 0 || p.OutC%16 != 0 {
		return false
	}
	oh, ow := p.OutH(), p.OutW()
	return float64(oh*ow)/float64(4*((oh+1)/2)*((ow+1)/2)) >= scWinoMinCover
}

// wino reports whether this call takes the Winograd path: its output
// transform applies ReLU or nothing; with a residual (packed output) it
// applies neither, and the addition and any activation run on the pixels
// it has just written (winoOut).
func (r *scRun) wino() bool {
	if r.s.wino == nil || r.maxPooled || !r.asIs(r.p.C) || r.s.wino.streams(r.p.N) {
		return false
	}
	if r.skip != nil {
		return r.ldo == r.p.OutC && r.pool == 0
	}
	return scWinoAct(r.act)
}

// scWinoStreamTiles and scWinoStreamBytes: a call of fewer tiles than
// scWinoStreamTiles whose transformed kernel (16·C·OutC floats, 16/9 of
// the direct kernel) is over scWinoStreamBytes takes the direct kernel.
// With few tiles each transformed weight is used by few GEMM rows, and at
// batch 1 a late layer's weights come from L3 or DRAM: there the 16/9 more
// bytes cost more than the multiplications saved. Xeon, one thread,
// 14²×256→256 (49 tiles, 4 MB transformed) with 40 copies cycled so that
// the weights stream: F(2×2) 124 GFLOP/s, direct 142-147 (with the
// weights in cache: 229 and 170); in ResNet50 at batch 1 its six layers
// 1.58-1.68 → 1.40-1.55 ms. 28²×128→128 (196 tiles) keeps F(2×2) either
// way (230 vs 152 streaming).
const (
	scWinoStreamTiles = 64
	scWinoStreamBytes = 2 << 20
)

// streams reports whether a call over n images should take the direct
// kernel instead (scWinoStreamTiles).
func (w *scWino) streams(n int) bool {
	return scWinoStreams(n*w.th*w.tw, len(w.u))
}

// scWinoStreams is streams for a call of tiles tiles and a transformed
// kernel of u floats.
func scWinoStreams(tiles, u int) bool {
	return tiles < scWinoStreamTiles && 4*u > scWinoStreamBytes
}

// SmallConvWinograd reports whether SmallConv (NewSmallConv's) computes
// p, at its batch size p.N and with activation act, on its Winograd
// F(2×2, 3×3) path when it reads a packed input and stores its output or
// its 2×2 pooling. A max pooling of another window is computed from the
// direct kernel's rows (Conv2DMaxPool): where this holds, the Winograd
// convolution with a pooling step after it is the faster pair (Inception-v3's
// 147²×32→64 3×3 before its 3×3 stride-2 pooling, Xeon, two threads: F(2×2)
// 2.06 ms + 0.15 ms of pooling, direct with the pooling fused 3.0).
func SmallConvWinograd(p ConvParams, act Activation) bool {
	q := p.norm()
	if !scWinoFits(q) || !scWinoAct(act) {
		return false
	}
	th, tw := (q.OutH()+1)/2, (q.OutW()+1)/2
	return !scWinoStreams(q.N*th*tw, 16*q.C*q.OutC)
}

// scWinoAct reports whether the Winograd path's output transform applies
// act (ReLU) or act is linear.
func scWinoAct(act Activation) bool {
	return scEpiFor(act).kind == scEpiMax || act.IsLinear()
}

// runWino computes tile rows [ty0, ty1) of image n on worker w: the
// padded band, then runs of up to scWinoRun tiles (input transforms, 16·
// OutC/16 GEMMs, output transforms into the output or its pooling).
func (r *scRun) runWino(w, n, ty0, ty1 int) {
	p, wn := &r.p, r.s.wino
	c, oc := p.C, p.OutC
	rowLen := wn.wt * c
	band := r.bands[w*r.bandLen : (w+1)*r.bandLen]
	inImg := p.H * p.W * p.C
	r.fillBand(band, rowLen, r.in[n*inImg:(n+1)*inImg], n, 2*ty0-p.PadTop, 2*(ty1-ty0)+2)
	scr := r.pairs[w*r.pairLen : (w+1)*r.pairLen]
	vT, mT := 16*c+scWinoPad, 16*oc+scWinoPad // tile strides
	vLen, mLen := scWinoRun*vT, scWinoRun*mT
	v, m := scr[:vLen], scr[vLen:vLen+mLen]
	rowScr := scr[vLen+mLen : vLen+mLen+2*wn.tw*oc]                  // output row 1 of a partial last tile row
	tileScr := scr[vLen+mLen+2*wn.tw*oc : vLen+mLen+2*wn.tw*oc+4*oc] // the 2×2 pixels of a partial last tile
	packed := scr[vLen+mLen+2*wn.tw*oc+4*oc:]                        // strided output: two packed rows
	nob := oc / 16
	total := (ty1 - ty0) * wn.tw
	runs := (total + scWinoRun - 1) / scWinoRun
	flags := 0
	if r.epi.kind == scEpiMax && r.skip == nil {
		flags = 1
	}
	flags |= r.pool << 1
	for k, t := 0, 0; k < runs; k++ {
		cnt := (total - t) / (runs - k)
		for i := 0; i < cnt; {
			ty, tx := ty0+(t+i)/wn.tw, (t+i)%wn.tw
			seg := min(cnt-i, wn.tw-tx)
			scWinoInK(v[i*vT:], band[2*(ty-ty0)*rowLen+2*tx*c:], rowLen, seg, c)
			i += seg
		}
		for xi := range 16 {
			for ob := range nob {
				scKern(1, cnt, 1, &v[xi*16], uintptr(4*vT), &wn.taps, &wn.u[(xi*nob+ob)*c*16],
					&wn.zero[0], &m[(ob*16+xi)*16], uintptr(4*mT), 0xFFFF, nil, nil, 0, nil, 0)
			}
		}
		for i := 0; i < cnt; {
			ty, tx := ty0+(t+i)/wn.tw, (t+i)%wn.tw
			seg := min(cnt-i, wn.tw-tx)
			r.winoOut(n, ty, tx, seg, m[i*mT:], rowScr, tileScr, packed, flags)
			i += seg
		}
		t += cnt
	}
}

// winoOut writes the output transforms of tiles [tx, tx+seg) of tile row
// ty from mt: full tiles straight into the output (or its pooling), the
// pixels of partial ones (odd output sizes) through scratch. A strided
// output (ldo > OutC) takes the full tiles through packed, two packed rows
// of the tile row's pixels, copied out pixel by pixel while in cache.
func (r *scRun) winoOut(n, ty, tx, seg int, mt, rowScr, tileScr, packed []float32, flags int) {
	s, p := r.s, &r.p
	oc := p.OutC
	fullW, fullH := s.ow/2, s.oh/2
	nFull := max(0, min(seg, fullW-tx))
	if r.pool != 0 {
		if ty < fullH && nFull > 0 {
			o := ((n*fullH+ty)*fullW + tx) * oc
			scWinoOutK(mt, nFull, oc, r.bias, r.out[o:o+nFull*oc], nil, flags)
		}
		return
	}
	ld := r.ldo
	y0 := r.outRow(n, 2*ty)
	var y1 []float32
	if 2*ty+1 < s.oh {
		y1 = r.outRow(n, 2*ty+1)
	} else if ld == oc {
		y1 = rowScr // the odd last row's second row: computed, not stored
	}
	if nFull > 0 {
		if ld == oc {
			scWinoOutK(mt, nFull, oc, r.bias, y0[2*tx*oc:], y1[2*tx*oc:], flags)
		} else {
			w := 2 * nFull * oc
			p0, p1 := packed[:w], packed[w:2*w]
			scWinoOutK(mt, nFull, oc, r.bias, p0, p1, flags)
			for i := range 2 * nFull {
				x := 2*tx + i
				copy(y0[x*ld:x*ld+oc], p0[i*oc:(i+1)*oc])
				if y1 != nil {
					copy(y1[x*ld:x*ld+oc], p1[i*oc:(i+1)*oc])
				}
			}
		}
	}
	if nFull < seg { // the last tile of an odd-width row: one valid column
		scWinoOutK(mt[nFull*(16*oc+scWinoPad):], 1, oc, r.bias, tileScr[:2*oc], tileScr[2*oc:4*oc], flags)
		x := 2 * (tx + nFull)
		copy(y0[x*ld:x*ld+oc], tileScr[:oc])
		if 2*ty+1 < s.oh {
			copy(y1[x*ld:x*ld+oc], tileScr[2*oc:3*oc])
		}
	}
	if r.skip != nil { // the residual and the activation, on the pixels just written (ld == oc)
		x0, x1 := 2*tx*oc, min(2*(tx+seg), s.ow)*oc
		for y := 2 * ty; y < min(2*ty+2, s.oh); y++ {
			o := (n*s.oh + y) * s.ow * oc
			residualAct(r.out[o+x0:o+x1], r.skip[o+x0:o+x1], r.act)
		}
	}
}

// scWinoInK and scWinoOutK check their slices and run the transforms
// (assembly, or Go with scForceGo or without AVX-512).
func scWinoInK(v, src []float32, rowLen, ntiles, c int) {
	_ = v[ntiles*(16*c+scWinoPad)-scWinoPad-1]
	_ = src[3*rowLen+(2*ntiles+1)*c+c-1]
	if scAVX512 && !scForceGo {
		scWinoIn(&v[0], &src[0], uintptr(4*rowLen), ntiles, c)
		return
	}
	scWinoInGo(v, src, rowLen, ntiles, c)
}

func scWinoOutK(m []float32, ntiles, oc int, bias, y0, y1 []float32, flags int) {
	_ = m[ntiles*(16*oc+scWinoPad)-scWinoPad-1]
	_ = bias[oc-1]
	pix := 2 * ntiles
	if flags>>1 != 0 {
		pix = ntiles
	} else {
		_ = y1[pix*oc-1]
	}
	_ = y0[pix*oc-1]
	if scAVX512 && !scForceGo {
		var p1 *float32
		if y1 != nil {
			p1 = &y1[0]
		}
		scWinoOut(&m[0], ntiles, oc, &bias[0], &y0[0], p1, flags)
		return
	}
	scWinoOutGo(m, ntiles, oc, bias, y0, y1, flags)
}

// scWinoInGo is scWinoIn in Go.
func scWinoInGo(v, src []float32, rowLen, ntiles, c int) {
	for t := range ntiles {
		for k := 0; k < c/16; k++ {
			var d [4][4][16]float32
			for i := range 4 {
				for j := range 4 {
					copy(d[i][j][:], src[i*rowLen+(2*t+j)*c+16*k:])
				}
			}
			out := v[t*(16*c+scWinoPad)+k*256:]
			for l := range 16 {
				var tt [4][4]float32
				for j := range 4 {
					tt[0][j] = d[0][j][l] - d[2][j][l]
					tt[1][j] = d[1][j][l] + d[2][j][l]
					tt[2][j] = d[2][j][l] - d[1][j][l]
					tt[3][j] = d[1][j][l] - d[3][j][l]
				}
				for i := range 4 {
					a, b, cc, dd := tt[i][0], tt[i][1], tt[i][2], tt[i][3]
					out[(4*i+0)*16+l] = a - cc
					out[(4*i+1)*16+l] = b + cc
					out[(4*i+2)*16+l] = cc - b
					out[(4*i+3)*16+l] = b - dd
				}
			}
		}
	}
}

// scWinoOutGo is scWinoOut in Go.
func scWinoOutGo(m []float32, ntiles, oc int, bias, y0, y1 []float32, flags int) {
	relu, pool := flags&1 != 0, flags>>1
	for t := range ntiles {
		for k := 0; k < oc/16; k++ {
			mm := m[t*(16*oc+scWinoPad)+k*256:]
			for l := range 16 {
				var s [2][4]float32
				for j := range 4 {
					s[0][j] = mm[j*16+l] + mm[(4+j)*16+l] + mm[(8+j)*16+l]
					s[1][j] = mm[(4+j)*16+l] - mm[(8+j)*16+l] - mm[(12+j)*16+l]
				}
				b := bias[16*k+l]
				var y [4]float32
				for i := range 2 {
					y[2*i] = s[i][0] + s[i][1] + s[i][2] + b
					y[2*i+1] = s[i][1] - s[i][2] - s[i][3] + b
				}
				if relu {
					for i := range y {
						if y[i] < 0 {
							y[i] = 0
						}
					}
				}
				o := 16*k + l
				switch pool {
				case 0:
					y0[2*t*oc+o], y0[(2*t+1)*oc+o] = y[0], y[1]
					y1[2*t*oc+o], y1[(2*t+1)*oc+o] = y[2], y[3]
				case scPoolMax:
					y0[t*oc+o] = max(max(y[0], y[1]), max(y[2], y[3]))
				default:
					y0[t*oc+o] = (y[0] + y[1] + y[2] + y[3]) * 0.25
				}
			}
		}
	}
}
