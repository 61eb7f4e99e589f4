/*
 * bcd — daa das aaa aas aam aad. daa/das: every AL with each CF/AF input, AL and CF AF SF ZF PF
 * (OF is undefined). aaa/aas: the results of adding or subtracting two unpacked BCD digits, and
 * out-of-range digits with AF clear, printing AX and CF AF (the rest is undefined; inputs with
 * AL >= 0xFA or, for aas, AL < 6 with AF set, are avoided because CPUs and the SDM's pseudocode
 * disagree there). aam/aad: with bases 10, 16 and 7, AX and SF ZF PF.
 */
#include "guest.h"

#define FL_DAA (FL_CF | FL_AF | FL_SF | FL_ZF | FL_PF)
#define FL_AAA (FL_CF | FL_AF)
#define FL_AAM (FL_SF | FL_ZF | FL_PF)

#define DEF_ADJ(fn, insn)                                                                          \
	static uint32_t fn(uint32_t ax, uint32_t *flags)                                           \
	{                                                                                          \
		uint32_t f = *flags;                                                               \
		__asm__("push %[f]\n\tpopf\n\t" insn "\n\tpushf\n\tpop %[f]"                       \
			: "+a"(ax), [f] "+r"(f)                                                    \
			:                                                                          \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return ax;                                                                         \
	}

DEF_ADJ(do_daa, "daa")
DEF_ADJ(do_das, "das")
DEF_ADJ(do_aaa, "aaa")
DEF_ADJ(do_aas, "aas")
DEF_ADJ(do_aam10, "aam")
DEF_ADJ(do_aam16, "aam $16")
DEF_ADJ(do_aam7, "aam $7")
DEF_ADJ(do_aad10, "aad")
DEF_ADJ(do_aad16, "aad $16")
DEF_ADJ(do_aad7, "aad $7")

typedef uint32_t (*adj_fn)(uint32_t ax, uint32_t *flags);

static void test_daa_das(const char *name, adj_fn fn)
{
	for (uint32_t al = 0; al < 256; al++) {
		kprintf("%s %02x:", name, al);
		for (int in = 0; in < 4; in++) {
			uint32_t f = 0x2 | (in & 1 ? FL_CF : 0) | (in & 2 ? FL_AF : 0);
			uint32_t r = fn(0x5500 | al, &f);
			kprintf(" c%ua%u=%02x", in & 1, in >> 1, r & 0xff);
			put_flags(f, FL_DAA);
		}
		put_char('\n');
	}
}

/* Unpacked BCD: AL = a + b (or a - b) with the flags of that add, then aaa (aas). */
static uint32_t add_then(adj_fn fn, uint32_t ax, uint32_t b, int sub, uint32_t *flags)
{
	uint32_t f;

	if (sub)
		__asm__("subb %b2, %b0\n\tpushf\n\tpop %1" : "+a"(ax), "=r"(f) : "q"(b) : "cc");
	else
		__asm__("addb %b2, %b0\n\tpushf\n\tpop %1" : "+a"(ax), "=r"(f) : "q"(b) : "cc");
	*flags = f;
	return fn(ax, flags);
}

static void test_aaa_aas(void)
{
	static const uint32_t ahs[] = {0x00, 0x09, 0xff};

	for (int sub = 0; sub <= 1; sub++) {
		const char *name = sub ? "aas" : "aaa";
		adj_fn fn = sub ? do_aas : do_aaa;
		for (unsigned h = 0; h < 3; h++) {
			for (uint32_t a = 0; a <= 9; a++) {
				kprintf("%s ah=%02x a=%u:", name, ahs[h], a);
				for (uint32_t b = 0; b <= 9; b++) {
					uint32_t f;
					uint32_t r = add_then(fn, (ahs[h] << 8) | a, b, sub, &f);
					kprintf(" %04x", r & 0xffff);
					put_flags(f, FL_AAA);
				}
				put_char('\n');
			}
		}
		/* Digits out of range, AF clear: only the low nibble of AL matters. */
		static const uint32_t junk[] = {0x0a, 0x0f, 0x1b, 0x3c, 0x7d, 0x99, 0xae, 0xf9};
		kprintf("%s junk:", name);
		for (unsigned i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
			for (int cf = 0; cf <= 1; cf++) {
				uint32_t f = 0x2 | (cf ? FL_CF : 0);
				uint32_t r = fn(0x1200 | junk[i], &f);
				kprintf(" %04x", r & 0xffff);
				put_flags(f, FL_AAA);
			}
		}
		put_char('\n');
	}
}

static void test_aam_aad(void)
{
	static const struct {
		const char *name;
		adj_fn fn;
	} ops[] = {
	    {"aam10", do_aam10}, {"aam16", do_aam16}, {"aam7", do_aam7},
	    {"aad10", do_aad10}, {"aad16", do_aad16}, {"aad7", do_aad7},
	};
	static const uint32_t ahs[] = {0x00, 0x01, 0x09, 0x19, 0x80, 0xff};

	for (unsigned o = 0; o < 6; o++) {
		for (unsigned h = 0; h < (o < 3 ? 1 : 6); h++) {
			for (uint32_t al = 0; al < 256; al += 16) {
				kprintf("%s ah=%02x al=%02x:", ops[o].name, ahs[h], al);
				for (uint32_t lo = 0; lo < 16; lo += 3) {
					uint32_t f = 0x2;
					uint32_t r = ops[o].fn((ahs[h] << 8) | al | lo, &f);
					kprintf(" %04x", r & 0xffff);
					put_flags(f, FL_AAM);
				}
				put_char('\n');
			}
		}
	}
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	test_daa_das("daa", do_daa);
	test_daa_das("das", do_das);
	test_aaa_aas();
	test_aam_aad();
	put_str("bcd done\n");
}
