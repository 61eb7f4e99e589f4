/* The only ways into and out of translated code.
 *
 * tr_enter saves the dispatcher's callee-saved registers on the host stack, loads the guest
 * state from the frame (r15 stays the frame pointer for the whole time guest code runs) and
 * jumps to the block. Every exit jumps to tr_exit_common with r14 = its exit record; that saves
 * the guest state back into the frame and returns from tr_enter. Host RSP holds guest ESP while
 * guest code runs, so nothing here may touch the stack between the two switches.
 */
#include "translator/frame_offsets.h"

	.intel_syntax noprefix
	.text

	.globl	tr_enter
	.type	tr_enter, @function
tr_enter:
	push	rbx
	push	rbp
	push	r12
	push	r13
	push	r14
	push	r15
	sub	rsp, 8
	mov	r15, rdi
	mov	[r15 + TRF_HOST_RSP], rsp
	mov	r13, rsi
	fxrstor64 [r15 + TRF_FPU]
	mov	r14, [r15 + TRF_WINDOW]
	wrgsbase r14
	push	qword ptr [r15 + TRF_RFLAGS]
	popfq
	/* From here on only flag-free instructions: the guest's flags are live. */
	mov	eax, [r15 + TRF_GPR + 0]
	mov	ecx, [r15 + TRF_GPR + 4]
	mov	edx, [r15 + TRF_GPR + 8]
	mov	ebx, [r15 + TRF_GPR + 12]
	mov	esp, [r15 + TRF_GPR + 16]
	mov	ebp, [r15 + TRF_GPR + 20]
	mov	esi, [r15 + TRF_GPR + 24]
	mov	edi, [r15 + TRF_GPR + 28]
	jmp	r13
	.size	tr_enter, . - tr_enter

	.globl	tr_exit_common
	.type	tr_exit_common, @function
tr_exit_common:
	mov	[r15 + TRF_EXIT], r14
	mov	[r15 + TRF_ESP], esp
	mov	rsp, [r15 + TRF_HOST_RSP]
	pushfq
	pop	qword ptr [r15 + TRF_RFLAGS]
	mov	[r15 + TRF_GPR + 0], eax
	mov	[r15 + TRF_GPR + 4], ecx
	mov	[r15 + TRF_GPR + 8], edx
	mov	[r15 + TRF_GPR + 12], ebx
	mov	[r15 + TRF_GPR + 20], ebp
	mov	[r15 + TRF_GPR + 24], esi
	mov	[r15 + TRF_GPR + 28], edi
	fxsave64 [r15 + TRF_FPU]
	/* The C ABI wants DF clear and a sane FPU/SSE control state; the guest's is saved. */
	cld
	fninit
	ldmxcsr	[rip + host_mxcsr]
	add	rsp, 8
	pop	r15
	pop	r14
	pop	r13
	pop	r12
	pop	rbp
	pop	rbx
	ret
	.size	tr_exit_common, . - tr_exit_common

/* Indirect-branch lookup: r14d = guest target eip. Flag-free, so it can sit between any two
 * guest instructions. The jump cache is direct-mapped on the low 18 bits of the eip (16 gave
 * the Linux boot millions of conflict misses between code 64 KiB apart) and tagged with
 * eip + mode (modes are below 2^13, so no two (eip, mode) pairs share a tag at one index); an
 * empty entry points at the miss path, so a false hit on it is harmless. */
	.globl	tr_ibl
	.type	tr_ibl, @function
tr_ibl:
	mov	r12d, 32 - TR_JC_INDEX_BITS
	shlx	r13d, r14d, r12d
	shrx	r13d, r13d, r12d	/* eip mod TR_JC_ENTRIES */
	lea	r13, [r13 * 8]
	mov	r12d, [r15 + r13 * 2 + TRF_JC]
	mov	r11d, r14d
	not	r11d
	lea	r12d, [r12 + r11 + 1]	/* tag - eip */
	mov	r11d, [r15 + TRF_JC_SALT]
	lea	r12d, [r12 + r11]	/* tag - eip - mode, zero on a hit */
	mov	r11, rcx
	mov	ecx, r12d
	jrcxz	1f
	mov	rcx, r11
	jmp	tr_ibl_miss
1:	mov	rcx, r11
	jmp	qword ptr [r15 + r13 * 2 + TRF_JC + 8]
	.size	tr_ibl, . - tr_ibl

	.globl	tr_ibl_miss
	.type	tr_ibl_miss, @function
tr_ibl_miss:
	mov	[r15 + TRF_TARGET], r14d
	lea	r14, [r15 + TRF_IND_EXIT]
	jmp	tr_exit_common
	.size	tr_ibl_miss, . - tr_ibl_miss

	.section .rodata
	.align	4
host_mxcsr:
	.long	0x1f80

	.section .note.GNU-stack, "", @progbits
