#include "textflag.h"
#include "fpmode_amd64.h"

// Depthwise convolution of nx output pixels of one row (conv_dw_fast.go),
// channel multiplier 1, on AVX-512:
//
//	dst[x*dstep + c] = min(max(bias[c] + Σ_t src[x*xstep + taps[2t] + c]
//	                                    * kern[taps[2t+1] + c], lo), hi)
//
// for c in [0, cbytes/4), offsets in bytes. Pixels go eight, four or one at a
// time (eight independent FMA chains; four pixels take two blocks of 16
// channels at a time and one pixel four, while that many full blocks
// remain, so that every group keeps four to eight chains: a 7×7 map's 5×5
// layer, every pixel of it on the one-pixel path, waited on one chain's
// FMA latency), and for each group of pixels every block of 16
// channels (the last masked by tailmask) in turn, so that the row is read
// and written in address order: NHWC keeps a pixel's channels together,
// and sweeping the row once per channel block (the order before) read it
// as strided streams the prefetcher served badly (MobileNetV2's
// 56²×144 layers ran at 6 GB/s). bias may be nil (zero).

// BLOCK points R12 at the channel block's kernel, DI at its input at pixel
// x, and BX/R8 at the tap list and its count, for the block at byte
// offset R13.
#define BLOCK \
	MOVQ kern+16(FP), R12 \
	ADDQ R13, R12         \
	LEAQ (R14)(R13*1), DI \
	MOVQ R10, BX          \
	MOVQ R11, R8

// CLAMP(Z): Z = min(max(Z, lo), hi), the bounds in Z30 and Z31.
#define CLAMP(Z) \
	VMAXPS Z, Z30, Z \
	VMINPS Z, Z31, Z

// func dwRowAVX512(dst, src, kern, bias *float32, nx, xstep, dstep int, taps *int, ntaps, cbytes int, tailmask uint64, lo, hi float32)
// Registers: R14/R15 src/dst of pixel x, R9/DX their pixel steps, SI and
// CX three steps, DI the block's src, R12 its kernel, BX/R8 the tap list
// and count, R13 the channel block's byte offset, Z8 the tap's weights.
TEXT ·dwRowAVX512(SB), NOSPLIT, $8-96
	FPMODE_ENTER
	MOVQ         dst+0(FP), R15
	MOVQ         src+8(FP), R14
	MOVQ         xstep+40(FP), R9
	MOVQ         dstep+48(FP), DX
	MOVQ         taps+56(FP), R10
	MOVQ         ntaps+64(FP), R11
	LEAQ         (R9)(R9*2), SI
	LEAQ         (DX)(DX*2), CX
	VBROADCASTSS lo+88(FP), Z30
	VBROADCASTSS hi+92(FP), Z31

x8:
	CMPQ nx+32(FP), $8
	JLT  x4
	XORQ R13, R13 // channel block, bytes

cb8:
	MOVQ  cbytes+72(FP), AX
	SUBQ  R13, AX
	MOVL  $0xFFFF, BX
	CMPQ  AX, $64
	JGE   cb8_mask
	MOVQ  tailmask+80(FP), BX

cb8_mask:
	KMOVW  BX, K1
	VPXORD Z29, Z29, Z29
	MOVQ   bias+24(FP), AX
	TESTQ  AX, AX
	JZ     cb8_nobias
	VMOVUPS.Z (AX)(R13*1), K1, Z29

cb8_nobias:
	VMOVAPS Z29, Z0
	VMOVAPS Z29, Z1
	VMOVAPS Z29, Z2
	VMOVAPS Z29, Z3
	VMOVAPS Z29, Z4
	VMOVAPS Z29, Z5
	VMOVAPS Z29, Z6
	VMOVAPS Z29, Z7
	BLOCK

cb8_tap:
	MOVQ        8(BX), AX
	VMOVUPS.Z   (R12)(AX*1), K1, Z8
	MOVQ        (BX), AX
	ADDQ        DI, AX
	VFMADD231PS (AX), Z8, K1, Z0
	VFMADD231PS (AX)(R9*1), Z8, K1, Z1
	VFMADD231PS (AX)(R9*2), Z8, K1, Z2
	VFMADD231PS (AX)(SI*1), Z8, K1, Z3
	LEAQ        (AX)(R9*4), AX
	VFMADD231PS (AX), Z8, K1, Z4
	VFMADD231PS (AX)(R9*1), Z8, K1, Z5
	VFMADD231PS (AX)(R9*2), Z8, K1, Z6
	VFMADD231PS (AX)(SI*1), Z8, K1, Z7
	ADDQ        $16, BX
	DECQ        R8
	JNZ         cb8_tap
	CLAMP(Z0)
	CLAMP(Z1)
	CLAMP(Z2)
	CLAMP(Z3)
	CLAMP(Z4)
	CLAMP(Z5)
	CLAMP(Z6)
	CLAMP(Z7)
	LEAQ        (R15)(R13*1), AX
	VMOVUPS     Z0, K1, (AX)
	VMOVUPS     Z1, K1, (AX)(DX*1)
	VMOVUPS     Z2, K1, (AX)(DX*2)
	VMOVUPS     Z3, K1, (AX)(CX*1)
	LEAQ        (AX)(DX*4), AX
	VMOVUPS     Z4, K1, (AX)
	VMOVUPS     Z5, K1, (AX)(DX*1)
	VMOVUPS     Z6, K1, (AX)(DX*2)
	VMOVUPS     Z7, K1, (AX)(CX*1)
	ADDQ        $64, R13
	CMPQ        R13, cbytes+72(FP)
	JLT         cb8
	LEAQ (R14)(R9*8), R14
	LEAQ (R15)(DX*8), R15
	SUBQ $8, nx+32(FP)
	JMP  x8

x4:
	CMPQ nx+32(FP), $4
	JLT  x1
	XORQ R13, R13

	// Two full blocks at a time (eight FMA chains) while two remain.
cb4w:
	MOVQ cbytes+72(FP), AX
	SUBQ R13, AX
	JLE  cb4_done
	CMPQ AX, $128
	JLT  cb4
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	MOVQ   bias+24(FP), AX
	TESTQ  AX, AX
	JZ     cb4w_nobias
	VMOVUPS (AX)(R13*1), Z28
	VMOVUPS 64(AX)(R13*1), Z29

cb4w_nobias:
	VMOVAPS Z28, Z0
	VMOVAPS Z28, Z1
	VMOVAPS Z28, Z2
	VMOVAPS Z28, Z3
	VMOVAPS Z29, Z4
	VMOVAPS Z29, Z5
	VMOVAPS Z29, Z6
	VMOVAPS Z29, Z7
	BLOCK

cb4w_tap:
	MOVQ        8(BX), AX
	VMOVUPS     (R12)(AX*1), Z8
	VMOVUPS     64(R12)(AX*1), Z9
	MOVQ        (BX), AX
	ADDQ        DI, AX
	VFMADD231PS (AX), Z8, Z0
	VFMADD231PS (AX)(R9*1), Z8, Z1
	VFMADD231PS (AX)(R9*2), Z8, Z2
	VFMADD231PS (AX)(SI*1), Z8, Z3
	VFMADD231PS 64(AX), Z9, Z4
	VFMADD231PS 64(AX)(R9*1), Z9, Z5
	VFMADD231PS 64(AX)(R9*2), Z9, Z6
	VFMADD231PS 64(AX)(SI*1), Z9, Z7
	ADDQ        $16, BX
	DECQ        R8
	JNZ         cb4w_tap
	CLAMP(Z0)
	CLAMP(Z1)
	CLAMP(Z2)
	CLAMP(Z3)
	CLAMP(Z4)
	CLAMP(Z5)
	CLAMP(Z6)
	CLAMP(Z7)
	LEAQ        (R15)(R13*1), AX
	VMOVUPS     Z0, (AX)
	VMOVUPS     Z1, (AX)(DX*1)
	VMOVUPS     Z2, (AX)(DX*2)
	VMOVUPS     Z3, (AX)(CX*1)
	VMOVUPS     Z4, 64(AX)
	VMOVUPS     Z5, 64(AX)(DX*1)
	VMOVUPS     Z6, 64(AX)(DX*2)
	VMOVUPS     Z7, 64(AX)(CX*1)
	ADDQ        $128, R13
	JMP         cb4w

cb4:
	MOVQ  cbytes+72(FP), AX
	SUBQ  R13, AX
	MOVL  $0xFFFF, BX
	CMPQ  AX, $64
	JGE   cb4_mask
	MOVQ  tailmask+80(FP), BX

cb4_mask:
	KMOVW  BX, K1
	VPXORD Z29, Z29, Z29
	MOVQ   bias+24(FP), AX
	TESTQ  AX, AX
	JZ     cb4_nobias
	VMOVUPS.Z (AX)(R13*1), K1, Z29

cb4_nobias:
	VMOVAPS Z29, Z0
	VMOVAPS Z29, Z1
	VMOVAPS Z29, Z2
	VMOVAPS Z29, Z3
	BLOCK

cb4_tap:
	MOVQ        8(BX), AX
	VMOVUPS.Z   (R12)(AX*1), K1, Z8
	MOVQ        (BX), AX
	ADDQ        DI, AX
	VFMADD231PS (AX), Z8, K1, Z0
	VFMADD231PS (AX)(R9*1), Z8, K1, Z1
	VFMADD231PS (AX)(R9*2), Z8, K1, Z2
	VFMADD231PS (AX)(SI*1), Z8, K1, Z3
	ADDQ        $16, BX
	DECQ        R8
	JNZ         cb4_tap
	CLAMP(Z0)
	CLAMP(Z1)
	CLAMP(Z2)
	CLAMP(Z3)
	LEAQ        (R15)(R13*1), AX
	VMOVUPS     Z0, K1, (AX)
	VMOVUPS     Z1, K1, (AX)(DX*1)
	VMOVUPS     Z2, K1, (AX)(DX*2)
	VMOVUPS     Z3, K1, (AX)(CX*1)
	ADDQ        $64, R13
	CMPQ        R13, cbytes+72(FP)
	JLT         cb4w

cb4_done:
	LEAQ (R14)(R9*4), R14
	LEAQ (R15)(DX*4), R15
	SUBQ $4, nx+32(FP)

x1:
	CMPQ nx+32(FP), $0
	JEQ  done
	XORQ R13, R13

	// Four full blocks at a time (four FMA chains) while four remain.
cb1w:
	MOVQ cbytes+72(FP), AX
	SUBQ R13, AX
	JLE  cb1_done
	CMPQ AX, $256
	JLT  cb1
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   bias+24(FP), AX
	TESTQ  AX, AX
	JZ     cb1w_nobias
	VMOVUPS (AX)(R13*1), Z0
	VMOVUPS 64(AX)(R13*1), Z1
	VMOVUPS 128(AX)(R13*1), Z2
	VMOVUPS 192(AX)(R13*1), Z3

cb1w_nobias:
	BLOCK

cb1w_tap:
	MOVQ        8(BX), AX
	VMOVUPS     (R12)(AX*1), Z8
	VMOVUPS     64(R12)(AX*1), Z9
	VMOVUPS     128(R12)(AX*1), Z10
	VMOVUPS     192(R12)(AX*1), Z11
	MOVQ        (BX), AX
	VFMADD231PS (DI)(AX*1), Z8, Z0
	VFMADD231PS 64(DI)(AX*1), Z9, Z1
	VFMADD231PS 128(DI)(AX*1), Z10, Z2
	VFMADD231PS 192(DI)(AX*1), Z11, Z3
	ADDQ        $16, BX
	DECQ        R8
	JNZ         cb1w_tap
	CLAMP(Z0)
	CLAMP(Z1)
	CLAMP(Z2)
	CLAMP(Z3)
	LEAQ        (R15)(R13*1), AX
	VMOVUPS     Z0, (AX)
	VMOVUPS     Z1, 64(AX)
	VMOVUPS     Z2, 128(AX)
	VMOVUPS     Z3, 192(AX)
	ADDQ        $256, R13
	JMP         cb1w

cb1:
	MOVQ  cbytes+72(FP), AX
	SUBQ  R13, AX
	MOVL  $0xFFFF, BX
	CMPQ  AX, $64
	JGE   cb1_mask
	MOVQ  tailmask+80(FP), BX

cb1_mask:
	KMOVW  BX, K1
	VPXORD Z29, Z29, Z29
	MOVQ   bias+24(FP), AX
	TESTQ  AX, AX
	JZ     cb1_nobias
	VMOVUPS.Z (AX)(R13*1), K1, Z29

cb1_nobias:
	VMOVAPS Z29, Z0
	BLOCK

cb1_tap:
	MOVQ        8(BX), AX
	VMOVUPS.Z   (R12)(AX*1), K1, Z8
	MOVQ        (BX), AX
	VFMADD231PS (DI)(AX*1), Z8, K1, Z0
	ADDQ        $16, BX
	DECQ        R8
	JNZ         cb1_tap
	CLAMP(Z0)
	LEAQ        (R15)(R13*1), AX
	VMOVUPS     Z0, K1, (AX)
	ADDQ        $64, R13
	CMPQ        R13, cbytes+72(FP)
	JLT         cb1w

cb1_done:
	ADDQ R9, R14
	ADDQ DX, R15
	DECQ nx+32(FP)
	JMP  x1

done:
	VZEROUPPER
	FPMODE_LEAVE
	RET
