/* The local list of known divergences: instruction forms where bt86 differs from the CPU for a
 * reason that has been reported and not fixed yet. The generator leaves an excluded form out
 * so that the rest of a campaign keeps finding new problems; --include-known generates them
 * again. Every entry names what diverges; the reproducers are in the difftest report.
 *
 * XXX: this list is temporary by design. An entry goes when bt86 is fixed.
 */
#include <stdio.h>

#include "difftest.h"

struct dt_known_entry {
	const char *name;
	const char *what;
	bool excluded;
};

static const struct dt_known_entry dt_known_table[DT_KNOWN_COUNT] = {
    [DT_KNOWN_MF_SSE_MMX] =
	{"mf-sse-mmx",
	 "a pending x87 exception at an SSE/SSE2 instruction on MMX registers "
	 "(psubq mm, cvtpd2pi, ...): was #XM under bt86; fixed, generated again",
	 false},
    [DT_KNOWN_MMX_CS_WRITE] = {"mmx-cs-write",
			       "an MMX store through CS (#GP): natively TOP is already 0 at the "
			       "fault; bt86 left it unchanged; fixed, generated again",
			       false},
};

static bool dt_known_all;

bool dt_known_allowed(enum dt_known id)
{
	return dt_known_all || !dt_known_table[id].excluded;
}

void dt_known_include_all(void)
{
	dt_known_all = true;
}

int dt_known_excluded_count(void)
{
	int n = 0;
	for (int i = 0; i < DT_KNOWN_COUNT; i++)
		n += dt_known_table[i].excluded && !dt_known_all;
	return n;
}

void dt_known_print(void)
{
	for (int i = 0; i < DT_KNOWN_COUNT; i++)
		printf("  %-12s %-9s %s\n", dt_known_table[i].name,
		       dt_known_table[i].excluded && !dt_known_all ? "excluded" : "generated",
		       dt_known_table[i].what);
}
