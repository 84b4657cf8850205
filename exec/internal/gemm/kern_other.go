//go:build purego || !(amd64 || arm64)

package gemm

// archFamilies lists the assembly families this CPU can run: none in
// purego builds and on architectures without kernels.
func archFamilies() []*family { return nil }
