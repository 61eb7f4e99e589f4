/* symbols.c — --symbols FILE: an ELF symbol table (libelf) or a System.map / kallsyms text file,
 * so that guest addresses print as function+0xoff.
 *
 * Symbols are kept sorted by address; an address resolves to the nearest symbol at or below it,
 * unless that symbol's ELF size says the address is past its end. Among symbols at one address
 * functions win over untyped labels, and global over local, so the name shown is the useful one.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/trace/tool.h"

static int tool_symtab_add(struct tool_symtab *s, size_t *cap, uint64_t addr, uint64_t size,
			   const char *name, int rank)
{
	struct tool_sym *sym;

	if (s->n == *cap) {
		size_t want = *cap ? *cap * 2 : 256;
		struct tool_sym *bigger = realloc(s->syms, want * sizeof(*bigger));

		if (bigger == NULL)
			return -ENOMEM;
		s->syms = bigger;
		*cap = want;
	}
	sym = &s->syms[s->n];
	sym->name = strdup(name);
	if (sym->name == NULL)
		return -ENOMEM;
	sym->addr = addr;
	sym->size = size;
	sym->rank = rank;
	s->n++;
	return 0;
}

/* Names the assembler invents for local labels and mapping symbols say nothing. */
static bool tool_sym_useful(const char *name)
{
	return name != NULL && name[0] != '\0' && name[0] != '.' && name[0] != '$';
}

static int tool_symtab_load_elf(struct tool_symtab *s, Elf *elf, size_t *cap)
{
	Elf_Scn *scn = NULL;
	bool have_symtab = false;

	/* Prefer .symtab; fall back to .dynsym for a stripped file. */
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) != NULL && sh.sh_type == SHT_SYMTAB)
			have_symtab = true;
	}
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t n;

		if (gelf_getshdr(scn, &sh) == NULL)
			continue;
		if (sh.sh_type != (have_symtab ? SHT_SYMTAB : SHT_DYNSYM) || sh.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (data == NULL)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *name;
			int type, rank;

			if (gelf_getsym(data, (int)i, &sym) == NULL)
				continue;
			type = GELF_ST_TYPE(sym.st_info);
			if (type != STT_FUNC && type != STT_NOTYPE && type != STT_OBJECT)
				continue;
			if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!tool_sym_useful(name))
				continue;
			rank = (type == STT_FUNC     ? 0
				: type == STT_NOTYPE ? 2
						     : 4) +
			       (GELF_ST_BIND(sym.st_info) == STB_LOCAL);
			if (tool_symtab_add(s, cap, sym.st_value, sym.st_size, name, rank) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* "address type name [module]" per line, as System.map and /proc/kallsyms have it. */
static int tool_symtab_load_map(struct tool_symtab *s, FILE *f, size_t *cap, char *err,
				size_t err_len)
{
	char line[1024];
	unsigned long lineno = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		char type, name[512];
		unsigned long long addr;

		lineno++;
		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (sscanf(line, "%llx %c %511s", &addr, &type, name) != 3) {
			snprintf(err, err_len, "line %lu is not 'address type name'", lineno);
			return -EINVAL;
		}
		if (!tool_sym_useful(name))
			continue;
		if (tool_symtab_add(s, cap, addr, 0, name,
				    (type == 'T' || type == 't') ? (type == 't') : 4) < 0)
			return -ENOMEM;
	}
	if (s->n == 0) {
		snprintf(err, err_len, "no symbols (neither ELF nor System.map)");
		return -EINVAL;
	}
	return 0;
}

static int tool_sym_cmp(const void *pa, const void *pb)
{
	const struct tool_sym *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->rank - b->rank;
}

int tool_symtab_load(struct tool_symtab *s, const char *path, char *err, size_t err_len)
{
	size_t cap = 0;
	int fd, rc = 0;
	Elf *elf;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "%s", strerror(errno));
		return rc;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		close(fd);
		snprintf(err, err_len, "libelf: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf != NULL && elf_kind(elf) == ELF_K_ELF) {
		rc = tool_symtab_load_elf(s, elf, &cap);
		if (rc == 0 && s->n == 0) {
			snprintf(err, err_len, "ELF file has no symbols");
			rc = -EINVAL;
		}
	} else {
		FILE *f = fdopen(dup(fd), "r");

		if (f == NULL) {
			rc = -errno;
			snprintf(err, err_len, "%s", strerror(errno));
		} else {
			rc = tool_symtab_load_map(s, f, &cap, err, err_len);
			fclose(f);
		}
	}
	if (elf != NULL)
		elf_end(elf);
	close(fd);
	if (rc == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	if (rc < 0) {
		tool_symtab_free(s);
		return rc;
	}
	qsort(s->syms, s->n, sizeof(*s->syms), tool_sym_cmp);
	return 0;
}

void tool_symtab_free(struct tool_symtab *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->syms[i].name);
	free(s->syms);
	s->syms = NULL;
	s->n = 0;
}

const char *tool_sym_format(const struct tool_symtab *s, uint64_t addr, char *buf, size_t len)
{
	size_t lo = 0, hi = s->n;
	const struct tool_sym *sym;

	buf[0] = '\0';
	/* The last symbol at or below addr, then the first (best ranked) at that address. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return buf;
	lo--;
	while (lo > 0 && s->syms[lo - 1].addr == s->syms[lo].addr)
		lo--;
	sym = &s->syms[lo];
	if (sym->size != 0 && addr - sym->addr >= sym->size && sym->rank < 2) {
		/* Past the end of a sized function: only say so if nothing else is closer. */
		snprintf(buf, len, "%s+0x%" PRIx64, sym->name, addr - sym->addr);
		return buf;
	}
	if (addr == sym->addr)
		snprintf(buf, len, "%s", sym->name);
	else
		snprintf(buf, len, "%s+0x%" PRIx64, sym->name, addr - sym->addr);
	return buf;
}

bool tool_sym_lookup(const struct tool_symtab *s, const char *name, uint64_t *addr)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->syms[i].name, name) == 0) {
			*addr = s->syms[i].addr;
			return true;
		}
	}
	return false;
}
