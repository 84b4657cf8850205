package kernels

import "fmt"

// StridedLen is the length of a slice holding rows rows of c floats ld
// floats apart (the last row ends at its c-th float): the buffer of one
// input's channels inside a channel concatenation of NHWC tensors, where a
// row is a pixel and ld the concatenation's channel count.
func StridedLen(rows, c, ld int) int {
	if rows == 0 {
		return 0
	}
	return (rows-1)*ld + c
}

func stridedCheck(what string, buf []float32, rows, c, ld int) {
	if ld < c || c < 1 || rows < 0 {
		panic(fmt.Sprintf("kernels: %s: %d-float rows %d apart", what, c, ld))
	}
	convCheckLen(what, buf, StridedLen(rows, c, ld))
}

// CopyStrided copies rows rows of c floats from src, lds floats apart, to
// dst, ldd floats apart (either may be c: packed). It is how a channel
// concatenation's input that its producer could not write in place gets
// into its slice.
func CopyStrided(dst []float32, ldd int, src []float32, lds int, rows, c int) {
	stridedCheck("strided copy destination", dst, rows, c, ldd)
	stridedCheck("strided copy source", src, rows, c, lds)
	if ldd == c && lds == c {
		copy(dst, src)
		return
	}
	for r := range rows {
		copy(dst[r*ldd:r*ldd+c], src[r*lds:r*lds+c])
	}
}

// ChannelAffineActStrided is ChannelAffineAct reading its rows of c
// channels ldx floats apart from x (a prefix of a wider channel
// concatenation: DenseNet's pre-activation BN → ReLU reading the first C_k
// channels of its block's buffer); dst is packed.
func ChannelAffineActStrided(dst, x []float32, rows, c, ldx int, scale, shift []float32, act Activation, ws *Workspace) {
	if ldx == c {
		ChannelAffineAct(dst, x, c, scale, shift, act, ws)
		return
	}
	stridedCheck("channel affine input", x, rows, c, ldx)
	shapeCheckLen("channel affine output", dst, rows*c)
	shapeCheckLen("channel affine scale", scale, c)
	shapeCheckLen("channel affine shift", shift, c)
	lo, hi, fused := act.clampBounds()
	f := func(r0, r1 int) {
		if r1 <= r0 {
			return
		}
		d := dst[r0*c : r1*c]
		if simdAVX512() && fused {
			tail := uint64(0xFFFF)
			if c%16 != 0 {
				tail = 1<<(c%16) - 1
			}
			chanAffineStridedAVX512(&d[0], &x[r0*ldx], &scale[0], &shift[0], r1-r0, c, ldx, tail, lo, hi)
			return
		}
		for r := r0; r < r1; r++ {
			dr, sr := dst[r*c:(r+1)*c], x[r*ldx:r*ldx+c]
			for k := range dr {
				dr[k] = sr[k]*scale[k] + shift[k]
			}
		}
		act.ApplyFast(d)
	}
	pool := ws.Par()
	if rows*c < 1<<15 || pool.Workers() == 1 {
		f(0, rows)
		return
	}
	pool.For(rows, 1, f)
}
