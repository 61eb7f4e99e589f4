/* test_devices_common.h — a bus whose serial and debug-console output go to pipes the tests
 * read back, and whose clock the tests move by hand. Shared by the device test files only. */
#ifndef BT86_TEST_DEVICES_COMMON_H
#define BT86_TEST_DEVICES_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "devices/devices.h"

/* The fake clock's start: monotonic 5 s, and 2024-02-29 13:45:56.250 UTC (a Thursday). */
#define TEST_DEV_MONOTONIC_START (UINT64_C(5) * 1000000000)
#define TEST_DEV_REALTIME_START	 (INT64_C(1709214356) * 1000000000 + 250000000)
#define TEST_DEV_NS_PER_SEC	 UINT64_C(1000000000)

struct test_dev_env {
	struct dev_bus *bus;
	int serial_pipe[2]; /* [0] read end (non-blocking), [1] given to the UART */
	int debugcon_pipe[2];
	uint64_t now_ns;     /* what the bus's monotonic clock reads */
	int64_t realtime_ns; /* what its realtime clock reads (once, at creation) */
	uint64_t ram_bytes;
};

/* Create the bus (128 MiB of RAM, the fake clock at its start) and its two pipes; fails the
 * test on any host error. */
void test_dev_env_setup(struct test_dev_env *env);
/* The same with the given RAM size and date. */
void test_dev_env_setup_with(struct test_dev_env *env, uint64_t ram_bytes, int64_t realtime_ns);
void test_dev_env_teardown(struct test_dev_env *env);

/* Read what is waiting in a pipe's read end (up to cap bytes, no waiting). Returns the count. */
size_t test_dev_drain(int fd, char *buf, size_t cap);

/* Move the clock forward by ns; the bus sees it only through its accesses (as a guest polling
 * a port with no timer event in between). */
void test_dev_clock_forward(struct test_dev_env *env, uint64_t ns);
/* Move the clock forward by ns and let the devices catch up (dev_bus_update). */
void test_dev_advance(struct test_dev_env *env, uint64_t ns);

/* Port I/O as the guest does it. */
uint8_t test_inb(const struct test_dev_env *env, uint16_t port);
uint16_t test_inw(const struct test_dev_env *env, uint16_t port);
uint32_t test_inl(const struct test_dev_env *env, uint16_t port);
void test_outb(const struct test_dev_env *env, uint16_t port, uint8_t value);
void test_outw(const struct test_dev_env *env, uint16_t port, uint16_t value);
void test_outl(const struct test_dev_env *env, uint16_t port, uint32_t value);

/* Program both PICs the way Linux does (edge, cascade on IR2, 8086 mode), with vectors
 * master_base.. and slave_base.., every line unmasked. */
void test_pic_init(const struct test_dev_env *env, uint8_t master_base, uint8_t slave_base);
/* Non-specific EOI for ISA line irq (to the slave and the master for lines 8-15). */
void test_pic_eoi(const struct test_dev_env *env, unsigned irq);

#endif
