/*
 * nanobench_asm.S — the timed loops of the nanobench kernel and the minimal handlers they
 * trap into.
 *
 * Every loop is a function uint64_t nb_NAME(uint32_t n): it reads the TSC, runs its body n
 * times (n > 0) and returns the TSC difference. The body sits between bench_loop and
 * bench_end; whatever the body needs is set up between bench_begin and bench_loop, after the
 * first rdtsc (which overwrites EAX and EDX), so those few instructions are timed once, not n
 * times. ESI counts and the start TSC sits on the stack, so a body may use EAX, EBX, ECX, EDX,
 * EDI and EBP, and must leave ESP as it found it. The loop costs `dec; jnz`, which the C side
 * measures with nb_loop and subtracts.
 *
 * The handlers do the least a kernel could: no register frame, no dispatcher, so that what is
 * timed is the trap and the return, not the guest's own bookkeeping.
 */
	.text

	.macro	bench_begin name
	.globl	nb_\name
	.type	nb_\name, @function
nb_\name:
	push	%ebp
	push	%ebx
	push	%esi
	push	%edi
	mov	20(%esp), %esi
	rdtsc
	push	%edx
	push	%eax
	.endm

	.macro	bench_loop
	.p2align 4
9:
	.endm

	.macro	bench_end name
	dec	%esi
	jnz	9b
	rdtsc
	sub	(%esp), %eax
	sbb	4(%esp), %edx
	add	$8, %esp
	pop	%edi
	pop	%esi
	pop	%ebx
	pop	%ebp
	ret
	.size	nb_\name, . - nb_\name
	.endm

/* ---- loops that run at any privilege level ---- */

	bench_begin loop
	bench_loop
	bench_end loop

	bench_begin rdtsc
	bench_loop
	rdtsc
	bench_end rdtsc

	bench_begin call_ret
	bench_loop
	call	nb_ret
	bench_end call_ret

nb_ret:
	ret

	bench_begin pushf_popf
	bench_loop
	pushf
	popf
	bench_end pushf_popf

/* A divide by zero: the #DE handler steps over the 2-byte div. */
	bench_begin div0
	xor	%ecx, %ecx
	bench_loop
	div	%ecx
	bench_end div0

/* ---- ring 3 only: system calls ---- */

	bench_begin int80
	bench_loop
	int	$0x80
	bench_end int80

/* sysexit returns to EDX with ESP = ECX. */
	bench_begin sysenter
	bench_loop
	mov	%esp, %ecx
	mov	$8f, %edx
	sysenter
8:
	bench_end sysenter

/* ---- ring 0 only ---- */

	bench_begin cli_sti
	bench_loop
	cli
	sti
	bench_end cli_sti

	bench_begin in_port80
	bench_loop
	inb	$0x80, %al
	bench_end in_port80

	bench_begin in_uart_lsr
	mov	$0x3fd, %edx
	bench_loop
	inb	%dx, %al
	bench_end in_uart_lsr

/* Touch the demand page: #PF, the handler maps it, the load retries; then unmap it again. */
	bench_begin pgfault
	mov	nb_demand_va, %edi
	mov	nb_demand_pte, %ebx
	bench_loop
	mov	(%edi), %eax
	movl	$0, (%ebx)
	invlpg	(%edi)
	bench_end pgfault

/* Point the demand page at the other of its two frames, and invalidate it. */
	bench_begin pte_invlpg
	mov	nb_demand_va, %edi
	mov	nb_demand_pte, %ebx
	mov	nb_pf_pte, %eax
	bench_loop
	xor	$0x1000, %eax
	mov	%eax, (%ebx)
	invlpg	(%edi)
	bench_end pte_invlpg

/* The same, then read through the new mapping (a TLB refill, a shadow fill in a VMM). */
	bench_begin pte_invlpg_touch
	mov	nb_demand_va, %edi
	mov	nb_demand_pte, %ebx
	mov	nb_pf_pte, %eax
	bench_loop
	xor	$0x1000, %eax
	mov	%eax, (%ebx)
	invlpg	(%edi)
	mov	(%edi), %edx
	bench_end pte_invlpg_touch

/* Switch between two page directories with the same mappings. */
	bench_begin cr3_write
	mov	nb_cr3_a, %eax
	mov	nb_cr3_b, %ebx
	bench_loop
	mov	%eax, %cr3
	xchg	%eax, %ebx
	bench_end cr3_write

/* The same, then read one data word (its translation was flushed with the switch). */
	bench_begin cr3_write_touch
	mov	nb_cr3_a, %eax
	mov	nb_cr3_b, %ebx
	mov	$nb_touch_word, %edi
	bench_loop
	mov	%eax, %cr3
	xchg	%eax, %ebx
	mov	(%edi), %edx
	bench_end cr3_write_touch

/* ---- handlers ---- */

/* #DE (interrupt gate): step over the 2-byte div. */
	.globl	nb_de_entry
nb_de_entry:
	addl	$2, (%esp)
	iret

/* #PF (interrupt gate): read CR2 as a kernel would, map the page it names in the demand page
 * table to the first frame, drop the error code and retry the access. */
	.globl	nb_pf_entry
nb_pf_entry:
	push	%eax
	push	%ebx
	mov	%cr2, %eax
	shr	$12, %eax
	and	$1023, %eax
	mov	nb_pf_table, %ebx
	lea	(%ebx,%eax,4), %ebx
	mov	nb_pf_pte, %eax
	mov	%eax, (%ebx)
	pop	%ebx
	pop	%eax
	add	$4, %esp
	iret

/* int 0x80 (trap gate, DPL 3): straight back to ring 3. */
	.globl	nb_int80_entry
nb_int80_entry:
	iret

/* sysenter: straight back with sysexit (EDX, ECX as ring 3 left them). */
	.globl	nb_sysenter_entry
nb_sysenter_entry:
	sysexit

