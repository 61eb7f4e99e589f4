/* linux_boot_dump.c — run rt_load_linux() into a RAM buffer and write out what it loaded, so
 * that QEMU can boot exactly that memory image (scripts/qemu-loader-check.sh).
 *
 *   linux-boot-dump KERNEL INITRD|- CMDLINE RAM_MIB OUTDIR
 *
 * Writes OUTDIR/low.bin (guest RAM [0, 0x9FC00): zero page, GDT, command line),
 * OUTDIR/kernel.bin (the protected-mode kernel at 1 MiB), OUTDIR/initrd.bin (the initrd at
 * its address, if any) and OUTDIR/boot.env, shell assignments of the addresses and of the
 * struct rt_linux_boot fields. Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/runtime.h"

#define LOW_END		 0x9FC00u
#define HIGH		 0x100000u
#define ZP_SETUP_SECTS	 0x1F1u
#define ZP_RAMDISK_IMAGE 0x218u
#define ZP_RAMDISK_SIZE	 0x21Cu

static int dump_write(const char *dir, const char *name, const uint8_t *data, uint64_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "linux-boot-dump: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static uint32_t dump_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Load into ram and write the files; 0, or 1 after a message. */
static int dump_run(const char *kernel, const char *initrd, const char *cmdline, uint8_t *ram,
		    uint64_t ram_size, const char *dir)
{
	struct rt_linux_boot boot;
	char err[512];
	if (rt_load_linux(kernel, initrd, cmdline, ram, ram_size, &boot, err, sizeof(err)) < 0) {
		fprintf(stderr, "linux-boot-dump: %s\n", err);
		return 1;
	}
	/* The kernel's length, as the loader took it: the file after the setup sectors. */
	struct stat st;
	if (stat(kernel, &st) < 0) {
		fprintf(stderr, "linux-boot-dump: %s: %s\n", kernel, strerror(errno));
		return 1;
	}
	const uint8_t *zp = ram + boot.esi;
	uint64_t setup_sects = zp[ZP_SETUP_SECTS] ? zp[ZP_SETUP_SECTS] : 4;
	uint64_t kernel_bytes = (uint64_t)st.st_size - (setup_sects + 1) * 512;
	uint32_t rd_addr = dump_get32(zp + ZP_RAMDISK_IMAGE);
	uint32_t rd_size = dump_get32(zp + ZP_RAMDISK_SIZE);

	if (dump_write(dir, "low.bin", ram, LOW_END) < 0 ||
	    dump_write(dir, "kernel.bin", ram + HIGH, kernel_bytes) < 0 ||
	    (rd_size > 0 && dump_write(dir, "initrd.bin", ram + rd_addr, rd_size) < 0))
		return 1;
	char env[512];
	int n = snprintf(env, sizeof(env),
			 "EIP=0x%" PRIx32 "\nESI=0x%" PRIx32 "\nGDT_BASE=0x%" PRIx32
			 "\nGDT_LIMIT=0x%x\nKERNEL_ADDR=0x%x\nINITRD_ADDR=0x%" PRIx32
			 "\nINITRD_SIZE=0x%" PRIx32 "\n",
			 boot.eip, boot.esi, boot.gdt_base, boot.gdt_limit, HIGH, rd_addr, rd_size);
	return dump_write(dir, "boot.env", (const uint8_t *)env, (uint64_t)n) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: linux-boot-dump KERNEL INITRD|- CMDLINE RAM_MIB OUTDIR\n");
		return 1;
	}
	const char *kernel = argv[1];
	const char *initrd = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
	const char *dir = argv[5];
	uint64_t ram_size = strtoull(argv[4], NULL, 10) << 20;
	uint8_t *ram = calloc(1, ram_size ? ram_size : 1);
	if (ram == NULL) {
		fprintf(stderr, "linux-boot-dump: no memory for %s MiB of RAM\n", argv[4]);
		return 1;
	}
	int status = dump_run(kernel, initrd, argv[3], ram, ram_size, dir);
	free(ram);
	return status;
}
