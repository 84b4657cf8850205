#include "textflag.h"
#include "fpmode_amd64.h"

// Winograd F(2×2, 3×3) transforms for SmallConv (smallconv_wino.go), over
// channel vectors of 16 floats. V and M hold, per tile, per 16-channel
// chunk k, the 16 vectors ξ = 4i+j: V[t][k][ξ][16], M[t][k][ξ][16], each
// tile followed by 16 floats of padding (scWinoPad).

// func scWinoIn(v, src *float32, rowStride uintptr, ntiles, c int)
// V[t] = Bᵀ d B for the 4×4 patches d at src + t·2 pixels (pixels of c
// floats, rows rowStride bytes apart), c a positive multiple of 16:
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
TEXT ·scWinoIn(SB), NOSPLIT, $8-40
	FPMODE_ENTER
	MOVQ v+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rowStride+16(FP), DX
	MOVQ ntiles+24(FP), CX
	MOVQ c+32(FP), BX
	SHLQ $2, BX           // bytes per pixel
	LEAQ (BX)(BX*2), R10  // 3 pixels
	MOVQ BX, R9
	SHRQ $6, R9           // chunks per pixel

intile:
	MOVQ SI, R11
	LEAQ (SI)(DX*1), R12
	LEAQ (SI)(DX*2), R13
	LEAQ (R12)(DX*2), R14
	MOVQ R9, R8

inchunk:
	VMOVUPS (R11), Z0
	VMOVUPS (R11)(BX*1), Z1
	VMOVUPS (R11)(BX*2), Z2
	VMOVUPS (R11)(R10*1), Z3
	VMOVUPS (R12), Z4
	VMOVUPS (R12)(BX*1), Z5
	VMOVUPS (R12)(BX*2), Z6
	VMOVUPS (R12)(R10*1), Z7
	VMOVUPS (R13), Z8
	VMOVUPS (R13)(BX*1), Z9
	VMOVUPS (R13)(BX*2), Z10
	VMOVUPS (R13)(R10*1), Z11
	VMOVUPS (R14), Z12
	VMOVUPS (R14)(BX*1), Z13
	VMOVUPS (R14)(BX*2), Z14
	VMOVUPS (R14)(R10*1), Z15

	// T = Bᵀ d: T0 = d0-d2 (Z16-19), T1 = d1+d2 (Z20-23),
	// T2 = d2-d1 (Z24-27), T3 = d1-d3 (Z12-15).
	VSUBPS Z8, Z0, Z16
	VSUBPS Z9, Z1, Z17
	VSUBPS Z10, Z2, Z18
	VSUBPS Z11, Z3, Z19
	VADDPS Z8, Z4, Z20
	VADDPS Z9, Z5, Z21
	VADDPS Z10, Z6, Z22
	VADDPS Z11, Z7, Z23
	VSUBPS Z4, Z8, Z24
	VSUBPS Z5, Z9, Z25
	VSUBPS Z6, Z10, Z26
	VSUBPS Z7, Z11, Z27
	VSUBPS Z12, Z4, Z12
	VSUBPS Z13, Z5, Z13
	VSUBPS Z14, Z6, Z14
	VSUBPS Z15, Z7, Z15

	// V[i] = T[i] B: (a-c, b+c, c-b, b-d) for T[i] = (a, b, c, d).
	VSUBPS  Z18, Z16, Z28
	VADDPS  Z18, Z17, Z29
	VSUBPS  Z17, Z18, Z30
	VSUBPS  Z19, Z17, Z31
	VMOVUPS Z28, 0(DI)
	VMOVUPS Z29, 64(DI)
	VMOVUPS Z30, 128(DI)
	VMOVUPS Z31, 192(DI)
	VSUBPS  Z22, Z20, Z28
	VADDPS  Z22, Z21, Z29
	VSUBPS  Z21, Z22, Z30
	VSUBPS  Z23, Z21, Z31
	VMOVUPS Z28, 256(DI)
	VMOVUPS Z29, 320(DI)
	VMOVUPS Z30, 384(DI)
	VMOVUPS Z31, 448(DI)
	VSUBPS  Z26, Z24, Z28
	VADDPS  Z26, Z25, Z29
	VSUBPS  Z25, Z26, Z30
	VSUBPS  Z27, Z25, Z31
	VMOVUPS Z28, 512(DI)
	VMOVUPS Z29, 576(DI)
	VMOVUPS Z30, 640(DI)
	VMOVUPS Z31, 704(DI)
	VSUBPS  Z14, Z12, Z28
	VADDPS  Z14, Z13, Z29
	VSUBPS  Z13, Z14, Z30
	VSUBPS  Z15, Z13, Z31
	VMOVUPS Z28, 768(DI)
	VMOVUPS Z29, 832(DI)
	VMOVUPS Z30, 896(DI)
	VMOVUPS Z31, 960(DI)

	ADDQ $1024, DI
	ADDQ $64, R11
	ADDQ $64, R12
	ADDQ $64, R13
	ADDQ $64, R14
	DECQ R8
	JNZ  inchunk
	ADDQ $64, DI          // tile padding (see scWinoPad)
	LEAQ (SI)(BX*2), SI
	DECQ CX
	JNZ  intile
	VZEROUPPER
	FPMODE_LEAVE
	RET

// func scWinoOut(m *float32, ntiles, oc int, bias, y0, y1 *float32, flags int)
// Y = Aᵀ M A + bias for ntiles tiles of oc channels (a positive multiple
// of 16), max(Y, 0) when flags&1, then by flags>>1:
//
//	0: store the 2×2 pixels: row 0 at y0 + 2t pixels, row 1 at y1 + 2t;
//	1: store their max (NaN if any is NaN) at y0 + t pixels;
//	2: store their mean ((y00+y01)+y10)+y11)·¼ at y0 + t pixels.
//
// Aᵀ = [1 1 1 0; 0 1 -1 -1].
TEXT ·scWinoOut(SB), NOSPLIT, $8-56
	FPMODE_ENTER
	MOVQ m+0(FP), SI
	MOVQ ntiles+8(FP), CX
	MOVQ oc+16(FP), R10
	SHLQ $2, R10          // bytes per pixel
	MOVQ bias+24(FP), BX
	MOVQ y0+32(FP), DI
	MOVQ y1+40(FP), R11
	MOVQ flags+48(FP), R12
	MOVQ R12, R13
	ANDQ $1, R13          // ReLU
	SHRQ $1, R12          // pooling
	MOVQ R10, R9
	SHRQ $6, R9           // chunks per pixel
	VPXORD       Z31, Z31, Z31
	MOVL         $0x7fc00000, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x3e800000, AX
	VPBROADCASTD AX, Z29

outtile:
	LEAQ (DI)(R10*1), R15
	LEAQ (R11)(R10*1), AX
	XORQ R8, R8
	MOVQ R9, R14

outchunk:
	VMOVUPS 0(SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VMOVUPS 256(SI), Z4
	VMOVUPS 320(SI), Z5
	VMOVUPS 384(SI), Z6
	VMOVUPS 448(SI), Z7
	VMOVUPS 512(SI), Z8
	VMOVUPS 576(SI), Z9
	VMOVUPS 640(SI), Z10
	VMOVUPS 704(SI), Z11
	VMOVUPS 768(SI), Z12
	VMOVUPS 832(SI), Z13
	VMOVUPS 896(SI), Z14
	VMOVUPS 960(SI), Z15

	// S = Aᵀ M: S0 = M0+M1+M2 (Z16-19), S1 = M1-M2-M3 (Z20-23).
	VADDPS Z4, Z0, Z16
	VADDPS Z5, Z1, Z17
	VADDPS Z6, Z2, Z18
	VADDPS Z7, Z3, Z19
	VADDPS Z8, Z16, Z16
	VADDPS Z9, Z17, Z17
	VADDPS Z10, Z18, Z18
	VADDPS Z11, Z19, Z19
	VSUBPS Z8, Z4, Z20
	VSUBPS Z9, Z5, Z21
	VSUBPS Z10, Z6, Z22
	VSUBPS Z11, Z7, Z23
	VSUBPS Z12, Z20, Z20
	VSUBPS Z13, Z21, Z21
	VSUBPS Z14, Z22, Z22
	VSUBPS Z15, Z23, Z23

	// Y = S A + bias: Y[i] = (a+b+c, b-c-d) for S[i] = (a, b, c, d).
	VMOVUPS (BX)(R8*1), Z28
	VADDPS  Z17, Z16, Z24
	VADDPS  Z18, Z24, Z24
	VSUBPS  Z18, Z17, Z25
	VSUBPS  Z19, Z25, Z25
	VADDPS  Z21, Z20, Z26
	VADDPS  Z22, Z26, Z26
	VSUBPS  Z22, Z21, Z27
	VSUBPS  Z23, Z27, Z27
	VADDPS  Z28, Z24, Z24
	VADDPS  Z28, Z25, Z25
	VADDPS  Z28, Z26, Z26
	VADDPS  Z28, Z27, Z27
	TESTQ   R13, R13
	JZ      outmode
	VMAXPS  Z24, Z31, Z24
	VMAXPS  Z25, Z31, Z25
	VMAXPS  Z26, Z31, Z26
	VMAXPS  Z27, Z31, Z27

outmode:
	CMPQ R12, $1
	JEQ  outmax
	JGT  outavg
	VMOVUPS Z24, (DI)(R8*1)
	VMOVUPS Z25, (R15)(R8*1)
	VMOVUPS Z26, (R11)(R8*1)
	VMOVUPS Z27, (AX)(R8*1)
	JMP     outnext

outmax:
	VMAXPS  Z25, Z24, Z0
	VMAXPS  Z27, Z26, Z1
	VMAXPS  Z1, Z0, Z0
	VCMPPS  $3, Z25, Z24, K1
	VCMPPS  $3, Z27, Z26, K2
	KORW    K1, K2, K1
	VMOVAPS Z30, K1, Z0
	VMOVUPS Z0, (DI)(R8*1)
	JMP     outnext

outavg:
	VADDPS  Z25, Z24, Z0
	VADDPS  Z26, Z0, Z0
	VADDPS  Z27, Z0, Z0
	VMULPS  Z29, Z0, Z0
	VMOVUPS Z0, (DI)(R8*1)

outnext:
	ADDQ $1024, SI
	ADDQ $64, R8
	DECQ R14
	JNZ  outchunk
	ADDQ $64, SI          // tile padding (see scWinoPad)
	TESTQ R12, R12
	JNZ  outpooled
	LEAQ (DI)(R10*2), DI
	LEAQ (R11)(R10*2), R11
	JMP  outtiled

outpooled:
	ADDQ R10, DI

outtiled:
	DECQ CX
	JNZ  outtile
	VZEROUPPER
	FPMODE_LEAVE
	RET
