/* test_i8042.c — the keyboard controller and its silent keyboard, with the sequences Linux's
 * i8042 and atkbd drivers send. Expected values were measured on QEMU 7.2 with a probe kernel,
 * except the empty auxiliary port (QEMU has a mouse there). */
#include <criterion/criterion.h>

#include "test_devices_common.h"

static struct test_dev_env env;

static void kbc_setup(void)
{
	test_dev_env_setup(&env);
}

static void kbc_teardown(void)
{
	test_dev_env_teardown(&env);
}

TestSuite(i8042, .init = kbc_setup, .fini = kbc_teardown);

static uint8_t status(void)
{
	return test_inb(&env, 0x64);
}

static uint8_t data(void)
{
	return test_inb(&env, 0x60);
}

static void command(uint8_t cmd)
{
	test_outb(&env, 0x64, cmd);
}

static void write_data(uint8_t value)
{
	test_outb(&env, 0x60, value);
}

/* The next byte, after checking that OBF says there is one. */
static uint8_t next_byte(void)
{
	cr_assert(status() & 0x01, "OBF");
	return data();
}

Test(i8042, starts_as_seabios_leaves_it)
{
	cr_expect_eq(status(), 0x1C, "SYS, CMD, keyboard unlocked, buffers empty");
	command(0x20);
	cr_expect_eq(status(), 0x1D);
	cr_expect_eq(data(), 0x61, "translation, AUX disabled, keyboard interrupt");
	cr_expect_eq(status(), 0x1C);
}

Test(i8042, self_test_answers_0x55)
{
	command(0xAA);
	cr_expect_eq(next_byte(), 0x55);
	cr_expect_eq(status() & 0x05, 0x04, "SYS set, OBF clear");
}

Test(i8042, command_byte_write_and_read_back)
{
	command(0x60);
	write_data(0x47);
	command(0x20);
	cr_expect_eq(next_byte(), 0x47);
}

Test(i8042, interface_tests_report_no_fault)
{
	command(0xAB);
	cr_expect_eq(next_byte(), 0x00);
	command(0xA9);
	cr_expect_eq(next_byte(), 0x00);
	command(0xC0);
	cr_expect_eq(next_byte(), 0x80, "input port: keyboard not inhibited");
}

Test(i8042, port_enable_and_disable_commands_are_command_byte_bits)
{
	static const struct {
		uint8_t cmd, ctr;
	} steps[] = {{0xA8, 0x41}, {0xA7, 0x61}, {0xAD, 0x71}, {0xAE, 0x61}};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		command(steps[i].cmd);
		command(0x20);
		cr_expect_eq(next_byte(), steps[i].ctr, "after %#x", steps[i].cmd);
	}
}

Test(i8042, aux_loopback_returns_the_byte_as_auxiliary_data)
{
	command(0xD3);
	write_data(0x5A);
	cr_expect_eq(status(), 0x3D, "OBF with AUXDATA");
	cr_expect_eq(data(), 0x5A);
	command(0xD2);
	write_data(0x12);
	cr_expect_eq(status(), 0x1D, "keyboard loopback: no AUXDATA");
	cr_expect_eq(data(), 0x12);
}

Test(i8042, linux_mux_probe_sees_a_plain_loopback)
{
	/* i8042_set_mux_mode: F0, 56, A4 looped back unchanged means "not a MUX". */
	static const uint8_t seq[] = {0xF0, 0x56, 0xA4};
	for (size_t i = 0; i < sizeof(seq); i++) {
		command(0xD3);
		write_data(seq[i]);
		cr_expect_eq(next_byte(), seq[i]);
	}
}

Test(i8042, keyboard_identifies_itself_through_the_translation)
{
	write_data(0xF2);
	cr_expect_eq(next_byte(), 0xFA);
	cr_expect_eq(next_byte(), 0xAB);
	cr_expect_eq(next_byte(), 0x41, "0x83 as the translating controller shows it");
	cr_expect_eq(status() & 0x01, 0);
	command(0x60);
	write_data(0x21); /* translation off */
	write_data(0xF2);
	cr_expect_eq(next_byte(), 0xFA);
	cr_expect_eq(next_byte(), 0xAB);
	cr_expect_eq(next_byte(), 0x83);
}

Test(i8042, keyboard_commands_as_qemus_keyboard_answers_them)
{
	static const struct {
		uint8_t byte;
		uint8_t reply[2];
		unsigned count;
	} steps[] = {
	    {0xFF, {0xFA, 0xAA}, 2}, /* reset, self-test passed */
	    {0xEE, {0xEE}, 1},	     /* echo */
	    {0xED, {0xFA}, 1},	     /* set LEDs ... */
	    {0xF2, {0xFA}, 1},	     /* ... with a parameter that is not a command */
	    {0xF0, {0xFA}, 1},	     /* scan set ... */
	    {0x00, {0xFA, 0x41}, 2}, /* ... query: set 2, translated */
	    {0xF0, {0xFA}, 1},	     {0x07, {0xFE}, 1}, /* no such set */
	    {0xF3, {0xFA}, 1},	     {0x20, {0xFA}, 1}, /* typematic rate */
	    {0xF5, {0xFA}, 1},	     {0xF4, {0xFA}, 1},
	    {0xFB, {0xFE}, 1}, /* not supported: resend */
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		write_data(steps[i].byte);
		for (unsigned j = 0; j < steps[i].count; j++)
			cr_expect_eq(next_byte(), steps[i].reply[j], "byte %#x, reply %u",
				     steps[i].byte, j);
		cr_expect_eq(status() & 0x01, 0, "nothing more after %#x", steps[i].byte);
	}
}

Test(i8042, an_unread_controller_answer_is_overwritten)
{
	command(0xD2);
	write_data(0x11);
	command(0xD2);
	write_data(0x22);
	cr_expect_eq(next_byte(), 0x22);
	cr_expect_eq(status() & 0x01, 0);
	command(0xD2);
	write_data(0x55);
	command(0x20);
	cr_expect_eq(next_byte(), 0x61);
}

Test(i8042, a_controller_answer_comes_before_the_rest_of_the_keyboards_bytes)
{
	write_data(0xF2);
	command(0x20);
	cr_expect_eq(next_byte(), 0xFA, "already in the output buffer");
	cr_expect_eq(next_byte(), 0x61);
	cr_expect_eq(next_byte(), 0xAB);
	cr_expect_eq(next_byte(), 0x41);
}

Test(i8042, a_disabled_keyboard_interface_holds_its_bytes)
{
	write_data(0xF2);
	cr_expect_eq(next_byte(), 0xFA);
	command(0xAD);
	cr_expect_eq(next_byte(), 0xAB, "OBF was given before the interface was disabled");
	cr_expect_eq(status() & 0x01, 0);
	command(0xAE);
	cr_expect_eq(next_byte(), 0x41);
}

Test(i8042, writing_to_the_keyboard_enables_its_interface)
{
	command(0xAD);
	write_data(0xF4);
	cr_expect_eq(next_byte(), 0xFA);
	command(0x20);
	cr_expect_eq(next_byte(), 0x61);
}

Test(i8042, a_command_keeps_a_pending_data_write)
{
	command(0x60);
	command(0x20); /* answered, and port 0x60 still expects the command byte */
	cr_expect_eq(next_byte(), 0x61);
	write_data(0x41);
	command(0x20);
	cr_expect_eq(next_byte(), 0x41);
}

Test(i8042, empty_output_buffer_reads_the_last_byte_again)
{
	command(0xAB);
	cr_expect_eq(data(), 0x00);
	write_data(0xEE);
	cr_expect_eq(data(), 0xEE);
	cr_expect_eq(data(), 0xEE);
	cr_expect_eq(status(), 0x1C);
}

Test(i8042, nothing_answers_on_the_auxiliary_port)
{
	command(0xD4);
	write_data(0xF2);
	cr_expect_eq(status(), 0x7D, "OBF, AUXDATA and time-out");
	cr_expect_eq(data(), 0xFE);
	cr_expect_eq(status(), 0x1C);
	command(0x20);
	cr_expect_eq(next_byte(), 0x41, "sending to the device enabled the AUX interface");
}

Test(i8042, output_port_reads_with_the_buffer_state)
{
	command(0xD0);
	cr_expect_eq(next_byte(), 0xCF);
	command(0xD2);
	write_data(0x99);
	command(0xD0);
	cr_expect_eq(next_byte(), 0xDF, "OBF was set when the command ran");
	command(0xDD);
	command(0xD0);
	cr_expect_eq(next_byte() & 0x02, 0x02, "A20 stays on");
}

Test(i8042, irq1_for_keyboard_side_bytes_each_one_a_new_edge)
{
	test_pic_init(&env, 0x20, 0x28);
	test_outb(&env, 0x21, 0x01); /* the PIT is not part of this */
	write_data(0xF2);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x21);
	test_pic_eoi(&env, 1);
	cr_expect_not(dev_intr_pending(env.bus), "IRQ 1 is edge-triggered");
	cr_expect_eq(data(), 0xFA);
	cr_expect(dev_intr_pending(env.bus), "the next byte raises it again");
	dev_intr_ack(env.bus);
	test_pic_eoi(&env, 1);
	data();
	data();
	cr_expect(dev_intr_pending(env.bus));
	dev_intr_ack(env.bus);
	test_pic_eoi(&env, 1);
	cr_expect_not(dev_intr_pending(env.bus));
	command(0x60);
	write_data(0x60); /* keyboard interrupt off */
	write_data(0xEE);
	cr_expect_not(dev_intr_pending(env.bus));
	cr_expect_eq(next_byte(), 0xEE);
}

Test(i8042, irq12_for_auxiliary_bytes_when_enabled)
{
	test_pic_init(&env, 0x20, 0x28);
	test_outb(&env, 0x21, 0x01);
	command(0xD3);
	write_data(0xA5);
	cr_expect_not(dev_intr_pending(env.bus), "AUX interrupt disabled in the command byte");
	data();
	command(0x60);
	write_data(0x43); /* both interrupts, AUX enabled (Linux's IRQ test) */
	command(0xD3);
	write_data(0xA5);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x2C);
	cr_expect_eq(status() & 0x20, 0x20);
	cr_expect_eq(data(), 0xA5);
}

Test(i8042, reset_through_the_output_port)
{
	cr_expect_not(dev_bus_reset_requested(env.bus));
	command(0xFF); /* pulse nothing */
	command(0xF1); /* bit 0 not pulsed */
	cr_expect_not(dev_bus_reset_requested(env.bus));
	command(0xFE);
	cr_expect(dev_bus_reset_requested(env.bus));
}

Test(i8042, reset_by_writing_output_port_bit_0_low)
{
	command(0xD1);
	write_data(0xCF);
	cr_expect_not(dev_bus_reset_requested(env.bus));
	command(0xD1);
	write_data(0xCE);
	cr_expect(dev_bus_reset_requested(env.bus));
}

Test(i8042, a_word_read_is_two_reads_of_one_port)
{
	command(0xAB);
	command(0xD2);
	write_data(0x12);
	cr_expect_eq(dev_io_read(env.bus, 0x64, 2), 0x1D1D);
	cr_expect_eq(dev_io_read(env.bus, 0x60, 2), 0x1212, "one byte, then the same again");
}
