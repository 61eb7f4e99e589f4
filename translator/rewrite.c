/* Operand rewriting: a guest instruction re-encoded for 64-bit mode.
 *
 * Most 32-bit instructions mean the same in 64-bit mode byte for byte. What changes:
 * - memory operands: the guest's linear address becomes GS-relative (GS base = the window)
 *   with 32-bit address size (0x67), so the effective address wraps at 4 GiB as on the guest;
 *   the guest's own segment override is dropped (flat segments, DESIGN.md §2);
 * - ModRM mod=00 rm=101 is [disp32] in 32-bit mode but [rip+disp32] in 64-bit mode: it is
 *   re-encoded through the SIB no-base form;
 * - the one-byte inc/dec (0x40-0x4f) are REX prefixes in 64-bit mode: re-encoded as FF /0, /1;
 * - 0x82 (an alias of 0x80) does not exist in 64-bit mode: re-encoded as 0x80.
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

static int tr_memory_kind(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
	int kind = 0; /* 0 none, 1 address only (lea), 2 memory access */
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

bool tr_rewrite_copy(struct tr_emit *e, const ZydisDecodedInstruction *insn,
		     const ZydisDecodedOperand *ops, const uint8_t *bytes)
{
	uint8_t *start = e->p;
	int mem = tr_memory_kind(insn, ops);
	bool has_modrm = insn->attributes & ZYDIS_ATTRIB_HAS_MODRM;
	unsigned np = insn->raw.prefix_count;

	if (mem && insn->address_width != 32)
		return false; /* XXX: 16-bit addressing needs an explicit address computation */
	if (mem == 2)
		tr_emit_u8(e, 0x65);
	if (mem)
		tr_emit_u8(e, 0x67);
	for (unsigned i = 0; i < np; i++) {
		uint8_t b = bytes[i];
		if (tr_is_segment_prefix(b) || b == 0x67)
			continue;
		tr_emit_u8(e, b);
	}

	uint8_t op = bytes[np];
	if (op >= 0x40 && op <= 0x4f) {
		tr_emit_u8(e, 0xff);
		tr_emit_u8(e, (uint8_t)(0xc0 | (op & 8) | (op & 7)));
		return true;
	}

	size_t opcode_end = has_modrm ? insn->raw.modrm.offset : insn->length;
	if (op == 0x82) {
		tr_emit_u8(e, 0x80);
		tr_emit_bytes(e, bytes + np + 1, opcode_end - np - 1);
	} else {
		tr_emit_bytes(e, bytes + np, opcode_end - np);
	}
	if (has_modrm) {
		tr_emit_guest_modrm(e, insn, bytes, -1, 0);
		/* Immediates follow the displacement unchanged. */
		size_t tail = insn->raw.disp.size
				  ? insn->raw.disp.offset + insn->raw.disp.size / 8
				  : insn->raw.modrm.offset + 1 +
					(insn->raw.modrm.mod != 3 && insn->raw.modrm.rm == 4);
		tr_emit_bytes(e, bytes + tail, insn->length - tail);
	}
	return e->overflow || e->p - start <= ZYDIS_MAX_INSTRUCTION_LENGTH;
}

bool tr_rewrite_mem_op(struct tr_emit *e, const ZydisDecodedInstruction *insn, const uint8_t *bytes,
		       uint8_t prefix66, const uint8_t *opcode, size_t opcode_len, unsigned reg,
		       int32_t disp_adjust, bool window)
{
	if (insn->address_width != 32 || !(insn->attributes & ZYDIS_ATTRIB_HAS_MODRM) ||
	    insn->raw.modrm.mod == 3)
		return false;
	if (window)
		tr_emit_u8(e, 0x65);
	tr_emit_u8(e, 0x67);
	if (prefix66)
		tr_emit_u8(e, 0x66);
	if (reg >= 8)
		tr_emit_u8(e, 0x44);
	tr_emit_bytes(e, opcode, opcode_len);
	tr_emit_guest_modrm(e, insn, bytes, (int)reg, disp_adjust);
	return true;
}
