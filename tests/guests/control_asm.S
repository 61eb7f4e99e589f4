/*
 * control_asm.S — control-flow shapes that C does not produce on demand: loop/loope/loopne,
 * jecxz/jcxz, every jcc in rel8 and rel32 form, ret imm16, far call/jmp/ret, iret to the same
 * level, explicit jump tables, calls to the next instruction, and returns to a changed address.
 * All functions use the cdecl convention unless they say otherwise.
 */
	.text

/* uint32_t asm_loop_sum(uint32_t n): sum of n..1 with loop; jecxz guards n = 0. */
	.globl	asm_loop_sum
asm_loop_sum:
	mov	4(%esp), %ecx
	xor	%eax, %eax
	jecxz	2f
1:	add	%ecx, %eax
	loop	1b
2:	ret

/* uint32_t asm_loope(const uint8_t *p, uint32_t n, uint32_t v): scan while bytes equal v.
 * Returns ECX << 8 | ZF. n must not be 0. */
	.globl	asm_loope
asm_loope:
	push	%esi
	mov	8(%esp), %esi
	mov	12(%esp), %ecx
	mov	16(%esp), %edx
1:	cmpb	%dl, (%esi)
	lea	1(%esi), %esi
	loope	1b
	setz	%al
	movzbl	%al, %eax
	shl	$8, %ecx
	or	%ecx, %eax
	pop	%esi
	ret

/* uint32_t asm_loopne(const uint8_t *p, uint32_t n, uint32_t v): scan until a byte equals v. */
	.globl	asm_loopne
asm_loopne:
	push	%esi
	mov	8(%esp), %esi
	mov	12(%esp), %ecx
	mov	16(%esp), %edx
1:	cmpb	%dl, (%esi)
	lea	1(%esi), %esi
	loopne	1b
	setz	%al
	movzbl	%al, %eax
	shl	$8, %ecx
	or	%ecx, %eax
	pop	%esi
	ret

/* uint32_t asm_jcxz(uint32_t ecx): 1 if jcxz (16-bit CX, 0x67 prefix) is taken, else 0. */
	.globl	asm_jcxz
asm_jcxz:
	mov	4(%esp), %ecx
	mov	$1, %eax
	jcxz	1f
	xor	%eax, %eax
1:	ret

/* uint32_t asm_jcc_short(uint32_t eflags), asm_jcc_near(uint32_t eflags): bit n set when the
 * jcc of condition n (o no b ae e ne be a s ns p np l ge le g) is taken. */
	.macro	jcc_all form
	mov	4(%esp), %edx
	xor	%eax, %eax
	.set	bit, 1
	.irp	cc, o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g
	push	%edx
	popf
	\form j\cc 1f
	jmp	2f
1:	or	$bit, %eax
2:
	.set	bit, bit << 1
	.endr
	ret
	.endm

	.globl	asm_jcc_short
asm_jcc_short:
	jcc_all

	.globl	asm_jcc_near
asm_jcc_near:
	jcc_all	{disp32}

/* uint32_t __attribute__((stdcall)) asm_stdcall3(uint32_t a, uint32_t b, uint32_t c) */
	.globl	asm_stdcall3
asm_stdcall3:
	mov	4(%esp), %eax
	sub	8(%esp), %eax
	imul	12(%esp), %eax
	ret	$12

/* uint32_t asm_far(void): far call (direct and through memory), lret and lret imm16, far jmp,
 * and an iret that stays at CPL 0. Returns a sum of markers; ESP must come back balanced. */
	.globl	asm_far
asm_far:
	push	%ebx
	push	%ebp
	mov	%esp, %ebp
	xor	%ebx, %ebx
	lcall	$0x08, $far_add1
	lcall	*far_ptr_add10
	pushl	$0x55
	lcall	$0x08, $far_add100_pop4
	ljmp	*far_ptr_jump
far_back:
	ljmp	$0x08, $1f
	add	$0x1000000, %ebx		/* skipped */
1:	pushfl
	push	%cs
	push	$2f
	iret
	add	$0x2000000, %ebx		/* skipped */
2:	sub	%esp, %ebp			/* 0 when balanced */
	shl	$28, %ebp
	lea	(%ebx, %ebp), %eax
	pop	%ebp
	pop	%ebx
	ret

far_add1:
	add	$1, %ebx
	lret
far_add10:
	add	$10, %ebx
	lret
far_add100_pop4:
	add	$100, %ebx
	add	8(%esp), %ebx			/* the pushed 0x55 */
	lret	$4
far_jump_target:
	add	$1000, %ebx
	jmp	far_back

	.data
	.balign	4
far_ptr_add10:
	.long	far_add10
	.word	0x08
	.balign	4
far_ptr_jump:
	.long	far_jump_target
	.word	0x08
	.text

/* uint32_t asm_get_eip_delta(void): call to the next instruction, the PIC idiom. Returns 0 when
 * the pushed address is the label's. */
	.globl	asm_get_eip_delta
asm_get_eip_delta:
	call	1f
1:	pop	%eax
	sub	$1b, %eax
	ret

/* uint32_t asm_ret_skip(void): the callee moves its return address past a 5-byte instruction. */
	.globl	asm_ret_skip
asm_ret_skip:
	xor	%eax, %eax
	call	1f
	mov	$0xbad, %eax			/* b8 imm32: skipped */
	ret
1:	addl	$5, (%esp)
	mov	$0x600d, %eax
	ret

/* uint32_t asm_push_ret(uint32_t i): push+ret as an indirect jump to one of two targets. */
	.globl	asm_push_ret
asm_push_ret:
	mov	4(%esp), %eax
	test	%eax, %eax
	jz	1f
	push	$3f
	ret
1:	push	$4f
	ret
	mov	$0xdead, %eax			/* never reached */
	ret
3:	mov	$0x33, %eax
	ret
4:	mov	$0x44, %eax
	ret

/* uint32_t asm_jump_table(uint32_t i): jmp *table(,%eax,4) with eight targets. */
	.globl	asm_jump_table
asm_jump_table:
	mov	4(%esp), %eax
	and	$7, %eax
	jmp	*jt(, %eax, 4)
jt0:	mov	$0x10, %eax
	ret
jt1:	mov	$0x11, %eax
	ret
jt2:	mov	$0x12, %eax
	ret
jt3:	lea	0x13(%eax), %eax
	ret
jt4:	mov	$jt_mid, %edx			/* jmp *%reg into the middle of code */
	jmp	*%edx
jt5:	mov	$0x15, %eax
	jmp	jt_end
jt6:	mov	$0x16, %eax
jt_mid:	add	$0x100, %eax
jt_end:	ret

	.section .rodata
	.balign	4
jt:	.long	jt0, jt1, jt2, jt3, jt4, jt5, jt6, jt_mid
	.text

/* uint32_t asm_call_table(uint32_t i, uint32_t x): call *table(,%ecx,4) and call *%reg. */
	.globl	asm_call_table
asm_call_table:
	mov	4(%esp), %ecx
	mov	8(%esp), %eax
	and	$3, %ecx
	call	*ct(, %ecx, 4)
	mov	ct(, %ecx, 4), %edx
	call	*%edx
	ret
ct0:	add	$1, %eax
	ret
ct1:	shl	$1, %eax
	ret
ct2:	not	%eax
	ret
ct3:	imul	$3, %eax, %eax
	ret

	.section .rodata
	.balign	4
ct:	.long	ct0, ct1, ct2, ct3
