/* trace — the binary trace file bt86 writes with --trace and bt86-trace reads.
 *
 * Writer side: the runtime and translator call trc_* functions; every call is cheap (appends a
 * record to a buffer) and a NULL writer means tracing is off (each function returns at once).
 * Reader side: trc_reader_* walks the records of a file. The format is documented in
 * trace/FORMAT.md and versioned by TRC_VERSION.
 */
#ifndef BT86_TRACE_H
#define BT86_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRC_VERSION 1

struct trc_writer;

enum trc_event_kind {
	TRC_EV_EXCEPTION = 1, /* a: vector, b: error code, c: guest eip */
	TRC_EV_INVALIDATE,    /* a: guest-physical page, b: blocks dropped, c: enum trc_cause */
	TRC_EV_FLUSH,	      /* a: blocks dropped */
	TRC_EV_EXIT,	      /* a: exit status */
	TRC_EV_CR3,	      /* a: the new CR3 */
	TRC_EV_MMIO,	      /* a: guest-physical address, b: size, c: 1 for a write */
	TRC_EV_HIDDEN_FAULT,  /* a: guest linear address, b: guest-physical address, c: 1 write */
};

/* Why translations were invalidated (the c of an invalidate event). */
enum trc_cause {
	TRC_CAUSE_GUEST_STORE = 1,   /* a store in translated code to a page with translations */
	TRC_CAUSE_CALLOUT_STORE = 2, /* a store the monitor made for a guest instruction */
	TRC_CAUSE_MONITOR_WRITE = 3, /* the monitor wrote guest memory (loader, kvm-clock, PV) */
};

/* Open a trace file and write its header. Returns NULL and sets errno on failure. */
struct trc_writer *trc_writer_open(const char *path, const char *guest_description);
/* Record one translated block: guest and host bytes, and the guest eip of each guest
 * instruction with the host offset where its translation starts. */
void trc_block(struct trc_writer *w, uint32_t guest_eip, uint32_t guest_phys, const uint8_t *guest,
	       uint32_t guest_len, uint64_t host_addr, const uint8_t *host, uint32_t host_len,
	       uint32_t n_insns, const uint32_t *insn_eips, const uint32_t *insn_host_offsets);
/* Record one callout: its kind (a name from the runtime's callout table) at guest eip. */
void trc_callout(struct trc_writer *w, uint32_t guest_eip, uint16_t kind, const char *kind_name);
/* Record another event (see enum trc_event_kind). */
void trc_event(struct trc_writer *w, enum trc_event_kind kind, uint64_t a, uint64_t b, uint64_t c);
/* Record how often one translated block ran (bt86 run --trace-counts): written for every block
 * with a non-zero count when the code cache is flushed and when the trace is closed. */
void trc_block_exec(struct trc_writer *w, uint64_t host_addr, uint32_t guest_eip, uint64_t count);
/* Record the final counter values by name, flush and close. */
void trc_writer_close(struct trc_writer *w, const char *const *counter_names,
		      const uint64_t *counter_values, size_t n_counters);

/* ---- reader ------------------------------------------------------------------------------ */

/* Record types (trace/FORMAT.md). Types below TRC_REC_CRITICAL that a reader does not know are
 * handed out with only the common fields filled; unknown critical types are an error. */
enum trc_record_type {
	TRC_REC_BLOCK = 0x01,
	TRC_REC_KIND_NAME = 0x02,
	TRC_REC_CALLOUT = 0x03,
	TRC_REC_EVENT = 0x04,
	TRC_REC_COUNTER = 0x05,
	TRC_REC_END = 0x06,
	TRC_REC_BLOCK_EXEC = 0x07,
	TRC_REC_CRITICAL = 0x80,
};

/* The file header. The strings are NUL-terminated copies owned by the reader. */
struct trc_header {
	uint16_t version;
	uint32_t header_size;
	uint64_t start_realtime_ns;  /* CLOCK_REALTIME at open, ns since the epoch */
	uint64_t start_monotonic_ns; /* CLOCK_MONOTONIC at open: record time 0 */
	const char *host;
	const char *guest_description;
};

/* A translated block. Byte pointers point into the reader's buffer; the instruction map is raw
 * little-endian data, read it with trc_rec_block_insn_get(). */
struct trc_rec_block {
	uint32_t guest_eip;
	uint32_t guest_phys;
	uint64_t host_addr;
	uint32_t guest_len;
	uint32_t host_len;
	uint32_t n_insns;
	const uint8_t *guest;
	const uint8_t *host;
	const uint8_t *insn_eips;	  /* n_insns little-endian u32 */
	const uint8_t *insn_host_offsets; /* n_insns little-endian u32 */
};

struct trc_rec_kind_name {
	uint16_t kind;
	uint16_t name_len;
	const char *name; /* not NUL-terminated */
};

struct trc_rec_callout {
	uint32_t guest_eip;
	uint16_t kind;
	const char *kind_name; /* NUL-terminated, from the last KIND_NAME; NULL if never named */
};

struct trc_rec_event {
	uint16_t kind; /* enum trc_event_kind, or a kind newer than this reader */
	uint64_t a;
	uint64_t b;
	uint64_t c;
};

struct trc_rec_counter {
	uint64_t value;
	uint16_t name_len;
	const char *name; /* not NUL-terminated */
};

/* How often the block at host_addr with guest_eip ran: the latest BLOCK record before this one
 * with the same host_addr and guest_eip. */
struct trc_rec_block_exec {
	uint64_t host_addr;
	uint32_t guest_eip;
	uint64_t count;
};

struct trc_rec_end {
	uint64_t records; /* records before the end marker, checked by the reader */
	uint64_t dropped; /* records the writer had to drop */
};

/* One record as trc_reader_next() returns it; valid until the next call on the same reader. */
struct trc_record {
	uint8_t type;	 /* enum trc_record_type, or an unknown optional type */
	uint32_t size;	 /* whole record, header included */
	uint64_t offset; /* byte offset of the record in the file */
	uint64_t time_ns;
	const uint8_t *payload; /* raw payload; all a reader gets of a type it does not know */
	uint32_t payload_len;
	union {
		struct trc_rec_block block;
		struct trc_rec_kind_name kind_name;
		struct trc_rec_callout callout;
		struct trc_rec_event event;
		struct trc_rec_counter counter;
		struct trc_rec_end end;
		struct trc_rec_block_exec block_exec;
	};
};

struct trc_reader;

/* Open a trace file and check its header. Returns 0 and sets *reader, or -errno (-EINVAL for a
 * file that is not a valid trace, -ENOTSUP for a newer format) with a one-line reason in err. */
int trc_reader_open(const char *path, struct trc_reader **reader, char *err, size_t err_len);
/* Same over a trace already in memory (size bytes at data, which must outlive the reader). */
int trc_reader_open_mem(const void *data, size_t size, struct trc_reader **reader, char *err,
			size_t err_len);
void trc_reader_close(struct trc_reader *reader);

const struct trc_header *trc_reader_header(const struct trc_reader *reader);
/* Read the next record into *rec. Returns 1 for a record, 0 after the END record, or -errno with
 * the reason (including the byte offset) in trc_reader_error(). Errors are sticky. */
int trc_reader_next(struct trc_reader *reader, struct trc_record *rec);
/* The message for the last error, without a trailing newline ("" if none). */
const char *trc_reader_error(const struct trc_reader *reader);
/* The name of a callout kind from the KIND_NAME records read so far, or NULL. */
const char *trc_reader_kind_name(const struct trc_reader *reader, uint16_t kind);
/* The name of an event kind ("exception", ...), or NULL for a kind this reader does not know. */
const char *trc_event_kind_name(uint16_t kind);
/* Entry i (< n_insns) of a block's instruction map: guest eip and host offset. */
void trc_rec_block_insn_get(const struct trc_rec_block *block, uint32_t i, uint32_t *guest_eip,
			    uint32_t *host_offset);

#endif
