package gemm

import (
	"fmt"

	"github.com/kconv/kconv/exec/internal/par"
)

// PackedB is a k×n matrix op(B) packed once, for many products with
// different A: a layer's constant weights. Packing costs about as much as
// reading B; Sgemm repacks B on every call (and in every worker), which
// for small m (late conv layers, Winograd's per-point products, small
// batches) is a sizeable part of the call. A PackedB is read-only after
// PackB and may be shared by goroutines; it is laid out for the family
// active when it was made.
type PackedB struct {
	k, n int
	fam  *family
	data []float32 // blocked families: fam.bl.packB's layout; others: op(B) row-major k×n
}

// PackB packs op(B) (B is k×n with ldb ≥ n, or n×k with ldb ≥ k when
// transB). It panics, like Sgemm, when b is too short for its shape.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	return packBFor(active, transB, k, n, b, ldb)
}

func packBFor(f *family, transB bool, k, n int, b []float32, ldb int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: negative dimension for packed b (%d×%d)", k, n))
	}
	if transB {
		need("b", len(b), n, k, ldb)
	} else {
		need("b", len(b), k, n, ldb)
	}
	p := &PackedB{k: k, n: n, fam: f}
	switch {
	case k == 0 || n == 0:
	case f.bl != nil:
		p.data = f.bl.packB(transB, k, n, b, ldb)
	default:
		p.data = make([]float32, k*n)
		for i := range k {
			for j := range n {
				if transB {
					p.data[i*n+j] = b[j*ldb+i]
				} else {
					p.data[i*n+j] = b[i*ldb+j]
				}
			}
		}
	}
	return p
}

// K reports op(B)'s rows.
func (p *PackedB) K() int { return p.k }

// N reports op(B)'s columns.
func (p *PackedB) N() int { return p.n }

// SgemmPacked is Sgemm with op(B) = pb: C = alpha*op(A)*pb + beta*C, op(A)
// m×pb.K() (A is m×k with lda ≥ k, or k×m with lda ≥ m when transA), C
// m×pb.N() with ldc ≥ pb.N(). Large products are split by rows of C
// across pl's workers (they share pb; nil pl: serial).
func SgemmPacked(pl *par.Pool, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	n, k := pb.n, pb.k
	if pb.trivial(transA, m, alpha, a, lda, beta, c, ldc) {
		return
	}
	t := pl.Workers()
	if t > 1 && m >= 8*t && int64(m)*int64(n)*int64(k) >= int64(t)*8<<20 {
		pl.For(m, 16, func(i0, i1 int) {
			var aa []float32
			if transA {
				aa = a[i0:]
			} else {
				aa = a[i0*lda:]
			}
			pb.run(transA, i1-i0, alpha, aa, lda, beta, c[i0*ldc:], ldc)
		})
		return
	}
	pb.run(transA, m, alpha, a, lda, beta, c, ldc)
}

// SgemmPackedSerial is SgemmPacked on the calling goroutine only.
func SgemmPackedSerial(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	if pb.trivial(transA, m, alpha, a, lda, beta, c, ldc) {
		return
	}
	pb.run(transA, m, alpha, a, lda, beta, c, ldc)
}

// trivial is trivialGemm for a product with p. p.data stands in for B: it
// holds at least k·n floats (k×n with ldb = n passes trivialGemm's check).
func (p *PackedB) trivial(transA bool, m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) bool {
	return trivialGemm(transA, false, m, p.n, p.k, alpha, a, lda, p.data, max(1, p.n), beta, c, ldc)
}

func (p *PackedB) run(transA bool, m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	if p.fam.bl != nil {
		p.fam.bl.run(transA, false, m, p.n, p.k, alpha, a, lda, nil, 0, p.data, beta, c, ldc)
		return
	}
	p.fam.sgemm(transA, false, m, p.n, p.k, alpha, a, lda, p.data, p.n, beta, c, ldc)
}
