/* Running a sequence under bt86: one VM for the whole campaign, reset to a flat ring-0 guest
 * for every sequence, with the same memory regions as the native run.
 *
 * The flat reset leaves CR4 clear, which makes every SSE instruction #UD, and CR0 without MP
 * and NE, unlike any Linux process. A short prologue outside the compared regions sets CR4 to
 * OSFXSR|OSXMMEXCPT and CR0 to PE|MP|ET|NE the way a guest kernel would, loads the sequence's
 * EAX (the prologue needs a register) and jumps to it. mov to a control register ends a block,
 * so the sequence starts in a translation of its own with exactly the initial state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "difftest.h"
#include "runtime/runtime.h"

#define DT_PROLOGUE_BASE 0x00700000u
#define DT_GUEST_RAM	 (16u << 20)

struct dt_guest {
	struct rt_vm *vm;
	uint8_t page[4096];
};

struct dt_guest *dt_guest_create(void)
{
	struct dt_guest *guest = calloc(1, sizeof *guest);
	if (!guest)
		return NULL;
	struct rt_vm_config config = {.ram_bytes = DT_GUEST_RAM,
				      .stop_on_exception = true,
				      .quiet = true,
				      .halt_ends_run = true};
	char err[256];
	guest->vm = rt_vm_create(&config, err, sizeof err);
	if (!guest->vm) {
		fprintf(stderr, "bt86-difftest: cannot create the bt86 VM: %s\n", err);
		free(guest);
		return NULL;
	}
	return guest;
}

void dt_guest_destroy(struct dt_guest *guest)
{
	if (!guest)
		return;
	rt_vm_destroy(guest->vm);
	free(guest);
}

static size_t dt_prologue(uint8_t *p, uint32_t eax, uint32_t entry)
{
	static const uint8_t control[] = {
	    0xb8, 0x00, 0x06, 0x00, 0x00, /* mov eax, 0x600 (OSFXSR | OSXMMEXCPT) */
	    0x0f, 0x22, 0xe0,		  /* mov cr4, eax */
	    0xb8, 0x33, 0x00, 0x00, 0x00, /* mov eax, 0x33 (PE | MP | ET | NE) */
	    0x0f, 0x22, 0xc0,		  /* mov cr0, eax */
	};
	size_t n = sizeof control;
	memcpy(p, control, n);
	p[n++] = 0xb8; /* mov eax, imm32 */
	memcpy(p + n, &eax, 4);
	n += 4;
	p[n++] = 0xe9; /* jmp rel32 to the sequence */
	uint32_t rel = entry - (DT_PROLOGUE_BASE + (uint32_t)n + 4);
	memcpy(p + n, &rel, 4);
	return n + 4;
}

void dt_guest_run(struct dt_guest *guest, const struct dt_seq *seq, struct dt_outcome *out)
{
	struct rt_vm *vm = guest->vm;
	rt_vm_reset_flat(vm);
	memset(guest->page, DT_HLT, sizeof guest->page);
	dt_prologue(guest->page, seq->gpr[DT_EAX], seq->code_base);
	if (rt_vm_write_phys(vm, DT_PROLOGUE_BASE, guest->page, sizeof guest->page) < 0 ||
	    rt_vm_write_phys(vm, DT_CODE_BASE, seq->code, DT_CODE_SIZE) < 0 ||
	    rt_vm_write_phys(vm, DT_DATA_BASE, seq->data, DT_DATA_SIZE) < 0 ||
	    rt_vm_write_phys(vm, DT_STACK_BASE, seq->stack, DT_STACK_SIZE) < 0) {
		memset(out, 0, sizeof *out);
		out->kind = DT_OUT_OTHER;
		snprintf(out->note, sizeof out->note, "cannot write the guest's memory");
		return;
	}
	struct rt_guest_state st;
	memset(&st, 0, sizeof st);
	memcpy(st.gpr, seq->gpr, sizeof st.gpr);
	st.eip = DT_PROLOGUE_BASE;
	st.eflags = seq->eflags;
	memcpy(st.fxsave, seq->fxsave, sizeof st.fxsave);
	rt_vm_set_state(vm, &st);

	int status = rt_vm_run(vm);

	struct rt_stop_info info;
	rt_vm_stop_info(vm, &info);
	rt_vm_get_state(vm, &st);
	memcpy(out->gpr, st.gpr, sizeof out->gpr);
	out->eflags = st.eflags;
	memcpy(out->fxsave, st.fxsave, sizeof out->fxsave);
	rt_vm_read_phys(vm, DT_CODE_BASE, out->code, DT_CODE_SIZE);
	rt_vm_read_phys(vm, DT_DATA_BASE, out->data, DT_DATA_SIZE);
	rt_vm_read_phys(vm, DT_STACK_BASE, out->stack, DT_STACK_SIZE);
	out->vector = 0;
	out->eip = st.eip;
	if (info.exception) {
		out->kind = DT_OUT_FAULT;
		out->vector = info.vector;
		snprintf(out->note, sizeof out->note, "exception %u%s at %08x", info.vector,
			 info.has_error ? " with an error code" : "", st.eip);
	} else if (status == RT_STATUS_HALTED) {
		/* bt86 stops after the hlt; the CPU faults at it. */
		out->kind = DT_OUT_HLT;
		out->eip = st.eip - 1;
		snprintf(out->note, sizeof out->note, "hlt at %08x", out->eip);
	} else {
		out->kind = DT_OUT_OTHER;
		snprintf(out->note, sizeof out->note, "bt86 stopped with status %d: %s", status,
			 info.reason && info.reason[0] ? info.reason : "(no reason)");
	}
}
