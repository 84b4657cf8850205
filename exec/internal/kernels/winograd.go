package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kconv/kconv/exec/internal/gemm"
)

// Winograd F(4×4, 3×3) convolution (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016) for 3×3, stride-1, undilated,
// ungrouped convolutions over NHWC activations.
//
// Each 4×4 block of output pixels (a tile) is computed from the 6×6 input
// patch under it as
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// per input/output channel pair, summed over the input channels: the 36
// element-wise products summed over channels are 36 independent GEMMs
// [tiles × C] × [C × OutC], with 36 multiplications per 16 outputs instead
// of 144. The interpolation points are 0, ±1, ±2 and ∞ (Lavin's matrices):
// Bᵀ and Aᵀ have small integer entries, so the data transforms are exact up
// to float32 rounding of their sums, and G's 1/4, 1/6, 1/12 and 1/24 are
// applied once to the kernel, in float64.
//
//	     ⎡4  0 -5  0  1  0⎤        ⎡ 1/4     0     0 ⎤
//	     ⎢0 -4 -4  1  1  0⎥        ⎢-1/6  -1/6  -1/6 ⎥        ⎡1  1  1  1  1  0⎤
//	Bᵀ = ⎢0  4 -4 -1  1  0⎥    G = ⎢-1/6   1/6  -1/6 ⎥   Aᵀ = ⎢0  1 -1  2 -2  0⎥
//	     ⎢0 -2 -1  2  1  0⎥        ⎢1/24  1/12   1/6 ⎥        ⎢0  1  1  4  4  0⎥
//	     ⎢0  2 -1 -2  1  0⎥        ⎢1/24 -1/12   1/6 ⎥        ⎣0  1 -1  8 -8  1⎦
//	     ⎣0  4  0 -5  0  1⎦        ⎣  0     0     1  ⎦
//
// # Blocking and threading
//
// The tiles (over the whole batch, row-major within each image) are
// processed in blocks of T tiles. Per block:
//
//  1. input transform: Bᵀ d B per tile and input channel, into V [36][T][C];
//  2. 36 GEMMs M[ξ] = V[ξ] · U[ξ], [T×C]·[C×OutC] (gemm.SgemmSerial);
//  3. output transform: Aᵀ m A per tile and output channel, plus bias,
//     written straight into the NHWC output, then the activation on the
//     tile's rows while they are in cache.
//
// Up to the pool's workers (the caller's goroutine and helpers, each
// calling the single-threaded GEMM, per the gemm package's threading rule)
// run a call, in one of two plans:
//
//   - Own blocks, for maps with many tiles and C+OutC up to ~600 (VGG16's
//     224² to 56² layers): each worker takes whole blocks from an atomic
//     counter and runs all three phases on its own V and M, sized to about
//     1 MiB (a Zen 4 core's L2), so they never leave the core and no
//     synchronisation is needed. T is 14 to 56 there; OpenBLAS runs such
//     GEMMs (≤ 10⁶ multiply-adds) through its unpacked small-matrix kernel
//     at ~80-100 GFLOP/s.
//   - Shared blocks otherwise (few tiles or many channels: VGG16's 28² and
//     14² layers have 49 and 16 tiles): all workers work on each block,
//     every phase split into chunks (tile ranges for the transforms, the
//     36 GEMMs) taken from an atomic counter, so a worker slowed down by
//     another process costs only its last chunk. A barrier separates phase
//     1 from 2 and 2 from 3; phase 3 of one block and phase 1 of the next
//     share a section (they touch M and V), so a block costs two barriers.
//     A helper joins the barrier when the scheduler first runs it, so one
//     started late (the cores busy with another call) holds nobody up. V+M
//     take about 4 MiB, or up to 16 MiB to reach 196 tiles: the GEMMs' row
//     count is T, and above 10⁶ multiply-adds OpenBLAS packs the whole
//     C×OutC operand per call (at C = OutC = 512: ~39 GFLOP/s with 16 rows,
//     ~67 with 49, ~84 with 96; single-threaded, quiet machine). With fewer
//     than 64 rows the GEMMs go as 16-column strips that fit the small
//     kernel instead (16 rows: 60 GFLOP/s, 49 rows: 80).
//
// # Results
//
// VGG16's 13 conv layers at 224×224, batch 1, 2 threads, medians of 20
// paired rounds on a quiet machine (BenchmarkWinogradVsIm2colVGG16): im2col
// Conv2D ~187 ms, Winograd on layers 2-13 plus im2col on layer 1 ~73 ms
// (~66 ms with GOEXPERIMENT=simd), i.e. 310-540 effective GFLOP/s per layer
// counted as direct convolution. Error against the float64 reference on
// 512-channel layers (Glorot weights, inputs 0..255): max |Δ| / max|ref|
// ≈ 7e-6 (im2col: 4.5e-7).
//
// The data transforms are written per channel run: each 1-D transform
// reads six channel vectors and writes six (or four), with the channels
// innermost, so every access is sequential and bounds-check free (and, with
// GOEXPERIMENT=simd on amd64, eight channels at a time in AVX2 registers:
// winograd_simd_amd64.go). Horizontally adjacent tiles share two input
// columns, whose column transforms are computed once. Input positions in
// the padding read a shared zero vector, so border tiles need no padded
// copy; output pixels beyond the map (partial tiles) go to a scratch
// vector.
type Winograd struct {
	c, outC int
	// u holds the transformed kernel G g Gᵀ as 36 row-major C×OutC
	// matrices: u[(ξ*C+c)*OutC+o], ξ = 6*i+j.
	u []float32
}

const (
	winoTile = 4 // output tile side
	winoIn   = 6 // input tile side
	winoXi   = winoIn * winoIn

	// Shared blocks: V+M take winoBlockFloats (4 MiB), or more to give
	// the GEMMs winoMinTiles rows, but never more than winoMaxBlockFloats
	// (16 MiB). Measured with shared blocks (2 threads): T = 224 tiles
	// beat 112 and 448 by ~8% at 224×224×64→64, and T = 196 beat 98 by
	// ~7% at 56×56×256→256; the rest varied by under 5%.
	winoBlockFloats    = 1 << 20
	winoMaxBlockFloats = 4 << 20
	winoMinTiles       = 196
	// Own blocks: V+M take winoOwnFloats (1 MiB, a Zen 4 core's L2), used
	// when that still makes blocks of at least winoOwnMinTiles tiles (so
	// for C+OutC up to ~600) and two blocks per worker. Measured against
	// shared blocks (2 threads, medians): 224×224×64→64 10.4 vs 12.2 ms,
	// 112×112×64→128 4.3 vs 5.3, 112×112×128→128 7.1 vs 8.7,
	// 56×56×128→256 3.4 vs 3.8, 56×56×256→256 6.0 vs 7.4 (T = 14); with 9
	// tiles per block (28×28×256→512) it lost 9.9 vs 5.4.
	winoOwnFloats   = 256 << 10
	winoOwnMinTiles = 12
	// GEMM column strips for OpenBLAS's small-matrix kernel (see gemm).
	winoSmallMNK     = 1000000
	winoStrip        = 16
	winoStripMaxRows = 64
	// winoChan is the channel run the transforms work on at a time: the
	// 36 runs of the per-tile intermediate stay in L1.
	winoChan = 128
	// winoSerialFLOPs: below this many direct-convolution FLOPs one worker
	// does the whole call (see Workspace.Pool).
	winoSerialFLOPs = 2 << 20
)

// WinogradOK reports whether p is a convolution Winograd handles: 3×3,
// stride 1, dilation 1, one group (any padding, sizes and batch).
func WinogradOK(p ConvParams) bool {
	q := p.norm()
	return p.KH == 3 && p.KW == 3 && q.StrideH == 1 && q.StrideW == 1 &&
		q.DilH == 1 && q.DilW == 1 && q.Groups == 1
}

// WinogradPays reports whether Winograd is expected to beat the im2col
// Conv2D on p: WinogradOK, at least 16 input and 8 output channels, and
// more than one tile. Measured with 2 threads on the 2-core Zen 4 machine
// (OpenBLAS; medians of paired runs, machine partly loaded): im2col wins
// at 224×224×3→64 (~0.6× Winograd's time) and ties at 224×224×8→64;
// Winograd wins from 224×224×16→64 (11.1 vs 13.6 ms) and at 112×112×16→32,
// 56×56×64→8, 7×7×512→512 (2.0 vs 3.5 ms); with a single tile (maps up to
// 4×4) it ties or loses.
func WinogradPays(p ConvParams) bool {
	if !WinogradOK(p) || p.C < 16 || p.OutC < 8 {
		return false
	}
	tiles := p.N * ((p.OutH() + winoTile - 1) / winoTile) * ((p.OutW() + winoTile - 1) / winoTile)
	return tiles >= 2
}

// NewWinograd transforms an HWIO 3×3×c×outC kernel for Winograd.Conv2D.
// The transform runs once, in float64; the result takes four times the
// kernel's memory (36 values per 9).
func NewWinograd(kernel []float32, c, outC int) *Winograd {
	if c < 1 || outC < 1 {
		panic(fmt.Sprintf("kernels: bad Winograd channels %d→%d", c, outC))
	}
	convCheckLen("Winograd kernel", kernel, 9*c*outC)
	return newWinograd(c, outC, func(ci int, g9 []float32) {
		for t := range 9 {
			copy(g9[t*outC:(t+1)*outC], kernel[(t*c+ci)*outC:])
		}
	})
}

// NewWinogradFrom is NewWinograd for the kernel sc was made from (3×3,
// stride 1, one group), read from sc's packed blocks one input channel at
// a time: no second copy of the whole kernel.
func NewWinogradFrom(sc *SmallConv) *Winograd {
	p := sc.p
	if !WinogradOK(p) {
		panic(fmt.Sprintf("kernels: Winograd cannot run %+v", p))
	}
	return newWinograd(p.C, p.OutC, func(ci int, g9 []float32) {
		for _, b := range sc.blocks {
			width := 16 * b.nv
			n := min(width, p.OutC-b.oc0)
			for t := range 9 {
				copy(g9[t*p.OutC+b.oc0:t*p.OutC+b.oc0+n], b.w[(t*p.C+ci)*width:])
			}
		}
	})
}

// newWinograd transforms the kernel whose input channel ci's 3×3×outC taps
// (HWIO order, [kh·3+kw][o]) channel(ci, g9) writes into g9.
func newWinograd(c, outC int, channel func(ci int, g9 []float32)) *Winograd {
	u := make([]float32, winoXi*c*outC)
	g9 := make([]float32, 9*outC)
	// Blocks of 16 output channels, gathered and written whole, the
	// transform G g Gᵀ stage by stage over the block's lanes in float64
	// (one rounding per value), as in newSCWino: 256→256 14 → 5.7-9.4 ms
	// with a tile per lane, much of the rest the first touch of u's 9 MB.
	var g [9][16]float64
	var m [winoIn][3][16]float64 // G g
	var t [winoXi][16]float32
	for ci := range c {
		channel(ci, g9)
		for o0 := 0; o0 < outC; o0 += 16 {
			n := min(16, outC-o0)
			for k := range 9 {
				for l, v := range g9[k*outC+o0 : k*outC+o0+n] {
					g[k][l] = float64(v)
				}
			}
			for kw := range 3 {
				for l := range n {
					m[0][kw][l], m[1][kw][l], m[2][kw][l], m[3][kw][l], m[4][kw][l], m[5][kw][l] = winoG6(g[kw][l], g[3+kw][l], g[6+kw][l])
				}
			}
			for i := range winoIn {
				r, x := &m[i], i*winoIn
				t0, t1, t2, t3, t4, t5 := &t[x], &t[x+1], &t[x+2], &t[x+3], &t[x+4], &t[x+5]
				for l := range n {
					u0, u1, u2, u3, u4, u5 := winoG6(r[0][l], r[1][l], r[2][l])
					t0[l], t1[l], t2[l], t3[l], t4[l], t5[l] = float32(u0), float32(u1), float32(u2), float32(u3), float32(u4), float32(u5)
				}
			}
			for xi := range winoXi {
				copy(u[(xi*c+ci)*outC+o0:][:n], t[xi][:n])
			}
		}
	}
	return &Winograd{c: c, outC: outC, u: u}
}

// winoG6 is G·(g0, g1, g2). (Multiplications by the reciprocals: the
// transform of a large layer's kernel ran ~10 divisions per value and
// dominated model compile time.)
func winoG6(g0, g1, g2 float64) (float64, float64, float64, float64, float64, float64) {
	const sixth, twelfth, twentyfourth = 1.0 / 6, 1.0 / 12, 1.0 / 24
	return g0 * 0.25, -(g0 + g1 + g2) * sixth, -(g0 - g1 + g2) * sixth,
		g0*twentyfourth + g1*twelfth + g2*sixth, g0*twentyfourth - g1*twelfth + g2*sixth, g2
}

// Bytes reports the memory held by the transformed kernel.
func (w *Winograd) Bytes() int { return 4 * len(w.u) }

// winoPlan is the blocking of one call.
type winoPlan struct {
	oh, ow, th, tw int // output size and tile grid
	tiles          int // N*th*tw
	bt, nblk       int // tiles per block, blocks
	chunk          int // tiles per transform chunk
	cc, occ        int // channel runs of the input and output transforms
	workers        int
	scratch        int  // floats per worker
	own            bool // each worker takes whole blocks (else all share each block)
	strips         bool // OpenBLAS: small GEMMs in column strips
}

func (w *Winograd) plan(p ConvParams, workers int) winoPlan {
	var pl winoPlan
	pl.oh, pl.ow = p.OutH(), p.OutW()
	pl.th, pl.tw = (pl.oh+winoTile-1)/winoTile, (pl.ow+winoTile-1)/winoTile
	pl.tiles = p.N * pl.th * pl.tw
	if pl.tiles == 0 {
		return pl
	}
	perTile := winoXi * (p.C + p.OutC)
	bt := max(winoBlockFloats/perTile, min(winoMinTiles, winoMaxBlockFloats/perTile))
	bt = min(pl.tiles, max(bt, 1))
	pl.nblk = (pl.tiles + bt - 1) / bt
	pl.bt = (pl.tiles + pl.nblk - 1) / pl.nblk
	pl.workers = max(1, workers)
	if p.FLOPs() < winoSerialFLOPs {
		pl.workers = 1
	}
	// Whole blocks per worker when blocks small enough for a core's L2
	// still hold winoOwnMinTiles tiles and there are two per worker. Each
	// block's GEMMs read all the transformed kernel (36·C·OutC floats): a
	// single worker takes own blocks only where reading it once more per
	// extra block costs less than a shared block's V and M going through
	// memory twice. (28²×256→256 at batch 1 on one thread: 4 own blocks of
	// 13 tiles read its 9.4 MB kernel four times, 6.7-8.3 ms; one shared
	// block 2.6-3.8.)
	if ot := winoOwnFloats / perTile; ot >= winoOwnMinTiles && (pl.workers == 1 || pl.tiles >= 2*pl.workers*ot) {
		nOwn := (pl.tiles + ot - 1) / ot
		if pl.workers > 1 || (nOwn-1)*winoXi*p.C*p.OutC <= 2*pl.bt*perTile {
			pl.own = true
			pl.nblk = nOwn
			pl.bt = (pl.tiles + pl.nblk - 1) / pl.nblk
		}
	}
	pl.strips = gemm.Name() == "openblas"
	// About four transform chunks per worker and block.
	pl.chunk = max(1, pl.bt/(4*pl.workers))
	pl.cc, pl.occ = min(p.C, winoChan), min(p.OutC, winoChan)
	pl.scratch = winoXi*pl.cc + 4*winoIn*pl.occ + pl.occ
	return pl
}

// WorkspaceLen reports the Workspace floats Conv2D needs for p with up to
// workers workers.
func (w *Winograd) WorkspaceLen(p ConvParams, workers int) int {
	pl := w.plan(p, workers)
	if pl.tiles == 0 {
		return 0
	}
	nb := 1
	if pl.own {
		nb = pl.workers
	}
	return nb*winoXi*pl.bt*(p.C+p.OutC) + max(p.C, p.OutC) + pl.workers*pl.scratch
}

// Conv2D computes out = act(conv(in, kernel) + bias) like the package-level
// Conv2D, for the kernel w was made from; p must satisfy WinogradOK and
// have p.C and p.OutC equal to w's channels.
func (w *Winograd) Conv2D(p ConvParams, in, bias []float32, act Activation, out []float32, ws *Workspace) {
	w.check(p)
	convCheckLen("conv output", out, p.OutLen())
	w.conv2D(p, in, bias, nil, act, out, p.OutC, ws)
}

// Conv2DStrided is Conv2D writing output pixel i's OutC channels at
// out[i*ldo:] (ldo ≥ OutC; out holds StridedLen(pixels, OutC, ldo) floats
// and the floats between pixels are not touched): a convolution writing
// its channels straight into a wider channel concatenation.
func (w *Winograd) Conv2DStrided(p ConvParams, in, bias []float32, act Activation, out []float32, ldo int, ws *Workspace) {
	w.check(p)
	stridedCheck("conv output", out, p.N*p.OutH()*p.OutW(), p.OutC, ldo)
	w.conv2D(p, in, bias, nil, act, out, ldo, ws)
}

// Conv2DAdd computes out = act(conv(in, kernel) + bias + skip), skip being
// an NHWC tensor of out's size (the other input of a residual Add): each
// output tile's rows take the addition and act right after the output
// transform writes them, as residualAct would on the whole output after
// Conv2D with a linear act (the same bits). skip must not overlap out.
func (w *Winograd) Conv2DAdd(p ConvParams, in, bias, skip []float32, act Activation, out []float32, ws *Workspace) {
	w.check(p)
	convCheckLen("conv output", out, p.OutLen())
	convCheckLen("conv residual", skip, len(out))
	w.conv2D(p, in, bias, skip, act, out, p.OutC, ws)
}

func (w *Winograd) check(p ConvParams) {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if !WinogradOK(p) || p.C != w.c || p.OutC != w.outC {
		panic(fmt.Sprintf("kernels: Winograd %d→%d cannot run %+v", w.c, w.outC, p))
	}
}

func (w *Winograd) conv2D(p ConvParams, in, bias, skip []float32, act Activation, out []float32, ldo int, ws *Workspace) {
	convCheckLen("conv input", in, p.InLen())
	if bias != nil {
		convCheckLen("conv bias", bias, p.OutC)
	}
	p = p.norm()
	pl := w.plan(p, ws.Par().Workers())
	if pl.tiles == 0 {
		return
	}
	buf := ws.Get(w.WorkspaceLen(p, ws.Par().Workers()))
	nb := 1
	if pl.own {
		nb = pl.workers
	}
	nv, nm := nb*winoXi*pl.bt*p.C, nb*winoXi*pl.bt*p.OutC
	nz := max(p.C, p.OutC)
	zero := buf[nv+nm : nv+nm+nz]
	clear(zero)
	if bias == nil {
		bias = zero[:p.OutC]
	}
	if pl.workers == 1 { // r stays on the stack: no allocation
		r := winoRun{w: w, p: p, pl: pl, in: in, bias: bias, skip: skip, out: out, ldo: ldo, act: act,
			v: buf[:nv], m: buf[nv : nv+nm], zero: zero, scratch: buf[nv+nm+nz:]}
		r.run(0, 0)
		return
	}
	r := &winoRun{w: w, p: p, pl: pl, in: in, bias: bias, skip: skip, out: out, ldo: ldo, act: act,
		v: buf[:nv], m: buf[nv : nv+nm], zero: zero, scratch: buf[nv+nm+nz:]}
	r.barStore = winoBarrier{n: 1} // the helpers join when they start
	r.bar = &r.barStore
	r.bar.cond.L = &r.bar.mu
	// Item 0 is the caller's whole run; items 1.. are the pool's helpers
	// joining at the section current when they start. (Goroutines started
	// per call joined 50-100 µs late on these VMs: a 28²×128→128 layer at
	// batch 1 ran no faster on two threads than on one.) Do returns when
	// every item has returned: none touches in, out or the workspace any
	// more.
	ws.Par().Do(pl.workers, pl.workers, (*winoJob)(r))
}

// winoJob runs a winoRun's workers as a par.Job.
type winoJob winoRun

// RunItem runs worker item: the caller's run for item 0, else a helper
// joining late (a no-op once the run is over).
func (j *winoJob) RunItem(_, item int) {
	r := (*winoRun)(j)
	if item == 0 {
		r.run(0, 0)
		return
	}
	r.run(item, r.bar.join())
}

// winoRun is the state of one Conv2D call, shared by its workers.
type winoRun struct {
	w             *Winograd
	p             ConvParams
	pl            winoPlan
	in, bias, out []float32
	skip          []float32 // a residual added before act (Conv2DAdd; ldo is OutC), or nil
	ldo           int       // output pixel stride
	act           Activation
	v, m, zero    []float32
	scratch       []float32
	// next hands out the chunks of the current section; bar (nil with one
	// worker) separates the sections.
	next     atomic.Int64
	bar      *winoBarrier
	barStore winoBarrier
}

// wait is the barrier between two sections: it returns once every joined
// worker has called it, with next reset to 0 by the last one to arrive,
// before any worker leaves.
func (r *winoRun) wait() {
	if r.bar == nil {
		r.next.Store(0)
		return
	}
	r.bar.wait(&r.next)
}

// winoBarrier is a reusable barrier for the n workers that have joined.
// A helper goroutine joins when it first runs, at the current section, so
// one that the scheduler starts late (the cores busy with another call)
// holds nobody up before it arrives. A worker that arrives early polls
// for up to winoBarrierSpin before it sleeps: waking a sleeping goroutine
// took 50-100 µs on these VMs, as long as a batch-1 layer's section.
type winoBarrier struct {
	mu      sync.Mutex
	cond    sync.Cond
	n, here int
	section atomic.Int64 // sections completed (written under mu)
}

// winoBarrierSpin bounds the polling of a worker waiting at the barrier.
const winoBarrierSpin = 200 * time.Microsecond

// join adds a worker and returns the section it starts at.
func (b *winoBarrier) join() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	return int(b.section.Load())
}

func (b *winoBarrier) wait(next *atomic.Int64) {
	b.mu.Lock()
	if b.here++; b.here == b.n {
		b.here = 0
		next.Store(0) // before any worker sees the new section
		b.section.Add(1)
		b.mu.Unlock()
		b.cond.Broadcast()
		return
	}
	s := b.section.Load()
	b.mu.Unlock()
	t0 := time.Now()
	for spin := 1; spin%16 != 0 || time.Since(t0) < winoBarrierSpin; spin++ {
		if b.section.Load() != s {
			return
		}
		runtime.Gosched()
	}
	b.mu.Lock()
	for s == b.section.Load() {
		b.cond.Wait()
	}
	b.mu.Unlock()
}

// run works through the sections from start, each ended by the barrier:
// section 0 is the input transform of block 0, section 2b+1 the GEMMs of
// block b and section 2b+2 the output transform of block b with the input
// transform of block b+1.
func (r *winoRun) run(wk, start int) {
	if r.pl.own {
		if start == 0 {
			r.runOwn(wk)
		}
		return
	}
	scr := r.scratch[wk*r.pl.scratch : (wk+1)*r.pl.scratch]
	for s := start; s <= 2*r.pl.nblk; s++ {
		switch {
		case s == 0:
			r.transforms(-1, 0, scr)
		case s%2 == 1:
			r.gemms(s / 2)
		default:
			b := s/2 - 1
			next := b + 1
			if next == r.pl.nblk {
				next = -1
			}
			r.transforms(b, next, scr)
		}
		r.wait()
	}
}

// blockTiles returns block b's first tile and tile count.
func (r *winoRun) blockTiles(b int) (int, int) {
	t0 := b * r.pl.bt
	return t0, min(r.pl.bt, r.pl.tiles-t0)
}

// gemms runs block b's 36 GEMMs, one per chunk.
func (r *winoRun) gemms(b int) {
	_, nt := r.blockTiles(b)
	for {
		xi := int(r.next.Add(1)) - 1
		if xi >= winoXi {
			return
		}
		r.gemm(r.v, r.m, nt, xi)
	}
}

// gemm computes M[ξ] = V[ξ] · U[ξ] for nt tiles.
//
// OpenBLAS (0.3.21 here) runs products of at most 10⁶ multiply-adds
// (m·n·k) through an unpacked small-matrix path (measured: 15×256×256 runs
// at ~80 GFLOP/s, 16×256×256 at ~40); above that it packs the whole C×OutC
// operand per call, which dominates when the tile count is small. So a
// product with fewer than winoStripMaxRows rows and more than 10⁶
// multiply-adds goes as column strips of winoStrip output channels that
// each take the small path. Measured single-threaded over 36 products:
// 16×512×512 39 → 60 GFLOP/s, 49×512×512 67 → 80, 49×256×512 60 → 83;
// from 64 rows on it gains nothing (120×512×512 loses).
func (r *winoRun) gemm(v, m []float32, nt, xi int) {
	c, oc := r.p.C, r.p.OutC
	a, b, y := v[xi*r.pl.bt*c:], r.w.u[xi*c*oc:], m[xi*r.pl.bt*oc:]
	if r.pl.strips && nt < winoStripMaxRows && nt*oc*c > winoSmallMNK && nt*winoStrip*c <= winoSmallMNK {
		for j := 0; j < oc; j += winoStrip {
			gemm.SgemmSerial(false, false, nt, min(winoStrip, oc-j), c, 1, a, c, b[j:], oc, 0, y[j:], oc)
		}
		return
	}
	gemm.SgemmSerial(false, false, nt, oc, c, 1, a, c, b, oc, 0, y, oc)
}

// runOwn is run for plans whose workers each take whole blocks: every
// block's three phases on one worker, with its own V and M.
func (r *winoRun) runOwn(wk int) {
	scr := r.scratch[wk*r.pl.scratch : (wk+1)*r.pl.scratch]
	nv, nm := winoXi*r.pl.bt*r.p.C, winoXi*r.pl.bt*r.p.OutC
	v, m := r.v[wk*nv:(wk+1)*nv], r.m[wk*nm:(wk+1)*nm]
	for {
		b := int(r.next.Add(1)) - 1
		if b >= r.pl.nblk {
			break
		}
		g0, nt := r.blockTiles(b)
		r.inTiles(v, g0, 0, nt, scr)
		for xi := range winoXi {
			r.gemm(v, m, nt, xi)
		}
		for t := range nt {
			r.outTile(m, g0+t, t, scr)
		}
	}
	r.wait()
}

// transforms runs the output transform of block ob and the input
// transform of block ib (either may be -1), in chunks of tiles.
func (r *winoRun) transforms(ob, ib int, scr []float32) {
	var nout, nin int
	var o0, on, i0, ni int
	if ob >= 0 {
		o0, on = r.blockTiles(ob)
		nout = (on + r.pl.chunk - 1) / r.pl.chunk
	}
	if ib >= 0 {
		i0, ni = r.blockTiles(ib)
		nin = (ni + r.pl.chunk - 1) / r.pl.chunk
	}
	for {
		k := int(r.next.Add(1)) - 1
		switch {
		case k < nout:
			lo := k * r.pl.chunk
			for t := lo; t < min(lo+r.pl.chunk, on); t++ {
				r.outTile(r.m, o0+t, t, scr)
			}
		case k < nout+nin:
			lo := (k - nout) * r.pl.chunk
			r.inTiles(r.v, i0+lo, lo, min(r.pl.chunk, ni-lo), scr)
		default:
			return
		}
	}
}

// inTiles writes Bᵀ d B of the cnt tiles from tile g (block row t) into V,
// a run of tiles in one tile row at a time.
func (r *winoRun) inTiles(v []float32, g, t, cnt int, scr []float32) {
	for cnt > 0 {
		run := min(cnt, r.pl.tw-g%r.pl.tw)
		r.inRow(v, g, t, run, scr)
		g, t, cnt = g+run, t+run, cnt-run
	}
}

// inRow transforms cnt adjacent tiles of one tile row from tile g (block
// row t), one channel run at a time: per tile first the columns
// (tmp[i][x] = Σ Bᵀ[i][k] d[k][x]), then the rows into V. Neighbouring
// tiles overlap by two input columns, so tmp holds six column slots,
// column x in slot x mod 6, and each tile but the first transforms only
// its four new columns.
func (r *winoRun) inRow(vb []float32, g, t, cnt int, scr []float32) {
	p, pl := &r.p, &r.pl
	n := g / (pl.th * pl.tw)
	ty, tx0 := g/pl.tw%pl.th, g%pl.tw
	iy0 := ty*winoTile - p.PadTop
	img := r.in[n*p.H*p.W*p.C : (n+1)*p.H*p.W*p.C]
	c, cc := p.C, pl.cc
	tmp := scr[:winoXi*cc]
	plane := pl.bt * c
	var d [winoIn][]float32
	for c0 := 0; c0 < c; c0 += cc {
		nc := min(cc, c-c0)
		zero := r.zero[:nc]
		for k := range cnt {
			tx := tx0 + k
			x0 := tx * winoTile // first column, in padded coordinates
			for j := 2 * min(k, 1); j < winoIn; j++ {
				slot := (x0 + j) % winoIn
				ix := x0 + j - p.PadLeft
				if ix < 0 || ix >= p.W {
					for i := range winoIn {
						clear(tmp[(i*winoIn+slot)*cc : (i*winoIn+slot)*cc+nc])
					}
					continue
				}
				for i := range winoIn {
					iy := iy0 + i
					if iy < 0 || iy >= p.H {
						d[i] = zero
					} else {
						o := (iy*p.W+ix)*c + c0
						d[i] = img[o : o+nc]
					}
				}
				winoBt(d[0], d[1], d[2], d[3], d[4], d[5],
					tmp[(0*winoIn+slot)*cc:], tmp[(1*winoIn+slot)*cc:], tmp[(2*winoIn+slot)*cc:],
					tmp[(3*winoIn+slot)*cc:], tmp[(4*winoIn+slot)*cc:], tmp[(5*winoIn+slot)*cc:])
			}
			var sl [winoIn]int
			for j := range winoIn {
				sl[j] = (x0 + j) % winoIn * cc
			}
			v := vb[(t+k)*c+c0:]
			for i := range winoIn {
				s := tmp[i*winoIn*cc : (i+1)*winoIn*cc]
				o := i * winoIn * plane
				winoBt(s[sl[0]:sl[0]+nc], s[sl[1]:sl[1]+nc], s[sl[2]:sl[2]+nc], s[sl[3]:sl[3]+nc], s[sl[4]:sl[4]+nc], s[sl[5]:sl[5]+nc],
					v[o:], v[o+plane:], v[o+2*plane:], v[o+3*plane:], v[o+4*plane:], v[o+5*plane:])
			}
		}
	}
}

// winoBtGo sets r_k = (Bᵀ d)_k element-wise over the len(d0) channels.
func winoBtGo(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5 []float32) {
	n := len(d0)
	d1, d2, d3, d4, d5 = d1[:n], d2[:n], d3[:n], d4[:n], d5[:n]
	r0, r1, r2, r3, r4, r5 = r0[:n], r1[:n], r2[:n], r3[:n], r4[:n], r5[:n]
	for k := 0; k < n; k++ {
		x0, x1, x2, x3, x4, x5 := d0[k], d1[k], d2[k], d3[k], d4[k], d5[k]
		t0 := x4 - 4*x2
		t1 := x3 - 4*x1
		t2 := x4 - x2
		t3 := 2 * (x3 - x1)
		r0[k] = 4*(x0-x2) + t2        // 4x0 - 5x2 + x4
		r1[k] = t0 + t1               // -4x1 - 4x2 + x3 + x4
		r2[k] = t0 - t1               // 4x1 - 4x2 - x3 + x4
		r3[k] = t2 + t3               // -2x1 - x2 + 2x3 + x4
		r4[k] = t2 - t3               // 2x1 - x2 - 2x3 + x4
		r5[k] = (x5 - x3) - (t3 + t3) // 4x1 - 5x3 + x5
	}
}

// outTile writes act(Aᵀ m A + bias) of tile g (block row t) into out: per
// output-channel run, first the columns (tmp[i][j] = Σ Aᵀ[i][k] m[k][j]),
// then the rows with the bias, straight into the output pixels (those past
// the map's edge into scratch).
func (r *winoRun) outTile(mb []float32, g, t int, scr []float32) {
	p, pl := &r.p, &r.pl
	n := g / (pl.th * pl.tw)
	ty, tx := g/pl.tw%pl.th, g%pl.tw
	oy0, ox0 := ty*winoTile, tx*winoTile
	vh, vw := min(winoTile, pl.oh-oy0), min(winoTile, pl.ow-ox0)
	oc, occ := p.OutC, pl.occ
	tmp := scr[winoXi*pl.cc : winoXi*pl.cc+4*winoIn*occ]
	junk := scr[winoXi*pl.cc+4*winoIn*occ:]
	plane := pl.bt * oc
	m := mb[t*oc:]
	ld := r.ldo
	img := r.out[n*pl.oh*pl.ow*ld : min((n+1)*pl.oh*pl.ow*ld, len(r.out))]
	var y [winoTile][]float32
	for o0 := 0; o0 < oc; o0 += occ {
		no := min(occ, oc-o0)
		for j := range winoIn {
			o := j*plane + o0
			s := winoIn * plane
			winoAt(m[o:o+no], m[o+s:], m[o+2*s:], m[o+3*s:], m[o+4*s:], m[o+5*s:],
				tmp[(0*winoIn+j)*occ:], tmp[(1*winoIn+j)*occ:], tmp[(2*winoIn+j)*occ:], tmp[(3*winoIn+j)*occ:])
		}
		for i := range vh {
			row := (oy0 + i) * pl.ow
			for j := range winoTile {
				if j < vw {
					o := (row+ox0+j)*ld + o0
					y[j] = img[o : o+no]
				} else {
					y[j] = junk[:no]
				}
			}
			s := tmp[i*winoIn*occ:]
			winoAtBias(s[:no], s[occ:occ+no], s[2*occ:2*occ+no], s[3*occ:3*occ+no], s[4*occ:4*occ+no], s[5*occ:5*occ+no],
				r.bias[o0:o0+no], y[0], y[1], y[2], y[3])
		}
	}
	if r.skip != nil {
		sk := r.skip[n*pl.oh*pl.ow*oc:]
		for i := range vh {
			o := ((oy0+i)*pl.ow + ox0) * oc
			residualAct(img[o:o+vw*oc], sk[o:o+vw*oc], r.act)
		}
		return
	}
	if !r.act.IsLinear() {
		for i := range vh {
			o := ((oy0+i)*pl.ow + ox0) * ld
			if ld == oc {
				convAct(img[o:o+vw*oc], r.act)
				continue
			}
			for j := range vw {
				convAct(img[o+j*ld:o+j*ld+oc], r.act)
			}
		}
	}
}

// winoAtGo sets y_k = (Aᵀ m)_k element-wise over the len(m0) channels.
func winoAtGo(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3 []float32) {
	n := len(m0)
	m1, m2, m3, m4, m5 = m1[:n], m2[:n], m3[:n], m4[:n], m5[:n]
	y0, y1, y2, y3 = y0[:n], y1[:n], y2[:n], y3[:n]
	for k := 0; k < n; k++ {
		x1, x2, x3, x4 := m1[k], m2[k], m3[k], m4[k]
		s12, d12 := x1+x2, x1-x2
		s34, d34 := x3+x4, x3-x4
		y0[k] = m0[k] + s12 + s34
		y1[k] = d12 + 2*d34
		y2[k] = s12 + 4*s34
		y3[k] = d12 + 8*d34 + m5[k]
	}
}

// winoAtBiasGo is winoAtGo plus b.
func winoAtBiasGo(m0, m1, m2, m3, m4, m5, b, y0, y1, y2, y3 []float32) {
	n := len(m0)
	m1, m2, m3, m4, m5, b = m1[:n], m2[:n], m3[:n], m4[:n], m5[:n], b[:n]
	y0, y1, y2, y3 = y0[:n], y1[:n], y2[:n], y3[:n]
	for k := 0; k < n; k++ {
		x1, x2, x3, x4, bk := m1[k], m2[k], m3[k], m4[k], b[k]
		s12, d12 := x1+x2, x1-x2
		s34, d34 := x3+x4, x3-x4
		y0[k] = m0[k] + s12 + s34 + bk
		y1[k] = d12 + 2*d34 + bk
		y2[k] = s12 + 4*s34 + bk
		y3[k] = d12 + 8*d34 + m5[k] + bk
	}
}
