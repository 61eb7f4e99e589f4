/* sample.h — the known trace the trace tests write and check: one block of real x86 code, three
 * callouts of two kinds, one event of each kind, the block's execution count and three
 * counters. */
#ifndef BT86_TESTS_TRACE_SAMPLE_H
#define BT86_TESTS_TRACE_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "trace/trace.h"

/* Guest: mov eax,1; add eax,ebx; ret. */
#define SAMPLE_GUEST_EIP  0x00100000u
#define SAMPLE_GUEST_PHYS 0x00100000u
#define SAMPLE_GUEST_LEN  8u
/* Host: mov eax,1; add eax,ebx; then ret as mov r14d,gs:[esp]; lea esp,[esp+4];
 * jmp [r15+0x10] (the indirect-branch lookup). */
#define SAMPLE_HOST_ADDR 0x00007f1234560000u
#define SAMPLE_HOST_LEN	 22u
#define SAMPLE_N_INSNS	 3u
#define SAMPLE_DESC	 "sample guest: 3 instructions, -m 16"

/* More than 32 bits, so that a count cut to 32 bits shows. */
#define SAMPLE_EXEC_COUNT 123456789012ull

#define SAMPLE_KIND_CPUID 3u
#define SAMPLE_KIND_HLT	  9u
#define SAMPLE_N_COUNTERS 3u

extern const uint8_t sample_guest[SAMPLE_GUEST_LEN];
extern const uint8_t sample_host[SAMPLE_HOST_LEN];
extern const uint32_t sample_insn_eips[SAMPLE_N_INSNS];
extern const uint32_t sample_insn_host_offsets[SAMPLE_N_INSNS];
extern const char *const sample_counter_names[SAMPLE_N_COUNTERS];
extern const uint64_t sample_counter_values[SAMPLE_N_COUNTERS];

/* Write the sample's records to w (between open and close), then close it with the counters. */
void sample_write(struct trc_writer *w);

#endif
