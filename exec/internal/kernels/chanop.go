package kernels

import "fmt"

// ChannelOp computes the broadcast dst = op(x, y) (op(y, x) when yFirst)
// of an NHWC tensor x (n samples × hw pixels × c channels) with y, which
// holds c values per sample (ystride c) or one set for every sample
// (ystride 0): a squeeze-and-excitation channel scale (Mul) or a
// per-sample channel shift (Add), kept in the channels-last layout the
// convolutions use. Its reference is RefBinary over shapes (n, hw, c) and
// (n or 1, 1, c). dst may be x. Rows are shared out on ws.Par().
func ChannelOp(op BinaryOp, dst, x []float32, n, hw, c int, y []float32, ystride int, yFirst bool, ws *Workspace) {
	shapeCheckLen("channel op input", x, n*hw*c)
	shapeCheckLen("channel op output", dst, n*hw*c)
	if ystride != 0 && ystride != c {
		panic(fmt.Sprintf("kernels: channel op stride %d, want 0 or %d", ystride, c))
	}
	shapeCheckLen("channel op operand", y, max(1, n*ystride/max(c, 1))*c)
	if n*hw*c == 0 {
		return
	}
	rows := n * hw
	f := func(r0, r1 int) {
		for r0 < r1 {
			s := r0 / hw
			r := min(r1, (s+1)*hw) // rows of sample s
			ys := y[s*ystride : s*ystride+c]
			chanOpRows(op, dst[r0*c:r*c], x[r0*c:r*c], ys, c, yFirst)
			r0 = r
		}
	}
	pool := ws.Par()
	if rows*c < 1<<17 || pool.Workers() == 1 {
		f(0, rows)
		return
	}
	pool.For(rows, 1, f)
}

// chanOpRows applies op over whole rows of c channels.
func chanOpRows(op BinaryOp, dst, x, y []float32, c int, yFirst bool) {
	if (op == OpAdd || op == OpMul) && simdAVX512() {
		tail := uint64(0xFFFF)
		if c%16 != 0 {
			tail = 1<<(c%16) - 1
		}
		mul := 0
		if op == OpMul {
			mul = 1
		}
		chanOpAVX512(&dst[0], &x[0], &y[0], len(x)/c, c, tail, mul)
		return
	}
	for r := 0; r < len(x); r += c {
		xr, dr := x[r:r+c], dst[r:r+c]
		if yFirst {
			binVV(op, dr, y, xr)
		} else {
			binVV(op, dr, xr, y)
		}
	}
}

// ChannelAffineAct computes dst = act(x·scale + shift) per channel over
// rows of c channels: an inference batch normalization on channels-last
// data with the activation after it fused (DenseNet's pre-activation BN →
// ReLU), out of place and on ws.Par(), where ChannelAffine is the serial
// in-place affine alone. dst may be x. Clamp activations (ReLU, ReLU6,
// Clip) are fused into the vector kernel's stores (an FMA: one rounding),
// others run over each chunk after it. Its reference is
// RefChannelAffineAct.
func ChannelAffineAct(dst, x []float32, c int, scale, shift []float32, act Activation, ws *Workspace) {
	if c < 1 || len(x)%c != 0 {
		panic(fmt.Sprintf("kernels: channel affine over %d values is not whole rows of %d", len(x), c))
	}
	shapeCheckLen("channel affine output", dst, len(x))
	shapeCheckLen("channel affine scale", scale, c)
	shapeCheckLen("channel affine shift", shift, c)
	rows := len(x) / c
	lo, hi, fused := act.clampBounds()
	f := func(r0, r1 int) {
		d, s := dst[r0*c:r1*c], x[r0*c:r1*c]
		if len(d) == 0 {
			return
		}
		if simdAVX512() && fused {
			tail := uint64(0xFFFF)
			if c%16 != 0 {
				tail = 1<<(c%16) - 1
			}
			chanAffineAVX512(&d[0], &s[0], &scale[0], &shift[0], r1-r0, c, tail, lo, hi)
			return
		}
		for r := 0; r < len(s); r += c {
			dr, sr := d[r:r+c], s[r:r+c]
			for k := range dr {
				dr[k] = sr[k]*scale[k] + shift[k]
			}
		}
		act.ApplyFast(d)
	}
	pool := ws.Par()
	if len(x) < 1<<17 || pool.Workers() == 1 {
		f(0, rows)
		return
	}
	pool.For(rows, 1, f)
}

// RefChannelAffineAct is ChannelAffineAct from the definition, the affine
// in float64.
func RefChannelAffineAct(x []float32, c int, scale, shift []float32, act Activation) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		k := i % c
		out[i] = float32(float64(v)*float64(scale[k]) + float64(shift[k]))
	}
	act.Apply(out)
	return out
}

// gapTile is the average branch of globalPoolTiles on AVX-512: o[k] is
// the mean over hw pixels (rows of c floats from x) of channel k, summed
// in float64 in pixel order like the Go loop, so the results are
// identical.
func gapTile(o, x []float32, hw, c int) {
	n := len(o)
	_ = x[(hw-1)*c+n-1] // bounds: the last value read
	gapAVX512(&o[0], &x[0], hw, c, n, gapTail(n), 1/float64(hw), nil)
}

// gapSums sets sums[k] to the float64 sum over hw pixels (rows of c floats
// from x) of channel k < len(sums), in pixel order: gapChunked's partial
// sums, on AVX-512 or in Go with the same arithmetic.
func gapSums(sums []float64, x []float32, hw, c int) {
	n := len(sums)
	if n == 0 || hw == 0 {
		clear(sums)
		return
	}
	_ = x[(hw-1)*c+n-1]
	if simdAVX512() {
		gapAVX512(nil, &x[0], hw, c, n, gapTail(n), 0, &sums[0])
		return
	}
	clear(sums)
	for i := range hw {
		for k, v := range x[i*c : i*c+n] {
			sums[k] += float64(v)
		}
	}
}

// gapTail is the lane mask of the last 8 of n channels.
func gapTail(n int) uint64 {
	if n%8 != 0 {
		return 1<<(n%8) - 1
	}
	return 0xFF
}
