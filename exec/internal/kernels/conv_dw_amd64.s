#include "textflag.h"

// Depthwise convolution of nx output pixels of one row (conv_dw_fast.go),
// channel multiplier 1, on AVX-512:
//
//	dst[x*dstep + c] = min(max(bias[c] + Σ_t src[x*xstep + taps[2t] + c]
//	                                    * kern[taps[2t+1] + c], lo), hi)
//
// for c in [0, cbytes/4), offsets in bytes. Channels go in blocks of 16
// (the last masked by tailmask); pixels four at a time for independent
// FMA chains. bias may be nil (zero).

// func dwRowAVX512(dst, src, kern, bias *float32, nx, xstep, dstep int, taps *int, ntaps, cbytes int, tailmask uint64, lo, hi float32)
TEXT ·dwRowAVX512(SB), NOSPLIT, $0-96
	MOVQ         src+8(FP), SI
	MOVQ         xstep+40(FP), R9
	MOVQ         taps+56(FP), R10
	MOVQ         ntaps+64(FP), R11
	VBROADCASTSS lo+88(FP), Z30
	VBROADCASTSS hi+92(FP), Z31
	XORQ         R13, R13 // channel block, bytes

cb:
	// mask: full unless this is the last, partial block
	MOVQ  cbytes+72(FP), AX
	SUBQ  R13, AX
	MOVL  $0xFFFF, BX
	CMPQ  AX, $64
	JGE   mask
	MOVQ  tailmask+80(FP), BX

mask:
	KMOVW  BX, K1
	VPXORD Z29, Z29, Z29
	MOVQ   bias+24(FP), AX
	TESTQ  AX, AX
	JZ     nobias
	VMOVUPS.Z (AX)(R13*1), K1, Z29

nobias:
	MOVQ kern+16(FP), R12
	ADDQ R13, R12            // kernel of this block
	LEAQ (SI)(R13*1), R14    // src of pixel x
	MOVQ dst+0(FP), R15
	ADDQ R13, R15            // dst of pixel x
	MOVQ nx+32(FP), CX
	MOVQ dstep+48(FP), DX

x4:
	CMPQ    CX, $4
	JLT     x1
	VMOVAPS Z29, Z0
	VMOVAPS Z29, Z1
	VMOVAPS Z29, Z2
	VMOVAPS Z29, Z3
	MOVQ    R10, BX
	MOVQ    R11, R8

tap4:
	MOVQ        8(BX), AX
	VMOVUPS.Z   (R12)(AX*1), K1, Z4
	MOVQ        (BX), AX
	ADDQ        R14, AX
	VFMADD231PS (AX), Z4, K1, Z0
	VFMADD231PS (AX)(R9*1), Z4, K1, Z1
	VFMADD231PS (AX)(R9*2), Z4, K1, Z2
	LEAQ        (AX)(R9*2), AX
	VFMADD231PS (AX)(R9*1), Z4, K1, Z3
	ADDQ        $16, BX
	DECQ        R8
	JNZ         tap4
	VMAXPS      Z0, Z30, Z0
	VMAXPS      Z1, Z30, Z1
	VMAXPS      Z2, Z30, Z2
	VMAXPS      Z3, Z30, Z3
	VMINPS      Z0, Z31, Z0
	VMINPS      Z1, Z31, Z1
	VMINPS      Z2, Z31, Z2
	VMINPS      Z3, Z31, Z3
	VMOVUPS     Z0, K1, (R15)
	VMOVUPS     Z1, K1, (R15)(DX*1)
	LEAQ        (R15)(DX*2), AX
	VMOVUPS     Z2, K1, (AX)
	VMOVUPS     Z3, K1, (AX)(DX*1)
	LEAQ        (R14)(R9*4), R14
	LEAQ        (R15)(DX*4), R15
	SUBQ        $4, CX
	JMP         x4

x1:
	TESTQ   CX, CX
	JZ      next
	VMOVAPS Z29, Z0
	MOVQ    R10, BX
	MOVQ    R11, R8

tap1:
	MOVQ        8(BX), AX
	VMOVUPS.Z   (R12)(AX*1), K1, Z4
	MOVQ        (BX), AX
	VFMADD231PS (R14)(AX*1), Z4, K1, Z0
	ADDQ        $16, BX
	DECQ        R8
	JNZ         tap1
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
	VMOVUPS     Z0, K1, (R15)
	ADDQ        R9, R14
	ADDQ        DX, R15
	DECQ        CX
	JMP         x1

next:
	ADDQ $64, R13
	CMPQ R13, cbytes+72(FP)
	JLT  cb
	VZEROUPPER
	RET
