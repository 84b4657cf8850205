package kernels

import (
	"fmt"

	"github.com/kconv/kconv/exec/internal/gemm"
)

// SplitConv is a convolution whose 32-channel blocks carry more packed
// weights than a core's L2 can hold twice over, computed as SmallConvs
// over chunks of its input channels: the first writes its sums plus the
// bias, each next one adds its own to what is there (SmallConv's residual
// epilogue, reading and writing the output in place), the last applies
// the activation.
//
// Why: at batch 1 a late layer's weights come from memory, and SmallConv
// brings the next block's weights into L2 while it computes the current
// block's rows; where a block's weights (taps × 32 floats) are over
// splitBytes, current and next do not fit together, the prefetch evicts
// what the current block still needs, and each block's first row waits on
// memory. Wide ResNet-50-2's 7²×1024→1024 3×3 (1.2 MB a block, 38 MB in
// all) took 5.3-5.6 ms on two threads with its weights from memory, in two
// chunks of 512 channels 3.8-4.5 ms (ORT: 4.0).
type SplitConv struct {
	p     ConvParams
	parts []*SmallConv
	c0    []int // each part's first input channel
}

// splitBytes bounds one block's packed weights for SmallConv alone (see
// SplitConv): a third of the core's L2, where the prefetched next block
// still fits beside the current one (2 MB on the Xeon measured: 680 KB,
// so its 7²×512→512 3×3s, 590 KB a block, stay whole; split in two they
// measured the same or 5% faster, so on a 1 MB L2 they split).
func splitBytes() int { return gemm.L2Bytes() / 3 }

// splitMaxPixels bounds the output map of a layer SplitConv takes: a late
// layer's, few rows reusing each block's weights, where the first row's
// wait on memory is most of the block's time (measured on 7×7 maps).
const splitMaxPixels = 14 * 14

// SplitConvPays reports whether NewSplitConv splits p: SmallConv runs it
// (SmallConvPays), its output map is small (splitMaxPixels), its blocks'
// weights are over splitBytes, and it is an ungrouped convolution whose
// input channels split into equal chunks of a multiple of 16, 64 or more.
func SplitConvPays(p ConvParams, act Activation) bool {
	q := p.norm()
	return SmallConvPays(p, act, false) && q.Groups == 1 && q.OutH()*q.OutW() <= splitMaxPixels && splitParts(q) > 1
}

// splitParts is how many input-channel chunks p's blocks need: the fewest
// that bring a block under splitBytes in equal chunks of a multiple of
// 16 channels, 64 or more; 1 where there are none.
func splitParts(q ConvParams) int {
	block, limit := 4*q.KH*q.KW*q.C*32, splitBytes()
	for parts := (block + limit - 1) / limit; parts > 1 && q.C/parts >= 64; parts++ {
		if q.C%parts == 0 && (q.C/parts)%16 == 0 {
			return parts
		}
	}
	return 1
}

// NewSplitConv packs the HWIO kernel of p into SmallConvs (direct kernel)
// over equal chunks of its input channels. It rearranges kernel in place
// (each chunk's taps made contiguous), so that the chunks are packed
// without copies of the kernel: the caller's buffer is garbage afterwards.
func NewSplitConv(kernel []float32, p ConvParams) *SplitConv {
	q := p.norm()
	q.N = 1
	parts := splitParts(q)
	if parts < 2 || q.Groups != 1 {
		panic(fmt.Sprintf("kernels: SplitConv does not split %+v", p))
	}
	taps := q.KH * q.KW
	convCheckLen("conv kernel", kernel, taps*q.C*q.OutC)
	cc := q.C / parts
	// HWIO is taps × parts blocks of cc·OutC values; transposed to parts
	// × taps, chunk h's kernel is the h-th run of taps·cc·OutC values.
	transposeBlocks(kernel[:taps*q.C*q.OutC], taps, parts, cc*q.OutC)
	s := &SplitConv{p: q}
	pc := q
	pc.C = cc
	n := taps * cc * q.OutC
	for h := range parts {
		s.parts = append(s.parts, NewSmallConvDirect(kernel[h*n:(h+1)*n], pc))
		s.c0 = append(s.c0, h*cc)
	}
	return s
}

// transposeBlocks transposes in place the rows×cols matrix of blocks of bw
// values in a (block (r, c) at r·cols + c) into cols×rows, following each
// cycle of the permutation with a block in hand.
func transposeBlocks(a []float32, rows, cols, bw int) {
	nb := rows * cols
	done := make([]bool, nb)
	carry, tmp := make([]float32, bw), make([]float32, bw)
	for i := range nb {
		if done[i] {
			continue
		}
		copy(carry, a[i*bw:(i+1)*bw])
		for j := i; ; {
			d := (j%cols)*rows + j/cols // where block j goes
			blk := a[d*bw : (d+1)*bw]
			copy(tmp, blk)
			copy(blk, carry)
			carry, tmp = tmp, carry
			done[d] = true
			if j = d; d == i {
				break
			}
		}
	}
}

// Conv2D computes act(conv(in) + bias) into out, as SmallConv.Conv2D does
// (the sums in another order: chunk by chunk of input channels).
func (s *SplitConv) Conv2D(p ConvParams, in, bias []float32, act Activation, out []float32, ws *Workspace) {
	q := p.norm()
	one := q
	one.N = 1
	if one != s.p {
		panic(fmt.Sprintf("kernels: SplitConv for %+v cannot run %+v", s.p, p))
	}
	convCheckLen("conv input", in, p.InLen())
	convCheckLen("conv output", out, p.OutLen())
	if bias != nil {
		convCheckLen("conv bias", bias, p.OutC)
	}
	// The part before adds the output it reads in its micro-kernel's
	// epilogue, before it stores there; an activation that epilogue does
	// not apply would come after an add from a separate pass, which would
	// read sums already overwritten: it is applied at the end instead.
	last, after := len(s.parts)-1, scEpiFor(act).kind == scEpiNone && !act.IsLinear()
	for i, sc := range s.parts {
		pc := q
		pc.C = sc.p.C
		var skip []float32
		b, a := bias, Activation{}
		if i > 0 {
			skip, b = out, nil
		}
		if i == last && !after {
			a = act
		}
		sc.runAll(pc, in[s.c0[i]:], scInput{ldi: q.C}, b, skip, a, 0, nil, out, q.OutC, ws)
	}
	if after {
		convActPar(out[:p.OutLen()], act, ws)
	}
}
