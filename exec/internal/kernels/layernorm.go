package kernels

import "math"

// LayerNorm normalizes rows of n values: y = (x − mean)/sqrt(var + eps)·
// gamma + beta over each row (gamma, beta: n values each, or nil for 1
// and 0). Mean and variance accumulate in float64 (two passes).
func LayerNorm(y, x []float32, n int, gamma, beta []float32, eps float32) {
	if n < 1 || len(x)%n != 0 {
		panic("kernels: bad layer norm sizes")
	}
	convCheckLen("layer norm output", y, len(x))
	if gamma != nil {
		convCheckLen("layer norm gamma", gamma, n)
	}
	if beta != nil {
		convCheckLen("layer norm beta", beta, n)
	}
	for r := 0; r*n < len(x); r++ {
		xr, yr := x[r*n:(r+1)*n], y[r*n:(r+1)*n]
		var sum float64
		for _, v := range xr {
			sum += float64(v)
		}
		mean := sum / float64(n)
		var sq float64
		for _, v := range xr {
			d := float64(v) - mean
			sq += d * d
		}
		inv := 1 / math.Sqrt(sq/float64(n)+float64(eps))
		for i, v := range xr {
			o := (float64(v) - mean) * inv
			if gamma != nil {
				o *= float64(gamma[i])
			}
			if beta != nil {
				o += float64(beta[i])
			}
			yr[i] = float32(o)
		}
	}
}

// LayerNormRef is the reference of LayerNorm: the textbook one-pass
// formula var = E[x²] − E[x]², everything in float64.
func LayerNormRef(y, x []float32, n int, gamma, beta []float32, eps float32) {
	for r := 0; r*n < len(x); r++ {
		var s, s2 float64
		for i := 0; i < n; i++ {
			v := float64(x[r*n+i])
			s += v
			s2 += v * v
		}
		mean := s / float64(n)
		variance := s2/float64(n) - mean*mean
		for i := 0; i < n; i++ {
			g, b := 1.0, 0.0
			if gamma != nil {
				g = float64(gamma[i])
			}
			if beta != nil {
				b = float64(beta[i])
			}
			y[r*n+i] = float32((float64(x[r*n+i])-mean)/math.Sqrt(variance+float64(eps))*g + b)
		}
	}
}
