/*
 * trap.c — what happens after a trap stub: record the trap, then run the vector's hook, or
 * return to the armed recovery point, or give up loudly.
 */
#include "guest.h"

struct trap_record trap_log[TRAP_LOG];
unsigned trap_count;
struct trap_record trap_last;
struct trap_frame trap_last_frame;
uint32_t trap_skip;

static trap_hook trap_hooks[256];
static struct jmp_buf trap_jb;
static int trap_armed;

void trap_dispatch(struct trap_frame *frame);

void trap_set_hook(unsigned vector, trap_hook hook)
{
	trap_hooks[vector & 0xFF] = hook;
}

void trap_hook_skip(struct trap_frame *frame)
{
	frame->eip += trap_skip;
}

void trap_log_clear(void)
{
	trap_count = 0;
	memset(trap_log, 0, sizeof(trap_log));
	memset(&trap_last, 0, sizeof(trap_last));
}

struct jmp_buf *trap_arm(void)
{
	trap_armed = 1;
	return &trap_jb;
}

void trap_disarm(void)
{
	trap_armed = 0;
}

void trap_dispatch(struct trap_frame *frame)
{
	struct trap_record r = {frame->vector, frame->error, frame->eip, frame->eflags};

	trap_last = r;
	trap_last_frame = *frame;
	if (trap_count < TRAP_LOG)
		trap_log[trap_count] = r;
	trap_count++;

	if (trap_hooks[frame->vector]) {
		trap_hooks[frame->vector](frame);
		return;
	}
	if (trap_armed) {
		trap_armed = 0;
		guest_longjmp(&trap_jb, 1);
	}
	kprintf("unexpected trap: vector %x error %x eip %08x\n", frame->vector, frame->error,
		frame->eip);
	guest_exit(3);
}
