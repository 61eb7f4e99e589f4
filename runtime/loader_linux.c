/* loader_linux.c — load a Linux bzImage by the 32-bit boot protocol, as kexec or an EFI stub
 * loader does (Documentation/x86/boot.rst, "32-bit Boot Protocol").
 *
 * No BIOS and no real-mode code run: the kernel's setup code (the first setup_sects + 1
 * sectors of the file) is not loaded. The loader does what that code would have done for the
 * protected-mode kernel instead: it builds struct boot_params (the "zero page") from the
 * file's setup header plus what the firmware would have told setup — the e820 memory map, the
 * memory sizes, a screen_info that says there is no VGA text console — and enters the
 * protected-mode part at 1 MiB in flat 32-bit mode with ESI pointing at the zero page.
 *
 * Guest-physical layout (the protocol's suggested layout for protocol >= 2.02 with the
 * real-mode base X = 0x10000, as QEMU's -kernel uses; everything below 1 MiB stays under the
 * EBDA at 0x9FC00, which the e820 map reserves):
 *
 *   0x010000  zero page (4 KiB)   where setup code would sit; the kernel copies it out at once
 *   0x011000  boot GDT (32 bytes) null, null, __BOOT_CS = 0x10, __BOOT_DS = 0x18
 *   0x020000  command line        X + 0x10000, above where setup's stack/heap would end
 *   0x100000  protected-mode kernel, file offset (setup_sects + 1) * 512 to the end of file
 *   ...       the kernel decompresses itself into [runtime start, runtime start + init_size)
 *   top       initrd: as high as initrd_addr_max and RAM allow, page aligned, above all that
 *
 * The kernel file and the initrd are untrusted input: every size and address is checked in
 * 64-bit arithmetic against the file and guest RAM before a single byte of guest RAM is
 * written. A bad file gives -1 and one line in err saying what is wrong with it.
 *
 * Protocol 2.04 is the oldest accepted: it is the first whose syssize is 32 bits wide, so the
 * header can say how big the protected-mode kernel is. Fields that came later are read only
 * when the version has them: kernel_alignment and relocatable_kernel (2.05), cmdline_size
 * (2.06, else 255), xloadflags (2.12), pref_address and init_size (2.10; without them only the
 * loaded image itself is checked against RAM).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/loader_file.h"
#include "runtime/runtime.h"

/* The setup header in the kernel file, and at the same offsets in the zero page. */
#define RT_LX_HDR_START		 0x1F1u /* setup_sects: the copied header starts here */
#define RT_LX_OFF_SETUP_SECTS	 0x1F1u
#define RT_LX_OFF_SYSSIZE	 0x1F4u
#define RT_LX_OFF_JUMP		 0x200u /* 0xEB, then the header's length less 2 */
#define RT_LX_OFF_MAGIC		 0x202u
#define RT_LX_OFF_VERSION	 0x206u
#define RT_LX_OFF_TYPE_OF_LOADER 0x210u
#define RT_LX_OFF_LOADFLAGS	 0x211u
#define RT_LX_OFF_CODE32_START	 0x214u
#define RT_LX_OFF_RAMDISK_IMAGE	 0x218u
#define RT_LX_OFF_RAMDISK_SIZE	 0x21Cu
#define RT_LX_OFF_HEAP_END_PTR	 0x224u
#define RT_LX_OFF_CMD_LINE_PTR	 0x228u
#define RT_LX_OFF_SETUP_DATA	 0x250u /* 2.09+ */
#define RT_LX_OFF_INITRD_MAX	 0x22Cu /* 2.03+ */
#define RT_LX_OFF_KERNEL_ALIGN	 0x230u /* 2.05+ */
#define RT_LX_OFF_RELOCATABLE	 0x234u /* 2.05+ */
#define RT_LX_OFF_XLOADFLAGS	 0x236u /* 2.12+ */
#define RT_LX_OFF_CMDLINE_SIZE	 0x238u /* 2.06+ */
#define RT_LX_OFF_PREF_ADDRESS	 0x258u /* 2.10+ */
#define RT_LX_OFF_INIT_SIZE	 0x260u /* 2.10+ */

#define RT_LX_MAGIC		  0x53726448u /* "HdrS" */
#define RT_LX_JUMP_OPCODE	  0xEBu
#define RT_LX_MIN_VERSION	  0x0204u
#define RT_LX_SECTOR		  512u
#define RT_LX_DEFAULT_SETUP_SECTS 4u	/* what setup_sects == 0 means */
#define RT_LX_OLD_CMDLINE_MAX	  255u	/* before 2.06 */
#define RT_LX_HEAD_BYTES	  1024u /* the boot sector and the first setup sector */

#define RT_LX_LOADED_HIGH      (1u << 0) /* loadflags: protected-mode code goes at 1 MiB */
#define RT_LX_XLF_KERNEL_64    (1u << 0) /* xloadflags: a 64-bit kernel */
#define RT_LX_LOADER_UNDEFINED 0xFFu	 /* type_of_loader: no assigned boot loader id */

/* The rest of struct boot_params (Documentation/x86/zero-page.rst). */
#define RT_LX_ZP_BYTES		 4096u
#define RT_LX_ZP_EXT_MEM_K	 0x002u /* screen_info.ext_mem_k, u16 */
#define RT_LX_ZP_SCREEN_INFO_END 0x040u
#define RT_LX_ZP_ALT_MEM_K	 0x1E0u
#define RT_LX_ZP_E820_ENTRIES	 0x1E8u
#define RT_LX_ZP_SENTINEL	 0x1EFu /* must stay 0: the header copy starts after it */
#define RT_LX_ZP_HDR_LIMIT	 0x290u /* edd_mbr_sig_buffer: the header ends before this */
#define RT_LX_ZP_E820_TABLE	 0x2D0u
#define RT_LX_E820_MAX		 128u
#define RT_LX_E820_RAM		 1u
#define RT_LX_E820_RESERVED	 2u

/* Guest-physical layout; see the overview. */
#define RT_LX_ZERO_PAGE	     0x10000u
#define RT_LX_GDT	     0x11000u
#define RT_LX_CMDLINE	     0x20000u
#define RT_LX_LOW_END	     0x9FC00u /* EBDA: nothing of ours goes at or above it */
#define RT_LX_EBDA_START     0x9FC00u
#define RT_LX_VGA_START	     0xA0000u
#define RT_LX_BIOS_ROM_START 0xF0000u
#define RT_LX_HIGH_START     0x100000u /* 1 MiB: where a bzImage's protected-mode part goes */
#define RT_LX_PAGE	     0x1000u
#define RT_LX_MAX_RAM	     (UINT64_C(1) << 32)
#define RT_LX_EXT_MEM_K_MAX  0xFC00u /* INT 15h AX=88h: 63 MiB at most, as SeaBIOS says */

/* The boot GDT: __BOOT_CS (0x10) flat 4 GiB execute/read, __BOOT_DS (0x18) flat 4 GiB
 * read/write, both 32-bit, page granular, present, DPL 0. The accessed bits are set already,
 * so loading a selector does not need to write the descriptor. */
#define RT_LX_GDT_CODE	  UINT64_C(0x00CF9B000000FFFF)
#define RT_LX_GDT_DATA	  UINT64_C(0x00CF93000000FFFF)
#define RT_LX_GDT_ENTRIES 4u

/* One e820 entry as the zero page holds it. */
struct rt_lx_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct rt_lx_e820_entry) == 20, "boot_e820_entry layout");

enum {
	RT_LX_E820_COUNT = 4,
};
_Static_assert(RT_LX_ZP_E820_TABLE + RT_LX_E820_MAX * sizeof(struct rt_lx_e820_entry) <= 0xD00,
	       "e820 table inside the zero page");
_Static_assert(RT_LX_ZERO_PAGE + RT_LX_ZP_BYTES <= RT_LX_GDT, "zero page below the GDT");
_Static_assert(RT_LX_GDT + RT_LX_GDT_ENTRIES * 8 <= RT_LX_CMDLINE, "GDT below the command line");
_Static_assert(RT_LX_CMDLINE < RT_LX_LOW_END, "command line below the EBDA");

/* What the load is working on; err/err_len are the caller's buffer. */
struct rt_lx_load {
	const char *path;
	const char *initrd_path;
	int fd;
	int initrd_fd;
	uint64_t file_size;
	uint8_t *ram;
	uint64_t ram_size;
	char *err;
	size_t err_len;
	uint8_t head[RT_LX_HEAD_BYTES]; /* the first bytes of the file */
	size_t head_len;
	/* From the setup header. */
	uint16_t version;
	uint32_t header_end; /* file offset just past the setup header */
	uint64_t pm_offset;  /* file offset of the protected-mode kernel */
	uint64_t pm_bytes;
	uint32_t cmdline_max; /* longest command line the kernel takes, without the NUL */
	uint32_t initrd_addr_max;
	/* The plan. */
	uint64_t kernel_end; /* end of the loaded image or of the decompression area */
	uint64_t initrd_size;
	uint64_t initrd_addr;
};

/* Fail with a formatted one-line reason in ld->err. Always -1. */
#define rt_lx_fail(ld, ...) rt_load_fail((ld)->err, (ld)->err_len, __VA_ARGS__)

bool rt_is_bzimage(const uint8_t *head, size_t len)
{
	return head != NULL && len >= RT_LX_OFF_MAGIC + 4 &&
	       rt_le32(head + RT_LX_OFF_MAGIC) == RT_LX_MAGIC;
}

/* The setup-header fields a version must have, as the end of the last one this loader reads. */
static uint32_t rt_lx_header_needed(uint16_t version)
{
	if (version >= 0x020A)
		return RT_LX_OFF_INIT_SIZE + 4;
	if (version >= 0x0206)
		return RT_LX_OFF_CMDLINE_SIZE + 4;
	if (version >= 0x0205)
		return RT_LX_OFF_RELOCATABLE + 1;
	return RT_LX_OFF_INITRD_MAX + 4;
}

/* Read the first bytes and check the setup header: magic, version, length, bzImage, 32-bit,
 * and that the protected-mode part is all there. */
static int rt_lx_check_header(struct rt_lx_load *ld)
{
	if (rt_load_open(ld->err, ld->err_len, "kernel", ld->path, &ld->fd, &ld->file_size) < 0)
		return -1;
	ld->head_len = ld->file_size < RT_LX_HEAD_BYTES ? (size_t)ld->file_size : RT_LX_HEAD_BYTES;
	if (rt_load_read(ld->err, ld->err_len, ld->fd, ld->path, ld->head, ld->head_len, 0) < 0)
		return -1;
	const uint8_t *h = ld->head;
	if (ld->head_len < RT_LX_OFF_VERSION + 2)
		return rt_lx_fail(ld, "%s: file of %zu bytes is too small for a Linux kernel",
				  ld->path, ld->head_len);
	if (!rt_is_bzimage(h, ld->head_len))
		return rt_lx_fail(ld,
				  "%s: no Linux boot header (\"HdrS\" at offset 0x202); not a "
				  "bzImage",
				  ld->path);
	ld->version = rt_le16(h + RT_LX_OFF_VERSION);
	if (ld->version < RT_LX_MIN_VERSION)
		return rt_lx_fail(ld,
				  "%s: Linux boot protocol %u.%02u is too old; bt86 needs 2.04 or "
				  "later (kernel 2.6.14 on)",
				  ld->path, ld->version >> 8, ld->version & 0xFF);
	if (h[RT_LX_OFF_JUMP] != RT_LX_JUMP_OPCODE)
		return rt_lx_fail(
		    ld,
		    "%s: Linux setup header has no jump at offset 0x200 (byte 0x%02x, "
		    "expected 0xeb), so its length is unknown",
		    ld->path, h[RT_LX_OFF_JUMP]);
	/* The jump's target is the first byte after the header; a signed 8-bit offset. */
	int8_t jump = (int8_t)h[RT_LX_OFF_JUMP + 1];
	uint32_t needed = rt_lx_header_needed(ld->version);
	if (jump < 0 || RT_LX_OFF_MAGIC + (uint32_t)jump < needed)
		return rt_lx_fail(ld,
				  "%s: Linux setup header ends at 0x%x, but protocol %u.%02u "
				  "defines fields up to 0x%" PRIx32,
				  ld->path, RT_LX_OFF_MAGIC + jump, ld->version >> 8,
				  ld->version & 0xFF, needed);
	ld->header_end = RT_LX_OFF_MAGIC + (uint32_t)jump;
	_Static_assert(RT_LX_OFF_MAGIC + 127 <= RT_LX_ZP_HDR_LIMIT, "header fits the zero page");
	_Static_assert(RT_LX_OFF_MAGIC + 127 <= RT_LX_HEAD_BYTES, "header fits the head buffer");
	if (ld->head_len < ld->header_end)
		return rt_lx_fail(ld, "%s: file is truncated inside the Linux setup header",
				  ld->path);

	if (!(h[RT_LX_OFF_LOADFLAGS] & RT_LX_LOADED_HIGH))
		return rt_lx_fail(ld,
				  "%s: is a zImage (LOADED_HIGH clear in loadflags); bt86 loads "
				  "bzImage kernels only",
				  ld->path);
	if (ld->version >= 0x020C && (rt_le16(h + RT_LX_OFF_XLOADFLAGS) & RT_LX_XLF_KERNEL_64))
		return rt_lx_fail(ld, "%s: is a 64-bit (x86-64) kernel; bt86 runs 32-bit kernels",
				  ld->path);

	uint32_t setup_sects = h[RT_LX_OFF_SETUP_SECTS];
	if (setup_sects == 0)
		setup_sects = RT_LX_DEFAULT_SETUP_SECTS;
	ld->pm_offset = (uint64_t)(setup_sects + 1) * RT_LX_SECTOR;
	if (ld->file_size <= ld->pm_offset)
		return rt_lx_fail(ld,
				  "%s: file is truncated: it has 0x%" PRIx64 " bytes, and the "
				  "protected-mode kernel would start at 0x%" PRIx64,
				  ld->path, ld->file_size, ld->pm_offset);
	ld->pm_bytes = ld->file_size - ld->pm_offset;
	uint64_t syssize = (uint64_t)rt_le32(h + RT_LX_OFF_SYSSIZE) * 16;
	if (syssize == 0)
		return rt_lx_fail(ld,
				  "%s: Linux setup header gives no protected-mode kernel size "
				  "(syssize 0)",
				  ld->path);
	if (syssize > ld->pm_bytes)
		return rt_lx_fail(ld,
				  "%s: file is truncated: syssize says 0x%" PRIx64 " bytes of "
				  "protected-mode kernel, the file has 0x%" PRIx64,
				  ld->path, syssize, ld->pm_bytes);
	return 0;
}

/* Where the kernel will decompress itself and how far that reaches: the protocol's "runtime
 * start" (align_up(load address, kernel_alignment) when relocatable, else pref_address) plus
 * init_size. A 32-bit kernel never decompresses below pref_address (its LOAD_PHYSICAL_ADDR:
 * arch/x86/boot/compressed/head_32.S clamps there), so neither does this estimate. */
static int rt_lx_plan_kernel(struct rt_lx_load *ld)
{
	const uint8_t *h = ld->head;
	uint64_t load_end = RT_LX_HIGH_START + ld->pm_bytes;
	if (load_end > ld->ram_size)
		return rt_lx_fail(ld,
				  "%s: kernel of 0x%" PRIx64
				  " bytes at 1 MiB does not fit in guest "
				  "RAM (0x%" PRIx64 " bytes)",
				  ld->path, ld->pm_bytes, ld->ram_size);
	ld->kernel_end = load_end;
	if (ld->version < 0x020A)
		return 0; /* no init_size: the kernel alone knows what it needs */

	bool relocatable = h[RT_LX_OFF_RELOCATABLE] != 0;
	uint32_t align = rt_le32(h + RT_LX_OFF_KERNEL_ALIGN);
	uint64_t pref = rt_le64(h + RT_LX_OFF_PREF_ADDRESS);
	uint32_t init_size = rt_le32(h + RT_LX_OFF_INIT_SIZE);
	uint64_t start;
	if (relocatable) {
		if (align == 0 || (align & (align - 1)) != 0)
			return rt_lx_fail(
			    ld, "%s: kernel_alignment 0x%" PRIx32 " is not a power of two",
			    ld->path, align);
		start = ((uint64_t)RT_LX_HIGH_START + align - 1) & ~((uint64_t)align - 1);
		if (pref > start)
			start = pref;
	} else {
		start = pref != 0 ? pref : RT_LX_HIGH_START;
	}
	/* pref_address is 64 bits wide: compare before adding. */
	if (start > ld->ram_size || init_size > ld->ram_size - start)
		return rt_lx_fail(ld,
				  "%s: kernel needs 0x%" PRIx32
				  " bytes of guest RAM from 0x%" PRIx64
				  " to decompress (init_size), RAM ends at 0x%" PRIx64,
				  ld->path, init_size, start, ld->ram_size);
	uint64_t need_end = start + init_size;
	if (need_end > ld->kernel_end)
		ld->kernel_end = need_end;
	return 0;
}

static int rt_lx_check_cmdline(struct rt_lx_load *ld, const char *cmdline)
{
	ld->cmdline_max = ld->version >= 0x0206 ? rt_le32(ld->head + RT_LX_OFF_CMDLINE_SIZE)
						: RT_LX_OLD_CMDLINE_MAX;
	size_t len = strlen(cmdline);
	if (len > ld->cmdline_max)
		return rt_lx_fail(ld, "kernel command line is %zu bytes; %s takes at most %" PRIu32,
				  len, ld->path, ld->cmdline_max);
	if (len + 1 > RT_LX_LOW_END - RT_LX_CMDLINE)
		return rt_lx_fail(ld,
				  "kernel command line is %zu bytes; at most %u fit below the "
				  "EBDA",
				  len, RT_LX_LOW_END - RT_LX_CMDLINE - 1);
	return 0;
}

/* Place the initrd as high as both initrd_addr_max and RAM allow, page aligned, and above the
 * kernel and its decompression area. */
static int rt_lx_plan_initrd(struct rt_lx_load *ld)
{
	if (ld->initrd_path == NULL)
		return 0;
	if (rt_load_open(ld->err, ld->err_len, "initrd", ld->initrd_path, &ld->initrd_fd,
			 &ld->initrd_size) < 0)
		return -1;
	ld->initrd_addr_max = rt_le32(ld->head + RT_LX_OFF_INITRD_MAX);
	uint64_t top = (uint64_t)ld->initrd_addr_max + 1; /* it is the highest byte's address */
	if (top > ld->ram_size)
		top = ld->ram_size;
	if (ld->initrd_size > top ||
	    ((top - ld->initrd_size) & ~(uint64_t)(RT_LX_PAGE - 1)) < ld->kernel_end)
		return rt_lx_fail(ld,
				  "initrd %s (0x%" PRIx64 " bytes) does not fit between the kernel "
				  "(up to 0x%" PRIx64 ") and 0x%" PRIx64
				  " (guest RAM, initrd_addr_max)",
				  ld->initrd_path, ld->initrd_size, ld->kernel_end, top);
	ld->initrd_addr = (top - ld->initrd_size) & ~(uint64_t)(RT_LX_PAGE - 1);
	return 0;
}

/* Build the zero page: zeros, the file's setup header, the fields a boot loader writes, and
 * what the BIOS would have reported through setup. */
static void rt_lx_write_zero_page(struct rt_lx_load *ld)
{
	uint8_t *zp = ld->ram + RT_LX_ZERO_PAGE;
	memset(zp, 0, RT_LX_ZP_BYTES);
	/* From setup_sects on; the sentinel byte before it stays 0, which tells the kernel
	 * that this loader cleared the rest of the page (it zeroes fields itself otherwise). */
	memcpy(zp + RT_LX_HDR_START, ld->head + RT_LX_HDR_START, ld->header_end - RT_LX_HDR_START);

	zp[RT_LX_OFF_TYPE_OF_LOADER] = RT_LX_LOADER_UNDEFINED;
	/* Loaded high, and nothing else: no QUIET_FLAG, no KEEP_SEGMENTS, and no CAN_USE_HEAP
	 * since no setup code runs that would use a heap (heap_end_ptr stays 0). */
	zp[RT_LX_OFF_LOADFLAGS] = RT_LX_LOADED_HIGH;
	rt_put_le16(zp + RT_LX_OFF_HEAP_END_PTR, 0);
	rt_put_le32(zp + RT_LX_OFF_CODE32_START, RT_LX_HIGH_START);
	rt_put_le32(zp + RT_LX_OFF_RAMDISK_IMAGE, (uint32_t)ld->initrd_addr);
	rt_put_le32(zp + RT_LX_OFF_RAMDISK_SIZE, (uint32_t)ld->initrd_size);
	rt_put_le32(zp + RT_LX_OFF_CMD_LINE_PTR, RT_LX_CMDLINE);
	if (ld->version >= 0x0209)
		rt_put_le64(zp + RT_LX_OFF_SETUP_DATA, 0); /* no setup_data list to pass */

	/* screen_info stays zero but for ext_mem_k: video mode, lines and columns all 0 is
	 * how the decompressor and vgacon learn that there is no VGA text screen, so the
	 * console is the one the command line names. */
	uint64_t ext_kib = (ld->ram_size - RT_LX_HIGH_START) / 1024;
	rt_put_le16(zp + RT_LX_ZP_EXT_MEM_K,
		    (uint16_t)(ext_kib < RT_LX_EXT_MEM_K_MAX ? ext_kib : RT_LX_EXT_MEM_K_MAX));
	rt_put_le32(zp + RT_LX_ZP_ALT_MEM_K, (uint32_t)ext_kib);

	const struct rt_lx_e820_entry map[RT_LX_E820_COUNT] = {
	    {0, RT_LX_EBDA_START, RT_LX_E820_RAM},
	    {RT_LX_EBDA_START, RT_LX_VGA_START - RT_LX_EBDA_START, RT_LX_E820_RESERVED},
	    {RT_LX_BIOS_ROM_START, RT_LX_HIGH_START - RT_LX_BIOS_ROM_START, RT_LX_E820_RESERVED},
	    {RT_LX_HIGH_START, ld->ram_size - RT_LX_HIGH_START, RT_LX_E820_RAM},
	};
	zp[RT_LX_ZP_E820_ENTRIES] = RT_LX_E820_COUNT;
	for (unsigned i = 0; i < RT_LX_E820_COUNT; i++) {
		uint8_t *e = zp + RT_LX_ZP_E820_TABLE + i * sizeof(struct rt_lx_e820_entry);
		rt_put_le64(e, map[i].addr);
		rt_put_le64(e + 8, map[i].size);
		rt_put_le32(e + 16, map[i].type);
	}
}

static void rt_lx_write_gdt(struct rt_lx_load *ld, struct rt_linux_boot *boot)
{
	const uint64_t gdt[RT_LX_GDT_ENTRIES] = {0, 0, RT_LX_GDT_CODE, RT_LX_GDT_DATA};
	for (unsigned i = 0; i < RT_LX_GDT_ENTRIES; i++)
		rt_put_le64(ld->ram + RT_LX_GDT + 8 * i, gdt[i]);
	boot->gdt_base = RT_LX_GDT;
	boot->gdt_limit = RT_LX_GDT_ENTRIES * 8 - 1;
}

static int rt_lx_load_file(struct rt_lx_load *ld, const char *cmdline, struct rt_linux_boot *boot)
{
	if (cmdline == NULL)
		cmdline = ""; /* cmd_line_ptr must point at a string all the same */
	if (rt_lx_check_header(ld) < 0 || rt_lx_plan_kernel(ld) < 0 ||
	    rt_lx_check_cmdline(ld, cmdline) < 0 || rt_lx_plan_initrd(ld) < 0)
		return -1;

	/* Everything is checked: now write guest RAM. */
	if (rt_load_read(ld->err, ld->err_len, ld->fd, ld->path, ld->ram + RT_LX_HIGH_START,
			 ld->pm_bytes, ld->pm_offset) < 0)
		return -1;
	if (ld->initrd_path != NULL &&
	    rt_load_read(ld->err, ld->err_len, ld->initrd_fd, ld->initrd_path,
			 ld->ram + ld->initrd_addr, ld->initrd_size, 0) < 0)
		return -1;
	rt_lx_write_zero_page(ld);
	memcpy(ld->ram + RT_LX_CMDLINE, cmdline, strlen(cmdline) + 1);
	rt_lx_write_gdt(ld, boot);
	boot->eip = RT_LX_HIGH_START;
	boot->esi = RT_LX_ZERO_PAGE;
	return 0;
}

int rt_load_linux(const char *bzimage_path, const char *initrd_path, const char *cmdline,
		  uint8_t *ram, uint64_t ram_size, struct rt_linux_boot *boot, char *err,
		  size_t err_len)
{
	if (err != NULL && err_len > 0)
		err[0] = '\0';
	struct rt_lx_load *ld = calloc(1, sizeof(*ld));
	if (ld == NULL) {
		if (err != NULL && err_len > 0)
			snprintf(err, err_len, "loader: %s", strerror(ENOMEM));
		return -1;
	}
	ld->path = bzimage_path;
	ld->initrd_path = initrd_path;
	ld->fd = -1;
	ld->initrd_fd = -1;
	ld->ram = ram;
	ld->ram_size = ram_size;
	ld->err = err;
	ld->err_len = err_len;
	int rc;
	if (bzimage_path == NULL || ram == NULL || boot == NULL)
		rc = rt_lx_fail(ld, "loader: no kernel path, guest RAM or boot state given");
	else if (ram_size <= RT_LX_HIGH_START || ram_size > RT_LX_MAX_RAM)
		rc = rt_lx_fail(ld,
				"guest RAM of %" PRIu64 " bytes is not supported: a Linux kernel "
				"needs more than 1 MiB and at most 4 GiB",
				ram_size);
	else
		rc = rt_lx_load_file(ld, cmdline, boot);
	if (ld->fd >= 0)
		close(ld->fd);
	if (ld->initrd_fd >= 0)
		close(ld->initrd_fd);
	free(ld);
	return rc;
}
