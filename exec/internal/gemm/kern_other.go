//go:build purego || !(amd64 || arm64)

package gemm

// archFamilies lists the assembly families this CPU can run: none in
// purego builds and on architectures without kernels.
func archFamilies() []*family { return nil }

// L2Bytes reports the per-core L2 cache size in bytes: 1 MiB, assumed.
func L2Bytes() int { return 1 << 20 }
