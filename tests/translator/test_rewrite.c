/* Operand rewriting: each guest instruction, re-encoded for the host, must decode in 64-bit
 * mode as the same operation with its memory operand GS-relative, 32-bit addressed and with the
 * guest's own base, index, scale and displacement. The expected operands come from decoding
 * the guest bytes, not from this file. */
#include <criterion/criterion.h>
#include <string.h>

#include "translator/tr_internal.h"

struct decoded {
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

static void decode(ZydisMachineMode mode, const uint8_t *b, size_t n, struct decoded *d)
{
	ZydisDecoder dec;
	ZydisDecoderInit(&dec, mode,
			 mode == ZYDIS_MACHINE_MODE_LONG_64 ? ZYDIS_STACK_WIDTH_64
							    : ZYDIS_STACK_WIDTH_32);
	cr_assert(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, b, n, &d->insn, d->ops)));
}

static ZydisRegister widen_to_64(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_NONE
		   ? r
		   : ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
}

static void check_rewrite(const uint8_t *guest, size_t len)
{
	struct decoded g, h;
	uint8_t out[32];
	struct tr_emit e = {.start = out, .p = out, .end = out + sizeof out};
	decode(ZYDIS_MACHINE_MODE_LEGACY_32, guest, len, &g);
	cr_assert(tr_rewrite_copy(&e, &g.insn, g.ops, guest));
	decode(ZYDIS_MACHINE_MODE_LONG_64, out, (size_t)(e.p - out), &h);
	cr_assert_eq(h.insn.length, (size_t)(e.p - out), "one host instruction");
	cr_assert_eq(h.insn.mnemonic, g.insn.mnemonic);
	cr_assert_eq(h.insn.operand_width, g.insn.operand_width);
	for (unsigned i = 0; i < g.insn.operand_count; i++) {
		const ZydisDecodedOperand *go = &g.ops[i], *ho = &h.ops[i];
		cr_assert_eq(ho->type, go->type);
		if (go->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			cr_assert_eq(widen_to_64(ho->reg.value), widen_to_64(go->reg.value));
		} else if (go->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (go->mem.type == ZYDIS_MEMOP_TYPE_MEM)
				cr_assert_eq(ho->mem.segment, ZYDIS_REGISTER_GS);
			cr_assert_eq(h.insn.address_width, 32);
			cr_assert_eq(ho->mem.base, go->mem.base);
			cr_assert_eq(ho->mem.index, go->mem.index);
			cr_assert_eq(ho->mem.scale, go->mem.scale);
			cr_assert_eq((uint32_t)ho->mem.disp.value, (uint32_t)go->mem.disp.value);
			cr_assert_eq(ho->size, go->size);
		} else if (go->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			cr_assert_eq(ho->imm.value.u, go->imm.value.u);
		}
	}
}

#define REWRITE(...)                                                                               \
	check_rewrite((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

Test(rewrite, register_forms_unchanged)
{
	REWRITE(0x01, 0xd8);		 /* add eax, ebx */
	REWRITE(0x66, 0x01, 0xd8);	 /* add ax, bx */
	REWRITE(0x00, 0xe7);		 /* add bh, ah */
	REWRITE(0x0f, 0xaf, 0xc1);	 /* imul eax, ecx */
	REWRITE(0xd9, 0xc1);		 /* fld st1 */
	REWRITE(0x66, 0x0f, 0x58, 0xc1); /* addpd xmm0, xmm1 */
}

Test(rewrite, memory_operands_onto_window)
{
	REWRITE(0x8b, 0x03);					 /* mov eax, [ebx] */
	REWRITE(0x8b, 0x44, 0x8e, 0x10);			 /* mov eax, [esi+ecx*4+0x10] */
	REWRITE(0x89, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00);	 /* mov [esp+0x100], eax */
	REWRITE(0x8b, 0x45, 0xfc);				 /* mov eax, [ebp-4] */
	REWRITE(0x64, 0x8b, 0x03);				 /* mov eax, fs:[ebx] (flat) */
	REWRITE(0xf0, 0x0f, 0xb1, 0x0b);			 /* lock cmpxchg [ebx], ecx */
	REWRITE(0x80, 0x7c, 0x24, 0x04, 0x7f);			 /* cmp byte [esp+4], 0x7f */
	REWRITE(0xc7, 0x44, 0x24, 0x08, 0x78, 0x56, 0x34, 0x12); /* mov dword [esp+8], imm32 */
	REWRITE(0x66, 0x0f, 0x6f, 0x06);			 /* movdqa xmm0, [esi] */
	REWRITE(0xdd, 0x1c, 0x24);				 /* fstp qword [esp] */
	REWRITE(0x8a, 0x24, 0x1e);				 /* mov ah, [esi+ebx] */
}

Test(rewrite, absolute_disp32_avoids_rip_relative)
{
	REWRITE(0xa1, 0x00, 0x10, 0x00, 0x00);			 /* mov eax, [0x1000] (moffs) */
	REWRITE(0x8b, 0x1d, 0x00, 0x20, 0x10, 0x00);		 /* mov ebx, [0x102000] */
	REWRITE(0xc7, 0x05, 0x00, 0x20, 0x10, 0x00, 1, 0, 0, 0); /* mov dword [abs], 1 */
	REWRITE(0x8b, 0x04, 0x8d, 0x00, 0x30, 0x10, 0x00);	 /* mov eax, [ecx*4+0x103000] */
	REWRITE(0x8d, 0x05, 0x00, 0x20, 0x10, 0x00);		 /* lea eax, [0x102000] */
}

Test(rewrite, short_inc_dec_reencoded)
{
	REWRITE(0x40);	     /* inc eax */
	REWRITE(0x4f);	     /* dec edi */
	REWRITE(0x66, 0x43); /* inc bx */
}

/* Decode a host sequence; return the number of instructions, the last one in *last. */
static int decode_all(const uint8_t *b, size_t n, struct decoded *all, int max)
{
	int count = 0;
	for (size_t off = 0; off < n && count < max; count++) {
		decode(ZYDIS_MACHINE_MODE_LONG_64, b + off, n - off, &all[count]);
		off += all[count].insn.length;
	}
	return count;
}

static int rewrite_seq(const uint8_t *guest, size_t len, uint8_t seg_based, uint8_t *out,
		       size_t *out_len, bool *ok)
{
	struct decoded g;
	struct tr_emit e = {.start = out, .p = out, .end = out + 64, .seg_based = seg_based};
	decode(ZYDIS_MACHINE_MODE_LEGACY_32, guest, len, &g);
	*ok = tr_rewrite_copy(&e, &g.insn, g.ops, guest);
	*out_len = (size_t)(e.p - out);
	return 0;
}

Test(rewrite, sixteen_bit_addressing_goes_through_r13)
{
	const uint8_t guest[] = {0x67, 0x8b, 0x40, 0x10}; /* mov eax, [bx+si+0x10] */
	uint8_t out[64];
	size_t n;
	bool ok;
	struct decoded h[4];
	char msg[128];
	rewrite_seq(guest, sizeof guest, 0, out, &n, &ok);
	cr_assert(ok);
	int count = decode_all(out, n, h, 4);
	cr_assert_eq(count, 3, "lea, movzx (the 64 KiB wrap), then the access");
	cr_assert_eq(h[0].insn.mnemonic, ZYDIS_MNEMONIC_LEA);
	cr_assert_eq(h[0].ops[1].mem.base, ZYDIS_REGISTER_RBX);
	cr_assert_eq(h[0].ops[1].mem.index, ZYDIS_REGISTER_RSI);
	cr_assert_eq(h[0].ops[1].mem.disp.value, 0x10);
	cr_assert_eq(h[1].insn.mnemonic, ZYDIS_MNEMONIC_MOVZX);
	cr_assert_eq(h[2].insn.mnemonic, ZYDIS_MNEMONIC_MOV);
	cr_assert_eq(h[2].ops[0].reg.value, ZYDIS_REGISTER_EAX);
	cr_assert_eq(h[2].ops[1].mem.segment, ZYDIS_REGISTER_GS);
	cr_assert_eq(h[2].ops[1].mem.base, ZYDIS_REGISTER_R13D);
	cr_assert(tr_verify_code(out, n,
				 &(struct tr_code_bounds){(uintptr_t)out, (uintptr_t)out + n, 0, 0},
				 msg, sizeof msg));
}

Test(rewrite, based_segment_adds_the_base_from_the_frame)
{
	const uint8_t guest[] = {0x64, 0x8b, 0x43, 0x08}; /* mov eax, fs:[ebx+8] */
	uint8_t out[64];
	size_t n;
	bool ok;
	struct decoded h[4];
	char msg[128];
	rewrite_seq(guest, sizeof guest, 1u << 4, out, &n, &ok);
	cr_assert(ok);
	int count = decode_all(out, n, h, 4);
	cr_assert_eq(count, 4);
	cr_assert_eq(h[0].ops[1].mem.base, ZYDIS_REGISTER_EBX); /* lea r13d, [ebx+8] */
	cr_assert_eq(h[0].ops[1].mem.disp.value, 8);
	cr_assert_eq(h[1].ops[1].mem.base, ZYDIS_REGISTER_R15); /* FS base from the frame */
	cr_assert_eq(h[1].ops[1].mem.disp.value, TRF_SEG_BASE + 4 * 4);
	cr_assert_eq(h[2].insn.mnemonic, ZYDIS_MNEMONIC_LEA); /* r13d += base, wrapping */
	cr_assert_eq(h[2].ops[0].reg.value, ZYDIS_REGISTER_R13D);
	cr_assert_eq(h[3].ops[1].mem.segment, ZYDIS_REGISTER_GS);
	cr_assert_eq(h[3].ops[1].mem.base, ZYDIS_REGISTER_R13D);
	cr_assert(tr_verify_code(out, n,
				 &(struct tr_code_bounds){(uintptr_t)out, (uintptr_t)out + n, 0, 0},
				 msg, sizeof msg));
}

Test(rewrite, high_byte_registers_cannot_go_through_r13)
{
	const uint8_t guest[] = {0x67, 0x8a, 0x27}; /* mov ah, [bx] */
	uint8_t out[64];
	size_t n;
	bool ok;
	rewrite_seq(guest, sizeof guest, 0, out, &n, &ok);
	cr_assert_not(ok);
}
