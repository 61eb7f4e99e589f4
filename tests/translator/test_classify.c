/* The instruction-class table (DESIGN.md §3): representative instructions of every class. */
#include <criterion/criterion.h>

#include "translator/tr_internal.h"

static struct tr_class_info classify(const uint8_t *bytes, size_t len)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	cr_assert(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, len, &insn, ops)));
	return tr_classify(&insn, ops);
}

#define CLASS_OF(...)                                                                              \
	classify((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

Test(classify, ident_and_mem)
{
	cr_expect_eq(CLASS_OF(0x89, 0xd8).cls, TR_CLASS_IDENT);		    /* mov eax, ebx */
	cr_expect_eq(CLASS_OF(0x8b, 0x03).cls, TR_CLASS_MEM);		    /* mov eax, [ebx] */
	cr_expect_eq(CLASS_OF(0x40).cls, TR_CLASS_IDENT);		    /* inc eax */
	cr_expect_eq(CLASS_OF(0xf2, 0x0f, 0x10, 0xc1).cls, TR_CLASS_IDENT); /* movsd xmm0, xmm1 */
	cr_expect_eq(CLASS_OF(0xd9, 0x03).cls, TR_CLASS_MEM);		    /* fld dword [ebx] */
	cr_expect_eq(CLASS_OF(0x0f, 0xc7, 0x0e).cls, TR_CLASS_MEM);	    /* cmpxchg8b [esi] */
	cr_expect_eq(CLASS_OF(0x8d, 0x04, 0x8b).cls, TR_CLASS_IDENT); /* lea: no memory access */
	cr_expect_eq(CLASS_OF(0xf3, 0x0f, 0x1e, 0xfb).cls, TR_CLASS_IDENT); /* endbr32: a NOP */
}

Test(classify, stack_string_control)
{
	cr_expect_eq(CLASS_OF(0x50).cls, TR_CLASS_STACK);	  /* push eax */
	cr_expect_eq(CLASS_OF(0xff, 0x33).cls, TR_CLASS_STACK);	  /* push dword [ebx] */
	cr_expect_eq(CLASS_OF(0x60).cls, TR_CLASS_STACK);	  /* pushad */
	cr_expect_eq(CLASS_OF(0xc9).cls, TR_CLASS_STACK);	  /* leave */
	cr_expect_eq(CLASS_OF(0xf3, 0xa5).cls, TR_CLASS_STRING);  /* rep movsd */
	cr_expect_eq(CLASS_OF(0xae).cls, TR_CLASS_STRING);	  /* scasb */
	cr_expect_eq(CLASS_OF(0xc3).cls, TR_CLASS_CONTROL);	  /* ret */
	cr_expect_eq(CLASS_OF(0x74, 0x00).cls, TR_CLASS_CONTROL); /* jz */
	cr_expect_eq(CLASS_OF(0xff, 0xd0).cls, TR_CLASS_CONTROL); /* call eax */
	cr_expect_eq(CLASS_OF(0xe2, 0xfe).cls, TR_CLASS_CONTROL); /* loop */
}

Test(classify, sensitive_callouts)
{
	struct tr_class_info c = CLASS_OF(0xfa); /* cli */
	cr_expect_eq(c.cls, TR_CLASS_SENSITIVE);
	cr_expect_eq(c.callout, TR_CALLOUT_CLI);
	cr_expect_eq(CLASS_OF(0x0f, 0x22, 0xc0).callout, TR_CALLOUT_MOV_CR);	 /* mov cr0, eax */
	cr_expect_eq(CLASS_OF(0x8e, 0xd8).callout, TR_CALLOUT_MOV_SREG);	 /* mov ds, eax */
	cr_expect_eq(CLASS_OF(0x8c, 0xc8).callout, TR_CALLOUT_MOV_SREG);	 /* mov eax, cs */
	cr_expect_eq(CLASS_OF(0x0e).callout, TR_CALLOUT_PUSH_SREG);		 /* push cs */
	cr_expect_eq(CLASS_OF(0x0f, 0x01, 0x03).callout, TR_CALLOUT_DESC_TABLE); /* sgdt */
	cr_expect_eq(CLASS_OF(0x9c).callout, TR_CALLOUT_PUSHF);
	cr_expect_eq(CLASS_OF(0xcd, 0x80).callout, TR_CALLOUT_INT);
	cr_expect_eq(CLASS_OF(0xcf).callout, TR_CALLOUT_IRET);
	cr_expect_eq(CLASS_OF(0xea, 0, 0, 0x10, 0, 0x08, 0).callout, TR_CALLOUT_JMP_FAR);
	cr_expect_eq(CLASS_OF(0x27).callout, TR_CALLOUT_BCD); /* daa */
	cr_expect_eq(CLASS_OF(0x0f, 0xa2).callout, TR_CALLOUT_CPUID);
	cr_expect_eq(CLASS_OF(0xe4, 0x60).callout, TR_CALLOUT_IN);
	cr_expect(CLASS_OF(0xf4).flags & TR_CF_ENDS_BLOCK); /* hlt */
}

Test(classify, undefined_is_never_copied)
{
	cr_expect_eq(CLASS_OF(0x0f, 0x0b).cls, TR_CLASS_UNDEFINED);		/* ud2 */
	cr_expect_eq(CLASS_OF(0xf3, 0x0f, 0xb8, 0xc1).cls, TR_CLASS_UNDEFINED); /* popcnt */
	cr_expect_eq(CLASS_OF(0xc5, 0xf8, 0x58, 0xc1).cls, TR_CLASS_UNDEFINED); /* vaddps (AVX) */
	cr_expect_eq(CLASS_OF(0x66, 0x0f, 0x38, 0x00, 0xc1).cls,
		     TR_CLASS_UNDEFINED);				  /* pshufb (SSSE3) */
	cr_expect_eq(CLASS_OF(0x0f, 0x01, 0xd0).cls, TR_CLASS_UNDEFINED); /* xgetbv */
	cr_expect_eq(CLASS_OF(0x0f, 0x33).cls, TR_CLASS_UNDEFINED);	  /* rdpmc */
}

Test(classify, fpu_and_sse_flags)
{
	cr_expect(CLASS_OF(0xd9, 0xc0).flags & TR_CF_FPU);		     /* fld st0 */
	cr_expect(CLASS_OF(0x0f, 0xfc, 0xc1).flags & TR_CF_FPU);	     /* paddb mm0, mm1 */
	cr_expect(CLASS_OF(0x0f, 0x58, 0xc1).flags & TR_CF_SSE);	     /* addps */
	cr_expect(CLASS_OF(0x66, 0x0f, 0xfc, 0xc1).flags & TR_CF_SSE);	     /* paddb xmm */
	cr_expect_not(CLASS_OF(0x01, 0xd8).flags & (TR_CF_FPU | TR_CF_SSE)); /* add */
}

Test(classify, hint_nops_run_as_nops)
{
	cr_expect_eq(CLASS_OF(0xf3, 0x90).cls, TR_CLASS_IDENT); /* pause */
}
