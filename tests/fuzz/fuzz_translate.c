/* Fuzzing the translator: arbitrary bytes as guest code, decoded, translated, verified and run
 * in a flat guest. Any guest outcome is fine (an exception, an unsupported instruction, the
 * time limit); a host crash, a verifier failure (abort) or a hang is a bug.
 *
 * Built two ways: with libFuzzer (clang -fsanitize=fuzzer, `make fuzz`), and with replay.c as a
 * plain program that runs the committed corpus and seeded random inputs (`make test`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RAM	     (4u << 20)
#define FZ_CODE	     0x10000u
#define FZ_CODE_MAX  0x2000u
#define FZ_STACK_TOP 0x80000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rt_vm *vm;
	static uint8_t page[FZ_CODE_MAX];
	static uint8_t zeros[FZ_STACK_TOP];
	if (!vm) {
		char err[200];
		struct rt_vm_config config = {
		    .ram_bytes = FZ_RAM,
		    .stop_on_exception = true,
		    .halt_ends_run = true,
		    .quiet = true,
		    .verify = true,
		    .time_limit_ms = 200,
		    .discard_console = true,
		    .code_cache_bytes = 1u << 20, /* small: the fuzzer also exercises flushes */
		};
		vm = rt_vm_create(&config, err, sizeof err);
		if (!vm)
			abort();
	}
	if (size > FZ_CODE_MAX)
		size = FZ_CODE_MAX;
	/* Whatever the input leaves unsaid is hlt, so straight-line code ends. */
	memset(page, 0xf4, sizeof page);
	memcpy(page, data, size);
	rt_vm_reset_flat(vm);
	rt_vm_write_phys(vm, 0, zeros, sizeof zeros);
	rt_vm_write_phys(vm, FZ_CODE, page, sizeof page);

	struct rt_guest_state st;
	rt_vm_get_state(vm, &st);
	for (int r = 0; r < 8; r++)
		st.gpr[r] = 0x20000u + 0x1000u * (uint32_t)r;
	st.gpr[4] = FZ_STACK_TOP;
	st.eip = FZ_CODE;
	rt_vm_set_state(vm, &st);
	rt_vm_run(vm);
	return 0;
}
