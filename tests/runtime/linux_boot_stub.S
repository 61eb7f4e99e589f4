/* linux_boot_stub.S — a 64 KiB QEMU "BIOS" that enters a kernel by the 32-bit Linux boot
 * protocol and does nothing else: what the bt86 runtime does with a struct rt_linux_boot.
 *
 * Assembled with --defsym EIP=, ESI=, GDT_BASE=, GDT_LIMIT= (scripts/qemu-loader-check.sh)
 * and linked at 0 into a flat binary. QEMU maps the image at 0xFFFF0000 (the reset vector
 * runs at its offset 0xFFF0 with CS base 0xFFFF0000) and at 0xF0000. No BIOS runs: no ACPI,
 * MP or SMBIOS tables, no video, no real-mode services, as under bt86.
 */
	.code16
	.text
	.globl	_start
_start:
gdtr:					/* the loader's GDT, as lgdt reads it */
	.word	GDT_LIMIT
	.long	GDT_BASE

	.org	0x100
entry16:
	cli
	cld
	lgdtl	%cs:gdtr
	movl	%cr0, %eax
	orl	$1, %eax		/* PE; paging stays off */
	movl	%eax, %cr0
	ljmpl	$0x10, $(0xF0000 + entry32) /* __BOOT_CS, through the image's low alias */

	.code32
entry32:
	movl	$0x18, %eax		/* __BOOT_DS */
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$ESI, %esi		/* the zero page */
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	xorl	%ebx, %ebx
	movl	$EIP, %eax
	jmp	*%eax

	.code16
	.org	0xFFF0
reset:
	jmp	entry16
	.org	0x10000
