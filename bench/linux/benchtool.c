/* benchtool — the Linux benchmarks' static i386 helper, run the same way in the guest and on
 * the host (bench/linux/workloads.sh), built freestanding (no libc) like tests/linux/hello32.c:
 *
 *   benchtool ns                 print CLOCK_MONOTONIC in nanoseconds (one line)
 *   benchtool text SEED BYTES    write BYTES bytes of word text to stdout: lines of words from
 *                                a fixed list, picked by a xorshift generator seeded with SEED,
 *                                common words more often than rare ones, and numbers; the same
 *                                SEED and BYTES give the same bytes everywhere
 *
 * Exit status 0, or 2 for a bad command line or a failed write. */
#define SYS_EXIT	  1
#define SYS_WRITE	  4
#define SYS_CLOCK_GETTIME 265
#define CLOCK_MONOTONIC	  1

static long sys3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static char out[65536];
static unsigned out_len;
static int write_failed;

static void flush(void)
{
	unsigned off = 0;
	while (off < out_len) {
		long r = sys3(SYS_WRITE, 1, (long)(out + off), (long)(out_len - off));
		if (r <= 0) {
			write_failed = 1;
			break;
		}
		off += (unsigned)r;
	}
	out_len = 0;
}

static void put(char c)
{
	out[out_len++] = c;
	if (out_len == sizeof(out))
		flush();
}

static void put_uint(unsigned v, unsigned min_digits)
{
	char d[10];
	unsigned n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n < min_digits)
		d[n++] = '0';
	while (n > 0)
		put(d[--n]);
}

static int parse_uint(const char *s, unsigned *v)
{
	unsigned r = 0;
	if (*s == 0)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || r > 429496728u)
			return 0;
		r = r * 10 + (unsigned)(*s - '0');
	}
	*v = r;
	return 1;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static int cmd_ns(void)
{
	struct {
		long sec, nsec;
	} ts;
	if (sys3(SYS_CLOCK_GETTIME, CLOCK_MONOTONIC, (long)&ts, 0) != 0)
		return 2;
	/* seconds then nine digits of nanoseconds, with no leading zero (shells read 0… as octal)
	 */
	if (ts.sec > 0) {
		put_uint((unsigned)ts.sec, 1);
		put_uint((unsigned)ts.nsec, 9);
	} else {
		put_uint((unsigned)ts.nsec, 1);
	}
	put('\n');
	return 0;
}

static const char *const words[64] = {
    "the",	   "of",       "and",	  "to",	       "in",	     "a",	  "is",
    "that",	   "for",      "it",	  "as",	       "was",	     "with",	  "be",
    "by",	   "on",       "not",	  "he",	       "this",	     "are",	  "or",
    "his",	   "from",     "at",	  "which",     "but",	     "have",	  "an",
    "had",	   "they",     "you",	  "were",      "their",	     "one",	  "all",
    "we",	   "can",      "her",	  "has",       "there",	     "been",	  "if",
    "more",	   "when",     "will",	  "would",     "who",	     "so",	  "no",
    "translation", "register", "segment", "interrupt", "descriptor", "privilege", "paging",
    "monitor",	   "guest",    "shadow",  "callout",   "dispatcher", "benchmark", "kernel",
    "emulator",
};

static int cmd_text(unsigned seed, unsigned bytes)
{
	unsigned x = seed * 2654435761u + 1;
	unsigned left = bytes;
	unsigned col = 0;
	while (left > 0) {
		char word[16];
		unsigned n = 0;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if ((x & 15) == 0) {
			/* a number now and then */
			unsigned v = (x >> 8) % 100000;
			do {
				word[n++] = (char)('0' + v % 10);
				v /= 10;
			} while (v != 0);
		} else {
			/* the AND of two indexes favours the low (common) words */
			const char *w = words[((x >> 4) & 63) & ((x >> 10) & 63)];
			while (w[n] && n < sizeof(word))
				n++;
			for (unsigned i = 0; i < n; i++)
				word[n - 1 - i] = w[i];
		}
		while (n > 0 && left > 0) {
			put(word[--n]);
			left--;
			col++;
		}
		if (left > 0) {
			put(col > 60 ? '\n' : ' ');
			left--;
			if (col > 60)
				col = 0;
		}
	}
	return 0;
}

void _start_c(int argc, char **argv);
void _start_c(int argc, char **argv)
{
	unsigned seed, bytes;
	int status = 2;
	if (argc == 2 && streq(argv[1], "ns"))
		status = cmd_ns();
	else if (argc == 4 && streq(argv[1], "text") && parse_uint(argv[2], &seed) &&
		 parse_uint(argv[3], &bytes))
		status = cmd_text(seed, bytes);
	flush();
	if (status == 2 && !write_failed) {
		static const char usage[] = "usage: benchtool ns | benchtool text SEED BYTES\n";
		sys3(SYS_WRITE, 2, (long)usage, sizeof(usage) - 1);
	}
	if (write_failed)
		status = 2;
	sys3(SYS_EXIT, status, 0, 0);
}

__asm__(".globl _start\n"
	"_start:\n"
	"	mov (%esp), %eax\n"
	"	lea 4(%esp), %edx\n"
	"	push %edx\n"
	"	push %eax\n"
	"	call _start_c\n");
