/* hello32 — a static i386 Linux program of the project's own for the Linux test: it writes its
 * argument and a checksum of a small computation through int 0x80, so each of the test's
 * fork+exec runs does real user-mode work and system calls. Built freestanding (no libc). */
static long sys3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static unsigned len(const char *s)
{
	unsigned n = 0;
	while (s[n])
		n++;
	return n;
}

void _start_c(int argc, char **argv);
void _start_c(int argc, char **argv)
{
	char buf[64];
	const char *arg = argc > 1 ? argv[1] : "-";
	unsigned h = 2166136261u;
	for (unsigned i = 0; i < 10000; i++)
		h = (h ^ (i * 2654435761u)) * 16777619u;
	unsigned n = 0;
	for (unsigned i = 0; i < len(arg) && n < 20; i++)
		buf[n++] = arg[i];
	buf[n++] = ' ';
	for (int shift = 28; shift >= 0; shift -= 4)
		buf[n++] = "0123456789abcdef"[(h >> shift) & 15];
	buf[n++] = '\n';
	sys3(4, 1, (long)buf, (long)n); /* write */
	sys3(1, 0, 0, 0);		/* exit */
}

__asm__(".globl _start\n"
	"_start:\n"
	"	mov (%esp), %eax\n"
	"	lea 4(%esp), %edx\n"
	"	push %edx\n"
	"	push %eax\n"
	"	call _start_c\n");
