package kernels

import (
	"math"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// poolCases is the shared table run through both MaxPool/AvgPool and their
// references.
func poolCases() []struct {
	name string
	p    PoolParams
} {
	same := func(n, h, w, c, k, s int) PoolParams {
		oh, pt, pb := SamePadding(h, k, s)
		ow, pl, pr := SamePadding(w, k, s)
		return PoolParams{N: n, H: h, W: w, C: c, KH: k, KW: k, StrideH: s, StrideW: s,
			PadTop: pt, PadBottom: pb, PadLeft: pl, PadRight: pr, OutH: oh, OutW: ow}
	}
	ceil := func(n, h, w, c, kh, kw, s, pad int, include bool) PoolParams {
		return PoolParams{N: n, H: h, W: w, C: c, KH: kh, KW: kw, StrideH: s, StrideW: s,
			PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad,
			OutH:            PoolOutSize(h, kh, s, pad, pad, true),
			OutW:            PoolOutSize(w, kw, s, pad, pad, true),
			CountIncludePad: include}
	}
	incl := func(p PoolParams) PoolParams { p.CountIncludePad = true; return p }
	return []struct {
		name string
		p    PoolParams
	}{
		{"valid2x2s2", PoolParams{N: 1, H: 4, W: 4, C: 1, KH: 2, KW: 2, StrideH: 2, StrideW: 2}},
		{"valid2x2s2-odd", PoolParams{N: 2, H: 5, W: 7, C: 3, KH: 2, KW: 2, StrideH: 2, StrideW: 2}},
		{"same3x3s1", same(1, 5, 5, 3, 3, 1)},
		{"same3x3s1-include", incl(same(2, 5, 6, 4, 3, 1))},
		{"same2x2s2-odd", same(2, 5, 5, 5, 2, 2)},
		{"same3x3s2", same(1, 8, 7, 17, 3, 2)},
		{"rect3x2", PoolParams{N: 2, H: 9, W: 6, C: 17, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadTop: 1, PadLeft: 1}},
		{"stride>kernel", PoolParams{N: 1, H: 10, W: 10, C: 2, KH: 1, KW: 2, StrideH: 3, StrideW: 4}},
		{"ceil", ceil(1, 6, 7, 3, 3, 3, 2, 0, false)},
		{"ceil-include", ceil(2, 6, 7, 3, 3, 3, 2, 0, true)},
		{"ceil-pad-include", ceil(1, 6, 9, 5, 3, 3, 2, 1, true)},
		{"ceil-pad-exclude", ceil(1, 6, 9, 5, 3, 2, 2, 1, false)},
		{"kernel>input", PoolParams{N: 1, H: 2, W: 3, C: 2, KH: 4, KW: 4, StrideH: 1, StrideW: 1, PadTop: 2, PadBottom: 2, PadLeft: 1, PadRight: 2, CountIncludePad: true}},
		{"empty-windows", PoolParams{N: 1, H: 3, W: 3, C: 2, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OutH: 4, OutW: 3}},
		{"C=1-big", PoolParams{N: 1, H: 40, W: 40, C: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}},
		{"parallel", PoolParams{N: 2, H: 32, W: 30, C: 64, KH: 2, KW: 2, StrideH: 2, StrideW: 2}},
		{"empty-batch", PoolParams{N: 0, H: 4, W: 4, C: 3, KH: 2, KW: 2, StrideH: 2, StrideW: 2}},
		// SqueezeNet's 3×3 stride-2 ceil-mode pooling, channels on and off
		// the vector width.
		{"squeezenet ceil c64", ceil(1, 13, 13, 64, 3, 3, 2, 0, false)},
		{"ceil c40 pad", ceil(2, 12, 11, 40, 3, 3, 2, 1, false)},
		{"5x5 s1 c19", same(1, 9, 10, 19, 5, 1)},
	}
}

func TestPoolFastVsRef(t *testing.T) {
	for i, tc := range poolCases() {
		p := tc.p
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		x := tuRand(uint64(i)+1, p.InLen(), 3)
		if len(x) > 5 { // NaN propagates through max pooling
			x[len(x)/2] = float32(math.NaN())
		}
		wantMax := RefMaxPool(x, p)
		wantAvg := RefAvgPool(x, p)
		forEachFamily(t, func(fam string) {
			for _, th := range tuThreads {
				got := tuFill(p.OutLen(), tuPoison)
				MaxPool(got, x, p, &Workspace{Pool: par.New(th)})
				tuClose(t, tuName("%s %s max threads=%d", fam, tc.name, th), got, wantMax, 0, 0)
				got = tuFill(p.OutLen(), tuPoison)
				AvgPool(got, x, p, &Workspace{Pool: par.New(th)})
				tuClose(t, tuName("%s %s avg threads=%d", fam, tc.name, th), got, wantAvg, 1e-5, 1e-6)
			}
		})
	}
}

func TestPoolHandValues(t *testing.T) {
	seq := func(n int, start float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = start + float32(i)
		}
		return v
	}
	type hand struct {
		name     string
		p        PoolParams
		x        []float32
		max, avg []float32
	}
	ninf := float32(math.Inf(-1))
	cases := []hand{
		{"4x4 2x2s2", PoolParams{N: 1, H: 4, W: 4, C: 1, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
			seq(16, 0), []float32{5, 7, 13, 15}, []float32{2.5, 4.5, 10.5, 12.5}},
		// Keras same: padded cells are not in the divisor.
		{"3x3 same exclude", PoolParams{N: 1, H: 3, W: 3, C: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
			PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
			seq(9, 1),
			[]float32{5, 6, 6, 8, 9, 9, 8, 9, 9},
			[]float32{12.0 / 4, 21.0 / 6, 16.0 / 4, 27.0 / 6, 45.0 / 9, 33.0 / 6, 24.0 / 4, 39.0 / 6, 28.0 / 4}},
		// ONNX count_include_pad=1: always 9.
		{"3x3 pad include", PoolParams{N: 1, H: 3, W: 3, C: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
			PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, CountIncludePad: true},
			seq(9, 1),
			[]float32{5, 6, 6, 8, 9, 9, 8, 9, 9},
			[]float32{12.0 / 9, 21.0 / 9, 16.0 / 9, 27.0 / 9, 45.0 / 9, 33.0 / 9, 24.0 / 9, 39.0 / 9, 28.0 / 9}},
		// 1x6 row, k=3 s=2 pads 1/1 ceil_mode: out 4; the last window
		// [5,8) holds input 5, explicit pad 6 and overhang 7: include-pad
		// divisor 2, never 3.
		{"ceil overhang include", PoolParams{N: 1, H: 1, W: 6, C: 1, KH: 1, KW: 3, StrideH: 1, StrideW: 2,
			PadLeft: 1, PadRight: 1, OutH: 1, OutW: PoolOutSize(6, 3, 2, 1, 1, true), CountIncludePad: true},
			seq(6, 1),
			[]float32{2, 4, 6, 6},
			[]float32{3.0 / 3, 9.0 / 3, 15.0 / 3, 6.0 / 2}},
		{"ceil overhang exclude", PoolParams{N: 1, H: 1, W: 6, C: 1, KH: 1, KW: 3, StrideH: 1, StrideW: 2,
			PadLeft: 1, PadRight: 1, OutH: 1, OutW: PoolOutSize(6, 3, 2, 1, 1, true)},
			seq(6, 1),
			[]float32{2, 4, 6, 6},
			[]float32{3.0 / 2, 9.0 / 3, 15.0 / 3, 6.0 / 1}},
		// Two channels interleaved (NHWC), 2x2 global-like window.
		{"channels", PoolParams{N: 1, H: 2, W: 2, C: 2, KH: 2, KW: 2, StrideH: 1, StrideW: 1},
			[]float32{1, -1, 2, -2, 3, -3, 4, -4}, []float32{4, -1}, []float32{2.5, -2.5}},
		// Windows past the input: -Inf / 0.
		{"empty window", PoolParams{N: 1, H: 1, W: 2, C: 1, KH: 1, KW: 2, StrideH: 1, StrideW: 2, OutH: 1, OutW: 2},
			[]float32{7, 8}, []float32{8, ninf}, []float32{7.5, 0}},
	}
	for _, tc := range cases {
		for _, ref := range []bool{true, false} {
			var gotMax, gotAvg []float32
			if ref {
				gotMax, gotAvg = RefMaxPool(tc.x, tc.p), RefAvgPool(tc.x, tc.p)
			} else {
				gotMax, gotAvg = make([]float32, tc.p.OutLen()), make([]float32, tc.p.OutLen())
				MaxPool(gotMax, tc.x, tc.p, &Workspace{Pool: par.New(2)})
				AvgPool(gotAvg, tc.x, tc.p, &Workspace{Pool: par.New(2)})
			}
			tuClose(t, tuName("%s max ref=%v", tc.name, ref), gotMax, tc.max, 0, 0)
			tuClose(t, tuName("%s avg ref=%v", tc.name, ref), gotAvg, tc.avg, 1e-6, 0)
		}
	}
}

func TestPoolSizes(t *testing.T) {
	type sp struct{ in, k, s, out, b, e int }
	for _, c := range []sp{{5, 2, 2, 3, 0, 1}, {224, 3, 1, 224, 1, 1}, {4, 1, 2, 2, 0, 0}, {7, 3, 2, 4, 1, 1}, {6, 3, 2, 3, 0, 1}} {
		out, b, e := SamePadding(c.in, c.k, c.s)
		if out != c.out || b != c.b || e != c.e {
			t.Errorf("SamePadding(%d,%d,%d) = %d,%d,%d want %d,%d,%d", c.in, c.k, c.s, out, b, e, c.out, c.b, c.e)
		}
	}
	type os struct {
		in, k, s, pb, pe int
		ceil             bool
		want             int
	}
	for _, c := range []os{
		{112, 3, 2, 0, 0, false, 55}, {112, 3, 2, 0, 0, true, 56}, {6, 3, 2, 1, 1, true, 4},
		{5, 2, 2, 1, 1, true, 3}, // last window would start in the end pad: dropped
		{5, 2, 2, 0, 0, true, 3}, {2, 3, 1, 0, 0, false, 0},
	} {
		if got := PoolOutSize(c.in, c.k, c.s, c.pb, c.pe, c.ceil); got != c.want {
			t.Errorf("PoolOutSize(%+v) = %d want %d", c, got, c.want)
		}
	}
	p := PoolParams{N: 1, H: 5, W: 9, C: 1, KH: 2, KW: 3, StrideH: 2, StrideW: 3, PadLeft: 1}
	if oh, ow := p.Out(); oh != 2 || ow != 3 {
		t.Errorf("Out() = %d,%d want 2,3", oh, ow)
	}
	for _, bad := range []PoolParams{{KH: 0, KW: 1, StrideH: 1, StrideW: 1}, {KH: 1, KW: 1, StrideH: 0, StrideW: 1}, {KH: 1, KW: 1, StrideH: 1, StrideW: 1, PadTop: -1}} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}

func TestGlobalPool(t *testing.T) {
	for i, d := range [][4]int{{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 7, 7, 512}, {3, 4, 4, 65}, {2, 14, 14, 130}, {1, 0, 3, 4}, {1, 9, 11, 40}, {2, 5, 3, 97}, {2, 40, 30, 37}, {1, 56, 56, 144}, {3, 23, 23, 9}} {
		n, h, w, c := d[0], d[1], d[2], d[3]
		x := tuRand(uint64(100+i), n*h*w*c, 5)
		wantA, wantM := RefGlobalAvgPool(x, n, h, w, c), RefGlobalMaxPool(x, n, h, w, c)
		var goA []float32 // the Go family's average: the vector kernel must match it exactly
		forEachFamily(t, func(fam string) {
			for _, th := range tuThreads {
				got := tuFill(n*c, tuPoison)
				GlobalAvgPool(got, x, n, h, w, c, &Workspace{Pool: par.New(th)})
				tuClose(t, tuName("%s gap %v threads=%d", fam, d, th), got, wantA, 1e-6, 1e-7)
				if goA == nil {
					goA = got
				}
				tuClose(t, tuName("%s gap %v threads=%d vs go", fam, d, th), got, goA, 0, 0)
				got = tuFill(n*c, tuPoison)
				GlobalMaxPool(got, x, n, h, w, c, &Workspace{Pool: par.New(th)})
				tuClose(t, tuName("%s gmp %v threads=%d", fam, d, th), got, wantM, 0, 0)
			}
		})
	}
	// Hand: N=2, 2x1 spatial, 2 channels.
	x := []float32{1, 10, 3, -10, -1, 0, -5, 4}
	for _, ref := range []bool{true, false} {
		a, m := make([]float32, 4), make([]float32, 4)
		if ref {
			a, m = RefGlobalAvgPool(x, 2, 2, 1, 2), RefGlobalMaxPool(x, 2, 2, 1, 2)
		} else {
			GlobalAvgPool(a, x, 2, 2, 1, 2, nil)
			GlobalMaxPool(m, x, 2, 2, 1, 2, nil)
		}
		tuClose(t, "gap hand", a, []float32{2, 0, -3, 2}, 0, 0)
		tuClose(t, "gmp hand", m, []float32{3, 10, -1, 4}, 0, 0)
	}
}

func TestPoolNoAlloc(t *testing.T) {
	p := PoolParams{N: 1, H: 16, W: 16, C: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	x, dst := tuRand(1, p.InLen(), 1), make([]float32, p.OutLen())
	g := make([]float32, 8)
	p1 := par.New(1)
	ws := &Workspace{Pool: p1}
	if n := testing.AllocsPerRun(10, func() {
		MaxPool(dst, x, p, ws)
		AvgPool(dst, x, p, ws)
		GlobalAvgPool(g, x, 1, 16, 16, 8, ws)       // 256 pixels: in chunks
		GlobalAvgPool(g, x[:8*8*8], 1, 8, 8, 8, ws) // 64: by channel tiles
	}); n != 0 {
		t.Errorf("serial pooling allocates %v times per call", n)
	}
}

func TestPoolPanicsOnBadLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	p := PoolParams{N: 1, H: 4, W: 4, C: 1, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	MaxPool(make([]float32, 3), make([]float32, 16), p, &Workspace{Pool: par.New(1)})
}
