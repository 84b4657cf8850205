#include "textflag.h"
#include "fpmode_amd64.h"

// func chanAffineStridedAVX512(dst, x, s, b *float32, rows, c, ldx int, tailmask uint64, lo, hi float32)
// dst[r*c+k] = min(max(x[r*ldx+k]*s[k] + b[k], lo), hi) for r < rows, k < c:
// chanAffineAVX512 reading rows ldx floats apart. Full vectors load and
// store unmasked: a masked store that misses the cache is several times
// slower on Zen 4 and 5 (out of place, the all-ones masked loop ran at a
// fifth of a copy's bandwidth); only the tail is masked.
TEXT ·chanAffineStridedAVX512(SB), NOSPLIT, $8-72
	FPMODE_ENTER
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         rows+32(FP), CX
	MOVQ         c+40(FP), R8
	SHLQ         $2, R8
	MOVQ         ldx+48(FP), R12
	SHLQ         $2, R12
	MOVQ         tailmask+56(FP), R11
	KMOVW        R11, K1
	VBROADCASTSS lo+64(FP), Z30
	VBROADCASTSS hi+68(FP), Z31

srow:
	TESTQ CX, CX
	JZ    sdone
	MOVQ  s+16(FP), DX
	MOVQ  b+24(FP), BX
	XORQ  R9, R9

sblk:
	MOVQ R8, AX
	SUBQ R9, AX
	CMPQ AX, $64
	JL   stail
	VMOVUPS     (SI)(R9*1), Z0
	VMOVUPS     (DX)(R9*1), Z1
	VFMADD213PS (BX)(R9*1), Z1, Z0
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
	VMOVUPS     Z0, (DI)(R9*1)
	ADDQ        $64, R9
	CMPQ        R9, R8
	JLT         sblk
	JMP         snext

stail:
	VMOVUPS.Z   (SI)(R9*1), K1, Z0
	VMOVUPS.Z   (DX)(R9*1), K1, Z1
	VFMADD213PS (BX)(R9*1), Z1, K1, Z0
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
	VMOVUPS     Z0, K1, (DI)(R9*1)

snext:
	ADDQ R12, SI
	ADDQ R8, DI
	DECQ CX
	JMP  srow

sdone:
	VZEROUPPER
	FPMODE_LEAVE
	RET
