/* Translating one guest block (DESIGN.md §3-4).
 *
 * The block is decoded instruction by instruction; each instruction's class decides how it is
 * emitted. A block ends at a control transfer, at a callout that may change mode or control
 * flow, when the next instruction starts on another guest page, or after TR_MAX_INSNS
 * instructions. Direct exits get a stub after the block body (mov r14, exit; jmp exit_common)
 * that chaining later bypasses by patching the branch's rel32.
 *
 * Precise state: every guest instruction's host code starts at the offset recorded in the
 * block's instruction map, and any host instruction that can fault comes before the first one
 * that changes guest state, so a fault at any host pc leaves the guest exactly before the
 * instruction the map names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"
#include "translator/tr_internal.h"

#define TR_MAX_INSNS	  64
#define TR_MAX_BLOCK_HOST 16384 /* generous bound on one block's host code */
#define TR_MAX_EXITS	  (TR_MAX_INSNS * 2 + 2)

struct tr_block_builder {
	struct tr_translator *tr;
	struct tr_block *block;
	struct tr_emit e;
	struct tr_exit *pending[TR_MAX_EXITS]; /* direct exits whose stubs are still to emit */
	unsigned n_pending;
	bool end;
};

static struct tr_exit *tr_new_exit(struct tr_block_builder *bb, enum tr_exit_kind kind,
				   uint32_t guest_eip)
{
	struct tr_exit *x = tr_data_alloc(bb->tr, sizeof *x);
	ASSERT(x);
	x->kind = (uint8_t)kind;
	x->guest_eip = guest_eip;
	x->block = bb->block;
	return x;
}

/* A direct exit: the rel32 just emitted (ending at e.p) will point at a stub. */
static void tr_direct_exit(struct tr_block_builder *bb, uint32_t target)
{
	struct tr_exit *x = tr_new_exit(bb, TR_EXIT_BRANCH, target);
	x->patch = bb->e.p - 4;
	ASSERT(bb->n_pending < TR_MAX_EXITS);
	bb->pending[bb->n_pending++] = x;
}

static void tr_emit_jmp_exit(struct tr_block_builder *bb, uint32_t target)
{
	tr_emit_u8(&bb->e, 0xe9);
	tr_emit_u32(&bb->e, 0);
	tr_direct_exit(bb, target);
}

static void tr_emit_callout(struct tr_block_builder *bb, const ZydisDecodedInstruction *insn,
			    const uint8_t *bytes, uint32_t eip, enum tr_callout kind, bool ends)
{
	struct tr_exit *x = tr_new_exit(bb, TR_EXIT_CALLOUT, eip);
	x->callout = (uint16_t)kind;
	x->insn_len = insn ? insn->length : 1;
	x->next_eip = eip + x->insn_len;
	memcpy(x->insn, bytes, x->insn_len);
	tr_emit_exit(&bb->e, x);
	if (ends)
		bb->end = true;
	else
		x->resume = bb->e.p;
}

/* Kernel-mode cli and sti on the frame's IF byte (CPL 0 is never above IOPL, so neither can
 * fault). sti leaves through its callout when an interrupt is already waiting, so that the
 * runtime opens the one-instruction interrupt shadow and delivers it after; otherwise it sets
 * IF and the block goes on to the next instruction (an interrupt that comes later forces an
 * exit as always). */
static void tr_emit_inline_if(struct tr_block_builder *bb, const ZydisDecodedInstruction *insn,
			      const uint8_t *bytes, uint32_t eip, enum tr_callout kind)
{
	if (kind == TR_CALLOUT_CLI) {
		tr_emit_store_frame_u8(&bb->e, offsetof(struct tr_frame, vif), 0);
		return;
	}
	uint8_t *skip = tr_emit_if_frame_u8(&bb->e, offsetof(struct tr_frame, irq_pending));
	tr_emit_callout(bb, insn, bytes, eip, TR_CALLOUT_STI, true);
	tr_emit_skip_target(&bb->e, skip);
	tr_emit_store_frame_u8(&bb->e, offsetof(struct tr_frame, vif), 1);
	tr_emit_jmp_exit(bb, eip + insn->length);
	bb->end = true;
}

static uint32_t tr_branch_target(const ZydisDecodedInstruction *insn,
				 const ZydisDecodedOperand *ops, uint32_t eip)
{
	ZyanU64 target = 0;
	ZydisCalcAbsoluteAddress(insn, &ops[0], eip, &target);
	return insn->operand_width == 16 ? (uint32_t)target & 0xffff : (uint32_t)target;
}

/* Load the value of operand 0 (a register or a memory operand) into r14d. */
static bool tr_load_operand_r14(struct tr_block_builder *bb, const ZydisDecodedInstruction *insn,
				const ZydisDecodedOperand *op, const uint8_t *bytes)
{
	static const uint8_t mov_load[] = {0x8b};
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		int r = ZydisRegisterGetId(op->reg.value);
		if (ZydisRegisterGetClass(op->reg.value) != ZYDIS_REGCLASS_GPR32)
			return false;
		tr_emit_mov_r32(&bb->e, TR_R14, (enum tr_hreg)r);
		return true;
	}
	if (op->type == ZYDIS_OPERAND_TYPE_MEMORY && op->size == 32)
		return tr_rewrite_mem_op(&bb->e, insn, bytes, 0, mov_load, 1, TR_R14, 0, true);
	return false;
}

/* jcxz and the CX-counted loops (address size 16): 64-bit mode has no CX form, so the counter
 * is decremented with a 16-bit lea and tested through jrcxz on a zero-extended copy; RCX is
 * parked in r13 meanwhile. Flags are only read (loope/loopne). */
static bool tr_emit_cx_branch(struct tr_block_builder *bb, const ZydisDecodedInstruction *insn,
			      uint32_t taken, uint32_t next)
{
	static const uint8_t dec_cx[] = {0x66, 0x8d, 0x49, 0xff}; /* lea cx, [rcx-1] */
	static const uint8_t park[] = {0x49, 0x89, 0xcd, 0x0f,
				       0xb7, 0xc9};	    /* mov r13, rcx;
							       movzx ecx, cx */
	static const uint8_t unpark[] = {0x4c, 0x89, 0xe9}; /* mov rcx, r13 */
	struct tr_emit *e = &bb->e;
	ZydisMnemonic m = insn->mnemonic;
	bool is_loop = m != ZYDIS_MNEMONIC_JCXZ;

	if (is_loop)
		tr_emit_bytes(e, dec_cx, sizeof dec_cx);
	tr_emit_bytes(e, park, sizeof park);
	tr_emit_u8(e, 0xe3); /* jrcxz to the zero path */
	uint8_t *rel8 = e->p;
	tr_emit_u8(e, 0);
	/* CX != 0 */
	tr_emit_bytes(e, unpark, sizeof unpark);
	if (m == ZYDIS_MNEMONIC_LOOPE || m == ZYDIS_MNEMONIC_LOOPNE) {
		tr_emit_u8(e, 0x0f);
		tr_emit_u8(e, m == ZYDIS_MNEMONIC_LOOPE ? 0x84 : 0x85);
		tr_emit_u32(e, 0);
		tr_direct_exit(bb, taken);
		tr_emit_jmp_exit(bb, next);
	} else {
		tr_emit_jmp_exit(bb, is_loop ? taken : next);
	}
	if (!e->overflow)
		*rel8 = (uint8_t)(e->p - (rel8 + 1));
	/* CX == 0 */
	tr_emit_bytes(e, unpark, sizeof unpark);
	tr_emit_jmp_exit(bb, is_loop ? next : taken);
	return true;
}

static bool tr_emit_control(struct tr_block_builder *bb, const ZydisDecodedInstruction *insn,
			    const ZydisDecodedOperand *ops, const uint8_t *bytes, uint32_t eip)
{
	uint32_t next = eip + insn->length;
	bool near32 = insn->operand_width == 32;
	struct tr_emit *e = &bb->e;
	bb->end = true;

	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_JMP:
		if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			tr_emit_jmp_exit(bb, tr_branch_target(insn, ops, eip));
			return true;
		}
		if (!near32 || !tr_load_operand_r14(bb, insn, &ops[0], bytes))
			return false;
		tr_emit_ibl_jump(e);
		return true;
	case ZYDIS_MNEMONIC_CALL:
		if (!near32)
			return false;
		if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			tr_emit_store_win_imm(e, -4, next, 4);
			tr_emit_adjust_esp(e, -4);
			tr_emit_jmp_exit(bb, tr_branch_target(insn, ops, eip));
			return true;
		}
		if (!tr_load_operand_r14(bb, insn, &ops[0], bytes))
			return false;
		tr_emit_store_win_imm(e, -4, next, 4);
		tr_emit_adjust_esp(e, -4);
		tr_emit_ibl_jump(e);
		return true;
	case ZYDIS_MNEMONIC_RET: {
		if (!near32)
			return false;
		uint32_t extra = insn->operand_count_visible ? (uint32_t)ops[0].imm.value.u : 0;
		tr_emit_load_win(e, TR_R14, TR_RSP, 0, 4);
		tr_emit_adjust_esp(e, (int32_t)(4 + extra));
		tr_emit_ibl_jump(e);
		return true;
	}
	case ZYDIS_MNEMONIC_JCXZ:
	case ZYDIS_MNEMONIC_JECXZ:
	case ZYDIS_MNEMONIC_LOOP:
	case ZYDIS_MNEMONIC_LOOPE:
	case ZYDIS_MNEMONIC_LOOPNE: {
		if (insn->address_width != 32)
			return tr_emit_cx_branch(bb, insn, tr_branch_target(insn, ops, eip), next);
		uint8_t op = insn->mnemonic == ZYDIS_MNEMONIC_JECXZ   ? 0xe3
			     : insn->mnemonic == ZYDIS_MNEMONIC_LOOP  ? 0xe2
			     : insn->mnemonic == ZYDIS_MNEMONIC_LOOPE ? 0xe1
								      : 0xe0;
		/* 67 <op> +2 ; jmp +5 ; taken: jmp rel32 ; fall-through: jmp rel32 */
		const uint8_t seq[] = {0x67, op, 0x02, 0xeb, 0x05};
		tr_emit_bytes(e, seq, sizeof seq);
		tr_emit_jmp_exit(bb, tr_branch_target(insn, ops, eip));
		tr_emit_jmp_exit(bb, next);
		return true;
	}
	default:
		break;
	}
	/* Jcc: the condition is the low nibble of the opcode (7x rel8 or 0F 8x rel32). */
	const uint8_t *op = bytes + insn->raw.prefix_count;
	uint8_t cc = op[0] == 0x0f ? op[1] & 0x0f : op[0] & 0x0f;
	tr_emit_u8(e, 0x0f);
	tr_emit_u8(e, (uint8_t)(0x80 | cc));
	tr_emit_u32(e, 0);
	tr_direct_exit(bb, tr_branch_target(insn, ops, eip));
	tr_emit_jmp_exit(bb, next);
	return true;
}

static bool tr_emit_stack(struct tr_block_builder *bb, const ZydisDecodedInstruction *insn,
			  const ZydisDecodedOperand *ops, const uint8_t *bytes)
{
	struct tr_emit *e = &bb->e;
	unsigned size = insn->operand_width / 8;
	static const uint8_t mov_load[] = {0x8b};
	static const uint8_t movzx16[] = {0x0f, 0xb7};
	static const uint8_t mov_store[] = {0x89};

	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_PUSH:
		if (size != 4 && size != 2)
			return false;
		if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			tr_emit_store_win_imm(e, -(int32_t)size, (uint32_t)ops[0].imm.value.u,
					      size);
		} else if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			tr_emit_store_win(e, TR_RSP, -(int32_t)size,
					  (enum tr_hreg)ZydisRegisterGetId(ops[0].reg.value), size);
		} else {
			if (!tr_rewrite_mem_op(e, insn, bytes, 0, size == 2 ? movzx16 : mov_load,
					       size == 2 ? 2 : 1, TR_R14, 0, true))
				return false;
			tr_emit_store_win(e, TR_RSP, -(int32_t)size, TR_R14, size);
		}
		tr_emit_adjust_esp(e, -(int32_t)size);
		return true;
	case ZYDIS_MNEMONIC_POP:
		if (size != 4 && size != 2)
			return false;
		if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			int r = ZydisRegisterGetId(ops[0].reg.value);
			if (size == 2) {
				/* mov r16, gs:[esp]: keeps the register's upper half as pop does */
				const uint8_t ld[] = {
				    0x65, 0x67, 0x66, 0x8b, (uint8_t)(0x04 | r << 3), 0x24};
				tr_emit_bytes(e, ld, sizeof ld);
				if (r != TR_ESP)
					tr_emit_adjust_esp(e, 2);
				return true;
			}
			tr_emit_load_win(e, (enum tr_hreg)r, TR_RSP, 0, 4);
			if (r != TR_ESP)
				tr_emit_adjust_esp(e, 4);
			return true;
		}
		/* pop to memory: the address is computed after the increment of ESP. The value
		 * waits in r12: r13 and r14 compute the address of a based or 16-bit operand. */
		tr_emit_load_win(e, TR_R12, TR_RSP, 0, size);
		int32_t adjust = ops[0].mem.base == ZYDIS_REGISTER_ESP ? (int32_t)size : 0;
		if (!tr_rewrite_mem_op(e, insn, bytes, size == 2, mov_store, 1, TR_R12, adjust,
				       true))
			return false;
		tr_emit_adjust_esp(e, (int32_t)size);
		return true;
	case ZYDIS_MNEMONIC_PUSHAD:
		for (int r = TR_EAX; r <= TR_EDI; r++)
			tr_emit_store_win(e, TR_RSP, -4 * (r + 1), (enum tr_hreg)r, 4);
		tr_emit_adjust_esp(e, -32);
		return true;
	case ZYDIS_MNEMONIC_POPAD: {
		/* Load all seven into scratch registers first so a fault changes nothing. */
		static const enum tr_hreg tmp[8] = {TR_R8,    TR_R9,  TR_R10, TR_R11,
						    TR_NOREG, TR_R12, TR_R13, TR_R14};
		for (int r = TR_EAX; r <= TR_EDI; r++)
			if (r != TR_ESP)
				tr_emit_load_win(e, tmp[r], TR_RSP, 28 - 4 * r, 4);
		for (int r = TR_EAX; r <= TR_EDI; r++)
			if (r != TR_ESP)
				tr_emit_mov_r32(e, (enum tr_hreg)r, tmp[r]);
		tr_emit_adjust_esp(e, 32);
		return true;
	}
	case ZYDIS_MNEMONIC_ENTER: {
		if (size != 4)
			return false;
		uint32_t frame = (uint32_t)ops[0].imm.value.u;
		tr_emit_store_win(e, TR_RSP, -4, TR_RBP, 4);
		const uint8_t lea_ebp[] = {0x8d, 0x6c, 0x24, 0xfc}; /* lea ebp, [rsp-4] */
		tr_emit_bytes(e, lea_ebp, sizeof lea_ebp);
		tr_emit_adjust_esp(e, -4 - (int32_t)frame);
		return true;
	}
	case ZYDIS_MNEMONIC_LEAVE: {
		if (size != 4)
			return false;
		tr_emit_load_win(e, TR_R14, TR_RBP, 0, 4);
		const uint8_t lea_esp[] = {0x8d, 0x65, 0x04}; /* lea esp, [rbp+4] */
		tr_emit_bytes(e, lea_esp, sizeof lea_esp);
		tr_emit_mov_r32(e, TR_RBP, TR_R14);
		return true;
	}
	default:
		return false;
	}
}

/* String instructions run as host string instructions in 64-bit addressing: EDI is biased by
 * the window base for the ES:EDI operand (the window is 4 GiB aligned, so `mov edi, edi`
 * removes the bias again and the low 32 bits are the guest's EDI at every instant, also after
 * a fault mid-way), and the DS:ESI operand goes through a GS override. */
static bool tr_emit_string(struct tr_block_builder *bb, const ZydisDecodedInstruction *insn,
			   const uint8_t *bytes)
{
	struct tr_emit *e = &bb->e;
	if (insn->address_width != 32)
		return false;
	unsigned np = insn->raw.prefix_count;
	uint8_t op = bytes[np];
	bool uses_edi = !(op == 0xac || op == 0xad); /* everything but lods */
	bool uses_esi =
	    op == 0xa4 || op == 0xa5 || op == 0xa6 || op == 0xa7 || op == 0xac || op == 0xad;
	if (uses_edi) {
		static const uint8_t bias[] = {
		    0x4d, 0x8b, 0x77, TRF_WINDOW, /* mov r14, [r15 + window] */
		    0x4a, 0x8d, 0x3c, 0x37,	  /* lea rdi, [rdi + r14] */
		};
		tr_emit_bytes(e, bias, sizeof bias);
	}
	if (uses_esi)
		tr_emit_u8(e, 0x65);
	for (unsigned i = 0; i < np; i++)
		if (bytes[i] == 0x66 || bytes[i] == 0xf2 || bytes[i] == 0xf3)
			tr_emit_u8(e, bytes[i]);
	tr_emit_u8(e, op);
	if (uses_edi) {
		static const uint8_t unbias[] = {0x89, 0xff}; /* mov edi, edi */
		tr_emit_bytes(e, unbias, sizeof unbias);
	}
	return true;
}

static enum tr_callout tr_fpu_check(const struct tr_key *key, const struct tr_class_info *info)
{
	if ((info->flags & TR_CF_SSE) && (key->flags & (TR_KEY_NO_SSE | TR_KEY_EM | TR_KEY_TS)))
		return TR_CALLOUT_FPU_TRAP;
	if ((info->flags & TR_CF_FPU) && (key->flags & (TR_KEY_EM | TR_KEY_TS)))
		return TR_CALLOUT_FPU_TRAP;
	return TR_CALLOUT_COUNT;
}

static void tr_count_class(struct tr_counters *c, enum tr_class cls)
{
	switch (cls) {
	case TR_CLASS_IDENT:
		c->insns_ident++;
		break;
	case TR_CLASS_MEM:
		c->insns_mem++;
		break;
	case TR_CLASS_STACK:
		c->insns_stack++;
		break;
	case TR_CLASS_STRING:
		c->insns_string++;
		break;
	case TR_CLASS_CONTROL:
		c->insns_control++;
		break;
	default:
		c->insns_callout++;
		break;
	}
}

/* Segments the stack and string translations take as flat; a block whose key says otherwise
 * cannot use them (XXX: Linux never bases SS, DS or ES; only FS and GS have bases). */
static bool tr_implicit_segments_flat(const struct tr_block_builder *bb,
				      const ZydisDecodedInstruction *insn,
				      const ZydisDecodedOperand *ops, enum tr_class cls)
{
	unsigned based = bb->e.seg_based;
	bool uses_stack = cls == TR_CLASS_STACK ||
			  (cls == TR_CLASS_CONTROL && (insn->mnemonic == ZYDIS_MNEMONIC_CALL ||
						       insn->mnemonic == ZYDIS_MNEMONIC_RET));
	if (uses_stack && (based & (1u << 2)))
		return false;
	if (cls != TR_CLASS_STRING)
		return true;
	for (unsigned i = 0; i < insn->operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		unsigned seg = ops[i].mem.segment == ZYDIS_REGISTER_NONE
				   ? 3u
				   : (unsigned)ZydisRegisterGetId(ops[i].mem.segment);
		if ((based >> seg) & 1)
			return false;
	}
	return true;
}

/* A write through a CS override: code segments are never writable, so the CPU raises #GP.
 * (The other segment checks assume flat, writable data segments: XXX.) */
static bool tr_writes_through_cs(const ZydisDecodedInstruction *insn,
				 const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < insn->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM &&
		    ops[i].mem.segment == ZYDIS_REGISTER_CS &&
		    (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			return true;
	return false;
}

static void tr_translate_insn(struct tr_block_builder *bb, const ZydisDecodedInstruction *insn,
			      const ZydisDecodedOperand *ops, const uint8_t *bytes, uint32_t eip)
{
	struct tr_class_info info = tr_classify(insn, ops);
	enum tr_callout trap = tr_fpu_check(&bb->block->key, &info);
	uint8_t *start = bb->e.p;
	unsigned pending = bb->n_pending;
	bool ok = true;

	tr_count_class(&bb->tr->counters, (enum tr_class)info.cls);
	if (trap == TR_CALLOUT_COUNT && tr_writes_through_cs(insn, ops))
		trap = TR_CALLOUT_SEG_FAULT;
	if (trap != TR_CALLOUT_COUNT) {
		tr_emit_callout(bb, insn, bytes, eip, trap, true);
		return;
	}
	if (!tr_implicit_segments_flat(bb, insn, ops, (enum tr_class)info.cls)) {
		/* String and stack instructions on based segments are performed by the runtime;
		 * a call or return through a based stack ends the block there. */
		bool control = info.cls == TR_CLASS_CONTROL;
		info = (struct tr_class_info){
		    .cls = TR_CLASS_SENSITIVE,
		    .callout = info.cls == TR_CLASS_STRING ? TR_CALLOUT_STRING : TR_CALLOUT_STACK,
		    .flags = control ? TR_CF_ENDS_BLOCK : 0};
	}
	switch (info.cls) {
	case TR_CLASS_IDENT:
	case TR_CLASS_MEM:
		ok = tr_rewrite_copy(&bb->e, insn, ops, bytes);
		break;
	case TR_CLASS_STACK:
		ok = tr_emit_stack(bb, insn, ops, bytes);
		break;
	case TR_CLASS_STRING:
		ok = tr_emit_string(bb, insn, bytes);
		break;
	case TR_CLASS_CONTROL:
		ok = tr_emit_control(bb, insn, ops, bytes, eip);
		break;
	case TR_CLASS_SENSITIVE:
		/* In kernel mode rdtsc cannot fault (CR4.TSD only restricts CPL > 0), and Linux
		 * reads the clock this way millions of times per boot: no callout. */
		if (info.callout == TR_CALLOUT_RDTSC &&
		    (bb->block->key.flags & TR_KEY_CPL_MASK) == 0) {
			tr_emit_rdtsc(&bb->e);
			break;
		}
		if ((info.callout == TR_CALLOUT_CLI || info.callout == TR_CALLOUT_STI) &&
		    (bb->block->key.flags & TR_KEY_CPL_MASK) == 0) {
			tr_emit_inline_if(bb, insn, bytes, eip, (enum tr_callout)info.callout);
			break;
		}
		/* fall through */
	case TR_CLASS_UNDEFINED:
		tr_emit_callout(bb, insn, bytes, eip, (enum tr_callout)info.callout,
				info.flags & TR_CF_ENDS_BLOCK || info.cls == TR_CLASS_UNDEFINED);
		break;
	default:
		ok = false;
		break;
	}
	if (!ok) {
		/* Forms bt86 cannot express inline yet: the runtime reports them. */
		bb->e.p = start;
		bb->n_pending = pending;
		bb->end = false;
		tr_emit_callout(bb, insn, bytes, eip, TR_CALLOUT_UNSUPPORTED, true);
	}
}

/* tzcnt and lzcnt are rep bsf and rep bsr to a CPU without BMI1/LZCNT, as bt86's virtual CPU
 * is, and compilers emit them knowing that. Re-decode the
 * bytes without the F3 prefix into *insn and plain; false if the instruction is not one. The
 * guest's own length still advances EIP. */
static bool tr_as_older_cpu(const ZydisDecoder *decoder, ZydisDecodedInstruction *insn,
			    ZydisDecodedOperand *ops, const uint8_t *bytes, uint8_t *plain)
{
	if (insn->mnemonic != ZYDIS_MNEMONIC_TZCNT && insn->mnemonic != ZYDIS_MNEMONIC_LZCNT)
		return false;
	size_t n = 0;
	for (size_t i = 0; i < insn->length; i++)
		if (i >= insn->raw.prefix_count || bytes[i] != 0xf3)
			plain[n++] = bytes[i];
	ZydisDecodedInstruction alt;
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(decoder, plain, n, &alt, ops)))
		return false;
	*insn = alt;
	return true;
}

void *tr_translate(struct tr_translator *tr, struct tr_frame *frame, const struct tr_key *key,
		   const uint8_t *code, size_t avail, uint32_t next_page_phys,
		   uint32_t pages_out[2], int *n_pages_out)
{
	if (tr->code_size - tr->code_used < TR_MAX_BLOCK_HOST ||
	    tr->data_size - tr->data_used < (1u << 20) || tr->n_blocks + 1 >= tr->max_blocks)
		tr_flush(tr, frame);

	struct tr_block_builder bb = {.tr = tr};
	struct tr_insn_map map[TR_MAX_INSNS];
	struct tr_block *b = tr_data_alloc(tr, sizeof *b);
	ASSERT(b);
	b->key = *key;
	b->host = tr->code + tr->code_used;
	bb.block = b;
	bb.e =
	    (struct tr_emit){.start = b->host,
			     .p = b->host,
			     .end = b->host + TR_MAX_BLOCK_HOST,
			     .seg_based = (uint8_t)((key->flags >> TR_KEY_SEG_BASED_SHIFT) & 0x3f)};

	/* The block's slot in tr->blocks is its counter's index (tr_block_publish appends). */
	if (tr->exec_counts)
		tr_emit_count(&bb.e, &tr->exec_counts[tr->n_blocks]);

	unsigned max_insns = (key->flags & (TR_KEY_SINGLE | TR_KEY_SHADOW)) ? 1 : TR_MAX_INSNS;
	uint32_t eip = key->eip;
	size_t off = 0;
	unsigned n = 0;
	while (!bb.end) {
		ZydisDecodedInstruction insn;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		size_t len = avail - off < ZYDIS_MAX_INSTRUCTION_LENGTH
				 ? avail - off
				 : ZYDIS_MAX_INSTRUCTION_LENGTH;
		map[n] = (struct tr_insn_map){.guest_eip = eip,
					      .host_off = (uint32_t)(bb.e.p - b->host)};
		n++;
		if (len == 0 || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&tr->decoder, code + off, len,
								     &insn, ops))) {
			tr->counters.insns_callout++;
			tr_emit_callout(&bb, NULL, code + off, eip, TR_CALLOUT_UNDEFINED, true);
			off += len ? 1 : 0;
			break;
		}
		size_t length = insn.length;
		const uint8_t *bytes = code + off;
		uint8_t plain[ZYDIS_MAX_INSTRUCTION_LENGTH];
		if (tr_as_older_cpu(&tr->decoder, &insn, ops, bytes, plain))
			bytes = plain;
		tr_translate_insn(&bb, &insn, ops, bytes, eip);
		off += length;
		eip += (uint32_t)length;
		if (bb.end)
			break;
		if (n >= max_insns || ((key->eip ^ eip) & ~0xfffu) != 0) {
			tr_emit_jmp_exit(&bb, eip);
			break;
		}
	}

	/* Stubs for the direct exits, after the body. With paging on, a jump to another page
	 * goes through the indirect-branch lookup instead: the jump cache is emptied whenever a
	 * mapping may change, while a chain would keep jumping to the old page's code. */
	bool paging = key->flags & TR_KEY_PAGING;
	unsigned n_chainable = 0;
	for (unsigned i = 0; i < bb.n_pending; i++) {
		struct tr_exit *x = bb.pending[i];
		uint8_t *stub = bb.e.p;
		int32_t rel = (int32_t)(stub - (x->patch + 4));
		memcpy(x->patch, &rel, 4);
		if (paging && ((x->guest_eip ^ key->eip) >> 12) != 0) {
			tr_emit_mov_imm32(&bb.e, TR_R14, x->guest_eip);
			tr_emit_ibl_jump(&bb.e);
			continue;
		}
		x->stub = stub;
		tr_emit_exit(&bb.e, x);
		bb.pending[n_chainable++] = x;
	}
	bb.n_pending = n_chainable;
	ASSERT(!bb.e.overflow);

	b->exits = tr_data_alloc(tr, bb.n_pending * sizeof *b->exits + 1);
	ASSERT(b->exits);
	memcpy(b->exits, bb.pending, bb.n_pending * sizeof *b->exits);
	b->n_exits = (uint16_t)bb.n_pending;
	b->host_len = (uint32_t)(bb.e.p - b->host);
	b->guest_len = (uint32_t)off;
	b->n_insns = (uint16_t)n;
	b->map = tr_data_alloc(tr, n * sizeof *b->map);
	ASSERT(b->map);
	memcpy(b->map, map, n * sizeof *b->map);
	b->valid = true;
	b->cached = !(key->flags & TR_KEY_SINGLE);
	b->pages[0] = key->phys >> 12;
	b->n_pages = 1;
	if (off && ((key->eip & 0xfffu) + off - 1) >> 12)
		b->pages[b->n_pages++] = next_page_phys >> 12;
	for (unsigned i = 0; i < b->n_pages; i++)
		pages_out[i] = b->pages[i];
	*n_pages_out = b->n_pages;

	if (tr->config.verify) {
		char msg[256];
		struct tr_code_bounds bounds = tr_code_bounds(tr);
		if (!tr_verify_code(b->host, b->host_len, &bounds, msg, sizeof msg)) {
			fprintf(stderr, "bt86: translation verifier: block at guest EIP %#x: %s\n",
				key->eip, msg);
			abort();
		}
	}
	tr->code_used += (b->host_len + 15) & ~15u;
	tr_block_publish(tr, b);
	tr->counters.blocks_translated++;
	tr->counters.insns_translated += n;
	tr->counters.host_bytes += b->host_len;

	if (tr->config.perf_map) {
		/* One line per block, so perf report names host samples by guest address. */
		fprintf(tr->config.perf_map, "%lx %x bt86:guest_%08x%s\n",
			(unsigned long)(uintptr_t)b->host, b->host_len, key->eip,
			b->cached ? "" : "_single");
		fflush(tr->config.perf_map);
	}
	if (tr->config.trace) {
		uint32_t eips[TR_MAX_INSNS], offs[TR_MAX_INSNS];
		for (unsigned i = 0; i < n; i++) {
			eips[i] = map[i].guest_eip;
			offs[i] = map[i].host_off;
		}
		trc_block(tr->config.trace, key->eip, key->phys, code, (uint32_t)off,
			  (uint64_t)(uintptr_t)b->host, b->host, b->host_len, n, eips, offs);
	}
	return b->host;
}
