/* The tester's end of the native runner (native.c): start it, send a sequence, read back what
 * the CPU did. The runner is a child process on two pipes; a request is sent in full before
 * bt86 runs the same sequence, so the two runs overlap on two cores.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "difftest.h"

struct dt_native {
	pid_t pid;
	int to_runner;
	int from_runner;
	struct dt_req req;
	struct dt_resp resp;
};

struct dt_native *dt_native_start(const char *path)
{
	struct dt_native *nat = calloc(1, sizeof *nat);
	int to[2], from[2];
	if (!nat)
		return NULL;
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		fprintf(stderr, "bt86-difftest: pipe: %s\n", strerror(errno));
		free(nat);
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bt86-difftest: fork: %s\n", strerror(errno));
		free(nat);
		return NULL;
	}
	if (pid == 0) {
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(127);
		execl(path, path, (char *)NULL);
		fprintf(stderr, "bt86-difftest: cannot run the native runner %s: %s\n", path,
			strerror(errno));
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	nat->pid = pid;
	nat->to_runner = to[1];
	nat->from_runner = from[0];
	return nat;
}

void dt_native_stop(struct dt_native *nat)
{
	if (!nat)
		return;
	close(nat->to_runner);
	close(nat->from_runner);
	kill(nat->pid, SIGKILL);
	waitpid(nat->pid, NULL, 0);
	free(nat);
}

static int dt_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int dt_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int dt_native_send(struct dt_native *nat, const struct dt_seq *seq)
{
	struct dt_req *q = &nat->req;
	q->magic = DT_REQ_MAGIC;
	q->eflags = seq->eflags;
	memcpy(q->gpr, seq->gpr, sizeof q->gpr);
	q->entry = seq->code_base;
	memcpy(q->fxsave, seq->fxsave, sizeof q->fxsave);
	memcpy(q->code, seq->code, sizeof q->code);
	memcpy(q->data, seq->data, sizeof q->data);
	memcpy(q->stack, seq->stack, sizeof q->stack);
	return dt_write_full(nat->to_runner, q, sizeof *q);
}

static const char *dt_signal_name(uint32_t signo)
{
	switch (signo) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGFPE:
		return "SIGFPE";
	case SIGILL:
		return "SIGILL";
	case SIGTRAP:
		return "SIGTRAP";
	case SIGBUS:
		return "SIGBUS";
	default:
		return "signal";
	}
}

int dt_native_recv(struct dt_native *nat, struct dt_outcome *out)
{
	struct dt_resp *r = &nat->resp;
	if (dt_read_full(nat->from_runner, r, sizeof *r) < 0 || r->magic != DT_RESP_MAGIC)
		return -1;
	memcpy(out->gpr, r->gpr, sizeof out->gpr);
	out->eflags = r->eflags;
	out->eip = r->eip;
	memcpy(out->fxsave, r->fxsave, sizeof out->fxsave);
	memcpy(out->code, r->code, sizeof out->code);
	memcpy(out->data, r->data, sizeof out->data);
	memcpy(out->stack, r->stack, sizeof out->stack);
	out->vector = (uint8_t)r->trapno;
	switch (r->end) {
	case DT_END_HLT:
		out->kind = DT_OUT_HLT;
		out->vector = 0;
		snprintf(out->note, sizeof out->note, "hlt at %08x", r->eip);
		break;
	case DT_END_FAULT:
		out->kind = DT_OUT_FAULT;
		snprintf(out->note, sizeof out->note,
			 "exception %u at %08x (%s, si_code %d, error %#x, address %08x)",
			 r->trapno, r->eip, dt_signal_name(r->signo), (int)r->si_code, r->error,
			 r->addr);
		break;
	default:
		out->kind = DT_OUT_OTHER;
		snprintf(out->note, sizeof out->note, "%s %u at %08x", dt_signal_name(r->signo),
			 r->signo, r->eip);
		break;
	}
	return 0;
}
