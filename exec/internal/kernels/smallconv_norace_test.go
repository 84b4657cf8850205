//go:build !race

package kernels

const scRace = false
