/* pic8259.c — the two cascaded Intel 8259A interrupt controllers of a PC, and the PIIX3's
 * edge/level control registers (ELCR).
 *
 * Each chip has the three 8-bit registers of the data sheet: IRR (requests latched from the
 * IR inputs), IMR (masked inputs) and ISR (requests the CPU took and has not ended yet). An
 * edge-triggered input latches into IRR on a rising edge and stays there until acknowledged;
 * a level-triggered one (ELCR bit, or ICW1 LTIM for the whole chip) shows its level in IRR and
 * is never cleared by the acknowledge. A chip asserts its INT output when the highest-priority
 * unmasked request in IRR outranks the highest-priority bit in ISR. The slave's INT output is
 * the master's IR2 input (edge-triggered), and the master's INT is the CPU's INTR.
 *
 * Priorities rotate: priority_add is the IR line that currently has the highest priority (0
 * after initialisation: fully nested, IR0 first). Rotation and specific priority come from
 * OCW2, special mask mode from OCW3, special fully nested mode and auto-EOI from ICW4.
 *
 * The model follows QEMU 7.2's i8259 where the two differ from the data sheet, since guests
 * are compared with QEMU: an acknowledge with nothing pending gives IR7's vector of that chip
 * without touching ISR (the data sheet's spurious interrupt); poll mode acknowledges only the
 * chip that was polled; ICW3 is accepted and ignored (the slave is always on IR2). ICW1 LTIM,
 * which QEMU 7.2 logs as unimplemented, works as the data sheet says.
 *
 * At creation the pair is in the state SeaBIOS leaves it for the kernel under QEMU (measured
 * with a probe kernel): initialised, vectors 0x08 and 0x70, IMR 0xB8 and 0x8E, ELCR 0x00 and
 * 0x0C (PCI IRQs 10 and 11 level-triggered), so that a guest that enables interrupts without
 * programming the PICs sees what it sees under QEMU.
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

enum {
	DEV_PIC_ICW1 = 0x10,		 /* command port: bit 4 set starts initialisation */
	DEV_PIC_ICW1_IC4 = 0x01,	 /* ICW4 follows */
	DEV_PIC_ICW1_SNGL = 0x02,	 /* single chip: no ICW3 */
	DEV_PIC_ICW1_LTIM = 0x08,	 /* every input level-triggered */
	DEV_PIC_OCW3 = 0x08,		 /* bit 4 clear, bit 3 set: OCW3; both clear: OCW2 */
	DEV_PIC_OCW3_POLL = 0x04,	 /* the next read of either port is a poll */
	DEV_PIC_OCW3_RR = 0x02,		 /* bit 0 selects the register reads return */
	DEV_PIC_OCW3_RIS = 0x01,	 /* 1: ISR, 0: IRR */
	DEV_PIC_OCW3_ESMM = 0x40,	 /* bit 5 sets or clears special mask mode */
	DEV_PIC_OCW3_SMM = 0x20,	 /* special mask mode */
	DEV_PIC_ICW4_AEOI = 0x02,	 /* auto end of interrupt */
	DEV_PIC_ICW4_SFNM = 0x10,	 /* special fully nested mode */
	DEV_PIC_CASCADE_IR = 2,		 /* the master input the slave's INT drives */
	DEV_PIC_NO_IRQ = -1,		 /* dev_pic_chip_irq: nothing to ask the CPU for */
	DEV_PIC_SPURIOUS_IR = 7,	 /* the vector of an acknowledge with nothing pending */
	DEV_PIC_ELCR_MASK_MASTER = 0xF8, /* IRQ 0, 1, 2 are always edge-triggered on the PIIX3 */
	DEV_PIC_ELCR_MASK_SLAVE = 0xDE,	 /* and so are IRQ 8 and 13 */
};

/* Where ICW2..ICW4 go: the data port's meaning during initialisation. */
enum dev_pic_init_state {
	DEV_PIC_READY,	   /* data port writes set IMR */
	DEV_PIC_WANT_ICW2, /* vector base */
	DEV_PIC_WANT_ICW3, /* cascade wiring */
	DEV_PIC_WANT_ICW4, /* mode */
};

struct dev_pic_chip {
	uint8_t irr;
	uint8_t imr;
	uint8_t isr;
	uint8_t input;	      /* the level of each IR input, for edge detection */
	uint8_t elcr;	      /* level-triggered inputs (ELCR, as written and masked) */
	uint8_t elcr_mask;    /* ELCR bits that exist */
	uint8_t base;	      /* ICW2: vector of IR0 (low three bits zero) */
	uint8_t priority_add; /* the IR line that has the highest priority now */
	enum dev_pic_init_state init_state;
	bool want_icw4;
	bool single;
	bool ltim;
	bool read_isr; /* OCW3 RR/RIS: command port reads return ISR rather than IRR */
	bool poll;
	bool special_mask;
	bool auto_eoi;
	bool rotate_on_aeoi;
	bool sfnm;
	bool master;
};

struct dev_pic {
	struct dev_pic_chip chip[2]; /* [0] master, [1] slave */
};

static uint8_t dev_pic_level_lines(const struct dev_pic_chip *c)
{
	return c->ltim ? 0xFF : c->elcr;
}

/* The priority (0 highest .. 7) of the best request in mask, or 8 if mask is empty. */
static int dev_pic_chip_priority(const struct dev_pic_chip *c, uint8_t mask)
{
	if (mask == 0)
		return 8;
	int priority = 0;
	while (!(mask & (1u << ((priority + c->priority_add) & 7))))
		priority++;
	return priority;
}

/* The IR line the chip wants to interrupt with, or DEV_PIC_NO_IRQ. */
static int dev_pic_chip_irq(const struct dev_pic_chip *c)
{
	int priority = dev_pic_chip_priority(c, c->irr & (uint8_t)~c->imr);
	if (priority == 8)
		return DEV_PIC_NO_IRQ;
	/* What is in service blocks equal and lower priorities. In special mask mode a masked
	 * in-service level blocks nothing; in special fully nested mode the master lets the
	 * slave interrupt again while an earlier slave request is in service. */
	uint8_t in_service = c->isr;
	if (c->special_mask)
		in_service &= (uint8_t)~c->imr;
	if (c->sfnm && c->master)
		in_service &= (uint8_t) ~(1u << DEV_PIC_CASCADE_IR);
	if (priority < dev_pic_chip_priority(c, in_service))
		return (priority + c->priority_add) & 7;
	return DEV_PIC_NO_IRQ;
}

/* One IR input of one chip changed (or was driven again at the same level). */
static void dev_pic_chip_input(struct dev_pic_chip *c, unsigned ir, bool level)
{
	uint8_t bit = (uint8_t)(1u << ir);
	if (dev_pic_level_lines(c) & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= (uint8_t)~bit;
	} else if (level && !(c->input & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->input |= bit;
	else
		c->input &= (uint8_t)~bit;
}

/* The slave's INT output is wired to the master's IR2: call after anything the slave's output
 * depends on may have changed. */
static void dev_pic_cascade(struct dev_pic *pic)
{
	bool slave_int = dev_pic_chip_irq(&pic->chip[1]) != DEV_PIC_NO_IRQ;
	dev_pic_chip_input(&pic->chip[0], DEV_PIC_CASCADE_IR, slave_int);
}

/* The INTA cycle on one chip: move the request into service (or, in auto-EOI mode, straight
 * out of it) and drop an edge-triggered request from IRR. */
static void dev_pic_chip_intack(struct dev_pic_chip *c, int ir)
{
	uint8_t bit = (uint8_t)(1u << ir);
	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (uint8_t)((ir + 1) & 7);
	} else {
		c->isr |= bit;
	}
	if (!(dev_pic_level_lines(c) & bit))
		c->irr &= (uint8_t)~bit;
}

/* ICW1: the data sheet's initialisation reset (QEMU's pic_init_reset). ELCR survives: it is
 * the PIIX3's register, not the 8259's. The edge detector forgets the input levels, so a line
 * must go low and high again to request. */
static void dev_pic_chip_init(struct dev_pic_chip *c, uint8_t icw1)
{
	c->input = 0;
	c->irr &= c->elcr;
	c->imr = 0;
	c->isr = 0;
	c->priority_add = 0;
	c->base = 0;
	c->read_isr = false;
	c->poll = false;
	c->special_mask = false;
	c->auto_eoi = false;
	c->rotate_on_aeoi = false;
	c->sfnm = false;
	c->init_state = DEV_PIC_WANT_ICW2;
	c->want_icw4 = icw1 & DEV_PIC_ICW1_IC4;
	c->single = icw1 & DEV_PIC_ICW1_SNGL;
	c->ltim = icw1 & DEV_PIC_ICW1_LTIM;
}

/* OCW2: end of interrupt and priority rotation, by the command in bits 5-7. */
static void dev_pic_chip_ocw2(struct dev_pic_chip *c, uint8_t value)
{
	unsigned cmd = value >> 5;
	unsigned ir = value & 7;
	switch (cmd) {
	case 0: /* rotate in auto-EOI mode: clear */
	case 4: /* rotate in auto-EOI mode: set */
		c->rotate_on_aeoi = cmd == 4;
		break;
	case 1: /* non-specific EOI: ends the highest-priority level in service */
	case 5: /* ... and rotates so that it becomes the lowest */
	{
		int priority = dev_pic_chip_priority(c, c->isr);
		if (priority == 8)
			break;
		unsigned level = (unsigned)(priority + c->priority_add) & 7;
		c->isr &= (uint8_t) ~(1u << level);
		if (cmd == 5)
			c->priority_add = (uint8_t)((level + 1) & 7);
		break;
	}
	case 3: /* specific EOI */
		c->isr &= (uint8_t) ~(1u << ir);
		break;
	case 6: /* set priority: ir becomes the lowest */
		c->priority_add = (uint8_t)((ir + 1) & 7);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t) ~(1u << ir);
		c->priority_add = (uint8_t)((ir + 1) & 7);
		break;
	default: /* 2: no operation */
		break;
	}
}

static void dev_pic_chip_command(struct dev_pic_chip *c, uint8_t value)
{
	if (value & DEV_PIC_ICW1) {
		dev_pic_chip_init(c, value);
	} else if (value & DEV_PIC_OCW3) {
		if (value & DEV_PIC_OCW3_POLL)
			c->poll = true;
		if (value & DEV_PIC_OCW3_RR)
			c->read_isr = value & DEV_PIC_OCW3_RIS;
		if (value & DEV_PIC_OCW3_ESMM)
			c->special_mask = value & DEV_PIC_OCW3_SMM;
	} else {
		dev_pic_chip_ocw2(c, value);
	}
}

static void dev_pic_chip_data(struct dev_pic_chip *c, uint8_t value)
{
	switch (c->init_state) {
	case DEV_PIC_READY:
		c->imr = value; /* OCW1 */
		break;
	case DEV_PIC_WANT_ICW2:
		c->base = value & 0xF8;
		if (!c->single)
			c->init_state = DEV_PIC_WANT_ICW3;
		else
			c->init_state = c->want_icw4 ? DEV_PIC_WANT_ICW4 : DEV_PIC_READY;
		break;
	case DEV_PIC_WANT_ICW3:
		/* The PC wires the slave to IR2 whatever ICW3 says. */
		c->init_state = c->want_icw4 ? DEV_PIC_WANT_ICW4 : DEV_PIC_READY;
		break;
	case DEV_PIC_WANT_ICW4:
		c->sfnm = value & DEV_PIC_ICW4_SFNM;
		c->auto_eoi = value & DEV_PIC_ICW4_AEOI;
		c->init_state = DEV_PIC_READY;
		break;
	}
}

/* A port read. The poll command makes the next read (of either port) an acknowledge that
 * returns 0x80 | IR, or 0 when nothing is pending. */
static uint8_t dev_pic_chip_read(struct dev_pic_chip *c, unsigned offset)
{
	if (c->poll) {
		c->poll = false;
		int ir = dev_pic_chip_irq(c);
		if (ir == DEV_PIC_NO_IRQ)
			return 0;
		dev_pic_chip_intack(c, ir);
		return (uint8_t)(0x80 | ir);
	}
	if (offset == 0)
		return c->read_isr ? c->isr : c->irr;
	return c->imr;
}

static void dev_pic_firmware_state(struct dev_pic_chip *c, bool master)
{
	c->master = master;
	c->base = master ? 0x08 : 0x70;
	c->imr = master ? 0xB8 : 0x8E;
	c->elcr_mask = master ? DEV_PIC_ELCR_MASK_MASTER : DEV_PIC_ELCR_MASK_SLAVE;
	c->elcr = master ? 0x00 : 0x0C;
	c->init_state = DEV_PIC_READY;
}

struct dev_pic *dev_pic_create(void)
{
	struct dev_pic *pic = calloc(1, sizeof(*pic));
	if (pic == NULL)
		return NULL;
	dev_pic_firmware_state(&pic->chip[0], true);
	dev_pic_firmware_state(&pic->chip[1], false);
	return pic;
}

void dev_pic_destroy(struct dev_pic *pic)
{
	free(pic);
}

void dev_pic_set_irq(struct dev_pic *pic, unsigned line, bool level)
{
	DEV_ASSERT(line < 16);
	/* The master's IR2 is the slave's output; since the AT, the ISA bus's IRQ 2 pin is
	 * wired to the slave's IR1 instead (IRQ 9). */
	if (line == DEV_PIC_CASCADE_IR)
		line = 9;
	if (line < 8) {
		dev_pic_chip_input(&pic->chip[0], line, level);
	} else {
		dev_pic_chip_input(&pic->chip[1], line - 8, level);
		dev_pic_cascade(pic);
	}
}

bool dev_pic_masked(const struct dev_pic *pic, unsigned line)
{
	DEV_ASSERT(line < 16);
	return pic->chip[line / 8].imr & (1u << (line % 8));
}

bool dev_pic_requested(const struct dev_pic *pic, unsigned line)
{
	DEV_ASSERT(line < 16);
	return pic->chip[line / 8].irr & (1u << (line % 8));
}

bool dev_pic_intr(const struct dev_pic *pic)
{
	return dev_pic_chip_irq(&pic->chip[0]) != DEV_PIC_NO_IRQ;
}

uint8_t dev_pic_ack(struct dev_pic *pic)
{
	struct dev_pic_chip *master = &pic->chip[0];
	struct dev_pic_chip *slave = &pic->chip[1];
	int ir = dev_pic_chip_irq(master);
	if (ir == DEV_PIC_NO_IRQ) /* the request went away before INTA */
		return (uint8_t)(master->base + DEV_PIC_SPURIOUS_IR);
	uint8_t vector;
	if (ir == DEV_PIC_CASCADE_IR) {
		/* The slave answers the second INTA pulse; if its request went away, it gives
		 * its own IR7 (and the master still puts IR2 in service, as on the chip). */
		int slave_ir = dev_pic_chip_irq(slave);
		if (slave_ir != DEV_PIC_NO_IRQ) {
			dev_pic_chip_intack(slave, slave_ir);
			vector = (uint8_t)(slave->base + slave_ir);
		} else {
			vector = (uint8_t)(slave->base + DEV_PIC_SPURIOUS_IR);
		}
		dev_pic_cascade(pic);
	} else {
		vector = (uint8_t)(master->base + ir);
	}
	dev_pic_chip_intack(master, ir);
	return vector;
}

/* Port handlers. QEMU's chips decode A0 as "offset 0 or not", so split wide accesses that run
 * past the data port reach the data port again; we do the same. */

static uint32_t dev_pic_master_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_pic *pic = dev;
	(void)size;
	return dev_pic_chip_read(&pic->chip[0], offset);
}

static uint32_t dev_pic_slave_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_pic *pic = dev;
	(void)size;
	uint8_t value = dev_pic_chip_read(&pic->chip[1], offset);
	dev_pic_cascade(pic); /* a poll may have taken the slave's request */
	return value;
}

static void dev_pic_chip_write(struct dev_pic_chip *c, unsigned offset, uint8_t value)
{
	if (offset == 0)
		dev_pic_chip_command(c, value);
	else
		dev_pic_chip_data(c, value);
}

static void dev_pic_master_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_pic *pic = dev;
	(void)size;
	dev_pic_chip_write(&pic->chip[0], offset, (uint8_t)value);
}

static void dev_pic_slave_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_pic *pic = dev;
	(void)size;
	dev_pic_chip_write(&pic->chip[1], offset, (uint8_t)value);
	dev_pic_cascade(pic);
}

/* ELCR: 0x4D0 for IRQ 0-7, 0x4D1 for IRQ 8-15. Changing it does not re-sample the inputs
 * (neither does QEMU): the next change of a line takes the new mode. */
static uint32_t dev_pic_elcr_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_pic *pic = dev;
	(void)size;
	return pic->chip[offset & 1].elcr;
}

static void dev_pic_elcr_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_pic *pic = dev;
	(void)size;
	struct dev_pic_chip *c = &pic->chip[offset & 1];
	c->elcr = (uint8_t)value & c->elcr_mask;
}

/* Byte registers: wider accesses are split as QEMU splits them, misaligned ones refused. */
const struct dev_port_ops dev_pic_master_ops = {
    .name = "i8259 master",
    .read = dev_pic_master_read,
    .write = dev_pic_master_write,
    .valid_max = 4,
    .impl_max = 1,
};

const struct dev_port_ops dev_pic_slave_ops = {
    .name = "i8259 slave",
    .read = dev_pic_slave_read,
    .write = dev_pic_slave_write,
    .valid_max = 4,
    .impl_max = 1,
};

/* QEMU has one byte-wide region per chip here, so a word access at 0x4D0 reaches the master's
 * ELCR twice; ours reaches the master's and then the slave's, as the PIIX3's two registers
 * would. Linux and firmware use byte accesses. */
const struct dev_port_ops dev_pic_elcr_ops = {
    .name = "elcr",
    .read = dev_pic_elcr_read,
    .write = dev_pic_elcr_write,
    .valid_max = 4,
    .impl_max = 1,
};
