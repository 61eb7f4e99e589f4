/*
 * pf_retry — demand paging: a #PF handler that maps the missing page (writes the PTE, invlpg)
 * and returns, so that the CPU retries the faulting instruction. Reads and writes touch 64
 * unmapped pages one after the other, each mapped by the handler; a dword store straddles
 * into an unmapped page; a call lands on an unmapped code page; a rep movsd faults twice
 * midway (once for its destination, once for its source) and completes after each mapping.
 * Printed: fault counts, error codes, whether each CR2 was the address touched (not the raw
 * addresses), the registers of the rep movsd at each fault, and the data read back.
 */
#include "guest.h"

#define PG_P   0x001u
#define PG_RW  0x002u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u

#define DEMAND_BASE  0x40000000u /* one page table, filled by the #PF handler */
#define DEMAND_PAGES 1024u
#define VA(n)	     (DEMAND_BASE + (n)*4096u)
#define CODE_FIRST   120u /* pages from here on are filled with code */
#define NFRAMES	     80u

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_demand[1024] __attribute__((aligned(4096)));
static uint8_t frames[NFRAMES][4096] __attribute__((aligned(4096)));
static uint32_t next_frame;

/* What the handler saw: a count of faults, how many had CR2 equal to the address the kernel
 * announced in expect_cr2 (or, with expect_page set, inside the announced page), a count per
 * error code, and the last few faults in full. */
static volatile uint32_t expect_cr2;
static volatile int expect_page;
static uint32_t faults, cr2_matched, errors[8];

struct fault_rec {
	uint32_t cr2, error, ecx, esi, edi;
};
static struct fault_rec fault_log[4];

static void invlpg(uint32_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static uint32_t read_cr2(void)
{
	uint32_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* A data page holds (n << 16) | dword index; a code page starts with
 * "mov $(0xc0de0000 + n), %eax; ret" and is int3 after that. */
static uint32_t pattern(uint32_t n, uint32_t index)
{
	return (n << 16) | index;
}

static void fill_frame(uint8_t *frame, uint32_t n)
{
	if (n >= CODE_FIRST) {
		uint32_t imm = 0xc0de0000u + n;
		memset(frame, 0xcc, 4096);
		frame[0] = 0xb8;
		memcpy(frame + 1, &imm, 4);
		frame[5] = 0xc3;
		return;
	}
	uint32_t *w = (uint32_t *)frame;
	for (uint32_t i = 0; i < 1024; i++)
		w[i] = pattern(n, i);
}

static void clear_stats(void)
{
	faults = cr2_matched = 0;
	memset(errors, 0, sizeof(errors));
	memset(fault_log, 0, sizeof(fault_log));
}

static void hook_pf(struct trap_frame *f)
{
	uint32_t cr2 = read_cr2();
	uint32_t n = (cr2 - DEMAND_BASE) >> 12;

	if (cr2 < DEMAND_BASE || n >= DEMAND_PAGES || (pt_demand[n] & PG_P) ||
	    next_frame == NFRAMES) {
		kprintf("unexpected page fault: error %x cr2 %08x eip %08x\n", f->error, cr2,
			f->eip);
		guest_exit(3);
	}
	if (expect_page ? (cr2 >> 12) == (expect_cr2 >> 12) : cr2 == expect_cr2)
		cr2_matched++;
	errors[f->error & 7]++;
	if (faults < sizeof(fault_log) / sizeof(fault_log[0]))
		fault_log[faults] = (struct fault_rec){cr2, f->error, f->ecx, f->esi, f->edi};
	faults++;

	uint8_t *frame = frames[next_frame++];
	fill_frame(frame, n);
	pt_demand[n] = (uint32_t)frame | PG_P | PG_RW;
	invlpg(cr2);
}

static void put_stats(const char *what)
{
	kprintf("%s: faults %u, cr2 as expected %u, error 0: %u, error 2: %u, others %u\n", what,
		faults, cr2_matched, errors[0], errors[2], faults - errors[0] - errors[2]);
}

static void setup(void)
{
	for (uint32_t i = 0; i < 2048; i++)
		pt_low[i / 1024][i % 1024] = (i * 4096) | PG_P | PG_RW;
	page_dir[0] = (uint32_t)pt_low[0] | PG_P | PG_RW;
	page_dir[1] = (uint32_t)pt_low[1] | PG_P | PG_RW;
	page_dir[DEMAND_BASE >> 22] = (uint32_t)pt_demand | PG_P | PG_RW;
	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	write_cr0(0x00000033 | CR0_PG | CR0_WP);
	trap_set_hook(14, hook_pf);
}

/* The accesses that fault; the barriers stop the compiler from keeping the handler's counters
 * in registers across them. */
static uint32_t peek(uint32_t va)
{
	expect_cr2 = va;
	uint32_t v = *(volatile uint32_t *)va;
	__asm__ volatile("" : : : "memory");
	return v;
}

static void poke(uint32_t va, uint32_t v)
{
	expect_cr2 = va;
	*(volatile uint32_t *)va = v;
	__asm__ volatile("" : : : "memory");
}

/* Pages 0..31 read, pages 32..63 written, then all 64 read again without a fault. */
static void test_loops(void)
{
	uint32_t good = 0, sum = 0;

	clear_stats();
	for (uint32_t n = 0; n < 32; n++) {
		uint32_t index = (n * 37) % 1024;
		uint32_t v = peek(VA(n) + index * 4);
		good += v == pattern(n, index);
		sum = sum * 31 + v;
	}
	put_stats("read 32 pages");
	kprintf("  values as the handler wrote them %u, sum %08x\n", good, sum);

	clear_stats();
	for (uint32_t n = 32; n < 64; n++)
		poke(VA(n) + ((n * 53) % 1024) * 4, 0xdada0000u + n);
	put_stats("write 32 pages");
	good = 0;
	for (uint32_t n = 32; n < 64; n++)
		good += peek(VA(n) + ((n * 53) % 1024) * 4) == 0xdada0000u + n;
	kprintf("  written values read back %u, page 40 fnv %08x\n", good,
		fnv32((const void *)VA(40), 4096));

	clear_stats();
	sum = 0;
	for (uint32_t n = 0; n < 64; n++)
		sum += peek(VA(n) + 4092);
	put_stats("read 64 mapped pages");
	kprintf("  sum of last dwords %08x, frames used %u\n", sum, next_frame);
}

/* A dword store two bytes before the end of a mapped page: the CPU faults for the second
 * page only, with CR2 inside it; nothing may be stored before the retry. */
static void test_straddle(void)
{
	(void)peek(VA(80));
	clear_stats();
	poke(VA(80) + 4092, 0x11111111);
	expect_cr2 = VA(81);
	expect_page = 1;
	*(volatile uint32_t *)(VA(81) - 2) = 0xaabbccdd;
	__asm__ volatile("" : : : "memory");
	expect_page = 0;
	put_stats("straddling store");
	kprintf("  bytes around the page boundary ");
	put_bytes((const void *)(VA(81) - 4), 8);
	put_char('\n');
}

static void test_code(void)
{
	typedef uint32_t (*fn)(void);

	clear_stats();
	expect_cr2 = VA(CODE_FIRST);
	uint32_t a = ((fn)VA(CODE_FIRST))();
	expect_cr2 = VA(CODE_FIRST + 1);
	uint32_t b = ((fn)VA(CODE_FIRST + 1))();
	uint32_t c = ((fn)VA(CODE_FIRST))();
	put_stats("call 2 unmapped code pages");
	kprintf("  returned %08x %08x, again %08x\n", a, b, c);
}

/* 1024 dwords from the middle of page 100 (mapped) into page 101 (not), to 3/4 into page 110
 * (mapped) and on into page 111 (not): the store into page 111 faults first, after 256
 * dwords, then the load from page 101 after 512. */
static void test_rep_movsd(void)
{
	uint32_t src = VA(100) + 2048, dst = VA(110) + 3072;

	(void)peek(VA(100));
	poke(VA(110), 0);
	clear_stats();
	expect_page = 1;
	expect_cr2 = VA(111); /* the first fault; the second is not checked against it */
	uint32_t s = src, d = dst, n = 1024;
	__asm__ volatile("cld\n\trep movsl" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	expect_page = 0;
	put_stats("rep movsd across two unmapped pages");
	for (uint32_t i = 0; i < faults && i < 2; i++) {
		const struct fault_rec *r = &fault_log[i];
		kprintf("  fault %u: error %x, cr2 page %s, ecx %u, esi-src %x, edi-dst %x\n", i,
			r->error,
			(r->cr2 >> 12) == (VA(111) >> 12)   ? "dst+1"
			: (r->cr2 >> 12) == (VA(101) >> 12) ? "src+1"
							    : "other",
			r->ecx, r->esi - src, r->edi - dst);
	}
	uint32_t good = 0;
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t page = i < 512 ? 100 : 101;
		good += ((volatile uint32_t *)dst)[i] == pattern(page, (512 + i) % 1024);
	}
	kprintf("  end: ecx %u, esi-src %x, edi-dst %x, dwords copied right %u\n", n, s - src,
		d - dst, good);
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	idt_init();
	setup();
	test_loops();
	test_straddle();
	test_code();
	test_rep_movsd();
	kprintf("frames used %u\n", next_frame);
	write_cr0(read_cr0() & ~CR0_PG);
	put_str("pf_retry done\n");
}
