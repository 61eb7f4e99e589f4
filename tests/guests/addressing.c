/*
 * addressing — effective addresses: lea with every ModRM/SIB shape (absolute disp32, SIB
 * without base, scales 1..8, ESP and EBP bases, disp8 and disp32, wraparound), the 16-bit
 * address forms with the 0x67 prefix (bx+si, bp+di, disp16, wrapping at 64 KiB), memory
 * operands of the same shapes, and segment bases: FS and GS with nonzero bases, segment
 * override prefixes on loads, stores and string instructions.
 */
#include "guest.h"

static uint32_t table[64];

static void test_lea32(void)
{
	uint32_t b = 0x1000, i = 0x30, r[12];

	__asm__("lea 0x12345678, %0" : "=r"(r[0]));
	__asm__("lea 0x100(,%1,4), %0" : "=r"(r[1]) : "r"(i));
	__asm__("lea (%1,%2), %0" : "=r"(r[2]) : "r"(b), "r"(i));
	__asm__("lea -8(%1,%2,2), %0" : "=r"(r[3]) : "r"(b), "r"(i));
	__asm__("lea 0x7ffffff0(%1,%2,8), %0" : "=r"(r[4]) : "r"(b), "r"(i));
	__asm__("lea -0x80(%1), %0" : "=r"(r[5]) : "r"(b));
	__asm__("lea 0x7f(%1,%1,2), %0" : "=r"(r[6]) : "r"(i));
	__asm__("lea (,%1,1), %0" : "=r"(r[7]) : "r"(i));
	__asm__("lea 0x10(%%esp), %0\n\tsub %%esp, %0" : "=r"(r[8]));
	__asm__("lea 4(%%esp,%1,4), %0\n\tsub %%esp, %0" : "=r"(r[9]) : "r"(i));
	__asm__("push %%ebp\n\tmov %1, %%ebp\n\tlea 0(%%ebp), %0\n\tpop %%ebp"
		: "=r"(r[10])
		: "r"(b)); /* EBP base always needs a displacement byte */
	__asm__("lea -1(%1,%2,4), %0" : "=r"(r[11]) : "r"(0xfffffff0u), "r"(0x20u)); /* wraps */
	kprintf("lea32:");
	for (unsigned k = 0; k < 12; k++)
		kprintf(" %x", r[k]);
	put_char('\n');
}

/* lea with 16-bit addressing: only the low 16 bits of the sum, zero-extended by the 32-bit
 * destination. */
static void test_lea16(void)
{
	uint32_t r[8];
	uint32_t bx = 0xaaaa8000, si = 0x55559000, di = 0x0000fff0, bp = 0x00000010;

	__asm__("addr16 lea (%%bx,%%si), %0" : "=r"(r[0]) : "b"(bx), "S"(si));
	__asm__("push %%ebp\n\tmov %1, %%ebp\n\taddr16 lea 0x10(%%bp,%%di), %0\n\tpop %%ebp"
		: "=a"(r[1])
		: "r"(bp), "D"(di));
	__asm__("addr16 lea 0x1234, %0" : "=r"(r[2]));
	__asm__("addr16 lea -2(%%si), %0" : "=r"(r[3]) : "S"(si));
	__asm__("addr16 lea 0x7fff(%%bx,%%di), %w0"
		: "=r"(r[4])
		: "0"(0xffff0000u), "b"(bx), "D"(di));
	kprintf("lea16: %x %x %x %x %x\n", r[0], r[1], r[2], r[3], r[4]);
}

static void test_memory_forms(void)
{
	uint32_t sum = 0, v;

	for (unsigned k = 0; k < 64; k++)
		table[k] = k * 0x01010101u;
	uint32_t base = (uint32_t)table, idx = 5;
	__asm__("mov table+8, %0" : "=r"(v));
	sum += v;
	__asm__("mov table(,%1,4), %0" : "=r"(v) : "r"(idx));
	sum = sum * 3 + v;
	__asm__("mov 12(%1,%2,8), %0" : "=r"(v) : "r"(base), "r"(idx));
	sum = sum * 3 + v;
	__asm__("mov -4(%1,%2,4), %0" : "=r"(v) : "r"(base + 64), "r"(idx));
	sum = sum * 3 + v;
	__asm__("addl $0x100, table+16\n\tmov table+16, %0" : "=r"(v) : : "cc", "memory");
	sum = sum * 3 + v;
	__asm__("incl table(%1,%1,1)\n\tmov table(%1,%1,1), %0"
		: "=r"(v)
		: "r"(8u)
		: "cc", "memory");
	sum = sum * 3 + v;
	kprintf("memory forms %08x\n", sum);
}

/* FS and GS with bases inside the kernel; loads, stores, and a string copy through them. */
static uint8_t seg_area[256];

static void test_segment_bases(void)
{
	for (unsigned k = 0; k < sizeof(seg_area); k++)
		seg_area[k] = (uint8_t)(k ^ 0x5a);
	gdt_set(3, (uint32_t)seg_area, 0xFFFFF, 0x93, 0xC);	     /* 0x18: base = seg_area */
	gdt_set(4, (uint32_t)seg_area + 128, 0xFFFFF, 0x93, 0xC);    /* 0x20: base + 128 */
	gdt_set(5, (uint32_t)seg_area - 0x1000, 0xFFFFF, 0x93, 0xC); /* 0x28: below */
	gdt_load(6);

	uint32_t a, b, c, d;
	__asm__ volatile("mov %4, %%fs\n\tmov %5, %%gs\n\t"
			 "mov %%fs:0, %0\n\tmov %%gs:4, %1\n\tmovzbl %%fs:(%6), %2\n\t"
			 "movl $0x11223344, %%gs:8\n\tmov %%fs:136, %3"
			 : "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(d)
			 : "r"(0x18), "r"(0x20), "r"(200)
			 : "memory");
	kprintf("segment bases fs:0 %08x gs:4 %08x fs:200 %02x gs:8 -> fs:136 %08x\n", a, b, c, d);

	/* ES has no override for string destinations; DS can be overridden on the source. */
	uint8_t out[16];
	void *dst = out;
	uint32_t src = 0x1010, n = 16;
	__asm__ volatile("mov %3, %%fs\n\trep movsb %%fs:(%%esi), %%es:(%%edi)"
			 : "+D"(dst), "+S"(src), "+c"(n)
			 : "r"(0x28)
			 : "memory");
	kprintf("rep movsb from fs: ");
	put_bytes(out, 16);
	put_char('\n');
	uint32_t e;
	__asm__ volatile("mov %1, %%es\n\tmov %%es:4, %0\n\tmov %2, %%es"
			 : "=&r"(e)
			 : "r"(0x18), "r"(SEL_DATA));
	kprintf("es:4 %08x\n", e);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	test_lea32();
	test_lea16();
	test_memory_forms();
	test_segment_bases();
	put_str("addressing done\n");
}
