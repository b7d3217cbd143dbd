/*
 * test_codec.c: the 128-integer bit-packing codec (index/codec.c).
 * Round-trips every width 0..32 at lengths 0, 1, 127 and 128, with and
 * without slack bytes after the stream, and checks the bounds checks.
 * The PFor chunks of positions: round trips of skewed values (exceptions),
 * the chosen width, and every malformed header refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint32_t mask_of(unsigned bits)
{
	return bits == 32 ? UINT32_MAX : (uint32_t)((1ull << bits) - 1);
}

/* Packs n values of exactly `bits` and unpacks them from a buffer holding
 * only the stream (no slack: the careful tail path) and with slack. */
static void roundtrip(unsigned bits, size_t n)
{
	uint32_t in[XIHU_BLOCK], out[XIHU_BLOCK];
	uint8_t buf[XIHU_BLOCK * 4 + 8];
	for (size_t i = 0; i < n; i++)
		in[i] = rnd() & mask_of(bits);
	if (n > 0 && bits > 0) {
		in[n - 1] = mask_of(bits); /* the largest value, last: tail path */
		in[0] = mask_of(bits);
	}
	assert_int_equal(codec_bits(in, n), n ? bits : 0);
	memset(buf, 0xa5, sizeof buf);
	size_t k = codec_pack(in, n, bits, buf);
	assert_int_equal(k, (n * bits + 7) / 8);

	/* exact: a heap copy of only k bytes, so ASan catches any over-read */
	uint8_t *exact = malloc(k ? k : 1);
	assert_non_null(exact);
	memcpy(exact, buf, k);
	memset(out, 0xff, sizeof out);
	assert_int_equal(codec_unpack(exact, k, n, bits, out), k);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i], in[i]);
	free(exact);

	memset(out, 0xff, sizeof out);
	assert_int_equal(codec_unpack(buf, sizeof buf, n, bits, out), k);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i], in[i]);

	/* one byte short is refused */
	if (k > 0)
		assert_int_equal(codec_unpack(buf, k - 1, n, bits, out), 0);
}

static void test_width(void **state)
{
	unsigned bits = (unsigned)(uintptr_t)*state;
	size_t lens[] = {0, 1, 127, 128};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		roundtrip(bits, lens[i]);
}

static void test_bits_of(void **state)
{
	(void)state;
	uint32_t v[4] = {0, 0, 0, 0};
	assert_int_equal(codec_bits(v, 4), 0);
	v[2] = 1;
	assert_int_equal(codec_bits(v, 4), 1);
	v[1] = 255;
	assert_int_equal(codec_bits(v, 4), 8);
	v[3] = 256;
	assert_int_equal(codec_bits(v, 4), 9);
	v[0] = UINT32_MAX;
	assert_int_equal(codec_bits(v, 4), 32);
	assert_int_equal(codec_bits(v, 0), 0);
}

/* Values wider than `bits` are cut to their low bits, never spill into the neighbours. */
static void test_pack_masks(void **state)
{
	(void)state;
	uint32_t in[8] = {0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0}, out[8];
	uint8_t buf[16];
	size_t k = codec_pack(in, 8, 4, buf);
	assert_int_equal(k, 4);
	assert_int_equal(codec_unpack(buf, k, 8, 4, out), 4);
	for (int i = 0; i < 8; i++)
		assert_int_equal(out[i], i % 2 ? 0 : 0xf);
	/* the unused high bits of the last byte are zero */
	k = codec_pack(in, 1, 3, buf);
	assert_int_equal(k, 1);
	assert_int_equal(buf[0], 7);
}

static void test_unpack_rejects(void **state)
{
	(void)state;
	uint8_t buf[600] = {0};
	uint32_t out[XIHU_BLOCK + 1];
	assert_int_equal(codec_unpack(buf, sizeof buf, 128, 33, out), 0);  /* bad width */
	assert_int_equal(codec_unpack(buf, sizeof buf, 129, 1, out), 0);   /* too many */
	assert_int_equal(codec_unpack(buf, 511, 128, 32, out), 0);         /* short */
	assert_int_equal(codec_unpack(buf, 512, 128, 32, out), 512);       /* exact */
	assert_int_equal(codec_unpack(buf, 0, 128, 0, out), 0);            /* 0 bits: 0 bytes */
	assert_int_equal(out[127], 0);
}

/* A known stream: 3-bit values 1..8 (8 wraps to 0), checked byte by byte,
 * so the bit order of the format is pinned. */
static void test_known_bytes(void **state)
{
	(void)state;
	uint32_t in[8] = {1, 2, 3, 4, 5, 6, 7, 0};
	uint8_t buf[16];
	size_t k = codec_pack(in, 8, 3, buf);
	assert_int_equal(k, 3);
	/* bits LSB first: 001 010 011 100 101 110 111 000 */
	assert_int_equal(buf[0], 0xd1); /* 1 | 2<<3 | (3&3)<<6 */
	assert_int_equal(buf[1], 0x58);
	assert_int_equal(buf[2], 0x1f);
}

/* ---- PFor ----------------------------------------------------------------- */

static void pfor_roundtrip(const uint32_t *in, size_t n)
{
	uint8_t buf[CODEC_PFOR_MAX];
	uint32_t out[XIHU_BLOCK];
	size_t k = codec_pfor_encode(in, n, buf);
	assert_true(k >= 2 && k <= CODEC_PFOR_MAX - 8);
	assert_int_equal(codec_pfor_size(buf, k, n), k);
	/* exact: a heap copy of only k bytes, so ASan catches any over-read */
	uint8_t *exact = malloc(k);
	memcpy(exact, buf, k);
	memset(out, 0xee, sizeof out);
	assert_int_equal(codec_pfor_decode(exact, k, n, out), k);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i], in[i]);
	assert_int_equal(codec_pfor_decode(exact, k - 1, n, out), 0); /* one byte short */
	free(exact);
}

static void test_pfor_roundtrip(void **state)
{
	(void)state;
	uint32_t v[XIHU_BLOCK];
	size_t lens[] = {0, 1, 2, 77, 127, 128};
	for (int round = 0; round < 400; round++) {
		size_t n = lens[round % 6];
		unsigned small = rnd() % 12, big = small + rnd() % (33 - small);
		unsigned pct = rnd() % 30; /* share of outliers */
		for (size_t i = 0; i < n; i++) {
			unsigned b = rnd() % 100 < pct ? big : small;
			v[i] = rnd() & mask_of(b);
			if (rnd() % 2)
				v[i] = (v[i] << 16 | rnd()) & mask_of(b);
		}
		pfor_roundtrip(v, n);
	}
	for (size_t i = 0; i < XIHU_BLOCK; i++)
		v[i] = UINT32_MAX;
	pfor_roundtrip(v, XIHU_BLOCK);
	memset(v, 0, sizeof v);
	pfor_roundtrip(v, XIHU_BLOCK);
}

/* Small values with a few huge ones: the frame stays narrow and the
 * outliers are patched, so the chunk is far smaller than plain packing. */
static void test_pfor_exceptions(void **state)
{
	(void)state;
	uint32_t v[XIHU_BLOCK];
	for (size_t i = 0; i < XIHU_BLOCK; i++)
		v[i] = (uint32_t)(i % 5);
	v[3] = 100000;
	v[90] = 1u << 31;
	uint8_t buf[CODEC_PFOR_MAX];
	size_t k = codec_pfor_encode(v, XIHU_BLOCK, buf);
	assert_int_equal(buf[0], 3);  /* 0..4 need 3 bits */
	assert_int_equal(buf[1], 2);  /* two exceptions */
	assert_int_equal(buf[2], 29); /* 32 - 3 high bits */
	assert_int_equal(k, 3 + 48 + 2 + 8);
	assert_int_equal(buf[3 + 48], 3);
	assert_int_equal(buf[3 + 48 + 1], 90);
	pfor_roundtrip(v, XIHU_BLOCK);
}

static void test_pfor_rejects(void **state)
{
	(void)state;
	uint32_t v[XIHU_BLOCK], out[XIHU_BLOCK];
	for (size_t i = 0; i < XIHU_BLOCK; i++)
		v[i] = (uint32_t)i % 3;
	v[10] = 5000;
	v[20] = 6000;
	uint8_t good[CODEC_PFOR_MAX], b[CODEC_PFOR_MAX];
	size_t k = codec_pfor_encode(v, XIHU_BLOCK, good);
	assert_int_equal(good[1], 2);
	size_t idx = 3 + (XIHU_BLOCK * good[0] + 7) / 8; /* the exception indexes */
	struct {
		size_t off;
		uint8_t val;
	} bad[] = {
		{0, 33},             /* width */
		{1, XIHU_BLOCK + 1}, /* more exceptions than values */
		{2, 0},              /* no high bits */
		{2, 32},             /* high bits past 32 with the frame's */
		{idx, 20},           /* indexes not ascending */
		{idx + 1, 10},       /* ... */
		{idx + 1, 200},      /* index past n */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		memcpy(b, good, k);
		b[bad[i].off] = bad[i].val;
		assert_int_equal(codec_pfor_decode(b, k, XIHU_BLOCK, out), 0);
	}
	assert_int_equal(codec_pfor_decode(good, 1, XIHU_BLOCK, out), 0);
	assert_int_equal(codec_pfor_decode(good, k, XIHU_BLOCK + 1, out), 0);
	assert_int_equal(codec_pfor_size(good, k - 1, XIHU_BLOCK), 0);
	assert_int_equal(codec_pfor_decode(good, k, XIHU_BLOCK, out), k);
	/* fewer values than encoded: a different, shorter chunk, never an over-read */
	assert_true(codec_pfor_size(good, k, 100) < k);
}

int main(void)
{
	struct CMUnitTest tests[33 + 7];
	static const char *names[33] = {
		"width_0",  "width_1",  "width_2",  "width_3",  "width_4",  "width_5",  "width_6",
		"width_7",  "width_8",  "width_9",  "width_10", "width_11", "width_12", "width_13",
		"width_14", "width_15", "width_16", "width_17", "width_18", "width_19", "width_20",
		"width_21", "width_22", "width_23", "width_24", "width_25", "width_26", "width_27",
		"width_28", "width_29", "width_30", "width_31", "width_32"};
	for (unsigned b = 0; b <= 32; b++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(test_width, (void *)(uintptr_t)b);
		t.name = names[b];
		tests[b] = t;
	}
	struct CMUnitTest more[7] = {
		cmocka_unit_test(test_bits_of),
		cmocka_unit_test(test_pack_masks),
		cmocka_unit_test(test_unpack_rejects),
		cmocka_unit_test(test_known_bytes),
		cmocka_unit_test(test_pfor_roundtrip),
		cmocka_unit_test(test_pfor_exceptions),
		cmocka_unit_test(test_pfor_rejects),
	};
	memcpy(tests + 33, more, sizeof more);
	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
