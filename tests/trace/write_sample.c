/* write_sample — writes a trace for the bt86-trace tool test (tests/trace/bt86_trace_test.sh):
 * the sample trace (sample.c), with "odd" blocks that a buggy translator could produce, or with
 * "counts" that check how execution counts are matched to blocks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sample.h"

/* Blocks bt86-trace must show without crashing: an instruction map that breaks the rules of
 * FORMAT.md, bytes Capstone cannot decode, host entry code before the first instruction, and a
 * block with no map at all. */
static void write_odd(struct trc_writer *w)
{
	static const uint8_t bad_guest[] = {0x90, 0xd6, 0x90};	/* nop; (undefined); nop */
	static const uint8_t host[] = {0x90, 0x06, 0x90, 0xc3}; /* 0x06 is invalid in 64-bit */
	static const uint32_t eips[] = {0x2000, 0x2001, 0x2002};
	static const uint32_t entry_offsets[] = {1, 2, 3};
	static const uint32_t past_end[] = {0, 1, 99};

	trc_block(w, 0x2000, 0x2000, bad_guest, sizeof(bad_guest), 0x5000, host, sizeof(host), 3,
		  eips, entry_offsets);
	trc_block(w, 0x2000, 0x2000, bad_guest, sizeof(bad_guest), 0x6000, host, sizeof(host), 3,
		  eips, past_end);
	trc_block(w, 0x2000, 0x2000, bad_guest, sizeof(bad_guest), 0x7000, host, sizeof(host), 0,
		  NULL, NULL);
	static const char *const names[] = {"time: first part (ns)", "time: second part (ns)"};
	static const uint64_t values[] = {3000, 1000};

	trc_callout(w, 0x2001, 7, NULL);
	trc_event(w, (enum trc_event_kind)99, 1, 2, 3);
	/* A time split without a total: shares of the sum of the parts. */
	trc_writer_close(w, names, values, 2);
}

/* The sample block's code at another eip and host address (3 insns, the first 2 copied). */
static void write_counted_block(struct trc_writer *w, uint32_t eip, uint64_t host_addr)
{
	uint32_t eips[SAMPLE_N_INSNS];

	for (uint32_t i = 0; i < SAMPLE_N_INSNS; i++)
		eips[i] = eip + (sample_insn_eips[i] - SAMPLE_GUEST_EIP);
	trc_block(w, eip, eip, sample_guest, SAMPLE_GUEST_LEN, host_addr, sample_host,
		  SAMPLE_HOST_LEN, SAMPLE_N_INSNS, eips, sample_insn_host_offsets);
}

/* Execution counts with every matching rule of FORMAT.md at work. Blocks, in file order:
 * #0 0x1000@0x5000, #1 0x2000@0x6000, #2 0x3000@0x5000 (host address reused after a flush),
 * #3 0x3000@0x7000, #4 0x1000@0x5000 (translated again). Expected: #0 10, #1 100, #2 7 + 5 =
 * 12, #3 0 (its only count comes before it), #4 4 (the latest translation, not #0); two counts
 * (3 and 2 entries) match no block. The time split is 60/30/10 % of a 1 s run. */
static void write_counts(struct trc_writer *w)
{
	static const char *const names[] = {"translations", "time: translated code (ns)",
					    "time: translation (ns)", "time: idle (ns)",
					    "time: total run (ns)"};
	static const uint64_t values[] = {5, 600000000, 300000000, 100000000, 1000000000};

	write_counted_block(w, 0x1000, 0x5000);
	write_counted_block(w, 0x2000, 0x6000);
	trc_block_exec(w, 0x7000, 0x3000, 3);
	trc_block_exec(w, 0x5000, 0x1000, 10);
	trc_event(w, TRC_EV_FLUSH, 2, 0, 0);
	write_counted_block(w, 0x3000, 0x5000);
	write_counted_block(w, 0x3000, 0x7000);
	trc_block_exec(w, 0x5000, 0x3000, 7);
	trc_block_exec(w, 0x5000, 0x3000, 5);
	trc_block_exec(w, 0x6000, 0x2000, 100);
	trc_event(w, TRC_EV_FLUSH, 3, 0, 0);
	write_counted_block(w, 0x1000, 0x5000);
	trc_block_exec(w, 0x5000, 0x1000, 4);
	trc_block_exec(w, 0x9000, 0x4000, 2);
	trc_writer_close(w, names, values, sizeof(names) / sizeof(names[0]));
}

int main(int argc, char **argv)
{
	const char *variant = argc == 3 ? argv[2] : "";
	struct trc_writer *w;

	if ((argc != 2 && argc != 3) ||
	    (argc == 3 && strcmp(variant, "odd") != 0 && strcmp(variant, "counts") != 0)) {
		fprintf(stderr, "usage: write_sample FILE [odd|counts]\n");
		return 2;
	}
	w = trc_writer_open(argv[1], argc == 2			   ? SAMPLE_DESC
				     : strcmp(variant, "odd") == 0 ? "odd blocks"
								   : "execution counts");
	if (w == NULL) {
		fprintf(stderr, "write_sample: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (strcmp(variant, "odd") == 0)
		write_odd(w);
	else if (strcmp(variant, "counts") == 0)
		write_counts(w);
	else
		sample_write(w);
	return 0;
}
