package gemm

import (
	"sync"
	"unsafe"
)

// kernFunc is an assembly micro-kernel: it computes the mr×nr tile
// alpha·op(A)[tile]·B̃ over k steps and stores it into c (accum == 0) or
// adds it to c (accum != 0), c having row stride ldc floats. B̃ is a panel
// of nr floats per k step, ldb floats apart (packed or in place). pf is
// the N variant's prefetch hint: a tile of A (same lda) to bring into L2
// while this one computes. The N variant reads A in place (row i at
// a + i·lda, unit stride along k); the P variant reads a packed panel (mr
// floats per k step) and ignores lda.
type kernFunc func(k int, a, pf *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha float32, accum int)

// blocked is the Goto/BLIS-style driver around one family's micro-kernels.
//
// Loops, outermost first: jc over nc-column blocks of C; pc over kc-deep
// slices of k, packing op(B)[pc:pc+kc, jc:jc+nc] into nr-wide panels (kc×nc
// floats, sized to stay in L2); ic over mr-row tiles; jr over the panels.
// The A tile (mr×kc, read in place when op(A) = A) stays in L1 while the
// jr loop streams the packed B block past it from L2. A is not packed when
// op(A) = A: for conv-shaped products (m = pixels in the thousands, n = a
// few dozen to a few hundred channels) packing A would cost about as much
// as the product itself. (The BLIS order — jr outside ir, the B panel in
// L1 and mc-row blocks of A in L2 — measured 0-15% slower here, kc 192 or
// 384, mc 280 or 560.) Tiles on the bottom or right edge are computed
// into a scratch tile (A and B zero-padded) and the valid part copied.
type blocked struct {
	mr, nr       int
	kernN, kernP kernFunc
	// kernNH, kernPH, when set, are half-width kernels (nr/2 columns) for
	// a last panel of at most nr/2 columns (n = 80 or 112 with nr = 32),
	// which would otherwise be computed at full width.
	kernNH, kernPH kernFunc
	// kernNL, kernPL, when set, are lowMR×nr kernels for a last row tile
	// of at most lowMR rows.
	lowMR          int
	kernNL, kernPL kernFunc
	kc, nc         int // block sizes (nc a multiple of nr)
	// packMinM: op(B) = B is packed only when m ≥ packMinM; below, the
	// kernels read B's full panels in place (packing would cost about as
	// much as the product: each packed value is used m/mr times).
	packMinM int
}

type blockBufs struct{ a, b, t []float32 }

var blockPool = sync.Pool{New: func() any { return new(blockBufs) }}

// grow returns s, or a new slice, with room for n floats after
// aligned64: 16 floats of slack so the data can start on a 64-byte line.
// (A pooled buffer whose capacity covered n but not the slack used to be
// reused, and aligning it left fewer than n floats.)
func grow(s []float32, n int) []float32 {
	if cap(s) < n+16 {
		s = make([]float32, n+16)
	}
	return s[:cap(s)]
}

// aligned64 returns s from its first 64-byte-aligned element on.
func aligned64(s []float32) []float32 {
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(s)))&63) / 4
	if off == 0 {
		return s
	}
	return s[16-off:]
}

// blocks returns the k slice and column block sizes for a k×n op(B):
// equal slices and blocks rather than full ones and a sliver.
func (bl *blocked) blocks(k, n int) (kc, nc int) {
	kb := (k + bl.kc - 1) / bl.kc
	kc = (k + kb - 1) / kb
	nb := (n + bl.nc - 1) / bl.nc
	nc = ((n+nb-1)/nb + bl.nr - 1) / bl.nr * bl.nr
	return kc, nc
}

// packB packs all of op(B) (k×n) in the order sgemm uses it: column
// block jc, k slice pc at jc·k + pc·roundUp(ncur, nr), each block laid out
// as packPanels does.
func (bl *blocked) packB(transB bool, k, n int, b []float32, ldb int) []float32 {
	nr := bl.nr
	kc, nc := bl.blocks(k, n)
	dst := aligned64(make([]float32, k*((n+nr-1)/nr*nr)+16))
	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			packPanels(transB, b, ldb, pc, jc, kcur, ncur, nr, dst[jc*k+pc*((ncur+nr-1)/nr*nr):])
		}
	}
	return dst
}

// run is sgemm with op(B) either in b (transB, ldb) or, when pre is not
// nil, already packed by packB (b unused).
func (bl *blocked) run(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pre []float32, beta float32, c []float32, ldc int) {
	if beta != 0 && beta != 1 {
		for i := range m {
			scale(beta, c[i*ldc:i*ldc+n])
		}
		beta = 1
	}
	mr, nr := bl.mr, bl.nr
	kc, nc := bl.blocks(k, n)

	bufs := blockPool.Get().(*blockBufs)
	defer blockPool.Put(bufs)
	if pre == nil {
		bufs.b = grow(bufs.b, kc*nc)
	}
	bufs.a = grow(bufs.a, kc*mr)
	bufs.t = grow(bufs.t, mr*nr)
	bp, ap, tile := aligned64(bufs.b), aligned64(bufs.a), aligned64(bufs.t)

	pack := pre != nil || transB || m >= bl.packMinM
	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		full := ncur / nr * nr
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			if pre != nil {
				bp = pre[jc*k+pc*((ncur+nr-1)/nr*nr):]
			} else if pack {
				packPanels(transB, b, ldb, pc, jc, kcur, ncur, nr, bp)
			} else if full < ncur {
				packPanels(false, b, ldb, pc, jc+full, kcur, ncur-full, nr, bp[full*kcur:])
			}
			accum := 0
			if pc > 0 || beta != 0 {
				accum = 1
			}
			for ic := 0; ic < m; ic += mr {
				rows := min(mr, m-ic)
				kern, kernH, apan, pf := bl.kernN, bl.kernNH, (*float32)(nil), (*float32)(nil)
				tr := mr // the kernel's height
				switch {
				case !transA && rows == mr:
					apan, pf = &a[ic*lda+pc], &a[ic*lda+pc]
					if ic+2*mr <= m {
						pf = &a[(ic+mr)*lda+pc]
					}
				case bl.kernNL != nil && rows <= bl.lowMR:
					tr, kernH = bl.lowMR, nil
					if !transA && rows == tr {
						kern, apan, pf = bl.kernNL, &a[ic*lda+pc], &a[ic*lda+pc]
					} else {
						packTile(transA, a, lda, ic, pc, rows, kcur, tr, ap)
						kern, apan = bl.kernPL, &ap[0]
					}
				default:
					packTile(transA, a, lda, ic, pc, rows, kcur, mr, ap)
					kern, kernH, apan = bl.kernP, bl.kernPH, &ap[0]
				}
				for jr := 0; jr < ncur; jr += nr {
					cols := min(nr, ncur-jr)
					bpan, bstride := &bp[jr*kcur], nr
					if !pack && cols == nr {
						bpan, bstride = &b[pc*ldb+jc+jr], ldb
					}
					if rows == tr && cols == nr {
						kern(kcur, apan, pf, lda, bpan, bstride, &c[ic*ldc+jc+jr], ldc, alpha, accum)
						continue
					}
					k := kern
					if cols <= nr/2 && kernH != nil {
						// The packed panel is nr wide: the half kernel
						// reads its first nr/2 columns (ldb = nr).
						if rows == tr && cols == nr/2 {
							kernH(kcur, apan, pf, lda, bpan, bstride, &c[ic*ldc+jc+jr], ldc, alpha, accum)
							continue
						}
						k = kernH
					}
					k(kcur, apan, pf, lda, bpan, bstride, &tile[0], nr, alpha, 0)
					for i := range rows {
						dst := c[(ic+i)*ldc+jc+jr:][:cols]
						src := tile[i*nr:][:cols]
						if accum != 0 {
							for j, v := range src {
								dst[j] += v
							}
						} else {
							copy(dst, src)
						}
					}
				}
			}
		}
	}
}

// packPanels packs op(B)[pc:pc+kc, jc:jc+nc] into nr-wide panels, panel p
// at dst[p·nr·kc:], row-major kc×nr, the last one zero-padded.
func packPanels(transB bool, b []float32, ldb, pc, jc, kc, nc, nr int, dst []float32) {
	full := nc / nr * nr
	if !transB {
		for p := range kc {
			src := b[(pc+p)*ldb+jc:][:nc]
			// Fixed-size array copies compile to inline vector moves; copy
			// would call memmove for every 64 or 128 bytes.
			switch nr {
			case 32:
				for j := 0; j < full; j += nr {
					*(*[32]float32)(dst[j*kc+p*nr:]) = *(*[32]float32)(src[j:])
				}
			case 16:
				for j := 0; j < full; j += nr {
					*(*[16]float32)(dst[j*kc+p*nr:]) = *(*[16]float32)(src[j:])
				}
			default:
				for j := 0; j < full; j += nr {
					copy(dst[j*kc+p*nr:][:nr], src[j:j+nr])
				}
			}
			if full < nc {
				d := dst[full*kc+p*nr:][:nr]
				n := copy(d, src[full:])
				clear(d[n:])
			}
		}
		return
	}
	for j := range nc {
		src := b[(jc+j)*ldb+pc:][:kc]
		d := dst[j/nr*nr*kc+j%nr:]
		for p, v := range src {
			d[p*nr] = v
		}
	}
	for j := nc; j < (nc+nr-1)/nr*nr; j++ {
		d := dst[j/nr*nr*kc+j%nr:]
		for p := range kc {
			d[p*nr] = 0
		}
	}
}

// packTile packs op(A)[ic:ic+rows, pc:pc+kc] k-major into dst (mr floats
// per k step, rows ≤ mr, the rest zero).
func packTile(transA bool, a []float32, lda, ic, pc, rows, kc, mr int, dst []float32) {
	dst = dst[:kc*mr]
	if rows < mr {
		clear(dst)
	}
	if transA {
		for p := range kc {
			copy(dst[p*mr:p*mr+rows], a[(pc+p)*lda+ic:])
		}
		return
	}
	for i := range rows {
		src := a[(ic+i)*lda+pc:][:kc]
		for p, v := range src {
			dst[p*mr+i] = v
		}
	}
}
