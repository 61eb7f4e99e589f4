/*
 * mmio — memory-mapped I/O through the iomem region of QEMU's pc-testdev (run-qemu.sh adds
 * "-device pc-testdev" for this kernel only): 64 KiB at physical 0xff000000 that read back
 * what was written, little-endian, at any width and alignment (QEMU 7.2 splits unaligned and
 * 8-byte accesses, so the region behaves like RAM). Every test runs twice, with paging off
 * at the physical address and with paging on through a mapping at 0xc0000000 (half of it
 * cache-disabled), and prints the same lines both times: loads and stores of each width,
 * aligned or not, across a 4 KiB boundary; movzx/movsx, moffs forms, xlat and cmov from the
 * region; read-modify-write instructions on it (add or and xor sub adc sbb inc dec not neg
 * cmp test xchg xadd cmpxchg cmpxchg8b bt bts btr btc, shifts, rotates, shld shrd, setcc),
 * lock-prefixed too, with the flags each defines; rep movs, stos, lods, scas and cmps to,
 * from and within the region, forwards and backwards; push and pop of operands in it and a
 * stack inside it; x87 loads and stores of 4, 8 and 10 bytes; access through FS with a base
 * below the region. With paging on, also an alias of a region page, a read-only and a
 * not-present mapping of it (#PF, and no access reaches the device), the accessed and dirty
 * bits, two virtual pages onto non-adjacent region pages, and accesses that straddle a RAM
 * page and a region page.
 */
#include "guest.h"

#define PG_P   0x001u
#define PG_RW  0x002u
#define PG_PWT 0x008u
#define PG_PCD 0x010u
#define PG_A   0x020u
#define PG_D   0x040u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u

#define MMIO_PHYS 0xff000000u
#define MMIO_SIZE 0x10000u
#define MMIO_VIRT 0xc0000000u /* the whole region, 16 pages */
#define ALIAS_VA  0xc0100000u /* region page 0 again */
#define RO_VA	  0xc0101000u /* region page 0, read-only */
#define NP_VA	  0xc0102000u /* region page 0, not present */
#define SPLIT_VA  0xc0200000u /* region pages 5, then 2 */
#define MIXED_VA  0xc0300000u /* a RAM page, then region page 3 */

#define FL_ALL_ON  0x8D7u
#define FL_ALL_OFF 0x002u
#define FL_LOGIC   (FL_CF | FL_PF | FL_ZF | FL_SF | FL_OF) /* AF undefined */
#define FL_BT	   (FL_CF | FL_ZF)			   /* OF SF AF PF undefined */
#define FL_SHIFT1  (FL_CF | FL_PF | FL_ZF | FL_SF | FL_OF) /* count 1: AF undefined */
#define FL_SHIFTN  (FL_CF | FL_PF | FL_ZF | FL_SF)	   /* count > 1: OF undefined too */
#define FL_MUL	   (FL_CF | FL_OF)

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_mmio[1024] __attribute__((aligned(4096)));
static uint8_t ram_page[4096] __attribute__((aligned(4096)));

/* Where the region is in this pass. */
static uint32_t mb;

static volatile uint8_t *m8(uint32_t off)
{
	return (volatile uint8_t *)(mb + off);
}

static volatile uint16_t *m16(uint32_t off)
{
	return (volatile uint16_t *)(mb + off);
}

static volatile uint32_t *m32(uint32_t off)
{
	return (volatile uint32_t *)(mb + off);
}

static uint32_t read_cr2(void)
{
	uint32_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static void invlpg(uint32_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* FNV-1a over n bytes at va, read one byte at a time. */
static uint32_t fnv_bytes(uint32_t va, uint32_t n)
{
	uint32_t h = 0x811C9DC5u;

	for (uint32_t i = 0; i < n; i++) {
		h ^= *(volatile uint8_t *)(va + i);
		h *= 0x01000193u;
	}
	return h;
}

static void put_region(const char *what, uint32_t off, uint32_t n)
{
	kprintf("  %s: ", what);
	for (uint32_t i = 0; i < n; i++)
		kprintf("%02x", *m8(off + i));
	put_char('\n');
}

static void test_fill(void)
{
	uint32_t d = mb, n = MMIO_SIZE / 4, sum = 0;

	__asm__ volatile("cld\n\trep stosl" : "+D"(d), "+c"(n) : "a"(0x5a5aa5a5) : "memory");
	kprintf("rep stosd over the region: ecx %u, edi-base %x\n", n, d - mb);
	for (uint32_t i = 0; i < MMIO_SIZE / 4; i++)
		sum += *m32(i * 4) == 0x5a5aa5a5;
	kprintf("  dwords that read back %u\n", sum);
	for (uint32_t i = 0; i < MMIO_SIZE / 4; i++)
		*m32(i * 4) = i * 0x9e3779b9u;
	sum = 0;
	for (uint32_t i = 0; i < MMIO_SIZE / 4; i++)
		sum = sum * 31 + *m32(i * 4);
	kprintf("  pattern written and read by dwords, sum %08x\n", sum);
}

static void test_widths(void)
{
	put_str("loads and stores\n");
	*m32(0x10) = 0x11223344;
	kprintf("  dword %08x, bytes %02x %02x %02x %02x, words %04x %04x\n", *m32(0x10), *m8(0x10),
		*m8(0x11), *m8(0x12), *m8(0x13), *m16(0x10), *m16(0x12));
	*m8(0x11) = 0xaa;
	*m16(0x12) = 0xbeef;
	kprintf("  after a byte store at 1 and a word store at 2: %08x\n", *m32(0x10));
	*m32(0x20) = 0;
	*m32(0x24) = 0;
	*(volatile uint32_t *)(mb + 0x21) = 0xa1b2c3d4;
	*(volatile uint16_t *)(mb + 0x27) = 0x5566;
	kprintf("  unaligned dword at 1, word at 7: %08x %08x\n", *m32(0x20), *m32(0x24));
	kprintf("  unaligned loads: dword at 3 %08x, word at 5 %04x\n",
		*(volatile uint32_t *)(mb + 0x23), *(volatile uint16_t *)(mb + 0x25));
	*(volatile uint32_t *)(mb + 0xffe) = 0xcafebabe;
	kprintf("  dword across the 4 KiB boundary: %08x, halves %04x %04x\n",
		*(volatile uint32_t *)(mb + 0xffe), *m16(0xffe), *m16(0x1000));
	*m32(MMIO_SIZE - 4) = 0x99887766;
	kprintf("  last dword of the region %08x\n", *m32(MMIO_SIZE - 4));

	uint32_t zb, sb, zw, sw;
	*m32(0x30) = 0x8081f07f;
	__asm__ volatile(
	    "movzbl 1(%4), %0\n\tmovsbl 1(%4), %1\n\tmovzwl 2(%4), %2\n\tmovswl 2(%4), %3"
	    : "=&r"(zb), "=&r"(sb), "=&r"(zw), "=&r"(sw)
	    : "r"(mb + 0x30)
	    : "memory");
	kprintf("  movzx/movsx byte %08x %08x, word %08x %08x\n", zb, sb, zw, sw);

	/* The moffs forms (opcodes a0-a3) take an absolute address. */
	uint32_t a;
	uint16_t w;
	if (mb == MMIO_PHYS)
		__asm__ volatile("movl $0x01020304, %%eax\n\tmovl %%eax, 0xff000040\n\t"
				 "movw $0x0a0b, %%ax\n\tmovw %%ax, 0xff000046\n\t"
				 "movl 0xff000042, %%eax\n\tmovw 0xff000040, %w1"
				 : "=&a"(a), "=r"(w)
				 :
				 : "memory");
	else
		__asm__ volatile("movl $0x01020304, %%eax\n\tmovl %%eax, 0xc0000040\n\t"
				 "movw $0x0a0b, %%ax\n\tmovw %%ax, 0xc0000046\n\t"
				 "movl 0xc0000042, %%eax\n\tmovw 0xc0000040, %w1"
				 : "=&a"(a), "=r"(w)
				 :
				 : "memory");
	kprintf("  moffs: dword at 42 %08x, word at 40 %04x\n", a, w);

	for (uint32_t i = 0; i < 16; i++)
		*m8(0x50 + i) = (uint8_t)(0xf0 - i * 3);
	uint32_t b = mb + 0x50, x = 0xffffff05;
	__asm__ volatile("xlatb" : "+a"(x) : "b"(b) : "memory");
	kprintf("  xlat entry 5 %08x\n", x);
	uint32_t c1 = 1, c2 = 2;
	__asm__ volatile("cmp %2, %2\n\tcmovnel 4(%3), %0\n\tcmovel 8(%3), %1"
			 : "+r"(c1), "+r"(c2)
			 : "r"(0), "r"(mb + 0x50)
			 : "cc", "memory");
	kprintf("  cmovne (not taken) %08x, cmove (taken) %08x\n", c1, c2);
}

/* One read-modify-write instruction on the dword at RMW_OFF, whose neighbours start at 0:
 * EFLAGS is fl before it; EAX and ECX are a and c; the instruction names the dword
 * (%[m]), and EAX and ECX as %[a] and %[c] (with b and w for their low parts). */
#define RMW_OFF 0x600
#define RMW(name, mask, fl, init, a_in, c_in, insn)                                                \
	do {                                                                                       \
		volatile uint32_t *m_ = m32(RMW_OFF);                                              \
		uint32_t a_ = (a_in), c_ = (c_in), f_ = (fl);                                      \
		m_[-1] = 0;                                                                        \
		m_[0] = (init);                                                                    \
		m_[1] = 0;                                                                         \
		__asm__ volatile("push %[f]\n\tpopf\n\t" insn "\n\tpushf\n\tpop %[f]"              \
				 : [f] "+r"(f_), [a] "+a"(a_), [c] "+c"(c_)                        \
				 : [m] "r"(m_)                                                     \
				 : "memory", "cc");                                                \
		put_rmw(name, m_, a_, c_, f_, mask);                                               \
	} while (0)

static void put_rmw(const char *name, volatile uint32_t *m, uint32_t a, uint32_t c, uint32_t f,
		    uint32_t mask)
{
	kprintf("  %s: mem %08x %08x %08x eax %08x ecx %08x", name, m[-1], m[0], m[1], a, c);
	put_flags(f, mask);
	put_char('\n');
}

static void test_rmw(void)
{
	put_str("read-modify-write\n");
	RMW("add $1", FL_ARITH, FL_ALL_OFF, 0x7fffffff, 0, 0, "addl $1, (%[m])");
	RMW("add ecx", FL_ARITH, FL_ALL_OFF, 0xffffffff, 0, 1, "addl %[c], (%[m])");
	RMW("add byte 1", FL_ARITH, FL_ALL_OFF, 0x1234f8ff, 0, 0x18, "addb %b[c], 1(%[m])");
	RMW("add word 2 $0x8000", FL_ARITH, FL_ALL_OFF, 0x80001234, 0, 0, "addw $0x8000, 2(%[m])");
	RMW("lock add", FL_ARITH, FL_ALL_ON, 0x0000000f, 0, 1, "lock addl %[c], (%[m])");
	RMW("adc $0 (cf 1)", FL_ARITH, FL_ALL_ON, 0xffffffff, 0, 0, "adcl $0, (%[m])");
	RMW("sub ecx", FL_ARITH, FL_ALL_OFF, 1, 0, 2, "subl %[c], (%[m])");
	RMW("sbb word (cf 1)", FL_ARITH, FL_ALL_ON, 0x00018000, 0, 0, "sbbw %w[c], (%[m])");
	RMW("or $0x80000000", FL_LOGIC, FL_ALL_ON, 1, 0, 0, "orl $0x80000000, (%[m])");
	RMW("and ecx", FL_LOGIC, FL_ALL_OFF, 0xf0f0f0f0, 0, 0x0f0f0f0f, "andl %[c], (%[m])");
	RMW("xor byte 3 $0xff", FL_LOGIC, FL_ALL_OFF, 0x7f000000, 0, 0, "xorb $0xff, 3(%[m])");
	RMW("lock or word", FL_LOGIC, FL_ALL_OFF, 0, 0, 0x0300, "lock orw %w[c], 2(%[m])");
	RMW("inc (cf 1)", FL_ARITH, FL_ALL_ON, 0x7fffffff, 0, 0, "incl (%[m])");
	RMW("dec byte (cf 0)", FL_ARITH, FL_ALL_OFF, 0x12345600, 0, 0, "decb (%[m])");
	RMW("lock inc word", FL_ARITH, FL_ALL_OFF, 0x0000ffff, 0, 0, "lock incw (%[m])");
	RMW("not", FL_ARITH, FL_ALL_ON, 0x0f0f1234, 0, 0, "notl (%[m])");
	RMW("neg", FL_ARITH, FL_ALL_OFF, 0x80000000, 0, 0, "negl (%[m])");
	RMW("neg word 0", FL_ARITH, FL_ALL_ON, 0x12340000, 0, 0, "negw (%[m])");
	RMW("cmp ecx", FL_ARITH, FL_ALL_OFF, 5, 0, 7, "cmpl %[c], (%[m])");
	RMW("cmp byte $0x80", FL_ARITH, FL_ALL_OFF, 0x7f, 0, 0, "cmpb $0x80, (%[m])");
	RMW("test byte 2 $0x80", FL_LOGIC, FL_ALL_OFF, 0x00800000, 0, 0, "testb $0x80, 2(%[m])");
	RMW("add to eax", FL_ARITH, FL_ALL_OFF, 0x80000000, 0x80000001, 0, "addl (%[m]), %[a]");
	RMW("imul to ecx", FL_MUL, FL_ALL_OFF, 0x10000, 0, 0x10001, "imull (%[m]), %[c]");
	RMW("xchg", FL_ARITH, FL_ALL_ON, 0x11111111, 0x22222222, 0, "xchgl %[a], (%[m])");
	RMW("xchg word 2", FL_ARITH, FL_ALL_OFF, 0x11111111, 0, 0x3333, "xchgw %w[c], 2(%[m])");
	RMW("xadd", FL_ARITH, FL_ALL_OFF, 0xfffffff0, 0, 0x10, "xaddl %[c], (%[m])");
	RMW("lock xadd byte", FL_ARITH, FL_ALL_OFF, 0x00000070, 0, 0x10,
	    "lock xaddb %b[c], (%[m])");
	RMW("cmpxchg equal", FL_ARITH, FL_ALL_OFF, 0x1234, 0x1234, 0x5678, "cmpxchgl %[c], (%[m])");
	RMW("lock cmpxchg not equal", FL_ARITH, FL_ALL_OFF, 0x1234, 0x4321, 0x5678,
	    "lock cmpxchgl %[c], (%[m])");
	RMW("cmpxchg byte 1", FL_ARITH, FL_ALL_OFF, 0x0000ab00, 0xab, 0xcd,
	    "cmpxchgb %b[c], 1(%[m])");
	RMW("bt $5", FL_BT, FL_ALL_OFF, 0x20, 0, 0, "btl $5, (%[m])");
	RMW("bts $31", FL_BT, FL_ALL_ON, 0x1, 0, 0, "btsl $31, (%[m])");
	RMW("btr $0", FL_BT, FL_ALL_OFF, 0x3, 0, 0, "btrl $0, (%[m])");
	RMW("btc $16", FL_BT, FL_ALL_OFF, 0x10000, 0, 0, "btcl $16, (%[m])");
	RMW("bts ecx=35", FL_BT, FL_ALL_OFF, 0, 0, 35, "btsl %[c], (%[m])");
	RMW("btc ecx=-1", FL_BT, FL_ALL_ON, 0, 0, 0xffffffff, "btcl %[c], (%[m])");
	RMW("lock bts ecx=63", FL_BT, FL_ALL_OFF, 0, 0, 63, "lock btsl %[c], (%[m])");
	RMW("bt word ecx=17", FL_BT, FL_ALL_OFF, 0x2, 0, 17, "btw %w[c], (%[m])");
	RMW("shl 1", FL_SHIFT1, FL_ALL_OFF, 0xc0000000, 0, 0, "shll $1, (%[m])");
	RMW("shr 1", FL_SHIFT1, FL_ALL_OFF, 0x80000001, 0, 0, "shrl $1, (%[m])");
	RMW("sar word 1", FL_SHIFT1, FL_ALL_OFF, 0x00008001, 0, 0, "sarw $1, (%[m])");
	RMW("shl cl=4", FL_SHIFTN, FL_ALL_OFF, 0x1fffffff, 0, 4, "shll %%cl, (%[m])");
	RMW("rol 1", FL_ARITH, FL_ALL_OFF, 0x80000000, 0, 0, "roll $1, (%[m])");
	RMW("rcr 1 (cf 1)", FL_ARITH, FL_ALL_ON, 0x00000002, 0, 0, "rcrl $1, (%[m])");
	RMW("ror byte 1", FL_ARITH, FL_ALL_OFF, 0x00000001, 0, 0, "rorb $1, (%[m])");
	RMW("shld 4", FL_SHIFTN, FL_ALL_OFF, 0x12345678, 0, 0xabcdef01, "shldl $4, %[c], (%[m])");
	RMW("shrd cl=8", FL_SHIFTN, FL_ALL_OFF, 0x12345678, 0x9abcdef0, 8,
	    "shrdl %%cl, %[a], (%[m])");
	RMW("setc byte 1 (cf 1)", FL_ARITH, FL_ALL_ON, 0xffffffff, 0, 0, "setc 1(%[m])");
	RMW("setz byte 2 (zf 0)", FL_ARITH, FL_ALL_OFF, 0xffffffff, 0, 0, "setz 2(%[m])");

	/* cmpxchg8b: equal, then not equal. */
	volatile uint32_t *m = m32(RMW_OFF);
	uint32_t lo = 0x11111111, hi = 0x22222222, f;
	m[0] = lo;
	m[1] = hi;
	__asm__ volatile("lock cmpxchg8b (%[m])\n\tpushf\n\tpop %[f]"
			 : "+a"(lo), "+d"(hi), [f] "=r"(f)
			 : "b"(0x33333333), "c"(0x44444444), [m] "r"(m)
			 : "memory", "cc");
	kprintf("  cmpxchg8b equal: mem %08x %08x edx:eax %08x:%08x zf %u\n", m[1], m[0], hi, lo,
		(f >> 6) & 1);
	__asm__ volatile("cmpxchg8b (%[m])\n\tpushf\n\tpop %[f]"
			 : "+a"(lo), "+d"(hi), [f] "=r"(f)
			 : "b"(0x55555555), "c"(0x66666666), [m] "r"(m)
			 : "memory", "cc");
	kprintf("  cmpxchg8b not equal: mem %08x %08x edx:eax %08x:%08x zf %u\n", m[1], m[0], hi,
		lo, (f >> 6) & 1);
}

static void test_strings(void)
{
	static uint8_t buf[256];
	uint32_t s, d, n, f;

	put_str("string instructions\n");
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);

	s = (uint32_t)buf;
	d = mb + 0x801;
	n = 37;
	__asm__ volatile("cld\n\trep movsb" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	kprintf("  rep movsb ram -> region: ecx %u esi+%x edi+%x, fnv %08x\n", n, s - (uint32_t)buf,
		d - (mb + 0x801), fnv_bytes(mb + 0x801, 37));

	memset(buf, 0, sizeof(buf));
	s = mb + 0x800;
	d = (uint32_t)buf;
	n = 16;
	__asm__ volatile("cld\n\trep movsl" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	kprintf("  rep movsd region -> ram: ecx %u esi+%x edi+%x, fnv %08x\n", n, s - (mb + 0x800),
		d - (uint32_t)buf, fnv32(buf, 64));

	s = mb + 0x800;
	d = mb + 0x900;
	n = 16;
	__asm__ volatile("cld\n\trep movsl" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	kprintf("  rep movsd region -> region: ecx %u, fnv %08x\n", n, fnv_bytes(mb + 0x900, 64));

	/* Backwards and overlapping: move 20 bytes up by 3 within the region. */
	s = mb + 0x900 + 19;
	d = mb + 0x900 + 22;
	n = 20;
	__asm__ volatile("std\n\trep movsb\n\tcld" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	kprintf("  std rep movsb region -> region, overlapping: esi-base %x edi-base %x\n", s - mb,
		d - mb);
	put_region("bytes 900-91f", 0x900, 32);

	d = mb + 0xa00;
	n = 10;
	__asm__ volatile("cld\n\trep stosl" : "+D"(d), "+c"(n) : "a"(0xdeadbeef) : "memory");
	d = mb + 0xa05;
	n = 7;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(0x77) : "memory");
	d = mb + 0xa11;
	n = 3;
	__asm__ volatile("rep stosw" : "+D"(d), "+c"(n) : "a"(0x1234) : "memory");
	put_region("after rep stosd, stosb, stosw", 0xa00, 40);

	uint32_t v;
	s = mb + 0xa10;
	__asm__ volatile("lodsl" : "=a"(v), "+S"(s) : : "memory");
	kprintf("  lodsd %08x esi-base %x\n", v, s - mb);

	d = mb + 0xa00;
	n = 40;
	__asm__ volatile("repne scasb\n\tpushf\n\tpop %2"
			 : "+D"(d), "+c"(n), "=r"(f)
			 : "a"(0x12)
			 : "memory", "cc");
	kprintf("  repne scasb for 12: ecx %u edi-base %x", n, d - mb);
	put_flags(f, FL_ARITH);
	put_char('\n');

	for (uint32_t i = 0; i < 32; i++)
		buf[i] = *m8(0x900 + i);
	buf[13] ^= 0x40;
	s = (uint32_t)buf;
	d = mb + 0x900;
	n = 32;
	__asm__ volatile("repe cmpsb\n\tpushf\n\tpop %3"
			 : "+S"(s), "+D"(d), "+c"(n), "=r"(f)
			 :
			 : "memory", "cc");
	kprintf("  repe cmpsb ram vs region, byte 13 differs: ecx %u edi-base %x", n, d - mb);
	put_flags(f, FL_ARITH);
	put_char('\n');

	/* Across the region's first 4 KiB boundary. */
	s = (uint32_t)buf;
	d = mb + 0xff8;
	n = 4;
	__asm__ volatile("rep movsl" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	put_region("rep movsd across 4 KiB, bytes ff8-1007", 0xff8, 16);
}

static void test_stack(void)
{
	uint32_t v, ret, cx, dx, sp;

	put_str("stack\n");
	*m32(0xb00) = 0x600dcafe;
	__asm__ volatile("pushl (%1)\n\tpop %0" : "=r"(v) : "r"(mb + 0xb00) : "memory");
	kprintf("  push from the region %08x\n", v);
	__asm__ volatile("pushl $0x0badf00d\n\tpopl 4(%0)" : : "r"(mb + 0xb00) : "memory");
	__asm__ volatile("pushw $0x7788\n\tpopw 10(%0)" : : "r"(mb + 0xb00) : "memory");
	kprintf("  pop into the region %08x, word %04x\n", *m32(0xb04), *m16(0xb0a));

	/* A call and a jump through pointers in the region. */
	__asm__ volatile("movl $1f, (%[p])\n\tmovl $2f, 4(%[p])\n\txor %[v], %[v]\n\t"
			 "call *(%[p])\n\tjmp *4(%[p])\n"
			 "1:\tadd $0x10, %[v]\n\tret\n"
			 "2:\tadd $0x200, %[v]"
			 : [v] "=&r"(v)
			 : [p] "r"(mb + 0xb10)
			 : "memory", "cc");
	kprintf("  call and jmp through pointers in the region: %x\n", v);

	/* A stack inside the region. */

	uint32_t top = mb + 0xc00;
	__asm__ volatile(
	    "mov %%esp, %%edi\n\tmov %[top], %%esp\n\t"
	    "pushl $0x11223344\n\tpushw $0x5566\n\tpushfl\n\tcall 1f\n"
	    "2:\tjmp 3f\n"
	    "1:\tmov (%%esp), %[ret]\n\tsub $2b, %[ret]\n\tret\n"
	    "3:\tpopfl\n\tpopw %w[cx]\n\tpopl %[dx]\n\tmov %%esp, %[sp]\n\tmov %%edi, %%esp"
	    : [ret] "=&r"(ret), [cx] "=&r"(cx), [dx] "=&r"(dx), [sp] "=&r"(sp)
	    : [top] "r"(top)
	    : "edi", "memory", "cc");
	kprintf("  stack in the region: return address - label %x, popped %04x %08x, esp-top %x\n",
		ret, cx & 0xffff, dx, sp - top);
	kprintf("  what the pushes left: %08x %04x, eflags & 0x702 %08x\n", *m32(0xbfc),
		*m16(0xbfa), *m32(0xbf6) & 0x702);
}

static void test_x87(void)
{
	int32_t i32;
	uint32_t lo, hi;

	put_str("x87\n");
	*m32(0xd00) = (uint32_t)-12345;
	__asm__ volatile("fninit\n\tfildl (%1)\n\tfistpl %0"
			 : "=m"(i32)
			 : "r"(mb + 0xd00)
			 : "memory");
	kprintf("  fild/fistp dword: %d\n", i32);
	*m32(0xd08) = 0x89abcdef;
	*m32(0xd0c) = 0x01234567;
	__asm__ volatile("fildll (%0)\n\tfistpll 8(%0)" : : "r"(mb + 0xd08) : "memory");
	lo = *m32(0xd10);
	hi = *m32(0xd14);
	kprintf("  fild/fistp qword: %08x%08x\n", hi, lo);
	__asm__ volatile("fld1\n\tfchs\n\tfstpt (%0)" : : "r"(mb + 0xd20) : "memory");
	put_region("fstp tword of -1.0", 0xd20, 10);
	__asm__ volatile("fldt (%1)\n\tfistpl %0" : "=m"(i32) : "r"(mb + 0xd20) : "memory");
	kprintf("  fld tword, fistp: %d\n", i32);
}

/* FS based 0x1000 below the region. */
static void test_segment(void)
{
	uint32_t v, s, d, n;
	uint8_t buf[8];

	put_str("through fs, base 0x1000 below the region\n");
	gdt_set(3, mb - 0x1000, 0xFFFFF, 0x93, 0xC);
	gdt_load(4);
	__asm__ volatile("mov %0, %%fs" : : "r"(0x18));
	*m32(0xe00) = 0x10203040;
	__asm__ volatile("movl %%fs:0x1e00, %0\n\tincl %%fs:0x1e00" : "=r"(v) : : "memory", "cc");
	kprintf("  mov %08x, after inc %08x\n", v, *m32(0xe00));
	s = 0x1e00;
	d = (uint32_t)buf;
	n = 8;
	*m32(0xe04) = 0x8899aabb;
	__asm__ volatile("cld\n\trep movsb %%fs:(%%esi), %%es:(%%edi)"
			 : "+S"(s), "+D"(d), "+c"(n)
			 :
			 : "memory");
	kprintf("  rep movsb fs: -> ram: esi %x, bytes ", s);
	put_bytes(buf, 8);
	put_char('\n');
	__asm__ volatile("mov %0, %%fs" : : "r"(SEL_DATA));
}

static void run_all(void)
{
	test_fill();
	test_widths();
	test_rmw();
	test_strings();
	test_stack();
	test_x87();
	test_segment();
	kprintf("region fnv %08x\n", fnv_bytes(mb, MMIO_SIZE));
}

static void setup_paging(void)
{
	for (uint32_t i = 0; i < 2048; i++)
		pt_low[i / 1024][i % 1024] = (i * 4096) | PG_P | PG_RW;
	page_dir[0] = (uint32_t)pt_low[0] | PG_P | PG_RW;
	page_dir[1] = (uint32_t)pt_low[1] | PG_P | PG_RW;
	page_dir[MMIO_VIRT >> 22] = (uint32_t)pt_mmio | PG_P | PG_RW;
	/* The whole region; pages 8..15 cache-disabled and write-through. */
	for (uint32_t i = 0; i < 16; i++)
		pt_mmio[i] = (MMIO_PHYS + i * 4096) | PG_P | PG_RW | (i >= 8 ? PG_PCD | PG_PWT : 0);
	pt_mmio[(ALIAS_VA - MMIO_VIRT) >> 12] = MMIO_PHYS | PG_P | PG_RW;
	pt_mmio[(RO_VA - MMIO_VIRT) >> 12] = MMIO_PHYS | PG_P;
	pt_mmio[(NP_VA - MMIO_VIRT) >> 12] = MMIO_PHYS | PG_RW;
	pt_mmio[(SPLIT_VA - MMIO_VIRT) >> 12] = (MMIO_PHYS + 5 * 4096) | PG_P | PG_RW;
	pt_mmio[((SPLIT_VA - MMIO_VIRT) >> 12) + 1] = (MMIO_PHYS + 2 * 4096) | PG_P | PG_RW;
	pt_mmio[(MIXED_VA - MMIO_VIRT) >> 12] = (uint32_t)ram_page | PG_P | PG_RW;
	pt_mmio[((MIXED_VA - MMIO_VIRT) >> 12) + 1] = (MMIO_PHYS + 3 * 4096) | PG_P | PG_RW;
	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

static void expect_pf(const char *name, uint32_t va, int write)
{
	kprintf("%s:", name);
	if (TRAP_TRY()) {
		if (write)
			*(volatile uint32_t *)va = 0xbad0bad0;
		else
			(void)*(volatile uint32_t *)va;
		__asm__ volatile("" : : : "memory");
		TRAP_END();
		put_str(" no fault\n");
		return;
	}
	kprintf(" vector %x error %x cr2 %08x\n", trap_last.vector, trap_last.error, read_cr2());
}

static void test_mappings(void)
{
	uint32_t *pte;

	put_str("mappings of the region\n");
	*(volatile uint32_t *)(ALIAS_VA + 0x20) = 0x0a11a500;
	kprintf("  write through an alias of page 0, read through the region's mapping %08x\n",
		*m32(0x20));
	*m32(0x24) = 0x0a11a501;
	kprintf("  and the other way %08x\n", *(volatile uint32_t *)(ALIAS_VA + 0x24));

	*m32(0x28) = 0x5afe5afe;
	expect_pf("  write to a read-only mapping", RO_VA + 0x28, 1);
	kprintf("  the region still holds %08x; read through that mapping %08x\n", *m32(0x28),
		*(volatile uint32_t *)(RO_VA + 0x28));
	expect_pf("  read through a not-present mapping", NP_VA + 0x2c, 0);
	expect_pf("  write through a not-present mapping", NP_VA + 0x2c, 1);

	pte = &pt_mmio[1];
	*pte &= ~(PG_A | PG_D);
	invlpg(MMIO_VIRT + 0x1000);
	(void)*m32(0x1000);
	kprintf("  after a read: pte a%u d%u\n", !!(*pte & PG_A), !!(*pte & PG_D));
	*m32(0x1004) = 1;
	kprintf("  after a write: pte a%u d%u\n", !!(*pte & PG_A), !!(*pte & PG_D));

	/* Two virtual pages onto region pages 5 and 2. */
	uint32_t d = SPLIT_VA + 0xff0, n = 8;
	__asm__ volatile("cld\n\trep stosl" : "+D"(d), "+c"(n) : "a"(0x5151a2a2) : "memory");
	kprintf("  rep stosd across virtual pages onto region pages 5, 2: %08x %08x, %08x %08x\n",
		*m32(0x5ffc), *m32(0x6000), *m32(0x1ffc), *m32(0x2000));

	/* A RAM page, then region page 3. */
	*m32(0x3000) = 0;
	*(volatile uint32_t *)(MIXED_VA + 0xffe) = 0x11223344;
	kprintf("  dword across ram and the region: ram %02x%02x, region %08x, read %08x\n",
		ram_page[0xffe], ram_page[0xfff], *m32(0x3000),
		*(volatile uint32_t *)(MIXED_VA + 0xffe));
	static const char text[] = "0123456789abcdef";
	uint32_t s = (uint32_t)text;
	d = MIXED_VA + 0xff8;
	n = 16;
	__asm__ volatile("rep movsb" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	kprintf("  rep movsb across them: ram ");
	put_bytes(ram_page + 0xff8, 8);
	put_char('\n');
	put_region("region", 0x3000, 8);
	s = MIXED_VA + 0xffc;
	uint32_t v;
	__asm__ volatile("lodsl\n\tlodsl" : "=a"(v), "+S"(s) : : "memory");
	kprintf("  lodsd twice from ram + 0xffc: %08x\n", v);
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	write_cr0(0x00000033);
	idt_init();
	mb = MMIO_PHYS;
	put_str("paging off, the region at 0xff000000\n");
	run_all();
	setup_paging();
	mb = MMIO_VIRT;
	put_str("paging on, the region at 0xc0000000\n");
	run_all();
	test_mappings();
	write_cr0(read_cr0() & ~CR0_PG);
	put_str("mmio done\n");
}
