package main

import (
	"fmt"
	"math"
)

// flagCheck is the error of one numeric flag's check, nil when valid.
type flagCheck error

// checkFlags returns, as a usage error (exit 2), the first failed check.
// Every command validates its numeric flags this way before loading
// anything, so a bad value never reaches a slice bound or an allocation.
func checkFlags(checks ...flagCheck) error {
	for _, c := range checks {
		if c != nil {
			return usageError{c}
		}
	}
	return nil
}

// positive checks that --name is at least 1.
func positive(name string, v int) flagCheck {
	if v < 1 {
		return fmt.Errorf("--%s %d: must be at least 1", name, v)
	}
	return nil
}

// notNegative checks that --name is 0 or more.
func notNegative(name string, v int) flagCheck {
	if v < 0 {
		return fmt.Errorf("--%s %d: must not be negative", name, v)
	}
	return nil
}

// finiteNotNegative checks that --name is a finite number, 0 or more.
func finiteNotNegative(name string, v float64) flagCheck {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("--%s %v: must be a finite number, not negative", name, v)
	}
	return nil
}

// finite checks that --name is a finite number.
func finite(name string, v float64) flagCheck {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("--%s %v: must be a finite number", name, v)
	}
	return nil
}

// maxThreads bounds --threads: more workers than this only costs memory.
const maxThreads = 4096

// threadsOK checks --threads: 0 (all cores) up to maxThreads.
func threadsOK(v int) flagCheck {
	if v < 0 || v > maxThreads {
		return fmt.Errorf("--threads %d: must be 0 (all cores) to %d", v, maxThreads)
	}
	return nil
}
