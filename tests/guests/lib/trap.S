/*
 * trap.S — one stub per IDT vector, the common trap path, and setjmp/longjmp.
 *
 * Each stub makes the stack look the same for every vector (a dummy error code where the CPU
 * pushes none), pushes its vector number and joins trap_common, which saves the registers as a
 * struct trap_frame, switches DS/ES to the flat data segment and calls trap_dispatch().
 */
	.altmacro

	/* Vectors for which the CPU pushes an error code. */
	.macro	trap_stub vec
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushl	$0
	.endif
	pushl	$\vec
	jmp	trap_common
	.endm

	.pushsection .rodata
	.balign	4
	.globl	trap_stubs
trap_stubs:
	.popsection

	.text
	.set	vec, 0
	.rept	256
	.pushsection .rodata
	.long	1f
	.popsection
1:	trap_stub %vec
	.set	vec, vec + 1
	.endr

trap_common:
	pusha
	push	%ds
	push	%es
	push	%fs
	push	%gs
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	push	%esp
	call	trap_dispatch
	add	$4, %esp
	pop	%gs
	pop	%fs
	pop	%es
	pop	%ds
	popa
	add	$8, %esp
	iret

	/* int guest_setjmp(struct jmp_buf *jb) */
	.globl	guest_setjmp
	.type	guest_setjmp, @function
guest_setjmp:
	mov	4(%esp), %eax
	mov	%ebx, 0(%eax)
	mov	%esi, 4(%eax)
	mov	%edi, 8(%eax)
	mov	%ebp, 12(%eax)
	lea	4(%esp), %ecx
	mov	%ecx, 16(%eax)
	mov	(%esp), %ecx
	mov	%ecx, 20(%eax)
	xor	%eax, %eax
	ret
	.size	guest_setjmp, . - guest_setjmp

	/* void guest_longjmp(struct jmp_buf *jb, int val) */
	.globl	guest_longjmp
	.type	guest_longjmp, @function
guest_longjmp:
	mov	4(%esp), %edx
	mov	8(%esp), %eax
	test	%eax, %eax
	jnz	1f
	inc	%eax
1:	mov	0(%edx), %ebx
	mov	4(%edx), %esi
	mov	8(%edx), %edi
	mov	12(%edx), %ebp
	mov	16(%edx), %esp
	jmp	*20(%edx)
	.size	guest_longjmp, . - guest_longjmp
