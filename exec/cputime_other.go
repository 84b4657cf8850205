//go:build !linux

package exec

import "time"

// threadCPU returns the calling OS thread's CPU time (0 where unknown).
func threadCPU() time.Duration { return 0 }
