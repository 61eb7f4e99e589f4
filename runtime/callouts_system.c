/* Callouts on system state: control and debug registers, MSRs, descriptor-table registers,
 * LDTR/TR, the machine status word, and the segment checks lar/lsl/verr/verw. */
#include <x86intrin.h>

#include "runtime/callouts.h"

/* CR4 bits the virtual CPU implements (TSD, DE, PSE, PGE, PCE, OSFXSR, OSXMMEXCPT). */
#define RT_CR4_SUPPORTED 0x79cu

static int rt_write_cr0(struct rt_vm *vm, uint32_t value)
{
	if ((value & RT_CR0_PG) && !(value & RT_CR0_PE))
		return rt_raise(vm, RT_EXC_GP, 0, true);
	if ((value & RT_CR0_NW) && !(value & RT_CR0_CD))
		return rt_raise(vm, RT_EXC_GP, 0, true);
	if (!(value & RT_CR0_PE)) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL, "real mode is not supported (EIP %#x)",
			   vm->cpu.eip);
		return -1;
	}
	/* ET is hardwired to 1 on P6 and later; bits 6..15, 19..28 read as written but keep 0. */
	uint32_t old = vm->cpu.cr0;
	vm->cpu.cr0 = (value & 0xe005003fu) | RT_CR0_ET;
	rt_paging_changed(vm, old, vm->cpu.cr4, false);
	return 0;
}

RT_CO(mov_cr)
{
	(void)exit;
	if (!rt_require_cpl0(vm))
		return RT_CO_FAULT;
	const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
	bool to_cr = ZydisRegisterGetClass(dst->reg.value) == ZYDIS_REGCLASS_CONTROL;
	int n = ZydisRegisterGetId(to_cr ? dst->reg.value : src->reg.value);
	struct rt_vcpu *cpu = &vm->cpu;
	if (n != 0 && n != 2 && n != 3 && n != 4)
		return rt_raise(vm, RT_EXC_UD, 0, false), RT_CO_FAULT;
	if (!to_cr) {
		uint32_t v = n == 0 ? cpu->cr0 : n == 2 ? cpu->cr2 : n == 3 ? cpu->cr3 : cpu->cr4;
		rt_reg_write(vm, dst->reg.value, v);
		return RT_CO_NEXT;
	}
	uint32_t v = rt_reg_read(vm, src->reg.value);
	switch (n) {
	case 0:
		return rt_write_cr0(vm, v) < 0 ? RT_CO_FAULT : RT_CO_NEXT;
	case 2:
		cpu->cr2 = v;
		return RT_CO_NEXT;
	case 3:
		cpu->cr3 = v & 0xfffff018u;
		trc_event(vm->trace, TRC_EV_CR3, cpu->cr3, 0, 0);
		rt_paging_changed(vm, cpu->cr0, cpu->cr4, true);
		return RT_CO_NEXT;
	default: {
		if (v & ~RT_CR4_SUPPORTED)
			return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
		uint32_t old = cpu->cr4;
		cpu->cr4 = v;
		rt_paging_changed(vm, cpu->cr0, old, false);
		return RT_CO_NEXT;
	}
	}
}

RT_CO(mov_dr)
{
	(void)exit;
	if (!rt_require_cpl0(vm))
		return RT_CO_FAULT;
	const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
	bool to_dr = ZydisRegisterGetClass(dst->reg.value) == ZYDIS_REGCLASS_DEBUG;
	int n = ZydisRegisterGetId(to_dr ? dst->reg.value : src->reg.value);
	if (n == 4 || n == 5) {
		if (vm->cpu.cr4 & 8u)
			return rt_raise(vm, RT_EXC_UD, 0, false), RT_CO_FAULT;
		n += 2;
	}
	/* XXX: breakpoints in DR0-3/DR7 are stored but not acted on. */
	if (to_dr) {
		uint32_t v = rt_reg_read(vm, src->reg.value);
		if (n == 6)
			v = (v & 0xe00fu) | 0xffff0ff0u;
		else if (n == 7)
			v = (v & 0xffff2bffu) | 0x400u;
		vm->cpu.dr[n] = v;
	} else {
		uint32_t v = vm->cpu.dr[n];
		if (n == 6)
			v |= 0xffff0ff0u;
		if (n == 7)
			v |= 0x400u;
		rt_reg_write(vm, dst->reg.value, v);
	}
	return RT_CO_NEXT;
}

enum {
	RT_MSR_TSC = 0x10,
	RT_MSR_PLATFORM_ID = 0x17,
	RT_MSR_BIOS_SIGN = 0x8b,
	RT_MSR_SYSENTER_CS = 0x174,
	RT_MSR_SYSENTER_ESP = 0x175,
	RT_MSR_SYSENTER_EIP = 0x176,
	RT_MSR_MISC_ENABLE = 0x1a0
};

RT_CO(rdmsr)
{
	(void)exit;
	(void)in;
	if (!rt_require_cpl0(vm))
		return RT_CO_FAULT;
	uint32_t *gpr = vm->frame->gpr;
	uint64_t v;
	switch (gpr[TR_ECX]) {
	case RT_MSR_TSC:
		v = __rdtsc() - vm->tsc_at_start;
		break;
	case RT_MSR_PLATFORM_ID:
		v = 0;
		break;
	case RT_MSR_BIOS_SIGN:
		v = 1ull << 32; /* microcode revision 1 in EDX, as QEMU reports */
		break;
	case RT_MSR_SYSENTER_CS:
		v = vm->cpu.sysenter_cs;
		break;
	case RT_MSR_SYSENTER_ESP:
		v = vm->cpu.sysenter_esp;
		break;
	case RT_MSR_SYSENTER_EIP:
		v = vm->cpu.sysenter_eip;
		break;
	case RT_MSR_MISC_ENABLE:
		v = 1; /* fast strings */
		break;
	default:
		if (!rt_pv_rdmsr(vm, gpr[TR_ECX], &v))
			return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
		break;
	}
	gpr[TR_EAX] = (uint32_t)v;
	gpr[TR_EDX] = (uint32_t)(v >> 32);
	return RT_CO_NEXT;
}

RT_CO(wrmsr)
{
	(void)exit;
	(void)in;
	if (!rt_require_cpl0(vm))
		return RT_CO_FAULT;
	uint32_t *gpr = vm->frame->gpr;
	uint64_t v = (uint64_t)gpr[TR_EDX] << 32 | gpr[TR_EAX];
	switch (gpr[TR_ECX]) {
	case RT_MSR_TSC:
		vm->tsc_at_start = __rdtsc() - v;
		vm->frame->tsc_offset = 0 - vm->tsc_at_start;
		rt_pv_tsc_written(vm);
		break;
	case RT_MSR_BIOS_SIGN:
		break;
	case RT_MSR_SYSENTER_CS:
		vm->cpu.sysenter_cs = (uint32_t)v & 0xffff;
		break;
	case RT_MSR_SYSENTER_ESP:
		vm->cpu.sysenter_esp = (uint32_t)v;
		break;
	case RT_MSR_SYSENTER_EIP:
		vm->cpu.sysenter_eip = (uint32_t)v;
		break;
	default:
		if (!rt_pv_wrmsr(vm, gpr[TR_ECX], v))
			return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
		break;
	}
	return RT_CO_NEXT;
}

RT_CO(desc_table)
{
	(void)exit;
	ZydisMnemonic m = in->zi.mnemonic;
	const ZydisDecodedOperand *op = &in->ops[0];
	bool load = m == ZYDIS_MNEMONIC_LGDT || m == ZYDIS_MNEMONIC_LIDT;
	bool gdt = m == ZYDIS_MNEMONIC_LGDT || m == ZYDIS_MNEMONIC_SGDT;
	if (op->type != ZYDIS_OPERAND_TYPE_MEMORY)
		return rt_raise(vm, RT_EXC_UD, 0, false), RT_CO_FAULT;
	enum rt_sreg seg = rt_operand_segment(op);
	uint32_t off = rt_operand_offset(vm, op);
	struct rt_vcpu *cpu = &vm->cpu;
	if (load) {
		if (!rt_require_cpl0(vm))
			return RT_CO_FAULT;
		uint16_t limit;
		uint32_t base;
		if (rt_read_seg(vm, seg, off, &limit, 2) < 0 ||
		    rt_read_seg(vm, seg, off + 2, &base, 4) < 0)
			return RT_CO_FAULT;
		if (in->zi.operand_width == 16)
			base &= 0xffffff;
		if (gdt) {
			cpu->gdtr.base = base;
			cpu->gdtr.limit = limit;
		} else {
			cpu->idtr.base = base;
			cpu->idtr.limit = limit;
		}
		return RT_CO_NEXT;
	}
	uint16_t limit = gdt ? cpu->gdtr.limit : cpu->idtr.limit;
	uint32_t base = gdt ? cpu->gdtr.base : cpu->idtr.base;
	if (rt_write_seg(vm, seg, off, &limit, 2) < 0 ||
	    rt_write_seg(vm, seg, off + 2, &base, 4) < 0)
		return RT_CO_FAULT;
	return RT_CO_NEXT;
}

RT_CO(sys_seg)
{
	(void)exit;
	ZydisMnemonic m = in->zi.mnemonic;
	struct rt_vcpu *cpu = &vm->cpu;
	if (m == ZYDIS_MNEMONIC_SLDT || m == ZYDIS_MNEMONIC_STR) {
		uint32_t sel = m == ZYDIS_MNEMONIC_SLDT ? cpu->ldtr.selector : cpu->tr.selector;
		return rt_operand_write(vm, &in->ops[0], sel) < 0 ? RT_CO_FAULT : RT_CO_NEXT;
	}
	if (!rt_require_cpl0(vm))
		return RT_CO_FAULT;
	uint32_t value;
	if (rt_operand_read(vm, &in->ops[0], &value) < 0)
		return RT_CO_FAULT;
	uint16_t sel = (uint16_t)value;
	bool ldt = m == ZYDIS_MNEMONIC_LLDT;
	if ((sel & 0xfffc) == 0) {
		if (!ldt)
			return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
		cpu->ldtr = (struct rt_segment){.selector = sel, .valid = false};
		return RT_CO_NEXT;
	}
	uint64_t desc;
	int rc = (sel & 4) ? -1 : rt_read_descriptor(vm, sel, &desc);
	if (rc == -2)
		return RT_CO_FAULT;
	uint16_t access = (uint16_t)((desc >> 40) & 0xf0ff);
	unsigned type = RT_ACC_TYPE(access);
	bool type_ok = ldt ? type == 2 : (type == 1 || type == 9);
	if (rc < 0 || RT_ACC_S(access) || !type_ok)
		return rt_raise(vm, RT_EXC_GP, sel & 0xfffcu, true), RT_CO_FAULT;
	if (!RT_ACC_P(access))
		return rt_raise(vm, RT_EXC_NP, sel & 0xfffcu, true), RT_CO_FAULT;
	if (ldt) {
		rt_segment_from_descriptor(&cpu->ldtr, sel, desc);
	} else {
		desc |= 2ull << 40; /* busy */
		if (rt_write_sys(vm, cpu->gdtr.base + (sel & ~7u), &desc, 8) < 0)
			return RT_CO_FAULT;
		rt_segment_from_descriptor(&cpu->tr, sel, desc);
	}
	return RT_CO_NEXT;
}

RT_CO(msw)
{
	(void)exit;
	struct rt_vcpu *cpu = &vm->cpu;
	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_SMSW:
		/* A register destination of 32 bits gets all of CR0, as QEMU and recent CPUs do. */
		return rt_operand_write(vm, &in->ops[0], cpu->cr0) < 0 ? RT_CO_FAULT : RT_CO_NEXT;
	case ZYDIS_MNEMONIC_LMSW: {
		if (!rt_require_cpl0(vm))
			return RT_CO_FAULT;
		uint32_t v;
		if (rt_operand_read(vm, &in->ops[0], &v) < 0)
			return RT_CO_FAULT;
		/* LMSW can set PE but never clear it, and only touches PE, MP, EM, TS. */
		cpu->cr0 = (cpu->cr0 & ~0xeu) | (v & 0xfu) | (cpu->cr0 & RT_CR0_PE);
		return RT_CO_NEXT;
	}
	default: /* clts */
		if (!rt_require_cpl0(vm))
			return RT_CO_FAULT;
		cpu->cr0 &= ~RT_CR0_TS;
		return RT_CO_NEXT;
	}
}

/* Is the descriptor visible to LAR/LSL/VERR/VERW at this CPL and RPL? */
static bool rt_seg_check_privilege(const struct rt_vm *vm, uint16_t access, uint16_t sel)
{
	bool conforming_code = RT_ACC_S(access) && (RT_ACC_TYPE(access) & 0xc) == 0xc;
	unsigned dpl = RT_ACC_DPL(access);
	return conforming_code || (dpl >= (unsigned)vm->cpu.cpl && dpl >= (sel & 3u));
}

RT_CO(seg_check)
{
	(void)exit;
	ZydisMnemonic m = in->zi.mnemonic;
	const ZydisDecodedOperand *src =
	    (m == ZYDIS_MNEMONIC_LAR || m == ZYDIS_MNEMONIC_LSL) ? &in->ops[1] : &in->ops[0];
	uint32_t value;
	if (rt_operand_read(vm, src, &value) < 0)
		return RT_CO_FAULT;
	uint16_t sel = (uint16_t)value;
	uint64_t desc = 0;
	bool ok = (sel & 0xfffc) != 0;
	if (ok) {
		int rc = rt_read_descriptor(vm, sel, &desc);
		if (rc == -2)
			return RT_CO_FAULT;
		ok = rc == 0;
	}
	uint16_t access = (uint16_t)((desc >> 40) & 0xf0ff);
	unsigned type = RT_ACC_TYPE(access);
	if (ok && !RT_ACC_S(access)) {
		static const uint16_t lar_types =
		    1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 9 | 1u << 11 | 1u << 12;
		static const uint16_t lsl_types = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 9 | 1u << 11;
		if (m == ZYDIS_MNEMONIC_LAR)
			ok = lar_types & (1u << type);
		else if (m == ZYDIS_MNEMONIC_LSL)
			ok = lsl_types & (1u << type);
		else
			ok = false;
	}
	if (ok && RT_ACC_S(access)) {
		bool code = type & 8;
		if (m == ZYDIS_MNEMONIC_VERR)
			ok = !code || (type & 2);
		else if (m == ZYDIS_MNEMONIC_VERW)
			ok = !code && (type & 2);
	}
	if (ok)
		ok = rt_seg_check_privilege(vm, access, sel) ||
		     (RT_ACC_S(access) && (type & 0xc) == 0xc && m != ZYDIS_MNEMONIC_VERW);
	rt_set_flag(vm, RT_FL_ZF, ok);
	if (!ok)
		return RT_CO_NEXT;
	if (m == ZYDIS_MNEMONIC_LAR) {
		uint32_t ar = (uint32_t)(desc >> 32) & 0x00f0ff00u;
		if (rt_operand_write(vm, &in->ops[0], ar) < 0)
			return RT_CO_FAULT;
	} else if (m == ZYDIS_MNEMONIC_LSL) {
		struct rt_segment s;
		rt_segment_from_descriptor(&s, sel, desc);
		if (rt_operand_write(vm, &in->ops[0], s.limit) < 0)
			return RT_CO_FAULT;
	}
	return RT_CO_NEXT;
}
