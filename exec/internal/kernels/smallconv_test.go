package kernels

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/kconv/kconv/exec/internal/par"
)

// smallConvCases are the ungrouped cases of the shared conv table plus
// shapes that exercise SmallConv's own paths: every micro-kernel width (row
// runs of 12, 8, 4, 2, 1 pixels), OutC around the 16/32-channel blocks and
// their store masks, bands of rows (batch smaller than the workers), big
// pads, strides and dilations.
func smallConvCases() []convCase {
	var cs []convCase
	cs = append(cs, convCases()...)
	same := func(n, h, w, c, oc int) ConvParams {
		return ConvParams{N: n, H: h, W: w, C: c, OutC: oc, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	}
	for _, oc := range []int{1, 15, 16, 17, 31, 32, 33, 48, 70} {
		cs = append(cs, convCase{fmt.Sprintf("rgb 3x3 same oc=%d", oc), same(2, 9, 31, 3, oc), oc%2 == 1, khReLU})
	}
	cs = append(cs,
		convCase{"cifar first layer", same(3, 32, 32, 3, 16), true, khReLU},
		convCase{"cifar second layer", same(2, 16, 16, 16, 32), true, khReLU},
		convCase{"batch 1 bands", same(1, 40, 27, 4, 24), true, khELU},
		convCase{"c=1 5x5 s2", ConvParams{N: 2, H: 17, W: 23, C: 1, OutC: 8, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, true, khReLU},
		convCase{"7x7 s2 asym pads", ConvParams{N: 2, H: 29, W: 30, C: 3, OutC: 20, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadBottom: 2, PadLeft: 2, PadRight: 3}, true, Activation{}},
		convCase{"unpadded in place", ConvParams{N: 3, H: 13, W: 26, C: 2, OutC: 40, KH: 3, KW: 2, StrideH: 1, StrideW: 2}, true, khReLU},
		convCase{"dilated s1x3", ConvParams{N: 1, H: 15, W: 40, C: 3, OutC: 5, KH: 3, KW: 3, DilH: 2, DilW: 3, StrideW: 3, PadTop: 2, PadBottom: 2, PadLeft: 3, PadRight: 3}, false, khELU},
		convCase{"relu6", same(2, 10, 14, 3, 16), true, Activation{Kind: ActReLU, HasMax: true, MaxValue: 0.5}},
		convCase{"leaky", same(1, 10, 14, 3, 16), true, Activation{Kind: ActReLU, NegativeSlope: 0.1}},
		// Activations the micro-kernel applies (scEpi): clamps with any
		// bounds and hard swish, on masked stores and flat 1×1 runs.
		convCase{"clip masked", same(2, 9, 11, 8, 20), true, Activation{Kind: ActClip, Min: -0.3, Max: 0.4}},
		convCase{"hard swish masked", same(2, 9, 11, 8, 20), true, Activation{Kind: ActHardSwish}},
		convCase{"1x1 14x14 hard swish in place", ConvParams{N: 1, H: 14, W: 14, C: 40, OutC: 240, KH: 1, KW: 1}, true, Activation{Kind: ActHardSwish}},
		// Winograd F(2×2, 3×3) path (C, OutC multiples of 16, linear or ReLU).
		convCase{"wino odd sizes", same(2, 15, 13, 16, 48), true, khReLU},
		convCase{"wino asym pads", ConvParams{N: 1, H: 12, W: 17, C: 32, OutC: 16, KH: 3, KW: 3, PadBottom: 2, PadLeft: 1}, true, Activation{}},
		convCase{"wino bands", same(1, 40, 9, 16, 16), false, khReLU},
		convCase{"wino 64", same(3, 8, 8, 64, 64), true, khReLU},
		convCase{"wino tiny", same(2, 1, 3, 16, 16), true, Activation{}},
		convCase{"wino long rows", same(1, 6, 61, 16, 32), true, khReLU},
		convCase{"wino elu goes direct", same(1, 6, 6, 16, 16), true, khELU},
		// Batch 1 on small maps: bands split into channel-block groups.
		convCase{"1x1 7x7 relu6 channel groups", ConvParams{N: 1, H: 7, W: 7, C: 640, OutC: 100, KH: 1, KW: 1}, true, Activation{Kind: ActReLU, HasMax: true, MaxValue: 6}},
		convCase{"3x3 14x14 swish channel groups", same(1, 14, 14, 24, 72), true, Activation{Kind: ActSwish}},
		convCase{"1x1 7x7 linear channel groups", ConvParams{N: 1, H: 7, W: 7, C: 640, OutC: 96, KH: 1, KW: 1}, false, Activation{}},
		// Weight-heavy layers: channel groups over whole images, blocks
		// outside rows (see SmallConv.plan).
		convCase{"3x3 7x7 weights outweigh input", same(1, 7, 7, 160, 96), true, khReLU},
		// Over scRowSplitBytes of weights: channel groups, pooled too
		// (scRun.poolWhole; an odd map drops its last row when pooled).
		convCase{"3x3 7x7 1.3 MB of weights", same(1, 7, 7, 256, 144), true, Activation{Kind: ActHardSwish}},
		convCase{"3x3 6x8 1.5 MB of weights swish", same(1, 6, 8, 256, 160), false, Activation{Kind: ActSwish}},
		convCase{"3x3 s2 9x11 blocks outer", ConvParams{N: 2, H: 9, W: 11, C: 96, OutC: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActSwish}},
		convCase{"1x1 5x6 wide blocks outer", ConvParams{N: 1, H: 5, W: 6, C: 900, OutC: 130, KH: 1, KW: 1}, true, Activation{}},
		// Grouped: groups narrower than a 16-channel vector, between 16
		// and 32, wider than a block; strided and padded.
		convCase{"groups of 8", ConvParams{N: 2, H: 9, W: 10, C: 64, OutC: 64, KH: 3, KW: 3, Groups: 8, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
		convCase{"groups of 24 s2", ConvParams{N: 1, H: 11, W: 13, C: 48, OutC: 48, KH: 3, KW: 3, Groups: 2, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, Activation{Kind: ActSwish}},
		convCase{"groups 40→80 1x1", ConvParams{N: 1, H: 6, W: 7, C: 40, OutC: 80, KH: 1, KW: 1, Groups: 2}, false, Activation{}},
		convCase{"groups of 48 s2 (three-vector blocks)", ConvParams{N: 1, H: 15, W: 23, C: 96, OutC: 96, KH: 3, KW: 3, Groups: 2, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, true, khReLU},
	)
	return cs
}

func TestSmallConvVsRef(t *testing.T) {
	kernels := []bool{true}
	if scAVX512 {
		kernels = []bool{false, true}
	}
	for ci, tc := range smallConvCases() {
		p := tc.p
		in := khRand(uint64(ci)*3+1, p.InLen())
		kernel := khRand(uint64(ci)*3+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, p.OutC)
		}
		want := RefConv2D(p, in, kernel, bias, tc.act)
		sc := NewSmallConv(kernel, p)
		for _, goKernel := range kernels {
			saved := scForceGo
			scForceGo = goKernel
			for _, threads := range []int{1, 2, 3} {
				pool := par.New(threads)
				ws := &Workspace{Pool: pool}
				for rep := range 2 { // the second run reuses the workspace
					got := khPoison(p.OutLen())
					sc.Conv2D(p, in, bias, tc.act, got, ws)
					khClose(t, fmt.Sprintf("%s go=%v threads=%d rep=%d", tc.name, goKernel, threads, rep), got, want, 1e-4)
				}
			}
			got := khPoison(p.OutLen())
			sc.Conv2D(p, in, bias, tc.act, got, nil)
			khClose(t, fmt.Sprintf("%s go=%v nil workspace", tc.name, goKernel), got, want, 1e-4)
			scForceGo = saved
		}
	}
}

// TestSmallConvFusedActBits checks that an activation the micro-kernel
// applies (scEpi) gives the bits of the linear convolution followed by the
// row pass it replaces (ApplyFast; Apply for the Go kernel), NaN sums
// included.
func TestSmallConvFusedActBits(t *testing.T) {
	p := ConvParams{N: 1, H: 9, W: 13, C: 24, OutC: 40, KH: 1, KW: 1}
	in, kernel, bias := khRand(1, p.InLen()), khRand(2, p.KernelLen()), khRand(3, p.OutC)
	for i := range in {
		in[i] *= 8 // past hard swish's and the clips' bends
	}
	in[5] = float32(math.NaN())
	sc := NewSmallConv(kernel, p)
	kernels := []bool{true}
	if scAVX512 {
		kernels = []bool{false, true}
	}
	for _, act := range []Activation{khReLU, {Kind: ActReLU, HasMax: true, MaxValue: 6}, {Kind: ActClip, Min: -0.3, Max: 0.4}, {Kind: ActHardSwish}} {
		if scEpiFor(act).kind == scEpiNone {
			t.Fatalf("%v: not fused", act.Kind)
		}
		for _, goKernel := range kernels {
			saved, savedOff := scForceGo, simdOff
			scForceGo, simdOff = goKernel, goKernel
			want := khPoison(p.OutLen())
			sc.Conv2D(p, in, bias, Activation{}, want, nil)
			convAct(want, act)
			got := khPoison(p.OutLen())
			sc.Conv2D(p, in, bias, act, got, nil)
			scForceGo, simdOff = saved, savedOff
			khSameBits(t, fmt.Sprintf("%v go=%v", act.Kind, goKernel), got, want)
		}
	}
}

// TestSmallConvFusedSkipBits checks that a residual the micro-kernel adds
// before its activation (Conv2DAdd with a linear or fused activation)
// gives the bits of the convolution followed by residualAct's pass, NaN
// included, over the row (rowRunsOuter), flat and channel-group splits.
func TestSmallConvFusedSkipBits(t *testing.T) {
	kernels := []bool{true}
	if scAVX512 {
		kernels = []bool{false, true}
	}
	for _, p := range []ConvParams{
		{N: 1, H: 9, W: 13, C: 24, OutC: 40, KH: 1, KW: 1},
		{N: 2, H: 7, W: 30, C: 16, OutC: 72, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
		{N: 1, H: 7, W: 7, C: 64, OutC: 600, KH: 1, KW: 1},
		{N: 1, H: 40, W: 37, C: 96, OutC: 72, KH: 1, KW: 1}, // a band past scCacheBytes: rows outside, rowRunsOuter
	} {
		in, kernel, bias, skip := khRand(1, p.InLen()), khRand(2, p.KernelLen()), khRand(3, p.OutC), khRand(4, p.OutLen())
		for i := range in {
			in[i] *= 8
		}
		in[5] = float32(math.NaN())
		skip[7] = float32(math.NaN())
		sc := NewSmallConvDirect(kernel, p)
		for _, act := range []Activation{{}, khReLU, {Kind: ActReLU, HasMax: true, MaxValue: 6}, {Kind: ActClip, Min: -0.3, Max: 0.4}, {Kind: ActHardSwish}} {
			for _, goKernel := range kernels {
				for _, threads := range []int{1, 2} {
					got, want := addAndTwoPasses(sc, p, in, bias, skip, act, goKernel, threads)
					khSameBits(t, fmt.Sprintf("%+v %v go=%v threads=%d", p, act.Kind, goKernel, threads), got, want)
				}
			}
		}
	}
}

// TestSmallConvWinoSkipBits: Conv2DAdd on the Winograd F(2×2) path (the
// residual and the activation added to each run of tiles' output pixels)
// gives the bits of Conv2D on that path with a linear activation followed
// by residualAct over the whole output, odd sizes (partial tiles, an odd
// last row) and both workers included; and the result is the reference's.
func TestSmallConvWinoSkipBits(t *testing.T) {
	kernels := []bool{true}
	if scAVX512 {
		kernels = []bool{false, true}
	}
	pad := func(p ConvParams) ConvParams {
		p.KH, p.KW, p.PadTop, p.PadBottom, p.PadLeft, p.PadRight = 3, 3, 1, 1, 1, 1
		return p
	}
	for _, p := range []ConvParams{
		pad(ConvParams{N: 2, H: 9, W: 11, C: 32, OutC: 48}),
		pad(ConvParams{N: 1, H: 14, W: 14, C: 64, OutC: 64}),
		pad(ConvParams{N: 1, H: 28, W: 27, C: 16, OutC: 32}),
	} {
		in, kernel, bias, skip := khRand(1, p.InLen()), khRand(2, p.KernelLen()), khRand(3, p.OutC), khRand(4, p.OutLen())
		skip[7] = float32(math.NaN())
		sc := NewSmallConv(kernel, p)
		if r := (&scRun{s: sc, p: p.norm(), skip: skip, ldo: p.OutC, scInput: scInput{ldi: p.C}}); !r.wino() {
			t.Fatalf("%+v: Conv2DAdd does not take the Winograd path", p)
		}
		for _, act := range []Activation{{}, khReLU, {Kind: ActClip, Min: -0.3, Max: 0.4}, {Kind: ActHardSwish}} {
			ref := RefConv2DAdd(p, in, kernel, bias, skip, act)
			for _, goKernel := range kernels {
				for _, threads := range []int{1, 2} {
					got, want := addAndTwoPasses(sc, p, in, bias, skip, act, goKernel, threads)
					what := fmt.Sprintf("%+v %v go=%v threads=%d", p, act.Kind, goKernel, threads)
					khSameBits(t, what, got, want)
					got[7], ref[7] = 0, 0 // NaN
					khClose(t, what+" vs reference", got, ref, 1e-4)
				}
			}
		}
	}
}

// addConv is a convolution that also takes a residual (SmallConv,
// Winograd).
type addConv interface {
	Conv2D(p ConvParams, in, bias []float32, act Activation, out []float32, ws *Workspace)
	Conv2DAdd(p ConvParams, in, bias, skip []float32, act Activation, out []float32, ws *Workspace)
}

// addAndTwoPasses returns c's Conv2DAdd of p and the two passes it stands
// for (Conv2D with a linear activation, then residualAct over the whole
// output), on threads workers, the Go kernels forced where goKernel is set.
func addAndTwoPasses(c addConv, p ConvParams, in, bias, skip []float32, act Activation, goKernel bool, threads int) (got, want []float32) {
	saved, savedOff := scForceGo, simdOff
	scForceGo, simdOff = goKernel, goKernel
	defer func() { scForceGo, simdOff = saved, savedOff }()
	ws := &Workspace{Pool: par.New(threads)}
	want = khPoison(p.OutLen())
	c.Conv2D(p, in, bias, Activation{}, want, ws)
	residualAct(want, skip, act)
	got = khPoison(p.OutLen())
	c.Conv2DAdd(p, in, bias, skip, act, got, ws)
	return got, want
}

// khSameBits fails t where got and want differ in their bits (any NaN
// matching any NaN).
func khSameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%s: [%d] = %v, the separate passes give %v", what, i, got[i], want[i])
		}
	}
}

// TestSmallConvPlan checks how work splits at batch 1 on two workers: a
// late layer whose weights dwarf its input splits output channels over
// whole images, one group per worker (each weight read once); a late
// layer with little weight (at most scRowSplitBytes) splits rows, one band
// per worker; an early layer with a large map and small kernel splits
// rows.
func TestSmallConvPlan(t *testing.T) {
	same := func(hw, c, oc, k int) ConvParams {
		return ConvParams{N: 1, H: hw, W: hw, C: c, OutC: oc, KH: k, KW: k, PadTop: k / 2, PadBottom: k / 2, PadLeft: k / 2, PadRight: k / 2}
	}
	late := same(7, 512, 512, 3)
	sc := NewSmallConvDirect(make([]float32, late.KernelLen()), late)
	wp := 9 * 512
	pl := sc.plan(1, 2, false, 7, 3*wp, wp)
	if pl.perImg != 1 || pl.groups != 2 {
		t.Errorf("7×7×512→512 3×3: plan %+v, want one band and 2 channel groups", pl)
	}
	light := same(7, 400, 400, 1) // 640 KB of weights
	sc = NewSmallConvDirect(make([]float32, light.KernelLen()), light)
	pl = sc.plan(1, 2, true, 7, 7*400, 7*400)
	if pl.perImg != 2 || pl.groups != 1 || pl.rows != 4 {
		t.Errorf("7×7×400→400 1×1: plan %+v, want 2 bands of up to 4 rows and one channel group", pl)
	}
	early := same(112, 64, 64, 3)
	sc = NewSmallConvDirect(make([]float32, early.KernelLen()), early)
	wp = 114 * 64
	pl = sc.plan(1, 2, false, 8, 3*wp, wp)
	if pl.groups != 1 || pl.perImg < 4 {
		t.Errorf("112×112×64→64: plan %+v, want bands of rows and one channel group", pl)
	}
}

// TestSmallConvWinoPath checks which SmallConvs take the Winograd path.
func TestSmallConvWinoPath(t *testing.T) {
	for _, tc := range smallConvCases() {
		sc := NewSmallConv(make([]float32, tc.p.KernelLen()), tc.p)
		// 2×2 tiles must cover the map with at most a fifth wasted.
		oh, ow := tc.p.OutH(), tc.p.OutW()
		tiles := ((oh + 1) / 2) * ((ow + 1) / 2)
		want := WinogradOK(tc.p) && tc.p.C%16 == 0 && tc.p.OutC%16 == 0 && 5*oh*ow >= 4*4*tiles
		if (sc.wino != nil) != want {
			t.Errorf("%s: Winograd path %v, want %v", tc.name, sc.wino != nil, want)
		}
	}
}

// TestSmallConvBigBatchParallel runs a call large enough to use every
// worker (items are whole images) against the reference.
func TestSmallConvBigBatchParallel(t *testing.T) {
	pool := par.New(4)
	p := ConvParams{N: 9, H: 32, W: 32, C: 3, OutC: 16, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	in, kernel, bias := khRand(1, p.InLen()), khRand(2, p.KernelLen()), khRand(3, p.OutC)
	want := RefConv2D(p, in, kernel, bias, khReLU)
	got := khPoison(p.OutLen())
	NewSmallConv(kernel, p).Conv2D(p, in, bias, khReLU, got, &Workspace{Pool: pool})
	khClose(t, "batch 9", got, want, 1e-4)
}

func TestSmallConvBadArgs(t *testing.T) {
	p := ConvParams{N: 1, H: 4, W: 4, C: 3, OutC: 2, KH: 3, KW: 3}
	sc := NewSmallConv(khRand(1, p.KernelLen()), p)
	mustPanic := func(what string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", what)
			}
		}()
		f()
	}
	q := p
	q.W = 5
	mustPanic("other geometry", func() { sc.Conv2D(q, make([]float32, q.InLen()), nil, Activation{}, make([]float32, q.OutLen()), nil) })
	mustPanic("short input", func() { sc.Conv2D(p, make([]float32, 3), nil, Activation{}, make([]float32, p.OutLen()), nil) })
	mustPanic("groups", func() {
		NewSmallConv(make([]float32, 9), ConvParams{N: 1, H: 4, W: 4, C: 2, OutC: 2, KH: 3, KW: 3, Groups: 2})
	})
}

// TestSmallConvPool2x2VsRef checks the fused convolution + 2×2 pooling
// against RefConv2D followed by RefMaxPool / RefAvgPool, on the shared
// cases (odd output sizes drop their last row or column) and channel
// counts that take the assembly pooling (multiples of 16) or the Go one.
func TestSmallConvPool2x2VsRef(t *testing.T) {
	kernels := []bool{true}
	if scAVX512 {
		kernels = []bool{false, true}
	}
	for ci, tc := range smallConvCases() {
		p := tc.p
		in := khRand(uint64(ci)*3+1, p.InLen())
		kernel := khRand(uint64(ci)*3+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, p.OutC)
		}
		conv := RefConv2D(p, in, kernel, bias, tc.act)
		pp := PoolParams{N: p.N, H: p.OutH(), W: p.OutW(), C: p.OutC, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
		if !PoolIs2x2(pp) {
			t.Fatalf("%s: %+v is not a 2x2 pooling", tc.name, pp)
		}
		sc := NewSmallConv(kernel, p)
		for _, isMax := range []bool{true, false} {
			want := RefAvgPool(conv, pp)
			if isMax {
				want = RefMaxPool(conv, pp)
			}
			for _, goKernel := range kernels {
				saved := scForceGo
				scForceGo = goKernel
				for _, threads := range []int{1, 2, 3} {
					pool := par.New(threads)
					got := khPoison(pp.OutLen())
					sc.Conv2DPool2x2(p, in, bias, tc.act, isMax, got, &Workspace{Pool: pool})
					khClose(t, fmt.Sprintf("%s max=%v go=%v threads=%d", tc.name, isMax, goKernel, threads), got, want, 1e-4)
				}
				scForceGo = saved
			}
		}
	}
}

// TestSmallConvNoAlloc: a call allocates nothing once its workspace has
// grown, serial or parallel. (testing.AllocsPerRun runs with GOMAXPROCS 1,
// where parDo stays serial; the parallel case counts mallocs itself.)
func TestSmallConvNoAlloc(t *testing.T) {
	if scRace {
		t.Skip("the race detector allocates")
	}
	for _, n := range []int{1, 16} {
		p := ConvParams{N: n, H: 32, W: 32, C: 3, OutC: 16, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
		in, kernel, bias := khRand(1, p.InLen()), khRand(2, p.KernelLen()), khRand(3, p.OutC)
		sc := NewSmallConv(kernel, p)
		out, pooled := make([]float32, p.OutLen()), make([]float32, p.OutLen()/4)
		ws := &Workspace{Pool: par.New(1)}
		call := func() {
			sc.Conv2D(p, in, bias, khReLU, out, ws)
			sc.Conv2DPool2x2(p, in, bias, khReLU, true, pooled, ws)
		}
		if a := testing.AllocsPerRun(20, call); a != 0 {
			t.Errorf("N=%d serial: %v allocations per call", n, a)
		}
		ws.Pool = par.New(2)
		if a := khMallocs(500, call); a > 0.05 {
			t.Errorf("N=%d 2 threads: %v allocations per call", n, a)
		}
	}
}

// khMallocs is testing.AllocsPerRun without forcing GOMAXPROCS to 1 (so
// parallel kernels run in parallel), as a fraction, after a warm-up.
func khMallocs(runs int, f func()) float64 {
	for range runs {
		f()
	}
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&b)
	return float64(b.Mallocs-a.Mallocs) / float64(runs)
}

// TestSmallConvAddVsRef runs every SmallConv case as a residual block's
// convolution (Conv2DAdd: conv + bias + skip, then the activation)
// against RefConv2DAdd, on every kernel family and 1-3 workers, with a
// ReLU, a ReLU6, a swish and no activation after the addition.
func TestSmallConvAddVsRef(t *testing.T) {
	kernels := []bool{true}
	if scAVX512 {
		kernels = []bool{false, true}
	}
	acts := []Activation{{}, khReLU, {Kind: ActReLU, HasMax: true, MaxValue: 6}, {Kind: ActSwish}}
	for ci, tc := range smallConvCases() {
		p := tc.p
		if p.OutLen() == 0 {
			continue
		}
		in := khRand(uint64(ci)*3+1, p.InLen())
		kernel := khRand(uint64(ci)*3+2, p.KernelLen())
		skip := khRand(uint64(ci)*3+4, p.OutLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, p.OutC)
		}
		act := acts[ci%len(acts)]
		want := RefConv2DAdd(p, in, kernel, bias, skip, act)
		sc := NewSmallConv(kernel, p)
		for _, goKernel := range kernels {
			saved, savedOff := scForceGo, simdOff
			scForceGo, simdOff = goKernel, goKernel
			for _, threads := range []int{1, 2, 3} {
				got := khPoison(p.OutLen())
				sc.Conv2DAdd(p, in, bias, skip, act, got, &Workspace{Pool: par.New(threads)})
				khClose(t, fmt.Sprintf("%s +skip act %d go=%v threads=%d", tc.name, act.Kind, goKernel, threads), got, want, 1e-4)
			}
			scForceGo, simdOff = saved, savedOff
		}
	}
}

// TestSCPrefetchCovers checks that the runs of a block together prefetch
// every line of the next block's weights, and never start outside them,
// whether each call computes one run or several (pixelsBlock: a row's
// runs of each width in one call).
func TestSCPrefetchCovers(t *testing.T) {
	for _, c := range []struct{ floats, runs, ntaps, perCall int }{
		{4608 * 32, 7, 4608, 1}, {4608 * 32, 28, 4608, 1}, {64 * 32, 1, 64, 1}, {147 * 32, 200, 147, 1}, {16, 3, 1, 1},
		{4608 * 32, 7, 4608, 3}, {147 * 32, 200, 147, 7}, {512 * 32, 13, 512, 13},
	} {
		pf := newSCPrefetch(make([]float32, c.floats), c.runs, c.ntaps)
		covered := 0 // bytes from the start prefetched so far
		for done := 0; done < c.runs; {
			g := min(c.perCall, c.runs-done)
			done += g
			at, step := pf.next(g)
			if at == nil {
				break
			}
			off := int(uintptr(unsafe.Pointer(at))-uintptr(unsafe.Pointer(&pf.w[0]))) / 4
			if off < 0 || off >= c.floats || 4*off > covered {
				t.Fatalf("%+v: call starts at float %d, %d bytes covered before it", c, off, covered)
			}
			covered = max(covered, 4*off+g*c.ntaps*int(step))
		}
		if covered < 4*c.floats {
			t.Errorf("%+v: %d of %d bytes prefetched", c, covered, 4*c.floats)
		}
	}
}

// TestResidualActSplit: ResidualAct over two workers (chunks of whole
// vectors, an odd length) gives residualAct's bits in one call.
func TestResidualActSplit(t *testing.T) {
	n := 3*parGrain + 37
	dst, skip := khRand(1, n), khRand(2, n)
	dst[5] = float32(math.NaN())
	for _, act := range []Activation{{}, khReLU, {Kind: ActSigmoid}, {Kind: ActHardSwish}} {
		want := append([]float32(nil), dst...)
		residualAct(want, skip, act)
		got := append([]float32(nil), dst...)
		ResidualAct(got, skip, act, &Workspace{Pool: par.New(2)})
		khSameBits(t, fmt.Sprint(act.Kind), got, want)
	}
}

// TestSmallConvWinogradAgrees: SmallConvWinograd (what lowering asks
// before fusing a max pooling) says the same as the call itself (wino)
// on layers that fit F(2×2) or not, that stream their transformed kernel
// or not, at batch 1 and 8, with activations the transform applies or not.
func TestSmallConvWinogradAgrees(t *testing.T) {
	same := func(n, hw, c, oc, k int) ConvParams {
		return ConvParams{N: n, H: hw, W: hw, C: c, OutC: oc, KH: k, KW: k, PadTop: k / 2, PadBottom: k / 2, PadLeft: k / 2, PadRight: k / 2}
	}
	acts := []Activation{{}, khReLU, {Kind: ActReLU, HasMax: true, Max: 6}, {Kind: ActSigmoid}}
	seen := map[bool]bool{}
	for _, p := range []ConvParams{same(1, 29, 16, 32, 3), same(8, 29, 16, 32, 3), same(1, 14, 256, 256, 3), same(8, 14, 256, 256, 3),
		same(1, 7, 64, 64, 3), same(1, 16, 24, 32, 3), same(1, 16, 16, 32, 5)} {
		sc := NewSmallConv(make([]float32, p.KernelLen()), p)
		for _, act := range acts {
			r := scRun{s: sc, p: p.norm(), act: act, ldo: p.OutC, scInput: scInput{ldi: p.C}}
			r.epi = scEpiFor(act)
			got, want := SmallConvWinograd(p, act), r.wino()
			if got != want {
				t.Errorf("%+v %+v: SmallConvWinograd %v, the call %v", p, act, got, want)
			}
			seen[got] = true
		}
	}
	if !seen[true] || !seen[false] {
		t.Errorf("the table does not have both answers: %v", seen)
	}
}

// TestSCTapsRuns: the micro-kernels' runs give back every tap's offset, in
// order, for convolutions whose positions have 3, 16, 20 and 1 channels.
func TestSCTapsRuns(t *testing.T) {
	for _, p := range []ConvParams{
		{N: 1, H: 9, W: 9, C: 3, OutC: 16, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
		{N: 1, H: 9, W: 9, C: 16, OutC: 32, KH: 1, KW: 1},
		{N: 1, H: 9, W: 9, C: 20, OutC: 32, KH: 3, KW: 2, DilH: 2, DilW: 2},
		{N: 1, H: 9, W: 9, C: 40, OutC: 40, KH: 1, KW: 3, Groups: 40},
	} {
		s := NewSmallConvDirect(make([]float32, p.KernelLen()), p)
		var want, got []int
		off := 0
		for _, d := range s.taps.deltas {
			off += d
			want = append(want, off)
		}
		end := 0
		for r := 0; r < len(s.taps.runs); r += 3 {
			o := end + s.taps.runs[r]
			for range 4*s.taps.runs[r+1] + s.taps.runs[r+2] {
				got = append(got, o)
				o += 4
			}
			end = o
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v: runs %v give %v, want %v", p, s.taps.runs, got, want)
		}
	}
}
