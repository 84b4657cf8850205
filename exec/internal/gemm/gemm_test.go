package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kconv/kconv/exec/internal/par"
)

// naiveGemm is the reference: C = alpha*op(A)*op(B) + beta*C, from the
// definition, accumulating in float64.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

func naiveGemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	ny, nx := m, n
	if trans {
		ny, nx = n, m
	}
	for o := range ny {
		var s float64
		for i := range nx {
			var av float32
			if trans {
				av = a[i*lda+o]
			} else {
				av = a[o*lda+i]
			}
			s += float64(av) * float64(x[i])
		}
		v := float64(alpha) * s
		if beta != 0 {
			v += float64(beta) * float64(y[o])
		}
		y[o] = float32(v)
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// closeEnough compares with a tolerance relative to the magnitude of the
// terms summed (k products of values in [-1,1]).
func closeEnough(t *testing.T, name string, got, want []float32, k int) {
	t.Helper()
	tol := 1e-5 * float64(max(k, 1)+4)
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.Abs(g-w) > tol*(1+math.Abs(w)) {
			t.Fatalf("%s: element %d = %v, want %v", name, i, g, w)
		}
	}
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int // extra leading-dimension slack
	padC           int
}

func gemmCases() []gemmCase {
	var cs []gemmCase
	shapes := [][3]int{
		{1, 1, 1}, {1, 7, 5}, {1, 4096, 300}, {5, 1, 9}, {3, 5, 7}, {4, 4, 4}, {8, 8, 8},
		{17, 13, 11}, {33, 65, 129}, {64, 64, 64}, {130, 70, 300}, {257, 31, 3},
		{2, 300, 1}, {300, 2, 513}, {200, 300, 260}, {12544, 64, 27}, {0, 5, 3}, {5, 0, 3}, {5, 6, 0},
		// Several k slices and column blocks, tile edges on both sides.
		{29, 1100, 700}, {43, 96, 1030}, {14, 32, 4}, {6, 16, 9}, {28, 64, 5},
		// Last panels of exactly and under half the widest kernel width.
		{28, 48, 70}, {30, 80, 33}, {12, 24, 17},
		// Last row tiles of exactly and under half the tallest kernel.
		{49, 64, 100}, {21, 40, 30}, {45, 96, 20},
	}
	for si, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				c := gemmCase{transA: ta, transB: tb, m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0}
				switch si % 4 {
				case 1:
					c.alpha, c.beta = 0.5, 1
				case 2:
					c.alpha, c.beta, c.padA, c.padB, c.padC = -1.5, 0.25, 3, 1, 5
				case 3:
					c.beta, c.padC = 1, 2
				}
				cs = append(cs, c)
			}
		}
	}
	cs = append(cs, gemmCase{m: 9, n: 10, k: 11, alpha: 0, beta: 2, padC: 1})
	return cs
}

type gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// familyGemm is family f's Sgemm with the wrapper's argument checks.
func familyGemm(f *family) gemmFunc {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if !trivialGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
			f.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
}

// packedGemm packs B for family f (PackB) and multiplies with SgemmPacked
// (pl non-nil) or SgemmPackedSerial.
func packedGemm(f *family, pl *par.Pool) gemmFunc {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		pb := packBFor(f, transB, k, n, b, ldb)
		if pl != nil {
			SgemmPacked(pl, transA, m, alpha, a, lda, pb, beta, c, ldc)
		} else {
			SgemmPackedSerial(transA, m, alpha, a, lda, pb, beta, c, ldc)
		}
	}
}

type gemvFunc func(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32)

func familyGemv(f *family) gemvFunc {
	return func(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
		if !trivialGemv(trans, m, n, alpha, a, lda, x, beta, y) {
			f.sgemv(trans, m, n, alpha, a, lda, x, beta, y)
		}
	}
}

// TestSgemm runs the shared table against the naive reference for the
// dispatched entry points and for every family this machine can run,
// each called directly.
func TestSgemm(t *testing.T) {
	impls := map[string]func(pl *par.Pool) gemmFunc{
		"Sgemm": func(pl *par.Pool) gemmFunc {
			return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				Sgemm(pl, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			}
		},
		"SgemmSerial": func(*par.Pool) gemmFunc { return SgemmSerial },
		"GoSgemm":     func(*par.Pool) gemmFunc { return GoSgemm },
	}
	for _, f := range families {
		impls["family/"+f.name] = func(*par.Pool) gemmFunc { return familyGemm(f) }
		impls["packed/"+f.name] = func(*par.Pool) gemmFunc { return packedGemm(f, nil) }
	}
	impls["SgemmPacked"] = func(pl *par.Pool) gemmFunc { return packedGemm(active, pl) }
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range gemmCases() {
		ar, ac := tc.m, tc.k
		if tc.transA {
			ar, ac = tc.k, tc.m
		}
		br, bc := tc.k, tc.n
		if tc.transB {
			br, bc = tc.n, tc.k
		}
		lda, ldb, ldc := max(1, ac+tc.padA), max(1, bc+tc.padB), max(1, tc.n+tc.padC)
		a := randSlice(r, max(0, (ar-1)*lda+ac))
		b := randSlice(r, max(0, (br-1)*ldb+bc))
		c0 := randSlice(r, max(0, (tc.m-1)*ldc+tc.n))
		if tc.beta == 0 {
			for i := range c0 {
				c0[i] = float32(math.NaN()) // must not be read
			}
		}
		want := append([]float32(nil), c0...)
		naiveGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
		for _, threads := range []int{1, 2, 3} {
			pl := par.New(threads)
			for name, mk := range impls {
				if threads > 1 && name != "Sgemm" && name != "SgemmPacked" {
					continue
				}
				// Under -race the large products skip the pure-Go code
				// (tested without -race), which would take over a minute.
				if raceEnabled && tc.m*tc.n*tc.k > 1<<20 && (name == "GoSgemm" || strings.HasSuffix(name, "/generic")) {
					continue
				}
				f := mk(pl)
				got := append([]float32(nil), c0...)
				f(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
				// Padding between rows of C must be untouched.
				for i := range got {
					if tc.n > 0 && i%ldc >= tc.n && got[i] != c0[i] && !math.IsNaN(float64(c0[i])) {
						t.Fatalf("%s %+v: wrote padding element %d", name, tc, i)
					}
					if tc.n > 0 && i%ldc >= tc.n {
						got[i], want[i] = 0, 0
					}
				}
				closeEnough(t, fmt.Sprintf("%s threads=%d %+v", name, threads, tc), got, want, tc.k)
			}
		}
	}
}

func TestSgemv(t *testing.T) {
	impls := map[string]func(pl *par.Pool) gemvFunc{
		"Sgemv": func(pl *par.Pool) gemvFunc {
			return func(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
				Sgemv(pl, trans, m, n, alpha, a, lda, x, beta, y)
			}
		},
		"SgemvSerial": func(*par.Pool) gemvFunc { return SgemvSerial },
		"GoSgemv":     func(*par.Pool) gemvFunc { return GoSgemv },
	}
	for _, f := range families {
		impls["family/"+f.name] = func(*par.Pool) gemvFunc { return familyGemv(f) }
	}
	r := rand.New(rand.NewPCG(3, 4))
	shapes := [][2]int{{1, 1}, {1, 9}, {9, 1}, {3, 5}, {7, 13}, {64, 64}, {1000, 33}, {33, 1000}, {2048, 1031}, {0, 4}, {4, 0}, {5, 64}, {64, 5}, {7, 95}, {95, 7}, {130, 257}}
	for si, s := range shapes {
		for _, trans := range []bool{false, true} {
			m, n := s[0], s[1]
			alpha, beta, pad := float32(1), float32(0), 0
			if si%3 == 1 {
				alpha, beta, pad = 0.5, 1, 3
			} else if si%3 == 2 {
				alpha, beta, pad = -2, 0.5, 1
			}
			lda := max(1, n+pad)
			a := randSlice(r, max(0, (m-1)*lda+n))
			nx, ny := n, m
			if trans {
				nx, ny = m, n
			}
			x := randSlice(r, nx)
			y0 := randSlice(r, ny)
			if beta == 0 {
				for i := range y0 {
					y0[i] = float32(math.NaN())
				}
			}
			want := append([]float32(nil), y0...)
			naiveGemv(trans, m, n, alpha, a, lda, x, beta, want)
			for _, threads := range []int{1, 2} {
				pl := par.New(threads)
				for name, mk := range impls {
					f := mk(pl)
					got := append([]float32(nil), y0...)
					f(trans, m, n, alpha, a, lda, x, beta, got)
					closeEnough(t, fmt.Sprintf("%s threads=%d trans=%v m=%d n=%d", name, threads, trans, m, n), got, want, nx)
				}
			}
		}
	}
}

func TestShortSlicePanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	mustPanic("short a", func() { Sgemm(nil, false, false, 2, 2, 4, 1, a, 4, b, 2, 0, c, 2) })
	mustPanic("short c", func() { Sgemm(nil, false, false, 2, 3, 3, 1, a, 3, b, 3, 0, c, 3) })
	mustPanic("bad lda", func() { Sgemm(nil, false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2) })
	mustPanic("short x", func() { Sgemv(nil, false, 2, 3, 1, a, 3, b[:2], 0, c) })
	mustPanic("short y", func() { Sgemv(nil, true, 2, 3, 1, a, 3, b, 0, c[:2]) })
	mustPanic("short packed b", func() { PackB(false, 3, 3, b[:5], 3) })
	pb := PackB(false, 2, 2, b, 2)
	mustPanic("short a, packed b", func() { SgemmPackedSerial(false, 3, 1, a[:5], 2, pb, 0, b, 2) })
	mustPanic("short c, packed b", func() { SgemmPacked(nil, false, 3, 1, a, 2, pb, 0, c, 2) })
}

func TestName(t *testing.T) {
	var names []string
	for _, f := range families {
		names = append(names, f.name)
	}
	if Name() != active.name {
		t.Fatalf("Name() = %q, active family %q", Name(), active.name)
	}
	if want := os.Getenv(cpuEnv); want != "" && want != Name() {
		t.Fatalf("%s=%s but Name() = %q (families %v)", cpuEnv, want, Name(), names)
	}
	t.Logf("family %s of %v", Name(), names)
}

func TestPickFamily(t *testing.T) {
	fs := []*family{{name: "a"}, {name: "b"}}
	var warn strings.Builder
	if f := pickFamily(fs, "", &warn); f.name != "a" {
		t.Errorf("default: %s", f.name)
	}
	if f := pickFamily(fs, "b", &warn); f.name != "b" {
		t.Errorf("b: %s", f.name)
	}
	if warn.Len() != 0 {
		t.Errorf("warned for a known family: %q", warn.String())
	}
	if f := pickFamily(fs, "zz", &warn); f.name != "a" || !strings.Contains(warn.String(), `KCONV_CPU="zz"`) {
		t.Errorf("unknown: %s, warning %q", f.name, warn.String())
	}
}

func TestPeakGFLOPS(t *testing.T) {
	p := PeakGFLOPS(5 * time.Millisecond)
	hasAsm := false
	for _, f := range families {
		hasAsm = hasAsm || f.peak != nil
	}
	if hasAsm != (p > 0) || p < 0 || math.IsInf(p, 0) || math.IsNaN(p) {
		t.Fatalf("PeakGFLOPS = %v with families %v", p, families)
	}
	t.Logf("FMA peak %.0f GFLOP/s per core", p)
}

// addCase makes random A (m×k), B (k×n) and C (m×n) with the given
// leading dimensions, and the reference C + A·B.
func addCase(r *rand.Rand, m, n, k, lda, ldb, ldc int) (a, b, c0, want []float32) {
	a = randSlice(r, (m-1)*lda+k)
	b = randSlice(r, (k-1)*ldb+n)
	c0 = randSlice(r, (m-1)*ldc+n)
	want = append([]float32(nil), c0...)
	naiveGemm(false, false, m, n, k, 1, a, lda, b, ldb, 1, want, ldc)
	return a, b, c0, want
}

// TestSgemmRows: C += A·B for short A against the reference, through
// SgemmRows (serial and split) and each family's rows kernel (or the
// sgemm fallback), over shapes with k not a multiple of 8, n not a
// multiple of the vector pair and n over one column block; and each row
// equal, bit for bit, to Sgemv (trans) of that row of A on the same
// family.
func TestSgemmRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][3]int{{1, 1, 1}, {2, 33, 7}, {2, 64, 16}, {3, 1000, 1024}, {4, 530, 29}, {8, 1100, 9}} {
		m, n, k := sh[0], sh[1], sh[2]
		lda, ldb, ldc := k+3, n+5, n+2
		a, b, c0, want := addCase(r, m, n, k, lda, ldb, ldc)
		run := map[string]func(c []float32){
			"SgemmRows/serial": func(c []float32) { SgemmRows(nil, m, n, k, a, lda, b, ldb, c, ldc) },
			"SgemmRows/2":      func(c []float32) { SgemmRows(par.New(2), m, n, k, a, lda, b, ldb, c, ldc) },
		}
		for _, f := range families {
			if f.rows != nil {
				run["rows/"+f.name] = func(c []float32) { f.rows(m, n, k, a, lda, b, ldb, c, ldc) }
			}
		}
		for name, f := range run {
			got := append([]float32(nil), c0...)
			f(got)
			for i := range got {
				if i%ldc >= n {
					if got[i] != c0[i] {
						t.Fatalf("%s %v: wrote padding element %d", name, sh, i)
					}
					got[i], want[i] = 0, 0
				}
			}
			closeEnough(t, fmt.Sprintf("%s %v", name, sh), got, want, k)
		}
		for _, f := range families {
			if f.rows == nil {
				continue
			}
			got := append([]float32(nil), c0...)
			f.rows(m, n, k, a, lda, b, ldb, got, ldc)
			for i := range m {
				y := append([]float32(nil), c0[i*ldc:i*ldc+n]...)
				f.sgemv(true, k, n, 1, b, ldb, a[i*lda:i*lda+k], 1, y)
				for j := range y {
					if y[j] != got[i*ldc+j] {
						t.Fatalf("%s %v: row %d col %d = %v, Sgemv gives %v", f.name, sh, i, j, got[i*ldc+j], y[j])
					}
				}
			}
		}
	}
}

// TestSgemmStream: C += A·B through a StreamB packed for each family (the
// stream kernels, or the row-major fallback), serial and split, against
// the reference, over shapes with a last panel narrower than the stream
// width, k not a multiple of 4 and over one k block, and A taller than
// one kernel (row tiles); C's padding untouched; and, on the stream
// kernels, each row of A alone giving the same bits as in the batch.
func TestSgemmStream(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][3]int{{1, 1, 1}, {2, 33, 7}, {3, 100, 300}, {14, 64, 515}, {15, 47, 260}, {29, 1000, 33}, {8, 1100, 9}, {40, 70, 600}} {
		m, n, k := sh[0], sh[1], sh[2]
		lda, ldb, ldc := k+3, n+5, n+2
		a, b, c0, want := addCase(r, m, n, k, lda, ldb, ldc)
		for _, f := range families {
			own := make([]float32, k*n)
			for i := range k {
				copy(own[i*n:(i+1)*n], b[i*ldb:])
			}
			sb := packStreamFor(f, k, n, own)
			for _, pl := range []*par.Pool{nil, par.New(2), par.New(3)} {
				name := fmt.Sprintf("%s/%d %v", f.name, pl.Workers(), sh)
				got := append([]float32(nil), c0...)
				SgemmStream(pl, m, a, lda, sb, got, ldc)
				for i := range got {
					if i%ldc >= n && got[i] != c0[i] {
						t.Fatalf("%s: wrote padding element %d", name, i)
					}
				}
				closeEnough(t, name, got, want, k)
				if f.stream == nil {
					continue
				}
				for i := range m {
					row := append([]float32(nil), c0[i*ldc:i*ldc+n]...)
					SgemmStream(pl, 1, a[i*lda:i*lda+k], k, sb, row, n)
					for j := range row {
						if row[j] != got[i*ldc+j] {
							t.Fatalf("%s: row %d col %d alone = %v, in the batch %v", name, i, j, row[j], got[i*ldc+j])
						}
					}
				}
			}
		}
	}
}
