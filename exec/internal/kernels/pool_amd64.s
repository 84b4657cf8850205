#include "textflag.h"
#include "fpmode_amd64.h"

// 2×2 stride-2 pooling of one output row (pool_2x2.go): dst[ox*c+k] =
// op(r0[2ox*c+k], r0[(2ox+1)*c+k], r1[2ox*c+k], r1[(2ox+1)*c+k]) for ow
// pixels, c a positive multiple of 16.

// func pool2x2MaxAVX512(dst, r0, r1 *float32, ow, c int)
// Max with Go's NaN rule: VMAXPS returns its second source when either is
// NaN, so lanes where any input is NaN get NaN explicitly.
TEXT ·pool2x2MaxAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ ow+24(FP), CX
	MOVQ c+32(FP), R8
	SHLQ $2, R8
	MOVL $0x7fc00000, AX
	VPBROADCASTD AX, Z7

maxpix:
	LEAQ (SI)(R8*1), R10
	LEAQ (DX)(R8*1), R11
	XORQ R9, R9

maxchan:
	VMOVUPS (SI)(R9*1), Z0
	VMOVUPS (R10)(R9*1), Z1
	VMOVUPS (DX)(R9*1), Z2
	VMOVUPS (R11)(R9*1), Z3
	VMAXPS  Z1, Z0, Z4
	VMAXPS  Z3, Z2, Z5
	VMAXPS  Z5, Z4, Z4
	VCMPPS  $3, Z1, Z0, K1
	VCMPPS  $3, Z3, Z2, K2
	KORW    K1, K2, K1
	VMOVAPS Z7, K1, Z4
	VMOVUPS Z4, (DI)(R9*1)
	ADDQ    $64, R9
	CMPQ    R9, R8
	JLT     maxchan
	LEAQ    (SI)(R8*2), SI
	LEAQ    (DX)(R8*2), DX
	ADDQ    R8, DI
	DECQ    CX
	JNZ     maxpix
	VZEROUPPER
	RET

// func pool2x2AvgAVX512(dst, r0, r1 *float32, ow, c int)
// ((a+b)+c)+d then ×0.25, the generic kernel's order: identical results.
TEXT ·pool2x2AvgAVX512(SB), NOSPLIT, $8-40
	FPMODE_ENTER
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ ow+24(FP), CX
	MOVQ c+32(FP), R8
	SHLQ $2, R8
	MOVL $0x3e800000, AX
	VPBROADCASTD AX, Z7

avgpix:
	LEAQ (SI)(R8*1), R10
	LEAQ (DX)(R8*1), R11
	XORQ R9, R9

avgchan:
	VMOVUPS (SI)(R9*1), Z0
	VADDPS  (R10)(R9*1), Z0, Z0
	VADDPS  (DX)(R9*1), Z0, Z0
	VADDPS  (R11)(R9*1), Z0, Z0
	VMULPS  Z7, Z0, Z0
	VMOVUPS Z0, (DI)(R9*1)
	ADDQ    $64, R9
	CMPQ    R9, R8
	JLT     avgchan
	LEAQ    (SI)(R8*2), SI
	LEAQ    (DX)(R8*2), DX
	ADDQ    R8, DI
	DECQ    CX
	JNZ     avgpix
	VZEROUPPER
	FPMODE_LEAVE
	RET
