/* runtime — the VM: loader, dispatcher, callouts, exceptions and interrupts.
 *
 * The command-line front end (tools/bt86.c) creates a VM with rt_vm_create(), loads a kernel
 * with rt_vm_load() and runs it with rt_vm_run(). Everything else (translation, the shadow
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

/* How to enter a Linux kernel by the 32-bit boot protocol: load the flat GDT at gdt_base /
 * gdt_limit, CS = 0x10 (__BOOT_CS), DS = ES = SS = 0x18 (__BOOT_DS), paging and interrupts
 * off, EBP = EDI = EBX = 0, ESI = esi (the zero page), and jump to eip. */
struct rt_linux_boot {
	uint32_t eip;
	uint32_t esi; /* guest-physical address of struct boot_params, the "zero page" */
	uint32_t gdt_base;
	uint16_t gdt_limit;
};

/* True if head (the first len bytes of a file) carries a Linux setup header, the "HdrS" magic
 * at offset 0x202: the file is meant for rt_load_linux(), not rt_load_multiboot(). */
bool rt_is_bzimage(const uint8_t *head, size_t len);

/* Load a Linux bzImage (boot protocol 2.04 or later) into guest RAM for the 32-bit boot
 * protocol: the protected-mode kernel at 1 MiB, the initrd (may be NULL) as high as it may go,
 * the command line (may be NULL: empty) and the zero page with an e820 map below 1 MiB. On
 * success returns 0 and fills *boot; on a bad file returns -1 with a one-line reason in err. */
int rt_load_linux(const char *bzimage_path, const char *initrd_path, const char *cmdline,
		  uint8_t *ram, uint64_t ram_size, struct rt_linux_boot *boot, char *err,
		  size_t err_len);

/* ---- the VM ----------------------------------------------------------------------------- */

struct rt_vm;

struct rt_vm_config {
	uint64_t ram_bytes;
	const char *trace_path;	 /* NULL: no trace */
	bool stats;		 /* print counters on stderr at exit */
	bool stop_on_exception;	 /* test guests: stop at an exception instead of delivering it */
	bool quiet;		 /* do not print the stop reason on stderr */
	size_t code_cache_bytes; /* 0: the default */
	bool verify;		 /* run the translation verifier on every block */
	unsigned time_limit_ms;	 /* stop a run that takes longer (0: no limit) */
	bool discard_console;	 /* serial and debug-console output go nowhere (tests, fuzzing) */
	bool console_input;	 /* stdin feeds COM1 (interactive runs) */
	bool halt_ends_run;	 /* test guests: HLT stops the run (status RT_STATUS_HALTED) */
	bool perf_map;		 /* write /tmp/perf-PID.map so perf names translated blocks */
	bool pv;		 /* offer the paravirtual interface (docs/PV.md) */
	bool trace_counts;	 /* with trace_path: blocks count their executions */
};

/* Create a VM. Returns NULL with a reason in err on host failure. */
struct rt_vm *rt_vm_create(const struct rt_vm_config *config, char *err, size_t err_len);
void rt_vm_destroy(struct rt_vm *vm);

/* Load a kernel into the VM: a Linux bzImage (with initrd_path, which may be NULL) by the
 * 32-bit boot protocol, or else a multiboot ELF (no initrd). Returns 0, or -1 with a reason in
 * err. */
int rt_vm_load(struct rt_vm *vm, const char *kernel_path, const char *initrd_path,
	       const char *append, char *err, size_t err_len);

/* Run until the guest exits or stops. Returns the process exit status: the guest's debug-exit
 * status, or an enum rt_status with a one-line diagnostic already printed on stderr. */
int rt_vm_run(struct rt_vm *vm);

/* ---- test guests (bt86-difftest, the fuzzer) --------------------------------------------- */

/* The architectural state a test compares: general registers, EIP, EFLAGS and the x87/MMX/SSE
 * state as an FXSAVE image (the FIP/FDP fields are not meaningful). */
struct rt_guest_state {
	uint32_t gpr[8]; /* eax ecx edx ebx esp ebp esi edi */
	uint32_t eip;
	uint32_t eflags;
	uint8_t fxsave[512];
};

/* Why the last rt_vm_run stopped. */
struct rt_stop_info {
	int status;	/* what rt_vm_run returned */
	bool exception; /* stopped at an exception (stop_on_exception) */
	uint8_t vector;
	bool has_error;
	uint32_t error;
	const char *reason; /* one line, or "" */
};

/* Put a fresh flat guest in place: ring 0, 32-bit protected mode, flat 4 GiB segments, paging
 * off, EFLAGS 0x2, devices as after power-on. Clears any earlier stop. Guest RAM is kept. */
void rt_vm_reset_flat(struct rt_vm *vm);
void rt_vm_get_state(const struct rt_vm *vm, struct rt_guest_state *state);
void rt_vm_set_state(struct rt_vm *vm, const struct rt_guest_state *state);
/* Copy into / out of guest-physical memory. Writes drop stale translations. Return 0 or -1 if
 * the range is not RAM. */
int rt_vm_write_phys(struct rt_vm *vm, uint32_t addr, const void *data, size_t len);
int rt_vm_read_phys(const struct rt_vm *vm, uint32_t addr, void *data, size_t len);
void rt_vm_stop_info(const struct rt_vm *vm, struct rt_stop_info *info);

/* Print the counters (the --stats output) to stderr. */
void rt_vm_print_stats(const struct rt_vm *vm);

#endif
