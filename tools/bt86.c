/* bt86.c — the command-line front end.
 *
 *   bt86 run --kernel FILE [--append STR] [-m MiB] [--trace FILE] [--stats] [--pv on|off]
 *
 * QEMU's spellings (-kernel, -append, -m) are accepted too, so a QEMU command line for a test
 * kernel carries over. This is the only place in bt86 that prints messages for the user or
 * decides the process exit status: a bad command line or kernel file gives exactly one line
 * "bt86: <reason>" on stderr and status 2; otherwise the status is whatever rt_vm_run() says
 * (the guest's debug-exit status, or one of enum rt_status).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

#ifndef BT86_VERSION
#define BT86_VERSION "0.1.0"
#endif

enum {
	BT86_MEM_MIN_MIB = 2,
	BT86_MEM_MAX_MIB = 3072,    /* leaves the top GiB of the 32-bit space for devices */
	BT86_MEM_DEFAULT_MIB = 128, /* QEMU's default */
	BT86_ERR_BYTES = 512,
};

enum bt86_opt_id {
	BT86_OPT_KERNEL,
	BT86_OPT_APPEND,
	BT86_OPT_INITRD,
	BT86_OPT_MEMORY,
	BT86_OPT_TRACE,
	BT86_OPT_STATS,
	BT86_OPT_TRACE_COUNTS,
	BT86_OPT_PERF_MAP,
	BT86_OPT_PV,
	BT86_OPT_HELP,
	BT86_OPT_VERSION,
};

/* One option of "bt86 run": its spellings, its argument (NULL: none) and its help line. The
 * parser and --help both read this table. */
struct bt86_option {
	enum bt86_opt_id id;
	const char *name;  /* the long spelling; "--name=VALUE" works too */
	const char *alias; /* another spelling (QEMU's, or a short one), or NULL */
	const char *arg;
	const char *help;
};

static const struct bt86_option bt86_run_options[] = {
    {BT86_OPT_KERNEL, "--kernel", "-kernel", "FILE",
     "multiboot (v1) ELF32 kernel or Linux bzImage to run"},
    {BT86_OPT_INITRD, "--initrd", "-initrd", "FILE", "initial ramdisk (Linux bzImage kernels)"},
    {BT86_OPT_APPEND, "--append", "-append", "STR",
     "kernel command line (the kernel sees \"FILE STR\", as under QEMU)"},
    {BT86_OPT_MEMORY, "--memory", "-m", "MiB",
     "guest RAM in MiB, 2 to 3072, M or G suffix allowed (default 128)"},
    {BT86_OPT_TRACE, "--trace", NULL, "FILE", "record a binary trace (read it with bt86-trace)"},
    {BT86_OPT_TRACE_COUNTS, "--trace-counts", NULL, NULL,
     "with --trace: record how often each block ran (costs a little speed)"},
    {BT86_OPT_STATS, "--stats", NULL, NULL, "print counters on stderr at exit"},
    {BT86_OPT_PERF_MAP, "--perf-map", NULL, NULL,
     "write /tmp/perf-PID.map so that perf report names translated blocks"},
    {BT86_OPT_PV, "--pv", NULL, "on|off",
     "offer the paravirtual interface: KVM leaves, kvm-clock, hypercalls (default on)"},
    {BT86_OPT_HELP, "--help", "-h", NULL, "show this help"},
    {BT86_OPT_VERSION, "--version", NULL, NULL, "show the version"},
};

enum {
	BT86_RUN_OPTION_COUNT = sizeof(bt86_run_options) / sizeof(bt86_run_options[0]),
};

/* What "bt86 run" was asked to do. */
struct bt86_run_args {
	const char *kernel;
	const char *append;
	const char *initrd;
	uint64_t mem_mib;
	const char *trace;
	bool stats;
	bool perf_map;
	bool pv;
	bool trace_counts;
};

__attribute__((format(printf, 1, 2))) static void bt86_error(const char *fmt, ...)
{
	char line[BT86_ERR_BYTES];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One line, whatever a lower layer put into its message. */
	line[strcspn(line, "\n")] = '\0';
	fprintf(stderr, "bt86: %s\n", line);
}

static int bt86_usage(FILE *out)
{
	fprintf(out, "Usage: bt86 run --kernel FILE [--append STR] [-m MiB] [--trace FILE] "
		     "[--stats]\n"
		     "       bt86 --help | --version\n"
		     "\n"
		     "Run a 32-bit x86 multiboot kernel by dynamic binary translation.\n"
		     "\n"
		     "Options of run:\n");
	for (unsigned i = 0; i < BT86_RUN_OPTION_COUNT; i++) {
		const struct bt86_option *o = &bt86_run_options[i];
		char spelling[48];
		snprintf(spelling, sizeof(spelling), "%s%s%s%s%s", o->name, o->alias ? ", " : "",
			 o->alias ? o->alias : "", o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-26s %s\n", spelling, o->help);
	}
	fprintf(
	    out,
	    "\n"
	    "Exit status: the guest's debug-exit status, (value << 1) | 1 for a write of value\n"
	    "to port 0xf4 as QEMU's isa-debug-exit gives it; else 2 bad command line or\n"
	    "kernel, 4 triple fault, 6 halted for good, 8 unsupported or internal error.\n");
	if (fflush(out) != 0) {
		bt86_error("cannot write the help text: %s", strerror(errno));
		return RT_STATUS_INTERNAL;
	}
	return 0;
}

static int bt86_version(void)
{
	printf("bt86 %s\n", BT86_VERSION);
	if (fflush(stdout) != 0) {
		bt86_error("cannot write the version: %s", strerror(errno));
		return RT_STATUS_INTERNAL;
	}
	return 0;
}

/* Parse a RAM size: decimal MiB, or with an M or G suffix (QEMU's -m takes MiB by default).
 * Returns 0 and *mib, or -1. */
static int bt86_parse_mib(const char *text, uint64_t *mib)
{
	uint64_t value = 0;
	const char *p = text;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		value = value * 10 + (uint64_t)(*p - '0');
		if (value > BT86_MEM_MAX_MIB)
			return -1; /* also stops overflow on long digit strings */
	}
	if ((*p == 'G' || *p == 'g') && p[1] == '\0')
		value *= 1024;
	else if (!((*p == 'M' || *p == 'm') && p[1] == '\0') && *p != '\0')
		return -1;
	if (value < BT86_MEM_MIN_MIB || value > BT86_MEM_MAX_MIB)
		return -1;
	*mib = value;
	return 0;
}

/* Find the option argv[*i] names; *value gets its argument (from "--name=VALUE" or the next
 * word, advancing *i). Returns NULL after printing the error. */
static const struct bt86_option *bt86_match(int argc, char **argv, int *i, const char **value)
{
	const char *word = argv[*i];
	for (unsigned k = 0; k < BT86_RUN_OPTION_COUNT; k++) {
		const struct bt86_option *o = &bt86_run_options[k];
		size_t len = strlen(o->name);
		bool exact =
		    strcmp(word, o->name) == 0 || (o->alias && strcmp(word, o->alias) == 0);
		bool joined = strncmp(word, o->name, len) == 0 && word[len] == '=';
		if (!exact && !joined)
			continue;
		*value = NULL;
		if (o->arg == NULL) {
			if (joined) {
				bt86_error("option '%s' takes no argument", o->name);
				return NULL;
			}
			return o;
		}
		if (joined) {
			*value = word + len + 1;
		} else if (*i + 1 < argc) {
			*value = argv[++*i];
		} else {
			bt86_error("option '%s' needs an argument (%s)", word, o->arg);
			return NULL;
		}
		return o;
	}
	if (word[0] == '-')
		bt86_error("unknown option '%s' (see 'bt86 --help')", word);
	else
		bt86_error("unexpected argument '%s' (see 'bt86 --help')", word);
	return NULL;
}

/* Parse the words after "run". Returns -1 on a bad command line (already reported), 1 when
 * --help or --version was answered (*status set), 0 to go ahead. */
static int bt86_parse_run(int argc, char **argv, struct bt86_run_args *args, int *status)
{
	*args = (struct bt86_run_args){.mem_mib = BT86_MEM_DEFAULT_MIB, .pv = true};
	for (int i = 0; i < argc; i++) {
		const char *value;
		const struct bt86_option *o = bt86_match(argc, argv, &i, &value);
		if (o == NULL)
			return -1;
		switch (o->id) {
		case BT86_OPT_KERNEL:
			args->kernel = value;
			break;
		case BT86_OPT_APPEND:
			args->append = value;
			break;
		case BT86_OPT_INITRD:
			args->initrd = value;
			break;
		case BT86_OPT_MEMORY:
			if (bt86_parse_mib(value, &args->mem_mib) < 0) {
				bt86_error("invalid memory size '%s': give MiB from %d to %d",
					   value, BT86_MEM_MIN_MIB, BT86_MEM_MAX_MIB);
				return -1;
			}
			break;
		case BT86_OPT_TRACE:
			args->trace = value;
			break;
		case BT86_OPT_STATS:
			args->stats = true;
			break;
		case BT86_OPT_PERF_MAP:
			args->perf_map = true;
			break;
		case BT86_OPT_TRACE_COUNTS:
			args->trace_counts = true;
			break;
		case BT86_OPT_PV:
			if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
				bt86_error("invalid --pv '%s': give on or off", value);
				return -1;
			}
			args->pv = strcmp(value, "on") == 0;
			break;
		case BT86_OPT_HELP:
			*status = bt86_usage(stdout);
			return 1;
		case BT86_OPT_VERSION:
			*status = bt86_version();
			return 1;
		}
	}
	if (args->trace_counts && !args->trace) {
		bt86_error("--trace-counts needs --trace FILE to write the counts to");
		return -1;
	}
	if (args->kernel == NULL || args->kernel[0] == '\0') {
		bt86_error("no kernel given: bt86 run --kernel FILE");
		return -1;
	}
	return 0;
}

static int bt86_run(int argc, char **argv)
{
	struct bt86_run_args args;
	int status = 0;
	int parsed = bt86_parse_run(argc, argv, &args, &status);
	if (parsed < 0)
		return RT_STATUS_BAD_INPUT;
	if (parsed > 0)
		return status;

	char err[BT86_ERR_BYTES] = "";
	struct rt_vm_config config = {
	    .ram_bytes = args.mem_mib << 20,
	    .trace_path = args.trace,
	    .stats = args.stats,
	    .console_input = true,
	    .perf_map = args.perf_map,
	    .pv = args.pv,
	    .trace_counts = args.trace_counts,
	};
	struct rt_vm *vm = rt_vm_create(&config, err, sizeof(err));
	if (vm == NULL) {
		bt86_error("%s", err[0] ? err : "cannot create the virtual machine");
		return RT_STATUS_INTERNAL;
	}
	if (rt_vm_load(vm, args.kernel, args.initrd, args.append, err, sizeof(err)) < 0) {
		if (err[0] != '\0')
			bt86_error("%s", err);
		else
			bt86_error("cannot load kernel %s", args.kernel);
		rt_vm_destroy(vm);
		return RT_STATUS_BAD_INPUT;
	}
	status = rt_vm_run(vm);
	if (args.stats)
		rt_vm_print_stats(vm);
	rt_vm_destroy(vm);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		bt86_error("no subcommand given: bt86 run --kernel FILE (see 'bt86 --help')");
		return RT_STATUS_BAD_INPUT;
	}
	const char *command = argv[1];
	if (strcmp(command, "run") == 0)
		return bt86_run(argc - 2, argv + 2);
	if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0)
		return bt86_usage(stdout);
	if (strcmp(command, "--version") == 0)
		return bt86_version();
	if (command[0] == '-')
		bt86_error("unknown option '%s': options follow the subcommand, as in "
			   "bt86 run --kernel FILE",
			   command);
	else
		bt86_error("unknown subcommand '%s' (the one there is: run)", command);
	return RT_STATUS_BAD_INPUT;
}
