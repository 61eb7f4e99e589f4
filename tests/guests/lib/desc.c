/*
 * desc.c — the GDT and IDT that the kernels share.
 */
#include "guest.h"

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint32_t base;
};

/* The accessed bits are set from the start, so that no descriptor read back depends on
 * whether the CPU (or QEMU) sets them when a segment is loaded. */
uint64_t gdt_table[GDT_ENTRIES] __attribute__((aligned(8))) = {
    0, 0x00CF9B000000FFFFull, /* 0x08: flat 32-bit code, DPL 0 */
    0x00CF93000000FFFFull,    /* 0x10: flat 32-bit data, DPL 0 */
};

uint64_t idt_table[256] __attribute__((aligned(8)));

void gdt_set(unsigned index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	uint64_t d = 0;

	d |= limit & 0xFFFFu;
	d |= (uint64_t)(base & 0xFFFFFFu) << 16;
	d |= (uint64_t)access << 40;
	d |= (uint64_t)((limit >> 16) & 0xF) << 48;
	d |= (uint64_t)(flags & 0xF) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	gdt_table[index] = d;
}

void gdt_load(unsigned count)
{
	struct desc_ptr p = {(uint16_t)(count * 8 - 1), (uint32_t)gdt_table};

	__asm__ volatile("lgdt %0" : : "m"(p) : "memory");
}

void idt_set_gate(unsigned vector, uint32_t handler, uint16_t sel, uint8_t type)
{
	uint64_t d = 0;

	d |= handler & 0xFFFFu;
	d |= (uint64_t)sel << 16;
	d |= (uint64_t)type << 40;
	d |= (uint64_t)(handler >> 16) << 48;
	idt_table[vector] = d;
}

void idt_init(void)
{
	struct desc_ptr p = {sizeof(idt_table) - 1, (uint32_t)idt_table};

	for (unsigned v = 0; v < 256; v++)
		idt_set_gate(v, trap_stubs[v], SEL_CODE, 0x8E);
	__asm__ volatile("lidt %0" : : "m"(p) : "memory");
}
