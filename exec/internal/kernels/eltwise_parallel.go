package kernels

import "sync"

// parGrain is the amount of work (roughly, inner-loop element operations)
// below which splitting a range over goroutines does not pay.
const parGrain = 1 << 15

// parChunks returns how many chunks parRange would use to split n items that
// each cost about perItem element operations over at most threads goroutines.
func parChunks(threads, n, perItem int) int {
	if threads <= 1 || n <= 1 {
		return 1
	}
	if perItem < 1 {
		perItem = 1
	}
	minItems := (parGrain + perItem - 1) / perItem
	w := n / minItems
	if w > threads {
		w = threads
	}
	if w < 1 {
		w = 1
	}
	return w
}

// parRange splits [0, n) into parChunks(threads, n, perItem) contiguous
// chunks and runs fn on each, concurrently when there is more than one. The
// calling goroutine runs the first chunk, so at most threads goroutines work
// at once. Callers that care about allocation-free serial calls check
// parChunks first and call their worker directly when it is 1.
func parRange(threads, n, perItem int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	w := parChunks(threads, n, perItem)
	if w == 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for i := 1; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/w)
	wg.Wait()
}
