/*
 * sensitive — the instructions a binary translator must not let run as they are: descriptor
 * table loads and stores (lgdt lidt lldt ltr sgdt sidt sldt str), smsw lmsw clts, lar lsl verr
 * verw arpl on many kinds of selectors, segment register reads and push cs, control, debug and
 * model-specific registers, invlpg and wbinvd. Only values the kernel itself set are printed,
 * never what the loader left behind. Selectors and 16-bit results are masked to 16 bits, and
 * lar results to the bits the SDM defines (0x00f0ff00).
 */
#include "guest.h"

#define SEL_LDT	  0x18
#define SEL_TSS	  0x20
#define GDT_COUNT 13

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

static struct tss32 tss;
static uint64_t ldt[4] __attribute__((aligned(8)));

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint32_t base;
};

static void setup_tables(void)
{
	/* Code and data descriptors have their accessed bit set already: whether a CPU sets it
	 * when a segment is loaded must not show in lar. */
	gdt_set(3, (uint32_t)ldt, sizeof(ldt) - 1, 0x82, 0x0);	/* 0x18: LDT */
	gdt_set(4, (uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0); /* 0x20: 32-bit TSS */
	gdt_set(5, 0, 0xFFFF, 0x93, 0x0);			/* 0x28: 16-bit data */
	gdt_set(6, 0, 0xFFFFF, 0xFB, 0xC);			/* 0x30: code, DPL 3 */
	gdt_set(7, 0, 0xFFFFF, 0xF3, 0xC);			/* 0x38: data, DPL 3 */
	gdt_set(8, 0, 0xFFFFF, 0x9F, 0xC);			/* 0x40: conforming code */
	gdt_set(9, 0x00100000, 0x0008, 0xEC, 0x0);		/* 0x48: call gate, DPL 3 */
	gdt_set(10, 0, 0x00FFF, 0x97, 0x4);			/* 0x50: expand-down data */
	gdt_set(11, 0x12345678, 0x12345, 0x93, 0x4);		/* 0x58: byte granular */
	gdt_set(12, 0, 0xFFFFF, 0x99, 0xC);			/* 0x60: execute-only */
	gdt_load(GDT_COUNT);
	/* LDT: 0x04 data, 0x0c read-only data DPL 3, 0x14 not present, 0x1c code. */
	ldt[0] = 0x00CF93000000FFFFull;
	ldt[1] = 0x00CFF1000000FFFFull;
	ldt[2] = 0x00CF13000000FFFFull;
	ldt[3] = 0x00CF9B000000FFFFull;
	tss.ss0 = SEL_DATA;
	tss.esp0 = 0x00200000;
	tss.iomap = (uint32_t)sizeof(tss) << 16; /* the I/O bitmap base is the high word */
	__asm__ volatile("lldt %w0" : : "r"(SEL_LDT));
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	idt_init();
}

static void test_table_stores(void)
{
	struct desc_ptr g, i;
	uint32_t ldtr = 0xffffffff, tr = 0xffffffff;
	uint16_t ldtr_mem = 0, tr_mem = 0;

	__asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(g), "=m"(i));
	__asm__ volatile("sldt %0\n\tstr %1" : "=r"(ldtr), "=r"(tr));
	__asm__ volatile("sldt %0\n\tstr %1" : "=m"(ldtr_mem), "=m"(tr_mem));
	kprintf("sgdt base %08x (gdt_table %08x) limit %04x\n", g.base, (uint32_t)gdt_table,
		g.limit);
	kprintf("sidt base %08x (idt_table %08x) limit %04x\n", i.base, (uint32_t)idt_table,
		i.limit);
	kprintf("sldt %04x str %04x (memory %04x %04x)\n", ldtr & 0xffff, tr & 0xffff, ldtr_mem,
		tr_mem);
	/* ltr marked the TSS busy in the GDT. */
	kprintf("tss descriptor type after ltr %x\n", (uint32_t)(gdt_table[4] >> 40) & 0xf);
}

static void test_selectors(void)
{
	static const uint16_t sels[] = {
	    0x0000, 0x0008, 0x000b, 0x0010, 0x0013, 0x0018, 0x0020, 0x0028, 0x0030,
	    0x0033, 0x0038, 0x003b, 0x0040, 0x0043, 0x0048, 0x0050, 0x0058, 0x0060,
	    0x0068, 0x1000, 0x0004, 0x000c, 0x000f, 0x0014, 0x001c, 0x0024,
	};

	for (unsigned i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		uint32_t sel = sels[i], ar = 0xdeadbeef, lim = 0xdeadbeef, ar16 = 0xbeef;
		uint32_t f_lar, f_lsl, f_verr, f_verw, f_lar16;

		__asm__ volatile("lar %2, %0\n\tpushf\n\tpop %1"
				 : "+r"(ar), "=r"(f_lar)
				 : "r"(sel)
				 : "cc");
		__asm__ volatile("larw %w2, %w0\n\tpushf\n\tpop %1"
				 : "+r"(ar16), "=r"(f_lar16)
				 : "r"(sel)
				 : "cc");
		__asm__ volatile("lsl %2, %0\n\tpushf\n\tpop %1"
				 : "+r"(lim), "=r"(f_lsl)
				 : "r"(sel)
				 : "cc");
		__asm__ volatile("verr %w1\n\tpushf\n\tpop %0" : "=r"(f_verr) : "r"(sel) : "cc");
		__asm__ volatile("verw %w1\n\tpushf\n\tpop %0" : "=r"(f_verw) : "r"(sel) : "cc");
		kprintf("sel %04x: lar", sel);
		put_flags(f_lar, FL_ZF);
		if (f_lar & FL_ZF)
			kprintf(" %08x", ar & 0x00f0ff00);
		put_str(" larw");
		put_flags(f_lar16, FL_ZF);
		if (f_lar16 & FL_ZF)
			kprintf(" %04x", ar16 & 0xff00);
		put_str(" lsl");
		put_flags(f_lsl, FL_ZF);
		if (f_lsl & FL_ZF)
			kprintf(" %08x", lim);
		put_str(" verr");
		put_flags(f_verr, FL_ZF);
		put_str(" verw");
		put_flags(f_verw, FL_ZF);
		put_char('\n');
	}

	/* arpl raises the destination's RPL to the source's: ZF tells whether it did. */
	static const uint16_t arpl_in[][2] = {{0x0008, 0x0003}, {0x000b, 0x0001}, {0x0012, 0x0012}};
	for (unsigned i = 0; i < 3; i++) {
		uint16_t d = arpl_in[i][0];
		uint32_t f;
		__asm__ volatile("arpl %w2, %w0\n\tpushf\n\tpop %1"
				 : "+r"(d), "=r"(f)
				 : "r"(arpl_in[i][1])
				 : "cc");
		kprintf("arpl %04x %04x -> %04x", arpl_in[i][0], arpl_in[i][1], d);
		put_flags(f, FL_ZF);
		put_char('\n');
	}
}

static void test_segment_regs(void)
{
	uint32_t cs, ds, es, fs, gs, ss, pushed, esp_delta;

	/* Known values first: FS from the LDT, GS null, ES the 16-bit data segment. */
	__asm__ volatile("mov %0, %%fs\n\tmov %1, %%gs\n\tmov %2, %%es"
			 :
			 : "r"(0x04), "r"(0), "r"(0x28));
	__asm__ volatile("mov %%cs, %0\n\tmov %%ds, %1\n\tmov %%es, %2\n\tmov %%fs, %3\n\t"
			 "mov %%gs, %4\n\tmov %%ss, %5"
			 : "=r"(cs), "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs), "=r"(ss));
	kprintf("segments cs %04x ds %04x es %04x fs %04x gs %04x ss %04x\n", cs & 0xffff,
		ds & 0xffff, es & 0xffff, fs & 0xffff, gs & 0xffff, ss & 0xffff);
	__asm__ volatile("mov %%esp, %1\n\tpush %%cs\n\tsub %%esp, %1\n\tpop %0"
			 : "=r"(pushed), "=r"(esp_delta));
	kprintf("push cs %04x esp -%u\n", pushed & 0xffff, esp_delta);
	uint16_t m16 = 0;
	__asm__ volatile("movw %%ss, %0" : "=m"(m16));
	kprintf("mov ss to m16 %04x\n", m16);
	__asm__ volatile("mov %0, %%es\n\tmov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
}

static void test_control_regs(void)
{
	uint32_t cr0, cr2, cr3, cr4, msw;

	write_cr0(0x00050033); /* PE MP ET NE WP AM */
	cr0 = read_cr0();
	__asm__ volatile("smsw %0" : "=r"(msw));
	kprintf("cr0 %08x smsw %04x\n", cr0, msw & 0xffff);
	/* lmsw sets PE MP EM TS from its operand but cannot clear PE. */
	__asm__ volatile("lmsw %w0" : : "r"(0x000e));
	kprintf("lmsw 000e -> cr0 %08x\n", read_cr0());
	__asm__ volatile("lmsw %w0" : : "r"(0x0000));
	kprintf("lmsw 0000 -> cr0 %08x\n", read_cr0());
	write_cr0(read_cr0() | 0x8);
	__asm__ volatile("clts");
	kprintf("clts -> cr0 %08x\n", read_cr0());
	write_cr0(0x00000033);

	__asm__ volatile("mov %0, %%cr2" : : "r"(0x12345678));
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	__asm__ volatile("mov %0, %%cr3" : : "r"(0x00345000));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	write_cr4(0x0000069c); /* TSD DE PSE PGE OSFXSR OSXMMEXCPT */
	cr4 = read_cr4();
	kprintf("cr2 %08x cr3 %08x cr4 %08x\n", cr2, cr3, cr4);
	write_cr4(0x00000600);
	kprintf("cr4 %08x\n", read_cr4());

	uint32_t dr[4];
	__asm__ volatile("mov %0, %%dr0" : : "r"(0x11110000));
	__asm__ volatile("mov %0, %%dr1" : : "r"(0x22220004));
	__asm__ volatile("mov %0, %%dr2" : : "r"(0x33330008));
	__asm__ volatile("mov %0, %%dr3" : : "r"(0x4444000c));
	__asm__ volatile("mov %%dr0, %0\n\tmov %%dr1, %1\n\tmov %%dr2, %2\n\tmov %%dr3, %3"
			 : "=r"(dr[0]), "=r"(dr[1]), "=r"(dr[2]), "=r"(dr[3]));
	kprintf("dr0-3 %08x %08x %08x %08x\n", dr[0], dr[1], dr[2], dr[3]);
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static void test_msrs(void)
{
	wrmsr(0x174, 0x0008);	  /* IA32_SYSENTER_CS */
	wrmsr(0x175, 0x00123450); /* IA32_SYSENTER_ESP */
	wrmsr(0x176, 0x00100000); /* IA32_SYSENTER_EIP */
	kprintf("sysenter msrs cs %llx esp %llx eip %llx\n", rdmsr(0x174), rdmsr(0x175),
		rdmsr(0x176));
	wrmsr(0x174, 0);
}

static void test_misc(void)
{
	static uint8_t page[4096] __attribute__((aligned(4096)));

	__asm__ volatile("invlpg %0" : : "m"(page[0]) : "memory");
	__asm__ volatile("wbinvd");
	put_str("invlpg wbinvd ok\n");

	/* The UART scratch register keeps what is written to it. */
	outb(0x3ff, 0x5a);
	uint8_t scr = inb(0x3ff);
	outb(0x3ff, 0xa5);
	kprintf("uart scratch %02x %02x lcr %02x\n", scr, inb(0x3ff), inb(0x3fb));
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	setup_tables();
	test_table_stores();
	test_selectors();
	test_segment_regs();
	test_control_regs();
	test_msrs();
	test_misc();
	put_str("sensitive done\n");
}
