/* devices — port I/O device models behind one port map.
 *
 * The runtime owns one struct dev_bus per VM and forwards every guest IN/OUT (and, later, MMIO)
 * to it. Each device lives in its own file and registers a range of ports in the table in
 * devices/bus.c. Devices never call up into the runtime: what the runtime must act on (the guest
 * asked to exit) is reported back through dev_bus_exit_requested().
 */
#ifndef BT86_DEVICES_H
#define BT86_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dev_bus;

struct dev_config {
	int serial_out_fd;   /* COM1 transmit goes here (usually STDOUT_FILENO) */
	int debugcon_out_fd; /* port 0xE9 output goes here (usually STDOUT_FILENO) */
	uint64_t ram_bytes;  /* for the CMOS memory-size bytes */
};

/* Create the bus with the PC's devices: the 8259 PIC pair and ELCR, the 8254 PIT and port 0x61,
 * the MC146818 RTC/CMOS, the i8042, port 0x92, the PCI host bridge (0xCF8/0xCFC) with reset
 * control at 0xCF9, COM1 16550 UART (0x3F8), the 0xE9 debug console, isa-debug-exit (0xF4) and
 * port 0x80. Time comes from the host's CLOCK_MONOTONIC and CLOCK_REALTIME. Returns NULL only on
 * host allocation failure. */
struct dev_bus *dev_bus_create(const struct dev_config *config);
void dev_bus_destroy(struct dev_bus *bus);

/* The host clocks the devices read. Guest time follows monotonic_ns: the PIT counts against it,
 * and reads of the PIT, port 0x61, the RTC and the UART's timeout take "now" from it (never
 * earlier than the last dev_bus_update), because a guest measures elapsed time by polling them
 * with no update in between. realtime_ns (UTC, ns since 1970) is read once, at creation, to set
 * the RTC's date. Tests supply their own to make time stand still or jump. */
struct dev_clock {
	uint64_t (*monotonic_ns)(void *ctx);
	int64_t (*realtime_ns)(void *ctx);
	void *ctx;
};

/* dev_bus_create with the given clock instead of the host's (copied; ctx must outlive the bus). */
struct dev_bus *dev_bus_create_with_clock(const struct dev_config *config,
					  const struct dev_clock *clock);

/* Guest port read of 1, 2 or 4 bytes. Ports nobody owns read as all ones. */
uint32_t dev_io_read(struct dev_bus *bus, uint16_t port, unsigned size);
/* Guest port write of 1, 2 or 4 bytes. Writes to ports nobody owns are ignored. */
void dev_io_write(struct dev_bus *bus, uint16_t port, unsigned size, uint32_t value);

/* True once the guest wrote the debug-exit port; *status is then (value << 1) | 1, the process
 * exit status QEMU's isa-debug-exit would give. */
bool dev_bus_exit_requested(const struct dev_bus *bus, int *status);

/* Number of port accesses served so far (for --stats). */
uint64_t dev_bus_io_count(const struct dev_bus *bus);

/* ---- memory-mapped I/O ----------------------------------------------------------------- */

/* True if a device owns guest-physical address phys (MMIO: not RAM). */
bool dev_mmio_owns(const struct dev_bus *bus, uint32_t phys);
/* Guest load of 1, 2 or 4 bytes at phys from the device that owns it. An address nobody owns
 * (neither RAM nor a device) reads as 0 and ignores writes, as QEMU's unassigned memory. */
uint32_t dev_mmio_read(struct dev_bus *bus, uint32_t phys, unsigned size);
/* Guest store of 1, 2 or 4 bytes at phys to the device that owns it. */
void dev_mmio_write(struct dev_bus *bus, uint32_t phys, unsigned size, uint32_t value);
/* Number of MMIO accesses served so far (for --stats). */
uint64_t dev_bus_mmio_count(const struct dev_bus *bus);

/* ---- interrupts, time, input (the PC platform) ----------------------------------------- */

/* Devices raise and lower ISA interrupt lines 0..15 here; the cascaded 8259 PICs turn them
 * into the CPU's INTR line (devices/pic8259.c). Edge lines latch on a rising edge; lines set
 * level-triggered in the ELCR follow their level. */
void dev_irq_set(struct dev_bus *bus, unsigned line, bool level);

/* True while the PICs assert INTR (an unmasked request outranks what is in service). */
bool dev_intr_pending(const struct dev_bus *bus);
/* The CPU's interrupt acknowledge: returns the vector to deliver and moves the request into
 * service (a spurious IRQ 7/15 gives that line's vector, as the 8259 does). */
uint8_t dev_intr_ack(struct dev_bus *bus);

/* Let the timers catch up with host time now_ns (CLOCK_MONOTONIC): the PIT's channel 0 raises
 * IRQ 0, the RTC's periodic/alarm/update interrupts IRQ 8, and so on. */
void dev_bus_update(struct dev_bus *bus, uint64_t now_ns);
/* When dev_bus_update next has something to do (ns, CLOCK_MONOTONIC), or UINT64_MAX. */
uint64_t dev_bus_next_deadline(const struct dev_bus *bus);
/* What became of timer ticks (PIT channel 0) the PIC could not take when they were due, its
 * IRR still holding the last one (for --stats): late ones were owed and given to it as soon
 * as it had room; dropped ones were owed when the guest masked IRQ 0 or reprogrammed the
 * timer, or were more than a second's worth. */
struct dev_timer_stats {
	uint64_t ticks_late;
	uint64_t ticks_dropped;
};
void dev_bus_timer_stats(const struct dev_bus *bus, struct dev_timer_stats *stats);

/* Feed bytes typed on the console into COM1's receive FIFO (raising IRQ 4 as the UART's IER
 * asks). Returns how many were taken (the FIFO holds 16). */
size_t dev_serial_input(struct dev_bus *bus, const uint8_t *data, size_t len);

/* Bytes for the console from the paravirtual console hypercall: they go where COM1's output
 * goes, in order with it (both are written at once). */
void dev_console_write(struct dev_bus *bus, const void *buf, size_t len);

/* True once the guest asked for a reset (i8042 command 0xFE, port 0x92 bit 0, port 0xCF9). */
bool dev_bus_reset_requested(const struct dev_bus *bus);

#endif
