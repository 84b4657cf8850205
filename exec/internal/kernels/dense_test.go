package kernels

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

func TestDenseFastVsRef(t *testing.T) {
	cases := []struct {
		n, in, out int
		bias       bool
		act        Activation
	}{
		{1, 1, 1, true, Activation{}},
		{1, 7, 5, true, khReLU},
		{1, 1000, 333, false, khELU},
		{1, 4096, 1000, true, Activation{Kind: ActSigmoid}},
		{2, 13, 9, true, khReLU},
		{3, 257, 129, true, khELU},
		{8, 2048, 1024, true, khReLU},
		{17, 300, 100, true, khReLU},
		{32, 100, 40, false, khELU},
		{33, 64, 50, true, Activation{}},
		{4, 5, 3, false, Activation{}},
		{5, 3, 700, false, Activation{}},
		{0, 3, 4, true, Activation{}},
	}
	for ci, tc := range cases {
		x := khRand(uint64(ci)*3+301, tc.n*tc.in)
		w := khRand(uint64(ci)*3+302, tc.in*tc.out)
		var bias []float32
		if tc.bias {
			bias = khRand(uint64(ci)*3+303, tc.out)
		}
		want := RefDense(tc.n, tc.in, tc.out, x, w, bias, tc.act)
		for _, threads := range []int{1, 2, 3} {
			pool := par.New(threads)
			got := khPoison(tc.n * tc.out)
			Dense(tc.n, tc.in, tc.out, x, w, bias, tc.act, got, &Workspace{Pool: pool})
			khClose(t, fmt.Sprintf("%+v threads=%d", tc, threads), got, want, 1e-4)
			for _, pack := range []bool{false, true} {
				got := khPoison(tc.n * tc.out)
				own := append([]float32(nil), w...) // packing rearranges it
				DenseWith(tc.n, x, newDenseKernel(tc.in, tc.out, own, pack), bias, tc.act, got, &Workspace{Pool: pool})
				khClose(t, fmt.Sprintf("%+v threads=%d packed=%v", tc, threads, pack), got, want, 1e-4)
			}
		}
	}
}

// TestRefDenseHand: x = [[1, 2], [3, -4]], w = [[1, 0, 2], [0, 1, -1]],
// bias (0.5, 0, -1): x·w = [[1, 2, 0], [3, -4, 10]] → + bias → ReLU.
func TestRefDenseHand(t *testing.T) {
	x := []float32{1, 2, 3, -4}
	w := []float32{1, 0, 2, 0, 1, -1}
	bias := []float32{0.5, 0, -1}
	want := []float32{1.5, 2, 0, 3.5, 0, 9}
	khClose(t, "ref", RefDense(2, 2, 3, x, w, bias, khReLU), want, 1e-6)
	got := make([]float32, 6)
	Dense(2, 2, 3, x, w, bias, khReLU, got, nil)
	khClose(t, "fast n=2", got, want, 1e-6)
	got1 := make([]float32, 3)
	Dense(1, 2, 3, x[2:], w, bias, khReLU, got1, nil)
	khClose(t, "fast n=1", got1, want[3:], 1e-6)
}

func BenchmarkDenseFC6(b *testing.B) {
	const in, out = 25088, 4096
	w := khRand(2, in*out)
	bias := khRand(3, out)
	for _, n := range []int{1, 4, 8} {
		x := khRand(1, n*in)
		y := make([]float32, n*out)
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			done := khLoad(b)
			for b.Loop() {
				Dense(n, in, out, x, w, bias, khReLU, y, nil)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(2*float64(n)*in*out/sec/1e9, "GFLOP/s")
			b.ReportMetric(4*in*out/sec/1e9, "GB/s")
			done()
		})
	}
}

// BenchmarkDenseClassifier: a classifier head (1024 → 1000, 4 MB of
// weights, in cache) at the small batches batch splitting gives it.
func BenchmarkDenseClassifier(b *testing.B) {
	const in, out = 1024, 1000
	w := khRand(2, in*out)
	bias := khRand(3, out)
	for _, n := range []int{1, 2, 4, 8, 32} {
		x := khRand(1, n*in)
		y := make([]float32, n*out)
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			for b.Loop() {
				Dense(n, in, out, x, w, bias, Activation{}, y, nil)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(2*float64(n)*in*out/sec/1e9, "GFLOP/s")
		})
	}
}
