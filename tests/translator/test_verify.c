/* The translation verifier accepts what the translator emits and rejects any host code that
 * could reach host memory outside the guest window and the frame, or leave the code cache. */
#include <criterion/criterion.h>
#include <string.h>

#include "translator/tr_internal.h"

static uint8_t cache[4096];
static uint64_t counts[4];

static const struct tr_code_bounds bounds = {
    .cache_lo = (uintptr_t)cache,
    .cache_hi = (uintptr_t)cache + sizeof cache,
    .counts_lo = (uintptr_t)counts,
    .counts_hi = (uintptr_t)counts + sizeof counts,
};

static bool verify(const uint8_t *code, size_t len)
{
	char msg[256];
	memcpy(cache, code, len);
	return tr_verify_code(cache, len, &bounds, msg, sizeof msg);
}

/* The code tr_emit_count emits for counter, verified in place in the cache. */
static bool verify_count(const uint64_t *counter)
{
	char msg[256];
	struct tr_emit e = {.start = cache, .p = cache, .end = cache + sizeof cache};
	tr_emit_count(&e, counter);
	return tr_verify_code(cache, (size_t)(e.p - cache), &bounds, msg, sizeof msg);
}

Test(verify, accepts_execution_counters_only_in_their_table)
{
	cr_expect(verify_count(&counts[0]));
	cr_expect(verify_count(&counts[3]));
	cr_expect_not(verify_count(&counts[4]));		     /* one past the table */
	cr_expect_not(verify_count((const uint64_t *)(cache + 64))); /* the code itself */
	cr_expect_not(verify_count(
	    (const uint64_t *)((uintptr_t)counts + sizeof counts - 4))); /* straddles */
}

#define OK(...)                                                                                    \
	cr_expect(verify((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})))
#define BAD(...)                                                                                   \
	cr_expect_not(                                                                             \
	    verify((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})))

Test(verify, accepts_window_and_frame_accesses)
{
	OK(0x65, 0x67, 0x8b, 0x03);		/* mov eax, gs:[ebx] */
	OK(0x65, 0x67, 0x89, 0x44, 0x24, 0xfc); /* mov gs:[esp-4], eax */
	OK(0x8d, 0x64, 0x24, 0xfc);		/* lea esp, [rsp-4] */
	OK(0x4d, 0x8b, 0x77, TRF_WINDOW);	/* mov r14, [r15 + window] */
	OK(0x41, 0xff, 0x67, TRF_EXIT_COMMON);	/* jmp [r15 + exit_common] */
	OK(0x41, 0xff, 0x67, TRF_IBL);		/* jmp [r15 + ibl] */
	OK(0xe9, 0x00, 0x00, 0x00, 0x00);	/* jmp to the next byte (in the cache) */
	OK(0x4d, 0x8b, 0x77, TRF_WINDOW, 0x4a, 0x8d, 0x3c, 0x37, 0x65, 0xf3, 0xa5, 0x89,
	   0xff); /* the string sequence: bias rdi, rep movsd gs:[rsi] -> [rdi], mov edi, edi */
	OK(0x01, 0xd8, 0xd9, 0xc1, 0x0f, 0x58, 0xc1); /* add, fld st1, addps: no memory */
}

Test(verify, rejects_host_memory)
{
	BAD(0x8b, 0x03);			       /* mov eax, [rbx]: no GS */
	BAD(0x67, 0x8b, 0x03);			       /* mov eax, [ebx]: no GS */
	BAD(0x65, 0x8b, 0x03);			       /* mov eax, gs:[rbx]: 64-bit address */
	BAD(0x8b, 0x05, 0x00, 0x00, 0x00, 0x00);       /* mov eax, [rip+0] */
	BAD(0x49, 0x8b, 0x87, 0x00, 0x00, 0x00, 0x10); /* mov rax, [r15 + 256 MiB]: past frame */
	BAD(0xf3, 0xa5);			       /* rep movsd without the bias */
	BAD(0x64, 0x67, 0x8b, 0x03);		       /* fs: is the host's TLS */
}

Test(verify, rejects_stack_and_kernel_entry)
{
	BAD(0x50);			   /* push rax */
	BAD(0x58);			   /* pop rax */
	BAD(0xc3);			   /* ret */
	BAD(0x9c);			   /* pushfq */
	BAD(0x0f, 0x05);		   /* syscall */
	BAD(0xcd, 0x80);		   /* int 0x80 */
	BAD(0xf3, 0x48, 0x0f, 0xae, 0xd8); /* wrgsbase rax */
	BAD(0x8e, 0xe8);		   /* mov gs, eax */
}

Test(verify, rejects_escaping_control_flow)
{
	BAD(0xff, 0xe0);			 /* jmp rax */
	BAD(0xff, 0xd0);			 /* call rax */
	BAD(0x41, 0xff, 0x67, 0x08);		 /* jmp [r15 + 8]: not an exit routine */
	BAD(0xe9, 0x00, 0x10, 0x00, 0x00);	 /* jmp past the end of the cache */
	BAD(0x0f, 0x84, 0x00, 0x00, 0x00, 0x80); /* jz far below the cache */
}

Test(verify, rejects_frame_pointer_writes)
{
	BAD(0x49, 0x89, 0xc7); /* mov r15, rax */
	BAD(0x45, 0x31, 0xff); /* xor r15d, r15d */
	BAD(0x48, 0x89, 0xc4); /* mov rsp, rax */
	OK(0x89, 0xc4);	       /* mov esp, eax: the guest's ESP, zero-extended */
}

/* The inline jump-cache lookup, as tr_emit_ibl_jump emits it. */
static size_t emit_lookup(uint8_t *out)
{
	struct tr_emit e = {.start = out, .p = out, .end = out + 256};
	tr_emit_ibl_jump(&e);
	return (size_t)(e.p - out);
}

Test(verify, accepts_the_inline_jump_cache_lookup)
{
	uint8_t code[256];
	size_t n = emit_lookup(code);
	cr_expect(verify(code, n));
}

Test(verify, rejects_jump_cache_addressing_without_the_index_code)
{
	/* mov r12d, [r15 + r13*2 + jc]: r13 could be anything */
	BAD(0x47, 0x8b, 0xa4, 0x6f, 0xc0, 0x02, 0x00, 0x00);
	/* jmp [r15 + r13*2 + jc + 8] */
	BAD(0x43, 0xff, 0xa4, 0x6f, 0xc8, 0x02, 0x00, 0x00);
}

Test(verify, rejects_jump_cache_addressing_after_r13_changes)
{
	uint8_t code[256];
	memcpy(code, tr_jc_index_code, sizeof tr_jc_index_code);
	size_t n = sizeof tr_jc_index_code;
	static const uint8_t clobber[] = {0x4d, 0x89, 0xf5}; /* mov r13, r14 */
	static const uint8_t load[] = {0x47, 0x8b, 0xa4, 0x6f, 0xc0, 0x02, 0x00, 0x00};
	memcpy(code + n, load, sizeof load);
	cr_expect(verify(code, n + sizeof load)); /* right after the index code: fine */
	memcpy(code + n, clobber, sizeof clobber);
	memcpy(code + n + sizeof clobber, load, sizeof load);
	cr_expect_not(verify(code, n + sizeof clobber + sizeof load));
}

Test(verify, rejects_a_jump_into_a_lookup_from_where_r13_is_unknown)
{
	/* jmp over the index code straight to the entry load: r13 is whatever it was */
	uint8_t code[256];
	static const uint8_t load[] = {0x47, 0x8b, 0xa4, 0x6f, 0xc0, 0x02, 0x00, 0x00};
	code[0] = 0xeb; /* jmp rel8 */
	code[1] = (uint8_t)sizeof tr_jc_index_code;
	memcpy(code + 2, tr_jc_index_code, sizeof tr_jc_index_code);
	memcpy(code + 2 + sizeof tr_jc_index_code, load, sizeof load);
	cr_expect_not(verify(code, 2 + sizeof tr_jc_index_code + sizeof load));
	/* and a conditional jump that skips it: one path knows, the other does not */
	code[0] = 0x74; /* jz rel8 */
	cr_expect_not(verify(code, 2 + sizeof tr_jc_index_code + sizeof load));
}
