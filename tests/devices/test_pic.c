/* test_pic.c — the cascaded 8259A pair and the ELCR, driven through the bus as the CPU and
 * the devices drive them: dev_irq_set for the lines, dev_intr_pending / dev_intr_ack for the
 * CPU's side, the ports for the guest's. Expected values follow the data sheet and QEMU 7.2's
 * i8259 (the firmware state was measured with a probe kernel under QEMU). */
#include <criterion/criterion.h>

#include "test_devices_common.h"

static struct test_dev_env env;

static void pic_setup(void)
{
	test_dev_env_setup(&env);
}

static void pic_teardown(void)
{
	test_dev_env_teardown(&env);
}

TestSuite(pic, .init = pic_setup, .fini = pic_teardown);

static uint8_t inb(uint16_t port)
{
	return test_inb(&env, port);
}

static void outb(uint16_t port, uint8_t value)
{
	test_outb(&env, port, value);
}

static uint8_t irr(uint16_t cmd_port)
{
	outb(cmd_port, 0x0A);
	return inb(cmd_port);
}

static uint8_t isr(uint16_t cmd_port)
{
	outb(cmd_port, 0x0B);
	uint8_t v = inb(cmd_port);
	outb(cmd_port, 0x0A);
	return v;
}

static void pulse(unsigned line)
{
	dev_irq_set(env.bus, line, true);
	dev_irq_set(env.bus, line, false);
}

Test(pic, starts_as_seabios_leaves_it_under_qemu)
{
	cr_expect_eq(inb(0x21), 0xB8);
	cr_expect_eq(inb(0xA1), 0x8E);
	cr_expect_eq(inb(0x4D0), 0x00);
	cr_expect_eq(inb(0x4D1), 0x0C);
	cr_expect_eq(irr(0x20), 0);
	cr_expect_eq(isr(0x20), 0);
	cr_expect_not(dev_intr_pending(env.bus));
	/* Vectors 0x08 and 0x70: IRQ 0 is unmasked. */
	pulse(0);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x08);
}

Test(pic, initialisation_sets_the_vector_base_and_clears_the_mask)
{
	test_outb(&env, 0x21, 0xFF);
	outb(0x20, 0x11);
	outb(0x21, 0x30);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	cr_expect_eq(inb(0x21), 0x00, "ICW1 clears IMR");
	pulse(3);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x33);
	cr_expect_eq(isr(0x20), 0x08);
	/* The low three bits of ICW2 are ignored. */
	outb(0x20, 0x11);
	outb(0x21, 0x47);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	pulse(1);
	cr_expect_eq(dev_intr_ack(env.bus), 0x41);
}

Test(pic, isa_irq2_arrives_as_irq9_as_on_an_at)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(2);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x29);
}

Test(pic, single_mode_without_icw4_skips_icw3_and_icw4)
{
	outb(0x20, 0x12); /* SNGL, no IC4 */
	outb(0x21, 0x50); /* ICW2; the next data write is OCW1 already */
	outb(0x21, 0xFE);
	cr_expect_eq(inb(0x21), 0xFE);
	pulse(1);
	cr_expect_not(dev_intr_pending(env.bus));
	pulse(0);
	cr_expect_eq(dev_intr_ack(env.bus), 0x50);
}

Test(pic, masked_request_waits_in_irr_until_unmasked)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x21, 0x20);
	pulse(5);
	cr_expect_not(dev_intr_pending(env.bus));
	cr_expect_eq(irr(0x20), 0x20, "the edge is latched although masked");
	outb(0x21, 0x00);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x25);
	cr_expect_eq(irr(0x20), 0x00, "the acknowledge takes an edge request out of IRR");
}

Test(pic, lower_line_wins_and_in_service_blocks_lower_priorities)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(4);
	pulse(1);
	cr_expect_eq(dev_intr_ack(env.bus), 0x21);
	cr_expect_not(dev_intr_pending(env.bus), "IRQ 4 waits while IRQ 1 is in service");
	pulse(0);
	cr_assert(dev_intr_pending(env.bus), "IRQ 0 outranks IRQ 1 in service");
	cr_expect_eq(dev_intr_ack(env.bus), 0x20);
	cr_expect_eq(isr(0x20), 0x03);
	outb(0x20, 0x20); /* ends IRQ 0, the highest in service */
	cr_expect_eq(isr(0x20), 0x02);
	cr_expect_not(dev_intr_pending(env.bus));
	outb(0x20, 0x20);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x24);
}

Test(pic, specific_eoi_ends_the_named_level)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(6);
	cr_expect_eq(dev_intr_ack(env.bus), 0x26);
	pulse(3);
	cr_expect_eq(dev_intr_ack(env.bus), 0x23);
	cr_expect_eq(isr(0x20), 0x48);
	outb(0x20, 0x66); /* specific EOI for IRQ 6, not the highest */
	cr_expect_eq(isr(0x20), 0x08);
}

Test(pic, edge_line_needs_a_new_rising_edge)
{
	test_pic_init(&env, 0x20, 0x28);
	dev_irq_set(env.bus, 3, true);
	cr_expect_eq(dev_intr_ack(env.bus), 0x23);
	outb(0x20, 0x20);
	dev_irq_set(env.bus, 3, true); /* still high: no new edge */
	cr_expect_not(dev_intr_pending(env.bus));
	dev_irq_set(env.bus, 3, false);
	cr_expect_not(dev_intr_pending(env.bus));
	dev_irq_set(env.bus, 3, true);
	cr_expect(dev_intr_pending(env.bus));
}

Test(pic, elcr_level_line_follows_its_level_and_survives_the_acknowledge)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x4D1, 0x04); /* IRQ 10 level-triggered */
	dev_irq_set(env.bus, 10, true);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x2A);
	cr_expect_eq(irr(0xA0), 0x04, "a level request stays in IRR");
	test_pic_eoi(&env, 10);
	cr_assert(dev_intr_pending(env.bus), "still asserted after EOI: interrupts again");
	cr_expect_eq(dev_intr_ack(env.bus), 0x2A);
	dev_irq_set(env.bus, 10, false);
	cr_expect_eq(irr(0xA0), 0x00, "the request leaves IRR with the level");
	test_pic_eoi(&env, 10);
	cr_expect_not(dev_intr_pending(env.bus));
}

Test(pic, elcr_bits_of_edge_only_lines_do_not_exist)
{
	outb(0x4D0, 0xFF);
	outb(0x4D1, 0xFF);
	cr_expect_eq(inb(0x4D0), 0xF8, "IRQ 0-2 are edge-only");
	cr_expect_eq(inb(0x4D1), 0xDE, "IRQ 8 and 13 are edge-only");
	cr_expect_eq(dev_io_read(env.bus, 0x4D0, 2), 0xDEF8);
}

Test(pic, slave_interrupt_goes_through_master_ir2)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(12);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(irr(0x20), 0x04, "the master sees the slave on IR2");
	cr_expect_eq(dev_intr_ack(env.bus), 0x2C);
	cr_expect_eq(isr(0x20), 0x04);
	cr_expect_eq(isr(0xA0), 0x10);
	pulse(9);
	cr_expect_not(dev_intr_pending(env.bus), "IR2 in service on the master blocks the slave");
	test_pic_eoi(&env, 12);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x29);
}

Test(pic, slave_priority_is_that_of_master_ir2)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(3);
	pulse(8);
	pulse(1);
	cr_expect_eq(dev_intr_ack(env.bus), 0x21);
	outb(0x20, 0x20);
	cr_expect_eq(dev_intr_ack(env.bus), 0x28);
	test_pic_eoi(&env, 8);
	cr_expect_eq(dev_intr_ack(env.bus), 0x23);
}

Test(pic, request_gone_before_ack_gives_master_irq7_without_isr)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x4D0, 0x20); /* IRQ 5 level-triggered */
	dev_irq_set(env.bus, 5, true);
	cr_assert(dev_intr_pending(env.bus));
	dev_irq_set(env.bus, 5, false);
	cr_expect_not(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x27);
	cr_expect_eq(isr(0x20), 0x00, "a spurious IRQ 7 is not put in service");
}

Test(pic, request_gone_from_slave_gives_irq15_with_master_ir2_in_service)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x4D1, 0x08); /* IRQ 11 level-triggered */
	dev_irq_set(env.bus, 11, true);
	dev_irq_set(env.bus, 11, false); /* the master already latched the edge on IR2 */
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x2F);
	cr_expect_eq(isr(0x20), 0x04);
	cr_expect_eq(isr(0xA0), 0x00);
}

Test(pic, auto_eoi_leaves_nothing_in_service)
{
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x03); /* 8086 mode, auto-EOI */
	pulse(3);
	pulse(6);
	cr_expect_eq(dev_intr_ack(env.bus), 0x23);
	cr_expect_eq(isr(0x20), 0x00);
	cr_assert(dev_intr_pending(env.bus), "no EOI needed for the next one");
	cr_expect_eq(dev_intr_ack(env.bus), 0x26);
}

Test(pic, rotate_on_nonspecific_eoi_makes_the_served_line_lowest)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(3);
	cr_expect_eq(dev_intr_ack(env.bus), 0x23);
	outb(0x20, 0xA0); /* rotate on non-specific EOI: IRQ 4 now highest, IRQ 3 lowest */
	pulse(3);
	pulse(5);
	cr_expect_eq(dev_intr_ack(env.bus), 0x25);
	outb(0x20, 0x20);
	cr_expect_eq(dev_intr_ack(env.bus), 0x23);
}

Test(pic, set_priority_command_chooses_the_lowest_line)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x20, 0xC2); /* IRQ 2 lowest: IRQ 3 highest */
	pulse(1);
	pulse(7);
	pulse(4);
	cr_expect_eq(dev_intr_ack(env.bus), 0x24);
	cr_expect_not(dev_intr_pending(env.bus), "IRQ 4 in service blocks the rest");
	outb(0x20, 0x20);
	cr_expect_eq(dev_intr_ack(env.bus), 0x27, "7 outranks 1 after the rotation");
	outb(0x20, 0x20);
	cr_expect_eq(dev_intr_ack(env.bus), 0x21);
}

Test(pic, poll_command_acknowledges_through_the_port)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(5);
	outb(0x20, 0x0C);
	cr_expect_eq(inb(0x20), 0x85);
	cr_expect_eq(isr(0x20), 0x20);
	cr_expect_not(dev_intr_pending(env.bus));
	outb(0x20, 0x0C);
	cr_expect_eq(inb(0x21), 0x00, "a poll with nothing pending reads 0, on either port");
	cr_expect_eq(inb(0x21), 0x00, "and then IMR again");
}

Test(pic, special_mask_mode_lets_lower_lines_past_a_masked_service)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(1);
	cr_expect_eq(dev_intr_ack(env.bus), 0x21);
	pulse(4);
	cr_expect_not(dev_intr_pending(env.bus));
	outb(0x21, 0x02);		      /* mask the line in service */
	outb(0x20, 0x68);		      /* OCW3: set special mask mode */
	cr_assert(dev_intr_pending(env.bus)); /* IRQ 4 gets through */
	cr_expect_eq(dev_intr_ack(env.bus), 0x24);
	outb(0x20, 0x48); /* reset special mask mode */
	pulse(6);
	cr_expect_not(dev_intr_pending(env.bus));
}

Test(pic, ocw3_selects_irr_or_isr_for_command_port_reads)
{
	test_pic_init(&env, 0x20, 0x28);
	pulse(7);
	pulse(3);
	cr_expect_eq(dev_intr_ack(env.bus), 0x23);
	outb(0x20, 0x0A);
	cr_expect_eq(inb(0x20), 0x80);
	cr_expect_eq(inb(0x20), 0x80, "the selection sticks");
	outb(0x20, 0x0B);
	cr_expect_eq(inb(0x20), 0x08);
	outb(0x20, 0x08); /* OCW3 without RR: the selection stays */
	cr_expect_eq(inb(0x20), 0x08);
}

Test(pic, icw1_ltim_makes_every_line_level_triggered)
{
	outb(0x20, 0x19); /* LTIM */
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	dev_irq_set(env.bus, 1, true);
	cr_expect_eq(dev_intr_ack(env.bus), 0x21);
	outb(0x20, 0x20);
	cr_expect(dev_intr_pending(env.bus), "still high: requests again");
	dev_irq_set(env.bus, 1, false);
	cr_expect_not(dev_intr_pending(env.bus));
}

Test(pic, icw1_forgets_requests_and_needs_a_new_edge)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x21, 0xFF);
	dev_irq_set(env.bus, 4, true);
	cr_expect_eq(irr(0x20), 0x10);
	test_pic_init(&env, 0x20, 0x28);
	cr_expect_eq(irr(0x20), 0x00);
	cr_expect_not(dev_intr_pending(env.bus));
}

Test(pic, wide_accesses_split_and_misaligned_ones_are_refused_as_in_qemu)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x21, 0xB8);
	outb(0x20, 0x0B);
	cr_expect_eq(dev_io_read(env.bus, 0x20, 2), 0xB800, "ISR, then IMR");
	cr_expect_eq(dev_io_read(env.bus, 0x21, 2), 0x0000, "QEMU refuses it");
	dev_io_write(env.bus, 0x20, 2, 0x5A20); /* EOI to the command port, 0x5A to IMR */
	cr_expect_eq(inb(0x21), 0x5A);
}
