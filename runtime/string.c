/* String instructions performed in C: the fallback for segments the translator does not take
 * as flat (a based DS/ES, or an override naming a based FS/GS). Each iteration commits its
 * registers before the next, so a fault mid-way restarts precisely, as on the CPU. */
#include "runtime/callouts.h"

/* EFLAGS of `cmp a, b` at this operand size, as the CPU computes them. */
static uint32_t rt_flags_sub(uint32_t a, uint32_t b, unsigned size)
{
	unsigned bits = size * 8;
	uint32_t mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
	uint32_t sign = 1u << (bits - 1);
	a &= mask;
	b &= mask;
	uint32_t r = (a - b) & mask;
	uint32_t f = 0;
	if (a < b)
		f |= RT_FL_CF;
	if (!__builtin_parity(r & 0xff))
		f |= RT_FL_PF;
	if ((a ^ b ^ r) & 0x10)
		f |= RT_FL_AF;
	if (r == 0)
		f |= RT_FL_ZF;
	if (r & sign)
		f |= RT_FL_SF;
	if ((a ^ b) & (a ^ r) & sign)
		f |= RT_FL_OF;
	return f;
}

RT_CO(string)
{
	(void)exit;
	ZydisMnemonic m = in->zi.mnemonic;
	uint32_t *gpr = vm->frame->gpr;
	if (in->zi.address_width != 32) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "16-bit addressing in string instructions is "
			   "not supported");
		return RT_CO_FAULT;
	}
	unsigned size = in->zi.operand_width / 8;
	bool rep = in->zi.attributes & ZYDIS_ATTRIB_HAS_REP;
	bool repe = in->zi.attributes & ZYDIS_ATTRIB_HAS_REPE;
	bool repne = in->zi.attributes & ZYDIS_ATTRIB_HAS_REPNE;
	bool compares = m == ZYDIS_MNEMONIC_CMPSB || m == ZYDIS_MNEMONIC_CMPSW ||
			m == ZYDIS_MNEMONIC_CMPSD || m == ZYDIS_MNEMONIC_SCASB ||
			m == ZYDIS_MNEMONIC_SCASW || m == ZYDIS_MNEMONIC_SCASD;
	bool reads_esi =
	    m == ZYDIS_MNEMONIC_MOVSB || m == ZYDIS_MNEMONIC_MOVSW || m == ZYDIS_MNEMONIC_MOVSD ||
	    m == ZYDIS_MNEMONIC_CMPSB || m == ZYDIS_MNEMONIC_CMPSW || m == ZYDIS_MNEMONIC_CMPSD ||
	    m == ZYDIS_MNEMONIC_LODSB || m == ZYDIS_MNEMONIC_LODSW || m == ZYDIS_MNEMONIC_LODSD;
	bool is_lods =
	    m == ZYDIS_MNEMONIC_LODSB || m == ZYDIS_MNEMONIC_LODSW || m == ZYDIS_MNEMONIC_LODSD;
	bool is_stos =
	    m == ZYDIS_MNEMONIC_STOSB || m == ZYDIS_MNEMONIC_STOSW || m == ZYDIS_MNEMONIC_STOSD;
	bool is_scas =
	    m == ZYDIS_MNEMONIC_SCASB || m == ZYDIS_MNEMONIC_SCASW || m == ZYDIS_MNEMONIC_SCASD;
	enum rt_sreg src_seg = RT_DS;
	for (unsigned i = 0; i < in->zi.operand_count; i++)
		if (in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    in->ops[i].mem.base == ZYDIS_REGISTER_ESI)
			src_seg = rt_operand_segment(&in->ops[i]);
	int32_t step = (vm->frame->rflags & RT_FL_DF) ? -(int32_t)size : (int32_t)size;
	uint32_t acc_mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;

	for (unsigned n = 0; !(rep || repe || repne) || gpr[TR_ECX] != 0; n++) {
		if (n == RT_REP_BATCH)
			return RT_CO_JUMPED; /* EIP stays on the instruction: it goes on later */
		uint32_t src = 0, dst = 0;
		if (reads_esi && rt_read_seg(vm, src_seg, gpr[TR_ESI], &src, size) < 0)
			return RT_CO_FAULT;
		if (compares && !is_scas && rt_read_seg(vm, RT_ES, gpr[TR_EDI], &dst, size) < 0)
			return RT_CO_FAULT;
		if (is_scas && rt_read_seg(vm, RT_ES, gpr[TR_EDI], &dst, size) < 0)
			return RT_CO_FAULT;
		if (is_lods) {
			gpr[TR_EAX] = (gpr[TR_EAX] & ~acc_mask) | (src & acc_mask);
		} else if (is_stos || (!compares && reads_esi)) {
			uint32_t v = is_stos ? gpr[TR_EAX] : src;
			if (rt_write_seg(vm, RT_ES, gpr[TR_EDI], &v, size) < 0)
				return RT_CO_FAULT;
		}
		if (compares) {
			uint32_t a = is_scas ? gpr[TR_EAX] : src;
			uint32_t f = rt_flags_sub(a, dst, size);
			vm->frame->rflags = (vm->frame->rflags & ~(uint64_t)RT_FL_ARITH) | f;
		}
		if (reads_esi)
			gpr[TR_ESI] += (uint32_t)step;
		if (!is_lods)
			gpr[TR_EDI] += (uint32_t)step;
		if (!(rep || repe || repne))
			break;
		gpr[TR_ECX]--;
		if (compares) {
			bool zf = vm->frame->rflags & RT_FL_ZF;
			if ((repe && !zf) || (repne && zf))
				break;
		}
	}
	return RT_CO_NEXT;
}
