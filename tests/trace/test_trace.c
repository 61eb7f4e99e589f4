/* test_trace.c — Criterion tests of the trace writer and reader.
 *
 * The sample trace (sample.c) is written with the writer and read back field by field; then it
 * is damaged in every way a file gets damaged — cut at every length, a bit flipped in every
 * length field, a newer version — and the reader must report each as an error without reading
 * outside the bytes it was given (the memory variants copy the damaged file into a buffer of
 * exactly its size, so the sanitizer build catches any overread). Hand-built files check the
 * byte layout against trace/FORMAT.md and the compatibility rules.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trace/trace.h"
#include "sample.h"

/* Layout constants typed in from trace/FORMAT.md, so the tests check the document. */
#define FMT_HDR_VERSION	  8u
#define FMT_HDR_SIZE	  12u
#define FMT_HDR_HOST_LEN  32u
#define FMT_HDR_GUEST_LEN 34u
#define FMT_HDR_FIXED	  36u
#define FMT_REC_HEADER	  13u
#define FMT_BLOCK_EXEC	  20u /* payload: u64 host_addr, u32 guest_eip, u64 count */

static char test_dir[64];
static char test_path_buf[128];

static void test_setup(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/bt86-trace-test-XXXXXX");
	cr_assert_not_null(mkdtemp(test_dir));
}

static const char *test_path(const char *name)
{
	snprintf(test_path_buf, sizeof(test_path_buf), "%s/%s", test_dir, name);
	return test_path_buf;
}

static void test_teardown(void)
{
	static const char *const names[] = {"sample.bt86", "cut.bt86", "big.bt86", "many.bt86",
					    "exec.bt86"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(test_path(names[i]));
	rmdir(test_dir);
}

TestSuite(trace, .init = test_setup, .fini = test_teardown);

/* ---- helpers ----------------------------------------------------------------------------- */

static uint8_t *file_load(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long len;

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	cr_assert_geq(len, 0);
	rewind(f);
	data = malloc((size_t)len + 1);
	cr_assert_not_null(data);
	cr_assert_eq(fread(data, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*size = (size_t)len;
	return data;
}

static void file_store(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	if (size > 0)
		cr_assert_eq(fwrite(data, 1, size, f), size);
	cr_assert_eq(fclose(f), 0);
}

/* The sample trace as bytes, written through the real writer into a real file. */
static uint8_t *sample_bytes(size_t *size)
{
	const char *path = test_path("sample.bt86");
	struct trc_writer *w = trc_writer_open(path, SAMPLE_DESC);

	cr_assert_not_null(w, "trc_writer_open: %s", strerror(errno));
	sample_write(w);
	return file_load(path, size);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Walk all records of an open reader. Returns the last result: 0 at a clean end, or the error;
 * *n_records counts the records handed out, msg gets the error message. */
static int read_rest(struct trc_reader *r, size_t *n_records, char *msg, size_t msg_len)
{
	struct trc_record rec;
	size_t n = 0;
	int rc;

	while ((rc = trc_reader_next(r, &rec)) > 0)
		n++;
	if (rc < 0) {
		snprintf(msg, msg_len, "%s", trc_reader_error(r));
		/* Errors are sticky. */
		cr_assert_eq(trc_reader_next(r, &rec), rc);
	}
	if (n_records != NULL)
		*n_records = n;
	return rc;
}

/* Read a whole trace held in memory; the bytes are copied into a buffer of exactly size bytes
 * so that a read past the end is a sanitizer error, not a silent pass. */
static int read_mem(const uint8_t *data, size_t size, size_t *n_records, char *msg, size_t msg_len)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct trc_reader *r;
	int rc;

	cr_assert_not_null(copy);
	if (size > 0)
		memcpy(copy, data, size);
	msg[0] = '\0';
	rc = trc_reader_open_mem(copy, size, &r, msg, msg_len);
	if (rc == 0) {
		rc = read_rest(r, n_records, msg, msg_len);
		trc_reader_close(r);
	} else {
		cr_assert_null(r);
	}
	free(copy);
	return rc;
}

static int read_file(const char *path, size_t *n_records, char *msg, size_t msg_len)
{
	struct trc_reader *r;
	int rc;

	msg[0] = '\0';
	rc = trc_reader_open(path, &r, msg, msg_len);
	if (rc < 0)
		return rc;
	rc = read_rest(r, n_records, msg, msg_len);
	trc_reader_close(r);
	return rc;
}

static int next_ok(struct trc_reader *r, struct trc_record *rec, uint8_t type)
{
	int rc = trc_reader_next(r, rec);

	cr_assert_eq(rc, 1, "trc_reader_next: %d %s", rc, trc_reader_error(r));
	cr_assert_eq(rec->type, type, "record at %lu: type %u, expected %u",
		     (unsigned long)rec->offset, rec->type, type);
	return rc;
}

static void assert_name(const char *name, uint16_t len, const char *expected)
{
	cr_assert_eq(len, strlen(expected));
	cr_assert_eq(memcmp(name, expected, len), 0, "name %.*s, expected %s", len, name, expected);
}

/* ---- round trip -------------------------------------------------------------------------- */

Test(trace, sample_reads_back_field_by_field)
{
	struct timespec now;
	size_t size;
	uint8_t *bytes = sample_bytes(&size);
	struct trc_reader *r;
	struct trc_record rec;
	const struct trc_header *h;
	uint64_t prev_time = 0, next_offset;
	char msg[256];
	uint32_t eip, hoff;
	int rc;

	rc = trc_reader_open(test_path("sample.bt86"), &r, msg, sizeof(msg));
	cr_assert_eq(rc, 0, "trc_reader_open: %s", msg);
	h = trc_reader_header(r);
	cr_assert_eq(h->version, TRC_VERSION);
	cr_assert_str_eq(h->guest_description, SAMPLE_DESC);
	cr_assert_eq(strncmp(h->host, "Linux ", 6), 0, "host '%s'", h->host);
	cr_assert_eq(h->header_size, FMT_HDR_FIXED + strlen(h->host) + strlen(SAMPLE_DESC));
	clock_gettime(CLOCK_REALTIME, &now);
	cr_assert_lt(llabs((long long)(h->start_realtime_ns / 1000000000u) - now.tv_sec), 600);
	cr_assert_gt(h->start_monotonic_ns, 0);

	next_ok(r, &rec, TRC_REC_BLOCK);
	cr_assert_eq(rec.offset, h->header_size);
	cr_assert_eq(rec.block.guest_eip, SAMPLE_GUEST_EIP);
	cr_assert_eq(rec.block.guest_phys, SAMPLE_GUEST_PHYS);
	cr_assert_eq(rec.block.host_addr, SAMPLE_HOST_ADDR);
	cr_assert_eq(rec.block.guest_len, SAMPLE_GUEST_LEN);
	cr_assert_eq(rec.block.host_len, SAMPLE_HOST_LEN);
	cr_assert_eq(rec.block.n_insns, SAMPLE_N_INSNS);
	cr_assert_eq(memcmp(rec.block.guest, sample_guest, SAMPLE_GUEST_LEN), 0);
	cr_assert_eq(memcmp(rec.block.host, sample_host, SAMPLE_HOST_LEN), 0);
	for (uint32_t i = 0; i < SAMPLE_N_INSNS; i++) {
		trc_rec_block_insn_get(&rec.block, i, &eip, &hoff);
		cr_assert_eq(eip, sample_insn_eips[i]);
		cr_assert_eq(hoff, sample_insn_host_offsets[i]);
	}
	cr_assert_eq(rec.size,
		     FMT_REC_HEADER + 28 + SAMPLE_GUEST_LEN + SAMPLE_HOST_LEN + 8 * SAMPLE_N_INSNS);
	prev_time = rec.time_ns;
	next_offset = rec.offset + rec.size;

	/* The first callout of a kind brings its name; the second of the same kind does not. */
	next_ok(r, &rec, TRC_REC_KIND_NAME);
	cr_assert_eq(rec.offset, next_offset);
	cr_assert_eq(rec.kind_name.kind, SAMPLE_KIND_CPUID);
	assert_name(rec.kind_name.name, rec.kind_name.name_len, "cpuid");
	next_ok(r, &rec, TRC_REC_CALLOUT);
	cr_assert_eq(rec.callout.guest_eip, 0x00100010u);
	cr_assert_eq(rec.callout.kind, SAMPLE_KIND_CPUID);
	cr_assert_str_eq(rec.callout.kind_name, "cpuid");
	next_ok(r, &rec, TRC_REC_CALLOUT);
	cr_assert_eq(rec.callout.guest_eip, 0x00100020u);
	cr_assert_eq(rec.callout.kind, SAMPLE_KIND_CPUID);
	cr_assert_str_eq(rec.callout.kind_name, "cpuid");
	next_ok(r, &rec, TRC_REC_KIND_NAME);
	cr_assert_eq(rec.kind_name.kind, SAMPLE_KIND_HLT);
	assert_name(rec.kind_name.name, rec.kind_name.name_len, "hlt");
	next_ok(r, &rec, TRC_REC_CALLOUT);
	cr_assert_eq(rec.callout.guest_eip, 0x00100030u);
	cr_assert_eq(rec.callout.kind, SAMPLE_KIND_HLT);
	cr_assert_str_eq(rec.callout.kind_name, "hlt");
	cr_assert_str_eq(trc_reader_kind_name(r, SAMPLE_KIND_CPUID), "cpuid");
	cr_assert_null(trc_reader_kind_name(r, 4));

	next_ok(r, &rec, TRC_REC_EVENT);
	cr_assert_eq(rec.event.kind, TRC_EV_EXCEPTION);
	cr_assert_eq(rec.event.a, 14);
	cr_assert_eq(rec.event.b, 2);
	cr_assert_eq(rec.event.c, 0x00100007u);
	cr_assert_str_eq(trc_event_kind_name(rec.event.kind), "exception");
	next_ok(r, &rec, TRC_REC_EVENT);
	cr_assert_eq(rec.event.kind, TRC_EV_INVALIDATE);
	cr_assert_eq(rec.event.a, 0x00100000u);
	cr_assert_eq(rec.event.b, 1);
	cr_assert_eq(rec.event.c, 7);
	next_ok(r, &rec, TRC_REC_EVENT);
	cr_assert_eq(rec.event.kind, TRC_EV_FLUSH);
	cr_assert_eq(rec.event.a, 12);
	next_ok(r, &rec, TRC_REC_EVENT);
	cr_assert_eq(rec.event.kind, TRC_EV_EXIT);
	cr_assert_eq(rec.event.a, 0x31);
	cr_assert_eq(rec.event.b, 0);
	cr_assert_eq(rec.event.c, 0);

	next_ok(r, &rec, TRC_REC_BLOCK_EXEC);
	cr_assert_eq(rec.block_exec.host_addr, SAMPLE_HOST_ADDR);
	cr_assert_eq(rec.block_exec.guest_eip, SAMPLE_GUEST_EIP);
	cr_assert_eq(rec.block_exec.count, SAMPLE_EXEC_COUNT);
	cr_assert_eq(rec.size, FMT_REC_HEADER + FMT_BLOCK_EXEC);

	for (size_t i = 0; i < SAMPLE_N_COUNTERS; i++) {
		next_ok(r, &rec, TRC_REC_COUNTER);
		assert_name(rec.counter.name, rec.counter.name_len, sample_counter_names[i]);
		cr_assert_eq(rec.counter.value, sample_counter_values[i]);
		cr_assert_geq(rec.time_ns, prev_time);
		prev_time = rec.time_ns;
	}

	next_ok(r, &rec, TRC_REC_END);
	cr_assert_eq(rec.end.records, 14);
	cr_assert_eq(rec.end.dropped, 0);
	cr_assert_eq(rec.offset + rec.size, size, "END is the last thing in the file");
	cr_assert_eq(trc_reader_next(r, &rec), 0);
	cr_assert_eq(trc_reader_next(r, &rec), 0);
	cr_assert_str_eq(trc_reader_error(r), "");
	trc_reader_close(r);

	/* The same bytes read from memory give the same records. */
	size_t n;
	cr_assert_eq(read_mem(bytes, size, &n, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(n, 15);
	free(bytes);
}

Test(trace, writer_layout_matches_format_md)
{
	size_t size;
	uint8_t *b = sample_bytes(&size);
	uint32_t header_size = le32(b + FMT_HDR_SIZE);
	uint16_t host_len = le16(b + FMT_HDR_HOST_LEN), guest_len = le16(b + FMT_HDR_GUEST_LEN);
	const uint8_t *rec = b + header_size, *p;

	cr_assert_eq(memcmp(b, "BT86TRC\0", 8), 0);
	cr_assert_eq(le16(b + FMT_HDR_VERSION), TRC_VERSION);
	cr_assert_eq(le16(b + FMT_HDR_VERSION + 2), 0);
	cr_assert_eq(header_size, FMT_HDR_FIXED + host_len + guest_len);
	cr_assert_eq(guest_len, strlen(SAMPLE_DESC));
	cr_assert_eq(memcmp(b + FMT_HDR_FIXED + host_len, SAMPLE_DESC, guest_len), 0);

	/* BLOCK: size, type, time, then the payload fields at their documented offsets. */
	cr_assert_eq(rec[4], 0x01);
	p = rec + FMT_REC_HEADER;
	cr_assert_eq(le32(p + 0), SAMPLE_GUEST_EIP);
	cr_assert_eq(le32(p + 4), SAMPLE_GUEST_PHYS);
	cr_assert_eq(le32(p + 8), (uint32_t)SAMPLE_HOST_ADDR);
	cr_assert_eq(le32(p + 12), (uint32_t)(SAMPLE_HOST_ADDR >> 32));
	cr_assert_eq(le32(p + 16), SAMPLE_GUEST_LEN);
	cr_assert_eq(le32(p + 20), SAMPLE_HOST_LEN);
	cr_assert_eq(le32(p + 24), SAMPLE_N_INSNS);
	cr_assert_eq(memcmp(p + 28, sample_guest, SAMPLE_GUEST_LEN), 0);
	cr_assert_eq(memcmp(p + 28 + SAMPLE_GUEST_LEN, sample_host, SAMPLE_HOST_LEN), 0);
	p += 28 + SAMPLE_GUEST_LEN + SAMPLE_HOST_LEN;
	for (uint32_t i = 0; i < SAMPLE_N_INSNS; i++) {
		cr_assert_eq(le32(p + 4 * i), sample_insn_eips[i]);
		cr_assert_eq(le32(p + 4 * SAMPLE_N_INSNS + 4 * i), sample_insn_host_offsets[i]);
	}
	cr_assert_eq(le32(rec), (uint32_t)(p + 8 * SAMPLE_N_INSNS - rec));

	/* KIND_NAME follows: kind, name length, name. */
	rec += le32(rec);
	cr_assert_eq(rec[4], 0x02);
	cr_assert_eq(le16(rec + FMT_REC_HEADER), SAMPLE_KIND_CPUID);
	cr_assert_eq(le16(rec + FMT_REC_HEADER + 2), 5);
	cr_assert_eq(memcmp(rec + FMT_REC_HEADER + 4, "cpuid", 5), 0);
	cr_assert_eq(le32(rec), FMT_REC_HEADER + 4 + 5);

	/* CALLOUT: eip, kind. */
	rec += le32(rec);
	cr_assert_eq(rec[4], 0x03);
	cr_assert_eq(le32(rec), FMT_REC_HEADER + 6);
	cr_assert_eq(le32(rec + FMT_REC_HEADER), 0x00100010u);
	cr_assert_eq(le16(rec + FMT_REC_HEADER + 4), SAMPLE_KIND_CPUID);

	/* BLOCK_EXEC follows two more callouts, the second KIND_NAME and the four events; its
	 * payload is host_addr, guest_eip, count. */
	for (int i = 0; i < 8; i++)
		rec += le32(rec);
	cr_assert_eq(rec[4], 0x07);
	cr_assert_eq(le32(rec), FMT_REC_HEADER + FMT_BLOCK_EXEC);
	p = rec + FMT_REC_HEADER;
	cr_assert_eq(le32(p + 0), (uint32_t)SAMPLE_HOST_ADDR);
	cr_assert_eq(le32(p + 4), (uint32_t)(SAMPLE_HOST_ADDR >> 32));
	cr_assert_eq(le32(p + 8), SAMPLE_GUEST_EIP);
	cr_assert_eq(le32(p + 12), (uint32_t)SAMPLE_EXEC_COUNT);
	cr_assert_eq(le32(p + 16), (uint32_t)(SAMPLE_EXEC_COUNT >> 32));

	/* END is the last 29 bytes: 14 records before it, none dropped. */
	rec = b + size - (FMT_REC_HEADER + 16);
	cr_assert_eq(le32(rec), FMT_REC_HEADER + 16);
	cr_assert_eq(rec[4], 0x06);
	cr_assert_eq(le32(rec + FMT_REC_HEADER), 14);
	cr_assert_eq(le32(rec + FMT_REC_HEADER + 8), 0);
	free(b);
}

Test(trace, null_writer_does_nothing)
{
	static const uint32_t zero;

	trc_block(NULL, 1, 2, sample_guest, SAMPLE_GUEST_LEN, 3, sample_host, SAMPLE_HOST_LEN, 1,
		  &zero, &zero);
	trc_callout(NULL, 1, 2, "name");
	trc_event(NULL, TRC_EV_FLUSH, 1, 2, 3);
	trc_block_exec(NULL, 1, 2, 3);
	trc_writer_close(NULL, sample_counter_names, sample_counter_values, SAMPLE_N_COUNTERS);
}

/* Execution counts go through the writer and come back unchanged, extreme values included, in
 * the order written and between the records around them. */
Test(trace, block_exec_round_trip)
{
	static const struct trc_rec_block_exec execs[] = {
	    {SAMPLE_HOST_ADDR, SAMPLE_GUEST_EIP, 1},
	    {0, 0, 0},
	    {UINT64_MAX, UINT32_MAX, UINT64_MAX},
	    {0x00007f0000001000ull, 0xc0100000u, 0x0000000100000001ull},
	};
	const size_t n = sizeof(execs) / sizeof(execs[0]);
	const char *path = test_path("exec.bt86");
	struct trc_writer *w = trc_writer_open(path, "exec");
	struct trc_reader *r;
	struct trc_record rec;
	uint64_t prev_time = 0;
	char msg[256];

	cr_assert_not_null(w, "trc_writer_open: %s", strerror(errno));
	trc_block(w, SAMPLE_GUEST_EIP, SAMPLE_GUEST_PHYS, sample_guest, SAMPLE_GUEST_LEN,
		  SAMPLE_HOST_ADDR, sample_host, SAMPLE_HOST_LEN, SAMPLE_N_INSNS, sample_insn_eips,
		  sample_insn_host_offsets);
	for (size_t i = 0; i < n; i++)
		trc_block_exec(w, execs[i].host_addr, execs[i].guest_eip, execs[i].count);
	trc_event(w, TRC_EV_FLUSH, 1, 0, 0);
	trc_writer_close(w, sample_counter_names, sample_counter_values, 1);

	cr_assert_eq(trc_reader_open(path, &r, msg, sizeof(msg)), 0, "%s", msg);
	next_ok(r, &rec, TRC_REC_BLOCK);
	for (size_t i = 0; i < n; i++) {
		next_ok(r, &rec, TRC_REC_BLOCK_EXEC);
		cr_assert_eq(rec.size, FMT_REC_HEADER + FMT_BLOCK_EXEC);
		cr_assert_eq(rec.payload_len, FMT_BLOCK_EXEC);
		cr_assert_eq(rec.block_exec.host_addr, execs[i].host_addr, "record %zu", i);
		cr_assert_eq(rec.block_exec.guest_eip, execs[i].guest_eip, "record %zu", i);
		cr_assert_eq(rec.block_exec.count, execs[i].count, "record %zu", i);
		cr_assert_geq(rec.time_ns, prev_time);
		prev_time = rec.time_ns;
	}
	next_ok(r, &rec, TRC_REC_EVENT);
	cr_assert_eq(rec.event.kind, TRC_EV_FLUSH);
	next_ok(r, &rec, TRC_REC_COUNTER);
	next_ok(r, &rec, TRC_REC_END);
	cr_assert_eq(rec.end.records, n + 3);
	cr_assert_eq(trc_reader_next(r, &rec), 0);
	trc_reader_close(r);
}

/* A record bigger than the writer's 1 MiB buffer goes straight to the file, between smaller
 * ones; the reader has to grow its buffer for it. */
Test(trace, block_larger_than_the_buffers)
{
	const size_t big = (3u << 20) / 2;
	const char *path = test_path("big.bt86");
	uint8_t *host = malloc(big);
	struct trc_writer *w;
	struct trc_reader *r;
	struct trc_record rec;
	char msg[256];

	cr_assert_not_null(host);
	for (size_t i = 0; i < big; i++)
		host[i] = (uint8_t)(i * 7 + (i >> 12));
	w = trc_writer_open(path, "big");
	cr_assert_not_null(w);
	trc_callout(w, 1, 1, "before");
	trc_block(w, 0x1000, 0x2000, sample_guest, SAMPLE_GUEST_LEN, 0x3000, host, (uint32_t)big, 0,
		  NULL, NULL);
	trc_callout(w, 2, 1, "before");
	trc_writer_close(w, NULL, NULL, 0);

	cr_assert_eq(trc_reader_open(path, &r, msg, sizeof(msg)), 0, "%s", msg);
	next_ok(r, &rec, TRC_REC_KIND_NAME);
	next_ok(r, &rec, TRC_REC_CALLOUT);
	cr_assert_eq(rec.callout.guest_eip, 1);
	next_ok(r, &rec, TRC_REC_BLOCK);
	cr_assert_eq(rec.block.guest_eip, 0x1000);
	cr_assert_eq(rec.block.host_len, big);
	cr_assert_eq(rec.block.n_insns, 0);
	cr_assert_eq(memcmp(rec.block.host, host, big), 0);
	next_ok(r, &rec, TRC_REC_CALLOUT);
	cr_assert_eq(rec.callout.guest_eip, 2);
	next_ok(r, &rec, TRC_REC_END);
	cr_assert_eq(rec.end.records, 4);
	cr_assert_eq(trc_reader_next(r, &rec), 0);
	trc_reader_close(r);
	free(host);
}

/* Enough records to fill the writer's and the reader's buffers several times over, so records
 * straddle every buffer boundary. */
Test(trace, many_records_cross_buffer_boundaries)
{
	const uint32_t n = 300000;
	const char *path = test_path("many.bt86");
	struct trc_writer *w = trc_writer_open(path, "many");
	struct trc_reader *r;
	struct trc_record rec;
	uint64_t prev_time = 0;
	char msg[256];

	cr_assert_not_null(w);
	for (uint32_t i = 0; i < n; i++)
		trc_callout(w, i, (uint16_t)(i % 5), "kind");
	trc_writer_close(w, NULL, NULL, 0);

	cr_assert_eq(trc_reader_open(path, &r, msg, sizeof(msg)), 0, "%s", msg);
	for (uint32_t i = 0; i < n; i++) {
		if (i < 5)
			next_ok(r, &rec, TRC_REC_KIND_NAME);
		next_ok(r, &rec, TRC_REC_CALLOUT);
		cr_assert_eq(rec.callout.guest_eip, i);
		cr_assert_geq(rec.time_ns, prev_time);
		prev_time = rec.time_ns;
	}
	next_ok(r, &rec, TRC_REC_END);
	cr_assert_eq(rec.end.records, n + 5);
	cr_assert_eq(trc_reader_next(r, &rec), 0);
	trc_reader_close(r);
}

Test(trace, writer_open_failures_set_errno)
{
	errno = 0;
	cr_assert_null(trc_writer_open("/nonexistent-bt86-dir/t.bt86", "x"));
	cr_assert_eq(errno, ENOENT);
	if (access("/dev/full", W_OK) == 0) {
		/* The header is written at open, so a full disk is reported there. */
		errno = 0;
		cr_assert_null(trc_writer_open("/dev/full", "x"));
		cr_assert_eq(errno, ENOSPC);
	}
}

/* ---- damaged files ----------------------------------------------------------------------- */

Test(trace, every_truncation_is_an_error_from_memory)
{
	size_t size, n;
	uint8_t *b = sample_bytes(&size);
	uint32_t header_size = le32(b + FMT_HDR_SIZE);
	char msg[256];

	cr_assert_eq(read_mem(b, size, &n, msg, sizeof(msg)), 0, "%s", msg);
	for (size_t len = 0; len < size; len++) {
		int rc = read_mem(b, len, NULL, msg, sizeof(msg));

		cr_assert_lt(rc, 0, "a trace cut to %zu of %zu bytes was accepted", len, size);
		cr_assert_neq(msg[0], '\0', "no message for a cut at %zu", len);
		if (len >= header_size)
			cr_assert_not_null(strstr(msg, "byte "), "no offset in '%s'", msg);
		else
			cr_assert_not_null(strstr(msg, len == 0 ? "not a bt86 trace" : "header"),
					   "cut at %zu: '%s'", len, msg);
	}
	free(b);
}

Test(trace, every_truncation_is_an_error_from_a_file)
{
	size_t size;
	uint8_t *b = sample_bytes(&size);
	const char *path;
	char msg[256];

	for (size_t len = 0; len < size; len++) {
		path = test_path("cut.bt86");
		file_store(path, b, len);
		cr_assert_lt(read_file(path, NULL, msg, sizeof(msg)), 0,
			     "a trace file cut to %zu of %zu bytes was accepted", len, size);
		cr_assert_neq(msg[0], '\0');
	}
	free(b);
}

Test(trace, truncated_record_names_its_offset)
{
	size_t size;
	uint8_t *b = sample_bytes(&size);
	uint32_t header_size = le32(b + FMT_HDR_SIZE);
	char msg[256], want[64];

	/* Cut inside the first record (the BLOCK right after the header). */
	cr_assert_eq(read_mem(b, header_size + 20, NULL, msg, sizeof(msg)), -EINVAL);
	snprintf(want, sizeof(want), "record at byte %u: truncated", header_size);
	cr_assert_not_null(strstr(msg, want), "'%s'", msg);

	/* Cut at a record boundary: only the missing END tells. */
	cr_assert_eq(read_mem(b, header_size + le32(b + header_size), NULL, msg, sizeof(msg)),
		     -EINVAL);
	cr_assert_not_null(strstr(msg, "without an END record"), "'%s'", msg);
	free(b);
}

Test(trace, newer_version_is_rejected)
{
	size_t size;
	uint8_t *b = sample_bytes(&size);
	const uint16_t versions[] = {TRC_VERSION + 1, 0xffff};
	char msg[256], want[64];

	for (size_t i = 0; i < 2; i++) {
		b[FMT_HDR_VERSION] = (uint8_t)versions[i];
		b[FMT_HDR_VERSION + 1] = (uint8_t)(versions[i] >> 8);
		cr_assert_eq(read_mem(b, size, NULL, msg, sizeof(msg)), -ENOTSUP);
		snprintf(want, sizeof(want), "version %u is newer", versions[i]);
		cr_assert_not_null(strstr(msg, want), "'%s'", msg);

		/* Also through a file, which is what bt86-trace opens. */
		file_store(test_path("cut.bt86"), b, size);
		cr_assert_eq(read_file(test_path("cut.bt86"), NULL, msg, sizeof(msg)), -ENOTSUP);
	}

	b[FMT_HDR_VERSION] = 0;
	b[FMT_HDR_VERSION + 1] = 0;
	cr_assert_eq(read_mem(b, size, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "version 0"), "'%s'", msg);
	free(b);
}

Test(trace, other_files_are_not_traces)
{
	static const char text[] = "#!/bin/sh\necho this is not a trace\n";
	char msg[256];

	cr_assert_eq(read_mem((const uint8_t *)text, sizeof(text) - 1, NULL, msg, sizeof(msg)),
		     -EINVAL);
	cr_assert_str_eq(msg, "not a bt86 trace file (bad magic)");
	cr_assert_eq(read_mem((const uint8_t *)"", 0, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_str_eq(msg, "not a bt86 trace file (bad magic)");
	cr_assert_eq(read_mem((const uint8_t *)"BT86", 4, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "truncated header"), "'%s'", msg);
	cr_assert_eq(read_file("/nonexistent-bt86-dir/t.bt86", NULL, msg, sizeof(msg)), -ENOENT);
	cr_assert_str_eq(msg, strerror(ENOENT));
	cr_assert_eq(read_file("/", NULL, msg, sizeof(msg)), -EISDIR);
}

/* Every single-bit change of every record's size field (and of the header size) must be caught:
 * either directly (too small, too large, past the end) or by the END record's count once the
 * reader has skipped across a record boundary. */
Test(trace, every_flipped_length_bit_is_rejected)
{
	size_t size, n_offsets = 0;
	uint8_t *b = sample_bytes(&size), *damaged = malloc(size);
	uint64_t offsets[32];
	struct trc_reader *r;
	struct trc_record rec;
	char msg[256];

	cr_assert_not_null(damaged);
	cr_assert_eq(trc_reader_open_mem(b, size, &r, msg, sizeof(msg)), 0);
	offsets[n_offsets++] = FMT_HDR_SIZE;
	while (trc_reader_next(r, &rec) > 0) {
		cr_assert_lt(n_offsets, 32);
		offsets[n_offsets++] = rec.offset;
	}
	trc_reader_close(r);
	cr_assert_eq(n_offsets, 16);

	for (size_t i = 0; i < n_offsets; i++) {
		for (unsigned bit = 0; bit < 32; bit++) {
			memcpy(damaged, b, size);
			damaged[offsets[i] + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			cr_assert_lt(read_mem(damaged, size, NULL, msg, sizeof(msg)), 0,
				     "size field at byte %lu with bit %u flipped was accepted",
				     (unsigned long)offsets[i], bit);
		}
	}
	free(damaged);
	free(b);
}

/* Check that every pointer of a record stays inside its payload, and read every byte they cover,
 * so that a length the reader failed to check shows up as an assertion or a sanitizer error. */
static void touch_record(const struct trc_record *rec)
{
	const uint8_t *lo = rec->payload, *hi = rec->payload + rec->payload_len;
	const struct trc_rec_block *blk = &rec->block;
	volatile unsigned sum = 0;
	uint32_t eip, hoff;

	for (uint32_t i = 0; i < rec->payload_len; i++)
		sum += rec->payload[i];
	switch (rec->type) {
	case TRC_REC_BLOCK:
		cr_assert(blk->guest >= lo && blk->guest + blk->guest_len <= hi);
		cr_assert(blk->host >= lo && blk->host + blk->host_len <= hi);
		cr_assert(blk->insn_host_offsets + 4 * (size_t)blk->n_insns <= hi);
		for (uint32_t i = 0; i < blk->guest_len; i++)
			sum += blk->guest[i];
		for (uint32_t i = 0; i < blk->host_len; i++)
			sum += blk->host[i];
		for (uint32_t i = 0; i < blk->n_insns; i++) {
			trc_rec_block_insn_get(blk, i, &eip, &hoff);
			sum += eip + hoff;
		}
		break;
	case TRC_REC_KIND_NAME:
		cr_assert((const uint8_t *)rec->kind_name.name + rec->kind_name.name_len <= hi);
		for (uint16_t i = 0; i < rec->kind_name.name_len; i++)
			sum += (unsigned char)rec->kind_name.name[i];
		break;
	case TRC_REC_COUNTER:
		cr_assert((const uint8_t *)rec->counter.name + rec->counter.name_len <= hi);
		for (uint16_t i = 0; i < rec->counter.name_len; i++)
			sum += (unsigned char)rec->counter.name[i];
		break;
	case TRC_REC_CALLOUT:
		if (rec->callout.kind_name != NULL)
			sum += (unsigned)strlen(rec->callout.kind_name);
		break;
	default:
		break;
	}
	(void)sum;
}

/* A bit flipped anywhere — in lengths inside records too, which the reader may accept because
 * records are allowed to be longer than their fields — never makes the reader crash or hand out
 * a pointer past the record. */
Test(trace, any_flipped_bit_never_reads_out_of_bounds)
{
	size_t size;
	uint8_t *b = sample_bytes(&size);

	for (size_t byte = 0; byte < size; byte++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			uint8_t *damaged = malloc(size);
			struct trc_reader *r;
			struct trc_record rec;
			char msg[256];

			cr_assert_not_null(damaged);
			memcpy(damaged, b, size);
			damaged[byte] ^= (uint8_t)(1u << bit);
			if (trc_reader_open_mem(damaged, size, &r, msg, sizeof(msg)) == 0) {
				(void)trc_reader_header(r)->host[0];
				while (trc_reader_next(r, &rec) > 0)
					touch_record(&rec);
				trc_reader_close(r);
			}
			free(damaged);
		}
	}
	free(b);
}

Test(trace, data_after_end_and_wrong_end_count_are_rejected)
{
	size_t size;
	uint8_t *b = sample_bytes(&size), *longer = malloc(size + 1);
	const char *path = test_path("cut.bt86");
	char msg[256];

	cr_assert_not_null(longer);
	memcpy(longer, b, size);
	longer[size] = 0;
	cr_assert_eq(read_mem(longer, size + 1, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "data after the END record"), "'%s'", msg);
	file_store(path, longer, size + 1);
	cr_assert_eq(read_file(path, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "data after the END record"), "'%s'", msg);

	b[size - 16] ^= 1; /* END's record count */
	cr_assert_eq(read_mem(b, size, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "counts 15 records but 14 were read"), "'%s'", msg);
	free(longer);
	free(b);
}

/* ---- hand-built files: the compatibility rules of FORMAT.md ------------------------------ */

struct build {
	uint8_t data[1024];
	size_t len;
	size_t rec_start;
	uint64_t n_records;
};

static void build_bytes(struct build *b, const void *p, size_t len)
{
	cr_assert_leq(b->len + len, sizeof(b->data));
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

static void build_le(struct build *b, uint64_t v, unsigned width)
{
	uint8_t bytes[8];

	for (unsigned i = 0; i < width; i++)
		bytes[i] = (uint8_t)(v >> (8 * i));
	build_bytes(b, bytes, width);
}

/* A header with extra_bytes of unknown later header fields after the strings. */
static void build_header(struct build *b, uint16_t version, size_t extra_bytes)
{
	static const char host[] = "TestOS 1.0 x86_64", guest[] = "built by hand";
	static const uint8_t zeros[16];

	b->len = 0;
	b->n_records = 0;
	build_bytes(b, "BT86TRC", 8);
	build_le(b, version, 2);
	build_le(b, 0, 2);
	build_le(b, FMT_HDR_FIXED + strlen(host) + strlen(guest) + extra_bytes, 4);
	build_le(b, 1700000000ull * 1000000000u, 8);
	build_le(b, 12345, 8);
	build_le(b, strlen(host), 2);
	build_le(b, strlen(guest), 2);
	build_bytes(b, host, strlen(host));
	build_bytes(b, guest, strlen(guest));
	build_bytes(b, zeros, extra_bytes);
}

static void build_record(struct build *b, uint8_t type, uint64_t time_ns)
{
	b->rec_start = b->len;
	build_le(b, 0, 4);
	build_le(b, type, 1);
	build_le(b, time_ns, 8);
}

static void build_record_done(struct build *b)
{
	uint32_t size = (uint32_t)(b->len - b->rec_start);

	for (unsigned i = 0; i < 4; i++)
		b->data[b->rec_start + i] = (uint8_t)(size >> (8 * i));
	b->n_records++;
}

static void build_end(struct build *b)
{
	uint64_t n = b->n_records;

	build_record(b, 0x06, 999);
	build_le(b, n, 8);
	build_le(b, 0, 8);
	build_record_done(b);
}

Test(trace, unknown_optional_records_and_longer_records_are_read)
{
	struct build b;
	struct trc_reader *r;
	struct trc_record rec;
	char msg[256];
	uint32_t eip, hoff;

	build_header(&b, TRC_VERSION, 5);
	/* A BLOCK with two bytes of fields from a later writer appended. */
	build_record(&b, 0x01, 10);
	build_le(&b, 0xc0001000u, 4);
	build_le(&b, 0x00001000u, 4);
	build_le(&b, 0xffff800000000000ull, 8);
	build_le(&b, 1, 4);
	build_le(&b, 2, 4);
	build_le(&b, 1, 4);
	build_bytes(&b, "\x90", 1);
	build_bytes(&b, "\x66\x90", 2);
	build_le(&b, 0xc0001000u, 4);
	build_le(&b, 0, 4);
	build_le(&b, 0xabcd, 2);
	build_record_done(&b);
	/* An optional record type this reader does not know. */
	build_record(&b, 0x40, 20);
	build_bytes(&b, "later", 5);
	build_record_done(&b);
	/* A callout of a kind that was never named, and an event kind from the future. */
	build_record(&b, 0x03, 30);
	build_le(&b, 0xc0001000u, 4);
	build_le(&b, 77, 2);
	build_record_done(&b);
	build_record(&b, 0x04, 40);
	build_le(&b, 200, 2);
	build_le(&b, 1, 8);
	build_le(&b, 2, 8);
	build_le(&b, 3, 8);
	build_record_done(&b);
	build_end(&b);

	cr_assert_eq(trc_reader_open_mem(b.data, b.len, &r, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_str_eq(trc_reader_header(r)->host, "TestOS 1.0 x86_64");
	cr_assert_str_eq(trc_reader_header(r)->guest_description, "built by hand");
	cr_assert_eq(trc_reader_header(r)->start_realtime_ns, 1700000000ull * 1000000000u);
	cr_assert_eq(trc_reader_header(r)->start_monotonic_ns, 12345);

	next_ok(r, &rec, TRC_REC_BLOCK);
	cr_assert_eq(rec.offset, FMT_HDR_FIXED + 17 + 13 + 5);
	cr_assert_eq(rec.time_ns, 10);
	cr_assert_eq(rec.block.guest_eip, 0xc0001000u);
	cr_assert_eq(rec.block.host_addr, 0xffff800000000000ull);
	cr_assert_eq(rec.block.guest[0], 0x90);
	cr_assert_eq(rec.block.host[1], 0x90);
	trc_rec_block_insn_get(&rec.block, 0, &eip, &hoff);
	cr_assert_eq(eip, 0xc0001000u);
	cr_assert_eq(hoff, 0);
	cr_assert_eq(rec.payload_len, 28 + 1 + 2 + 8 + 2);

	next_ok(r, &rec, 0x40);
	cr_assert_eq(rec.time_ns, 20);
	cr_assert_eq(rec.payload_len, 5);
	cr_assert_eq(memcmp(rec.payload, "later", 5), 0);

	next_ok(r, &rec, TRC_REC_CALLOUT);
	cr_assert_eq(rec.callout.kind, 77);
	cr_assert_null(rec.callout.kind_name);

	next_ok(r, &rec, TRC_REC_EVENT);
	cr_assert_eq(rec.event.kind, 200);
	cr_assert_eq(rec.event.c, 3);
	cr_assert_null(trc_event_kind_name(200));

	next_ok(r, &rec, TRC_REC_END);
	cr_assert_eq(rec.end.records, 4);
	cr_assert_eq(trc_reader_next(r, &rec), 0);
	trc_reader_close(r);
}

Test(trace, unknown_critical_record_is_rejected)
{
	struct build b;
	char msg[256], want[64];
	size_t offset;

	build_header(&b, TRC_VERSION, 0);
	offset = b.len;
	build_record(&b, 0x90, 1);
	build_le(&b, 0, 4);
	build_record_done(&b);
	build_end(&b);
	cr_assert_eq(read_mem(b.data, b.len, NULL, msg, sizeof(msg)), -ENOTSUP);
	snprintf(want, sizeof(want), "record at byte %zu: unknown critical record type 0x90",
		 offset);
	cr_assert_not_null(strstr(msg, want), "'%s'", msg);
}

Test(trace, malformed_records_are_rejected)
{
	struct build b;
	char msg[256];

	/* A BLOCK whose guest length runs past its record. */
	build_header(&b, TRC_VERSION, 0);
	build_record(&b, 0x01, 1);
	build_le(&b, 0, 4);
	build_le(&b, 0, 4);
	build_le(&b, 0, 8);
	build_le(&b, 0xfffffff0u, 4);
	build_le(&b, 0xfffffff0u, 4);
	build_le(&b, 0xfffffff0u, 4);
	build_record_done(&b);
	build_end(&b);
	cr_assert_eq(read_mem(b.data, b.len, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "BLOCK needs"), "'%s'", msg);

	/* Known records too short for their fixed fields. */
	for (uint8_t type = 0x01; type <= 0x07; type++) {
		build_header(&b, TRC_VERSION, 0);
		build_record(&b, type, 1);
		build_le(&b, 0, 1);
		build_record_done(&b);
		build_end(&b);
		cr_assert_eq(read_mem(b.data, b.len, NULL, msg, sizeof(msg)), -EINVAL, "type %u",
			     type);
		cr_assert_not_null(strstr(msg, "payload bytes"), "'%s'", msg);
	}

	/* A name longer than its record. */
	build_header(&b, TRC_VERSION, 0);
	build_record(&b, 0x05, 1);
	build_le(&b, 7, 8);
	build_le(&b, 100, 2);
	build_bytes(&b, "short", 5);
	build_record_done(&b);
	build_end(&b);
	cr_assert_eq(read_mem(b.data, b.len, NULL, msg, sizeof(msg)), -EINVAL);

	/* Type 0 and a size below the record header. */
	build_header(&b, TRC_VERSION, 0);
	build_record(&b, 0x00, 1);
	build_record_done(&b);
	build_end(&b);
	cr_assert_eq(read_mem(b.data, b.len, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "type 0"), "'%s'", msg);
	build_header(&b, TRC_VERSION, 0);
	build_le(&b, 12, 4);
	build_le(&b, 0x03, 1);
	build_le(&b, 0, 8);
	cr_assert_eq(read_mem(b.data, b.len, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "bad size 12"), "'%s'", msg);

	/* A header size too small for its own strings. */
	build_header(&b, TRC_VERSION, 0);
	b.data[FMT_HDR_SIZE] = 20;
	b.data[FMT_HDR_SIZE + 1] = 0;
	cr_assert_eq(read_mem(b.data, b.len, NULL, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "corrupt header"), "'%s'", msg);
}

static void build_block_exec(struct build *b, uint64_t host_addr, uint32_t guest_eip,
			     uint64_t count, size_t payload_len)
{
	static const uint8_t later[8] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
	uint8_t full[FMT_BLOCK_EXEC];
	struct build tmp;

	tmp.len = 0;
	build_le(&tmp, host_addr, 8);
	build_le(&tmp, guest_eip, 4);
	build_le(&tmp, count, 8);
	memcpy(full, tmp.data, FMT_BLOCK_EXEC);
	build_record(b, 0x07, 5);
	build_bytes(b, full, payload_len < FMT_BLOCK_EXEC ? payload_len : FMT_BLOCK_EXEC);
	if (payload_len > FMT_BLOCK_EXEC)
		build_bytes(b, later, payload_len - FMT_BLOCK_EXEC);
	build_record_done(b);
}

/* BLOCK_EXEC is 20 payload bytes: one less is an error that says so, more are fields of a later
 * writer and ignored, and a count that matches no BLOCK is handed out as it is. */
Test(trace, block_exec_short_long_and_unmatched)
{
	struct build b;
	struct trc_reader *r;
	struct trc_record rec;
	char msg[256], want[128];
	size_t offset;

	for (size_t len = 0; len < FMT_BLOCK_EXEC; len++) {
		build_header(&b, TRC_VERSION, 0);
		offset = b.len;
		build_block_exec(&b, 0x1000, 0x2000, 3, len);
		build_end(&b);
		cr_assert_eq(read_mem(b.data, b.len, NULL, msg, sizeof(msg)), -EINVAL,
			     "a BLOCK_EXEC of %zu bytes was accepted", len);
		snprintf(want, sizeof(want),
			 "record at byte %zu: BLOCK_EXEC needs 20 payload bytes, record has %zu",
			 offset, len);
		cr_assert_str_eq(msg, want);
	}

	build_header(&b, TRC_VERSION, 0);
	build_block_exec(&b, 0xffff800012345678ull, 0xc0100000u, 0x8000000000000001ull,
			 FMT_BLOCK_EXEC + 8);
	build_block_exec(&b, 0x1000, 0x2000, 42, FMT_BLOCK_EXEC);
	build_end(&b);
	cr_assert_eq(trc_reader_open_mem(b.data, b.len, &r, msg, sizeof(msg)), 0, "%s", msg);
	next_ok(r, &rec, TRC_REC_BLOCK_EXEC);
	cr_assert_eq(rec.payload_len, FMT_BLOCK_EXEC + 8);
	cr_assert_eq(rec.time_ns, 5);
	cr_assert_eq(rec.block_exec.host_addr, 0xffff800012345678ull);
	cr_assert_eq(rec.block_exec.guest_eip, 0xc0100000u);
	cr_assert_eq(rec.block_exec.count, 0x8000000000000001ull);
	next_ok(r, &rec, TRC_REC_BLOCK_EXEC);
	cr_assert_eq(rec.block_exec.host_addr, 0x1000);
	cr_assert_eq(rec.block_exec.guest_eip, 0x2000);
	cr_assert_eq(rec.block_exec.count, 42);
	next_ok(r, &rec, TRC_REC_END);
	cr_assert_eq(rec.end.records, 2);
	cr_assert_eq(trc_reader_next(r, &rec), 0);
	trc_reader_close(r);
}

Test(trace, a_kind_named_again_takes_the_new_name)
{
	struct build b;
	struct trc_reader *r;
	struct trc_record rec;
	char msg[256];

	build_header(&b, TRC_VERSION, 0);
	build_record(&b, 0x02, 1);
	build_le(&b, 4, 2);
	build_le(&b, 3, 2);
	build_bytes(&b, "old", 3);
	build_record_done(&b);
	build_record(&b, 0x02, 2);
	build_le(&b, 4, 2);
	build_le(&b, 3, 2);
	build_bytes(&b, "new", 3);
	build_record_done(&b);
	build_record(&b, 0x03, 3);
	build_le(&b, 0x1234, 4);
	build_le(&b, 4, 2);
	build_record_done(&b);
	build_end(&b);

	cr_assert_eq(trc_reader_open_mem(b.data, b.len, &r, msg, sizeof(msg)), 0, "%s", msg);
	next_ok(r, &rec, TRC_REC_KIND_NAME);
	next_ok(r, &rec, TRC_REC_KIND_NAME);
	next_ok(r, &rec, TRC_REC_CALLOUT);
	cr_assert_str_eq(rec.callout.kind_name, "new");
	trc_reader_close(r);
}
