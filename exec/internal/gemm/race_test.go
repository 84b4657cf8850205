//go:build race

package gemm

// raceEnabled: the race detector slows the Go implementations ~20×.
const raceEnabled = true
