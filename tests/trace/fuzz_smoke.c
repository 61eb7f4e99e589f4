/* fuzz_smoke.c — feeds damaged copies of a real trace to bt86-trace summary and requires a clean
 * exit (0, or 2 for bad input), never a crash, a hang or another status.
 *
 * usage: trace-fuzz-smoke BT86_TRACE TRACE [VARIANTS] [SEED]
 * Each variant is the trace cut at a random length, with 1-8 random bits flipped, or both; the
 * generator is a fixed xorshift so a failure names a seed and variant that reproduce it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t fuzz_state;

static uint64_t fuzz_next(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return fuzz_state;
}

static int fuzz_run(const char *tool, const char *path)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		alarm(20);
		execl(tool, tool, "summary", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

int main(int argc, char **argv)
{
	unsigned long variants = argc > 3 ? strtoul(argv[3], NULL, 0) : 300;
	unsigned long failures = 0;
	char path[] = "/tmp/bt86-fuzz-smoke.XXXXXX";
	uint8_t *data, *copy;
	long size;
	FILE *f;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: trace-fuzz-smoke BT86_TRACE TRACE [VARIANTS] [SEED]\n");
		return 2;
	}
	fuzz_state = argc > 4 ? strtoull(argv[4], NULL, 0) : 0x5eed;
	f = fopen(argv[2], "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0) {
		perror(argv[2]);
		return 1;
	}
	rewind(f);
	data = malloc((size_t)size);
	copy = malloc((size_t)size);
	if (data == NULL || copy == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "cannot read %s\n", argv[2]);
		return 1;
	}
	fclose(f);
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);

	for (unsigned long v = 0; v < variants; v++) {
		size_t len = (size_t)size;
		uint64_t mode = fuzz_next() % 3;
		int st;

		for (size_t i = 0; i < len; i++)
			copy[i] = data[i];
		if (mode != 1)
			len = (size_t)(fuzz_next() % (uint64_t)size);
		if (mode != 0 && len > 0) {
			unsigned flips = 1 + (unsigned)(fuzz_next() % 8);

			for (unsigned i = 0; i < flips; i++)
				copy[fuzz_next() % len] ^= (uint8_t)(1u << (fuzz_next() % 8));
		}
		f = fopen(path, "wb");
		if (f == NULL || fwrite(copy, 1, len, f) != len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		st = fuzz_run(argv[1], path);
		if (st < 0 || !WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 2)) {
			fprintf(stderr, "FAIL: variant %lu (mode %d, %zu bytes): %s %d\n", v,
				(int)mode, len, st >= 0 && WIFSIGNALED(st) ? "signal" : "status",
				st >= 0 && WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			failures++;
		}
	}
	unlink(path);
	free(data);
	free(copy);
	printf("%lu variants, %lu failures\n", variants, failures);
	return failures != 0;
}
