/* sample.c — the known trace shared by the Criterion tests and the bt86-trace tool test. */
#include "sample.h"

const uint8_t sample_guest[SAMPLE_GUEST_LEN] = {
    0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
    0x01, 0xd8,			  /* add eax, ebx */
    0xc3,			  /* ret */
};

const uint8_t sample_host[SAMPLE_HOST_LEN] = {
    0xb8, 0x01, 0x00, 0x00, 0x00,	/* mov eax, 1 */
    0x01, 0xd8,				/* add eax, ebx */
    0x65, 0x67, 0x44, 0x8b, 0x34, 0x24, /* mov r14d, dword ptr gs:[esp] */
    0x67, 0x8d, 0x64, 0x24, 0x04,	/* lea esp, [esp + 4] */
    0x41, 0xff, 0x67, 0x10,		/* jmp qword ptr [r15 + 0x10] */
};

const uint32_t sample_insn_eips[SAMPLE_N_INSNS] = {0x00100000u, 0x00100005u, 0x00100007u};
const uint32_t sample_insn_host_offsets[SAMPLE_N_INSNS] = {0, 5, 7};

const char *const sample_counter_names[SAMPLE_N_COUNTERS] = {"translations", "callouts",
							     "hidden_faults"};
const uint64_t sample_counter_values[SAMPLE_N_COUNTERS] = {1, 3, 0x123456789abcdefull};

void sample_write(struct trc_writer *w)
{
	trc_block(w, SAMPLE_GUEST_EIP, SAMPLE_GUEST_PHYS, sample_guest, SAMPLE_GUEST_LEN,
		  SAMPLE_HOST_ADDR, sample_host, SAMPLE_HOST_LEN, SAMPLE_N_INSNS, sample_insn_eips,
		  sample_insn_host_offsets);
	trc_callout(w, 0x00100010u, SAMPLE_KIND_CPUID, "cpuid");
	trc_callout(w, 0x00100020u, SAMPLE_KIND_CPUID, "cpuid");
	trc_callout(w, 0x00100030u, SAMPLE_KIND_HLT, "hlt");
	trc_event(w, TRC_EV_EXCEPTION, 14, 0x2, 0x00100007u);
	trc_event(w, TRC_EV_INVALIDATE, 0x00100000u, 1, 7);
	trc_event(w, TRC_EV_FLUSH, 12, 0, 0);
	trc_event(w, TRC_EV_EXIT, 0x31, 0, 0);
	trc_block_exec(w, SAMPLE_HOST_ADDR, SAMPLE_GUEST_EIP, SAMPLE_EXEC_COUNT);
	trc_writer_close(w, sample_counter_names, sample_counter_values, SAMPLE_N_COUNTERS);
}
