/*
 * keyfilter.c: the dictionary's key filter (docs/FORMAT.md §3.1): a blocked
 * Bloom filter over every key of a segment, so that a lookup of a key the
 * segment does not hold (most of them: a word is asked in four fields of
 * every segment, and a rare word is in one or two) answers from one cache
 * line instead of a binary search and a block scan.
 *
 * The filter is KF_LINES(nterms) lines of 64 bytes.  A key's 64-bit hash
 * (kf_hash) picks its line from the high 32 bits (multiply-shift, no
 * power of two needed) and KF_PROBES bits of the line from a second mix
 * of it, 9 bits each.  At KF_BITS_PER_KEY 10 about 1% of absent keys
 * pass (measured in tests/unit/test_segment.c); a present key always does.
 *
 * The hash is part of the format: a reader of any build must compute the
 * writer's bits, so it reads the key's bytes little-endian, 8 at a time,
 * and uses no platform hash.  Written here because no Debian library
 * offers a stable, specified 64-bit hash for a file format (xxhash's is
 * stable but is not among this project's dependencies for one function).
 *
 * Callers: seg_out.c (kf_add at finish), seg_reader.c (kf_test in
 * seg_lookup, and seg_check_structure's check that every key passes).
 */
#include <string.h>

#include "core/seg-int.h"

#define M1 0x9e3779b97f4a7c15ull
#define M2 0xbf58476d1ce4e5b9ull
#define M3 0x94d049bb133111ebull

/* a bijective mix of 64 bits (a multiply-xorshift finalizer) */
static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= M2;
	x ^= x >> 27;
	x *= M3;
	x ^= x >> 31;
	return x;
}

uint64_t kf_hash(const uint8_t *key, uint32_t len)
{
	uint64_t h = M1 ^ ((uint64_t)len * M2);
	uint32_t i = 0;
	for (; i + 8 <= len; i += 8)
		h = (h ^ mix(get_u64le(key + i))) * M1;
	if (i < len) {
		uint8_t tail[8] = {0};
		memcpy(tail, key + i, len - i);
		h = (h ^ mix(get_u64le(tail))) * M1;
	}
	return mix(h);
}

static inline const uint8_t *line_of(const uint8_t *lines, uint64_t nlines, uint64_t h)
{
	return lines + ((h >> 32) * nlines >> 32) * KF_LINE;
}

void kf_add(uint8_t *lines, uint64_t nlines, uint64_t h)
{
	uint8_t *l = (uint8_t *)line_of(lines, nlines, h);
	uint64_t g = mix(h ^ M1);
	for (int k = 0; k < KF_PROBES; k++, g >>= 9)
		l[(g & 511) >> 3] |= (uint8_t)(1u << (g & 7));
}

bool kf_test(const uint8_t *lines, uint64_t nlines, uint64_t h)
{
	const uint8_t *l = line_of(lines, nlines, h);
	uint64_t g = mix(h ^ M1);
	for (int k = 0; k < KF_PROBES; k++, g >>= 9)
		if (!(l[(g & 511) >> 3] & (1u << (g & 7))))
			return false;
	return true;
}
