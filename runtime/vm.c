/* The VM: creation, loading, the initial vCPU state, stopping and counters. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <x86intrin.h>

#include "runtime/rt_internal.h"

/* Test and debug builds verify every translation; release builds (benchmarks) may not. */
#ifndef BT86_VERIFY_DEFAULT
#define BT86_VERIFY_DEFAULT 0
#endif

_Noreturn void rt_assert_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "bt86: assertion failed at %s:%d: %s\n", file, line, expr);
	abort();
}

void rt_vm_stop(struct rt_vm *vm, int status, const char *fmt, ...)
{
	if (vm->exit_status >= 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof vm->stop_reason, fmt, ap);
	va_end(ap);
	vm->exit_status = status;
}

uint32_t rt_get_eflags(const struct rt_vcpu *cpu)
{
	return ((uint32_t)cpu->frame->rflags & RT_FL_HOST) | cpu->eflags |
	       (cpu->frame->vif ? RT_FL_IF : 0) | 2u;
}

void rt_set_eflags(struct rt_vcpu *cpu, uint32_t value)
{
	/* Host RFLAGS only ever gets the arithmetic flags and DF: never TF or AC. */
	cpu->frame->rflags = (value & RT_FL_HOST) | 0x202u;
	cpu->frame->vif = (value & RT_FL_IF) != 0;
	cpu->eflags = (value & ~RT_FL_HOST &
		       (RT_FL_TF | RT_FL_IOPL | RT_FL_NT | RT_FL_RF | RT_FL_VM | RT_FL_AC |
			RT_FL_VIF | RT_FL_VIP | RT_FL_ID)) |
		      2u;
}

static void rt_flat_segment(struct rt_segment *seg, uint16_t selector, uint16_t access)
{
	*seg = (struct rt_segment){
	    .selector = selector, .base = 0, .limit = 0xffffffffu, .access = access, .valid = true};
}

void rt_vm_reset_flat(struct rt_vm *vm)
{
	struct rt_vcpu *cpu = &vm->cpu;
	memset(cpu, 0, sizeof *cpu);
	cpu->frame = vm->frame;
	memset(vm->frame->gpr, 0, sizeof vm->frame->gpr);
	rt_set_eflags(cpu, 0x2);
	/* The FPU as after FNINIT, MXCSR at its reset value. */
	memset(vm->frame->fpu, 0, sizeof vm->frame->fpu);
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(vm->frame->fpu + 0, &fcw, 2);
	memcpy(vm->frame->fpu + 24, &mxcsr, 4);
	cpu->cr0 = RT_CR0_PE | RT_CR0_ET;
	rt_flat_segment(&cpu->seg[RT_CS], 0x08, 0xc09b);
	for (int s = 0; s < RT_SREG_COUNT; s++)
		if (s != RT_CS)
			rt_flat_segment(&cpu->seg[s], 0x10, 0xc093);
	cpu->tr.access = 0x8b; /* a busy 32-bit TSS, base 0: what a loader leaves */
	cpu->tr.limit = 0xffff;
	cpu->ldtr.access = 0x82;
	vm->exit_status = -1;
	vm->stop_reason[0] = 0;
	if (vm->bus) {
		/* Power-cycle the devices (a latched debug exit, UART registers). */
		dev_bus_destroy(vm->bus);
		vm->bus = dev_bus_create(&vm->dev_config);
		RT_ASSERT(vm->bus);
	}
	vm->stopped_at = (struct rt_event){0};
	if (vm->mmu)
		smmu_set_paging(vm->mmu, cpu->cr0, 0, 0);
}

void rt_vm_get_state(const struct rt_vm *vm, struct rt_guest_state *state)
{
	memcpy(state->gpr, vm->frame->gpr, sizeof state->gpr);
	state->eip = vm->cpu.eip;
	state->eflags = rt_get_eflags(&vm->cpu);
	memcpy(state->fxsave, vm->frame->fpu, sizeof state->fxsave);
}

void rt_vm_set_state(struct rt_vm *vm, const struct rt_guest_state *state)
{
	memcpy(vm->frame->gpr, state->gpr, sizeof state->gpr);
	vm->cpu.eip = state->eip;
	rt_set_eflags(&vm->cpu, state->eflags);
	memcpy(vm->frame->fpu, state->fxsave, sizeof state->fxsave);
}

int rt_vm_write_phys(struct rt_vm *vm, uint32_t addr, const void *data, size_t len)
{
	if ((uint64_t)addr + len > smmu_ram_size(vm->mmu))
		return -1;
	if (len == 0)
		return 0;
	for (uint32_t page = addr >> 12; page <= (uint32_t)((addr + len - 1) >> 12); page++) {
		if (smmu_page_has_code(vm->mmu, page)) {
			tr_invalidate_page(vm->tr, vm->frame, page, TRC_CAUSE_MONITOR_WRITE);
			smmu_unprotect_code_page(vm->mmu, page);
		}
	}
	return smmu_write_phys(vm->mmu, addr, data, len) < 0 ? -1 : 0;
}

int rt_vm_read_phys(const struct rt_vm *vm, uint32_t addr, void *data, size_t len)
{
	return smmu_read_phys(vm->mmu, addr, data, len) < 0 ? -1 : 0;
}

void rt_vm_stop_info(const struct rt_vm *vm, struct rt_stop_info *info)
{
	*info = (struct rt_stop_info){
	    .status = vm->exit_status,
	    .exception = vm->stopped_at.pending,
	    .vector = vm->stopped_at.vector,
	    .has_error = vm->stopped_at.has_error,
	    .error = vm->stopped_at.error,
	    .reason = vm->stop_reason,
	};
}

struct rt_vm *rt_vm_create(const struct rt_vm_config *config, char *err, size_t err_len)
{
	struct rt_vm *vm = calloc(1, sizeof *vm);
	if (!vm) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	vm->config = *config;
	vm->exit_status = -1;
	vm->mmu = smmu_create(config->ram_bytes, err, err_len);
	if (!vm->mmu)
		goto fail;
	if (config->trace_path) {
		char guest[64];
		snprintf(guest, sizeof guest, "32-bit x86 guest, %llu MiB RAM, --pv %s",
			 (unsigned long long)(config->ram_bytes >> 20), config->pv ? "on" : "off");
		vm->trace = trc_writer_open(config->trace_path, guest);
		if (!vm->trace) {
			snprintf(err, err_len, "cannot open trace file %s: %s", config->trace_path,
				 strerror(errno));
			goto fail;
		}
	}
	if (config->perf_map) {
		char path[64];
		snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
		vm->perf_map = fopen(path, "w");
		if (!vm->perf_map) {
			snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	struct tr_config tc = {.perf_map = vm->perf_map,
			       .cache_bytes =
				   config->code_cache_bytes ? config->code_cache_bytes : 64u << 20,
			       .trace = vm->trace,
			       .count_exec = vm->trace && config->trace_counts,
			       .verify = config->verify || BT86_VERIFY_DEFAULT};
	vm->tr = tr_create(&tc);
	int console = config->discard_console ? -1 : 1;
	vm->dev_config = (struct dev_config){
	    .serial_out_fd = console, .debugcon_out_fd = console, .ram_bytes = config->ram_bytes};
	vm->console_in = -1;
	vm->bus = dev_bus_create(&vm->dev_config);
	vm->frame = mmap(NULL, sizeof *vm->frame, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!vm->tr || !vm->bus || vm->frame == MAP_FAILED) {
		vm->frame = NULL;
		snprintf(err, err_len, "cannot set up the VM: %s", strerror(errno));
		goto fail;
	}
	if (ZYAN_FAILED(ZydisDecoderInit(&vm->decoder, ZYDIS_MACHINE_MODE_LEGACY_32,
					 ZYDIS_STACK_WIDTH_32))) {
		snprintf(err, err_len, "cannot initialise the decoder");
		goto fail;
	}
	ZydisDecoderInit(&vm->host_decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	tr_frame_init(vm->tr, vm->frame); /* the jump cache starts empty */
	vm->frame->window = smmu_window_base(vm->mmu, SMMU_KERNEL);
	vm->fault_exit.kind = TR_EXIT_FAULT;

	rt_vm_reset_flat(vm);
	vm->tsc_at_start = __rdtsc();
	vm->frame->tsc_offset = 0 - vm->tsc_at_start;
	rt_pv_init(vm);
	return vm;
fail:
	rt_vm_destroy(vm);
	return NULL;
}

void rt_vm_destroy(struct rt_vm *vm)
{
	if (!vm)
		return;
	if (vm->trace) {
		tr_write_exec_counts(vm->tr);
		const char *names[96];
		uint64_t values[96];
		size_t n = 0;
#define RT_TRACE_COUNTER(name, text)                                                               \
	names[n] = text;                                                                           \
	values[n++] = vm->counters.name;
		RT_COUNTER_LIST(RT_TRACE_COUNTER)
#undef RT_TRACE_COUNTER
		const struct tr_counters *tc = tr_counters(vm->tr);
#define TR_TRACE_COUNTER(name, text)                                                               \
	names[n] = text;                                                                           \
	values[n++] = tc->name;
		TR_COUNTER_LIST(TR_TRACE_COUNTER)
#undef TR_TRACE_COUNTER
		const struct smmu_counters *mc = smmu_counters(vm->mmu);
#define SMMU_TRACE_COUNTER(name, text)                                                             \
	names[n] = text;                                                                           \
	values[n++] = mc->name;
		SMMU_COUNTER_LIST(SMMU_TRACE_COUNTER)
#undef SMMU_TRACE_COUNTER
		/* The time split, in ns by the TSC's rate over the run; the dispatcher's share is
		 * what the others leave of the whole. */
		const struct rt_timing *tm = &vm->timing;
		double ns_per_tick = tm->run_tsc ? (double)tm->run_ns / (double)tm->run_tsc : 0;
		uint64_t accounted = 0;
#define RT_TRACE_TIME(name, text)                                                                  \
	names[n] = text;                                                                           \
	values[n] = (uint64_t)((double)tm->tsc[RT_TIME_##name] * ns_per_tick);                     \
	accounted += values[n++];
		RT_TIME_LIST(RT_TRACE_TIME)
#undef RT_TRACE_TIME
		names[n] = "time: dispatcher and devices (ns)";
		values[n++] = tm->run_ns > accounted ? tm->run_ns - accounted : 0;
		names[n] = "time: total run (ns)";
		values[n++] = tm->run_ns;
		trc_writer_close(vm->trace, names, values, n);
	}
	if (vm->timer_created)
		timer_delete(vm->timer);
	tr_destroy(vm->tr);
	if (vm->perf_map)
		fclose(vm->perf_map);
	dev_bus_destroy(vm->bus);
	smmu_destroy(vm->mmu);
	if (vm->frame)
		munmap(vm->frame, sizeof *vm->frame);
	free(vm);
}

/* Enter Linux as its 32-bit boot protocol asks: the loader's flat GDT, CS = __BOOT_CS (0x10),
 * DS = ES = SS = __BOOT_DS (0x18), paging and interrupts off, ESI = the zero page. */
static void rt_enter_linux(struct rt_vm *vm, const struct rt_linux_boot *boot)
{
	struct rt_vcpu *cpu = &vm->cpu;
	cpu->gdtr.base = boot->gdt_base;
	cpu->gdtr.limit = boot->gdt_limit;
	rt_flat_segment(&cpu->seg[RT_CS], 0x10, 0xc09b);
	for (int s = 0; s < RT_SREG_COUNT; s++)
		if (s != RT_CS)
			rt_flat_segment(&cpu->seg[s], 0x18, 0xc093);
	memset(vm->frame->gpr, 0, sizeof vm->frame->gpr);
	vm->frame->gpr[TR_ESI] = boot->esi;
	cpu->eip = boot->eip;
}

int rt_vm_load(struct rt_vm *vm, const char *kernel_path, const char *initrd_path,
	       const char *append, char *err, size_t err_len)
{
	/* Peek at the head without blocking (a FIFO given as a kernel must not hang us); the
	 * loaders report what is wrong with anything that is not a regular file. */
	uint8_t head[1024];
	size_t got = 0;
	int fd = open(kernel_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			ssize_t n = read(fd, head, sizeof head);
			got = n > 0 ? (size_t)n : 0;
		}
		close(fd);
	}
	if (rt_is_bzimage(head, got)) {
		struct rt_linux_boot boot;
		if (rt_load_linux(kernel_path, initrd_path, append, smmu_ram(vm->mmu),
				  smmu_ram_size(vm->mmu), &boot, err, err_len) < 0)
			return -1;
		rt_enter_linux(vm, &boot);
		return 0;
	}
	if (initrd_path) {
		snprintf(err, err_len, "%s: an initrd needs a Linux bzImage kernel", kernel_path);
		return -1;
	}
	struct rt_boot_state boot;
	if (rt_load_multiboot(kernel_path, append, smmu_ram(vm->mmu), smmu_ram_size(vm->mmu), &boot,
			      err, err_len) < 0)
		return -1;
	vm->cpu.eip = boot.eip;
	vm->frame->gpr[TR_EAX] = boot.eax;
	vm->frame->gpr[TR_EBX] = boot.ebx;
	return 0;
}

void rt_vm_print_stats(const struct rt_vm *vm)
{
	const struct tr_counters *tc = tr_counters(vm->tr);
	fprintf(stderr, "bt86 statistics\n");
#define TR_PRINT_COUNTER(name, text)                                                               \
	fprintf(stderr, "  %-40s %12llu\n", text, (unsigned long long)tc->name);
	TR_COUNTER_LIST(TR_PRINT_COUNTER)
#undef TR_PRINT_COUNTER
	if (tc->insns_translated)
		fprintf(stderr, "  %-40s %11.1f%%\n", "IDENT share of translated instructions",
			100.0 * (double)tc->insns_ident / (double)tc->insns_translated);
#define RT_PRINT_COUNTER(name, text)                                                               \
	fprintf(stderr, "  %-40s %12llu\n", text, (unsigned long long)vm->counters.name);
	RT_COUNTER_LIST(RT_PRINT_COUNTER)
#undef RT_PRINT_COUNTER
	for (int k = 0; k < TR_CALLOUT_COUNT; k++)
		if (vm->counters.callouts[k])
			fprintf(stderr, "    callout %-32s %12llu\n", tr_callout_name(k),
				(unsigned long long)vm->counters.callouts[k]);
	const struct smmu_counters *mc = smmu_counters(vm->mmu);
#define SMMU_PRINT_COUNTER(name, text)                                                             \
	fprintf(stderr, "  %-40s %12llu\n", text, (unsigned long long)mc->name);
	SMMU_COUNTER_LIST(SMMU_PRINT_COUNTER)
#undef SMMU_PRINT_COUNTER
	fprintf(stderr, "  %-40s %12llu\n", "port I/O accesses",
		(unsigned long long)dev_bus_io_count(vm->bus));
}
