/*
 * test_match.c: the literal paths of index/grep/match.c.
 *
 * Which literal a pattern yields (the one every match holds, and whether
 * the pattern is nothing but it), and that matching through the literal
 * finds exactly what PCRE2 alone finds: random patterns from a small
 * grammar over random texts, every line's number and spans compared with
 * the same matcher's literal switched off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grep/grep.h"

#define TEXTBUF_SIZE 4096 /* texts of a few hundred atoms */
#include "textbuf.h"

static grep_matcher *compile(const char *pat, bool fixed, bool word, grep_case cm)
{
	size_t len = strlen(pat);
	const char *pats[] = {pat};
	grep_pattern_set ps = {.pat = pats, .len = &len, .n = 1, .fixed = fixed, .word = word, .case_mode = cm};
	grep_matcher *m = NULL;
	xihu_err err = {0};
	if (grep_matcher_new(&ps, &m, &err) != 0)
		fail_msg("%s: %s", pat, err.msg);
	return m;
}

/* The literal of pat: want NULL for none; only for the pattern being it. */
static void lit_is(const char *pat, bool fixed, grep_case cm, const char *want, bool only)
{
	grep_matcher *m = compile(pat, fixed, false, cm);
	if (!want) {
		if (m->lit)
			fail_msg("%s: literal \"%.*s\", wanted none", pat, (int)m->nlit, m->lit);
	} else {
		if (!m->lit || m->nlit != strlen(want) || memcmp(m->lit, want, m->nlit) != 0)
			fail_msg("%s: literal \"%.*s\", wanted \"%s\"", pat, m->lit ? (int)m->nlit : 0,
			         m->lit ? m->lit : "", want);
		if (m->lit_only != only)
			fail_msg("%s: lit_only %d, wanted %d", pat, m->lit_only, only);
	}
	grep_matcher_free(m);
}

static void literals_found(void **state)
{
	(void)state;
	const grep_case S = GREP_CASE_SENSITIVE, I = GREP_CASE_INSENSITIVE, M = GREP_CASE_SMART;
	lit_is("spin_lock", false, S, "spin_lock", true);
	lit_is("6\\];", false, S, "6];", true);
	lit_is("\\.probe =", false, S, ".probe =", true);
	lit_is("a.b", true, S, "a.b", true);           /* -F: the bytes as they are */
	lit_is("dev->priv", false, S, "dev->priv", true);
	lit_is("x", false, S, "x", true);              /* short, but the whole pattern */
	lit_is("[A-Z]{3,}_SIZE", false, S, "_SIZE", false);
	lit_is("^static int .*_probe", false, S, "_probe", false); /* the rarer run */
	lit_is("^struct \\w+.*_gate", false, S, "_gate", false);
	lit_is("kmalloc_\\w+\\(", false, S, "kmalloc_", false);
	lit_is("a+bcd", false, S, "bcd", false);       /* + ends a run, keeps its character */
	lit_is("abcd+e", false, S, "abcd", false);
	lit_is("abcx*", false, S, "abc", false);       /* * and ? make the last character optional */
	lit_is("abcx?", false, S, "abc", false);
	lit_is("abcx{0,2}", false, S, "abc", false);
	lit_is("abcx{2}", false, S, "abcx", false);
	lit_is("(?:fl)?agsx", false, S, "agsx", false);
	lit_is("(a|b)cde", false, S, "cde", false);    /* an alternation inside a group */
	lit_is("abc|def", false, S, NULL, false);      /* at the top: none */
	lit_is("(?i)abcd", false, S, NULL, false);     /* flags that change case */
	lit_is("abcd(?i:e)", false, S, NULL, false);
	lit_is("(?x)abcd", false, S, NULL, false);
	lit_is("ab*c", false, S, NULL, false);         /* runs of 1: too short to pay */
	lit_is("\\w+\\(", false, S, NULL, false);
	lit_is("[abc]def", false, S, "def", false);
	lit_is("[]x]yzw", false, S, "yzw", false);     /* a ']' first in a class */
	lit_is("\\pLabc", false, S, "abc", false);
	lit_is("\\p{Greek}abc", false, S, "abc", false);
	lit_is("\\x41bcd", false, S, "bcd", false);
	lit_is("caf\xc3\xa9s", false, S, "caf\xc3\xa9s", true);
	lit_is("caf\xc3\xa9?s", false, S, "caf", false); /* the whole character is optional */
	lit_is("aBcD", false, I, "abcd", true);        /* -i: folded, kept in lower case */
	lit_is("->", false, I, "->", true);
	lit_is("abcd", false, M, "abcd", true);        /* smart case, lower case: -i */
	lit_is("Abcd", false, M, "Abcd", true);        /* smart case, upper case: with case */
	lit_is("task", false, I, NULL, false);         /* k and s fold with non-ASCII letters too */
	lit_is("caf\xc3\xa9", false, I, NULL, false);   /* non-ASCII letters: not folded here */
	lit_is("[Dd]efine\\b", false, I, "efine", false);
}

/* ---- literal path == PCRE2 alone --------------------------------------- */


static const char *const atoms[] = {"a", "b", "ab", "ba", "-", ">", "->", "_", "x", "\xc3\xa9", " ",
                                    "A", "B", "X", "K", "s", "\xe2\x84\xaa" /* Kelvin */, "\xc5\xbf" /* long s */};

static void gen_pattern(buf *o, bool *fixed)
{
	static const char *const pieces[] = {"a", "b", "ab", "-", ">", "_x", "\\.", "[ab]", "\\w", ".", "+", "*", "?",
	                                     "{2}", "{0,1}", "(a|b)", "^", "$", "\\b", "\xc3\xa9", " ", "A", "X",
	                                     "k", "S"};
	*fixed = rand() % 4 == 0;
	o->n = 0;
	o->b[0] = 0;
	int n = 1 + rand() % 6;
	for (int i = 0; i < n; i++) {
		if (*fixed) {
			put(o, atoms[rand() % (int)(sizeof atoms / sizeof atoms[0])]);
			continue;
		}
		const char *p = pieces[rand() % (int)(sizeof pieces / sizeof pieces[0])];
		/* a quantifier needs something before it, and not another quantifier */
		bool quant = strchr("+*?{", p[0]) != NULL;
		if (quant && (o->n == 0 || strchr("+*?}^(", o->b[o->n - 1]) || o->b[o->n - 1] == '$'))
			p = "a";
		put(o, p);
	}
}

static void gen_text(buf *o)
{
	o->n = 0;
	o->b[0] = 0;
	int n = rand() % 400;
	for (int i = 0; i < n; i++)
		put(o, rand() % 7 == 0 ? "\n" : atoms[rand() % (int)(sizeof atoms / sizeof atoms[0])]);
}

typedef struct seen {
	char log[65536];
	size_t n;
} seen;

static int record(void *ctx, uint64_t lineno, const char *line, size_t len, const xihu_index_span *sp,
                  uint32_t nsp)
{
	(void)line;
	seen *s = ctx;
	int k = snprintf(s->log + s->n, sizeof s->log - s->n, "%llu/%zu:", (unsigned long long)lineno, len);
	if (k > 0 && (size_t)k < sizeof s->log - s->n)
		s->n += (size_t)k;
	for (uint32_t i = 0; i < nsp; i++) {
		k = snprintf(s->log + s->n, sizeof s->log - s->n, "[%u,%u)", sp[i].start, sp[i].end);
		if (k > 0 && (size_t)k < sizeof s->log - s->n)
			s->n += (size_t)k;
	}
	if (s->n + 1 < sizeof s->log)
		s->log[s->n++] = '\n';
	s->log[s->n] = 0;
	return 0;
}

static void run(const grep_matcher *m, const buf *text, bool spans, seen *out)
{
	grep_scratch sc;
	xihu_err err = {0};
	assert_int_equal(grep_scratch_init(&sc, m, &err), 0);
	out->n = 0;
	out->log[0] = 0;
	assert_int_equal(grep_match_text(m, &sc, text->b, text->n, "t", spans, record, out, &err), 0);
	grep_scratch_free(&sc);
}

static void literal_path_matches_pcre2(void **state)
{
	(void)state;
	srand(14);
	unsigned with_lit = 0, only = 0;
	static seen a, b;
	for (int iter = 0; iter < 4000; iter++) {
		buf pat, text;
		bool fixed;
		gen_pattern(&pat, &fixed);
		bool word = rand() % 3 == 0;
		size_t len = pat.n;
		const char *pats[] = {pat.b};
		grep_pattern_set ps = {.pat = pats, .len = &len, .n = 1, .fixed = fixed, .word = word,
		                       .case_mode = (grep_case)(rand() % 3)};
		grep_matcher *m = NULL;
		xihu_err err = {0};
		if (grep_matcher_new(&ps, &m, &err) != 0)
			continue; /* a pattern PCRE2 rejects */
		if (!m->lit) {
			grep_matcher_free(m);
			continue;
		}
		with_lit++;
		only += m->lit_only;
		for (int t = 0; t < 5; t++) {
			gen_text(&text);
			bool spans = t % 2 == 0;
			run(m, &text, spans, &a);
			char *lit = m->lit; /* the same matcher with PCRE2 alone */
			m->lit = NULL;
			run(m, &text, spans, &b);
			m->lit = lit;
			if (strcmp(a.log, b.log) != 0)
				fail_msg("pattern '%s'%s%s over\n%s\nliteral path:\n%s\nPCRE2:\n%s", pat.b, fixed ? " -F" : "",
				         word ? " -w" : "", text.b, a.log, b.log);
		}
		grep_matcher_free(m);
	}
	print_message("%u patterns with a literal, %u of them nothing but it\n", with_lit, only);
	assert_true(with_lit > 500);
	assert_true(only > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(literals_found),
	    cmocka_unit_test(literal_path_matches_pcre2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
