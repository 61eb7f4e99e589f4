/* What the kernel loaders (loader_multiboot.c, loader_linux.c) share: opening and reading the
 * files they are given without trusting them, little-endian fields, and the one-line message
 * they fail with. Private to runtime/. */
#ifndef BT86_RT_LOADER_FILE_H
#define BT86_RT_LOADER_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Format the reason into err (if there is room for one). Always returns -1. */
int rt_load_fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Open a regular, non-empty file: *fd and *size, or -1 with the reason (kind, e.g. "kernel",
 * names the file). A FIFO or a directory is refused without blocking. */
int rt_load_open(char *err, size_t err_len, const char *kind, const char *path, int *fd,
		 uint64_t *size);

/* Read exactly len bytes at offset; a short file is reported as truncated (what names it). */
int rt_load_read(char *err, size_t err_len, int fd, const char *what, void *buf, uint64_t len,
		 uint64_t offset);

static inline uint16_t rt_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t rt_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rt_le64(const uint8_t *p)
{
	return (uint64_t)rt_le32(p) | (uint64_t)rt_le32(p + 4) << 32;
}

static inline void rt_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void rt_put_le32(uint8_t *p, uint32_t v)
{
	rt_put_le16(p, (uint16_t)v);
	rt_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void rt_put_le64(uint8_t *p, uint64_t v)
{
	rt_put_le32(p, (uint32_t)v);
	rt_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
