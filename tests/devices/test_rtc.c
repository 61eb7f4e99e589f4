/* test_rtc.c — the MC146818 RTC and CMOS RAM against a fake clock that starts on
 * 2024-02-29 13:45:56.250 UTC (a Thursday): the time registers in BCD and binary, 24- and
 * 12-hour form, SET and divider reset, UIP, the update, alarm and periodic interrupts through
 * IRQ 8, register C and D, and the CMOS bytes QEMU's PC fills in. */
#include <criterion/criterion.h>

#include "test_devices_common.h"

static struct test_dev_env env;

static void rtc_setup(void)
{
	test_dev_env_setup(&env);
}

static void rtc_teardown(void)
{
	test_dev_env_teardown(&env);
}

TestSuite(rtc, .init = rtc_setup, .fini = rtc_teardown);
TestSuite(cmos, .fini = rtc_teardown);

#define MS UINT64_C(1000000)
#define US UINT64_C(1000)

static uint8_t cmos(uint8_t index)
{
	test_outb(&env, 0x70, index);
	return test_inb(&env, 0x71);
}

static void cmos_write(uint8_t index, uint8_t value)
{
	test_outb(&env, 0x70, index);
	test_outb(&env, 0x71, value);
}

/* The PICs programmed, IRQ 0 masked and the PIT's channel 0 put in mode 1 (it never fires), so
 * that the bus's deadline and pending interrupt are the RTC's. */
static void rtc_alone(void)
{
	test_pic_init(&env, 0x20, 0x28);
	test_outb(&env, 0x21, 0x01);
	test_outb(&env, 0x43, 0x32);
	test_outb(&env, 0x40, 0xFF);
	test_outb(&env, 0x40, 0xFF);
	cr_assert_not(dev_intr_pending(env.bus));
}

Test(rtc, registers_show_the_host_utc_time_in_bcd_24_hour_form)
{
	static const struct {
		uint8_t index, value;
	} expect[] = {
	    {0x00, 0x56}, {0x02, 0x45}, {0x04, 0x13}, {0x06, 0x05}, /* Thursday: Sunday is 1 */
	    {0x07, 0x29}, {0x08, 0x02}, {0x09, 0x24}, {0x32, 0x20}, {0x37, 0x20},
	    {0x0A, 0x26}, {0x0B, 0x02}, {0x0C, 0x00}, {0x0D, 0x80},
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		cr_expect_eq(cmos(expect[i].index), expect[i].value, "register %#x: %#x",
			     expect[i].index, cmos(expect[i].index));
}

Test(rtc, binary_and_12_hour_forms_follow_register_b)
{
	cmos_write(0x0B, 0x06); /* binary, 24-hour */
	cr_expect_eq(cmos(0x00), 56);
	cr_expect_eq(cmos(0x04), 13);
	cr_expect_eq(cmos(0x09), 24);
	cr_expect_eq(cmos(0x32), 20);
	cmos_write(0x0B, 0x00); /* BCD, 12-hour */
	cr_expect_eq(cmos(0x04), 0x81, "1 PM");
	cmos_write(0x0B, 0x04); /* binary, 12-hour */
	cr_expect_eq(cmos(0x04), 0x81);
	/* Midnight is 12 AM. */
	cmos_write(0x0B, 0x82);
	cmos_write(0x04, 0x00);
	cmos_write(0x0B, 0x00);
	cr_expect_eq(cmos(0x04), 0x12);
}

Test(rtc, the_clock_runs_with_monotonic_time_even_without_updates)
{
	test_dev_clock_forward(&env, 3749 * MS);
	cr_expect_eq(cmos(0x00), 0x59);
	test_dev_clock_forward(&env, 1 * MS);
	cr_expect_eq(cmos(0x00), 0x00);
	cr_expect_eq(cmos(0x02), 0x46);
}

Test(rtc, set_stops_the_clock_and_the_written_time_runs_when_it_is_cleared)
{
	cmos_write(0x0B, 0x82);
	cmos_write(0x04, 0x23);
	cmos_write(0x02, 0x59);
	cmos_write(0x00, 0x58);
	cmos_write(0x07, 0x31);
	cmos_write(0x08, 0x12);
	cmos_write(0x09, 0x99);
	cmos_write(0x32, 0x19);
	test_dev_clock_forward(&env, 5 * TEST_DEV_NS_PER_SEC);
	cr_expect_eq(cmos(0x00), 0x58, "stopped while SET is on");
	cmos_write(0x0B, 0x02);
	/* The divider kept running, so the second ends where it would have: 0.25 s in. */
	test_dev_clock_forward(&env, 749 * MS);
	cr_expect_eq(cmos(0x00), 0x58);
	test_dev_clock_forward(&env, 1 * MS);
	cr_expect_eq(cmos(0x00), 0x59);
	test_dev_clock_forward(&env, TEST_DEV_NS_PER_SEC);
	static const struct {
		uint8_t index, value;
	} y2k[] = {{0x00, 0x00}, {0x02, 0x00}, {0x04, 0x00}, {0x06, 0x07}, /* a Saturday */
		   {0x07, 0x01}, {0x08, 0x01}, {0x09, 0x00}};
	for (size_t i = 0; i < sizeof(y2k) / sizeof(y2k[0]); i++)
		cr_expect_eq(cmos(y2k[i].index), y2k[i].value, "register %#x: %#x", y2k[i].index,
			     cmos(y2k[i].index));
	cr_expect_eq(cmos(0x32), 0x20, "the century rolls over too");
}

Test(rtc, writing_one_time_register_while_running_keeps_the_others_current)
{
	test_dev_clock_forward(&env, 2 * TEST_DEV_NS_PER_SEC);
	cmos_write(0x02, 0x10);
	cr_expect_eq(cmos(0x04), 0x13);
	cr_expect_eq(cmos(0x02), 0x10);
	cr_expect_eq(cmos(0x00), 0x58);
	test_dev_clock_forward(&env, 750 * MS);
	cr_expect_eq(cmos(0x00), 0x59, "the second keeps its phase");
}

Test(rtc, uip_is_set_for_the_last_244us_of_each_second)
{
	cr_expect_eq(cmos(0x0A), 0x26);
	test_dev_clock_forward(&env, 749755 * US); /* 0.999755 s into the second */
	cr_expect_eq(cmos(0x0A), 0x26);
	test_dev_clock_forward(&env, 1 * US);
	cr_expect_eq(cmos(0x0A), 0xA6);
	cr_expect_eq(cmos(0x00), 0x56, "the registers still hold the old second");
	test_dev_clock_forward(&env, 244 * US);
	cr_expect_eq(cmos(0x0A), 0x26);
	cr_expect_eq(cmos(0x00), 0x57);
	cmos_write(0x0A, 0xA6);
	cr_expect_eq(cmos(0x0A), 0x26, "UIP is read-only");
}

Test(rtc, update_interrupt_and_register_c_read_clearing)
{
	rtc_alone();
	cmos_write(0x0B, 0x12); /* UIE */
	cr_expect_eq(dev_bus_next_deadline(env.bus), env.now_ns + 750 * MS);
	test_dev_advance(&env, 749 * MS);
	cr_expect_not(dev_intr_pending(env.bus));
	test_dev_advance(&env, 1 * MS);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x28);
	cr_expect_eq(cmos(0x0C), 0x90, "IRQF and UF");
	cr_expect_eq(cmos(0x0C), 0x00, "reading C cleared it");
	test_pic_eoi(&env, 8);
	cr_expect_not(dev_intr_pending(env.bus));
	test_dev_advance(&env, TEST_DEV_NS_PER_SEC);
	cr_expect(dev_intr_pending(env.bus), "IRQ 8 went low on the read, so this is a new edge");
}

Test(rtc, unread_register_c_holds_irq8_and_no_deadline_is_needed)
{
	rtc_alone();
	cmos_write(0x0B, 0x12);
	test_dev_advance(&env, TEST_DEV_NS_PER_SEC);
	cr_expect_eq(dev_intr_ack(env.bus), 0x28);
	test_pic_eoi(&env, 8);
	cr_expect_eq(dev_bus_next_deadline(env.bus), UINT64_MAX, "UF is set and unread");
	test_dev_advance(&env, 3 * TEST_DEV_NS_PER_SEC);
	cr_expect_not(dev_intr_pending(env.bus), "the line never dropped: no new edge");
}

Test(rtc, flags_are_earned_without_enables_but_raise_nothing)
{
	rtc_alone();
	cr_expect_eq(dev_bus_next_deadline(env.bus), UINT64_MAX);
	test_dev_advance(&env, 2 * TEST_DEV_NS_PER_SEC);
	cr_expect_not(dev_intr_pending(env.bus));
	cr_expect_eq(cmos(0x0C), 0x10, "UF without IRQF");
	/* An already set flag raises IRQ 8 as soon as it is enabled. */
	test_dev_advance(&env, TEST_DEV_NS_PER_SEC);
	cmos_write(0x0B, 0x12);
	cr_expect(dev_intr_pending(env.bus));
	cr_expect_eq(cmos(0x0C), 0x90);
}

Test(rtc, periodic_interrupt_at_the_rate_of_register_a)
{
	rtc_alone();
	cr_assert_eq(env.now_ns % TEST_DEV_NS_PER_SEC, 0, "a whole number of 32 kHz cycles");
	cmos_write(0x0B, 0x42); /* PIE, 1024 Hz */
	uint64_t t0 = env.now_ns;
	cr_expect_eq(dev_bus_next_deadline(env.bus), t0 + 976563, "32 cycles of 32.768 kHz");
	test_dev_advance(&env, 976562);
	cr_expect_not(dev_intr_pending(env.bus));
	test_dev_advance(&env, 1);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(cmos(0x0C), 0xC0, "IRQF and PF");
	dev_intr_ack(env.bus);
	test_pic_eoi(&env, 8);
	cmos_write(0x0A, 0x2F); /* 2 Hz */
	uint64_t t1 = env.now_ns;
	cr_expect_eq(dev_bus_next_deadline(env.bus), t1 + 500 * MS,
		     "the period restarts at the rate change");
	test_dev_advance(&env, 500 * MS - 1);
	cr_expect_not(dev_intr_pending(env.bus));
	test_dev_advance(&env, 1);
	cr_expect(dev_intr_pending(env.bus));
	cr_expect_eq(cmos(0x0C) & 0x40, 0x40);
	cmos_write(0x0B, 0x02);
	test_dev_advance(&env, 2 * TEST_DEV_NS_PER_SEC);
	cr_expect_eq(cmos(0x0C) & 0x40, 0, "no PF while PIE is off (QEMU)");
}

Test(rtc, alarm_interrupt_at_the_matching_second)
{
	rtc_alone();
	cmos_write(0x05, 0x13);
	cmos_write(0x03, 0x46);
	cmos_write(0x01, 0x00);
	cmos_write(0x0B, 0x22); /* AIE */
	cr_expect_eq(dev_bus_next_deadline(env.bus), env.now_ns + 3750 * MS);
	test_dev_advance(&env, 3749 * MS);
	cr_expect_not(dev_intr_pending(env.bus));
	cr_expect_eq(cmos(0x0C), 0x10, "updates, but no alarm yet");
	test_dev_advance(&env, 1 * MS);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(cmos(0x0C), 0xB0, "IRQF, AF and UF");
}

Test(rtc, dont_care_alarm_bytes_match_anything)
{
	rtc_alone();
	cmos_write(0x05, 0xFF);
	cmos_write(0x03, 0xC0);
	cmos_write(0x01, 0x10);
	cmos_write(0x0B, 0x22);
	cr_expect_eq(dev_bus_next_deadline(env.bus), env.now_ns + 13750 * MS, "at 13:46:10");
	test_dev_advance(&env, 74750 * MS);
	cr_expect(dev_intr_pending(env.bus));
	cr_expect_eq(cmos(0x0C) & 0x20, 0x20, "an alarm second passed while nobody looked");
}

Test(rtc, alarm_that_never_comes_never_fires)
{
	rtc_alone();
	cmos_write(0x05, 0x25); /* hour 25 */
	cmos_write(0x0B, 0x22);
	cr_expect_eq(dev_bus_next_deadline(env.bus), UINT64_MAX);
	test_dev_advance(&env, 100000 * TEST_DEV_NS_PER_SEC);
	cr_expect_eq(cmos(0x0C), 0x10);
}

Test(rtc, divider_reset_stops_the_clock_and_the_next_update_comes_half_a_second_later)
{
	cmos_write(0x0A, 0x76);
	test_dev_clock_forward(&env, 10 * TEST_DEV_NS_PER_SEC);
	cr_expect_eq(cmos(0x00), 0x56);
	cr_expect_eq(cmos(0x0A), 0x76, "no UIP while the divider is held");
	cmos_write(0x0A, 0x26);
	test_dev_clock_forward(&env, 499 * MS);
	cr_expect_eq(cmos(0x00), 0x56);
	test_dev_clock_forward(&env, 1 * MS);
	cr_expect_eq(cmos(0x00), 0x57);
}

Test(rtc, setting_set_clears_uie)
{
	cmos_write(0x0B, 0x12);
	cmos_write(0x0B, 0x92);
	cr_expect_eq(cmos(0x0B), 0x82);
}

Test(rtc, registers_c_and_d_are_read_only)
{
	cmos_write(0x0D, 0x00);
	cr_expect_eq(cmos(0x0D), 0x80, "valid RAM and time");
	cmos_write(0x0C, 0xF0);
	cr_expect_eq(cmos(0x0C), 0x00);
}

Test(rtc, index_port_masks_the_nmi_bit_and_reads_all_ones)
{
	test_outb(&env, 0x70, 0x8E);
	test_outb(&env, 0x71, 0x5A);
	cr_expect_eq(test_inb(&env, 0x70), 0xFF);
	cr_expect_eq(cmos(0x0E), 0x5A);
	cmos_write(0x7F, 0xA5);
	cr_expect_eq(cmos(0x7F), 0xA5, "the RAM keeps what is written");
	cr_expect_eq(test_inl(&env, 0x70) & 0x00FF00FF, 0x00FF00FF, "split: index, data, ...");
}

Test(cmos, memory_size_bytes_for_128_mib)
{
	test_dev_env_setup_with(&env, UINT64_C(128) << 20, TEST_DEV_REALTIME_START);
	static const struct {
		uint8_t index, value;
	} expect[] = {
	    /* Measured under QEMU 7.2 with -m 128. */
	    {0x10, 0x00}, {0x14, 0x06}, {0x15, 0x80}, {0x16, 0x02}, {0x17, 0xFF}, {0x18, 0xFF},
	    {0x30, 0xFF}, {0x31, 0xFF}, {0x32, 0x20}, {0x34, 0x00}, {0x35, 0x07}, {0x38, 0x30},
	    {0x3D, 0x12}, {0x5B, 0x00}, {0x5C, 0x00}, {0x5D, 0x00}, {0x5F, 0x00}, {0x0F, 0x00},
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		cr_expect_eq(cmos(expect[i].index), expect[i].value, "byte %#x: %#x",
			     expect[i].index, cmos(expect[i].index));
}

Test(cmos, memory_size_bytes_for_32_mib_and_4_gib)
{
	test_dev_env_setup_with(&env, UINT64_C(32) << 20, TEST_DEV_REALTIME_START);
	cr_expect_eq(cmos(0x17) | cmos(0x18) << 8, 31 * 1024, "KiB above 1 MiB");
	cr_expect_eq(cmos(0x30) | cmos(0x31) << 8, 31 * 1024);
	cr_expect_eq(cmos(0x34) | cmos(0x35) << 8, 256, "64 KiB units above 16 MiB");
	test_dev_env_teardown(&env);
	test_dev_env_setup_with(&env, UINT64_C(4) << 30, TEST_DEV_REALTIME_START);
	cr_expect_eq(cmos(0x34) | cmos(0x35) << 8, (3072 - 16) * 16, "below 3 GiB");
	cr_expect_eq(cmos(0x5B) | cmos(0x5C) << 8 | cmos(0x5D) << 16, 1024 * 16,
		     "1 GiB above 4 GiB");
}

Test(cmos, a_date_before_1970_and_after_2262)
{
	test_dev_env_setup_with(&env, UINT64_C(128) << 20, -INT64_C(86400) * 1000000000);
	cr_expect_eq(cmos(0x09), 0x69, "1969-12-31");
	cr_expect_eq(cmos(0x32), 0x19);
	cr_expect_eq(cmos(0x06), 0x04, "a Wednesday");
	cmos_write(0x0B, 0x82);
	cmos_write(0x09, 0x99);
	cmos_write(0x32, 0x99);
	cmos_write(0x0B, 0x02);
	test_dev_clock_forward(&env, 2 * TEST_DEV_NS_PER_SEC);
	cr_expect_eq(cmos(0x09), 0x99, "year 9999 keeps time");
	cr_expect_eq(cmos(0x32), 0x99);
}
