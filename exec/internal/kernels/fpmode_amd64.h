// FPMODE_ENTER and FPMODE_LEAVE bracket a kernel's arithmetic: ENTER keeps
// the caller's MXCSR in the frame (the function declares a frame of 8
// bytes) and sets flush-to-zero and denormals-are-zero (bits 15 and 6);
// LEAVE, before each RET, puts the caller's value back. Denormal operands
// and results cost Intel cores a microcode assist of ~100 cycles each (a
// depthwise convolution over activations near 1e-37 ran 70× slower), and
// random-weight and real networks alike make them (swish of large negative
// inputs, products of small activations and weights). Flushing them
// changes a value by less than 2^-126, far under every tolerance here. The
// mode is the kernel's own: the Go code around it, and the goroutines that
// may run on the same thread later, keep Go's default MXCSR. ENTER uses AX.
#define FPMODE_ENTER \
	STMXCSR fpsave-8(SP)  \
	MOVL    fpsave-8(SP), AX \
	ORL     $0x8040, AX   \
	MOVL    AX, fpset-4(SP) \
	LDMXCSR fpset-4(SP)

#define FPMODE_LEAVE \
	LDMXCSR fpsave-8(SP)
