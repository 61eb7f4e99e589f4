/* The kernel loaders' file handling (loader_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/loader_file.h"

int rt_load_fail(char *err, size_t err_len, const char *fmt, ...)
{
	if (err != NULL && err_len > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int rt_load_open(char *err, size_t err_len, const char *kind, const char *path, int *fd,
		 uint64_t *size)
{
	/* O_NONBLOCK so that a FIFO does not hang the open; it is refused below, and regular
	 * files ignore the flag. */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return rt_load_fail(err, err_len, "cannot open %s %s: %s", kind, path,
				    strerror(errno));
	struct stat st;
	if (fstat(*fd, &st) < 0)
		return rt_load_fail(err, err_len, "cannot stat %s %s: %s", kind, path,
				    strerror(errno));
	if (S_ISDIR(st.st_mode))
		return rt_load_fail(err, err_len, "%s %s is a directory", kind, path);
	if (!S_ISREG(st.st_mode))
		return rt_load_fail(err, err_len, "%s %s is not a regular file", kind, path);
	if (st.st_size == 0)
		return rt_load_fail(err, err_len, "%s %s is an empty file", kind, path);
	*size = (uint64_t)st.st_size;
	return 0;
}

int rt_load_read(char *err, size_t err_len, int fd, const char *what, void *buf, uint64_t len,
		 uint64_t offset)
{
	uint8_t *p = buf;
	while (len > 0) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = pread(fd, p, chunk, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rt_load_fail(err, err_len, "%s: read error: %s", what,
					    strerror(errno));
		if (n == 0)
			return rt_load_fail(err, err_len,
					    "%s: file is truncated (changed while loading?)", what);
		p += n;
		len -= (uint64_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}
