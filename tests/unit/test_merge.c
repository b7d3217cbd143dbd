/*
 * test_merge.c: seg_merge (index/seg_merge.c) against segments built
 * directly.  A merge must hold what one segment written from the same live
 * docs in the same order holds: the same dictionary, postings and positions
 * term by term through the reader, the same doc records and texts; and,
 * when no input has a whole postings block of a term (so the merge has no
 * block to copy), the same bytes.  A whole input block whose docs all live
 * is copied with its positions as they are, the output's open block closed
 * short before it: the block sizes are checked.  Also: deletions purged
 * (including a doc store block that loses some of its docs), everything
 * deleted, different field counts, merging a merge, and failures that leave
 * no files behind.
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

#include "core/seg-int.h"

static const char *const fields3[] = {"body", "path", "title"};

static int setup(void **state)
{
	return fx_setup(state, "/tmp/xihu-test-merge-XXXXXX");
}

static int teardown(void **state)
{
	return fx_teardown(state);
}

/* ---- a corpus of pseudo-random docs ----------------------------------------- */

static uint64_t rng;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

typedef struct tdoc {
	char name[32];
	char *text;
	size_t len;
	bool title;
} tdoc;

/* n docs: word counts from 0 to ~600 (a few of ~9000, over a store block),
 * words w0..w2999 skewed so that some terms span many postings blocks. */
static tdoc *make_docs(uint32_t n, uint64_t seed)
{
	rng = seed;
	tdoc *docs = calloc(n, sizeof *docs);
	for (uint32_t i = 0; i < n; i++) {
		tdoc *d = &docs[i];
		snprintf(d->name, sizeof d->name, "dir%u/file%u.c", i % 7, i);
		uint32_t words = rnd() % 10 == 0 ? 0 : rnd() % 600;
		if (rnd() % 97 == 0)
			words = 9000;
		d->text = malloc((size_t)words * 8 + 1);
		size_t off = 0;
		for (uint32_t k = 0; k < words; k++) {
			uint32_t w = rnd() % (rnd() % 3000 + 1);
			off += (size_t)sprintf(d->text + off, "%sw%u", k ? " " : "", w);
		}
		d->text[off] = 0;
		d->len = off;
		d->title = rnd() % 3 == 0;
	}
	return docs;
}

static void free_docs(tdoc *docs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(docs[i].text);
	free(docs);
}

/* write_docs gives each doc its text as raw bytes too (trigrams in .grams) */
static bool with_raw;

/* Writes docs [from, to) except those with del[i] set into segment id. */
static void write_docs(fx *f, uint64_t id, uint32_t nfields, const tdoc *docs, uint32_t from, uint32_t to,
                       const bool *del)
{
	seg_writer *w = NULL;
	assert_int_equal(seg_writer_new(f->dir, id, nfields, fields3, &w, &f->err), XIHU_OK);
	for (uint32_t i = from; i < to; i++) {
		if (del && del[i])
			continue;
		const tdoc *d = &docs[i];
		seg_doc_in in = {.name = d->name, .name_len = (uint32_t)strlen(d->name), .mtime_ns = 1000 + i,
		                 .size = d->len, .text = d->text, .text_len = d->len, .record = i % 5 == 0};
		if (with_raw && d->len > 0) {
			in.raw = d->text;
			in.raw_len = d->len;
		}
		assert_int_equal(seg_writer_begin_doc(w, &in), XIHU_OK);
		/* body: the words at their positions */
		uint32_t pos = 0;
		for (const char *p = d->text; *p;) {
			const char *e = strchr(p, ' ');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			seg_writer_add_token(w, FIELD_BODY, p, (uint32_t)l, pos++);
			p += l + (e != NULL);
		}
		seg_writer_add_token(w, FIELD_PATH, d->name, 4, 0);
		seg_writer_add_token(w, FIELD_PATH, d->name + 5, (uint32_t)strlen(d->name + 5), 1);
		if (nfields > 2 && d->title) {
			seg_writer_add_token(w, FIELD_TITLE, "title", 5, 0);
			if (d->len > 2)
				seg_writer_add_token(w, FIELD_TITLE, d->text, 2, 1);
		}
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	seg_info info;
	if (seg_writer_finish(w, &info, &f->err))
		fail_msg("finish: %s", f->err.msg);
	seg_writer_free(w);
}

static seg *open_seg(fx *f, uint64_t id, uint64_t del_gen)
{
	seg *s = NULL;
	if (seg_open(f->dir, id, del_gen, true, &s, &f->err))
		fail_msg("seg_open %llu: %s", (unsigned long long)id, f->err.msg);
	if (seg_check(f->dir, id, del_gen, &f->err))
		fail_msg("seg_check %llu: %s", (unsigned long long)id, f->err.msg);
	return s;
}

/* Deletes the docs of segment id marked in del[from, to). */
static void delete_docs(fx *f, uint64_t id, const bool *del, uint32_t from, uint32_t to)
{
	uint32_t n = to - from;
	uint8_t *bm = calloc((n + 7) / 8 + 1, 1);
	for (uint32_t i = from; i < to; i++)
		if (del[i])
			bm[(i - from) >> 3] |= (uint8_t)(1u << ((i - from) & 7));
	assert_int_equal(seg_write_deletes(f->dir, id, 1, bm, n, &f->err), XIHU_OK);
	free(bm);
}

static seg_info merge_ok(fx *f, const seg *const *in, uint32_t n, uint64_t out_id)
{
	seg_info info;
	memset(&info, 0, sizeof info);
	if (seg_merge(f->dir, in, n, out_id, &info, &f->err))
		fail_msg("merge: %s", f->err.msg);
	assert_int_equal(info.id, out_id);
	return info;
}

/* ---- comparing two segments ------------------------------------------------ */

static bool same_file(fx *f, uint64_t a, uint64_t b, const char *ext)
{
	char pa[512], pb[512];
	snprintf(pa, sizeof pa, "%s/%012llx.%s", f->dir, (unsigned long long)a, ext);
	snprintf(pb, sizeof pb, "%s/%012llx.%s", f->dir, (unsigned long long)b, ext);
	FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
	assert_non_null(fa);
	assert_non_null(fb);
	bool same = true;
	for (;;) {
		int ca = fgetc(fa), cb = fgetc(fb);
		if (ca != cb) {
			same = false;
			break;
		}
		if (ca == EOF)
			break;
	}
	fclose(fa);
	fclose(fb);
	return same;
}

/* The same docs, tfs and positions; with blocks, also the same blocks. */
static void same_postings(fx *f, const seg *a, const seg *b, const seg_term *ta, const seg_term *tb, bool blocks)
{
	assert_int_equal(ta->df, tb->df);
	assert_int_equal(ta->cf, tb->cf);
	assert_int_equal(ta->max_tf, tb->max_tf);
	postings pa, pb;
	assert_int_equal(postings_init(&pa, a, ta, &f->err), XIHU_OK);
	assert_int_equal(postings_init(&pb, b, tb, &f->err), XIHU_OK);
	for (;;) {
		assert_int_equal(pa.doc, pb.doc);
		if (pa.doc == POSTINGS_END)
			break;
		assert_int_equal(postings_freq(&pa), postings_freq(&pb));
		if (blocks) {
			assert_int_equal(pa.blk_last, pb.blk_last);
			assert_int_equal(pa.blk_max_tf, pb.blk_max_tf);
			assert_int_equal(pa.blk_min_dl, pb.blk_min_dl);
		}
		const uint32_t *qa, *qb;
		int na = postings_positions(&pa, &qa), nb = postings_positions(&pb, &qb);
		assert_int_equal(na, nb);
		assert_true(na > 0);
		assert_memory_equal(qa, qb, (size_t)na * sizeof *qa);
		postings_next(&pa);
		postings_next(&pb);
	}
	assert_int_equal(pa.rc, 0);
	assert_int_equal(pb.rc, 0);
	postings_free(&pa);
	postings_free(&pb);
}

/* Everything a search can see of a and b is the same (with blocks, also
 * where the postings blocks end). */
static void same_segments(fx *f, const seg *a, const seg *b, bool blocks)
{
	assert_int_equal(seg_ndocs(a), seg_ndocs(b));
	assert_int_equal(seg_nterms(a), seg_nterms(b));
	assert_int_equal(seg_nfields(a), seg_nfields(b));
	for (uint32_t fl = 0; fl < seg_nfields(a); fl++) {
		assert_string_equal(seg_field_name(a, fl), seg_field_name(b, fl));
		assert_int_equal(seg_field_total(a, fl), seg_field_total(b, fl));
		seg_term_iter ia, ib;
		assert_int_equal(seg_prefix_init(&ia, a, fl, "", 0, &f->err), XIHU_OK);
		assert_int_equal(seg_prefix_init(&ib, b, fl, "", 0, &f->err), XIHU_OK);
		for (;;) {
			const char *sa, *sb;
			uint32_t la, lb;
			seg_term ta, tb;
			int ra = seg_prefix_next(&ia, &sa, &la, &ta, &f->err);
			int rb = seg_prefix_next(&ib, &sb, &lb, &tb, &f->err);
			assert_int_equal(ra, rb);
			if (ra != 1)
				break;
			assert_int_equal(la, lb);
			assert_memory_equal(sa, sb, la);
			same_postings(f, a, b, &ta, &tb, blocks);
		}
	}
	for (uint32_t d = 0; d < seg_ndocs(a); d++) {
		seg_doc da, db;
		assert_int_equal(seg_doc_get(a, d, &da, &f->err), XIHU_OK);
		assert_int_equal(seg_doc_get(b, d, &db, &f->err), XIHU_OK);
		assert_int_equal(da.name_len, db.name_len);
		assert_memory_equal(da.name, db.name, da.name_len);
		assert_int_equal(da.record, db.record);
		assert_int_equal(da.mtime_ns, db.mtime_ns);
		assert_int_equal(da.size, db.size);
		for (uint32_t fl = 0; fl < seg_nfields(a); fl++)
			assert_int_equal(seg_doc_field_len(a, d, fl), seg_doc_field_len(b, d, fl));
		char *xa, *xb;
		size_t la, lb;
		assert_int_equal(seg_doc_text(a, d, &xa, &la, &f->err), XIHU_OK);
		assert_int_equal(seg_doc_text(b, d, &xb, &lb, &f->err), XIHU_OK);
		assert_int_equal(la, lb);
		assert_memory_equal(xa, xb, la);
		free(xa);
		free(xb);
	}
}

/* a (built directly) and b (merged, with no whole input block to copy)
 * hold the same: through the reader, and byte for byte. */
static void same_as_direct(fx *f, uint64_t direct, uint64_t merged)
{
	seg *a = open_seg(f, direct, 0), *b = open_seg(f, merged, 0);
	same_segments(f, a, b, true);
	seg_close(a);
	seg_close(b);
	assert_true(same_file(f, direct, merged, "terms"));
	assert_true(same_file(f, direct, merged, "post"));
	assert_true(same_file(f, direct, merged, "pos"));
}

/* a (built directly) and b (merged, whole blocks copied) hold the same
 * docs, postings and positions; b passed seg_check when opened (its block
 * bounds and impacts are exact). */
static void same_docs_as_direct(fx *f, uint64_t direct, uint64_t merged)
{
	seg *a = open_seg(f, direct, 0), *b = open_seg(f, merged, 0);
	same_segments(f, a, b, false);
	seg_close(a);
	seg_close(b);
}

/* The sizes of term's postings blocks in s into n[] (at most max); returns
 * how many blocks. */
static uint32_t block_sizes(fx *f, const seg *s, const char *term, uint32_t *n, uint32_t max)
{
	seg_term t;
	assert_int_equal(seg_lookup(s, FIELD_BODY, term, (uint32_t)strlen(term), &t, &f->err), 1);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	uint32_t k = 0, cur = UINT32_MAX;
	for (uint32_t d = p.doc; d != POSTINGS_END; d = postings_next(&p)) {
		if (p.block != cur) {
			assert_true(k < max);
			n[k++] = 0;
			cur = p.block;
		}
		n[k - 1]++;
	}
	assert_int_equal(p.rc, 0);
	postings_free(&p);
	return k;
}

/* ---- cases ------------------------------------------------------------------ */

static void test_merge_equals_direct(void **state)
{
	fx *f = *state;
	uint32_t n = 900;
	tdoc *docs = make_docs(n, 0x9e3779b97f4a7c15ull);
	/* inputs of at most 127 docs (one of a single doc): no whole block
	 * to copy, so the bytes are the direct build's */
	static const uint32_t cut[] = {0, 101, 102, 201, 301, 401, 501, 601, 701, 801, 900};
	seg *small[10];
	for (uint32_t i = 0; i < 10; i++) {
		write_docs(f, 20 + i, 3, docs, cut[i], cut[i + 1], NULL);
		small[i] = open_seg(f, 20 + i, 0);
	}
	write_docs(f, 9, 3, docs, 0, n, NULL);
	merge_ok(f, (const seg *const *)small, 10, 30);
	same_as_direct(f, 9, 30);
	for (uint32_t i = 0; i < 10; i++)
		seg_close(small[i]);

	write_docs(f, 1, 3, docs, 0, 300, NULL);
	write_docs(f, 2, 3, docs, 300, 301, NULL); /* a segment of one doc */
	write_docs(f, 3, 3, docs, 301, n, NULL);
	seg *in[3] = {open_seg(f, 1, 0), open_seg(f, 2, 0), open_seg(f, 3, 0)};
	seg_info info = merge_ok(f, (const seg *const *)in, 3, 10);
	assert_int_equal(info.ndocs, n);
	same_docs_as_direct(f, 9, 10);
	/* every store block was whole, so each was copied as it was */
	seg *m = open_seg(f, 10, 0);
	assert_int_equal(seg_store_nblocks(m),
	                 seg_store_nblocks(in[0]) + seg_store_nblocks(in[1]) + seg_store_nblocks(in[2]));
	seg_close(m);
	for (int i = 0; i < 3; i++)
		seg_close(in[i]);
	free_docs(docs, n);
}

static const char *const all_exts[] = {"terms", "post", "pos", "docs", "store", "grams"};

/* No file named *.tmp is left in the directory. */
static void no_tmp_files(fx *f)
{
	DIR *d = opendir(f->dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 4 && !strcmp(e->d_name + l - 4, ".tmp"))
			fail_msg("left behind: %s", e->d_name);
	}
	closedir(d);
}

/* seg_out keeps its tables (doc records and names, the dictionary's, the
 * store's and the trigrams' indexes, the docs' first gram ids) in spools
 * of a window in RAM and a temporary file: with a window of 5 bytes every
 * table goes through its file, in pieces that cut its entries, and the
 * six files must come out byte for byte as with all of it in RAM, from the
 * writer and from a merge.  The writer turns its trigrams around in passes
 * of 300 postings too (gram_acc_turn_room). */
static void test_spooled_tables_equal(void **state)
{
	fx *f = *state;
	uint32_t n = 900;
	tdoc *docs = make_docs(n, 0x2545f4914f6cdd1dull);
	size_t window = seg_out_spool_window;
	with_raw = true;
	write_docs(f, 1, 3, docs, 0, 400, NULL);
	write_docs(f, 2, 3, docs, 400, n, NULL);
	write_docs(f, 9, 3, docs, 0, n, NULL);
	seg *in[2] = {open_seg(f, 1, 0), open_seg(f, 2, 0)};
	merge_ok(f, (const seg *const *)in, 2, 10);
	seg_out_spool_window = 5;
	size_t room = gram_acc_turn_room;
	gram_acc_turn_room = 300; /* and the writer's trigrams turned around in passes */
	write_docs(f, 11, 3, docs, 0, n, NULL);
	merge_ok(f, (const seg *const *)in, 2, 12);
	seg_out_spool_window = window;
	gram_acc_turn_room = room;
	with_raw = false;
	for (size_t k = 0; k < sizeof all_exts / sizeof *all_exts; k++) {
		if (!same_file(f, 9, 11, all_exts[k]))
			fail_msg("written through spools: the .%s file differs", all_exts[k]);
		if (!same_file(f, 10, 12, all_exts[k]))
			fail_msg("merged through spools: the .%s file differs", all_exts[k]);
	}
	seg *a = open_seg(f, 11, 0), *b = open_seg(f, 12, 0);
	assert_true(seg_ngrams(a) > 1000);
	assert_true(seg_nterms(a) > 1000);
	same_segments(f, a, b, false); /* 12 copied whole blocks */
	seg_close(a);
	seg_close(b);
	for (int i = 0; i < 2; i++)
		seg_close(in[i]);
	no_tmp_files(f);
	free_docs(docs, n);
}

static void test_merge_purges_deletes(void **state)
{
	fx *f = *state;
	uint32_t n = 1000;
	tdoc *docs = make_docs(n, 0x1234567ull);
	bool *del = calloc(n, sizeof *del);
	rng = 77;
	for (uint32_t i = 0; i < n; i++)
		del[i] = rnd() % 4 == 0 || (i >= 100 && i < 260); /* a run: whole blocks go */
	del[0] = del[599] = del[600] = del[n - 1] = true;
	write_docs(f, 1, 3, docs, 0, 600, NULL);
	write_docs(f, 2, 3, docs, 600, n, NULL);
	delete_docs(f, 1, del, 0, 600);
	delete_docs(f, 2, del, 600, n);
	write_docs(f, 9, 3, docs, 0, n, del); /* the live docs only */
	seg *in[2] = {open_seg(f, 1, 1), open_seg(f, 2, 1)};
	assert_true(seg_ndeleted(in[0]) > 150);
	seg_info info = merge_ok(f, (const seg *const *)in, 2, 10);
	uint32_t live = 0;
	for (uint32_t i = 0; i < n; i++)
		live += !del[i];
	assert_int_equal(info.ndocs, live);
	same_as_direct(f, 9, 10);
	seg_close(in[0]);
	seg_close(in[1]);

	/* a merge of the merge (its store mixes copied and re-compressed
	 * blocks), with more deletions, against a direct build again */
	bool *del2 = calloc(n, sizeof *del2);
	uint8_t *bm = calloc(live / 8 + 1, 1);
	for (uint32_t i = 0, k = 0; i < n; i++) {
		if (del[i])
			continue;
		if (k % 3 == 1) {
			del2[i] = true;
			bm[k >> 3] |= (uint8_t)(1u << (k & 7));
		}
		k++;
	}
	for (uint32_t i = 0; i < n; i++)
		del2[i] = del2[i] || del[i];
	assert_int_equal(seg_write_deletes(f->dir, 10, 1, bm, live, &f->err), XIHU_OK);
	write_docs(f, 11, 3, docs, 0, n, del2);
	seg *m = open_seg(f, 10, 1);
	merge_ok(f, (const seg *const *)&m, 1, 12);
	same_as_direct(f, 11, 12);
	seg_close(m);
	free(bm);
	free(del2);
	free(del);
	free_docs(docs, n);
}

static void test_merge_all_deleted(void **state)
{
	fx *f = *state;
	uint32_t n = 200;
	tdoc *docs = make_docs(n, 42);
	bool *del = malloc(n * sizeof *del);
	for (uint32_t i = 0; i < n; i++)
		del[i] = true;
	write_docs(f, 1, 3, docs, 0, 150, NULL);
	write_docs(f, 2, 3, docs, 150, n, NULL);
	delete_docs(f, 1, del, 0, 150);
	delete_docs(f, 2, del, 150, n);
	seg *in[2] = {open_seg(f, 1, 1), open_seg(f, 2, 1)};
	seg_info info = merge_ok(f, (const seg *const *)in, 2, 3);
	assert_int_equal(info.ndocs, 0);
	assert_int_equal(info.nterms, 0);
	seg *s = open_seg(f, 3, 0);
	assert_int_equal(seg_ndocs(s), 0);
	assert_int_equal(seg_nterms(s), 0);
	assert_int_equal(seg_nfields(s), 3);
	seg_term t;
	assert_int_equal(seg_lookup(s, 0, "w1", 2, &t, &f->err), 0);
	seg_close(s);
	seg_close(in[0]);
	seg_close(in[1]);
	free(del);
	free_docs(docs, n);
}

static void test_merge_field_counts(void **state)
{
	fx *f = *state;
	uint32_t n = 400;
	tdoc *docs = make_docs(n, 7);
	write_docs(f, 1, 2, docs, 0, 200, NULL); /* body, path */
	write_docs(f, 2, 3, docs, 200, n, NULL); /* body, path, title */
	/* direct: docs 0..199 without titles, as segment 1 had them */
	for (uint32_t i = 0; i < 200; i++)
		docs[i].title = false;
	write_docs(f, 9, 3, docs, 0, n, NULL);
	seg *in[2] = {open_seg(f, 1, 0), open_seg(f, 2, 0)};
	merge_ok(f, (const seg *const *)in, 2, 10);
	same_docs_as_direct(f, 9, 10);
	/* the other order: the widest input need not come first */
	seg *rev[2] = {in[1], in[0]};
	merge_ok(f, (const seg *const *)rev, 2, 11);
	seg *s = open_seg(f, 11, 0);
	assert_int_equal(seg_nfields(s), 3);
	assert_int_equal(seg_ndocs(s), n);
	seg_close(s);

	/* fields that disagree by name are refused */
	static const char *const other[] = {"body", "author"};
	seg_writer *w = NULL;
	assert_int_equal(seg_writer_new(f->dir, 20, 2, other, &w, &f->err), XIHU_OK);
	seg_info info;
	assert_int_equal(seg_writer_finish(w, &info, &f->err), XIHU_OK);
	seg_writer_free(w);
	seg *odd = open_seg(f, 20, 0);
	seg *bad[2] = {in[1], odd};
	assert_int_equal(seg_merge(f->dir, (const seg *const *)bad, 2, 21, &info, &f->err), XIHU_EINVAL);
	assert_non_null(strstr(f->err.msg, "author"));
	struct stat st;
	char p[512];
	snprintf(p, sizeof p, "%s/%012llx.store", f->dir, 21ull);
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(seg_merge(f->dir, (const seg *const *)bad, 0, 21, &info, &f->err), XIHU_EINVAL);
	seg_close(odd);
	seg_close(in[0]);
	seg_close(in[1]);
	free_docs(docs, n);
}

/* Docs "a<i> every b<i> every": "every" is in each, twice. */
static tdoc *every_docs(uint32_t n)
{
	tdoc *docs = calloc(n, sizeof *docs);
	for (uint32_t i = 0; i < n; i++) {
		snprintf(docs[i].name, sizeof docs[i].name, "d/every%u", i);
		docs[i].text = malloc(64);
		docs[i].len = (size_t)sprintf(docs[i].text, "a%u every b%u every", i % 50, i % 7);
	}
	return docs;
}

/* Whole input blocks are copied: the block open before one closes short,
 * an input's last (partial) block joins the next input's docs, and a block
 * with a deleted doc goes doc by doc. */
static void test_merge_copies_whole_blocks(void **state)
{
	fx *f = *state;
	uint32_t n = 900, sz[16], k;
	tdoc *docs = every_docs(n);
	write_docs(f, 1, 2, docs, 0, 300, NULL);
	write_docs(f, 2, 2, docs, 300, 600, NULL);
	write_docs(f, 3, 2, docs, 600, 650, NULL); /* no whole block */
	write_docs(f, 4, 2, docs, 650, n, NULL);
	write_docs(f, 9, 2, docs, 0, n, NULL);
	seg *in[4] = {open_seg(f, 1, 0), open_seg(f, 2, 0), open_seg(f, 3, 0), open_seg(f, 4, 0)};
	merge_ok(f, (const seg *const *)in, 4, 10);
	same_docs_as_direct(f, 9, 10);
	seg *m = open_seg(f, 10, 0);
	/* input 1: 128 128 copied, 44 open, closed short before input 2's
	 * 128 128; its 44 and input 3's 50 open, closed short before input
	 * 4's 128; its last 122 */
	k = block_sizes(f, m, "every", sz, 16);
	uint32_t want[] = {128, 128, 44, 128, 128, 44 + 50, 128, 122};
	assert_int_equal(k, 8);
	assert_memory_equal(sz, want, sizeof want);
	seg_close(m);

	/* one deleted doc in input 2's second block: that block goes doc by
	 * doc (its 127 live docs and one of the 44 after them make a block,
	 * 43 stay open for input 3's 50) */
	bool *del = calloc(n, sizeof *del);
	del[300 + 130] = true;
	delete_docs(f, 2, del, 300, 600);
	write_docs(f, 19, 2, docs, 0, n, del);
	seg *in2[4] = {in[0], open_seg(f, 2, 1), in[2], in[3]};
	merge_ok(f, (const seg *const *)in2, 4, 20);
	same_docs_as_direct(f, 19, 20);
	m = open_seg(f, 20, 0);
	k = block_sizes(f, m, "every", sz, 16);
	uint32_t want2[] = {128, 128, 44, 128, 128, 43 + 50, 128, 122};
	assert_int_equal(k, 8);
	assert_memory_equal(sz, want2, sizeof want2);
	seg_close(m);
	seg_close(in2[1]);
	for (int i = 0; i < 4; i++)
		seg_close(in[i]);
	free(del);
	free_docs(docs, n);
}

/* An output id whose files exist already: the merge fails cleanly and
 * leaves the files it did not create alone. */
static void test_merge_existing_output(void **state)
{
	fx *f = *state;
	tdoc *docs = make_docs(50, 3);
	write_docs(f, 1, 3, docs, 0, 50, NULL);
	write_docs(f, 2, 3, docs, 0, 50, NULL);
	seg *in = open_seg(f, 1, 0);
	seg_info info;
	assert_int_equal(seg_merge(f->dir, (const seg *const *)&in, 1, 2, &info, &f->err), XIHU_EIO);
	assert_non_null(strstr(f->err.msg, "000000000002.store"));
	seg_close(in);
	seg *s = open_seg(f, 2, 0); /* intact */
	assert_int_equal(seg_ndocs(s), 50);
	seg_close(s);
	free_docs(docs, 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge_equals_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spooled_tables_equal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_purges_deletes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_all_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_field_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_existing_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_copies_whole_blocks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
