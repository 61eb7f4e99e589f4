/* translator — guest x86-32 code to host x86-64 code, and the code cache that holds it.
 *
 * The runtime's dispatcher asks tr_lookup() for the host code of a guest block and, on a miss,
 * translates it with tr_translate(); it enters translated code with tr_enter(), which returns
 * when the code leaves through an exit (a branch to untranslated code, an indirect-branch miss
 * or a callout). struct tr_frame is the contract between emitted code and the runtime: guest
 * registers saved at an exit, the window base, the jump cache. DESIGN.md §2-4 explain the
 * register conventions.
 */
#ifndef BT86_TRANSLATOR_H
#define BT86_TRANSLATOR_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "translator/frame_offsets.h"

struct trc_writer;
struct tr_block;

/* Guest general registers in the encoding order of x86 (ModRM.reg). */
enum tr_gpr { TR_EAX, TR_ECX, TR_EDX, TR_EBX, TR_ESP, TR_EBP, TR_ESI, TR_EDI };

/* Callouts: guest instructions the runtime performs in C. The translator picks the kind, the
 * runtime keeps the table of handlers (runtime/callouts.c) in the same order. */
#define TR_CALLOUT_LIST(X)                                                                         \
	X(UNDEFINED, "undefined")                                                                  \
	X(UNSUPPORTED, "unsupported")                                                              \
	X(INT, "int")                                                                              \
	X(INT3, "int3")                                                                            \
	X(INTO, "into")                                                                            \
	X(IRET, "iret")                                                                            \
	X(HLT, "hlt")                                                                              \
	X(CLI, "cli")                                                                              \
	X(STI, "sti")                                                                              \
	X(PUSHF, "pushf")                                                                          \
	X(POPF, "popf")                                                                            \
	X(IN, "in")                                                                                \
	X(OUT, "out")                                                                              \
	X(INS, "ins")                                                                              \
	X(OUTS, "outs")                                                                            \
	X(CPUID, "cpuid")                                                                          \
	X(RDTSC, "rdtsc")                                                                          \
	X(RDMSR, "rdmsr")                                                                          \
	X(WRMSR, "wrmsr")                                                                          \
	X(MOV_CR, "mov-cr")                                                                        \
	X(MOV_DR, "mov-dr")                                                                        \
	X(DESC_TABLE, "lgdt-lidt-sgdt-sidt")                                                       \
	X(SYS_SEG, "lldt-ltr-sldt-str")                                                            \
	X(MSW, "smsw-lmsw-clts")                                                                   \
	X(SEG_CHECK, "lar-lsl-verr-verw")                                                          \
	X(MOV_SREG, "mov-sreg")                                                                    \
	X(PUSH_SREG, "push-sreg")                                                                  \
	X(POP_SREG, "pop-sreg")                                                                    \
	X(LOAD_FAR_PTR, "lds-les-lfs-lgs-lss")                                                     \
	X(JMP_FAR, "jmp-far")                                                                      \
	X(CALL_FAR, "call-far")                                                                    \
	X(RET_FAR, "ret-far")                                                                      \
	X(BCD, "bcd")                                                                              \
	X(BOUND, "bound")                                                                          \
	X(ARPL, "arpl")                                                                            \
	X(SALC, "salc")                                                                            \
	X(CACHE, "invlpg-wbinvd-invd")                                                             \
	X(STRING, "string")                                                                        \
	X(SYSENTER, "sysenter")                                                                    \
	X(SYSEXIT, "sysexit")                                                                      \
	X(ENTER, "enter")                                                                          \
	X(PUSHA16, "pusha16-popa16")                                                               \
	X(FPU_TRAP, "fpu-unavailable")                                                             \
	X(SEG_FAULT, "segment-protection")                                                         \
	X(STACK, "stack-on-based-ss")                                                              \
	X(HYPERCALL, "hypercall")
enum tr_callout {
#define TR_CALLOUT_ENUM(name, text) TR_CALLOUT_##name,
	TR_CALLOUT_LIST(TR_CALLOUT_ENUM)
#undef TR_CALLOUT_ENUM
	    TR_CALLOUT_COUNT
};

/* Name of a callout kind, for --stats and the trace. */
const char *tr_callout_name(enum tr_callout kind);

enum tr_exit_kind {
	TR_EXIT_BRANCH = 1, /* direct branch or fall-through to guest_eip; chainable */
	TR_EXIT_INDIRECT,   /* indirect branch missed the jump cache; target in frame->target */
	TR_EXIT_CALLOUT,    /* the runtime must perform the instruction at guest_eip */
	TR_EXIT_FAULT,	    /* a host fault in translated code became a guest event */
};

/* One way out of translated code. Emitted code loads its address into r14 and jumps to
 * tr_exit_common, which stores it in frame->exit. */
struct tr_exit {
	uint8_t kind; /* enum tr_exit_kind */
	uint8_t insn_len;
	uint16_t callout; /* enum tr_callout */
	uint32_t guest_eip;
	uint32_t next_eip;
	uint32_t reserved;
	struct tr_block *block;	    /* the block this exit leaves (NULL for shared exits) */
	uint8_t *patch;		    /* BRANCH: the rel32 field retargeted by chaining */
	uint8_t *stub;		    /* BRANCH: the stub that rel32 points at when unlinked */
	uint8_t *resume;	    /* CALLOUT: host code after the callout, or NULL */
	struct tr_exit *next_link;  /* BRANCH: next exit chained to the same block */
	struct tr_block *linked_to; /* BRANCH: the block this exit is chained to, or NULL */
	uint8_t insn[16];	    /* CALLOUT: the guest instruction's bytes */
};

struct tr_jc_entry {
	uint32_t guest_eip; /* the tag: eip + mode */
	uint32_t meta;	    /* for invalidation, never read by emitted code: TR_JC_META_* */
	uint64_t host;
};

/* An entry's meta word: the linear page of its eip, and how the guest mapped it. */
enum {
	TR_JC_META_GLOBAL = 1u << 0, /* survives CR3 writes (a global page, or paging off) */
	TR_JC_META_LARGE = 1u << 1,  /* a 4 MiB page: INVLPG anywhere in it drops the entry */
	TR_JC_META_PAGE = 0xfffff000u,
};

/* The state translated code runs on. r15 points here while guest code runs. */
struct tr_frame {
	uint32_t gpr[8];
	uint64_t rflags;
	uint64_t host_rsp;
	uint64_t window;
	const struct tr_exit *exit;
	uint32_t target;
	uint32_t jc_salt; /* -(mode): jump-cache tags are eip + mode (see tr_jc_set_mode) */
	uint64_t exit_common;
	uint64_t ibl;
	uint32_t seg_base[6];
	struct tr_exit indirect_exit;
	alignas(64) uint8_t fpu[512];
	struct tr_jc_entry jc[TR_JC_ENTRIES];
	/* Which jump-cache entries are filled, per kind (0: on non-global pages, 1: global), so
	 * that a CR3 write looks only at the non-global ones and no flush scans the whole
	 * megabyte: each list holds an index at most once (jc_listed). Which linear pages (4 KiB
	 * per kind, and 4 MiB for large pages) may have entries, so that an INVLPG of a page
	 * without any costs nothing. Not used by emitted code. */
	uint32_t jc_filled[2][TR_JC_ENTRIES];
	uint32_t n_jc_filled[2];
	uint64_t jc_listed[2][TR_JC_ENTRIES / 64];
	uint64_t jc_pages[2][(1u << 20) / 64];
	uint64_t jc_large_pages[(1u << 10) / 64];
	/* Guest TSC = host TSC + tsc_offset (kernel-mode rdtsc runs inline, see block.c). */
	uint64_t tsc_offset;
	/* EFLAGS.IF (0 or 1), kept here so that kernel-mode cli and sti run inline; and whether
	 * an external interrupt waits (set by the dispatcher before entering), so that an inline
	 * sti only leaves for the dispatcher when there is one to take. */
	uint8_t vif;
	uint8_t irq_pending;
};

_Static_assert(offsetof(struct tr_frame, gpr) == TRF_GPR, "frame layout");
_Static_assert(offsetof(struct tr_frame, gpr[TR_ESP]) == TRF_ESP, "frame layout");
_Static_assert(offsetof(struct tr_frame, rflags) == TRF_RFLAGS, "frame layout");
_Static_assert(offsetof(struct tr_frame, host_rsp) == TRF_HOST_RSP, "frame layout");
_Static_assert(offsetof(struct tr_frame, window) == TRF_WINDOW, "frame layout");
_Static_assert(offsetof(struct tr_frame, exit) == TRF_EXIT, "frame layout");
_Static_assert(offsetof(struct tr_frame, target) == TRF_TARGET, "frame layout");
_Static_assert(offsetof(struct tr_frame, jc_salt) == TRF_JC_SALT, "frame layout");
_Static_assert(offsetof(struct tr_frame, exit_common) == TRF_EXIT_COMMON, "frame layout");
_Static_assert(offsetof(struct tr_frame, ibl) == TRF_IBL, "frame layout");
_Static_assert(offsetof(struct tr_frame, seg_base) == TRF_SEG_BASE, "frame layout");
_Static_assert(offsetof(struct tr_frame, indirect_exit) == TRF_IND_EXIT, "frame layout");
_Static_assert(TRF_SEG_BASE + 24 <= 128, "segment bases must be reachable with a disp8");
_Static_assert(offsetof(struct tr_frame, fpu) == TRF_FPU, "frame layout");
_Static_assert(offsetof(struct tr_frame, jc) == TRF_JC, "frame layout");

/* Everything a translation depends on besides the guest bytes. Two blocks with the same
 * physical address but different keys are different translations. */
struct tr_key {
	uint32_t phys;	/* guest-physical address of the first byte */
	uint32_t eip;	/* guest linear eip (the code cache maps both) */
	uint32_t flags; /* enum tr_key_flags */
};

enum tr_key_flags {
	TR_KEY_CPL_MASK = 3u,
	TR_KEY_SINGLE = 1u << 2,     /* one instruction only, not cached (self-modifying code) */
	TR_KEY_EM = 1u << 3,	     /* CR0.EM: x87 raises #NM, MMX/SSE raise #UD */
	TR_KEY_TS = 1u << 4,	     /* CR0.TS: x87/MMX/SSE raise #NM */
	TR_KEY_NO_SSE = 1u << 5,     /* CR4.OSFXSR clear: SSE raises #UD */
	TR_KEY_SEG_BASED_SHIFT = 6,  /* bits 6..11: segments ES..GS whose base is not zero */
	TR_KEY_PAGING = 1u << 12,    /* CR0.PG: direct jumps to other pages are not chained */
	TR_KEY_SHADOW = 1u << 13,    /* one instruction, cached: the one in an STI's shadow */
	TR_JC_MODE_LIMIT = 1u << 13, /* every translation mode is below this */
	TR_JC_SALT_MISS = 0x8000u, /* a jump-cache salt no lookup can hit with (tr_jc_force_miss) */
};

struct tr_translator;

struct tr_config {
	size_t cache_bytes;	  /* code cache size; flushed whole when full */
	struct trc_writer *trace; /* NULL: no trace */
	bool verify;		  /* check every emitted block (translation verifier) */
	FILE *perf_map;		  /* perf's JIT map (/tmp/perf-PID.map), or NULL */
	bool count_exec;	  /* every block counts its executions (--trace-counts) */
};

/* Create the translator and its code cache. Returns NULL on host failure (errno set). */
struct tr_translator *tr_create(const struct tr_config *config);
void tr_destroy(struct tr_translator *tr);

/* With count_exec: write a BLOCK_EXEC trace record for every block of the cache's current
 * generation that ran, and zero the counts (the cache does this itself before a flush; the
 * runtime calls it before closing the trace). */
void tr_write_exec_counts(struct tr_translator *tr);

/* Initialise a frame: jump cache empty, exit routines set. */
void tr_frame_init(struct tr_translator *tr, struct tr_frame *frame);

/* Host code for a translated block with this key, or NULL. */
void *tr_lookup(struct tr_translator *tr, const struct tr_key *key);

/* Translate the block at key from the guest bytes code[0..avail) (bytes from key->eip on,
 * contiguous in linear memory; past the end of the first page they come from the page at
 * guest-physical next_page_phys). Returns the host code. pages_out receives the guest-physical
 * page numbers the block covers (1 or 2) so the caller can write-protect them. */
void *tr_translate(struct tr_translator *tr, struct tr_frame *frame, const struct tr_key *key,
		   const uint8_t *code, size_t avail, uint32_t next_page_phys,
		   uint32_t pages_out[2], int *n_pages_out);

/* The translation mode (key flags other than TR_KEY_SINGLE, < TR_JC_MODE_LIMIT) that translated
 * code about to run was made for. Jump-cache entries are tagged eip + mode: an entry indexed by the
 * eip's low 16 bits can only match its own eip in its own mode, so a mode change (user/kernel
 * on every system call) needs no flush. */
void tr_jc_set_mode(struct tr_frame *frame, uint32_t mode);
/* Remember host code for guest eip (in the current mode) in the frame's jump cache; meta tells
 * how the guest maps eip's page (TR_JC_META_GLOBAL, TR_JC_META_LARGE; the page is added). */
void tr_jc_insert(struct tr_frame *frame, uint32_t eip, void *host, uint32_t meta);
/* Empty the jump cache (on paging-mode changes: CR0.PG/WP, CR4.PSE/PGE). */
void tr_jc_flush(struct tr_translator *tr, struct tr_frame *frame);
/* Drop the entries a CR3 write invalidates: all but those on global pages. */
void tr_jc_flush_nonglobal(struct tr_translator *tr, struct tr_frame *frame);
/* Drop the entries INVLPG of linear invalidates: those on its page (its 4 MiB page for
 * entries on large pages). */
void tr_jc_flush_page(struct tr_translator *tr, struct tr_frame *frame, uint32_t linear);
/* Make every indirect-branch lookup miss until the next tr_jc_set_mode, so the vCPU comes
 * back to the dispatcher (async-signal-safe: one store). */
void tr_jc_force_miss(struct tr_frame *frame);

/* True if a CALLOUT exit may continue in its block (the block is still valid). */
bool tr_exit_resumable(const struct tr_exit *exit);

/* Chain a BRANCH exit straight to host code of the block it goes to. */
void tr_chain(struct tr_translator *tr, struct tr_exit *exit, void *host);

/* Drop every translation that covers a byte of guest-physical page `page`, for cause (enum
 * trc_cause, recorded in the trace). Returns the number of blocks dropped. */
unsigned tr_invalidate_page(struct tr_translator *tr, struct tr_frame *frame, uint32_t page,
			    unsigned cause);

/* Throw away every translation. */
void tr_flush(struct tr_translator *tr, struct tr_frame *frame);

/* Where a host pc inside translated code belongs: the guest eip of the instruction being
 * executed and the guest-physical pages its block came from (the second is ~0 for a block on
 * one page). Returns false if pc is not inside a translated guest instruction. */
bool tr_host_pc_to_guest(struct tr_translator *tr, uintptr_t pc, uint32_t *guest_eip,
			 uint32_t block_pages[2]);

/* Make the block running at host pc leave to the dispatcher at its end: its chained exits go
 * back to their stubs. Safe in a signal handler that interrupted translated code. */
void tr_unlink_block_at(struct tr_translator *tr, uintptr_t pc);

/* True if pc is inside the code cache. */
bool tr_pc_in_cache(const struct tr_translator *tr, uintptr_t pc);

/* Enter translated code at host with the guest state in frame; returns at the next exit with
 * frame->exit set. Defined in translator/entry.S. */
void tr_enter(struct tr_frame *frame, void *host);
/* Where a signal handler sends the thread to leave translated code as if by an exit: set the
 * ucontext's rip here and r14 to the exit record. */
void tr_exit_common(void);

/* Counters (see TR_COUNTER_LIST). */
#define TR_COUNTER_LIST(X)                                                                         \
	X(blocks_translated, "blocks translated")                                                  \
	X(insns_translated, "guest instructions translated")                                       \
	X(insns_ident, "  IDENT (copied unchanged)")                                               \
	X(insns_mem, "  MEM (memory operand rewritten)")                                           \
	X(insns_stack, "  STACK")                                                                  \
	X(insns_string, "  STRING")                                                                \
	X(insns_control, "  CONTROL")                                                              \
	X(insns_callout, "  SENSITIVE/UNDEFINED (callouts)")                                       \
	X(chains, "exits chained")                                                                 \
	X(invalidations, "blocks invalidated")                                                     \
	X(cache_flushes, "code cache flushes")                                                     \
	X(host_bytes, "host code bytes emitted")

struct tr_counters {
#define TR_COUNTER_FIELD(name, text) uint64_t name;
	TR_COUNTER_LIST(TR_COUNTER_FIELD)
#undef TR_COUNTER_FIELD
};

const struct tr_counters *tr_counters(const struct tr_translator *tr);

#endif
