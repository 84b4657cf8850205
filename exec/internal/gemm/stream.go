package gemm

import (
	"fmt"

	"github.com/kconv/kconv/exec/internal/par"
)

// streamKern is a stream micro-kernel: C (r×streamW, ldc) += A (r×k, lda,
// read in place) · a k×streamW panel of B stored contiguously.
type streamKern func(k int, a *float32, lda int, b, c *float32, ldc int)

// StreamB is a k×n matrix B packed once for products with a short A: a
// dense layer's weights, used by a few rows of activations at a time. Its
// columns are cut into panels of the family's stream width (two vectors),
// each panel's k rows stored one after the other, so that a worker reads
// its panels as one contiguous stream from memory; the stream kernels keep
// a tile of C in registers over all of k and prefetch the panel ahead.
//
// Why: with B row-major, a product with a short A (AlexNet's fc6, 9216×4096,
// at batch 8) reads each k row of a column block as a separate 2 KB run
// 16 KB from the next, and computes in bursts between waits on memory: the
// row kernels reach ~12 GB/s there (two threads), the transposed GEMV over
// the same memory 20-22. Families without stream kernels keep B row-major
// and run SgemmRows or Sgemm.
//
// A StreamB is read-only once made and may be shared by goroutines; it is
// laid out for the family active when it was made.
type StreamB struct {
	k, n int
	fam  *family
	pw   int       // panel width in floats; 0: data is B row-major (k×n)
	data []float32 // panel j at j·pw·k
}

// PackStream packs B (k×n, row-major with ldb ≥ n). It panics, like Sgemm,
// when b is too short for its shape.
func PackStream(k, n int, b []float32, ldb int) *StreamB {
	return packStreamFor(active, k, n, b, ldb)
}

func packStreamFor(f *family, k, n int, b []float32, ldb int) *StreamB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: negative dimension for stream b (%d×%d)", k, n))
	}
	need("b", len(b), k, n, ldb)
	s := &StreamB{k: k, n: n, fam: f}
	if f.stream == nil {
		s.data = make([]float32, k*n)
		for i := range k {
			copy(s.data[i*n:(i+1)*n], b[i*ldb:])
		}
		return s
	}
	pw := f.streamW
	s.pw = pw
	panels := (n + pw - 1) / pw
	s.data = aligned64(make([]float32, panels*pw*k+16))[:panels*pw*k]
	for p := range panels {
		j0 := p * pw
		w := min(pw, n-j0)
		dst := s.data[p*pw*k:]
		for i := range k {
			copy(dst[i*pw:i*pw+w], b[i*ldb+j0:i*ldb+j0+w])
		}
	}
	return s
}

// K reports B's rows.
func (s *StreamB) K() int { return s.k }

// N reports B's columns.
func (s *StreamB) N() int { return s.n }

// streamKC is the k block of SgemmStream: the panel's block (kc·streamW
// floats, 32 KB for avx512) stays in L1 while every row tile of A uses it
// (A taller than one kernel). Every m uses the same blocks, so that each
// element of C sums its terms in one order whatever m is.
const streamKC = 256

// SgemmStream adds A·B to C: C (m×n, ldc ≥ n) += A (m×k, lda ≥ k) · sb,
// all row-major. Panels are split across pl's workers. On the stream
// kernels each element of C sums its k terms in the same order whatever m
// is (a row of A gives the same bits alone as in a batch); the row-major
// fallback is SgemmRows up to 8 rows, Sgemm above.
func SgemmStream(pl *par.Pool, m int, a []float32, lda int, sb *StreamB, c []float32, ldc int) {
	k, n := sb.k, sb.n
	if m < 0 {
		panic("gemm: negative m")
	}
	need("A", len(a), m, k, lda)
	need("C", len(c), m, n, ldc)
	if m == 0 || n == 0 || k == 0 {
		return
	}
	f := sb.fam
	if sb.pw == 0 {
		if m <= 8 {
			SgemmRows(pl, m, n, k, a, lda, sb.data, n, c, ldc)
		} else {
			Sgemm(pl, false, false, m, n, k, 1, a, lda, sb.data, n, 1, c, ldc)
		}
		return
	}
	pw := sb.pw
	panels := (n + pw - 1) / pw
	run := func(p0, p1 int) {
		var tile [14 * 32]float32 // a last panel narrower than pw
		mr, kc := len(f.stream), streamKC
		for p := p0; p < p1; p++ {
			j0 := p * pw
			w := min(pw, n-j0)
			panel := sb.data[p*pw*k : (p+1)*pw*k]
			for k0 := 0; k0 < k; k0 += kc {
				kcur := min(kc, k-k0)
				for i0 := 0; i0 < m; i0 += mr {
					r := min(mr, m-i0)
					kern := f.stream[r-1]
					if w == pw {
						kern(kcur, &a[i0*lda+k0], lda, &panel[k0*pw], &c[i0*ldc+j0], ldc)
						continue
					}
					t := tile[:r*pw]
					clear(t)
					kern(kcur, &a[i0*lda+k0], lda, &panel[k0*pw], &t[0], pw)
					for i := range r {
						row := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+w]
						for j, v := range t[i*pw : i*pw+w] {
							row[j] += v
						}
					}
				}
			}
		}
	}
	if t := pl.Workers(); t > 1 && panels > 1 && int64(m)*int64(n)*int64(k) >= int64(t)<<18 {
		pl.For(panels, 1, run)
		return
	}
	run(0, panels)
}

// Streams reports whether the active family has stream kernels: without
// them PackStream copies B row-major and SgemmStream runs SgemmRows or
// Sgemm on it.
func Streams() bool { return active.stream != nil }
