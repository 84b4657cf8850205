package kernels

import (
	"math"

	"github.com/kconv/kconv/exec/internal/gemm"
)

// Attention computes out = softmax(q·kᵀ·scale)·v per sample: q (n, tq, d),
// k (n, tv, d), v (n, tv, dv), out (n, tq, dv). Scores come from ws.
func Attention(q, k, v, out []float32, n, tq, tv, d, dv int, scale float32, ws *Workspace) {
	if n < 0 || tq < 1 || tv < 1 || d < 1 || dv < 1 {
		panic("kernels: bad attention sizes")
	}
	convCheckLen("attention query", q, n*tq*d)
	convCheckLen("attention key", k, n*tv*d)
	convCheckLen("attention value", v, n*tv*dv)
	convCheckLen("attention output", out, n*tq*dv)
	s := ws.Get(tq * tv)
	for b := 0; b < n; b++ {
		gemm.SgemmSerial(false, true, tq, tv, d, scale, q[b*tq*d:], d, k[b*tv*d:], d, 0, s, tv)
		for r := 0; r < tq; r++ {
			softmaxRow(s[r*tv : (r+1)*tv])
		}
		gemm.SgemmSerial(false, false, tq, dv, tv, 1, s, tv, v[b*tv*dv:], dv, 0, out[b*tq*dv:], dv)
	}
}

// softmaxRow replaces x by its softmax (max subtracted first).
func softmaxRow(x []float32) {
	m := x[0]
	for _, e := range x {
		m = max(m, e)
	}
	var sum float32
	for i, e := range x {
		x[i] = float32(math.Exp(float64(e - m)))
		sum += x[i]
	}
	for i := range x {
		x[i] /= sum
	}
}

// AttentionRef is the naive reference of Attention, in float64.
func AttentionRef(q, k, v, out []float32, n, tq, tv, d, dv int, scale float32) {
	for b := 0; b < n; b++ {
		for i := 0; i < tq; i++ {
			sc := make([]float64, tv)
			m := math.Inf(-1)
			for j := 0; j < tv; j++ {
				var s float64
				for c := 0; c < d; c++ {
					s += float64(q[(b*tq+i)*d+c]) * float64(k[(b*tv+j)*d+c])
				}
				sc[j] = s * float64(scale)
				m = math.Max(m, sc[j])
			}
			var sum float64
			for j := range sc {
				sc[j] = math.Exp(sc[j] - m)
				sum += sc[j]
			}
			for c := 0; c < dv; c++ {
				var o float64
				for j := 0; j < tv; j++ {
					o += sc[j] / sum * float64(v[(b*tv+j)*dv+c])
				}
				out[(b*tq+i)*dv+c] = float32(o)
			}
		}
	}
}
