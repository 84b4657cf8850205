//go:build !purego

package gemm

import (
	"fmt"
	"testing"
)

func familyByName(name string) *family {
	for _, f := range families {
		if f.name == name {
			return f
		}
	}
	return nil
}

// BenchmarkBlocking measures the avx512 driver's block sizes and B packing
// choice on the conv shapes (the numbers behind newBlocked's defaults).
func BenchmarkBlocking(b *testing.B) {
	if familyByName("avx512") == nil {
		b.Skip("no AVX-512")
	}
	for _, s := range convShapes {
		for _, kc := range []int{256, 384, 512} {
			for _, pm := range []int{0, 1 << 30} {
				bl := &blocked{mr: 14, nr: 32, kernN: sgemmKernAVX512N, kernP: sgemmKernAVX512P, kc: kc, nc: (1 << 20) / (4 * kc) / 32 * 32, packMinM: pm}
				f := &family{name: "t", sgemm: bl.sgemm}
				b.Run(fmt.Sprintf("%s/kc=%d/pack=%v", s.name, kc, pm == 0), func(b *testing.B) { benchGemm(b, familyGemm(f), s.m, s.n, s.k) })
			}
		}
	}
}

// BenchmarkKernOnly is the avx512 micro-kernel alone on L1-resident data:
// its ceiling, to compare with BenchmarkPeakFMA.
func BenchmarkKernOnly(b *testing.B) {
	if familyByName("avx512") == nil {
		b.Skip("no AVX-512")
	}
	for _, kc := range []int{64, 256, 384} {
		a := make([]float32, 14*kc)
		w := make([]float32, 32*kc)
		c := make([]float32, 14*32)
		b.Run(fmt.Sprintf("P/kc=%d", kc), func(b *testing.B) {
			bestRun(b, 2*14*32*float64(kc)*100, func() {
				for range 100 {
					sgemmKernAVX512P(kc, &a[0], nil, 0, &w[0], 32, &c[0], 32, 1, 1)
				}
			})
		})
		b.Run(fmt.Sprintf("N/kc=%d", kc), func(b *testing.B) {
			a := make([]float32, 14*kc)
			bestRun(b, 2*14*32*float64(kc)*100, func() {
				for range 100 {
					sgemmKernAVX512N(kc, &a[0], &a[0], kc, &w[0], 32, &c[0], 32, 1, 1)
				}
			})
		})
	}
}
