/*
 * timer — hardware interrupts: the 8259 PIC remapped to vectors 0x20..0x2f and the 8254 PIT
 * at 1 kHz. Ticks must wake hlt, must arrive in a busy loop that never leaves translated code,
 * must wait while IF is clear (the request shows in the PIC's IRR instead) and be delivered
 * right after sti, and must not arrive while IRQ 0 is masked. Only facts that do not depend
 * on timing are printed: counts are "at least", since a late tick may follow quickly.
 */
#include "guest.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIT_CH0	  0x40
#define PIT_CMD	  0x43
#define PIT_HZ	  1193182u
#define TICK_HZ	  1000u

static volatile uint32_t ticks;

static void hook_tick(struct trap_frame *f)
{
	(void)f;
	ticks++;
	outb(PIC1_CMD, 0x20); /* non-specific EOI */
}

static void pic_init(void)
{
	outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, 0x20); /* ICW2: vectors 0x20.. and 0x28.. */
	outb(PIC2_DATA, 0x28);
	outb(PIC1_DATA, 0x04); /* ICW3: slave on IRQ 2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xff); /* everything masked for now */
	outb(PIC2_DATA, 0xff);
}

static uint8_t pic_irr(void)
{
	outb(PIC1_CMD, 0x0a); /* OCW3: read IRR */
	return inb(PIC1_CMD);
}

static void pit_start(void)
{
	uint32_t div = (PIT_HZ + TICK_HZ / 2) / TICK_HZ;

	outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	outb(PIT_CH0, (uint8_t)div);
	outb(PIT_CH0, (uint8_t)(div >> 8));
}

static uint32_t pit_read(void)
{
	outb(PIT_CMD, 0x00); /* latch channel 0 */
	uint32_t lo = inb(PIT_CH0);
	return lo | (uint32_t)inb(PIT_CH0) << 8;
}

static void test_hlt(void)
{
	ticks = 0;
	while (ticks < 10)
		__asm__ volatile("sti\n\thlt\n\tcli");
	kprintf("hlt woke up for at least 10 ticks %s\n", ticks >= 10 ? "yes" : "no");
}

static void test_busy(void)
{
	uint32_t spins = 0;

	ticks = 0;
	__asm__ volatile("sti");
	while (ticks < 20)
		spins++;
	__asm__ volatile("cli");
	kprintf("busy loop saw at least 20 ticks %s, spun %s\n", ticks >= 20 ? "yes" : "no",
		spins ? "yes" : "no");
}

static void test_masked_by_if(void)
{
	uint32_t polls = 0;

	/* Let a request arrive with IF clear: it waits in IRR. */
	ticks = 0;
	while (!(pic_irr() & 1) && polls < 100000000)
		polls++;
	uint32_t seen = ticks;
	kprintf("with IF clear: irq 0 pending in IRR %s, ticks %u\n", pic_irr() & 1 ? "yes" : "no",
		seen);
	/* sti lets it in after the next instruction. */
	__asm__ volatile("sti\n\tnop\n\tnop\n\tcli");
	kprintf("after sti: tick delivered %s\n", ticks >= 1 ? "yes" : "no");
}

static void test_masked_by_pic(void)
{
	outb(PIC1_DATA, 0xff);
	/* Wait, with interrupts enabled, until the PIT has certainly wrapped a few times. */
	ticks = 0;
	uint32_t last = pit_read(), wraps = 0;
	__asm__ volatile("sti");
	while (wraps < 5) {
		uint32_t now = pit_read();
		if (now > last)
			wraps++;
		last = now;
	}
	__asm__ volatile("cli");
	kprintf("irq 0 masked: ticks %u\n", ticks);
	outb(PIC1_DATA, 0xfe);
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	idt_init();
	trap_set_hook(0x20, hook_tick);
	pic_init();
	pit_start();
	uint32_t c = pit_read();
	kprintf("pit count in range %s\n", c <= (PIT_HZ + TICK_HZ / 2) / TICK_HZ ? "yes" : "no");
	outb(PIC1_DATA, 0xfe); /* unmask IRQ 0 only */
	test_hlt();
	test_busy();
	test_masked_by_if();
	test_masked_by_pic();
	outb(PIC1_DATA, 0xff);
	put_str("timer done\n");
}
