/*
 * smc_asm.S — code that rewrites code: the immediate of an instruction a few bytes ahead in
 * the same straight-line block, the very next instruction, an instruction inside a hot loop,
 * the first byte of a function, and data kept in the middle of the code. Also overlapping
 * instructions (a jump into the middle of another instruction).
 */
	.text

/* uint32_t smc_ahead(uint32_t v): stores v into the imm32 of a mov two instructions on. */
	.globl	smc_ahead
smc_ahead:
	mov	4(%esp), %ecx
	mov	%ecx, smc_ahead_insn + 1
	nop
	nop
smc_ahead_insn:
	mov	$0x11111111, %eax
	ret

/* uint32_t smc_next(uint32_t v): stores v into the instruction that follows the store. */
	.globl	smc_next
smc_next:
	mov	4(%esp), %ecx
	mov	%ecx, 1f + 1
1:	mov	$0x22222222, %eax
	ret

/* uint32_t smc_loop(void): 100 rounds of "add $1, %eax"; in round 50 the loop rewrites its
 * own imm8 to 2 and in round 80 to 3. Returns 49 * 1 + 30 * 2 + 21 * 3 when every change
 * takes effect at once (the store comes before the add within a round). */
	.globl	smc_loop
smc_loop:
	push	%ebx
	xor	%eax, %eax
	mov	$1, %ecx
1:	cmp	$50, %ecx
	jne	2f
	movb	$2, smc_loop_add + 2
2:	cmp	$80, %ecx
	jne	3f
	movb	$3, smc_loop_add + 2
3:
smc_loop_add:
	add	$1, %eax			/* 83 c0 01 */
	inc	%ecx
	cmp	$100, %ecx
	jbe	1b
	movb	$1, smc_loop_add + 2		/* put it back for the next call */
	pop	%ebx
	ret

/* uint32_t smc_victim(void) and void smc_make_ret(uint8_t first): the caller patches the first
 * byte of smc_victim to c3 (ret) and back. */
	.globl	smc_victim
smc_victim:
	mov	$0x7777, %eax
	ret

/* uint32_t smc_text_counter(uint32_t n): increments a counter that lives in .text, right next
 * to the loop that updates it, n times. */
	.globl	smc_text_counter
smc_text_counter:
	mov	4(%esp), %ecx
	movl	$0, text_counter
1:	incl	text_counter
	addl	$3, text_counter
	loop	1b
	mov	text_counter, %eax
	ret
	.balign	4
text_counter:
	.long	0

/* uint32_t smc_overlap(uint32_t skip): jump into the middle of an instruction. With skip = 0
 * the bytes run as "mov $0x9003eb, %eax" and a ret follows; with skip = 1 they run as
 * "jmp +3" to the second path. */
	.globl	smc_overlap
smc_overlap:
	mov	4(%esp), %ecx
	mov	$smc_overlap_insn, %edx
	add	%ecx, %edx
	jmp	*%edx
smc_overlap_insn:
	.byte	0xb8, 0xeb, 0x03, 0x90, 0x00	/* mov $0x9003eb, %eax | jmp .+5 */
	ret
	nop
	mov	$0x5555, %eax
	ret

/* A template copied by rep movsb and run from a buffer: returns 4(%esp) * 3 + 7. */
	.globl	smc_template, smc_template_end
smc_template:
	mov	4(%esp), %eax
	lea	(%eax, %eax, 2), %eax
	add	$7, %eax
	ret
smc_template_end:
