/*
 * iobitmap_asm.S — the way into ring 3 for iobitmap: iret with the flat user selectors and the
 * EFLAGS (hence IOPL) the caller asks for.
 */
	.text

