//go:build !purego

package gemm

import (
	"runtime"
	"testing"
)

//go:noinline
func notConst(v float32) float32 { return v }

// TestAsmFamiliesFlushDenormals: the assembly families' micro-kernels
// (GEMM, and the GEMV's dot and axpy kernels) compute with denormals
// flushed (../kernels/fpmode_amd64.h) and give the thread back with Go's
// default mode; the Go family keeps IEEE denormals.
func TestAsmFamiliesFlushDenormals(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const m, n, k = 16, 64, 128 // k: whole vectors for the GEMV kernels (Go code does tails)
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = 1e-30
	}
	for i := range b {
		b[i] = 1e-10 // each product ~1e-40: a denormal
	}
	x := make([]float32, k)
	for i := range x {
		x[i] = 1e-10
	}
	ran := 0
	for _, f := range families {
		if f.bl == nil {
			continue // not an assembly family
		}
		ran++
		c := make([]float32, m*n)
		f.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		y := make([]float32, m)
		f.sgemv(false, m, k, 1, a, k, x, 0, y)
		for i, v := range c {
			if v != 0 {
				t.Fatalf("%s: sgemm C[%d] = %g from products of 1e-30 and 1e-10: want 0 (flushed)", f.name, i, v)
			}
		}
		for i, v := range y {
			if v != 0 {
				t.Fatalf("%s: sgemv y[%d] = %g from products of 1e-30 and 1e-10: want 0 (flushed)", f.name, i, v)
			}
		}
		if d := notConst(1e-38) / 16; d == 0 {
			t.Fatalf("%s: after its kernels Go's 1e-38/16 is 0 on their thread: flush-to-zero left on", f.name)
		}
	}
	if ran == 0 {
		t.Skip("no assembly family on this machine")
	}
	c := make([]float32, m*n)
	generic.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	if c[0] == 0 {
		t.Errorf("generic: sgemm gave 0 for a sum of 128 products ~1e-40; the Go family keeps denormals")
	}
}
