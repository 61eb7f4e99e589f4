/* The code cache: where translations live, how they are found, chained and dropped.
 *
 * Host code is bump-allocated in one RWX mapping, block headers, exit records and instruction
 * maps in a second arena; both are emptied together by a whole-cache flush (DESIGN.md §4), so
 * no translation is ever freed on its own. An invalidated block stays in memory until the next
 * flush: it is only unhooked (lookup table, jump cache, incoming chains), so code that is still
 * running inside it can finish its current instruction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "trace/trace.h"
#include "translator/tr_internal.h"

#define TR_DATA_BYTES (64u << 20)

static size_t tr_key_hash(const struct tr_key *key, size_t size)
{
	uint64_t h =
	    ((uint64_t)key->phys * 0x9e3779b97f4a7c15ull) ^ (key->flags * 0xff51afd7ull) ^ key->eip;
	return (size_t)(h >> 17) & (size - 1);
}

static size_t tr_page_hash(uint32_t page, size_t size)
{
	return (size_t)((page * 0x9e3779b1u) >> 8) & (size - 1);
}

struct tr_translator *tr_create(const struct tr_config *config)
{
	struct tr_translator *tr = calloc(1, sizeof *tr);
	if (!tr)
		return NULL;
	tr->config = *config;
	if (tr->config.cache_bytes == 0)
		tr->config.cache_bytes = 64u << 20;
	if (!ZYAN_SUCCESS(
		ZydisDecoderInit(&tr->decoder, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32)))
		goto fail;
	tr->code_size = (tr->config.cache_bytes + 4095) & ~(size_t)4095;
	tr->max_blocks = tr->code_size / 64;
	if (tr->config.count_exec)
		tr->exec_counts_bytes = (tr->max_blocks * sizeof(uint64_t) + 4095) & ~(size_t)4095;
	tr->code =
	    mmap(NULL, tr->code_size + tr->exec_counts_bytes, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (tr->code == MAP_FAILED)
		goto fail;
	if (tr->config.count_exec) {
		/* Counters are data: never executable, and on pages of their own so that counting
		 * is not a store into code the CPU is running. */
		tr->exec_counts = (uint64_t *)(tr->code + tr->code_size);
		if (mprotect(tr->exec_counts, tr->exec_counts_bytes, PROT_READ | PROT_WRITE) < 0)
			goto fail;
	}
	tr->data_size = TR_DATA_BYTES;
	tr->data = mmap(NULL, tr->data_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (tr->data == MAP_FAILED)
		goto fail;
	tr->blocks = calloc(tr->max_blocks, sizeof *tr->blocks);
	tr->hash_size = 1u << 16;
	tr->hash = calloc(tr->hash_size, sizeof *tr->hash);
	tr->page_hash_size = 1u << 14;
	tr->page_hash = calloc(tr->page_hash_size, sizeof *tr->page_hash);
	if (!tr->blocks || !tr->hash || !tr->page_hash)
		goto fail;
	return tr;
fail:
	tr_destroy(tr);
	errno = ENOMEM;
	return NULL;
}

void tr_destroy(struct tr_translator *tr)
{
	if (!tr)
		return;
	if (tr->code && tr->code != MAP_FAILED)
		munmap(tr->code, tr->code_size + tr->exec_counts_bytes);
	if (tr->data && tr->data != MAP_FAILED)
		munmap(tr->data, tr->data_size);
	free(tr->blocks);
	free(tr->hash);
	free(tr->page_hash);
	free(tr);
}

extern void tr_ibl(void);
extern void tr_ibl_miss(void);

static void tr_jc_clear(struct tr_frame *frame, uint32_t index);

void tr_frame_init(struct tr_translator *tr, struct tr_frame *frame)
{
	(void)tr;
	frame->exit_common = (uint64_t)(uintptr_t)tr_exit_common;
	frame->ibl = (uint64_t)(uintptr_t)tr_ibl;
	memset(&frame->indirect_exit, 0, sizeof frame->indirect_exit);
	frame->indirect_exit.kind = TR_EXIT_INDIRECT;
	for (uint32_t i = 0; i < TR_JC_ENTRIES; i++)
		tr_jc_clear(frame, i);
	frame->n_jc_filled[0] = frame->n_jc_filled[1] = 0;
	memset(frame->jc_listed, 0, sizeof frame->jc_listed);
	memset(frame->jc_pages, 0, sizeof frame->jc_pages);
	memset(frame->jc_large_pages, 0, sizeof frame->jc_large_pages);
}

static void tr_jc_clear(struct tr_frame *frame, uint32_t index)
{
	frame->jc[index].guest_eip = 0xffffffffu;
	frame->jc[index].meta = 0;
	frame->jc[index].host = (uint64_t)(uintptr_t)tr_ibl_miss;
}

static bool tr_bit(const uint64_t *bits, uint32_t n)
{
	return bits[n / 64] >> (n % 64) & 1;
}

static void tr_bit_set(uint64_t *bits, uint32_t n, bool on)
{
	if (on)
		bits[n / 64] |= 1ull << (n % 64);
	else
		bits[n / 64] &= ~(1ull << (n % 64));
}

static bool tr_jc_empty(const struct tr_jc_entry *e)
{
	return e->host == (uint64_t)(uintptr_t)tr_ibl_miss;
}

static unsigned tr_jc_kind(const struct tr_jc_entry *e)
{
	return (e->meta & TR_JC_META_GLOBAL) ? 1 : 0;
}

/* What a flush drops. */
enum tr_jc_scope { TR_JC_ALL, TR_JC_NONGLOBAL, TR_JC_PAGE };

static bool tr_jc_dropped(const struct tr_jc_entry *e, enum tr_jc_scope scope, uint32_t linear)
{
	switch (scope) {
	case TR_JC_NONGLOBAL:
		return !(e->meta & TR_JC_META_GLOBAL);
	case TR_JC_PAGE: {
		uint32_t mask = (e->meta & TR_JC_META_LARGE) ? 0xffc00000u : 0xfffff000u;
		return ((e->meta ^ linear) & mask) == 0;
	}
	default:
		return true;
	}
}

static void tr_jc_track(struct tr_frame *frame, unsigned kind, uint32_t index)
{
	if (tr_bit(frame->jc_listed[kind], index))
		return;
	tr_bit_set(frame->jc_listed[kind], index, true);
	frame->jc_filled[kind][frame->n_jc_filled[kind]++] = index;
}

/* Clear the entries of one kind's list that scope drops and keep the others listed. An index
 * can sit in a list it no longer belongs to (its entry was cleared when its block was
 * invalidated, or replaced by one of the other kind): it leaves the list here. */
static void tr_jc_drop(struct tr_frame *frame, unsigned kind, enum tr_jc_scope scope,
		       uint32_t linear)
{
	uint32_t n = frame->n_jc_filled[kind], kept = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t index = frame->jc_filled[kind][i];
		struct tr_jc_entry *e = &frame->jc[index];
		bool stays = !tr_jc_empty(e) && tr_jc_kind(e) == kind;
		if (stays && tr_jc_dropped(e, scope, linear)) {
			tr_jc_clear(frame, index);
			stays = false;
		}
		if (stays)
			frame->jc_filled[kind][kept++] = index;
		else
			tr_bit_set(frame->jc_listed[kind], index, false);
	}
	frame->n_jc_filled[kind] = kept;
}

void tr_jc_flush(struct tr_translator *tr, struct tr_frame *frame)
{
	(void)tr;
	tr_jc_drop(frame, 0, TR_JC_ALL, 0);
	tr_jc_drop(frame, 1, TR_JC_ALL, 0);
	memset(frame->jc_pages, 0, sizeof frame->jc_pages);
	memset(frame->jc_large_pages, 0, sizeof frame->jc_large_pages);
}

void tr_jc_flush_nonglobal(struct tr_translator *tr, struct tr_frame *frame)
{
	(void)tr;
	/* Marks of non-global pages stay set; each costs one look at its page's entries. */
	tr_jc_drop(frame, 0, TR_JC_NONGLOBAL, 0);
}

void tr_jc_flush_page(struct tr_translator *tr, struct tr_frame *frame, uint32_t linear)
{
	(void)tr;
	uint32_t page = linear >> 12, large = linear >> 22;
	bool in_large = tr_bit(frame->jc_large_pages, large);
	for (unsigned kind = 0; kind < 2; kind++)
		if (in_large || tr_bit(frame->jc_pages[kind], page))
			tr_jc_drop(frame, kind, TR_JC_PAGE, linear);
	/* Every entry on the page, and on large pages around it, is gone. */
	tr_bit_set(frame->jc_pages[0], page, false);
	tr_bit_set(frame->jc_pages[1], page, false);
	tr_bit_set(frame->jc_large_pages, large, false);
}

void tr_jc_force_miss(struct tr_frame *frame)
{
	/* Tags are eip + mode with mode < TR_JC_MODE_LIMIT: an entry at eip's index holds
	 * eip + k * 65536 + mode, so with this salt every lookup compares unequal in the low
	 * 16 bits. */
	frame->jc_salt = TR_JC_SALT_MISS;
}

void tr_jc_set_mode(struct tr_frame *frame, uint32_t mode)
{
	ASSERT(mode < TR_JC_MODE_LIMIT && !(mode & TR_KEY_SINGLE));
	frame->jc_salt = 0u - mode;
}

void tr_jc_insert(struct tr_frame *frame, uint32_t eip, void *host, uint32_t meta)
{
	uint32_t index = eip & (TR_JC_ENTRIES - 1);
	struct tr_jc_entry *e = &frame->jc[index];
	uint32_t tag = eip - frame->jc_salt; /* eip + mode */
	meta = (meta & ~TR_JC_META_PAGE) | (eip & TR_JC_META_PAGE);
	if (e->guest_eip == tag && e->host == (uint64_t)(uintptr_t)host && e->meta == meta)
		return;
	bool listed = !tr_jc_empty(e) && tr_jc_kind(e) == ((meta & TR_JC_META_GLOBAL) ? 1u : 0u);
	e->guest_eip = tag;
	e->meta = meta;
	e->host = (uint64_t)(uintptr_t)host;
	unsigned kind = tr_jc_kind(e);
	tr_bit_set(frame->jc_pages[kind], eip >> 12, true);
	if (meta & TR_JC_META_LARGE)
		tr_bit_set(frame->jc_large_pages, eip >> 22, true);
	if (!listed)
		tr_jc_track(frame, kind, index);
}

void *tr_data_alloc(struct tr_translator *tr, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (tr->data_size - tr->data_used < size)
		return NULL;
	void *p = tr->data + tr->data_used;
	tr->data_used += size;
	memset(p, 0, size);
	return p;
}

void *tr_lookup(struct tr_translator *tr, const struct tr_key *key)
{
	for (struct tr_block *b = tr->hash[tr_key_hash(key, tr->hash_size)]; b; b = b->hash_next)
		if (b->key.phys == key->phys && b->key.eip == key->eip &&
		    b->key.flags == key->flags)
			return b->host;
	return NULL;
}

void tr_block_publish(struct tr_translator *tr, struct tr_block *block)
{
	ASSERT(tr->n_blocks < tr->max_blocks);
	tr->blocks[tr->n_blocks++] = block;
	if (!block->cached)
		return;
	size_t h = tr_key_hash(&block->key, tr->hash_size);
	block->hash_next = tr->hash[h];
	tr->hash[h] = block;
	for (unsigned i = 0; i < block->n_pages; i++) {
		struct tr_page_node *n = tr_data_alloc(tr, sizeof *n);
		ASSERT(n);
		size_t ph = tr_page_hash(block->pages[i], tr->page_hash_size);
		n->page = block->pages[i];
		n->block = block;
		n->next = tr->page_hash[ph];
		tr->page_hash[ph] = n;
	}
}

/* The block whose host code contains pc (blocks are allocated in address order). */
static struct tr_block *tr_block_at(const struct tr_translator *tr, uintptr_t pc)
{
	size_t lo = 0, hi = tr->n_blocks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if ((uintptr_t)tr->blocks[mid]->host <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct tr_block *b = tr->blocks[lo - 1];
	return pc < (uintptr_t)b->host + b->host_len ? b : NULL;
}

static void tr_patch_rel32(uint8_t *field, const uint8_t *target)
{
	int32_t rel = (int32_t)(target - (field + 4));
	memcpy(field, &rel, 4);
}

void tr_chain(struct tr_translator *tr, struct tr_exit *exit, void *host)
{
	struct tr_block *target = tr_block_at(tr, (uintptr_t)host);
	if (!target || !target->valid || !target->cached || exit->linked_to || !exit->patch)
		return;
	if (exit->block && (!exit->block->valid || !exit->block->cached))
		return;
	/* A shadow block must start and end in the dispatcher, which opens interrupts after it;
	 * and the same eip outside a shadow needs its ordinary block. */
	if ((target->key.flags & TR_KEY_SHADOW) ||
	    (exit->block && (exit->block->key.flags & TR_KEY_SHADOW)))
		return;
	tr_patch_rel32(exit->patch, host);
	exit->linked_to = target;
	exit->next_link = target->links_in;
	target->links_in = exit;
	tr->counters.chains++;
}

bool tr_exit_resumable(const struct tr_exit *exit)
{
	return exit->resume && exit->block && exit->block->valid;
}

void tr_unlink_exit(struct tr_exit *exit)
{
	tr_patch_rel32(exit->patch, exit->stub);
	exit->linked_to = NULL;
}

static void tr_block_invalidate(struct tr_translator *tr, struct tr_frame *frame,
				struct tr_block *b)
{
	b->valid = false;
	struct tr_block **pp = &tr->hash[tr_key_hash(&b->key, tr->hash_size)];
	while (*pp && *pp != b)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = b->hash_next;
	for (struct tr_exit *x = b->links_in; x; x = x->next_link)
		tr_unlink_exit(x);
	b->links_in = NULL;
	struct tr_jc_entry *jc = &frame->jc[b->key.eip & (TR_JC_ENTRIES - 1)];
	if (jc->host == (uint64_t)(uintptr_t)b->host) {
		jc->guest_eip = 0xffffffffu;
		jc->host = (uint64_t)(uintptr_t)tr_ibl_miss;
	}
	tr->counters.invalidations++;
}

unsigned tr_invalidate_page(struct tr_translator *tr, struct tr_frame *frame, uint32_t page,
			    unsigned cause)
{
	unsigned dropped = 0;
	struct tr_page_node **pp = &tr->page_hash[tr_page_hash(page, tr->page_hash_size)];
	while (*pp) {
		struct tr_page_node *n = *pp;
		if (n->page != page) {
			pp = &n->next;
			continue;
		}
		*pp = n->next;
		if (n->block->valid) {
			tr_block_invalidate(tr, frame, n->block);
			dropped++;
		}
	}
	if (dropped)
		trc_event(tr->config.trace, TRC_EV_INVALIDATE, page, dropped, cause);
	return dropped;
}

struct tr_code_bounds tr_code_bounds(const struct tr_translator *tr)
{
	uintptr_t counts = (uintptr_t)tr->exec_counts;
	return (struct tr_code_bounds){
	    .cache_lo = (uintptr_t)tr->code,
	    .cache_hi = (uintptr_t)tr->code + tr->code_size,
	    .counts_lo = counts,
	    .counts_hi = counts ? counts + tr->exec_counts_bytes : 0,
	};
}

void tr_write_exec_counts(struct tr_translator *tr)
{
	if (!tr->exec_counts)
		return;
	for (size_t i = 0; i < tr->n_blocks; i++) {
		const struct tr_block *b = tr->blocks[i];
		if (tr->exec_counts[i])
			trc_block_exec(tr->config.trace, (uint64_t)(uintptr_t)b->host, b->key.eip,
				       tr->exec_counts[i]);
		tr->exec_counts[i] = 0;
	}
}

void tr_flush(struct tr_translator *tr, struct tr_frame *frame)
{
	tr_write_exec_counts(tr); /* before the host addresses are handed out again */
	trc_event(tr->config.trace, TRC_EV_FLUSH, tr->n_blocks, 0, 0);
	tr->code_used = 0;
	tr->data_used = 0;
	tr->n_blocks = 0;
	memset(tr->hash, 0, tr->hash_size * sizeof *tr->hash);
	memset(tr->page_hash, 0, tr->page_hash_size * sizeof *tr->page_hash);
	tr_jc_flush(tr, frame);
	tr->counters.cache_flushes++;
}

void tr_unlink_block_at(struct tr_translator *tr, uintptr_t pc)
{
	struct tr_block *b = tr_block_at(tr, pc);
	if (!b)
		return;
	for (unsigned i = 0; i < b->n_exits; i++) {
		struct tr_exit *x = b->exits[i];
		if (!x->linked_to)
			continue;
		/* Drop it from the target's incoming list too, so it is not patched twice. */
		struct tr_exit **pp = &x->linked_to->links_in;
		while (*pp && *pp != x)
			pp = &(*pp)->next_link;
		if (*pp)
			*pp = x->next_link;
		tr_unlink_exit(x);
	}
}

bool tr_pc_in_cache(const struct tr_translator *tr, uintptr_t pc)
{
	return pc >= (uintptr_t)tr->code && pc < (uintptr_t)tr->code + tr->code_size;
}

bool tr_host_pc_to_guest(struct tr_translator *tr, uintptr_t pc, uint32_t *guest_eip,
			 uint32_t block_pages[2])
{
	struct tr_block *b = tr_block_at(tr, pc);
	if (!b)
		return false;
	uint32_t off = (uint32_t)(pc - (uintptr_t)b->host);
	int found = -1;
	for (int i = 0; i < b->n_insns; i++)
		if (b->map[i].host_off <= off)
			found = i;
	if (found < 0)
		return false;
	*guest_eip = b->map[found].guest_eip;
	block_pages[0] = b->pages[0];
	block_pages[1] = b->n_pages > 1 ? b->pages[1] : ~0u;
	return true;
}

const struct tr_counters *tr_counters(const struct tr_translator *tr)
{
	return &tr->counters;
}
