/* Runs the fuzz target without libFuzzer: every file named (or in a directory named) on the
 * command line, then --random N inputs from --seed S. Used by `make test`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_run_file(const char *path)
{
	static uint8_t buf[1 << 16];
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz-replay: %s: cannot open\n", path);
		return -1;
	}
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

static int fz_run_path(const char *path, unsigned *count)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "fuzz-replay: %s: not found\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return fz_run_file(path);
	}
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		rc |= fz_run_path(sub, count);
	}
	closedir(d);
	return rc;
}

/* xorshift64*: reproducible inputs from a seed. */
static uint64_t fz_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

int main(int argc, char **argv)
{
	unsigned files = 0, random_inputs = 0;
	uint64_t seed = 1;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--random") && i + 1 < argc)
			random_inputs = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0) | 1;
		else
			rc |= fz_run_path(argv[i], &files);
	}
	uint8_t buf[256];
	for (unsigned i = 0; i < random_inputs; i++) {
		size_t n = 1 + fz_next(&seed) % sizeof buf;
		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)fz_next(&seed);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz-replay: %u corpus files and %u random inputs ran without a host crash\n",
	       files, random_inputs);
	return rc ? 1 : 0;
}
