/* devices_internal.h — what the device files share with the bus in bus.c.
 *
 * Nothing outside devices/ includes this. A device is a struct private to its own file, a
 * create/destroy pair, and a struct dev_port_ops that the bus calls for the ports it owns.
 */
#ifndef BT86_DEVICES_INTERNAL_H
#define BT86_DEVICES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/devices.h"

/* A broken invariant inside devices/ (a bus caller passing an access size other than 1, 2 or 4,
 * two devices claiming one port) is a bt86 bug: say where and stop, in every build type. */
#define DEV_ASSERT(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* How one device answers the ports it owns. offset counts from the first port of its range and
 * may run past the range's end when the bus splits a wide access (see impl_max); size is 1, 2
 * or 4 and never more than impl_max. read returns the value in the low size bytes. */
struct dev_port_ops {
	const char *name;
	uint32_t (*read)(void *dev, unsigned offset, unsigned size);
	void (*write)(void *dev, unsigned offset, unsigned size, uint32_t value);
	/* Widest access the device accepts. QEMU answers a wider one with 0 and drops its write
	 * without calling the device (.valid.max_access_size); we do the same so that guests see
	 * what they see under QEMU. */
	uint8_t valid_max;
	/* Whether an access need not be aligned to its size within the range. QEMU refuses a
	 * misaligned one the same way unless the device says otherwise (.valid.unaligned). */
	bool valid_unaligned;
	/* Widest access the handlers take. A wider one is split into byte accesses at consecutive
	 * offsets, low byte first, as QEMU does for .impl.max_access_size. */
	uint8_t impl_max;
};

/* ---- the devices (one file each) ------------------------------------------------------- */

/* Every create function returns NULL only when the host is out of memory, and every destroy
 * function takes NULL. Devices that raise interrupts or read the clock keep the bus they were
 * created for. */

/* The cascaded 8259A pair and its ELCR (pic8259.c): master at 0x20, slave at 0xA0 on the
 * master's IR2, ELCR at 0x4D0 (master) and 0x4D1 (slave). */
struct dev_pic;
extern const struct dev_port_ops dev_pic_master_ops;
extern const struct dev_port_ops dev_pic_slave_ops;
extern const struct dev_port_ops dev_pic_elcr_ops;
struct dev_pic *dev_pic_create(void);
void dev_pic_destroy(struct dev_pic *pic);
/* Drive ISA interrupt line 0..15 (the slave's lines are 8..15). */
void dev_pic_set_irq(struct dev_pic *pic, unsigned line, bool level);
/* Whether the master asserts INTR, and the CPU's acknowledge cycle (the vector). */
bool dev_pic_intr(const struct dev_pic *pic);
uint8_t dev_pic_ack(struct dev_pic *pic);
/* Whether the guest masks line 0..15 in IMR, and whether a request from it waits in IRR. */
bool dev_pic_masked(const struct dev_pic *pic, unsigned line);
bool dev_pic_requested(const struct dev_pic *pic, unsigned line);

/* 8254 PIT (pit8254.c): ports 0x40-0x43; channel 0 drives IRQ 0, channel 2's gate and output
 * belong to port 0x61. now_ns is the bus's time (see dev_bus_now). */
struct dev_pit;
extern const struct dev_port_ops dev_pit_ops;
struct dev_pit *dev_pit_create(struct dev_bus *bus, uint64_t now_ns);
void dev_pit_destroy(struct dev_pit *pit);
/* Raise IRQ 0 for channel 0's output edges up to now_ns: at most one edge per call, the rest
 * owed to later calls. */
void dev_pit_update(struct dev_pit *pit, uint64_t now_ns);
/* When IRQ 0 next needs dev_pit_update (ns): the next edge, at once if a tick is owed and the
 * PIC has room for it, UINT64_MAX while its last request still waits in IRR. */
uint64_t dev_pit_next_deadline(const struct dev_pit *pit);
/* Channel 0's late and dropped timer ticks (see struct dev_timer_stats). */
void dev_pit_timer_stats(const struct dev_pit *pit, struct dev_timer_stats *stats);
void dev_pit_gate_set(struct dev_pit *pit, unsigned channel, bool level, uint64_t now_ns);
bool dev_pit_gate(const struct dev_pit *pit, unsigned channel);
bool dev_pit_out(const struct dev_pit *pit, unsigned channel, uint64_t now_ns);

/* Port 0x61, the AT's system control port B (port61.c): channel 2's gate and output, the
 * speaker data bit and the refresh toggle. */
struct dev_port61;
extern const struct dev_port_ops dev_port61_ops;
struct dev_port61 *dev_port61_create(struct dev_bus *bus, struct dev_pit *pit);
void dev_port61_destroy(struct dev_port61 *p61);

/* MC146818 RTC and CMOS RAM (rtc.c): ports 0x70-0x71, IRQ 8. The date starts at realtime_ns
 * (UTC) and runs with the bus's monotonic time from now_ns on; the CMOS memory-size bytes
 * describe ram_bytes. */
struct dev_rtc;
extern const struct dev_port_ops dev_rtc_ops;
struct dev_rtc *dev_rtc_create(struct dev_bus *bus, uint64_t ram_bytes, uint64_t now_ns,
			       int64_t realtime_ns);
void dev_rtc_destroy(struct dev_rtc *rtc);
/* Set the flags the clock earned up to now_ns and drive IRQ 8. */
void dev_rtc_update(struct dev_rtc *rtc, uint64_t now_ns);
/* When an enabled RTC interrupt next fires (ns), or UINT64_MAX. */
uint64_t dev_rtc_next_deadline(const struct dev_rtc *rtc);

/* i8042 keyboard controller with a keyboard that never types (i8042.c): ports 0x60 and 0x64,
 * IRQ 1 and IRQ 12. */
struct dev_i8042;
extern const struct dev_port_ops dev_i8042_ops;
struct dev_i8042 *dev_i8042_create(struct dev_bus *bus);
void dev_i8042_destroy(struct dev_i8042 *kbc);

/* Port 0x92, system control port A (port92.c): A20 (always on) and fast reset. */
struct dev_port92;
extern const struct dev_port_ops dev_port92_ops;
struct dev_port92 *dev_port92_create(struct dev_bus *bus);
void dev_port92_destroy(struct dev_port92 *p92);

/* The PIIX3 reset control register at 0xCF9 (reset_control.c). */
struct dev_reset_control;
extern const struct dev_port_ops dev_reset_control_ops;
struct dev_reset_control *dev_reset_control_create(struct dev_bus *bus);
void dev_reset_control_destroy(struct dev_reset_control *rc);

/* PCI configuration mechanism #1 (pci.c): the address register at 0xCF8 (and, for QEMU's
 * narrow accesses, 0xCFA-0xCFB), the data window at 0xCFC-0xCFF, with an i440FX host bridge
 * at 00:00.0 and the PIIX3 ISA bridge at 00:01.0. */
struct dev_pci;
extern const struct dev_port_ops dev_pci_addr_ops;
extern const struct dev_port_ops dev_pci_data_ops;
struct dev_pci *dev_pci_create(void);
void dev_pci_destroy(struct dev_pci *pci);

/* 16550A UART (uart16550.c) on IRQ 4. Transmitted bytes go to out_fd; out_fd < 0 discards
 * them. */
struct dev_uart;
extern const struct dev_port_ops dev_uart_ops;
struct dev_uart *dev_uart_create(struct dev_bus *bus, int out_fd);
void dev_uart_destroy(struct dev_uart *uart);
/* Receive bytes from the host side at now_ns; returns how many the receiver took. */
size_t dev_uart_input(struct dev_uart *uart, const uint8_t *data, size_t len, uint64_t now_ns);
/* Fire the character timeout if it is due at now_ns. */
void dev_uart_update(struct dev_uart *uart, uint64_t now_ns);
/* When the character timeout fires (ns), or UINT64_MAX. */
uint64_t dev_uart_next_deadline(const struct dev_uart *uart);

/* Bochs/QEMU debug console on port 0xE9 (debugcon.c). out_fd < 0 discards output. */
struct dev_debugcon;
extern const struct dev_port_ops dev_debugcon_ops;
struct dev_debugcon *dev_debugcon_create(int out_fd);
void dev_debugcon_destroy(struct dev_debugcon *con);

/* QEMU isa-debug-exit (debugexit.c). */
struct dev_debugexit;
extern const struct dev_port_ops dev_debugexit_ops;
struct dev_debugexit *dev_debugexit_create(void);
void dev_debugexit_destroy(struct dev_debugexit *dx);
/* True once the guest wrote the port; *status is the process exit status QEMU would give. */
bool dev_debugexit_requested(const struct dev_debugexit *dx, int *status);

/* POST code port 0x80 (port80.c): stateless, its ops take a NULL device. */
extern const struct dev_port_ops dev_port80_ops;

/* How one device answers guest-physical addresses it owns (offset from its base). */
struct dev_mmio_ops {
	const char *name;
	uint32_t (*read)(void *dev, uint32_t offset, unsigned size);
	void (*write)(void *dev, uint32_t offset, unsigned size, uint32_t value);
};

/* QEMU's pc-testdev memory region (testdev.c): 64 KiB at 0xff000000 that reads back what was
 * written, so guest tests can exercise MMIO against QEMU. */
#define DEV_TESTDEV_BASE 0xff000000u
#define DEV_TESTDEV_SIZE 0x10000u
struct dev_testdev;
extern const struct dev_mmio_ops dev_testdev_ops;
struct dev_testdev *dev_testdev_create(void);
void dev_testdev_destroy(struct dev_testdev *td);

/* ---- shared helpers (bus.c) ------------------------------------------------------------ */

/* The bus's monotonic time for a guest access now: the clock, but never earlier than any time
 * the bus has seen before (dev_bus_update's argument, earlier reads), so that time never runs
 * backwards for a device. */
uint64_t dev_bus_now(struct dev_bus *bus);

/* A device saw the guest ask for a system reset (see dev_bus_reset_requested). */
void dev_bus_request_reset(struct dev_bus *bus);

/* The PIC's view of line 0..15, for a device that owes interrupts the PIC could not hold (the
 * PIT): masked in IMR; a request still waiting in IRR. */
bool dev_bus_irq_masked(const struct dev_bus *bus, unsigned line);
bool dev_bus_irq_requested(const struct dev_bus *bus, unsigned line);

/* Nanoseconds per second, for the devices that count time. */
#define DEV_NS_PER_SEC UINT64_C(1000000000)

/* Write all len bytes to fd, riding out EINTR, short writes and a non-blocking fd that is
 * full. Returns 0 or -errno. */
int dev_fd_write_all(int fd, const void *buf, size_t len);

#endif
