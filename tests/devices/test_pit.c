/* test_pit.c — the 8254 PIT and port 0x61 against a fake clock: counting at 1.193182 MHz,
 * the outputs of modes 0, 2 and 3, IRQ 0 through the PIC, latches, read-back, the access
 * modes, BCD, channel 2's gate. Values follow QEMU 7.2's i8254 where it differs from the data
 * sheet (mode 2's OUT, a count write restarting at once). */
#include <criterion/criterion.h>

#include "test_devices_common.h"

static struct test_dev_env env;

static void pit_setup(void)
{
	test_dev_env_setup(&env);
}

static void pit_teardown(void)
{
	test_dev_env_teardown(&env);
}

TestSuite(pit, .init = pit_setup, .fini = pit_teardown);
TestSuite(port61, .init = pit_setup, .fini = pit_teardown);

#define PIT_HZ UINT64_C(1193182)

/* The time after which exactly t ticks have gone by. */
static uint64_t ticks_ns(uint64_t t)
{
	return (t * TEST_DEV_NS_PER_SEC + PIT_HZ - 1) / PIT_HZ;
}

static uint8_t inb(uint16_t port)
{
	return test_inb(&env, port);
}

static void outb(uint16_t port, uint8_t value)
{
	test_outb(&env, port, value);
}

/* Program channel ch (0-2) with a control word's mode bits and a 16-bit count, LSB then MSB. */
static void pit_program(unsigned ch, uint8_t mode_bits, uint16_t count)
{
	outb(0x43, (uint8_t)(ch << 6 | 0x30 | mode_bits));
	outb((uint16_t)(0x40 + ch), (uint8_t)count);
	outb((uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

/* Latch channel ch and read the count, LSB then MSB. */
static uint16_t pit_latched(unsigned ch)
{
	outb(0x43, (uint8_t)(ch << 6));
	uint16_t lo = inb((uint16_t)(0x40 + ch));
	return (uint16_t)(lo | inb((uint16_t)(0x40 + ch)) << 8);
}

static uint8_t pit_status(unsigned ch)
{
	outb(0x43, (uint8_t)(0xE0 | 2u << ch));
	return inb((uint16_t)(0x40 + ch));
}

/* Move the clock so that `ticks` have gone by since `start` (the time of the count write). */
static void at_tick(uint64_t start, uint64_t ticks)
{
	env.now_ns = start + ticks_ns(ticks);
}

static void update_at_tick(uint64_t start, uint64_t ticks)
{
	at_tick(start, ticks);
	dev_bus_update(env.bus, env.now_ns);
}

Test(pit, starts_with_seabios_timer_on_channel_0)
{
	cr_expect_eq(pit_status(0), 0x34, "mode 2, LSB then MSB, binary, OUT low (QEMU)");
	cr_expect_eq(pit_latched(0), 0x0000, "count 65536");
	at_tick(TEST_DEV_MONOTONIC_START, 1);
	cr_expect_eq(pit_latched(0), 0xFFFF);
	cr_expect_eq(dev_bus_next_deadline(env.bus), TEST_DEV_MONOTONIC_START + ticks_ns(65536),
		     "18.2 Hz");
}

Test(pit, mode2_counts_down_and_reloads)
{
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 1000);
	cr_expect_eq(pit_latched(0), 1000);
	at_tick(t0, 250);
	cr_expect_eq(pit_latched(0), 750);
	at_tick(t0, 999);
	cr_expect_eq(pit_latched(0), 1);
	at_tick(t0, 1000);
	cr_expect_eq(pit_latched(0), 1000, "reloaded");
	at_tick(t0, 1001);
	cr_expect_eq(pit_latched(0), 999);
	cr_expect_eq(pit_status(0) & 0x80, 0, "OUT is low between reloads (QEMU)");
	at_tick(t0, 2000);
	cr_expect_eq(pit_status(0) & 0x80, 0x80, "and high on the reload tick");
}

Test(pit, mode2_raises_irq0_once_per_period)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 1193);
	cr_expect_eq(dev_bus_next_deadline(env.bus), t0 + ticks_ns(1193));
	update_at_tick(t0, 1192);
	cr_expect_not(dev_intr_pending(env.bus));
	update_at_tick(t0, 1193);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x20);
	test_pic_eoi(&env, 0);
	cr_expect_eq(dev_bus_next_deadline(env.bus), t0 + ticks_ns(2 * 1193));
	update_at_tick(t0, 2 * 1193 - 1);
	cr_expect_not(dev_intr_pending(env.bus));
	update_at_tick(t0, 2 * 1193);
	cr_expect(dev_intr_pending(env.bus));
}

/* Deliver what is pending, one acknowledge and EOI at a time, with an update after each as the
 * runtime's dispatcher does; returns how many IRQ 0s the guest took. */
static unsigned take_ticks(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < 5000; i++) {
		dev_bus_update(env.bus, env.now_ns);
		if (!dev_intr_pending(env.bus))
			break;
		cr_assert_eq(dev_intr_ack(env.bus), 0x20);
		test_pic_eoi(&env, 0);
		n++;
	}
	return n;
}

Test(pit, ticks_missed_by_a_late_update_are_owed_one_at_a_time)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 1193);
	update_at_tick(t0, 6 * 1193 + 5); /* six periods in one update */
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x20);
	cr_expect_leq(dev_bus_next_deadline(env.bus), env.now_ns,
		      "acknowledged with ticks owed: due now");
	test_pic_eoi(&env, 0);
	cr_expect_eq(take_ticks(), 5, "the other five, each after the last was taken");
	cr_expect_eq(dev_bus_next_deadline(env.bus), t0 + ticks_ns(7 * 1193));
	struct dev_timer_stats stats;
	dev_bus_timer_stats(env.bus, &stats);
	cr_expect_eq(stats.ticks_late, 5);
	cr_expect_eq(stats.ticks_dropped, 0);
}

Test(pit, owed_ticks_wait_while_the_last_one_is_not_acknowledged)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 1193);
	for (uint64_t k = 1; k <= 4; k++) /* interrupts off: nobody acknowledges */
		update_at_tick(t0, k * 1193);
	cr_expect_eq(dev_bus_next_deadline(env.bus), UINT64_MAX,
		     "no deadline while IRQ 0's request waits in IRR: later edges are only owed");
	update_at_tick(t0, 5 * 1193);
	cr_expect_eq(take_ticks(), 5, "one in IRR and four owed, counted at the next update");
}

Test(pit, reinitialising_the_pic_makes_room_for_the_owed_ticks)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 1193);
	update_at_tick(t0, 3 * 1193);
	test_pic_init(&env, 0x20, 0x28); /* ICW1 clears IRR; nothing was acknowledged */
	cr_expect_leq(dev_bus_next_deadline(env.bus), env.now_ns);
	cr_expect_eq(take_ticks(), 2);
}

Test(pit, a_masked_irq0_owes_nothing)
{
	test_pic_init(&env, 0x20, 0x28);
	test_outb(&env, 0x21, 0x01);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 1193);
	update_at_tick(t0, 10 * 1193);
	test_outb(&env, 0x21, 0x00);
	cr_expect_eq(take_ticks(), 1, "only the request IRR kept");
	struct dev_timer_stats stats;
	dev_bus_timer_stats(env.bus, &stats);
	cr_expect_eq(stats.ticks_dropped, 9);
	cr_expect_eq(stats.ticks_late, 0);
}

Test(pit, at_most_a_seconds_worth_of_ticks_is_owed)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 11932);	/* 100 Hz */
	update_at_tick(t0, 5 * PIT_HZ); /* 499 periods (11932 is a little over 1/100 s) */
	cr_expect_eq(take_ticks(), 99, "the 99 periods that fit in one second");
	struct dev_timer_stats stats;
	dev_bus_timer_stats(env.bus, &stats);
	cr_expect_eq(stats.ticks_dropped, 499 - 99);
}

Test(pit, reprogramming_forgets_the_owed_ticks)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 1193);
	update_at_tick(t0, 20 * 1193);
	pit_program(0, 0x04, 1193);
	cr_expect_eq(take_ticks(), 1);
}

Test(pit, masked_irq0_is_not_delivered)
{
	test_pic_init(&env, 0x20, 0x28);
	outb(0x21, 0x01);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 100);
	update_at_tick(t0, 1000);
	cr_expect_not(dev_intr_pending(env.bus));
	outb(0x20, 0x0A);
	cr_expect_eq(inb(0x20) & 1, 1, "the edge waits in IRR");
}

Test(pit, mode0_interrupts_once_at_terminal_count)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x00, 100);
	cr_expect_eq(pit_status(0), 0x30, "OUT low while counting");
	update_at_tick(t0, 99);
	cr_expect_not(dev_intr_pending(env.bus));
	cr_expect_eq(pit_latched(0), 1);
	update_at_tick(t0, 100);
	cr_assert(dev_intr_pending(env.bus));
	cr_expect_eq(dev_intr_ack(env.bus), 0x20);
	test_pic_eoi(&env, 0);
	cr_expect_eq(pit_status(0), 0xB0, "OUT high after terminal count");
	at_tick(t0, 101);
	cr_expect_eq(pit_latched(0), 0xFFFF, "the counter wraps and keeps counting");
	cr_expect_eq(dev_bus_next_deadline(env.bus), UINT64_MAX);
	update_at_tick(t0, 100000);
	cr_expect_not(dev_intr_pending(env.bus), "one-shot");
}

Test(pit, mode0_new_count_restarts_the_one_shot)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x00, 100);
	update_at_tick(t0, 150);
	cr_expect_eq(dev_intr_ack(env.bus), 0x20);
	test_pic_eoi(&env, 0);
	uint64_t t1 = env.now_ns;
	outb(0x40, 50); /* Linux's oneshot: a new count without a control word */
	outb(0x40, 0);
	cr_expect_eq(pit_status(0) & 0x80, 0, "OUT low again");
	update_at_tick(t1, 49);
	cr_expect_not(dev_intr_pending(env.bus));
	update_at_tick(t1, 50);
	cr_expect(dev_intr_pending(env.bus));
}

Test(pit, mode3_load_raises_irq0_at_once_then_every_period)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x06, 100);
	cr_assert(dev_intr_pending(env.bus), "OUT rises when the count is loaded (QEMU)");
	cr_expect_eq(dev_intr_ack(env.bus), 0x20);
	test_pic_eoi(&env, 0);
	update_at_tick(t0, 50);
	cr_expect_not(dev_intr_pending(env.bus), "the falling half-period edge does nothing");
	update_at_tick(t0, 100);
	cr_expect(dev_intr_pending(env.bus));
}

Test(pit, reprogramming_channel0_still_delivers_the_edges_already_due)
{
	test_pic_init(&env, 0x20, 0x28);
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 1000);
	at_tick(t0, 1500); /* no dev_bus_update since */
	pit_program(0, 0x04, 2000);
	cr_expect(dev_intr_pending(env.bus));
}

Test(pit, reads_see_elapsed_time_without_an_update)
{
	/* Linux's quick_pit_calibrate: gate on, channel 2 mode 0 from 0xFFFF, then plain reads
	 * of LSB and MSB in a tight loop. */
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xB0);
	outb(0x42, 0xFF);
	uint64_t t0 = env.now_ns;
	outb(0x42, 0xFF);
	inb(0x42);
	cr_expect_eq(inb(0x42), 0xFF);
	at_tick(t0, 0x100);
	inb(0x42);
	cr_expect_eq(inb(0x42), 0xFE);
	at_tick(t0, 0x1000);
	cr_expect_eq(inb(0x42), 0xFF, "LSB of 0xEFFF");
	cr_expect_eq(inb(0x42), 0xEF);
}

Test(pit, counter_latch_holds_the_value_until_both_bytes_are_read)
{
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x04, 5000);
	at_tick(t0, 100);
	outb(0x43, 0x00);
	at_tick(t0, 300);
	outb(0x43, 0x00); /* ignored: a latched count is still unread */
	cr_expect_eq(inb(0x40), (4900 & 0xFF));
	at_tick(t0, 600);
	cr_expect_eq(inb(0x40), 4900 >> 8);
	uint16_t lo = inb(0x40);
	uint16_t live = (uint16_t)(lo | inb(0x40) << 8);
	cr_expect_eq(live, 4400, "unlatched reads follow the clock");
}

Test(pit, lsb_only_and_msb_only_access)
{
	outb(0x43, 0x14); /* channel 0, LSB only, mode 2 */
	outb(0x40, 0x34);
	cr_expect_eq(pit_status(0) & 0x30, 0x10);
	outb(0x43, 0x00);
	cr_expect_eq(inb(0x40), 0x34, "one latched byte");
	cr_expect_eq(inb(0x40), 0x34, "then live LSBs (the clock has not moved)");
	outb(0x43, 0x24); /* MSB only */
	outb(0x40, 0x12);
	cr_expect_eq(inb(0x40), 0x12, "count 0x1200, read as its MSB");
	at_tick(env.now_ns, 0x100);
	cr_expect_eq(inb(0x40), 0x11);
}

Test(pit, word_access_flip_flops_for_reads_and_writes_are_separate)
{
	outb(0x43, 0x34);
	outb(0x40, 0x78); /* LSB written */
	cr_expect_eq(inb(0x40), 0x00, "LSB of the old count: reads have their own flip-flop");
	outb(0x40, 0x56); /* MSB written: count 0x5678 */
	cr_expect_eq(inb(0x40), 0x56, "the read flip-flop is on the MSB now");
	cr_expect_eq(pit_latched(0), 0x5678);
}

Test(pit, read_back_latches_status_then_count)
{
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x00, 0x1234);
	outb(0x43, 0xC2); /* count and status of channel 0 */
	at_tick(t0, 0x34);
	cr_expect_eq(inb(0x40), 0x30, "status: mode 0, LSB/MSB, binary, OUT low");
	cr_expect_eq(inb(0x40), 0x34, "then the count as it was at the command");
	cr_expect_eq(inb(0x40), 0x12);
	at_tick(t0, 0x2000);
	outb(0x43, 0xE2); /* status only */
	outb(0x43, 0xE2); /* ignored while the first status is unread */
	cr_expect_eq(inb(0x40), 0xB0, "OUT high: past terminal count");
	cr_expect_eq(inb(0x40), 0x34, "then live reads: 0x1234 - 0x2000 wraps to 0xF234");
	cr_expect_eq(inb(0x40), 0xF2);
	outb(0x43, 0xD2); /* count only */
	at_tick(t0, 0x2100);
	cr_expect_eq(inb(0x40), 0x34, "latched at 0x2000, not 0x2100");
	cr_expect_eq(inb(0x40), 0xF2);
}

Test(pit, read_back_of_several_channels_and_the_control_port_reads_zero)
{
	pit_program(2, 0x02, 10); /* mode 1 */
	outb(0x43, 0xEC);	  /* status of channels 1 and 2 */
	cr_expect_eq(inb(0x41) & 0x3F, 0x06, "channel 1: never programmed, mode 3");
	cr_expect_eq(inb(0x42) & 0x3F, 0x32, "channel 2: LSB/MSB, mode 1");
	cr_expect_eq(inb(0x43), 0);
}

Test(pit, bcd_counting_wraps_at_ten_thousand)
{
	outb(0x61, 0x01);
	outb(0x43, 0xB1); /* channel 2, LSB/MSB, mode 0, BCD */
	uint64_t t0 = env.now_ns;
	outb(0x42, 0x00);
	outb(0x42, 0x10); /* 1000 */
	cr_expect_eq(pit_latched(2), 0x1000);
	at_tick(t0, 1);
	cr_expect_eq(pit_latched(2), 0x0999);
	at_tick(t0, 1001);
	cr_expect_eq(pit_latched(2), 0x9999);
	cr_expect_eq(pit_status(2), 0xB1, "OUT high after terminal count, BCD bit");
}

Test(pit, mode6_and_7_are_modes_2_and_3)
{
	uint64_t t0 = env.now_ns;
	pit_program(0, 0x0C, 1000); /* mode 6 */
	cr_expect_eq(pit_status(0) & 0x0E, 0x0C, "the status shows the bits as written");
	at_tick(t0, 1250);
	cr_expect_eq(pit_latched(0), 750, "counts as mode 2");
}

Test(port61, gate_holds_channel_2_in_mode_0)
{
	outb(0x61, 0x01);
	cr_expect_eq(inb(0x61) & 0x01, 0x01);
	uint64_t t0 = env.now_ns;
	pit_program(2, 0x00, 1000);
	at_tick(t0, 100);
	cr_expect_eq(pit_latched(2), 900);
	outb(0x61, 0x00);
	cr_expect_eq(inb(0x61) & 0x01, 0x00);
	at_tick(t0, 400);
	cr_expect_eq(pit_latched(2), 900, "held while the gate is low");
	uint64_t t1 = env.now_ns;
	outb(0x61, 0x01);
	at_tick(t1, 100);
	cr_expect_eq(pit_latched(2), 800, "and resumes where it stopped");
}

Test(port61, bit5_is_channel_2_out_in_mode_0_for_tsc_calibration)
{
	/* Linux's pit_calibrate_tsc: wait for OUT to go high at terminal count. */
	outb(0x61, 0x01);
	uint64_t t0 = env.now_ns;
	pit_program(2, 0x00, 1000);
	cr_expect_eq(inb(0x61) & 0x20, 0);
	at_tick(t0, 999);
	cr_expect_eq(inb(0x61) & 0x20, 0);
	at_tick(t0, 1000);
	cr_expect_eq(inb(0x61) & 0x20, 0x20);
}

Test(port61, bit5_follows_a_mode_3_square_wave)
{
	outb(0x61, 0x01);
	uint64_t t0 = env.now_ns;
	pit_program(2, 0x06, 10);
	static const struct {
		uint64_t tick;
		uint8_t out;
	} wave[] = {{0, 0x20}, {4, 0x20}, {5, 0}, {9, 0}, {10, 0x20}, {14, 0x20}, {15, 0}};
	for (size_t i = 0; i < sizeof(wave) / sizeof(wave[0]); i++) {
		at_tick(t0, wave[i].tick);
		cr_expect_eq(inb(0x61) & 0x20, wave[i].out, "tick %llu",
			     (unsigned long long)wave[i].tick);
	}
	at_tick(t0, 21);
	cr_expect_eq(pit_latched(2), 8, "counts down by two");
	outb(0x61, 0x00);
	cr_expect_eq(inb(0x61) & 0x20, 0x20, "a low gate forces OUT high in mode 3");
}

Test(port61, refresh_toggles_on_every_read_and_only_bits_0_and_1_are_kept)
{
	/* Channel 2's OUT (bit 5) is high: its gate is low in mode 3. */
	cr_expect_eq(inb(0x61), 0x30, "QEMU: the first read shows the toggle set");
	cr_expect_eq(inb(0x61), 0x20);
	cr_expect_eq(inb(0x61), 0x30);
	outb(0x61, 0x0E); /* speaker data, parity and channel-check enables */
	cr_expect_eq(inb(0x61) & 0x0F, 0x02, "bits 2 and 3 read as 0 (QEMU)");
	uint32_t w = dev_io_read(env.bus, 0x61, 2);
	cr_expect_eq(w & 0x0F0F, 0x0202);
	cr_expect_eq((w ^ (w >> 8)) & 0x10, 0x10, "a word read is two reads of the port");
}
