/* test_devices_common.c — pipes, a fake clock and bus set-up for the device tests. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "test_devices_common.h"

static void test_dev_pipe(int fds[2])
{
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	int flags = fcntl(fds[0], F_GETFL);
	cr_assert_eq(fcntl(fds[0], F_SETFL, flags | O_NONBLOCK), 0);
}

static uint64_t test_dev_monotonic(void *ctx)
{
	return ((const struct test_dev_env *)ctx)->now_ns;
}

static int64_t test_dev_realtime(void *ctx)
{
	return ((const struct test_dev_env *)ctx)->realtime_ns;
}

void test_dev_env_setup_with(struct test_dev_env *env, uint64_t ram_bytes, int64_t realtime_ns)
{
	test_dev_pipe(env->serial_pipe);
	test_dev_pipe(env->debugcon_pipe);
	env->now_ns = TEST_DEV_MONOTONIC_START;
	env->realtime_ns = realtime_ns;
	env->ram_bytes = ram_bytes;
	struct dev_config config = {
	    .serial_out_fd = env->serial_pipe[1],
	    .debugcon_out_fd = env->debugcon_pipe[1],
	    .ram_bytes = ram_bytes,
	};
	struct dev_clock clock = {
	    .monotonic_ns = test_dev_monotonic,
	    .realtime_ns = test_dev_realtime,
	    .ctx = env,
	};
	env->bus = dev_bus_create_with_clock(&config, &clock);
	cr_assert_not_null(env->bus);
}

void test_dev_env_setup(struct test_dev_env *env)
{
	test_dev_env_setup_with(env, UINT64_C(128) << 20, TEST_DEV_REALTIME_START);
}

void test_dev_env_teardown(struct test_dev_env *env)
{
	dev_bus_destroy(env->bus);
	for (int i = 0; i < 2; i++) {
		close(env->serial_pipe[i]);
		close(env->debugcon_pipe[i]);
	}
}

size_t test_dev_drain(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; /* EAGAIN: nothing more waiting */
	}
	return got;
}

void test_dev_clock_forward(struct test_dev_env *env, uint64_t ns)
{
	env->now_ns += ns;
}

void test_dev_advance(struct test_dev_env *env, uint64_t ns)
{
	env->now_ns += ns;
	dev_bus_update(env->bus, env->now_ns);
}

uint8_t test_inb(const struct test_dev_env *env, uint16_t port)
{
	return (uint8_t)dev_io_read(env->bus, port, 1);
}

uint16_t test_inw(const struct test_dev_env *env, uint16_t port)
{
	return (uint16_t)dev_io_read(env->bus, port, 2);
}

uint32_t test_inl(const struct test_dev_env *env, uint16_t port)
{
	return dev_io_read(env->bus, port, 4);
}

void test_outb(const struct test_dev_env *env, uint16_t port, uint8_t value)
{
	dev_io_write(env->bus, port, 1, value);
}

void test_outw(const struct test_dev_env *env, uint16_t port, uint16_t value)
{
	dev_io_write(env->bus, port, 2, value);
}

void test_outl(const struct test_dev_env *env, uint16_t port, uint32_t value)
{
	dev_io_write(env->bus, port, 4, value);
}

void test_pic_init(const struct test_dev_env *env, uint8_t master_base, uint8_t slave_base)
{
	test_outb(env, 0x20, 0x11);
	test_outb(env, 0xA0, 0x11);
	test_outb(env, 0x21, master_base);
	test_outb(env, 0xA1, slave_base);
	test_outb(env, 0x21, 0x04);
	test_outb(env, 0xA1, 0x02);
	test_outb(env, 0x21, 0x01);
	test_outb(env, 0xA1, 0x01);
	test_outb(env, 0x21, 0x00);
	test_outb(env, 0xA1, 0x00);
}

void test_pic_eoi(const struct test_dev_env *env, unsigned irq)
{
	if (irq >= 8)
		test_outb(env, 0xA0, 0x20);
	test_outb(env, 0x20, 0x20);
}
