#include "textflag.h"
#include "fpmode_amd64.h"

// func chanOpAVX512(dst, x, y *float32, rows, c int, tailmask uint64, mul int)
// dst[r*c+k] = x[r*c+k] + y[k] (mul == 0) or x[r*c+k] * y[k] (mul != 0)
// for r < rows, k < c; channels in blocks of 16, the last masked.
TEXT ·chanOpAVX512(SB), NOSPLIT, $8-56
	FPMODE_ENTER
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+24(FP), CX
	MOVQ c+32(FP), R8
	SHLQ $2, R8
	MOVQ tailmask+40(FP), R11
	MOVQ mul+48(FP), R12
	MOVL $0xFFFF, R10

row:
	TESTQ CX, CX
	JZ    done
	MOVQ  y+16(FP), DX
	XORQ  R9, R9

blk:
	MOVQ  R8, AX
	SUBQ  R9, AX
	CMPQ  AX, $64
	JGE   full
	KMOVW R11, K1
	JMP   load

full:
	KMOVW R10, K1

load:
	VMOVUPS.Z (SI)(R9*1), K1, Z0
	VMOVUPS.Z (DX)(R9*1), K1, Z1
	TESTQ     R12, R12
	JNZ       domul
	VADDPS    Z1, Z0, Z0
	JMP       store

domul:
	VMULPS Z1, Z0, Z0

store:
	VMOVUPS Z0, K1, (DI)(R9*1)
	ADDQ    $64, R9
	CMPQ    R9, R8
	JLT     blk
	ADDQ    R8, SI
	ADDQ    R8, DI
	DECQ    CX
	JMP     row

done:
	VZEROUPPER
	FPMODE_LEAVE
	RET

// func chanAffineAVX512(dst, x, s, b *float32, rows, c int, tailmask uint64, lo, hi float32)
// dst[r*c+k] = min(max(x[r*c+k]*s[k] + b[k], lo), hi) for r < rows, k < c.
TEXT ·chanAffineAVX512(SB), NOSPLIT, $8-64
	FPMODE_ENTER
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         rows+32(FP), CX
	MOVQ         c+40(FP), R8
	SHLQ         $2, R8
	MOVQ         tailmask+48(FP), R11
	VBROADCASTSS lo+56(FP), Z30
	VBROADCASTSS hi+60(FP), Z31
	MOVL         $0xFFFF, R10

arow:
	TESTQ CX, CX
	JZ    adone
	MOVQ  s+16(FP), DX
	MOVQ  b+24(FP), BX
	XORQ  R9, R9

ablk:
	MOVQ  R8, AX
	SUBQ  R9, AX
	CMPQ  AX, $64
	JGE   afull
	KMOVW R11, K1
	JMP   aload

afull:
	KMOVW R10, K1

aload:
	VMOVUPS.Z   (SI)(R9*1), K1, Z0
	VMOVUPS.Z   (DX)(R9*1), K1, Z1
	VFMADD213PS (BX)(R9*1), Z1, K1, Z0
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
	VMOVUPS     Z0, K1, (DI)(R9*1)
	ADDQ        $64, R9
	CMPQ        R9, R8
	JLT         ablk
	ADDQ        R8, SI
	ADDQ        R8, DI
	DECQ        CX
	JMP         arow

adone:
	VZEROUPPER
	FPMODE_LEAVE
	RET

// func addClampAVX512(dst, a *float32, n int, lo, hi float32)
// dst[i] = min(max(dst[i] + a[i], lo), hi) for i < n (the last block masked).
TEXT ·addClampAVX512(SB), NOSPLIT, $8-32
	FPMODE_ENTER
	MOVQ         dst+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS lo+24(FP), Z30
	VBROADCASTSS hi+28(FP), Z31
	MOVL         $0xFFFF, AX
	KMOVW        AX, K1

rloop:
	CMPQ  CX, $16
	JGE   rfull
	TESTQ CX, CX
	JZ    rdone
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	MOVQ  $16, CX

rfull:
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMAXPS    Z0, Z30, Z0
	VMINPS    Z0, Z31, Z0
	VMOVUPS   Z0, K1, (DI)
	ADDQ      $64, DI
	ADDQ      $64, SI
	SUBQ      $16, CX
	JMP       rloop

rdone:
	VZEROUPPER
	FPMODE_LEAVE
	RET
