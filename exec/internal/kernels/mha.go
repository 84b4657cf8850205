package kernels

import (
	"math"

	"github.com/kconv/kconv/exec/internal/gemm"
)

// MHAParams sizes a multi-head attention: batch N, query steps Tq, key and
// value steps Tv, input features Dq, Dk, Dv, H heads of key size K and
// value size V, Do output features.
type MHAParams struct{ N, Tq, Tv, Dq, Dk, Dv, H, K, V, Do int }

// MHAWeights are Keras's MultiHeadAttention weights (kernels (D, H, K)
// etc. row-major; biases nil when absent).
type MHAWeights struct{ Wq, Bq, Wk, Bk, Wv, Bv, Wo, Bo []float32 }

func (p MHAParams) check(q, k, v, out []float32, w MHAWeights) {
	if p.N < 0 || p.Tq < 1 || p.Tv < 1 || p.Dq < 1 || p.Dk < 1 || p.Dv < 1 || p.H < 1 || p.K < 1 || p.V < 1 || p.Do < 1 {
		panic("kernels: bad multi-head attention sizes")
	}
	convCheckLen("mha query", q, p.N*p.Tq*p.Dq)
	convCheckLen("mha key", k, p.N*p.Tv*p.Dk)
	convCheckLen("mha value", v, p.N*p.Tv*p.Dv)
	convCheckLen("mha output", out, p.N*p.Tq*p.Do)
	convCheckLen("mha query kernel", w.Wq, p.Dq*p.H*p.K)
	convCheckLen("mha key kernel", w.Wk, p.Dk*p.H*p.K)
	convCheckLen("mha value kernel", w.Wv, p.Dv*p.H*p.V)
	convCheckLen("mha output kernel", w.Wo, p.H*p.V*p.Do)
	for _, b := range []struct {
		b []float32
		n int
	}{{w.Bq, p.H * p.K}, {w.Bk, p.H * p.K}, {w.Bv, p.H * p.V}, {w.Bo, p.Do}} {
		if b.b != nil {
			convCheckLen("mha bias", b.b, b.n)
		}
	}
}

// project computes dst (rows, cols) = x (rows, in)·w (in, cols) + bias.
func project(dst, x, w, bias []float32, rows, in, cols int) {
	var beta float32
	if bias != nil {
		for r := 0; r < rows; r++ {
			copy(dst[r*cols:(r+1)*cols], bias)
		}
		beta = 1
	}
	gemm.SgemmSerial(false, false, rows, cols, in, 1, x, in, w, cols, beta, dst, cols)
}

// MHA computes Keras's MultiHeadAttention (query scaled by 1/sqrt(K)
// before the dot product, softmax over the key steps) with GEMMs; scratch
// comes from ws.
func MHA(p MHAParams, q, k, v, out []float32, w MHAWeights, ws *Workspace) {
	p.check(q, k, v, out, w)
	if p.N == 0 {
		return
	}
	hk, hv := p.H*p.K, p.H*p.V
	buf := ws.Get(p.N*p.Tq*hk + p.N*p.Tv*hk + p.N*p.Tv*hv + p.N*p.Tq*hv + p.Tq*p.Tv)
	qp, buf := buf[:p.N*p.Tq*hk], buf[p.N*p.Tq*hk:]
	kp, buf := buf[:p.N*p.Tv*hk], buf[p.N*p.Tv*hk:]
	vp, buf := buf[:p.N*p.Tv*hv], buf[p.N*p.Tv*hv:]
	ctx, s := buf[:p.N*p.Tq*hv], buf[p.N*p.Tq*hv:]
	project(qp, q, w.Wq, w.Bq, p.N*p.Tq, p.Dq, hk)
	project(kp, k, w.Wk, w.Bk, p.N*p.Tv, p.Dk, hk)
	project(vp, v, w.Wv, w.Bv, p.N*p.Tv, p.Dv, hv)
	scale := float32(1 / math.Sqrt(float64(p.K)))
	for b := 0; b < p.N; b++ {
		for h := 0; h < p.H; h++ {
			gemm.SgemmSerial(false, true, p.Tq, p.Tv, p.K, scale, qp[b*p.Tq*hk+h*p.K:], hk, kp[b*p.Tv*hk+h*p.K:], hk, 0, s, p.Tv)
			for r := 0; r < p.Tq; r++ {
				softmaxRow(s[r*p.Tv : (r+1)*p.Tv])
			}
			gemm.SgemmSerial(false, false, p.Tq, p.V, p.Tv, 1, s, p.Tv, vp[b*p.Tv*hv+h*p.V:], hv, 0, ctx[b*p.Tq*hv+h*p.V:], hv)
		}
	}
	project(out, ctx, w.Wo, w.Bo, p.N*p.Tq, hv, p.Do)
}

// MHARef is the naive reference of MHA, in float64, straight from Keras's
// einsum definitions.
func MHARef(p MHAParams, q, k, v, out []float32, w MHAWeights) {
	p.check(q, k, v, out, w)
	bias := func(b []float32, i int) float64 {
		if b == nil {
			return 0
		}
		return float64(b[i])
	}
	for b := 0; b < p.N; b++ {
		ctx := make([]float64, p.Tq*p.H*p.V)
		for h := 0; h < p.H; h++ {
			// Projections of this head.
			Q := make([]float64, p.Tq*p.K)
			for t := 0; t < p.Tq; t++ {
				for j := 0; j < p.K; j++ {
					a := bias(w.Bq, h*p.K+j)
					for d := 0; d < p.Dq; d++ {
						a += float64(q[(b*p.Tq+t)*p.Dq+d]) * float64(w.Wq[(d*p.H+h)*p.K+j])
					}
					Q[t*p.K+j] = a / math.Sqrt(float64(p.K))
				}
			}
			K := make([]float64, p.Tv*p.K)
			V := make([]float64, p.Tv*p.V)
			for t := 0; t < p.Tv; t++ {
				for j := 0; j < p.K; j++ {
					a := bias(w.Bk, h*p.K+j)
					for d := 0; d < p.Dk; d++ {
						a += float64(k[(b*p.Tv+t)*p.Dk+d]) * float64(w.Wk[(d*p.H+h)*p.K+j])
					}
					K[t*p.K+j] = a
				}
				for j := 0; j < p.V; j++ {
					a := bias(w.Bv, h*p.V+j)
					for d := 0; d < p.Dv; d++ {
						a += float64(v[(b*p.Tv+t)*p.Dv+d]) * float64(w.Wv[(d*p.H+h)*p.V+j])
					}
					V[t*p.V+j] = a
				}
			}
			for i := 0; i < p.Tq; i++ {
				sc := make([]float64, p.Tv)
				m := math.Inf(-1)
				for t := 0; t < p.Tv; t++ {
					for j := 0; j < p.K; j++ {
						sc[t] += Q[i*p.K+j] * K[t*p.K+j]
					}
					m = math.Max(m, sc[t])
				}
				var sum float64
				for t := range sc {
					sc[t] = math.Exp(sc[t] - m)
					sum += sc[t]
				}
				for j := 0; j < p.V; j++ {
					var a float64
					for t := 0; t < p.Tv; t++ {
						a += sc[t] / sum * V[t*p.V+j]
					}
					ctx[(i*p.H+h)*p.V+j] = a
				}
			}
		}
		for i := 0; i < p.Tq; i++ {
			for o := 0; o < p.Do; o++ {
				a := bias(w.Bo, o)
				for hv := 0; hv < p.H*p.V; hv++ {
					a += ctx[i*p.H*p.V+hv] * float64(w.Wo[hv*p.Do+o])
				}
				out[(b*p.Tq+i)*p.Do+o] = float32(a)
			}
		}
	}
}
