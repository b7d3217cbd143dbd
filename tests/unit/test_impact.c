/*
 * test_impact.c: the per-block impacts of format version 3 (docs/FORMAT.md
 * §3.2).  A segment with varied tfs and field lengths, whose terms span
 * several postings blocks, one block, and a short last block: every
 * block's stored impact must bound every doc's BM25 tf part in it and be
 * the block's maximum rounded up to a float, computed here independently
 * of the library.  Also: the shallow cursor (postings_shallow) against the
 * decoded blocks and postings_advance, damaged impacts (out of range:
 * corrupt at init; in range but wrong: seg_check and xihu_index_check),
 * and a merge recomputing impacts for the merged segment's avgdl.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
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
#include <zlib.h>

#include "corpus.h"
#include "core/seg-int.h"

static const char *const fields2[] = {"body", "path"};

static int setup(void **state)
{
	return fx_setup(state, "/tmp/xihu-test-impact-XXXXXX");
}

static int teardown(void **state)
{
	return fx_teardown(state);
}

static uint64_t rng;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* ---- a corpus with known tfs and lengths ------------------------------------ */

/* The terms of the body field, by their tf arrays in tdoc. */
enum { T_MANY, T_MID, T_RARE, NTERMS };
static const char *const term_names[NTERMS] = {"many", "mid", "rare"};

typedef struct tdoc {
	uint32_t tf[NTERMS]; /* 0: absent */
	uint32_t len;        /* body tokens: the terms' occurrences plus fillers */
} tdoc;

/* n docs; long_docs makes the fillers about 4x longer.  "many" is in ~85%
 * of the docs (several blocks), "mid" in ~1 of 4 (a full block and a short
 * one for n ~ 700), "rare" in ~1 of 30 (one short block). */
static tdoc *make_docs(uint32_t n, uint64_t seed, bool long_docs)
{
	rng = seed;
	tdoc *d = calloc(n, sizeof *d);
	for (uint32_t i = 0; i < n; i++) {
		if (rnd() % 100 < 85)
			d[i].tf[T_MANY] = rnd() % 20 == 0 ? 5 + rnd() % 40 : 1 + rnd() % 3;
		if (rnd() % 4 == 0)
			d[i].tf[T_MID] = 1 + rnd() % 3;
		if (rnd() % 30 == 0)
			d[i].tf[T_RARE] = 1 + rnd() % 2;
		uint32_t fill = rnd() % 40 == 0 ? 0 : rnd() % (long_docs ? 1200 : 300);
		d[i].len = d[i].tf[T_MANY] + d[i].tf[T_MID] + d[i].tf[T_RARE] + fill;
	}
	return d;
}

/* Writes the docs not marked in del into segment id: each term's
 * occurrences spread among fillers, so its positions are not the first. */
static void write_seg(fx *f, uint64_t id, const tdoc *d, uint32_t n, const bool *del)
{
	seg_writer *w = NULL;
	assert_int_equal(seg_writer_new(f->dir, id, 2, fields2, &w, &f->err), XIHU_OK);
	for (uint32_t i = 0; i < n; i++) {
		if (del && del[i])
			continue;
		char name[32];
		snprintf(name, sizeof name, "doc%u", i);
		seg_doc_in in = {.name = name, .name_len = (uint32_t)strlen(name), .size = 1, .text = "x", .text_len = 1};
		assert_int_equal(seg_writer_begin_doc(w, &in), XIHU_OK);
		uint32_t left[NTERMS];
		memcpy(left, d[i].tf, sizeof left);
		uint32_t nterm = left[0] + left[1] + left[2];
		for (uint32_t pos = 0; pos < d[i].len; pos++) {
			/* a term occurrence with probability (occurrences left) / (tokens left) */
			const char *word = NULL;
			if (nterm > 0 && rnd() % (d[i].len - pos) < nterm) {
				for (int t = 0; t < NTERMS && !word; t++)
					if (left[t]) {
						left[t]--;
						word = term_names[t];
					}
				nterm--;
			}
			char fill[16];
			if (!word) {
				snprintf(fill, sizeof fill, "f%u", rnd() % 40);
				word = fill;
			}
			seg_writer_add_token(w, FIELD_BODY, word, (uint32_t)strlen(word), pos);
		}
		seg_writer_add_token(w, FIELD_PATH, name, (uint32_t)strlen(name), 0);
		assert_int_equal(seg_writer_end_doc(w), XIHU_OK);
	}
	seg_info info;
	if (seg_writer_finish(w, &info, &f->err))
		fail_msg("finish: %s", f->err.msg);
	seg_writer_free(w);
}

static seg *open_checked(fx *f, uint64_t id)
{
	seg *s = NULL;
	if (seg_open(f->dir, id, 0, true, &s, &f->err))
		fail_msg("seg_open: %s", f->err.msg);
	if (seg_check(f->dir, id, 0, &f->err))
		fail_msg("seg_check: %s", f->err.msg);
	return s;
}

static void lookup_ok(fx *f, const seg *s, const char *term, seg_term *t)
{
	if (seg_lookup(s, FIELD_BODY, term, (uint32_t)strlen(term), t, &f->err) != 1)
		fail_msg("lookup %s: %s", term, f->err.msg);
}

/* BM25's tf part, written out here rather than taken from util.c. */
static double tf_part(uint32_t tf, uint32_t dl, double avgdl)
{
	double norm = 1.0 - 0.55 + (avgdl > 0 ? 0.55 * (double)dl / avgdl : 0);
	return (double)tf / ((double)tf + 2.0 * norm);
}

/* One block as the decoding iterator saw it. */
typedef struct blk {
	uint32_t first, last, max_tf, min_dl, ndocs;
	float impact;
} blk;

/* Walks the postings of term t of s whose docs are live[0..nlive) (the
 * segment's docs in order): tfs and lengths as made, and every block's
 * impact >= each doc's tf part and at most one float step above the
 * block's largest.  Fills blocks (room for 64) and returns their count;
 * *looser counts the blocks whose old bound (max_tf, min_dl) is above the
 * impact by more than 1%. */
static uint32_t check_impacts(fx *f, const seg *s, const tdoc *const *live, uint32_t nlive, int term, blk *blocks,
                              uint32_t *looser)
{
	assert_int_equal(seg_ndocs(s), nlive);
	uint64_t total = 0;
	for (uint32_t i = 0; i < nlive; i++)
		total += live[i]->len;
	assert_int_equal(seg_field_total(s, FIELD_BODY), total);
	double avgdl = (double)total / (double)nlive;

	seg_term t;
	lookup_ok(f, s, term_names[term], &t);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
	assert_true(p.term_max_impact > 0 && p.term_max_impact <= 1);
	uint32_t nb = 0, df = 0, d = 0;
	double actual = 0;
	float term_max = 0;
	*looser = 0;
	for (uint32_t doc = p.doc; doc != POSTINGS_END;) {
		while (d < doc) /* docs without the term */
			assert_int_equal(live[d++]->tf[term], 0);
		uint32_t tf = live[doc]->tf[term], dl = live[doc]->len;
		assert_int_equal(postings_freq(&p), tf);
		assert_int_equal(seg_doc_field_len(s, doc, FIELD_BODY), dl);
		double v = tf_part(tf, dl, avgdl);
		assert_true((double)p.blk_impact >= v); /* a bound on every doc */
		if (v > actual)
			actual = v;
		if (nb == 0 || p.block + 1 != nb) {
			assert_int_equal(p.block, nb);
			assert_true(nb < 64);
			blocks[nb++] = (blk){.first = p.blk_first, .last = p.blk_last, .max_tf = p.blk_max_tf,
			                     .min_dl = p.blk_min_dl, .impact = p.blk_impact};
		}
		blocks[nb - 1].ndocs++;
		df++;
		d = doc + 1;
		uint32_t block = p.block;
		float impact = p.blk_impact, old = (float)tf_part(p.blk_max_tf, p.blk_min_dl, avgdl);
		doc = postings_next(&p);
		if (doc == POSTINGS_END || p.block != block) {
			/* the block's largest, rounded up to a float: no more */
			assert_true((double)impact >= actual);
			assert_true(impact <= nextafterf((float)actual, INFINITY));
			if (old > impact * 1.01f)
				(*looser)++;
			if (impact > term_max)
				term_max = impact;
			actual = 0;
		}
	}
	while (d < nlive)
		assert_int_equal(live[d++]->tf[term], 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(df, t.df);
	assert_int_equal(nb, (t.df + XIHU_BLOCK - 1) / XIHU_BLOCK);
	assert_true(p.term_max_impact == term_max);
	postings_free(&p);
	return nb;
}

static const tdoc **all_docs(const tdoc *d, uint32_t n, const bool *del, uint32_t *nlive)
{
	const tdoc **live = calloc(n, sizeof *live);
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!del || !del[i])
			live[k++] = &d[i];
	*nlive = k;
	return live;
}

/* ---- cases ------------------------------------------------------------------ */

#define NDOCS 700

static void test_impacts_bound_each_block(void **state)
{
	fx *f = *state;
	tdoc *d = make_docs(NDOCS, 0x1234567, false);
	write_seg(f, 1, d, NDOCS, NULL);
	seg *s = open_checked(f, 1);
	uint32_t nlive;
	const tdoc **live = all_docs(d, NDOCS, NULL, &nlive);
	blk b[64];
	uint32_t looser;
	uint32_t nb = check_impacts(f, s, live, nlive, T_MANY, b, &looser);
	assert_true(nb >= 4); /* several full blocks and a short last one */
	assert_true(b[nb - 1].ndocs < XIHU_BLOCK);
	assert_true(looser > 0); /* tighter than tf_part(max_tf, min_dl) somewhere */
	nb = check_impacts(f, s, live, nlive, T_MID, b, &looser);
	assert_int_equal(nb, 2);
	nb = check_impacts(f, s, live, nlive, T_RARE, b, &looser);
	assert_int_equal(nb, 1); /* no skip table: the impact after min_dl */
	free(live);
	seg_close(s);
	free(d);
}

/* The shallow cursor against the blocks the decoding iterator sees. */
static void test_shallow(void **state)
{
	fx *f = *state;
	tdoc *d = make_docs(NDOCS, 0xabcdef, false);
	write_seg(f, 2, d, NDOCS, NULL);
	seg *s = open_checked(f, 2);
	uint32_t nlive;
	const tdoc **live = all_docs(d, NDOCS, NULL, &nlive);
	for (int term = 0; term < NTERMS; term++) {
		blk b[64];
		uint32_t looser;
		uint32_t nb = check_impacts(f, s, live, nlive, term, b, &looser);
		seg_term t;
		lookup_ok(f, s, term_names[term], &t);
		postings p;
		/* after init it describes block 0 */
		assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
		assert_int_equal(p.sh_block, 0);
		assert_int_equal(p.sh_last, b[0].last);
		assert_true(p.sh_impact == b[0].impact);
		/* every target in turn: the first block ending at or past it */
		for (uint32_t target = 0; target <= NDOCS; target++) {
			uint32_t k = 0;
			while (k < nb && b[k].last < target)
				k++;
			uint32_t got = postings_shallow(&p, target);
			if (k == nb) {
				assert_int_equal(got, POSTINGS_END);
				assert_int_equal(p.sh_last, POSTINGS_END);
				assert_true(p.sh_impact == 0);
				continue;
			}
			assert_int_equal(got, b[k].last);
			assert_int_equal(p.sh_block, k);
			assert_int_equal(p.sh_last, b[k].last);
			assert_true(p.sh_impact == b[k].impact);
			assert_int_equal(p.sh_max_tf, b[k].max_tf);
			assert_int_equal(p.sh_min_dl, b[k].min_dl);
			/* never backwards */
			assert_int_equal(postings_shallow(&p, 0), b[k].last);
			assert_int_equal(p.sh_block, k);
		}
		assert_int_equal(p.doc, b[0].first); /* the decoded block did not move */
		assert_int_equal(p.block, 0);
		postings_free(&p);

		/* jumps of every size, then postings_advance to the targets it
		 * covers: it lands in the shallow block, on the right doc */
		for (uint32_t stride = 1; stride < NDOCS; stride = stride * 3 + 1) {
			assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
			for (uint32_t target = stride; target < NDOCS + stride; target += stride) {
				uint32_t last = postings_shallow(&p, target);
				uint32_t want = target; /* first doc >= target holding the term */
				while (want < nlive && live[want]->tf[term] == 0)
					want++;
				if (want >= nlive) {
					assert_int_equal(last, POSTINGS_END);
					assert_int_equal(postings_advance(&p, target), POSTINGS_END);
					break;
				}
				assert_true(last >= want);
				uint32_t sb = p.sh_block;
				if (target % 2 && p.doc < target) {
					/* a target inside the block but past the shallow one */
					uint32_t t2 = target + (last - target) / 2, want2 = t2;
					while (live[want2]->tf[term] == 0)
						want2++;
					assert_int_equal(postings_advance(&p, t2), want2);
					target = t2; /* the next targets go on from there */
				} else {
					assert_int_equal(postings_advance(&p, target), want);
				}
				assert_int_equal(p.block, sb);
				assert_true(p.blk_impact == p.sh_impact);
				assert_int_equal(p.blk_last, last);
			}
			assert_int_equal(p.rc, 0);
			postings_free(&p);
		}

		/* shallow ahead, advance behind it: still the first doc >= target */
		assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_OK);
		postings_shallow(&p, NDOCS - 1);
		uint32_t want = 300;
		while (want < nlive && live[want]->tf[term] == 0)
			want++;
		assert_int_equal(postings_advance(&p, 300), want < nlive ? want : POSTINGS_END);
		/* and past it */
		if (p.doc != POSTINGS_END) {
			postings_shallow(&p, p.doc + 1);
			uint32_t t2 = p.sh_last == POSTINGS_END ? NDOCS : p.sh_last + 1;
			want = t2;
			while (want < nlive && live[want]->tf[term] == 0)
				want++;
			assert_int_equal(postings_advance(&p, t2), want < nlive ? want : POSTINGS_END);
		}
		assert_int_equal(p.rc, 0);
		postings_free(&p);
	}
	free(live);
	seg_close(s);
	free(d);
}

/* ---- damage ----------------------------------------------------------------- */

static uint32_t read_u32(const char *path, long off)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	uint8_t b[4];
	assert_int_equal(pread(fd, b, 4, off), 4);
	close(fd);
	return get_u32le(b);
}

/* Writes v at off and recomputes the file's CRC, so only the structure
 * checks can notice. */
static void poke_u32(const char *path, long off, uint32_t v)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	assert_int_equal(pwrite(fd, b, 4, off), 4);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *all = malloc((size_t)st.st_size);
	assert_int_equal(pread(fd, all, (size_t)st.st_size, 0), st.st_size);
	uLong crc = crc32(0, all, (uInt)(st.st_size - 4));
	uint8_t c[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
	assert_int_equal(pwrite(fd, c, 4, st.st_size - 4), 4);
	free(all);
	close(fd);
}

static uint32_t bits_of(float x)
{
	uint32_t u;
	memcpy(&u, &x, sizeof u);
	return u;
}

/* The file offset of block b's impact in term t's postings. */
static long impact_off(fx *f, const seg *s, const seg_term *t, uint32_t b)
{
	postings p;
	assert_int_equal(postings_init(&p, s, &t[0], &f->err), XIHU_OK);
	const uint8_t *at = p.skip ? p.skip + (size_t)b * SEG_SKIP_ENTRY + SEG_SKIP_IMPACT : p.blocks - 4;
	long off = 16 + (long)(at - s->f[SEG_POST].data);
	postings_free(&p);
	return off;
}

/* Opens id without the CRC and expects term's postings to be corrupt at off. */
static void expect_init_corrupt(fx *f, uint64_t id, const char *term, const char *path, long off)
{
	seg *s = NULL;
	assert_int_equal(seg_open(f->dir, id, 0, true, &s, &f->err), XIHU_OK); /* the CRC was fixed */
	seg_term t;
	lookup_ok(f, s, term, &t);
	postings p;
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(postings_init(&p, s, &t, &f->err), XIHU_ECORRUPT);
	assert_int_equal(p.doc, POSTINGS_END);
	assert_int_equal(postings_shallow(&p, 0), POSTINGS_END);
	assert_int_equal(postings_next(&p), POSTINGS_END);
	assert_int_equal(postings_advance(&p, 5), POSTINGS_END);
	char want[64];
	snprintf(want, sizeof want, "offset %ld:", off);
	if (!strstr(f->err.msg, path) || !strstr(f->err.msg, want) || !strstr(f->err.msg, "impact"))
		fail_msg("message: %s (want %s at %ld)", f->err.msg, path, off);
	postings_free(&p);
	seg_close(s);
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_check(f->dir, id, 0, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, want));
}

static void expect_check_differs(fx *f, uint64_t id, long off)
{
	memset(&f->err, 0, sizeof f->err);
	assert_int_equal(seg_check(f->dir, id, 0, &f->err), XIHU_ECORRUPT);
	char want[64];
	snprintf(want, sizeof want, "offset %ld:", off);
	if (!strstr(f->err.msg, want) || !strstr(f->err.msg, "block impact differs"))
		fail_msg("message: %s (want offset %ld)", f->err.msg, off);
}

static void test_damaged_impacts(void **state)
{
	fx *f = *state;
	tdoc *d = make_docs(NDOCS, 0x5eed, false);
	write_seg(f, 3, d, NDOCS, NULL);
	char path[512];
	snprintf(path, sizeof path, "%s/%012x.post", f->dir, 3);
	seg *s = open_checked(f, 3);
	seg_term many, rare;
	lookup_ok(f, s, "many", &many);
	lookup_ok(f, s, "rare", &rare);
	long offs[] = {impact_off(f, s, &many, 0), impact_off(f, s, &many, 2), impact_off(f, s, &rare, 0)};
	const char *terms[] = {"many", "many", "rare"};
	seg_close(s);
	const uint32_t bad[] = {0x7fc00000u /* NaN */, bits_of(INFINITY), bits_of(-0.25f), bits_of(1.5f), 0};
	for (int k = 0; k < 3; k++) {
		uint32_t good = read_u32(path, offs[k]);
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			poke_u32(path, offs[k], bad[i]);
			expect_init_corrupt(f, 3, terms[k], path, offs[k]);
		}
		/* in range but wrong: the reader takes it, the full check does not */
		poke_u32(path, offs[k], good - 1); /* too low: would prune real hits */
		expect_check_differs(f, 3, offs[k]);
		poke_u32(path, offs[k], good + 1);
		expect_check_differs(f, 3, offs[k]);
		poke_u32(path, offs[k], good);
		seg_close(open_checked(f, 3));
	}
	/* a last doc out of order in the skip table is refused at init too */
	s = open_checked(f, 3);
	long e1 = impact_off(f, s, &many, 1) - SEG_SKIP_IMPACT;
	seg_close(s);
	uint32_t last1 = read_u32(path, e1);
	poke_u32(path, e1, read_u32(path, e1 - SEG_SKIP_ENTRY));
	s = NULL;
	assert_int_equal(seg_open(f->dir, 3, 0, true, &s, &f->err), XIHU_OK);
	postings p;
	assert_int_equal(postings_init(&p, s, &many, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, "skip table out of order"));
	postings_free(&p);
	seg_close(s);
	poke_u32(path, e1, last1);
	seg_close(open_checked(f, 3));
	free(d);
}

/* xihu-index --check (xihu_index_check) on a built index: a wrong impact
 * in an otherwise valid file fails it. */
static void test_index_check_wrong_impact(void **state)
{
	(void)state;
	corpus c;
	assert_int_equal(corpus_init(&c, "/tmp/xihu-impact.XXXXXX"), 0);
	rng = 77;
	for (int i = 0; i < 400; i++) {
		char name[16], text[512];
		size_t n = 0;
		uint32_t words = 3 + rnd() % 40;
		for (uint32_t k = 0; k < words; k++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s ", rnd() % 4 ? "alpha" : "beta");
		snprintf(name, sizeof name, "f%03d.txt", i);
		assert_int_equal(corpus_write(&c, name, text), 0);
	}
	assert_int_equal(corpus_build(&c, NULL), 0);
	xihu_err err = {0};
	assert_int_equal(xihu_index_check(c.ixdir, NULL, &err), XIHU_OK);
	manifest m;
	assert_int_equal(manifest_read(c.ixdir, &m, &err), XIHU_OK);
	assert_true(m.nsegs >= 1);
	seg *s = NULL;
	assert_int_equal(seg_open(c.ixdir, m.segs[0].id, m.segs[0].del_gen, true, &s, &err), XIHU_OK);
	seg_term t;
	assert_int_equal(seg_lookup(s, FIELD_BODY, "alpha", 5, &t, &err), 1);
	postings p;
	assert_int_equal(postings_init(&p, s, &t, &err), XIHU_OK);
	uint32_t b = p.nblocks - 1;
	const uint8_t *at = p.skip ? p.skip + (size_t)b * SEG_SKIP_ENTRY + SEG_SKIP_IMPACT : p.blocks - 4;
	long off = 16 + (long)(at - s->f[SEG_POST].data);
	postings_free(&p);
	seg_close(s);
	char path[256];
	snprintf(path, sizeof path, "%s/%012llx.post", c.ixdir, (unsigned long long)m.segs[0].id);
	manifest_free(&m);
	uint32_t good = read_u32(path, off);
	poke_u32(path, off, good - 3);
	assert_int_equal(xihu_index_check(c.ixdir, NULL, &err), XIHU_ECORRUPT);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "block impact differs"));
	poke_u32(path, off, 0x7fc00000u);
	assert_int_equal(xihu_index_check(c.ixdir, NULL, &err), XIHU_ECORRUPT);
	assert_non_null(strstr(err.msg, "block impact out of range"));
	poke_u32(path, off, good);
	assert_int_equal(xihu_index_check(c.ixdir, NULL, &err), XIHU_OK);
	assert_int_equal(corpus_free(&c), 0);
}

/* A merge of a segment of long docs (some deleted) with one of short docs:
 * the output's impacts use the output's avgdl, not its inputs'. */
static void test_merge_recomputes(void **state)
{
	fx *f = *state;
	tdoc *a = make_docs(NDOCS, 0xa11, true), *b = make_docs(900, 0xb22, false);
	bool *del = calloc(NDOCS, sizeof *del);
	for (uint32_t i = 0; i < NDOCS; i++)
		del[i] = i % 3 == 1 || (i > 200 && i < 260);
	write_seg(f, 10, a, NDOCS, NULL);
	write_seg(f, 11, b, 900, NULL);
	uint32_t nbm = (NDOCS + 7) / 8;
	uint8_t *bm = calloc(nbm, 1);
	for (uint32_t i = 0; i < NDOCS; i++)
		if (del[i])
			bm[i >> 3] |= (uint8_t)(1u << (i & 7));
	assert_int_equal(seg_write_deletes(f->dir, 10, 1, bm, NDOCS, &f->err), XIHU_OK);
	seg *in[2] = {NULL, NULL};
	assert_int_equal(seg_open(f->dir, 10, 1, true, &in[0], &f->err), XIHU_OK);
	in[1] = open_checked(f, 11);
	seg_info info;
	if (seg_merge(f->dir, (const seg *const *)in, 2, 12, &info, &f->err))
		fail_msg("merge: %s", f->err.msg);
	seg *m = open_checked(f, 12); /* seg_check recomputes every impact */

	/* the live docs in merged order: a's survivors, then b's */
	uint32_t nla, nlb;
	const tdoc **la = all_docs(a, NDOCS, del, &nla), **lb = all_docs(b, 900, NULL, &nlb);
	const tdoc **live = calloc(nla + nlb, sizeof *live);
	memcpy(live, la, nla * sizeof *live);
	memcpy(live + nla, lb, nlb * sizeof *live);
	assert_int_equal(info.ndocs, nla + nlb);
	double avg_in = (double)seg_field_total(in[0], FIELD_BODY) / seg_ndocs(in[0]);
	double avg_out = (double)seg_field_total(m, FIELD_BODY) / seg_ndocs(m);
	assert_true(avg_in > 1.3 * avg_out); /* so input impacts would not pass */
	for (int term = 0; term < NTERMS; term++) {
		blk bl[64];
		uint32_t looser;
		check_impacts(f, m, live, nla + nlb, term, bl, &looser);
	}
	free(live);
	free(la);
	free(lb);
	seg_close(m);
	seg_close(in[0]);
	seg_close(in[1]);
	free(bm);
	free(del);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_impacts_bound_each_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shallow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_impacts, setup, teardown),
		cmocka_unit_test(test_index_check_wrong_impact),
		cmocka_unit_test_setup_teardown(test_merge_recomputes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
