/*
 * test_prune.c: top-k pruning must never change the answer.  A generated
 * corpus with a skewed vocabulary is searched twice per query: with a
 * small limit (pruning on) and with a limit above the number of matches
 * (the heap never fills, so every match is scored); the first k hits must
 * be the same docs with the same scores in the same order.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "corpus.h"
#include "search/search.h" /* settings_read, analysis_is_pairword */

#define NDOCS 1500
#define VOCAB 300

static corpus c;
static unsigned seed = 12345;

static unsigned rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

/* Word i of the vocabulary: skewed so low i are common. */
static void word(unsigned i, char *out)
{
	snprintf(out, 16, "w%u", i);
}

static unsigned zipf(void)
{
	/* a rough power law: square of a uniform draw */
	double u = (double)(rnd() % 100000) / 100000.0;
	return (unsigned)(u * u * VOCAB);
}

static int setup(void **state)
{
	(void)state;
	if (corpus_init(&c, "/tmp/xihu-prune.XXXXXX"))
		return -1;
	char name[16], w[16];
	for (int d = 0; d < NDOCS; d++) {
		char text[8192] = "";
		size_t n = 0;
		/* segments with different average lengths, so the bounds are
		 * also tested where a segment's stored impacts must be scaled */
		int len = d < NDOCS / 2 ? 5 + (int)(rnd() % 400) : 5 + (int)(rnd() % 60);
		for (int i = 0; i < len; i++) {
			word(zipf(), w);
			n += (size_t)snprintf(text + n, sizeof text - n, "%s%c", w, i % 12 == 11 ? '\n' : ' ');
		}
		snprintf(name, sizeof name, "d%04d", d);
		if (corpus_write(&c, name, text))
			return -1;
		if (d == NDOCS / 2 - 1 && corpus_build(&c, NULL))
			return -1;
	}
	if (corpus_open(&c, NULL))
		return -1;
	xihu_index_stats st;
	xihu_index_get_stats(c.ix, &st);
	if (st.segments < 2)
		fprintf(stderr, "setup: %u segment, want two or more\n", st.segments);
	return st.segments >= 2 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return corpus_free(&c);
}

static xihu_index *other; /* the same corpus under other BM25 parameters (same_top asks it when set) */

static void same_top(const char *q, uint32_t k)
{
	xihu_index_results a, b;
	xihu_err err = {0};
	/* exact_total: the plain evaluation, every match scored in one pass */
	xihu_index_search_opts small = {.limit = k}, all = {.limit = 5000, .exact_total = true};
	xihu_index *ix = other ? other : c.ix;
	if (xihu_index_search(ix, q, strlen(q), &small, &a, &err) || xihu_index_search(ix, q, strlen(q), &all, &b, &err))
		fail_msg("%s: %s", q, err.msg);
	assert_true(b.total_exact);
	uint32_t want = b.nhits < k ? b.nhits : k;
	if (a.nhits != want)
		fail_msg("%s: %u hits pruned, %u exhaustive", q, a.nhits, want);
	for (uint32_t i = 0; i < want; i++) {
		if (strcmp(a.hits[i].doc, b.hits[i].doc) || a.hits[i].score != b.hits[i].score)
			fail_msg("%s: hit %u: %s %.9f pruned, %s %.9f exhaustive", q, i, a.hits[i].doc,
			         a.hits[i].score, b.hits[i].doc, b.hits[i].score);
	}
	assert_true(a.total <= b.total);
	if (a.total_exact)
		assert_int_equal(a.total, b.total);
	xihu_index_results_free(&a);
	xihu_index_results_free(&b);
}

static void or_queries_keep_their_top_k(void **state)
{
	(void)state;
	char q[256], w[16];
	for (int n = 0; n < 300; n++) {
		q[0] = 0;
		int terms = 2 + (int)(rnd() % 4);
		for (int i = 0; i < terms; i++) {
			word(rnd() % 3 ? zipf() : rnd() % VOCAB, w);
			if (i)
				strcat(q, " OR ");
			strcat(q, w);
		}
		same_top(q, 1 + rnd() % 20);
	}
}

static void single_terms_keep_their_top_k(void **state)
{
	(void)state;
	char w[16];
	for (unsigned i = 0; i < VOCAB; i += 7) {
		word(i, w);
		same_top(w, 10);
	}
}

static void mixed_queries_keep_their_top_k(void **state)
{
	(void)state;
	same_top("w1 (w2 OR w3)", 10);
	same_top("w0 OR \"w1 w2\"", 10);
	same_top("w0 OR w1 -w2", 10);
	same_top("w1* OR w2", 10);
	same_top("(w5 w6) OR (w7 w8) OR w200", 5);
}

static void phrases_keep_their_top_k(void **state)
{
	(void)state;
	char q[64], a[16], b[16];
	for (int n = 0; n < 200; n++) {
		word(zipf(), a);
		word(zipf(), b);
		snprintf(q, sizeof q, n % 3 ? "\"%s %s\"" : "\"%s %s\" OR %s", a, b, b);
		same_top(q, 1 + rnd() % 10);
	}
}

static void and_queries_keep_their_top_k(void **state)
{
	(void)state;
	char q[256], w[16];
	for (int n = 0; n < 300; n++) {
		q[0] = 0;
		int terms = 2 + (int)(rnd() % 3);
		for (int i = 0; i < terms; i++) {
			word(rnd() % 4 ? zipf() : rnd() % VOCAB, w);
			if (i)
				strcat(q, n % 5 == 0 && i == terms - 1 ? " -" : " ");
			strcat(q, w);
		}
		if (n % 7 == 0) { /* an AND with a phrase in it */
			word(zipf(), w);
			strcat(q, " \"");
			strcat(q, w);
			word(zipf(), w);
			strcat(q, " ");
			strcat(q, w);
			strcat(q, "\"");
		}
		same_top(q, 1 + rnd() % 20);
	}
}

/* A random OR of 16 to 35 words into q (1024 bytes): term at a time. */
static void wide_or(char *q)
{
	char w[16];
	q[0] = 0;
	int terms = 16 + (int)(rnd() % 20);
	for (int i = 0; i < terms; i++) {
		word(rnd() % VOCAB, w);
		if (i)
			strcat(q, " OR ");
		strcat(q, w);
	}
}

/* Prefixes and long ORs are summed term at a time: the same answer. */
static void wide_ors_keep_their_top_k(void **state)
{
	(void)state;
	char q[1024];
	for (int n = 0; n < 40; n++) {
		wide_or(q);
		same_top(q, 1 + rnd() % 20);
	}
	same_top("w1*", 10);
	same_top("w2* OR w3", 3);
	same_top("w1* w2", 10);
}

static xihu_index_results all_of(xihu_index *ix, const char *q);
static void answers_as_without(const xihu_index_search_opts *o, const char *q);

/* A long OR of words, phrases and ANDs (a pasted paragraph searched with
 * xihu search --any) is summed term at a time too, each phrase's positions
 * read where its words meet in a window or at a candidate: the same answer
 * as the exhaustive evaluation. */
static void wide_ors_of_phrases_and_groups_keep_their_top_k(void **state)
{
	(void)state;
	char q[2048], a[16], b[16];
	for (int n = 0; n < 60; n++) {
		q[0] = 0;
		int kids = 16 + (int)(rnd() % 30);
		for (int i = 0; i < kids; i++) {
			size_t l = strlen(q);
			word(zipf(), a);
			word(rnd() % 2 ? zipf() : rnd() % VOCAB, b);
			unsigned form = rnd() % 5;
			snprintf(q + l, sizeof q - l, form == 0 ? "%s\"%s %s\"" : form == 1 ? "%s(%s %s)" : "%s%s",
			         i ? " OR " : "", a, b);
		}
		same_top(q, 1 + rnd() % 20);
	}
}

/* A word written k times in an OR weighs k times, as in a bag of words (a
 * pasted paragraph repeats its words), though its list is read once: its
 * score is k times the word's alone, to the rounding of one leaf score. */
static void repeated_words_weigh_as_often_as_written(void **state)
{
	(void)state;
	xihu_index_results one = all_of(c.ix, "w7"), three = all_of(c.ix, "w7 OR w7 OR w7");
	xihu_index_results mixed = all_of(c.ix, "w7 OR w250 OR w7 OR w7"), rare = all_of(c.ix, "w250");
	assert_true(one.nhits > 10);
	assert_int_equal(three.nhits, one.nhits);
	for (uint32_t i = 0; i < one.nhits; i++) {
		assert_string_equal(three.hits[i].doc, one.hits[i].doc);
		if (fabs(three.hits[i].score - 3 * one.hits[i].score) > 2 * 0x1p-32)
			fail_msg("%s: %.12f, three times %.12f", one.hits[i].doc, three.hits[i].score, one.hits[i].score);
	}
	/* each doc of mixed scores its w7 part three times and w250 once */
	for (uint32_t i = 0; i < mixed.nhits; i++) {
		double want = 0;
		for (uint32_t j = 0; j < one.nhits; j++)
			if (!strcmp(one.hits[j].doc, mixed.hits[i].doc))
				want += 3 * one.hits[j].score;
		for (uint32_t j = 0; j < rare.nhits; j++)
			if (!strcmp(rare.hits[j].doc, mixed.hits[i].doc))
				want += rare.hits[j].score;
		if (fabs(mixed.hits[i].score - want) > 4 * 0x1p-32)
			fail_msg("%s: %.12f, want %.12f", mixed.hits[i].doc, mixed.hits[i].score, want);
	}
	xihu_index_results_free(&one);
	xihu_index_results_free(&three);
	xihu_index_results_free(&mixed);
	xihu_index_results_free(&rare);
}

/* Prefixes (and fuzzy words) whose expansions together pass the limit of
 * iterators a segment's plan makes are refused with XIHU_ELIMIT, before
 * their memory grows with them: 1,024 prefixes of 300 words each would be
 * 300,000 postings cursors. */
static void expansions_past_the_limit_are_refused(void **state)
{
	(void)state;
	static char q[8192];
	q[0] = 0;
	for (int i = 0; i < 1024; i++)
		strcat(q, i ? " OR w*" : "w*");
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10};
	assert_int_equal(xihu_index_search(c.ix, q, strlen(q), &o, &r, &err), XIHU_ELIMIT);
	assert_int_equal(r.nhits, 0);
	assert_string_equal(err.msg, "query: its prefixes and fuzzy words expand to more than 32768 terms (the limit)");
	/* a few of them answer */
	answers_as_without(&o, "w* OR w1* OR w2*");
}

/* A prefix scores as the OR of its expansions spelled out: the same docs
 * with the same scores, so the df of each expansion, gathered over every
 * segment by one walk of the dictionaries (score.c, score_df_prefill), is
 * the one a lookup of the word finds.  The corpus has two segments. */
static xihu_index_results all_of(xihu_index *ix, const char *q);

static void prefixes_score_as_their_words_spelled_out(void **state)
{
	(void)state;
	const char *prefixes[] = {"w29", "w15", "w7", "w3"}; /* 11 words each: a query takes 64 */
	for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++) {
		char pq[16], w[16];
		static char q[8192];
		q[0] = 0;
		for (unsigned i = 0; i < VOCAB; i++) {
			word(i, w);
			if (strncmp(w, prefixes[p], strlen(prefixes[p])))
				continue;
			if (q[0])
				strcat(q, " OR ");
			strcat(q, w);
		}
		snprintf(pq, sizeof pq, "%s*", prefixes[p]);
		xihu_index_results a = all_of(c.ix, pq), b = all_of(c.ix, q);
		assert_int_equal(a.total, b.total);
		assert_int_equal(a.nhits, b.nhits);
		for (uint32_t i = 0; i < a.nhits; i++)
			if (strcmp(a.hits[i].doc, b.hits[i].doc) || a.hits[i].score != b.hits[i].score)
				fail_msg("%s: hit %u: %s %.9f, spelled out %s %.9f", pq, i, a.hits[i].doc, a.hits[i].score,
				         b.hits[i].doc, b.hits[i].score);
		xihu_index_results_free(&a);
		xihu_index_results_free(&b);
	}
}

/* q under opts o answers, with the exhaustive top hits in their order. */
static void answers_as_without(const xihu_index_search_opts *o, const char *q)
{
	xihu_index_results r, all;
	xihu_err err = {0};
	if (xihu_index_search(c.ix, q, strlen(q), o, &r, &err))
		fail_msg("%s: %s", q, err.msg);
	all = all_of(c.ix, q);
	assert_true(r.nhits > 0);
	for (uint32_t i = 0; i < r.nhits; i++)
		assert_string_equal(r.hits[i].doc, all.hits[i].doc);
	xihu_index_results_free(&r);
	xihu_index_results_free(&all);
}

/* max_cost (xihud's loop thread sets it) refuses a prefix whose
 * expansions hold more postings, with XIHU_ETIMEOUT, and answers one
 * within it as without; a lone word it never refuses. */
static void max_cost_refuses_a_big_prefix(void **state)
{
	(void)state;
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10, .max_cost = 200};
	assert_int_equal(xihu_index_search(c.ix, "w*", 2, &o, &r, &err), XIHU_ETIMEOUT);
	assert_int_equal(r.nhits, 0);
	o.max_cost = 1000000;
	answers_as_without(&o, "w29*");
	/* a lone word is not refused, however long its lists; two are */
	o.max_cost = 1;
	answers_as_without(&o, "w1");
	assert_int_equal(xihu_index_search(c.ix, "w1 w2", 5, &o, &r, &err), XIHU_ETIMEOUT);
}

/* A segment far longer than collect_taat.c's window of 32,768 docs (a JSON
 * Lines file of 80,000 short records, one segment): prefixes and wide ORs,
 * summed a window at a time, must keep the exhaustive top k and total,
 * with matches on both sides of every window's edge. */
static void wide_ors_across_windows_keep_their_top_k(void **state)
{
	(void)state;
	enum { BIG = 80000 };
	char dir[160], file[160], q[1024], w[16];
	snprintf(file, sizeof file, "%s/big.jsonl", c.root);
	snprintf(dir, sizeof dir, "%s/index-big", c.root);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	for (int d = 0; d < BIG; d++) {
		fprintf(f, "{\"id\":\"r%05d\",\"body\":\"", d);
		int len = 2 + (int)(rnd() % 12);
		for (int i = 0; i < len; i++) {
			word(zipf(), w);
			fprintf(f, "%s%s", i ? " " : "", w);
		}
		fputs("\"}\n", f);
	}
	assert_int_equal(fclose(f), 0);
	const char *jsonl[] = {file};
	xihu_build_opts o = {.ram_bytes = 512u << 20, .threads = 1};
	xihu_err err = {0};
	if (xihu_build(dir, NULL, 0, jsonl, 1, &o, NULL, &err) || xihu_index_open(dir, &other, &err))
		fail_msg("%s: %s", dir, err.msg);
	xihu_index_stats st;
	xihu_index_get_stats(other, &st);
	assert_int_equal(st.segments, 1);
	const char *prefixes[] = {"w1*", "w2*", "w*", "w29*"};
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		same_top(prefixes[i], 10);
		same_top(prefixes[i], 1);
	}
	for (int n = 0; n < 10; n++) {
		wide_or(q);
		same_top(q, 1 + rnd() % 20);
	}
	xihu_index_unref(other);
	other = NULL;
}

/* An index built with --k1 1.2 --b 0.75: its block impacts are stored with
 * the defaults and turned into bounds for these parameters (search.c,
 * impact_norm); pruning must still keep the exact top k. */
static void other_bm25_parameters_keep_their_top_k(void **state)
{
	(void)state;
	char dir[160], q[256], w[16];
	const char *paths[] = {c.tree};
	xihu_build_opts o = {.k1 = 1.2, .b = 0.75, .b_given = true};
	xihu_err err = {0};
	snprintf(dir, sizeof dir, "%s/index-k1", c.root);
	if (xihu_build(dir, paths, 1, NULL, 0, &o, NULL, &err) || xihu_index_open(dir, &other, &err))
		fail_msg("%s: %s", dir, err.msg);
	for (int n = 0; n < 200; n++) {
		q[0] = 0;
		int terms = 1 + (int)(rnd() % 4);
		for (int i = 0; i < terms; i++) {
			word(rnd() % 3 ? zipf() : rnd() % VOCAB, w);
			if (i)
				strcat(q, n % 2 ? " OR " : " ");
			strcat(q, w);
		}
		same_top(q, 1 + rnd() % 20);
	}
	xihu_index_unref(other);
	other = NULL;
}

/* Every match of q with its score, exhaustively (exact_total). */
static xihu_index_results all_of(xihu_index *ix, const char *q)
{
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 5000, .exact_total = true};
	if (xihu_index_search(ix, q, strlen(q), &o, &r, &err))
		fail_msg("%s: %s", q, err.msg);
	return r;
}

static int cmp_hit_doc(const void *a, const void *b)
{
	return strcmp(((const xihu_index_hit *)a)->doc, ((const xihu_index_hit *)b)->doc);
}

/*
 * The corpus's index has pair terms (its frequent words are pair words,
 * learned from the tree); an index of the same tree built --no-pairs
 * walks positions for every phrase.  The two must find the same documents
 * with the same scores, and the top k of the pair index must be its own
 * exhaustive top k.  Fails if a pair term counts a phrase otherwise than
 * positions do, or is scored otherwise.
 */
static void pair_terms_answer_as_positions_do(void **state)
{
	(void)state;
	char dir[160], q[64], a[16], b[16];
	const char *paths[] = {c.tree};
	xihu_build_opts o = {.no_pairs = true};
	xihu_err err = {0};
	xihu_index *plain;
	snprintf(dir, sizeof dir, "%s/index-nopairs", c.root);
	if (xihu_build(dir, paths, 1, NULL, 0, &o, NULL, &err) || xihu_index_open(dir, &plain, &err))
		fail_msg("%s: %s", dir, err.msg);
	analysis *an;
	assert_int_equal(settings_read(c.ixdir, &an, &err), 0);
	assert_true(analysis_npairwords(an) >= 20);
	int paired = 0;
	for (int n = 0; n < 300; n++) {
		word(n % 4 ? zipf() : rnd() % VOCAB, a);
		word(n % 5 ? zipf() : rnd() % VOCAB, b);
		snprintf(q, sizeof q, "\"%s %s\"", a, b);
		paired += analysis_is_pairword(an, a, (uint32_t)strlen(a)) &&
		          analysis_is_pairword(an, b, (uint32_t)strlen(b));
		xihu_index_results x = all_of(c.ix, q), y = all_of(plain, q);
		if (x.total != y.total || x.nhits != y.nhits)
			fail_msg("%s: %llu matches with pairs, %llu without", q, (unsigned long long)x.total,
			         (unsigned long long)y.total);
		if (x.nhits) { /* (no hits: hits is NULL, which qsort must not get) */
			qsort(x.hits, x.nhits, sizeof *x.hits, cmp_hit_doc);
			qsort(y.hits, y.nhits, sizeof *y.hits, cmp_hit_doc);
		}
		for (uint32_t i = 0; i < x.nhits; i++) {
			double d = x.hits[i].score - y.hits[i].score;
			if (strcmp(x.hits[i].doc, y.hits[i].doc) || d > 1e-9 || d < -1e-9)
				fail_msg("%s: %s %.9f with pairs, %s %.9f without", q, x.hits[i].doc, x.hits[i].score,
				         y.hits[i].doc, y.hits[i].score);
		}
		xihu_index_results_free(&x);
		xihu_index_results_free(&y);
		same_top(q, 1 + rnd() % 10);
	}
	if (paired < 100)
		fail_msg("only %d of 300 phrases had two pair words", paired);
	analysis_free(an);
	xihu_index_unref(plain);
}

/* A deadline already past, or a cancel flag already set, stops a search
 * with its own error, whatever the query; a deadline far ahead changes
 * nothing. */
static void deadline_and_cancel_stop_a_search(void **state)
{
	(void)state;
	static const char wide[] = "w0 OR w1 OR w2 OR w3 OR w4 OR w5 OR w6 OR w7 OR w8 OR w9 OR w10 OR w11 OR w12 "
	                           "OR w13 OR w14 OR w15 OR w16"; /* term at a time */
	const char *qs[] = {"w0", "w0 OR w1 OR w2", "w0 w1", "\"w0 w1\"", "w1*", wide};
	for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
		for (int exact = 0; exact < 2; exact++) {
			xihu_index_results r;
			xihu_err err = {0};
			xihu_index_search_opts o = {.limit = 10, .exact_total = exact, .want_lines = true, .deadline_ns = 1};
			assert_int_equal(xihu_index_search(c.ix, qs[i], strlen(qs[i]), &o, &r, &err), XIHU_ETIMEOUT);
			assert_int_equal(r.nhits, 0);
			xihu_index_results_free(&r);
			_Atomic bool stop = true;
			o.deadline_ns = 0;
			o.cancel = &stop;
			assert_int_equal(xihu_index_search(c.ix, qs[i], strlen(qs[i]), &o, &r, &err), XIHU_ECANCELED);
			xihu_index_results_free(&r);
			stop = false;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			o.deadline_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 3600ull * 1000000000u;
			assert_int_equal(xihu_index_search(c.ix, qs[i], strlen(qs[i]), &o, &r, &err), XIHU_OK);
			assert_true(r.nhits > 0);
			xihu_index_results_free(&r);
		}
	}
}

/* A build whose cancel flag is set commits nothing: a new index has no
 * commit, an update leaves the last one as it was. */
static void cancelled_build_commits_nothing(void **state)
{
	(void)state;
	char dir[160], extra[200];
	const char *paths[] = {c.tree};
	_Atomic bool stop = true;
	xihu_build_opts o = {.cancel = &stop};
	xihu_err err = {0};
	snprintf(dir, sizeof dir, "%s/index-cancelled", c.root);
	assert_int_equal(xihu_build(dir, paths, 1, NULL, 0, &o, NULL, &err), XIHU_ECANCELED);
	assert_non_null(strstr(err.msg, "cancelled"));
	xihu_index *ix;
	assert_int_equal(xihu_index_open(dir, &ix, &err), XIHU_ENOINDEX);
	/* an update of the corpus's own index, with a new file: cancelled, the
	 * generation and the documents stay */
	xihu_index_stats before, after;
	xihu_index_get_stats(c.ix, &before);
	snprintf(extra, sizeof extra, "%s/cancelled.txt", c.tree);
	FILE *f = fopen(extra, "w");
	assert_non_null(f);
	fputs("w0 w1 a new file\n", f);
	fclose(f);
	xihu_build_opts u = {.update = true, .cancel = &stop};
	assert_int_equal(xihu_build(c.ixdir, NULL, 0, NULL, 0, &u, NULL, &err), XIHU_ECANCELED);
	assert_int_equal(xihu_index_open(c.ixdir, &ix, &err), XIHU_OK);
	xihu_index_get_stats(ix, &after);
	assert_int_equal(after.generation, before.generation);
	assert_int_equal(after.docs, before.docs);
	xihu_index_unref(ix);
	assert_int_equal(unlink(extra), 0);
}

static void pruning_makes_total_a_lower_bound(void **state)
{
	(void)state;
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 1};
	assert_int_equal(xihu_index_search(c.ix, "w0 OR w1 OR w2 OR w290", 22, &o, &r, &err), 0);
	assert_int_equal(r.nhits, 1);
	if (r.total_exact)
		fail_msg("expected pruning on a common OR with limit 1 (total %llu)", (unsigned long long)r.total);
	uint64_t lower = r.total;
	xihu_index_results_free(&r);
	o.exact_total = true;
	assert_int_equal(xihu_index_search(c.ix, "w0 OR w1 OR w2 OR w290", 22, &o, &r, &err), 0);
	assert_true(r.total_exact);
	assert_true(r.total > lower);
	xihu_index_results_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(or_queries_keep_their_top_k),
		cmocka_unit_test(single_terms_keep_their_top_k),
		cmocka_unit_test(mixed_queries_keep_their_top_k),
		cmocka_unit_test(phrases_keep_their_top_k),
		cmocka_unit_test(and_queries_keep_their_top_k),
		cmocka_unit_test(wide_ors_keep_their_top_k),
		cmocka_unit_test(wide_ors_of_phrases_and_groups_keep_their_top_k),
		cmocka_unit_test(repeated_words_weigh_as_often_as_written),
		cmocka_unit_test(expansions_past_the_limit_are_refused),
		cmocka_unit_test(prefixes_score_as_their_words_spelled_out),
		cmocka_unit_test(max_cost_refuses_a_big_prefix),
		cmocka_unit_test(wide_ors_across_windows_keep_their_top_k),
		cmocka_unit_test(other_bm25_parameters_keep_their_top_k),
		cmocka_unit_test(pair_terms_answer_as_positions_do),
		cmocka_unit_test(pruning_makes_total_a_lower_bound),
		cmocka_unit_test(deadline_and_cancel_stop_a_search),
		cmocka_unit_test(cancelled_build_commits_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
