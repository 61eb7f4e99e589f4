/* bt86-difftest: the pieces of the differential tester and how they talk to each other.
 *
 * gen*.c build a random instruction sequence (struct dt_seq) from a seed and an index;
 * flow.c assembles it and checks its flag data flow; native_link.c runs it on the real CPU
 * through the 32-bit runner, guest.c under bt86; compare.c decides whether the two outcomes
 * agree and prints them; main.c drives the campaign, shrinks divergences and survives
 * crashes of the code under test.
 */
#ifndef BT86_DIFFTEST_H
#define BT86_DIFFTEST_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

#define DT_ASSERT(x) ((x) ? (void)0 : dt_assert_fail(__FILE__, __LINE__, #x))
_Noreturn void dt_assert_fail(const char *file, int line, const char *expr);

/* ---- random numbers (xoshiro256**, seeded through splitmix64) -------------------------------- */

struct dt_rng {
	uint64_t s[4];
};

/* Seed so that the stream depends only on (seed, index): sequence i is reproducible alone. */
void dt_rng_seed(struct dt_rng *rng, uint64_t seed, uint64_t index);
uint64_t dt_rng_next(struct dt_rng *rng);
/* Uniform in [0, n); n > 0. */
uint32_t dt_rng_below(struct dt_rng *rng, uint32_t n);
/* True with the given probability in percent. */
bool dt_rng_chance(struct dt_rng *rng, unsigned percent);

/* ---- instruction classes --------------------------------------------------------------------- */

#define DT_CLASS_LIST(X)                                                                           \
	X(ALU, "alu")                                                                              \
	X(SHIFT, "shift")                                                                          \
	X(MULDIV, "muldiv")                                                                        \
	X(BIT, "bit")                                                                              \
	X(BCD, "bcd")                                                                              \
	X(MEM, "mem")                                                                              \
	X(STACK, "stack")                                                                          \
	X(STRING, "string")                                                                        \
	X(BRANCH, "branch")                                                                        \
	X(X87, "x87")                                                                              \
	X(MMX, "mmx")                                                                              \
	X(SSE, "sse")

enum dt_class {
#define DT_CLASS_ENUM(name, text) DT_CLASS_##name,
	DT_CLASS_LIST(DT_CLASS_ENUM)
#undef DT_CLASS_ENUM
	    DT_CLASS_COUNT
};

#define DT_CLASS_ALL ((1u << DT_CLASS_COUNT) - 1)

const char *dt_class_name(enum dt_class cls);
/* Parse "alu,shift,..." into a class mask. Returns 0 and sets *mask, or -1 on an unknown name
 * (copied into bad, bad_len bytes). */
int dt_class_parse(const char *text, unsigned *mask, char *bad, size_t bad_len);

/* ---- EFLAGS ---------------------------------------------------------------------------------- */

enum {
	DT_CF = 1u << 0,
	DT_PF = 1u << 2,
	DT_AF = 1u << 4,
	DT_ZF = 1u << 6,
	DT_SF = 1u << 7,
	DT_TF = 1u << 8,
	DT_IF = 1u << 9,
	DT_DF = 1u << 10,
	DT_OF = 1u << 11,
	DT_NT = 1u << 14,
	DT_RF = 1u << 16,
	DT_AC = 1u << 18,
	DT_ID = 1u << 21,
};
#define DT_ARITH (DT_CF | DT_PF | DT_AF | DT_ZF | DT_SF | DT_OF)
/* The EFLAGS bits compared: everything a CPL-3 program can see and set except RF, which the
 * kernel's fault frame carries and bt86 does not model at a stop. */
#define DT_EFLAGS_COMPARED (DT_ARITH | DT_TF | DT_IF | DT_DF | (3u << 12) | DT_NT | DT_AC | DT_ID)

/* undefined_flags.c: what an instruction does to the arithmetic flags, per the SDM. */
enum dt_fk {
	DT_FK_NONE,   /* mov, lea, not, push, ... */
	DT_FK_ARITH,  /* add adc sub sbb cmp neg cmpxchg xadd cmps scas */
	DT_FK_LOGIC,  /* and or xor test */
	DT_FK_INCDEC, /* inc dec */
	DT_FK_MUL,    /* mul imul */
	DT_FK_DIV,    /* div idiv (when they do not fault) */
	DT_FK_SHL,    /* shl sal shr: count-dependent */
	DT_FK_SAR,    /* sar: count-dependent */
	DT_FK_ROT,    /* rol ror: count-dependent */
	DT_FK_RC,     /* rcl rcr: count-dependent */
	DT_FK_SHXD,   /* shld shrd: count-dependent */
	DT_FK_BT,     /* bt bts btr btc */
	DT_FK_BSF,    /* bsf bsr */
	DT_FK_DAA,    /* daa das */
	DT_FK_AAA,    /* aaa aas */
	DT_FK_AAM,    /* aam aad */
	DT_FK_SAHF,   /* sahf */
	DT_FK_CARRY,  /* clc stc cmc */
	DT_FK_ALL,    /* popf, comis/ucomis, fcomi/fucomi: all six written */
	DT_FK_ZF,     /* cmpxchg8b */
	DT_FK_COUNT
};

struct dt_flag_effect {
	uint16_t def;	/* arithmetic flags written with a defined value */
	uint16_t undef; /* arithmetic flags left undefined */
};

/* The effect of an instruction of kind fk with an operand of size_bits and (for the
 * count-dependent kinds) the count operand as the instruction sees it, before masking. */
struct dt_flag_effect dt_flag_effect(enum dt_fk fk, unsigned size_bits, uint32_t count);
const char *dt_fk_name(enum dt_fk fk);
/* The arithmetic flags condition code cc (0..15, as in jcc) reads. */
uint16_t dt_cc_flags(unsigned cc);

/* ---- a sequence ------------------------------------------------------------------------------ */

#define DT_MAX_INSNS  160
#define DT_MAX_LABELS 96
#define DT_MAX_UNITS  160
#define DT_INSN_BYTES 15

/* How control leaves an instruction. */
enum dt_flow {
	DT_FLOW_NEXT, /* falls through */
	DT_FLOW_COND, /* to its label or through */
	DT_FLOW_JUMP, /* always to its label (jmp, call to a local target, ret to its call) */
};

/* What needs patching once addresses are known. */
enum dt_fix {
	DT_FIX_NONE,
	DT_FIX_REL8,  /* 1-byte displacement at fix_at, relative to the end of the instruction */
	DT_FIX_REL32, /* 4-byte displacement at fix_at */
	DT_FIX_ABS32, /* 4-byte absolute address of the label at fix_at */
};

struct dt_insn {
	uint8_t bytes[DT_INSN_BYTES];
	uint8_t len;
	uint8_t flow;	/* enum dt_flow */
	uint8_t fix;	/* enum dt_fix */
	uint8_t fix_at; /* byte offset of the patched field */
	int8_t fix_add; /* added to the label's address for DT_FIX_ABS32 */
	uint8_t cls;	/* enum dt_class that generated it */
	bool pinned;	/* set-up that must not be dropped without its unit */
	bool dropped;	/* removed by the shrinker */
	int16_t label;	/* branch target or patched address: a label, or -1 */
	int16_t unit;	/* innermost unit (generator construct) it belongs to */
	uint16_t flags_read;
	struct dt_flag_effect fx;
};

struct dt_seq {
	uint64_t seed;
	uint64_t index;
	unsigned class_mask;

	struct dt_insn insn[DT_MAX_INSNS];
	int n_insns;
	int label_at[DT_MAX_LABELS]; /* the instruction a label precedes; n_insns: the final hlt */
	int n_labels;
	int unit_parent[DT_MAX_UNITS]; /* -1 for a top-level unit */
	int n_units;

	/* The initial state. */
	uint32_t code_base; /* where the sequence starts (EIP), inside the code region */
	uint32_t gpr[DT_GPR_COUNT];
	uint32_t eflags;
	alignas(16) uint8_t fxsave[DT_FXSAVE_SIZE];
	uint8_t data[DT_DATA_SIZE];
	uint8_t stack[DT_STACK_SIZE];

	/* Filled by dt_seq_assemble and dt_seq_analyze. */
	uint8_t code[DT_CODE_SIZE]; /* the whole code region */
	uint32_t code_len;
	uint32_t insn_addr[DT_MAX_INSNS + 1]; /* [n_insns]: the final hlt */
	uint16_t undef_before[DT_MAX_INSNS + 1];
};

/* gen.c: fill seq with sequence index of seed, using the classes in class_mask. */
void dt_generate(struct dt_seq *seq, uint64_t seed, uint64_t index, unsigned class_mask);

/* flow.c: lay the live instructions out at code_base, patch branches, end with hlt and
 * fill the rest of the code region with hlt. Returns false if something no longer fits (a short
 * branch out of range after the shrinker dropped the wrong thing). */
bool dt_seq_assemble(struct dt_seq *seq);
/* flow.c: compute undef_before[] over the control flow. Returns false, with the offending
 * instruction in *bad if not NULL, if some instruction may read an undefined flag. */
bool dt_seq_analyze(struct dt_seq *seq, int *bad);
/* The instruction starting at eip, or -1. The final hlt is n_insns. */
int dt_seq_insn_at(const struct dt_seq *seq, uint32_t eip);
/* A label's instruction after dropping: the first live instruction at or after it. */
int dt_seq_label_target(const struct dt_seq *seq, int label);
/* Number of live instructions (without the final hlt). */
int dt_seq_live_count(const struct dt_seq *seq);

/* ---- known divergences (known.c) ------------------------------------------------------------- */

/* Forms that diverge for a reason already reported, which the generator leaves out until the
 * fix lands (--include-known brings them back). known.c describes each one. */
enum dt_known {
	DT_KNOWN_MF_SSE_MMX,   /* a pending x87 exception at an SSE instruction on MMX registers */
	DT_KNOWN_MMX_CS_WRITE, /* an MMX store through a CS override */
	DT_KNOWN_COUNT
};
/* May the generator produce the form identified by id? */
bool dt_known_allowed(enum dt_known id);
void dt_known_include_all(void);
/* List the excluded forms (for --list-known and the summary). */
void dt_known_print(void);
int dt_known_excluded_count(void);

/* ---- outcomes and their comparison ----------------------------------------------------------- */

enum dt_out_kind {
	DT_OUT_HLT,   /* reached a hlt; eip is the hlt's address */
	DT_OUT_FAULT, /* stopped at an exception */
	DT_OUT_OTHER, /* anything else: bt86 stopped for its own reasons, an odd signal */
};

struct dt_outcome {
	enum dt_out_kind kind;
	uint8_t vector;
	uint32_t eip;
	uint32_t gpr[DT_GPR_COUNT];
	uint32_t eflags;
	alignas(16) uint8_t fxsave[DT_FXSAVE_SIZE];
	uint8_t code[DT_CODE_SIZE];
	uint8_t data[DT_DATA_SIZE];
	uint8_t stack[DT_STACK_SIZE];
	char note[240]; /* how it ended, in words */
};

/* Fields of an outcome, for reporting and for keeping a shrunk divergence the same one. */
enum {
	DT_DIFF_END = 1u << 0, /* kind or vector */
	DT_DIFF_EIP = 1u << 1,
	DT_DIFF_GPR = 1u << 2, /* << register number */
	DT_DIFF_EFLAGS = 1u << 10,
	DT_DIFF_X87 = 1u << 11, /* FCW FSW FTW ST0-7 */
	DT_DIFF_SSE = 1u << 12, /* MXCSR XMM0-7 */
	DT_DIFF_DATA = 1u << 13,
	DT_DIFF_STACK = 1u << 14,
	DT_DIFF_CODE = 1u << 15,
};

/* Compare native with bt86 for seq. Returns the DT_DIFF_ mask of fields that differ. */
unsigned dt_compare(const struct dt_seq *seq, const struct dt_outcome *native,
		    const struct dt_outcome *bt86);
/* Print the two outcomes side by side, marking differences. */
void dt_print_outcomes(const struct dt_seq *seq, const struct dt_outcome *native,
		       const struct dt_outcome *bt86);
/* Print the sequence's disassembly and its initial state. */
void dt_print_seq(const struct dt_seq *seq);
void dt_print_initial_state(const struct dt_seq *seq);

/* ---- running --------------------------------------------------------------------------------- */

struct dt_native;
/* Start the native runner at path. Returns NULL with a message on stderr on failure. */
struct dt_native *dt_native_start(const char *path);
void dt_native_stop(struct dt_native *nat);
/* Send seq to the runner (it starts at once). Returns 0 or -1 if the runner is gone. */
int dt_native_send(struct dt_native *nat, const struct dt_seq *seq);
/* Receive the outcome of the last dt_native_send. Returns 0 or -1 if the runner is gone. */
int dt_native_recv(struct dt_native *nat, struct dt_outcome *out);

struct dt_guest;
/* Create the bt86 VM. Returns NULL with a message on stderr on failure. */
struct dt_guest *dt_guest_create(void);
void dt_guest_destroy(struct dt_guest *guest);
/* Run seq under bt86. */
void dt_guest_run(struct dt_guest *guest, const struct dt_seq *seq, struct dt_outcome *out);

#endif
