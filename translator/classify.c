/* The instruction-class table (DESIGN.md §3).
 *
 * Every decoded guest instruction gets exactly one class. Instructions named in
 * tr_mnemonic_table are classified there; everything else is IDENT (or MEM with a memory
 * operand) only if its ISA extension is one bt86's virtual CPU offers (base integer, x87, MMX,
 * SSE, SSE2, CLFLUSH) and its category is not a system one; all other instructions are
 * UNDEFINED, so nothing the table does not vouch for is ever copied.
 */
#include "translator/tr_internal.h"

#define CO(name) TR_CLASS_SENSITIVE, TR_CALLOUT_##name
#define END	 TR_CF_ENDS_BLOCK

struct tr_mnemonic_entry {
	ZydisMnemonic mnemonic;
	uint8_t cls;
	uint8_t callout;
	uint8_t flags;
};

static const struct tr_mnemonic_entry tr_mnemonic_table[] = {
    /* STACK */
    {ZYDIS_MNEMONIC_PUSH, TR_CLASS_STACK, 0, 0},
    {ZYDIS_MNEMONIC_POP, TR_CLASS_STACK, 0, 0},
    {ZYDIS_MNEMONIC_PUSHAD, TR_CLASS_STACK, 0, 0},
    {ZYDIS_MNEMONIC_POPAD, TR_CLASS_STACK, 0, 0},
    {ZYDIS_MNEMONIC_PUSHA, CO(PUSHA16), 0},
    {ZYDIS_MNEMONIC_POPA, CO(PUSHA16), 0},
    {ZYDIS_MNEMONIC_ENTER, TR_CLASS_STACK, 0, 0},
    {ZYDIS_MNEMONIC_LEAVE, TR_CLASS_STACK, 0, 0},
    /* CONTROL */
    {ZYDIS_MNEMONIC_JMP, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_CALL, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_RET, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JB, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JBE, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JL, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JLE, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JNB, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JNBE, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JNL, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JNLE, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JNO, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JNP, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JNS, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JNZ, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JO, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JP, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JS, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JZ, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JCXZ, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_JECXZ, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_LOOP, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_LOOPE, TR_CLASS_CONTROL, 0, 0},
    {ZYDIS_MNEMONIC_LOOPNE, TR_CLASS_CONTROL, 0, 0},
    /* SENSITIVE: interrupts and flags */
    {ZYDIS_MNEMONIC_INT, CO(INT), END},
    {ZYDIS_MNEMONIC_INT1, CO(INT), END},
    {ZYDIS_MNEMONIC_INT3, CO(INT3), END},
    {ZYDIS_MNEMONIC_INTO, CO(INTO), END},
    {ZYDIS_MNEMONIC_IRETD, CO(IRET), END},
    {ZYDIS_MNEMONIC_IRET, CO(IRET), END},
    {ZYDIS_MNEMONIC_HLT, CO(HLT), END},
    {ZYDIS_MNEMONIC_CLI, CO(CLI), 0},
    {ZYDIS_MNEMONIC_STI, CO(STI), END},
    {ZYDIS_MNEMONIC_PUSHFD, CO(PUSHF), 0},
    {ZYDIS_MNEMONIC_PUSHF, CO(PUSHF), 0},
    {ZYDIS_MNEMONIC_POPFD, CO(POPF), END},
    {ZYDIS_MNEMONIC_POPF, CO(POPF), END},
    /* SENSITIVE: I/O */
    {ZYDIS_MNEMONIC_IN, CO(IN), 0},
    {ZYDIS_MNEMONIC_OUT, CO(OUT), END},
    {ZYDIS_MNEMONIC_INSB, CO(INS), 0},
    {ZYDIS_MNEMONIC_INSW, CO(INS), 0},
    {ZYDIS_MNEMONIC_INSD, CO(INS), 0},
    {ZYDIS_MNEMONIC_OUTSB, CO(OUTS), END},
    {ZYDIS_MNEMONIC_OUTSW, CO(OUTS), END},
    {ZYDIS_MNEMONIC_OUTSD, CO(OUTS), END},
    /* SENSITIVE: system state */
    {ZYDIS_MNEMONIC_CPUID, CO(CPUID), 0},
    {ZYDIS_MNEMONIC_VMCALL, CO(HYPERCALL), END},
    {ZYDIS_MNEMONIC_VMMCALL, CO(HYPERCALL), END},
    {ZYDIS_MNEMONIC_RDTSC, CO(RDTSC), 0},
    {ZYDIS_MNEMONIC_RDMSR, CO(RDMSR), 0},
    {ZYDIS_MNEMONIC_WRMSR, CO(WRMSR), END},
    {ZYDIS_MNEMONIC_LGDT, CO(DESC_TABLE), END},
    {ZYDIS_MNEMONIC_LIDT, CO(DESC_TABLE), END},
    {ZYDIS_MNEMONIC_SGDT, CO(DESC_TABLE), 0},
    {ZYDIS_MNEMONIC_SIDT, CO(DESC_TABLE), 0},
    {ZYDIS_MNEMONIC_LLDT, CO(SYS_SEG), END},
    {ZYDIS_MNEMONIC_LTR, CO(SYS_SEG), END},
    {ZYDIS_MNEMONIC_SLDT, CO(SYS_SEG), 0},
    {ZYDIS_MNEMONIC_STR, CO(SYS_SEG), 0},
    {ZYDIS_MNEMONIC_SMSW, CO(MSW), 0},
    {ZYDIS_MNEMONIC_LMSW, CO(MSW), END},
    {ZYDIS_MNEMONIC_CLTS, CO(MSW), END},
    {ZYDIS_MNEMONIC_LAR, CO(SEG_CHECK), 0},
    {ZYDIS_MNEMONIC_LSL, CO(SEG_CHECK), 0},
    {ZYDIS_MNEMONIC_VERR, CO(SEG_CHECK), 0},
    {ZYDIS_MNEMONIC_VERW, CO(SEG_CHECK), 0},
    {ZYDIS_MNEMONIC_LDS, CO(LOAD_FAR_PTR), END},
    {ZYDIS_MNEMONIC_LES, CO(LOAD_FAR_PTR), END},
    {ZYDIS_MNEMONIC_LFS, CO(LOAD_FAR_PTR), END},
    {ZYDIS_MNEMONIC_LGS, CO(LOAD_FAR_PTR), END},
    {ZYDIS_MNEMONIC_LSS, CO(LOAD_FAR_PTR), END},
    {ZYDIS_MNEMONIC_INVLPG, CO(CACHE), END},
    {ZYDIS_MNEMONIC_WBINVD, CO(CACHE), 0},
    {ZYDIS_MNEMONIC_INVD, CO(CACHE), 0},
    {ZYDIS_MNEMONIC_SYSENTER, CO(SYSENTER), END},
    {ZYDIS_MNEMONIC_SYSEXIT, CO(SYSEXIT), END},
    /* Integer instructions that 64-bit mode lacks */
    {ZYDIS_MNEMONIC_AAA, CO(BCD), 0},
    {ZYDIS_MNEMONIC_AAS, CO(BCD), 0},
    {ZYDIS_MNEMONIC_DAA, CO(BCD), 0},
    {ZYDIS_MNEMONIC_DAS, CO(BCD), 0},
    {ZYDIS_MNEMONIC_AAM, CO(BCD), 0},
    {ZYDIS_MNEMONIC_AAD, CO(BCD), 0},
    {ZYDIS_MNEMONIC_BOUND, CO(BOUND), 0},
    {ZYDIS_MNEMONIC_ARPL, CO(ARPL), 0},
    {ZYDIS_MNEMONIC_SALC, CO(SALC), 0},
    /* CET markers sit in the hint-NOP space: a CPU without CET runs them as NOPs, and
     * compilers emit them everywhere (libgcc, distribution kernels). */
    {ZYDIS_MNEMONIC_ENDBR32, TR_CLASS_IDENT, 0, 0},
    {ZYDIS_MNEMONIC_ENDBR64, TR_CLASS_IDENT, 0, 0},
    /* pause is rep nop: a NOP on every CPU, a spin-wait hint on newer ones (cpu_relax). */
    {ZYDIS_MNEMONIC_PAUSE, TR_CLASS_IDENT, 0, 0},
    /* Always #UD */
    {ZYDIS_MNEMONIC_UD0, TR_CLASS_UNDEFINED, TR_CALLOUT_UNDEFINED, END},
    {ZYDIS_MNEMONIC_UD1, TR_CLASS_UNDEFINED, TR_CALLOUT_UNDEFINED, END},
    {ZYDIS_MNEMONIC_UD2, TR_CLASS_UNDEFINED, TR_CALLOUT_UNDEFINED, END},
};

/* ISA extensions of the virtual CPU (CPUID leaf 1 must offer exactly these). */
static const ZydisISAExt tr_offered_exts[] = {
    ZYDIS_ISA_EXT_BASE, ZYDIS_ISA_EXT_X87,  ZYDIS_ISA_EXT_MMX,
    ZYDIS_ISA_EXT_SSE,	ZYDIS_ISA_EXT_SSE2, ZYDIS_ISA_EXT_CLFSH,
};

/* Categories that must never be copied even in an offered extension: anything in them that the
 * mnemonic table does not name becomes #UD rather than running on the host. */
static const ZydisInstructionCategory tr_never_copied[] = {
    ZYDIS_CATEGORY_SYSTEM,     ZYDIS_CATEGORY_INTERRUPT, ZYDIS_CATEGORY_IO,
    ZYDIS_CATEGORY_IOSTRINGOP, ZYDIS_CATEGORY_SEGOP,	 ZYDIS_CATEGORY_SYSCALL,
    ZYDIS_CATEGORY_SYSRET,     ZYDIS_CATEGORY_CALL,	 ZYDIS_CATEGORY_RET,
    ZYDIS_CATEGORY_COND_BR,    ZYDIS_CATEGORY_UNCOND_BR, ZYDIS_CATEGORY_PUSH,
    ZYDIS_CATEGORY_POP,	       ZYDIS_CATEGORY_RDWRFSGS,	 ZYDIS_CATEGORY_VTX,
};

static const char *const tr_class_names[TR_CLASS_COUNT] = {
    "IDENT", "MEM", "STACK", "STRING", "CONTROL", "SENSITIVE", "UNDEFINED",
};

const char *tr_class_name(enum tr_class cls)
{
	return cls < TR_CLASS_COUNT ? tr_class_names[cls] : "?";
}

static const char *const tr_callout_names[TR_CALLOUT_COUNT] = {
#define TR_CALLOUT_NAME(name, text) text,
    TR_CALLOUT_LIST(TR_CALLOUT_NAME)
#undef TR_CALLOUT_NAME
};

const char *tr_callout_name(enum tr_callout kind)
{
	return kind < TR_CALLOUT_COUNT ? tr_callout_names[kind] : "?";
}

static const struct tr_mnemonic_entry *tr_find_mnemonic(ZydisMnemonic m)
{
	for (size_t i = 0; i < sizeof tr_mnemonic_table / sizeof tr_mnemonic_table[0]; i++)
		if (tr_mnemonic_table[i].mnemonic == m)
			return &tr_mnemonic_table[i];
	return NULL;
}

static bool tr_has_operand_class(const ZydisDecodedInstruction *insn,
				 const ZydisDecodedOperand *ops, ZydisRegisterClass rc)
{
	for (unsigned i = 0; i < insn->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    ZydisRegisterGetClass(ops[i].reg.value) == rc)
			return true;
	return false;
}

static bool tr_has_memory_access(const ZydisDecodedInstruction *insn,
				 const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < insn->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM)
			return true;
	return false;
}

static struct tr_class_info tr_make(uint8_t cls, uint8_t callout, uint8_t flags)
{
	return (struct tr_class_info){.cls = cls, .callout = callout, .flags = flags};
}

struct tr_class_info tr_classify(const ZydisDecodedInstruction *insn,
				 const ZydisDecodedOperand *ops)
{
	ZydisMnemonic m = insn->mnemonic;

	/* Moves to and from segment, control and debug registers look like plain MOVs. */
	if (m == ZYDIS_MNEMONIC_MOV) {
		if (tr_has_operand_class(insn, ops, ZYDIS_REGCLASS_CONTROL))
			return tr_make(TR_CLASS_SENSITIVE, TR_CALLOUT_MOV_CR, END);
		if (tr_has_operand_class(insn, ops, ZYDIS_REGCLASS_DEBUG))
			return tr_make(TR_CLASS_SENSITIVE, TR_CALLOUT_MOV_DR, END);
		if (tr_has_operand_class(insn, ops, ZYDIS_REGCLASS_SEGMENT))
			return tr_make(TR_CLASS_SENSITIVE, TR_CALLOUT_MOV_SREG, END);
	}
	if ((m == ZYDIS_MNEMONIC_PUSH || m == ZYDIS_MNEMONIC_POP) &&
	    tr_has_operand_class(insn, ops, ZYDIS_REGCLASS_SEGMENT))
		return tr_make(TR_CLASS_SENSITIVE,
			       m == ZYDIS_MNEMONIC_PUSH ? TR_CALLOUT_PUSH_SREG
							: TR_CALLOUT_POP_SREG,
			       m == ZYDIS_MNEMONIC_POP ? END : 0);
	if (insn->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
		if (m == ZYDIS_MNEMONIC_JMP)
			return tr_make(TR_CLASS_SENSITIVE, TR_CALLOUT_JMP_FAR, END);
		if (m == ZYDIS_MNEMONIC_CALL)
			return tr_make(TR_CLASS_SENSITIVE, TR_CALLOUT_CALL_FAR, END);
		if (m == ZYDIS_MNEMONIC_RET)
			return tr_make(TR_CLASS_SENSITIVE, TR_CALLOUT_RET_FAR, END);
	}
	if (m == ZYDIS_MNEMONIC_ENTER && insn->raw.imm[1].value.u != 0)
		return tr_make(TR_CLASS_SENSITIVE, TR_CALLOUT_ENTER, 0);

	/* String instructions share mnemonics with SSE2 (movsd, cmpsd): go by category. */
	if (insn->meta.category == ZYDIS_CATEGORY_STRINGOP)
		return tr_make(TR_CLASS_STRING, 0, 0);

	const struct tr_mnemonic_entry *entry = tr_find_mnemonic(m);
	if (entry)
		return tr_make(entry->cls, entry->callout, entry->flags);

	bool offered = false;
	for (size_t i = 0; i < sizeof tr_offered_exts / sizeof tr_offered_exts[0]; i++)
		offered |= insn->meta.isa_ext == tr_offered_exts[i];
	for (size_t i = 0; i < sizeof tr_never_copied / sizeof tr_never_copied[0]; i++)
		if (insn->meta.category == tr_never_copied[i])
			offered = false;
	if (!offered || insn->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return tr_make(TR_CLASS_UNDEFINED, TR_CALLOUT_UNDEFINED, END);

	uint8_t flags = 0;
	if (insn->meta.isa_ext == ZYDIS_ISA_EXT_X87 || insn->meta.isa_ext == ZYDIS_ISA_EXT_MMX)
		flags |= TR_CF_FPU;
	if (insn->meta.isa_ext == ZYDIS_ISA_EXT_SSE || insn->meta.isa_ext == ZYDIS_ISA_EXT_SSE2)
		flags |= TR_CF_SSE;
	/* MMX-register forms of SSE/SSE2 instructions still raise #NM/#UD like MMX. */
	if (tr_has_operand_class(insn, ops, ZYDIS_REGCLASS_MMX))
		flags |= TR_CF_FPU;
	return tr_make(tr_has_memory_access(insn, ops) ? TR_CLASS_MEM : TR_CLASS_IDENT, 0, flags);
}
