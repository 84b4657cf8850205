package kernels

// itemFunc adapts a closure over item indices to par.Job (for kernels
// whose items need no per-worker state).
type itemFunc func(item int)

// RunItem runs item.
func (f itemFunc) RunItem(_, item int) { f(item) }
