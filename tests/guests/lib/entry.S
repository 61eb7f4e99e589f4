/*
 * entry.S — multiboot v1 header and the common entry point of every guest kernel.
 *
 * The loader enters in 32-bit protected mode with EAX = 0x2BADB002 and EBX = the multiboot info.
 * Nothing else it left (selectors, GDTR, stack) is trusted: we clear BSS, take our own stack and
 * GDT, reload every segment register and start from a known EFLAGS before calling kmain().
 */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00000003	/* page-aligned modules, memory information */

	.section .multiboot, "a"
	.balign 4
	.long	MB_HEADER_MAGIC
	.long	MB_HEADER_FLAGS
	.long	-(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

	.text
	.globl	_start
	.type	_start, @function
_start:
	cli
	cld
	mov	%eax, %esi
	/* Zero BSS (stack included); EBX and ESI carry the loader's values across. */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	lgdt	gdt_ptr
	ljmp	$0x08, $1f
1:	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %fs
	mov	%eax, %gs
	mov	%eax, %ss
	mov	$stack_top, %esp
	xor	%ebp, %ebp
	pushl	$0x2
	popfl
	call	uart_init
	push	%ebx
	push	%esi
	call	kmain
	pushl	$0
	call	guest_exit
	.size	_start, . - _start

	.section .rodata
	.balign 4
	.word	0
gdt_ptr:
	.word	3 * 8 - 1
	.long	gdt_table

	.bss
	.balign 16
	.globl	stack_bottom, stack_top
stack_bottom:
	.skip	65536
stack_top:
