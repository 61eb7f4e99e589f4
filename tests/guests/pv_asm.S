/*
 * pv_asm.S — a hypercall with every general register set from a struct and stored back into
 * it afterwards (so that the kernel sees which registers the monitor changed), and the iret
 * into ring 3.
 */
	.text

/* struct pv_regs { eax, ebx, ecx, edx, esi, edi, ebp } at these offsets. */
	.macro	pv_hypercall name, insn
	.globl	\name
	.globl	\name\()_insn
	.type	\name, @function
\name:
	push	%ebp
	push	%ebx
	push	%esi
	push	%edi
	mov	20(%esp), %eax			/* struct pv_regs * */
	push	%eax				/* kept for the way back */
	mov	4(%eax), %ebx
	mov	8(%eax), %ecx
	mov	12(%eax), %edx
	mov	16(%eax), %esi
	mov	20(%eax), %edi
	mov	24(%eax), %ebp
	mov	0(%eax), %eax
\name\()_insn:
	\insn
	xchg	%eax, (%esp)			/* EAX: the struct, on the stack: the result */
	mov	%ebx, 4(%eax)
	mov	%ecx, 8(%eax)
	mov	%edx, 12(%eax)
	mov	%esi, 16(%eax)
	mov	%edi, 20(%eax)
	mov	%ebp, 24(%eax)
	popl	0(%eax)
	pop	%edi
	pop	%esi
	pop	%ebx
	pop	%ebp
	ret
	.size	\name, . - \name
	.endm

/* void pv_vmcall(struct pv_regs *r), void pv_vmmcall(struct pv_regs *r) */
	pv_hypercall pv_vmcall, vmcall
	pv_hypercall pv_vmmcall, vmmcall

