/*
 * frame.h: constants of the xihu wire framing shared by daemon and client.
 *
 * A frame is a 4-byte big-endian length N, then N bytes of a packed
 * xihu.Request or xihu.Response (proto/xihu.proto).  The length must be
 * at least 1 and at most the receiver's limit.
 */
#ifndef XIHU_FRAME_H
#define XIHU_FRAME_H

#include <stdint.h>

#define XIHU_PROTO_VERSION 1u
#define XIHU_FRAME_HEADER 4u
#define XIHU_MAX_REQUEST_FRAME (1u << 20)    /* daemon default, --max-frame */
#define XIHU_MAX_RESPONSE_FRAME (64u << 20)  /* what a client accepts */

static inline uint32_t frame_get_len(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void frame_put_len(unsigned char *p, uint32_t n)
{
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}

#endif
