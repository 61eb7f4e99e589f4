/* test_loader_linux.c — rt_load_linux() on bzImages the test builds itself, good and bad.
 *
 * Each kernel is a byte image: a boot sector and setup sectors holding a setup header with
 * the fields a Debian 6.1 kernel has (scaled down to fit a small RAM), then a patterned
 * protected-mode part; it is written to a temporary file, sometimes changed, cut short or
 * mutated first. The rest of the setup sectors is filled with a pattern too, so the tests can
 * tell which zero-page bytes came from the file and which the loader wrote. Guest RAM is a
 * heap buffer with guard zones on both sides that must never change, pre-filled with 0xAA.
 * One test loads the real Debian kernel when scripts/fetch-debian-guest.sh has fetched it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define MIB	    (1024u * 1024u)
#define RAM_SIZE    (8u * MIB)
#define GUARD	    4096u
#define FILL	    0xAA
#define HIGH	    0x100000u
#define SETUP_SECTS 3u
#define PM_OFF	    ((SETUP_SECTS + 1) * 512u) /* file offset of the protected-mode part */
#define PM_BYTES    0x3000u
#define FILE_BYTES  (PM_OFF + PM_BYTES)
#define HDR_END	    0x26Cu /* 2.15: up to kernel_info_offset */
#define INIT_SIZE   0x200000u
#define KERNEL_END  (HIGH + INIT_SIZE) /* relocatable, 1 MiB aligned, pref 1 MiB */
#define ZERO_PAGE   0x10000u
#define GDT	    0x11000u
#define CMDLINE	    0x20000u
#define FILE_MAX    (64u * 1024u) /* room for setup_sects up to 127 in tests */

/* Setup header offsets (Documentation/x86/boot.rst). */
enum {
	H_SETUP_SECTS = 0x1F1,
	H_SYSSIZE = 0x1F4,
	H_VID_MODE = 0x1FA,
	H_BOOT_FLAG = 0x1FE,
	H_JUMP = 0x200,
	H_MAGIC = 0x202,
	H_VERSION = 0x206,
	H_TYPE_OF_LOADER = 0x210,
	H_LOADFLAGS = 0x211,
	H_CODE32_START = 0x214,
	H_RAMDISK_IMAGE = 0x218,
	H_RAMDISK_SIZE = 0x21C,
	H_HEAP_END_PTR = 0x224,
	H_CMD_LINE_PTR = 0x228,
	H_INITRD_MAX = 0x22C,
	H_KERNEL_ALIGN = 0x230,
	H_RELOCATABLE = 0x234,
	H_MIN_ALIGN = 0x235,
	H_XLOADFLAGS = 0x236,
	H_CMDLINE_SIZE = 0x238,
	H_SUBARCH = 0x23C,
	H_SETUP_DATA = 0x250,
	H_PREF_ADDRESS = 0x258,
	H_INIT_SIZE = 0x260,
};

static uint8_t file[FILE_MAX];
static size_t file_len;
static char path[64];
static char initrd[64];
static uint8_t *ram_block; /* GUARD + RAM_SIZE + GUARD */
static uint8_t *ram;
static struct rt_linux_boot boot;
static char err[256];

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint16_t ram16(uint32_t addr)
{
	uint16_t v;
	memcpy(&v, ram + addr, sizeof(v));
	return v;
}

static uint32_t ram32(uint32_t addr)
{
	uint32_t v;
	memcpy(&v, ram + addr, sizeof(v));
	return v;
}

static uint64_t ram64(uint32_t addr)
{
	uint64_t v;
	memcpy(&v, ram + addr, sizeof(v));
	return v;
}

static uint8_t zp8(uint32_t off)
{
	return ram[ZERO_PAGE + off];
}

/* A valid kernel, protocol 2.15, shaped like Debian's 686 kernel: relocatable, pref_address
 * and alignment 1 MiB here (16 MiB there), init_size 2 MiB. */
static void image_default(void)
{
	memset(file, 0, sizeof(file));
	for (size_t i = 0; i < PM_OFF; i++)
		file[i] = (uint8_t)(i * 11 + 3);
	for (size_t i = PM_OFF; i < FILE_BYTES; i++)
		file[i] = (uint8_t)(i * 7 + 1);
	file_len = FILE_BYTES;
	file[0x1EF] = 0xFF; /* the sentinel, as in real images */
	file[H_SETUP_SECTS] = SETUP_SECTS;
	put32(file + H_SYSSIZE, PM_BYTES / 16);
	put16(file + H_VID_MODE, 0xFFFF);
	put16(file + H_BOOT_FLAG, 0xAA55);
	file[H_JUMP] = 0xEB;
	file[H_JUMP + 1] = HDR_END - 0x202;
	memcpy(file + H_MAGIC, "HdrS", 4);
	put16(file + H_VERSION, 0x020F);
	file[H_TYPE_OF_LOADER] = 0;
	file[H_LOADFLAGS] = 0x01;
	put32(file + H_CODE32_START, HIGH);
	put32(file + H_RAMDISK_IMAGE, 0);
	put32(file + H_RAMDISK_SIZE, 0);
	put16(file + H_HEAP_END_PTR, 0x5A5A);
	put32(file + H_CMD_LINE_PTR, 0);
	put32(file + H_INITRD_MAX, 0x7FFFFFFF);
	put32(file + H_KERNEL_ALIGN, MIB);
	file[H_RELOCATABLE] = 1;
	file[H_MIN_ALIGN] = 13;
	put16(file + H_XLOADFLAGS, 0x0004); /* EFI handover 32: harmless */
	put32(file + H_CMDLINE_SIZE, 2047);
	put32(file + H_SUBARCH, 0);
	put64(file + H_SETUP_DATA, 0x123456789ull); /* garbage the loader must clear */
	put64(file + H_PREF_ADDRESS, HIGH);
	put32(file + H_INIT_SIZE, INIT_SIZE);
}

/* Overwrite, then cut to length: opening with O_TRUNC instead makes ext4 flush the file at
 * close (its replace-by-truncate safeguard), which costs seconds over the fuzz loop. */
static void write_bytes(const char *to, const void *data, size_t len)
{
	int fd = open(to, O_WRONLY);
	cr_assert_geq(fd, 0, "open %s: %s", to, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	cr_assert_eq(ftruncate(fd, (off_t)len), 0, "ftruncate %s: %s", to, strerror(errno));
	close(fd);
}

static void write_image(size_t len)
{
	cr_assert_leq(len, sizeof(file));
	write_bytes(path, file, len);
}

/* An initrd of len bytes, patterned so that a misplaced byte shows. */
static void write_initrd(size_t len)
{
	uint8_t *data = malloc(len ? len : 1);
	cr_assert_not_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 5 + 9);
	write_bytes(initrd, data, len);
	free(data);
}

static void temp_file(char *name, const char *prefix)
{
	snprintf(name, 64, "/tmp/%s-XXXXXX", prefix);
	int fd = mkstemp(name);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	close(fd);
}

static void setup(void)
{
	temp_file(path, "bt86-test-bzimage");
	temp_file(initrd, "bt86-test-initrd");
	ram_block = malloc(GUARD + RAM_SIZE + GUARD);
	cr_assert_not_null(ram_block);
	memset(ram_block, FILL, GUARD + RAM_SIZE + GUARD);
	ram = ram_block + GUARD;
	memset(&boot, 0, sizeof(boot));
	memset(err, 0, sizeof(err));
	image_default();
}

static void teardown(void)
{
	unlink(path);
	unlink(initrd);
	free(ram_block);
}

/* Back to the state before any load, for a test that loads twice. */
static void ram_refill(void)
{
	memset(ram, FILL, RAM_SIZE);
}

static void expect_guards_intact(void)
{
	for (size_t i = 0; i < GUARD; i++) {
		if (ram_block[i] != FILL || ram[RAM_SIZE + i] != FILL)
			cr_assert_fail("guard byte %zu changed: the loader wrote outside guest RAM",
				       i);
	}
}

static int load(const char *cmdline)
{
	return rt_load_linux(path, NULL, cmdline, ram, RAM_SIZE, &boot, err, sizeof(err));
}

static int load_with_initrd(const char *cmdline)
{
	return rt_load_linux(path, initrd, cmdline, ram, RAM_SIZE, &boot, err, sizeof(err));
}

/* Write the image (len bytes), expect -1 with word in a one-line message and RAM untouched. */
static void expect_refused(size_t len, const char *word)
{
	write_image(len);
	cr_expect_eq(load("console=ttyS0"), -1, "loaded a bad kernel");
	cr_expect_not_null(strstr(err, word), "message \"%s\" lacks \"%s\"", err, word);
	cr_expect_null(strchr(err, '\n'), "message must be one line: \"%s\"", err);
	cr_expect_eq(ram[HIGH], FILL, "nothing loaded for a refused kernel");
	cr_expect_eq(ram[ZERO_PAGE], FILL, "no zero page for a refused kernel");
	expect_guards_intact();
}

TestSuite(loader_linux, .init = setup, .fini = teardown);

/* ---- good kernels ---------------------------------------------------------------------- */

Test(loader_linux, protected_mode_part_lands_at_1_mib)
{
	write_image(file_len);
	cr_assert_eq(load("console=ttyS0"), 0, "%s", err);
	cr_expect_eq(err[0], '\0');
	cr_expect_arr_eq(ram + HIGH, file + PM_OFF, PM_BYTES);
	cr_expect_eq(ram[HIGH - 1], FILL, "nothing written just below 1 MiB");
	cr_expect_eq(ram[HIGH + PM_BYTES], FILL, "nothing written past the image");
	cr_expect_eq(ram[0], FILL, "the real-mode part is not loaded");
	cr_expect_eq(ram[0x90000], FILL);
	cr_expect_eq(ram[RAM_SIZE - 1], FILL, "no initrd, nothing at the top");
	expect_guards_intact();
}

Test(loader_linux, boot_state_and_gdt)
{
	write_image(file_len);
	cr_assert_eq(load(NULL), 0, "%s", err);
	cr_expect_eq(boot.eip, HIGH);
	cr_expect_eq(boot.esi, ZERO_PAGE);
	cr_expect_eq(boot.gdt_base, GDT);
	cr_expect_eq(boot.gdt_limit, 0x1F, "four descriptors");
	cr_expect_eq(ram64(GDT + 0x00), 0u, "null descriptor");
	cr_expect_eq(ram64(GDT + 0x08), 0u, "unused descriptor");
	/* __BOOT_CS: base 0, limit 0xFFFFF pages, present, DPL 0, code exec/read, 32-bit. */
	cr_expect_eq(ram64(GDT + 0x10), 0x00CF9B000000FFFFull, "__BOOT_CS");
	/* __BOOT_DS: the same as read/write data. */
	cr_expect_eq(ram64(GDT + 0x18), 0x00CF93000000FFFFull, "__BOOT_DS");
	cr_expect_eq(ram[GDT + 0x20], FILL, "nothing past the GDT");
	/* Low-memory pieces: in RAM below the EBDA, apart from each other. */
	cr_expect_lt(boot.esi + 4096, boot.gdt_base + 1);
	cr_expect_lt(boot.gdt_base + boot.gdt_limit, CMDLINE);
}

Test(loader_linux, zero_page_header_is_the_files_with_the_loaders_fields)
{
	write_image(file_len);
	cr_assert_eq(load("console=ttyS0"), 0, "%s", err);
	/* The fields a boot loader writes. */
	cr_expect_eq(zp8(H_TYPE_OF_LOADER), 0xFF, "type_of_loader: undefined");
	cr_expect_eq(zp8(H_LOADFLAGS), 0x01, "loadflags: LOADED_HIGH only");
	cr_expect_eq(ram32(ZERO_PAGE + H_CODE32_START), HIGH, "code32_start");
	cr_expect_eq(ram32(ZERO_PAGE + H_RAMDISK_IMAGE), 0u, "no initrd");
	cr_expect_eq(ram32(ZERO_PAGE + H_RAMDISK_SIZE), 0u, "no initrd");
	cr_expect_eq(ram16(ZERO_PAGE + H_HEAP_END_PTR), 0u, "no heap");
	cr_expect_eq(ram32(ZERO_PAGE + H_CMD_LINE_PTR), CMDLINE, "cmd_line_ptr");
	cr_expect_eq(ram64(ZERO_PAGE + H_SETUP_DATA), 0u, "setup_data cleared");
	/* Every other header byte is the file's. */
	for (uint32_t off = 0x1F1; off < HDR_END; off++) {
		bool written = off == H_TYPE_OF_LOADER || off == H_LOADFLAGS ||
			       (off >= H_CODE32_START && off < H_CODE32_START + 12) ||
			       (off >= H_HEAP_END_PTR && off < H_HEAP_END_PTR + 2) ||
			       (off >= H_CMD_LINE_PTR && off < H_CMD_LINE_PTR + 4) ||
			       (off >= H_SETUP_DATA && off < H_SETUP_DATA + 8);
		if (!written)
			cr_expect_eq(zp8(off), file[off], "header byte 0x%x not copied", off);
	}
	cr_expect_eq(ram16(ZERO_PAGE + H_VERSION), 0x020F);
	cr_expect_eq(ram32(ZERO_PAGE + H_MAGIC), 0x53726448u);
	cr_expect_eq(ram32(ZERO_PAGE + H_INIT_SIZE), INIT_SIZE);
	/* Past the header and before it, the page is the loader's and zero. */
	for (uint32_t off = HDR_END; off < 0x290; off++)
		cr_expect_eq(zp8(off), 0, "byte 0x%x past the header must be 0", off);
	cr_expect_eq(zp8(0x1EF), 0, "sentinel 0: the loader cleared the page");
	expect_guards_intact();
}

Test(loader_linux, zero_page_firmware_fields)
{
	write_image(file_len);
	cr_assert_eq(load(NULL), 0, "%s", err);
	/* screen_info: no video at all (mode, lines, columns, isVGA all 0) but ext_mem_k. */
	for (uint32_t off = 0; off < 0x40; off++) {
		if (off != 2 && off != 3)
			cr_expect_eq(zp8(off), 0, "screen_info byte 0x%x", off);
	}
	cr_expect_eq(zp8(0x0F), 0, "orig_video_isVGA");
	cr_expect_eq(ram16(ZERO_PAGE + 0x02), (RAM_SIZE - MIB) / 1024, "ext_mem_k");
	cr_expect_eq(ram32(ZERO_PAGE + 0x1E0), (RAM_SIZE - MIB) / 1024, "alt_mem_k");

	static const struct {
		uint64_t addr, size;
		uint32_t type;
	} map[] = {
	    {0, 0x9FC00, 1},
	    {0x9FC00, 0x400, 2},
	    {0xF0000, 0x10000, 2},
	    {0x100000, RAM_SIZE - 0x100000, 1},
	};
	cr_assert_eq(zp8(0x1E8), 4, "e820_entries");
	for (unsigned i = 0; i < 4; i++) {
		uint32_t e = ZERO_PAGE + 0x2D0 + i * 20;
		cr_expect_eq(ram64(e), map[i].addr, "entry %u addr", i);
		cr_expect_eq(ram64(e + 8), map[i].size, "entry %u size", i);
		cr_expect_eq(ram32(e + 16), map[i].type, "entry %u type", i);
	}
	cr_expect_eq(ram64(ZERO_PAGE + 0x2D0 + 4 * 20), 0u, "nothing after the last entry");
	/* Everything else in the page is zero: spot-check the big areas. */
	for (uint32_t off = 0x40; off < 0x1E0; off++)
		cr_expect_eq(zp8(off), 0, "byte 0x%x", off);
	for (uint32_t off = 0x2D0 + 4 * 20; off < 4096; off++)
		cr_assert_eq(zp8(off), 0, "byte 0x%x", off);
}

Test(loader_linux, large_ram_caps_ext_mem_k)
{
	/* 64 MiB + 1 MiB of RAM: ext_mem_k stops at 63 MiB as INT 15h AX=88h does. */
	const uint64_t big = 65u * MIB;
	uint8_t *big_ram = malloc(big);
	cr_assert_not_null(big_ram);
	write_image(file_len);
	cr_assert_eq(rt_load_linux(path, NULL, NULL, big_ram, big, &boot, err, sizeof(err)), 0,
		     "%s", err);
	uint16_t ext;
	uint32_t alt;
	memcpy(&ext, big_ram + ZERO_PAGE + 2, sizeof(ext));
	memcpy(&alt, big_ram + ZERO_PAGE + 0x1E0, sizeof(alt));
	cr_expect_eq(ext, 0xFC00);
	cr_expect_eq(alt, 64u * 1024);
	uint64_t ram_top;
	memcpy(&ram_top, big_ram + ZERO_PAGE + 0x2D0 + 3 * 20 + 8, sizeof(ram_top));
	cr_expect_eq(ram_top, big - MIB, "e820 RAM above 1 MiB");
	free(big_ram);
}

Test(loader_linux, command_line)
{
	write_image(file_len);
	cr_assert_eq(load("console=ttyS0 bt86.test=1"), 0, "%s", err);
	cr_expect_str_eq((const char *)ram + CMDLINE, "console=ttyS0 bt86.test=1");
	cr_expect_eq(ram[CMDLINE + 26], FILL, "nothing past the NUL");
}

Test(loader_linux, no_command_line_is_an_empty_string)
{
	write_image(file_len);
	cr_assert_eq(load(NULL), 0, "%s", err);
	cr_expect_eq(ram32(ZERO_PAGE + H_CMD_LINE_PTR), CMDLINE, "cmd_line_ptr set all the same");
	cr_expect_eq(ram[CMDLINE], 0);
}

Test(loader_linux, command_line_of_exactly_cmdline_size)
{
	put32(file + H_CMDLINE_SIZE, 40);
	write_image(file_len);
	char line[41];
	memset(line, 'x', 40);
	line[40] = '\0';
	cr_expect_eq(load(line), 0, "%s", err);
	cr_expect_str_eq((const char *)ram + CMDLINE, line);
	line[39] = '\0';
	cr_expect_eq(load(line), 0, "%s", err);
}

Test(loader_linux, command_line_longer_than_cmdline_size)
{
	put32(file + H_CMDLINE_SIZE, 40);
	write_image(file_len);
	char line[42];
	memset(line, 'x', 41);
	line[41] = '\0';
	cr_expect_eq(load(line), -1);
	cr_expect_not_null(strstr(err, "at most 40"), "%s", err);
	cr_expect_eq(ram[CMDLINE], FILL);
}

Test(loader_linux, command_line_too_long_for_low_memory)
{
	/* A kernel that claims to take 4 GiB of command line still gets what fits below the
	 * EBDA, and no more. */
	put32(file + H_CMDLINE_SIZE, 0xFFFFFFFF);
	write_image(file_len);
	size_t len = 0x9FC00 - CMDLINE;
	char *line = malloc(len + 1);
	cr_assert_not_null(line);
	memset(line, 'y', len);
	line[len] = '\0';
	cr_expect_eq(load(line), -1);
	cr_expect_not_null(strstr(err, "EBDA"), "%s", err);
	line[len - 1] = '\0';
	cr_expect_eq(load(line), 0, "%s", err);
	cr_expect_eq(ram[0x9FC00 - 1], 0, "the NUL is the last byte below the EBDA");
	cr_expect_eq(ram[0x9FC00], FILL);
	free(line);
}

Test(loader_linux, initrd_goes_to_the_top_of_ram_page_aligned)
{
	write_image(file_len);
	write_initrd(0x12345);
	cr_assert_eq(load_with_initrd("console=ttyS0"), 0, "%s", err);
	uint32_t addr = ram32(ZERO_PAGE + H_RAMDISK_IMAGE);
	cr_expect_eq(ram32(ZERO_PAGE + H_RAMDISK_SIZE), 0x12345u);
	cr_expect_eq(addr, (RAM_SIZE - 0x12345) & ~0xFFFu);
	cr_expect_eq(addr % 4096, 0u);
	for (uint32_t i = 0; i < 0x12345; i++)
		cr_assert_eq(ram[addr + i], (uint8_t)(i * 5 + 9), "initrd byte %#x", i);
	cr_expect_eq(ram[addr - 1], FILL, "nothing below the initrd");
	cr_expect_eq(ram[addr + 0x12345], FILL, "nothing between the initrd and the top");
	expect_guards_intact();
}

Test(loader_linux, initrd_of_whole_pages_ends_at_the_top)
{
	write_image(file_len);
	write_initrd(0x4000);
	cr_assert_eq(load_with_initrd(NULL), 0, "%s", err);
	cr_expect_eq(ram32(ZERO_PAGE + H_RAMDISK_IMAGE), RAM_SIZE - 0x4000);
	cr_expect_eq(ram[RAM_SIZE - 1], (uint8_t)(0x3FFF * 5 + 9));
	expect_guards_intact();
}

Test(loader_linux, initrd_stays_below_initrd_addr_max)
{
	/* initrd_addr_max is the highest byte the initrd may occupy. */
	put32(file + H_INITRD_MAX, 0x5FFFFF);
	write_image(file_len);
	write_initrd(0x2000);
	cr_assert_eq(load_with_initrd(NULL), 0, "%s", err);
	cr_expect_eq(ram32(ZERO_PAGE + H_RAMDISK_IMAGE), 0x600000u - 0x2000);
	put32(file + H_INITRD_MAX, 0x5FFFFE); /* one byte less: the page below */
	write_image(file_len);
	cr_assert_eq(load_with_initrd(NULL), 0, "%s", err);
	cr_expect_eq(ram32(ZERO_PAGE + H_RAMDISK_IMAGE), 0x600000u - 0x3000);
}

Test(loader_linux, initrd_just_above_the_decompression_area)
{
	/* Exactly the room between the end of init_size and the top of RAM. */
	write_image(file_len);
	write_initrd(RAM_SIZE - KERNEL_END);
	cr_assert_eq(load_with_initrd(NULL), 0, "%s", err);
	cr_expect_eq(ram32(ZERO_PAGE + H_RAMDISK_IMAGE), KERNEL_END);
	expect_guards_intact();
}

Test(loader_linux, initrd_overlapping_the_decompression_area)
{
	write_image(file_len);
	write_initrd(RAM_SIZE - KERNEL_END + 1);
	cr_expect_eq(load_with_initrd(NULL), -1);
	cr_expect_not_null(strstr(err, "does not fit"), "%s", err);
	cr_expect_not_null(strstr(err, initrd), "the message names the initrd: %s", err);
	cr_expect_eq(ram[HIGH], FILL, "nothing loaded");
	expect_guards_intact();
}

Test(loader_linux, initrd_below_the_kernel_is_refused)
{
	/* initrd_addr_max under the kernel's end leaves no place for it. */
	put32(file + H_INITRD_MAX, KERNEL_END - 1);
	write_image(file_len);
	write_initrd(0x1000);
	cr_expect_eq(load_with_initrd(NULL), -1);
	cr_expect_not_null(strstr(err, "does not fit"), "%s", err);
}

Test(loader_linux, initrd_larger_than_ram)
{
	write_image(file_len);
	cr_assert_eq(truncate(initrd, 3ull << 30), 0); /* sparse: 3 GiB */
	cr_expect_eq(load_with_initrd(NULL), -1);
	cr_expect_not_null(strstr(err, "does not fit"), "%s", err);
	expect_guards_intact();
}

Test(loader_linux, initrd_missing)
{
	write_image(file_len);
	unlink(initrd);
	cr_expect_eq(load_with_initrd(NULL), -1);
	cr_expect_not_null(strstr(err, "initrd"), "%s", err);
	cr_expect_not_null(strstr(err, "No such file"), "%s", err);
	cr_expect_eq(ram[HIGH], FILL);
}

Test(loader_linux, initrd_empty)
{
	write_image(file_len);
	cr_expect_eq(load_with_initrd(NULL), -1);
	cr_expect_not_null(strstr(err, "empty"), "%s", err);
}

Test(loader_linux, initrd_directory)
{
	write_image(file_len);
	cr_expect_eq(rt_load_linux(path, "/tmp", NULL, ram, RAM_SIZE, &boot, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "initrd /tmp is a directory"), "%s", err);
}

Test(loader_linux, setup_sects_zero_means_four)
{
	file[H_SETUP_SECTS] = 0;
	/* Move the protected-mode part from 4 * 512 to 5 * 512. */
	memmove(file + 5 * 512, file + PM_OFF, PM_BYTES);
	write_image(5 * 512 + PM_BYTES);
	cr_assert_eq(load(NULL), 0, "%s", err);
	cr_expect_arr_eq(ram + HIGH, file + 5 * 512, PM_BYTES);
	cr_expect_eq(ram[HIGH + PM_BYTES], FILL);
}

Test(loader_linux, bytes_past_syssize_are_loaded_too)
{
	/* Debian's kernel file is longer than syssize says (it carries more after the image);
	 * the loader takes the file to its end, as QEMU does. */
	put32(file + H_SYSSIZE, PM_BYTES / 16 - 0x20);
	write_image(file_len);
	cr_assert_eq(load(NULL), 0, "%s", err);
	cr_expect_arr_eq(ram + HIGH, file + PM_OFF, PM_BYTES);
}

Test(loader_linux, protocol_2_04_kernel)
{
	/* No kernel_alignment, cmdline_size, init_size: a 255-byte command line, and only
	 * the image itself has to fit. */
	put16(file + H_VERSION, 0x0204);
	file[H_JUMP + 1] = 0x230 - 0x202;
	put32(file + H_INIT_SIZE, 0xFFFFFFFF); /* not a field of 2.04: ignored */
	write_image(file_len);
	char line[257];
	memset(line, 'z', 256);
	line[256] = '\0';
	cr_expect_eq(load(line), -1);
	cr_expect_not_null(strstr(err, "at most 255"), "%s", err);
	line[255] = '\0';
	cr_assert_eq(load(line), 0, "%s", err);
	cr_expect_eq(zp8(0x230), 0, "bytes past a 2.04 header are not copied");
	cr_expect_eq(zp8(0x22F), file[0x22F], "initrd_addr_max is");
}

Test(loader_linux, non_relocatable_kernel_decompresses_at_pref_address)
{
	file[H_RELOCATABLE] = 0;
	put64(file + H_PREF_ADDRESS, 0x400000);
	put32(file + H_INIT_SIZE, RAM_SIZE - 0x400000);
	write_image(file_len);
	cr_expect_eq(load(NULL), 0, "%s", err);
	ram_refill();
	put32(file + H_INIT_SIZE, RAM_SIZE - 0x400000 + 1);
	expect_refused(file_len, "to decompress");
}

Test(loader_linux, relocatable_kernel_runs_at_its_alignment)
{
	/* Aligned to 4 MiB and no pref_address: the kernel runs from 4 MiB, not 1 MiB. */
	put32(file + H_KERNEL_ALIGN, 4 * MIB);
	put64(file + H_PREF_ADDRESS, 0);
	put32(file + H_INIT_SIZE, RAM_SIZE - 4 * MIB);
	write_image(file_len);
	cr_expect_eq(load(NULL), 0, "%s", err);
	ram_refill();
	put32(file + H_INIT_SIZE, RAM_SIZE - 4 * MIB + 0x1000);
	expect_refused(file_len, "to decompress");
}

Test(loader_linux, relocatable_kernel_never_below_pref_address)
{
	/* As head_32.S does: align_up(1 MiB, 1 MiB) is 1 MiB, but pref_address is 6 MiB. */
	put64(file + H_PREF_ADDRESS, 6 * MIB);
	put32(file + H_INIT_SIZE, 2 * MIB);
	write_image(file_len);
	cr_expect_eq(load(NULL), 0, "%s", err);
	ram_refill();
	put32(file + H_INIT_SIZE, 2 * MIB + 1);
	expect_refused(file_len, "to decompress");
}

Test(loader_linux, probe)
{
	cr_expect(rt_is_bzimage(file, file_len));
	cr_expect(rt_is_bzimage(file, 0x206));
	cr_expect_not(rt_is_bzimage(file, 0x205), "too short to hold the magic");
	cr_expect_not(rt_is_bzimage(NULL, 4096));
	static const uint8_t elf[0x300] = {0x7F, 'E', 'L', 'F', 1, 1, 1};
	cr_expect_not(rt_is_bzimage(elf, sizeof(elf)));
	file[H_MAGIC + 3] = 'x';
	cr_expect_not(rt_is_bzimage(file, file_len));
}

/* The real thing, when scripts/fetch-debian-guest.sh has fetched it (meson passes the cache
 * directory in BT86_GUESTS_CACHE). */
Test(loader_linux, debian_kernel_if_fetched)
{
	const char *cache = getenv("BT86_GUESTS_CACHE");
	char kernel[512], rd[512];
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", cache ? cache : "");
	snprintf(rd, sizeof(rd), "%s/initramfs.cpio.gz", cache ? cache : "");
	if (cache == NULL || access(kernel, R_OK) != 0)
		cr_skip_test("no Debian kernel in %s (scripts/fetch-debian-guest.sh)", kernel);
	bool have_rd = access(rd, R_OK) == 0;
	const uint64_t size = 128u * MIB;
	uint8_t *big = calloc(1, size);
	cr_assert_not_null(big);
	cr_assert_eq(rt_load_linux(kernel, have_rd ? rd : NULL, "console=ttyS0", big, size, &boot,
				   err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(boot.eip, HIGH);
	uint8_t *zp = big + boot.esi;
	uint16_t version;
	uint32_t init_size, rd_addr, rd_size;
	uint64_t pref;
	memcpy(&version, zp + H_VERSION, sizeof(version));
	memcpy(&init_size, zp + H_INIT_SIZE, sizeof(init_size));
	memcpy(&pref, zp + H_PREF_ADDRESS, sizeof(pref));
	memcpy(&rd_addr, zp + H_RAMDISK_IMAGE, sizeof(rd_addr));
	memcpy(&rd_size, zp + H_RAMDISK_SIZE, sizeof(rd_size));
	cr_expect_geq(version, 0x020F, "Debian 12's kernel speaks protocol 2.15");
	cr_expect_eq(zp[H_XLOADFLAGS] & 1, 0, "a 32-bit kernel");
	if (have_rd) {
		cr_expect_gt(rd_size, 0u);
		cr_expect_geq(rd_addr, pref + init_size, "initrd above the decompression area");
		cr_expect_eq((uint64_t)rd_addr + rd_size <= size, true);
		cr_expect_eq(big[rd_addr], 0x1F, "gzip magic");
		cr_expect_eq(big[rd_addr + 1], 0x8B, "gzip magic");
	}
	free(big);
}

/* ---- bad files ------------------------------------------------------------------------- */

Test(loader_linux, missing_file)
{
	unlink(path);
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "No such file"), "%s", err);
	cr_expect_not_null(strstr(err, path), "the message names the file: %s", err);
}

Test(loader_linux, unreadable_file)
{
	if (geteuid() == 0)
		cr_skip_test("root reads any file");
	write_image(file_len);
	chmod(path, 0);
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "Permission denied"), "%s", err);
}

Test(loader_linux, directory)
{
	cr_expect_eq(rt_load_linux("/tmp", NULL, NULL, ram, RAM_SIZE, &boot, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "directory"), "%s", err);
}

Test(loader_linux, fifo_is_refused_without_hanging)
{
	unlink(path);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "regular file"), "%s", err);
}

Test(loader_linux, empty_file)
{
	expect_refused(0, "empty");
}

Test(loader_linux, too_small)
{
	expect_refused(0x205, "too small");
	expect_refused(100, "too small");
}

Test(loader_linux, random_bytes)
{
	uint32_t x = 4321;
	for (size_t i = 0; i < 4096; i++) {
		x = x * 1103515245u + 12345u;
		file[i] = (uint8_t)(x >> 16);
	}
	expect_refused(4096, "not a bzImage");
}

Test(loader_linux, protocol_too_old)
{
	put16(file + H_VERSION, 0x0203);
	expect_refused(file_len, "2.03 is too old");
}

Test(loader_linux, zimage)
{
	file[H_LOADFLAGS] = 0x00;
	expect_refused(file_len, "zImage");
}

Test(loader_linux, x86_64_kernel)
{
	put16(file + H_XLOADFLAGS, 0x0003);
	expect_refused(file_len, "64-bit");
}

Test(loader_linux, xloadflags_are_not_read_before_2_12)
{
	put16(file + H_VERSION, 0x020B);
	put16(file + H_XLOADFLAGS, 0x0001);
	write_image(file_len);
	cr_expect_eq(load(NULL), 0, "%s", err);
}

Test(loader_linux, no_jump_before_the_magic)
{
	file[H_JUMP] = 0x90;
	expect_refused(file_len, "no jump");
}

Test(loader_linux, header_shorter_than_its_version)
{
	file[H_JUMP + 1] = 0x260 - 0x202; /* 2.10+ has init_size up to 0x264 */
	expect_refused(file_len, "setup header ends at 0x260");
}

Test(loader_linux, header_with_a_backward_jump)
{
	file[H_JUMP + 1] = 0xFE;
	expect_refused(file_len, "setup header ends at");
}

Test(loader_linux, truncated_inside_the_header)
{
	expect_refused(0x250, "truncated inside the Linux setup header");
}

Test(loader_linux, truncated_inside_the_setup_sectors)
{
	expect_refused(PM_OFF, "truncated");
	expect_refused(PM_OFF - 100, "truncated");
}

Test(loader_linux, setup_sects_beyond_the_file)
{
	file[H_SETUP_SECTS] = 0xFF; /* 128 KiB of setup in a 14 KiB file */
	expect_refused(file_len, "truncated");
}

Test(loader_linux, syssize_beyond_the_file)
{
	put32(file + H_SYSSIZE, PM_BYTES / 16 + 1);
	expect_refused(file_len, "syssize");
}

Test(loader_linux, syssize_huge)
{
	put32(file + H_SYSSIZE, 0xFFFFFFFF); /* 64 GiB in paragraphs: no 32-bit wrap */
	expect_refused(file_len, "syssize");
}

Test(loader_linux, syssize_zero)
{
	put32(file + H_SYSSIZE, 0);
	expect_refused(file_len, "syssize 0");
}

Test(loader_linux, kernel_larger_than_ram)
{
	/* A 9 MiB (sparse) kernel for 8 MiB of RAM: refused before anything is read. */
	write_image(file_len);
	cr_assert_eq(truncate(path, 9 * MIB), 0);
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "does not fit in guest RAM"), "%s", err);
	cr_expect_eq(ram[HIGH], FILL);
	expect_guards_intact();
}

Test(loader_linux, init_size_beyond_ram)
{
	put32(file + H_INIT_SIZE, RAM_SIZE - HIGH + 1);
	expect_refused(file_len, "to decompress");
}

Test(loader_linux, init_size_huge)
{
	put32(file + H_INIT_SIZE, 0xFFFFFFFF);
	expect_refused(file_len, "to decompress");
}

Test(loader_linux, pref_address_beyond_4_gib)
{
	file[H_RELOCATABLE] = 0;
	put64(file + H_PREF_ADDRESS, 0xFFFFFFFFFFFFF000ull); /* start + init_size would wrap */
	expect_refused(file_len, "to decompress");
}

Test(loader_linux, kernel_alignment_not_a_power_of_two)
{
	put32(file + H_KERNEL_ALIGN, 0x300000);
	expect_refused(file_len, "power of two");
	put32(file + H_KERNEL_ALIGN, 0);
	expect_refused(file_len, "power of two");
}

Test(loader_linux, ram_too_small_or_too_large)
{
	write_image(file_len);
	cr_expect_eq(rt_load_linux(path, NULL, NULL, ram, MIB, &boot, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "1 MiB"), "%s", err);
	/* Refused before RAM is touched, so the small buffer is safe. */
	cr_expect_eq(
	    rt_load_linux(path, NULL, NULL, ram, (4ull << 30) + 4096, &boot, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "4 GiB"), "%s", err);
	expect_guards_intact();
}

Test(loader_linux, null_arguments)
{
	write_image(file_len);
	cr_expect_eq(rt_load_linux(NULL, NULL, NULL, ram, RAM_SIZE, &boot, err, sizeof(err)), -1);
	cr_expect_eq(rt_load_linux(path, NULL, NULL, NULL, RAM_SIZE, &boot, err, sizeof(err)), -1);
	cr_expect_eq(rt_load_linux(path, NULL, NULL, ram, RAM_SIZE, NULL, err, sizeof(err)), -1);
	cr_expect_eq(rt_load_linux(path, NULL, NULL, ram, RAM_SIZE, &boot, NULL, 0), 0,
		     "no error buffer is fine when nothing fails");
	unlink(path);
	cr_expect_eq(rt_load_linux(path, NULL, NULL, ram, RAM_SIZE, &boot, NULL, 0), -1);
}

Test(loader_linux, tiny_error_buffer_is_respected)
{
	char small[8];
	memset(small, 'Z', sizeof(small));
	unlink(path);
	cr_expect_eq(rt_load_linux(path, NULL, NULL, ram, RAM_SIZE, &boot, small, 4), -1);
	cr_expect_eq(small[3], '\0');
	cr_expect_eq(small[4], 'Z', "nothing written past err_len");
}

/* Mutate header bytes at random: whatever comes out, the loader answers 0 or -1 with a
 * message, and stays inside guest RAM. Run under ASan too. */
Test(loader_linux, mutated_headers_never_escape)
{
	uint32_t x = 7;
	int accepted = 0, refused = 0;
	for (int round = 0; round < 3000; round++) {
		image_default();
		int flips = 1 + round % 4;
		for (int f = 0; f < flips; f++) {
			x = x * 1103515245u + 12345u;
			size_t at = 0x1F0 + (x >> 8) % (HDR_END - 0x1F0); /* the header */
			x = x * 1103515245u + 12345u;
			file[at] = (uint8_t)(x >> 16);
		}
		x = x * 1103515245u + 12345u;
		size_t len = (round % 7 == 0) ? (x >> 8) % FILE_BYTES : FILE_BYTES;
		write_image(len);
		x = x * 1103515245u + 12345u;
		bool with_initrd = round % 3 == 0;
		if (with_initrd)
			write_initrd(1 + (x >> 8) % 0x20000);
		err[0] = '\0';
		int rc = rt_load_linux(path, with_initrd ? initrd : NULL, "fuzz", ram, RAM_SIZE,
				       &boot, err, sizeof(err));
		cr_assert(rc == 0 || rc == -1, "round %d: rc %d", round, rc);
		if (rc == -1) {
			cr_assert_neq(err[0], '\0', "round %d: no message", round);
			refused++;
		} else {
			cr_assert_eq(boot.eip, HIGH, "round %d", round);
			uint32_t rd = ram32(ZERO_PAGE + H_RAMDISK_IMAGE);
			uint32_t rd_size = ram32(ZERO_PAGE + H_RAMDISK_SIZE);
			cr_assert_leq((uint64_t)rd + rd_size, RAM_SIZE, "round %d", round);
			accepted++;
		}
		expect_guards_intact();
	}
	/* Both paths must have been taken for this to test anything. */
	cr_expect_gt(accepted, 100, "accepted %d", accepted);
	cr_expect_gt(refused, 100, "refused %d", refused);
}
