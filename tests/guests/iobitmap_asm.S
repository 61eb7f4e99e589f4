/*
 * iobitmap_asm.S — the way into ring 3 for iobitmap: iret with the flat user selectors and the
 * EFLAGS (hence IOPL) the caller asks for.
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
