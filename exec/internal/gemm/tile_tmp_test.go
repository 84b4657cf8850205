package gemm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func BenchmarkTile2Tmp(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{784, 512, 4608}, {3136, 256, 2304}} {
		for _, tile := range []int{64, 98, 128, 196, 392} {
			for _, workers := range []int{1, 2} {
				a := make([]float32, s.m*s.k)
				w := make([]float32, s.k*s.n)
				c := make([]float32, s.m*s.n)
				b.Run(fmt.Sprintf("m%d_k%d/tile%d/w%d", s.m, s.k, tile, workers), func(b *testing.B) {
					for b.Loop() {
						var next atomic.Int64
						var wg sync.WaitGroup
						for range workers {
							wg.Add(1)
							go func() {
								defer wg.Done()
								for {
									i0 := int(next.Add(int64(tile))) - tile
									if i0 >= s.m {
										return
									}
									mm := min(tile, s.m-i0)
									SgemmSerial(false, false, mm, s.n, s.k, 1, a[i0*s.k:], s.k, w, s.n, 0, c[i0*s.n:], s.n)
								}
							}()
						}
						wg.Wait()
					}
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
