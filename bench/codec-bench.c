/*
 * codec-bench.c: the postings codec against the alternatives, on real
 * postings (issue 3 item 4; the numbers are in docs/FORMAT.md, "Codec
 * choice").  A benchmark, not a test.
 *
 *   codec-bench [--runs N] INDEX_DIR
 *
 * Reads every postings list of every live segment of a built xihu index
 * through the reader, and keeps what the .post file encodes: per list, the
 * doc-id gaps (doc - prev - 1) and tf - 1, cut into blocks of 128 as the
 * format cuts them (the last block of a list may be shorter).  Then each
 * codec encodes every block of both streams and decodes them again, the
 * best of N runs (default 7), all in this one process:
 *
 *   bitpack   xihu's codec.c: a width byte and 128 values bit-packed
 *   svb       libstreamvbyte's streamvbyte_encode (1-4 bytes a value,
 *             2-bit keys, SIMD decode)
 *   svb0124   streamvbyte_encode_0124 (0, 1, 2 or 4 bytes: zeros cost
 *             only their key, and most tfs are 1)
 *   varint    LEB128, 7 bits a byte, as the short last blocks are stored
 *   xihu      the format as it is: bitpack for full blocks, varint for the
 *             short last block of a list
 *
 * and for each prints bytes per posting (gap + tf) and decode ns per
 * integer.  Decoding checks every value against the input, outside the
 * timed loop.  Full blocks and short last blocks are also reported apart:
 * the format packs full blocks and writes short ones as varints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <streamvbyte.h>

#include "core/core.h"

enum { C_BITPACK, C_SVB, C_SVB0124, C_VARINT, C_XIHU, NCODECS };
static const char *const codec_name[NCODECS] = {"bitpack", "svb", "svb0124", "varint", "xihu"};

/* All blocks of one stream, back to back; blk[i] = [off[i], off[i+1]). */
typedef struct stream {
	uint32_t *v;
	size_t n, cap;
	size_t *off; /* nblocks + 1 */
	size_t nblocks, bcap;
} stream;

static void die(const char *what)
{
	fprintf(stderr, "codec-bench: %s\n", what);
	exit(2);
}

static void s_put(stream *s, uint32_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1 << 20;
		if (!(s->v = realloc(s->v, s->cap * sizeof *s->v)))
			die("out of memory");
	}
	s->v[s->n++] = x;
}

static void s_cut(stream *s)
{
	if (s->nblocks + 2 > s->bcap) {
		s->bcap = s->bcap ? s->bcap * 2 : 1 << 16;
		if (!(s->off = realloc(s->off, s->bcap * sizeof *s->off)))
			die("out of memory");
	}
	if (s->nblocks == 0)
		s->off[0] = 0;
	s->off[++s->nblocks] = s->n;
}

static size_t varint_put(uint8_t *o, uint32_t v)
{
	size_t k = 0;
	while (v >= 0x80) {
		o[k++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	o[k++] = (uint8_t)v;
	return k;
}

/* A tight LEB128 decoder, the fast case for 1-byte values inlined. */
static inline const uint8_t *varint_get(const uint8_t *p, uint32_t *out)
{
	uint32_t v = *p++;
	if (v < 0x80) {
		*out = v;
		return p;
	}
	v &= 0x7f;
	for (unsigned sh = 7;; sh += 7) {
		uint32_t b = *p++;
		v |= (b & 0x7f) << sh;
		if (b < 0x80 || sh >= 28)
			break;
	}
	*out = v;
	return p;
}

/* Encodes block [a, b) of s with codec c at o; returns bytes. */
static size_t enc(int c, const uint32_t *v, size_t n, uint8_t *o)
{
	if (c == C_XIHU)
		c = n == XIHU_BLOCK ? C_BITPACK : C_VARINT;
	switch (c) {
	case C_BITPACK: {
		unsigned b = codec_bits(v, n);
		o[0] = (uint8_t)b;
		return 1 + codec_pack(v, n, b, o + 1);
	}
	case C_SVB: return streamvbyte_encode(v, (uint32_t)n, o);
	case C_SVB0124: return streamvbyte_encode_0124(v, (uint32_t)n, o);
	default: {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			k += varint_put(o + k, v[i]);
		return k;
	}
	}
}

typedef struct coded {
	uint8_t *bytes;
	size_t len;
	size_t *boff; /* nblocks + 1 */
	size_t full_bytes, short_bytes;
} coded;

static void encode_stream(int c, const stream *s, coded *out)
{
	size_t cap = s->n * 5 + s->nblocks * 16 + 64;
	out->bytes = malloc(cap);
	out->boff = malloc((s->nblocks + 1) * sizeof *out->boff);
	if (!out->bytes || !out->boff)
		die("out of memory");
	size_t k = 0;
	out->full_bytes = out->short_bytes = 0;
	for (size_t b = 0; b < s->nblocks; b++) {
		out->boff[b] = k;
		size_t n = s->off[b + 1] - s->off[b];
		size_t got = enc(c, s->v + s->off[b], n, out->bytes + k);
		if (n == XIHU_BLOCK)
			out->full_bytes += got;
		else
			out->short_bytes += got;
		k += got;
	}
	out->boff[s->nblocks] = k;
	out->len = k;
}

/* Decodes every block; returns a checksum so nothing is optimized away. */
static uint64_t decode_stream(int c, const stream *s, const coded *cd, uint32_t *buf, bool full_only)
{
	uint64_t sum = 0;
	for (size_t b = 0; b < s->nblocks; b++) {
		size_t n = s->off[b + 1] - s->off[b];
		if (full_only && n != XIHU_BLOCK)
			continue;
		const uint8_t *in = cd->bytes + cd->boff[b];
		switch (c == C_XIHU ? (n == XIHU_BLOCK ? C_BITPACK : C_VARINT) : c) {
		case C_BITPACK:
			codec_unpack(in + 1, cd->len - cd->boff[b] - 1, n, in[0], buf);
			break;
		case C_SVB: streamvbyte_decode(in, buf, (uint32_t)n); break;
		case C_SVB0124: streamvbyte_decode_0124(in, buf, (uint32_t)n); break;
		default:
			for (size_t i = 0; i < n; i++)
				in = varint_get(in, &buf[i]);
		}
		sum += buf[n - 1] + buf[0];
	}
	return sum;
}

static void check_stream(int c, const stream *s, const coded *cd)
{
	uint32_t buf[XIHU_BLOCK];
	for (size_t b = 0; b < s->nblocks; b++) {
		size_t n = s->off[b + 1] - s->off[b];
		const uint8_t *in = cd->bytes + cd->boff[b];
		switch (c == C_XIHU ? (n == XIHU_BLOCK ? C_BITPACK : C_VARINT) : c) {
		case C_BITPACK: codec_unpack(in + 1, cd->len - cd->boff[b] - 1, n, in[0], buf); break;
		case C_SVB: streamvbyte_decode(in, buf, (uint32_t)n); break;
		case C_SVB0124: streamvbyte_decode_0124(in, buf, (uint32_t)n); break;
		default:
			for (size_t i = 0; i < n; i++)
				in = varint_get(in, &buf[i]);
		}
		if (memcmp(buf, s->v + s->off[b], n * sizeof *buf) != 0) {
			fprintf(stderr, "codec-bench: %s: block %zu does not round-trip\n", codec_name[c], b);
			exit(2);
		}
	}
}

/* Reads every postings list of seg s into the two streams. */
static void load_seg(const seg *s, stream *gaps, stream *tfs, uint64_t *lists)
{
	xihu_err err = {0};
	postings p;
	for (uint32_t f = 0; f < seg_nfields(s); f++) {
		seg_term_iter it;
		if (seg_prefix_init(&it, s, f, "", 0, &err))
			die(err.msg);
		const char *term;
		uint32_t len;
		seg_term t;
		int r;
		while ((r = seg_prefix_next(&it, &term, &len, &t, &err)) == 1) {
			if (postings_init(&p, s, &t, &err)) /* allocates nothing without positions */
				die(err.msg);
			uint32_t prev = UINT32_MAX, n = 0;
			for (uint32_t d = p.doc; d != POSTINGS_END; d = postings_next(&p)) {
				s_put(gaps, d - (prev + 1));
				s_put(tfs, postings_freq(&p) - 1);
				prev = d;
				if (++n == XIHU_BLOCK) {
					s_cut(gaps);
					s_cut(tfs);
					n = 0;
				}
			}
			if (p.rc)
				die(err.msg);
			postings_free(&p);
			if (n) {
				s_cut(gaps);
				s_cut(tfs);
			}
			(*lists)++;
		}
		if (r < 0)
			die(err.msg);
	}
}

int main(int argc, char **argv)
{
	int runs = 7;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (argv[i][0] == '-')
			die("usage: codec-bench [--runs N] INDEX_DIR");
		else
			dir = argv[i];
	}
	if (!dir || runs < 1)
		die("usage: codec-bench [--runs N] INDEX_DIR");
	xihu_err err = {0};
	manifest m;
	if (manifest_read(dir, &m, &err))
		die(err.msg);
	stream gaps = {0}, tfs = {0};
	uint64_t lists = 0;
	for (uint32_t i = 0; i < m.nsegs; i++) {
		seg *s;
		if (seg_open(dir, m.segs[i].id, m.segs[i].del_gen, false, &s, &err))
			die(err.msg);
		load_seg(s, &gaps, &tfs, &lists);
		seg_close(s);
	}
	manifest_free(&m);
	size_t nfull = 0;
	for (size_t b = 0; b < gaps.nblocks; b++)
		nfull += gaps.off[b + 1] - gaps.off[b] == XIHU_BLOCK;
	printf("%s: %llu postings lists, %zu postings, %zu blocks (%zu full, %zu postings in short last blocks)\n",
	       dir, (unsigned long long)lists, gaps.n, gaps.nblocks, nfull, gaps.n - nfull * XIHU_BLOCK);
	printf("best of %d runs; ns per integer decoded (doc gaps and tfs together)\n\n", runs);
	printf("%-8s  %9s %9s %9s  %12s  %9s %9s\n", "codec", "B/posting", "gap B", "tf B", "full blocks",
	       "ns/int", "ns/int");
	printf("%-8s  %9s %9s %9s  %12s  %9s %9s\n", "", "(all)", "(all)", "(all)", "B/posting", "(all)",
	       "(full)");
	uint32_t buf[XIHU_BLOCK];
	volatile uint64_t sink = 0;
	size_t full_ints = 2 * nfull * XIHU_BLOCK;
	for (int c = 0; c < NCODECS; c++) {
		coded cg, ct;
		encode_stream(c, &gaps, &cg);
		encode_stream(c, &tfs, &ct);
		check_stream(c, &gaps, &cg);
		check_stream(c, &tfs, &ct);
		double best_all = 1e30, best_full = 1e30;
		for (int r = 0; r < runs; r++) {
			uint64_t t0 = now_ns();
			sink += decode_stream(c, &gaps, &cg, buf, false) + decode_stream(c, &tfs, &ct, buf, false);
			uint64_t t1 = now_ns();
			sink += decode_stream(c, &gaps, &cg, buf, true) + decode_stream(c, &tfs, &ct, buf, true);
			uint64_t t2 = now_ns();
			if ((double)(t1 - t0) < best_all)
				best_all = (double)(t1 - t0);
			if ((double)(t2 - t1) < best_full)
				best_full = (double)(t2 - t1);
		}
		double np = (double)gaps.n;
		printf("%-8s  %9.3f %9.3f %9.3f  %12.3f  %9.3f %9.3f\n", codec_name[c], (cg.len + ct.len) / np,
		       cg.len / np, ct.len / np,
		       nfull ? (cg.full_bytes + ct.full_bytes) / (double)(nfull * XIHU_BLOCK) : 0.0,
		       best_all / (2 * np), full_ints ? best_full / (double)full_ints : 0.0);
		free(cg.bytes);
		free(cg.boff);
		free(ct.bytes);
		free(ct.boff);
	}
	(void)sink;
	free(gaps.v);
	free(gaps.off);
	free(tfs.v);
	free(tfs.off);
	return 0;
}
