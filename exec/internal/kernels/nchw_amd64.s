#include "textflag.h"

// Index tables of nchw3AVX512: output vector j (16 floats of 16 pixels
// × 3 channels) takes lane L from pixel (16j+L)/3, channel (16j+L)%3:
// channels 0 and 1 by VPERMT2PS from planes 0 (index x) and 1 (16+x),
// channel 2 by a masked VPERMPS from plane 2.
DATA nchw3ab<>+0(SB)/4, $0
DATA nchw3ab<>+4(SB)/4, $16
DATA nchw3ab<>+8(SB)/4, $0
DATA nchw3ab<>+12(SB)/4, $1
DATA nchw3ab<>+16(SB)/4, $17
DATA nchw3ab<>+20(SB)/4, $0
DATA nchw3ab<>+24(SB)/4, $2
DATA nchw3ab<>+28(SB)/4, $18
DATA nchw3ab<>+32(SB)/4, $0
DATA nchw3ab<>+36(SB)/4, $3
DATA nchw3ab<>+40(SB)/4, $19
DATA nchw3ab<>+44(SB)/4, $0
DATA nchw3ab<>+48(SB)/4, $4
DATA nchw3ab<>+52(SB)/4, $20
DATA nchw3ab<>+56(SB)/4, $0
DATA nchw3ab<>+60(SB)/4, $5
DATA nchw3ab<>+64(SB)/4, $21
DATA nchw3ab<>+68(SB)/4, $0
DATA nchw3ab<>+72(SB)/4, $6
DATA nchw3ab<>+76(SB)/4, $22
DATA nchw3ab<>+80(SB)/4, $0
DATA nchw3ab<>+84(SB)/4, $7
DATA nchw3ab<>+88(SB)/4, $23
DATA nchw3ab<>+92(SB)/4, $0
DATA nchw3ab<>+96(SB)/4, $8
DATA nchw3ab<>+100(SB)/4, $24
DATA nchw3ab<>+104(SB)/4, $0
DATA nchw3ab<>+108(SB)/4, $9
DATA nchw3ab<>+112(SB)/4, $25
DATA nchw3ab<>+116(SB)/4, $0
DATA nchw3ab<>+120(SB)/4, $10
DATA nchw3ab<>+124(SB)/4, $26
DATA nchw3ab<>+128(SB)/4, $0
DATA nchw3ab<>+132(SB)/4, $11
DATA nchw3ab<>+136(SB)/4, $27
DATA nchw3ab<>+140(SB)/4, $0
DATA nchw3ab<>+144(SB)/4, $12
DATA nchw3ab<>+148(SB)/4, $28
DATA nchw3ab<>+152(SB)/4, $0
DATA nchw3ab<>+156(SB)/4, $13
DATA nchw3ab<>+160(SB)/4, $29
DATA nchw3ab<>+164(SB)/4, $0
DATA nchw3ab<>+168(SB)/4, $14
DATA nchw3ab<>+172(SB)/4, $30
DATA nchw3ab<>+176(SB)/4, $0
DATA nchw3ab<>+180(SB)/4, $15
DATA nchw3ab<>+184(SB)/4, $31
DATA nchw3ab<>+188(SB)/4, $0
GLOBL nchw3ab<>(SB), RODATA|NOPTR, $192
DATA nchw3c<>+0(SB)/4, $0
DATA nchw3c<>+4(SB)/4, $0
DATA nchw3c<>+8(SB)/4, $0
DATA nchw3c<>+12(SB)/4, $0
DATA nchw3c<>+16(SB)/4, $0
DATA nchw3c<>+20(SB)/4, $1
DATA nchw3c<>+24(SB)/4, $0
DATA nchw3c<>+28(SB)/4, $0
DATA nchw3c<>+32(SB)/4, $2
DATA nchw3c<>+36(SB)/4, $0
DATA nchw3c<>+40(SB)/4, $0
DATA nchw3c<>+44(SB)/4, $3
DATA nchw3c<>+48(SB)/4, $0
DATA nchw3c<>+52(SB)/4, $0
DATA nchw3c<>+56(SB)/4, $4
DATA nchw3c<>+60(SB)/4, $0
DATA nchw3c<>+64(SB)/4, $0
DATA nchw3c<>+68(SB)/4, $5
DATA nchw3c<>+72(SB)/4, $0
DATA nchw3c<>+76(SB)/4, $0
DATA nchw3c<>+80(SB)/4, $6
DATA nchw3c<>+84(SB)/4, $0
DATA nchw3c<>+88(SB)/4, $0
DATA nchw3c<>+92(SB)/4, $7
DATA nchw3c<>+96(SB)/4, $0
DATA nchw3c<>+100(SB)/4, $0
DATA nchw3c<>+104(SB)/4, $8
DATA nchw3c<>+108(SB)/4, $0
DATA nchw3c<>+112(SB)/4, $0
DATA nchw3c<>+116(SB)/4, $9
DATA nchw3c<>+120(SB)/4, $0
DATA nchw3c<>+124(SB)/4, $0
DATA nchw3c<>+128(SB)/4, $10
DATA nchw3c<>+132(SB)/4, $0
DATA nchw3c<>+136(SB)/4, $0
DATA nchw3c<>+140(SB)/4, $11
DATA nchw3c<>+144(SB)/4, $0
DATA nchw3c<>+148(SB)/4, $0
DATA nchw3c<>+152(SB)/4, $12
DATA nchw3c<>+156(SB)/4, $0
DATA nchw3c<>+160(SB)/4, $0
DATA nchw3c<>+164(SB)/4, $13
DATA nchw3c<>+168(SB)/4, $0
DATA nchw3c<>+172(SB)/4, $0
DATA nchw3c<>+176(SB)/4, $14
DATA nchw3c<>+180(SB)/4, $0
DATA nchw3c<>+184(SB)/4, $0
DATA nchw3c<>+188(SB)/4, $15
GLOBL nchw3c<>(SB), RODATA|NOPTR, $192

// func nchw3AVX512(dst, s0, s1, s2 *float32, blocks int)
// interleaves 16·blocks pixels of three planes into dst (pixel-major).
TEXT ·nchw3AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ s0+8(FP), SI
	MOVQ s1+16(FP), R8
	MOVQ s2+24(FP), R9
	MOVQ blocks+32(FP), CX
	TESTQ CX, CX
	JZ done
	VMOVDQU32 nchw3ab<>+0(SB), Z10
	VMOVDQU32 nchw3c<>+0(SB), Z13
	MOVL $18724, AX
	KMOVW AX, K1
	VMOVDQU32 nchw3ab<>+64(SB), Z11
	VMOVDQU32 nchw3c<>+64(SB), Z14
	MOVL $9362, AX
	KMOVW AX, K2
	VMOVDQU32 nchw3ab<>+128(SB), Z12
	VMOVDQU32 nchw3c<>+128(SB), Z15
	MOVL $37449, AX
	KMOVW AX, K3
loop:
	VMOVUPS (SI), Z0
	VMOVUPS (R8), Z1
	VMOVUPS (R9), Z2
	VMOVAPS Z0, Z3
	VPERMT2PS Z1, Z10, Z3
	VPERMPS Z2, Z13, K1, Z3
	VMOVUPS Z3, 0(DI)
	VMOVAPS Z0, Z4
	VPERMT2PS Z1, Z11, Z4
	VPERMPS Z2, Z14, K2, Z4
	VMOVUPS Z4, 64(DI)
	VMOVAPS Z0, Z5
	VPERMT2PS Z1, Z12, Z5
	VPERMPS Z2, Z15, K3, Z5
	VMOVUPS Z5, 128(DI)
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $192, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
done:
	RET
