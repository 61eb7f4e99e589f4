/*
 * exceptions_asm.S — the faulting instructions. Each case is a function that sets EFLAGS to a
 * known value, then runs the instruction at its global label NAME_at; NAME_next is the
 * instruction after it. Cases that fault never return normally: the C side recovers through
 * TRAP_TRY(). Cases that trap (int3, into, int n) return to their caller.
 */
	.macro	begin name, flags
	.globl	\name, \name\()_at, \name\()_next
\name:
	push	%ebx
	pushl	$\flags
	popfl
	.endm

	.macro	at name
\name\()_at:
	.endm

	.macro	next name
\name\()_next:
	.endm

	.macro	end
	pop	%ebx
	cld
	ret
	.endm

	.text

	begin	x_div0, 0x8c3
	xor	%ecx, %ecx
	mov	$1, %eax
	xor	%edx, %edx
	at	x_div0
	div	%ecx
	next	x_div0
	end

	begin	x_idiv_overflow, 0x002
	mov	$0x80000000, %eax
	cdq
	mov	$-1, %ecx
	at	x_idiv_overflow
	idiv	%ecx
	next	x_idiv_overflow
	end

	begin	x_aam0, 0x002
	mov	$0x1234, %eax
	at	x_aam0
	aam	$0
	next	x_aam0
	end

	begin	x_ud2, 0x0c3
	at	x_ud2
	ud2
	next	x_ud2
	end

	/* FE /7 does not exist. */
	begin	x_bad_fe, 0x002
	at	x_bad_fe
	.byte	0xfe, 0xf8
	next	x_bad_fe
	end

	/* lock on an instruction that cannot take it. */
	begin	x_bad_lock, 0x002
	at	x_bad_lock
	.byte	0xf0, 0x01, 0xc3		/* lock add %eax, %ebx */
	next	x_bad_lock
	end

	/* mov to CS is undefined. */
	begin	x_mov_cs, 0x002
	mov	$0x08, %eax
	at	x_mov_cs
	.byte	0x8e, 0xc8			/* mov %eax, %cs */
	next	x_mov_cs
	end

	begin	x_int3, 0x846
	at	x_int3
	int3
	next	x_int3
	end

	begin	x_int_3, 0x002
	at	x_int_3
	int	$3				/* cd 03: EIP after two bytes */
	next	x_int_3
	end

	begin	x_into, 0x882				/* OF SF */
	at	x_into
	into
	next	x_into
	end

	/* into with OF clear does nothing. */
	begin	x_into_clear, 0x002
	at	x_into_clear
	into
	next	x_into_clear
	end

	begin	x_bound_out, 0x002
	mov	$11, %eax
	at	x_bound_out
	bound	%eax, bounds
	next	x_bound_out
	end

	begin	x_bound_in, 0x002
	mov	$10, %eax
	at	x_bound_in
	bound	%eax, bounds
	next	x_bound_in
	end

	/* Selector 0x1000 lies beyond the GDT limit: #GP(0x1000). */
	begin	x_ds_limit, 0x002
	mov	$0x1000, %eax
	at	x_ds_limit
	mov	%eax, %ds
	next	x_ds_limit
	end

	begin	x_ss_null, 0x002
	xor	%eax, %eax
	at	x_ss_null
	mov	%eax, %ss
	next	x_ss_null
	end

	/* Selector 0x18: a data segment that is not present. */
	begin	x_ds_not_present, 0x002
	mov	$0x18, %eax
	at	x_ds_not_present
	mov	%eax, %ds
	next	x_ds_not_present
	end

	begin	x_ss_not_present, 0x002
	mov	$0x18, %eax
	at	x_ss_not_present
	mov	%eax, %ss
	next	x_ss_not_present
	end

	/* Selector 0x20: read-only data, which SS cannot hold. XXX: writes through a read-only
	 * segment and accesses beyond a segment limit are not tested: QEMU 7.2 does not check
	 * them. */
	begin	x_ss_readonly, 0x002
	mov	$0x20, %eax
	at	x_ss_readonly
	mov	%eax, %ss
	next	x_ss_readonly
	end

	/* Selector 0x30: execute-only code; it cannot be loaded into DS. */
	begin	x_ds_exec_only, 0x002
	mov	$0x30, %eax
	at	x_ds_exec_only
	mov	%eax, %ds
	next	x_ds_exec_only
	end

	/* A far jump to a data segment. */
	begin	x_ljmp_data, 0x002
	at	x_ljmp_data
	ljmp	$0x10, $x_ljmp_data_next
	next	x_ljmp_data
	end

	/* IDT vector 0x41 is not present: #NP(0x41 * 8 + 2). */
	begin	x_int_not_present, 0x002
	at	x_int_not_present
	int	$0x41
	next	x_int_not_present
	end

	/* int 0x80: the handler doubles EAX and adds one. */
	begin	x_int80, 0x002
	mov	$0x20, %eax
	mov	$0x1234, %ebx
	at	x_int80
	int	$0x80
	next	x_int80
	add	%ebx, %eax			/* EBX must survive */
	end

	/* int 0x81: its handler raises #UD inside, which is skipped. */
	begin	x_nested, 0x002
	at	x_nested
	int	$0x81
	next	x_nested
	end

	/* Single step: popf sets TF, the next instruction completes, then #DB. */
	begin	x_single_step, 0x002
	pushl	$0x102
	popfl
	nop
	at	x_single_step
	mov	$0x55, %eax
	next	x_single_step
	end

	/* An unmasked x87 exception is reported at the next waiting instruction (#MF). */
	begin	x_x87_mf, 0x002
	fninit
	fldcw	cw_unmask_ze
	fldz
	fld1
	fdiv	%st(1), %st
	at	x_x87_mf
	fwait
	next	x_x87_mf
	end

	/* With CR0.TS set, an x87 or SSE instruction raises #NM; the hook clears TS and the
	 * instruction is retried. */
	begin	x_nm, 0x002
	at	x_nm
	fninit
	next	x_nm
	end

	begin	x_nm_sse, 0x002
	at	x_nm_sse
	xorps	%xmm0, %xmm0
	next	x_nm_sse
	end

	/* Without CR4.OSFXSR, SSE instructions are undefined. */
	begin	x_sse_ud, 0x002
	at	x_sse_ud
	xorps	%xmm2, %xmm2
	next	x_sse_ud
	end

	.data
	.balign	8
bounds:	.long	0, 10
cw_unmask_ze:
	.word	0x037b
