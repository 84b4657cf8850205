package kernels

import (
	"math"
	"runtime"
	"testing"
)

// notConst hides a value from the compiler's constant folding.
//
//go:noinline
func notConst(v float32) float32 { return v }

// TestVectorKernelsFlushDenormals: the AVX-512 kernels compute with
// denormals flushed (fpmode_amd64.h), and give the thread back with Go's
// default floating-point mode.
func TestVectorKernelsFlushDenormals(t *testing.T) {
	if !simdAVX512() {
		t.Skip("no AVX-512 on this machine (or KCONV_CPU disables it): the flush is the vector kernels'")
	}
	runtime.LockOSThread() // the thread whose mode is checked after the kernels
	defer runtime.UnlockOSThread()

	tiny := float32(math.Float32frombits(0x00000800)) // a denormal, ~2.9e-42
	p := ConvParams{N: 1, H: 6, W: 5, C: 32, OutC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, Groups: 32}
	in := make([]float32, p.H*p.W*p.C)
	zeroed := make([]float32, len(in))
	for i := range in {
		switch i % 3 {
		case 0:
			in[i] = tiny // denormal operand: read as zero
		case 1:
			in[i] = 1e-30 // normal, but its products with the kernel underflow
			zeroed[i] = 1e-30
		default:
			in[i] = float32(i%7) - 3
			zeroed[i] = in[i]
		}
	}
	kernel := make([]float32, 9*p.C)
	for i := range kernel {
		kernel[i] = 1e-10 * float32(i%5+1)
	}
	out := make([]float32, p.OutH()*p.OutW()*p.C)
	want := make([]float32, len(out))
	ws := NewWorkspace(1)
	DepthwiseConv2D(p, in, kernel, nil, Activation{}, out, ws)
	// Without the flush the reference keeps the underflowed products; with
	// it they are zero: compare with the 1e-30 inputs zeroed too.
	for i := range zeroed {
		if zeroed[i] == 1e-30 {
			zeroed[i] = 0
		}
	}
	DepthwiseConv2D(p, zeroed, kernel, nil, Activation{}, want, ws)
	for i := range out {
		if out[i] != want[i] {
			t.Fatalf("depthwise output %d: %g with denormal operands and underflowing products, %g with them zeroed: the kernel does not flush denormals", i, out[i], want[i])
		}
	}

	x := []float32{notConst(-100), notConst(100)}
	Activation{Kind: ActSigmoid}.ApplyFast(x) // sigmoid(-100) ≈ 3.7e-44 underflows
	if x[0] != 0 || x[1] != 1 {
		t.Errorf("sigmoid(-100), sigmoid(100) = %g, %g; want 0 (flushed) and 1", x[0], x[1])
	}

	// Go's own arithmetic on this thread still makes denormals.
	if d := notConst(1e-38) / 16; d == 0 {
		t.Fatal("after the kernels, Go's 1e-38/16 is 0 on their thread: the kernels left flush-to-zero on")
	}
	if d := notConst(tiny) * 2; d == 0 {
		t.Fatal("after the kernels, Go's denormal·2 is 0 on their thread: the kernels left denormals-are-zero on")
	}
}
