/* pit8254.c — the Intel 8254 programmable interval timer of a PC: three 16-bit down-counters
 * clocked at 1.193182 MHz. Channel 0's output is IRQ 0; channel 2's gate and output are bits 0
 * and 5 of port 0x61 (port61.c); channel 1 (once DRAM refresh) counts but drives nothing.
 *
 * Nothing here ticks. Each channel remembers the host time at which it started counting and
 * how many clock ticks it had counted before then (a low gate can hold it still), and every
 * question — the count a guest reads, the level of OUT, whether IRQ 0 should have fired — is
 * answered from the elapsed time, d = ticks since the count was loaded. Reads take their time
 * from the bus clock at the moment of the access (dev_bus_now), because Linux calibrates the
 * TSC by polling channel 2 and sees no dev_bus_update in between; dev_bus_update only delivers
 * channel 0's edges to the PIC.
 *
 * IRQ 0 follows channel 0's OUT, and the PIC latches its rising edges. dev_pit_update compares
 * d now with d at the previous update to find the edges OUT made in between. When the runtime
 * comes late (a long translation) or the guest runs with interrupts off, several can be due at
 * once, but the PIC can hold only one. QEMU's TCG PIT merges them, and so loses ticks; Linux
 * counts jiffies by ticks and, with no HPET or ACPI timer, uses them (its "pit" clocksource) to
 * watch the TSC, so lost ticks made it declare the TSC unstable and fall back to reading the
 * PIT for time. We owe them instead, as KVM's PIT does by default (lost_tick_policy=delay):
 * one edge goes to the PIC per update, and the next only once IRR has room again (the CPU took
 * the request), the deadline saying "now" while it has. A masked IRQ 0 owes nothing (IRR holds
 * one request, as on the chip); reprogramming the channel forgets the debt; at most a second's
 * worth is kept. dev_bus_timer_stats counts what came late and what was dropped.
 *
 * The counting and OUT formulas are QEMU 7.2's, since guests are compared with QEMU, where they
 * differ from the data sheet: OUT is low in mode 2 except for the tick at which the count
 * reloads (the data sheet has it high except for the tick before); in modes 1, 4 and 5 it is
 * likewise inverted; mode 3 with an odd count is approximated; a control word changes the mode
 * without stopping the counter, the new count starting only when it is written; a new count
 * takes effect at once in every mode; the read-back status never shows "null count". What QEMU
 * leaves out we take from the data sheet: the gate holds the counter in modes 0, 2, 3 and 4
 * (and forces OUT high in 2 and 3), and BCD counting works.
 *
 * At creation the channels are as SeaBIOS leaves them under QEMU: channel 0 in mode 2 with a
 * count of 65536 (18.2 Hz), channels 1 and 2 in QEMU's reset state (mode 3, count 65536, no
 * access mode programmed), channel 2's gate low.
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

#define DEV_PIT_HZ UINT64_C(1193182)

enum {
	DEV_PIT_CHANNELS = 3,
	DEV_PIT_CONTROL = 3, /* offset of the mode/command register */
	DEV_PIT_IRQ = 0,
	DEV_PIT_READ_BACK = 3,		    /* control word channel field 11: read-back command */
	DEV_PIT_READ_BACK_NO_COUNT = 0x20,  /* read-back bit 5 clear: latch the counts */
	DEV_PIT_READ_BACK_NO_STATUS = 0x10, /* read-back bit 4 clear: latch the statuses */
};

/* The RW1-RW0 field of a control word: which bytes of the count reads and writes move. */
enum dev_pit_access {
	DEV_PIT_LATCH = 0, /* as a command; as a channel's state, "never programmed" */
	DEV_PIT_LSB = 1,
	DEV_PIT_MSB = 2,
	DEV_PIT_WORD = 3, /* LSB, then MSB */
};

struct dev_pit_channel {
	uint8_t mode;	   /* how it counts: 0-5 (modes 6 and 7 are 2 and 3) */
	uint8_t mode_bits; /* M2-M0 as written, which the status byte shows */
	uint8_t access;	   /* enum dev_pit_access; 0 reads and writes as LSB, as in QEMU */
	bool bcd;
	uint32_t count; /* N, the initial count: 1..65536 (1..10000 in BCD) */
	bool gate;
	bool paused;	     /* the gate holds the counter still */
	uint64_t start_ns;   /* host time at which the counter last started or resumed */
	uint64_t base_ticks; /* ticks counted before start_ns */
	bool write_msb_next; /* word access: the next data write is the MSB */
	uint8_t write_lsb;
	bool read_msb_next; /* word access: the next unlatched read returns the MSB */
	uint8_t latch;	    /* latched count bytes left to read, as an access mode; 0: none */
	uint16_t latched;
	bool status_latched;
	uint8_t status;
	uint64_t irq_ticks; /* channel 0: d when IRQ 0 was last brought up to date */
	bool irq_level;	    /* channel 0: the level IRQ 0 was last driven to */
};

struct dev_pit {
	struct dev_bus *bus;
	struct dev_pit_channel channel[DEV_PIT_CHANNELS];
	/* Channel 0's ticks that the guest could not take in time (see the overview). */
	uint64_t owed;	  /* rising edges due that the PIC has not been given yet */
	uint64_t sync_ns; /* when IRQ 0 was last brought up to date */
	struct dev_timer_stats stats;
};

static uint64_t dev_pit_ns_to_ticks(uint64_t ns)
{
	return ns / DEV_NS_PER_SEC * DEV_PIT_HZ + ns % DEV_NS_PER_SEC * DEV_PIT_HZ / DEV_NS_PER_SEC;
}

/* The shortest time after which dev_pit_ns_to_ticks reaches ticks. */
static uint64_t dev_pit_ticks_to_ns(uint64_t ticks)
{
	uint64_t rem = ticks % DEV_PIT_HZ * DEV_NS_PER_SEC;
	return ticks / DEV_PIT_HZ * DEV_NS_PER_SEC + (rem + DEV_PIT_HZ - 1) / DEV_PIT_HZ;
}

/* d: the clock ticks the channel has counted since its count was loaded. */
static uint64_t dev_pit_ticks(const struct dev_pit_channel *ch, uint64_t now_ns)
{
	if (ch->paused || now_ns < ch->start_ns)
		return ch->base_ticks;
	return ch->base_ticks + dev_pit_ns_to_ticks(now_ns - ch->start_ns);
}

static bool dev_pit_gate_holds(uint8_t mode)
{
	return mode == 0 || mode == 2 || mode == 3 || mode == 4;
}

static void dev_pit_set_paused(struct dev_pit_channel *ch, bool paused, uint64_t now_ns)
{
	if (paused == ch->paused)
		return;
	if (paused)
		ch->base_ticks = dev_pit_ticks(ch, now_ns);
	else
		ch->start_ns = now_ns;
	ch->paused = paused;
}

/* Start counting from the initial count at now_ns (a count write, a gate trigger). */
static void dev_pit_restart(struct dev_pit_channel *ch, uint64_t now_ns)
{
	ch->base_ticks = 0;
	ch->start_ns = now_ns;
	ch->paused = !ch->gate && dev_pit_gate_holds(ch->mode);
	ch->irq_ticks = 0;
}

static uint16_t dev_pit_to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 |
			  v % 10);
}

static uint32_t dev_pit_from_bcd(uint16_t v)
{
	return (v >> 12) * 1000u + (v >> 8 & 15) * 100u + (v >> 4 & 15) * 10u + (v & 15);
}

/* The counting element's value after d ticks, in the channel's number format. */
static uint16_t dev_pit_value(const struct dev_pit_channel *ch, uint64_t d)
{
	uint64_t modulus = ch->bcd ? 10000 : 0x10000;
	uint64_t n = ch->count;
	uint64_t v;
	switch (ch->mode) {
	case 2: /* N, N-1, ..., 1, reload */
		v = n - d % n;
		break;
	case 3: /* twice per period from N down by two (QEMU's formula, also for odd N) */
		v = n - 2 * d % n;
		break;
	default: /* one pass from N, then wrapping around the counter's range */
		v = (n % modulus + modulus - d % modulus) % modulus;
		break;
	}
	v %= modulus;
	return ch->bcd ? dev_pit_to_bcd((uint32_t)v) : (uint16_t)v;
}

/* OUT after d ticks (QEMU's formulas; the low gate of modes 2 and 3 from the data sheet). */
static bool dev_pit_out_at(const struct dev_pit_channel *ch, uint64_t d)
{
	uint64_t n = ch->count;
	switch (ch->mode) {
	case 0:
		return d >= n;
	case 1:
		return d < n;
	case 2:
		return !ch->gate || (d != 0 && d % n == 0);
	case 3:
		return !ch->gate || d % n < (n + 1) / 2;
	default: /* 4, 5 */
		return d == n;
	}
}

/* How many times OUT rose at the ticks in (a, b]. (In mode 1 it rises only when the count is
 * loaded, which dev_pit_load handles.) */
static uint64_t dev_pit_rises_between(const struct dev_pit_channel *ch, uint64_t a, uint64_t b)
{
	uint64_t n = ch->count;
	if (b <= a)
		return 0;
	switch (ch->mode) {
	case 0:
	case 4:
	case 5:
		return a < n && n <= b;
	case 2:
	case 3:
		return b / n - a / n;
	default:
		return 0;
	}
}

/* The first tick after a at which OUT rises, or UINT64_MAX. */
static uint64_t dev_pit_next_rise(const struct dev_pit_channel *ch, uint64_t a)
{
	uint64_t n = ch->count;
	switch (ch->mode) {
	case 0:
	case 4:
	case 5:
		return a < n ? n : UINT64_MAX;
	case 2:
	case 3:
		return (a / n + 1) * n;
	default:
		return UINT64_MAX;
	}
}

static void dev_pit_irq_drive(struct dev_pit *pit, bool level)
{
	struct dev_pit_channel *ch = &pit->channel[0];
	if (level == ch->irq_level)
		return;
	ch->irq_level = level;
	dev_irq_set(pit->bus, DEV_PIT_IRQ, level);
}

/* At most a second's worth of ticks, and at most 1000, are owed. */
static uint64_t dev_pit_owed_max(const struct dev_pit_channel *ch)
{
	uint64_t max = DEV_PIT_HZ / ch->count;
	return max < 1 ? 1 : max > 1000 ? 1000 : max;
}

/* Forget the ticks owed: the guest masked IRQ 0 or reprogrammed the channel. */
static void dev_pit_owed_drop(struct dev_pit *pit)
{
	pit->stats.ticks_dropped += pit->owed;
	pit->owed = 0;
}

/* Bring IRQ 0 up to now_ns under channel 0's current programming: add the edges OUT made
 * since the last time to those owed, give the PIC one if its IRR has room, then drive the
 * level OUT has now. */
static void dev_pit_irq_sync(struct dev_pit *pit, uint64_t now_ns)
{
	struct dev_pit_channel *ch = &pit->channel[0];
	uint64_t d = dev_pit_ticks(ch, now_ns);
	uint64_t rises = dev_pit_rises_between(ch, ch->irq_ticks, d);
	ch->irq_ticks = d;
	pit->sync_ns = now_ns;
	bool masked = dev_bus_irq_masked(pit->bus, DEV_PIT_IRQ);
	if (masked) /* IRR holds one request, as on the chip; nothing more is owed */
		dev_pit_owed_drop(pit);
	pit->owed += rises;
	uint64_t max = dev_pit_owed_max(ch);
	if (pit->owed > max) {
		pit->stats.ticks_dropped += pit->owed - max;
		pit->owed = max;
	}
	bool give = pit->owed > 0 && !dev_bus_irq_requested(pit->bus, DEV_PIT_IRQ);
	if (give) {
		dev_pit_irq_drive(pit, false);
		dev_pit_irq_drive(pit, true);
		pit->owed--;
		if (masked)
			dev_pit_owed_drop(pit);
	}
	/* The new edges still owed (the oldest go first) will reach the PIC late. */
	pit->stats.ticks_late += rises < pit->owed ? rises : pit->owed;
	dev_pit_irq_drive(pit, dev_pit_out_at(ch, d));
}

struct dev_pit *dev_pit_create(struct dev_bus *bus, uint64_t now_ns)
{
	struct dev_pit *pit = calloc(1, sizeof(*pit));
	if (pit == NULL)
		return NULL;
	pit->bus = bus;
	for (unsigned i = 0; i < DEV_PIT_CHANNELS; i++) {
		struct dev_pit_channel *ch = &pit->channel[i];
		ch->mode = ch->mode_bits = 3;
		ch->count = 0x10000;
		ch->gate = i != 2; /* channels 0 and 1 have their gates tied high */
		dev_pit_restart(ch, now_ns);
	}
	/* SeaBIOS's timer: mode 2, LSB then MSB, count 0 (65536). */
	pit->channel[0].mode = pit->channel[0].mode_bits = 2;
	pit->channel[0].access = DEV_PIT_WORD;
	return pit;
}

void dev_pit_destroy(struct dev_pit *pit)
{
	free(pit);
}

void dev_pit_update(struct dev_pit *pit, uint64_t now_ns)
{
	dev_pit_irq_sync(pit, now_ns);
}

void dev_pit_timer_stats(const struct dev_pit *pit, struct dev_timer_stats *stats)
{
	*stats = pit->stats;
}

uint64_t dev_pit_next_deadline(const struct dev_pit *pit)
{
	const struct dev_pit_channel *ch = &pit->channel[0];
	/* While the last request waits in IRR, later edges only add to what is owed, which the
	 * next update counts from the clock: no need to interrupt the guest for them (a host
	 * signal in Linux's TSC calibration loop, run with interrupts off, can fail it). */
	if (dev_bus_irq_requested(pit->bus, DEV_PIT_IRQ))
		return UINT64_MAX;
	if (pit->owed > 0)
		return pit->sync_ns; /* due now: the guest took the last tick, give it the next */
	if (ch->paused)
		return UINT64_MAX;
	uint64_t tick = dev_pit_next_rise(ch, ch->irq_ticks);
	if (tick == UINT64_MAX)
		return UINT64_MAX;
	return ch->start_ns + dev_pit_ticks_to_ns(tick - ch->base_ticks);
}

void dev_pit_gate_set(struct dev_pit *pit, unsigned channel, bool level, uint64_t now_ns)
{
	DEV_ASSERT(channel < DEV_PIT_CHANNELS);
	struct dev_pit_channel *ch = &pit->channel[channel];
	if (level == ch->gate)
		return;
	if (channel == 0)
		dev_pit_irq_sync(pit, now_ns);
	ch->gate = level;
	switch (ch->mode) {
	case 0:
	case 4: /* a low gate suspends counting */
		dev_pit_set_paused(ch, !level, now_ns);
		break;
	case 2:
	case 3: /* a low gate stops it; the rising edge reloads */
		if (level)
			dev_pit_restart(ch, now_ns);
		else
			dev_pit_set_paused(ch, true, now_ns);
		break;
	default: /* 1, 5: the rising edge triggers (again) */
		if (level)
			dev_pit_restart(ch, now_ns);
		break;
	}
	if (channel == 0)
		dev_pit_irq_sync(pit, now_ns);
}

bool dev_pit_gate(const struct dev_pit *pit, unsigned channel)
{
	DEV_ASSERT(channel < DEV_PIT_CHANNELS);
	return pit->channel[channel].gate;
}

bool dev_pit_out(const struct dev_pit *pit, unsigned channel, uint64_t now_ns)
{
	DEV_ASSERT(channel < DEV_PIT_CHANNELS);
	const struct dev_pit_channel *ch = &pit->channel[channel];
	return dev_pit_out_at(ch, dev_pit_ticks(ch, now_ns));
}

/* A complete count arrived: it starts at once, in every mode (QEMU). */
static void dev_pit_load(struct dev_pit *pit, unsigned channel, uint16_t raw)
{
	struct dev_pit_channel *ch = &pit->channel[channel];
	uint64_t now = dev_bus_now(pit->bus);
	if (channel == 0)
		dev_pit_irq_sync(pit, now); /* edges due under the old count still count */
	uint32_t n = ch->bcd ? dev_pit_from_bcd(raw) : raw;
	ch->count = n != 0 ? n : ch->bcd ? 10000 : 0x10000;
	dev_pit_restart(ch, now);
	if (channel == 0) {
		dev_pit_owed_drop(pit); /* ticks of the old period are not owed (as in KVM) */
		dev_pit_irq_drive(pit, dev_pit_out_at(ch, 0)); /* QEMU sets the line at load */
	}
}

/* Counter latch: freeze the count for the next reads, unless a latched count is unread. */
static void dev_pit_latch(struct dev_pit_channel *ch, uint64_t now_ns)
{
	if (ch->latch != 0)
		return;
	ch->latched = dev_pit_value(ch, dev_pit_ticks(ch, now_ns));
	ch->latch = ch->access; /* never programmed: nothing is latched (QEMU) */
}

static void dev_pit_read_back(struct dev_pit *pit, uint8_t command)
{
	uint64_t now = dev_bus_now(pit->bus);
	for (unsigned i = 0; i < DEV_PIT_CHANNELS; i++) {
		struct dev_pit_channel *ch = &pit->channel[i];
		if (!(command & (2u << i)))
			continue;
		if (!(command & DEV_PIT_READ_BACK_NO_COUNT))
			dev_pit_latch(ch, now);
		if (!(command & DEV_PIT_READ_BACK_NO_STATUS) && !ch->status_latched) {
			bool out = dev_pit_out_at(ch, dev_pit_ticks(ch, now));
			ch->status =
			    (uint8_t)(out << 7 | ch->access << 4 | ch->mode_bits << 1 | ch->bcd);
			ch->status_latched = true;
		}
	}
}

static void dev_pit_control(struct dev_pit *pit, uint8_t value)
{
	unsigned channel = value >> 6;
	if (channel == DEV_PIT_READ_BACK) {
		dev_pit_read_back(pit, value);
		return;
	}
	struct dev_pit_channel *ch = &pit->channel[channel];
	uint64_t now = dev_bus_now(pit->bus);
	uint8_t access = (value >> 4) & 3;
	if (access == DEV_PIT_LATCH) {
		dev_pit_latch(ch, now);
		return;
	}
	if (channel == 0)
		dev_pit_irq_sync(pit, now);
	ch->access = access;
	ch->mode_bits = (value >> 1) & 7;
	ch->mode = ch->mode_bits > 5 ? ch->mode_bits - 4 : ch->mode_bits;
	ch->bcd = value & 1;
	ch->write_msb_next = false;
	ch->read_msb_next = false;
	dev_pit_set_paused(ch, !ch->gate && dev_pit_gate_holds(ch->mode), now);
}

static uint8_t dev_pit_read_data(struct dev_pit *pit, unsigned channel)
{
	struct dev_pit_channel *ch = &pit->channel[channel];
	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->status;
	}
	switch (ch->latch) {
	case DEV_PIT_LSB:
		ch->latch = 0;
		return (uint8_t)ch->latched;
	case DEV_PIT_MSB:
		ch->latch = 0;
		return (uint8_t)(ch->latched >> 8);
	case DEV_PIT_WORD:
		ch->latch = DEV_PIT_MSB;
		return (uint8_t)ch->latched;
	default:
		break;
	}
	uint16_t v = dev_pit_value(ch, dev_pit_ticks(ch, dev_bus_now(pit->bus)));
	switch (ch->access) {
	case DEV_PIT_MSB:
		return (uint8_t)(v >> 8);
	case DEV_PIT_WORD: {
		bool msb = ch->read_msb_next;
		ch->read_msb_next = !msb;
		return (uint8_t)(msb ? v >> 8 : v);
	}
	default:
		return (uint8_t)v;
	}
}

static void dev_pit_write_data(struct dev_pit *pit, unsigned channel, uint8_t value)
{
	struct dev_pit_channel *ch = &pit->channel[channel];
	switch (ch->access) {
	case DEV_PIT_MSB:
		dev_pit_load(pit, channel, (uint16_t)(value << 8));
		break;
	case DEV_PIT_WORD:
		if (!ch->write_msb_next) {
			ch->write_lsb = value;
			ch->write_msb_next = true;
		} else {
			ch->write_msb_next = false;
			dev_pit_load(pit, channel, (uint16_t)(ch->write_lsb | value << 8));
		}
		break;
	default:
		dev_pit_load(pit, channel, value);
		break;
	}
}

/* The chip decodes A1-A0 only: split accesses past 0x43 wrap around, as in QEMU. */
static uint32_t dev_pit_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_pit *pit = dev;
	(void)size;
	offset &= 3;
	if (offset == DEV_PIT_CONTROL)
		return 0; /* write-only; QEMU reads it as 0 */
	return dev_pit_read_data(pit, offset);
}

static void dev_pit_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_pit *pit = dev;
	(void)size;
	offset &= 3;
	if (offset == DEV_PIT_CONTROL)
		dev_pit_control(pit, (uint8_t)value);
	else
		dev_pit_write_data(pit, offset, (uint8_t)value);
}

const struct dev_port_ops dev_pit_ops = {
    .name = "i8254",
    .read = dev_pit_read,
    .write = dev_pit_write,
    .valid_max = 4,
    .impl_max = 1,
};
