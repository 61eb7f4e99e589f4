/* The virtual CPU as CPUID describes it: a family-6 Intel CPU offering exactly the features
 * the translator implements faithfully (translator/classify.c admits the same ISA extensions).
 * tests/guests/qemu-cpu.txt gives QEMU the same model for the reference runs. */
#include <string.h>

#include "runtime/rt_internal.h"

#define RT_CPUID_MAX_BASIC 2u
#define RT_CPUID_MAX_EXT   0x80000004u

/* Leaf 1 EDX: fpu de pse tsc msr cx8 sep pge cmov clflush mmx fxsr sse sse2 */
#define RT_CPUID_1_EDX                                                                             \
	(1u << 0 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 8 | 1u << 11 | 1u << 13 |         \
	 1u << 15 | 1u << 19 | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26)

struct rt_cpuid_leaf {
	uint32_t leaf;
	uint32_t r[4]; /* eax ebx ecx edx */
};

static const struct rt_cpuid_leaf rt_cpuid_table[] = {
    /* "GenuineIntel" */
    {0, {RT_CPUID_MAX_BASIC, 0x756e6547, 0x6c65746e, 0x49656e69}},
    /* family 6, model 13, stepping 8; CLFLUSH line 8 x 8 bytes */
    {1, {0x000006d8, 0x00000800, 0x00000000, RT_CPUID_1_EDX}},
    /* cache and TLB descriptors: the values QEMU reports for this model */
    {2, {0x00000001, 0x00000000, 0x0000004d, 0x002c307d}},
    {0x80000000, {RT_CPUID_MAX_EXT, 0x756e6547, 0x6c65746e, 0x49656e69}},
    {0x80000001, {0x000006d8, 0x00000000, 0x00000000, 0x00000000}},
    /* "bt86 virtual CPU" */
    {0x80000002, {0x36387462, 0x72697620, 0x6c617574, 0x55504320}},
    {0x80000003, {0, 0, 0, 0}},
    {0x80000004, {0, 0, 0, 0}},
};

/* The hypervisor leaves of docs/PV.md: KVM's, then bt86's own at the next 0x100 step, where
 * a guest scanning for signatures (Linux's hypervisor_cpuid_base) finds both. */
static const struct rt_cpuid_leaf rt_cpuid_pv_table[] = {
    /* "KVMKVMKVM\0\0\0" */
    {0x40000000, {0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d}},
    /* CLOCKSOURCE, NOP_IO_DELAY, CLOCKSOURCE2 */
    {0x40000001, {1u << 0 | 1u << 1 | 1u << 3, 0, 0, 0}},
    /* "bt86bt86bt86" */
    {0x40000100, {0x40000101, 0x36387462, 0x36387462, 0x36387462}},
    /* console write, batched page-table update; the first hypercall number */
    {0x40000101, {1u << 0 | 1u << 1, RT_BT86_HC_BASE, 0, 0}},
};

#define RT_CPUID_HYPERVISOR_BIT (1u << 31) /* leaf 1 ECX */

static bool rt_cpuid_lookup(const struct rt_cpuid_leaf *table, size_t n, uint32_t leaf,
			    uint32_t out[4])
{
	for (size_t i = 0; i < n; i++) {
		if (table[i].leaf == leaf) {
			memcpy(out, table[i].r, sizeof table[i].r);
			return true;
		}
	}
	return false;
}

void rt_cpuid(bool pv, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	(void)subleaf;
	if (pv && leaf >= 0x40000000u && leaf < 0x50000000u) {
		if (!rt_cpuid_lookup(rt_cpuid_pv_table,
				     sizeof rt_cpuid_pv_table / sizeof rt_cpuid_pv_table[0], leaf,
				     out))
			memset(out, 0, 4 * sizeof out[0]);
		return;
	}
	/* Out-of-range leaves return the highest basic leaf, as Intel CPUs do. */
	if ((leaf < 0x80000000u && leaf > RT_CPUID_MAX_BASIC) ||
	    (leaf >= 0x80000000u && leaf > RT_CPUID_MAX_EXT))
		leaf = RT_CPUID_MAX_BASIC;
	if (!rt_cpuid_lookup(rt_cpuid_table, sizeof rt_cpuid_table / sizeof rt_cpuid_table[0], leaf,
			     out))
		memset(out, 0, 4 * sizeof out[0]);
	if (pv && leaf == 1)
		out[2] |= RT_CPUID_HYPERVISOR_BIT;
}
