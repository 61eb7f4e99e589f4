/* test_platform.c — what the bus adds around the devices: port 0x92, the clock (reads take
 * "now" from it, never earlier than an update), the combined deadline, reset requests. */
#include <criterion/criterion.h>
#include <time.h>

#include "test_devices_common.h"

static struct test_dev_env env;

static void platform_setup(void)
{
	test_dev_env_setup(&env);
}

static void platform_teardown(void)
{
	test_dev_env_teardown(&env);
}

TestSuite(port92, .init = platform_setup, .fini = platform_teardown);
TestSuite(platform, .init = platform_setup, .fini = platform_teardown);

#define MS UINT64_C(1000000)

static uint16_t pit0_latched(void)
{
	test_outb(&env, 0x43, 0x00);
	uint16_t lo = test_inb(&env, 0x40);
	return (uint16_t)(lo | test_inb(&env, 0x40) << 8);
}

Test(port92, a20_reads_set_whatever_is_written)
{
	cr_expect_eq(test_inb(&env, 0x92), 0x02);
	test_outb(&env, 0x92, 0x00);
	cr_expect_eq(test_inb(&env, 0x92), 0x02, "A20 cannot be turned off");
	test_outb(&env, 0x92, 0xF0);
	cr_expect_eq(test_inb(&env, 0x92), 0xF2, "the other bits read back");
	cr_expect_not(dev_bus_reset_requested(env.bus));
}

Test(port92, bit_0_rising_asks_for_a_reset)
{
	test_outb(&env, 0x92, 0x03);
	cr_expect(dev_bus_reset_requested(env.bus));
	cr_expect_eq(test_inb(&env, 0x92), 0x03, "QEMU reads the bit back");
}

Test(platform, nothing_requests_a_reset_at_start)
{
	cr_expect_not(dev_bus_reset_requested(env.bus));
	int status;
	cr_expect_not(dev_bus_exit_requested(env.bus, &status));
}

Test(platform, reads_never_see_time_before_the_last_update)
{
	/* The runtime may pass a time a little ahead of the clock; devices must not see time
	 * run backwards after it. */
	test_outb(&env, 0x43, 0x34);
	test_outb(&env, 0x40, 0x00);
	test_outb(&env, 0x40, 0x00);
	dev_bus_update(env.bus, env.now_ns + 1 * MS); /* the clock itself stays put */
	cr_expect_eq(pit0_latched(), (uint16_t)(65536 - 1193), "1 ms of ticks (1193.182)");
	dev_bus_update(env.bus, env.now_ns); /* earlier than the last: ignored */
	cr_expect_eq(pit0_latched(), (uint16_t)(65536 - 1193));
}

Test(platform, next_deadline_is_the_earliest_device_deadline)
{
	uint64_t t0 = env.now_ns;
	uint64_t pit = dev_bus_next_deadline(env.bus);
	cr_expect_eq(pit, t0 + 54925402, "channel 0's 18.2 Hz as SeaBIOS left it");
	test_outb(&env, 0x70, 0x0B);
	test_outb(&env, 0x71, 0x12); /* RTC update interrupt: 0.75 s away */
	cr_expect_eq(dev_bus_next_deadline(env.bus), pit);
	test_outb(&env, 0x43, 0x32); /* channel 0 in mode 1: no more edges */
	test_outb(&env, 0x40, 0xFF);
	test_outb(&env, 0x40, 0xFF);
	cr_expect_eq(dev_bus_next_deadline(env.bus), t0 + 750 * MS, "now the RTC's");
	test_outb(&env, 0x3FA, 0x01); /* UART FIFO on */
	uint8_t byte = 'k';
	cr_expect_eq(dev_serial_input(env.bus, &byte, 1), 1);
	cr_expect_eq(dev_bus_next_deadline(env.bus), t0 + 2916666,
		     "the UART's timeout: 4 characters of 5N1 (LCR 0) at 9600 baud");
}

Test(platform, an_update_raises_each_due_interrupt_once)
{
	test_pic_init(&env, 0x20, 0x28);
	test_outb(&env, 0x70, 0x0B);
	test_outb(&env, 0x71, 0x12);
	dev_bus_update(env.bus, env.now_ns + 2000 * MS);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x20, "the PIT's IRQ 0 first");
	test_pic_eoi(&env, 0);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x28, "then the RTC's IRQ 8");
	test_pic_eoi(&env, 8);
	cr_expect_not(dev_intr_pending(env.bus));
}

Test(platform, the_host_clock_bus_counts_real_time)
{
	struct dev_config config = {
	    .serial_out_fd = -1, .debugcon_out_fd = -1, .ram_bytes = UINT64_C(64) << 20};
	struct dev_bus *bus = dev_bus_create(&config);
	cr_assert_not_null(bus);
	/* Channel 2, mode 0, 10 ms: OUT (port 0x61 bit 5) is high once that much time went by,
	 * and stays high. */
	dev_io_write(bus, 0x61, 1, 0x01);
	dev_io_write(bus, 0x43, 1, 0xB0);
	dev_io_write(bus, 0x42, 1, 11932 & 0xFF);
	dev_io_write(bus, 0x42, 1, 11932 >> 8);
	struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
	nanosleep(&pause, NULL);
	cr_expect_eq(dev_io_read(bus, 0x61, 1) & 0x20, 0x20);
	dev_bus_destroy(bus);
}
