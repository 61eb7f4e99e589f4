/* The native runner's way into and out of a test sequence (32-bit, see native.c).
 *
 * dt_native_enter loads the whole guest state (FPU, GPRs, EFLAGS) and jumps to the sequence.
 * The sequence always ends in a fault; the signal handler records the registers and rewrites
 * the signal context so that sigreturn lands in dt_native_landing on the runner's own stack.
 * The kernel restores the interrupted FPU/SSE state on sigreturn, so the landing pad can save
 * it exactly with fxsave (the signal frame's copy may be incomplete under XSAVE's init
 * optimisation), then resets the FPU for C code and returns from dt_native_enter.
 */
	.intel_syntax noprefix
	.text

	.globl	dt_native_enter
	.type	dt_native_enter, @function
dt_native_enter:
	push	ebp
	push	ebx
	push	esi
	push	edi
	mov	[dt_host_esp], esp
	fxrstor	[dt_guest_fx]
	/* dt_guest_block is laid out for popad (edi first) followed by EFLAGS for popfd. */
	mov	esp, offset dt_guest_block
	popad
	popfd
	/* Only flag-free instructions from here on. */
	mov	esp, [dt_guest_block + 36]
	jmp	dword ptr [dt_guest_block + 40]
	.size	dt_native_enter, . - dt_native_enter

	.globl	dt_native_landing
	.type	dt_native_landing, @function
dt_native_landing:
	fxsave	[dt_result_fx]
	fninit
	ldmxcsr	[dt_default_mxcsr]
	cld
	pop	edi
	pop	esi
	pop	ebx
	pop	ebp
	ret
	.size	dt_native_landing, . - dt_native_landing

	.section .note.GNU-stack, "", @progbits
