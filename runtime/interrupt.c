/* Exceptions and interrupts through the guest IDT, and IRET (SDM Vol. 3 §6-7).
 *
 * Delivery builds the new stack frame in guest memory first and commits registers only at the
 * end, so a fault during delivery leaves the interrupted state intact for the #DF that follows.
 * A fault while delivering #DF is a triple fault: the VM stops with a diagnostic.
 */
#include "runtime/rt_internal.h"

int rt_raise(struct rt_vm *vm, uint8_t vector, uint32_t error, bool has_error)
{
	vm->cpu.event = (struct rt_event){
	    .pending = true, .vector = vector, .error = error, .has_error = has_error};
	return -1;
}

static bool rt_is_contributory(uint8_t v)
{
	return v == RT_EXC_DE || v == RT_EXC_TS || v == RT_EXC_NP || v == RT_EXC_SS ||
	       v == RT_EXC_GP;
}

/* Push onto the frame being built at ss:esp (committed only by the caller). The frame is
 * written with the privilege of the handler: a supervisor access when it runs at CPL 0-2. */
static int rt_frame_push(struct rt_vm *vm, uint32_t ss_base, uint32_t *esp, uint32_t value,
			 unsigned size, bool supervisor)
{
	*esp -= size;
	if (supervisor)
		return rt_write_sys(vm, ss_base + *esp, &value, size);
	return rt_write_linear(vm, ss_base + *esp, &value, size);
}

static int rt_deliver_one(struct rt_vm *vm, const struct rt_event *ev)
{
	struct rt_vcpu *cpu = &vm->cpu;
	uint32_t ext = ev->soft ? 0 : 1;
	uint32_t idt_err = (uint32_t)ev->vector * 8 + 2 + ext;
	uint64_t gate;

	if ((uint32_t)ev->vector * 8 + 7 > cpu->idtr.limit)
		return rt_raise(vm, RT_EXC_GP, idt_err, true);
	if (rt_read_sys(vm, cpu->idtr.base + ev->vector * 8u, &gate, 8) < 0)
		return -1;
	unsigned type = (unsigned)(gate >> 40) & 0x1f; /* with the S bit */
	unsigned gate_dpl = (unsigned)(gate >> 45) & 3;
	bool gate_present = (gate >> 47) & 1;
	bool is32 = type == 0x0e || type == 0x0f;
	bool trap_gate = type == 0x0f || type == 0x07;
	if (type == 0x05) {
		/* XXX: task gates (a hardware task switch) are not modelled yet. */
		rt_vm_stop(vm, RT_STATUS_INTERNAL, "task gate for vector %u is not supported yet",
			   ev->vector);
		return -1;
	}
	if (type != 0x0e && type != 0x0f && type != 0x06 && type != 0x07)
		return rt_raise(vm, RT_EXC_GP, idt_err, true);
	if (ev->soft && gate_dpl < (unsigned)cpu->cpl)
		return rt_raise(vm, RT_EXC_GP, idt_err, true);
	if (!gate_present)
		return rt_raise(vm, RT_EXC_NP, idt_err, true);

	uint16_t sel = (uint16_t)(gate >> 16);
	uint32_t offset = (uint32_t)(gate & 0xffff) | (uint32_t)((gate >> 32) & 0xffff0000);
	if (!is32)
		offset &= 0xffff;
	uint64_t desc;
	if ((sel & 0xfffc) == 0)
		return rt_raise(vm, RT_EXC_GP, ext, true);
	int rc = rt_read_descriptor(vm, sel, &desc);
	if (rc == -2)
		return -1;
	uint16_t access = (uint16_t)((desc >> 40) & 0xf0ff);
	unsigned dpl = RT_ACC_DPL(access);
	if (rc < 0 || !RT_ACC_S(access) || !(RT_ACC_TYPE(access) & 8) || dpl > (unsigned)cpu->cpl)
		return rt_raise(vm, RT_EXC_GP, (sel & 0xfffcu) + ext, true);
	if (!RT_ACC_P(access))
		return rt_raise(vm, RT_EXC_NP, (sel & 0xfffcu) + ext, true);

	bool conforming = RT_ACC_TYPE(access) & 4;
	int new_cpl = conforming ? cpu->cpl : (int)dpl;
	unsigned size = is32 ? 4 : 2;
	uint32_t eflags = rt_get_eflags(cpu);
	uint32_t old_esp = cpu->frame->gpr[TR_ESP];
	struct rt_segment new_ss = cpu->seg[RT_SS];
	uint32_t esp = old_esp;
	bool sup = new_cpl < 3;

	if (new_cpl < cpu->cpl) {
		/* Inner privilege: the new stack comes from the TSS. */
		uint32_t tss_esp = 0;
		uint16_t tss_ss = 0;
		uint32_t slot = 4 + 8 * (uint32_t)new_cpl;
		if (slot + 6 > cpu->tr.limit)
			return rt_raise(vm, RT_EXC_TS, (cpu->tr.selector & 0xfffcu) + ext, true);
		if (rt_read_sys(vm, cpu->tr.base + slot, &tss_esp, 4) < 0 ||
		    rt_read_sys(vm, cpu->tr.base + slot + 4, &tss_ss, 2) < 0)
			return -1;
		uint64_t ss_desc;
		rc = rt_read_descriptor(vm, tss_ss, &ss_desc);
		if (rc == -2)
			return -1;
		uint16_t ss_acc = (uint16_t)((ss_desc >> 40) & 0xf0ff);
		if ((tss_ss & 0xfffc) == 0 || rc < 0 || (tss_ss & 3) != (unsigned)new_cpl ||
		    RT_ACC_DPL(ss_acc) != (unsigned)new_cpl || !RT_ACC_S(ss_acc) ||
		    (RT_ACC_TYPE(ss_acc) & 0xa) != 0x2)
			return rt_raise(vm, RT_EXC_TS, (tss_ss & 0xfffcu) + ext, true);
		if (!RT_ACC_P(ss_acc))
			return rt_raise(vm, RT_EXC_SS, (tss_ss & 0xfffcu) + ext, true);
		rt_segment_from_descriptor(&new_ss, tss_ss, ss_desc);
		esp = tss_esp;
		if (rt_frame_push(vm, new_ss.base, &esp, cpu->seg[RT_SS].selector, size, sup) < 0 ||
		    rt_frame_push(vm, new_ss.base, &esp, old_esp, size, sup) < 0)
			return -1;
	}
	uint32_t return_eip = ev->trap ? ev->return_eip : cpu->eip;
	if (rt_frame_push(vm, new_ss.base, &esp, eflags, size, sup) < 0 ||
	    rt_frame_push(vm, new_ss.base, &esp, cpu->seg[RT_CS].selector, size, sup) < 0 ||
	    rt_frame_push(vm, new_ss.base, &esp, return_eip, size, sup) < 0)
		return -1;
	if (ev->has_error && rt_frame_push(vm, new_ss.base, &esp, ev->error, size, sup) < 0)
		return -1;

	/* Commit. Data segment registers keep their values across an inner-ring transition
	 * (only a virtual-8086 interrupt clears them; XXX: v8086 is not modelled). */
	if (new_cpl < cpu->cpl)
		cpu->seg[RT_SS] = new_ss;
	cpu->frame->gpr[TR_ESP] = esp;
	rt_load_cs(vm, sel, desc, new_cpl);
	cpu->eip = offset;
	eflags &= ~(RT_FL_TF | RT_FL_NT | RT_FL_RF | RT_FL_VM);
	if (!trap_gate)
		eflags &= ~RT_FL_IF;
	rt_set_eflags(cpu, eflags);
	return 0;
}

void rt_deliver_pending(struct rt_vm *vm)
{
	struct rt_vcpu *cpu = &vm->cpu;
	struct rt_event ev = cpu->event;
	cpu->event.pending = false;
	vm->counters.exceptions++;
	trc_event(vm->trace, TRC_EV_EXCEPTION, ev.vector, ev.error, cpu->eip);
	if (vm->config.stop_on_exception) {
		vm->stopped_at = ev;
		rt_vm_stop(vm, RT_STATUS_INTERNAL, "exception %u at EIP %#x", ev.vector, cpu->eip);
		return;
	}
	if (getenv("BT86_DEBUG"))
		fprintf(stderr, "deliver %u err %#x eip %#x esp %#x\n", ev.vector, ev.error,
			cpu->eip, cpu->frame->gpr[4]);

	if (rt_deliver_one(vm, &ev) == 0 || vm->exit_status >= 0)
		return;
	/* Delivery itself faulted (SDM Vol. 3 Table 6-5). */
	struct rt_event second = cpu->event;
	if (ev.vector == RT_EXC_DF) {
		cpu->event.pending = false;
		rt_vm_stop(vm, RT_STATUS_TRIPLE_FAULT,
			   "triple fault at EIP %#x (vector %u while delivering a double fault)",
			   cpu->eip, second.vector);
		return;
	}
	bool first_contrib = rt_is_contributory(ev.vector);
	bool second_contrib = rt_is_contributory(second.vector);
	if ((first_contrib && second_contrib) ||
	    (ev.vector == RT_EXC_PF && (second_contrib || second.vector == RT_EXC_PF)))
		rt_raise(vm, RT_EXC_DF, 0, true);
	/* Otherwise the second exception is simply delivered next. */
}

int rt_iret(struct rt_vm *vm, unsigned size)
{
	struct rt_vcpu *cpu = &vm->cpu;
	uint32_t esp = cpu->frame->gpr[TR_ESP];
	uint32_t new_eip = 0, new_cs = 0, new_flags = 0;
	uint32_t old_flags = rt_get_eflags(cpu);

	if (old_flags & RT_FL_NT) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "iret with NT set (task return) is not supported");
		return -1;
	}
	if (rt_read_seg(vm, RT_SS, esp, &new_eip, size) < 0 ||
	    rt_read_seg(vm, RT_SS, esp + size, &new_cs, size) < 0 ||
	    rt_read_seg(vm, RT_SS, esp + 2 * size, &new_flags, size) < 0)
		return -1;
	if (size == 2)
		new_flags = (old_flags & 0xffff0000u) | (new_flags & 0xffff);
	if ((new_flags & RT_FL_VM) && cpu->cpl == 0) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL, "iret to virtual-8086 mode is not supported");
		return -1;
	}
	uint16_t sel = (uint16_t)new_cs;
	int rpl = sel & 3;
	uint64_t desc;
	if ((sel & 0xfffc) == 0)
		return rt_raise(vm, RT_EXC_GP, 0, true);
	int rc = rt_read_descriptor(vm, sel, &desc);
	if (rc == -2)
		return -1;
	uint16_t access = (uint16_t)((desc >> 40) & 0xf0ff);
	unsigned dpl = RT_ACC_DPL(access);
	bool conforming = RT_ACC_TYPE(access) & 4;
	if (rc < 0 || rpl < cpu->cpl || !RT_ACC_S(access) || !(RT_ACC_TYPE(access) & 8) ||
	    (conforming ? dpl > (unsigned)rpl : dpl != (unsigned)rpl))
		return rt_raise(vm, RT_EXC_GP, sel & 0xfffcu, true);
	if (!RT_ACC_P(access))
		return rt_raise(vm, RT_EXC_NP, sel & 0xfffcu, true);

	uint32_t new_esp = esp + 3 * size;
	if (rpl > cpu->cpl) {
		uint32_t outer_esp = 0, outer_ss = 0;
		if (rt_read_seg(vm, RT_SS, esp + 3 * size, &outer_esp, size) < 0 ||
		    rt_read_seg(vm, RT_SS, esp + 4 * size, &outer_ss, size) < 0)
			return -1;
		int saved_cpl = cpu->cpl;
		cpu->cpl = rpl; /* SS is checked against the new privilege level */
		rc = rt_load_data_segment(vm, RT_SS, (uint16_t)outer_ss);
		cpu->cpl = saved_cpl;
		if (rc < 0)
			return -1;
		new_esp = outer_esp;
	}

	/* Which flags IRET may change depends on the privilege it runs at. */
	uint32_t changeable = RT_FL_HOST | RT_FL_TF | RT_FL_NT | RT_FL_RF | RT_FL_AC | RT_FL_ID;
	if (cpu->cpl == 0)
		changeable |= RT_FL_IOPL | RT_FL_VIF | RT_FL_VIP;
	if ((unsigned)cpu->cpl <= ((old_flags & RT_FL_IOPL) >> 12))
		changeable |= RT_FL_IF;
	if (size == 2)
		changeable &= 0xffff;
	rt_set_eflags(cpu, (old_flags & ~changeable) | (new_flags & changeable));

	int old_cpl = cpu->cpl;
	rt_load_cs(vm, sel, desc, rpl);
	cpu->eip = size == 2 ? new_eip & 0xffff : new_eip;
	cpu->frame->gpr[TR_ESP] = new_esp;
	if (rpl > old_cpl) {
		/* Data segments more privileged than the new level become null. */
		static const enum rt_sreg data[] = {RT_ES, RT_DS, RT_FS, RT_GS};
		for (size_t i = 0; i < 4; i++) {
			struct rt_segment *s = &cpu->seg[data[i]];
			bool code_conf = (RT_ACC_TYPE(s->access) & 0xc) == 0xc;
			if (s->valid && !code_conf && RT_ACC_DPL(s->access) < (unsigned)rpl)
				*s = (struct rt_segment){.selector = 0, .valid = false};
		}
	}
	return 0;
}
