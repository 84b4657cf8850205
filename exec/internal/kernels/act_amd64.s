#include "textflag.h"
#include "fpmode_amd64.h"

// Element-wise activations in place over AVX-512 vectors (act_fast.go).
// kind: 0 clamp to [lo, hi] (ReLU, ReLU6, Clip; NaN stays NaN),
// 1 sigmoid, 2 swish (x·sigmoid(x)), 3 hard swish (x·clamp(x/6+½, 0, 1)),
// 4 GELU, x·Φ(x), with Φ(x) = ½·erfc(-x/√2) from the Chebyshev-fitted
// erfc of Numerical Recipes (erfcc: t·e^(-z²+P(t)), t = 1/(1+z/2), P of
// degree 9; relative error under 1.2e-7 for every z ≥ 0): with a = |x|/√2
// clamped to 10 (erfc(10) < 1e-44), h = ½·erfc(a) and Φ = 1-h for x ≥ 0,
// h below.
// e^t: t clamped to [-87, 88], n = round(t·log2 e), r = t - n·ln 2 (in two
// parts), a degree-7 polynomial in r, scaled by 2^n with VSCALEFPS.

// EXP(X): X = e^X; clobbers Z1-Z3.
#define EXP(X) \
	VMINPS       X, Z27, X   \
	VMAXPS       X, Z26, X   \
	VMULPS       Z16, X, Z1  \
	VRNDSCALEPS  $0, Z1, Z1  \
	VMOVAPS      X, Z2       \
	VFNMADD231PS Z17, Z1, Z2 \
	VFNMADD231PS Z18, Z1, Z2 \
	VMOVAPS      Z19, Z3     \
	VFMADD213PS  Z20, Z2, Z3 \
	VFMADD213PS  Z21, Z2, Z3 \
	VFMADD213PS  Z22, Z2, Z3 \
	VFMADD213PS  Z23, Z2, Z3 \
	VFMADD213PS  Z24, Z2, Z3 \
	VMULPS       Z2, Z2, X   \
	VFMADD213PS  Z2, X, Z3   \
	VADDPS       Z25, Z3, Z3 \
	VSCALEFPS    Z1, Z3, X

// RECIP(D, R): R = 1/D from VRCP14PS (relative error under 2^-14) and a
// Newton step, r + r(1 - d·r): within 2 ulps of the quotient for the d of
// sigmoid and swish (1 ≤ d ≤ 1+e^88), where VDIVPS, at 10-16 cycles a
// vector on Intel's cores, set the pace of the whole activation. Clobbers
// Z6; Z25 holds 1.
#define RECIP(D, R) \
	VRCP14PS     D, R     \
	VMOVAPS      Z25, Z6  \
	VFNMADD231PS R, D, Z6 \
	VFMADD231PS  Z6, R, R

// GELU's constants: |x| mask, 1/√2, the clamp of a, then P's
// coefficients from t^0 to t^9.
DATA gelu<>+0(SB)/4, $0x7fffffff
DATA gelu<>+4(SB)/4, $0x3f3504f3
DATA gelu<>+8(SB)/4, $0x41200000
DATA gelu<>+12(SB)/4, $0xbfa1fc4e // -1.26551223
DATA gelu<>+16(SB)/4, $0x3f8000c7 // 1.00002368
DATA gelu<>+20(SB)/4, $0x3ebf88fb // 0.37409196
DATA gelu<>+24(SB)/4, $0x3dc636c9 // 0.09678418
DATA gelu<>+28(SB)/4, $0xbe3ec24c // -0.18628806
DATA gelu<>+32(SB)/4, $0x3e8ec7cc // 0.27886807
DATA gelu<>+36(SB)/4, $0xbf914e5d // -1.13520398
DATA gelu<>+40(SB)/4, $0x3fbe87b0 // 1.48851587
DATA gelu<>+44(SB)/4, $0xbf527892 // -0.82215223
DATA gelu<>+48(SB)/4, $0x3e2ef945 // 0.17087277
GLOBL gelu<>(SB), RODATA|NOPTR, $52

#define BCAST(bits, Z) \
	MOVL         bits, AX \
	VPBROADCASTD AX, Z

// EXPCONST loads EXP's constants into Z16-Z27 (Z25 = 1); clobbers AX.
#define EXPCONST \
	BCAST($0x3fb8aa3b, Z16) /* log2 e */ \
	BCAST($0x3f318000, Z17) /* ln 2, high part */ \
	BCAST($0xb95e8083, Z18) /* ln 2, low part */ \
	BCAST($0x39506967, Z19) /* polynomial, highest degree first */ \
	BCAST($0x3ab743ce, Z20) \
	BCAST($0x3c088908, Z21) \
	BCAST($0x3d2aa9c1, Z22) \
	BCAST($0x3e2aaaaa, Z23) \
	BCAST($0x3f000000, Z24) \
	BCAST($0x3f800000, Z25) /* 1 */ \
	BCAST($0xc2ae0000, Z26) /* -87: e^-87 is still a normal float; below it 1+e^t rounds to 1 anyway */ \
	BCAST($0x42b00000, Z27) /* 88 */

// func actAVX512(x *float32, n, rows, ld int, kind int, lo, hi float32)
// applies the activation to rows runs of n floats, ld floats apart.
TEXT ·actAVX512(SB), NOSPLIT, $8-48
	FPMODE_ENTER
	MOVQ         x+0(FP), R10
	MOVQ         rows+16(FP), R9
	MOVQ         ld+24(FP), R11
	SHLQ         $2, R11
	MOVQ         kind+32(FP), DX
	VBROADCASTSS lo+40(FP), Z30
	VBROADCASTSS hi+44(FP), Z31
	EXPCONST
	BCAST($0x3e2aaaab, Z28) // 1/6
	BCAST($0x3f000000, Z29) // 1/2
	VPXORD       Z15, Z15, Z15
	TESTQ        R9, R9
	JZ           done

row:
	MOVQ  R10, DI
	MOVQ  n+8(FP), CX
	MOVL  $0xFFFF, AX
	KMOVW AX, K1

loop:
	CMPQ  CX, $16
	JGE   full
	TESTQ CX, CX
	JZ    rowdone
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	MOVQ  $16, CX

full:
	VMOVUPS.Z (DI), K1, Z0
	CMPQ      DX, $1
	JEQ       sigmoid
	CMPQ      DX, $2
	JEQ       swish
	CMPQ      DX, $3
	JEQ       hswish
	CMPQ      DX, $4
	JEQ       gelu
	VMAXPS    Z0, Z30, Z0
	VMINPS    Z0, Z31, Z0
	JMP       store

sigmoid:
	VSUBPS Z0, Z15, Z4
	EXP(Z4)
	VADDPS Z25, Z4, Z4
	RECIP(Z4, Z0)
	JMP    store

swish:
	VSUBPS Z0, Z15, Z4
	EXP(Z4)
	VADDPS Z25, Z4, Z4
	RECIP(Z4, Z5)
	VMULPS Z5, Z0, Z0
	JMP    store

gelu:
	VPANDD.BCST       gelu<>+0(SB), Z0, Z4
	VMULPS.BCST       gelu<>+4(SB), Z4, Z4
	VMINPS.BCST       gelu<>+8(SB), Z4, Z4 // a = min(|x|/√2, 10)
	VMOVAPS           Z4, Z7
	VFMADD213PS       Z25, Z29, Z7         // 1 + a/2
	RECIP(Z7, Z8)                          // t
	VBROADCASTSS      gelu<>+48(SB), Z9
	VFMADD213PS.BCST  gelu<>+44(SB), Z8, Z9
	VFMADD213PS.BCST  gelu<>+40(SB), Z8, Z9
	VFMADD213PS.BCST  gelu<>+36(SB), Z8, Z9
	VFMADD213PS.BCST  gelu<>+32(SB), Z8, Z9
	VFMADD213PS.BCST  gelu<>+28(SB), Z8, Z9
	VFMADD213PS.BCST  gelu<>+24(SB), Z8, Z9
	VFMADD213PS.BCST  gelu<>+20(SB), Z8, Z9
	VFMADD213PS.BCST  gelu<>+16(SB), Z8, Z9
	VFMADD213PS.BCST  gelu<>+12(SB), Z8, Z9 // P(t)
	VFNMADD231PS      Z4, Z4, Z9            // P(t) - a²
	EXP(Z9)
	VMULPS            Z8, Z9, Z9
	VMULPS            Z29, Z9, Z9 // h = ½·erfc(a)
	VSUBPS            Z9, Z25, Z10
	VCMPPS            $0x0d, Z15, Z0, K2 // x ≥ 0
	VMOVAPS           Z10, K2, Z9
	VMULPS            Z9, Z0, Z0
	JMP               store

hswish:
	VMOVAPS     Z0, Z4
	VFMADD213PS Z29, Z28, Z4
	VMAXPS      Z15, Z4, Z4
	VMINPS      Z25, Z4, Z4
	VMULPS      Z4, Z0, Z0

store:
	VMOVUPS Z0, K1, (DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     loop

rowdone:
	ADDQ R11, R10
	DECQ R9
	JNZ  row

done:
	VZEROUPPER
	FPMODE_LEAVE
	RET

// func softmaxRowAVX512(dst, x *float32, n int, sums *[16]float32) (m float32)
// writes dst[i] = e^(x[i]-m) for the n > 0 values of a row, m their
// maximum (returned; NaN when a value is NaN, and then nothing is
// written), and leaves the sums' 16 lanes in sums for the caller to add in
// float64. A difference under -87 gives 0 (its exponential is subnormal,
// which the kernels flush). Three passes: max, exponentials, and none
// more (the caller scales).
TEXT ·softmaxRowAVX512(SB), NOSPLIT, $8-36
	FPMODE_ENTER
	EXPCONST
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0xff800000, AX // -Inf
	VPBROADCASTD AX, Z0
	KXORW K3, K3, K3 // lanes seen NaN

maxloop:
	MOVL  $0xFFFF, AX
	CMPQ  CX, $16
	JGE   maxfull
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX

maxfull:
	KMOVW     AX, K1
	VMOVUPS.Z (SI), K1, Z1
	VCMPPS    $3, Z1, Z1, K1, K2 // unordered: NaN
	KORW      K2, K3, K3
	VMAXPS    Z1, Z0, K1, Z0
	ADDQ      $64, SI
	SUBQ      $16, CX
	JG        maxloop
	KORTESTW  K3, K3
	JNZ       nan
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4E, X0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0xB1, X0, X1
	VMAXPS        X1, X0, X0
	VMOVSS        X0, m+32(FP)
	VBROADCASTSS  X0, Z6 // m
	VPXORD        Z5, Z5, Z5 // sums
	MOVQ          x+8(FP), SI
	MOVQ          dst+0(FP), DI
	MOVQ          n+16(FP), CX

exploop:
	MOVL  $0xFFFF, AX
	CMPQ  CX, $16
	JGE   expfull
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX

expfull:
	KMOVW     AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VSUBPS    Z6, Z4, Z4
	VCMPPS    $0x1d, Z26, Z4, K1, K2 // d ≥ -87, in the row
	EXP(Z4)
	VMOVAPS.Z Z4, K2, Z4
	VADDPS    Z4, Z5, Z5
	VMOVUPS   Z4, K1, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JG        exploop
	MOVQ      sums+24(FP), AX
	VMOVUPS   Z5, (AX)
	VZEROUPPER
	FPMODE_LEAVE
	RET

nan:
	MOVL $0x7fc00000, AX
	MOVL AX, m+32(FP)
	VZEROUPPER
	FPMODE_LEAVE
	RET
