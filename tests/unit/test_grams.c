/*
 * test_grams.c: the trigram lists of the raw text (.grams, index/core/grams.c
 * and gram_acc.c), written by seg_writer, read back, merged and checked.
 * Every list is compared with one computed here by brute force from the
 * docs' raw bytes; damaged files must fail with the file and the offset.
 */
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
#include <zlib.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "core/core.h"

static const char *const fields2[] = {"body", "path"};

static int setup(void **state)
{
	return fx_setup(state, "/tmp/xihu-test-grams-XXXXXX");
}

static int teardown(void **state)
{
	return fx_teardown(state);
}

/* A doc as the test gives it: its stored text, its raw bytes (NULL: not
 * greppable), whether it is always a candidate. */
typedef struct tdoc {
	const char *text;
	const char *raw;
	size_t raw_len;
	bool always;
	bool record;
} tdoc;

static void add_doc(seg_writer *w, const tdoc *t, uint32_t i)
{
	char name[32];
	snprintf(name, sizeof name, "/d/%u", i);
	seg_doc_in d = {.name = name, .name_len = (uint32_t)strlen(name), .mtime_ns = 1000 + i, .size = 7 * i,
	                .text = t->text, .text_len = t->text ? strlen(t->text) : 0, .raw = t->raw,
	                .raw_len = t->raw_len, .always = t->always, .record = t->record};
	assert_int_equal(seg_writer_begin_doc(w, &d), XIHU_OK);
	seg_writer_add_token(w, 1, "p", 1, 0);
	assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
}

static void write_seg(fx *f, uint64_t id, const tdoc *docs, uint32_t n)
{
	seg_writer *w = NULL;
	assert_int_equal(seg_writer_new(f->dir, id, 2, fields2, &w, &f->err), XIHU_OK);
	for (uint32_t i = 0; i < n; i++)
		add_doc(w, &docs[i], i);
	seg_info info;
	if (seg_writer_finish(w, &info, &f->err))
		fail_msg("finish: %s", f->err.msg);
	assert_int_equal(info.ndocs, n);
	seg_writer_free(w);
}

static seg *open_checked(fx *f, uint64_t id, uint64_t del_gen)
{
	seg *s = NULL;
	if (seg_open(f->dir, id, del_gen, true, &s, &f->err))
		fail_msg("seg_open: %s", f->err.msg);
	if (seg_check(f->dir, id, del_gen, &f->err))
		fail_msg("seg_check: %s", f->err.msg);
	return s;
}

static bool has_gram(const tdoc *t, uint32_t g)
{
	if (!t->raw)
		return false;
	const uint8_t *p = (const uint8_t *)t->raw;
	for (size_t i = 0; i + 3 <= t->raw_len; i++)
		if (p[i] != '\n' && p[i + 1] != '\n' && p[i + 2] != '\n' &&
		    (uint32_t)(p[i] | p[i + 1] << 8 | p[i + 2] << 16) == g)
			return true;
	return false;
}

/* s holds docs[keep[0]], docs[keep[1]], ... as its docs 0, 1, ...: every
 * trigram of their raw bytes has exactly the docs holding it, and no other
 * trigram is there. */
static void expect_grams(fx *f, const seg *s, const tdoc *docs, const uint32_t *keep, uint32_t n)
{
	assert_int_equal(seg_ndocs(s), n);
	uint8_t *want = calloc(SEG_GRAM_MAX / 8, 1);
	assert_non_null(want);
	uint64_t distinct = 0;
	for (uint32_t d = 0; d < n; d++) {
		const tdoc *t = &docs[keep[d]];
		assert_int_equal(seg_doc_greppable(s, d), t->raw != NULL);
		assert_int_equal(seg_doc_always(s, d), t->always);
		seg_doc sd;
		assert_int_equal(seg_doc_get(s, d, &sd, &f->err), XIHU_OK);
		assert_int_equal(sd.greppable, t->raw != NULL);
		assert_int_equal(sd.always, t->always);
		assert_int_equal(sd.record, t->record);
		const uint8_t *p = (const uint8_t *)t->raw;
		for (size_t i = 0; t->raw && i + 3 <= t->raw_len; i++) {
			if (p[i] == '\n' || p[i + 1] == '\n' || p[i + 2] == '\n')
				continue;
			uint32_t g = p[i] | p[i + 1] << 8 | p[i + 2] << 16;
			if (!(want[g >> 3] & (1u << (g & 7)))) {
				want[g >> 3] |= (uint8_t)(1u << (g & 7));
				distinct++;
			}
		}
	}
	assert_int_equal(seg_ngrams(s), distinct);
	uint32_t *ids = malloc((n + 1) * sizeof *ids);
	assert_non_null(ids);
	uint64_t seen = 0;
	for (uint64_t i = 0; i < seg_ngrams(s); i++) {
		uint32_t g;
		seg_gram at, looked;
		assert_int_equal(seg_gram_at(s, i, &g, &at, &f->err), XIHU_OK);
		assert_true(want[g >> 3] & (1u << (g & 7)));
		assert_int_equal(seg_gram_lookup(s, g, &looked, &f->err), 1);
		assert_int_equal(looked.df, at.df);
		assert_int_equal(looked.off, at.off);
		assert_int_equal(seg_gram_docs(s, &looked, ids, &f->err), XIHU_OK);
		uint32_t k = 0;
		for (uint32_t d = 0; d < n; d++) {
			if (!has_gram(&docs[keep[d]], g))
				continue;
			assert_true(k < looked.df);
			assert_int_equal(ids[k], d);
			k++;
		}
		assert_int_equal(k, looked.df);
		seen++;
	}
	assert_int_equal(seen, distinct);
	free(ids);
	free(want);
}

static uint32_t pack(const char *t)
{
	const uint8_t *p = (const uint8_t *)t;
	return p[0] | p[1] << 8 | p[2] << 16;
}

static const char html_raw[] = "<p>Caf&eacute; <b>bold</b></p>\n";

static const tdoc mixed[] = {
	{.text = "abc\nabcd xyz", .raw = "abc\nabcd xyz", .raw_len = 12},
	/* HTML: the text html.c made, the raw bytes as read */
	{.text = "Café bold\n", .raw = html_raw, .raw_len = sizeof html_raw - 1},
	/* a .gz: text but no raw bytes */
	{.text = "abc gzipped", .raw = NULL},
	/* a file over --max-file-size */
	{.always = true},
	/* a record: its raw bytes are its text */
	{.text = "rec abc", .raw = "rec abc", .raw_len = 7, .record = true},
	/* an empty file is greppable, with no trigram */
	{.text = "", .raw = "", .raw_len = 0},
	/* a NUL and high bytes are bytes like any other */
	{.text = "x", .raw = "a\0\xff\xfe\n", .raw_len = 5},
};
#define NMIXED (sizeof mixed / sizeof *mixed)

static void test_round_trip_mixed(void **state)
{
	fx *f = *state;
	write_seg(f, 1, mixed, NMIXED);
	seg *s = open_checked(f, 1, 0);
	uint32_t keep[NMIXED];
	for (uint32_t i = 0; i < NMIXED; i++)
		keep[i] = i;
	expect_grams(f, s, mixed, keep, NMIXED);
	/* the raw bytes, not the text: "<b>" is there, "é b" is not */
	seg_gram g;
	uint32_t ids[NMIXED];
	assert_int_equal(seg_gram_lookup(s, pack("<b>"), &g, &f->err), 1);
	assert_int_equal(g.df, 1);
	assert_int_equal(seg_gram_docs(s, &g, ids, &f->err), XIHU_OK);
	assert_int_equal(ids[0], 1);
	assert_int_equal(seg_gram_lookup(s, pack("\xa9 b"), &g, &f->err), 0);
	/* "abc": docs 0 and 4, not the .gz's text */
	assert_int_equal(seg_gram_lookup(s, pack("abc"), &g, &f->err), 1);
	assert_int_equal(g.df, 2);
	assert_int_equal(seg_gram_docs(s, &g, ids, &f->err), XIHU_OK);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 4);
	/* nothing across a newline */
	assert_int_equal(seg_gram_lookup(s, pack("c\nb"), &g, &f->err), 0);
	assert_int_equal(seg_gram_lookup(s, pack("bc\n"), &g, &f->err), 0);
	assert_int_equal(seg_gram_lookup(s, pack("a\0\xff"), &g, &f->err), 1);
	seg_close(s);
}

static void test_always_doc_takes_no_raw_bytes(void **state)
{
	fx *f = *state;
	seg_writer *w = NULL;
	assert_int_equal(seg_writer_new(f->dir, 2, 2, fields2, &w, &f->err), XIHU_OK);
	seg_doc_in d = {.name = "/big", .name_len = 4, .raw = "abc", .raw_len = 3, .always = true};
	assert_int_equal(seg_writer_begin_doc(w, &d), XIHU_EINVAL);
	assert_non_null(strstr(f->err.msg, "always"));
	seg_writer_free(w);
}

/* n docs of pseudo-random text over a small alphabet: many trigrams in
 * most docs (full blocks of 128 and a rest), many in few. */
static tdoc *random_docs(uint32_t n, uint32_t seed, char ***bufs)
{
	tdoc *docs = calloc(n, sizeof *docs);
	*bufs = calloc(n, sizeof **bufs);
	assert_true(docs && *bufs);
	uint32_t x = seed;
	for (uint32_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		size_t len = 2 + (x >> 16) % 60;
		char *b = malloc(len + 1);
		assert_non_null(b);
		for (size_t k = 0; k < len; k++) {
			x = x * 1103515245u + 12345u;
			b[k] = "abcd\n "[(x >> 16) % 6];
		}
		b[len] = 0;
		(*bufs)[i] = b;
		x = x * 1103515245u + 12345u;
		docs[i] = (tdoc){.text = b, .raw = (x >> 16) % 11 ? b : NULL, .raw_len = len};
		if (!docs[i].raw && i % 3 == 0)
			docs[i] = (tdoc){.always = true};
	}
	return docs;
}

static void free_docs(tdoc *docs, char **bufs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(docs);
}

static void test_many_docs(void **state)
{
	fx *f = *state;
	char **bufs;
	uint32_t n = 1500;
	tdoc *docs = random_docs(n, 7, &bufs);
	write_seg(f, 3, docs, n);
	seg *s = open_checked(f, 3, 0);
	uint32_t *keep = malloc(n * sizeof *keep);
	for (uint32_t i = 0; i < n; i++)
		keep[i] = i;
	expect_grams(f, s, docs, keep, n);
	/* some list is long enough for full blocks */
	seg_gram g;
	assert_int_equal(seg_gram_lookup(s, pack("abc"), &g, &f->err), 1);
	assert_true(g.df > 128);
	free(keep);
	seg_close(s);
	free_docs(docs, bufs, n);
}

/* Two segments, some docs of each deleted, merged: the lists are the
 * survivors', renumbered in input order, with their flags. */
static void test_merge_with_deletions(void **state)
{
	fx *f = *state;
	char **bufs_a, **bufs_b;
	uint32_t na = 400, nb = 300;
	tdoc *a = random_docs(na, 11, &bufs_a);
	tdoc *b = random_docs(nb, 13, &bufs_b);
	write_seg(f, 4, a, na);
	write_seg(f, 5, b, nb);
	uint8_t *del = calloc((na + 7) / 8, 1);
	for (uint32_t d = 0; d < na; d += 3)
		del[d >> 3] |= (uint8_t)(1u << (d & 7));
	assert_int_equal(seg_write_deletes(f->dir, 4, 1, del, na, &f->err), XIHU_OK);
	seg *in[2] = {open_checked(f, 4, 1), open_checked(f, 5, 0)};
	seg_info info;
	if (seg_merge(f->dir, (const seg *const *)in, 2, 6, &info, &f->err))
		fail_msg("merge: %s", f->err.msg);
	seg *m = open_checked(f, 6, 0);
	/* the survivors, as one array of docs */
	tdoc *all = calloc(na + nb, sizeof *all);
	uint32_t *keep = calloc(na + nb, sizeof *keep), n = 0;
	for (uint32_t d = 0; d < na; d++)
		all[d] = a[d];
	for (uint32_t d = 0; d < nb; d++)
		all[na + d] = b[d];
	for (uint32_t d = 0; d < na + nb; d++)
		if (d >= na || !(del[d >> 3] & (1u << (d & 7))))
			keep[n++] = d;
	assert_int_equal(info.ndocs, n);
	expect_grams(f, m, all, keep, n);
	seg_close(m);
	seg_close(in[0]);
	seg_close(in[1]);
	free(all);
	free(keep);
	free(del);
	free_docs(a, bufs_a, na);
	free_docs(b, bufs_b, nb);
}

/* ---- damage --------------------------------------------------------------------- */

static char *grams_path(fx *f, uint64_t id)
{
	snprintf(f->path, sizeof f->path, "%s/%012llx.grams", f->dir, (unsigned long long)id);
	return f->path;
}

/* Reads the file whole (*len bytes; caller frees). */
static uint8_t *slurp(const char *p, size_t *len)
{
	FILE *fp = fopen(p, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*len = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	uint8_t *b = malloc(*len);
	assert_int_equal(fread(b, 1, *len, fp), *len);
	fclose(fp);
	return b;
}

/* Writes b back with a valid CRC, so that the structure behind the
 * envelope is what fails. */
static void put_back(const char *p, uint8_t *b, size_t len)
{
	uint32_t crc = (uint32_t)crc32(0, b, (uInt)(len - 4));
	for (int k = 0; k < 4; k++)
		b[len - 4 + k] = (uint8_t)(crc >> (8 * k));
	FILE *fp = fopen(p, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, len, fp), len);
	fclose(fp);
}

static void set_u32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

/* The footer and where the entries start, in file offsets. */
static void layout(const uint8_t *b, size_t len, uint64_t *ngrams, uint64_t *entries, uint32_t *esize)
{
	const uint8_t *foot = b + len - 12 - 24;
	*ngrams = get_u64le(foot);
	*entries = 16 + get_u64le(foot + 8);
	*esize = 8 + get_u32le(foot + 20);
}

static void expect_check_fails(fx *f, uint64_t id, const char *what, size_t off)
{
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_check(f->dir, id, 0, &f->err), XIHU_ECORRUPT);
	char want[64];
	snprintf(want, sizeof want, "offset %zu: ", off);
	if (!strstr(f->err.msg, grams_path(f, id)) || !strstr(f->err.msg, want) || !strstr(f->err.msg, what))
		fail_msg("got [%s], want [%s] at %s", f->err.msg, what, want);
}

static void test_damaged_grams_named(void **state)
{
	fx *f = *state;
	char **bufs;
	uint32_t n = 300;
	tdoc *docs = random_docs(n, 17, &bufs);
	write_seg(f, 7, docs, n);
	seg_close(open_checked(f, 7, 0));
	size_t len;
	uint8_t *orig = slurp(grams_path(f, 7), &len), *b = malloc(len);
	uint64_t ngrams, entries;
	uint32_t esize;
	layout(orig, len, &ngrams, &entries, &esize);
	assert_true(ngrams > 40);

	/* two keys out of order: the second entry's gram made the first's */
	memcpy(b, orig, len);
	memcpy(b + entries + esize, b + entries, 4);
	put_back(grams_path(f, 7), b, len);
	expect_check_fails(f, 7, "trigram keys out of order", entries + esize);

	/* a df of 0 */
	memcpy(b, orig, len);
	set_u32(b + entries + 5 * esize + 4, 0);
	put_back(grams_path(f, 7), b, len);
	expect_check_fails(f, 7, "document count out of range", entries + 5 * esize + 4);

	/* one df too many: the list runs out */
	memcpy(b, orig, len);
	uint32_t df = get_u32le(b + entries + 3 * esize + 4);
	set_u32(b + entries + 3 * esize + 4, df + 1);
	put_back(grams_path(f, 7), b, len);
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_check(f->dir, 7, 0, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, "trigram list"));
	assert_non_null(strstr(f->err.msg, grams_path(f, 7)));

	/* the first list's offset past the second's */
	memcpy(b, orig, len);
	set_u32(b + entries + 8, get_u32le(b + entries + esize + 8) + 1);
	put_back(grams_path(f, 7), b, len);
	expect_check_fails(f, 7, "offset out of range", entries + 8);

	/* a later one's: the list before it runs long */
	memcpy(b, orig, len);
	set_u32(b + entries + 2 * esize + 8, get_u32le(b + entries + 3 * esize + 8));
	put_back(grams_path(f, 7), b, len);
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_check(f->dir, 7, 0, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, "trigram list"));

	/* a footer's ndocs: seg_open itself refuses */
	memcpy(b, orig, len);
	set_u32(b + len - 12 - 8, n + 1);
	put_back(grams_path(f, 7), b, len);
	seg *s = NULL;
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_open(f->dir, 7, 0, false, &s, &f->err), XIHU_ECORRUPT);
	assert_null(s);
	char want[64];
	snprintf(want, sizeof want, "offset %zu: ", len - 12 - 8);
	assert_non_null(strstr(f->err.msg, want));

	/* repaired, it checks clean */
	memcpy(b, orig, len);
	put_back(grams_path(f, 7), b, len);
	seg_close(open_checked(f, 7, 0));
	free(orig);
	free(b);
	free_docs(docs, bufs, n);
}

/* Every byte of the entries and footer damaged in turn (CRC made valid
 * again): open or the check fails cleanly, or the file still decodes; never
 * a crash or a read out of bounds (the ASan build runs this too). */
static void test_every_table_byte(void **state)
{
	fx *f = *state;
	static const tdoc docs[] = {{.text = "abcd", .raw = "abcd", .raw_len = 4},
	                            {.text = "bcde", .raw = "bcde", .raw_len = 4}};
	write_seg(f, 8, docs, 2);
	size_t len;
	uint8_t *orig = slurp(grams_path(f, 8), &len), *b = malloc(len);
	uint64_t ngrams, entries;
	uint32_t esize;
	layout(orig, len, &ngrams, &entries, &esize);
	for (size_t off = 16; off < len - 12; off++) {
		memcpy(b, orig, len);
		b[off] ^= 0x41;
		put_back(grams_path(f, 8), b, len);
		seg *s = NULL;
		if (seg_open(f->dir, 8, 0, true, &s, &f->err) == XIHU_OK) {
			uint32_t ids[2];
			seg_gram g;
			for (uint32_t k = 0; k < 4; k++)
				if (seg_gram_lookup(s, pack(&"abcde"[k]), &g, &f->err) == 1 && g.df <= 2)
					(void)seg_gram_docs(s, &g, ids, &f->err);
			seg_close(s);
			(void)seg_check(f->dir, 8, 0, &f->err);
		} else {
			assert_non_null(strstr(f->err.msg, grams_path(f, 8)));
		}
	}
	free(orig);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_always_doc_takes_no_raw_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_docs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_with_deletions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_grams_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_table_byte, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
