package kernels

import (
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

// shapePerms returns all permutations of 0..n-1.
func shapePerms(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range shapePerms(n - 1) {
		for pos := 0; pos <= len(p); pos++ {
			q := append(append(append([]int(nil), p[:pos]...), n-1), p[pos:]...)
			out = append(out, q)
		}
	}
	return out
}

func TestTransposeFastVsRef(t *testing.T) {
	type tc struct{ shape, perm []int }
	var cases []tc
	for _, shape := range [][]int{{2, 3, 4, 5}, {1, 3, 1, 5}, {3, 1, 4, 2}} {
		for _, p := range shapePerms(4) {
			cases = append(cases, tc{shape, p})
		}
	}
	for _, p := range shapePerms(3) {
		cases = append(cases, tc{[]int{40, 33, 70}, p}) // several tiles, edges
	}
	cases = append(cases,
		tc{[]int{2, 33, 35, 70}, []int{0, 3, 1, 2}}, // NHWC -> NCHW
		tc{[]int{2, 70, 33, 35}, []int{0, 2, 3, 1}}, // NCHW -> NHWC
		tc{[]int{2, 3, 4, 5, 6}, []int{4, 2, 0, 3, 1}},
		tc{[]int{2, 3, 4, 5, 6}, []int{0, 1, 4, 2, 3}},
		tc{[]int{2, 3, 2, 3, 2, 3}, []int{5, 4, 3, 2, 1, 0}},
		tc{[]int{7}, []int{0}},
		tc{[]int{}, []int{}},
		tc{[]int{3, 0, 2}, []int{2, 0, 1}},
		tc{[]int{1, 1, 1}, []int{2, 1, 0}},
	)
	for i, c := range cases {
		x := tuRand(uint64(900+i), shapeElems(c.shape), 1)
		want := RefTranspose(x, c.shape, c.perm)
		for _, th := range tuThreads {
			got := tuFill(len(x), tuPoison)
			Transpose(got, x, c.shape, c.perm, par.New(th))
			tuClose(t, tuName("transpose %v %v threads %d", c.shape, c.perm, th), got, want, 0, 0)
		}
	}
	// Hand: 2x3 -> 3x2, and NHWC 1x1x2x3 -> NCHW 1x3x1x2.
	x := []float32{1, 2, 3, 4, 5, 6}
	want := []float32{1, 4, 2, 5, 3, 6}
	tuClose(t, "transpose ref hand", RefTranspose(x, []int{2, 3}, []int{1, 0}), want, 0, 0)
	got := make([]float32, 6)
	Transpose(got, x, []int{2, 3}, []int{1, 0}, nil)
	tuClose(t, "transpose hand", got, want, 0, 0)
	Transpose(got, x, []int{1, 1, 2, 3}, []int{0, 3, 1, 2}, nil)
	tuClose(t, "nhwc->nchw hand", got, want, 0, 0)
	if sh, err := TransposeShape([]int{2, 3, 4}, []int{2, 0, 1}); err != nil || !shapeEqual(sh, []int{4, 2, 3}) {
		t.Errorf("TransposeShape = %v, %v", sh, err)
	}
	for _, bad := range [][]int{{0, 0, 1}, {0, 1}, {0, 1, 3}, {-1, 0, 1}} {
		if _, err := TransposeShape([]int{2, 3, 4}, bad); err == nil {
			t.Errorf("TransposeShape accepted perm %v", bad)
		}
	}
}

func TestConcatFastVsRef(t *testing.T) {
	cases := []struct {
		shapes [][]int
		axis   int
	}{
		{[][]int{{2, 3, 4, 5}, {2, 3, 4, 7}}, -1},
		{[][]int{{2, 3, 4, 5}, {2, 3, 4, 7}, {2, 3, 4, 1}}, 3},
		{[][]int{{2, 3, 4, 5}, {2, 1, 4, 5}}, 1},
		{[][]int{{2, 3, 4, 5}, {1, 3, 4, 5}, {4, 3, 4, 5}}, 0},
		{[][]int{{2, 3, 4, 5}, {2, 3, 0, 5}, {2, 3, 2, 5}}, 2},
		{[][]int{{3}}, 0},
		{[][]int{{3}, {4}}, 0},
	}
	for i, c := range cases {
		inputs := make([][]float32, len(c.shapes))
		for k, s := range c.shapes {
			inputs[k] = tuRand(uint64(1000+10*i+k), shapeElems(s), 1)
		}
		want := RefConcat(inputs, c.shapes, c.axis)
		got := tuFill(len(want), tuPoison)
		Concat(got, inputs, c.shapes, c.axis)
		tuClose(t, tuName("concat %v axis %d", c.shapes, c.axis), got, want, 0, 0)
	}
	in := [][]float32{{1, 2, 3, 4}, {5, 6}}
	sh := [][]int{{2, 2}, {2, 1}}
	want := []float32{1, 2, 5, 3, 4, 6}
	tuClose(t, "concat ref hand", RefConcat(in, sh, 1), want, 0, 0)
	got := make([]float32, 6)
	Concat(got, in, sh, -1)
	tuClose(t, "concat hand", got, want, 0, 0)
	if _, err := ConcatShape([][]int{{2, 2}, {3, 1}}, 1); err == nil {
		t.Error("ConcatShape accepted mismatched shapes")
	}
	if s, err := ConcatShape([][]int{{2, 2}, {3, 2}}, 0); err != nil || !shapeEqual(s, []int{5, 2}) {
		t.Errorf("ConcatShape = %v, %v", s, err)
	}
}

func TestPadFastVsRef(t *testing.T) {
	cases := []struct {
		shape, begin, end []int
	}{
		{[]int{1, 5, 6, 3}, []int{0, 1, 2, 0}, []int{0, 1, 0, 0}}, // ZeroPadding2D
		{[]int{2, 4, 3}, []int{1, 2, 1}, []int{1, 3, 2}},
		{[]int{2, 4, 3}, []int{0, 3, 2}, []int{0, 3, 2}},    // reflect to the limit
		{[]int{2, 4, 3}, []int{0, 7, 5}, []int{1, 6, 4}},    // wider than the input
		{[]int{2, 4, 3}, []int{-1, 1, -1}, []int{0, -2, 2}}, // negative pads crop
		{[]int{5}, []int{2}, []int{3}},
		{[]int{1, 1, 1}, []int{1, 2, 0}, []int{0, 1, 3}},
		{[]int{3, 2}, []int{0, 0}, []int{0, 0}},
	}
	for i, c := range cases {
		x := tuRand(uint64(1100+i), shapeElems(c.shape), 1)
		for _, mode := range []PadMode{PadConstant, PadReflect, PadEdge} {
			want := RefPad(x, c.shape, c.begin, c.end, mode, 7)
			got := tuFill(len(want), tuPoison)
			Pad(got, x, c.shape, c.begin, c.end, mode, 7)
			tuClose(t, tuName("pad %v %v %v mode %d", c.shape, c.begin, c.end, mode), got, want, 0, 0)
		}
	}
	x := []float32{1, 2, 3}
	hand := []struct {
		mode       PadMode
		begin, end int
		want       []float32
	}{
		{PadConstant, 2, 3, []float32{0, 0, 1, 2, 3, 0, 0, 0}},
		{PadReflect, 2, 3, []float32{3, 2, 1, 2, 3, 2, 1, 2}},
		{PadEdge, 2, 3, []float32{1, 1, 1, 2, 3, 3, 3, 3}},
		{PadReflect, 5, 0, []float32{2, 1, 2, 3, 2, 1, 2, 3}},
		{PadConstant, -1, 1, []float32{2, 3, 0}},
	}
	for _, h := range hand {
		b, e := []int{h.begin}, []int{h.end}
		tuClose(t, tuName("pad ref hand %+v", h), RefPad(x, []int{3}, b, e, h.mode, 0), h.want, 0, 0)
		got := make([]float32, len(h.want))
		Pad(got, x, []int{3}, b, e, h.mode, 0)
		tuClose(t, tuName("pad hand %+v", h), got, h.want, 0, 0)
	}
	// 2-D constant: a 1x2 row padded by one on every side with -1.
	got := make([]float32, 12)
	Pad(got, []float32{5, 6}, []int{1, 2}, []int{1, 1}, []int{1, 1}, PadConstant, -1)
	tuClose(t, "pad 2-D hand", got, []float32{-1, -1, -1, -1, -1, 5, 6, -1, -1, -1, -1, -1}, 0, 0)
}

func TestCropSliceFastVsRef(t *testing.T) {
	shape := []int{2, 7, 6, 3}
	x := tuRand(1200, shapeElems(shape), 1)
	for _, c := range [][2][]int{{{0, 1, 2, 0}, {0, 2, 1, 0}}, {{0, 0, 0, 0}, {0, 0, 0, 0}}, {{1, 3, 0, 1}, {0, 4, 6, 1}}} {
		want := RefCrop(x, shape, c[0], c[1])
		got := tuFill(len(want), tuPoison)
		Crop(got, x, shape, c[0], c[1])
		tuClose(t, tuName("crop %v", c), got, want, 0, 0)
	}
	slices := []struct{ starts, steps, out []int }{
		{[]int{0, 1, 0, 0}, nil, []int{2, 5, 6, 3}},
		{[]int{1, 6, 5, 2}, []int{-1, -2, -1, -1}, []int{2, 4, 6, 3}},
		{[]int{0, 0, 1, 0}, []int{1, 3, 2, 2}, []int{2, 3, 3, 2}},
		{[]int{0, 0, 0, 1}, []int{1, 1, 1, 1}, []int{2, 7, 6, 1}},
		{[]int{0, 0, 0, 0}, nil, []int{2, 0, 6, 3}},
	}
	for _, s := range slices {
		want := RefSlice(x, shape, s.starts, s.steps, s.out)
		got := tuFill(len(want), tuPoison)
		Slice(got, x, shape, s.starts, s.steps, s.out)
		tuClose(t, tuName("slice %+v", s), got, want, 0, 0)
	}
	// Hand: crop and reverse a 3x3.
	m := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	got := make([]float32, 4)
	Crop(got, m, []int{3, 3}, []int{1, 0}, []int{0, 1})
	tuClose(t, "crop hand", got, []float32{4, 5, 7, 8}, 0, 0)
	tuClose(t, "crop ref hand", RefCrop(m, []int{3, 3}, []int{1, 0}, []int{0, 1}), []float32{4, 5, 7, 8}, 0, 0)
	got = make([]float32, 6)
	Slice(got, m, []int{3, 3}, []int{2, 0}, []int{-1, 2}, []int{3, 2})
	tuClose(t, "slice hand", got, []float32{7, 9, 4, 6, 1, 3}, 0, 0)
	tuClose(t, "slice ref hand", RefSlice(m, []int{3, 3}, []int{2, 0}, []int{-1, 2}, []int{3, 2}), []float32{7, 9, 4, 6, 1, 3}, 0, 0)
}

func TestSliceBounds(t *testing.T) {
	const big = 1 << 62
	for _, c := range []struct{ dim, start, end, step, first, count int }{
		{10, 2, 8, 3, 2, 2},
		{10, -1, -11, -1, 9, 10},
		{10, 0, big, 1, 0, 10},
		{10, 20, 0, -1, 9, 9},
		{10, 5, 5, 1, 5, 0},
		{10, 0, -1, 2, 0, 5},
		{10, -big, big, 4, 0, 3},
		{10, -1, -big, -3, 9, 4},
		{0, 0, 5, 1, 0, 0},
	} {
		f, n, err := SliceBounds(c.dim, c.start, c.end, c.step)
		if err != nil || n != c.count || (n > 0 && f != c.first) {
			t.Errorf("SliceBounds(%d,%d,%d,%d) = %d,%d,%v want %d,%d", c.dim, c.start, c.end, c.step, f, n, err, c.first, c.count)
		}
	}
	if _, _, err := SliceBounds(3, 0, 3, 0); err == nil {
		t.Error("zero step accepted")
	}
}

func TestUpsampleFastVsRef(t *testing.T) {
	for i, d := range [][6]int{{1, 2, 2, 1, 2, 2}, {2, 3, 5, 7, 2, 3}, {1, 14, 14, 64, 2, 2}, {1, 4, 3, 2, 1, 4}, {2, 1, 1, 3, 3, 1}} {
		n, h, w, c, sh, sw := d[0], d[1], d[2], d[3], d[4], d[5]
		x := tuRand(uint64(1300+i), n*h*w*c, 1)
		want := RefUpsampleNearest(x, n, h, w, c, sh, sw)
		wantB := RefResizeBilinear(x, n, h, w, c, h*sh, w*sw)
		for _, th := range tuThreads {
			got := tuFill(len(want), tuPoison)
			UpsampleNearest(got, x, n, h, w, c, sh, sw, par.New(th))
			tuClose(t, tuName("nearest %v threads %d", d, th), got, want, 0, 0)
			got = tuFill(len(want), tuPoison)
			UpsampleBilinear(got, x, n, h, w, c, sh, sw, par.New(th))
			tuClose(t, tuName("bilinear %v threads %d", d, th), got, wantB, 1e-5, 1e-6)
		}
	}
	// Arbitrary (also downscaling) sizes.
	for i, d := range [][6]int{{1, 5, 7, 3, 3, 11}, {2, 8, 8, 4, 5, 3}, {1, 3, 3, 1, 7, 7}} {
		n, h, w, c, oh, ow := d[0], d[1], d[2], d[3], d[4], d[5]
		x := tuRand(uint64(1400+i), n*h*w*c, 1)
		want := RefResizeBilinear(x, n, h, w, c, oh, ow)
		got := tuFill(len(want), tuPoison)
		ResizeBilinear(got, x, n, h, w, c, oh, ow, par.New(2))
		tuClose(t, tuName("resize %v", d), got, want, 1e-5, 1e-6)
	}
}

func TestUpsampleHandValues(t *testing.T) {
	x := []float32{1, 2, 3, 4} // 2x2x1
	want := []float32{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}
	tuClose(t, "nearest ref hand", RefUpsampleNearest(x, 1, 2, 2, 1, 2, 2), want, 0, 0)
	got := make([]float32, 16)
	UpsampleNearest(got, x, 1, 2, 2, 1, 2, 2, nil)
	tuClose(t, "nearest hand", got, want, 0, 0)
	// tf.image.resize([0,1,2,3] as 1x4, [1,8], 'bilinear') with half-pixel
	// centers: sources -0.25 (clamped), 0.25, 0.75, ..., 3.25 (clamped).
	row := []float32{0, 1, 2, 3}
	wantB := []float32{0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3}
	tuClose(t, "bilinear ref hand", RefResizeBilinear(row, 1, 1, 4, 1, 1, 8), wantB, 1e-6, 0)
	got = make([]float32, 8)
	UpsampleBilinear(got, row, 1, 1, 4, 1, 1, 2, nil)
	tuClose(t, "bilinear hand", got, wantB, 1e-6, 0)
	// 2-D: [[0,1],[2,3]] -> 4x4; corners stay, centre cells average
	// with weights 0.75/0.25.
	got = make([]float32, 16)
	UpsampleBilinear(got, []float32{0, 1, 2, 3}, 1, 2, 2, 1, 2, 2, nil)
	want2 := []float32{
		0, 0.25, 0.75, 1,
		0.5, 0.75, 1.25, 1.5,
		1.5, 1.75, 2.25, 2.5,
		2, 2.25, 2.75, 3,
	}
	tuClose(t, "bilinear 2-D hand", got, want2, 1e-6, 0)
}

func TestShapeNoAlloc(t *testing.T) {
	shape, perm := []int{1, 16, 16, 32}, []int{0, 3, 1, 2}
	x := tuRand(1, shapeElems(shape), 1)
	dst := make([]float32, len(x))
	up := make([]float32, 4*len(x))
	pb, pe := []int{0, 1, 1, 0}, []int{0, 1, 1, 0}
	pad := make([]float32, 18*18*32)
	if n := testing.AllocsPerRun(10, func() {
		Transpose(dst, x, shape, perm, nil)
		UpsampleNearest(up, x, 1, 16, 16, 32, 2, 2, nil)
		UpsampleBilinear(up, x, 1, 16, 16, 32, 2, 2, nil)
		Pad(pad, x, shape, pb, pe, PadConstant, 0)
		Concat(up[:2*len(x)], [][]float32{x, x}, [][]int{shape, shape}, 3)
	}); n != 0 {
		t.Errorf("serial shape kernels allocate %v times per call", n)
	}
}

func BenchmarkTransposeNHWCToNCHW(b *testing.B) {
	shape := []int{1, 112, 112, 64}
	x := tuRand(1, shapeElems(shape), 1)
	dst := make([]float32, len(x))
	for b.Loop() {
		Transpose(dst, x, shape, []int{0, 3, 1, 2}, nil)
	}
}

func BenchmarkUpsampleBilinear(b *testing.B) {
	x := tuRand(1, 56*56*64, 1)
	dst := make([]float32, 4*len(x))
	for b.Loop() {
		UpsampleBilinear(dst, x, 1, 56, 56, 64, 2, 2, nil)
	}
}
