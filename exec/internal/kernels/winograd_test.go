package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/kconv/kconv/exec/internal/gemm"
	"github.com/kconv/kconv/exec/internal/par"
)

type winoCase struct {
	name string
	p    ConvParams
	bias bool
	act  Activation
}

// winoConv is a 3×3 stride-1 ConvParams with pads top, bottom, left, right.
func winoConv(n, h, w, c, oc, pt, pb, pl, pr int) ConvParams {
	return ConvParams{N: n, H: h, W: w, C: c, OutC: oc, KH: 3, KW: 3,
		PadTop: pt, PadBottom: pb, PadLeft: pl, PadRight: pr}
}

// winoCases is the shared table: map sizes from 1×1 to 9×11 (partial and
// whole 4×4 tiles, maps smaller than a tile), channels 1..67 (runs shorter
// and longer than winoChan's multiples), batch 1 and 3, pads 0, 1,
// asymmetric and wider than the kernel, bias or not, ReLU or none.
func winoCases() []winoCase {
	return []winoCase{
		{"1x1 same", winoConv(1, 1, 1, 1, 1, 1, 1, 1, 1), true, Activation{}},
		{"1x1 same relu", winoConv(3, 1, 1, 2, 3, 1, 1, 1, 1), false, khReLU},
		{"2x2 same", winoConv(1, 2, 2, 3, 2, 1, 1, 1, 1), true, khReLU},
		{"3x3 valid", winoConv(1, 3, 3, 2, 5, 0, 0, 0, 0), true, Activation{}},
		{"4x4 same", winoConv(1, 4, 4, 1, 1, 1, 1, 1, 1), false, Activation{}},
		{"4x4 valid", winoConv(3, 4, 4, 5, 4, 0, 0, 0, 0), true, khReLU},
		{"5x5 same", winoConv(1, 5, 5, 7, 3, 1, 1, 1, 1), true, khReLU},
		{"6x6 valid", winoConv(1, 6, 6, 3, 7, 0, 0, 0, 0), false, khReLU},
		{"7x5 same", winoConv(3, 7, 5, 4, 6, 1, 1, 1, 1), true, Activation{}},
		{"8x8 same", winoConv(1, 8, 8, 16, 16, 1, 1, 1, 1), true, khReLU},
		{"8x8 valid", winoConv(3, 8, 8, 8, 5, 0, 0, 0, 0), false, Activation{}},
		{"9x11 same", winoConv(1, 9, 11, 33, 67, 1, 1, 1, 1), true, khReLU},
		{"9x11 valid", winoConv(3, 9, 11, 67, 33, 0, 0, 0, 0), true, Activation{}},
		{"11x9 asym", winoConv(1, 11, 9, 5, 9, 0, 1, 1, 0), true, khReLU},
		{"9x9 asym", winoConv(3, 9, 9, 6, 4, 1, 0, 0, 1), false, Activation{}},
		{"6x7 keras same-ish", winoConv(1, 6, 7, 3, 3, 0, 2, 2, 0), true, Activation{}},
		{"wide pads", winoConv(1, 3, 4, 2, 3, 4, 2, 3, 5), true, khReLU},
		{"2x9 strip", winoConv(3, 2, 9, 9, 2, 1, 1, 0, 0), true, khReLU},
		{"9x1 strip", winoConv(1, 9, 1, 4, 4, 1, 1, 1, 1), false, Activation{}},
		{"c1 oc67", winoConv(1, 8, 7, 1, 67, 1, 1, 1, 1), true, khReLU},
		{"c67 oc1", winoConv(1, 7, 8, 67, 1, 1, 1, 1, 1), true, Activation{}},
		{"c64 oc64", winoConv(1, 8, 8, 64, 64, 1, 1, 1, 1), true, khReLU},
		{"relu6 clip", winoConv(1, 6, 6, 4, 8, 1, 1, 1, 1), true, Activation{Kind: ActReLU, MaxValue: 0.5, HasMax: true}},
		{"elu", winoConv(1, 5, 6, 4, 3, 1, 1, 1, 1), true, khELU},
		{"channels past one run", winoConv(1, 5, 5, 300, 260, 1, 1, 1, 1), true, khReLU},
		// Several blocks of tiles (more than winoMinTiles tiles).
		{"many blocks", winoConv(3, 37, 29, 3, 5, 1, 1, 1, 1), true, khReLU},
		{"many blocks wide", winoConv(1, 41, 43, 40, 48, 1, 1, 1, 1), true, Activation{}},
		{"empty output", winoConv(1, 2, 2, 3, 2, 0, 0, 0, 0), true, Activation{}},
		{"batch 0", winoConv(0, 4, 4, 3, 2, 1, 1, 1, 1), true, Activation{}},
	}
}

// winoCheck marks t failed (safe from any goroutine) unless |got-want| ≤ 1e-4·max|want| + 1e-5 everywhere,
// and returns the largest |got-want| / max|want|.
func winoCheck(t testing.TB, what string, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: len %d, want %d", what, len(got), len(want))
		return math.Inf(1)
	}
	var peak float64
	for _, w := range want {
		peak = max(peak, math.Abs(float64(w)))
	}
	tol := 1e-4*peak + 1e-5
	var worst float64
	bad := 0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) || d > tol {
			if bad < 5 {
				t.Errorf("%s: [%d] = %v, want %v (tolerance %.3g)", what, i, got[i], want[i], tol)
			}
			bad++
		}
		worst = max(worst, d)
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(want))
	}
	return worst / max(peak, 1e-30)
}

func TestWinogradVsRef(t *testing.T) {
	for ci, tc := range winoCases() {
		p := tc.p
		if !WinogradOK(p) {
			t.Fatalf("%s: WinogradOK false", tc.name)
		}
		in := khRand(uint64(ci)*3+1, p.InLen())
		kernel := khRand(uint64(ci)*3+2, p.KernelLen())
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+3, p.OutC)
		}
		want := RefConv2D(p, in, kernel, bias, tc.act)
		w := NewWinograd(kernel, p.C, p.OutC)
		if w.Bytes() != 4*36*p.C*p.OutC {
			t.Errorf("%s: Bytes %d", tc.name, w.Bytes())
		}
		for _, threads := range []int{1, 2, 3} {
			pool := par.New(threads)
			ws := &Workspace{Pool: pool}
			for rep := range 2 { // the second run reuses the workspace
				got := khPoison(p.OutLen())
				w.Conv2D(p, in, bias, tc.act, got, ws)
				winoCheck(t, fmt.Sprintf("%s threads=%d rep=%d", tc.name, threads, rep), got, want)
			}
			if ws.Cap() < w.WorkspaceLen(p, threads) {
				t.Errorf("%s: workspace %d < WorkspaceLen %d", tc.name, ws.Cap(), w.WorkspaceLen(p, threads))
			}
		}
		got := khPoison(p.OutLen())
		w.Conv2D(p, in, bias, tc.act, got, nil)
		winoCheck(t, tc.name+" nil workspace", got, want)
	}
}

// TestWinogradAddBits: Conv2DAdd gives the bits of Conv2D with a linear
// activation followed by residualAct over the whole output, on the shared
// cases (partial tiles, batches) with one to three workers.
func TestWinogradAddBits(t *testing.T) {
	for ci, tc := range winoCases() {
		p := tc.p
		in, kernel, bias, skip := khRand(uint64(ci)*5+1, p.InLen()), khRand(uint64(ci)*5+2, p.KernelLen()), khRand(uint64(ci)*5+3, p.OutC), khRand(uint64(ci)*5+4, p.OutLen())
		if len(skip) > 0 {
			skip[len(skip)/2] = float32(math.NaN())
		}
		w := NewWinograd(kernel, p.C, p.OutC)
		for _, act := range []Activation{{}, khReLU, {Kind: ActHardSwish}} {
			for _, threads := range []int{1, 2, 3} {
				got, want := addAndTwoPasses(w, p, in, bias, skip, act, false, threads)
				khSameBits(t, fmt.Sprintf("%s %v threads=%d", tc.name, act.Kind, threads), got, want)
			}
		}
	}
}

// TestWinogradLargeVsIm2col runs layers too big for the naive reference
// (checked against the im2col Conv2D) that take the other plans: shared
// blocks with several workers, whole blocks per worker, and GEMMs in
// column strips (few tiles, many channels, OutC not a multiple of the
// strip width).
func TestWinogradLargeVsIm2col(t *testing.T) {
	var own, shared, strips bool
	for ci, p := range []ConvParams{
		winoConv(2, 30, 26, 96, 80, 1, 1, 1, 1),
		winoConv(1, 40, 36, 256, 200, 1, 1, 1, 1),
		winoConv(1, 28, 27, 512, 40, 1, 0, 1, 1),
		winoConv(1, 14, 14, 300, 520, 1, 1, 1, 1),
	} {
		in := khRand(uint64(ci)*3+11, p.InLen())
		kernel := khRand(uint64(ci)*3+12, p.KernelLen())
		bias := khRand(uint64(ci)*3+13, p.OutC)
		want := make([]float32, p.OutLen())
		Conv2D(p, in, kernel, bias, khReLU, want, nil)
		w := NewWinograd(kernel, p.C, p.OutC)
		for _, threads := range []int{1, 2, 4} {
			pool := par.New(threads)
			pl := w.plan(p.norm(), threads)
			own = own || pl.own && pl.workers > 1
			shared = shared || !pl.own && pl.workers > 1
			strips = strips || pl.strips && pl.bt < winoStripMaxRows && pl.bt*p.OutC*p.C > winoSmallMNK
			got := khPoison(p.OutLen())
			w.Conv2D(p, in, bias, khReLU, got, &Workspace{Pool: pool})
			winoCheck(t, fmt.Sprintf("%+v threads=%d", p, threads), got, want)
		}
	}
	if !own || !shared || (!strips && gemm.Name() == "openblas") {
		t.Errorf("plans not all covered: own %v, shared %v, strips %v", own, shared, strips)
	}
}

func TestWinogradOK(t *testing.T) {
	base := winoConv(1, 8, 8, 3, 4, 1, 1, 1, 1)
	if !WinogradOK(base) {
		t.Fatal("3x3 s1 rejected")
	}
	explicit := base
	explicit.StrideH, explicit.StrideW, explicit.DilH, explicit.DilW, explicit.Groups = 1, 1, 1, 1, 1
	if !WinogradOK(explicit) {
		t.Fatal("explicit ones rejected")
	}
	for _, f := range []func(*ConvParams){
		func(p *ConvParams) { p.KH = 5 },
		func(p *ConvParams) { p.KW = 1 },
		func(p *ConvParams) { p.StrideH = 2 },
		func(p *ConvParams) { p.StrideW = 2 },
		func(p *ConvParams) { p.DilH = 2 },
		func(p *ConvParams) { p.DilW = 2 },
		func(p *ConvParams) { p.Groups = 3; p.C = 3; p.OutC = 3 },
	} {
		q := base
		f(&q)
		if WinogradOK(q) {
			t.Errorf("accepted %+v", q)
		}
	}
}

func TestWinogradPays(t *testing.T) {
	for _, c := range []struct {
		p    ConvParams
		want bool
	}{
		{vggConvParams(224, 3, 64), false},
		{vggConvParams(224, 64, 64), true},
		{vggConvParams(14, 512, 512), true},
		{vggConvParams(7, 512, 512), true},
		{vggConvParams(224, 16, 64), true},
		{vggConvParams(224, 8, 64), false},
		{winoConv(1, 4, 4, 512, 512, 1, 1, 1, 1), false}, // one tile
		{winoConv(2, 4, 4, 512, 512, 1, 1, 1, 1), true},
		{vggConvParams(56, 256, 4), false},
		{ConvParams{N: 1, H: 56, W: 56, C: 64, OutC: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, false},
	} {
		if got := WinogradPays(c.p); got != c.want {
			t.Errorf("WinogradPays(%+v) = %v", c.p, got)
		}
	}
}

// TestWinogradVGGError measures the error on VGG16-like layers: 512
// channels, Glorot-uniform weights and inputs in 0..255, against the
// float64 reference. It logs the largest error relative to max|ref|.
func TestWinogradVGGError(t *testing.T) {
	if testing.Short() {
		t.Skip("slow reference")
	}
	for _, l := range []struct{ hw, c, oc int }{{14, 512, 512}, {12, 256, 64}} {
		p := winoConv(1, l.hw, l.hw, l.c, l.oc, 1, 1, 1, 1)
		r := rand.New(rand.NewPCG(7, uint64(l.c)))
		in := make([]float32, p.InLen())
		for i := range in {
			in[i] = float32(r.IntN(256))
		}
		limit := math.Sqrt(6 / float64(9*l.c+9*l.oc))
		kernel := make([]float32, p.KernelLen())
		for i := range kernel {
			kernel[i] = float32((r.Float64()*2 - 1) * limit)
		}
		bias := make([]float32, p.OutC)
		for i := range bias {
			bias[i] = float32(r.Float64() - 0.5)
		}
		want := RefConv2D(p, in, kernel, bias, Activation{})
		w := NewWinograd(kernel, p.C, p.OutC)
		got := make([]float32, p.OutLen())
		w.Conv2D(p, in, bias, Activation{}, got, nil)
		rel := winoCheck(t, "winograd", got, want)
		Conv2D(p, in, kernel, bias, Activation{}, got, nil)
		relIm2col := winoCheck(t, "im2col", got, want)
		t.Logf("%dx%dx%d→%d: max |Δ|/max|ref| winograd %.2e, im2col %.2e", l.hw, l.hw, l.c, l.oc, rel, relIm2col)
	}
}

// TestWinogradAllocs checks that a call allocates nothing once the
// workspace has grown (one worker), and only a constant few small objects
// (the goroutines' shared state) with several.
func TestWinogradAllocs(t *testing.T) {
	if scRace {
		// Under -race sync.Pool drops items on purpose, so the GEMM's
		// pooled pack buffers are allocated again.
		t.Skip("the race detector allocates")
	}
	for _, p := range []ConvParams{winoConv(1, 20, 20, 16, 8, 1, 1, 1, 1), winoConv(2, 40, 40, 32, 32, 1, 1, 1, 1)} {
		in := khRand(1, p.InLen())
		w := NewWinograd(khRand(2, p.KernelLen()), p.C, p.OutC)
		bias := khRand(3, p.OutC)
		out := make([]float32, p.OutLen())
		for _, threads := range []int{1, 2} {
			pool := par.New(threads)
			ws := &Workspace{Pool: pool}
			w.Conv2D(p, in, bias, khReLU, out, ws)
			n := testing.AllocsPerRun(20, func() { w.Conv2D(p, in, bias, khReLU, out, ws) })
			limit := 0.0
			if threads > 1 && p.FLOPs() >= winoSerialFLOPs {
				limit = 4
			}
			if n > limit {
				t.Errorf("%+v threads=%d: %v allocations per call, want <= %v", p, threads, n, limit)
			}
		}
	}
}

// TestWinogradConcurrent runs one Winograd from several goroutines with
// their own workspaces (run with -race).
func TestWinogradConcurrent(t *testing.T) {
	pool := par.New(2)
	p := winoConv(1, 24, 20, 24, 40, 1, 1, 1, 1)
	kernel := khRand(2, p.KernelLen())
	bias := khRand(3, p.OutC)
	w := NewWinograd(kernel, p.C, p.OutC)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			in := khRand(uint64(10+g), p.InLen())
			want := RefConv2D(p, in, kernel, bias, khReLU)
			ws := &Workspace{Pool: pool}
			for range 3 {
				got := khPoison(p.OutLen())
				w.Conv2D(p, in, bias, khReLU, got, ws)
				winoCheck(t, fmt.Sprintf("goroutine %d", g), got, want)
			}
		})
	}
	wg.Wait()
}

// TestWinogradFrom: the Winograd built from a SmallConv's packed kernel is
// the one built from the kernel itself.
func TestWinogradFrom(t *testing.T) {
	for _, p := range []ConvParams{
		{N: 1, H: 8, W: 8, C: 16, OutC: 70, KH: 3, KW: 3, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
		{N: 1, H: 6, W: 5, C: 33, OutC: 32, KH: 3, KW: 3},
	} {
		k := khRand(5, p.KernelLen())
		a, b := NewWinograd(k, p.C, p.OutC), NewWinogradFrom(NewSmallConvDirect(k, p))
		for i := range a.u {
			if a.u[i] != b.u[i] {
				t.Fatalf("%+v: transformed value %d is %v, want %v", p, i, b.u[i], a.u[i])
			}
		}
	}
}
