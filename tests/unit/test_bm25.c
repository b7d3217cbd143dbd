/*
 * test_bm25.c: BM25 scores of a 3-document corpus against values worked out
 * by hand, through the whole library (xihu_build, xihu_index_open,
 * xihu_index_search).
 *
 * Corpus (body field; the file names d1 d2 d3 share no word with it):
 *   d1: "apple banana apple"      length 3
 *   d2: "banana cherry"           length 2
 *   d3: "cherry date elder fig"   length 4      N = 3, avgdl = 9 / 3 = 3
 * Built with --k1 0.9 --b 0.4 (the index's own parameters, stored in
 * SETTINGS); idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
 * score = idf * tf / (tf + k1 * (1 - b + b * len / avgdl)).
 *   idf(df=1) = ln(1 + 2.5/1.5) = ln(2.666667) = 0.980829
 *   idf(df=2) = ln(1 + 1.5/2.5) = ln(1.6)      = 0.470004
 *   apple  in d1: tf 2, len 3: 0.980829 * 2 / (2 + 0.9 * 1.0)      = 0.676434
 *   banana in d1: tf 1, len 3: 0.470004 * 1 / (1 + 0.9 * 1.0)      = 0.247370
 *   banana in d2: tf 1, len 2: 0.470004 * 1 / (1 + 0.9 * 0.866667) = 0.264047
 *   cherry in d2: same as banana in d2                             = 0.264047
 *   cherry in d3: tf 1, len 4: 0.470004 * 1 / (1 + 0.9 * 1.133333) = 0.232675
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "corpus.h"

static corpus c;

/* The same three documents indexed with k1 and b (k1 0: the defaults) into dir. */
static int build_with(const char *dir, double k1, double b, xihu_index **out)
{
	const char *paths[] = {c.tree};
	xihu_build_opts o = {.k1 = k1, .b = b, .b_given = k1 > 0};
	xihu_err err = {0};
	if (xihu_build(dir, paths, 1, NULL, 0, &o, NULL, &err) || xihu_index_open(dir, out, &err)) {
		fprintf(stderr, "%s: %s\n", dir, err.msg);
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (corpus_init(&c, "/tmp/xihu-bm25.XXXXXX") || corpus_write(&c, "d1", "apple banana apple\n") ||
	    corpus_write(&c, "d2", "banana cherry\n") || corpus_write(&c, "d3", "cherry date elder fig\n") ||
	    build_with(c.ixdir, 0.9, 0.4, &c.ix))
		return -1;
	xihu_index_stats st;
	xihu_index_get_stats(c.ix, &st);
	return st.docs == 3 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return corpus_free(&c);
}

/* Searches q and checks the hits' file names (last path part) and scores in order. */
static xihu_index *cur; /* the index expect_hits asks: c.ix unless a test says */

static void expect_hits(const char *q, uint64_t total, int n, ...)
{
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10};
	int rc = xihu_index_search(cur ? cur : c.ix, q, strlen(q), &o, &r, &err);
	if (rc)
		fail_msg("%s: %s", q, err.msg);
	assert_int_equal(r.total, total);
	assert_int_equal(r.nhits, n);
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *name = va_arg(ap, const char *);
		double score = va_arg(ap, double);
		const char *slash = strrchr(r.hits[i].doc, '/');
		assert_string_equal(slash ? slash + 1 : r.hits[i].doc, name);
		if (r.hits[i].score < score - 1e-6 || r.hits[i].score > score + 1e-6)
			fail_msg("%s: hit %d (%s): score %.6f, want %.6f", q, i, name, r.hits[i].score, score);
	}
	va_end(ap);
	xihu_index_results_free(&r);
}

static void one_term_one_doc(void **state)
{
	(void)state;
	expect_hits("apple", 1, 1, "d1", 0.676434);
}

static void shorter_doc_ranks_first(void **state)
{
	(void)state;
	expect_hits("banana", 2, 2, "d2", 0.264047, "d1", 0.247370);
}

static void and_sums_terms(void **state)
{
	(void)state;
	expect_hits("apple banana", 1, 1, "d1", 0.923804);
	expect_hits("BANANA Apple", 1, 1, "d1", 0.923804);
}

static void or_sums_matching_terms(void **state)
{
	(void)state;
	expect_hits("banana OR cherry", 3, 3, "d2", 0.528094, "d1", 0.247370, "d3", 0.232675);
}

static void negation_does_not_score(void **state)
{
	(void)state;
	expect_hits("banana -apple", 1, 1, "d2", 0.264047);
}

static void missing_term_matches_nothing(void **state)
{
	(void)state;
	expect_hits("apple grape", 0, 0);
	expect_hits("grape", 0, 0);
}

/* The defaults, k1 2.0 and b 0.5 (norm = 0.5 + 0.5 * len / 3):
 *   apple  in d1: 0.980829 * 2 / (2 + 2 * 1.0)        = 0.490415
 *   banana in d2: 0.470004 * 1 / (1 + 2 * 0.833333)   = 0.176251
 *   banana in d1: 0.470004 * 1 / (1 + 2 * 1.0)        = 0.156668
 * and --k1 2 --b 0.75 (norm = 0.25 + 0.75 * len / 3):
 *   banana in d2: 0.470004 / (1 + 2 * 0.75)          = 0.188002
 *   banana in d1: 0.470004 / (1 + 2 * 1.0)           = 0.156668 */
static void parameters_per_index(void **state)
{
	(void)state;
	char dir[160];
	snprintf(dir, sizeof dir, "%s/index-default", c.root);
	assert_int_equal(build_with(dir, 0, 0, &cur), 0);
	expect_hits("apple", 1, 1, "d1", 0.490415);
	expect_hits("banana", 2, 2, "d2", 0.176251, "d1", 0.156668);
	xihu_index_unref(cur);
	snprintf(dir, sizeof dir, "%s/index-k2", c.root);
	assert_int_equal(build_with(dir, 2.0, 0.75, &cur), 0);
	expect_hits("banana", 2, 2, "d2", 0.188002, "d1", 0.156668);
	/* an existing index keeps its parameters: asking for others is refused */
	const char *paths[] = {c.tree};
	xihu_build_opts o = {.k1 = 1.2};
	xihu_err err = {0};
	assert_int_equal(xihu_build(dir, paths, 1, NULL, 0, &o, NULL, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "created with --k1 2 --b 0.75"));
	xihu_index_unref(cur);
	cur = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_term_one_doc),
		cmocka_unit_test(shorter_doc_ranks_first),
		cmocka_unit_test(and_sums_terms),
		cmocka_unit_test(or_sums_matching_terms),
		cmocka_unit_test(negation_does_not_score),
		cmocka_unit_test(missing_term_matches_nothing),
		cmocka_unit_test(parameters_per_index),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
