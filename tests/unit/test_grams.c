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

/* The blocks of t's raw bytes as docs/FORMAT.md §3.7 cuts them, written
 * here from the rule: their ends into ends[] (room for raw_len / 4096 + 2);
 * how many (0: not greppable). */
static uint32_t blocks_of(const tdoc *t, size_t *ends)
{
	if (!t->raw)
		return 0;
	size_t len = t->raw_len;
	if (len <= GRAM_BLOCK_MIN) {
		ends[0] = len;
		return 1;
	}
	uint32_t n = 0;
	for (size_t start = 0; start < len;) {
		size_t end = len;
		if (len - start > GRAM_BLOCK) {
			size_t k = start + GRAM_BLOCK; /* after the last '\n' of the first GRAM_BLOCK bytes */
			while (k > start && t->raw[k - 1] != '\n')
				k--;
			if (k > start) {
				end = k;
			} else { /* none: the long line, through its '\n' */
				for (k = start + GRAM_BLOCK; k < len && t->raw[k] != '\n'; k++)
					;
				end = k < len ? k + 1 : len;
			}
		}
		ends[n++] = end;
		start = end;
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* s holds docs[keep[0]], docs[keep[1]], ... as its docs 0, 1, ...: each
 * greppable doc owns the gram ids of its blocks, in order, and every
 * trigram of their raw bytes has exactly the gram ids whose block holds
 * it, and no other trigram is there. */
static void expect_grams(fx *f, const seg *s, const tdoc *docs, const uint32_t *keep, uint32_t n)
{
	assert_int_equal(seg_ndocs(s), n);
	size_t npairs = 0, cap = 1024;
	uint64_t *pairs = malloc(cap * sizeof *pairs); /* gram << 32 | gram id */
	assert_non_null(pairs);
	uint32_t id = 0;
	for (uint32_t d = 0; d < n; d++) {
		const tdoc *t = &docs[keep[d]];
		assert_int_equal(seg_doc_greppable(s, d), t->raw != NULL);
		assert_int_equal(seg_doc_always(s, d), t->always);
		seg_doc sd;
		assert_int_equal(seg_doc_get(s, d, &sd, &f->err), XIHU_OK);
		assert_int_equal(sd.greppable, t->raw != NULL);
		assert_int_equal(sd.always, t->always);
		assert_int_equal(sd.record, t->record);
		size_t *ends = malloc((t->raw_len / 4096 + 2) * sizeof *ends);
		uint32_t nb = blocks_of(t, ends);
		assert_int_equal(seg_gram_first(s, d), id);
		assert_int_equal(sd.gram_ids, nb);
		const uint8_t *p = (const uint8_t *)t->raw;
		for (uint32_t b = 0, start = 0; b < nb; start = (uint32_t)ends[b], b++, id++) {
			assert_int_equal(seg_gram_doc(s, id), d);
			for (size_t i = start; i + 3 <= ends[b]; i++) {
				if (p[i] == '\n' || p[i + 1] == '\n' || p[i + 2] == '\n')
					continue;
				if (npairs == cap)
					assert_non_null(pairs = realloc(pairs, (cap *= 2) * sizeof *pairs));
				pairs[npairs++] = (uint64_t)(p[i] | p[i + 1] << 8 | p[i + 2] << 16) << 32 | id;
			}
		}
		free(ends);
	}
	assert_int_equal(seg_gram_first(s, n), id);
	assert_int_equal(seg_ngram_ids(s), id);
	assert_int_equal(seg_gram_doc(s, id), UINT32_MAX);
	qsort(pairs, npairs, sizeof *pairs, cmp_u64);
	size_t k = 0;
	for (size_t i = 0; i < npairs; i++)
		if (k == 0 || pairs[k - 1] != pairs[i])
			pairs[k++] = pairs[i];
	npairs = k;
	uint32_t *ids = malloc(((size_t)id + 1) * sizeof *ids);
	assert_non_null(ids);
	size_t at_pair = 0;
	for (uint64_t i = 0; i < seg_ngrams(s); i++) {
		uint32_t g;
		seg_gram at, looked;
		assert_int_equal(seg_gram_at(s, i, &g, &at, &f->err), XIHU_OK);
		assert_int_equal(seg_gram_lookup(s, g, &looked, &f->err), 1);
		assert_int_equal(looked.df, at.df);
		assert_int_equal(looked.off, at.off);
		assert_int_equal(seg_gram_docs(s, &looked, ids, &f->err), XIHU_OK);
		for (uint32_t j = 0; j < looked.df; j++, at_pair++) {
			assert_true(at_pair < npairs);
			assert_int_equal(pairs[at_pair] >> 32, g);
			assert_int_equal((uint32_t)pairs[at_pair], ids[j]);
		}
	}
	assert_int_equal(at_pair, npairs);
	free(ids);
	free(pairs);
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
	/* "abc": docs 0 and 4 (gram ids 0 and 2: docs 2 and 3 own none), not
	 * the .gz's text */
	assert_int_equal(seg_gram_lookup(s, pack("abc"), &g, &f->err), 1);
	assert_int_equal(g.df, 2);
	assert_int_equal(seg_gram_docs(s, &g, ids, &f->err), XIHU_OK);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 2);
	assert_int_equal(seg_gram_ids_docs(s, ids, 2), 2);
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

/* ---- big documents: a gram id per block of lines ------------------------------- */

/* The docs of s whose gram ids hold every trigram of pat in one gram id
 * (the AND a grep plans for a literal), ascending, into docs; how many. */
static uint32_t and_docs(fx *f, const seg *s, const char *pat, uint32_t *docs)
{
	uint32_t *acc = NULL, nacc = 0, *ids = malloc(((size_t)seg_ngram_ids(s) + 1) * sizeof *ids);
	assert_non_null(ids);
	for (size_t i = 0; i + 3 <= strlen(pat); i++) {
		seg_gram g;
		if (seg_gram_lookup(s, pack(pat + i), &g, &f->err) != 1) {
			nacc = 0;
			break;
		}
		assert_int_equal(seg_gram_docs(s, &g, ids, &f->err), XIHU_OK);
		if (!acc) {
			acc = malloc(((size_t)g.df + 1) * sizeof *acc);
			memcpy(acc, ids, g.df * sizeof *ids);
			nacc = g.df;
			continue;
		}
		uint32_t a = 0, b = 0, k = 0;
		while (a < nacc && b < g.df)
			if (acc[a] < ids[b])
				a++;
			else if (acc[a] > ids[b])
				b++;
			else
				acc[k++] = acc[a++], b++;
		nacc = k;
	}
	nacc = acc ? seg_gram_ids_docs(s, acc, nacc) : 0;
	if (nacc)
		memcpy(docs, acc, nacc * sizeof *acc);
	free(acc);
	free(ids);
	return nacc;
}

/* Filler lines "filler NNNNNN abcdefgh\n" from *at up to about len bytes,
 * with line (NULL: none) in the middle of them at byte mid. */
static char *big_text(size_t len, size_t mid, const char *line, const char *line2, size_t *out_len)
{
	size_t cap = len + (line ? strlen(line) : 0) + (line2 ? strlen(line2) : 0) + 64;
	char *b = malloc(cap);
	assert_non_null(b);
	size_t n = 0;
	for (uint32_t i = 0; n < len; i++) {
		if (line && n >= mid) {
			n += (size_t)sprintf(b + n, "%s\n", line);
			line = NULL;
		}
		if (line2 && n >= len - 1000) {
			n += (size_t)sprintf(b + n, "%s\n", line2);
			line2 = NULL;
		}
		n += (size_t)sprintf(b + n, "filler %06u abcdefgh\n", i);
	}
	*out_len = n;
	return b;
}

#define NBIG 5

/* Docs over GRAM_BLOCK_MIN: their halves of LIMIT_DURATION_ADJ far apart
 * (two blocks), the whole on one line, both halves on one long line (a
 * block of its own); a small doc with the halves on two lines. */
static void big_docs(tdoc *docs, char **bufs)
{
	size_t len;
	bufs[0] = big_text(400 << 10, 8 << 10, "x = LIMIT_DURATION;", "y = DURATION_ADJ;", &len);
	docs[0] = (tdoc){.text = "a", .raw = bufs[0], .raw_len = len};
	bufs[1] = big_text(300 << 10, 100 << 10, "z = LIMIT_DURATION_ADJ;", NULL, &len);
	docs[1] = (tdoc){.text = "b", .raw = bufs[1], .raw_len = len};
	char *longl = malloc(GRAM_BLOCK + 200);
	memset(longl, 'q', GRAM_BLOCK + 199);
	memcpy(longl, "LIMIT_DURATION", 14);
	memcpy(longl + GRAM_BLOCK + 150, "DURATION_ADJ", 12);
	longl[GRAM_BLOCK + 199] = 0;
	bufs[2] = big_text(600 << 10, 300 << 10, longl, NULL, &len);
	free(longl);
	docs[2] = (tdoc){.text = "c", .raw = bufs[2], .raw_len = len};
	bufs[3] = strdup("LIMIT_DURATION\nDURATION_ADJ\n");
	docs[3] = (tdoc){.text = "d", .raw = bufs[3], .raw_len = strlen(bufs[3])};
	bufs[4] = big_text(GRAM_BLOCK_MIN + 1, 0, NULL, NULL, &len); /* just over GRAM_BLOCK_MIN */
	docs[4] = (tdoc){.text = "e", .raw = bufs[4], .raw_len = len};
}

static void test_big_doc_blocks(void **state)
{
	fx *f = *state;
	tdoc docs[NBIG];
	char *bufs[NBIG];
	big_docs(docs, bufs);
	write_seg(f, 9, docs, NBIG);
	seg *s = open_checked(f, 9, 0);
	uint32_t keep[NBIG] = {0, 1, 2, 3, 4};
	expect_grams(f, s, docs, keep, NBIG);
	seg_doc sd;
	assert_int_equal(seg_doc_get(s, 0, &sd, &f->err), XIHU_OK);
	assert_true(sd.gram_ids >= 6); /* 400 KiB in blocks of about 64 KiB */
	assert_int_equal(seg_doc_get(s, 3, &sd, &f->err), XIHU_OK);
	assert_int_equal(sd.gram_ids, 1);
	uint32_t got[NBIG];
	assert_int_equal(and_docs(f, s, "LIMIT_DURATION_ADJ", got), 3);
	assert_int_equal(got[0], 1); /* not doc 0: its halves are blocks apart */
	assert_int_equal(got[1], 2); /* the long line is one block */
	assert_int_equal(got[2], 3); /* a small doc is one gram id */
	assert_int_equal(and_docs(f, s, "LIMIT_DURATION", got), 4);
	assert_int_equal(and_docs(f, s, "filler 000000 ab", got), 4);
	seg_close(s);
	for (uint32_t i = 0; i < NBIG; i++)
		free(bufs[i]);
}

/* Big docs merged with some deleted: each survivor keeps its gram ids, in
 * order, renumbered after the survivors before it. */
static void test_merge_big_docs(void **state)
{
	fx *f = *state;
	tdoc docs[2 * NBIG];
	char *bufs[NBIG];
	big_docs(docs, bufs);
	for (uint32_t i = 0; i < NBIG; i++)
		docs[NBIG + i] = docs[NBIG - 1 - i];
	write_seg(f, 10, docs, NBIG);
	write_seg(f, 11, docs + NBIG, NBIG);
	uint8_t del[1] = {1u << 1 | 1u << 3}; /* docs 1 and 3 of segment 10 */
	assert_int_equal(seg_write_deletes(f->dir, 10, 1, del, NBIG, &f->err), XIHU_OK);
	seg *in[2] = {open_checked(f, 10, 1), open_checked(f, 11, 0)};
	seg_info info;
	if (seg_merge(f->dir, (const seg *const *)in, 2, 12, &info, &f->err))
		fail_msg("merge: %s", f->err.msg);
	seg *m = open_checked(f, 12, 0);
	uint32_t keep[] = {0, 2, 4, 5, 6, 7, 8, 9};
	expect_grams(f, m, docs, keep, 8);
	uint32_t got[2 * NBIG];
	/* survivors holding the pattern in one block: 2 (now 1), then the
	 * second input's 3, 2, 1 (now 4, 5, 6) */
	assert_int_equal(and_docs(f, m, "LIMIT_DURATION_ADJ", got), 4);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 4);
	assert_int_equal(got[2], 5);
	assert_int_equal(got[3], 6);
	seg_close(m);
	seg_close(in[0]);
	seg_close(in[1]);
	for (uint32_t i = 0; i < NBIG; i++)
		free(bufs[i]);
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
	const uint8_t *foot = b + len - 12 - 28;
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
	expect_check_fails(f, 7, "gram id count out of range", entries + 5 * esize + 4);

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
	set_u32(b + len - 12 - 12, n + 1);
	put_back(grams_path(f, 7), b, len);
	seg *s = NULL;
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_open(f->dir, 7, 0, false, &s, &f->err), XIHU_ECORRUPT);
	assert_null(s);
	char want[64];
	snprintf(want, sizeof want, "offset %zu: ", len - 12 - 12);
	assert_non_null(strstr(f->err.msg, want));

	/* the docs' first gram ids (ndocs + 1 u32 before the footer) */
	size_t map = len - 12 - 28 - 4 * ((size_t)n + 1);
	uint32_t dg = 1, dn = 1; /* a greppable doc past a greppable one; a doc not greppable before a greppable one */
	while (!docs[dg].raw || !docs[dg - 1].raw)
		dg++;
	while (docs[dn].raw || !docs[dn + 1].raw)
		dn++;
	memcpy(b, orig, len);
	set_u32(b + map + 4 * (dg + 1), get_u32le(b + map + 4 * dg) - 1);
	put_back(grams_path(f, 7), b, len);
	expect_check_fails(f, 7, "first gram ids out of order", map + 4 * (dg + 1));
	memcpy(b, orig, len);
	set_u32(b + map + 4 * (dn + 1), get_u32le(b + map + 4 * dn) + 1);
	put_back(grams_path(f, 7), b, len);
	expect_check_fails(f, 7, "owns gram ids but is not greppable", map + 4 * (dn + 1));
	/* the last doc's end is not the footer's count: seg_open refuses */
	memcpy(b, orig, len);
	set_u32(b + map + 4 * n, get_u32le(b + map + 4 * n) + 1);
	put_back(grams_path(f, 7), b, len);
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_open(f->dir, 7, 0, false, &s, &f->err), XIHU_ECORRUPT);
	snprintf(want, sizeof want, "offset %zu: ", map + 4 * (size_t)n);
	assert_non_null(strstr(f->err.msg, want));
	assert_non_null(strstr(f->err.msg, "gram id count"));

	/* repaired, it checks clean */
	memcpy(b, orig, len);
	put_back(grams_path(f, 7), b, len);
	seg_close(open_checked(f, 7, 0));
	free(orig);
	free(b);
	free_docs(docs, bufs, n);
}

/* A merge reads the trigram lists on a thread of its own, beside the
 * terms: a damaged list in an input must still fail the merge with the
 * input's file and offset (the thread's own error, not lost at the join),
 * and leave no output behind. */
static void test_merge_damaged_list_named(void **state)
{
	fx *f = *state;
	char **bufs_a, **bufs_b;
	uint32_t na = 200, nb = 300;
	tdoc *a = random_docs(na, 19, &bufs_a);
	tdoc *b = random_docs(nb, 23, &bufs_b);
	write_seg(f, 13, a, na);
	write_seg(f, 14, b, nb);
	size_t len;
	uint8_t *buf = slurp(grams_path(f, 14), &len);
	uint64_t ngrams, entries;
	uint32_t esize;
	layout(buf, len, &ngrams, &entries, &esize);
	assert_true(ngrams > 40);
	/* one df too many: the list runs out when the merge decodes it */
	uint8_t *e = buf + entries + (ngrams / 2) * esize;
	set_u32(e + 4, get_u32le(e + 4) + 1);
	put_back(grams_path(f, 14), buf, len);
	seg *in[2] = {open_checked(f, 13, 0), NULL};
	if (seg_open(f->dir, 14, 0, true, &in[1], &f->err))
		fail_msg("seg_open: %s", f->err.msg);
	seg_info info;
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_merge(f->dir, (const seg *const *)in, 2, 15, &info, &f->err), XIHU_ECORRUPT);
	if (!strstr(f->err.msg, grams_path(f, 14)) || !strstr(f->err.msg, "trigram list"))
		fail_msg("got [%s]", f->err.msg);
	struct stat st;
	assert_int_not_equal(stat(grams_path(f, 15), &st), 0);
	seg_close(in[0]);
	seg_close(in[1]);
	free(buf);
	free_docs(a, bufs_a, na);
	free_docs(b, bufs_b, nb);
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
		cmocka_unit_test_setup_teardown(test_big_doc_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_big_docs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_grams_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_damaged_list_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_table_byte, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
