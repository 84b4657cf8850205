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
// columns are cut into panels of the family's stream width (two vectors)
// and its rows into blocks of streamKC; block by block, each panel's rows
// are stored one after the other (a 32 KB run on avx512), the panels in
// order, so that a worker's panels of a block are one contiguous run of
// memory, read as a stream; the stream kernels keep a tile of C in
// registers over a block and prefetch ahead.
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
	full int       // columns in full panels (n rounded down to pw)
	data []float32 // the full panels: block k0's panel j at k0·full + j·kcur·pw
	tail []float32 // the last n%pw columns, zero-padded to a k×pw panel
}

// PackStreamInPlace packs B (k×n, row-major, ldb = n) in b's own memory,
// which the StreamB keeps: the caller gives b up. A layer's weights are
// so packed without a second copy of them (AlexNet's fc6 is 151 MB).
func PackStreamInPlace(k, n int, b []float32) *StreamB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: negative dimension for stream b (%d×%d)", k, n))
	}
	need("b", len(b), k, n, n)
	return packStreamFor(active, k, n, b[:k*n])
}

// packStreamFor packs b (k×n, row-major, len k·n) in place for family f:
// the last n%pw columns are copied out into the tail panel, the full
// panels' columns closed up to rows of full floats, and each block of
// streamKC rows rearranged panel by panel through a scratch copy of it.
func packStreamFor(f *family, k, n int, b []float32) *StreamB {
	s := &StreamB{k: k, n: n, fam: f, data: b}
	if f.stream == nil || k == 0 || n == 0 {
		return s
	}
	pw := f.streamW
	full := n / pw * pw
	s.pw, s.full = pw, full
	if full < n {
		s.tail = make([]float32, k*pw)
		for i := range k {
			copy(s.tail[i*pw:], b[i*n+full:(i+1)*n])
		}
		for i := 1; i < k; i++ {
			copy(b[i*full:(i+1)*full], b[i*n:i*n+full])
		}
	}
	s.data = b[:k*full]
	scratch := make([]float32, min(k, streamKC)*full)
	for k0 := 0; k0 < k; k0 += streamKC {
		kcur := min(streamKC, k-k0)
		blk := s.data[k0*full : (k0+kcur)*full]
		copy(scratch, blk)
		for p := 0; p < full; p += pw {
			dst := blk[p*kcur:]
			for i := range kcur {
				copy(dst[i*pw:(i+1)*pw], scratch[i*full+p:])
			}
		}
	}
	return s
}

// chunk returns the kcur×pw values of panel p in the block of rows from
// k0 on.
func (s *StreamB) chunk(k0, kcur, p int) []float32 {
	if j := p * s.pw; j < s.full {
		off := k0*s.full + j*kcur
		return s.data[off : off+kcur*s.pw]
	}
	return s.tail[k0*s.pw : (k0+kcur)*s.pw]
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
		// A last panel narrower than pw goes through a tile (the
		// largest kernel: avx512's 14 rows × 32).
		var tile [14 * 32]float32
		mr := len(f.stream)
		// Block by block, then panel by panel: a worker's panels of a
		// block are contiguous, one run for the prefetch to follow.
		for k0 := 0; k0 < k; k0 += streamKC {
			kcur := min(streamKC, k-k0)
			for p := p0; p < p1; p++ {
				j0 := p * pw
				w := min(pw, n-j0)
				panel := sb.chunk(k0, kcur, p)
				for i0 := 0; i0 < m; i0 += mr {
					r := min(mr, m-i0)
					kern := f.stream[r-1]
					if w == pw {
						kern(kcur, &a[i0*lda+k0], lda, &panel[0], &c[i0*ldc+j0], ldc)
						continue
					}
					t := tile[:r*pw]
					clear(t)
					kern(kcur, &a[i0*lda+k0], lda, &panel[0], &t[0], pw)
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
// them PackStreamInPlace keeps B row-major and SgemmStream runs SgemmRows
// or Sgemm on it.
func Streams() bool { return active.stream != nil }
