/*
 * pvbench — what bt86's own hypercalls (docs/PV.md) save against the instructions they
 * replace, timed with rdtsc. A bench, not a test: built, never compared. The command line
 * (--append) names the mode, optionally followed by a parameter:
 *
 *   uart                1 MiB of text (16,384 lines of 64 bytes) through COM1 as put_char
 *                       sends it: poll LSR, write THR, per byte;
 *   hypercall [chunk=N] the same 1 MiB through BT86_HC_CONSOLE_WRITE, N bytes per call
 *                       (default 4096, at most 1 MiB);
 *   pte-invlpg          10,000 page-table entry updates, each a plain store to the entry and
 *                       invlpg, then a read through the new mapping;
 *   pte-batch [batch=N] the same 10,000 updates through BT86_HC_MMU_UPDATE, N entries per
 *                       call (default 500), each call followed by the same reads.
 *
 * The updates cycle through PTE_PAGES pages, round after round, each round giving every page
 * another of PTE_FRAMES frames, so that within a batch no entry repeats. Both PTE modes make the
 * same updates and reads in the same order; the sum of what the reads saw is checked after
 * the timed part.
 *
 * After the timed part it prints one line, "pvbench: MODE cycles=N per_op=M.MM", N the TSC
 * cycles of the timed part and M the cycles per byte (console modes) or per update (PTE
 * modes), and exits with code 0; with code 1 after a line "pvbench: MODE FAILED: why" if a
 * hypercall failed, the reads saw the wrong frames, or the mode is unknown or needs a bt86
 * that offers the interface. The console modes' megabyte goes to stdout with that line last.
 *
 * Paging is on in every mode (4 KiB pages, the first 8 MiB identity-mapped) so that the
 * console hypercall's linear address goes through the page tables, as in a real kernel.
 */
#include "guest.h"

#define PG_P	0x001u
#define PG_RW	0x002u
#define CR0_PG	0x80000000u
#define CR0_SET 0x00000033u /* PE MP ET NE */

#define BT86_HC_BASE	      0x62740000u
#define BT86_HC_CONSOLE_WRITE (BT86_HC_BASE + 1)
#define BT86_HC_MMU_UPDATE    (BT86_HC_BASE + 2)
#define BT86_FEAT_CONSOLE     0x1u
#define BT86_FEAT_MMU_UPDATE  0x2u

#define TEXT_LINES  16384u
#define LINE_BYTES  64u
#define TEXT_BYTES  (TEXT_LINES * LINE_BYTES) /* 1 MiB */
#define CHUNK_DEF   4096u
#define PTE_UPDATES 10000u
#define PTE_PAGES   500u
#define PTE_FRAMES  16u
#define BATCH_DEF   500u
#define BATCH_MAX   PTE_UPDATES
#define PTE_VA	    0x40000000u /* PTE_PAGES pages mapped by pt_bench */

struct mmu_update {
	uint32_t pte, value, va;
};

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_bench[1024] __attribute__((aligned(4096)));
static uint32_t frames[PTE_FRAMES][1024] __attribute__((aligned(4096)));
static char text[TEXT_BYTES] __attribute__((aligned(4096)));
static struct mmu_update batch[BATCH_MAX];

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static int32_t hypercall(uint32_t nr, uint32_t b, uint32_t c, uint32_t d)
{
	__asm__ volatile("vmcall" : "+a"(nr) : "b"(b), "c"(c), "d"(d) : "memory");
	return (int32_t)nr;
}

/* bt86's feature bits (CPUID 0x40000101 EAX), or 0 without its signature. */
static uint32_t bt86_features(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c >> 31))
		return 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000100), "c"(0));
	uint32_t sig[3] = {b, c, d};
	if (a < 0x40000101 || memcmp(sig, "bt86bt86bt86", 12))
		return 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000101), "c"(0));
	return a;
}

static void put_u64(uint64_t v)
{
	char buf[21];
	int i = 20;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_str(buf + i);
}

/* ---- the command line ---- */

struct args {
	char mode[16];
	char key[16];
	uint32_t value;
	int has_value;
};

/* Copies the word at *s (up to a space or '=' if stop_eq) into out, advancing *s. */
static void word(const char **s, char *out, size_t size, int stop_eq)
{
	size_t n = 0;

	while (**s && **s != ' ' && !(stop_eq && **s == '=')) {
		if (n + 1 < size)
			out[n++] = **s;
		(*s)++;
	}
	out[n] = 0;
}

static void parse(const struct mb_info *info, struct args *a)
{
	memset(a, 0, sizeof(*a));
	if (!(info->flags & (1u << 2)))
		return;
	const char *s = (const char *)info->cmdline;
	while (*s && *s != ' ') /* the kernel's path */
		s++;
	while (*s == ' ')
		s++;
	word(&s, a->mode, sizeof(a->mode), 0);
	while (*s == ' ')
		s++;
	word(&s, a->key, sizeof(a->key), 1);
	if (*s == '=') {
		s++;
		a->has_value = *s >= '0' && *s <= '9';
		for (; *s >= '0' && *s <= '9'; s++)
			a->value = a->value * 10 + (uint32_t)(*s - '0');
	}
}

static uint32_t option(const struct args *a, const char *key, uint32_t def, uint32_t max)
{
	if (!a->key[0])
		return def;
	if (!max) {
		kprintf("pvbench: %s FAILED: the mode takes no option\n", a->mode);
		guest_exit(1);
	}
	if (strlen(a->key) != strlen(key) || memcmp(a->key, key, strlen(key)) || !a->has_value ||
	    !a->value || a->value > max) {
		kprintf("pvbench: %s FAILED: bad option (%s=1..%u)\n", a->mode, key, max);
		guest_exit(1);
	}
	return a->value;
}

/* ---- setup ---- */

static void paging_on(void)
{
	for (uint32_t i = 0; i < 2048; i++)
		pt_low[i / 1024][i % 1024] = (i * 4096) | PG_P | PG_RW;
	page_dir[0] = (uint32_t)pt_low[0] | PG_P | PG_RW;
	page_dir[1] = (uint32_t)pt_low[1] | PG_P | PG_RW;
	page_dir[PTE_VA >> 22] = (uint32_t)pt_bench | PG_P | PG_RW;
	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	write_cr0(CR0_SET | CR0_PG);
}

static void fill_text(void)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (uint32_t l = 0; l < TEXT_LINES; l++) {
		char *p = text + l * LINE_BYTES;
		memcpy(p, "pvbench line ", 13);
		uint32_t n = l;
		for (int i = 17; i >= 13; i--, n /= 10)
			p[i] = (char)('0' + n % 10);
		p[18] = ':';
		p[19] = ' ';
		for (uint32_t i = 20; i < LINE_BYTES - 1; i++)
			p[i] = abc[(l + i) % (sizeof(abc) - 1)];
		p[LINE_BYTES - 1] = '\n';
	}
}

/* ---- the modes: each returns the cycles of its timed part, or 0 after printing why it
 * failed ---- */

static uint64_t run_uart(void)
{
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < TEXT_BYTES; i++)
		put_char(text[i]);
	return rdtsc() - t0;
}

static uint64_t run_hypercall(uint32_t chunk)
{
	uint32_t bad = 0;
	uint64_t t0 = rdtsc();
	for (uint32_t off = 0; off < TEXT_BYTES; off += chunk) {
		uint32_t n = TEXT_BYTES - off < chunk ? TEXT_BYTES - off : chunk;
		if (hypercall(BT86_HC_CONSOLE_WRITE, (uint32_t)(text + off), n, 0) != (int32_t)n)
			bad++;
	}
	uint64_t t = rdtsc() - t0;
	if (bad) {
		kprintf("pvbench: hypercall FAILED: %u console writes did not write it all\n", bad);
		return 0;
	}
	return t;
}

/* Update i gives page i % PTE_PAGES the frame (round + page) % PTE_FRAMES, round being
 * i / PTE_PAGES; the first word of frame f is f + 1. */
static uint32_t update_frame(uint32_t i)
{
	return (i / PTE_PAGES + i % PTE_PAGES) % PTE_FRAMES;
}

static uint32_t update_value(uint32_t i)
{
	return (uint32_t)frames[update_frame(i)] | PG_P | PG_RW;
}

static uint32_t update_va(uint32_t i)
{
	return PTE_VA + (i % PTE_PAGES) * 4096;
}

static uint32_t expected_sum(void)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i < PTE_UPDATES; i++)
		sum += update_frame(i) + 1;
	return sum;
}

static void setup_frames(void)
{
	for (uint32_t f = 0; f < PTE_FRAMES; f++)
		frames[f][0] = f + 1;
}

static uint64_t check_sum(const char *mode, uint32_t sum, uint64_t t)
{
	if (sum != expected_sum()) {
		kprintf("pvbench: %s FAILED: the reads saw the wrong frames\n", mode);
		return 0;
	}
	return t;
}

static uint64_t run_pte_invlpg(void)
{
	volatile uint32_t *pt = pt_bench;
	uint32_t sum = 0;

	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < PTE_UPDATES; i++) {
		uint32_t va = update_va(i);
		pt[i % PTE_PAGES] = update_value(i);
		__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
		sum += *(volatile uint32_t *)va;
	}
	uint64_t t = rdtsc() - t0;
	return check_sum("pte-invlpg", sum, t);
}

static uint64_t run_pte_batch(uint32_t per_call)
{
	uint32_t sum = 0, bad = 0;

	/* A batch never names one entry twice: it would not read every update back. */
	if (per_call > PTE_PAGES) {
		kprintf("pvbench: pte-batch FAILED: batch=N must be at most %u\n", PTE_PAGES);
		return 0;
	}
	uint64_t t0 = rdtsc();
	for (uint32_t first = 0; first < PTE_UPDATES; first += per_call) {
		uint32_t n = PTE_UPDATES - first < per_call ? PTE_UPDATES - first : per_call;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t i = first + k;
			batch[k].pte = (uint32_t)&pt_bench[i % PTE_PAGES];
			batch[k].value = update_value(i);
			batch[k].va = update_va(i);
		}
		if (hypercall(BT86_HC_MMU_UPDATE, (uint32_t)batch, n, 0) != (int32_t)n)
			bad++;
		for (uint32_t k = 0; k < n; k++)
			sum += *(volatile uint32_t *)update_va(first + k);
	}
	uint64_t t = rdtsc() - t0;
	if (bad) {
		kprintf("pvbench: pte-batch FAILED: %u batches not applied in full\n", bad);
		return 0;
	}
	return check_sum("pte-batch", sum, t);
}

/* ---- main ---- */

static int is(const char *a, const char *b)
{
	return strlen(a) == strlen(b) && !memcmp(a, b, strlen(b));
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	struct args a;
	uint64_t cycles;
	uint32_t ops;

	write_cr0(CR0_SET);
	idt_init();
	parse(info, &a);
	uint32_t features = bt86_features();
	paging_on();

	if (is(a.mode, "uart")) {
		option(&a, NULL, 0, 0);
		fill_text();
		cycles = run_uart();
		ops = TEXT_BYTES;
	} else if (is(a.mode, "hypercall")) {
		uint32_t chunk = option(&a, "chunk", CHUNK_DEF, TEXT_BYTES);
		if (!(features & BT86_FEAT_CONSOLE)) {
			put_str(
			    "pvbench: hypercall FAILED: no bt86 console hypercall (--pv on?)\n");
			guest_exit(1);
		}
		fill_text();
		cycles = run_hypercall(chunk);
		ops = TEXT_BYTES;
	} else if (is(a.mode, "pte-invlpg")) {
		option(&a, NULL, 0, 0);
		setup_frames();
		cycles = run_pte_invlpg();
		ops = PTE_UPDATES;
	} else if (is(a.mode, "pte-batch")) {
		uint32_t per_call = option(&a, "batch", BATCH_DEF, BATCH_MAX);
		if (!(features & BT86_FEAT_MMU_UPDATE)) {
			put_str(
			    "pvbench: pte-batch FAILED: no bt86 mmu_update hypercall (--pv on?)\n");
			guest_exit(1);
		}
		setup_frames();
		cycles = run_pte_batch(per_call);
		ops = PTE_UPDATES;
	} else {
		kprintf("pvbench: %s FAILED: unknown mode (uart, hypercall [chunk=N], pte-invlpg,"
			" pte-batch [batch=N])\n",
			a.mode[0] ? a.mode : "(none)");
		guest_exit(1);
	}
	if (!cycles)
		guest_exit(1);

	uint64_t x100 = cycles * 100 / ops;
	kprintf("pvbench: %s cycles=", a.mode);
	put_u64(cycles);
	put_str(" per_op=");
	put_u64(x100 / 100);
	kprintf(".%u%u\n", (uint32_t)(x100 / 10 % 10), (uint32_t)(x100 % 10));
}
