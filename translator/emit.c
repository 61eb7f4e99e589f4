/* Host code emission: a bounded byte buffer and the handful of host instructions the
 * translator inserts around guest code. All of them leave RFLAGS alone (DESIGN.md §2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translator/tr_internal.h"

_Noreturn void tr_assert_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "bt86: assertion failed at %s:%d: %s\n", file, line, expr);
	abort();
}

void tr_emit_bytes(struct tr_emit *e, const void *bytes, size_t n)
{
	if ((size_t)(e->end - e->p) < n) {
		e->overflow = true;
		return;
	}
	memcpy(e->p, bytes, n);
	e->p += n;
}

void tr_emit_u8(struct tr_emit *e, uint8_t b)
{
	tr_emit_bytes(e, &b, 1);
}

void tr_emit_u32(struct tr_emit *e, uint32_t v)
{
	tr_emit_bytes(e, &v, 4);
}

void tr_emit_u64(struct tr_emit *e, uint64_t v)
{
	tr_emit_bytes(e, &v, 8);
}

/* `op reg, [base32 + disp]` with 32-bit addressing (0x67), optionally through the window (GS).
 * reg is the ModRM.reg value (a register or an opcode extension). */
static void tr_emit_modrm_base(struct tr_emit *e, bool window, bool opsize16, const uint8_t *op,
			       size_t op_len, unsigned reg, enum tr_hreg base, int32_t disp)
{
	if (window)
		tr_emit_u8(e, 0x65);
	tr_emit_u8(e, 0x67);
	if (opsize16)
		tr_emit_u8(e, 0x66);
	uint8_t rex = 0x40 | (reg >= 8 ? 4 : 0) | (base >= 8 ? 1 : 0);
	if (rex != 0x40)
		tr_emit_u8(e, rex);
	tr_emit_bytes(e, op, op_len);
	bool small = disp >= -128 && disp <= 127;
	uint8_t mod = small ? 1 : 2;
	tr_emit_u8(e, (uint8_t)(mod << 6 | (reg & 7) << 3 | (base & 7)));
	if ((base & 7) == TR_RSP)
		tr_emit_u8(e, 0x24);
	if (small)
		tr_emit_u8(e, (uint8_t)(int8_t)disp);
	else
		tr_emit_u32(e, (uint32_t)disp);
}

void tr_emit_store_win(struct tr_emit *e, enum tr_hreg base, int32_t disp, enum tr_hreg src,
		       unsigned size)
{
	static const uint8_t op[] = {0x89};
	tr_emit_modrm_base(e, true, size == 2, op, 1, src, base, disp);
}

void tr_emit_load_win(struct tr_emit *e, enum tr_hreg dst, enum tr_hreg base, int32_t disp,
		      unsigned size)
{
	static const uint8_t mov[] = {0x8b};
	static const uint8_t movzx16[] = {0x0f, 0xb7};
	if (size == 2)
		tr_emit_modrm_base(e, true, false, movzx16, 2, dst, base, disp);
	else
		tr_emit_modrm_base(e, true, false, mov, 1, dst, base, disp);
}

void tr_emit_store_win_imm(struct tr_emit *e, int32_t disp, uint32_t imm, unsigned size)
{
	static const uint8_t op[] = {0xc7};
	tr_emit_modrm_base(e, true, size == 2, op, 1, 0, TR_RSP, disp);
	if (size == 2) {
		uint16_t v = (uint16_t)imm;
		tr_emit_bytes(e, &v, 2);
	} else {
		tr_emit_u32(e, imm);
	}
}

void tr_emit_adjust_esp(struct tr_emit *e, int32_t disp)
{
	/* lea esp, [rsp + disp]: 32-bit destination, so the result wraps and zero-extends. */
	static const uint8_t op[] = {0x8d};
	bool small = disp >= -128 && disp <= 127;
	tr_emit_bytes(e, op, 1);
	tr_emit_u8(e, small ? 0x64 : 0xa4);
	tr_emit_u8(e, 0x24);
	if (small)
		tr_emit_u8(e, (uint8_t)(int8_t)disp);
	else
		tr_emit_u32(e, (uint32_t)disp);
}

/* A RIP-relative disp32 to target from the end of an instruction whose disp32 field is the
 * last 4 bytes and starts at e->p. */
static void tr_emit_rip_disp(struct tr_emit *e, const void *target)
{
	intptr_t rel = (intptr_t)target - (intptr_t)(e->p + 4);
	ASSERT(rel == (int32_t)rel);
	tr_emit_u32(e, (uint32_t)(int32_t)rel);
}

void tr_emit_count(struct tr_emit *e, const uint64_t *counter)
{
	static const uint8_t load[] = {0x4c, 0x8b, 0x25};	     /* mov r12, [rip+d32] */
	static const uint8_t inc[] = {0x4d, 0x8d, 0x64, 0x24, 0x01}; /* lea r12, [r12+1] */
	static const uint8_t store[] = {0x4c, 0x89, 0x25};	     /* mov [rip+d32], r12 */
	tr_emit_bytes(e, load, sizeof load);
	tr_emit_rip_disp(e, counter);
	tr_emit_bytes(e, inc, sizeof inc);
	tr_emit_bytes(e, store, sizeof store);
	tr_emit_rip_disp(e, counter);
}

void tr_emit_rdtsc(struct tr_emit *e)
{
	static const uint8_t head[] = {
	    0x0f, 0x31,				/* rdtsc */
	    0x41, 0xbc, 0x20, 0x00, 0x00, 0x00, /* mov r12d, 32 */
	    0xc4, 0xe2, 0x99, 0xf7, 0xd2,	/* shlx rdx, rdx, r12 */
	    0x48, 0x8d, 0x04, 0x10,		/* lea rax, [rax + rdx] */
	    0x4d, 0x8b, 0xa7,			/* mov r12, [r15 + disp32] */
	};
	static const uint8_t tail[] = {
	    0x4a, 0x8d, 0x04, 0x20,		/* lea rax, [rax + r12] */
	    0x48, 0x89, 0xc2,			/* mov rdx, rax */
	    0x41, 0xbc, 0x20, 0x00, 0x00, 0x00, /* mov r12d, 32 */
	    0xc4, 0xe2, 0x9b, 0xf7, 0xd2,	/* shrx rdx, rdx, r12 */
	    0x89, 0xc0,				/* mov eax, eax */
	};
	tr_emit_bytes(e, head, sizeof head);
	tr_emit_u32(e, (uint32_t)offsetof(struct tr_frame, tsc_offset));
	tr_emit_bytes(e, tail, sizeof tail);
}

void tr_emit_store_frame_u8(struct tr_emit *e, uint32_t offset, uint8_t value)
{
	static const uint8_t op[] = {0x41, 0xc6, 0x87}; /* mov byte [r15 + disp32], imm8 */
	tr_emit_bytes(e, op, sizeof op);
	tr_emit_u32(e, offset);
	tr_emit_u8(e, value);
}

uint8_t *tr_emit_if_frame_u8(struct tr_emit *e, uint32_t offset)
{
	static const uint8_t park[] = {0x4c, 0x89, 0xd9};	/* mov rcx, r11 */
	static const uint8_t save[] = {0x49, 0x89, 0xcb};	/* mov r11, rcx */
	static const uint8_t load[] = {0x41, 0x0f, 0xb6, 0x8f}; /* movzx ecx, byte [r15+d32] */
	tr_emit_bytes(e, save, sizeof save);
	tr_emit_bytes(e, load, sizeof load);
	tr_emit_u32(e, offset);
	tr_emit_u8(e, 0xe3); /* jrcxz rel8 */
	uint8_t *rel8 = e->p;
	tr_emit_u8(e, 0);
	tr_emit_bytes(e, park, sizeof park); /* restore rcx on the fall-through path */
	return rel8;
}

void tr_emit_skip_target(struct tr_emit *e, uint8_t *rel8)
{
	static const uint8_t restore[] = {0x4c, 0x89, 0xd9}; /* mov rcx, r11 */
	ptrdiff_t rel = e->p - (rel8 + 1);
	ASSERT(rel >= 0 && rel <= 127);
	*rel8 = (uint8_t)rel;
	tr_emit_bytes(e, restore, sizeof restore);
}

void tr_emit_mov_r32(struct tr_emit *e, enum tr_hreg dst, enum tr_hreg src)
{
	ASSERT(dst < TR_R15 && src <= TR_R15); /* r15 is the frame pointer */
	uint8_t rex = 0x40 | (src >= 8 ? 4 : 0) | (dst >= 8 ? 1 : 0);
	if (rex != 0x40)
		tr_emit_u8(e, rex);
	tr_emit_u8(e, 0x89);
	tr_emit_u8(e, (uint8_t)(0xc0 | (src & 7) << 3 | (dst & 7)));
}

void tr_emit_mov_imm32(struct tr_emit *e, enum tr_hreg dst, uint32_t imm)
{
	if (dst >= 8)
		tr_emit_u8(e, 0x41);
	tr_emit_u8(e, (uint8_t)(0xb8 + (dst & 7)));
	tr_emit_u32(e, imm);
}

void tr_emit_exit(struct tr_emit *e, const struct tr_exit *exit)
{
	static const uint8_t mov_r14[] = {0x49, 0xbe};
	static const uint8_t jmp_exit[] = {0x41, 0xff, 0x67, TRF_EXIT_COMMON};
	tr_emit_bytes(e, mov_r14, sizeof mov_r14);
	tr_emit_u64(e, (uint64_t)(uintptr_t)exit);
	tr_emit_bytes(e, jmp_exit, sizeof jmp_exit);
}

_Static_assert(TR_JC_INDEX_BITS == 18 && TRF_JC == 0x2c0 && TRF_JC_SALT == 0x44 && TRF_IBL == 0x50,
	       "the bytes of the inline lookup encode these");

const uint8_t tr_jc_index_code[24] = {
    0x41, 0xbc, 0x0e, 0x00, 0x00, 0x00,		    /* mov r12d, 32 - TR_JC_INDEX_BITS */
    0xc4, 0x42, 0x19, 0xf7, 0xee,		    /* shlx r13d, r14d, r12d */
    0xc4, 0x42, 0x1b, 0xf7, 0xed,		    /* shrx r13d, r13d, r12d */
    0x4e, 0x8d, 0x2c, 0xed, 0x00, 0x00, 0x00, 0x00, /* lea r13, [r13 * 8] */
};

/* The lookup of translator/entry.S's tr_ibl, inline at each site: each site's final indirect
 * jump then has its own entry in the host's branch predictor (one shared jump mispredicts
 * nearly always), and only a miss goes through tr_ibl. */
void tr_emit_ibl_jump(struct tr_emit *e)
{
	static const uint8_t lookup[] = {
	    0x47, 0x8b, 0xa4, 0x6f, 0xc0, 0x02, 0x00, 0x00, /* mov r12d, [r15 + r13*2 + jc] */
	    0x45, 0x89, 0xf3,				    /* mov r11d, r14d */
	    0x41, 0xf7, 0xd3,				    /* not r11d */
	    0x47, 0x8d, 0x64, 0x1c, 0x01,		    /* lea r12d, [r12 + r11 + 1] */
	    0x45, 0x8b, 0x5f, 0x44,			    /* mov r11d, [r15 + jc_salt] */
	    0x47, 0x8d, 0x24, 0x1c,			    /* lea r12d, [r12 + r11] */
	    0x49, 0x89, 0xcb,				    /* mov r11, rcx */
	    0x44, 0x89, 0xe1,				    /* mov ecx, r12d */
	    0xe3, 0x07,					    /* jrcxz hit */
	    0x4c, 0x89, 0xd9,				    /* mov rcx, r11 */
	    0x41, 0xff, 0x67, 0x50,			    /* jmp [r15 + ibl]: the miss */
	    0x4c, 0x89, 0xd9,				    /* hit: mov rcx, r11 */
	    0x43, 0xff, 0xa4, 0x6f, 0xc8, 0x02, 0x00, 0x00, /* jmp [r15 + r13*2 + jc + 8] */
	};
	tr_emit_bytes(e, tr_jc_index_code, sizeof tr_jc_index_code);
	tr_emit_bytes(e, lookup, sizeof lookup);
}

void tr_emit_request(struct tr_emit *e, ZydisEncoderRequest *req)
{
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
	ZyanUSize len = sizeof buf;
	ZyanStatus st = ZydisEncoderEncodeInstruction(req, buf, &len);
	ASSERT(ZYAN_SUCCESS(st));
	tr_emit_bytes(e, buf, len);
}
