/*
 * stack_asm.S — stack instructions whose details C never shows. Each function takes
 * uint32_t *out, fills it, and keeps the cdecl callee-saved registers. Stack addresses are
 * stored relative to the ESP the function saw on entry (kept in ESI), so the output does not
 * depend on where the stack is.
 */
	.macro	prologue
	push	%ebp
	push	%ebx
	push	%esi
	push	%edi
	mov	20(%esp), %edi
	mov	%esp, %esi
	.endm

	.macro	epilogue
	mov	%esi, %esp
	pop	%edi
	pop	%esi
	pop	%ebx
	pop	%ebp
	ret
	.endm

	/* out[n] = ESP - ESI */
	.macro	rec_esp n
	mov	%esp, %eax
	sub	%esi, %eax
	mov	%eax, \n*4(%edi)
	.endm

	.data
	.balign	4
mem_a:	.long	0x13579bdf
mem_b:	.long	0
	/* A display for enter with nesting levels: enter copies [EBP-4], [EBP-8], ... */
fake_display:
	.long	0x33333333, 0x22222222, 0x11111111
fake_frame:
	.long	0xfeedface

	.text

/* void stk_basic(uint32_t out[16]): push/pop of immediates, registers and memory. */
	.globl	stk_basic
stk_basic:
	prologue
	push	$-1				/* 6a ff: sign-extended */
	pop	%eax
	mov	%eax, 0(%edi)
	push	$0x7f				/* 6a 7f */
	push	$0x80				/* 68 imm32 */
	push	$0x12345678
	rec_esp	1				/* -12 */
	pop	%eax
	pop	%ebx
	pop	%ecx
	mov	%eax, 8(%edi)
	mov	%ebx, 12(%edi)
	mov	%ecx, 16(%edi)
	pushl	mem_a				/* push m32 */
	popl	mem_b				/* pop m32 */
	mov	mem_b, %eax
	mov	%eax, 20(%edi)
	mov	$mem_a, %ebx
	pushl	(%ebx)
	notl	(%esp)
	popl	4(%ebx)				/* mem_b = ~mem_a */
	mov	mem_b, %eax
	mov	%eax, 24(%edi)
	rec_esp	7				/* 0 */
	epilogue

/* void stk_word(uint32_t out[16]): 16-bit pushes and pops with the 0x66 prefix. */
	.globl	stk_word
stk_word:
	prologue
	mov	$0xaaaaaaaa, %eax
	push	%eax
	pushw	$0x8001				/* 66 68 iw */
	rec_esp	0				/* -6 */
	pushw	$-2				/* 66 6a ib */
	rec_esp	1				/* -8 */
	pop	%eax				/* 0x8001fffe */
	mov	%eax, 8(%edi)
	mov	$0x12345678, %ebx
	pushw	%bx
	pushw	mem_a				/* push m16: 0x9bdf */
	popl	%eax				/* 0x56789bdf */
	mov	%eax, 12(%edi)
	rec_esp	4				/* -4 */
	mov	$0xffffffff, %ecx
	pushw	$0x4321
	popw	%cx				/* only CX changes */
	mov	%ecx, 20(%edi)
	pushw	$0x1111
	popw	mem_b				/* pop m16 */
	mov	mem_b, %eax
	mov	%eax, 24(%edi)
	pop	%eax				/* 0xaaaaaaaa */
	mov	%eax, 28(%edi)
	rec_esp	8				/* 0 */
	epilogue

/* void stk_pusha(uint32_t out[16]): pusha/popa and their 16-bit forms. */
	.globl	stk_pusha
stk_pusha:
	prologue
	mov	%edi, %ebp
	mov	$0x11111111, %eax
	mov	$0x22222222, %ecx
	mov	$0x33333333, %edx
	mov	$0x44444444, %ebx
	push	%edi
	mov	$0x77777777, %edi
	push	%esi
	mov	%esi, %esi			/* ESI keeps esp0 */
	pushal
	/* The image: EDI ESI EBP ESP EBX EDX ECX EAX, lowest address first. */
	mov	(%esp), %eax
	mov	%eax, 0(%ebp)
	mov	12(%esp), %eax			/* ESP before pushal */
	sub	%esi, %eax
	mov	%eax, 4(%ebp)			/* -8 */
	mov	28(%esp), %eax
	mov	%eax, 8(%ebp)
	/* Change the image, the ESP slot included (popal must ignore it). */
	movl	$0xa0a0a0a0, 0(%esp)		/* edi */
	movl	$0xdeadbeef, 12(%esp)		/* esp: ignored */
	movl	$0xb0b0b0b0, 16(%esp)		/* ebx */
	movl	$0xc0c0c0c0, 28(%esp)		/* eax */
	movl	%ebp, 8(%esp)			/* ebp: keep the out pointer */
	popal
	mov	%eax, 12(%ebp)
	mov	%ebx, 16(%ebp)
	mov	%ecx, 20(%ebp)
	mov	%edx, 24(%ebp)
	mov	%edi, 28(%ebp)
	mov	%esp, %eax
	pop	%esi
	sub	%esi, %eax
	mov	%eax, 32(%ebp)			/* -8 */
	pop	%edi
	/* pushaw/popaw: eight 16-bit slots. */
	mov	$0xffff0001, %eax
	mov	$0xffff0002, %ecx
	mov	$0xffff0003, %edx
	mov	$0xffff0004, %ebx
	pushaw
	rec_esp	9				/* -16 */
	mov	8(%esp), %eax			/* BX, DX */
	mov	%eax, 40(%edi)
	mov	12(%esp), %eax			/* CX, AX */
	mov	%eax, 44(%edi)
	movw	$0x5555, 14(%esp)		/* AX */
	movw	$0x6666, 8(%esp)		/* BX */
	popaw
	mov	%eax, 48(%edi)			/* 0xffff5555 */
	mov	%ebx, 52(%edi)			/* 0xffff6666 */
	rec_esp	14				/* 0 */
	epilogue

/* void stk_esp(uint32_t out[16]): push esp, pop esp, and pops whose address uses ESP. */
	.globl	stk_esp
stk_esp:
	prologue
	push	%esp				/* the value before the push */
	pop	%eax
	sub	%esi, %eax
	mov	%eax, 0(%edi)			/* 0 */
	pushw	%sp				/* 16-bit: low half of ESP before the push */
	popw	%ax
	sub	%si, %ax
	movzwl	%ax, %eax
	mov	%eax, 4(%edi)			/* 0 */
	lea	-8(%esp), %eax
	push	%eax
	pop	%esp				/* ESP = popped value, the increment is lost */
	rec_esp	2				/* -8 */
	mov	%esi, %esp
	push	$0xaaaa
	push	$0xbbbb
	pop	(%esp)				/* ESP is incremented before the address is computed */
	rec_esp	3				/* -4 */
	pop	%eax
	mov	%eax, 16(%edi)			/* 0xbbbb */
	push	$1
	push	$2
	push	$3
	pop	4(%esp)				/* [esp0-4] = 3 */
	pop	%eax
	mov	%eax, 20(%edi)			/* 2 */
	pop	%eax
	mov	%eax, 24(%edi)			/* 3 */
	push	$0x77
	push	$0x88
	push	4(%esp)				/* pushes 0x77 */
	pop	%eax
	mov	%eax, 28(%edi)
	push	(%esp)				/* pushes 0x88 */
	pop	%eax
	mov	%eax, 32(%edi)
	add	$8, %esp
	/* Segment registers: a dword slot (only the low 16 bits are defined) or a word. */
	push	%ds
	rec_esp	9				/* -4 */
	movzwl	(%esp), %eax
	mov	%eax, 40(%edi)			/* 0x10 */
	pop	%es
	pushw	%ss
	rec_esp	11				/* -2 */
	popw	%fs
	mov	%fs, %eax
	movzwl	%ax, %eax
	mov	%eax, 48(%edi)			/* 0x10 */
	rec_esp	13				/* 0 */
	epilogue

/* void stk_enter_N(uint32_t out[16]): enter $size, $level with a fake display, then leave.
 * out: ESP and EBP after enter (relative to the entry ESP); the old EBP that enter saved, less
 * fake_frame; the level - 1 display entries it copied; the frame pointer it pushed last, less
 * the new EBP; then ESP after leave (relative) and EBP after leave, less fake_frame. */
	.macro	enter_test name, size, level
	.globl	\name
\name:
	prologue
	mov	$fake_frame, %ebp
	enter	$\size, $\level
	rec_esp	0
	mov	%ebp, %eax
	sub	%esi, %eax
	mov	%eax, 4(%edi)
	mov	(%ebp), %eax
	sub	$fake_frame, %eax
	mov	%eax, 8(%edi)
	.set	i, 1
	.rept	\level
	mov	-i*4(%ebp), %eax
	.if	i == \level
	sub	%ebp, %eax
	.endif
	mov	%eax, 8+i*4(%edi)
	.set	i, i + 1
	.endr
	leave
	rec_esp	6
	mov	%ebp, %eax
	sub	$fake_frame, %eax
	mov	%eax, 28(%edi)
	epilogue
	.endm

	enter_test stk_enter_0, 16, 0
	enter_test stk_enter_1, 8, 1
	enter_test stk_enter_2, 4, 2
	enter_test stk_enter_3, 0, 3
	enter_test stk_enter_big, 0x1234, 0
