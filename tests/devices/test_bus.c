/* test_bus.c — the port map, the debug console, isa-debug-exit, port 0x80, unowned ports and
 * the access counter. Expected values are QEMU 7.2's for the same accesses. */
#include <criterion/criterion.h>

#include "test_devices_common.h"

static struct test_dev_env env;

static void bus_setup(void)
{
	test_dev_env_setup(&env);
}

static void bus_teardown(void)
{
	test_dev_env_teardown(&env);
}

TestSuite(bus, .init = bus_setup, .fini = bus_teardown);
TestSuite(debugcon, .init = bus_setup, .fini = bus_teardown);
TestSuite(debugexit, .init = bus_setup, .fini = bus_teardown);

Test(bus, unowned_ports_read_all_ones_of_the_access_size)
{
	static const uint16_t ports[] = {0x0000, 0x0062, 0x0100, 0x02F8, 0x03F7, 0x0400, 0xFFFF};
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		cr_expect_eq(dev_io_read(env.bus, ports[i], 1), 0xFF, "port %#x", ports[i]);
		cr_expect_eq(dev_io_read(env.bus, ports[i], 2), 0xFFFF, "port %#x", ports[i]);
		cr_expect_eq(dev_io_read(env.bus, ports[i], 4), 0xFFFFFFFF, "port %#x", ports[i]);
		dev_io_write(env.bus, ports[i], 4, 0x12345678);
	}
	int status;
	cr_expect_not(dev_bus_exit_requested(env.bus, &status));
	char buf[8];
	cr_expect_eq(test_dev_drain(env.serial_pipe[0], buf, sizeof(buf)), 0);
	cr_expect_eq(test_dev_drain(env.debugcon_pipe[0], buf, sizeof(buf)), 0);
}

Test(bus, access_starting_on_an_unowned_port_does_not_reach_the_next_device)
{
	/* 0xE8..0xE9 and 0xF2..0xF5: the first port decides, as in QEMU. */
	cr_expect_eq(dev_io_read(env.bus, 0xE8, 2), 0xFFFF);
	dev_io_write(env.bus, 0xE8, 2, 0x4141);
	dev_io_write(env.bus, 0xF2, 4, 0x01010101);
	char buf[4];
	cr_expect_eq(test_dev_drain(env.debugcon_pipe[0], buf, sizeof(buf)), 0);
	cr_expect_not(dev_bus_exit_requested(env.bus, NULL));
}

Test(bus, port80_ignores_writes_and_reads_all_ones)
{
	dev_io_write(env.bus, 0x80, 1, 0x55);
	cr_expect_eq(dev_io_read(env.bus, 0x80, 1), 0xFF);
	cr_expect_eq(dev_io_read(env.bus, 0x80, 2), 0xFFFF);
	cr_expect_eq(dev_io_read(env.bus, 0x80, 4), 0xFFFFFFFF);
	dev_io_write(env.bus, 0x80, 4, 0);
	cr_expect_not(dev_bus_exit_requested(env.bus, NULL));
}

Test(bus, io_count_counts_every_guest_access_once)
{
	cr_expect_eq(dev_bus_io_count(env.bus), 0);
	dev_io_read(env.bus, 0x3FD, 1);	    /* owned */
	dev_io_write(env.bus, 0x3F8, 4, 0); /* split into four device calls, still one access */
	dev_io_read(env.bus, 0x1234, 2);    /* unowned */
	dev_io_write(env.bus, 0xE9, 2, 0);  /* refused by the device */
	cr_expect_eq(dev_bus_io_count(env.bus), 4);
}

Test(debugcon, write_goes_to_its_own_fd)
{
	dev_io_write(env.bus, 0xE9, 1, 'O');
	dev_io_write(env.bus, 0xE9, 1, 'K');
	dev_io_write(env.bus, 0xE9, 1, 0x100 | '\n'); /* only the byte */
	char buf[8];
	size_t n = test_dev_drain(env.debugcon_pipe[0], buf, sizeof(buf));
	cr_assert_eq(n, 3);
	cr_expect_arr_eq(buf, "OK\n", 3);
	cr_expect_eq(test_dev_drain(env.serial_pipe[0], buf, sizeof(buf)), 0);
}

Test(debugcon, reads_back_0xe9)
{
	cr_expect_eq(dev_io_read(env.bus, 0xE9, 1), 0xE9);
}

Test(debugcon, wider_accesses_are_refused_as_in_qemu)
{
	cr_expect_eq(dev_io_read(env.bus, 0xE9, 2), 0);
	cr_expect_eq(dev_io_read(env.bus, 0xE9, 4), 0);
	dev_io_write(env.bus, 0xE9, 2, 0x4443);
	dev_io_write(env.bus, 0xE9, 4, 0x44434241);
	char buf[8];
	cr_expect_eq(test_dev_drain(env.debugcon_pipe[0], buf, sizeof(buf)), 0);
}

Test(debugexit, nothing_requested_at_start)
{
	int status = -1;
	cr_expect_not(dev_bus_exit_requested(env.bus, &status));
	cr_expect_eq(status, -1, "status untouched when there is no request");
}

Test(debugexit, byte_write_gives_value_shifted_with_bit_0)
{
	dev_io_write(env.bus, 0xF4, 1, 0x10);
	int status = 0;
	cr_assert(dev_bus_exit_requested(env.bus, &status));
	cr_expect_eq(status, 0x21);
}

Test(debugexit, zero_gives_one)
{
	dev_io_write(env.bus, 0xF4, 1, 0);
	int status = 0;
	cr_assert(dev_bus_exit_requested(env.bus, &status));
	cr_expect_eq(status, 1);
}

Test(debugexit, dword_write_keeps_the_whole_value_then_the_low_8_bits_of_the_status)
{
	/* QEMU 7.2 exits with 0x12345678 << 1 | 1; a parent sees 0xF1. */
	dev_io_write(env.bus, 0xF4, 4, 0x12345678);
	int status = 0;
	cr_assert(dev_bus_exit_requested(env.bus, &status));
	cr_expect_eq(status, 0xF1);
}

Test(debugexit, value_0x80_wraps_to_status_1)
{
	dev_io_write(env.bus, 0xF4, 1, 0x80);
	int status = 0;
	cr_assert(dev_bus_exit_requested(env.bus, &status));
	cr_expect_eq(status, 1);
}

Test(debugexit, byte_write_to_another_of_its_ports)
{
	dev_io_write(env.bus, 0xF5, 1, 5);
	int status = 0;
	cr_assert(dev_bus_exit_requested(env.bus, &status));
	cr_expect_eq(status, 11);
}

Test(debugexit, aligned_word_write)
{
	dev_io_write(env.bus, 0xF6, 2, 0x0102);
	int status = 0;
	cr_assert(dev_bus_exit_requested(env.bus, &status));
	cr_expect_eq(status, 5, "0x0102 << 1 | 1 = 0x205, low byte 5");
}

Test(debugexit, misaligned_writes_are_refused_as_in_qemu)
{
	dev_io_write(env.bus, 0xF7, 2, 0x0102);
	dev_io_write(env.bus, 0xF5, 2, 0x0102);
	dev_io_write(env.bus, 0xF6, 4, 0x01020304);
	dev_io_write(env.bus, 0xF5, 4, 0x01020304);
	cr_expect_not(dev_bus_exit_requested(env.bus, NULL));
}

Test(debugexit, first_write_wins)
{
	dev_io_write(env.bus, 0xF4, 1, 3);
	dev_io_write(env.bus, 0xF4, 1, 5);
	int status = 0;
	cr_assert(dev_bus_exit_requested(env.bus, &status));
	cr_expect_eq(status, 7);
	cr_expect(dev_bus_exit_requested(env.bus, NULL), "a NULL status pointer is allowed");
}

Test(debugexit, reads_return_zero)
{
	cr_expect_eq(dev_io_read(env.bus, 0xF4, 1), 0);
	cr_expect_eq(dev_io_read(env.bus, 0xF4, 2), 0);
	cr_expect_eq(dev_io_read(env.bus, 0xF4, 4), 0);
	cr_expect_eq(dev_io_read(env.bus, 0xF6, 4), 0);
	cr_expect_not(dev_bus_exit_requested(env.bus, NULL), "reading does not exit");
}
