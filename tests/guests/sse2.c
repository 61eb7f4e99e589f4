/*
 * sse2 — SSE/SSE2 and MMX, bit-exact: packed and scalar float/double arithmetic, min/max,
 * logic, compares, conversions (with every MXCSR rounding mode), comisd/ucomisd flags,
 * shuffles and unpacks, packed integer arithmetic and shifts, MMX with emms, DAZ/FTZ, and an
 * fxsave/fxrstor round trip. Every result is printed with the MXCSR it left (exception flags
 * are sticky, so MXCSR is reset to 0x1f80 before each operation). XXX: MXCSR.DE (denormal
 * operand) is masked out of what is printed, because QEMU 7.2 never sets it.
 */
#include "guest.h"

#define CR0_MP	       (1u << 1)
#define CR0_EM	       (1u << 2)
#define CR0_TS	       (1u << 3)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define MXCSR_DEFAULT  0x1f80u
#define MXCSR_SHOWN    (~0x0002u) /* all but DE */

typedef void (*vec_fn)(const void *a, const void *b, void *out);

/* clang-format off */
/* Every stub of sse2_asm.S that takes two vectors and writes a vector. */
#define XMM_OPS(X)                                                                           \
	X(addps) X(subps) X(mulps) X(divps) X(minps) X(maxps) X(sqrtps) X(andps) X(andnps)   \
	X(orps) X(xorps) X(addss) X(subss) X(mulss) X(divss) X(sqrtss) X(minss) X(maxss)     \
	X(addpd) X(subpd) X(mulpd) X(divpd) X(minpd) X(maxpd) X(sqrtpd) X(andpd) X(xorpd)    \
	X(addsd) X(subsd) X(mulsd) X(divsd) X(sqrtsd) X(minsd) X(maxsd) X(unpcklps)          \
	X(unpckhps) X(unpcklpd) X(unpckhpd) X(movlhps) X(movhlps) X(movss) X(movsd)          \
	X(cvtps2pd) X(cvtpd2ps) X(cvtdq2ps) X(cvtps2dq) X(cvttps2dq) X(cvtdq2pd) X(cvtpd2dq) \
	X(cvttpd2dq) X(cvtss2sd) X(cvtsd2ss) X(cvtsi2sd) X(cvtsi2ss) X(paddb) X(paddw)       \
	X(paddd) X(paddq) X(psubb) X(psubw) X(psubd) X(psubq) X(paddsb) X(paddsw)            \
	X(paddusb) X(paddusw) X(psubsb) X(psubsw) X(psubusb) X(psubusw) X(pmullw) X(pmulhw)  \
	X(pmulhuw) X(pmuludq) X(pmaddwd) X(psadbw) X(pavgb) X(pavgw) X(pmaxsw) X(pminsw)     \
	X(pmaxub) X(pminub) X(pcmpeqb) X(pcmpeqw) X(pcmpeqd) X(pcmpgtb) X(pcmpgtw)           \
	X(pcmpgtd) X(pand) X(pandn) X(por) X(pxor) X(packsswb) X(packssdw) X(packuswb)       \
	X(punpcklbw) X(punpckhbw) X(punpcklwd) X(punpckhwd) X(punpckldq) X(punpckhdq)        \
	X(punpcklqdq) X(punpckhqdq) X(psllw) X(pslld) X(psllq) X(psrlw) X(psrld) X(psrlq)    \
	X(psraw) X(psrad) X(cmpps_0) X(cmpps_1) X(cmpps_2) X(cmpps_3) X(cmpps_4) X(cmpps_5)  \
	X(cmpps_6) X(cmpps_7) X(cmppd_0) X(cmppd_1) X(cmppd_2) X(cmppd_3) X(cmppd_4)         \
	X(cmppd_5) X(cmppd_6) X(cmppd_7) X(cmpsd_0) X(cmpsd_1) X(cmpsd_2) X(cmpsd_3)         \
	X(cmpsd_4) X(cmpsd_5) X(cmpsd_6) X(cmpsd_7) X(shufps_1b) X(shufps_e4) X(shufpd_1)    \
	X(shufpd_2) X(pshufd_4e) X(pshuflw_1b) X(pshufhw_b1) X(psllq_7) X(psrlw_3)           \
	X(psraw_15) X(psrad_40) X(pslldq_5) X(psrldq_3) X(pinsrw_3) X(addpd_mem)             \
	X(mulsd_mem)

/* Stubs that leave an integer (or EFLAGS) in the first dword of out. */
#define GPR_OPS(X)                                                                           \
	X(cvtsd2si) X(cvttsd2si) X(cvtss2si) X(cvttss2si) X(pmovmskb) X(movmskps)           \
	X(movmskpd) X(pextrw_5) X(movd_to)
#define FLAG_OPS(X) X(comisd) X(ucomisd) X(comiss) X(ucomiss)
#define MMX_OPS(X)                                                                           \
	X(paddw) X(paddusb) X(psubsw) X(pmulhw) X(pmullw) X(pmaddwd) X(pcmpgtw)              \
	X(punpcklbw) X(punpckhwd) X(packsswb) X(psllq) X(psrad) X(pand) X(pxor)              \
	X(psllw_4) X(pshufw_1b) X(movd)

/* clang-format on */
#define DECL_SSE(n) void sse_##n(const void *a, const void *b, void *out);
#define DECL_MMX(n) void mmx_##n(const void *a, const void *b, void *out);
XMM_OPS(DECL_SSE)
GPR_OPS(DECL_SSE)
FLAG_OPS(DECL_SSE)
MMX_OPS(DECL_MMX)

struct vec_op {
	const char *name;
	vec_fn fn;
};

#define ENTRY_SSE(n) {#n, sse_##n},
#define ENTRY_MMX(n) {#n, mmx_##n},
static const struct vec_op xmm_ops[] = {XMM_OPS(ENTRY_SSE)};
static const struct vec_op gpr_ops[] = {GPR_OPS(ENTRY_SSE)};
static const struct vec_op flag_ops[] = {FLAG_OPS(ENTRY_SSE)};
static const struct vec_op mmx_ops[] = {MMX_OPS(ENTRY_MMX)};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct vec {
	uint32_t d[4];
};

/* Inputs, as raw dwords: floats, doubles (low dword first), integers and shift counts. */
static const struct vec inputs[][2] = {
    /* 1.5 -2.5 FLT_MAX denormal | 3.0 0 FLT_MAX -0 */
    {{{0x3fc00000, 0xc0200000, 0x7f7fffff, 0x00000001}},
     {{0x40400000, 0x00000000, 0x7f7fffff, 0x80000000}}},
    {{{0x40400000, 0x00000000, 0x7f7fffff, 0x80000000}},
     {{0x3fc00000, 0xc0200000, 0x7f7fffff, 0x00000001}}},
    /* qNaN -inf 0.1 sNaN | 1.0 inf -qNaN 1.0 */
    {{{0x7fc00001, 0xff800000, 0x3dcccccd, 0x7f800001}},
     {{0x3f800000, 0x7f800000, 0xffc00002, 0x3f800000}}},
    {{{0x3f800000, 0x7f800000, 0xffc00002, 0x3f800000}},
     {{0x7fc00001, 0xff800000, 0x3dcccccd, 0x7f800001}}},
    /* 2.5e9 -2.5e9 1e10 -0.5 (float) | 1.99 -1.5 2147483520 0.5 */
    {{{0x4f1502f9, 0xcf1502f9, 0x501502f9, 0xbf000000}},
     {{0x3ffeb852, 0xbfc00000, 0x4effffff, 0x3f000000}}},
    /* 1.5 -2.5 | 3.0 0 (double) */
    {{{0x00000000, 0x3ff80000, 0x00000000, 0xc0040000}},
     {{0x00000000, 0x40080000, 0x00000000, 0x00000000}}},
    {{{0x00000000, 0x40080000, 0x00000000, 0x00000000}},
     {{0x00000000, 0x3ff80000, 0x00000000, 0xc0040000}}},
    /* DBL_MAX denormal | DBL_MAX denormal */
    {{{0xffffffff, 0x7fefffff, 0x00000001, 0x00000000}},
     {{0xffffffff, 0x7fefffff, 0x00000001, 0x00000000}}},
    /* qNaN -inf | 0.1 -sNaN. XXX: no lane may hold two different NaNs, seen as floats or as
     * doubles: the CPU returns the first operand's, QEMU 7.2 the one with the larger
     * significand. */
    {{{0x00000001, 0x7ff80000, 0x00000000, 0xfff00000}},
     {{0x9999999a, 0x3fb99999, 0x00000001, 0xfff00000}}},
    /* 2.5e9 -2.5 | -2147483648.5 1e300 */
    {{{0x00000000, 0x41e2a05f, 0x00000000, 0xc0040000}},
     {{0x00100000, 0xc1e00000, 0x8800759c, 0x7e37e43c}}},
    /* integers */
    {{{0x807f0100, 0x4081feff, 0x78563412, 0xf0debc9a}},
     {{0xff0101ff, 0xc0807f80, 0x8000ff00, 0x1022017f}}},
    {{{0xff0101ff, 0xc0807f80, 0x8000ff00, 0x1022017f}},
     {{0x807f0100, 0x4081feff, 0x78563412, 0xf0debc9a}}},
    {{{0x807f0100, 0x4081feff, 0x78563412, 0xf0debc9a}},
     {{0x33221100, 0x77665544, 0xbbaa9988, 0xffeeddcc}}},
    /* integer vector, shift counts 1, 15 / 33 */
    {{{0x807f0100, 0x4081feff, 0x78563412, 0xf0debc9a}}, {{1, 0, 0, 0}}},
    {{{0x807f0100, 0x4081feff, 0x78563412, 0xf0debc9a}}, {{15, 0, 0, 0}}},
    {{{0x807f0100, 0x4081feff, 0x78563412, 0xf0debc9a}}, {{33, 0, 0, 0}}},
    {{{0x807f0100, 0x4081feff, 0x78563412, 0xf0debc9a}}, {{0, 1, 0, 0}}},
};

static uint32_t mxcsr_get(void)
{
	uint32_t m;

	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m & MXCSR_SHOWN;
}

static void mxcsr_set(uint32_t m)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(m));
}

static void put_vec(const struct vec *v)
{
	kprintf("%08x %08x %08x %08x", v->d[0], v->d[1], v->d[2], v->d[3]);
}

static void print_inputs(void)
{
	for (unsigned i = 0; i < COUNT(inputs); i++) {
		kprintf("input %u: ", i);
		put_vec(&inputs[i][0]);
		put_str(" | ");
		put_vec(&inputs[i][1]);
		put_char('\n');
	}
}

static void run_xmm(const struct vec_op *op, uint32_t mxcsr, const char *tag)
{
	for (unsigned i = 0; i < COUNT(inputs); i++) {
		struct vec r;
		mxcsr_set(mxcsr);
		op->fn(&inputs[i][0], &inputs[i][1], &r);
		kprintf("%s%s %u -> ", op->name, tag, i);
		put_vec(&r);
		kprintf(" mxcsr %04x\n", mxcsr_get());
	}
}

static void test_xmm(void)
{
	for (unsigned o = 0; o < COUNT(xmm_ops); o++)
		run_xmm(&xmm_ops[o], MXCSR_DEFAULT, "");
	for (unsigned o = 0; o < COUNT(gpr_ops); o++) {
		for (unsigned i = 0; i < COUNT(inputs); i++) {
			uint32_t r[4] = {0};
			mxcsr_set(MXCSR_DEFAULT);
			gpr_ops[o].fn(&inputs[i][0], &inputs[i][1], r);
			kprintf("%s %u -> %08x mxcsr %04x\n", gpr_ops[o].name, i, r[0],
				mxcsr_get());
		}
	}
	/* comis/ucomis: ZF PF CF from the compare, OF SF AF cleared. */
	for (unsigned o = 0; o < COUNT(flag_ops); o++) {
		for (unsigned i = 0; i < COUNT(inputs); i++) {
			uint32_t r[4] = {0};
			mxcsr_set(MXCSR_DEFAULT);
			flag_ops[o].fn(&inputs[i][0], &inputs[i][1], r);
			kprintf("%s %u ->", flag_ops[o].name, i);
			put_flags(r[0], FL_ARITH);
			kprintf(" mxcsr %04x\n", mxcsr_get());
		}
	}
}

/* Rounding control and DAZ/FTZ for a few operations. */
static void test_modes(void)
{
	static const char *const rc_names[] = {"near", "down", "up", "zero"};
	static const struct vec_op *picks[] = {&xmm_ops[3],  &xmm_ops[31], &xmm_ops[45],
					       &xmm_ops[47], &xmm_ops[43], &gpr_ops[0]};

	for (unsigned rc = 1; rc < 4; rc++) {
		char tag[8] = " ";
		memcpy(tag + 1, rc_names[rc], 5);
		for (unsigned p = 0; p < COUNT(picks); p++) {
			if (picks[p] == &gpr_ops[0]) {
				for (unsigned i = 0; i < COUNT(inputs); i++) {
					uint32_t r[4] = {0};
					mxcsr_set(MXCSR_DEFAULT | (rc << 13));
					gpr_ops[0].fn(&inputs[i][0], &inputs[i][1], r);
					kprintf("%s%s %u -> %08x mxcsr %04x\n", gpr_ops[0].name,
						tag, i, r[0], mxcsr_get());
				}
				continue;
			}
			run_xmm(picks[p], MXCSR_DEFAULT | (rc << 13), tag);
		}
	}
	/* DAZ (bit 6) and FTZ (bit 15): denormal inputs read as zero, tiny results flush. */
	static const struct vec tiny_a = {{0x00800000, 0x00000001, 0x00400000, 0x3f800000}};
	static const struct vec tiny_b = {{0x3f000000, 0x3f800000, 0x00400000, 0x00000001}};
	for (unsigned mode = 0; mode < 4; mode++) {
		uint32_t m = MXCSR_DEFAULT | (mode & 1 ? 0x40 : 0) | (mode & 2 ? 0x8000 : 0);
		struct vec r;
		mxcsr_set(m);
		sse_mulps(&tiny_a, &tiny_b, &r);
		kprintf("daz%u ftz%u mulps -> ", mode & 1, mode >> 1);
		put_vec(&r);
		kprintf(" mxcsr %04x\n", mxcsr_get());
		mxcsr_set(m);
		sse_addps(&tiny_a, &tiny_b, &r);
		kprintf("daz%u ftz%u addps -> ", mode & 1, mode >> 1);
		put_vec(&r);
		kprintf(" mxcsr %04x\n", mxcsr_get());
	}
	mxcsr_set(MXCSR_DEFAULT);
}

static void test_mmx(void)
{
	static const uint32_t ma[2] = {0x80017fff, 0x00ff1234}, mb[2] = {0x7fff0002, 0xff018000};
	uint32_t env[7];

	for (unsigned o = 0; o < COUNT(mmx_ops); o++) {
		uint32_t r[2];
		mmx_ops[o].fn(ma, mb, r);
		kprintf("mmx %s -> %08x %08x\n", mmx_ops[o].name, r[1], r[0]);
	}
	/* MMX marks every x87 register valid and sets TOP to 0; emms empties them. */
	__asm__ volatile("fnstenv %0" : "=m"(env));
	kprintf("after mmx fsw %04x ftw %04x\n", env[1] & 0x3800, env[2] & 0xffff);
	__asm__ volatile("fldcw %0" : : "m"(env[0]));
	__asm__ volatile("emms\n\tfnstenv %0" : "=m"(env));
	kprintf("after emms ftw %04x\n", env[2] & 0xffff);
	__asm__ volatile("fldcw %0" : : "m"(env[0]));
}

static uint8_t fx_a[512] __attribute__((aligned(16)));
static uint8_t fx_b[512] __attribute__((aligned(16)));
static const struct vec fx_regs[8] = {
    {{0x00000000, 0x11111111, 0x22222222, 0x33333333}},
    {{0x44444444, 0x55555555, 0x66666666, 0x77777777}},
    {{0x88888888, 0x99999999, 0xaaaaaaaa, 0xbbbbbbbb}},
    {{0xcccccccc, 0xdddddddd, 0xeeeeeeee, 0xffffffff}},
    {{0x01234567, 0x89abcdef, 0x02468ace, 0x13579bdf}},
    {{0xdeadbeef, 0xfeedface, 0xc0ffee00, 0x0badf00d}},
    {{0x3f800000, 0x40000000, 0x40400000, 0x40800000}},
    {{0x00000000, 0x3ff00000, 0x00000000, 0xbff00000}},
};

/* Only the architecturally defined fields: FCW FSW FTW(abridged) MXCSR, ST0-7, XMM0-7. The
 * instruction and data pointers, FOP and MXCSR_MASK are left out. */
static void put_fxsave(const uint8_t *fx)
{
	uint32_t m;

	memcpy(&m, fx + 24, 4);
	kprintf("fxsave fcw %02x%02x fsw %02x%02x ftw %02x mxcsr %08x\n", fx[1], fx[0], fx[3],
		fx[2], fx[4], m & MXCSR_SHOWN);
	/* An empty register's contents mean nothing (and QEMU does not write the exponent of an
	 * MMX register as the CPU does): print ST(i) only when its physical register is valid. */
	unsigned top = (fx[3] >> 3) & 7;
	for (unsigned i = 0; i < 8; i++) {
		kprintf("fxsave st%u ", i);
		if (fx[4] & (1u << ((top + i) & 7))) {
			for (int b = 9; b >= 0; b--)
				kprintf("%02x", fx[32 + 16 * i + b]);
		} else {
			put_str("empty");
		}
		put_str(" xmm ");
		put_vec((const struct vec *)(fx + 160 + 16 * i));
		put_char('\n');
	}
}

static void test_fxsave(void)
{
	static const uint16_t cw = 0x0e7f; /* round toward zero, 53-bit precision */
	static const uint32_t three = 3, seven = 7, mx = 0x3f81, mxcsr_default = MXCSR_DEFAULT;

	__asm__ volatile("fninit\n\tfldcw %0\n\tfildl %1\n\tfildl %2\n\tfdiv %%st(1), %%st\n\t"
			 "fldpi\n\tldmxcsr %3"
			 :
			 : "m"(cw), "m"(three), "m"(seven), "m"(mx));
	__asm__ volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t"
			 "movdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
			 "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"
			 "movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\tfxsave %1"
			 :
			 : "r"(fx_regs), "m"(fx_a)
			 : "memory");
	/* Wipe everything, restore, save again. */
	__asm__ volatile("fninit\n\tpxor %%xmm0, %%xmm0\n\tpxor %%xmm3, %%xmm3\n\t"
			 "pcmpeqb %%xmm7, %%xmm7\n\tldmxcsr %1\n\tfxrstor %0"
			 :
			 : "m"(fx_a), "m"(mxcsr_default)
			 : "memory");
	__asm__ volatile("fxsave %0" : "=m"(fx_b) : : "memory");
	put_fxsave(fx_b);
	int same = memcmp(fx_a, fx_b, 8) == 0 && memcmp(fx_a + 24, fx_b + 24, 4) == 0 &&
		   memcmp(fx_a + 32, fx_b + 32, 256) == 0;
	kprintf("fxrstor round trip %s\n", same ? "same" : "differs");
	__asm__ volatile("fninit");
	mxcsr_set(MXCSR_DEFAULT);
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	__asm__ volatile("fninit");
	print_inputs();
	test_xmm();
	test_modes();
	test_mmx();
	test_fxsave();
	put_str("sse2 done\n");
}
