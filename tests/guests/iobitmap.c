/*
 * iobitmap — I/O permission at CPL 3. With IOPL 0, the TSS I/O permission bitmap decides: it
 * allows COM1's ports 0x3f8..0x3fd and port 0x80 and denies the rest, among them COM1's MSR
 * and scratch register (0x3fe, 0x3ff); ports past the bitmap's last byte lie beyond the TSS
 * limit. in and out of each width (a word or dword passes only if every port it covers is
 * allowed, which straddles allowed and denied bits and bitmap bytes), ins and outs, and a
 * bitmap changed between two attempts; a denied access raises #GP(0) and changes no register.
 * Ring 3 prints some lines itself, through COM1. cli and sti fault at IOPL 0 and work at
 * IOPL 3, where the bitmap no longer matters; popf at CPL 3 never changes IOPL, and changes
 * IF only when IOPL is 3.
 */
#include "guest.h"

#define SEL_TSS	 0x28
#define COM1	 0x3f8
#define FL_IOPL3 0x3000u

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

/* The bitmap covers ports 0..0x3ff and ends with the required all-ones byte; the TSS limit
 * ends with it, so ports from 0x408 on are beyond the limit. */
static struct {
	struct tss32 tss;
	uint8_t bitmap[0x400 / 8];
	uint8_t end;
} tss_io __attribute__((aligned(8)));

static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
static struct jmp_buf user_exit;

#define KSTACK_TOP ((uint32_t)(kstack + sizeof(kstack)))
#define USTACK_TOP ((uint32_t)(ustack + sizeof(ustack)))

/* Set by ring 3 before an instruction that must fault, for the #GP hook. */
uint32_t expect_eip;

static void port_allow(uint32_t port, int allow)
{
	if (allow)
		tss_io.bitmap[port / 8] &= (uint8_t) ~(1u << (port % 8));
	else
		tss_io.bitmap[port / 8] |= (uint8_t)(1u << (port % 8));
}

static void hook_gp(struct trap_frame *f)
{
	kprintf("  fault vector %x error %x eip %s\n", f->vector, f->error,
		f->eip == expect_eip ? "at" : "elsewhere");
	f->eip += trap_skip;
}

enum { SYS_EXIT, SYS_PRINT, SYS_HEX, SYS_ALLOW, SYS_DENY };

static void hook_syscall(struct trap_frame *f)
{
	switch (f->eax) {
	case SYS_EXIT:
		kprintf("exit: eflags iopl %u if %u\n", (f->eflags >> 12) & 3,
			(f->eflags >> 9) & 1);
		guest_longjmp(&user_exit, 1);
	case SYS_PRINT:
		put_str((const char *)f->ebx);
		break;
	case SYS_HEX:
		kprintf("%s %08x\n", (const char *)f->ecx, f->ebx);
		break;
	case SYS_ALLOW:
	case SYS_DENY:
		port_allow(f->ebx, f->eax == SYS_ALLOW);
		break;
	}
	f->eax = 0;
}

/* ---- ring 3 ---- */

static void sys(uint32_t nr, uint32_t a, const char *b)
{
	__asm__ volatile("int $0x80" : "+a"(nr) : "b"(a), "c"(b) : "memory");
}

static void print(const char *s)
{
	sys(SYS_PRINT, (uint32_t)s, 0);
}

static void hex(const char *name, uint32_t v)
{
	sys(SYS_HEX, v, name);
}

#define USER_FAULT(len, insn, ...)                                                                 \
	__asm__ volatile("movl $" #len ", trap_skip\n\tmovl $1f, expect_eip\n1:\t" insn            \
			 :                                                                         \
			 : __VA_ARGS__                                                             \
			 : "memory")

/* Waits until COM1's line status register shows the bits of mask (0x20: the transmit holding
 * register is empty; 0x40: the transmitter too). */
static void user_wait_lsr(uint8_t mask)
{
	uint8_t lsr;

	do
		__asm__ volatile("inb %%dx, %%al" : "=a"(lsr) : "d"(COM1 + 5));
	while ((lsr & mask) != mask);
}

/* Prints through COM1 directly. */
static void user_putc(char c)
{
	user_wait_lsr(0x20);
	__asm__ volatile("outb %%al, %%dx" : : "a"(c), "d"(COM1));
}

static void user_puts(const char *s)
{
	while (*s)
		user_putc(*s++);
}

static void user_allowed(void)
{
	uint32_t v, n, d, s;
	uint8_t buf[4];

	user_puts("ring 3 writes to COM1 itself\n");
	__asm__ volatile("outb %%al, $0x80\n\tinb $0x80, %%al" : : : "eax");
	print("port 0x80: in and out, no fault\n");
	__asm__ volatile("inb %%dx, %%al" : "=a"(v) : "0"(0xaaaaaa00), "d"(0x3fc));
	hex("inb 0x3fc (mcr)", v);
	__asm__ volatile("inw %%dx, %%ax" : "=a"(v) : "0"(0xaaaa0000), "d"(0x3fc));
	hex("inw 0x3fc, low byte (mcr)", v & 0xffff00ff);
	__asm__ volatile("inl %%dx, %%eax" : "=a"(v) : "d"(0x3fa));
	hex("inl 0x3fa, bytes 1-2 (lcr, mcr)", (v >> 8) & 0xffff);

	/* A word out to 0x3f8: the low byte is a character, the high byte goes to IER (0). */
	user_puts("outw to 0x3f8: ");
	user_wait_lsr(0x20);
	__asm__ volatile("outw %%ax, %%dx" : : "a"(0x0077), "d"(COM1));
	user_puts("\n");

	/* rep outsb straight into the transmitter: wait until it is empty, then send fewer
	 * bytes than its FIFO holds. */
	static const char msg[] = "outsb!\n";
	user_wait_lsr(0x40);
	s = (uint32_t)msg;
	n = sizeof(msg) - 1;
	__asm__ volatile("cld\n\trep outsb" : "+S"(s), "+c"(n) : "d"(COM1) : "memory");
	user_puts("after rep outsb ");
	hex("esi - msg", s - (uint32_t)msg);

	d = (uint32_t)buf;
	n = 4;
	__asm__ volatile("cld\n\trep insb" : "+D"(d), "+c"(n) : "d"(0x3fc) : "memory");
	hex("rep insb from 0x3fc: edi - buf", d - (uint32_t)buf);
	hex("  bytes", buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24);
}

static void user_denied(void)
{
	uint32_t d = 0x1234, n = 3, s = 0x5678;

	print("inb $0x81\n");
	USER_FAULT(2, "inb $0x81, %%al", "i"(0));
	print("outb to 0xf4 (debug exit)\n");
	USER_FAULT(2, "outb %%al, $0xf4", "a"(0x55));
	print("inb 0x3fe (msr), inb 0x3ff (scr)\n");
	USER_FAULT(1, "inb %%dx, %%al", "d"(0x3fe));
	USER_FAULT(1, "inb %%dx, %%al", "d"(0x3ff));
	print("inw 0x3fd: lsr allowed, msr denied\n");
	USER_FAULT(2, "inw %%dx, %%ax", "d"(0x3fd));
	print("inl 0x3fc: msr and scr denied\n");
	USER_FAULT(1, "inl %%dx, %%eax", "d"(0x3fc));
	print("inw $0x80: 0x81 denied\n");
	USER_FAULT(3, "inw $0x80, %%ax", "i"(0));
	print("outw $0x7f: 0x7f denied\n");
	USER_FAULT(3, "outw %%ax, $0x7f", "i"(0));
	print("inb 0x400: the bitmap's end byte\n");
	USER_FAULT(1, "inb %%dx, %%al", "d"(0x400));
	print("inb 0x5000: beyond the TSS limit\n");
	USER_FAULT(1, "inb %%dx, %%al", "d"(0x5000));
	print("rep insb from 0x3ff\n");
	__asm__ volatile("cld\n\tmovl $2, trap_skip\n\tmovl $1f, expect_eip\n1:\trep insb"
			 : "+D"(d), "+c"(n)
			 : "d"(0x3ff)
			 : "memory");
	hex("  edi", d);
	hex("  ecx", n);
	print("rep outsb to 0x3fe\n");
	n = 3;
	__asm__ volatile("cld\n\tmovl $2, trap_skip\n\tmovl $1f, expect_eip\n1:\trep outsb"
			 : "+S"(s), "+c"(n)
			 : "d"(0x3fe)
			 : "memory");
	hex("  esi", s);
	hex("  ecx", n);
	print("cli, sti\n");
	USER_FAULT(1, "cli", "i"(0));
	USER_FAULT(1, "sti", "i"(0));
}

/* The bitmap is read at every access: allow 0x3ff, use it, deny it again. */
static void user_changed_bitmap(void)
{
	uint32_t v;

	sys(SYS_ALLOW, 0x3ff, 0);
	__asm__ volatile("movb $0xa5, %%al\n\toutb %%al, %%dx\n\tmovb $0, %%al\n\tinb %%dx, %%al"
			 : "=a"(v)
			 : "d"(0x3ff));
	hex("0x3ff allowed: scratch register", v & 0xff);
	print("inw 0x3ff: 0x400 still denied\n");
	USER_FAULT(2, "inw %%dx, %%ax", "d"(0x3ff));
	sys(SYS_DENY, 0x3ff, 0);
	print("0x3ff denied again: inb\n");
	USER_FAULT(1, "inb %%dx, %%al", "d"(0x3ff));
}

static uint32_t user_popf(uint32_t v)
{
	uint32_t f;

	__asm__ volatile("push %1\n\tpopf\n\tpushf\n\tpop %0\n\tcld" : "=r"(f) : "r"(v) : "cc");
	return f;
}

static void user_main(void)
{
	user_allowed();
	user_denied();
	user_changed_bitmap();
	hex("iopl 0: popf 0x3ed7 -> iopl/if/df/arith", user_popf(0x3ed7) & 0x3ed5);
	hex("iopl 0: popf 0x0002 -> iopl/if/df/arith", user_popf(0x0002) & 0x3ed5);
	sys(SYS_EXIT, 0, 0);
}

static void user_iopl3(void)
{
	uint32_t v;

	__asm__ volatile("sti\n\tpushf\n\tpop %0" : "=r"(v));
	hex("iopl 3: sti -> if", (v >> 9) & 1);
	__asm__ volatile("cli\n\tpushf\n\tpop %0" : "=r"(v));
	hex("iopl 3: cli -> if", (v >> 9) & 1);
	__asm__ volatile("movb $0x3c, %%al\n\toutb %%al, %%dx\n\tmovb $0, %%al\n\tinb %%dx, %%al"
			 : "=a"(v)
			 : "d"(0x3ff));
	hex("iopl 3: denied scratch register 0x3ff", v & 0xff);
	/* XXX: not inw from 0x3ff, which reaches past COM1: QEMU 7.2 aborts on it. */
	__asm__ volatile("inw %%dx, %%ax" : "=a"(v) : "0"(0), "d"(0x3fe));
	hex("iopl 3: inw 0x3fe (msr, scr), high byte", v >> 8);
	hex("iopl 3: popf 0x0202 -> iopl/if", user_popf(0x0202) & 0x3200);
	hex("iopl 3: popf 0x1002 -> iopl/if", user_popf(0x1002) & 0x3200);
	sys(SYS_EXIT, 0, 0);
}

/* ---- ring 0 ---- */

static void run_user(const char *name, void (*fn)(void), uint32_t eflags)
{
	kprintf("enter ring 3: %s\n", name);
	if (guest_setjmp(&user_exit) == 0)
		enter_user((uint32_t)fn, USTACK_TOP, eflags);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
	put_str("back in ring 0\n");
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	write_cr0(0x00000033);
	__asm__ volatile("lldt %w0" : : "r"(0));
	/* Mask both PICs: ring 3 sets IF at IOPL 3. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	memset(tss_io.bitmap, 0xff, sizeof(tss_io.bitmap));
	tss_io.end = 0xff;
	for (uint32_t p = 0x3f8; p <= 0x3fd; p++)
		port_allow(p, 1);
	port_allow(0x80, 1);
	tss_io.tss.ss0 = SEL_DATA;
	tss_io.tss.esp0 = KSTACK_TOP;
	tss_io.tss.iomap = (uint32_t)offsetof(__typeof__(tss_io), bitmap) << 16;
	gdt_set(3, 0, 0xFFFFF, 0xFB, 0xC);			      /* 0x18: user code */
	gdt_set(4, 0, 0xFFFFF, 0xF3, 0xC);			      /* 0x20: user data */
	gdt_set(5, (uint32_t)&tss_io, sizeof(tss_io) - 1, 0x89, 0x0); /* 0x28: TSS */
	gdt_load(6);
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	idt_init();
	idt_set_gate(0x80, trap_stubs[0x80], SEL_CODE, 0xEF); /* trap gate, DPL 3 */
	trap_set_hook(0x80, hook_syscall);
	trap_set_hook(13, hook_gp);

	run_user("iopl 0", user_main, 0x0002);
	run_user("iopl 3", user_iopl3, 0x3002);
	put_str("iobitmap done\n");
}
