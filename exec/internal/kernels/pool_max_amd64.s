#include "textflag.h"

// Max pooling of nx output pixels of one row (pool_max_fast.go):
//
//	dst[x*dstep + c] = max over t of src[x*xstep + taps[t] + c]
//
// for c in [0, cbytes/4), offsets in bytes, ntaps ≥ 1, with Go's NaN rule
// (any NaN in the window gives NaN). Channels in blocks of 16, the last
// masked by tailmask.

// func maxRowAVX512(dst, src *float32, nx, xstep, dstep int, taps *int, ntaps, cbytes int, tailmask uint64)
TEXT ·maxRowAVX512(SB), NOSPLIT, $0-72
	MOVQ  src+8(FP), SI
	MOVQ  xstep+24(FP), R9
	MOVQ  taps+40(FP), R10
	MOVQ  ntaps+48(FP), R11
	MOVL  $0x7fc00000, AX
	VPBROADCASTD AX, Z31       // NaN
	XORQ  R13, R13             // channel block, bytes

mcb:
	MOVQ cbytes+56(FP), AX
	SUBQ R13, AX
	MOVL $0xFFFF, BX
	CMPQ AX, $64
	JGE  mmask
	MOVQ tailmask+64(FP), BX

mmask:
	KMOVW BX, K1
	LEAQ  (SI)(R13*1), R14     // src of pixel x, this block
	MOVQ  dst+0(FP), R15
	ADDQ  R13, R15
	MOVQ  nx+16(FP), CX
	MOVQ  dstep+32(FP), DX

mx:
	TESTQ     CX, CX
	JZ        mnext
	MOVQ      R10, BX
	MOVQ      (BX), AX
	VMOVUPS.Z (R14)(AX*1), K1, Z0
	VCMPPS    $3, Z0, Z0, K3      // NaN lanes so far
	MOVQ      R11, R8
	DECQ      R8
	JZ        mstore

mtap:
	ADDQ      $8, BX
	MOVQ      (BX), AX
	VMOVUPS.Z (R14)(AX*1), K1, Z1
	VCMPPS    $3, Z1, Z1, K2
	KORW      K2, K3, K3
	VMAXPS    Z1, Z0, Z0
	DECQ      R8
	JNZ       mtap

mstore:
	VMOVAPS Z31, K3, Z0
	VMOVUPS Z0, K1, (R15)
	ADDQ    R9, R14
	ADDQ    DX, R15
	DECQ    CX
	JMP     mx

mnext:
	ADDQ $64, R13
	CMPQ R13, cbytes+56(FP)
	JLT  mcb
	VZEROUPPER
	RET
