/*
 * user_kernel_page_asm.S — the way into ring 3 for user_kernel_page: iret with the flat user
 * selectors.
 */
	.text

/* void enter_user(uint32_t eip, uint32_t esp): never returns; ring 3 comes back through the
 * exit system call. EFLAGS is 0x002 (IOPL 0, IF 0). */
	.globl	enter_user
enter_user:
	mov	4(%esp), %ecx
	mov	8(%esp), %edx
	mov	$0x23, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %fs
	mov	%eax, %gs
	pushl	$0x23				/* SS */
	push	%edx				/* ESP */
	pushl	$0x002				/* EFLAGS */
	pushl	$0x1b				/* CS */
	push	%ecx				/* EIP */
	iret
