package kernels

import "math"

// LayerNorm normalizes rows of n values: y = (x − mean)/sqrt(var + eps)·
// gamma + beta over each row (gamma, beta: n values each, or nil for 1
// and 0), the rows split over ws's workers (nil: serial). See
// layerNormRow for the arithmetic.
func LayerNorm(y, x []float32, n int, gamma, beta []float32, eps float32, ws *Workspace) {
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
	rows := len(x) / n
	parRange(ws.Par(), rows, 4*n, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			layerNormRow(y[r*n:(r+1)*n], x[r*n:(r+1)*n], gamma, beta, eps)
		}
	})
}

// layerNormRow normalizes one row: the mean, then the mean of squared
// deviations (two passes, as the reference's one-pass E[x²] − E[x]²
// cancels badly for rows far from zero), each summed in float32 over four
// lanes and combined in float64, then the affine map in float32.
func layerNormRow(yr, xr, gamma, beta []float32, eps float32) {
	n := len(xr)
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += xr[i]
		s1 += xr[i+1]
		s2 += xr[i+2]
		s3 += xr[i+3]
	}
	for ; i < n; i++ {
		s0 += xr[i]
	}
	mean := float32((float64(s0) + float64(s1) + float64(s2) + float64(s3)) / float64(n))
	s0, s1, s2, s3 = 0, 0, 0, 0
	i = 0
	for ; i+4 <= n; i += 4 {
		d0, d1, d2, d3 := xr[i]-mean, xr[i+1]-mean, xr[i+2]-mean, xr[i+3]-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < n; i++ {
		d := xr[i] - mean
		s0 += d * d
	}
	sq := float64(s0) + float64(s1) + float64(s2) + float64(s3)
	inv := float32(1 / math.Sqrt(sq/float64(n)+float64(eps)))
	yr = yr[:n]
	switch {
	case gamma != nil && beta != nil:
		gamma, beta = gamma[:n], beta[:n]
		for i, v := range xr {
			yr[i] = (v-mean)*inv*gamma[i] + beta[i]
		}
	case gamma != nil:
		gamma = gamma[:n]
		for i, v := range xr {
			yr[i] = (v - mean) * inv * gamma[i]
		}
	case beta != nil:
		beta = beta[:n]
		for i, v := range xr {
			yr[i] = (v-mean)*inv + beta[i]
		}
	default:
		for i, v := range xr {
			yr[i] = (v - mean) * inv
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
