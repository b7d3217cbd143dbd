/*
 * codec.c: bit-packing of up to XIHU_BLOCK (128) unsigned 32-bit integers,
 * the codec of the postings blocks (doc-id deltas and term frequencies).
 *
 * Layout: value i occupies bits [i*bits, (i+1)*bits) of a little-endian bit
 * stream, least significant bit first; the stream is ceil(n*bits/8) bytes and
 * any unused high bits of the last byte are zero.  bits is 0..32; with 0 bits
 * every value is 0 and nothing is stored.
 *
 * Hand-written because it is our own format (docs/FORMAT.md) that no Debian
 * library provides.  codec_unpack is the hot decode path: one unaligned
 * 64-bit load, shift and mask per value, specialized per width so the shifts
 * are constants and the loop unrolls.  It reads whole 8-byte words only while
 * they lie inside `avail`, then finishes byte by byte, so it never reads past
 * what the caller says is there.
 *
 * Patched frame of reference (PFor), for positions: a chunk of n <= 128
 * values is stored at a width b chosen to minimize its bytes; the values
 * wider than b ("exceptions") keep their low b bits in the frame and their
 * high bits in a second packed run, found by their indexes:
 *
 *   u8 b, u8 nexc, [u8 hb if nexc > 0], packed[n] at b (low bits),
 *   nexc x u8 index (strictly ascending, < n), packed[nexc] at hb (v >> b)
 *
 * A chunk's size follows from its first three bytes (codec_pfor_size), so a
 * reader can step over chunks without decoding them.
 *
 * Callers: seg_out.c (pack, pfor_encode), postings.c and seg_reader.c
 * (unpack, pfor_decode).
 */
#include <string.h>

#include "core/core.h"

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}

unsigned codec_bits(const uint32_t *v, size_t n)
{
	uint32_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= v[i];
	return acc ? 32u - (unsigned)__builtin_clz(acc) : 0u;
}

size_t codec_pack(const uint32_t *v, size_t n, unsigned bits, uint8_t *out)
{
	size_t bytes = (n * bits + 7) / 8;
	if (bits == 0)
		return 0;
	uint64_t mask = bits == 32 ? 0xffffffffu : ((uint64_t)1 << bits) - 1;
	uint64_t acc = 0; /* bits not yet stored, low bits first */
	unsigned have = 0;
	uint8_t *o = out;
	for (size_t i = 0; i < n; i++) {
		acc |= ((uint64_t)v[i] & mask) << have;
		have += bits;
		if (have >= 32) {
			/* store 32 bits; the rest (< 32) stays in acc */
			o[0] = (uint8_t)acc;
			o[1] = (uint8_t)(acc >> 8);
			o[2] = (uint8_t)(acc >> 16);
			o[3] = (uint8_t)(acc >> 24);
			o += 4;
			acc >>= 32;
			have -= 32;
		}
	}
	while (have > 0) {
		*o++ = (uint8_t)acc;
		acc >>= 8;
		have = have > 8 ? have - 8 : 0;
	}
	/* the slack the contract promises: zero 8 bytes past the end so that
	 * unpacking a block from a writer buffer never sees garbage */
	store64(out + bytes, 0);
	return bytes;
}

/* Values [from, n) of a stream, the safe way: byte loads bounded by `bytes`. */
static void unpack_tail(const uint8_t *in, size_t bytes, size_t from, size_t n, unsigned bits, uint32_t *v)
{
	uint64_t mask = ((uint64_t)1 << bits) - 1;
	for (size_t i = from; i < n; i++) {
		size_t bit = i * bits, b = bit >> 3;
		uint64_t w = 0;
		for (unsigned k = 0; k < 8 && b + k < bytes; k++)
			w |= (uint64_t)in[b + k] << (8 * k);
		v[i] = (uint32_t)((w >> (bit & 7)) & mask);
	}
}

/* The fast path for a constant width: values whose 8-byte word fits in avail. */
static inline __attribute__((always_inline)) void unpack_width(const uint8_t *in, size_t avail, size_t n,
                                                               const unsigned bits, uint32_t *v)
{
	const uint64_t mask = ((uint64_t)1 << bits) - 1;
	size_t bytes = (n * bits + 7) / 8;
	/* value i is read with a word at byte (i*bits)>>3; it fits if that + 8 <= avail */
	size_t fast = n;
	if (avail < bytes + 8) {
		size_t lim = avail >= 8 ? avail - 8 : 0; /* last byte a word may start at */
		fast = avail >= 8 ? (lim * 8) / bits + 1 : 0;
		if (fast > n)
			fast = n;
		/* (lim*8)/bits+1 values start at a byte <= lim */
	}
	size_t i = 0;
	for (; i + 4 <= fast; i += 4) {
		size_t b0 = i * bits;
		v[i] = (uint32_t)((load64(in + (b0 >> 3)) >> (b0 & 7)) & mask);
		size_t b1 = b0 + bits;
		v[i + 1] = (uint32_t)((load64(in + (b1 >> 3)) >> (b1 & 7)) & mask);
		size_t b2 = b1 + bits;
		v[i + 2] = (uint32_t)((load64(in + (b2 >> 3)) >> (b2 & 7)) & mask);
		size_t b3 = b2 + bits;
		v[i + 3] = (uint32_t)((load64(in + (b3 >> 3)) >> (b3 & 7)) & mask);
	}
	for (; i < fast; i++) {
		size_t b = i * bits;
		v[i] = (uint32_t)((load64(in + (b >> 3)) >> (b & 7)) & mask);
	}
	if (i < n)
		unpack_tail(in, bytes, i, n, bits, v);
}

size_t codec_unpack(const uint8_t *in, size_t avail, size_t n, unsigned bits, uint32_t *v)
{
	if (bits > 32 || n > XIHU_BLOCK)
		return 0;
	size_t bytes = (n * bits + 7) / 8;
	if (bytes > avail)
		return 0;
	switch (bits) {
	case 0: memset(v, 0, n * sizeof *v); break;
#define W(k) \
	case k: unpack_width(in, avail, n, k, v); break;
		W(1) W(2) W(3) W(4) W(5) W(6) W(7) W(8) W(9) W(10) W(11) W(12) W(13) W(14) W(15) W(16)
		W(17) W(18) W(19) W(20) W(21) W(22) W(23) W(24) W(25) W(26) W(27) W(28) W(29) W(30)
		W(31) W(32)
#undef W
	}
	return bytes;
}

size_t codec_pfor_encode(const uint32_t *v, size_t n, uint8_t *out)
{
	unsigned hist[33] = {0}, maxb = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned b = v[i] ? 32u - (unsigned)__builtin_clz(v[i]) : 0u;
		hist[b]++;
		if (b > maxb)
			maxb = b;
	}
	/* the cheapest width: b bits for all, plus per exception an index
	 * byte and maxb - b high bits */
	size_t best = SIZE_MAX;
	unsigned best_b = maxb, above = 0, best_exc = 0;
	for (int b = (int)maxb; b >= 0; b--) {
		size_t sz = 2 + (n * (unsigned)b + 7) / 8;
		if (above)
			sz += 1 + above + (above * (maxb - (unsigned)b) + 7) / 8;
		if (sz < best) {
			best = sz;
			best_b = (unsigned)b;
			best_exc = above;
		}
		above += hist[b];
	}
	uint8_t *o = out;
	*o++ = (uint8_t)best_b;
	*o++ = (uint8_t)best_exc;
	if (best_exc == 0)
		return 2 + codec_pack(v, n, best_b, o);
	unsigned hb = maxb - best_b;
	*o++ = (uint8_t)hb;
	o += codec_pack(v, n, best_b, o); /* codec_pack keeps the low bits */
	uint32_t high[XIHU_BLOCK];
	unsigned k = 0;
	for (size_t i = 0; i < n; i++)
		if (best_b < 32 && v[i] >> best_b) {
			*o++ = (uint8_t)i;
			high[k++] = v[i] >> best_b;
		}
	o += codec_pack(high, k, hb, o);
	return (size_t)(o - out);
}

size_t codec_pfor_size(const uint8_t *in, size_t avail, size_t n)
{
	if (avail < 2 || n > XIHU_BLOCK || in[0] > 32 || in[1] > n)
		return 0;
	unsigned b = in[0], nexc = in[1], hb = 0;
	size_t sz = 2 + (n * b + 7) / 8;
	if (nexc) {
		if (avail < 3)
			return 0;
		hb = in[2];
		if (hb == 0 || hb > 32 - b)
			return 0;
		sz += 1 + nexc + (nexc * hb + 7) / 8;
	}
	return sz <= avail ? sz : 0;
}

size_t codec_pfor_decode(const uint8_t *in, size_t avail, size_t n, uint32_t *v)
{
	size_t sz = codec_pfor_size(in, avail, n);
	if (!sz)
		return 0;
	unsigned b = in[0], nexc = in[1];
	const uint8_t *q = in + (nexc ? 3 : 2);
	size_t k = (n * b + 7) / 8;
	if (k && !codec_unpack(q, (size_t)(in + avail - q), n, b, v))
		return 0;
	if (!k)
		memset(v, 0, n * sizeof *v);
	if (nexc == 0)
		return sz;
	q += k;
	const uint8_t *idx = q;
	q += nexc;
	uint32_t high[XIHU_BLOCK];
	unsigned hb = in[2];
	if (!codec_unpack(q, (size_t)(in + avail - q), nexc, hb, high))
		return 0;
	int prev = -1;
	for (unsigned e = 0; e < nexc; e++) {
		if ((int)idx[e] <= prev || idx[e] >= n)
			return 0;
		prev = idx[e];
		v[idx[e]] |= high[e] << b; /* hb <= 32 - b: no bit is lost */
	}
	return sz;
}
