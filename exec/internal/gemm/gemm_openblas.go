//go:build openblas && cgo

package gemm

import "github.com/kconv/kconv/exec/internal/gemm/openblas"

// blasFamilies is OpenBLAS, kept single-threaded: the Go side owns the
// parallelism (see the package doc).
func blasFamilies() []*family {
	return []*family{{name: "openblas", sgemm: openblas.Sgemm, sgemv: openblas.Sgemv}}
}

func blasThreads(n int) { openblas.SetThreads(n) }
