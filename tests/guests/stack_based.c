/*
 * stack_based — a stack segment with a non-zero base. SS points at a data segment based at
 * stack_area, so ESP is an offset into it: push, pop (to a register and to memory), pushad /
 * popad, enter/leave, call and ret all go through the base. The kernel prints what the
 * stack holds, seen through a flat data segment, and ESP as the offset it is.
 */
#include "guest.h"

#define SEL_BASED_STACK 0x18u

static uint8_t stack_area[8192] __attribute__((aligned(16)));
uint32_t sb_results[16];

/* Runs on the based stack: ESP = 0x1000 at entry (an offset into stack_area). */
void sb_run(uint32_t *out);

__asm__(".text\n"
	"	.globl sb_run\n"
	"sb_run:\n"
	"	mov 4(%esp), %edx\n" /* out (flat) */
	"	mov %esp, %edi\n"    /* the flat stack to come back to */
	"	mov %ss, %esi\n"
	"	mov $0x18, %eax\n"
	"	mov %eax, %ss\n"
	"	mov $0x1000, %esp\n"
	"	push $0x11111111\n"
	"	push $0x22222222\n"
	"	mov %esp, 0(%edx)\n" /* 0xff8 */
	"	pop %eax\n"
	"	mov %eax, 4(%edx)\n" /* 0x22222222 */
	"	pushal\n"
	"	mov %esp, 8(%edx)\n" /* 0xfdc */
	"	popal\n"
	"	call 1f\n"
	"	jmp 2f\n"
	"1:	mov (%esp), %eax\n" /* the return address, read through SS */
	"	mov %eax, 12(%edx)\n"
	"	enter $8, $0\n"
	"	mov %esp, 16(%edx)\n" /* 0xfec */
	"	mov %ebp, 20(%edx)\n" /* 0xff4 */
	"	leave\n"
	"	ret\n"
	"2:	mov %esp, 24(%edx)\n" /* 0xffc */
	"	push $0x33333333\n"
	"	popl 28(%edx)\n" /* pop to memory (through DS) */
	"	mov %esi, %ss\n"
	"	mov %edi, %esp\n"
	"	ret\n");

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	gdt_set(3, (uint32_t)stack_area, sizeof(stack_area) - 1, 0x92, 0x4);
	gdt_load(4);
	sb_run(sb_results);
	kprintf("esp after two pushes %x\n", sb_results[0]);
	kprintf("popped %x\n", sb_results[1]);
	kprintf("esp after pushad %x\n", sb_results[2]);
	kprintf("return address matches %d\n", sb_results[3] != 0);
	kprintf("enter esp %x ebp %x\n", sb_results[4], sb_results[5]);
	kprintf("esp after ret %x\n", sb_results[6]);
	kprintf("popped to memory %x\n", sb_results[7]);
	uint32_t word;
	memcpy(&word, stack_area + 0xffc, 4);
	kprintf("stack_area[0xffc] %x\n", word);
	guest_exit(0);
}
