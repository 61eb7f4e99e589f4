/* Private to translator/: the translator's state, blocks and the stages' interfaces. */
#ifndef BT86_TR_INTERNAL_H
#define BT86_TR_INTERNAL_H

#include <Zydis/Zydis.h>

#include "translator/translator.h"

#define ASSERT(x) ((x) ? (void)0 : tr_assert_fail(__FILE__, __LINE__, #x))
_Noreturn void tr_assert_fail(const char *file, int line, const char *expr);

/* ---- classify.c: the instruction-class table ---- */

enum tr_class {
	TR_CLASS_IDENT,	    /* copied unchanged (re-encoded where 64-bit mode differs) */
	TR_CLASS_MEM,	    /* copied with the memory operand moved onto the window */
	TR_CLASS_STACK,	    /* push/pop family, rewritten onto the window */
	TR_CLASS_STRING,    /* movs/stos/lods/cmps/scas */
	TR_CLASS_CONTROL,   /* near branches: block exits */
	TR_CLASS_SENSITIVE, /* callout into the runtime */
	TR_CLASS_UNDEFINED, /* callout that raises #UD */
	TR_CLASS_COUNT
};

enum tr_class_flags {
	TR_CF_ENDS_BLOCK = 1u << 0, /* the callout may change mode, interrupts or control flow */
	TR_CF_FPU = 1u << 1,	    /* x87/MMX: #NM when CR0.EM or CR0.TS */
	TR_CF_SSE = 1u << 2,	    /* SSE/SSE2: #UD without CR4.OSFXSR, #NM on CR0.TS */
};

struct tr_class_info {
	uint8_t cls;	 /* enum tr_class */
	uint8_t callout; /* enum tr_callout, for SENSITIVE and UNDEFINED */
	uint8_t flags;	 /* enum tr_class_flags */
};

/* Classify one decoded guest instruction. Pure function of the instruction. */
struct tr_class_info tr_classify(const ZydisDecodedInstruction *insn,
				 const ZydisDecodedOperand *ops);
const char *tr_class_name(enum tr_class cls);

/* ---- emit.c: host code buffer ---- */

struct tr_emit {
	uint8_t *start;
	uint8_t *p;
	uint8_t *end;
	bool overflow;
	uint8_t seg_based; /* segments (bit = ES..GS) whose base is not zero for this block */
};

void tr_emit_bytes(struct tr_emit *e, const void *bytes, size_t n);
void tr_emit_u8(struct tr_emit *e, uint8_t b);
void tr_emit_u32(struct tr_emit *e, uint32_t v);
void tr_emit_u64(struct tr_emit *e, uint64_t v);

/* Host registers for the encoder helpers: 0..15 in x86-64 numbering. */
enum tr_hreg {
	TR_RAX,
	TR_RCX,
	TR_RDX,
	TR_RBX,
	TR_RSP,
	TR_RBP,
	TR_RSI,
	TR_RDI,
	TR_R8,
	TR_R9,
	TR_R10,
	TR_R11,
	TR_R12,
	TR_R13,
	TR_R14,
	TR_R15,
	TR_NOREG = 0xff
};

/* `mov r12, [rip+c]; lea r12, [r12+1]; mov [rip+c], r12`: count one execution in the 64-bit
 * counter at host address counter, flags untouched. */
void tr_emit_count(struct tr_emit *e, const uint64_t *counter);
/* The guest's rdtsc inline: the host's, plus frame->tsc_offset, into EDX:EAX (flag-free:
 * shlx/shrx and lea). */
void tr_emit_rdtsc(struct tr_emit *e);
/* `mov byte [r15 + offset], value`. */
void tr_emit_store_frame_u8(struct tr_emit *e, uint32_t offset, uint8_t value);
/* `mov r11, rcx; movzx ecx, byte [r15 + offset]; jrcxz skip; mov rcx, r11`: flag-free test
 * of a frame byte, falling through when it is non-zero. Returns the rel8 field to patch with
 * tr_emit_skip_target (which also restores rcx on the skip path). */
uint8_t *tr_emit_if_frame_u8(struct tr_emit *e, uint32_t offset);
void tr_emit_skip_target(struct tr_emit *e, uint8_t *rel8);
/* `mov r14, imm64; jmp [r15 + TRF_EXIT_COMMON]`: leave to the dispatcher through exit. */
void tr_emit_exit(struct tr_emit *e, const struct tr_exit *exit);
/* `jmp [r15 + TRF_IBL]` with the target eip already in r14d. */
void tr_emit_ibl_jump(struct tr_emit *e);
/* A 32-bit mov between host registers: dst = src (zero-extends). */
void tr_emit_mov_r32(struct tr_emit *e, enum tr_hreg dst, enum tr_hreg src);
/* mov dword gs:[base32 + disp], reg32 (window store). */
void tr_emit_store_win(struct tr_emit *e, enum tr_hreg base, int32_t disp, enum tr_hreg src,
		       unsigned size);
/* movzx/mov reg32, gs:[base32 + disp] (window load of 2 or 4 bytes). */
void tr_emit_load_win(struct tr_emit *e, enum tr_hreg dst, enum tr_hreg base, int32_t disp,
		      unsigned size);
/* mov dword/word gs:[esp + disp], imm. */
void tr_emit_store_win_imm(struct tr_emit *e, int32_t disp, uint32_t imm, unsigned size);
/* lea esp, [rsp + disp] (32-bit result, flags untouched). */
void tr_emit_adjust_esp(struct tr_emit *e, int32_t disp);
/* mov r32, imm32 */
void tr_emit_mov_imm32(struct tr_emit *e, enum tr_hreg dst, uint32_t imm);
/* Generic: encode one host instruction through Zydis' encoder; ASSERTs on failure. */
void tr_emit_request(struct tr_emit *e, ZydisEncoderRequest *req);

/* ---- rewrite.c: guest instructions re-encoded for the host ---- */

/* Emit a guest IDENT or MEM instruction for 64-bit mode: memory operands onto the GS window
 * with 32-bit addressing, [disp32] through the SIB no-base form, inc/dec short forms and other
 * encodings 64-bit mode reads differently re-encoded. Returns false if the instruction cannot
 * be expressed (the caller falls back to a callout). */
bool tr_rewrite_copy(struct tr_emit *e, const ZydisDecodedInstruction *insn,
		     const ZydisDecodedOperand *ops, const uint8_t *bytes);

/* Emit `op reg, <the guest's memory operand>` for an instruction of our choosing that takes
 * the guest's ModRM memory operand (e.g. `mov r14d, gs:[ebx+4]` for `call [ebx+4]`).
 * opcode: 1-2 bytes; reg: host register for ModRM.reg (r8-r15 set REX.R); disp_adjust is added
 * to the displacement (pop [esp+x] reads its address after the pop). Returns false if the
 * operand cannot be expressed. */
bool tr_rewrite_mem_op(struct tr_emit *e, const ZydisDecodedInstruction *insn, const uint8_t *bytes,
		       uint8_t prefix66, const uint8_t *opcode, size_t opcode_len, unsigned reg,
		       int32_t disp_adjust, bool window);

/* The first bytes of every inline jump-cache lookup: r13 = (r14d mod TR_JC_ENTRIES) * 8, so
 * that [r15 + r13*2 + TRF_JC] is an entry (the verifier admits that addressing only right
 * after these exact bytes, until r13 is written again). */
extern const uint8_t tr_jc_index_code[24];

/* ---- verify.c: the translation verifier ---- */

/* Where verified code may branch and count: relative branches must land in
 * [cache_lo, cache_hi); RIP-relative accesses (the execution counters of --trace-counts) must
 * lie wholly in [counts_lo, counts_hi), which is empty when blocks do not count. */
struct tr_code_bounds {
	uintptr_t cache_lo, cache_hi;
	uintptr_t counts_lo, counts_hi;
};

/* Check host code against the rules in verify.c. Returns true if it passes; otherwise false
 * with the first violation described in msg. */
bool tr_verify_code(const uint8_t *code, size_t len, const struct tr_code_bounds *bounds, char *msg,
		    size_t msg_len);

/* ---- cache.c / block.c ---- */

struct tr_insn_map {
	uint32_t guest_eip;
	uint32_t host_off;
};

struct tr_block {
	struct tr_key key;
	uint8_t *host;
	uint32_t host_len;
	uint32_t guest_len;
	uint32_t pages[2];
	uint8_t n_pages;
	bool valid;
	bool cached; /* in the lookup table (not a single-instruction block) */
	uint16_t n_insns;
	struct tr_insn_map *map;  /* n_insns entries */
	struct tr_exit *links_in; /* exits chained to this block */
	struct tr_exit **exits;	  /* this block's direct exits (chainable) */
	uint16_t n_exits;
	struct tr_block *hash_next;
};

/* One (page, block) pair of the page index used to invalidate translations on writes. */
struct tr_page_node {
	uint32_t page;
	struct tr_block *block;
	struct tr_page_node *next;
};

struct tr_translator {
	struct tr_config config;
	ZydisDecoder decoder;

	uint8_t *code; /* code cache, RWX */
	size_t code_size;
	size_t code_used;
	/* --trace-counts: one counter per block slot (the index in blocks), right after the code
	 * cache in the same reservation so the code reaches it RIP-relative; NULL otherwise. */
	uint64_t *exec_counts;
	size_t exec_counts_bytes;

	uint8_t *data; /* exit records, instruction maps, block headers */
	size_t data_size;
	size_t data_used;

	struct tr_block **blocks; /* in host address order */
	size_t n_blocks;
	size_t max_blocks;

	struct tr_block **hash; /* by key */
	size_t hash_size;
	struct tr_page_node **page_hash; /* guest-physical page -> blocks on it */
	size_t page_hash_size;

	struct tr_counters counters;
};

void *tr_data_alloc(struct tr_translator *tr, size_t size);
/* The bounds the verifier holds this translator's code to. */
struct tr_code_bounds tr_code_bounds(const struct tr_translator *tr);
void tr_block_publish(struct tr_translator *tr, struct tr_block *block);
void tr_unlink_exit(struct tr_exit *exit);

#endif
