//go:build race

package kernels

// scRace: the race detector allocates on synchronisation; allocation counts
// are not checked under it.
const scRace = true
