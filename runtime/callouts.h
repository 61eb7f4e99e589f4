/* Private to runtime/: the callout handlers. Each performs one guest instruction in C.
 * Return: RT_CO_NEXT to continue after the instruction, RT_CO_JUMPED when the handler set EIP
 * itself, RT_CO_FAULT when it raised an exception (EIP stays on the instruction). */
#ifndef BT86_RT_CALLOUTS_H
#define BT86_RT_CALLOUTS_H

#include "runtime/rt_internal.h"

enum rt_co_result { RT_CO_NEXT, RT_CO_JUMPED, RT_CO_FAULT };

/* A rep string instruction performed in C does at most this many iterations per callout and
 * then runs again from the dispatcher (EIP still on it, the registers committed), as the CPU
 * lets interrupts in between iterations: a guest's rep with ECX = 4G cannot hold the monitor,
 * and timers, the time limit and Ctrl-A x are noticed in between. */
#define RT_REP_BATCH 4096u

#define RT_CO(name)                                                                                \
	enum rt_co_result rt_co_##name(struct rt_vm *vm, const struct tr_exit *exit,               \
				       struct rt_insn *in)
RT_CO(undefined);
RT_CO(unsupported);
RT_CO(int_n);
RT_CO(int3);
RT_CO(hypercall);
RT_CO(into);
RT_CO(iret);
RT_CO(hlt);
RT_CO(cli);
RT_CO(sti);
RT_CO(pushf);
RT_CO(popf);
RT_CO(in);
RT_CO(out);
RT_CO(ins);
RT_CO(outs);
RT_CO(string);
RT_CO(cpuid);
RT_CO(rdtsc);
RT_CO(rdmsr);
RT_CO(wrmsr);
RT_CO(mov_cr);
RT_CO(mov_dr);
RT_CO(desc_table);
RT_CO(sys_seg);
RT_CO(msw);
RT_CO(seg_check);
RT_CO(mov_sreg);
RT_CO(push_sreg);
RT_CO(pop_sreg);
RT_CO(load_far_ptr);
RT_CO(jmp_far);
RT_CO(call_far);
RT_CO(ret_far);
RT_CO(bcd);
RT_CO(bound);
RT_CO(arpl);
RT_CO(salc);
RT_CO(cache);
RT_CO(sysenter);
RT_CO(sysexit);
RT_CO(enter);
RT_CO(pusha16);
RT_CO(fpu_trap);
RT_CO(seg_fault);
RT_CO(stack);

/* #GP(0) unless running at CPL 0. */
bool rt_require_cpl0(struct rt_vm *vm);
/* Set or clear one arithmetic flag. */
void rt_set_flag(struct rt_vm *vm, uint32_t flag, bool on);

#endif
