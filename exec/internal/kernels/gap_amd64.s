#include "textflag.h"
#include "fpmode_amd64.h"

// Global average pooling of one NHWC image (pool.go): dst[k] =
// float32(Σ_i float64(x[i*c+k]) · inv) for k < c, summing in float64 in
// pixel order per channel — the Go loop's arithmetic exactly. With sums
// non-nil, sums[k] = Σ_i float64(x[i*c+k]) instead (dst is not written).
// Channels go 32 at a time (four chains of 8 doubles), then 8 at a time,
// the last 8 masked by tailmask.

// func gapAVX512(dst, x *float32, hw, c, n int, tailmask uint64, inv float64, sums *float64)
// (channels [0, n) of rows c floats apart)
TEXT ·gapAVX512(SB), NOSPLIT, $8-64
	FPMODE_ENTER
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         c+24(FP), R8
	SHLQ         $2, R8             // row stride, bytes
	MOVQ         n+32(FP), R12
	SHLQ         $2, R12            // channels to do, bytes
	VBROADCASTSD inv+48(FP), Z31
	MOVL         $0xFF, AX
	KMOVW        AX, K2             // 8 lanes
	XORQ         R9, R9             // channel offset, bytes

g32:
	MOVQ    R12, AX
	SUBQ    R9, AX
	CMPQ    AX, $128
	JLT     g8
	VPXORQ  Z0, Z0, Z0
	VPXORQ  Z1, Z1, Z1
	VPXORQ  Z2, Z2, Z2
	VPXORQ  Z3, Z3, Z3
	LEAQ    (SI)(R9*1), BX
	MOVQ    hw+16(FP), CX
	TESTQ   CX, CX
	JZ      s32

l32:
	VCVTPS2PD (BX), Z4
	VCVTPS2PD 32(BX), Z5
	VCVTPS2PD 64(BX), Z6
	VCVTPS2PD 96(BX), Z7
	VADDPD    Z4, Z0, Z0
	VADDPD    Z5, Z1, Z1
	VADDPD    Z6, Z2, Z2
	VADDPD    Z7, Z3, Z3
	ADDQ      R8, BX
	DECQ      CX
	JNZ       l32

s32:
	MOVQ      sums+56(FP), DX
	TESTQ     DX, DX
	JZ        m32
	VMOVUPD   Z0, (DX)(R9*2)
	VMOVUPD   Z1, 64(DX)(R9*2)
	VMOVUPD   Z2, 128(DX)(R9*2)
	VMOVUPD   Z3, 192(DX)(R9*2)
	ADDQ      $128, R9
	JMP       g32

m32:
	VMULPD    Z31, Z0, Z0
	VMULPD    Z31, Z1, Z1
	VMULPD    Z31, Z2, Z2
	VMULPD    Z31, Z3, Z3
	VCVTPD2PS Z0, Y0
	VCVTPD2PS Z1, Y1
	VCVTPD2PS Z2, Y2
	VCVTPD2PS Z3, Y3
	VMOVUPS   Y0, (DI)(R9*1)
	VMOVUPS   Y1, 32(DI)(R9*1)
	VMOVUPS   Y2, 64(DI)(R9*1)
	VMOVUPS   Y3, 96(DI)(R9*1)
	ADDQ      $128, R9
	JMP       g32

g8:
	CMPQ   R9, R12
	JGE    done
	MOVQ   R12, AX
	SUBQ   R9, AX
	KMOVW  K2, K1
	CMPQ   AX, $32
	JGE    full8
	MOVQ   tailmask+40(FP), AX
	KMOVW  AX, K1

full8:
	VPXORQ Z0, Z0, Z0
	LEAQ   (SI)(R9*1), BX
	MOVQ   hw+16(FP), CX
	TESTQ  CX, CX
	JZ     s8

l8:
	VCVTPS2PD.Z (BX), K1, Z4
	VADDPD    Z4, Z0, Z0
	ADDQ      R8, BX
	DECQ      CX
	JNZ       l8

s8:
	MOVQ      sums+56(FP), DX
	TESTQ     DX, DX
	JZ        m8
	VMOVUPD   Z0, K1, (DX)(R9*2)
	ADDQ      $32, R9
	JMP       g8

m8:
	VMULPD    Z31, Z0, Z0
	VCVTPD2PS Z0, Y0
	VMOVUPS   Z0, K1, (DI)(R9*1)
	ADDQ      $32, R9
	JMP       g8

done:
	VZEROUPPER
	FPMODE_LEAVE
	RET
