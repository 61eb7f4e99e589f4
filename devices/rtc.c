/* rtc.c — the Motorola MC146818 real-time clock and its CMOS RAM, at ports 0x70 (index, bit 7
 * the NMI mask) and 0x71 (data), interrupting on IRQ 8.
 *
 * The clock does not tick either. Its time is the host's: at creation the RTC reads UTC (QEMU's
 * default, -rtc base=utc) and from then on runs with the bus's monotonic time, so the date, the
 * update cycle, the alarm and the periodic interrupt all follow the same clock as the PIT. The
 * time registers (seconds..year and the century byte) are computed from that time whenever a
 * guest reads them, in BCD or binary and 12- or 24-hour form as register B asks. While the SET
 * bit or a divider reset stops the clock, they are plain RAM that the guest can write; when
 * the clock runs again its time is taken from them.
 *
 * The flags in register C are earned lazily. The update-ended flag (UF) is set once per second
 * boundary the clock crossed, the alarm flag (AF) if one of those seconds matched the alarm
 * registers (0xC0-0xFF being "don't care"), the periodic flag (PF) at the rate of register A
 * while PIE is set; dev_rtc_update, a read of register C and every write that changes how they
 * are earned bring them up to date first. IRQ 8 follows IRQF, the OR of the flags enabled in
 * register B, until register C is read. dev_rtc_next_deadline asks to be woken only for
 * interrupts that are enabled and not yet pending, so an idle guest costs nothing.
 *
 * Where QEMU 7.2 differs from the data sheet we follow QEMU: UIP reads as set for the last
 * 244 us of each second and the update itself is instantaneous; the periodic flag is set only
 * while PIE is on, keeps running under SET and divider reset, and restarts its period when PIE
 * or the rate changes; any divider setting up to 010 keeps time; the day of the week is
 * recomputed from the date when the clock is set; the century byte (0x32, also at 0x37) is a
 * time register. Two behaviours come from the data sheet: SET stops the update cycle, so no UF
 * or AF is set while it is on, and writing one time register while the clock runs keeps the
 * others current rather than QEMU's copy from the last read.
 *
 * The CMOS RAM holds what QEMU's PC puts there for the firmware and old kernels: the memory
 * sizes, the equipment byte, the century, the boot order, the CPU count.
 */
#include <stdlib.h>
#include <time.h>

#include "devices/devices_internal.h"

enum {
	/* Time and alarm registers. */
	DEV_RTC_SECONDS = 0x00,
	DEV_RTC_SECONDS_ALARM = 0x01,
	DEV_RTC_MINUTES = 0x02,
	DEV_RTC_MINUTES_ALARM = 0x03,
	DEV_RTC_HOURS = 0x04,
	DEV_RTC_HOURS_ALARM = 0x05,
	DEV_RTC_DAY_OF_WEEK = 0x06,
	DEV_RTC_DAY_OF_MONTH = 0x07,
	DEV_RTC_MONTH = 0x08,
	DEV_RTC_YEAR = 0x09,
	DEV_RTC_REG_A = 0x0A,
	DEV_RTC_REG_B = 0x0B,
	DEV_RTC_REG_C = 0x0C,
	DEV_RTC_REG_D = 0x0D,
	/* CMOS RAM as the PC's firmware lays it out. */
	DEV_RTC_EQUIPMENT = 0x14,
	DEV_RTC_BASE_MEM = 0x15,     /* and 0x16: KiB below 1 MiB */
	DEV_RTC_EXT_MEM = 0x17,	     /* and 0x18: KiB above 1 MiB, at most 65535 */
	DEV_RTC_EXT_MEM_POST = 0x30, /* and 0x31: the same, as POST found it */
	DEV_RTC_CENTURY = 0x32,
	DEV_RTC_MEM_ABOVE_16M = 0x34, /* and 0x35: 64 KiB units between 16 MiB and 4 GiB */
	DEV_RTC_PS2_CENTURY = 0x37,   /* an alias of the century */
	DEV_RTC_BOOT_FLAGS = 0x38,    /* third boot device, floppy signature check */
	DEV_RTC_BOOT_ORDER = 0x3D,    /* first and second boot devices */
	DEV_RTC_MEM_ABOVE_4G = 0x5B,  /* and 0x5C, 0x5D: 64 KiB units above 4 GiB */
	DEV_RTC_CPUS = 0x5F,	      /* CPUs - 1 */
	DEV_RTC_CMOS_SIZE = 128,

	DEV_RTC_INDEX_MASK = 0x7F,
	DEV_RTC_INDEX_NMI_OFF = 0x80,

	DEV_RTC_A_UIP = 0x80,
	DEV_RTC_A_DIVIDER = 0x70,
	DEV_RTC_A_DIVIDER_32K = 0x20, /* 010: the PC's 32.768 kHz time base */
	DEV_RTC_A_RATE = 0x0F,
	DEV_RTC_B_SET = 0x80,
	DEV_RTC_B_PIE = 0x40,
	DEV_RTC_B_AIE = 0x20,
	DEV_RTC_B_UIE = 0x10,
	DEV_RTC_B_DM = 0x04,  /* binary rather than BCD */
	DEV_RTC_B_24H = 0x02, /* 24-hour rather than 12-hour with bit 7 for PM */
	DEV_RTC_C_IRQF = 0x80,
	DEV_RTC_C_PF = 0x40,
	DEV_RTC_C_AF = 0x20,
	DEV_RTC_C_UF = 0x10,
	DEV_RTC_C_FLAGS = DEV_RTC_C_PF | DEV_RTC_C_AF | DEV_RTC_C_UF,
	DEV_RTC_D_VRT = 0x80, /* valid RAM and time: the battery is good */
	DEV_RTC_HOUR_PM = 0x80,
	DEV_RTC_DONT_CARE = 0xC0, /* alarm byte values with both top bits set match anything */

	DEV_RTC_IRQ = 8,
	DEV_RTC_HZ = 32768,
	DEV_RTC_SEC_PER_DAY = 86400,
};

/* UIP is set this long before each update: 8 cycles of the 32.768 kHz clock (QEMU's
 * UIP_HOLD_LENGTH). */
#define DEV_RTC_UIP_NS (UINT64_C(8) * DEV_NS_PER_SEC / DEV_RTC_HZ)
/* After a divider reset, the first update comes half a second after the divider runs. */
#define DEV_RTC_RESET_PHASE_NS (DEV_NS_PER_SEC / 2)

struct dev_rtc {
	struct dev_bus *bus;
	uint8_t index;
	bool nmi_off; /* port 0x70 bit 7; nothing here raises NMI, so it is only stored */
	uint8_t cmos[DEV_RTC_CMOS_SIZE];
	int64_t base_sec;	/* the RTC's time (seconds since 1970 in its own calendar) ... */
	uint32_t base_frac;	/* ... and ns into that second ... */
	uint64_t base_mono;	/* ... at this host time; it keeps running while SET is on */
	int64_t last_sec;	/* the last second whose update cycle has set UF (and AF) */
	uint64_t next_periodic; /* in 32.768 kHz cycles of host time, while PIE is on */
	bool irq_level;
};

static int64_t dev_rtc_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t dev_rtc_floor_mod(int64_t a, int64_t b)
{
	return a - dev_rtc_floor_div(a, b) * b;
}

/* Host time in cycles of the 32.768 kHz clock, and back (rounded up). */
static uint64_t dev_rtc_ns_to_cycles(uint64_t ns)
{
	return ns / DEV_NS_PER_SEC * DEV_RTC_HZ + ns % DEV_NS_PER_SEC * DEV_RTC_HZ / DEV_NS_PER_SEC;
}

static uint64_t dev_rtc_cycles_to_ns(uint64_t cycles)
{
	uint64_t rem = cycles % DEV_RTC_HZ * DEV_NS_PER_SEC;
	return cycles / DEV_RTC_HZ * DEV_NS_PER_SEC + (rem + DEV_RTC_HZ - 1) / DEV_RTC_HZ;
}

static bool dev_rtc_divider_runs(uint8_t reg_a)
{
	return (reg_a & DEV_RTC_A_DIVIDER) <= DEV_RTC_A_DIVIDER_32K;
}

/* Whether the clock keeps time (and the time registers are computed, not stored). */
static bool dev_rtc_running(const struct dev_rtc *rtc)
{
	return !(rtc->cmos[DEV_RTC_REG_B] & DEV_RTC_B_SET) &&
	       dev_rtc_divider_runs(rtc->cmos[DEV_RTC_REG_A]);
}

/* The RTC's time at host time now_ns, as seconds and ns into the second (seconds apart: a
 * guest may set any year up to 9999, past what ns since 1970 can hold). */
struct dev_rtc_time {
	int64_t sec;
	uint32_t ns;
};

static struct dev_rtc_time dev_rtc_time(const struct dev_rtc *rtc, uint64_t now_ns)
{
	uint64_t elapsed = now_ns > rtc->base_mono ? now_ns - rtc->base_mono : 0;
	uint64_t ns = rtc->base_frac + elapsed % DEV_NS_PER_SEC;
	return (struct dev_rtc_time){
	    .sec = rtc->base_sec + (int64_t)(elapsed / DEV_NS_PER_SEC + ns / DEV_NS_PER_SEC),
	    .ns = (uint32_t)(ns % DEV_NS_PER_SEC),
	};
}

static int64_t dev_rtc_time_sec(const struct dev_rtc *rtc, uint64_t now_ns)
{
	return dev_rtc_time(rtc, now_ns).sec;
}

/* The host time at which the RTC's second sec begins. */
static uint64_t dev_rtc_second_start(const struct dev_rtc *rtc, int64_t sec)
{
	if (sec <= rtc->base_sec)
		return rtc->base_mono;
	return rtc->base_mono + (uint64_t)(sec - rtc->base_sec) * DEV_NS_PER_SEC - rtc->base_frac;
}

static uint8_t dev_rtc_encode(const struct dev_rtc *rtc, int v)
{
	if (rtc->cmos[DEV_RTC_REG_B] & DEV_RTC_B_DM)
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static int dev_rtc_decode(const struct dev_rtc *rtc, uint8_t v)
{
	if (rtc->cmos[DEV_RTC_REG_B] & DEV_RTC_B_DM)
		return v;
	return (v >> 4) * 10 + (v & 0x0F);
}

/* An hour register (or alarm) in 0..23, whatever form register B gives it. */
static int dev_rtc_decode_hour(const struct dev_rtc *rtc, uint8_t v)
{
	int hour = dev_rtc_decode(rtc, v & (uint8_t)~DEV_RTC_HOUR_PM);
	if (!(rtc->cmos[DEV_RTC_REG_B] & DEV_RTC_B_24H)) {
		hour %= 12;
		if (v & DEV_RTC_HOUR_PM)
			hour += 12;
	}
	return hour;
}

/* Write second sec of the clock into the time registers. */
static void dev_rtc_store_time(struct dev_rtc *rtc, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL)
		return; /* a year past what the host can convert: the registers stay as they are */
	uint8_t *cmos = rtc->cmos;
	cmos[DEV_RTC_SECONDS] = dev_rtc_encode(rtc, tm.tm_sec);
	cmos[DEV_RTC_MINUTES] = dev_rtc_encode(rtc, tm.tm_min);
	if (cmos[DEV_RTC_REG_B] & DEV_RTC_B_24H) {
		cmos[DEV_RTC_HOURS] = dev_rtc_encode(rtc, tm.tm_hour);
	} else {
		int hour12 = tm.tm_hour % 12 != 0 ? tm.tm_hour % 12 : 12;
		cmos[DEV_RTC_HOURS] = dev_rtc_encode(rtc, hour12);
		if (tm.tm_hour >= 12)
			cmos[DEV_RTC_HOURS] |= DEV_RTC_HOUR_PM;
	}
	cmos[DEV_RTC_DAY_OF_WEEK] = dev_rtc_encode(rtc, tm.tm_wday + 1); /* Sunday is 1 */
	cmos[DEV_RTC_DAY_OF_MONTH] = dev_rtc_encode(rtc, tm.tm_mday);
	cmos[DEV_RTC_MONTH] = dev_rtc_encode(rtc, tm.tm_mon + 1);
	int year = tm.tm_year + 1900;
	cmos[DEV_RTC_YEAR] = dev_rtc_encode(rtc, year % 100);
	cmos[DEV_RTC_CENTURY] = dev_rtc_encode(rtc, year / 100);
}

/* The second the time registers describe (out-of-range fields carry over, as timegm does). */
static int64_t dev_rtc_load_time(const struct dev_rtc *rtc)
{
	const uint8_t *cmos = rtc->cmos;
	struct tm tm = {
	    .tm_sec = dev_rtc_decode(rtc, cmos[DEV_RTC_SECONDS]),
	    .tm_min = dev_rtc_decode(rtc, cmos[DEV_RTC_MINUTES]),
	    .tm_hour = dev_rtc_decode_hour(rtc, cmos[DEV_RTC_HOURS]),
	    .tm_mday = dev_rtc_decode(rtc, cmos[DEV_RTC_DAY_OF_MONTH]),
	    .tm_mon = dev_rtc_decode(rtc, cmos[DEV_RTC_MONTH]) - 1,
	    .tm_year = dev_rtc_decode(rtc, cmos[DEV_RTC_YEAR]) +
		       dev_rtc_decode(rtc, cmos[DEV_RTC_CENTURY]) * 100 - 1900,
	};
	return (int64_t)timegm(&tm);
}

/* Restart the clock from the time registers at now_ns, phase_ns into the second. */
static void dev_rtc_rebase(struct dev_rtc *rtc, uint64_t now_ns, uint32_t phase_ns)
{
	rtc->base_sec = dev_rtc_load_time(rtc);
	rtc->base_frac = phase_ns;
	rtc->base_mono = now_ns;
	rtc->last_sec = rtc->base_sec;
}

/* ---- alarm ------------------------------------------------------------------------------ */

struct dev_rtc_alarm {
	int hour, min, sec; /* -1: don't care */
};

/* The alarm registers, or false if they name a time that never comes. */
static bool dev_rtc_alarm(const struct dev_rtc *rtc, struct dev_rtc_alarm *al)
{
	uint8_t h = rtc->cmos[DEV_RTC_HOURS_ALARM];
	uint8_t m = rtc->cmos[DEV_RTC_MINUTES_ALARM];
	uint8_t s = rtc->cmos[DEV_RTC_SECONDS_ALARM];
	al->hour = (h & DEV_RTC_DONT_CARE) == DEV_RTC_DONT_CARE ? -1 : dev_rtc_decode_hour(rtc, h);
	al->min = (m & DEV_RTC_DONT_CARE) == DEV_RTC_DONT_CARE ? -1 : dev_rtc_decode(rtc, m);
	al->sec = (s & DEV_RTC_DONT_CARE) == DEV_RTC_DONT_CARE ? -1 : dev_rtc_decode(rtc, s);
	return al->hour < 24 && al->min < 60 && al->sec < 60;
}

/* The first second after `after` whose time of day matches the alarm. Each step jumps to the
 * next hour, minute or second that could match, so the search takes at most a few hundred. */
static int64_t dev_rtc_alarm_next(const struct dev_rtc_alarm *al, int64_t after)
{
	int64_t s = after + 1;
	for (unsigned step = 0; step < 1024; step++) {
		int64_t tod = dev_rtc_floor_mod(s, DEV_RTC_SEC_PER_DAY);
		int hour = (int)(tod / 3600), min = (int)(tod / 60 % 60), sec = (int)(tod % 60);
		if (al->hour >= 0 && hour != al->hour)
			s += 3600 - tod % 3600;
		else if (al->min >= 0 && min != al->min)
			s += 60 - sec;
		else if (al->sec >= 0 && sec != al->sec)
			s += al->sec > sec ? al->sec - sec : 60 - sec;
		else
			return s;
	}
	DEV_ASSERT(!"alarm search did not converge");
	return INT64_MAX;
}

/* ---- flags and IRQ 8 -------------------------------------------------------------------- */

/* The periodic interrupt's period in 32.768 kHz cycles, 0 when it is off (QEMU's table:
 * rates 1 and 2 are the 256 Hz and 128 Hz of 3 and 4 MHz time bases). */
static uint64_t dev_rtc_period(const struct dev_rtc *rtc)
{
	unsigned rate = rtc->cmos[DEV_RTC_REG_A] & DEV_RTC_A_RATE;
	if (!(rtc->cmos[DEV_RTC_REG_B] & DEV_RTC_B_PIE) || rate == 0)
		return 0;
	if (rate <= 2)
		rate += 7;
	return UINT64_C(1) << (rate - 1);
}

/* PIE or the rate changed: the next periodic interrupt is one period from now. */
static void dev_rtc_periodic_restart(struct dev_rtc *rtc, uint64_t now_ns)
{
	rtc->next_periodic = dev_rtc_ns_to_cycles(now_ns) + dev_rtc_period(rtc);
}

static void dev_rtc_irq_update(struct dev_rtc *rtc)
{
	uint8_t *c = &rtc->cmos[DEV_RTC_REG_C];
	if (*c & rtc->cmos[DEV_RTC_REG_B] & DEV_RTC_C_FLAGS)
		*c |= DEV_RTC_C_IRQF;
	else
		*c &= (uint8_t)~DEV_RTC_C_IRQF;
	bool level = *c & DEV_RTC_C_IRQF;
	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		dev_irq_set(rtc->bus, DEV_RTC_IRQ, level);
	}
}

/* Set the flags the clock earned up to now_ns. However many periods or seconds went by, a
 * flag is set once: the chip cannot count them either. */
static void dev_rtc_sync(struct dev_rtc *rtc, uint64_t now_ns)
{
	uint8_t *c = &rtc->cmos[DEV_RTC_REG_C];
	if (dev_rtc_running(rtc)) {
		int64_t sec = dev_rtc_time_sec(rtc, now_ns);
		if (sec > rtc->last_sec) {
			struct dev_rtc_alarm al;
			*c |= DEV_RTC_C_UF;
			if (dev_rtc_alarm(rtc, &al) &&
			    dev_rtc_alarm_next(&al, rtc->last_sec) <= sec)
				*c |= DEV_RTC_C_AF;
			rtc->last_sec = sec;
		}
	}
	uint64_t period = dev_rtc_period(rtc);
	uint64_t cycles = dev_rtc_ns_to_cycles(now_ns);
	if (period != 0 && cycles >= rtc->next_periodic) {
		*c |= DEV_RTC_C_PF;
		rtc->next_periodic += ((cycles - rtc->next_periodic) / period + 1) * period;
	}
	dev_rtc_irq_update(rtc);
}

void dev_rtc_update(struct dev_rtc *rtc, uint64_t now_ns)
{
	dev_rtc_sync(rtc, now_ns);
}

static uint64_t dev_rtc_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t dev_rtc_next_deadline(const struct dev_rtc *rtc)
{
	uint8_t b = rtc->cmos[DEV_RTC_REG_B];
	uint8_t c = rtc->cmos[DEV_RTC_REG_C];
	uint64_t deadline = UINT64_MAX;
	if ((b & DEV_RTC_B_PIE) && !(c & DEV_RTC_C_PF) && dev_rtc_period(rtc) != 0)
		deadline = dev_rtc_cycles_to_ns(rtc->next_periodic);
	if (!dev_rtc_running(rtc))
		return deadline;
	if ((b & DEV_RTC_B_UIE) && !(c & DEV_RTC_C_UF))
		deadline = dev_rtc_min(deadline, dev_rtc_second_start(rtc, rtc->last_sec + 1));
	struct dev_rtc_alarm al;
	if ((b & DEV_RTC_B_AIE) && !(c & DEV_RTC_C_AF) && dev_rtc_alarm(rtc, &al)) {
		int64_t sec = dev_rtc_alarm_next(&al, rtc->last_sec);
		deadline = dev_rtc_min(deadline, dev_rtc_second_start(rtc, sec));
	}
	return deadline;
}

/* ---- creation --------------------------------------------------------------------------- */

static void dev_rtc_set_word(struct dev_rtc *rtc, unsigned index, uint64_t value, uint64_t max)
{
	if (value > max)
		value = max;
	rtc->cmos[index] = (uint8_t)value;
	rtc->cmos[index + 1] = (uint8_t)(value >> 8);
}

/* The memory-size bytes as QEMU's pc_cmos_init writes them. RAM above 3 GiB is mapped above
 * 4 GiB, as on QEMU's gigabyte-aligned i440FX machines. */
static void dev_rtc_set_memory(struct dev_rtc *rtc, uint64_t ram_bytes)
{
	const uint64_t kib = 1024, mib = 1024 * kib;
	uint64_t below_4g = ram_bytes < 0xC0000000u ? ram_bytes : 0xC0000000u;
	uint64_t above_4g = ram_bytes - below_4g;
	dev_rtc_set_word(rtc, DEV_RTC_BASE_MEM, below_4g / kib, 640);
	uint64_t ext = below_4g > mib ? (below_4g - mib) / kib : 0;
	dev_rtc_set_word(rtc, DEV_RTC_EXT_MEM, ext, 65535);
	dev_rtc_set_word(rtc, DEV_RTC_EXT_MEM_POST, ext, 65535);
	uint64_t above_16m = below_4g > 16 * mib ? (below_4g - 16 * mib) / (64 * kib) : 0;
	dev_rtc_set_word(rtc, DEV_RTC_MEM_ABOVE_16M, above_16m, 65535);
	uint64_t high = above_4g / (64 * kib);
	rtc->cmos[DEV_RTC_MEM_ABOVE_4G] = (uint8_t)high;
	rtc->cmos[DEV_RTC_MEM_ABOVE_4G + 1] = (uint8_t)(high >> 8);
	rtc->cmos[DEV_RTC_MEM_ABOVE_4G + 2] = (uint8_t)(high >> 16);
}

struct dev_rtc *dev_rtc_create(struct dev_bus *bus, uint64_t ram_bytes, uint64_t now_ns,
			       int64_t realtime_ns)
{
	struct dev_rtc *rtc = calloc(1, sizeof(*rtc));
	if (rtc == NULL)
		return NULL;
	rtc->bus = bus;
	uint8_t *cmos = rtc->cmos;
	cmos[DEV_RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
	cmos[DEV_RTC_REG_B] = DEV_RTC_B_24H;
	cmos[DEV_RTC_REG_D] = DEV_RTC_D_VRT;
	cmos[DEV_RTC_EQUIPMENT] = 0x06;	 /* QEMU: FPU and PS/2 mouse present, no floppy drive */
	cmos[DEV_RTC_BOOT_FLAGS] = 0x30; /* QEMU's default boot order "cad": disk, floppy, CD */
	cmos[DEV_RTC_BOOT_ORDER] = 0x12;
	cmos[DEV_RTC_CPUS] = 0;
	dev_rtc_set_memory(rtc, ram_bytes);
	rtc->base_sec = dev_rtc_floor_div(realtime_ns, (int64_t)DEV_NS_PER_SEC);
	rtc->base_frac = (uint32_t)dev_rtc_floor_mod(realtime_ns, (int64_t)DEV_NS_PER_SEC);
	rtc->base_mono = now_ns;
	rtc->last_sec = rtc->base_sec;
	dev_rtc_store_time(rtc, rtc->last_sec);
	return rtc;
}

void dev_rtc_destroy(struct dev_rtc *rtc)
{
	free(rtc);
}

/* ---- registers -------------------------------------------------------------------------- */

static bool dev_rtc_is_time(unsigned index)
{
	switch (index) {
	case DEV_RTC_SECONDS:
	case DEV_RTC_MINUTES:
	case DEV_RTC_HOURS:
	case DEV_RTC_DAY_OF_WEEK:
	case DEV_RTC_DAY_OF_MONTH:
	case DEV_RTC_MONTH:
	case DEV_RTC_YEAR:
	case DEV_RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

/* New values for registers A and B: stop the clock (keeping its time in the registers) or
 * start it again from them. SET leaves the divider running, so the second goes on where it
 * was; a divider reset restarts it, the first update coming half a second later. */
static void dev_rtc_set_control(struct dev_rtc *rtc, uint8_t reg_a, uint8_t reg_b, uint64_t now_ns)
{
	bool was_running = dev_rtc_running(rtc);
	bool divider_was_running = dev_rtc_divider_runs(rtc->cmos[DEV_RTC_REG_A]);
	if (was_running)
		dev_rtc_store_time(rtc, dev_rtc_time_sec(rtc, now_ns));
	rtc->cmos[DEV_RTC_REG_A] = reg_a;
	rtc->cmos[DEV_RTC_REG_B] = reg_b;
	if (was_running || !dev_rtc_running(rtc))
		return;
	uint32_t phase =
	    divider_was_running ? dev_rtc_time(rtc, now_ns).ns : (uint32_t)DEV_RTC_RESET_PHASE_NS;
	dev_rtc_rebase(rtc, now_ns, phase);
}

static uint8_t dev_rtc_read_data(struct dev_rtc *rtc)
{
	unsigned index = rtc->index;
	if (index == DEV_RTC_PS2_CENTURY)
		index = rtc->index = DEV_RTC_CENTURY; /* QEMU moves the index too */
	if (dev_rtc_is_time(index)) {
		if (dev_rtc_running(rtc))
			dev_rtc_store_time(rtc, dev_rtc_time_sec(rtc, dev_bus_now(rtc->bus)));
		return rtc->cmos[index];
	}
	switch (index) {
	case DEV_RTC_REG_A: {
		uint8_t a = rtc->cmos[DEV_RTC_REG_A];
		if (dev_rtc_running(rtc) &&
		    dev_rtc_time(rtc, dev_bus_now(rtc->bus)).ns >= DEV_NS_PER_SEC - DEV_RTC_UIP_NS)
			a |= DEV_RTC_A_UIP;
		return a;
	}
	case DEV_RTC_REG_C: {
		dev_rtc_sync(rtc, dev_bus_now(rtc->bus));
		uint8_t c = rtc->cmos[DEV_RTC_REG_C];
		rtc->cmos[DEV_RTC_REG_C] = 0;
		dev_rtc_irq_update(rtc);
		return c;
	}
	default:
		return rtc->cmos[index];
	}
}

static void dev_rtc_write_data(struct dev_rtc *rtc, uint8_t value)
{
	unsigned index = rtc->index;
	if (index == DEV_RTC_PS2_CENTURY)
		index = rtc->index = DEV_RTC_CENTURY;
	if (dev_rtc_is_time(index)) {
		if (!dev_rtc_running(rtc)) {
			rtc->cmos[index] = value;
			return;
		}
		uint64_t now = dev_bus_now(rtc->bus);
		dev_rtc_sync(rtc, now);
		struct dev_rtc_time t = dev_rtc_time(rtc, now);
		dev_rtc_store_time(rtc, t.sec);
		rtc->cmos[index] = value;
		dev_rtc_rebase(rtc, now, t.ns);
		dev_rtc_irq_update(rtc);
		return;
	}
	uint64_t now;
	switch (index) {
	case DEV_RTC_REG_A: {
		now = dev_bus_now(rtc->bus);
		dev_rtc_sync(rtc, now);
		uint8_t old = rtc->cmos[DEV_RTC_REG_A];
		value &= (uint8_t)~DEV_RTC_A_UIP; /* read-only */
		dev_rtc_set_control(rtc, value, rtc->cmos[DEV_RTC_REG_B], now);
		if ((old ^ value) & DEV_RTC_A_RATE)
			dev_rtc_periodic_restart(rtc, now);
		dev_rtc_irq_update(rtc);
		break;
	}
	case DEV_RTC_REG_B: {
		now = dev_bus_now(rtc->bus);
		dev_rtc_sync(rtc, now);
		uint8_t old = rtc->cmos[DEV_RTC_REG_B];
		if (value & DEV_RTC_B_SET)
			value &= (uint8_t)~DEV_RTC_B_UIE; /* setting SET clears UIE */
		dev_rtc_set_control(rtc, rtc->cmos[DEV_RTC_REG_A], value, now);
		if ((old ^ value) & DEV_RTC_B_PIE)
			dev_rtc_periodic_restart(rtc, now);
		dev_rtc_irq_update(rtc); /* a flag already set raises IRQ 8 once enabled */
		break;
	}
	case DEV_RTC_REG_C:
	case DEV_RTC_REG_D:
		break; /* read-only */
	default:
		rtc->cmos[index] = value; /* the alarm bytes and the RAM */
		break;
	}
}

/* Port 0x70 reads as all ones in QEMU (the index register is write-only on the PC). The chip
 * decodes one address line, so split accesses alternate between the two ports. */
static uint32_t dev_rtc_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_rtc *rtc = dev;
	(void)size;
	if ((offset & 1) == 0)
		return 0xFF;
	return dev_rtc_read_data(rtc);
}

static void dev_rtc_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_rtc *rtc = dev;
	(void)size;
	if ((offset & 1) == 0) {
		rtc->index = value & DEV_RTC_INDEX_MASK;
		rtc->nmi_off = value & DEV_RTC_INDEX_NMI_OFF;
		return;
	}
	dev_rtc_write_data(rtc, (uint8_t)value);
}

const struct dev_port_ops dev_rtc_ops = {
    .name = "mc146818rtc",
    .read = dev_rtc_read,
    .write = dev_rtc_write,
    .valid_max = 4,
    .impl_max = 1,
};
