/* The generator's shared machinery (gen.c) for the per-class generators (gen_*.c).
 *
 * The generator knows the initial registers exactly and tracks which registers still hold a
 * value it knows, so memory operands can be built with any base/index register and a
 * displacement that lands on a chosen address inside the data or stack area. Whatever it
 * cannot know (a loaded value, a product) makes the register unknown; a flag-free `mov reg,
 * imm32` makes it known again when an address needs it. It also tracks which arithmetic flags
 * are undefined and emits a flag-defining `cmp` before anything that would read one.
 *
 * Each class generator produces one unit (one instruction, or a construct such as a loop or a
 * call to a local function) and returns false, having emitted nothing that counts, if it cannot
 * in the current context; the driver then restores a snapshot and tries another.
 */
#ifndef BT86_DIFFTEST_GEN_INTERNAL_H
#define BT86_DIFFTEST_GEN_INTERNAL_H

#include "difftest.h"

#define DT_REG_BIT(r) ((uint8_t)(1u << (r)))

/* What the generator knows about the state at the current point of the sequence. */
struct dt_track {
	bool known[DT_GPR_COUNT];
	uint32_t val[DT_GPR_COUNT];
	uint16_t undef; /* arithmetic flags that may be undefined here */
	bool df_known;
	bool df;
};

/* A forward label not bound yet, with the state of the branches that go to it. */
struct dt_pending {
	int label;
	int units_left;	  /* bind it after this many more units */
	bool short_range; /* some branch to it has an 8-bit displacement */
	uint32_t from;	  /* code bytes before the end of its first branch */
	int scope;	  /* the body depth it was made in: it binds inside that body */
	struct dt_track st;
};

#define DT_MAX_PENDING 16
#define DT_MAX_PROT    4

struct dt_gen {
	struct dt_rng rng;
	struct dt_seq *seq;
	unsigned classes;
	struct dt_track t;
	bool dead; /* after an unconditional jump, until a label binds */
	struct dt_pending pend[DT_MAX_PENDING];
	int n_pend;
	uint32_t bytes; /* code bytes emitted so far */
	int unit;
	uint8_t cls;
	uint8_t lock;	  /* registers set-up code must not write right now */
	uint8_t no_write; /* registers nothing may write (ESP always; loop body addresses) */
	bool in_loop;
	bool force_mem;	   /* the mem class: r/m operands are memory */
	bool invalid;	   /* the unit broke a constraint: dt_gen_unit throws it away */
	bool x87_unmasked; /* some fldcw unmasked an x87 exception */
	int depth;	   /* construct nesting */
	bool stack_free;
	/* Stack bytes that memory operands must not write: return addresses of calls in
	 * progress. */
	uint32_t prot_lo[DT_MAX_PROT], prot_hi[DT_MAX_PROT];
	int n_prot;
};

/* A memory operand as built: the effective address is base + index * scale + disp. */
struct dt_mem {
	int8_t base;  /* -1: none */
	int8_t index; /* -1: none */
	uint8_t scale;
	uint8_t disp_size; /* 0, 1 or 4 */
	bool sib;	   /* encode with a SIB byte even where none is needed */
	uint8_t seg;	   /* segment-override prefix byte, or 0 */
	uint8_t seg2;	   /* an earlier, overridden one (the last prefix wins), or 0 */
	int32_t disp;
	uint32_t addr;
};

/* A ModRM r/m operand: a register (of the instruction's size) or memory. */
struct dt_rm {
	bool is_mem;
	uint8_t reg;
	struct dt_mem m;
};

/* Memory operand requests. */
enum {
	DT_MEM_WRITE = 1u << 0,	   /* it is written */
	DT_MEM_NO_STACK = 1u << 1, /* only in the data area */
	DT_MEM_NO_SEG = 1u << 2,   /* no segment override */
	DT_MEM_UNALIGNED_OK = 1u << 3,
};

/* ---- emission -------------------------------------------------------------------------------- */
struct dt_insn *dt_emit_begin(struct dt_gen *g);
void dt_b(struct dt_insn *in, uint8_t byte);
void dt_w(struct dt_insn *in, uint16_t v);
void dt_d(struct dt_insn *in, uint32_t v);
/* The segment-override prefix of rm, if any (prefixes go before the opcode). */
void dt_prefix_rm(struct dt_insn *in, const struct dt_rm *rm);
/* ModRM (+ SIB + displacement) for reg_field and rm. */
void dt_modrm(struct dt_insn *in, unsigned reg_field, const struct dt_rm *rm);
/* Finish an instruction: flags read, flag effect, GPRs it writes (made unknown). */
void dt_emit_end(struct dt_gen *g, struct dt_insn *in, uint16_t flags_read,
		 struct dt_flag_effect fx, uint8_t written);
/* The same with the effect of kind fk for size/count. */
void dt_emit_end_fk(struct dt_gen *g, struct dt_insn *in, uint16_t flags_read, enum dt_fk fk,
		    unsigned size, uint32_t count, uint8_t written);

/* ---- state ----------------------------------------------------------------------------------- */
void dt_set_reg(struct dt_gen *g, int reg, uint32_t value);
bool dt_can_write(const struct dt_gen *g, uint8_t regs);
/* The GPR a register operand of size bits writes. */
uint8_t dt_reg_bit(unsigned size, unsigned reg);
/* Emit a flag-defining cmp if any of flags may be undefined. */
void dt_need_flags(struct dt_gen *g, uint16_t flags);
/* Make reg hold value with a flag-free mov. Returns false if reg may not be written. */
bool dt_load_reg(struct dt_gen *g, int reg, uint32_t value);
/* In a loop body an address register must keep its value for every iteration. */
void dt_use_addr_reg(struct dt_gen *g, int reg);

/* ---- operands -------------------------------------------------------------------------------- */
/* A register operand of size bits to write, or -1 if none may be written. */
int dt_pick_dst(struct dt_gen *g, unsigned size);
int dt_pick_src(struct dt_gen *g);
/* A memory operand of size bytes at an address aligned to align (a power of two) in the data
 * or stack area; may emit set-up. Returns false if no register can serve. */
bool dt_gen_mem(struct dt_gen *g, unsigned size, unsigned align, unsigned flags, struct dt_mem *m);
/* A register or (with percent_mem probability) memory operand of size bits. */
bool dt_gen_rm(struct dt_gen *g, unsigned size, bool write, unsigned percent_mem, struct dt_rm *rm);
/* Pick an address for size bytes inside the data area, aligned. */
uint32_t dt_pick_data_addr(struct dt_gen *g, unsigned size, unsigned align);

/* ---- control --------------------------------------------------------------------------------- */
int dt_label_new(struct dt_gen *g);
/* Bind label before the next instruction, merging the states of the branches to it. */
void dt_label_bind_here(struct dt_gen *g, int label);
/* A forward branch to label (to be bound units_left units later) was just emitted. */
void dt_branch_pending(struct dt_gen *g, int label, int units_left, bool short_range);
/* Generate one unit of some enabled class (nested inside the current construct). */
void dt_gen_unit(struct dt_gen *g);
/* Generate a body of n units in its own branch scope: forward branches inside it end inside
 * it. max_bytes bounds its size for short backward branches (0: no bound). */
void dt_gen_body(struct dt_gen *g, int n, uint32_t max_bytes);
/* The size of one random operand: 8, 16 or 32. */
unsigned dt_pick_size(struct dt_gen *g);
/* Emit the operand-size prefix for size 16. */
void dt_osize(struct dt_insn *in, unsigned size);

/* ---- the class generators (gen_int.c, gen_mem.c, gen_branch.c, gen_fp.c) --------------------- */
bool dt_gen_alu(struct dt_gen *g);
bool dt_gen_shift(struct dt_gen *g);
bool dt_gen_muldiv(struct dt_gen *g);
bool dt_gen_bit(struct dt_gen *g);
bool dt_gen_bcd(struct dt_gen *g);
bool dt_gen_memory(struct dt_gen *g);
bool dt_gen_stack(struct dt_gen *g);
bool dt_gen_string(struct dt_gen *g);
bool dt_gen_branch(struct dt_gen *g);
bool dt_gen_x87(struct dt_gen *g);
bool dt_gen_mmx(struct dt_gen *g);
bool dt_gen_sse(struct dt_gen *g);
/* The initial x87/MMX/SSE state as a valid FXSAVE image. */
void dt_gen_fpu_state(struct dt_gen *g, uint8_t fxsave[DT_FXSAVE_SIZE]);

#endif
