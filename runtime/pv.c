/* The paravirtual interface (docs/PV.md): KVM's hypercall convention and kvm-clock, so that an
 * unmodified Linux built with CONFIG_KVM_GUEST uses them, and bt86's own hypercalls. Everything
 * here is off unless the VM was created with config.pv. */
#include <string.h>
#include <x86intrin.h>

#include "runtime/callouts.h"

enum {
	RT_KVM_EPERM = 1,
	RT_KVM_E2BIG = 7,
	RT_KVM_EFAULT = 14,
	RT_KVM_EINVAL = 22,
	RT_KVM_ENOSYS = 1000,
};

enum {
	RT_KVM_HC_VAPIC_POLL_IRQ = 1,
	RT_BT86_HC_CONSOLE_WRITE = RT_BT86_HC_BASE + 1,
	RT_BT86_HC_MMU_UPDATE = RT_BT86_HC_BASE + 2,
};

enum {
	RT_MSR_KVM_WALL_CLOCK = 0x11,
	RT_MSR_KVM_SYSTEM_TIME = 0x12,
	RT_MSR_KVM_WALL_CLOCK_NEW = 0x4b564d00,
	RT_MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01,
};

#define RT_PV_CONSOLE_MAX     (1u << 20)
#define RT_PV_MMU_MAX	      65536u
#define RT_PV_MMU_FLUSH_ALL   1u
#define RT_PV_UPDATE_NS	      1000000000ull /* republish kvm-clock every second */
#define RT_PV_CALIBRATE_NS    20000000ull   /* the shortest TSC-rate baseline */
#define RT_PV_MAX_SLEW_PPM    1000
#define RT_PV_TIME_INFO_BYTES 32u

/* One (TSC, CLOCK_MONOTONIC) pair taken as close together as the host allows: the TSC read
 * is the midpoint of two around the clock read, retried while they are far apart. */
static void rt_pv_sample(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	*tsc = 0;
	*ns = 0;
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = __rdtsc();
		uint64_t now = rt_now_ns();
		uint64_t t1 = __rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*ns = now;
		}
	}
}

/* The scale of a pvclock structure for ns_per_tick = ns / ticks: mul / 2^32 * 2^shift with
 * mul's top bit set (Linux's pvclock_scale_delta reads it that way). */
static void rt_pv_scale(unsigned __int128 ns, unsigned __int128 ticks, uint32_t *mul, int8_t *shift)
{
	int s = 0;
	while (ns >= ticks) {
		ticks <<= 1;
		s++;
	}
	while (ns < ticks / 2) {
		ns <<= 1;
		s--;
	}
	*mul = (uint32_t)((ns << 32) / ticks);
	*shift = (int8_t)s;
}

/* What the guest computes from the published structure at guest TSC value tsc. */
static uint64_t rt_pv_guest_ns(const struct rt_pv *pv, uint64_t tsc)
{
	uint64_t delta = tsc - pv->tsc_timestamp;
	if (pv->shift < 0)
		delta >>= -pv->shift;
	else
		delta <<= pv->shift;
	return pv->system_time + (uint64_t)(((unsigned __int128)delta * pv->mul) >> 32);
}

static void rt_pv_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void rt_pv_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Publish the structure (version odd, fields, version even), as the ABI's version protocol
 * asks; the guest is not running meanwhile, but a read it started before this exit must see
 * the version change and retry. */
static void rt_pv_publish(struct rt_vm *vm)
{
	struct rt_pv *pv = &vm->pv;
	uint8_t info[RT_PV_TIME_INFO_BYTES] = {0};
	pv->version += 1;
	rt_pv_put32(info, pv->version);
	rt_vm_write_phys(vm, pv->time_info_gpa, info, 4);
	pv->version += 1;
	rt_pv_put32(info, pv->version);
	rt_pv_put64(info + 8, pv->tsc_timestamp);
	rt_pv_put64(info + 16, pv->system_time);
	rt_pv_put32(info + 24, pv->mul);
	info[28] = (uint8_t)pv->shift;
	info[29] = 0; /* flags: no PVCLOCK_TSC_STABLE_BIT */
	rt_vm_write_phys(vm, pv->time_info_gpa, info, sizeof info);
	vm->counters.kvmclock_updates++;
}

/* Re-time the clock at host time now: continuous with what the guest saw so far, with the
 * TSC's rate over the whole run and a correction that works off the error against
 * CLOCK_MONOTONIC in the next update period. */
static void rt_pv_retime(struct rt_vm *vm)
{
	struct rt_pv *pv = &vm->pv;
	uint64_t host_tsc = 0, now = 0;
	rt_pv_sample(&host_tsc, &now);
	uint64_t true_ns = now - pv->start_ns;
	/* In the guest TSC of the last structure: a wrmsr to the TSC since moved the offset. */
	uint64_t guest_ns = pv->mul ? rt_pv_guest_ns(pv, host_tsc - pv->published_offset) : true_ns;
	int64_t error = (int64_t)(guest_ns - true_ns);
	int64_t max = (int64_t)(RT_PV_UPDATE_NS / 1000000 * RT_PV_MAX_SLEW_PPM);
	if (error > max)
		error = max;
	if (error < -max)
		error = -max;
	unsigned __int128 ns = (unsigned __int128)(now - pv->start_ns_host) *
			       (uint64_t)((int64_t)RT_PV_UPDATE_NS - error);
	unsigned __int128 ticks =
	    (unsigned __int128)(host_tsc - pv->start_tsc_host) * RT_PV_UPDATE_NS;
	pv->published_offset = vm->tsc_at_start;
	pv->tsc_timestamp = host_tsc - vm->tsc_at_start;
	pv->system_time = guest_ns;
	rt_pv_scale(ns, ticks, &pv->mul, &pv->shift);
	pv->next_update_ns = now + RT_PV_UPDATE_NS;
	rt_pv_publish(vm);
}

void rt_pv_init(struct rt_vm *vm)
{
	struct rt_pv *pv = &vm->pv;
	memset(pv, 0, sizeof *pv);
	pv->next_update_ns = UINT64_MAX;
	rt_pv_sample(&pv->start_tsc_host, &pv->start_ns_host);
	pv->start_ns = pv->start_ns_host; /* kvm-clock zero: the VM's creation */
}

void rt_pv_poll(struct rt_vm *vm, uint64_t now)
{
	if (vm->pv.time_info_on && now >= vm->pv.next_update_ns)
		rt_pv_retime(vm);
}

void rt_pv_tsc_written(struct rt_vm *vm)
{
	if (vm->pv.time_info_on)
		rt_pv_retime(vm);
}

static void rt_pv_enable_clock(struct rt_vm *vm, uint64_t msr_value)
{
	struct rt_pv *pv = &vm->pv;
	uint32_t gpa = (uint32_t)msr_value & ~1u;
	pv->time_info_on = false;
	pv->next_update_ns = UINT64_MAX;
	if (!(msr_value & 1) || (uint64_t)gpa + RT_PV_TIME_INFO_BYTES > smmu_ram_size(vm->mmu) ||
	    (gpa & 0xfff) > 4096 - RT_PV_TIME_INFO_BYTES)
		return;
	/* The guest derives its TSC frequency from the first structure (Linux's tsc_khz comes
	 * from it): measure the rate over a baseline long enough to be right to a few ppm. */
	uint64_t now = rt_now_ns();
	if (now - pv->start_ns_host < RT_PV_CALIBRATE_NS) {
		struct timespec rest = {0, (long)(RT_PV_CALIBRATE_NS - (now - pv->start_ns_host))};
		while (nanosleep(&rest, &rest) != 0)
			;
	}
	pv->time_info_gpa = gpa;
	pv->time_info_on = true;
	rt_pv_retime(vm);
}

/* struct pvclock_wall_clock: UTC at kvm-clock zero. */
static void rt_pv_write_wall_clock(struct rt_vm *vm, uint32_t gpa)
{
	struct rt_pv *pv = &vm->pv;
	if ((uint64_t)gpa + 12 > smmu_ram_size(vm->mmu))
		return;
	struct timespec real;
	clock_gettime(CLOCK_REALTIME, &real);
	uint64_t host_tsc = 0, now = 0;
	rt_pv_sample(&host_tsc, &now);
	uint64_t since_zero = pv->time_info_on ? rt_pv_guest_ns(pv, host_tsc - pv->published_offset)
					       : now - pv->start_ns;
	uint64_t boot = (uint64_t)real.tv_sec * 1000000000ull + (uint64_t)real.tv_nsec - since_zero;
	uint8_t wall[12];
	rt_pv_put32(wall, ++pv->wall_version);
	rt_vm_write_phys(vm, gpa, wall, 4);
	rt_pv_put32(wall, ++pv->wall_version);
	rt_pv_put32(wall + 4, (uint32_t)(boot / 1000000000ull));
	rt_pv_put32(wall + 8, (uint32_t)(boot % 1000000000ull));
	rt_vm_write_phys(vm, gpa, wall, sizeof wall);
}

bool rt_pv_rdmsr(struct rt_vm *vm, uint32_t msr, uint64_t *value)
{
	if (!vm->config.pv)
		return false;
	switch (msr) {
	case RT_MSR_KVM_WALL_CLOCK:
	case RT_MSR_KVM_WALL_CLOCK_NEW:
		*value = vm->pv.wall_clock_msr;
		return true;
	case RT_MSR_KVM_SYSTEM_TIME:
	case RT_MSR_KVM_SYSTEM_TIME_NEW:
		*value = vm->pv.system_time_msr;
		return true;
	default:
		return false;
	}
}

bool rt_pv_wrmsr(struct rt_vm *vm, uint32_t msr, uint64_t value)
{
	if (!vm->config.pv)
		return false;
	switch (msr) {
	case RT_MSR_KVM_WALL_CLOCK:
	case RT_MSR_KVM_WALL_CLOCK_NEW:
		vm->pv.wall_clock_msr = value;
		rt_pv_write_wall_clock(vm, (uint32_t)value);
		return true;
	case RT_MSR_KVM_SYSTEM_TIME:
	case RT_MSR_KVM_SYSTEM_TIME_NEW:
		vm->pv.system_time_msr = value;
		rt_pv_enable_clock(vm, value);
		return true;
	default:
		return false;
	}
}

/* Guest linear memory read with supervisor rights, page by page, raising nothing: calls
 * use(ctx, bytes, n) for each piece, or returns -1 if a byte is not mapped RAM (before any
 * call when check_only, which is how a caller makes the whole access fail or succeed). */
static int rt_pv_guest_pieces(struct rt_vm *vm, uint32_t linear, size_t len, bool check_only,
			      void (*use)(void *ctx, const uint8_t *bytes, size_t n), void *ctx)
{
	while (len > 0) {
		uint32_t phys, pf_error;
		size_t chunk = 4096 - (linear & 0xfff);
		if (chunk > len)
			chunk = len;
		if (smmu_translate(vm->mmu, linear, SMMU_ACCESS_READ, &phys, &pf_error) < 0 ||
		    (uint64_t)phys + chunk > smmu_ram_size(vm->mmu))
			return -1;
		if (!check_only)
			use(ctx, smmu_ram(vm->mmu) + phys, chunk);
		linear += (uint32_t)chunk;
		len -= chunk;
	}
	return 0;
}

static void rt_pv_copy_piece(void *ctx, const uint8_t *bytes, size_t n)
{
	uint8_t **dst = ctx;
	memcpy(*dst, bytes, n);
	*dst += n;
}

static int rt_pv_read_guest(struct rt_vm *vm, uint32_t linear, void *buf, size_t len)
{
	uint8_t *dst = buf;
	return rt_pv_guest_pieces(vm, linear, len, false, rt_pv_copy_piece, &dst);
}

static void rt_pv_console_piece(void *ctx, const uint8_t *bytes, size_t n)
{
	dev_console_write(ctx, bytes, n);
}

static int32_t rt_pv_console_write(struct rt_vm *vm, uint32_t linear, uint32_t len)
{
	if (len > RT_PV_CONSOLE_MAX)
		return -RT_KVM_E2BIG;
	if (rt_pv_guest_pieces(vm, linear, len, true, NULL, NULL) < 0)
		return -RT_KVM_EFAULT;
	rt_pv_guest_pieces(vm, linear, len, false, rt_pv_console_piece, vm->bus);
	vm->counters.pv_console_bytes += len;
	return (int32_t)len;
}

static int32_t rt_pv_mmu_update(struct rt_vm *vm, uint32_t linear, uint32_t count, uint32_t flags)
{
	if (flags & ~RT_PV_MMU_FLUSH_ALL)
		return -RT_KVM_EINVAL;
	if (count > RT_PV_MMU_MAX)
		return -RT_KVM_E2BIG;
	uint32_t done = 0;
	for (; done < count; done++) {
		uint32_t entry[3]; /* pte, value, va */
		if (rt_pv_read_guest(vm, linear + done * (uint32_t)sizeof entry, entry,
				     sizeof entry) < 0)
			break;
		if ((entry[0] & 3) || rt_vm_write_phys(vm, entry[0], &entry[1], 4) < 0)
			break;
		if (!(flags & RT_PV_MMU_FLUSH_ALL)) {
			smmu_invlpg(vm->mmu, entry[2]);
			/* Indirect branches into that page must look it up again. */
			tr_jc_flush_page(vm->tr, vm->frame, entry[2]);
		}
	}
	if (flags & RT_PV_MMU_FLUSH_ALL) {
		smmu_flush_all(vm->mmu);
		tr_jc_flush(vm->tr, vm->frame);
	}
	vm->counters.pv_pte_updates += done;
	return (int32_t)done;
}

RT_CO(hypercall)
{
	(void)exit;
	(void)in;
	if (!vm->config.pv)
		return rt_raise(vm, RT_EXC_UD, 0, false), RT_CO_FAULT;
	uint32_t *gpr = vm->frame->gpr;
	int32_t result;
	if (vm->cpu.cpl != 0) {
		result = -RT_KVM_EPERM;
	} else {
		switch (gpr[TR_EAX]) {
		case RT_KVM_HC_VAPIC_POLL_IRQ:
			result = 0;
			break;
		case RT_BT86_HC_CONSOLE_WRITE:
			result = rt_pv_console_write(vm, gpr[TR_EBX], gpr[TR_ECX]);
			break;
		case RT_BT86_HC_MMU_UPDATE:
			result = rt_pv_mmu_update(vm, gpr[TR_EBX], gpr[TR_ECX], gpr[TR_EDX]);
			break;
		default:
			result = -RT_KVM_ENOSYS;
			break;
		}
	}
	gpr[TR_EAX] = (uint32_t)result;
	return RT_CO_NEXT;
}
