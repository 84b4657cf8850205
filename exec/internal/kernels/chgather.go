package kernels

import (
	"fmt"

	"github.com/kconv/kconv/exec/internal/par"
)

// ChannelGather writes, for each of pixels pixels of c channels in x
// (channels-last), the channels idx names in that order into dst
// (len(idx) channels per pixel): a Gather on the channel axis of an NHWC
// tensor, such as ShuffleNet's channel shuffle and its halves (indices
// that interleave a few runs of consecutive channels take a loop per
// run). It splits its work on pl.
func ChannelGather(dst, x []float32, pixels, c int, idx []int, pl *par.Pool) {
	k := len(idx)
	if len(x) != pixels*c || len(dst) != pixels*k {
		panic(fmt.Sprintf("kernels: channel gather of %d pixels × %d channels → %d: buffers of %d and %d", pixels, c, k, len(x), len(dst)))
	}
	for _, i := range idx {
		if i < 0 || i >= c {
			panic(fmt.Sprintf("kernels: channel gather index %d out of range [0, %d)", i, c))
		}
	}
	if pixels == 0 || k == 0 {
		return
	}
	if g := interleaved(idx); g > 0 {
		if parChunks(pl.Workers(), pixels, 2*k) == 1 {
			channelInterleave(dst, x, c, idx, g, 0, pixels)
			return
		}
		parRange(pl, pixels, 2*k, func(lo, hi int) { channelInterleave(dst, x, c, idx, g, lo, hi) })
		return
	}
	if parChunks(pl.Workers(), pixels, 2*k) == 1 {
		channelGather(dst, x, c, idx, 0, pixels)
		return
	}
	parRange(pl, pixels, 2*k, func(lo, hi int) { channelGather(dst, x, c, idx, lo, hi) })
}

// interleaved returns g in 1..4 when idx interleaves g runs of consecutive
// channels (idx[j] = idx[j mod g] + j/g, len(idx) a multiple of g: a
// plain slice is g = 1, a channel shuffle of g groups or half of one of 2
// groups g), else 0.
func interleaved(idx []int) int {
	for g := 1; g <= 4; g++ {
		if len(idx)%g != 0 {
			continue
		}
		ok := true
		for j := g; j < len(idx) && ok; j++ {
			ok = idx[j] == idx[j%g]+j/g
		}
		if ok {
			return g
		}
	}
	return 0
}

// channelInterleave is channelGather for indices that interleave g runs.
func channelInterleave(dst, x []float32, c int, idx []int, g, lo, hi int) {
	k := len(idx)
	n := k / g
	for p := lo; p < hi; p++ {
		src := x[p*c : p*c+c]
		out := dst[p*k : p*k+k]
		switch g {
		case 1:
			copy(out, src[idx[0]:idx[0]+k])
		case 2:
			s0, s1 := src[idx[0]:idx[0]+n], src[idx[1]:idx[1]+n]
			out = out[:2*n]
			for i, v := range s0 {
				o := out[2*i : 2*i+2 : 2*i+2]
				o[0], o[1] = v, s1[i]
			}
		default:
			for j := range g {
				s := src[idx[j] : idx[j]+n]
				for i, v := range s {
					out[i*g+j] = v
				}
			}
		}
	}
}

func channelGather(dst, x []float32, c int, idx []int, lo, hi int) {
	k := len(idx)
	for p := lo; p < hi; p++ {
		src := x[p*c : p*c+c]
		out := dst[p*k : p*k+k]
		for j, i := range idx {
			out[j] = src[i]
		}
	}
}

// RefChannelGather is ChannelGather from the definition, element by
// element.
func RefChannelGather(x []float32, pixels, c int, idx []int) []float32 {
	out := make([]float32, pixels*len(idx))
	for p := range pixels {
		for j, i := range idx {
			out[p*len(idx)+j] = x[p*c+i]
		}
	}
	return out
}
