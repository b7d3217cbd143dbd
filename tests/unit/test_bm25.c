/*
 * test_bm25.c: BM25 scores of a 6-document corpus against values worked out
 * by hand, through the whole library (xihu_build, xihu_index_open,
 * xihu_index_search).
 *
 * Corpus (body field; the file names d1 .. d6 share no word with it):
 *   d1: "apple banana apple"      length 3
 *   d2: "banana cherry"           length 2
 *   d3: "cherry date elder fig"   length 4
 *   d4: "lime mango", d5: "nut olive" (length 2), d6: "pear plum quince" (3)
 *                                              N = 6, avgdl = 16 / 6
 * Built with --k1 0.9 --b 0.4 (the index's own parameters, stored in
 * SETTINGS); idf = ln((N - df + 0.5) / (df + 0.5)) (at least 0.001),
 * score = idf * tf / (tf + k1 * (1 - b + b * len / avgdl)).
 *   idf(df=1) = ln(5.5 / 1.5) = 1.299283,  idf(df=2) = ln(4.5 / 2.5) = 0.587787
 *   norm = 0.6 + 0.4 * len / 2.666667: 0.9 (len 2), 1.05 (3), 1.2 (4)
 *   apple  in d1: tf 2, len 3: 1.299283 * 2 / (2 + 0.9 * 1.05) = 0.882365
 *   banana in d1: tf 1, len 3: 0.587787 / (1 + 0.9 * 1.05)     = 0.302204
 *   banana in d2: tf 1, len 2: 0.587787 / (1 + 0.9 * 0.9)      = 0.324744
 *   cherry in d2: same as banana in d2                        = 0.324744
 *   cherry in d3: tf 1, len 4: 0.587787 / (1 + 0.9 * 1.2)      = 0.282590
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
	    corpus_write(&c, "d4", "lime mango\n") || corpus_write(&c, "d5", "nut olive\n") ||
	    corpus_write(&c, "d6", "pear plum quince\n") || build_with(c.ixdir, 0.9, 0.4, &c.ix))
		return -1;
	xihu_index_stats st;
	xihu_index_get_stats(c.ix, &st);
	return st.docs == 6 ? 0 : -1;
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
	expect_hits("apple", 1, 1, "d1", 0.882365);
}

static void shorter_doc_ranks_first(void **state)
{
	(void)state;
	expect_hits("banana", 2, 2, "d2", 0.324744, "d1", 0.302204);
}

static void and_sums_terms(void **state)
{
	(void)state;
	expect_hits("apple banana", 1, 1, "d1", 1.184569);
	expect_hits("BANANA Apple", 1, 1, "d1", 1.184569);
}

static void or_sums_matching_terms(void **state)
{
	(void)state;
	expect_hits("banana OR cherry", 3, 3, "d2", 0.649488, "d1", 0.302204, "d3", 0.282590);
}

static void negation_does_not_score(void **state)
{
	(void)state;
	expect_hits("banana -apple", 1, 1, "d2", 0.324744);
}

static void missing_term_matches_nothing(void **state)
{
	(void)state;
	expect_hits("apple grape", 0, 0);
	expect_hits("grape", 0, 0);
}

/* The defaults, k1 2.0 and b 0.55 (norm = 0.45 + 0.55 * len / 2.666667:
 * 0.8625, 1.06875 for len 2, 3):
 *   apple  in d1: 1.299283 * 2 / (2 + 2 * 1.06875)   = 0.628052
 *   banana in d2: 0.587787 / (1 + 2 * 0.8625)        = 0.215702
 *   banana in d1: 0.587787 / (1 + 2 * 1.06875)       = 0.187342
 * and --k1 2 --b 0.75 (norm = 0.25 + 0.75 * len / 2.666667):
 *   banana in d2: 0.587787 / (1 + 2 * 0.8125)        = 0.223919
 *   banana in d1: 0.587787 / (1 + 2 * 1.09375)       = 0.184404 */
static void parameters_per_index(void **state)
{
	(void)state;
	char dir[160];
	snprintf(dir, sizeof dir, "%s/index-default", c.root);
	assert_int_equal(build_with(dir, 0, 0, &cur), 0);
	expect_hits("apple", 1, 1, "d1", 0.628052);
	expect_hits("banana", 2, 2, "d2", 0.215702, "d1", 0.187342);
	xihu_index_unref(cur);
	snprintf(dir, sizeof dir, "%s/index-k2", c.root);
	assert_int_equal(build_with(dir, 2.0, 0.75, &cur), 0);
	expect_hits("banana", 2, 2, "d2", 0.223919, "d1", 0.184404);
	/* an existing index keeps its parameters: asking for others is refused */
	const char *paths[] = {c.tree};
	xihu_build_opts o = {.k1 = 1.2};
	xihu_err err = {0};
	assert_int_equal(xihu_build(dir, paths, 1, NULL, 0, &o, NULL, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "created with --k1 2 --b 0.75"));
	xihu_index_unref(cur);
	cur = NULL;
}

/*
 * A word in a record's title and body saturates once (BM25F): x = 3 *
 * tf_title / B_title + tf_body / B_body, score = idf * x / (x + k1), B
 * each field's 1 - b + b * len / avglen.  Records (title | body), N = 6,
 * the defaults k1 2 and b 0.55:
 *   r1: apple | banana cherry date        r2: apple pie | apple apple banana
 *   r3..r6: one title word, bodies of 2, 3, 1 and 3 other words
 *   title avglen 7 / 6, body avglen 15 / 6 = 2.5; apple's df is its most
 *   in one field, 2 (title), idf 0.587787
 *   r1: B_title = 0.45 + 0.55 / 1.166667 = 0.921429, x = 3.255814,
 *       0.587787 * 3.255814 / 5.255814 = 0.364116
 *   r2: B_title = 1.392857, B_body = 0.45 + 0.55 * 3 / 2.5 = 1.11,
 *       x = 3 / 1.392857 + 2 / 1.11 = 3.955648, score 0.390399
 * Summed field by field (a title weighing 0.5 on its own BM25) r1 would
 * score 0.103 and r2 0.356: the title word counted for little.
 */
static void title_and_body_saturate_together(void **state)
{
	(void)state;
	char jsonl[160], dir[160];
	snprintf(jsonl, sizeof jsonl, "%s/records.jsonl", c.root);
	snprintf(dir, sizeof dir, "%s/index-records", c.root);
	FILE *fp = fopen(jsonl, "w");
	assert_non_null(fp);
	fputs("{\"id\":\"r1\",\"title\":\"apple\",\"body\":\"banana cherry date\"}\n"
	      "{\"id\":\"r2\",\"title\":\"apple pie\",\"body\":\"apple apple banana\"}\n"
	      "{\"id\":\"r3\",\"title\":\"grape\",\"body\":\"kiwi lemon\"}\n"
	      "{\"id\":\"r4\",\"title\":\"mango\",\"body\":\"nut olive pear\"}\n"
	      "{\"id\":\"r5\",\"title\":\"plum\",\"body\":\"quince\"}\n"
	      "{\"id\":\"r6\",\"title\":\"tea\",\"body\":\"rye sage thyme\"}\n",
	      fp);
	assert_int_equal(fclose(fp), 0);
	const char *lists[] = {jsonl};
	xihu_err err = {0};
	if (xihu_build(dir, NULL, 0, lists, 1, NULL, NULL, &err) || xihu_index_open(dir, &cur, &err))
		fail_msg("%s: %s", dir, err.msg);
	expect_hits("apple", 2, 2, "r2", 0.390399, "r1", 0.364116);
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
		cmocka_unit_test(title_and_body_saturate_together),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
