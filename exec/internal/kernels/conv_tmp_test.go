package kernels

import (
	"fmt"
	"testing"

	"github.com/kconv/kconv/exec/internal/gemm"
)

func BenchmarkTmpT1(b *testing.B) {
	gemm.SetThreads(1)
	defer gemm.SetThreads(0)
	for _, l := range vggConvLayers {
		p := vggConvParams(l.hw, l.c, l.outC)
		b.Run(fmt.Sprintf("%dx%dx%d-%d", l.hw, l.hw, l.c, l.outC), func(b *testing.B) {
			benchConv(b, p)
		})
	}
}
