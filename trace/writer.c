/* writer.c — the trace writer: bt86 --trace FILE.
 *
 * Every trc_* call packs one record (layout in FORMAT.md) into a 1 MiB buffer that belongs to the
 * writer and is written out with write(2) when it fills and at close, so a record costs a clock
 * read and a few stores; nothing is allocated after trc_writer_open(). A record that does not
 * fit in the buffer at all goes straight to the file. A NULL writer means tracing is off, and
 * every function tests for it first so the callers need no test of their own.
 *
 * Callout kinds are named once: a bitmap remembers which kinds already had their KIND_NAME
 * record. After the first failed write the writer stops writing (and the file has no END record,
 * which readers report) instead of producing a file with a hole in it.
 *
 * The writer is not thread-safe; bt86 has one vCPU thread and the trace belongs to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "trace/trace.h"
#include "trace/trace_internal.h"

/* The instruction map arrays are copied into the file as they are: the host is x86-64. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the trace writer copies uint32_t arrays as little-endian data"
#endif

#define TRC_WRITER_BUF (1u << 20)
#define TRC_KINDS      65536u
#define TRC_PIECES_MAX 5u

struct trc_writer {
	int fd;
	int error;	   /* first failed write as -errno; nothing is written after it */
	uint64_t start_ns; /* CLOCK_MONOTONIC at open: record time 0 */
	uint64_t records;  /* records accepted so far, for the END record */
	uint64_t dropped;  /* records too large to write (or refused after an error) */
	size_t used;	   /* bytes of buf waiting to be written */
	uint8_t kind_named[TRC_KINDS / 8];
	uint8_t buf[TRC_WRITER_BUF];
};

/* One part of a record's payload; records are gathered from a few of these so that guest and
 * host bytes are copied once, from the caller's memory into the buffer. */
struct trc_piece {
	const void *data;
	size_t len;
};

static uint64_t trc_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* write(2) until everything is out: regular files can still return short counts (signals,
 * quotas), and a short count that is not an error must not lose data. */
static int trc_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void trc_writer_flush(struct trc_writer *w)
{
	if (w->used > 0 && w->error == 0)
		w->error = trc_write_all(w->fd, w->buf, w->used);
	w->used = 0;
}

/* Append one record: the common header, then the pieces of the payload in order. */
static void trc_emit(struct trc_writer *w, uint8_t type, const struct trc_piece *pieces,
		     unsigned n_pieces)
{
	uint64_t size = TRC_REC_HEADER;
	uint8_t head[TRC_REC_HEADER];

	for (unsigned i = 0; i < n_pieces; i++)
		size += pieces[i].len;
	if (w->error != 0 || size > TRC_RECORD_MAX) {
		w->dropped++;
		return;
	}

	trc_put_u32(head, (uint32_t)size);
	head[4] = type;
	trc_put_u64(head + 5, trc_clock_ns(CLOCK_MONOTONIC) - w->start_ns);

	if (size > TRC_WRITER_BUF) {
		/* Too big for the buffer: keep the order by flushing first, then write directly. */
		trc_writer_flush(w);
		if (w->error == 0)
			w->error = trc_write_all(w->fd, head, sizeof(head));
		for (unsigned i = 0; i < n_pieces && w->error == 0; i++)
			w->error = trc_write_all(w->fd, pieces[i].data, pieces[i].len);
		if (w->error != 0) {
			w->dropped++;
			return;
		}
		w->records++;
		return;
	}

	if (w->used + size > TRC_WRITER_BUF) {
		trc_writer_flush(w);
		if (w->error != 0) {
			w->dropped++;
			return;
		}
	}
	memcpy(w->buf + w->used, head, sizeof(head));
	w->used += sizeof(head);
	for (unsigned i = 0; i < n_pieces; i++) {
		/* len 0 may come with a NULL pointer, which memcpy must not see. */
		if (pieces[i].len == 0)
			continue;
		memcpy(w->buf + w->used, pieces[i].data, pieces[i].len);
		w->used += pieces[i].len;
	}
	w->records++;
}

static uint16_t trc_string_len(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	return len > TRC_STRING_MAX ? TRC_STRING_MAX : (uint16_t)len;
}

struct trc_writer *trc_writer_open(const char *path, const char *guest_description)
{
	struct trc_writer *w;
	struct utsname uts;
	char host[512];
	uint16_t host_len, guest_len;
	uint8_t *h;
	int err;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		err = errno;
		free(w);
		errno = err;
		return NULL;
	}

	if (uname(&uts) == 0)
		snprintf(host, sizeof(host), "%s %s %s pid %ld", uts.sysname, uts.release,
			 uts.machine, (long)getpid());
	else
		snprintf(host, sizeof(host), "unknown pid %ld", (long)getpid());
	host_len = trc_string_len(host);
	guest_len = trc_string_len(guest_description);

	/* The header always fits: 36 bytes and two strings of at most 64 KiB. */
	h = w->buf;
	memcpy(h, TRC_MAGIC, TRC_MAGIC_LEN);
	trc_put_u16(h + TRC_HDR_VERSION, TRC_VERSION);
	trc_put_u16(h + TRC_HDR_VERSION + 2, 0);
	trc_put_u32(h + TRC_HDR_SIZE, TRC_HEADER_FIXED + host_len + guest_len);
	trc_put_u64(h + TRC_HDR_REALTIME, trc_clock_ns(CLOCK_REALTIME));
	w->start_ns = trc_clock_ns(CLOCK_MONOTONIC);
	trc_put_u64(h + TRC_HDR_MONOTONIC, w->start_ns);
	trc_put_u16(h + TRC_HDR_HOST_LEN, host_len);
	trc_put_u16(h + TRC_HDR_GUEST_LEN, guest_len);
	memcpy(h + TRC_HEADER_FIXED, host, host_len);
	if (guest_len > 0)
		memcpy(h + TRC_HEADER_FIXED + host_len, guest_description, guest_len);
	w->used = TRC_HEADER_FIXED + host_len + guest_len;

	/* Write the header now: an unwritable file should fail here, where the caller can still
	 * report it, and a bt86 that crashes early still leaves a recognisable file. */
	trc_writer_flush(w);
	if (w->error != 0) {
		err = -w->error;
		close(w->fd);
		free(w);
		errno = err;
		return NULL;
	}
	return w;
}

void trc_block(struct trc_writer *w, uint32_t guest_eip, uint32_t guest_phys, const uint8_t *guest,
	       uint32_t guest_len, uint64_t host_addr, const uint8_t *host, uint32_t host_len,
	       uint32_t n_insns, const uint32_t *insn_eips, const uint32_t *insn_host_offsets)
{
	uint8_t fixed[TRC_BLOCK_FIXED];

	if (w == NULL)
		return;
	trc_put_u32(fixed + 0, guest_eip);
	trc_put_u32(fixed + 4, guest_phys);
	trc_put_u64(fixed + 8, host_addr);
	trc_put_u32(fixed + 16, guest_len);
	trc_put_u32(fixed + 20, host_len);
	trc_put_u32(fixed + 24, n_insns);

	const struct trc_piece pieces[TRC_PIECES_MAX] = {
	    {fixed, sizeof(fixed)},
	    {guest, guest_len},
	    {host, host_len},
	    {insn_eips, (size_t)n_insns * 4},
	    {insn_host_offsets, (size_t)n_insns * 4},
	};
	trc_emit(w, TRC_REC_BLOCK, pieces, TRC_PIECES_MAX);
}

void trc_callout(struct trc_writer *w, uint32_t guest_eip, uint16_t kind, const char *kind_name)
{
	uint8_t payload[TRC_CALLOUT_PAYLOAD];

	if (w == NULL)
		return;
	/* Name each kind once, before its first callout. A call without a name leaves the kind
	 * unnamed, so a later call can still name it. */
	if (kind_name != NULL && !(w->kind_named[kind / 8] & (1u << (kind % 8)))) {
		uint8_t fixed[TRC_KIND_NAME_FIXED];
		uint16_t len = trc_string_len(kind_name);

		trc_put_u16(fixed, kind);
		trc_put_u16(fixed + 2, len);
		const struct trc_piece pieces[] = {{fixed, sizeof(fixed)}, {kind_name, len}};
		trc_emit(w, TRC_REC_KIND_NAME, pieces, 2);
		w->kind_named[kind / 8] |= (uint8_t)(1u << (kind % 8));
	}

	trc_put_u32(payload, guest_eip);
	trc_put_u16(payload + 4, kind);
	const struct trc_piece piece = {payload, sizeof(payload)};
	trc_emit(w, TRC_REC_CALLOUT, &piece, 1);
}

void trc_event(struct trc_writer *w, enum trc_event_kind kind, uint64_t a, uint64_t b, uint64_t c)
{
	uint8_t payload[TRC_EVENT_PAYLOAD];

	if (w == NULL)
		return;
	trc_put_u16(payload, (uint16_t)kind);
	trc_put_u64(payload + 2, a);
	trc_put_u64(payload + 10, b);
	trc_put_u64(payload + 18, c);
	const struct trc_piece piece = {payload, sizeof(payload)};
	trc_emit(w, TRC_REC_EVENT, &piece, 1);
}

void trc_block_exec(struct trc_writer *w, uint64_t host_addr, uint32_t guest_eip, uint64_t count)
{
	uint8_t payload[TRC_BLOCK_EXEC_PAYLOAD];

	if (w == NULL)
		return;
	trc_put_u64(payload, host_addr);
	trc_put_u32(payload + 8, guest_eip);
	trc_put_u64(payload + 12, count);
	const struct trc_piece piece = {payload, sizeof(payload)};
	trc_emit(w, TRC_REC_BLOCK_EXEC, &piece, 1);
}

void trc_writer_close(struct trc_writer *w, const char *const *counter_names,
		      const uint64_t *counter_values, size_t n_counters)
{
	uint8_t end[TRC_END_PAYLOAD];

	if (w == NULL)
		return;
	for (size_t i = 0; i < n_counters; i++) {
		uint8_t fixed[TRC_COUNTER_FIXED];
		const char *name = counter_names[i] ? counter_names[i] : "";
		uint16_t len = trc_string_len(name);

		trc_put_u64(fixed, counter_values[i]);
		trc_put_u16(fixed + 8, len);
		const struct trc_piece pieces[] = {{fixed, sizeof(fixed)}, {name, len}};
		trc_emit(w, TRC_REC_COUNTER, pieces, 2);
	}

	trc_put_u64(end, w->records);
	trc_put_u64(end + 8, w->dropped);
	const struct trc_piece piece = {end, sizeof(end)};
	trc_emit(w, TRC_REC_END, &piece, 1);

	/* XXX: a failed final write or close is lost here because trc_writer_close() returns
	 * void; readers still notice the missing END record. */
	trc_writer_flush(w);
	close(w->fd);
	free(w);
}
