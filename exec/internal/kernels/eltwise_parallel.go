package kernels

import "github.com/kconv/kconv/exec/internal/par"

// parGrain is the amount of work (roughly, inner-loop element operations)
// below which splitting a range over workers does not pay.
const parGrain = 1 << 17

// parChunks returns how many chunks parRange would use to split n items that
// each cost about perItem element operations over at most threads workers.
func parChunks(threads, n, perItem int) int {
	if threads <= 1 || n <= 1 {
		return 1
	}
	if perItem < 1 {
		perItem = 1
	}
	minItems := (parGrain + perItem - 1) / perItem
	return max(1, min(n/minItems, threads))
}

// vecChunks runs fn on w contiguous chunks of [0, n) on pl's workers, each
// a whole number of 16-float vectors but the last, which takes the tail:
// every element takes the same path through a vector kernel as in one
// call over [0, n).
func vecChunks(pl *par.Pool, w, n int, fn func(lo, hi int)) {
	v := n / 16
	pl.Do(w, w, itemFunc(func(i int) {
		lo, hi := 16*(i*v/w), 16*((i+1)*v/w)
		if i == w-1 {
			hi = n
		}
		fn(lo, hi)
	}))
}

// parRange splits [0, n) into parChunks(pl.Workers(), n, perItem)
// contiguous chunks and runs fn on each, on pl's workers when there is more
// than one (the calling goroutine included; pl's helpers are long-lived
// and poll between calls, where a goroutine started per call waited
// 50-100 µs for the other core on these VMs, longer than many pooling
// layers take). Callers that care about allocation-free serial calls check
// parChunks first and call their worker directly when it is 1.
func parRange(pl *par.Pool, n, perItem int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	w := parChunks(pl.Workers(), n, perItem)
	if w == 1 {
		fn(0, n)
		return
	}
	pl.Do(w, w, itemFunc(func(i int) { fn(i*n/w, (i+1)*n/w) }))
}
