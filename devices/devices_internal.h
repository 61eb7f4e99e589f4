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

/* 16550A UART (uart16550.c). Transmitted bytes go to out_fd; out_fd < 0 discards them. */
struct dev_uart;
extern const struct dev_port_ops dev_uart_ops;
struct dev_uart *dev_uart_create(int out_fd);
void dev_uart_destroy(struct dev_uart *uart);

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

/* Write all len bytes to fd, riding out EINTR, short writes and a non-blocking fd that is
 * full. Returns 0 or -errno. */
int dev_fd_write_all(int fd, const void *buf, size_t len);

#endif
