/* Operand rewriting: a guest instruction re-encoded for 64-bit mode.
 *
 * Most 32-bit instructions mean the same in 64-bit mode byte for byte. What changes:
 * - memory operands: the guest's linear address becomes GS-relative (GS base = the window)
 *   with 32-bit address size (0x67), so the effective address wraps at 4 GiB as on the guest;
 *   the guest's segment override is dropped when that segment is flat (DESIGN.md §2);
 * - ModRM mod=00 rm=101 is [disp32] in 32-bit mode but [rip+disp32] in 64-bit mode: it is
 *   re-encoded through the SIB no-base form;
 * - the one-byte inc/dec (0x40-0x4f) are REX prefixes in 64-bit mode: re-encoded as FF /0, /1;
 * - 0x82 (an alias of 0x80) does not exist in 64-bit mode: re-encoded as 0x80.
 *
 * Two kinds of operand cannot be expressed in place and are addressed through r13 instead:
 * 16-bit addressing ([bx+si+disp16] has no 64-bit form) and a segment whose base is not zero
 * (FS/GS for per-CPU data and TLS). The linear address is computed into r13d with flag-free
 * instructions (lea, movzx for the 64 KiB wrap, the segment base from the frame added with lea)
 * and the instruction then addresses gs:[r13d]. That needs a REX prefix, which makes AH, CH, DH
 * and BH unencodable: those rare combinations are refused and become a reported callout.
 */
#include "translator/tr_internal.h"

static bool tr_is_segment_prefix(uint8_t b)
{
	return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
}

/* Copy ModRM, SIB and displacement; [disp32] becomes SIB no-base. disp_adjust is added to the
 * displacement (widening it to 32 bits when needed). reg replaces ModRM.reg if >= 0. */
static void tr_emit_guest_modrm(struct tr_emit *e, const ZydisDecodedInstruction *insn,
				const uint8_t *bytes, int reg, int32_t disp_adjust)
{
	uint8_t mod = insn->raw.modrm.mod;
	uint8_t rm = insn->raw.modrm.rm;
	uint8_t r = reg >= 0 ? (uint8_t)(reg & 7) : insn->raw.modrm.reg;
	bool has_sib = mod != 3 && rm == 4;
	bool abs32 = mod == 0 && rm == 5;
	bool sib_nobase = has_sib && mod == 0 && (bytes[insn->raw.sib.offset] & 7) == 5;
	int32_t disp = (int32_t)insn->raw.disp.value + disp_adjust;

	if (abs32) {
		tr_emit_u8(e, (uint8_t)(r << 3 | 4));
		tr_emit_u8(e, 0x25);
		tr_emit_u32(e, (uint32_t)disp);
		return;
	}
	if (disp_adjust != 0 && !sib_nobase && mod != 3)
		mod = 2;
	tr_emit_u8(e, (uint8_t)(mod << 6 | r << 3 | rm));
	if (has_sib)
		tr_emit_u8(e, bytes[insn->raw.sib.offset]);
	if (mod == 1)
		tr_emit_u8(e, (uint8_t)(int8_t)disp);
	else if (mod == 2 || sib_nobase)
		tr_emit_u32(e, (uint32_t)disp);
}

/* Where the bytes after the guest's ModRM operand (immediates) start. */
static size_t tr_after_modrm_operand(const ZydisDecodedInstruction *insn)
{
	if (insn->raw.disp.size)
		return insn->raw.disp.offset + insn->raw.disp.size / 8u;
	bool sib = insn->raw.modrm.mod != 3 && insn->raw.modrm.rm == 4 && insn->address_width == 32;
	return insn->raw.modrm.offset + 1u + sib;
}

static const ZydisDecodedOperand *tr_modrm_memory(const ZydisDecodedInstruction *insn,
						  const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < insn->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
			return &ops[i];
	return NULL;
}

static bool tr_uses_high_byte_register(const ZydisDecodedInstruction *insn,
				       const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < insn->operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER)
			continue;
		ZydisRegister r = ops[i].reg.value;
		if (r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
		    r == ZYDIS_REGISTER_BH)
			return true;
	}
	return false;
}

/* 0 none, 1 address only (lea, hint NOPs), 2 a memory access. */
static int tr_memory_kind(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	int kind = 0;
	for (unsigned i = 0; i < insn->operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		if (ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM)
			kind = 2;
		else if (kind == 0)
			kind = 1;
	}
	return kind;
}

/* The segment of a memory operand in x86 encoding order (ES=0 ... GS=5). */
static unsigned tr_segment_of(const ZydisDecodedOperand *mem)
{
	return mem->mem.segment == ZYDIS_REGISTER_NONE
		   ? 3u
		   : (unsigned)ZydisRegisterGetId(mem->mem.segment);
}

/* Must this operand's address be computed into r13d first? */
static bool tr_needs_r13(const struct tr_emit *e, const ZydisDecodedInstruction *insn,
			 const ZydisDecodedOperand *mem, bool access)
{
	return insn->address_width == 16 || (access && (e->seg_based >> tr_segment_of(mem)) & 1);
}

/* r13d += the segment's base: mov r14d, [r15 + seg_base[seg]]; lea r13d, [r13 + r14]. */
static void tr_emit_add_segment_base(struct tr_emit *e, unsigned seg)
{
	const uint8_t add_base[] = {0x45, 0x8b, 0x77, (uint8_t)(TRF_SEG_BASE + 4 * seg), 0x47, 0x8d,
				    0x6c, 0x35, 0x00};
	tr_emit_bytes(e, add_base, sizeof add_base);
}

/* r13d = segment base + effective address of the guest's ModRM memory operand. */
static void tr_emit_address_r13(struct tr_emit *e, const ZydisDecodedInstruction *insn,
				const uint8_t *bytes, const ZydisDecodedOperand *mem, bool access,
				int32_t disp_adjust)
{
	if (insn->address_width == 16) {
		int base =
		    mem->mem.base == ZYDIS_REGISTER_NONE ? -1 : ZydisRegisterGetId(mem->mem.base);
		int index =
		    mem->mem.index == ZYDIS_REGISTER_NONE ? -1 : ZydisRegisterGetId(mem->mem.index);
		uint32_t disp = (uint32_t)mem->mem.disp.value;
		if (base < 0 && index < 0) {
			tr_emit_mov_imm32(e, TR_R13, disp & 0xffff);
		} else {
			if (base < 0) {
				base = index;
				index = -1;
			}
			/* lea r13d, [base + index + disp32]; movzx r13d, r13w */
			const uint8_t lea[] = {0x44, 0x8d, 0xac,
					       (uint8_t)((index < 0 ? 4 : index) << 3 | base)};
			static const uint8_t movzx[] = {0x45, 0x0f, 0xb7, 0xed};
			tr_emit_bytes(e, lea, sizeof lea);
			tr_emit_u32(e, disp);
			tr_emit_bytes(e, movzx, sizeof movzx);
		}
	} else {
		static const uint8_t lea_r13[] = {0x67, 0x44, 0x8d}; /* lea r13d, [ea] */
		tr_emit_bytes(e, lea_r13, sizeof lea_r13);
		tr_emit_guest_modrm(e, insn, bytes, TR_R13, disp_adjust);
	}
	unsigned seg = tr_segment_of(mem);
	if (access && (e->seg_based >> seg) & 1)
		tr_emit_add_segment_base(e, seg);
}

/* ModRM for [r13 + 0] with reg in ModRM.reg (REX.B is emitted by the caller). */
static void tr_emit_modrm_r13(struct tr_emit *e, unsigned reg)
{
	tr_emit_u8(e, (uint8_t)(0x40 | (reg & 7) << 3 | 5));
	tr_emit_u8(e, 0);
}

/* The guest prefixes other than segment overrides and address size, in their order. */
static void tr_emit_guest_prefixes(struct tr_emit *e, const ZydisDecodedInstruction *insn,
				   const uint8_t *bytes)
{
	for (unsigned i = 0; i < insn->raw.prefix_count; i++)
		if (!tr_is_segment_prefix(bytes[i]) && bytes[i] != 0x67)
			tr_emit_u8(e, bytes[i]);
}

/* The opcode bytes up to ModRM (or the end), with 0x82 re-encoded as 0x80. */
static void tr_emit_guest_opcode(struct tr_emit *e, const ZydisDecodedInstruction *insn,
				 const uint8_t *bytes, size_t end)
{
	unsigned np = insn->raw.prefix_count;
	if (bytes[np] == 0x82) {
		tr_emit_u8(e, 0x80);
		tr_emit_bytes(e, bytes + np + 1, end - np - 1);
	} else {
		tr_emit_bytes(e, bytes + np, end - np);
	}
}

bool tr_rewrite_copy(struct tr_emit *e, const ZydisDecodedInstruction *insn,
		     const ZydisDecodedOperand *ops, const uint8_t *bytes)
{
	uint8_t *start = e->p;
	int mem = tr_memory_kind(insn, ops);
	bool has_modrm = insn->attributes & ZYDIS_ATTRIB_HAS_MODRM;
	const ZydisDecodedOperand *modrm_mem = tr_modrm_memory(insn, ops);
	unsigned np = insn->raw.prefix_count;

	uint8_t moffs_op = bytes[np];
	if (mem == 2 && !has_modrm && moffs_op >= 0xa0 && moffs_op <= 0xa3 &&
	    (e->seg_based >> tr_segment_of(&ops[moffs_op & 2 ? 0 : 1])) & 1) {
		/* mov al/eax, seg:[moffs] (and the stores): the same move through ModRM. */
		unsigned seg = tr_segment_of(&ops[moffs_op & 2 ? 0 : 1]);
		tr_emit_mov_imm32(e, TR_R13, (uint32_t)insn->raw.disp.value);
		tr_emit_add_segment_base(e, seg);
		tr_emit_u8(e, 0x65);
		tr_emit_u8(e, 0x67);
		tr_emit_guest_prefixes(e, insn, bytes);
		static const uint8_t modrm_op[4] = {0x8a, 0x8b, 0x88, 0x89};
		tr_emit_u8(e, 0x41);
		tr_emit_u8(e, modrm_op[moffs_op - 0xa0]);
		tr_emit_modrm_r13(e, 0); /* AL / AX / EAX */
		return true;
	}
	if (mem &&
	    (insn->address_width == 16 ||
	     (mem == 2 && (e->seg_based >> tr_segment_of(modrm_mem ? modrm_mem : ops)) & 1))) {
		/* Addressed through r13: only explicit ModRM operands without AH..BH. */
		if (!modrm_mem || !has_modrm || tr_uses_high_byte_register(insn, ops))
			return false;
		if (!tr_needs_r13(e, insn, modrm_mem, mem == 2))
			return false; /* an implicit operand is the based one (xlat, moffs) */
		tr_emit_address_r13(e, insn, bytes, modrm_mem, mem == 2, 0);
		if (mem == 2)
			tr_emit_u8(e, 0x65);
		tr_emit_u8(e, 0x67);
		tr_emit_guest_prefixes(e, insn, bytes);
		tr_emit_u8(e, 0x41); /* REX.B: ModRM.rm names r13 */
		tr_emit_guest_opcode(e, insn, bytes, insn->raw.modrm.offset);
		tr_emit_modrm_r13(e, insn->raw.modrm.reg);
		size_t tail = tr_after_modrm_operand(insn);
		tr_emit_bytes(e, bytes + tail, insn->length - tail);
		return true;
	}

	if (mem == 2)
		tr_emit_u8(e, 0x65);
	if (mem)
		tr_emit_u8(e, 0x67);
	tr_emit_guest_prefixes(e, insn, bytes);

	uint8_t op = bytes[np];
	if (op >= 0x40 && op <= 0x4f) {
		tr_emit_u8(e, 0xff);
		tr_emit_u8(e, (uint8_t)(0xc0 | (op & 8) | (op & 7)));
		return true;
	}
	tr_emit_guest_opcode(e, insn, bytes, has_modrm ? insn->raw.modrm.offset : insn->length);
	if (has_modrm) {
		tr_emit_guest_modrm(e, insn, bytes, -1, 0);
		/* Immediates follow the displacement unchanged. */
		size_t tail = tr_after_modrm_operand(insn);
		tr_emit_bytes(e, bytes + tail, insn->length - tail);
	}
	return e->overflow || e->p - start <= ZYDIS_MAX_INSTRUCTION_LENGTH;
}

bool tr_rewrite_mem_op(struct tr_emit *e, const ZydisDecodedInstruction *insn, const uint8_t *bytes,
		       uint8_t prefix66, const uint8_t *opcode, size_t opcode_len, unsigned reg,
		       int32_t disp_adjust, bool window)
{
	if (!(insn->attributes & ZYDIS_ATTRIB_HAS_MODRM) || insn->raw.modrm.mod == 3)
		return false;
	ZydisDecodedInstruction copy;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, insn->length, &copy, ops)))
		return false;
	const ZydisDecodedOperand *mem = tr_modrm_memory(&copy, ops);
	if (!mem)
		return false;
	bool via_r13 = tr_needs_r13(e, insn, mem, window);
	if (via_r13)
		tr_emit_address_r13(e, insn, bytes, mem, window, disp_adjust);
	if (window)
		tr_emit_u8(e, 0x65);
	tr_emit_u8(e, 0x67);
	if (prefix66)
		tr_emit_u8(e, 0x66);
	uint8_t rex = (uint8_t)(0x40 | (reg >= 8 ? 4 : 0) | (via_r13 ? 1 : 0));
	if (rex != 0x40)
		tr_emit_u8(e, rex);
	tr_emit_bytes(e, opcode, opcode_len);
	if (via_r13)
		tr_emit_modrm_r13(e, reg);
	else
		tr_emit_guest_modrm(e, insn, bytes, (int)reg, disp_adjust);
	return true;
}
