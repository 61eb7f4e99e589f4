/* The runtime's side of the PC platform: host time drives the devices' timers, the console
 * feeds COM1, and the PICs' INTR line becomes an external interrupt (DESIGN.md §4, §6).
 *
 * The dispatcher calls rt_platform_poll between blocks. A host timer signal at the devices'
 * next deadline (rt_timer_arm_at) unlinks the running block, so a deadline is noticed within
 * one block of translated code, with no polling inside it. HLT sleeps in poll(2) until the
 * deadline or console input, so an idle guest uses no host CPU.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt_internal.h"

uint64_t rt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rt_console_begin(struct rt_vm *vm)
{
	vm->console_in = vm->config.console_input ? STDIN_FILENO : -1;
	if (vm->console_in < 0 || !isatty(vm->console_in))
		return;
	if (tcgetattr(vm->console_in, &vm->saved_termios) < 0)
		return;
	/* Raw: every key goes to the guest (Ctrl-C included); Ctrl-A x quits, as in QEMU. */
	struct termios raw = vm->saved_termios;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(vm->console_in, TCSANOW, &raw) == 0)
		vm->console_raw = true;
}

void rt_console_end(struct rt_vm *vm)
{
	if (vm->console_raw)
		tcsetattr(vm->console_in, TCSANOW, &vm->saved_termios);
	vm->console_raw = false;
}

/* Read what the console has (never blocking) and hand COM1 as much as its FIFO takes; the
 * rest waits here, as a terminal's flow would hold it, instead of overrunning the UART. */
static void rt_console_poll(struct rt_vm *vm, int timeout_ms)
{
	if (vm->console_in >= 0 && vm->input_len < sizeof vm->input / 2) {
		struct pollfd pfd = {.fd = vm->console_in, .events = POLLIN};
		if (poll(&pfd, 1, vm->input_len ? 0 : timeout_ms) > 0 &&
		    (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			uint8_t buf[1024];
			ssize_t n = read(vm->console_in, buf, sizeof buf);
			if (n <= 0)
				vm->console_in = -1; /* end of input: the guest gets no more */
			for (ssize_t i = 0; i < n; i++) {
				if (vm->escape) {
					vm->escape = false;
					if (buf[i] == 'x') {
						rt_vm_stop(vm, 0, "terminated by Ctrl-A x");
						return;
					}
					if (buf[i] != 0x01)
						vm->input[vm->input_len++] = 0x01;
				} else if (buf[i] == 0x01) {
					vm->escape = true;
					continue;
				}
				vm->input[vm->input_len++] = buf[i];
			}
		}
	} else if (vm->input_len == 0 && timeout_ms > 0) {
		poll(NULL, 0, timeout_ms);
	}
	if (vm->input_len) {
		size_t taken = dev_serial_input(vm->bus, vm->input, vm->input_len);
		memmove(vm->input, vm->input + taken, vm->input_len - taken);
		vm->input_len -= taken;
	}
}

static void rt_rearm(struct rt_vm *vm, uint64_t now)
{
	uint64_t deadline = dev_bus_next_deadline(vm->bus);
	if (vm->time_limit_at < deadline)
		deadline = vm->time_limit_at;
	if (vm->pv.next_update_ns < deadline)
		deadline = vm->pv.next_update_ns;
	uint64_t console_every = vm->input_len ? 1000000u : 10000000u;
	if ((vm->console_in >= 0 || vm->input_len) && now + console_every < deadline)
		deadline = now + console_every; /* look at the console: 1 ms while bytes wait */
	if (deadline != vm->armed_at) {
		rt_timer_arm_at(vm, deadline);
		vm->armed_at = deadline;
	}
}

void rt_platform_poll(struct rt_vm *vm)
{
	struct rt_vcpu *cpu = &vm->cpu;
	uint64_t now = rt_now_ns();
	if (now >= vm->time_limit_at) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL, "time limit of %u ms reached at EIP %#x",
			   vm->config.time_limit_ms, cpu->eip);
		return;
	}
	dev_bus_update(vm->bus, now);
	rt_pv_poll(vm, now);
	rt_console_poll(vm, 0);
	if (cpu->frame->vif && !cpu->intr_shadow && !cpu->event.pending &&
	    dev_intr_pending(vm->bus)) {
		uint8_t vector = dev_intr_ack(vm->bus);
		cpu->halted = false;
		cpu->event = (struct rt_event){.pending = true, .vector = vector};
		vm->counters.interrupts++;
	}
	rt_rearm(vm, now);
}

bool rt_platform_wait(struct rt_vm *vm)
{
	struct rt_vcpu *cpu = &vm->cpu;
	uint64_t t0 = rt_time_begin(vm);
	vm->counters.halts++;
	while (cpu->halted && vm->exit_status < 0) {
		uint64_t deadline = dev_bus_next_deadline(vm->bus);
		if (vm->time_limit_at < deadline)
			deadline = vm->time_limit_at;
		if (deadline == UINT64_MAX && vm->console_in < 0 && vm->input_len == 0) {
			rt_vm_stop(vm, RT_STATUS_HALTED,
				   "guest halted at EIP %#x and nothing can interrupt it",
				   cpu->eip);
			rt_time_end(vm, RT_TIME_IDLE, t0);
			return false;
		}
		uint64_t now = rt_now_ns();
		int timeout_ms = -1;
		if (deadline != UINT64_MAX)
			timeout_ms =
			    deadline <= now ? 0 : (int)((deadline - now + 999999) / 1000000);
		if (vm->input_len && (timeout_ms < 0 || timeout_ms > 1))
			timeout_ms = 1;
		rt_console_poll(vm, timeout_ms);
		rt_platform_poll(vm);
	}
	rt_time_end(vm, RT_TIME_IDLE, t0);
	return vm->exit_status < 0;
}
