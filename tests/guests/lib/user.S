/*
 * user.S — the way into ring 3 for every kernel that has one: iret with the flat user
 * selectors of entry.S's GDT (code 0x1b, data 0x23).
 */
	.text

/* void enter_user(uint32_t eip, uint32_t esp, uint32_t eflags): never returns; ring 3 comes
 * back through a system call or an exception. */
	.globl	enter_user
	.type	enter_user, @function
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
	.size	enter_user, . - enter_user

	.section .note.GNU-stack, "", @progbits
