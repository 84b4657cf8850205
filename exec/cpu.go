package exec

import (
	"time"

	"github.com/kconv/kconv/exec/internal/gemm"
)

// KernelFamily names the GEMM kernel family picked for this CPU at start-up
// ("avx512", "avx2", "neon" or "generic"; KCONV_CPU forces one, and the
// openblas build tag makes it "openblas").
func KernelFamily() string { return gemm.Name() }

// PeakGFLOPS measures one core's single-precision FMA peak on this machine
// (the widest vector unit the CPU runs; about d of work), so speeds can be
// reported as a share of the machine at hand rather than of a reference
// CPU. It returns 0 where kconv has no vector kernels.
func PeakGFLOPS(d time.Duration) float64 { return gemm.PeakGFLOPS(d) }
