/* The BCD adjust instructions (aaa, aas, daa, das, aam, aad), which 64-bit mode lacks, done
 * as the SDM's pseudocode says. Flags the SDM leaves undefined are cleared. */
#include "runtime/callouts.h"

static bool rt_parity(uint8_t v)
{
	return !__builtin_parity(v);
}

static void rt_bcd_szp(struct rt_vm *vm, uint8_t al)
{
	rt_set_flag(vm, RT_FL_SF, al & 0x80);
	rt_set_flag(vm, RT_FL_ZF, al == 0);
	rt_set_flag(vm, RT_FL_PF, rt_parity(al));
}

RT_CO(bcd)
{
	(void)exit;
	uint32_t *eax = &vm->frame->gpr[TR_EAX];
	uint8_t al = (uint8_t)*eax, ah = (uint8_t)(*eax >> 8);
	bool af = vm->frame->rflags & RT_FL_AF, cf = vm->frame->rflags & RT_FL_CF;
	uint32_t clear = RT_FL_ARITH;

	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_AAA:
	case ZYDIS_MNEMONIC_AAS: {
		bool adjust = (al & 0xf) > 9 || af;
		if (adjust) {
			uint16_t ax = (uint16_t)(al | ah << 8);
			if (in->zi.mnemonic == ZYDIS_MNEMONIC_AAA)
				ax = (uint16_t)(ax + 0x106);
			else
				ax = (uint16_t)((ax - 6) - 0x100);
			al = (uint8_t)ax;
			ah = (uint8_t)(ax >> 8);
		}
		al &= 0xf;
		vm->frame->rflags &= ~(uint64_t)clear;
		rt_set_flag(vm, RT_FL_AF | RT_FL_CF, adjust);
		rt_set_flag(vm, RT_FL_ZF, al == 0);
		rt_set_flag(vm, RT_FL_PF, rt_parity(al));
		break;
	}
	case ZYDIS_MNEMONIC_DAA:
	case ZYDIS_MNEMONIC_DAS: {
		bool add = in->zi.mnemonic == ZYDIS_MNEMONIC_DAA;
		uint8_t old_al = al;
		bool new_cf = false, new_af = false;
		if ((al & 0xf) > 9 || af) {
			new_cf = cf || (add ? al > 0xf9 : al < 6);
			al = (uint8_t)(add ? al + 6 : al - 6);
			new_af = true;
		}
		if (old_al > 0x99 || cf) {
			al = (uint8_t)(add ? al + 0x60 : al - 0x60);
			new_cf = true;
		}
		vm->frame->rflags &= ~(uint64_t)clear;
		rt_set_flag(vm, RT_FL_CF, new_cf);
		rt_set_flag(vm, RT_FL_AF, new_af);
		rt_bcd_szp(vm, al);
		break;
	}
	case ZYDIS_MNEMONIC_AAM: {
		uint8_t base = (uint8_t)in->ops[0].imm.value.u;
		if (base == 0)
			return rt_raise(vm, RT_EXC_DE, 0, false), RT_CO_FAULT;
		ah = al / base;
		al = al % base;
		vm->frame->rflags &= ~(uint64_t)clear;
		rt_bcd_szp(vm, al);
		break;
	}
	default: { /* AAD */
		uint8_t base = (uint8_t)in->ops[0].imm.value.u;
		al = (uint8_t)(al + ah * base);
		ah = 0;
		vm->frame->rflags &= ~(uint64_t)clear;
		rt_bcd_szp(vm, al);
		break;
	}
	}
	*eax = (*eax & 0xffff0000u) | (uint32_t)ah << 8 | al;
	return RT_CO_NEXT;
}
