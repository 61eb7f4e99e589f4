/* The translation verifier: the security promise of DESIGN.md §2, checked on the host code of
 * every block as it is emitted (in debug and test builds, the difftest and the fuzzer).
 *
 * Every host instruction is decoded and must satisfy:
 * - each memory access is GS-relative with 32-bit addressing (the guest window), or reaches the
 *   frame through r15 with a displacement inside struct tr_frame, or is a string instruction's
 *   ES:[rdi] operand right after the bias sequence (mov r14, [r15 + window]; lea rdi,
 *   [rdi + r14]) whose DS:[rsi] operand, if any, goes through GS, or is RIP-relative and lies
 *   wholly in the execution-counter table of --trace-counts, or is a jump-cache entry
 *   [r15 + r13*2 + TRF_JC (+8)] where every path to it ran tr_jc_index_code and left r13
 *   alone since (which bounds r13 to the table);
 * - nothing uses the host stack (RSP holds guest ESP): no push, pop, call, ret, enter, leave;
 * - nothing writes r15 (the frame pointer), RSP as a 64-bit register, a segment register or
 *   a segment base, and nothing enters the kernel (syscall, int, sysenter);
 * - each control transfer stays in the code cache, or leaves through [r15 + exit_common] or
 *   [r15 + ibl] — the dispatcher — or is a jump-cache hit through such an entry.
 */
#include <stdio.h>
#include <string.h>

#include "translator/tr_internal.h"

static const ZydisMnemonic tr_forbidden[] = {
    ZYDIS_MNEMONIC_SYSCALL, ZYDIS_MNEMONIC_SYSENTER, ZYDIS_MNEMONIC_SYSEXIT,  ZYDIS_MNEMONIC_SYSRET,
    ZYDIS_MNEMONIC_INT,	    ZYDIS_MNEMONIC_INT1,     ZYDIS_MNEMONIC_INT3,     ZYDIS_MNEMONIC_INTO,
    ZYDIS_MNEMONIC_IRET,    ZYDIS_MNEMONIC_IRETD,    ZYDIS_MNEMONIC_IRETQ,    ZYDIS_MNEMONIC_CALL,
    ZYDIS_MNEMONIC_RET,	    ZYDIS_MNEMONIC_PUSH,     ZYDIS_MNEMONIC_POP,      ZYDIS_MNEMONIC_PUSHFQ,
    ZYDIS_MNEMONIC_POPFQ,   ZYDIS_MNEMONIC_PUSHF,    ZYDIS_MNEMONIC_POPF,     ZYDIS_MNEMONIC_ENTER,
    ZYDIS_MNEMONIC_LEAVE,   ZYDIS_MNEMONIC_WRFSBASE, ZYDIS_MNEMONIC_WRGSBASE, ZYDIS_MNEMONIC_SWAPGS,
    ZYDIS_MNEMONIC_LFS,	    ZYDIS_MNEMONIC_LGS,	     ZYDIS_MNEMONIC_LSS,      ZYDIS_MNEMONIC_HLT,
    ZYDIS_MNEMONIC_IN,	    ZYDIS_MNEMONIC_OUT,
};

struct tr_verifier {
	struct tr_code_bounds bounds;
	const uint8_t *code;
	size_t len;
	char *msg;
	size_t msg_len;
	/* The two previous instructions, to recognise the string-instruction bias. */
	bool prev_load_window, prev_bias_rdi;
	/* Whether r13 holds a jump-cache index here: tr_jc_index_code ran and r13 was not
	 * written since, on every path that reaches this instruction. A forward pass: what each
	 * forward branch inside the code knows is met at its target; a point only reached from
	 * outside (after an unconditional jump, or a callout's resume point) knows nothing; a
	 * backward branch may not enter a stretch where r13 was known unless it knows it too. */
	bool r13_jc_index;
	size_t jc_index_end;
	struct tr_verify_edge {
		size_t target;
		bool r13_jc_index;
	} edges[512];
	unsigned n_edges;
	size_t known_from[256], known_to[256]; /* stretches where r13 was known */
	unsigned n_known;
};

static bool tr_fail(struct tr_verifier *v, size_t off, const ZydisDecodedInstruction *insn,
		    const ZydisDecodedOperand *ops, const char *why)
{
	char text[96] = "(undecodable)";
	if (insn) {
		ZydisFormatter fmt;
		ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
		ZydisFormatterFormatInstruction(&fmt, insn, ops, insn->operand_count_visible, text,
						sizeof text, 0, NULL);
	}
	snprintf(v->msg, v->msg_len, "host offset %#zx: %s: %s", off, text, why);
	return false;
}

static bool tr_is_frame_access(const ZydisDecodedOperand *op)
{
	return op->mem.base == ZYDIS_REGISTER_R15 && op->mem.index == ZYDIS_REGISTER_NONE &&
	       op->mem.disp.value >= 0 &&
	       (uint64_t)op->mem.disp.value + op->size / 8 <= sizeof(struct tr_frame);
}

static bool tr_is_window_access(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *op)
{
	return op->mem.segment == ZYDIS_REGISTER_GS && insn->address_width == 32;
}

/* [r15 + r13*2 + TRF_JC] or + 8: a jump-cache entry's tag or host address. */
static bool tr_is_jc_entry_access(const struct tr_verifier *v, const ZydisDecodedOperand *op)
{
	return v->r13_jc_index && op->mem.base == ZYDIS_REGISTER_R15 &&
	       op->mem.index == ZYDIS_REGISTER_R13 && op->mem.scale == 2 &&
	       (op->mem.disp.value == TRF_JC || op->mem.disp.value == TRF_JC + 8) && op->size <= 64;
}

static bool tr_is_counter_access(const struct tr_verifier *v, size_t off,
				 const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *op)
{
	ZyanU64 addr;
	if (op->mem.base != ZYDIS_REGISTER_RIP ||
	    !ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(insn, op, (uintptr_t)(v->code + off), &addr)))
		return false;
	return addr >= v->bounds.counts_lo && addr + op->size / 8 <= v->bounds.counts_hi;
}

static bool tr_check_memory(struct tr_verifier *v, size_t off, const ZydisDecodedInstruction *insn,
			    const ZydisDecodedOperand *ops, const ZydisDecodedOperand *op)
{
	if (op->mem.type != ZYDIS_MEMOP_TYPE_MEM)
		return true; /* lea and hint NOPs compute an address, they do not access it */
	if (tr_is_window_access(insn, op) || tr_is_frame_access(op) ||
	    tr_is_counter_access(v, off, insn, op) || tr_is_jc_entry_access(v, op))
		return true;
	if (insn->meta.category == ZYDIS_CATEGORY_STRINGOP) {
		if (op->mem.base == ZYDIS_REGISTER_RSI && op->mem.segment == ZYDIS_REGISTER_GS)
			return true;
		if (op->mem.base == ZYDIS_REGISTER_RDI && v->prev_bias_rdi)
			return true;
	}
	return tr_fail(v, off, insn, ops, "memory access outside the guest window and the frame");
}

static bool tr_writes_forbidden_register(const ZydisDecodedOperand *op)
{
	if (op->type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    !(op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
		return false;
	ZydisRegister r = op->reg.value;
	ZydisRegisterClass rc = ZydisRegisterGetClass(r);
	if (rc == ZYDIS_REGCLASS_SEGMENT)
		return true;
	if (r == ZYDIS_REGISTER_RSP)
		return true;
	return ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r) ==
	       ZYDIS_REGISTER_R15;
}

static bool tr_writes_register(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
			       ZydisRegister reg)
{
	for (unsigned i = 0; i < insn->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
		    ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
						     ops[i].reg.value) == reg)
			return true;
	return false;
}

/* A relative branch to dest, which may lie inside the code being verified: remember what it
 * knows about r13 there. */
static bool tr_note_edge(struct tr_verifier *v, size_t off, const ZydisDecodedInstruction *insn,
			 const ZydisDecodedOperand *ops, uintptr_t dest)
{
	uintptr_t lo = (uintptr_t)v->code;
	if (dest < lo || dest >= lo + v->len)
		return true; /* another block, or an exit stub of its own */
	size_t target = dest - lo;
	if (target > off) {
		if (v->n_edges == sizeof v->edges / sizeof v->edges[0])
			return tr_fail(v, off, insn, ops, "too many branches to verify");
		v->edges[v->n_edges++] = (struct tr_verify_edge){target, v->r13_jc_index};
		return true;
	}
	for (unsigned i = 0; i < v->n_known; i++)
		if (!v->r13_jc_index && target >= v->known_from[i] && target < v->known_to[i])
			return tr_fail(v, off, insn, ops,
				       "backward branch into a jump-cache lookup");
	return true;
}

static bool tr_check_branch(struct tr_verifier *v, size_t off, const ZydisDecodedInstruction *insn,
			    const ZydisDecodedOperand *ops)
{
	const ZydisDecodedOperand *target = &ops[0];
	if (target->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && target->imm.is_relative) {
		ZyanU64 dest;
		uintptr_t here = (uintptr_t)(v->code + off);
		if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(insn, target, here, &dest)) ||
		    dest < v->bounds.cache_lo || dest >= v->bounds.cache_hi)
			return tr_fail(v, off, insn, ops, "branch leaves the code cache");
		return tr_note_edge(v, off, insn, ops, (uintptr_t)dest);
	}
	if (insn->mnemonic == ZYDIS_MNEMONIC_JMP && target->type == ZYDIS_OPERAND_TYPE_MEMORY &&
	    target->mem.base == ZYDIS_REGISTER_R15 && target->mem.index == ZYDIS_REGISTER_NONE &&
	    (target->mem.disp.value == TRF_EXIT_COMMON || target->mem.disp.value == TRF_IBL))
		return true;
	/* A jump-cache hit: the dispatcher writes only translated blocks and the miss path
	 * there. */
	if (insn->mnemonic == ZYDIS_MNEMONIC_JMP && target->type == ZYDIS_OPERAND_TYPE_MEMORY &&
	    tr_is_jc_entry_access(v, target) && target->mem.disp.value == TRF_JC + 8)
		return true;
	return tr_fail(v, off, insn, ops, "indirect branch other than to the dispatcher");
}

bool tr_verify_code(const uint8_t *code, size_t len, const struct tr_code_bounds *bounds, char *msg,
		    size_t msg_len)
{
	struct tr_verifier v = {.bounds = *bounds,
				.code = code,
				.len = len,
				.msg = msg,
				.msg_len = msg_len,
				.jc_index_end = SIZE_MAX};
	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	size_t off = 0;
	bool falls_through = false; /* the code is entered at its start from outside */
	while (off < len) {
		ZydisDecodedInstruction insn;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code + off, len - off, &insn, ops)))
			return tr_fail(&v, off, NULL, NULL, "host code does not decode");
		/* What is known about r13 here: from the instruction before (unless nothing falls
		 * through from it) and from every forward branch to here. */
		bool known = falls_through ? v.r13_jc_index || off == v.jc_index_end : true;
		bool reached = falls_through;
		for (unsigned i = 0; i < v.n_edges; i++) {
			if (v.edges[i].target == off) {
				known = known && v.edges[i].r13_jc_index;
				reached = true;
			}
		}
		v.r13_jc_index = reached && known;
		if (len - off >= sizeof tr_jc_index_code &&
		    memcmp(code + off, tr_jc_index_code, sizeof tr_jc_index_code) == 0)
			v.jc_index_end = off + sizeof tr_jc_index_code;
		if (v.r13_jc_index) {
			if (v.n_known && v.known_to[v.n_known - 1] == off)
				v.known_to[v.n_known - 1] = off + insn.length;
			else if (v.n_known < sizeof v.known_from / sizeof v.known_from[0]) {
				v.known_from[v.n_known] = off;
				v.known_to[v.n_known++] = off + insn.length;
			} else
				return tr_fail(&v, off, &insn, ops, "too many lookups to verify");
		}
		for (size_t i = 0; i < sizeof tr_forbidden / sizeof tr_forbidden[0]; i++)
			if (insn.mnemonic == tr_forbidden[i])
				return tr_fail(&v, off, &insn, ops, "forbidden instruction");
		bool harmless = insn.mnemonic == ZYDIS_MNEMONIC_RDTSC; /* kernel-mode guest rdtsc */
		if (!harmless && (insn.meta.category == ZYDIS_CATEGORY_SYSTEM ||
				  insn.meta.category == ZYDIS_CATEGORY_IO ||
				  insn.meta.category == ZYDIS_CATEGORY_IOSTRINGOP ||
				  insn.meta.category == ZYDIS_CATEGORY_SEGOP ||
				  insn.meta.category == ZYDIS_CATEGORY_RDWRFSGS))
			return tr_fail(&v, off, &insn, ops,
				       "system instruction in translated code");
		for (unsigned i = 0; i < insn.operand_count; i++) {
			if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
			    !tr_check_memory(&v, off, &insn, ops, &ops[i]))
				return false;
			if (tr_writes_forbidden_register(&ops[i]))
				return tr_fail(&v, off, &insn, ops,
					       "writes r15, rsp or a segment register");
		}
		/* Inside the index sequence r13 is being computed; after it, any write to r13
		 * ends what the sequence proved. */
		falls_through = insn.meta.branch_type == ZYDIS_BRANCH_TYPE_NONE ||
				insn.mnemonic != ZYDIS_MNEMONIC_JMP;
		if (off + insn.length < v.jc_index_end ||
		    tr_writes_register(&insn, ops, ZYDIS_REGISTER_R13))
			v.r13_jc_index = false;
		if (insn.meta.branch_type != ZYDIS_BRANCH_TYPE_NONE &&
		    !tr_check_branch(&v, off, &insn, ops))
			return false;

		/* Track the bias sequence that may precede a string instruction. */
		bool load_window = insn.mnemonic == ZYDIS_MNEMONIC_MOV &&
				   ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
				   ops[0].reg.value == ZYDIS_REGISTER_R14 &&
				   ops[1].type == ZYDIS_OPERAND_TYPE_MEMORY &&
				   ops[1].mem.base == ZYDIS_REGISTER_R15 &&
				   ops[1].mem.disp.value == TRF_WINDOW;
		bool bias = v.prev_load_window && insn.mnemonic == ZYDIS_MNEMONIC_LEA &&
			    ops[0].reg.value == ZYDIS_REGISTER_RDI &&
			    ops[1].mem.base == ZYDIS_REGISTER_RDI &&
			    ops[1].mem.index == ZYDIS_REGISTER_R14 && ops[1].mem.scale == 1 &&
			    ops[1].mem.disp.value == 0;
		v.prev_bias_rdi = bias;
		v.prev_load_window = load_window;
		off += insn.length;
	}
	return true;
}
