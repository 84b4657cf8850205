package gemm

import (
	"fmt"
	"testing"
)

func BenchmarkTune(b *testing.B) {
	for _, s := range convShapes {
		for _, kc := range []int{192, 288, 384} {
			for _, pm := range []int{0, 1 << 30} {
				bl := &blocked{mr: 14, nr: 32, kernN: sgemmKernAVX512N, kernP: sgemmKernAVX512P, kc: kc, nc: (1 << 20) / (4 * kc) / 32 * 32, packMinM: pm}
				f := &family{name: "t", sgemm: bl.sgemm}
				b.Run(fmt.Sprintf("%s/kc=%d/pack=%v", s.name, kc, pm == 0), func(b *testing.B) { benchGemm(b, familyGemm(f), s.m, s.n, s.k) })
			}
		}
	}
}
