//go:build race

package exec

// raceBuild: the race detector allocates on synchronisation; allocation
// counts are not checked under it.
const raceBuild = true
