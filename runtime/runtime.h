/* runtime — the VM: loader, dispatcher, callouts, exceptions and interrupts.
 *
 * The command-line front end (tools/bt86.c) creates a VM with rt_vm_create(), loads a kernel
 * with rt_load_kernel() and runs it with rt_vm_run(). Everything else (translation, the shadow
 * MMU, devices) is reached through the runtime.
 */
#ifndef BT86_RUNTIME_H
#define BT86_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Process exit statuses of bt86 itself. A guest's debug exit gives (value << 1) | 1, which is
 * always odd, so bt86's own outcomes are even. */
enum rt_status {
	RT_STATUS_BAD_INPUT = 2,    /* bad command line or kernel file */
	RT_STATUS_TRIPLE_FAULT = 4, /* the guest triple-faulted */
	RT_STATUS_HALTED = 6,	    /* hlt with interrupts off and nothing that can wake it */
	RT_STATUS_INTERNAL = 8,	    /* something bt86 does not support, or a bt86 bug */
};

/* ---- loader ---------------------------------------------------------------------------- */

/* Where the loaded kernel starts and what it finds in its registers. */
struct rt_boot_state {
	uint32_t eip;
	uint32_t eax;
	uint32_t ebx;
};

/* Load a multiboot (v1) ELF32 kernel at path into guest RAM (ram, ram_size bytes, guest-
 * physical address 0 at ram[0]) and build the multiboot information structure with the memory
 * map and the command line "path append" (append may be NULL). On success returns 0 and fills
 * *boot. On a bad file returns -1 with a one-line reason in err (no trailing newline). */
int rt_load_multiboot(const char *path, const char *append, uint8_t *ram, uint64_t ram_size,
		      struct rt_boot_state *boot, char *err, size_t err_len);

/* ---- the VM ----------------------------------------------------------------------------- */

struct rt_vm;

struct rt_vm_config {
	uint64_t ram_bytes;
	const char *trace_path; /* NULL: no trace */
	bool stats;		/* print counters on stderr at exit */
};

/* Create a VM. Returns NULL with a reason in err on host failure. */
struct rt_vm *rt_vm_create(const struct rt_vm_config *config, char *err, size_t err_len);
void rt_vm_destroy(struct rt_vm *vm);

/* Load a kernel into the VM (see rt_load_multiboot). Returns 0, or -1 with a reason in err. */
int rt_vm_load(struct rt_vm *vm, const char *kernel_path, const char *append, char *err,
	       size_t err_len);

/* Run until the guest exits or stops. Returns the process exit status: the guest's debug-exit
 * status, or an enum rt_status with a one-line diagnostic already printed on stderr. */
int rt_vm_run(struct rt_vm *vm);

/* Print the counters (the --stats output) to stderr. */
void rt_vm_print_stats(const struct rt_vm *vm);

#endif
