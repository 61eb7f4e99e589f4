/* loader_multiboot.c — load a multiboot (v1) kernel into guest RAM, as GRUB or QEMU -kernel do.
 *
 * The kernel file is untrusted input: every size and offset in it is checked against the file
 * size and the guest RAM size, in 64-bit arithmetic so that 32-bit sums cannot wrap, before a
 * single byte of guest RAM is written. A bad file gives -1 and one line in err saying what is
 * wrong with it.
 *
 * Steps: open and stat the file; read its first 8192 bytes and find the multiboot header there;
 * if the header carries load addresses (the "a.out kludge", flag bit 16) load by those, as GRUB
 * and QEMU do even for ELF files; otherwise check the ELF header ourselves, read the program
 * headers with libelf and load each PT_LOAD segment at its physical address. Then build the
 * multiboot information structure (MBI) on the first page boundary after the kernel: memory
 * sizes, a memory map, the command line and the boot loader name.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/loader_file.h"
#include "runtime/runtime.h"

/* Multiboot header (in the kernel file). */
#define RT_MB_HEADER_MAGIC   0x1BADB002u
#define RT_MB_SEARCH_BYTES   8192u	/* the header must lie wholly within these */
#define RT_MB_HEADER_BYTES   12u	/* magic, flags, checksum */
#define RT_MB_AOUT_BYTES     32u	/* ... header_addr, load_addr, load_end, bss_end, entry */
#define RT_MB_FLAG_ALIGN     (1u << 0)	/* page-align modules: we load none */
#define RT_MB_FLAG_MEMINFO   (1u << 1)	/* wants mem_* and the memory map: always given */
#define RT_MB_FLAG_VIDEO     (1u << 2)	/* wants a video mode: ignored, there is no framebuffer */
#define RT_MB_FLAG_AOUT	     (1u << 16) /* load addresses are in the header */
#define RT_MB_FLAGS_REQUIRED 0xFFFFu	/* bits 0-15: a loader must refuse what it lacks */
#define RT_MB_FLAGS_KNOWN    (RT_MB_FLAG_ALIGN | RT_MB_FLAG_MEMINFO | RT_MB_FLAG_VIDEO)

/* Machine state at entry and the information structure. */
#define RT_MB_BOOT_MAGIC     0x2BADB002u
#define RT_MBI_FLAG_MEM	     (1u << 0)
#define RT_MBI_FLAG_CMDLINE  (1u << 2)
#define RT_MBI_FLAG_MMAP     (1u << 6)
#define RT_MBI_FLAG_LOADER   (1u << 9)
#define RT_MBI_AREA_BYTES    128u /* room for the whole v1 structure, framebuffer fields too */
#define RT_MB_LOADER_NAME    "bt86"
#define RT_MB_MMAP_AVAILABLE 1u
#define RT_MB_MMAP_RESERVED  2u

/* The PC memory layout the memory map describes. */
#define RT_MB_PAGE	     0x1000u
#define RT_MB_EBDA_START     0x9FC00u /* top 1 KiB of conventional memory: BIOS data */
#define RT_MB_VGA_START	     0xA0000u
#define RT_MB_BIOS_ROM_START 0xF0000u
#define RT_MB_HIGH_START     0x100000u /* 1 MiB */
#define RT_MB_MEM_LOWER_KIB  639u      /* RT_MB_EBDA_START / 1024 */
#define RT_MB_MAX_RAM	     (UINT64_C(1) << 32)

/* The multiboot information structure, v1 (0.6.96), up to the VBE fields. It is copied into
 * guest RAM as bytes, which is right because host and guest are both little-endian x86. */
struct rt_mb_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
};
_Static_assert(offsetof(struct rt_mb_info, cmdline) == 16, "multiboot info layout");
_Static_assert(offsetof(struct rt_mb_info, mmap_length) == 44, "multiboot info layout");
_Static_assert(offsetof(struct rt_mb_info, boot_loader_name) == 64, "multiboot info layout");
_Static_assert(sizeof(struct rt_mb_info) == 88, "multiboot info layout");
_Static_assert(sizeof(struct rt_mb_info) <= RT_MBI_AREA_BYTES, "multiboot info area");

/* One memory map entry; size counts the bytes after itself (20), as the spec says. */
struct rt_mb_mmap_entry {
	uint32_t size;
	uint64_t base_addr;
	uint64_t length;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct rt_mb_mmap_entry) == 24, "multiboot mmap entry layout");

enum {
	RT_MB_MMAP_ENTRIES = 4,
};

/* A region of guest RAM to fill from the file: [addr, addr + file_bytes) from file_offset,
 * then zeros up to addr + mem_bytes. */
struct rt_mb_segment {
	uint32_t addr;
	uint32_t file_offset;
	uint64_t file_bytes;
	uint64_t mem_bytes;
};

enum {
	RT_MB_MAX_SEGMENTS = 64, /* far more than any kernel has; bounds the work on bad input */
};

/* What the load is working on; err/err_len are the caller's buffer. */
struct rt_mb_load {
	const char *path;
	int fd;
	uint64_t file_size;
	uint8_t *ram;
	uint64_t ram_size;
	char *err;
	size_t err_len;
	uint8_t head[RT_MB_SEARCH_BYTES]; /* the first bytes of the file */
	size_t head_len;
	struct rt_mb_segment segments[RT_MB_MAX_SEGMENTS];
	unsigned segment_count;
	uint32_t entry;
};

/* Fail with a formatted one-line reason in ld->err. Always -1. */
#define rt_mb_fail(ld, ...) rt_load_fail((ld)->err, (ld)->err_len, __VA_ARGS__)

/* Read exactly len bytes at offset of the kernel. */
static int rt_mb_pread_all(struct rt_mb_load *ld, void *buf, uint64_t len, uint64_t offset)
{
	return rt_load_read(ld->err, ld->err_len, ld->fd, ld->path, buf, len, offset);
}

static int rt_mb_open(struct rt_mb_load *ld)
{
	if (rt_load_open(ld->err, ld->err_len, "kernel", ld->path, &ld->fd, &ld->file_size) < 0)
		return -1;
	if (ld->file_size > ld->ram_size)
		return rt_mb_fail(ld,
				  "kernel %s is larger than guest RAM (%" PRIu64
				  " bytes, RAM %" PRIu64 " bytes)",
				  ld->path, ld->file_size, ld->ram_size);
	ld->head_len =
	    ld->file_size < RT_MB_SEARCH_BYTES ? (size_t)ld->file_size : RT_MB_SEARCH_BYTES;
	return rt_mb_pread_all(ld, ld->head, ld->head_len, 0);
}

/* Find the multiboot header: 4-byte aligned, wholly within the first 8192 bytes, magic plus
 * flags plus checksum zero. Returns its offset, or -1 if there is none. */
static int64_t rt_mb_find_header(const struct rt_mb_load *ld)
{
	for (size_t off = 0; off + RT_MB_HEADER_BYTES <= ld->head_len; off += 4) {
		const uint8_t *h = ld->head + off;
		if (rt_le32(h) == RT_MB_HEADER_MAGIC &&
		    (uint32_t)(RT_MB_HEADER_MAGIC + rt_le32(h + 4) + rt_le32(h + 8)) == 0)
			return (int64_t)off;
	}
	return -1;
}

/* Say why there is no header: a magic with a wrong checksum is the likelier mistake. */
static int rt_mb_fail_no_header(struct rt_mb_load *ld)
{
	for (size_t off = 0; off + RT_MB_HEADER_BYTES <= ld->head_len; off += 4) {
		if (rt_le32(ld->head + off) == RT_MB_HEADER_MAGIC)
			return rt_mb_fail(ld,
					  "%s: multiboot header at offset 0x%zx has a bad checksum",
					  ld->path, off);
	}
	return rt_mb_fail(ld,
			  "%s: no multiboot header (magic 0x1BADB002) in the first 8192 bytes; "
			  "not a multiboot kernel",
			  ld->path);
}

static int rt_mb_check_flags(struct rt_mb_load *ld, uint32_t flags)
{
	uint32_t unknown = flags & RT_MB_FLAGS_REQUIRED & ~RT_MB_FLAGS_KNOWN;
	if (unknown != 0)
		return rt_mb_fail(ld,
				  "%s: multiboot header requires features bt86 does not support "
				  "(flags 0x%08" PRIx32 ", unsupported bits 0x%04" PRIx32 ")",
				  ld->path, flags, unknown);
	return 0;
}

/* [addr, addr + bytes) must lie in guest RAM; 64-bit sums cannot wrap here. */
static bool rt_mb_in_ram(const struct rt_mb_load *ld, uint64_t addr, uint64_t bytes)
{
	return addr <= ld->ram_size && bytes <= ld->ram_size - addr;
}

/* The header says where the image goes (flag bit 16): header_addr is where the header itself
 * lands, which fixes the file offset of load_addr. */
static int rt_mb_plan_aout(struct rt_mb_load *ld, size_t header_off)
{
	if (header_off + RT_MB_AOUT_BYTES > ld->head_len)
		return rt_mb_fail(ld,
				  "%s: multiboot header with load addresses (flag 16) is "
				  "truncated: it must lie within the first 8192 bytes",
				  ld->path);
	const uint8_t *h = ld->head + header_off;
	uint32_t header_addr = rt_le32(h + 12);
	uint32_t load_addr = rt_le32(h + 16);
	uint32_t load_end_addr = rt_le32(h + 20);
	uint32_t bss_end_addr = rt_le32(h + 24);
	uint32_t entry_addr = rt_le32(h + 28);

	if (load_addr > header_addr || header_addr - load_addr > header_off)
		return rt_mb_fail(ld,
				  "%s: multiboot header_addr 0x%" PRIx32 " and load_addr 0x%" PRIx32
				  " do not match the header's place in the file",
				  ld->path, header_addr, load_addr);
	uint64_t file_offset = header_off - (header_addr - load_addr);
	uint64_t file_bytes;
	if (load_end_addr == 0) {
		file_bytes = ld->file_size - file_offset; /* load to the end of the file */
	} else {
		if (load_end_addr < load_addr)
			return rt_mb_fail(ld,
					  "%s: multiboot load_end_addr 0x%" PRIx32
					  " is below load_addr 0x%" PRIx32,
					  ld->path, load_end_addr, load_addr);
		file_bytes = load_end_addr - load_addr;
		if (file_offset + file_bytes > ld->file_size)
			return rt_mb_fail(
			    ld,
			    "%s: file is truncated: the multiboot header loads 0x%" PRIx64
			    " bytes from offset 0x%" PRIx64 ", the file has 0x%" PRIx64,
			    ld->path, file_bytes, file_offset, ld->file_size);
	}
	uint64_t mem_bytes = file_bytes;
	if (bss_end_addr != 0) {
		if (bss_end_addr < load_addr + file_bytes)
			return rt_mb_fail(ld,
					  "%s: multiboot bss_end_addr 0x%" PRIx32
					  " is below the end of the loaded image",
					  ld->path, bss_end_addr);
		mem_bytes = bss_end_addr - load_addr;
	}
	if (!rt_mb_in_ram(ld, load_addr, mem_bytes))
		return rt_mb_fail(ld,
				  "%s: image [0x%" PRIx32 ", 0x%" PRIx64 ") lies outside guest RAM "
				  "(0x%" PRIx64 " bytes)",
				  ld->path, load_addr, (uint64_t)load_addr + mem_bytes,
				  ld->ram_size);
	if (entry_addr < load_addr || entry_addr - load_addr >= mem_bytes)
		return rt_mb_fail(ld,
				  "%s: entry point 0x%" PRIx32 " is not inside the loaded image",
				  ld->path, entry_addr);
	ld->segments[0] = (struct rt_mb_segment){
	    .addr = load_addr,
	    .file_offset = (uint32_t)file_offset,
	    .file_bytes = file_bytes,
	    .mem_bytes = mem_bytes,
	};
	ld->segment_count = 1;
	ld->entry = entry_addr;
	return 0;
}

/* Check the ELF header ourselves, before libelf sees the file, so that each way it can be
 * wrong gets its own message. Host and guest are both little-endian, so reading the header
 * with memcpy is right once EI_DATA says little-endian. */
static int rt_mb_check_elf_header(struct rt_mb_load *ld, Elf32_Ehdr *eh)
{
	const uint8_t *id = ld->head;
	if (ld->head_len < SELFMAG || memcmp(id, ELFMAG, SELFMAG) != 0)
		return rt_mb_fail(ld,
				  "%s: not an ELF file (and no multiboot header with load "
				  "addresses)",
				  ld->path);
	if (ld->head_len < EI_NIDENT)
		return rt_mb_fail(ld, "%s: ELF file is truncated inside its header", ld->path);
	if (id[EI_CLASS] == ELFCLASS64)
		return rt_mb_fail(ld,
				  "%s: is a 64-bit ELF file; bt86 runs 32-bit (ELF32 i386) "
				  "kernels",
				  ld->path);
	if (id[EI_CLASS] != ELFCLASS32)
		return rt_mb_fail(ld, "%s: unknown ELF class %u", ld->path, id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB)
		return rt_mb_fail(ld, "%s: ELF file is not little-endian; i386 kernels are",
				  ld->path);
	if (ld->head_len < sizeof(*eh))
		return rt_mb_fail(ld, "%s: ELF file is truncated inside its header", ld->path);
	memcpy(eh, ld->head, sizeof(*eh));
	if (id[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return rt_mb_fail(ld, "%s: unknown ELF version", ld->path);
	if (eh->e_machine != EM_386)
		return rt_mb_fail(ld, "%s: ELF file is for machine %u, not i386", ld->path,
				  eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return rt_mb_fail(ld,
				  "%s: ELF file is not an executable (type %u%s); link the "
				  "kernel first",
				  ld->path, eh->e_type,
				  eh->e_type == ET_REL	 ? ", relocatable object"
				  : eh->e_type == ET_DYN ? ", shared object or PIE"
							 : "");
	if (eh->e_phnum == 0)
		return rt_mb_fail(ld, "%s: ELF file has no program headers", ld->path);
	if (eh->e_phnum >= PN_XNUM)
		return rt_mb_fail(ld, "%s: ELF file has too many program headers", ld->path);
	if (eh->e_phentsize != sizeof(Elf32_Phdr))
		return rt_mb_fail(ld, "%s: ELF program header size %u, expected %zu", ld->path,
				  eh->e_phentsize, sizeof(Elf32_Phdr));
	uint64_t ph_end = (uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf32_Phdr);
	if (ph_end > ld->file_size)
		return rt_mb_fail(ld,
				  "%s: file is truncated: program headers end at 0x%" PRIx64
				  ", the file has 0x%" PRIx64 " bytes",
				  ld->path, ph_end, ld->file_size);
	return 0;
}

/* Check one PT_LOAD segment and add it to the plan. */
static int rt_mb_plan_segment(struct rt_mb_load *ld, unsigned index, const Elf32_Phdr *ph)
{
	if (ph->p_filesz > ph->p_memsz)
		return rt_mb_fail(ld,
				  "%s: segment %u has file size 0x%" PRIx32
				  " larger than its memory size 0x%" PRIx32,
				  ld->path, index, ph->p_filesz, ph->p_memsz);
	if (ph->p_memsz == 0)
		return 0; /* occupies nothing; linkers do emit these */
	if ((uint64_t)ph->p_offset + ph->p_filesz > ld->file_size)
		return rt_mb_fail(ld,
				  "%s: file is truncated: segment %u needs bytes up to 0x%" PRIx64
				  ", the file has 0x%" PRIx64,
				  ld->path, index, (uint64_t)ph->p_offset + ph->p_filesz,
				  ld->file_size);
	/* Anywhere in RAM is allowed, as GRUB allows it, the low 1 MiB included. */
	if (!rt_mb_in_ram(ld, ph->p_paddr, ph->p_memsz))
		return rt_mb_fail(ld,
				  "%s: segment %u [0x%" PRIx32 ", 0x%" PRIx64
				  ") lies outside guest RAM (0x%" PRIx64 " bytes)",
				  ld->path, index, ph->p_paddr, (uint64_t)ph->p_paddr + ph->p_memsz,
				  ld->ram_size);
	if (ld->segment_count == RT_MB_MAX_SEGMENTS)
		return rt_mb_fail(ld, "%s: more than %d loadable segments", ld->path,
				  RT_MB_MAX_SEGMENTS);
	ld->segments[ld->segment_count++] = (struct rt_mb_segment){
	    .addr = ph->p_paddr,
	    .file_offset = ph->p_offset,
	    .file_bytes = ph->p_filesz,
	    .mem_bytes = ph->p_memsz,
	};
	return 0;
}

/* e_entry is a virtual address. For a kernel linked where it is loaded (p_vaddr == p_paddr)
 * that is the physical entry; for one linked higher (Linux-style, p_vaddr above p_paddr) it is
 * turned into the physical address through the segment that holds it, as GRUB and QEMU do. */
static int rt_mb_elf_entry(struct rt_mb_load *ld, const Elf32_Ehdr *eh, const Elf32_Phdr *ph,
			   size_t phnum)
{
	uint32_t e = eh->e_entry;
	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_memsz > 0 &&
		    e - ph[i].p_vaddr < ph[i].p_memsz) {
			ld->entry = e - ph[i].p_vaddr + ph[i].p_paddr;
			return 0;
		}
	}
	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_memsz > 0 &&
		    e - ph[i].p_paddr < ph[i].p_memsz) {
			ld->entry = e;
			return 0;
		}
	}
	return rt_mb_fail(ld, "%s: entry point 0x%" PRIx32 " is not inside a loaded segment",
			  ld->path, e);
}

/* Read the program headers with libelf and plan the PT_LOAD segments; own is the ELF header as
 * rt_mb_check_elf_header() read and checked it. */
static int rt_mb_plan_elf(struct rt_mb_load *ld, const Elf32_Ehdr *own)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return rt_mb_fail(ld, "libelf: %s", elf_errmsg(-1));
	Elf *elf = elf_begin(ld->fd, ELF_C_READ, NULL);
	if (elf == NULL)
		return rt_mb_fail(ld, "%s: libelf: %s", ld->path, elf_errmsg(-1));
	int rc = -1;
	Elf32_Ehdr *eh = elf32_getehdr(elf);
	Elf32_Phdr *ph = eh != NULL ? elf32_getphdr(elf) : NULL;
	size_t phnum = 0;
	if (elf_kind(elf) != ELF_K_ELF || eh == NULL || ph == NULL ||
	    elf_getphdrnum(elf, &phnum) != 0) {
		rt_mb_fail(ld, "%s: libelf: %s", ld->path, elf_errmsg(-1));
		goto out;
	}
	/* libelf read the same bytes we checked; anything else is a changed file. */
	if (phnum != own->e_phnum || eh->e_entry != own->e_entry) {
		rt_mb_fail(ld, "%s: file changed while loading", ld->path);
		goto out;
	}
	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_LOAD && rt_mb_plan_segment(ld, (unsigned)i, &ph[i]) < 0)
			goto out;
	}
	if (ld->segment_count == 0) {
		rt_mb_fail(ld, "%s: ELF file has no loadable segment", ld->path);
		goto out;
	}
	rc = rt_mb_elf_entry(ld, eh, ph, phnum);
out:
	elf_end(elf);
	return rc;
}

static uint64_t rt_mb_image_end(const struct rt_mb_load *ld)
{
	uint64_t end = 0;
	for (unsigned i = 0; i < ld->segment_count; i++) {
		uint64_t seg_end = (uint64_t)ld->segments[i].addr + ld->segments[i].mem_bytes;
		if (seg_end > end)
			end = seg_end;
	}
	return end;
}

static int rt_mb_copy_segments(struct rt_mb_load *ld)
{
	for (unsigned i = 0; i < ld->segment_count; i++) {
		const struct rt_mb_segment *s = &ld->segments[i];
		uint8_t *dst = ld->ram + s->addr;
		if (rt_mb_pread_all(ld, dst, s->file_bytes, s->file_offset) < 0)
			return -1;
		memset(dst + s->file_bytes, 0, s->mem_bytes - s->file_bytes);
	}
	return 0;
}

/* Lay out and write the MBI at mbi_addr: the structure, the memory map, the command line
 * "path append" and the loader name. The caller checked that mbi_bytes fit. */
static void rt_mb_write_info(struct rt_mb_load *ld, uint32_t mbi_addr, const char *append)
{
	const struct rt_mb_mmap_entry map[RT_MB_MMAP_ENTRIES] = {
	    {20, 0, RT_MB_EBDA_START, RT_MB_MMAP_AVAILABLE},
	    {20, RT_MB_EBDA_START, RT_MB_VGA_START - RT_MB_EBDA_START, RT_MB_MMAP_RESERVED},
	    {20, RT_MB_BIOS_ROM_START, RT_MB_HIGH_START - RT_MB_BIOS_ROM_START,
	     RT_MB_MMAP_RESERVED},
	    {20, RT_MB_HIGH_START, ld->ram_size - RT_MB_HIGH_START, RT_MB_MMAP_AVAILABLE},
	};
	uint32_t mmap_addr = mbi_addr + RT_MBI_AREA_BYTES;
	uint32_t cmdline_addr = mmap_addr + (uint32_t)sizeof(map);
	size_t path_len = strlen(ld->path);
	size_t append_len = strlen(append);
	uint32_t name_addr = cmdline_addr + (uint32_t)(path_len + 1 + append_len + 1);

	struct rt_mb_info info = {
	    .flags = RT_MBI_FLAG_MEM | RT_MBI_FLAG_CMDLINE | RT_MBI_FLAG_MMAP | RT_MBI_FLAG_LOADER,
	    .mem_lower = RT_MB_MEM_LOWER_KIB,
	    .mem_upper = (uint32_t)((ld->ram_size - RT_MB_HIGH_START) / 1024),
	    .cmdline = cmdline_addr,
	    .mmap_length = (uint32_t)sizeof(map),
	    .mmap_addr = mmap_addr,
	    .boot_loader_name = name_addr,
	};
	memset(ld->ram + mbi_addr, 0, RT_MBI_AREA_BYTES);
	memcpy(ld->ram + mbi_addr, &info, sizeof(info));
	memcpy(ld->ram + mmap_addr, map, sizeof(map));
	uint8_t *cmd = ld->ram + cmdline_addr;
	memcpy(cmd, ld->path, path_len);
	cmd[path_len] = ' ';
	memcpy(cmd + path_len + 1, append, append_len + 1);
	memcpy(ld->ram + name_addr, RT_MB_LOADER_NAME, sizeof(RT_MB_LOADER_NAME));
}

static int rt_mb_load_file(struct rt_mb_load *ld, const char *append, struct rt_boot_state *boot)
{
	if (rt_mb_open(ld) < 0)
		return -1;
	int64_t header_off = rt_mb_find_header(ld);
	uint32_t flags = header_off >= 0 ? rt_le32(ld->head + header_off + 4) : 0;
	if (header_off >= 0 && (flags & RT_MB_FLAG_AOUT)) {
		if (rt_mb_check_flags(ld, flags) < 0 || rt_mb_plan_aout(ld, (size_t)header_off) < 0)
			return -1;
	} else {
		/* Say first what kind of file this is, then whether it is a multiboot kernel,
		 * and only then what is wrong with its segments: an ordinary Linux program
		 * should hear "no multiboot header", not "outside guest RAM". */
		Elf32_Ehdr eh = {0};
		if (rt_mb_check_elf_header(ld, &eh) < 0)
			return -1;
		if (header_off < 0)
			return rt_mb_fail_no_header(ld);
		if (rt_mb_check_flags(ld, flags) < 0 || rt_mb_plan_elf(ld, &eh) < 0)
			return -1;
	}

	/* QEMU passes "path append", with the space even when there is no -append (its default
	 * command line is ""); guests print their command line, so match it. */
	if (append == NULL)
		append = "";
	uint64_t mbi_addr = (rt_mb_image_end(ld) + RT_MB_PAGE - 1) & ~(uint64_t)(RT_MB_PAGE - 1);
	uint64_t mbi_bytes = RT_MBI_AREA_BYTES +
			     RT_MB_MMAP_ENTRIES * sizeof(struct rt_mb_mmap_entry) +
			     strlen(ld->path) + 1 + strlen(append) + 1 + sizeof(RT_MB_LOADER_NAME);
	if (!rt_mb_in_ram(ld, mbi_addr, mbi_bytes))
		return rt_mb_fail(
		    ld,
		    "%s: no room in guest RAM for the multiboot information (0x%" PRIx64
		    " bytes at 0x%" PRIx64 ", after the kernel)",
		    ld->path, mbi_bytes, mbi_addr);

	if (rt_mb_copy_segments(ld) < 0)
		return -1;
	rt_mb_write_info(ld, (uint32_t)mbi_addr, append);
	boot->eip = ld->entry;
	boot->eax = RT_MB_BOOT_MAGIC;
	boot->ebx = (uint32_t)mbi_addr;
	return 0;
}

int rt_load_multiboot(const char *path, const char *append, uint8_t *ram, uint64_t ram_size,
		      struct rt_boot_state *boot, char *err, size_t err_len)
{
	if (err != NULL && err_len > 0)
		err[0] = '\0';
	/* The load state holds an 8 KiB head buffer and the segment plan: keep it off the
	 * stack, which the runtime may run small. */
	struct rt_mb_load *ld = calloc(1, sizeof(*ld));
	if (ld == NULL) {
		if (err != NULL && err_len > 0)
			snprintf(err, err_len, "loader: %s", strerror(ENOMEM));
		return -1;
	}
	ld->path = path;
	ld->fd = -1;
	ld->ram = ram;
	ld->ram_size = ram_size;
	ld->err = err;
	ld->err_len = err_len;
	int rc;
	if (path == NULL || ram == NULL || boot == NULL)
		rc = rt_mb_fail(ld, "loader: no kernel path, guest RAM or boot state given");
	else if (ram_size <= RT_MB_HIGH_START || ram_size > RT_MB_MAX_RAM)
		rc = rt_mb_fail(ld,
				"guest RAM of %" PRIu64 " bytes is not supported: a multiboot "
				"kernel needs more than 1 MiB and at most 4 GiB",
				ram_size);
	else
		rc = rt_mb_load_file(ld, append, boot);
	if (ld->fd >= 0)
		close(ld->fd);
	free(ld);
	return rc;
}
