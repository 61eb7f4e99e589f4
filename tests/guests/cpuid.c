/*
 * cpuid — the raw CPUID leaves of the model bt86 presents (qemu-cpu.txt describes the same
 * CPU to QEMU): the basic leaves up to the maximum, and the extended ones up to the brand
 * string. Then whether RDTSC moves forward; never its value.
 */
#include "guest.h"

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static void print_leaf(uint32_t leaf)
{
	struct cpuid_regs r = cpuid(leaf, 0);

	kprintf("cpuid %08x: eax %08x ebx %08x ecx %08x edx %08x\n", leaf, r.eax, r.ebx, r.ecx,
		r.edx);
}

static void print_string(const char *name, const uint32_t *words, unsigned n)
{
	char s[49];

	memcpy(s, words, n * 4);
	s[n * 4] = 0;
	kprintf("%s [%s]\n", name, s);
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	struct cpuid_regs r0 = cpuid(0, 0);
	for (uint32_t leaf = 0; leaf <= r0.eax && leaf < 0x20; leaf++)
		print_leaf(leaf);
	uint32_t vendor[3] = {r0.ebx, r0.edx, r0.ecx};
	print_string("vendor", vendor, 3);

	struct cpuid_regs e0 = cpuid(0x80000000, 0);
	for (uint32_t leaf = 0x80000000; leaf <= e0.eax && leaf < 0x80000020; leaf++)
		print_leaf(leaf);
	if (e0.eax >= 0x80000004) {
		uint32_t brand[12];
		for (uint32_t i = 0; i < 3; i++) {
			struct cpuid_regs r = cpuid(0x80000002 + i, 0);
			brand[i * 4 + 0] = r.eax;
			brand[i * 4 + 1] = r.ebx;
			brand[i * 4 + 2] = r.ecx;
			brand[i * 4 + 3] = r.edx;
		}
		print_string("brand", brand, 12);
	}

	/* A leaf above the maximum returns the highest basic leaf's data on Intel; print only
	 * that the instruction completes. */
	(void)cpuid(0x7fffffff, 0);
	put_str("cpuid above max ok\n");

	uint64_t t1 = rdtsc();
	for (volatile int i = 0; i < 1000; i++)
		;
	uint64_t t2 = rdtsc();
	kprintf("tsc monotonic %s\n", t2 > t1 ? "yes" : "no");
	put_str("cpuid done\n");
}
