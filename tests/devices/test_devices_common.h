/* test_devices_common.h — a bus whose serial and debug-console output go to pipes the tests
 * read back. Shared by the device test files only. */
#ifndef BT86_TEST_DEVICES_COMMON_H
#define BT86_TEST_DEVICES_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "devices/devices.h"

struct test_dev_env {
	struct dev_bus *bus;
	int serial_pipe[2]; /* [0] read end (non-blocking), [1] given to the UART */
	int debugcon_pipe[2];
};

/* Create the bus and its two pipes; fails the test on any host error. */
void test_dev_env_setup(struct test_dev_env *env);
void test_dev_env_teardown(struct test_dev_env *env);

/* Read what is waiting in a pipe's read end (up to cap bytes, no waiting). Returns the count. */
size_t test_dev_drain(int fd, char *buf, size_t cap);

#endif
