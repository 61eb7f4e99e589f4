/*
 * host_entry.S — entry point of a kernel built as a Linux i386 program (see host.c): no
 * multiboot information, so kmain gets zeros.
 */
	.text
	.globl	_start
_start:
	and	$-16, %esp
	sub	$8, %esp
	pushl	$0
	pushl	$0
	call	kmain
	pushl	$0
	call	guest_exit

	.section .note.GNU-stack, "", @progbits
