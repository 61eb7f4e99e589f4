/* test_loader.c — rt_load_multiboot() on kernels the test builds itself, good and bad.
 *
 * Each kernel is a struct test_image (ELF header, program headers, then a body holding the
 * multiboot header and some code bytes) written to a temporary file, sometimes cut short or
 * mutated first. Guest RAM is a heap buffer with guard zones on both sides that must never
 * change, pre-filled with 0xAA so that what the loader wrote (and zeroed) shows.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define MB_MAGIC   0x1BADB002u
#define BOOT_MAGIC 0x2BADB002u
#define MIB	   (1024u * 1024u)
#define RAM_SIZE   (4u * MIB)
#define GUARD	   4096u
#define FILL	   0xAA
#define LOAD_ADDR  0x100000u
#define BODY_OFF   0x100u /* file offset of the body */
#define CODE_BYTES 0x200u
#define MEM_BYTES  0x1000u

/* The file layout of a test kernel. */
struct test_image {
	Elf32_Ehdr eh;
	Elf32_Phdr ph[2];
	uint8_t pad[BODY_OFF - sizeof(Elf32_Ehdr) - 2 * sizeof(Elf32_Phdr)];
	uint32_t mb[8]; /* magic, flags, checksum, then the a.out kludge fields */
	uint8_t code[CODE_BYTES - 8 * sizeof(uint32_t)];
};
_Static_assert(offsetof(struct test_image, mb) == BODY_OFF, "test image layout");
_Static_assert(sizeof(struct test_image) == BODY_OFF + CODE_BYTES, "test image layout");

static struct test_image img;
static char path[64];
static uint8_t *ram_block; /* GUARD + RAM_SIZE + GUARD */
static uint8_t *ram;
static struct rt_boot_state boot;
static char err[256];

static void image_set_checksum(void)
{
	img.mb[2] = 0u - MB_MAGIC - img.mb[1];
}

/* A valid kernel: one PT_LOAD of CODE_BYTES from BODY_OFF, MEM_BYTES in memory at
 * LOAD_ADDR, multiboot header at its start, entry just after the header. */
static void image_default(void)
{
	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS32;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_machine = EM_386;
	img.eh.e_version = EV_CURRENT;
	img.eh.e_entry = LOAD_ADDR + 0x20;
	img.eh.e_phoff = sizeof(Elf32_Ehdr);
	img.eh.e_ehsize = sizeof(Elf32_Ehdr);
	img.eh.e_phentsize = sizeof(Elf32_Phdr);
	img.eh.e_phnum = 1;
	img.ph[0] = (Elf32_Phdr){
	    .p_type = PT_LOAD,
	    .p_offset = BODY_OFF,
	    .p_vaddr = LOAD_ADDR,
	    .p_paddr = LOAD_ADDR,
	    .p_filesz = CODE_BYTES,
	    .p_memsz = MEM_BYTES,
	    .p_flags = PF_R | PF_W | PF_X,
	    .p_align = 0x1000,
	};
	img.mb[0] = MB_MAGIC;
	img.mb[1] = 0x00000003; /* page-align modules, memory info */
	image_set_checksum();
	for (size_t i = 0; i < sizeof(img.code); i++)
		img.code[i] = (uint8_t)(i * 7 + 1);
}

static void write_file(const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_image(size_t len)
{
	write_file(&img, len);
}

static void setup(void)
{
	strcpy(path, "/tmp/bt86-test-loader-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	close(fd);
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
	free(ram_block);
}

static void expect_guards_intact(void)
{
	for (size_t i = 0; i < GUARD; i++) {
		if (ram_block[i] != FILL || ram[RAM_SIZE + i] != FILL)
			cr_assert_fail("guard byte %zu changed: the loader wrote outside guest RAM",
				       i);
	}
}

static int load(const char *append)
{
	return rt_load_multiboot(path, append, ram, RAM_SIZE, &boot, err, sizeof(err));
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

/* Load the current image expecting failure with a message containing word. */
static void expect_refused(size_t len, const char *word)
{
	write_image(len);
	int rc = load("x");
	cr_expect_eq(rc, -1, "loader accepted a bad kernel (expected: %s)", word);
	cr_expect_neq(err[0], '\0', "no message");
	cr_expect_not_null(strstr(err, word), "message \"%s\" lacks \"%s\"", err, word);
	cr_expect_null(strchr(err, '\n'), "message must be one line: \"%s\"", err);
	expect_guards_intact();
}

TestSuite(loader, .init = setup, .fini = teardown);

/* ---- good kernels ---------------------------------------------------------------------- */

Test(loader, valid_kernel_lands_at_paddr_with_bss_zeroed)
{
	write_image(sizeof(img));
	cr_assert_eq(load("console=ttyS0 quiet"), 0, "%s", err);
	cr_expect_eq(err[0], '\0');
	cr_expect_eq(boot.eax, BOOT_MAGIC);
	cr_expect_eq(boot.eip, LOAD_ADDR + 0x20);
	cr_expect_arr_eq(ram + LOAD_ADDR, img.mb, sizeof(img.mb));
	cr_expect_arr_eq(ram + LOAD_ADDR + sizeof(img.mb), img.code, sizeof(img.code));
	for (uint32_t a = LOAD_ADDR + CODE_BYTES; a < LOAD_ADDR + MEM_BYTES; a++)
		cr_assert_eq(ram[a], 0, "bss byte at %#x not zeroed", a);
	cr_expect_eq(ram[LOAD_ADDR - 1], FILL, "nothing written below the segment");
	cr_expect_eq(ram[0], FILL);
	expect_guards_intact();
}

Test(loader, multiboot_information)
{
	write_image(sizeof(img));
	cr_assert_eq(load("console=ttyS0 quiet"), 0, "%s", err);
	uint32_t mbi = boot.ebx;
	cr_expect_eq(mbi, LOAD_ADDR + MEM_BYTES, "first page after the kernel");
	cr_expect_eq(ram32(mbi + 0), 0x245u, "flags: mem, cmdline, mmap, loader name");
	cr_expect_eq(ram32(mbi + 4), 639u, "mem_lower");
	cr_expect_eq(ram32(mbi + 8), (RAM_SIZE - MIB) / 1024, "mem_upper");
	cr_expect_eq(ram32(mbi + 20), 0u, "mods_count");

	uint32_t cmdline = ram32(mbi + 16);
	cr_assert_lt(cmdline, RAM_SIZE);
	char want[128];
	snprintf(want, sizeof(want), "%s console=ttyS0 quiet", path);
	cr_expect_str_eq((const char *)ram + cmdline, want);

	uint32_t name = ram32(mbi + 64);
	cr_assert_lt(name, RAM_SIZE);
	cr_expect_str_eq((const char *)ram + name, "bt86");

	static const struct {
		uint64_t base, length;
		uint32_t type;
	} map[] = {
	    {0, 0x9FC00, 1},
	    {0x9FC00, 0x400, 2},
	    {0xF0000, 0x10000, 2},
	    {0x100000, RAM_SIZE - 0x100000, 1},
	};
	uint32_t len = ram32(mbi + 44), addr = ram32(mbi + 48);
	cr_assert_eq(len, 4 * 24, "mmap_length");
	cr_assert_lt(addr, RAM_SIZE);
	for (unsigned i = 0; i < 4; i++) {
		uint32_t e = addr + i * 24;
		cr_expect_eq(ram32(e), 20u, "entry %u size", i);
		cr_expect_eq(ram64(e + 4), map[i].base, "entry %u base", i);
		cr_expect_eq(ram64(e + 12), map[i].length, "entry %u length", i);
		cr_expect_eq(ram32(e + 20), map[i].type, "entry %u type", i);
	}
	/* Every MBI piece lies in RAM above the kernel and below the end of RAM. */
	cr_expect_geq(addr, mbi);
	cr_expect_geq(cmdline, mbi);
	cr_expect_geq(name, mbi);
	expect_guards_intact();
}

Test(loader, command_line_without_append_is_path_and_a_space_as_qemu)
{
	write_image(sizeof(img));
	cr_assert_eq(load(NULL), 0, "%s", err);
	char want[80];
	snprintf(want, sizeof(want), "%s ", path);
	cr_expect_str_eq((const char *)ram + ram32(boot.ebx + 16), want);
}

Test(loader, mbi_is_page_aligned_after_the_highest_segment)
{
	img.eh.e_phnum = 2;
	img.ph[0].p_memsz = 0x1234;
	/* A second segment below the first, from the same bytes. */
	img.ph[1] = img.ph[0];
	img.ph[1].p_paddr = img.ph[1].p_vaddr = 0x8000;
	img.ph[1].p_memsz = 0x3000;
	write_image(sizeof(img));
	cr_assert_eq(load(""), 0, "%s", err);
	cr_expect_eq(boot.ebx, 0x102000u);
	cr_expect_arr_eq(ram + 0x8000, img.mb, sizeof(img.mb), "second segment loaded");
	cr_expect_eq(ram[0x8000 + 0x2FFF], 0, "second segment's bss zeroed");
}

Test(loader, higher_half_entry_is_translated_to_its_physical_address)
{
	img.ph[0].p_vaddr = 0xC0000000u + LOAD_ADDR;
	img.eh.e_entry = 0xC0000000u + LOAD_ADDR + 0x20;
	write_image(sizeof(img));
	cr_assert_eq(load(NULL), 0, "%s", err);
	cr_expect_eq(boot.eip, LOAD_ADDR + 0x20);
}

Test(loader, zero_sized_segments_are_skipped)
{
	img.eh.e_phnum = 2;
	img.ph[1] = img.ph[0];
	img.ph[1].p_paddr = 0xFFFFF000u; /* would be outside RAM if it occupied anything */
	img.ph[1].p_filesz = img.ph[1].p_memsz = 0;
	write_image(sizeof(img));
	cr_expect_eq(load(NULL), 0, "%s", err);
}

Test(loader, video_flag_is_ignored_and_optional_bits_are_too)
{
	img.mb[1] = 0x00000007 | 0x00FE0000; /* bit 2, and bits 17-23 (not 16) */
	image_set_checksum();
	write_image(sizeof(img));
	cr_expect_eq(load(NULL), 0, "%s", err);
}

Test(loader, segment_anywhere_in_ram_is_allowed_including_the_bios_hole)
{
	img.ph[0].p_paddr = img.ph[0].p_vaddr = 0xA0000;
	img.eh.e_entry = 0xA0020;
	write_image(sizeof(img));
	cr_expect_eq(load(NULL), 0, "%s", err);
	cr_expect_eq(boot.eip, 0xA0020u);
}

/* The a.out kludge: a flat binary whose header gives the addresses. */
static void image_flat(uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	memset(&img, 0, sizeof(img));
	uint8_t *flat = (uint8_t *)&img;
	uint32_t hdr[8] = {MB_MAGIC,  0x00010003, 0,	   LOAD_ADDR + 0x40,
			   LOAD_ADDR, load_end,	  bss_end, entry};
	hdr[2] = 0u - MB_MAGIC - hdr[1];
	for (size_t i = 0; i < sizeof(img); i++)
		flat[i] = (uint8_t)(i * 13 + 5);
	memcpy(flat + 0x40, hdr, sizeof(hdr)); /* header 0x40 bytes into the file */
}

Test(loader, aout_kludge_loads_a_flat_binary)
{
	image_flat(0, LOAD_ADDR + 0x3000, LOAD_ADDR + 0x60);
	write_image(sizeof(img));
	cr_assert_eq(load("a"), 0, "%s", err);
	cr_expect_eq(boot.eip, LOAD_ADDR + 0x60);
	cr_expect_eq(boot.eax, BOOT_MAGIC);
	cr_expect_arr_eq(ram + LOAD_ADDR, &img, sizeof(img), "the whole file from offset 0");
	for (uint32_t a = LOAD_ADDR + sizeof(img); a < LOAD_ADDR + 0x3000; a++)
		cr_assert_eq(ram[a], 0, "bss byte at %#x not zeroed", a);
	cr_expect_eq(boot.ebx, LOAD_ADDR + 0x3000);
	expect_guards_intact();
}

Test(loader, aout_kludge_with_load_end)
{
	image_flat(LOAD_ADDR + 0x100, 0, LOAD_ADDR + 0x60);
	write_image(sizeof(img));
	cr_assert_eq(load(NULL), 0, "%s", err);
	cr_expect_arr_eq(ram + LOAD_ADDR, &img, 0x100);
	cr_expect_eq(ram[LOAD_ADDR + 0x100], FILL, "nothing past load_end_addr");
	cr_expect_eq(boot.ebx, LOAD_ADDR + 0x1000);
}

/* ---- bad files ------------------------------------------------------------------------- */

Test(loader, missing_file)
{
	unlink(path);
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "No such file"), "%s", err);
	cr_expect_not_null(strstr(err, path), "the message names the file: %s", err);
}

Test(loader, unreadable_file)
{
	if (geteuid() == 0)
		cr_skip_test("root reads any file");
	write_image(sizeof(img));
	chmod(path, 0);
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "Permission denied"), "%s", err);
}

Test(loader, directory)
{
	cr_expect_eq(rt_load_multiboot("/tmp", NULL, ram, RAM_SIZE, &boot, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "directory"), "%s", err);
}

Test(loader, fifo_is_refused_without_hanging)
{
	unlink(path);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "regular file"), "%s", err);
}

Test(loader, empty_file)
{
	expect_refused(0, "empty");
}

Test(loader, random_bytes)
{
	uint8_t junk[3000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (uint8_t)(x >> 16);
	}
	write_file(junk, sizeof(junk));
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "not an ELF"), "%s", err);
}

Test(loader, elf64)
{
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	expect_refused(sizeof(img), "64-bit");
}

Test(loader, big_endian)
{
	img.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	expect_refused(sizeof(img), "little-endian");
}

Test(loader, not_i386)
{
	img.eh.e_machine = EM_X86_64;
	expect_refused(sizeof(img), "i386");
}

Test(loader, relocatable_object)
{
	img.eh.e_type = ET_REL;
	expect_refused(sizeof(img), "not an executable");
}

Test(loader, shared_object)
{
	img.eh.e_type = ET_DYN;
	expect_refused(sizeof(img), "not an executable");
}

Test(loader, truncated_inside_the_elf_header)
{
	expect_refused(30, "truncated");
}

Test(loader, truncated_program_headers)
{
	expect_refused(sizeof(Elf32_Ehdr) + 10, "truncated");
}

Test(loader, program_headers_beyond_the_file)
{
	img.eh.e_phoff = 0xFFFFFFF0u;
	expect_refused(sizeof(img), "truncated");
}

Test(loader, truncated_segment_data)
{
	expect_refused(sizeof(img) - 1, "truncated");
}

Test(loader, segment_offset_wrapping)
{
	img.ph[0].p_offset = 0xFFFFFF00u;
	expect_refused(sizeof(img), "truncated");
}

Test(loader, no_program_headers)
{
	img.eh.e_phnum = 0;
	expect_refused(sizeof(img), "program headers");
}

Test(loader, wrong_program_header_size)
{
	img.eh.e_phentsize = 40;
	expect_refused(sizeof(img), "program header size");
}

Test(loader, no_loadable_segment)
{
	img.ph[0].p_type = PT_NOTE;
	expect_refused(sizeof(img), "no loadable segment");
}

Test(loader, filesz_larger_than_memsz)
{
	img.ph[0].p_memsz = CODE_BYTES - 1;
	expect_refused(sizeof(img), "memory size");
}

Test(loader, segment_past_the_end_of_ram)
{
	img.ph[0].p_paddr = RAM_SIZE - 0x100;
	expect_refused(sizeof(img), "outside guest RAM");
}

Test(loader, segment_wrapping_past_4_gib)
{
	img.ph[0].p_paddr = 0xFFFFF000u;
	img.ph[0].p_memsz = 0x2000;
	expect_refused(sizeof(img), "outside guest RAM");
}

Test(loader, entry_outside_every_segment)
{
	img.eh.e_entry = 0x200000;
	expect_refused(sizeof(img), "entry point");
}

Test(loader, no_multiboot_header)
{
	img.mb[0] = 0;
	expect_refused(sizeof(img), "no multiboot header");
}

Test(loader, bad_checksum)
{
	img.mb[2] += 1;
	expect_refused(sizeof(img), "checksum");
}

Test(loader, header_not_4_byte_aligned)
{
	/* Shift the header by two bytes: the loader must not find it. */
	uint32_t mb[3];
	memcpy(mb, img.mb, sizeof(mb));
	memset(img.mb, 0, sizeof(mb));
	memcpy((uint8_t *)img.mb + 2, mb, sizeof(mb));
	expect_refused(sizeof(img), "no multiboot header");
}

Test(loader, header_beyond_the_first_8192_bytes)
{
	/* A file of 8192 + 12 bytes whose only header starts at 8192. */
	size_t len = 8192 + 12;
	uint8_t *file = calloc(1, len);
	cr_assert_not_null(file);
	img.ph[0].p_filesz = (uint32_t)(len - BODY_OFF);
	img.ph[0].p_memsz = 0x3000;
	memcpy(file, &img, BODY_OFF);
	memcpy(file + 8192, img.mb, 12);
	write_file(file, len);
	free(file);
	cr_expect_eq(load(NULL), -1);
	cr_expect_not_null(strstr(err, "no multiboot header"), "%s", err);
}

Test(loader, unsupported_required_flag)
{
	for (unsigned bit = 3; bit < 16; bit++) {
		image_default();
		img.mb[1] = 0x3u | (1u << bit);
		image_set_checksum();
		expect_refused(sizeof(img), "unsupported");
	}
}

Test(loader, file_larger_than_ram)
{
	/* A 3 MiB (sparse) file for 2 MiB of RAM: refused before anything is read. */
	write_image(sizeof(img));
	cr_assert_eq(truncate(path, 3 * MIB), 0);
	cr_expect_eq(rt_load_multiboot(path, NULL, ram, 2 * MIB, &boot, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "larger than guest RAM"), "%s", err);
	expect_guards_intact();
}

Test(loader, no_room_for_the_mbi)
{
	img.ph[0].p_paddr = img.ph[0].p_vaddr = RAM_SIZE - MEM_BYTES;
	img.eh.e_entry = RAM_SIZE - MEM_BYTES + 0x20;
	expect_refused(sizeof(img), "no room");
	cr_expect_eq(ram[RAM_SIZE - MEM_BYTES], FILL, "nothing loaded when the MBI cannot fit");
}

Test(loader, ram_too_small)
{
	write_image(sizeof(img));
	cr_expect_eq(rt_load_multiboot(path, NULL, ram, MIB, &boot, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "1 MiB"), "%s", err);
}

Test(loader, null_arguments)
{
	cr_expect_eq(rt_load_multiboot(NULL, NULL, ram, RAM_SIZE, &boot, err, sizeof(err)), -1);
	cr_expect_eq(rt_load_multiboot(path, NULL, NULL, RAM_SIZE, &boot, err, sizeof(err)), -1);
	cr_expect_eq(rt_load_multiboot(path, NULL, ram, RAM_SIZE, NULL, err, sizeof(err)), -1);
	cr_expect_eq(rt_load_multiboot(path, NULL, ram, RAM_SIZE, &boot, NULL, 0), -1);
}

Test(loader, tiny_error_buffer_is_respected)
{
	char small[8];
	memset(small, 'Z', sizeof(small));
	unlink(path);
	cr_expect_eq(rt_load_multiboot(path, NULL, ram, RAM_SIZE, &boot, small, 4), -1);
	cr_expect_eq(small[3], '\0');
	cr_expect_eq(small[4], 'Z', "nothing written past err_len");
}

Test(loader, aout_header_addr_below_load_addr)
{
	image_flat(0, 0, LOAD_ADDR + 0x60);
	uint32_t *hdr = (uint32_t *)((uint8_t *)&img + 0x40);
	hdr[4] = hdr[3] + 4; /* load_addr above header_addr */
	expect_refused(sizeof(img), "header_addr");
}

Test(loader, aout_load_addr_before_the_file)
{
	image_flat(0, 0, LOAD_ADDR + 0x60);
	uint32_t *hdr = (uint32_t *)((uint8_t *)&img + 0x40);
	hdr[4] = hdr[3] - 0x1000; /* would start 0x1000 bytes before the header's offset 0x40 */
	hdr[7] = hdr[4] + 0x10;
	expect_refused(sizeof(img), "header_addr");
}

Test(loader, aout_load_end_below_load_addr)
{
	image_flat(LOAD_ADDR - 1, 0, LOAD_ADDR + 0x60);
	expect_refused(sizeof(img), "load_end_addr");
}

Test(loader, aout_load_end_past_the_file)
{
	image_flat(LOAD_ADDR + sizeof(img) + 1, 0, LOAD_ADDR + 0x60);
	expect_refused(sizeof(img), "truncated");
}

Test(loader, aout_bss_end_below_load_end)
{
	image_flat(LOAD_ADDR + 0x100, LOAD_ADDR + 0x80, LOAD_ADDR + 0x60);
	expect_refused(sizeof(img), "bss_end_addr");
}

Test(loader, aout_outside_ram)
{
	image_flat(0, 0xFFFFFFF0u, LOAD_ADDR + 0x60);
	expect_refused(sizeof(img), "outside guest RAM");
}

Test(loader, aout_entry_outside_the_image)
{
	image_flat(0, 0, LOAD_ADDR + 0x10000);
	expect_refused(sizeof(img), "entry point");
}

Test(loader, aout_with_unsupported_flag)
{
	image_flat(0, 0, LOAD_ADDR + 0x60);
	uint32_t *hdr = (uint32_t *)((uint8_t *)&img + 0x40);
	hdr[1] |= 1u << 5;
	hdr[2] = 0u - MB_MAGIC - hdr[1];
	expect_refused(sizeof(img), "unsupported");
}

/* Mutate header bytes at random: whatever comes out, the loader answers 0 or -1 with a
 * message, and stays inside guest RAM. Run under ASan too. */
Test(loader, mutated_headers_never_escape)
{
	uint32_t x = 1;
	int accepted = 0, refused = 0;
	for (int round = 0; round < 3000; round++) {
		image_default();
		if (round % 3 == 0)
			image_flat(0, LOAD_ADDR + 0x3000, LOAD_ADDR + 0x60);
		uint8_t *bytes = (uint8_t *)&img;
		int flips = 1 + round % 4;
		for (int f = 0; f < flips; f++) {
			x = x * 1103515245u + 12345u;
			/* Mostly the ELF and program headers and the multiboot header. */
			size_t at = (x >> 8) % (BODY_OFF + 0x60);
			x = x * 1103515245u + 12345u;
			bytes[at] = (uint8_t)(x >> 16);
		}
		if (round % 5 == 0) {
			/* keep the checksum right so the flags and kludge fields get exercised */
			if (round % 3 == 0) {
				uint32_t *hdr = (uint32_t *)(bytes + 0x40);
				hdr[0] = MB_MAGIC;
				hdr[2] = 0u - MB_MAGIC - hdr[1];
			} else {
				img.mb[0] = MB_MAGIC;
				image_set_checksum();
			}
		}
		x = x * 1103515245u + 12345u;
		size_t len = (round % 7 == 0) ? (x >> 8) % sizeof(img) : sizeof(img);
		write_image(len);
		err[0] = '\0';
		int rc = load("fuzz");
		cr_assert(rc == 0 || rc == -1, "round %d: rc %d", round, rc);
		if (rc == -1) {
			cr_assert_neq(err[0], '\0', "round %d: no message", round);
			refused++;
		} else {
			cr_assert_lt(boot.ebx, RAM_SIZE, "round %d", round);
			accepted++;
		}
		expect_guards_intact();
	}
	/* Both paths must have been taken for this to test anything. */
	cr_expect_gt(accepted, 100, "accepted %d", accepted);
	cr_expect_gt(refused, 100, "refused %d", refused);
}
