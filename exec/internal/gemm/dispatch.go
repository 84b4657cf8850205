package gemm

import (
	"fmt"
	"io"
	"os"
)

// family is one implementation of the package's kernels. The table of
// families is built once at package init from the CPU's features and never
// changes afterwards.
type family struct {
	name  string
	sgemm func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	sgemv func(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32)
	// rows, when set, adds A·B to C for a few rows of A, streaming B once
	// (SgemmRows); nil: SgemmRows uses sgemm.
	rows func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)
	// peak, when set, runs n iterations of independent FMAs on vectors of
	// peakWidth floats and reports the FMAs per iteration (benchmarks).
	peak      func(n int) int
	peakWidth int
	// stream, when set, holds the stream kernels (SgemmStream) by rows-1:
	// stream[r-1] adds r rows of A times a streamW-column panel of B.
	stream  []streamKern
	streamW int
	// bl is the blocked driver of the assembly families (nil otherwise):
	// PackB packs for it.
	bl *blocked
}

var generic = &family{name: "generic", sgemm: goSgemm, sgemv: goSgemv}

// families lists every family this machine can run, the default first:
// OpenBLAS in builds with the openblas tag, then the assembly families
// (avx512, avx2, ...) and the portable Go one.
var families = func() []*family {
	fs := blasFamilies()
	fs = append(fs, archFamilies()...)
	return append(fs, generic)
}()

// cpuEnv names the environment variable that overrides the choice.
const cpuEnv = "KCONV_CPU"

// active is the family Sgemm and Sgemv run: the first of families, or the
// one named by $KCONV_CPU (read once, at package init). A name this
// machine cannot run (or an unknown one) is reported on stderr and the
// default is kept, so Name() always tells the truth.
var active = pickFamily(families, os.Getenv(cpuEnv), os.Stderr)

func pickFamily(fs []*family, want string, warn io.Writer) *family {
	if want == "" {
		return fs[0]
	}
	for _, f := range fs {
		if f.name == want {
			return f
		}
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.name)
	}
	fmt.Fprintf(warn, "kconv: %s=%q is not available on this machine (have %v); using %s\n", cpuEnv, want, names, fs[0].name)
	return fs[0]
}

var backendName = active.name

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	active.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	active.sgemv(trans, m, n, alpha, a, lda, x, beta, y)
}
