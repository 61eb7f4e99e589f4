/* Comparing the native outcome with bt86's, and printing sequences and states.
 *
 * What is compared: how the run ended (hlt, or the exception vector — #GP, #SS and #PF count as
 * one "memory fault" class, since a CPL-3 process only sees SIGSEGV), EIP, the eight GPRs,
 * EFLAGS less RF and less the arithmetic flags undefined where the run ended, the x87 state
 * (FCW, FSW with TOP, the abridged tag word, ST0-7), MXCSR and XMM0-7, and the data and stack
 * areas byte for byte. FOP, FIP, FCS, FDP and FDS are not: bt86 runs the guest's x87 code at
 * host addresses.
 */
#include <Zydis/Zydis.h>
#include <stdio.h>
#include <string.h>

#include "difftest.h"

static bool dt_memory_fault(uint8_t vector)
{
	return vector == 12 || vector == 13 || vector == 14;
}

/* The flags that may be undefined where the native run ended. */
static uint16_t dt_undef_at_end(const struct dt_seq *seq, const struct dt_outcome *native)
{
	int i = dt_seq_insn_at(seq, native->eip);
	if (i >= 0)
		return seq->undef_before[i];
	/* Ended somewhere unexpected: be conservative. */
	uint16_t all = 0;
	for (int k = 0; k <= seq->n_insns; k++)
		all |= seq->undef_before[k];
	return all;
}

static uint32_t dt_eflags_mask(const struct dt_seq *seq, const struct dt_outcome *native)
{
	return DT_EFLAGS_COMPARED & ~(uint32_t)dt_undef_at_end(seq, native);
}

static bool dt_x87_equal(const uint8_t *a, const uint8_t *b)
{
	if (memcmp(a, b, 5))
		return false; /* FCW, FSW, FTW */
	for (int i = 0; i < 8; i++)
		if (memcmp(a + 32 + 16 * i, b + 32 + 16 * i, 10))
			return false;
	return true;
}

static bool dt_sse_equal(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a + 24, b + 24, 4) && !memcmp(a + 160, b + 160, 128);
}

unsigned dt_compare(const struct dt_seq *seq, const struct dt_outcome *native,
		    const struct dt_outcome *bt86)
{
	unsigned diff = 0;
	if (native->kind != bt86->kind || native->kind == DT_OUT_OTHER)
		diff |= DT_DIFF_END;
	else if (native->kind == DT_OUT_FAULT && native->vector != bt86->vector &&
		 !(dt_memory_fault(native->vector) && dt_memory_fault(bt86->vector)))
		diff |= DT_DIFF_END;
	if (native->eip != bt86->eip)
		diff |= DT_DIFF_EIP;
	for (int r = 0; r < DT_GPR_COUNT; r++)
		if (native->gpr[r] != bt86->gpr[r])
			diff |= DT_DIFF_GPR << r;
	if ((native->eflags ^ bt86->eflags) & dt_eflags_mask(seq, native))
		diff |= DT_DIFF_EFLAGS;
	if (!dt_x87_equal(native->fxsave, bt86->fxsave))
		diff |= DT_DIFF_X87;
	if (!dt_sse_equal(native->fxsave, bt86->fxsave))
		diff |= DT_DIFF_SSE;
	if (memcmp(native->data, bt86->data, DT_DATA_SIZE))
		diff |= DT_DIFF_DATA;
	if (memcmp(native->stack, bt86->stack, DT_STACK_SIZE))
		diff |= DT_DIFF_STACK;
	if (memcmp(native->code, bt86->code, DT_CODE_SIZE))
		diff |= DT_DIFF_CODE;
	return diff;
}

/* ---- printing -------------------------------------------------------------------------------- */

static const char *const dt_gpr_names[DT_GPR_COUNT] = {"eax", "ecx", "edx", "ebx",
						       "esp", "ebp", "esi", "edi"};

void dt_print_seq(const struct dt_seq *seq)
{
	for (int i = 0; i <= seq->n_insns; i++) {
		const uint8_t *bytes;
		size_t len;
		if (i == seq->n_insns) {
			static const uint8_t hlt = DT_HLT;
			bytes = &hlt;
			len = 1;
		} else {
			if (seq->insn[i].dropped)
				continue;
			bytes = seq->code + (seq->insn_addr[i] - DT_CODE_BASE);
			len = seq->insn[i].len;
		}
		char hex[3 * DT_INSN_BYTES + 1] = "";
		for (size_t k = 0; k < len; k++)
			snprintf(hex + 3 * k, sizeof hex - 3 * k, "%02x ", bytes[k]);
		ZydisDisassembledInstruction d;
		const char *text = "(does not decode)";
		if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LEGACY_32,
						       seq->insn_addr[i], bytes, len, &d)))
			text = d.text;
		printf("    %08x  %-36s %s\n", seq->insn_addr[i], hex, text);
	}
}

static void dt_print_ext(const uint8_t *p)
{
	uint16_t se;
	uint64_t mant;
	memcpy(&mant, p, 8);
	memcpy(&se, p + 8, 2);
	printf("%04x:%016llx", se, (unsigned long long)mant);
}

static void dt_print_xmm(const uint8_t *p)
{
	for (int k = 15; k >= 0; k--)
		printf("%02x%s", p[k], k == 8 ? "_" : "");
}

static uint16_t dt_get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint32_t dt_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static bool dt_fpu_is_default(const uint8_t *fx)
{
	static const uint8_t zero[DT_FXSAVE_SIZE];
	return dt_get16(fx) == 0x37f && dt_get32(fx + 24) == 0x1f80 && !memcmp(fx + 2, zero, 22) &&
	       !memcmp(fx + 32, zero, 256);
}

static bool dt_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

void dt_print_initial_state(const struct dt_seq *seq)
{
	printf("  initial state:\n   ");
	for (int r = 0; r < DT_GPR_COUNT; r++)
		printf(" %s=%08x", dt_gpr_names[r], seq->gpr[r]);
	printf(" eflags=%08x\n", seq->eflags);
	const uint8_t *fx = seq->fxsave;
	if (dt_fpu_is_default(fx)) {
		printf("    fpu: as after fninit, mxcsr=1f80, all registers zero\n");
	} else {
		printf("    fcw=%04x fsw=%04x ftw=%02x mxcsr=%08x\n", dt_get16(fx),
		       dt_get16(fx + 2), fx[4], dt_get32(fx + 24));
		for (int i = 0; i < 8; i++) {
			printf("    st%d=", i);
			dt_print_ext(fx + 32 + 16 * i);
			printf("  xmm%d=", i);
			dt_print_xmm(fx + 160 + 16 * i);
			printf("\n");
		}
	}
	printf("    data area %08x-%08x: %s; stack area %08x-%08x: %s\n", DT_DATA_BASE,
	       DT_DATA_BASE + DT_DATA_SIZE - 1,
	       dt_all_zero(seq->data, DT_DATA_SIZE) ? "all zero" : "random (see the replay)",
	       DT_STACK_BASE, DT_STACK_BASE + DT_STACK_SIZE - 1,
	       dt_all_zero(seq->stack, DT_STACK_SIZE) ? "all zero" : "random (see the replay)");
}

static void dt_row(bool differs, const char *name, const char *a, const char *b)
{
	printf("  %c %-10s %-40s %s\n", differs ? '*' : ' ', name, a, b);
}

/* Rows of 16 bytes that differ, with both contents, at most max_rows of them. */
static void dt_print_mem_diff(const char *name, uint32_t base, const uint8_t *a, const uint8_t *b,
			      size_t size, const uint8_t *initial)
{
	int rows = 0;
	for (size_t off = 0; off < size; off += 16) {
		if (!memcmp(a + off, b + off, 16))
			continue;
		if (rows++ == 12) {
			printf("    %s: more differences not shown\n", name);
			return;
		}
		printf("  * %s %08x\n", name, base + (uint32_t)off);
		const uint8_t *lines[3] = {initial + off, a + off, b + off};
		static const char *const labels[3] = {"initial", "native", "bt86"};
		for (int l = 0; l < 3; l++) {
			printf("      %-8s", labels[l]);
			for (int k = 0; k < 16; k++)
				printf(" %02x%s", lines[l][k],
				       l && a[off + k] != b[off + k] ? "<" : (l ? " " : " "));
			printf("\n");
		}
	}
}

void dt_print_outcomes(const struct dt_seq *seq, const struct dt_outcome *native,
		       const struct dt_outcome *bt86)
{
	char a[64], b[64];
	printf("  final state:\n");
	printf("    %-10s %-40s %s\n", "", "native", "bt86");
	unsigned diff = dt_compare(seq, native, bt86);
	dt_row(diff & DT_DIFF_END, "end", native->note, bt86->note);
	snprintf(a, sizeof a, "%08x", native->eip);
	snprintf(b, sizeof b, "%08x", bt86->eip);
	dt_row(diff & DT_DIFF_EIP, "eip", a, b);
	for (int r = 0; r < DT_GPR_COUNT; r++) {
		snprintf(a, sizeof a, "%08x", native->gpr[r]);
		snprintf(b, sizeof b, "%08x", bt86->gpr[r]);
		dt_row(diff & (DT_DIFF_GPR << r), dt_gpr_names[r], a, b);
	}
	uint32_t mask = dt_eflags_mask(seq, native);
	snprintf(a, sizeof a, "%08x", native->eflags);
	snprintf(b, sizeof b, "%08x", bt86->eflags);
	dt_row(diff & DT_DIFF_EFLAGS, "eflags", a, b);
	printf("    %-10s compared bits %08x (undefined here: %04x)\n", "", mask,
	       (unsigned)(DT_EFLAGS_COMPARED & ~mask));

	const uint8_t *fa = native->fxsave, *fb = bt86->fxsave;
	static const char *const names[4] = {"fcw", "fsw", "ftw", "mxcsr"};
	uint32_t va[4] = {dt_get16(fa), dt_get16(fa + 2), fa[4], dt_get32(fa + 24)};
	uint32_t vb[4] = {dt_get16(fb), dt_get16(fb + 2), fb[4], dt_get32(fb + 24)};
	for (int i = 0; i < 4; i++) {
		snprintf(a, sizeof a, "%0*x", i == 3 ? 8 : i == 2 ? 2 : 4, va[i]);
		snprintf(b, sizeof b, "%0*x", i == 3 ? 8 : i == 2 ? 2 : 4, vb[i]);
		dt_row(va[i] != vb[i], names[i], a, b);
	}
	for (int i = 0; i < 8; i++) {
		const uint8_t *pa = fa + 32 + 16 * i, *pb = fb + 32 + 16 * i;
		if (!memcmp(pa, pb, 10))
			continue;
		printf("  * st%d        ", i);
		dt_print_ext(pa);
		printf("           ");
		dt_print_ext(pb);
		printf("\n");
	}
	for (int i = 0; i < 8; i++) {
		const uint8_t *pa = fa + 160 + 16 * i, *pb = fb + 160 + 16 * i;
		if (!memcmp(pa, pb, 16))
			continue;
		printf("  * xmm%d\n      native   ", i);
		dt_print_xmm(pa);
		printf("\n      bt86     ");
		dt_print_xmm(pb);
		printf("\n");
	}
	if (diff & DT_DIFF_DATA)
		dt_print_mem_diff("data", DT_DATA_BASE, native->data, bt86->data, DT_DATA_SIZE,
				  seq->data);
	if (diff & DT_DIFF_STACK)
		dt_print_mem_diff("stack", DT_STACK_BASE, native->stack, bt86->stack, DT_STACK_SIZE,
				  seq->stack);
	if (diff & DT_DIFF_CODE)
		dt_print_mem_diff("code", DT_CODE_BASE, native->code, bt86->code, DT_CODE_SIZE,
				  seq->code);
}
