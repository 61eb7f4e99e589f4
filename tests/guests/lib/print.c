/*
 * print.c — formatted output on top of put_char(), and a few memory helpers.
 */
#include "guest.h"

static const char hex_digits[] = "0123456789abcdef";

void put_str(const char *s)
{
	while (*s)
		put_char(*s++);
}

static void put_hex_width(uint64_t v, int width)
{
	char buf[16];
	int n = 0;

	do {
		buf[n++] = hex_digits[v & 0xF];
		v >>= 4;
	} while (v && n < 16);
	while (n < width && n < 16)
		buf[n++] = '0';
	while (n)
		put_char(buf[--n]);
}

void put_hex32(uint32_t v)
{
	put_hex_width(v, 8);
}

void put_hex64(uint64_t v)
{
	put_hex_width(v, 16);
}

void put_dec(uint32_t v)
{
	char buf[10];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		put_char(buf[--n]);
}

/* Prints the flags selected by mask as " C1 P0 ...", in a fixed order. */
void put_flags(uint32_t eflags, uint32_t mask)
{
	static const struct {
		uint32_t bit;
		char name;
	} flags[] = {
	    {FL_CF, 'C'}, {FL_PF, 'P'}, {FL_AF, 'A'}, {FL_ZF, 'Z'},
	    {FL_SF, 'S'}, {FL_TF, 'T'}, {FL_DF, 'D'}, {FL_OF, 'O'},
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (!(mask & flags[i].bit))
			continue;
		put_char(' ');
		put_char(flags[i].name);
		put_char(eflags & flags[i].bit ? '1' : '0');
	}
}

/* Prints n bytes as hex, lowest address first. */
void put_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		put_hex_width(b[i], 2);
}

void kvprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put_char(*fmt);
			continue;
		}
		fmt++;
		int width = 0;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		int longlong = 0;
		while (*fmt == 'l') {
			longlong++;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			put_char((char)va_arg(ap, int));
			break;
		case 's':
			put_str(va_arg(ap, const char *));
			break;
		case 'd': {
			int32_t v = va_arg(ap, int32_t);
			if (v < 0)
				put_char('-');
			put_dec(v < 0 ? -(uint32_t)v : (uint32_t)v);
			break;
		}
		case 'u':
			put_dec(va_arg(ap, uint32_t));
			break;
		case 'x':
			if (longlong >= 2)
				put_hex_width(va_arg(ap, uint64_t), width);
			else
				put_hex_width(va_arg(ap, uint32_t), width);
			break;
		case '%':
			put_char('%');
			break;
		default:
			put_char('?');
			break;
		}
		if (!*fmt)
			break;
	}
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

uint32_t fnv32(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 0x811C9DC5u;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x01000193u;
	}
	return h;
}
