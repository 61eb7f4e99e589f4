/*
 * host.c — the library's I/O for a kernel built as a Linux i386 program instead of a
 * multiboot image (GUEST_HOST). Kernels that use only unprivileged instructions then run on
 * the real CPU, which is the judge of whether what they print is architecturally defined:
 * compare-host.sh diffs that output against QEMU's. Output is buffered and written with the
 * i386 write system call; guest_exit becomes exit.
 */
#include "guest.h"

#define SYS_EXIT  1
#define SYS_WRITE 4

static char out_buf[65536];
static uint32_t out_len;

static void flush(void)
{
	uint32_t off = 0;

	while (off < out_len) {
		int32_t r;
		__asm__ volatile("int $0x80"
				 : "=a"(r)
				 : "a"(SYS_WRITE), "b"(1), "c"(out_buf + off), "d"(out_len - off)
				 : "memory");
		if (r <= 0)
			break;
		off += (uint32_t)r;
	}
	out_len = 0;
}

void uart_init(void)
{
}

void put_char(char c)
{
	out_buf[out_len++] = c;
	if (out_len == sizeof(out_buf))
		flush();
}

void guest_exit(uint32_t code)
{
	flush();
	__asm__ volatile("int $0x80" : : "a"(SYS_EXIT), "b"(code));
	for (;;)
		;
}
