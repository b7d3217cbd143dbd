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

#include "corpus.h"
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

/* The spans of pat (regex, case-sensitive, -w when word) over text, as
 * record writes them. */
static const char *spans_of(const char *pat, bool word, const char *text)
{
	static seen out;
	grep_matcher *m = compile(pat, false, word, GREP_CASE_SENSITIVE);
	buf t;
	t.n = strlen(text);
	memcpy(t.b, text, t.n);
	run(m, &t, true, &out);
	grep_matcher_free(m);
	return out.log;
}

/* \w, \W, \b and -w are Rust's, as rg 13 has them (each answer below is
 * what `rg --vimgrep` printed for the same line): letters, marks, decimal
 * digits and connector punctuation are word characters; other numbers
 * (the subscript 2 of log2, a vulgar half, a superscript) are not, which
 * PCRE2's own \w under UCP takes. */
static void word_class_is_rusts(void **state)
{
	(void)state;
	/* "x = " then U+00BD (2 bytes) "t(3": rg's match is t( alone */
	assert_string_equal(spans_of("\\w+\\(", false, "x = \xc2\xbdt(3\n"), "1/9:[6,8)\n");
	/* "log" U+2082 (3 bytes) "(len) f(x)": no match before the subscript */
	assert_string_equal(spans_of("\\w+\\(", false, "log\xe2\x82\x82(len) f(x)\n"), "1/16:[12,14)\n");
	/* a combining acute (a mark) continues the word; U+203F (Pc) joins */
	assert_string_equal(spans_of("\\w+", false, "cafe\xcc\x81 a\xe2\x80\xbf" "b\n"), "1/12:[0,6)[7,12)\n");
	/* \W: the subscript is not a word character */
	assert_string_equal(spans_of("g\\W", false, "log\xe2\x82\x82(\n"), "1/7:[2,6)\n");
	/* \b after a superscript 2 (U+00B2): "r" then the 2 is a boundary */
	assert_string_equal(spans_of("r\\b", false, "\xcf\x80r\xc2\xb2\n"), "1/5:[2,3)\n");
	/* -w: the subscript is no word character beside "log" */
	assert_string_equal(spans_of("log", true, "log\xe2\x82\x82(x)\n"), "1/9:[0,3)\n");
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


/* ---- whole greps: the texts a slot keeps or copies --------------------- */

typedef struct got {
	char log[1 << 16];
	size_t n;
} got;

static int on_file(void *ctx, const xihu_grep_file *f)
{
	got *g = ctx;
	for (uint32_t i = 0; i < f->nlines; i++) {
		const xihu_index_line *l = &f->lines[i];
		int k = snprintf(g->log + g->n, sizeof g->log - g->n, "%.*s:%u:%.*s\n", (int)f->path_len, f->path,
		                 l->line, (int)l->len, l->text);
		if (k > 0 && (size_t)k < sizeof g->log - g->n)
			g->n += (size_t)k;
	}
	return 0;
}

static void grep_all(xihu_index *ix, const char *pat, const char *path, got *g)
{
	size_t len = strlen(pat);
	const char *paths[] = {path};
	xihu_grep_opts o = {.patterns = &pat, .pattern_lens = &len, .npatterns = 1, .fixed = true,
	                    .paths = path ? paths : NULL, .npaths = path ? 1 : 0, .hidden = true};
	xihu_grep_stats st;
	xihu_err err = {0};
	g->n = 0;
	g->log[0] = 0;
	if (xihu_index_grep(ix, &o, on_file, NULL, g, &st, &err) != 0)
		fail_msg("grep %s: %s", pat, err.msg);
}

/* A record or file whose lines nearly all match keeps its text in its slot;
 * one with a match in a long text has the line copied out: both give the
 * lines as they are, whatever came through the slot before. */
static void grep_keeps_and_copies_texts(void **state)
{
	(void)state;
	corpus c;
	assert_int_equal(corpus_init(&c, "/tmp/xihu-test-match.XXXXXX"), 0);
	char jsonl[160];
	snprintf(jsonl, sizeof jsonl, "%s/notes.jsonl", c.root);
	FILE *fp = fopen(jsonl, "w");
	assert_non_null(fp);
	fprintf(fp, "{\"id\":\"all\",\"text\":\"zq one\\nzq two\\nzq three\"}\n");
	fprintf(fp, "{\"id\":\"few\",\"text\":\"");
	for (int i = 0; i < 200; i++)
		fprintf(fp, "filler line %d of a long record\\n", i);
	fprintf(fp, "the zq line\"}\n");
	fclose(fp);
	/* files: one nearly all matches, one long with one match, one big */
	assert_int_equal(corpus_write(&c, "a.txt", "zq a1\nzq a2\n"), 0);
	char *big = malloc(400000);
	size_t n = 0, nbig = 0; /* over 256 KiB: read into a big buffer */
	for (int i = 0; n + 64 < 400000; i++) {
		n += (size_t)snprintf(big + n, 64, i % 1000 == 7 ? "zq big %d\n" : "pad %d\n", i);
		nbig += i % 1000 == 7;
	}
	assert_int_equal(corpus_write(&c, "big.txt", big), 0);
	free(big);
	char *lng = malloc(20000);
	n = 0;
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(lng + n, 20000 - n, i == 500 ? "zq mid\n" : "x%d\n", i);
	assert_int_equal(corpus_write(&c, "long.txt", lng), 0);
	free(lng);
	const char *trees[] = {c.tree}, *lists[] = {jsonl};
	xihu_err err = {0};
	assert_int_equal(xihu_build(c.ixdir, trees, 1, lists, 1, NULL, NULL, &err), 0);
	assert_int_equal(xihu_index_open(c.ixdir, &c.ix, &err), 0);

	static got g;
	grep_all(c.ix, "zq", NULL, &g); /* no path: the records too */
	char want[4096];
	snprintf(want, sizeof want, "%s/a.txt:1:zq a1\n%s/a.txt:2:zq a2\n", c.tree, c.tree);
	assert_non_null(strstr(g.log, want));
	snprintf(want, sizeof want, "%s/long.txt:501:zq mid\n", c.tree);
	assert_non_null(strstr(g.log, want));
	snprintf(want, sizeof want, "%s/big.txt:8:zq big 7\n", c.tree);
	assert_non_null(strstr(g.log, want));
	assert_non_null(strstr(g.log, "all:1:zq one\nall:2:zq two\nall:3:zq three\n"));
	assert_non_null(strstr(g.log, "few:201:the zq line\n"));
	/* every line, and only those: 2 + 1 + 3 + 1 + the big file's */
	size_t lines = 0;
	for (const char *q = g.log; *q; q++)
		lines += *q == '\n';
	assert_int_equal(lines, 7 + nbig);
	/* the same again: slots and buffers reused from a grep before */
	static got again;
	grep_all(c.ix, "zq", NULL, &again);
	assert_string_equal(again.log, g.log);
	assert_int_equal(corpus_free(&c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(literals_found),
	    cmocka_unit_test(literal_path_matches_pcre2),
	    cmocka_unit_test(word_class_is_rusts),
	    cmocka_unit_test(grep_keeps_and_copies_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
