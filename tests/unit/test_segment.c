/*
 * test_segment.c: segments written by seg_writer.c and read back through
 * seg_reader.c and postings.c, in a fresh mkdtemp directory per case.
 * Covers block boundaries, skipping, limits, fields, prefixes, the doc
 * store, damaged files (each kind, truncated and bit-flipped) and seg_check.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "core/core.h"
#include "core/seg-int.h"

static const char *const fields3[] = {"body", "path", "title"};
static const char *const exts[] = {"terms", "post", "pos", "docs", "store"};

static int setup(void **state)
{
	return fx_setup(state, "/tmp/xihu-test-seg-XXXXXX");
}

/* the writer's pool limit as the library sets it; a test that lowers it
 * (test_pool_limit) has it back here even when an assertion ended it early */
static uint64_t pool_max_default;

static int teardown(void **state)
{
	seg_writer_pool_max = pool_max_default;
	return fx_teardown(state);
}

static char *seg_path(const fx *f, uint64_t id, const char *ext)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/%012llx.%s", f->dir, (unsigned long long)id, ext);
	return p;
}

static seg_writer *new_writer(fx *f, uint64_t id, uint32_t nfields)
{
	seg_writer *w = NULL;
	int rc = seg_writer_new(f->dir, id, nfields, fields3, &w, &f->err);
	assert_int_equal(rc, XIHU_OK);
	assert_non_null(w);
	return w;
}

static void begin(seg_writer *w, const char *name, const char *text, size_t len)
{
	seg_doc_in d = {.name = name, .name_len = (uint32_t)strlen(name), .mtime_ns = 1234567890123456789ll,
	                .size = len, .text = text, .text_len = len};
	assert_int_equal(seg_writer_begin_doc(w, &d), XIHU_OK);
}

static void tok(seg_writer *w, uint32_t field, const char *term, uint32_t pos)
{
	seg_writer_add_token(w, field, term, (uint32_t)strlen(term), pos);
}

static void finish(fx *f, seg_writer *w, uint32_t ndocs)
{
	seg_info info;
	int rc = seg_writer_finish(w, &info, &f->err);
	if (rc)
		fail_msg("finish: %s", f->err.msg);
	assert_int_equal(info.ndocs, ndocs);
	seg_writer_free(w);
}

static seg *open_ok(fx *f, uint64_t id)
{
	seg *s = NULL;
	int rc = seg_open(f->dir, id, 0, true, &s, &f->err);
	if (rc)
		fail_msg("seg_open: %s", f->err.msg);
	rc = seg_check(f->dir, id, 0, &f->err);
	if (rc)
		fail_msg("seg_check: %s", f->err.msg);
	return s;
}

static void lookup_ok(fx *f, const seg *s, uint32_t field, const char *term, seg_term *t)
{
	int r = seg_lookup(s, field, term, (uint32_t)strlen(term), t, &f->err);
	if (r != 1)
		fail_msg("lookup %u:%s = %d (%s)", field, term, r, f->err.msg);
}

/* ---- cases ------------------------------------------------------------------ */

static void test_empty_segment(void **state)
{
	fx *f = *state;
	seg_writer *w = new_writer(f, 1, 2);
	assert_int_equal(seg_writer_ndocs(w), 0);
	finish(f, w, 0);
	seg *s = open_ok(f, 1);
	assert_int_equal(seg_ndocs(s), 0);
	assert_int_equal(seg_nterms(s), 0);
	assert_int_equal(seg_nfields(s), 2);
	assert_string_equal(seg_field_name(s, 1), "path");
	assert_null(seg_field_name(s, 2));
	seg_term t;
	assert_int_equal(seg_lookup(s, 0, "x", 1, &t, &f->err), 0);
	seg_term_iter it;
	assert_int_equal(seg_prefix_init(&it, s, 0, "", 0, &f->err), 0);
	const char *term;
	uint32_t len;
	assert_int_equal(seg_prefix_next(&it, &term, &len, &t, &f->err), 0);
	seg_doc d;
	assert_int_equal(seg_doc_get(s, 0, &d, &f->err), XIHU_EINVAL);
	assert_true(seg_bytes(s) > 0);
	seg_close(s);
}

static void test_one_doc(void **state)
{
	fx *f = *state;
	seg_writer *w = new_writer(f, 2, 2);
	const char *text = "hello world, hello xihu";
	begin(w, "/src/a.c", text, strlen(text));
	tok(w, 0, "hello", 0);
	tok(w, 0, "world", 1);
	tok(w, 0, "hello", 2);
	tok(w, 0, "xihu", 3);
	tok(w, 1, "a", 0);
	tok(w, 1, "c", 1);
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	assert_true(seg_writer_mem(w) > 0);
	finish(f, w, 1);

	seg *s = open_ok(f, 2);
	assert_int_equal(seg_ndocs(s), 1);
	assert_int_equal(seg_nterms(s), 5);
	assert_int_equal(seg_field_total(s, 0), 4);
	assert_int_equal(seg_field_total(s, 1), 2);
	assert_int_equal(seg_doc_field_len(s, 0, 0), 4);
	assert_int_equal(seg_doc_field_len(s, 0, 1), 2);

	seg_term t;
	lookup_ok(f, s, 0, "hello", &t);
	assert_int_equal(t.df, 1);
	assert_int_equal(t.cf, 2);
	assert_int_equal(t.max_tf, 2);
	assert_int_equal(seg_lookup(s, 1, "hello", 5, &t, &f->err), 0); /* other field */
	assert_int_equal(seg_lookup(s, 0, "hell", 4, &t, &f->err), 0);
	assert_int_equal(seg_lookup(s, 0, "helloo", 6, &t, &f->err), 0);
	assert_int_equal(seg_lookup(s, 0, "zzz", 3, &t, &f->err), 0);
	assert_int_equal(seg_lookup(s, 0, "0", 1, &t, &f->err), 0);

	lookup_ok(f, s, 0, "hello", &t);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	assert_int_equal(p.doc, 0);
	assert_int_equal(postings_freq(&p), 2);
	const uint32_t *pos;
	assert_int_equal(postings_positions(&p, &pos), 2);
	assert_int_equal(pos[0], 0);
	assert_int_equal(pos[1], 2);
	assert_int_equal(postings_next(&p), POSTINGS_END);
	assert_int_equal(postings_next(&p), POSTINGS_END);
	assert_int_equal(p.rc, 0);
	postings_free(&p);

	seg_doc d;
	assert_int_equal(seg_doc_get(s, 0, &d, &f->err), XIHU_OK);
	assert_int_equal(d.name_len, 8);
	assert_memory_equal(d.name, "/src/a.c", 8);
	assert_false(d.record);
	assert_int_equal(d.mtime_ns, 1234567890123456789ll);
	assert_int_equal(d.size, strlen(text));
	char *got;
	size_t glen;
	assert_int_equal(seg_doc_text(s, 0, &got, &glen, &f->err), XIHU_OK);
	assert_int_equal(glen, strlen(text));
	assert_string_equal(got, text);
	free(got);
	seg_close(s);
}

/* n docs, "every" in each with tf = i%5+1 at positions i, i+10, ...; "odd" in odd docs. */
static void write_every(fx *f, uint64_t id, uint32_t n)
{
	seg_writer *w = new_writer(f, id, 1);
	for (uint32_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "doc%u", i);
		begin(w, name, name, strlen(name));
		for (uint32_t k = 0; k < i % 5 + 1; k++)
			tok(w, 0, "every", i + 10 * k);
		if (i % 2)
			tok(w, 0, "odd", 100000 + i);
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	finish(f, w, n);
}

/* release: give back the segment's pages (seg_release_pages, as a merge
 * does) every 100 docs while its lists are read: they must read the same. */
static void check_every(fx *f, uint32_t n, bool release)
{
	seg *s = open_ok(f, n);
	seg_term t;
	lookup_ok(f, s, 0, "every", &t);
	assert_int_equal(t.df, n);
	assert_int_equal(t.max_tf, n >= 5 ? 5 : n);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	uint32_t count = 0;
	uint64_t cf = 0;
	for (uint32_t d = p.doc; d != POSTINGS_END; d = postings_next(&p)) {
		if (release && d % 100 == 0)
			seg_release_pages(s);
		assert_int_equal(d, count);
		assert_int_equal(postings_freq(&p), d % 5 + 1);
		assert_true(p.blk_first <= d && d <= p.blk_last && postings_freq(&p) <= p.blk_max_tf);
		assert_true(p.blk_min_dl <= seg_doc_field_len(s, d, 0));
		/* positions of only some docs: the rest are skipped, not decoded */
		if (d % 3 == 0) {
			const uint32_t *pos;
			int np = postings_positions(&p, &pos);
			assert_int_equal(np, d % 5 + 1);
			for (int k = 0; k < np; k++)
				assert_int_equal(pos[k], d + 10u * (uint32_t)k);
		}
		cf += postings_freq(&p);
		count++;
	}
	assert_int_equal(count, n);
	assert_int_equal(cf, t.cf);
	assert_int_equal(p.rc, 0);
	postings_free(&p);

	lookup_ok(f, s, 0, "odd", &t);
	assert_int_equal(t.df, n / 2);
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	count = 0;
	for (uint32_t d = p.doc; d != POSTINGS_END; d = postings_next(&p)) {
		if (release && d % 100 == 1)
			seg_release_pages(s);
		assert_int_equal(d, 2 * count + 1);
		const uint32_t *pos;
		assert_int_equal(postings_positions(&p, &pos), 1);
		assert_int_equal(pos[0], 100000 + d);
		count++;
	}
	assert_int_equal(count, n / 2);
	postings_free(&p);
	seg_close(s);
}

static void test_blocks_127(void **state)
{
	write_every(*state, 127, 127);
	check_every(*state, 127, false);
}

static void test_blocks_128(void **state)
{
	write_every(*state, 128, 128);
	check_every(*state, 128, false);
}

static void test_blocks_129(void **state)
{
	write_every(*state, 129, 129);
	check_every(*state, 129, false);
}

static void test_blocks_1000(void **state)
{
	write_every(*state, 1000, 1000);
	check_every(*state, 1000, false);
}

static void test_blocks_1000_released(void **state)
{
	write_every(*state, 1000, 1000);
	check_every(*state, 1000, true);
}

/* "three" in every doc divisible by 3 of 2000: 667 docs, 6 blocks. */
static void test_advance(void **state)
{
	fx *f = *state;
	seg_writer *w = new_writer(f, 3, 1);
	for (uint32_t i = 0; i < 2000; i++) {
		begin(w, "d", "", 0);
		if (i % 3 == 0) {
			tok(w, 0, "three", 7);
			tok(w, 0, "three", 9 + i % 4);
		}
		tok(w, 0, "all", 1);
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	finish(f, w, 2000);
	seg *s = open_ok(f, 3);
	seg_term t;
	lookup_ok(f, s, 0, "three", &t);
	assert_int_equal(t.df, 667);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	assert_int_equal(postings_advance(&p, 0), 0);     /* current doc */
	assert_int_equal(postings_advance(&p, 3), 3);     /* exact, same block */
	assert_int_equal(postings_advance(&p, 3), 3);     /* not backwards */
	assert_int_equal(postings_advance(&p, 1), 3);
	assert_int_equal(postings_advance(&p, 382), 384); /* missing, same block (block 0 ends at 381) */
	assert_int_equal(p.block, 1);
	assert_int_equal(postings_advance(&p, 900), 900); /* exact, skips block 2 */
	assert_int_equal(p.block, 2);
	assert_int_equal(postings_next(&p), 903);
	const uint32_t *pos;
	assert_int_equal(postings_positions(&p, &pos), 2);
	assert_int_equal(pos[0], 7);
	assert_int_equal(pos[1], 9 + 903 % 4);
	assert_int_equal(postings_advance(&p, 1535), 1536); /* first doc of block 4: 128*4*3 */
	assert_int_equal(p.block, 4);
	assert_int_equal(p.i, 0);
	assert_int_equal(postings_advance(&p, 1997), 1998); /* into the last, partial block */
	assert_int_equal(postings_positions(&p, &pos), 2);
	assert_int_equal(pos[1], 9 + 1998 % 4);
	assert_int_equal(postings_advance(&p, 1999), POSTINGS_END);
	assert_int_equal(postings_next(&p), POSTINGS_END);
	assert_int_equal(p.rc, 0);
	postings_free(&p);

	/* straight to the end from the start */
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	assert_int_equal(postings_advance(&p, 5000), POSTINGS_END);
	postings_free(&p);
	/* every target in turn agrees with a linear scan */
	for (uint32_t target = 0; target < 2000; target += 37) {
		assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
		uint32_t want = (target + 2) / 3 * 3;
		assert_int_equal(postings_advance(&p, target), want > 1998 ? POSTINGS_END : want);
		if (want <= 1998)
			assert_int_equal(postings_freq(&p), 2);
		postings_free(&p);
	}
	seg_close(s);
}

/* Doc ids spread over 300000 docs: wide gaps in packed and varint blocks. */
static void test_large_doc_ids(void **state)
{
	fx *f = *state;
	const uint32_t n = 300000;
	seg_writer *w = new_writer(f, 4, 1);
	for (uint32_t i = 0; i < n; i++) {
		begin(w, "d", "", 0);
		if (i == 0 || i == n - 1 || i % 1000 == 999)
			tok(w, 0, "rare", 0);
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	finish(f, w, n);
	seg *s = open_ok(f, 4);
	seg_term t;
	lookup_ok(f, s, 0, "rare", &t);
	assert_int_equal(t.df, 301);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	assert_int_equal(p.doc, 0);
	assert_int_equal(postings_advance(&p, 250000), 250999);
	assert_int_equal(postings_advance(&p, 299999), 299999);
	assert_int_equal(postings_next(&p), POSTINGS_END);
	postings_free(&p);
	seg_close(s);
}

/* The doc limit is enforced, and hitting it leaves a writer that finishes. */
static void test_doc_limit(void **state)
{
	fx *f = *state;
	seg_writer *w = new_writer(f, 5, 1);
	seg_writer_set_max_docs(w, 3);
	for (int i = 0; i < 3; i++) {
		begin(w, "d", "x", 1);
		tok(w, 0, "x", 0);
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	seg_doc_in d = {.name = "d", .name_len = 1, .text = "x", .text_len = 1};
	assert_int_equal(seg_writer_begin_doc(w, &d), XIHU_ELIMIT);
	assert_non_null(strstr(f->err.msg, "more than 3 documents"));
	finish(f, w, 3);
	seg *s = open_ok(f, 5);
	assert_int_equal(seg_ndocs(s), 3);
	seg_close(s);
	assert_true(SEG_MAX_DOCS < POSTINGS_END);
}

/* Random postings of terms of every length, from one doc and position to
 * thousands, position gaps up to 2^22 (varints of 1 to 4 bytes), read back
 * exactly: a term's postings cross many of the writer's slices, and a
 * varint is cut at a slice's end at one place or another. */
#define RT_TERMS 3000
#define RT_DOCS 300

typedef struct rt_tok {
	uint32_t term, doc, pos;
} rt_tok;

static uint32_t rt_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* Term i's text: "t<i>", then letters to 1 + i % 64 bytes when that is
 * longer; its length. */
static uint32_t rt_term(uint32_t i, char *out)
{
	char num[16];
	uint32_t n = (uint32_t)snprintf(num, sizeof num, "t%u", i);
	uint32_t len = 1 + i % XIHU_MAX_TERM > n ? 1 + i % XIHU_MAX_TERM : n;
	for (uint32_t k = n; k < len; k++)
		out[k] = (char)('a' + (i + k) % 26);
	memcpy(out, num, n);
	return len;
}

static int rt_cmp(const void *a, const void *b)
{
	const rt_tok *x = a, *y = b;
	if (x->term != y->term)
		return x->term < y->term ? -1 : 1;
	if (x->doc != y->doc)
		return x->doc < y->doc ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void test_postings_round_trip(void **state)
{
	fx *f = *state;
	uint64_t seed = 42;
	size_t cap = 200000, n = 0;
	rt_tok *toks = malloc(cap * sizeof *toks);
	assert_non_null(toks);
	seg_writer *w = new_writer(f, 40, 1);
	char term[XIHU_MAX_TERM + 1];
	for (uint32_t d = 0; d < RT_DOCS; d++) {
		begin(w, "d", "", 0);
		uint32_t pos = rt_rand(&seed) % 1000, ntok = rt_rand(&seed) % 600;
		for (uint32_t k = 0; k < ntok && n < cap; k++) {
			/* skewed: a few terms in most docs, most in one or two */
			uint32_t r = rt_rand(&seed);
			uint32_t t = r % 4 == 0 ? r / 4 % 20 : r % 2 == 0 ? r / 2 % 300 : r % RT_TERMS;
			seg_writer_add_token(w, 0, term, rt_term(t, term), pos);
			toks[n++] = (rt_tok){t, d, pos};
			uint32_t g = rt_rand(&seed);
			pos += 1 + (g % 8 == 0 ? g % (1u << 22) : g % 100);
		}
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	finish(f, w, RT_DOCS);
	qsort(toks, n, sizeof *toks, rt_cmp);

	seg *s = open_ok(f, 40);
	size_t i = 0;
	uint32_t nterms = 0;
	while (i < n) {
		uint32_t t = toks[i].term;
		seg_term st;
		uint32_t len = rt_term(t, term);
		term[len] = 0;
		lookup_ok(f, s, 0, term, &st);
		postings p;
		assert_int_equal(postings_init(&p, s, &st, &f->err), XIHU_OK);
		for (uint32_t d = p.doc; d != POSTINGS_END; d = postings_next(&p)) {
			assert_true(i < n && toks[i].term == t);
			assert_int_equal(d, toks[i].doc);
			const uint32_t *pos;
			int np = postings_positions(&p, &pos);
			for (int k = 0; k < np; k++, i++) {
				assert_true(i < n && toks[i].term == t && toks[i].doc == d);
				assert_int_equal(pos[k], toks[i].pos);
			}
		}
		assert_int_equal(p.rc, 0);
		postings_free(&p);
		assert_true(i == n || toks[i].term != t); /* no doc of the term left out */
		nterms++;
	}
	assert_int_equal(seg_nterms(s), nterms);
	seg_close(s);
	free(toks);
}

/* What a term seen once costs in the writer's RAM, as seg_writer_mem
 * counts it: most of a tree's distinct terms are (a definition's name, a
 * number, a misspelling), and the writer finishes a segment by this count.
 * At 163 bytes each (a 72-byte entry in a doubling array, its key in a
 * doubling buffer, a 16-byte posting buffer of its own and malloc's
 * header), the def field's names made Linux 11 segments where 9 held it
 * before; now 62. */
static void test_mem_per_rare_term(void **state)
{
	fx *f = *state;
	seg_writer *w = new_writer(f, 41, 1);
	begin(w, "d", "", 0);
	size_t before = seg_writer_mem(w);
	enum { N = 200000 };
	char term[16];
	for (uint32_t i = 0; i < N; i++) {
		int len = snprintf(term, sizeof term, "w%07u", i);
		seg_writer_add_token(w, 0, term, (uint32_t)len, i);
	}
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	size_t per = (seg_writer_mem(w) - before) / N;
	/* an entry of 32 bytes (a 16-byte head, the key, its first posting)
	 * and a hash slot of 8 bytes in a table at most 2/3 full, in blocks:
	 * no less, or the count would not be honest, and not much more */
	assert_true(per >= 44);
	assert_true(per <= 80);
	finish(f, w, 1);
}

/* The writer's pool has a limit (seg_writer_pool_max, 32 GiB; here 8 MiB):
 * past seven eighths of it, the next doc is refused as by the doc limit and
 * the writer finishes; a doc that alone fills the rest fails the segment. */
static void test_pool_limit(void **state)
{
	fx *f = *state;
	seg_writer_pool_max = 8u << 20;
	seg_writer *w = new_writer(f, 42, 1);
	char term[16];
	seg_doc_in d = {.name = "d", .name_len = 1};
	uint32_t docs = 0, next = 0;
	int rc;
	while ((rc = seg_writer_begin_doc(w, &d)) == XIHU_OK) {
		for (uint32_t k = 0; k < 1000; k++) {
			int len = snprintf(term, sizeof term, "u%u", next++);
			seg_writer_add_token(w, 0, term, (uint32_t)len, k);
		}
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
		docs++;
		assert_true(docs < 1000);
	}
	assert_int_equal(rc, XIHU_ELIMIT);
	assert_non_null(strstr(f->err.msg, "in memory"));
	assert_true(docs > 100); /* 7 MiB of terms of about 40 bytes, 1000 a doc */
	finish(f, w, docs);
	seg *s = open_ok(f, 42);
	assert_int_equal(seg_nterms(s), next);
	seg_term t;
	lookup_ok(f, s, 0, "u0", &t);
	snprintf(term, sizeof term, "u%u", next - 1);
	lookup_ok(f, s, 0, term, &t);
	seg_close(s);

	w = new_writer(f, 43, 1);
	assert_int_equal(seg_writer_begin_doc(w, &d), XIHU_OK);
	for (uint32_t k = 0; k < 300000; k++) {
		int len = snprintf(term, sizeof term, "u%u", k);
		seg_writer_add_token(w, 0, term, (uint32_t)len, k);
	}
	assert_int_equal(seg_writer_end_doc(w), XIHU_ELIMIT);
	assert_non_null(strstr(f->err.msg, "in memory"));
	seg_info info;
	assert_int_equal(seg_writer_finish(w, &info, &f->err), XIHU_ELIMIT); /* sticky */
	seg_writer_free(w);
	assert_int_equal(access(seg_path(f, 43, "store"), F_OK), -1);
}

/* The dictionary's key filter (keyfilter.c): every key of the segment
 * passes it, about 1% of absent keys do, a lookup of a key it turns away is
 * 0 without reading the dictionary, and the structural check finds a key
 * the filter misses. */
static int no_term_check(const seg *s, uint32_t field, const seg_term *t, uint64_t pos_len, xihu_err *err)
{
	(void)s, (void)field, (void)t, (void)pos_len, (void)err;
	return XIHU_OK;
}

static void test_key_filter(void **state)
{
	fx *f = *state;
	enum { NTERMS = 20000, NABSENT = 200000 };
	seg_writer *w = new_writer(f, 44, 2);
	char term[32];
	seg_doc_in d = {.name = "d", .name_len = 1};
	for (uint32_t doc = 0; doc < 20; doc++) {
		assert_int_equal(seg_writer_begin_doc(w, &d), XIHU_OK);
		for (uint32_t k = doc; k < NTERMS; k += 20) {
			int len = snprintf(term, sizeof term, "t%u", k);
			seg_writer_add_token(w, k % 2, term, (uint32_t)len, k);
		}
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	finish(f, w, 20);
	seg *s = open_ok(f, 44);
	assert_int_equal(seg_nterms(s), NTERMS);
	assert_int_equal(s->kf_lines, (NTERMS * KF_BITS_PER_KEY + 511) / 512);
	assert_int_equal((uintptr_t)s->kf % KF_LINE, 0);
	seg_term t;
	uint8_t key[40];
	for (uint32_t k = 0; k < NTERMS; k++) {
		int len = snprintf(term, sizeof term, "t%u", k);
		key[0] = (uint8_t)(k % 2);
		memcpy(key + 1, term, (size_t)len);
		assert_true(kf_test(s->kf, s->kf_lines, kf_hash(key, (uint32_t)len + 1)));
		lookup_ok(f, s, k % 2, term, &t);
		assert_int_equal(t.df, 1);
		/* the same word in the other field is absent */
		assert_int_equal(seg_lookup(s, 1 - k % 2, term, (uint32_t)len, &t, &f->err), 0);
	}
	uint32_t pass = 0;
	for (uint32_t k = 0; k < NABSENT; k++) {
		int len = snprintf(term, sizeof term, "absent%u", k);
		key[0] = (uint8_t)(k % 2);
		memcpy(key + 1, term, (size_t)len);
		pass += kf_test(s->kf, s->kf_lines, kf_hash(key, (uint32_t)len + 1));
	}
	/* 10 bits a key, 7 probes in one 512-bit line: about 1%; a broken
	 * hash (lines or bits badly spread) passes several times as many */
	print_message("key filter: %u of %u absent keys pass\n", pass, (unsigned)NABSENT);
	assert_true(pass > 0);
	assert_true(pass < NABSENT / 50);
	seg_close(s);

	/* a filter line cleared: opened without the CRC, its keys are turned
	 * away, and the structural check names the filter */
	char path[512];
	strcpy(path, seg_path(f, 44, "terms"));
	s = open_ok(f, 44);
	long kf_at = 16 + (long)(s->kf - s->f[SEG_TERMS].data);
	seg_close(s);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	static const uint8_t zero[KF_LINE];
	assert_int_equal(pwrite(fd, zero, sizeof zero, kf_at), (ssize_t)sizeof zero);
	close(fd);
	assert_int_equal(seg_open(f->dir, 44, 0, false, &s, &f->err), XIHU_OK);
	assert_int_equal(seg_check_structure(s, no_term_check, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, "key filter misses a key"));
	assert_non_null(strstr(f->err.msg, path));
	uint32_t lost = 0;
	for (uint32_t k = 0; k < NTERMS; k++) {
		int len = snprintf(term, sizeof term, "t%u", k);
		lost += seg_lookup(s, k % 2, term, (uint32_t)len, &t, &f->err) == 0;
	}
	assert_true(lost > 0); /* the keys of line 0 */
	assert_true(lost < NTERMS / 20);
	seg_close(s);
}

/* The largest position round-trips; one past it is refused. */
static void test_position_limit(void **state)
{
	fx *f = *state;
	seg_writer *w = new_writer(f, 6, 1);
	begin(w, "d", "", 0);
	tok(w, 0, "far", 0);
	tok(w, 0, "far", XIHU_MAX_POS - 1);
	tok(w, 0, "far", XIHU_MAX_POS);
	tok(w, 0, "edge", XIHU_MAX_POS);
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	finish(f, w, 1);
	seg *s = open_ok(f, 6);
	seg_term t;
	lookup_ok(f, s, 0, "far", &t);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	const uint32_t *pos;
	assert_int_equal(postings_positions(&p, &pos), 3);
	assert_int_equal(pos[0], 0);
	assert_int_equal(pos[1], UINT32_MAX - 2);
	assert_int_equal(pos[2], UINT32_MAX - 1);
	postings_free(&p);
	lookup_ok(f, s, 0, "edge", &t);
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	assert_int_equal(postings_positions(&p, &pos), 1);
	assert_int_equal(pos[0], XIHU_MAX_POS);
	postings_free(&p);
	seg_close(s);

	w = new_writer(f, 7, 1);
	begin(w, "d", "", 0);
	tok(w, 0, "over", UINT32_MAX);
	assert_int_equal(seg_writer_end_doc(w), XIHU_ELIMIT);
	assert_non_null(strstr(f->err.msg, "position"));
	seg_writer_free(w);
	/* an abandoned writer leaves no files */
	assert_int_equal(access(seg_path(f, 7, "store"), F_OK), -1);
}

static void test_bad_tokens(void **state)
{
	fx *f = *state;
	char longterm[XIHU_MAX_TERM + 2];
	memset(longterm, 'a', sizeof longterm - 1);
	longterm[sizeof longterm - 1] = 0;
	seg_writer *w = new_writer(f, 8, 2);
	begin(w, "d", "", 0);
	tok(w, 0, longterm, 0);
	assert_int_equal(seg_writer_end_doc(w), XIHU_EINVAL);
	seg_info info;
	assert_int_equal(seg_writer_finish(w, &info, &f->err), XIHU_EINVAL); /* sticky */
	seg_writer_free(w);

	w = new_writer(f, 9, 2);
	begin(w, "d", "", 0);
	tok(w, 2, "x", 0); /* field 2 of 2 */
	assert_int_equal(seg_writer_end_doc(w), XIHU_EINVAL);
	assert_non_null(strstr(f->err.msg, "field 2"));
	seg_writer_free(w);

	/* the longest term is fine; out-of-order positions keep tf */
	w = new_writer(f, 10, 2);
	begin(w, "d", "", 0);
	longterm[XIHU_MAX_TERM] = 0;
	tok(w, 0, longterm, 5);
	tok(w, 0, "re", 5);
	tok(w, 0, "re", 2);
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	finish(f, w, 1);
	seg *s = open_ok(f, 10);
	seg_term t;
	lookup_ok(f, s, 0, longterm, &t);
	lookup_ok(f, s, 0, "re", &t);
	assert_int_equal(t.cf, 2);
	seg_close(s);

	/* a second writer for the same id is refused, and does not remove the first's files */
	seg_writer *w2 = NULL;
	assert_int_not_equal(seg_writer_new(f->dir, 10, 1, fields3, &w2, &f->err), XIHU_OK);
	assert_null(w2);
	assert_int_equal(access(seg_path(f, 10, "store"), F_OK), 0);
}

static void test_fields(void **state)
{
	fx *f = *state;
	seg_writer *w = new_writer(f, 11, 3);
	begin(w, "r1", "t", 1);
	tok(w, 0, "same", 0);
	tok(w, 0, "body", 1);
	tok(w, 1, "same", 0);
	tok(w, 2, "same", 0);
	tok(w, 2, "same", 1);
	tok(w, 2, "same", 2);
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	begin(w, "r2", "t", 1);
	tok(w, 2, "same", 4);
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	finish(f, w, 2);
	seg *s = open_ok(f, 11);
	assert_int_equal(seg_nfields(s), 3);
	assert_string_equal(seg_field_name(s, 2), "title");
	assert_int_equal(seg_field_total(s, 0), 2);
	assert_int_equal(seg_field_total(s, 1), 1);
	assert_int_equal(seg_field_total(s, 2), 4);
	assert_int_equal(seg_doc_field_len(s, 1, 2), 1);
	assert_int_equal(seg_doc_field_len(s, 1, 0), 0);
	seg_term t;
	lookup_ok(f, s, 0, "same", &t);
	assert_int_equal(t.df, 1);
	lookup_ok(f, s, 1, "same", &t);
	assert_int_equal(t.df, 1);
	lookup_ok(f, s, 2, "same", &t);
	assert_int_equal(t.df, 2);
	assert_int_equal(t.cf, 4);
	assert_int_equal(t.max_tf, 3);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	assert_int_equal(postings_next(&p), 1);
	const uint32_t *pos;
	assert_int_equal(postings_positions(&p, &pos), 1);
	assert_int_equal(pos[0], 4);
	postings_free(&p);
	assert_int_equal(seg_lookup(s, 1, "body", 4, &t, &f->err), 0);
	seg_close(s);
}

static void collect_prefix(fx *f, const seg *s, uint32_t field, const char *prefix, char *out, size_t n)
{
	seg_term_iter it;
	assert_int_equal(seg_prefix_init(&it, s, field, prefix, (uint32_t)strlen(prefix), &f->err), 0);
	out[0] = 0;
	const char *term;
	uint32_t len;
	seg_term t;
	int r;
	while ((r = seg_prefix_next(&it, &term, &len, &t, &f->err)) == 1) {
		assert_int_equal(strlen(term), len);
		assert_true(t.df >= 1);
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s", l ? " " : "", term);
	}
	assert_int_equal(r, 0);
}

static void test_prefix(void **state)
{
	fx *f = *state;
	seg_writer *w = new_writer(f, 12, 2);
	begin(w, "d", "", 0);
	const char *words[] = {"b", "apply", "app", "applied", "apple", "ap", "aq", "zz"};
	for (uint32_t i = 0; i < 8; i++)
		tok(w, 0, words[i], i);
	tok(w, 1, "apple", 0);
	tok(w, 1, "apricot", 1);
	/* 100 terms t000..t099 spread over several dictionary blocks */
	for (uint32_t i = 0; i < 100; i++) {
		char tt[8];
		snprintf(tt, sizeof tt, "t%03u", i);
		tok(w, 0, tt, 100 + i);
	}
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	finish(f, w, 1);
	seg *s = open_ok(f, 12);
	char got[2048];
	collect_prefix(f, s, 0, "appl", got, sizeof got);
	assert_string_equal(got, "apple applied apply");
	collect_prefix(f, s, 0, "ap", got, sizeof got);
	assert_string_equal(got, "ap app apple applied apply");
	collect_prefix(f, s, 1, "ap", got, sizeof got);
	assert_string_equal(got, "apple apricot");
	collect_prefix(f, s, 0, "t05", got, sizeof got);
	assert_string_equal(got, "t050 t051 t052 t053 t054 t055 t056 t057 t058 t059");
	collect_prefix(f, s, 0, "zz", got, sizeof got);
	assert_string_equal(got, "zz");
	collect_prefix(f, s, 0, "zzz", got, sizeof got);
	assert_string_equal(got, "");
	collect_prefix(f, s, 0, "0", got, sizeof got);
	assert_string_equal(got, "");
	collect_prefix(f, s, 1, "", got, sizeof got);
	assert_string_equal(got, "apple apricot");
	collect_prefix(f, s, 0, "", got, sizeof got);
	assert_int_equal(strlen(got), strlen("ap app apple applied apply aq b") + 100 * 5 + strlen(" zz"));
	/* every term of the long run is found by lookup too */
	for (uint32_t i = 0; i < 100; i++) {
		char tt[8];
		snprintf(tt, sizeof tt, "t%03u", i);
		seg_term t;
		lookup_ok(f, s, 0, tt, &t);
	}
	seg_close(s);
}

static void test_doc_text(void **state)
{
	fx *f = *state;
	const size_t big_len = 200000;
	char *big = malloc(big_len);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < big_len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		big[i] = (char)(i % 7 ? (x & 0xff) : 0); /* binary-ish, NULs included */
	}
	char small[3][64];
	seg_writer *w = new_writer(f, 13, 1);
	for (int i = 0; i < 3; i++)
		snprintf(small[i], sizeof small[i], "small doc %d\n\xff\xfe line two", i);
	begin(w, "s0", small[0], strlen(small[0]));
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	begin(w, "big", big, big_len);
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	begin(w, "empty", "", 0);
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	begin(w, "s1", small[1], strlen(small[1]));
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	/* enough text to fill a few blocks */
	char line[1000]; /* 300 of them: many store blocks */
	memset(line, 'q', sizeof line);
	for (int i = 0; i < 300; i++) {
		line[0] = (char)('a' + i % 26);
		begin(w, "fill", line, sizeof line);
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	begin(w, "s2", small[2], strlen(small[2]));
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	finish(f, w, 305);
	seg *s = open_ok(f, 13);
	char *got;
	size_t len;
	assert_int_equal(seg_doc_text(s, 1, &got, &len, &f->err), XIHU_OK);
	assert_int_equal(len, big_len);
	assert_memory_equal(got, big, big_len);
	free(got);
	assert_int_equal(seg_doc_text(s, 2, &got, &len, &f->err), XIHU_OK);
	assert_int_equal(len, 0);
	free(got);
	int idx[3] = {0, 3, 304};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(seg_doc_text(s, (uint32_t)idx[i], &got, &len, &f->err), XIHU_OK);
		assert_int_equal(len, strlen(small[i]));
		assert_memory_equal(got, small[i], len);
		free(got);
	}
	for (uint32_t d = 4; d < 304; d += 29) {
		assert_int_equal(seg_doc_text(s, d, &got, &len, &f->err), XIHU_OK);
		assert_int_equal(len, 1000);
		assert_int_equal(got[0], 'a' + (d - 4) % 26);
		assert_int_equal(got[999], 'q');
		free(got);
		seg_doc dd;
		assert_int_equal(seg_doc_get(s, d, &dd, &f->err), XIHU_OK);
		assert_memory_equal(dd.name, "fill", 4);
	}
	assert_int_equal(seg_doc_text(s, 305, &got, &len, &f->err), XIHU_EINVAL);
	seg_close(s);
	free(big);
}

/* The doc store's block cache: texts read in a random order, three times
 * over, past the cache's slots and bytes (evictions), and a big text over
 * the size it keeps, all equal to what was written, with the cache on and
 * off. */
static void test_doc_text_cache(void **state)
{
	fx *f = *state;
	enum { N = 2500, LEN = 1000 };
	seg_writer *w = new_writer(f, 14, 1);
	char text[LEN];
	const size_t big_len = 300000;
	char *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 23);
	for (uint32_t d = 0; d < N; d++) {
		if (d == N / 2) {
			begin(w, "big", big, big_len);
		} else {
			memset(text, 'a' + d % 26, LEN);
			snprintf(text, 16, "doc %u;", d);
			begin(w, "doc", text, LEN);
		}
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	finish(f, w, N);
	seg *s = open_ok(f, 14);
	uint64_t x = 7;
	for (int pass = 0; pass < 6; pass++) {
		xihu_doc_cache(pass < 3);
		for (uint32_t k = 0; k < N; k++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			uint32_t d = (uint32_t)(x >> 33) % N;
			char *got;
			size_t len;
			assert_int_equal(seg_doc_text(s, d, &got, &len, &f->err), XIHU_OK);
			if (d == N / 2) {
				assert_int_equal(len, big_len);
				assert_memory_equal(got, big, big_len);
			} else {
				memset(text, 'a' + d % 26, LEN);
				snprintf(text, 16, "doc %u;", d);
				assert_int_equal(len, LEN);
				assert_memory_equal(got, text, LEN);
			}
			free(got);
		}
	}
	xihu_doc_cache(true);
	seg_close(s);
	free(big);
}

/* A small segment with every file kind non-trivial, for the damage tests. */
static void write_small(fx *f, uint64_t id)
{
	seg_writer *w = new_writer(f, id, 2);
	for (uint32_t i = 0; i < 300; i++) {
		char text[64];
		snprintf(text, sizeof text, "doc %u text with some words", i);
		begin(w, text, text, strlen(text));
		tok(w, 0, "doc", 0);
		if (i % 2)
			tok(w, 0, "half", 1);
		if (i % 7 == 0) {
			tok(w, 0, "seventh", 2);
			tok(w, 0, "seventh", 5);
		}
		char u[16];
		snprintf(u, sizeof u, "u%u", i % 50);
		tok(w, 1, u, 0);
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	finish(f, w, 300);
}

static long file_size(const char *p)
{
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	return (long)st.st_size;
}

static void flip_byte(const char *p, long off, uint8_t mask)
{
	int fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	uint8_t c;
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= mask;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void test_flipped_bit_each_file(void **state)
{
	fx *f = *state;
	write_small(f, 20);
	seg *s = open_ok(f, 20);
	seg_close(s);
	for (int k = 0; k < 5; k++) {
		char *p = seg_path(f, 20, exts[k]);
		long mid = file_size(p) / 2;
		flip_byte(p, mid, 0x10);
		seg *bad = NULL;
		memset(&f->err, 0, sizeof f->err);
		assert_int_equal(seg_open(f->dir, 20, 0, true, &bad, &f->err), XIHU_ECORRUPT);
		assert_null(bad);
		assert_int_equal(f->err.code, XIHU_ECORRUPT);
		assert_non_null(strstr(f->err.msg, p));
		assert_non_null(strstr(f->err.msg, "checksum mismatch"));
		assert_int_equal(seg_check(f->dir, 20, 0, &f->err), XIHU_ECORRUPT);
		flip_byte(p, mid, 0x10); /* repaired */
		s = open_ok(f, 20);
		seg_close(s);
	}
}

static void test_truncated_each_file(void **state)
{
	fx *f = *state;
	write_small(f, 21);
	for (int k = 0; k < 5; k++) {
		char *p = seg_path(f, 21, exts[k]);
		long size = file_size(p);
		char save[1 << 16];
		int fd = open(p, O_RDONLY);
		assert_true(size <= (long)sizeof save);
		assert_int_equal(read(fd, save, (size_t)size), size);
		close(fd);
		long cuts[] = {size - 1, size / 2, 20, 0};
		for (int c = 0; c < 4; c++) {
			assert_int_equal(truncate(p, cuts[c]), 0);
			seg *bad = NULL;
			memset(&f->err, 0, sizeof f->err);
			assert_int_equal(seg_open(f->dir, 21, 0, false, &bad, &f->err), XIHU_ECORRUPT);
			assert_non_null(strstr(f->err.msg, p));
			if (cuts[c] < 28)
				assert_non_null(strstr(f->err.msg, "truncated"));
		}
		fd = open(p, O_WRONLY | O_TRUNC);
		assert_int_equal(write(fd, save, (size_t)size), size);
		close(fd);
	}
	seg *s = open_ok(f, 21);
	seg_close(s);
}

static void test_wrong_kind_and_version(void **state)
{
	fx *f = *state;
	write_small(f, 22);
	char *p = seg_path(f, 22, "post");
	char from[512];
	strcpy(from, p);
	/* the positions file where the postings file should be */
	assert_int_equal(rename(seg_path(f, 22, "pos"), from), 0);
	seg *bad = NULL;
	assert_int_equal(seg_open(f->dir, 22, 0, false, &bad, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, "file kind POSN, expected POST"));
	assert_non_null(strstr(f->err.msg, from));

	write_small(f, 23);
	p = seg_path(f, 23, "docs");
	flip_byte(p, 8, 0x40); /* version v -> v + 64 */
	assert_int_equal(seg_open(f->dir, 23, 0, false, &bad, &f->err), XIHU_ECORRUPT);
	char want[64];
	snprintf(want, sizeof want, "format version %u", XIHU_FORMAT_VERSION ^ 0x40);
	assert_non_null(strstr(f->err.msg, want));
}

/* Every single-byte change of every file, opened without the CRC: the
 * reader may answer or report corruption, but never crash, hang or read out
 * of bounds (ASan build). */
static void exercise(fx *f, uint64_t id)
{
	seg *s = NULL;
	if (seg_open(f->dir, id, 0, false, &s, &f->err))
		return;
	const char *terms[] = {"doc", "half", "seventh", "u7", "nope"};
	for (int i = 0; i < 5; i++) {
		seg_term t;
		for (uint32_t fl = 0; fl < 2; fl++) {
			if (seg_lookup(s, fl, terms[i], (uint32_t)strlen(terms[i]), &t, &f->err) != 1)
				continue;
			postings p;
			if (postings_init(&p, s, &t, &f->err) == 0) {
				uint32_t last = 0, steps = 0;
				for (uint32_t d = p.doc; d != POSTINGS_END; d = (steps % 3) ? postings_next(&p)
				                                                         : postings_advance(&p, d + 2)) {
					assert_true(steps == 0 || d > last);
					last = d;
					assert_true(d < seg_ndocs(s));
					/* the shallow cursor too, ahead of the next advance */
					uint32_t sl = postings_shallow(&p, d + 2);
					assert_true(sl == POSTINGS_END || (sl >= d + 2 && sl < seg_ndocs(s)));
					const uint32_t *pos;
					postings_positions(&p, &pos);
					assert_true(++steps <= seg_ndocs(s));
				}
			}
			postings_free(&p);
		}
	}
	seg_term_iter it;
	if (seg_prefix_init(&it, s, 1, "u", 1, &f->err) == 0) {
		const char *term;
		uint32_t len;
		seg_term t;
		int n = 0;
		while (seg_prefix_next(&it, &term, &len, &t, &f->err) == 1)
			assert_true(++n <= 50);
	}
	for (uint32_t d = 0; d < seg_ndocs(s); d += 37) {
		seg_doc dd;
		seg_doc_get(s, d, &dd, &f->err);
		char *text;
		size_t len;
		if (seg_doc_text(s, d, &text, &len, &f->err) == 0)
			free(text);
	}
	seg_close(s);
	seg_check(f->dir, id, 0, &f->err);
}

static void test_every_byte_damaged(void **state)
{
	fx *f = *state;
	write_small(f, 24);
	for (int k = 0; k < 5; k++) {
		char *p = seg_path(f, 24, exts[k]);
		char path[512];
		strcpy(path, p);
		long size = file_size(path);
		/* every byte of the small files; a stride through the doc table and
		 * store (fixed-size records, zlib data) keeps the case fast */
		long step = size / 1500 + 1;
		if (step > 1 && step % 2 == 0)
			step++; /* odd: visit every offset within a record over time */
		for (long off = 16; off < size - 12; off += step) {
			flip_byte(path, off, 0x41);
			exercise(f, 24);
			flip_byte(path, off, 0x41);
		}
	}
	seg *s = open_ok(f, 24);
	seg_close(s);
}

/* A damaged zlib stream in the store is reported with the file and offset. */
static void test_store_damage_named(void **state)
{
	fx *f = *state;
	write_small(f, 25);
	char *p = seg_path(f, 25, "store");
	char path[512];
	strcpy(path, p);
	flip_byte(path, 16 + 2, 0xff); /* inside the first block's deflate data */
	seg *s = NULL;
	assert_int_equal(seg_open(f->dir, 25, 0, false, &s, &f->err), XIHU_OK);
	char *text;
	size_t len;
	int rc = seg_doc_text(s, 0, &text, &len, &f->err);
	if (rc == 0) {
		/* a flip deflate did not notice: the text must at least differ */
		assert_true(len != 30 || memcmp(text, "doc 0 text with some words", 26) != 0);
		free(text);
	} else {
		assert_int_equal(rc, XIHU_ECORRUPT);
		assert_non_null(strstr(f->err.msg, path));
		assert_non_null(strstr(f->err.msg, "offset 16"));
	}
	seg_close(s);
	assert_int_equal(seg_check(f->dir, 25, 0, &f->err), XIHU_ECORRUPT);
}

/* ---- deletions ---------------------------------------------------------- */

static char *del_path(const fx *f, uint64_t id, uint64_t gen)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/%012llx_%llu.del", f->dir, (unsigned long long)id, (unsigned long long)gen);
	return p;
}

static void test_deletes_round_trip(void **state)
{
	fx *f = *state;
	write_small(f, 30); /* 300 docs: 38 bytes of bitmap, 4 padding bits */
	uint8_t bm[38] = {0};
	uint32_t gone[] = {0, 7, 8, 150, 299};
	for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
		bm[gone[i] >> 3] |= (uint8_t)(1u << (gone[i] & 7));
	bm[37] |= 0xf0; /* padding bits from a careless caller are not written */
	assert_int_equal(seg_write_deletes(f->dir, 30, 1, bm, 300, &f->err), XIHU_OK);
	struct stat st;
	assert_int_equal(stat(del_path(f, 30, 1), &st), 0);
	assert_int_equal(st.st_size, 16 + 8 + 38 + 12);

	seg *s = NULL;
	assert_int_equal(seg_open(f->dir, 30, 1, true, &s, &f->err), XIHU_OK);
	assert_int_equal(seg_ndeleted(s), 5);
	const uint8_t *got = seg_deletes(s);
	assert_non_null(got);
	for (uint32_t d = 0, k = 0; d < 300; d++) {
		bool want = k < 5 && gone[k] == d;
		assert_int_equal(seg_bitmap_test(got, d), want);
		k += want;
	}
	assert_int_equal(seg_bytes(s) > (uint64_t)st.st_size, 1);
	seg_close(s);
	assert_int_equal(seg_check(f->dir, 30, 1, &f->err), XIHU_OK);

	/* generation 0: nothing deleted, whatever files lie around */
	s = open_ok(f, 30);
	assert_int_equal(seg_ndeleted(s), 0);
	assert_null(seg_deletes(s));
	assert_false(seg_bitmap_test(seg_deletes(s), 0));
	seg_close(s);

	/* an empty set is a valid generation; NULL bitmap for the reader */
	memset(bm, 0, sizeof bm);
	assert_int_equal(seg_write_deletes(f->dir, 30, 2, bm, 300, &f->err), XIHU_OK);
	assert_int_equal(seg_open(f->dir, 30, 2, true, &s, &f->err), XIHU_OK);
	assert_int_equal(seg_ndeleted(s), 0);
	assert_null(seg_deletes(s));
	seg_close(s);

	/* an uncommitted leftover of the same generation is replaced */
	memset(bm, 0xff, sizeof bm);
	assert_int_equal(seg_write_deletes(f->dir, 30, 2, bm, 300, &f->err), XIHU_OK);
	assert_int_equal(seg_open(f->dir, 30, 2, true, &s, &f->err), XIHU_OK);
	assert_int_equal(seg_ndeleted(s), 300);
	seg_close(s);
	assert_int_equal(seg_check(f->dir, 30, 2, &f->err), XIHU_OK);
	assert_int_equal(seg_write_deletes(f->dir, 30, 0, bm, 300, &f->err), XIHU_EINVAL);

	/* a segment of no docs has an empty bitmap */
	seg_writer *w = new_writer(f, 31, 1);
	finish(f, w, 0);
	assert_int_equal(seg_write_deletes(f->dir, 31, 1, bm, 0, &f->err), XIHU_OK);
	assert_int_equal(seg_check(f->dir, 31, 1, &f->err), XIHU_OK);
}

/* Writes dir/<id>_<gen>.del with any payload, through the real envelope. */
static void write_raw_del(fx *f, uint64_t id, uint64_t gen, uint32_t ndocs, uint32_t ndel, const uint8_t *bm,
                          size_t n)
{
	char name[64];
	snprintf(name, sizeof name, "%012llx_%llu.del", (unsigned long long)id, (unsigned long long)gen);
	unlink(del_path(f, id, gen));
	xfile_w w;
	assert_int_equal(xfile_create(&w, f->dir, name, XFILE_DELETES, &f->err), XIHU_OK);
	uint8_t h[8];
	for (int i = 0; i < 4; i++) {
		h[i] = (uint8_t)(ndocs >> (8 * i));
		h[4 + i] = (uint8_t)(ndel >> (8 * i));
	}
	xfile_write(&w, h, 8);
	xfile_write(&w, bm, n);
	assert_int_equal(xfile_finish(&w), XIHU_OK);
}

static void expect_bad_del(fx *f, uint64_t id, uint64_t gen, bool crc, const char *what)
{
	seg *s = NULL;
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_open(f->dir, id, gen, crc, &s, &f->err), XIHU_ECORRUPT);
	assert_null(s);
	if (!strstr(f->err.msg, del_path(f, id, gen)) || !strstr(f->err.msg, what))
		fail_msg("expected \"%s\" naming %s, got: %s", what, del_path(f, id, gen), f->err.msg);
	assert_int_equal(seg_check(f->dir, id, gen, &f->err), XIHU_ECORRUPT);
}

static void test_deletes_wrong_size(void **state)
{
	fx *f = *state;
	write_small(f, 32);
	uint8_t bm[64] = {0};
	bm[0] = 1;
	write_raw_del(f, 32, 1, 300, 1, bm, 37); /* one byte short */
	expect_bad_del(f, 32, 1, true, "wrong size");
	write_raw_del(f, 32, 2, 300, 1, bm, 39); /* one byte long */
	expect_bad_del(f, 32, 2, true, "wrong size");
	write_raw_del(f, 32, 3, 301, 1, bm, 38); /* another segment's */
	expect_bad_del(f, 32, 3, true, "different document count");
	write_raw_del(f, 32, 4, 300, 1, bm, 0);
	expect_bad_del(f, 32, 4, true, "wrong size");
	/* a header cut short */
	char name[64];
	snprintf(name, sizeof name, "%012llx_5.del", 32ull);
	xfile_w w;
	assert_int_equal(xfile_create(&w, f->dir, name, XFILE_DELETES, &f->err), XIHU_OK);
	xfile_write(&w, bm, 5);
	assert_int_equal(xfile_finish(&w), XIHU_OK);
	expect_bad_del(f, 32, 5, true, "header missing");
	/* a manifest naming a generation that is not there */
	seg *s = NULL;
	assert_int_equal(seg_open(f->dir, 32, 9, true, &s, &f->err), XIHU_EIO);
	assert_non_null(strstr(f->err.msg, del_path(f, 32, 9)));
	/* the kind is checked like every file's */
	char *p = seg_path(f, 32, "post");
	char to[512];
	strcpy(to, del_path(f, 32, 6));
	assert_int_equal(link(p, to), 0);
	expect_bad_del(f, 32, 6, false, "file kind POST, expected DELS");
}

static void test_deletes_flipped_bit(void **state)
{
	fx *f = *state;
	write_small(f, 33);
	uint8_t bm[38] = {0};
	bm[3] = 0x24;
	assert_int_equal(seg_write_deletes(f->dir, 33, 1, bm, 300, &f->err), XIHU_OK);
	char path[512];
	strcpy(path, del_path(f, 33, 1));
	flip_byte(path, 16 + 8 + 20, 0x08); /* a doc in the bitmap */
	expect_bad_del(f, 33, 1, true, "checksum mismatch");
	expect_bad_del(f, 33, 1, false, "deleted count differs");
	flip_byte(path, 16 + 8 + 20, 0x08);
	flip_byte(path, 16 + 8 + 37, 0x40); /* a padding bit past doc 299 */
	expect_bad_del(f, 33, 1, false, "bits past the last doc");
	flip_byte(path, 16 + 8 + 37, 0x40);
	flip_byte(path, 16 + 4, 0x01); /* the count */
	expect_bad_del(f, 33, 1, false, "deleted count differs");
	flip_byte(path, 16 + 4, 0x01);
	seg *s = NULL;
	assert_int_equal(seg_open(f->dir, 33, 1, true, &s, &f->err), XIHU_OK);
	assert_int_equal(seg_ndeleted(s), 2);
	assert_true(seg_bitmap_test(seg_deletes(s), 26));
	assert_true(seg_bitmap_test(seg_deletes(s), 29));
	seg_close(s);
}

int main(void)
{
	pool_max_default = seg_writer_pool_max;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_doc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doc_text_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocks_127, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocks_128, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocks_129, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocks_1000, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocks_1000_released, setup, teardown),
		cmocka_unit_test_setup_teardown(test_advance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_doc_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doc_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_position_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_postings_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_per_rare_term, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doc_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_bit_each_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_each_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_kind_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_byte_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_damage_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deletes_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deletes_wrong_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deletes_flipped_bit, setup, teardown),
	};
	return cmocka_run_group_tests_name("segment", tests, NULL, NULL);
}
