/* reader.c — reads trace files (layout in FORMAT.md) one record at a time.
 *
 * A reader reads the file through a buffer that holds at least the current record (records are
 * at most 16 MiB), so a trace of any length is read in constant memory and each record handed
 * out points into the buffer. A reader can also run over a trace already in memory, which is
 * what the tests and fuzzers use.
 *
 * The input is untrusted: every size is checked against the bytes actually present before
 * anything is read, in 64-bit arithmetic so that no sum can wrap, and every failure names the
 * byte offset of the record. Truncation at a record boundary is caught by the END record's
 * absence, and a stream that skipped across a record boundary (a length field with a bit
 * flipped) by the END record's count. Errors are sticky: after one, every call returns it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/trace.h"
#include "trace/trace_internal.h"

#define TRC_READER_BUF (1u << 20)
#define TRC_KINDS      65536u

struct trc_reader {
	int fd;		      /* -1 when reading from memory */
	uint8_t *buf;	      /* owned buffer of a file reader; NULL for a memory reader */
	const uint8_t *data;  /* the bytes being parsed: buf, or the caller's memory */
	size_t cap;	      /* size of buf */
	size_t len;	      /* valid bytes at data */
	size_t pos;	      /* next unparsed byte at data */
	uint64_t data_offset; /* file offset of data[0] */
	bool eof;	      /* nothing more to read into the buffer */
	bool ended;	      /* the END record was handed out */
	int error;	      /* sticky -errno, 0 if none */
	uint64_t records;     /* records read before END, to check END's count */
	struct trc_header header;
	char *host;
	char *guest;
	char **kind_names; /* TRC_KINDS entries, allocated at the first KIND_NAME */
	char msg[256];
};

static const char *const trc_event_names[] = {
    [TRC_EV_EXCEPTION] = "exception",
    [TRC_EV_INVALIDATE] = "invalidate",
    [TRC_EV_FLUSH] = "flush",
    [TRC_EV_EXIT] = "exit",
    [TRC_EV_CR3] = "cr3",
    [TRC_EV_MMIO] = "mmio",
    [TRC_EV_HIDDEN_FAULT] = "hidden-fault",
};

const char *trc_event_kind_name(uint16_t kind)
{
	if (kind >= sizeof(trc_event_names) / sizeof(trc_event_names[0]))
		return NULL;
	return trc_event_names[kind];
}

__attribute__((format(printf, 3, 4))) static int trc_reader_fail(struct trc_reader *r, int rc,
								 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->error = rc;
	return rc;
}

static size_t trc_reader_avail(const struct trc_reader *r)
{
	return r->len - r->pos;
}

/* Make at least need (<= TRC_RECORD_MAX) bytes available at data + pos, unless the file ends
 * first. Returns 0 (check trc_reader_avail() for how many arrived) or -errno on a read error. */
static int trc_reader_fill(struct trc_reader *r, size_t need)
{
	if (trc_reader_avail(r) >= need || r->eof)
		return 0;

	/* Move the unparsed tail to the front, then grow the buffer if one record needs more. */
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->data_offset += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (need > r->cap) {
		uint8_t *bigger = realloc(r->buf, need);

		if (bigger == NULL)
			return -ENOMEM;
		r->buf = bigger;
		r->data = bigger;
		r->cap = need;
	}
	while (r->len < need) {
		ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			r->eof = true;
			break;
		}
		r->len += (size_t)n;
	}
	return 0;
}

static char *trc_strndup(const uint8_t *s, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy != NULL) {
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	return copy;
}

static int trc_reader_fill_checked(struct trc_reader *r, size_t need)
{
	int rc = trc_reader_fill(r, need);

	if (rc == -ENOMEM)
		return trc_reader_fail(r, rc, "out of memory");
	if (rc < 0)
		return trc_reader_fail(r, rc, "read error at byte %" PRIu64 ": %s",
				       r->data_offset + r->len, strerror(-rc));
	return 0;
}

/* Check the header in the order FORMAT.md gives, so each kind of bad file gets its own message. */
static int trc_reader_parse_header(struct trc_reader *r)
{
	const uint8_t *h;
	size_t avail, magic_len;
	uint32_t header_size, host_len, guest_len;
	int rc;

	rc = trc_reader_fill_checked(r, TRC_HEADER_FIXED);
	if (rc < 0)
		return rc;
	avail = trc_reader_avail(r);
	h = r->data + r->pos;
	magic_len = avail < TRC_MAGIC_LEN ? avail : TRC_MAGIC_LEN;
	if (avail == 0 || memcmp(h, TRC_MAGIC, magic_len) != 0)
		return trc_reader_fail(r, -EINVAL, "not a bt86 trace file (bad magic)");
	if (avail < TRC_HDR_VERSION + 2)
		return trc_reader_fail(r, -EINVAL, "truncated header (%zu of %u bytes)", avail,
				       TRC_HEADER_FIXED);

	r->header.version = trc_get_u16(h + TRC_HDR_VERSION);
	if (r->header.version > TRC_VERSION)
		return trc_reader_fail(r, -ENOTSUP,
				       "trace format version %u is newer than this reader's (%u); "
				       "read it with a newer bt86-trace",
				       r->header.version, TRC_VERSION);
	if (r->header.version == 0)
		return trc_reader_fail(r, -EINVAL, "corrupt header: format version 0");
	if (avail < TRC_HEADER_FIXED)
		return trc_reader_fail(r, -EINVAL, "truncated header (%zu of %u bytes)", avail,
				       TRC_HEADER_FIXED);

	header_size = trc_get_u32(h + TRC_HDR_SIZE);
	host_len = trc_get_u16(h + TRC_HDR_HOST_LEN);
	guest_len = trc_get_u16(h + TRC_HDR_GUEST_LEN);
	if (header_size < TRC_HEADER_FIXED + host_len + guest_len || header_size > TRC_RECORD_MAX)
		return trc_reader_fail(r, -EINVAL,
				       "corrupt header: header size %" PRIu32
				       " does not fit strings of %" PRIu32 " and %" PRIu32 " bytes",
				       header_size, host_len, guest_len);
	r->header.header_size = header_size;
	r->header.start_realtime_ns = trc_get_u64(h + TRC_HDR_REALTIME);
	r->header.start_monotonic_ns = trc_get_u64(h + TRC_HDR_MONOTONIC);

	rc = trc_reader_fill_checked(r, header_size);
	if (rc < 0)
		return rc;
	avail = trc_reader_avail(r);
	if (avail < header_size)
		return trc_reader_fail(r, -EINVAL, "truncated header (%zu of %" PRIu32 " bytes)",
				       avail, header_size);
	h = r->data + r->pos; /* the fill may have moved the buffer */
	r->host = trc_strndup(h + TRC_HEADER_FIXED, host_len);
	r->guest = trc_strndup(h + TRC_HEADER_FIXED + host_len, guest_len);
	if (r->host == NULL || r->guest == NULL)
		return trc_reader_fail(r, -ENOMEM, "out of memory");
	r->header.host = r->host;
	r->header.guest_description = r->guest;
	r->pos += header_size;
	return 0;
}

static struct trc_reader *trc_reader_alloc(void)
{
	struct trc_reader *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->fd = -1;
	return r;
}

/* Parse the header of a freshly set-up reader; on failure copy the message and free it. */
static int trc_reader_start(struct trc_reader *r, struct trc_reader **reader, char *err,
			    size_t err_len)
{
	int rc = trc_reader_parse_header(r);

	if (rc < 0) {
		if (err_len > 0)
			snprintf(err, err_len, "%s", r->msg);
		trc_reader_close(r);
		return rc;
	}
	*reader = r;
	return 0;
}

int trc_reader_open(const char *path, struct trc_reader **reader, char *err, size_t err_len)
{
	struct trc_reader *r;
	int rc;

	*reader = NULL;
	r = trc_reader_alloc();
	if (r == NULL)
		goto no_memory;
	r->buf = malloc(TRC_READER_BUF);
	if (r->buf == NULL)
		goto free_reader;
	r->data = r->buf;
	r->cap = TRC_READER_BUF;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = -errno;
		if (err_len > 0)
			snprintf(err, err_len, "%s", strerror(-rc));
		trc_reader_close(r);
		return rc;
	}
	return trc_reader_start(r, reader, err, err_len);

free_reader:
	trc_reader_close(r);
no_memory:
	if (err_len > 0)
		snprintf(err, err_len, "out of memory");
	return -ENOMEM;
}

int trc_reader_open_mem(const void *data, size_t size, struct trc_reader **reader, char *err,
			size_t err_len)
{
	struct trc_reader *r;

	*reader = NULL;
	r = trc_reader_alloc();
	if (r == NULL) {
		if (err_len > 0)
			snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	r->data = data;
	r->len = size;
	r->eof = true;
	return trc_reader_start(r, reader, err, err_len);
}

void trc_reader_close(struct trc_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->kind_names != NULL) {
		for (size_t i = 0; i < TRC_KINDS; i++)
			free(r->kind_names[i]);
		free(r->kind_names);
	}
	free(r->host);
	free(r->guest);
	free(r->buf);
	free(r);
}

const struct trc_header *trc_reader_header(const struct trc_reader *r)
{
	return &r->header;
}

const char *trc_reader_error(const struct trc_reader *r)
{
	return r->error != 0 ? r->msg : "";
}

const char *trc_reader_kind_name(const struct trc_reader *r, uint16_t kind)
{
	return r->kind_names != NULL ? r->kind_names[kind] : NULL;
}

void trc_rec_block_insn_get(const struct trc_rec_block *block, uint32_t i, uint32_t *guest_eip,
			    uint32_t *host_offset)
{
	*guest_eip = trc_get_u32(block->insn_eips + 4 * (size_t)i);
	*host_offset = trc_get_u32(block->insn_host_offsets + 4 * (size_t)i);
}

/* Fail for a record of a known type that is shorter than its fields need. */
static int trc_reader_short(struct trc_reader *r, const struct trc_record *rec, const char *what,
			    uint64_t need)
{
	return trc_reader_fail(r, -EINVAL,
			       "record at byte %" PRIu64 ": %s needs %" PRIu64
			       " payload bytes, record has %" PRIu32,
			       rec->offset, what, need, rec->payload_len);
}

static int trc_reader_decode_block(struct trc_reader *r, struct trc_record *rec)
{
	struct trc_rec_block *b = &rec->block;
	const uint8_t *p = rec->payload;
	uint64_t need;

	if (rec->payload_len < TRC_BLOCK_FIXED)
		return trc_reader_short(r, rec, "BLOCK", TRC_BLOCK_FIXED);
	b->guest_eip = trc_get_u32(p);
	b->guest_phys = trc_get_u32(p + 4);
	b->host_addr = trc_get_u64(p + 8);
	b->guest_len = trc_get_u32(p + 16);
	b->host_len = trc_get_u32(p + 20);
	b->n_insns = trc_get_u32(p + 24);
	need = (uint64_t)TRC_BLOCK_FIXED + b->guest_len + b->host_len + 8 * (uint64_t)b->n_insns;
	if (need > rec->payload_len)
		return trc_reader_short(r, rec, "BLOCK", need);
	b->guest = p + TRC_BLOCK_FIXED;
	b->host = b->guest + b->guest_len;
	b->insn_eips = b->host + b->host_len;
	b->insn_host_offsets = b->insn_eips + 4 * (size_t)b->n_insns;
	return 0;
}

static int trc_reader_decode_kind_name(struct trc_reader *r, struct trc_record *rec)
{
	struct trc_rec_kind_name *k = &rec->kind_name;
	char *copy;

	if (rec->payload_len < TRC_KIND_NAME_FIXED)
		return trc_reader_short(r, rec, "KIND_NAME", TRC_KIND_NAME_FIXED);
	k->kind = trc_get_u16(rec->payload);
	k->name_len = trc_get_u16(rec->payload + 2);
	if ((uint64_t)TRC_KIND_NAME_FIXED + k->name_len > rec->payload_len)
		return trc_reader_short(r, rec, "KIND_NAME",
					(uint64_t)TRC_KIND_NAME_FIXED + k->name_len);
	k->name = (const char *)rec->payload + TRC_KIND_NAME_FIXED;

	/* Keep a copy: callouts of this kind can come long after the buffer moved on. */
	if (r->kind_names == NULL) {
		r->kind_names = calloc(TRC_KINDS, sizeof(*r->kind_names));
		if (r->kind_names == NULL)
			return trc_reader_fail(r, -ENOMEM, "out of memory");
	}
	copy = trc_strndup((const uint8_t *)k->name, k->name_len);
	if (copy == NULL)
		return trc_reader_fail(r, -ENOMEM, "out of memory");
	free(r->kind_names[k->kind]);
	r->kind_names[k->kind] = copy;
	return 0;
}

static int trc_reader_decode_counter(struct trc_reader *r, struct trc_record *rec)
{
	struct trc_rec_counter *c = &rec->counter;

	if (rec->payload_len < TRC_COUNTER_FIXED)
		return trc_reader_short(r, rec, "COUNTER", TRC_COUNTER_FIXED);
	c->value = trc_get_u64(rec->payload);
	c->name_len = trc_get_u16(rec->payload + 8);
	if ((uint64_t)TRC_COUNTER_FIXED + c->name_len > rec->payload_len)
		return trc_reader_short(r, rec, "COUNTER",
					(uint64_t)TRC_COUNTER_FIXED + c->name_len);
	c->name = (const char *)rec->payload + TRC_COUNTER_FIXED;
	return 0;
}

/* The END record must agree with what was read and be the last thing in the file. */
static int trc_reader_decode_end(struct trc_reader *r, struct trc_record *rec)
{
	if (rec->payload_len < TRC_END_PAYLOAD)
		return trc_reader_short(r, rec, "END", TRC_END_PAYLOAD);
	rec->end.records = trc_get_u64(rec->payload);
	rec->end.dropped = trc_get_u64(rec->payload + 8);
	if (rec->end.records != r->records)
		return trc_reader_fail(r, -EINVAL,
				       "END record at byte %" PRIu64 " counts %" PRIu64
				       " records but %" PRIu64 " were read (corrupt record sizes)",
				       rec->offset, rec->end.records, r->records);

	/* rec points into the buffer, so instead of refilling it, look for one more byte with a
	 * plain read: nothing is read through the buffer after END. */
	if (trc_reader_avail(r) > rec->size)
		goto trailing;
	if (!r->eof) {
		uint8_t byte;
		ssize_t n;

		do
			n = read(r->fd, &byte, 1);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return trc_reader_fail(r, -errno, "read error after the END record: %s",
					       strerror(errno));
		if (n > 0)
			goto trailing;
		r->eof = true;
	}
	return 0;

trailing:
	return trc_reader_fail(r, -EINVAL, "data after the END record at byte %" PRIu64,
			       rec->offset);
}

int trc_reader_next(struct trc_reader *r, struct trc_record *rec)
{
	const uint8_t *p;
	uint64_t offset;
	size_t avail;
	int rc;

	if (r->error != 0)
		return r->error;
	if (r->ended)
		return 0;

	memset(rec, 0, sizeof(*rec));
	rc = trc_reader_fill_checked(r, TRC_REC_HEADER);
	if (rc < 0)
		return rc;
	offset = r->data_offset + r->pos;
	avail = trc_reader_avail(r);
	if (avail == 0)
		return trc_reader_fail(r, -EINVAL,
				       "trace ends at byte %" PRIu64
				       " without an END record (bt86 did not close it, or the "
				       "file was cut short)",
				       offset);
	if (avail < TRC_REC_HEADER)
		return trc_reader_fail(r, -EINVAL,
				       "record at byte %" PRIu64
				       ": truncated record header (%zu of %u bytes)",
				       offset, avail, TRC_REC_HEADER);

	p = r->data + r->pos;
	rec->offset = offset;
	rec->size = trc_get_u32(p);
	rec->type = p[4];
	rec->time_ns = trc_get_u64(p + 5);
	if (rec->size < TRC_REC_HEADER || rec->size > TRC_RECORD_MAX)
		return trc_reader_fail(r, -EINVAL, "record at byte %" PRIu64 ": bad size %" PRIu32,
				       offset, rec->size);
	if (rec->type == 0)
		return trc_reader_fail(r, -EINVAL, "record at byte %" PRIu64 ": record type 0",
				       offset);
	if (rec->type >= TRC_REC_CRITICAL)
		return trc_reader_fail(r, -ENOTSUP,
				       "record at byte %" PRIu64
				       ": unknown critical record type 0x%02x (written by a newer "
				       "bt86?)",
				       offset, rec->type);

	rc = trc_reader_fill_checked(r, rec->size);
	if (rc < 0)
		return rc;
	avail = trc_reader_avail(r);
	if (avail < rec->size)
		return trc_reader_fail(r, -EINVAL,
				       "record at byte %" PRIu64 ": truncated (%zu of %" PRIu32
				       " bytes present)",
				       offset, avail, rec->size);
	p = r->data + r->pos; /* the fill may have moved the buffer */
	rec->payload = p + TRC_REC_HEADER;
	rec->payload_len = rec->size - TRC_REC_HEADER;

	switch (rec->type) {
	case TRC_REC_BLOCK:
		rc = trc_reader_decode_block(r, rec);
		break;
	case TRC_REC_KIND_NAME:
		rc = trc_reader_decode_kind_name(r, rec);
		break;
	case TRC_REC_CALLOUT:
		if (rec->payload_len < TRC_CALLOUT_PAYLOAD) {
			rc = trc_reader_short(r, rec, "CALLOUT", TRC_CALLOUT_PAYLOAD);
			break;
		}
		rec->callout.guest_eip = trc_get_u32(rec->payload);
		rec->callout.kind = trc_get_u16(rec->payload + 4);
		rec->callout.kind_name = trc_reader_kind_name(r, rec->callout.kind);
		break;
	case TRC_REC_EVENT:
		if (rec->payload_len < TRC_EVENT_PAYLOAD) {
			rc = trc_reader_short(r, rec, "EVENT", TRC_EVENT_PAYLOAD);
			break;
		}
		rec->event.kind = trc_get_u16(rec->payload);
		rec->event.a = trc_get_u64(rec->payload + 2);
		rec->event.b = trc_get_u64(rec->payload + 10);
		rec->event.c = trc_get_u64(rec->payload + 18);
		break;
	case TRC_REC_COUNTER:
		rc = trc_reader_decode_counter(r, rec);
		break;
	case TRC_REC_BLOCK_EXEC:
		if (rec->payload_len < TRC_BLOCK_EXEC_PAYLOAD) {
			rc = trc_reader_short(r, rec, "BLOCK_EXEC", TRC_BLOCK_EXEC_PAYLOAD);
			break;
		}
		/* Matching the count to its BLOCK is the caller's business (FORMAT.md): the reader
		 * keeps no table of blocks, so an unmatched count is not an error here. */
		rec->block_exec.host_addr = trc_get_u64(rec->payload);
		rec->block_exec.guest_eip = trc_get_u32(rec->payload + 8);
		rec->block_exec.count = trc_get_u64(rec->payload + 12);
		break;
	case TRC_REC_END:
		rc = trc_reader_decode_end(r, rec);
		if (rc == 0)
			r->ended = true;
		break;
	default:
		/* An optional type from a newer writer: the caller sees only the common fields. */
		break;
	}
	if (rc < 0)
		return rc;
	if (!r->ended)
		r->records++;
	r->pos += rec->size;
	return 1;
}
