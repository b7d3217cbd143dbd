/*
 * test_regex_plan.c: the grep planner (index/grep/regex_plan*.c).  Known
 * plans for the shapes a user types (literals, -F, alternation, classes,
 * repetition, anchors, caseless with its k and s and other case orbits,
 * non-ASCII, several patterns, what plans as ALL), the bounds on huge
 * patterns, and the one promise checked against PCRE2 itself: random
 * patterns from a small grammar over an alphabet full of case traps, random
 * lines over it (near ones swap a character for another of its case orbit),
 * and every line PCRE2 matches must have a trigram set the plan is true of.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "grep/grep.h"
#include "textbuf.h"

static char text[1 << 16];

/* The plan of the patterns (NULL-terminated) as text. */
static const char *planv(unsigned flags, const char *first, va_list ap)
{
	const char *pat[16];
	size_t len[16], n = 0;
	for (const char *p = first; p && n < 16; p = va_arg(ap, const char *)) {
		pat[n] = p;
		len[n++] = strlen(p);
	}
	gq *q = NULL;
	xihu_err err = {0};
	assert_int_equal(grep_plan(pat, len, n, flags, &q, &err), 0);
	size_t need = gq_format(q, text, sizeof text);
	assert_true(need < sizeof text);
	gq_free(q);
	return text;
}

static const char *plan(unsigned flags, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	const char *s = planv(flags, first, ap);
	va_end(ap);
	return s;
}

#define PLAN(flags, want, ...) assert_string_equal(plan(flags, __VA_ARGS__, (const char *)NULL), want)

static void literals(void **state)
{
	(void)state;
	PLAN(0, "(AND \"dev\" \"ev-\" \"v->\" \"->p\" \">pr\" \"pri\" \"riv\")", "dev->priv");
	PLAN(0, "\"abc\"", "abc");
	PLAN(0, "ALL", "ab");
	PLAN(0, "(AND \"a.b\" \".b(\" \"b(c\")", "a\\.b\\(c");
	PLAN(0, "\"ABC\"", "\\x41BC");
	PLAN(0, "(AND \"abc\" \"def\")", "abc\\ndef"); /* \n never in a line: unknown */
	PLAN(0, "(AND \"a\\x09b\" \"\\x09bc\")", "a\\tbc");
	PLAN(0, "(AND \"abc\" \"xyz\")", "abc\\d+xyz");
	PLAN(0, "(AND \"kma\" \"mal\" \"all\" \"llo\" \"loc\" \"oc_\")", "kmalloc_\\w+\\(");
}

static void fixed_strings(void **state)
{
	(void)state;
	PLAN(GREP_PLAN_FIXED, "(AND \"a.b\" \".b*\" \"b*c\" \"*c(\" \"c(d\" \"(d)\")", "a.b*c(d)");
	PLAN(GREP_PLAN_FIXED, "(AND \"[a-\" \"a-z\" \"-z]\")", "[a-z]");
	PLAN(GREP_PLAN_FIXED, "(AND \"\\x5cw+\" \"w+(\")", "\\w+(");
	PLAN(GREP_PLAN_FIXED, "ALL", "(?");
	/* a newline: the OR of the lines, whichever way the engine reads it */
	PLAN(GREP_PLAN_FIXED, "(OR \"abc\" \"def\")", "abc\ndef");
	PLAN(GREP_PLAN_FIXED | GREP_PLAN_CASELESS, "(OR \"a.b\" \"A.b\" \"a.B\" \"A.B\")", "A.b");
	/* s also matches U+017F LONG S: two ways through the middle */
	PLAN(GREP_PLAN_FIXED | GREP_PLAN_CASELESS,
	     "(OR (AND (OR \"a.s\" \"A.s\" \"a.S\" \"A.S\") (OR \".s.\" \".S.\") (OR \"s.b\" \"S.b\" \"s.B\" "
	     "\"S.B\")) (AND (OR \"a.\\xc5\" \"A.\\xc5\") \".\\xc5\\xbf\" \"\\xc5\\xbf.\" (OR \"\\xbf.b\" \"\\xbf.B\")))",
	     "a.s.b");
}

static void alternation(void **state)
{
	(void)state;
	PLAN(0, "(OR \"abc\" \"abd\")", "abc|abd");
	PLAN(0, "(AND \"foo\" \"oob\" \"oba\" \"qux\" (OR (AND \"bar\" \"arq\" \"rqu\") "
	        "(AND \"baz\" \"azq\" \"zqu\")))",
	     "foo(bar|baz)qux");
	PLAN(0, "ALL", "abc|");
	PLAN(0, "ALL", "abc|de");
	PLAN(0, "\"abc\"", "(abc|abcd)"); /* OR(x, AND(x, y)) is x */
	PLAN(0, "(AND \"abc\" \"bcd\")", "(?P<x>abc)d");
	PLAN(0, "(AND \"abc\" \"bcd\")", "(?:abc)d");
}

static void classes(void **state)
{
	(void)state;
	PLAN(0, "(OR \"abd\" \"acd\")", "a[bc]d");
	PLAN(0, "(OR \"ace\" \"acf\" \"ade\" \"adf\" \"bce\" \"bcf\" \"bde\" \"bdf\")", "[ab][cd][ef]");
	PLAN(0, "\"yzw\"", "[^x]yzw");
	PLAN(0, "\"bcd\"", "[[:alpha:]]bcd");
	PLAN(0, "(OR \"a]b\" \"a-b\")", "a[]-]b");
	PLAN(0, "\"bcd\"", "[a-z]bcd"); /* 26 characters: too many to keep */
	PLAN(0, "(AND \"bcd\" (OR \"0bc\" \"1bc\" \"2bc\" \"3bc\"))", "[0-3]bcd"); /* bcd factored out */
	PLAN(0, "(OR \"x1y\" \"x2y\" \"x3y\")", "x[1-3]y");
	PLAN(0, "(OR \"x.y\" \"x\\x5cy\")", "x[.\\\\]y");
	PLAN(0, "ALL", "[a[b]]cde");  /* Rust: nested class; PCRE2: a '[' */
	PLAN(0, "ALL", "[a&&b]cde");  /* Rust's intersection */
	PLAN(0, "ALL", "[a-z--b]cde");
	PLAN(0, "ALL", "[abc");
	PLAN(0, "\"cde\"", "[\\w]cde");
}

static void repetition(void **state)
{
	(void)state;
	PLAN(0, "ALL", "ab*c");
	PLAN(0, "\"abc\"", "(abc)+");
	PLAN(0, "ALL", "x{2,3}");
	PLAN(0, "\"xxx\"", "x{3}");
	PLAN(0, "\"xxx\"", "x{3,}");
	PLAN(0, "\"xxx\"", "x{100}");
	PLAN(0, "(AND \"abc\" \"bca\" \"cab\")", "(abc){2}");
	PLAN(0, "(AND \"abc\" \"bcc\")", "abc{2}");
	PLAN(0, "\"abc\"", "abcd?");
	PLAN(0, "\"abc\"", "abcd*?");
	PLAN(0, "(AND \"bcd\" \"abc\")", "a+bcd");
	PLAN(0, "ALL", "a{,3}bcd");   /* PCRE2 10.42: literal; Rust: an error */
	PLAN(0, "ALL", "ab{2}{3}cd");
	PLAN(0, "ALL", "abc*+d");     /* possessive */
	PLAN(0, "ALL", "*abc");
	PLAN(0, "ALL", "a{1,2,3}bcd");
}

static void anchors(void **state)
{
	(void)state;
	PLAN(0, "(AND \"sta\" \"tat\" \"ati\" \"tic\" \"ic \" \"c i\" \" in\" \"int\" \"nt \" \"_pr\" \"pro\" \"rob\" "
	        "\"obe\")",
	     "^static int .*_probe");
	PLAN(0, "\"foo\"", "^foo$");
	PLAN(0, "\"foo\"", "\\bfoo\\b");
	PLAN(0, "\"foo\"", "\\Afoo\\z");
	PLAN(0, "\"def\"", "(?<=abc)def"); /* lookarounds: any string */
	PLAN(0, "ALL", "x(?=abc)");
	PLAN(0, "\"bcd\"", "a\\<bcd");
}

static void caseless(void **state)
{
	(void)state;
	PLAN(GREP_PLAN_CASELESS,
	     "(AND (OR \"pin\" \"Pin\" \"pIn\" \"PIn\" \"piN\" \"PiN\" \"pIN\" \"PIN\") (OR \"in_\" \"In_\" \"iN_\" \"IN_\") "
	     "(OR \"n_l\" \"N_l\" \"n_L\" \"N_L\") (OR \"_lo\" \"_Lo\" \"_lO\" \"_LO\") (OR \"spi\" \"Spi\" \"sPi\" "
	     "\"SPi\" \"spI\" \"SpI\" \"sPI\" \"SPI\" (AND (OR \"\\xc5\\xbfp\" \"\\xc5\\xbfP\") (OR \"\\xbfpi\" \"\\xbfPi\" "
	     "\"\\xbfpI\" \"\\xbfPI\"))))",
	     "spin_lo");
	PLAN(0, "(OR \"abc\" \"Abc\" \"aBc\" \"ABc\" \"abC\" \"AbC\" \"aBC\" \"ABC\")", "(?i)Abc");
	PLAN(0, "(OR \"abc\" \"Abc\" \"aBc\" \"ABc\" \"abC\" \"AbC\" \"aBC\" \"ABC\")", "ab(?i:c)");
	PLAN(0, "(OR \"abc\" \"Abc\" \"aBc\" \"ABc\" \"abC\" \"AbC\" \"aBC\" \"ABC\")", "(?-i)abc");
	PLAN(GREP_PLAN_CASELESS, "\"1-2\"", "1-2"); /* no letters: the gram alone */
}

/* k, K, s, S fold to U+212A KELVIN SIGN and U+017F LONG S: other bytes, so
 * each stands for two strings and the plan takes either way. */
static void caseless_k_and_s(void **state)
{
	(void)state;
	PLAN(0, "(AND \"mak\" \"ake\")", "make");
	PLAN(GREP_PLAN_CASELESS,
	     "(OR (AND (OR \"mak\" \"Mak\" \"mAk\" \"MAk\" \"maK\" \"MaK\" \"mAK\" \"MAK\") (OR \"ake\" \"Ake"
	     "\" \"aKe\" \"AKe\" \"akE\" \"AkE\" \"aKE\" \"AKE\")) (AND (OR \"ma\\xe2\" \"Ma\\xe2\" \"mA\\xe2"
	     "\" \"MA\\xe2\") (OR \"a\\xe2\\x84\" \"A\\xe2\\x84\") \"\\xe2\\x84\\xaa\" (OR \"\\x84\\xaae\" \""
	     "\\x84\\xaaE\")))",
	     "make");
	PLAN(GREP_PLAN_CASELESS,
	     "(OR \"kab\" \"Kab\" \"kAb\" \"KAb\" \"kaB\" \"KaB\" \"kAB\" \"KAB\" (AND \"\\xe2\\x84\\xaa\" (OR"
	     " \"\\x84\\xaaa\" \"\\x84\\xaaA\") (OR \"\\xaaab\" \"\\xaaAb\" \"\\xaaaB\" \"\\xaaAB\")) \"xab\" "
	     "\"Xab\" \"xAb\" \"XAb\" \"xaB\" \"XaB\" \"xAB\" \"XAB\")",
	     "[kx]ab");
	/* the same plan whatever the case typed, -F or not */
	char want[4096];
	snprintf(want, sizeof want, "%s", plan(GREP_PLAN_CASELESS, "taskbar", (const char *)NULL));
	assert_non_null(strstr(want, "\\xc5\\xbf\\xe2")); /* ſK */
	PLAN(GREP_PLAN_CASELESS, want, "taSKbar");
	PLAN(GREP_PLAN_CASELESS | GREP_PLAN_FIXED, want, "TASKBAR");
}

/* Other characters with case stand for each member of their case orbit. */
static void caseless_orbits(void **state)
{
	(void)state;
	/* é and É; 中 has no case: it stays */
	PLAN(GREP_PLAN_CASELESS,
	     "(AND \"\\xe4\\xb8\\xad\" (OR (AND \"\\xc3\\x89\\xe4\" \"\\x89\\xe4\\xb8\") (AND \"\\xc3\\xa9\\xe"
	     "4\" \"\\xa9\\xe4\\xb8\")))",
	     "\xc3\xa9\xe4\xb8\xad");
	PLAN(GREP_PLAN_CASELESS | GREP_PLAN_FIXED,
	     "(AND \"\\xe4\\xb8\\xad\" (OR (AND \"\\xc3\\x89\\xe4\" \"\\x89\\xe4\\xb8\") (AND \"\\xc3\\xa9\\xe"
	     "4\" \"\\xa9\\xe4\\xb8\")))",
	     "\xc3\xa9\xe4\xb8\xad");
	/* fullwidth Ａ and ａ */
	PLAN(GREP_PLAN_CASELESS,
	     "(OR (AND \"\\xef\\xbc\\xa1\" (OR \"\\xbc\\xa1b\" \"\\xbc\\xa1B\") (OR \"\\xa1bc\" \"\\xa1Bc\" \""
	     "\\xa1bC\" \"\\xa1BC\")) (AND \"\\xef\\xbd\\x81\" (OR \"\\xbd\\x81b\" \"\\xbd\\x81B\") (OR \"\\x8"
	     "1bc\" \"\\x81Bc\" \"\\x81bC\" \"\\x81BC\")))",
	     "\xef\xbc\xa1" "bc");
	/* Σ, ς and σ: three members */
	PLAN(GREP_PLAN_CASELESS,
	     "(OR (AND (OR \"ab\\xce\" \"Ab\\xce\" \"aB\\xce\" \"AB\\xce\") (OR \"b\\xce\\xa3\" \"B\\xce\\xa3"
	     "\")) (AND (OR \"ab\\xcf\" \"Ab\\xcf\" \"aB\\xcf\" \"AB\\xcf\") (OR \"b\\xcf\\x82\" \"B\\xcf\\x82"
	     "\")) (AND (OR \"ab\\xcf\" \"Ab\\xcf\" \"aB\\xcf\" \"AB\\xcf\") (OR \"b\\xcf\\x83\" \"B\\xcf\\x83"
	     "\")))",
	     "ab\xce\xa3");
	/* ß and ẞ (simple folding: never "ss") */
	PLAN(GREP_PLAN_CASELESS,
	     "(OR (AND (OR \"\\xc3\\x9fx\" \"\\xc3\\x9fX\") (OR \"\\x9fxy\" \"\\x9fXy\" \"\\x9fxY\" \"\\x9fXY"
	     "\")) (AND \"\\xe1\\xba\\x9e\" (OR \"\\xba\\x9ex\" \"\\xba\\x9eX\") (OR \"\\x9exy\" \"\\x9eXy\" "
	     "\"\\x9exY\" \"\\x9eXY\")))",
	     "\xc3\x9f" "xy");
	/* the case typed does not matter: Ж and ж, У and у, К and к */
	char want[4096];
	snprintf(want, sizeof want, "%s", plan(GREP_PLAN_CASELESS, "\xd0\xb6\xd1\x83\xd0\xba", (const char *)NULL));
	assert_non_null(strstr(want, "\\xd0\\x96"));
	PLAN(GREP_PLAN_CASELESS, want, "\xd0\x96\xd0\xa3\xd0\x9a");
	PLAN(GREP_PLAN_CASELESS | GREP_PLAN_FIXED, want, "\xd0\x96\xd1\x83\xd0\x9a");
	/* a class's members each with their orbit */
	PLAN(GREP_PLAN_CASELESS,
	     "(OR (AND (OR \"\\xc3\\x89y\" \"\\xc3\\x89Y\") (OR \"\\x89yz\" \"\\x89Yz\" \"\\x89yZ\" \"\\x89YZ"
	     "\")) (AND (OR \"\\xc3\\xa9y\" \"\\xc3\\xa9Y\") (OR \"\\xa9yz\" \"\\xa9Yz\" \"\\xa9yZ\" \"\\xa9YZ"
	     "\")) \"xyz\" \"Xyz\" \"xYz\" \"XYz\" \"xyZ\" \"XyZ\" \"xYZ\" \"XYZ\")",
	     "[\xc3\xa9x]yz");
}

static void non_ascii(void **state)
{
	(void)state;
	PLAN(0, "(AND \"\\xc3\\xa9\\xe4\" \"\\xa9\\xe4\\xb8\" \"\\xe4\\xb8\\xad\")", "\xc3\xa9\xe4\xb8\xad");
	PLAN(0, "(AND \"\\xc3\\xa9a\" \"\\xa9ab\" \"abc\")", "\\x{e9}abc");
	PLAN(0, "ALL", "ab\xff" "cd"); /* not UTF-8: the engines refuse or differ */
	PLAN(GREP_PLAN_FIXED, "(AND \"ab\\xff\" \"b\\xffc\" \"\\xffcd\")", "ab\xff" "cd");
	/* under -i a byte that is no character stands for any string */
	PLAN(GREP_PLAN_FIXED | GREP_PLAN_CASELESS, "ALL", "x\xff" "yz");
	/* a quantifier takes the whole character */
	PLAN(0, "\"abc\"", "abc\xc3\xa9*");
	PLAN(0, "(AND \"abc\" \"bc\\xc3\" \"c\\xc3\\xa9\")", "abc\xc3\xa9+");
}

static void several_patterns(void **state)
{
	(void)state;
	PLAN(0, "(OR \"foo\" (AND \"bar\" \"ar1\") (AND \"abc\" \"bcd\"))", "foo", "bar1", "abcd");
	PLAN(0, "ALL", "foo", "\\w+");
	PLAN(0, "\"foo\"", "foo", "foo");
	PLAN(GREP_PLAN_FIXED, "(OR \"a.c\" \"x*z\")", "a.c", "x*z");
	gq *q = NULL;
	xihu_err err = {0};
	assert_int_equal(grep_plan(NULL, NULL, 0, 0, &q, &err), 0);
	assert_int_equal(q->op, GQ_NONE);
	gq_free(q);
}

static void unknown_plans_as_all(void **state)
{
	(void)state;
	static const char *const all[] = {
		"\\w+\\(", "(a)\\1xyz", "\\Qabc\\E", "(?x)abc", "abc)", "(abc", "abc\\", "\\kabc", "\\p",
		"abc\ndef", "\\x4", "\\x{110000}abc", "(?#c)abc", "(?|abc)", "\\Gabc", "abc\\K", "\\u0041bcd",
		"(*UTF)abc", "{abc}", "x{", "",
	};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const char *got = plan(0, all[i], (const char *)NULL);
		if (strcmp(got, "ALL") != 0)
			fail_msg("%s planned as %s, not ALL", all[i], got);
	}
}

static void format_escapes(void **state)
{
	(void)state;
	PLAN(GREP_PLAN_FIXED, "\"a\\x22\\x5c\"", "a\"\\");
	char small[8];
	gq *q = NULL;
	xihu_err err = {0};
	const char *p = "abcdef";
	size_t len = 6;
	assert_int_equal(grep_plan(&p, &len, 1, 0, &q, &err), 0);
	size_t need = gq_format(q, small, sizeof small);
	assert_int_equal(need, strlen("(AND \"abc\" \"bcd\" \"cde\" \"def\")"));
	assert_string_equal(small, "(AND \"a");
	gq_free(q);
}

static size_t grams(const gq *q)
{
	if (q->op == GQ_GRAM)
		return 1;
	size_t n = 0;
	for (uint32_t i = 0; i < q->n; i++)
		n += grams(q->kids[i]);
	return n;
}

/* ---- the promise, against PCRE2 ----------------------------------------- */

typedef struct line {
	const uint8_t *p;
	size_t n;
} line;

static bool line_has(const void *ctx, uint32_t gram)
{
	const line *l = ctx;
	for (size_t i = 0; i + 3 <= l->n; i++)
		if (gram_pack(l->p + i) == gram)
			return true;
	return false;
}

/* Huge patterns plan quickly into small trees that still hold the text. */
static void huge_patterns(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	assert_non_null(big);
	unsigned seed = 7;
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		big[i] = "abcdefghij_-"[(seed >> 16) % 12];
	}
	big[n] = 0;
	unsigned flag_sets[] = {GREP_PLAN_FIXED, GREP_PLAN_FIXED | GREP_PLAN_CASELESS, 0, GREP_PLAN_CASELESS};
	for (size_t f = 0; f < 4; f++) {
		gq *q = NULL;
		xihu_err err = {0};
		const char *p = big;
		assert_int_equal(grep_plan(&p, &n, 1, flag_sets[f], &q, &err), 0);
		assert_int_not_equal(q->op, GQ_ALL);
		assert_true(grams(q) <= 256);
		line l = {(const uint8_t *)big, n};
		assert_true(gq_eval(q, line_has, &l));
		gq_free(q);
	}
	/* a megabyte of groups: still bounded, and ALL past the limit */
	for (size_t i = 0; i + 5 <= n; i += 5)
		memcpy(big + i, "(a|b)", 5);
	big[n - n % 5] = 0;
	size_t m = strlen(big);
	const char *p = big;
	gq *q = NULL;
	xihu_err err = {0};
	assert_int_equal(grep_plan(&p, &m, 1, 0, &q, &err), 0);
	assert_int_equal(q->op, GQ_ALL);
	gq_free(q);
	free(big);
}

static unsigned rng = 12345;

static unsigned rnd(unsigned n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

/* Characters with case traps: KELVIN SIGN, LONG S, É/é, Σ/σ/ς, Ж/ж, ß/ẞ,
 * and ASCII ones. */
static const char *const chars[] = {
	"a", "b", "c", "k", "s", "K", "S", "A", "B", "-", "_", " ", "1", ".", "(",
	"\xc3\xa9", "\xc3\x89", "\xc5\xbf", "\xe2\x84\xaa", "\xce\xa3", "\xcf\x83", "\xcf\x82",
	"\xd0\x96", "\xd0\xb6", "\xc3\x9f", "\xe1\xba\x9e",
};
#define NCHARS (sizeof chars / sizeof chars[0])

/* Case orbits among them, for lines near a pattern. */
static const char *const orbit_of[][3] = {
	{"k", "K", "\xe2\x84\xaa"}, {"s", "S", "\xc5\xbf"}, {"\xc3\xa9", "\xc3\x89", NULL},
	{"\xce\xa3", "\xcf\x83", "\xcf\x82"}, {"\xd0\x96", "\xd0\xb6", NULL}, {"\xc3\x9f", "\xe1\xba\x9e", NULL},
};

static void gen_atom(buf *o, int depth);

static void gen_seq(buf *o, int depth)
{
	int n = 1 + (int)rnd(4);
	for (int i = 0; i < n; i++)
		gen_atom(o, depth);
}

static void gen_atom(buf *o, int depth)
{
	static const char *const lits[] = {"a", "b", "c", "k", "s", "K", "S", "A", "\\.", "\\(", "-", "_",
	                                   " ", "\xc3\xa9", "\xc3\x89", "\xc5\xbf", "\xe2\x84\xaa", "\\x41",
	                                   "\\x{e9}", "ab", "abc", "ks", "\xce\xa3", "\xcf\x82", "\xd0\xb6",
	                                   "\xc3\x9f", "\xd0\x96\xd0\xb6", "[\xc3\xa9s]"};
	static const char *const others[] = {".", "\\w", "\\d", "\\s", "\\b", "\\B", "^", "$", "[ab]", "[a-c]",
	                                     "[^a]", "[kK]", "[[:alpha:]]", "[sx]", "\\W", "\\pL", "[\\x41-C]"};
	static const char *const quants[] = {"*", "+", "?", "{2}", "{1,3}", "{2,}", "*?", "{0}", "{5}"};
	unsigned r = rnd(depth < 3 ? 10 : 7);
	if (r < 4)
		put(o, lits[rnd(sizeof lits / sizeof lits[0])]);
	else if (r < 6)
		put(o, others[rnd(sizeof others / sizeof others[0])]);
	else if (r < 7)
		put(o, lits[rnd(sizeof lits / sizeof lits[0])]);
	else {
		static const char *const open[] = {"(", "(?:", "(?i:", "(?P<g>", "(?=", "(?i)("};
		put(o, open[rnd(6)]);
		gen_seq(o, depth + 1);
		while (rnd(3) == 0) {
			put(o, "|");
			gen_seq(o, depth + 1);
		}
		put(o, ")");
	}
	if (rnd(4) == 0)
		put(o, quants[rnd(sizeof quants / sizeof quants[0])]);
}

static void gen_line(buf *o)
{
	o->n = 0;
	int n = (int)rnd(14);
	for (int i = 0; i < n; i++)
		put(o, chars[rnd(NCHARS)]);
}

/* A line near the pattern: its characters, metacharacters mostly left out,
 * ASCII letters' case flipped now and then, a character now and then
 * swapped for another of its case orbit, between random characters. */
static void gen_near_line(buf *o, const buf *pat)
{
	gen_line(o);
	o->n = o->n > 6 ? 6 : o->n;
	for (size_t i = 0; i < pat->n; i++) {
		size_t swapped = 0;
		for (size_t g = 0; g < sizeof orbit_of / sizeof orbit_of[0] && !swapped && rnd(2) == 0; g++)
			for (size_t m = 0; m < 3 && orbit_of[g][m] && !swapped; m++) {
				size_t l = strlen(orbit_of[g][m]);
				if (l > pat->n - i || memcmp(pat->b + i, orbit_of[g][m], l) != 0)
					continue;
				const char *other = orbit_of[g][rnd(3)];
				put(o, other ? other : orbit_of[g][0]);
				swapped = l;
			}
		if (swapped) {
			i += swapped - 1;
			continue;
		}
		char c = pat->b[i];
		if (strchr("\\()[]{}?*+|^$.:=", c) && rnd(4) != 0)
			continue;
		if (((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && rnd(3) == 0)
			c ^= 0x20;
		if (o->n + 1 < sizeof o->b)
			o->b[o->n++] = c;
	}
	for (int i = (int)rnd(3); i > 0; i--)
		put(o, chars[rnd(NCHARS)]);
}

typedef struct tally {
	unsigned narrow, matched, narrow_matched;
} tally;

/* Every line PCRE2 matches (with ripgrep's line semantics) satisfies the plan. */
static void check_pattern(const buf *pat, unsigned flags, tally *t)
{
	const char *p = pat->b;
	size_t len = pat->n;
	gq *q = NULL;
	xihu_err err = {0};
	assert_int_equal(grep_plan(&p, &len, 1, flags, &q, &err), 0);
	uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
	opts |= flags & GREP_PLAN_CASELESS ? PCRE2_CASELESS : 0;
	opts |= flags & GREP_PLAN_FIXED ? PCRE2_LITERAL : 0;
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)p, len, opts, &code, &off, NULL);
	if (!re) {
		gq_free(q);
		return;
	}
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	t->narrow += q->op != GQ_ALL;
	for (int i = 0; i < 60; i++) {
		buf ln;
		if (i % 2)
			gen_line(&ln);
		else
			gen_near_line(&ln, pat);
		if (pcre2_match(re, (PCRE2_SPTR)ln.b, ln.n, 0, 0, md, NULL) < 0)
			continue;
		t->matched++;
		t->narrow_matched += q->op != GQ_ALL;
		line l = {(const uint8_t *)ln.b, ln.n};
		if (!gq_eval(q, line_has, &l)) {
			gq_format(q, text, sizeof text);
			fail_msg("pattern '%.*s' (flags %u) matches line '%.*s', plan %s is false of it", (int)len, p,
			         flags, (int)ln.n, ln.b, text);
		}
	}
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	gq_free(q);
}

static void never_misses_a_pcre2_match(void **state)
{
	(void)state;
	tally t = {0};
	for (int i = 0; i < 6000; i++) {
		buf pat = {.n = 0};
		unsigned flags = rnd(3) == 0 ? GREP_PLAN_CASELESS : 0;
		if (rnd(5) == 0) {
			flags |= GREP_PLAN_FIXED;
			gen_line(&pat);
		} else {
			gen_seq(&pat, 0);
		}
		check_pattern(&pat, flags, &t);
	}
	/* the check saw real work: narrowing plans, and lines they let through */
	print_message("# %u narrowing plans, %u matched lines, %u of them under a narrowing plan\n", t.narrow,
	              t.matched, t.narrow_matched);
	assert_true(t.narrow > 800);
	assert_true(t.narrow_matched > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literals),
		cmocka_unit_test(fixed_strings),
		cmocka_unit_test(alternation),
		cmocka_unit_test(classes),
		cmocka_unit_test(repetition),
		cmocka_unit_test(anchors),
		cmocka_unit_test(caseless),
		cmocka_unit_test(caseless_k_and_s),
		cmocka_unit_test(caseless_orbits),
		cmocka_unit_test(non_ascii),
		cmocka_unit_test(several_patterns),
		cmocka_unit_test(unknown_plans_as_all),
		cmocka_unit_test(format_escapes),
		cmocka_unit_test(huge_patterns),
		cmocka_unit_test(never_misses_a_pcre2_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
