/* write_sample — writes a trace for the bt86-trace tool test (tests/trace/bt86_trace_test.sh):
 * the sample trace (sample.c), or with "odd" blocks that a buggy translator could produce. */
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
	trc_callout(w, 0x2001, 7, NULL);
	trc_event(w, (enum trc_event_kind)99, 1, 2, 3);
	trc_writer_close(w, NULL, NULL, 0);
}

int main(int argc, char **argv)
{
	struct trc_writer *w;
	int odd = argc == 3 && strcmp(argv[2], "odd") == 0;

	if (argc != 2 && !odd) {
		fprintf(stderr, "usage: write_sample FILE [odd]\n");
		return 2;
	}
	w = trc_writer_open(argv[1], odd ? "odd blocks" : SAMPLE_DESC);
	if (w == NULL) {
		fprintf(stderr, "write_sample: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (odd)
		write_odd(w);
	else
		sample_write(w);
	return 0;
}
