/*
 * usermode_asm.S — the ring transitions: iret into ring 3, and the sysenter entry point.
 */
	.text

/* sysenter lands here at CPL 0 with SS:ESP from the MSRs; EDX and ECX hold the return EIP
 * and ESP for sysexit. */
	.globl	sysenter_entry
sysenter_entry:
	push	%ecx
	push	%edx
	mov	%esp, %edx
	push	%edx				/* where the kernel stack is */
	push	%eax
	call	sysenter_c
	add	$8, %esp
	pop	%edx
	pop	%ecx
	sysexit
