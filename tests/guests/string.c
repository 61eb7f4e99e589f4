/*
 * string — movs stos lods cmps scas in byte/word/dword sizes, with no prefix, rep, repe and
 * repne, DF = 0 and DF = 1, counts 0, 1, 7 and 300, overlapping copies both ways and 64 KiB
 * copies. Each line gives the final ECX, ESI and EDI (relative to the buffers), EAX, the flags
 * (all defined: cmps/scas set them like cmp, the others leave them alone) and checksums.
 */
#include "guest.h"

#define BUF_SIZE  (72 * 1024)
#define BASE	  256  /* start offset for DF = 0 */
#define BASE_DOWN 1256 /* start offset for DF = 1 */
#define MISMATCH  100  /* first index where the two buffers differ */
#define FL_ALL_ON 0x8D7u

static uint8_t buf_a[BUF_SIZE] __attribute__((aligned(16)));
static uint8_t buf_b[BUF_SIZE] __attribute__((aligned(16)));

struct str_regs {
	uint32_t esi, edi, ecx, eax, flags;
};

#define DEF_STR(fn, insn)                                                                          \
	static void fn(struct str_regs *r)                                                         \
	{                                                                                          \
		__asm__ volatile("push %[f]\n\tpopf\n\t" insn "\n\tpushf\n\tpop %[f]\n\tcld"       \
				 : "+S"(r->esi), "+D"(r->edi), "+c"(r->ecx),                       \
				   "+a"(r->eax), [f] "+r"(r->flags)                                \
				 :                                                                 \
				 : "cc", "memory");                                                \
	}

#define DEF_STR3(name, insn)                                                                       \
	DEF_STR(name##b, insn "b")                                                                 \
	DEF_STR(name##w, insn "w")                                                                 \
	DEF_STR(name##l, insn "l")

DEF_STR3(movs, "movs")
DEF_STR3(rep_movs, "rep movs")
DEF_STR3(stos, "stos")
DEF_STR3(rep_stos, "rep stos")
DEF_STR3(lods, "lods")
DEF_STR3(rep_lods, "rep lods")
DEF_STR3(cmps, "cmps")
DEF_STR3(repe_cmps, "repe cmps")
DEF_STR3(repne_cmps, "repne cmps")
DEF_STR3(scas, "scas")
DEF_STR3(repe_scas, "repe scas")
DEF_STR3(repne_scas, "repne scas")

typedef void (*str_fn)(struct str_regs *r);

struct str_op {
	const char *name;
	str_fn fn;
	int size;
	int rep;
};

#define STR_OPS(name, text, rep)                                                                   \
	{text "b", name##b, 1, rep}, {text "w", name##w, 2, rep},                                  \
	{                                                                                          \
		text "l", name##l, 4, rep                                                          \
	}

static const struct str_op ops[] = {
    STR_OPS(movs, "movs", 0),
    STR_OPS(rep_movs, "rep movs", 1),
    STR_OPS(stos, "stos", 0),
    STR_OPS(rep_stos, "rep stos", 1),
    STR_OPS(lods, "lods", 0),
    STR_OPS(rep_lods, "rep lods", 1),
    STR_OPS(cmps, "cmps", 0),
    STR_OPS(repe_cmps, "repe cmps", 1),
    STR_OPS(repne_cmps, "repne cmps", 1),
    STR_OPS(scas, "scas", 0),
    STR_OPS(repe_scas, "repe scas", 1),
    STR_OPS(repne_scas, "repne scas", 1),
};

/* buf_b equals buf_a up to MISMATCH bytes past either start offset, then differs. */
static void fill(void)
{
	for (uint32_t i = 0; i < BUF_SIZE; i++)
		buf_a[i] = (uint8_t)(i * 7 + 3);
	for (uint32_t i = 0; i < BUF_SIZE; i++)
		buf_b[i] = (uint8_t)(i * 13 + 5);
	memcpy(buf_b + BASE, buf_a + BASE, MISMATCH);
	memcpy(buf_b + BASE_DOWN - MISMATCH, buf_a + BASE_DOWN - MISMATCH, MISMATCH + 4);
}

static void print_regs(const struct str_regs *r)
{
	kprintf(" -> ecx %x esi a+%x edi b+%x eax %08x", r->ecx, r->esi - (uint32_t)buf_a,
		r->edi - (uint32_t)buf_b, r->eax);
	put_flags(r->flags, FL_ARITH | FL_DF);
	kprintf(" sum %08x %08x\n", fnv32(buf_a, 2048), fnv32(buf_b, 2048));
}

static void test_ops(void)
{
	static const uint32_t counts[] = {0, 1, 7, 300};

	for (unsigned o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		for (int df = 0; df <= 1; df++) {
			for (unsigned c = 0; c < (ops[o].rep ? 4u : 1u); c++) {
				struct str_regs r;
				uint32_t start = df ? BASE_DOWN : BASE;

				fill();
				r.esi = (uint32_t)buf_a + start;
				r.edi = (uint32_t)buf_b + start;
				r.ecx = ops[o].rep ? counts[c] : 0x55;
				/* scas looks for the byte/word/dword that sits at MISMATCH / 2. */
				r.eax = 0;
				memcpy(&r.eax, buf_b + start + (df ? -MISMATCH / 2 : MISMATCH / 2),
				       (size_t)ops[o].size);
				r.flags = (df ? FL_DF : 0) | (c & 1 ? FL_ALL_ON : 0x2);
				ops[o].fn(&r);
				kprintf("%s df%u ecx %x", ops[o].name, df,
					ops[o].rep ? counts[c] : 0x55);
				print_regs(&r);
			}
		}
	}
}

/* Overlapping copies: each element is moved before the next is read. */
static void test_overlap(void)
{
	static const struct {
		const char *name;
		str_fn fn;
		int32_t delta; /* EDI - ESI */
		int df;
	} cases[] = {
	    {"rep movsb +1", rep_movsb, 1, 0},	    {"rep movsb -1", rep_movsb, -1, 1},
	    {"rep movsw +1", rep_movsw, 1, 0},	    {"rep movsl +2", rep_movsl, 2, 0},
	    {"rep movsl -3", rep_movsl, -3, 1},	    {"rep movsb -1 up", rep_movsb, -1, 0},
	    {"rep movsl +5 down", rep_movsl, 5, 1},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct str_regs r;
		uint32_t start = cases[i].df ? BASE_DOWN : BASE;

		fill();
		r.esi = (uint32_t)buf_a + start;
		r.edi = r.esi + (uint32_t)cases[i].delta;
		r.ecx = 200;
		r.eax = 0;
		r.flags = cases[i].df ? (FL_DF | 0x2) : 0x2;
		cases[i].fn(&r);
		kprintf("overlap %s -> ecx %x esi a+%x edi a+%x sum %08x\n", cases[i].name, r.ecx,
			r.esi - (uint32_t)buf_a, r.edi - (uint32_t)buf_a, fnv32(buf_a, 2048));
	}
}

static void test_large(void)
{
	struct str_regs r;

	fill();
	r = (struct str_regs){(uint32_t)buf_a, (uint32_t)buf_b, 65536, 0, 0x2};
	rep_movsb(&r);
	kprintf("64k rep movsb -> ecx %x esi a+%x edi b+%x sum %08x\n", r.ecx,
		r.esi - (uint32_t)buf_a, r.edi - (uint32_t)buf_b, fnv32(buf_b, BUF_SIZE));

	fill();
	r = (struct str_regs){(uint32_t)buf_a + 65536 - 4, (uint32_t)buf_b + 65536, 16384, 0,
			      FL_DF | 0x2};
	rep_movsl(&r);
	kprintf("64k rep movsl down -> ecx %x esi a+%x edi b+%x sum %08x\n", r.ecx,
		r.esi - (uint32_t)buf_a, r.edi - (uint32_t)buf_b, fnv32(buf_b, BUF_SIZE));

	r = (struct str_regs){0, (uint32_t)buf_b + 3, 65536 / 2, 0xa5c3, 0x2};
	rep_stosw(&r);
	kprintf("64k rep stosw -> ecx %x edi b+%x sum %08x\n", r.ecx, r.edi - (uint32_t)buf_b,
		fnv32(buf_b, BUF_SIZE));

	fill();
	memcpy(buf_b, buf_a, BUF_SIZE);
	buf_b[60000] ^= 1;
	r = (struct str_regs){(uint32_t)buf_a, (uint32_t)buf_b, 65536, 0, 0x2};
	repe_cmpsb(&r);
	kprintf("64k repe cmpsb -> ecx %x esi a+%x edi b+%x", r.ecx, r.esi - (uint32_t)buf_a,
		r.edi - (uint32_t)buf_b);
	put_flags(r.flags, FL_ARITH);
	put_char('\n');

	memset(buf_b, 0x11, BUF_SIZE);
	buf_b[50001] = 0;
	r = (struct str_regs){0, (uint32_t)buf_b, 0xffffffff, 0, 0x2};
	repne_scasb(&r);
	kprintf("strlen by repne scasb -> ecx %x edi b+%x", r.ecx, r.edi - (uint32_t)buf_b);
	put_flags(r.flags, FL_ARITH);
	put_char('\n');
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	test_ops();
	test_overlap();
	test_large();
	put_str("string done\n");
}
