/*
 * usermode_asm.S — the ring transitions: iret into ring 3, and the sysenter entry point.
 */
	.text

/* void enter_user(uint32_t eip, uint32_t esp, uint32_t eflags): never returns; ring 3 comes
 * back through the exit system call. */
	.globl	enter_user
enter_user:
	mov	4(%esp), %ecx
	mov	8(%esp), %edx
	mov	12(%esp), %ebx
	mov	$0x23, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %fs
	mov	%eax, %gs
	pushl	$0x23				/* SS */
	push	%edx				/* ESP */
	push	%ebx				/* EFLAGS */
	pushl	$0x1b				/* CS */
	push	%ecx				/* EIP */
	iret

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
