/* bt86-difftest-native: runs test sequences on the real CPU, in a 32-bit process at CPL 3.
 *
 * The tester starts this program once and sends it one struct dt_req per sequence on stdin; it
 * answers with one struct dt_resp on stdout. For each request the fixed regions of protocol.h
 * are refreshed, the guest state is loaded (native_asm.S) and the sequence runs until it faults:
 * normally at its final hlt, which is #GP at CPL 3. The fault handler runs on an alternate
 * stack (the sequence owns ESP), records what the kernel reports and sends the thread back to
 * the runner through sigreturn, so the runner's state is rebuilt the same way every time and
 * it survives any number of requests.
 */
#include <errno.h>
#include <signal.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <ucontext.h>
#include <unistd.h>

#include "protocol.h"

/* Shared with native_asm.S. The guest block is popad's layout, then EFLAGS, ESP and EIP. */
struct dt_guest_block {
	uint32_t edi, esi, ebp, esp_ignored, ebx, edx, ecx, eax;
	uint32_t eflags;
	uint32_t esp;
	uint32_t eip;
};
_Static_assert(sizeof(struct dt_guest_block) == 44, "native_asm.S uses the offsets");

void dt_native_enter(void);
void dt_native_landing(void);
struct dt_guest_block dt_guest_block;
uint32_t dt_host_esp;
uint32_t dt_default_mxcsr = 0x1f80;
alignas(16) uint8_t dt_guest_fx[DT_FXSAVE_SIZE];
alignas(16) uint8_t dt_result_fx[DT_FXSAVE_SIZE];

static volatile sig_atomic_t dt_in_guest;
static struct dt_req dt_request;
static struct dt_resp dt_response;

static void dt_die(const char *what)
{
	char msg[160];
	int n = snprintf(msg, sizeof msg, "bt86-difftest-native: %s: %s\n", what, strerror(errno));
	if (n > 0)
		(void)!write(2, msg, (size_t)n);
	_exit(3);
}

static void dt_on_signal(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	if (!dt_in_guest) {
		static const char msg[] = "bt86-difftest-native: fault outside a sequence\n";
		(void)!write(2, msg, sizeof msg - 1);
		_exit(3);
	}
	struct dt_resp *r = &dt_response;
	r->signo = (uint32_t)sig;
	r->si_code = (uint32_t)si->si_code;
	r->addr = (uint32_t)(uintptr_t)si->si_addr;
	r->trapno = (uint32_t)g[REG_TRAPNO];
	r->error = (uint32_t)g[REG_ERR];
	r->eip = (uint32_t)g[REG_EIP];
	r->eflags = (uint32_t)g[REG_EFL];
	r->gpr[DT_EAX] = (uint32_t)g[REG_EAX];
	r->gpr[DT_ECX] = (uint32_t)g[REG_ECX];
	r->gpr[DT_EDX] = (uint32_t)g[REG_EDX];
	r->gpr[DT_EBX] = (uint32_t)g[REG_EBX];
	r->gpr[DT_ESP] = (uint32_t)g[REG_ESP];
	r->gpr[DT_EBP] = (uint32_t)g[REG_EBP];
	r->gpr[DT_ESI] = (uint32_t)g[REG_ESI];
	r->gpr[DT_EDI] = (uint32_t)g[REG_EDI];
	/* sigreturn restores ESP from the context's ESP slot (not UESP) and keeps only the
	 * user-changeable EFLAGS bits: clear DF, TF and AC for the runner's C code. */
	g[REG_EIP] = (greg_t)(uintptr_t)dt_native_landing;
	g[REG_ESP] = (greg_t)dt_host_esp;
	g[REG_EFL] = 0x202;
}

static int dt_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && p == buf ? 0 : -1;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

static void dt_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			dt_die("write");
		p += n;
		len -= (size_t)n;
	}
}

static void *dt_map_fixed(uint32_t addr, uint32_t size, int prot)
{
	void *p = mmap((void *)(uintptr_t)addr, size, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || p != (void *)(uintptr_t)addr)
		dt_die("cannot map a fixed test region");
	return p;
}

static void dt_setup(void)
{
	/* The tester owns this process: if it dies, so does a sequence that never ends. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);

	dt_map_fixed(DT_DATA_BASE, DT_DATA_SIZE, PROT_READ | PROT_WRITE);
	dt_map_fixed(DT_CODE_BASE, DT_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	dt_map_fixed(DT_STACK_BASE, DT_STACK_SIZE, PROT_READ | PROT_WRITE);

	static uint8_t altstack[64 * 1024];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
	if (sigaltstack(&ss, NULL) < 0)
		dt_die("sigaltstack");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = dt_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	static const int sigs[] = {SIGSEGV, SIGFPE, SIGILL, SIGTRAP, SIGBUS};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			dt_die("sigaction");
}

static uint32_t dt_classify_end(const struct dt_resp *r)
{
	uint32_t eip = r->eip;
	bool in_code = eip - DT_CODE_BASE < DT_CODE_SIZE;
	if (r->signo == SIGSEGV && r->trapno == 13 && in_code &&
	    ((const uint8_t *)(uintptr_t)DT_CODE_BASE)[eip - DT_CODE_BASE] == DT_HLT)
		return DT_END_HLT;
	if (r->signo == SIGSEGV || r->signo == SIGFPE || r->signo == SIGILL ||
	    r->signo == SIGTRAP || r->signo == SIGBUS)
		return DT_END_FAULT;
	return DT_END_SIGNAL;
}

static void dt_run_one(const struct dt_req *q, struct dt_resp *r)
{
	memcpy((void *)(uintptr_t)DT_CODE_BASE, q->code, DT_CODE_SIZE);
	memcpy((void *)(uintptr_t)DT_DATA_BASE, q->data, DT_DATA_SIZE);
	memcpy((void *)(uintptr_t)DT_STACK_BASE, q->stack, DT_STACK_SIZE);
	memcpy(dt_guest_fx, q->fxsave, DT_FXSAVE_SIZE);
	struct dt_guest_block *b = &dt_guest_block;
	b->eax = q->gpr[DT_EAX];
	b->ecx = q->gpr[DT_ECX];
	b->edx = q->gpr[DT_EDX];
	b->ebx = q->gpr[DT_EBX];
	b->ebp = q->gpr[DT_EBP];
	b->esi = q->gpr[DT_ESI];
	b->edi = q->gpr[DT_EDI];
	b->esp = q->gpr[DT_ESP];
	b->eflags = q->eflags;
	b->eip = q->entry;

	memset(r, 0, offsetof(struct dt_resp, fxsave));
	dt_in_guest = 1;
	dt_native_enter();
	dt_in_guest = 0;

	r->magic = DT_RESP_MAGIC;
	r->end = dt_classify_end(r);
	memcpy(r->fxsave, dt_result_fx, DT_FXSAVE_SIZE);
	memcpy(r->code, (void *)(uintptr_t)DT_CODE_BASE, DT_CODE_SIZE);
	memcpy(r->data, (void *)(uintptr_t)DT_DATA_BASE, DT_DATA_SIZE);
	memcpy(r->stack, (void *)(uintptr_t)DT_STACK_BASE, DT_STACK_SIZE);
}

int main(void)
{
	dt_setup();
	for (;;) {
		int rc = dt_read_full(0, &dt_request, sizeof dt_request);
		if (rc == 0)
			return 0;
		if (rc < 0 || dt_request.magic != DT_REQ_MAGIC) {
			errno = EPROTO;
			dt_die("bad request");
		}
		dt_run_one(&dt_request, &dt_response);
		dt_write_full(1, &dt_response, sizeof dt_response);
	}
}
