package kernels

// itemFunc adapts a closure over item indices to par.Job (for kernels
// whose items need no per-worker state).
type itemFunc func(item int)

// RunItem runs item.
func (f itemFunc) RunItem(_, item int) { f(item) }

// workerFunc adapts a closure to par.Job for kernels that split their work
// themselves (an atomic tile counter) and start one item per worker: the
// item index is exclusive, so it can index per-worker scratch.
type workerFunc func(item int)

// RunItem runs item.
func (f workerFunc) RunItem(_, item int) { f(item) }
