/*
 * test_snippet.c: snippet_lines skips the lines that cannot match (its
 * prefilter) and must find exactly what analyzing every line finds.  Random
 * texts of mixed-case words, identifiers, punctuation, blank lines and
 * non-ASCII words (accents, fullwidth letters that fold to ASCII, CJK), and
 * random terms, prefixes and phrases, compared line by line and span by span
 * with the prefilter on and off, under analyses with and without stopwords
 * and stemming, and with a small max_lines (the early stop).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "search/search.h"
#include "snippet_render.h"

static const char *const words[] = {
	"memory", "Memory", "MEMORY", "barrier", "Barriers", "the", "of", "page", "table",
	"pageTable", "page_table", "PAGE_TABLE_SIZE", "parseHttpRequest", "http", "smp_mb",
	"x86", "u32Value", "running", "runs", "caf\xc3\xa9",
	("\xef\xbc\xad\xef\xbc\xa5\xef\xbc\xad\xef\xbc\xaf\xef\xbc\xb2\xef\xbc\xb9"), /* fullwidth MEMORY */
	"\xe5\x86\x85\xe5\xad\x98", "lock", "spinlock", "spin_lock", "unlock", "a", "1024",
};
static const char *const seps[] = {" ", " ", " ", ", ", ".", "(", ") ", "\n", "\n\n", "\n  \n",
                                   " -- ", "\t", "\r\n", "/*", "*/ "};

static uint64_t rng = 42;
static uint32_t rnd(uint32_t n)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(rng >> 33) % n;
}

static size_t make_text(char *buf, size_t cap)
{
	size_t len = 0, n = 20 + rnd(200);
	for (size_t i = 0; i < n; i++) {
		const char *w = words[rnd(sizeof words / sizeof *words)];
		const char *s = seps[rnd(sizeof seps / sizeof *seps)];
		if (len + strlen(w) + strlen(s) + 1 >= cap)
			break;
		len += (size_t)sprintf(buf + len, "%s%s", w, s);
	}
	return len;
}

static char *render(const char *text, size_t len, const hl_terms *hl, uint32_t max_lines,
                    bool prefilter)
{
	size_t n;
	char *out = snippet_render(text, len, hl, max_lines, 1, prefilter, &n);
	assert_non_null(out);
	return out;
}

/* A pattern's word as the query would give it (a word the analysis drops
 * gives "memory"). */
static char *term_of(const analysis *an, const char *w)
{
	char *t = snippet_term(an, w, strlen(w), 0);
	return t ? t : strdup("memory");
}

static void compare(const analysis *an, unsigned rounds)
{
	char text[8192];
	for (unsigned r = 0; r < rounds; r++) {
		size_t len = make_text(text, sizeof text);
		char *terms[3];
		uint32_t n = 1 + rnd(3);
		for (uint32_t i = 0; i < n; i++)
			terms[i] = term_of(an, words[rnd(sizeof words / sizeof *words)]);
		bool prefix = n == 1 && rnd(3) == 0;
		if (prefix && strlen(terms[0]) > 2)
			terms[0][2] = '\0';
		hl_pattern p[2] = {{n, terms, prefix, NULL}, {1, terms, false, NULL}};
		hl_terms hl = {1 + rnd(2), p, an};
		uint32_t max_lines = rnd(2) ? 100 : 1 + rnd(3);
		char *slow = render(text, len, &hl, max_lines, false);
		char *fast = render(text, len, &hl, max_lines, true);
		if (strcmp(slow, fast))
			fail_msg("round %u, %u words [%s%s], max_lines %u, text [%.*s]:\nlong way:\n%s\nprefiltered:\n%s",
			         r, n, terms[0], prefix ? "*" : "", max_lines, (int)len, text, slow, fast);
		free(slow);
		free(fast);
		for (uint32_t i = 0; i < n; i++)
			free(terms[i]);
	}
}

static analysis *make(const char *stem, const char *stop)
{
	analysis_opts o = {.stem = stem, .stopwords = stop, .stopwords_len = stop ? strlen(stop) : 0,
	                   .stopwords_name = "stop.txt"};
	analysis *an = NULL;
	assert_int_equal(analysis_new(&o, &an, NULL), 0);
	return an;
}

static void prefilter_finds_what_every_line_finds(void **state)
{
	(void)state;
	compare(NULL, 3000);
}

static void with_stopwords_and_stemming_too(void **state)
{
	(void)state;
	analysis *stop = make(NULL, "the\nof\na\n");
	compare(stop, 1500);
	analysis_free(stop);
	analysis *stem = make("english", NULL);
	compare(stem, 1500);
	analysis_free(stem);
}

/* The lines a prefilter must not skip, pinned: a phrase across a blank
 * line, a fullwidth word that folds to the ASCII term, an identifier part. */
static void blank_lines_fullwidth_and_parts(void **state)
{
	(void)state;
	char *mb[] = {"memory", "barrier"};
	hl_pattern p = {2, mb, false, NULL};
	hl_terms hl = {1, &p, NULL};
	const char *t = "x\nsome memory\n\n  \nbarrier here\nother words\n";
	char *got = render(t, strlen(t), &hl, 100, true);
	assert_string_equal(got, "1:0:x|\n2:6:some memory|[5,11]\n3:0:|\n4:0:  |\n5:1:barrier here|[0,7]\n"
	                         "6:0:other words|\n");
	free(got);
	char *m[] = {"memory"};
	hl_pattern q = {1, m, false, NULL};
	hl_terms hq = {1, &q, NULL};
	t = "none\n\xef\xbc\xad\xef\xbc\xa5\xef\xbc\xad\xef\xbc\xaf\xef\xbc\xb2\xef\xbc\xb9 wide\n"
	    "readMemoryBarrier\n";
	got = render(t, strlen(t), &hq, 100, true);
	assert_string_equal(got, "1:0:none|\n2:1:\xef\xbc\xad\xef\xbc\xa5\xef\xbc\xad\xef\xbc\xaf\xef\xbc\xb2"
	                         "\xef\xbc\xb9 wide|[0,18]\n3:5:readMemoryBarrier|[4,10]\n");
	free(got);
}

/* The bytes of text the spans of snippet_lines(hl) cover, by offset into
 * text, in cov (the texts here have no line long enough to be cut). */
static void cover(const char *text, size_t len, const hl_terms *hl, bool prefilter, uint8_t *cov)
{
	size_t starts[8192], nl = 0;
	starts[nl++] = 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			starts[nl++] = i + 1;
	snippet_prefilter = prefilter;
	xihu_index_hit hit = {0};
	assert_int_equal(snippet_lines(text, len, hl, 100000, 0, &hit, NULL), 0);
	snippet_prefilter = true;
	for (uint32_t l = 0; l < hit.nlines; l++) {
		const xihu_index_line *x = &hit.lines[l];
		assert_true(x->line >= 1 && x->line <= nl);
		for (uint32_t k = 0; k < x->nspans; k++)
			for (uint32_t b = x->spans[k].start; b < x->spans[k].end; b++)
				cov[starts[x->line - 1] + b] = 1;
		free(x->text);
		free(x->spans);
	}
	free(hit.lines);
}

/* A query of many patterns (a pasted paragraph, repeats and all): a token
 * finds the patterns ending in it by a binary search, and the prefilter
 * gives way to one analysis of the text; what it highlights must be what
 * each pattern highlights alone, together (but for the '_' between two
 * spans, which merge). */
static void many_patterns_find_what_each_finds(void **state)
{
	(void)state;
	char text[8192];
	static uint8_t all[8192], one[8192], want[8192];
	for (unsigned r = 0; r < 300; r++) {
		size_t len = make_text(text, sizeof text);
		enum { NP = 60 };
		char *terms[NP][3];
		hl_pattern p[NP];
		uint32_t np = 20 + rnd(NP - 20);
		for (uint32_t k = 0; k < np; k++) {
			uint32_t n = rnd(4) ? 1 : 2 + rnd(2);
			for (uint32_t i = 0; i < n; i++)
				terms[k][i] = term_of(NULL, words[rnd(sizeof words / sizeof *words)]);
			bool prefix = n == 1 && rnd(4) == 0;
			if (prefix && strlen(terms[k][0]) > 1)
				terms[k][0][1 + rnd((uint32_t)strlen(terms[k][0]) - 1)] = '\0';
			p[k] = (hl_pattern){n, terms[k], prefix, NULL};
		}
		hl_terms hl = {np, p, NULL};
		/* want: a phrase's spans as it finds them alone, a word's (or a
		 * prefix's) every token it is (begins) */
		memset(want, 0, len);
		for (uint32_t k = 0; k < np; k++) {
			if (p[k].nterms == 1)
				continue;
			hl_terms h1 = {1, &p[k], NULL};
			memset(one, 0, len);
			cover(text, len, &h1, false, one);
			for (size_t i = 0; i < len; i++)
				want[i] |= one[i];
		}
		analyzer a;
		token t;
		assert_int_equal(analyzer_open(&a, NULL, NULL), 0);
		analyzer_reset(&a, text, len, 0);
		while (analyzer_next(&a, &t))
			for (uint32_t k = 0; k < np; k++) {
				const char *w = p[k].terms[0];
				if (p[k].nterms == 1 && (p[k].prefix ? !strncmp(t.term, w, strlen(w)) : !strcmp(t.term, w)))
					memset(want + t.start, 1, t.end - t.start);
			}
		analyzer_close(&a);
		for (int pre = 0; pre < 2; pre++) {
			memset(all, 0, len);
			cover(text, len, &hl, pre, all);
			for (size_t i = 0; i < len; i++)
				if (text[i] != '_' && all[i] != want[i])
					fail_msg("round %u, %u patterns, prefilter %d: byte %zu ('%c') %s, text [%.*s]", r, np,
					         pre, i, text[i], all[i] ? "highlighted only together" : "missed together", (int)len, text);
		}
		for (uint32_t k = 0; k < np; k++)
			for (uint32_t i = 0; i < p[k].nterms; i++)
				free(terms[k][i]);
	}
}

/* One thread's share of snippets_of_many_patterns_in_threads_at_once. */
struct snippet_job {
	char text[8192];
	size_t len;
	char *terms[1000];
	hl_pattern p[1000];
	hl_terms hl;
	char *want; /* rendered alone, before the threads start */
	bool ok;
};

static void *snippet_thread(void *arg)
{
	struct snippet_job *j = arg;
	j->ok = true;
	for (int r = 0; r < 200 && j->ok; r++) {
		size_t n;
		char *got = snippet_render(j->text, j->len, &j->hl, 100, 0, true, &n);
		j->ok = got && !strcmp(got, j->want);
		free(got);
	}
	return NULL;
}

/* xihud's workers make snippets at the same time: the patterns' sort must
 * take nothing from outside them (it once kept them in a static, and the
 * proto test's reload_while_requests_are_in_flight lost the daemon now and
 * then on a loaded machine). */
static void snippets_of_many_patterns_in_threads_at_once(void **state)
{
	(void)state;
	enum { T = 4 };
	static struct snippet_job jobs[T];
	pthread_t th[T];
	for (int i = 0; i < T; i++) {
		struct snippet_job *j = &jobs[i];
		j->len = make_text(j->text, sizeof j->text);
		uint32_t np = 400 + 200 * (uint32_t)i; /* sorting them is most of the work */
		for (uint32_t k = 0; k < np; k++) {
			j->terms[k] = term_of(NULL, words[rnd(sizeof words / sizeof *words)]);
			j->p[k] = (hl_pattern){1, &j->terms[k], rnd(5) == 0, NULL};
		}
		j->hl = (hl_terms){np, j->p, NULL};
		size_t n;
		j->want = snippet_render(j->text, j->len, &j->hl, 100, 0, true, &n);
		assert_non_null(j->want);
	}
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_create(&th[i], NULL, snippet_thread, &jobs[i]), 0);
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < T; i++) {
		if (!jobs[i].ok)
			fail_msg("thread %d: a snippet differs from the one made alone", i);
		free(jobs[i].want);
		for (uint32_t k = 0; k < jobs[i].hl.n; k++)
			free(jobs[i].terms[k]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefilter_finds_what_every_line_finds),
		cmocka_unit_test(with_stopwords_and_stemming_too),
		cmocka_unit_test(blank_lines_fullwidth_and_parts),
		cmocka_unit_test(many_patterns_find_what_each_finds),
		cmocka_unit_test(snippets_of_many_patterns_in_threads_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
