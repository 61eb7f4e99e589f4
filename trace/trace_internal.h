/* trace_internal.h — the on-disk layout shared by writer.c and reader.c (see FORMAT.md).
 *
 * The sizes here are the format; changing one changes the file layout and needs a new
 * TRC_VERSION. Integers are stored little-endian with byte shifts so the code does not depend on
 * the host's byte order or on alignment.
 */
#ifndef BT86_TRACE_INTERNAL_H
#define BT86_TRACE_INTERNAL_H

#include <stdint.h>

#include "trace/trace.h"

#define TRC_MAGIC	       "BT86TRC" /* the eighth byte is the string's NUL */
#define TRC_MAGIC_LEN	       8u
#define TRC_HEADER_FIXED       36u	   /* header bytes before the host and guest strings */
#define TRC_REC_HEADER	       13u	   /* u32 size, u8 type, u64 time_ns */
#define TRC_RECORD_MAX	       (16u << 20) /* largest record or header anyone writes or reads */
#define TRC_BLOCK_FIXED	       28u
#define TRC_KIND_NAME_FIXED    4u
#define TRC_CALLOUT_PAYLOAD    6u
#define TRC_EVENT_PAYLOAD      26u
#define TRC_COUNTER_FIXED      10u
#define TRC_END_PAYLOAD	       16u
#define TRC_BLOCK_EXEC_PAYLOAD 20u
#define TRC_STRING_MAX	       0xffffu /* strings have a u16 length */

/* Header field offsets. */
#define TRC_HDR_VERSION	  8u
#define TRC_HDR_SIZE	  12u
#define TRC_HDR_REALTIME  16u
#define TRC_HDR_MONOTONIC 24u
#define TRC_HDR_HOST_LEN  32u
#define TRC_HDR_GUEST_LEN 34u

static inline void trc_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void trc_put_u32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void trc_put_u64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t trc_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t trc_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t trc_get_u64(const uint8_t *p)
{
	return (uint64_t)trc_get_u32(p) | (uint64_t)trc_get_u32(p + 4) << 32;
}

#endif
