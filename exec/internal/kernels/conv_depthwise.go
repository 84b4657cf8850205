package kernels

import (
	"fmt"
)

func dwCheck(p ConvParams, in, kernel, bias, out []float32) {
	q := p
	q.Groups = 1
	if err := q.Validate(); err != nil {
		panic(err)
	}
	if p.OutC%p.C != 0 {
		panic(fmt.Sprintf("kernels: depthwise OutC %d not a multiple of C %d", p.OutC, p.C))
	}
	convCheckLen("depthwise input", in, p.InLen())
	convCheckLen("depthwise kernel", kernel, p.KH*p.KW*p.OutC)
	convCheckLen("depthwise output", out, p.OutLen())
	if bias != nil {
		convCheckLen("depthwise bias", bias, p.OutC)
	}
}

// DepthwiseConv2D computes out = act(depthwise_conv(in, kernel) + bias) for
// NHWC in and out. The kernel is KH×KW×C×M (Keras's depthwise layout) with
// channel multiplier M = p.OutC / p.C; output channel c*M+m sees only input
// channel c. p.Groups is ignored. bias (OutC values) may be nil. It is a
// direct loop, parallel over output rows on the workers of ws.Par().
func DepthwiseConv2D(p ConvParams, in, kernel, bias []float32, act Activation, out []float32, ws *Workspace) {
	dwCheck(p, in, kernel, bias, out)
	p = p.norm()
	if dwFastOK(&p) {
		dwFast(p, in, kernel, bias, act, out, ws)
		return
	}
	oh, ow := p.OutH(), p.OutW()
	rows := p.N * oh
	if rows == 0 || ow == 0 {
		return
	}
	workers := min(ws.Par().Workers(), rows)
	// Below ~64K multiply-adds per worker the goroutines cost more than they save.
	if int64(rows)*int64(ow*p.OutC*p.KH*p.KW) < int64(workers)<<18 {
		workers = 1
	}
	chunk := (rows + workers - 1) / workers
	if workers == 1 {
		dwRows(&p, in, kernel, bias, act, out, oh, ow, 0, rows)
		return
	}
	ws.Par().Do(workers, (rows+chunk-1)/chunk, itemFunc(func(it int) {
		dwRows(&p, in, kernel, bias, act, out, oh, ow, it*chunk, min((it+1)*chunk, rows))
	}))
}

// dwRows computes output rows [lo, hi) (flat over N×OH).
func dwRows(p *ConvParams, in, kernel, bias []float32, act Activation, out []float32, oh, ow, lo, hi int) {
	c, oc := p.C, p.OutC
	mult := oc / c
	for r := lo; r < hi; r++ {
		n, y := r/oh, r%oh
		orow := out[r*ow*oc : (r+1)*ow*oc]
		if bias != nil {
			convBiasFill(orow, oc, bias)
		} else {
			clear(orow)
		}
		img := in[n*p.H*p.W*c : (n+1)*p.H*p.W*c]
		for kh := range p.KH {
			iy := y*p.StrideH - p.PadTop + kh*p.DilH
			if iy < 0 || iy >= p.H {
				continue
			}
			line := img[iy*p.W*c : (iy+1)*p.W*c]
			for kw := range p.KW {
				k := kernel[(kh*p.KW+kw)*oc : (kh*p.KW+kw+1)*oc]
				// Output columns whose input column ix = x*sw - pl + kw*dw is in range.
				off := kw*p.DilW - p.PadLeft
				x0 := 0
				if off < 0 {
					x0 = (-off + p.StrideW - 1) / p.StrideW
				}
				x1 := ow
				if lim := p.W - off; lim <= 0 {
					x1 = 0
				} else {
					x1 = min(ow, (lim-1)/p.StrideW+1)
				}
				for x := x0; x < x1; x++ {
					ix := x*p.StrideW + off
					src := line[ix*c : (ix+1)*c]
					dst := orow[x*oc : (x+1)*oc]
					if mult == 1 {
						dst = dst[:len(src)]
						k := k[:len(src)]
						for i, v := range src {
							dst[i] += v * k[i]
						}
						continue
					}
					for ci, v := range src {
						d := dst[ci*mult : (ci+1)*mult]
						kk := k[ci*mult : (ci+1)*mult]
						for m := range d {
							d[m] += v * kk[m]
						}
					}
				}
			}
		}
		convAct(orow, act)
	}
}

// RefDepthwiseConv2D is DepthwiseConv2D from the definition:
//
//	out[n,y,x,c*M+m] = act(bias[c*M+m] + Σ in[n, y*sh-pt+kh*dh, x*sw-pl+kw*dw, c]
//	                                      * kernel[kh,kw,c,m])
func RefDepthwiseConv2D(p ConvParams, in, kernel, bias []float32, act Activation) []float32 {
	dwCheck(p, in, kernel, bias, make([]float32, p.OutLen()))
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	mult := p.OutC / p.C
	out := make([]float32, p.N*oh*ow*p.OutC)
	for n := range p.N {
		for y := range oh {
			for x := range ow {
				for c := range p.C {
					for m := range mult {
						o := c*mult + m
						var s float64
						if bias != nil {
							s = float64(bias[o])
						}
						for kh := range p.KH {
							for kw := range p.KW {
								iy := y*p.StrideH - p.PadTop + kh*p.DilH
								ix := x*p.StrideW - p.PadLeft + kw*p.DilW
								if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
									continue
								}
								s += float64(in[((n*p.H+iy)*p.W+ix)*p.C+c]) *
									float64(kernel[((kh*p.KW+kw)*p.C+c)*mult+m])
							}
						}
						out[((n*oh+y)*ow+x)*p.OutC+o] = float32(s)
					}
				}
			}
		}
	}
	act.Apply(out)
	return out
}
