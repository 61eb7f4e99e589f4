/*
 * pv — bt86's paravirtual interface (docs/PV.md), checked by the kernel itself.
 *
 * Without a hypervisor (QEMU, bt86 --pv off) it says so, then runs vmcall and vmmcall anyway
 * and prints the exception each raised: that output is compared with QEMU's. The command line
 * word "msr" adds rdmsr of MSR_KVM_SYSTEM_TIME_NEW, which must raise #GP. XXX: not by default,
 * because QEMU 7.2's TCG reads unknown MSRs as 0 instead of raising #GP.
 *
 * With bt86's signature (bt86 --pv on) it prints the hypervisor leaves and runs every
 * hypercall and MSR of the interface, checking the results itself: one line per check ending
 * in "ok" or "FAIL", then "pv: all checks passed" or how many failed (exit code 1). Nothing it
 * prints depends on timing or on the engine. pv-check.sh checks that line, and that the text
 * of the console hypercall (lines starting "pv console:") reached stdout once, between the
 * lines "console write: begin" and "console write: end".
 *
 * Paging (4 KiB pages, the first 8 MiB identity-mapped and reachable from ring 3) is on for
 * the hypercalls, so that their linear addresses go through the page tables:
 *   CONS_VA   pt_cons, written by the kernel: the console buffers, on pages whose frames are
 *             not consecutive, and a batch array that runs into a page that is not present;
 *   MMU_VA    pt_mmu, written only by BT86_HC_MMU_UPDATE (the kernel only reads it);
 *   FRESH_VA  no page directory entry until a batch writes it along with its page table;
 *   HOLE      no page directory entry.
 */
#include "guest.h"

#define PG_P	0x001u
#define PG_RW	0x002u
#define PG_US	0x004u
#define PG_A	0x020u
#define PG_D	0x040u
#define PG_G	0x100u
#define CR0_PG	0x80000000u
#define CR0_SET 0x00000033u /* PE MP ET NE */
#define CR4_PGE 0x00000080u

#define SEL_UCODE 0x1b
#define SEL_UDATA 0x23
#define SEL_TSS	  0x28

#define KVM_EPERM  1
#define KVM_E2BIG  7
#define KVM_EFAULT 14
#define KVM_EINVAL 22
#define KVM_ENOSYS 1000

#define KVM_HC_VAPIC_POLL_IRQ 1
#define KVM_HC_KICK_CPU	      5
#define BT86_HC_BASE	      0x62740000u
#define BT86_HC_CONSOLE_WRITE (BT86_HC_BASE + 1)
#define BT86_HC_MMU_UPDATE    (BT86_HC_BASE + 2)
#define BT86_MMU_FLUSH_ALL    1u
#define BT86_CONSOLE_MAX      (1u << 20)
#define BT86_MMU_MAX	      65536u

#define MSR_KVM_WALL_CLOCK	0x11u
#define MSR_KVM_SYSTEM_TIME	0x12u
#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

#define CONS_VA	   0x80000000u
#define MMU_VA	   0x80400000u
#define FRESH_VA   0x80800000u
#define HOLE	   0x90000000u
#define CONS(n)	   (CONS_VA + (n)*4096u)
#define MMU(n)	   (MMU_VA + (n)*4096u)
#define NOT_RAM	   0xfec00000u /* above the most RAM bt86 gives a guest (3 GiB) */
#define MMU_FRAMES 8

struct pv_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp;
};

void pv_vmcall(struct pv_regs *r);
void pv_vmmcall(struct pv_regs *r);
extern const char pv_vmcall_insn[], pv_vmmcall_insn[];

struct mmu_update {
	uint32_t pte, value, va;
};

struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_cons[1024] __attribute__((aligned(4096)));
static uint32_t pt_mmu[1024] __attribute__((aligned(4096)));
static uint32_t pt_fresh[1024] __attribute__((aligned(4096)));
static uint8_t cons_frames[4][4096] __attribute__((aligned(4096)));
static uint32_t mmu_frames[MMU_FRAMES][1024] __attribute__((aligned(4096)));

static volatile struct pvclock_vcpu_time_info pvti __attribute__((aligned(32)));
static volatile struct pvclock_vcpu_time_info pvti2 __attribute__((aligned(32)));
static volatile struct pvclock_wall_clock wall __attribute__((aligned(4)));
static volatile struct pvclock_wall_clock wall2 __attribute__((aligned(4)));

static struct tss32 tss;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
static struct jmp_buf user_exit;

static struct mmu_update batch[16];

static unsigned failures;
static unsigned reg_changes; /* hypercalls that changed a register other than EAX */

/* The console hypercall's text: pv-check.sh expects exactly these lines. The first SPLIT bytes
 * end one page, the rest start another page whose frame lies before the first one's. */
static const char cons_text[] = "pv console: first line of the hypercall text\n"
				"pv console: the second line crosses a page boundary\n"
				"pv console: third and last line\n";
#define CONS_SPLIT 70
static const char fault_text[] = "pv console: FAULTING TEXT MUST NOT APPEAR\n";
#define FAULT_SPLIT 20
static const char user_text[] = "pv console: RING 3 TEXT MUST NOT APPEAR\n";

static void check(int ok)
{
	put_str(ok ? " ok\n" : " FAIL\n");
	if (!ok)
		failures++;
}

/* ---- hypercalls ---- */

enum { VMCALL, VMMCALL };

/* Runs the hypercall with known values in the registers it does not take, counts it in
 * reg_changes if any register but EAX came back different, and returns EAX. Also used at
 * CPL 3, so it prints nothing. */
static int32_t hypercall(int insn, uint32_t nr, uint32_t b, uint32_t c, uint32_t d)
{
	struct pv_regs r = {nr, b, c, d, 0x5e5e5e5e, 0xd1d1d1d1, 0xb9b9b9b9};
	struct pv_regs in = r;

	if (insn == VMMCALL)
		pv_vmmcall(&r);
	else
		pv_vmcall(&r);
	if (r.ebx != in.ebx || r.ecx != in.ecx || r.edx != in.edx || r.esi != in.esi ||
	    r.edi != in.edi || r.ebp != in.ebp)
		reg_changes++;
	return (int32_t)r.eax;
}

static int32_t mmu_update(int insn, const void *entries, uint32_t count, uint32_t flags)
{
	return hypercall(insn, BT86_HC_MMU_UPDATE, (uint32_t)entries, count, flags);
}

static int32_t console_write(const void *p, uint32_t n)
{
	return hypercall(VMCALL, BT86_HC_CONSOLE_WRITE, (uint32_t)p, n, 0);
}

static void set_entry(struct mmu_update *e, const void *pte, uint32_t value, uint32_t va)
{
	e->pte = (uint32_t)pte; /* identity-mapped: linear = physical */
	e->value = value;
	e->va = va;
}

/* ---- cpu helpers ---- */

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* A read through the page tables; 0 if it faulted. */
static int try_read(uint32_t va, uint32_t *out)
{
	if (TRAP_TRY()) {
		*out = *(volatile uint32_t *)va;
		TRAP_END();
		return 1;
	}
	return 0;
}

static uint32_t pattern(unsigned frame, unsigned word)
{
	return 0x50000000u | frame << 16 | word;
}

/* Whether every word of the page at va reads as frame's pattern. */
static int page_holds(uint32_t va, unsigned frame)
{
	if (TRAP_TRY()) {
		const volatile uint32_t *p = (const volatile uint32_t *)va;
		int ok = 1;
		for (unsigned i = 0; i < 1024; i++)
			if (p[i] != pattern(frame, i))
				ok = 0;
		TRAP_END();
		return ok;
	}
	return 0;
}

static uint32_t frame_pte(unsigned frame, uint32_t flags)
{
	return (uint32_t)mmu_frames[frame] | flags;
}

/* ---- native mode ---- */

static void native_insn(const char *name, void (*fn)(struct pv_regs *), const char *at)
{
	struct pv_regs r = {KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0, 0, 0};

	kprintf("%s:", name);
	if (TRAP_TRY()) {
		fn(&r);
		TRAP_END();
		kprintf(" no exception, eax %08x\n", r.eax);
		return;
	}
	kprintf(" vector %x error %x at the instruction %s\n", trap_last.vector, trap_last.error,
		trap_last.eip == (uint32_t)at ? "yes" : "no");
}

static void native_mode(int msr)
{
	put_str("pv: no hypervisor found (native mode)\n");
	native_insn("vmcall", pv_vmcall, pv_vmcall_insn);
	native_insn("vmmcall", pv_vmmcall, pv_vmmcall_insn);
	if (msr) {
		kprintf("rdmsr %08x:", MSR_KVM_SYSTEM_TIME_NEW);
		if (TRAP_TRY()) {
			uint64_t v = rdmsr(MSR_KVM_SYSTEM_TIME_NEW);
			TRAP_END();
			kprintf(" no exception, value %llx\n", v);
		} else {
			kprintf(" vector %x error %x\n", trap_last.vector, trap_last.error);
		}
	}
	put_str("pv: native mode done\n");
}

/* ---- pv mode: cpuid ---- */

static void put_sig(const uint32_t *words)
{
	const char *s = (const char *)words;

	put_char('"');
	for (int i = 0; i < 12; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f)
			put_char(s[i]);
		else
			kprintf("\\x%02x", (uint8_t)s[i]);
	}
	put_char('"');
}

static void test_cpuid(void)
{
	uint32_t r[4], sig[3];

	cpuid(0x40000000, r);
	sig[0] = r[1], sig[1] = r[2], sig[2] = r[3];
	kprintf("cpuid 40000000: eax %08x signature ", r[0]);
	put_sig(sig);
	check(r[0] == 0x40000001 && !memcmp(sig, "KVMKVMKVM\0\0\0", 12));

	cpuid(0x40000001, r);
	kprintf("cpuid 40000001: kvm features eax %08x ebx %08x ecx %08x edx %08x"
		" (clocksource %u nop_io_delay %u clocksource2 %u)",
		r[0], r[1], r[2], r[3], r[0] & 1, (r[0] >> 1) & 1, (r[0] >> 3) & 1);
	check(r[0] == 0x0000000b && !r[1] && !r[2] && !r[3]);

	cpuid(0x40000100, r);
	sig[0] = r[1], sig[1] = r[2], sig[2] = r[3];
	kprintf("cpuid 40000100: eax %08x signature ", r[0]);
	put_sig(sig);
	check(r[0] == 0x40000101 && !memcmp(sig, "bt86bt86bt86", 12));

	cpuid(0x40000101, r);
	kprintf("cpuid 40000101: bt86 features eax %08x (console %u mmu_update %u) hc base %08x"
		" ecx %08x edx %08x",
		r[0], r[0] & 1, (r[0] >> 1) & 1, r[1], r[2], r[3]);
	check(r[0] == 3 && r[1] == BT86_HC_BASE && !r[2] && !r[3]);

	static const uint32_t zero_leaves[] = {0x40000002, 0x400000ff, 0x40000102, 0x40001000,
					       0x4fffffff};
	for (unsigned i = 0; i < sizeof(zero_leaves) / sizeof(zero_leaves[0]); i++) {
		cpuid(zero_leaves[i], r);
		kprintf("cpuid %08x: %08x %08x %08x %08x", zero_leaves[i], r[0], r[1], r[2], r[3]);
		check(!r[0] && !r[1] && !r[2] && !r[3]);
	}
}

/* ---- pv mode: hypercall numbers ---- */

static void test_numbers(void)
{
	static const struct {
		uint32_t nr;
		int32_t want;
	} calls[] = {
	    {KVM_HC_VAPIC_POLL_IRQ, 0},	    {0, -KVM_ENOSYS},
	    {KVM_HC_KICK_CPU, -KVM_ENOSYS}, {0x12345, -KVM_ENOSYS},
	    {BT86_HC_BASE, -KVM_ENOSYS},    {BT86_HC_BASE + 3, -KVM_ENOSYS},
	};

	for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		for (int insn = VMCALL; insn <= VMMCALL; insn++) {
			int32_t r =
			    hypercall(insn, calls[i].nr, 0x11111111, 0x22222222, 0x33333333);
			kprintf("%s %x -> %d", insn == VMCALL ? "vmcall" : "vmmcall", calls[i].nr,
				r);
			check(r == calls[i].want);
		}
}

/* ---- pv mode: paging ---- */

static void paging_on(void)
{
	for (uint32_t i = 0; i < 2048; i++)
		pt_low[i / 1024][i % 1024] = (i * 4096) | PG_P | PG_RW | PG_US;
	pt_low[0][0] = 0; /* page 0 is not mapped */
	page_dir[0] = (uint32_t)pt_low[0] | PG_P | PG_RW | PG_US;
	page_dir[1] = (uint32_t)pt_low[1] | PG_P | PG_RW | PG_US;
	page_dir[CONS_VA >> 22] = (uint32_t)pt_cons | PG_P | PG_RW | PG_US;
	page_dir[MMU_VA >> 22] = (uint32_t)pt_mmu | PG_P | PG_RW | PG_US;

	/* Console pages: CONS(0) and CONS(1) on frames 2 and 0, CONS(2) on frame 1 followed by a
	 * page that is not present, CONS(4) on frame 3 followed by one that is not present. */
	pt_cons[0] = (uint32_t)cons_frames[2] | PG_P | PG_RW;
	pt_cons[1] = (uint32_t)cons_frames[0] | PG_P | PG_RW;
	pt_cons[2] = (uint32_t)cons_frames[1] | PG_P | PG_RW;
	pt_cons[4] = (uint32_t)cons_frames[3] | PG_P | PG_RW;

	for (unsigned f = 0; f < MMU_FRAMES; f++)
		for (unsigned i = 0; i < 1024; i++)
			mmu_frames[f][i] = pattern(f, i);

	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	write_cr0(CR0_SET | CR0_PG);
	put_str("paging on\n");
}

/* ---- pv mode: console write ---- */

static void test_console(void)
{
	uint32_t len = sizeof(cons_text) - 1;

	/* Fill the frames with '#' so that a wrong translation shows, then lay the text out
	 * across CONS(0) and CONS(1), writing it through the mapping. */
	memset(cons_frames, '#', sizeof(cons_frames));
	uint8_t *text = (uint8_t *)(CONS(1) - CONS_SPLIT);
	memcpy(text, cons_text, len);
	kprintf("console text: %u bytes, %u of them on the next page, frames in reverse order %s\n",
		len, len - CONS_SPLIT,
		cons_frames[2][4096 - CONS_SPLIT] == 'p' &&
			cons_frames[0][0] == cons_text[CONS_SPLIT]
		    ? "yes"
		    : "no");

	put_str("console write: begin\n");
	int32_t r = console_write(text, len);
	kprintf("console write: end, eax %d, length %u", r, len);
	check(r == (int32_t)len);

	/* Bytes from a page that is present into one that is not: nothing may be written. */
	uint32_t flen = sizeof(fault_text) - 1;
	uint8_t *ftext = (uint8_t *)(CONS(3) - FAULT_SPLIT);
	memcpy(ftext, fault_text, FAULT_SPLIT);
	put_str("console fault: begin\n");
	r = console_write(ftext, flen);
	put_str("console fault: end\n");
	kprintf("console write across into a page not present -> %d", r);
	check(r == -KVM_EFAULT);

	r = console_write((const void *)(HOLE + 0x123), 16);
	kprintf("console write from a hole -> %d", r);
	check(r == -KVM_EFAULT);
	r = console_write((const void *)0x10, 16);
	kprintf("console write from page 0 (not present) -> %d", r);
	check(r == -KVM_EFAULT);

	r = console_write(cons_text, 0);
	kprintf("console write of 0 bytes -> %d", r);
	check(r == 0);

	/* 1 MiB + 1 from the kernel image, all of it mapped. */
	r = console_write((const void *)0x100000, BT86_CONSOLE_MAX + 1);
	kprintf("console write of 1 MiB + 1 -> %d", r);
	check(r == -KVM_E2BIG);
}

/* ---- pv mode: batched page-table updates ---- */

/* The frame MMU(i) gets in the first batch. */
static unsigned first_frame(unsigned i)
{
	return (i * 5) % MMU_FRAMES;
}

static void test_mmu_map(void)
{
	for (unsigned i = 0; i < MMU_FRAMES; i++)
		set_entry(&batch[i], &pt_mmu[i], frame_pte(first_frame(i), PG_P | PG_RW), MMU(i));
	int32_t r = mmu_update(VMCALL, batch, MMU_FRAMES, 0);
	kprintf("mmu_update mapping %u fresh pages -> %d", MMU_FRAMES, r);
	check(r == MMU_FRAMES);

	int stored = 1, read = 1;
	for (unsigned i = 0; i < MMU_FRAMES; i++)
		if (pt_mmu[i] != batch[i].value)
			stored = 0;
	for (unsigned i = 0; i < MMU_FRAMES; i++)
		if (!page_holds(MMU(i), first_frame(i)))
			read = 0;
	kprintf("  page table entries hold the values");
	check(stored);
	kprintf("  every page reads its frame's pattern through the new mapping");
	check(read);

	/* Writable: a store through the mapping lands in the frame. */
	*(volatile uint32_t *)(MMU(1) + 8) = 0xfeedf00d;
	kprintf("  store through the mapping reaches the frame");
	check(mmu_frames[first_frame(1)][2] == 0xfeedf00d);
	mmu_frames[first_frame(1)][2] = pattern(first_frame(1), 2);
	kprintf("  entries past the batch untouched");
	check(pt_mmu[MMU_FRAMES] == 0);
}

/* Remaps a page that was just read (its translation is cached) and reads it again. */
static void remap_cached(const char *name, int insn, unsigned page, unsigned from, unsigned to,
			 uint32_t pte_flags, uint32_t inval_va, uint32_t flags)
{
	int before = page_holds(MMU(page), from);

	set_entry(&batch[0], &pt_mmu[page], frame_pte(to, pte_flags), inval_va);
	int32_t r = mmu_update(insn, batch, 1, flags);
	int after = page_holds(MMU(page), to);
	kprintf("%s: page %u read as frame %u, remapped to frame %u -> %d, reads the new frame",
		name, page, from, to, r);
	check(before && r == 1 && after);
}

static void test_mmu_remap(void)
{
	remap_cached("remap with va invalidation", VMCALL, 0, first_frame(0), 3, PG_P | PG_RW,
		     MMU(0), 0);
	remap_cached("remap with va invalidation, vmmcall", VMMCALL, 0, 3, 6, PG_P | PG_RW, MMU(0),
		     0);
	/* With FLUSH_ALL the entry's va is ignored: it names a page that is not even mapped. */
	remap_cached("remap with flush all", VMCALL, 1, first_frame(1), 6, PG_P | PG_RW, 0,
		     BT86_MMU_FLUSH_ALL);
	remap_cached("remap with flush all, vmmcall", VMMCALL, 1, 6, 2, PG_P | PG_RW, HOLE,
		     BT86_MMU_FLUSH_ALL);

	/* Global pages: FLUSH_ALL drops them too, and so does the per-entry va (like invlpg). */
	write_cr4(read_cr4() | CR4_PGE);
	remap_cached("global page, va invalidation", VMCALL, 2, first_frame(2), 7,
		     PG_P | PG_RW | PG_G, MMU(2), 0);
	remap_cached("global page, flush all", VMCALL, 2, 7, 1, PG_P | PG_RW | PG_G, 0,
		     BT86_MMU_FLUSH_ALL);
	remap_cached("global page, va invalidation again", VMCALL, 2, 1, 4, PG_P | PG_RW | PG_G,
		     MMU(2), 0);
	write_cr4(read_cr4() & ~CR4_PGE);

	/* Several entries for cached pages in one batch, each with its own va. */
	int before = page_holds(MMU(3), first_frame(3)) && page_holds(MMU(4), first_frame(4)) &&
		     page_holds(MMU(5), first_frame(5));
	set_entry(&batch[0], &pt_mmu[3], frame_pte(0, PG_P | PG_RW), MMU(3));
	set_entry(&batch[1], &pt_mmu[4], frame_pte(1, PG_P | PG_RW), MMU(4));
	set_entry(&batch[2], &pt_mmu[5], frame_pte(2, PG_P | PG_RW), MMU(5));
	int32_t r = mmu_update(VMCALL, batch, 3, 0);
	kprintf("remap 3 cached pages in one batch -> %d, each reads its new frame", r);
	check(before && r == 3 && page_holds(MMU(3), 0) && page_holds(MMU(4), 1) &&
	      page_holds(MMU(5), 2));

	/* Entries apply in order: two for the same entry, the second wins. */
	set_entry(&batch[0], &pt_mmu[6], frame_pte(5, PG_P | PG_RW), MMU(6));
	set_entry(&batch[1], &pt_mmu[6], frame_pte(7, PG_P | PG_RW), MMU(6));
	r = mmu_update(VMCALL, batch, 2, 0);
	kprintf("two entries for one pte -> %d, the second one holds", r);
	check(r == 2 && pt_mmu[6] == frame_pte(7, PG_P | PG_RW) && page_holds(MMU(6), 7));

	/* Unmapping: the page faults afterwards. */
	uint32_t v;
	int mapped = try_read(MMU(7), &v);
	set_entry(&batch[0], &pt_mmu[7], 0, MMU(7));
	r = mmu_update(VMCALL, batch, 1, 0);
	kprintf("unmap a cached page -> %d, then it faults", r);
	check(mapped && r == 1 && !try_read(MMU(7), &v) && trap_last.vector == 14);
}

static void test_mmu_pde(void)
{
	/* The page directory entry first, then the entries of its (empty) page table. */
	set_entry(&batch[0], &page_dir[FRESH_VA >> 22], (uint32_t)pt_fresh | PG_P | PG_RW | PG_US,
		  FRESH_VA);
	for (unsigned j = 0; j < 4; j++)
		set_entry(&batch[1 + j], &pt_fresh[j], frame_pte(7 - j, PG_P | PG_RW),
			  FRESH_VA + j * 4096);
	int32_t r = mmu_update(VMCALL, batch, 5, 0);
	int read = 1;
	for (unsigned j = 0; j < 4; j++)
		if (!page_holds(FRESH_VA + j * 4096, 7 - j))
			read = 0;
	kprintf("mmu_update of a page directory entry and 4 entries of its table -> %d, pages read"
		" their frames",
		r);
	check(r == 5 && read);
}

static void test_mmu_errors(void)
{
	uint32_t v;
	int32_t r;

	/* A misaligned pte at index 3: 0..2 applied, 3 and 4 not. */
	for (unsigned i = 0; i < 5; i++)
		set_entry(&batch[i], &pt_mmu[10 + i], frame_pte(i, PG_P | PG_RW), MMU(10 + i));
	batch[3].pte += 2;
	r = mmu_update(VMCALL, batch, 5, 0);
	kprintf("batch with a misaligned pte at index 3 -> %d", r);
	check(r == 3);
	kprintf("  entries 0..2 applied and readable");
	check(pt_mmu[10] == batch[0].value && pt_mmu[11] == batch[1].value &&
	      pt_mmu[12] == batch[2].value && page_holds(MMU(10), 0) && page_holds(MMU(11), 1) &&
	      page_holds(MMU(12), 2));
	kprintf("  entries 3 and 4 not applied, their pages fault");
	check(!pt_mmu[13] && !pt_mmu[14] && !try_read(MMU(13), &v) && !try_read(MMU(14), &v));

	/* A pte outside RAM at index 1. */
	set_entry(&batch[0], &pt_mmu[15], frame_pte(3, PG_P | PG_RW), MMU(15));
	set_entry(&batch[1], (const void *)NOT_RAM, frame_pte(4, PG_P | PG_RW), MMU(16));
	set_entry(&batch[2], &pt_mmu[16], frame_pte(5, PG_P | PG_RW), MMU(16));
	r = mmu_update(VMMCALL, batch, 3, 0);
	kprintf("batch with a pte outside RAM at index 1 -> %d, entry 0 applied, entry 2 not", r);
	check(r == 1 && pt_mmu[15] == batch[0].value && page_holds(MMU(15), 3) && !pt_mmu[16]);

	/* An entry array that runs into a page that is not present: entries 0 and 1 lie in
	 * CONS(4), entry 2 straddles into CONS(5). */
	struct mmu_update e[3];
	set_entry(&e[0], &pt_mmu[17], frame_pte(6, PG_P | PG_RW), MMU(17));
	set_entry(&e[1], &pt_mmu[18], frame_pte(7, PG_P | PG_RW), MMU(18));
	set_entry(&e[2], &pt_mmu[19], frame_pte(0, PG_P | PG_RW), MMU(19));
	uint8_t *arr = (uint8_t *)(CONS(5) - 2 * sizeof(e[0]) - 6);
	memcpy(arr, e, 2 * sizeof(e[0]) + 6);
	r = mmu_update(VMCALL, arr, 3, 0);
	kprintf("batch whose entry 2 runs into a page not present -> %d, entries 0 and 1 applied",
		r);
	check(r == 2 && pt_mmu[17] == e[0].value && pt_mmu[18] == e[1].value && !pt_mmu[19] &&
	      page_holds(MMU(17), 6) && page_holds(MMU(18), 7));
	r = mmu_update(VMCALL, (const void *)(HOLE + 0x40), 3, 0);
	kprintf("batch from a hole -> %d", r);
	check(r == 0);

	/* Unknown flags, and too many entries: nothing applied. */
	set_entry(&batch[0], &pt_mmu[20], frame_pte(1, PG_P | PG_RW), MMU(20));
	r = mmu_update(VMCALL, batch, 1, 2);
	kprintf("flags 2 -> %d", r);
	check(r == -KVM_EINVAL);
	r = mmu_update(VMCALL, batch, 1, 0x80000000u | BT86_MMU_FLUSH_ALL);
	kprintf("flags 80000001 -> %d", r);
	check(r == -KVM_EINVAL);
	r = mmu_update(VMCALL, batch, BT86_MMU_MAX + 1, 0);
	kprintf("count 65537 -> %d", r);
	check(r == -KVM_E2BIG);
	r = mmu_update(VMCALL, batch, 0xffffffffu, BT86_MMU_FLUSH_ALL);
	kprintf("count ffffffff -> %d", r);
	check(r == -KVM_E2BIG);
	r = mmu_update(VMCALL, batch, 0, 0);
	kprintf("count 0 -> %d", r);
	check(r == 0);
	kprintf("  none of these applied the entry");
	check(!pt_mmu[20] && !try_read(MMU(20), &v));
}

/* ---- pv mode: ring 3 ---- */

static struct mmu_update user_batch[1];
static int32_t user_res[6];

static void user_main(void)
{
	user_res[0] = hypercall(VMCALL, KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0);
	user_res[1] = hypercall(VMMCALL, 0x12345, 0, 0, 0);
	user_res[2] =
	    hypercall(VMCALL, BT86_HC_CONSOLE_WRITE, (uint32_t)user_text, sizeof(user_text) - 1, 0);
	user_res[3] = hypercall(VMMCALL, BT86_HC_MMU_UPDATE, (uint32_t)user_batch, 1, 0);
	user_res[4] =
	    hypercall(VMCALL, BT86_HC_MMU_UPDATE, (uint32_t)user_batch, 1, BT86_MMU_FLUSH_ALL);
	user_res[5] = hypercall(VMCALL, BT86_HC_MMU_UPDATE, (uint32_t)user_batch, 1, 2);
	__asm__ volatile("int $0x80");
	for (;;)
		;
}

static void hook_user_exit(struct trap_frame *frame)
{
	(void)frame;
	guest_longjmp(&user_exit, 1);
}

static void test_ring3(void)
{
	static const char *const names[] = {
	    "vapic_poll_irq", "unknown 12345",	      "console write",
	    "mmu_update",     "mmu_update flush all", "mmu_update flags 2",
	};

	gdt_set(3, 0, 0xFFFFF, 0xFB, 0xC);			/* 0x18: user code */
	gdt_set(4, 0, 0xFFFFF, 0xF3, 0xC);			/* 0x20: user data */
	gdt_set(5, (uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0); /* 0x28: TSS */
	gdt_load(6);
	tss.ss0 = SEL_DATA;
	tss.esp0 = (uint32_t)(kstack + sizeof(kstack));
	tss.iomap = (uint32_t)sizeof(tss) << 16;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	idt_set_gate(0x80, trap_stubs[0x80], SEL_CODE, 0xEF); /* trap gate, DPL 3 */
	trap_set_hook(0x80, hook_user_exit);

	set_entry(&user_batch[0], &pt_mmu[21], frame_pte(2, PG_P | PG_RW), MMU(21));
	for (unsigned i = 0; i < 6; i++)
		user_res[i] = 0x7777;
	put_str("ring 3: begin\n");
	if (TRAP_TRY()) {
		if (guest_setjmp(&user_exit) == 0)
			enter_user((uint32_t)user_main, (uint32_t)(ustack + sizeof(ustack)), 0x002);
		TRAP_END();
	} else {
		kprintf("ring 3: unexpected trap vector %x error %x\n", trap_last.vector,
			trap_last.error);
	}
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
	put_str("ring 3: end\n");
	for (unsigned i = 0; i < 6; i++) {
		kprintf("ring 3 %s -> %d", names[i], user_res[i]);
		check(user_res[i] == -KVM_EPERM);
	}
	uint32_t v;
	kprintf("  the mmu_update from ring 3 applied nothing");
	check(!pt_mmu[21] && !try_read(MMU(21), &v));
}

/* ---- pv mode: kvm-clock ---- */

/* ((delta << shift) * mul) >> 32, as PV.md gives it. */
static uint64_t pvclock_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	uint64_t lo = (uint64_t)(uint32_t)delta * mul;
	uint64_t hi = (uint64_t)(uint32_t)(delta >> 32) * mul;
	return hi + (lo >> 32);
}

struct clock_read {
	uint32_t version, mul;
	int8_t shift;
	uint64_t tsc, ns;
};

/* A consistent reading of the structure: the version even and unchanged around it. */
static void pvclock_read(volatile struct pvclock_vcpu_time_info *ti, struct clock_read *c)
{
	uint32_t v1, v2;
	uint64_t stamp, sys;

	do {
		v1 = ti->version;
		__asm__ volatile("" : : : "memory");
		stamp = ti->tsc_timestamp;
		sys = ti->system_time;
		c->mul = ti->tsc_to_system_mul;
		c->shift = ti->tsc_shift;
		c->tsc = rdtsc();
		__asm__ volatile("" : : : "memory");
		v2 = ti->version;
	} while ((v1 & 1) || v1 != v2);
	c->version = v1;
	c->ns = sys + pvclock_scale(c->tsc - stamp, c->mul, c->shift);
}

#define NS_PER_S 1000000000ull

static void test_kvmclock(void)
{
	uint64_t want = (uint32_t)&pvti | 1;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, want);
	kprintf("kvm-clock: msr 4b564d01 reads back what was written");
	check(rdmsr(MSR_KVM_SYSTEM_TIME_NEW) == want);

	struct clock_read c0, c, prev;
	pvclock_read(&pvti, &c0);
	kprintf("kvm-clock: version even and nonzero");
	check(c0.version && !(c0.version & 1));
	kprintf("kvm-clock: tsc_to_system_mul nonzero, tsc_shift in -31..31");
	check(c0.mul != 0 && c0.shift > -32 && c0.shift < 32);
	/* The implied TSC rate, 2^32 / mul / 2^shift ticks per ns, between 100 MHz and 20 GHz:
	 * the scale of 10^9 ticks is between 0.05 s and 10 s. */
	uint64_t ns_per_g = pvclock_scale(NS_PER_S, c0.mul, c0.shift);
	kprintf("kvm-clock: implied tsc rate between 100 MHz and 20 GHz");
	check(ns_per_g >= NS_PER_S / 20 && ns_per_g <= 10 * NS_PER_S);
	kprintf("kvm-clock: time since the vm started between 0 and 120 s");
	check(c0.ns > 0 && c0.ns < 120 * NS_PER_S);

	/* Watch it for 1.5 s of its own time: monotonic, republished at least once (every second
	 * of host time), and in step with the TSC at the first structure's rate. */
	int monotonic = 1, republished = 0, advanced = 0;
	uint64_t max_tsc = 20 * NS_PER_S; /* 10 s at 2 GHz: give up if the clock stands still */
	prev = c0;
	for (;;) {
		pvclock_read(&pvti, &c);
		if (c.ns < prev.ns || c.tsc < prev.tsc)
			monotonic = 0;
		if (c.version != c0.version)
			republished = 1;
		prev = c;
		if (c.ns - c0.ns >= 3 * NS_PER_S / 2) {
			advanced = 1;
			break;
		}
		if (c.tsc - c0.tsc > max_tsc)
			break;
	}
	kprintf("kvm-clock: advances 1.5 s");
	check(advanced);
	kprintf("kvm-clock: monotonic over about 1.5 s");
	check(monotonic);
	kprintf("kvm-clock: republished within 1.5 s");
	check(republished);
	uint64_t by_tsc = pvclock_scale(c.tsc - c0.tsc, c0.mul, c0.shift);
	uint64_t by_clock = c.ns - c0.ns;
	uint64_t diff = by_tsc > by_clock ? by_tsc - by_clock : by_clock - by_tsc;
	kprintf("kvm-clock: elapsed time within 1%% of the tsc delta at the first rate");
	check(by_tsc && diff <= by_tsc / 100);

	/* The legacy number moves the structure; then turn the clock off. */
	uint64_t want2 = (uint32_t)&pvti2 | 1;
	wrmsr(MSR_KVM_SYSTEM_TIME, want2);
	struct clock_read c2;
	pvclock_read(&pvti2, &c2);
	kprintf("kvm-clock: msr 12 reads back, its structure filled in");
	check(rdmsr(MSR_KVM_SYSTEM_TIME) == want2 && c2.version && !(c2.version & 1) && c2.mul &&
	      c2.ns >= c.ns);
	wrmsr(MSR_KVM_SYSTEM_TIME, 0);
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	kprintf("kvm-clock: disabled, msrs read 0");
	check(rdmsr(MSR_KVM_SYSTEM_TIME) == 0 && rdmsr(MSR_KVM_SYSTEM_TIME_NEW) == 0);
}

static int wall_ok(volatile struct pvclock_wall_clock *w)
{
	return w->version && !(w->version & 1) && w->sec > 1700000000u && w->nsec < NS_PER_S;
}

static void test_wall_clock(void)
{
	wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint32_t)&wall);
	kprintf("wall clock: msr 4b564d00 reads back, version even, sec after 2023, nsec < 10^9");
	check(rdmsr(MSR_KVM_WALL_CLOCK_NEW) == (uint32_t)&wall && wall_ok(&wall));
	wrmsr(MSR_KVM_WALL_CLOCK, (uint32_t)&wall2);
	kprintf("wall clock: msr 11 the same");
	check(rdmsr(MSR_KVM_WALL_CLOCK) == (uint32_t)&wall2 && wall_ok(&wall2));
}

/* ---- main ---- */

static void pv_mode(void)
{
	put_str("pv: bt86 hypervisor found (pv mode)\n");
	test_cpuid();
	test_numbers();
	paging_on();
	test_console();
	test_mmu_map();
	test_mmu_remap();
	test_mmu_pde();
	test_mmu_errors();
	test_ring3();
	test_kvmclock();
	test_wall_clock();
	kprintf("hypercalls that changed a register other than eax: %u", reg_changes);
	check(reg_changes == 0);
	if (failures) {
		kprintf("pv: %u checks failed\n", failures);
		guest_exit(1);
	}
	put_str("pv: all checks passed\n");
}

/* Whether the command line (after the kernel's path) holds the word w. */
static int cmdline_has(const struct mb_info *info, const char *w)
{
	if (!(info->flags & (1u << 2)))
		return 0;
	const char *s = (const char *)info->cmdline;
	size_t n = strlen(w);
	while (*s && *s != ' ')
		s++;
	while (*s) {
		while (*s == ' ')
			s++;
		const char *e = s;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - s) == n && !memcmp(s, w, n))
			return 1;
		s = e;
	}
	return 0;
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	write_cr0(CR0_SET);
	idt_init();

	uint32_t r[4], kvm[3], bt86[3];
	cpuid(1, r);
	int hv = (r[2] >> 31) & 1;
	cpuid(0x40000000, r);
	kvm[0] = r[1], kvm[1] = r[2], kvm[2] = r[3];
	cpuid(0x40000100, r);
	bt86[0] = r[1], bt86[1] = r[2], bt86[2] = r[3];
	int kvm_sig = !memcmp(kvm, "KVMKVMKVM\0\0\0", 12);
	int bt86_sig = !memcmp(bt86, "bt86bt86bt86", 12);
	kprintf("pv: cpuid 1 ecx hypervisor bit %u, kvm signature %s, bt86 signature %s\n", hv,
		kvm_sig ? "yes" : "no", bt86_sig ? "yes" : "no");
	if (hv && kvm_sig && bt86_sig) {
		pv_mode();
	} else if (!hv && !kvm_sig && !bt86_sig) {
		native_mode(cmdline_has(info, "msr"));
	} else {
		put_str("pv: FAIL: the hypervisor bit and the signatures disagree\n");
		guest_exit(1);
	}
}
