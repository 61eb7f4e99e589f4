/* tool.h — what the parts of bt86-trace share: a trace loaded into memory (everything but the
 * code bytes of blocks, which are re-read on demand), a symbol table, and the commands.
 *
 * bt86-trace is the command-line front end, so its functions may print; they never exit().
 * Bad input is reported by the caller as one line "bt86-trace: ..." with exit status 2.
 */
#ifndef BT86_TOOLS_TRACE_TOOL_H
#define BT86_TOOLS_TRACE_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace/trace.h"

#define TOOL_EXIT_OK	    0
#define TOOL_EXIT_FAILURE   1
#define TOOL_EXIT_BAD_INPUT 2
#define TOOL_KINDS	    65536u
#define TOOL_NS		    1000000000u

/* One BLOCK record, without its bytes. copied counts the instructions whose host code is the
 * guest bytes unchanged (IDENT), when the instruction map is usable (mapped). exec is the sum of
 * the BLOCK_EXEC records that belong to this translation (bt86 run --trace-counts). */
struct tool_block {
	uint64_t time_ns;
	uint64_t host_addr;
	uint64_t callouts; /* CALLOUT records whose eip lies in [eip, eip + guest_len) */
	uint64_t exec;	   /* times the block was entered; 0 without counts */
	uint32_t eip;
	uint32_t phys;
	uint32_t guest_len;
	uint32_t host_len;
	uint32_t n_insns;
	uint32_t copied;
	uint32_t index; /* order in the file, from 0 */
	bool mapped;
};

/* One BLOCK_EXEC record, kept until the load can match it to its block. */
struct tool_exec {
	uint64_t host_addr;
	uint64_t count;
	uint32_t eip;
	uint32_t blocks_before; /* BLOCK records before it in the file */
};

struct tool_callout {
	uint64_t time_ns;
	uint32_t eip;
	uint16_t kind;
};

struct tool_event {
	uint64_t time_ns;
	uint64_t a, b, c;
	uint16_t kind;
};

struct tool_counter {
	char *name;
	uint64_t value;
};

/* A whole trace in memory. When reading stopped at an error, complete is false, error says why
 * and everything before the error is there. */
struct tool_trace {
	const char *path;
	uint16_t version;
	uint64_t start_realtime_ns;
	char *host;
	char *guest;
	struct tool_block *blocks;
	size_t n_blocks;
	struct tool_callout *callouts;
	size_t n_callouts;
	struct tool_event *events;
	size_t n_events;
	struct tool_counter *counters;
	size_t n_counters;
	struct tool_exec *execs; /* every BLOCK_EXEC record, in file order */
	size_t n_execs;
	char **kind_names;	    /* TOOL_KINDS entries, NULL where never named */
	uint64_t *callouts_by_kind; /* TOOL_KINDS entries */
	uint64_t *events_by_kind;   /* TOOL_KINDS entries */
	uint64_t records;
	uint64_t unknown_records;
	uint64_t guest_insns;
	uint64_t copied_insns; /* from the instruction maps, see struct tool_block */
	uint64_t mapped_insns; /* instructions in blocks whose map is usable */
	/* Execution counts (all 0 unless has_counts). Sums saturate at UINT64_MAX. */
	bool has_counts;	      /* the trace has BLOCK_EXEC records */
	uint64_t block_entries;	      /* sum of exec over the blocks */
	uint64_t exec_insns;	      /* sum of exec * n_insns: whole blocks, see summary */
	uint64_t exec_copied_insns;   /* sum of exec * copied over mapped blocks */
	uint64_t exec_mapped_insns;   /* sum of exec * n_insns over mapped blocks */
	uint64_t execs_unmatched;     /* BLOCK_EXEC records that match no earlier BLOCK */
	uint64_t execs_unmatched_sum; /* their counts */
	uint64_t guest_bytes;
	uint64_t host_bytes;
	uint64_t first_time_ns;
	uint64_t last_time_ns;
	uint64_t dropped;
	bool complete;
	char error[320];
};

/* Read the trace at path. Returns 0 (check complete) or -errno when the file cannot be opened at
 * all or memory runs out; error holds the reason either way. */
int tool_trace_load(struct tool_trace *t, const char *path);
void tool_trace_free(struct tool_trace *t);
/* The name of a callout kind, or NULL. */
const char *tool_trace_kind_name(const struct tool_trace *t, uint16_t kind);
/* Why a block's instruction map cannot be used to cut its bytes per instruction, or NULL. */
const char *tool_map_problem(const struct trc_rec_block *b);

/* qsort comparison of uint32_t values. */
int tool_u32_compare(const void *a, const void *b);
/* a + b and a * b, saturating at UINT64_MAX (counts from a damaged trace can be anything). */
uint64_t tool_sat_add(uint64_t a, uint64_t b);
uint64_t tool_sat_mul(uint64_t a, uint64_t b);

/* The run's time split: COUNTER records named "time: ... (ns)" (trace/FORMAT.md leaves the set
 * open). The total is "time: total run (ns)"; the parts are every other time counter. */
#define TOOL_TIME_PREFIX "time: "
#define TOOL_TIME_TOTAL	 "time: total run (ns)"
/* Whether c is a time counter (after leading spaces). */
bool tool_counter_is_time(const struct tool_counter *c);
/* The total run time counter, or NULL. */
const struct tool_counter *tool_time_total(const struct tool_trace *t);
/* What the shares of the parts are of: the total when there is a non-zero one, else the sum of
 * the parts; *of_total tells which. */
uint64_t tool_time_whole(const struct tool_trace *t, bool *of_total);
/* A time counter's name without "time: " and " (ns)", into buf. */
const char *tool_time_label(const struct tool_counter *c, char *buf, size_t len);

/* ---- symbols ----------------------------------------------------------------------------- */

struct tool_sym {
	uint64_t addr;
	uint64_t size; /* 0 if unknown (System.map) */
	char *name;
	int rank; /* lower wins among symbols at one address */
};

struct tool_symtab {
	struct tool_sym *syms;
	size_t n;
};

/* Load an ELF symbol table or a System.map / kallsyms file. Returns 0 or -errno with a reason. */
int tool_symtab_load(struct tool_symtab *s, const char *path, char *err, size_t err_len);
void tool_symtab_free(struct tool_symtab *s);
/* "name+0xoff" for addr into buf, or "" when no symbol covers it (or s has none). */
const char *tool_sym_format(const struct tool_symtab *s, uint64_t addr, char *buf, size_t len);
/* The address of a symbol by name; returns false if there is none. */
bool tool_sym_lookup(const struct tool_symtab *s, const char *name, uint64_t *addr);

/* ---- commands ---------------------------------------------------------------------------- */

struct tool_opts {
	struct tool_symtab symtab; /* empty without --symbols */
	int argc;		   /* arguments after the command name */
	char **argv;
};

/* blocks --disasm (and a bare FILE): every block's guest and host code, then the totals. */
int tool_blocks_disasm(struct tool_opts *o, const char *path);
int tool_cmd_summary(struct tool_opts *o);
int tool_cmd_blocks(struct tool_opts *o);
int tool_cmd_show(struct tool_opts *o);
int tool_cmd_events(struct tool_opts *o);
int tool_cmd_diff(struct tool_opts *o);
int tool_cmd_export(struct tool_opts *o);
int tool_cmd_report(struct tool_opts *o);

/* Print "bt86-trace: " and the message to stderr, return TOOL_EXIT_BAD_INPUT. */
__attribute__((format(printf, 1, 2))) int tool_bad(const char *fmt, ...);
/* Load path into t; on failure print the one-line error and return false. */
bool tool_load_or_complain(struct tool_trace *t, const char *path);
/* After output: report an incomplete trace on stderr; returns the exit status. */
int tool_finish(const struct tool_trace *t);
/* Parse seconds ("1.5") into ns; false if not a number. */
bool tool_parse_seconds(const char *s, uint64_t *ns);
/* Sort the blocks of t by key ("time", "size", "callouts", "exec") into a new array of
 * pointers; ties keep file order. */
const struct tool_block **tool_blocks_sorted(const struct tool_trace *t, const char *key);
/* A block's eip, with its symbol when there is one: "0x00100000 kmain+0x10". */
const char *tool_addr_format(const struct tool_opts *o, uint32_t addr, char *buf, size_t len);

#endif
