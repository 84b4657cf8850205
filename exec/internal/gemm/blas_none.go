//go:build !openblas || !cgo

package gemm

// blasFamilies is empty without the openblas build tag.
func blasFamilies() []*family { return nil }
