/*
 * test_fuzzy.c: a fuzzy word (word~) must find exactly the documents that
 * hold a word within its edit distance.  The dictionary walk in search.c
 * skips whole ranges of terms; here every answer is checked against a
 * brute-force pass over all the words, with an edit distance written
 * separately (restricted Damerau-Levenshtein over bytes: the test words are
 * ASCII), so a skip that jumps over a match makes a case fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"

#define NDOCS 400
#define NWORDS 1500
#define WORDS_PER_DOC 6

static corpus c;
static char words[NWORDS][12];
static int doc_words[NDOCS][WORDS_PER_DOC];
static unsigned seed = 4242;

static unsigned rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

/* Words over a small alphabet, so that many are near each other. */
static void make_word(char *w)
{
	static const char alpha[] = "abcdeklmnorst";
	int len = 3 + (int)(rnd() % 7);
	for (int i = 0; i < len; i++)
		w[i] = alpha[rnd() % (sizeof alpha - 1)];
	w[len] = 0;
}

static unsigned osa(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	unsigned d[16][16];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			unsigned v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[n][m];
}

static int setup(void **state)
{
	(void)state;
	if (corpus_init(&c, "/tmp/xihu-fuzzy.XXXXXX"))
		return -1;
	for (int i = 0; i < NWORDS; i++)
		make_word(words[i]);
	for (int d = 0; d < NDOCS; d++) {
		char text[256] = "", name[16];
		for (int k = 0; k < WORDS_PER_DOC; k++) {
			doc_words[d][k] = (int)(rnd() % NWORDS);
			strcat(text, words[doc_words[d][k]]);
			strcat(text, " ");
		}
		snprintf(name, sizeof name, "d%03d", d);
		if (corpus_write(&c, name, text))
			return -1;
	}
	return corpus_open(&c, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return corpus_free(&c);
}

/* The docs (by number) xihu finds for q, as a bitmap. */
static void found(const char *q, bool *out)
{
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = NDOCS, .exact_total = true};
	if (xihu_index_search(c.ix, q, strlen(q), &o, &r, &err))
		fail_msg("%s: %s", q, err.msg);
	memset(out, 0, NDOCS * sizeof *out);
	for (uint32_t i = 0; i < r.nhits; i++) {
		const char *slash = strrchr(r.hits[i].doc, '/');
		int d = atoi(slash + 2); /* ".../dNNN" */
		out[d] = true;
	}
	assert_int_equal(r.total, r.nhits);
	xihu_index_results_free(&r);
}

static void check(const char *word, unsigned k, const char *q)
{
	bool got[NDOCS], want[NDOCS] = {0};
	found(q, got);
	for (int d = 0; d < NDOCS; d++)
		for (int j = 0; j < WORDS_PER_DOC; j++)
			if (osa(word, words[doc_words[d][j]]) <= k)
				want[d] = true;
	for (int d = 0; d < NDOCS; d++)
		if (got[d] != want[d])
			fail_msg("%s: doc d%03d %s", q, d, want[d] ? "missed" : "found wrongly");
}

static void fuzzy_matches_brute_force(void **state)
{
	(void)state;
	char q[40], w[16];
	for (int n = 0; n < 300; n++) {
		/* a word of the corpus with an edit or two, or a fresh one */
		if (n % 3 == 0) {
			make_word(w);
		} else {
			strcpy(w, words[rnd() % NWORDS]);
			size_t len = strlen(w);
			size_t at = rnd() % len;
			switch (rnd() % 4) {
			case 0: w[at] = 'z'; break;                                        /* substitute */
			case 1: memmove(w + at, w + at + 1, len - at); break;               /* delete */
			case 2: memmove(w + at + 1, w + at, len - at + 1); w[at] = 'm'; break; /* insert */
			case 3:
				if (at + 1 < len) { /* transpose */
					char t = w[at];
					w[at] = w[at + 1];
					w[at + 1] = t;
				}
				break;
			}
		}
		unsigned k = 1 + rnd() % 2;
		snprintf(q, sizeof q, "%s~%u", w, k);
		check(w, k, q);
	}
}

/* "word~" picks the distance by length: 0 up to 2 letters, 1 up to 5, else 2. */
static void fuzzy_distance_by_length(void **state)
{
	(void)state;
	char q[40];
	for (int n = 0; n < 100; n++) {
		const char *w = words[rnd() % NWORDS];
		size_t len = strlen(w);
		snprintf(q, sizeof q, "%.11s~", w);
		check(w, len <= 2 ? 0 : len <= 5 ? 1 : 2, q);
	}
}

/* Whether word i of the vocabulary is in some document. */
static bool indexed(int i)
{
	for (int d = 0; d < NDOCS; d++)
		for (int j = 0; j < WORDS_PER_DOC; j++)
			if (doc_words[d][j] == i)
				return true;
	return false;
}

static void suggestion_only_when_nothing_found(void **state)
{
	(void)state;
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10, .suggest = true};
	char q[40];
	int suggested = 0;
	/* a corpus word with its last letter doubled, when that is no indexed word */
	for (int n = 0; n < 60; n++) {
		const char *w = words[rnd() % NWORDS];
		snprintf(q, sizeof q, "%.11s%c", w, w[strlen(w) - 1]);
		size_t qlen = strlen(q);
		unsigned k = qlen <= 5 ? 1 : 2, nearest = 99;
		bool known = false;
		for (int i = 0; i < NWORDS; i++) {
			if (!indexed(i))
				continue;
			known |= !strcmp(words[i], q);
			unsigned d = osa(q, words[i]);
			if (d < nearest)
				nearest = d;
		}
		if (known)
			continue;
		o.suggest = false; /* only when asked */
		assert_int_equal(xihu_index_search(c.ix, q, qlen, &o, &r, &err), 0);
		assert_null(r.suggestion);
		xihu_index_results_free(&r);
		o.suggest = true;
		assert_int_equal(xihu_index_search(c.ix, q, qlen, &o, &r, &err), 0);
		assert_int_equal(r.nhits, 0);
		if (nearest > k) {
			if (r.suggestion)
				fail_msg("%s: suggestion %s with no indexed word within %u", q, r.suggestion, k);
		} else {
			if (!r.suggestion)
				fail_msg("%s: no suggestion, but an indexed word is %u edits away", q, nearest);
			bool ok = false;
			for (int i = 0; i < NWORDS; i++)
				ok |= indexed(i) && !strcmp(words[i], r.suggestion) && osa(q, words[i]) == nearest;
			if (!ok)
				fail_msg("%s: suggestion %s is not an indexed word %u edits away", q, r.suggestion, nearest);
			suggested++;
		}
		xihu_index_results_free(&r);
	}
	assert_true(suggested > 10);
	for (int i = 0; i < NWORDS; i++)
		if (indexed(i)) {
			assert_int_equal(xihu_index_search(c.ix, words[i], strlen(words[i]), &o, &r, &err), 0);
			assert_true(r.nhits > 0);
			assert_null(r.suggestion);
			xihu_index_results_free(&r);
			break;
		}
}

/* A pasted paragraph that nothing matches: the words the index holds are
 * not walked for a suggestion, and at most 64 of the others are (each walk
 * costs milliseconds on a large index); the words after them stay as typed. */
static void long_query_suggests_for_64_words_at_most(void **state)
{
	(void)state;
	static char q[8192];
	char *typed[200];
	int n = 0, misspelled = 0;
	size_t len = 0;
	for (int i = 0; i < NWORDS && n < 100; i++)
		if (indexed(i)) {
			typed[n++] = words[i];
			len += (size_t)snprintf(q + len, sizeof q - len, "%s%s", len ? " " : "", words[i]);
		}
	static char bad[80][16];
	for (int tries = 0; tries < 10000 && misspelled < 70; tries++) {
		const char *w = words[rnd() % NWORDS];
		char *b = bad[misspelled];
		snprintf(b, 16, "%.11s%c", w, w[strlen(w) - 1]);
		unsigned k = strlen(b) <= 5 ? 1 : 2, nearest = 99;
		bool known = false;
		for (int i = 0; i < NWORDS; i++)
			if (indexed(i)) {
				known |= !strcmp(words[i], b);
				if (osa(b, words[i]) < nearest)
					nearest = osa(b, words[i]);
			}
		if (known || nearest > k)
			continue;
		typed[n++] = b;
		misspelled++;
		len += (size_t)snprintf(q + len, sizeof q - len, " %s", b);
	}
	assert_int_equal(misspelled, 70);
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_terms = 1024;
	xihu_index_search_opts o = {.limit = 10, .suggest = true, .limits = &lim};
	xihu_index_results r;
	xihu_err err = {0};
	if (xihu_index_search(c.ix, q, len, &o, &r, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r.nhits, 0);
	assert_non_null(r.suggestion);
	/* word by word: the 100 known ones as typed, 64 misspelled ones changed */
	int changed = 0, at = 0;
	for (char *save, *w = strtok_r(r.suggestion, " ", &save); w; w = strtok_r(NULL, " ", &save), at++) {
		assert_true(at < n);
		if (strcmp(w, typed[at])) {
			assert_true(at >= 100);
			changed++;
		} else if (at >= 100 + 64) {
			continue; /* past the walks: as typed */
		}
	}
	assert_int_equal(at, n);
	assert_int_equal(changed, 64);
	xihu_index_results_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fuzzy_matches_brute_force),
		cmocka_unit_test(fuzzy_distance_by_length),
		cmocka_unit_test(suggestion_only_when_nothing_found),
		cmocka_unit_test(long_query_suggests_for_64_words_at_most),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
