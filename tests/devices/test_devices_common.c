/* test_devices_common.c — pipes and bus set-up for the device tests. */
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

void test_dev_env_setup(struct test_dev_env *env)
{
	test_dev_pipe(env->serial_pipe);
	test_dev_pipe(env->debugcon_pipe);
	struct dev_config config = {
	    .serial_out_fd = env->serial_pipe[1],
	    .debugcon_out_fd = env->debugcon_pipe[1],
	};
	env->bus = dev_bus_create(&config);
	cr_assert_not_null(env->bus);
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
