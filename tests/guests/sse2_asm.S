/*
 * sse2_asm.S — one stub per SSE/SSE2 operation, so that the C side can run them from a table.
 *
 * void stub(const void *a, const void *b, void *out): XMM0 = a, XMM1 = b, XMM0 = XMM0 op XMM1,
 * *out = XMM0 (16 bytes). Stubs with an integer result store it in the first dword of out.
 * The MMX stubs use MM0/MM1 with 8-byte operands and leave emms to the caller.
 */
	.text

	.macro	xmm_op name, insn:vararg
	.globl	\name
\name:
	mov	4(%esp), %eax
	mov	8(%esp), %edx
	mov	12(%esp), %ecx
	movdqu	(%eax), %xmm0
	movdqu	(%edx), %xmm1
	\insn
	movdqu	%xmm0, (%ecx)
	ret
	.endm

	/* Two-operand forms: insn %xmm1, %xmm0. */
	.irp	op, addps, subps, mulps, divps, minps, maxps, sqrtps, andps, andnps, orps, xorps, \
		addss, subss, mulss, divss, sqrtss, minss, maxss, \
		addpd, subpd, mulpd, divpd, minpd, maxpd, sqrtpd, andpd, xorpd, \
		addsd, subsd, mulsd, divsd, sqrtsd, minsd, maxsd, \
		unpcklps, unpckhps, unpcklpd, unpckhpd, movlhps, movhlps, movss, movsd, \
		cvtps2pd, cvtpd2ps, cvtdq2ps, cvtps2dq, cvttps2dq, cvtdq2pd, cvtpd2dq, cvttpd2dq, \
		cvtss2sd, cvtsd2ss, \
		paddb, paddw, paddd, paddq, psubb, psubw, psubd, psubq, \
		paddsb, paddsw, paddusb, paddusw, psubsb, psubsw, psubusb, psubusw, \
		pmullw, pmulhw, pmulhuw, pmuludq, pmaddwd, psadbw, pavgb, pavgw, \
		pmaxsw, pminsw, pmaxub, pminub, pcmpeqb, pcmpeqw, pcmpeqd, pcmpgtb, pcmpgtw, pcmpgtd, \
		pand, pandn, por, pxor, packsswb, packssdw, packuswb, \
		punpcklbw, punpckhbw, punpcklwd, punpckhwd, punpckldq, punpckhdq, \
		punpcklqdq, punpckhqdq, psllw, pslld, psllq, psrlw, psrld, psrlq, psraw, psrad
	xmm_op	sse_\op, \op %xmm1, %xmm0
	.endr

	/* Forms with an immediate. */
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7
	xmm_op	sse_cmpps_\n, cmpps $\n, %xmm1, %xmm0
	xmm_op	sse_cmppd_\n, cmppd $\n, %xmm1, %xmm0
	xmm_op	sse_cmpsd_\n, cmpsd $\n, %xmm1, %xmm0
	.endr
	xmm_op	sse_shufps_1b, shufps $0x1b, %xmm1, %xmm0
	xmm_op	sse_shufps_e4, shufps $0xe4, %xmm1, %xmm0
	xmm_op	sse_shufpd_1, shufpd $1, %xmm1, %xmm0
	xmm_op	sse_shufpd_2, shufpd $2, %xmm1, %xmm0
	xmm_op	sse_pshufd_4e, pshufd $0x4e, %xmm1, %xmm0
	xmm_op	sse_pshuflw_1b, pshuflw $0x1b, %xmm1, %xmm0
	xmm_op	sse_pshufhw_b1, pshufhw $0xb1, %xmm1, %xmm0
	xmm_op	sse_psllq_7, psllq $7, %xmm0
	xmm_op	sse_psrlw_3, psrlw $3, %xmm0
	xmm_op	sse_psraw_15, psraw $15, %xmm0
	xmm_op	sse_psrad_40, psrad $40, %xmm0
	xmm_op	sse_pslldq_5, pslldq $5, %xmm0
	xmm_op	sse_psrldq_3, psrldq $3, %xmm0
	xmm_op	sse_pinsrw_3, pinsrw $3, (%edx), %xmm0
	/* A memory source operand, and the unaligned-load-then-aligned-store forms. */
	xmm_op	sse_addpd_mem, addpd (%edx), %xmm0
	xmm_op	sse_mulsd_mem, mulsd (%edx), %xmm0

	/* Results in general registers: out[0] = the integer. */
	.macro	gpr_op name, insn:vararg
	.globl	\name
\name:
	mov	4(%esp), %eax
	mov	8(%esp), %edx
	mov	12(%esp), %ecx
	movdqu	(%eax), %xmm0
	movdqu	(%edx), %xmm1
	\insn
	mov	%eax, (%ecx)
	ret
	.endm

	gpr_op	sse_cvtsd2si, cvtsd2si %xmm0, %eax
	gpr_op	sse_cvttsd2si, cvttsd2si %xmm0, %eax
	gpr_op	sse_cvtss2si, cvtss2si %xmm0, %eax
	gpr_op	sse_cvttss2si, cvttss2si %xmm0, %eax
	gpr_op	sse_pmovmskb, pmovmskb %xmm0, %eax
	gpr_op	sse_movmskps, movmskps %xmm0, %eax
	gpr_op	sse_movmskpd, movmskpd %xmm0, %eax
	gpr_op	sse_pextrw_5, pextrw $5, %xmm0, %eax
	gpr_op	sse_movd_to, movd %xmm0, %eax

	/* Integer sources: XMM0 = a, then convert the first dword of b. */
	xmm_op	sse_cvtsi2sd, cvtsi2sdl (%edx), %xmm0
	xmm_op	sse_cvtsi2ss, cvtsi2ssl (%edx), %xmm0

	/* Comparisons into EFLAGS: out[0] = EFLAGS after the instruction. */
	.macro	flag_op name, insn:vararg
	.globl	\name
\name:
	mov	4(%esp), %eax
	mov	8(%esp), %edx
	mov	12(%esp), %ecx
	movdqu	(%eax), %xmm0
	movdqu	(%edx), %xmm1
	pushl	$0x8d7
	popf
	\insn
	pushf
	popl	(%ecx)
	ret
	.endm

	flag_op	sse_comisd, comisd %xmm1, %xmm0
	flag_op	sse_ucomisd, ucomisd %xmm1, %xmm0
	flag_op	sse_comiss, comiss %xmm1, %xmm0
	flag_op	sse_ucomiss, ucomiss %xmm1, %xmm0

	/* MMX: out (8 bytes) = MM0 op MM1. */
	.macro	mmx_op name, insn:vararg
	.globl	\name
\name:
	mov	4(%esp), %eax
	mov	8(%esp), %edx
	mov	12(%esp), %ecx
	movq	(%eax), %mm0
	movq	(%edx), %mm1
	\insn
	movq	%mm0, (%ecx)
	ret
	.endm

	.irp	op, paddw, paddusb, psubsw, pmulhw, pmullw, pmaddwd, pcmpgtw, punpcklbw, \
		punpckhwd, packsswb, psllq, psrad, pand, pxor
	mmx_op	mmx_\op, \op %mm1, %mm0
	.endr
	mmx_op	mmx_psllw_4, psllw $4, %mm0
	mmx_op	mmx_pshufw_1b, pshufw $0x1b, %mm1, %mm0
	mmx_op	mmx_movd, movd (%edx), %mm0
