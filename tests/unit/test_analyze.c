/*
 * test_analyze.c: the analyzer (index/analyze.c): token boundaries, NFKC
 * folding, offsets and positions, ill-formed UTF-8 and over-long tokens,
 * camelCase parts and wholes, CJK bigrams, and an index's analysis
 * (settings.c): stemming, stopwords, diacritic folding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/analysis.h"

typedef struct tok {
	const char *term;
	uint32_t pos, start, end;
} tok;

#define MAXTOK 64

/* A whole form's term is written with a leading '=' here. */
typedef struct got {
	size_t n;
	char terms[MAXTOK][XIHU_MAX_TERM + 2];
	tok t[MAXTOK];
	uint32_t nlong, nstop;
} got;

static void run_an(const analysis *an, unsigned flags, const char *s, size_t len, got *g)
{
	analyzer a;
	token t;
	memset(g, 0, sizeof *g);
	assert_int_equal(analyzer_open(&a, an, NULL), 0);
	analyzer_reset(&a, s, len, flags);
	while (analyzer_next(&a, &t)) {
		assert_true(g->n < MAXTOK);
		assert_true(t.len > 0 && t.len <= XIHU_MAX_TERM);
		assert_int_equal(strlen(t.term), t.len);
		g->terms[g->n][0] = '=';
		memcpy(g->terms[g->n] + t.whole, t.term, t.len + 1);
		g->t[g->n] = (tok){g->terms[g->n], t.pos, t.start, t.end};
		g->n++;
	}
	/* exhausted stays exhausted */
	assert_false(analyzer_next(&a, &t));
	g->nlong = a.nlong;
	g->nstop = a.nstop;
	analyzer_close(&a);
}

static void run(const char *s, size_t len, got *g)
{
	run_an(NULL, 0, s, len, g);
}

static void check(const got *g, const tok *want, size_t nwant)
{
	for (size_t i = 0; i < nwant && i < g->n; i++) {
		assert_string_equal(g->t[i].term, want[i].term);
		assert_int_equal(g->t[i].pos, want[i].pos);
		assert_int_equal(g->t[i].start, want[i].start);
		assert_int_equal(g->t[i].end, want[i].end);
	}
	assert_int_equal(g->n, nwant);
}

static void expect_n(const char *s, size_t len, const tok *want, size_t nwant)
{
	got g;
	run(s, len, &g);
	check(&g, want, nwant);
}

/* The same with an analysis and analyzer_reset flags. */
#define EXPECT_AN(an, flags, s, ...)                                                               \
	do {                                                                                       \
		const tok want_[] = {__VA_ARGS__};                                                 \
		got g_;                                                                            \
		run_an((an), (flags), (s), sizeof(s) - 1, &g_);                                    \
		check(&g_, want_, sizeof want_ / sizeof want_[0]);                                 \
	} while (0)

#define EXPECT(s, ...)                                                                             \
	do {                                                                                       \
		const tok want_[] = {__VA_ARGS__};                                                 \
		expect_n((s), sizeof(s) - 1, want_, sizeof want_ / sizeof want_[0]);               \
	} while (0)

static void expect_none(const char *s, size_t len)
{
	got g;
	run(s, len, &g);
	assert_int_equal(g.n, 0);
}

static void ascii_words_offsets_positions(void **state)
{
	(void)state;
	EXPECT("Hello, World! foo 42x",
	       {"hello", 0, 0, 5}, {"world", 1, 7, 12}, {"foo", 2, 14, 17}, {"42x", 3, 18, 21});
}

static void underscore_splits_identifiers(void **state)
{
	(void)state;
	EXPECT("#define MAX_FRAME_SIZE (1<<20)",
	       {"define", 0, 1, 7}, {"max", 1, 8, 11}, {"frame", 2, 12, 17}, {"size", 3, 18, 22},
	       {"1", 4, 24, 25}, {"20", 5, 27, 29});
}

static void punctuation_and_symbols_separate(void **state)
{
	(void)state;
	/* '+', '=', '€' (Sc) and an emoji (So) separate; "5" is a digit token */
	EXPECT("a+b=c \xE2\x82\xAC" "5 \xF0\x9F\x98\x80x",
	       {"a", 0, 0, 1}, {"b", 1, 2, 3}, {"c", 2, 4, 5}, {"5", 3, 9, 10}, {"x", 4, 15, 16});
}

static void empty_and_separator_only_input(void **state)
{
	(void)state;
	expect_none("", 0);
	expect_none(NULL, 0);
	expect_none("  \t\n--- ___ +++ !!!", 19);
	expect_none("\xFF\xFE\x80\xC0", 4);
}

static void case_folding_sharp_s(void **state)
{
	(void)state;
	/* "Straße" is 7 bytes: ß is two */
	EXPECT("Stra\xC3\x9F" "e STRASSE", {"strasse", 0, 0, 7}, {"strasse", 1, 8, 15});
}

static void greek_folds_sigma(void **state)
{
	(void)state;
	/* ΣΊΣΥΦΟΣ -> σίσυφοσ (full folding maps every sigma to σ) */
	EXPECT("\xCE\xA3\xCE\x8A\xCE\xA3\xCE\xA5\xCE\xA6\xCE\x9F\xCE\xA3",
	       {"\xCF\x83\xCE\xAF\xCF\x83\xCF\x85\xCF\x86\xCE\xBF\xCF\x83", 0, 0, 14});
}

static void cyrillic_words(void **state)
{
	(void)state;
	/* "Привет, МИР" */
	EXPECT("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\x9C\xD0\x98\xD0\xA0",
	       {"\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", 0, 0, 12},
	       {"\xD0\xBC\xD0\xB8\xD1\x80", 1, 14, 20});
}

static void chinese_runs_form_bigrams(void **state)
{
	(void)state;
	/* "搜索引擎，search" : the ideographs make one run, cut into overlapping
	 * bigrams at consecutive positions; the full-width comma (Po) separates */
	EXPECT("搜索引擎，search",
	       {"搜索", 0, 0, 6}, {"索引", 1, 3, 9}, {"引擎", 2, 6, 12}, {"search", 3, 15, 21});
}

static void mixed_script_token(void **state)
{
	(void)state;
	/* "NAÏVE naïve" : ASCII and non-ASCII letters in one run */
	EXPECT("NA\xC3\x8FVE na\xC3\xAFve", {"na\xC3\xAFve", 0, 0, 6}, {"na\xC3\xAFve", 1, 7, 13});
}

static void nfc_composes_marks(void **state)
{
	(void)state;
	/* "cafe" + U+0301 COMBINING ACUTE (a mark, so part of the word) -> "café"
	 * composed (U+00E9); "CAFÉ" folds to the same */
	EXPECT("cafe\xCC\x81 CAF\xC3\x89", {"caf\xC3\xA9", 0, 0, 6}, {"caf\xC3\xA9", 1, 7, 12});
}

static void compatibility_characters(void **state)
{
	(void)state;
	/* KELVIN SIGN folds to k; superscript two (No) is a digit-like token
	 * char, and NFKC makes it 2 */
	EXPECT("\xE2\x84\xAA x\xC2\xB2", {"k", 0, 0, 3}, {"x2", 1, 4, 7});
}

static void other_digits(void **state)
{
	(void)state;
	/* Arabic-Indic ٣٤ (Nd) and Roman numeral Ⅻ (Nl, NFKC: xii) */
	EXPECT("\xD9\xA3\xD9\xA4 \xE2\x85\xAB", {"\xD9\xA3\xD9\xA4", 0, 0, 4}, {"xii", 1, 5, 8});
}

static void invalid_byte_inside_word(void **state)
{
	(void)state;
	EXPECT("ab\xFF" "cd ef", {"ab", 0, 0, 2}, {"cd", 1, 3, 5}, {"ef", 2, 6, 8});
	/* a stray continuation byte */
	EXPECT("ab\x80" "cd", {"ab", 0, 0, 2}, {"cd", 1, 3, 5});
}

static void truncated_sequence_keeps_next_byte(void **state)
{
	(void)state;
	/* E2 82 needs a third byte; 'c' is not one, so only E2 82 is bad */
	EXPECT("ab\xE2\x82" "cd", {"ab", 0, 0, 2}, {"cd", 1, 4, 6});
	/* truncated at the very end of the input */
	EXPECT("ab \xF0\x9F\x98", {"ab", 0, 0, 2});
	/* a lead byte followed by a non-ASCII letter: the letter survives */
	EXPECT("\xC3\xC3\xA9t\xC3\xA9", {"\xC3\xA9t\xC3\xA9", 0, 1, 6});
}

static void overlong_and_surrogates_separate(void **state)
{
	(void)state;
	/* C0 AF is an overlong '/'; E0 80 AF another; ED A0 80 a surrogate;
	 * F4 90 80 80 is above U+10FFFF */
	EXPECT("a\xC0\xAF" "b", {"a", 0, 0, 1}, {"b", 1, 3, 4});
	EXPECT("a\xE0\x80\xAF" "b", {"a", 0, 0, 1}, {"b", 1, 4, 5});
	EXPECT("a\xED\xA0\x80" "b", {"a", 0, 0, 1}, {"b", 1, 4, 5});
	EXPECT("a\xF4\x90\x80\x80" "b", {"a", 0, 0, 1}, {"b", 1, 5, 6});
	EXPECT("\xF8\x88\x80\x80\x80z", {"z", 0, 5, 6});
}

static void long_ascii_token_skipped_position_kept(void **state)
{
	(void)state;
	char s[200];
	/* "x " + 64 a's (kept) + " " + 65 b's (skipped) + " y" */
	size_t n = 0;
	s[n++] = 'x';
	s[n++] = ' ';
	memset(s + n, 'A', 64);
	n += 64;
	s[n++] = ' ';
	memset(s + n, 'b', 65);
	n += 65;
	s[n++] = ' ';
	s[n++] = 'y';
	got g;
	run(s, n, &g);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.t[0].term, "x");
	assert_int_equal(strlen(g.t[1].term), 64);
	assert_int_equal(g.t[1].term[63], 'a');
	assert_int_equal(g.t[1].pos, 1);
	assert_int_equal(g.t[1].start, 2);
	assert_int_equal(g.t[1].end, 66);
	assert_string_equal(g.t[2].term, "y");
	assert_int_equal(g.t[2].pos, 3); /* the 65-byte token took position 2 */
	assert_int_equal(g.t[2].start, n - 1);
}

static void long_folded_token_skipped(void **state)
{
	(void)state;
	char s[400];
	size_t n = 0;
	/* 32 x "ß" = 64 bytes, folds to 64 bytes of "ss": kept */
	for (int i = 0; i < 32; i++, n += 2)
		memcpy(s + n, "\xC3\x9F", 2);
	s[n++] = ' ';
	/* 21 x "a" + 22 x "ß" = 65 bytes, folds to 65 bytes: skipped */
	memset(s + n, 'a', 21);
	n += 21;
	for (int i = 0; i < 22; i++, n += 2)
		memcpy(s + n, "\xC3\x9F", 2);
	s[n++] = ' ';
	/* 33 x ß = 66 raw; folds to 66: skipped */
	for (int i = 0; i < 33; i++, n += 2)
		memcpy(s + n, "\xC3\x9F", 2);
	s[n++] = ' ';
	s[n++] = 'z';
	got g;
	run(s, n, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(strlen(g.t[0].term), 64);
	assert_int_equal(g.t[0].term[0], 's');
	assert_int_equal(g.t[0].end, 64);
	assert_string_equal(g.t[1].term, "z");
	assert_int_equal(g.t[1].pos, 3);
}

static void folding_can_grow_past_limit(void **state)
{
	(void)state;
	/* 62 x "a" + "ß" (64 raw bytes) folds to 64 bytes: kept; 63 x "a" + "ß"
	 * (65 raw) folds to 65: skipped */
	char s[200];
	size_t n = 0;
	memset(s, 'a', 62);
	n = 62;
	memcpy(s + n, "\xC3\x9F", 2);
	n += 2;
	s[n++] = ' ';
	memset(s + n, 'a', 63);
	n += 63;
	memcpy(s + n, "\xC3\x9F", 2);
	n += 2;
	got g;
	run(s, n, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.t[0].pos, 0);
	assert_int_equal(strlen(g.t[0].term), 64);
	assert_memory_equal(g.t[0].term + 60, "aass", 4);
}

static void nul_bytes_separate(void **state)
{
	(void)state;
	EXPECT("ab\0cd", {"ab", 0, 0, 2}, {"cd", 1, 3, 5});
}

/* Random bytes: the analyzer must end, and its tokens must be sane. */
static void random_bytes_invariants(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	char *s = malloc(len);
	assert_non_null(s);
	uint64_t x = 0x9E3779B97F4A7C15u;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* bias toward bytes >= 0x80 to hit the UTF-8 paths */
		s[i] = (char)(x & 1 ? (x >> 8) | 0x80 : (x >> 8));
	}
	analyzer a;
	token t;
	analyzer_init(&a, s, len);
	uint32_t last_start = 0, next_pos = 0, ntok = 0, whole_pos = 0, whole_start = 0;
	bool after_whole = false;
	while (analyzer_next(&a, &t)) {
		assert_true(t.end > t.start);
		assert_true(t.end <= len);
		assert_true(t.len > 0 && t.len <= XIHU_MAX_TERM);
		assert_int_equal(strlen(t.term), t.len);
		if (after_whole) { /* a whole form's first part follows it, or a skipped one */
			assert_true(t.pos >= whole_pos);
			assert_true(t.start >= whole_start);
			after_whole = false;
		}
		if (t.whole) {
			assert_true(t.pos >= next_pos);
			assert_true(t.start >= last_start);
			whole_pos = t.pos;
			whole_start = t.start;
			after_whole = true;
			continue;
		}
		/* CJK bigrams overlap: starts increase, ends may not follow them */
		assert_true(t.start >= last_start);
		assert_true(t.pos >= next_pos);
		last_start = t.start + 1;
		next_pos = t.pos + 1;
		ntok++;
	}
	assert_true(ntok > 1000);
	free(s);
}

static void camel_case_parts_and_whole(void **state)
{
	(void)state;
	/* the whole form first, at its first part's position, then the parts */
	EXPECT("parseHttpRequest HTTPServer u32Value getX",
	       {"=parsehttprequest", 0, 0, 16}, {"parse", 0, 0, 5}, {"http", 1, 5, 9}, {"request", 2, 9, 16},
	       {"=httpserver", 3, 17, 27}, {"http", 3, 17, 21}, {"server", 4, 21, 27},
	       {"=u32value", 5, 28, 36}, {"u32", 5, 28, 31}, {"value", 6, 31, 36},
	       {"=getx", 7, 37, 41}, {"get", 7, 37, 40}, {"x", 8, 40, 41});
}

static void not_camel_case(void **state)
{
	(void)state;
	/* one case, digits, words starting with a digit, Capitalized words:
	 * no split; snake_case splits at '_' with no whole form */
	EXPECT("I2C_CLIENT V4L2 x86_64 0xDEADBeef sha256 Hello MAX_FRAME_SIZE",
	       {"i2c", 0, 0, 3}, {"client", 1, 4, 10}, {"v4l2", 2, 11, 15}, {"x86", 3, 16, 19},
	       {"64", 4, 20, 22}, {"0xdeadbeef", 5, 23, 33}, {"sha256", 6, 34, 40}, {"hello", 7, 41, 46},
	       {"max", 8, 47, 50}, {"frame", 9, 51, 56}, {"size", 10, 57, 61});
	/* Upper Upper lower splits before the last capital */
	EXPECT("PCIe eBPF", {"=pcie", 0, 0, 4}, {"pc", 0, 0, 2}, {"ie", 1, 2, 4},
	       {"=ebpf", 2, 5, 9}, {"e", 2, 5, 6}, {"bpf", 3, 6, 9});
}

static void camel_case_many_parts(void **state)
{
	(void)state;
	/* more parts than the analyzer cuts ahead: the rest are cut lazily */
	char s[128] = "aB";
	for (int i = 0; i < 20; i++)
		strcat(s, "Cd");
	strcat(s, " z");
	got g;
	run(s, strlen(s), &g);
	assert_int_equal(g.n, 1 + 22 + 1);
	assert_string_equal(g.t[0].term, "=abcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
	assert_string_equal(g.t[1].term, "a");
	assert_string_equal(g.t[2].term, "b");
	for (int i = 3; i < 23; i++) {
		assert_string_equal(g.t[i].term, "cd");
		assert_int_equal(g.t[i].pos, i - 1);
		assert_int_equal(g.t[i].start, 2 + 2 * (i - 3));
	}
	assert_string_equal(g.t[23].term, "z");
	assert_int_equal(g.t[23].pos, 22);
	/* a whole form over 64 bytes is not emitted; the parts are */
	char l[100] = "";
	for (int i = 0; i < 40; i++)
		strcat(l, "aB");
	run(l, strlen(l), &g);
	assert_int_equal(g.n, 41);
	assert_string_equal(g.t[0].term, "a");
	assert_string_equal(g.t[40].term, "b");
	assert_int_equal(g.nlong, 0);
}

static void cjk_mixed_scripts_split(void **state)
{
	(void)state;
	/* a script change splits: 使用 | linux | 内核 */
	EXPECT("使用Linux内核", {"使用", 0, 0, 6}, {"linux", 1, 6, 11}, {"内核", 2, 11, 17});
	/* hiragana, katakana and kanji in one run make one chain of bigrams */
	EXPECT("ひらがなカタカナ漢字です",
	       {"ひら", 0, 0, 6}, {"らが", 1, 3, 9}, {"がな", 2, 6, 12}, {"なカ", 3, 9, 15},
	       {"カタ", 4, 12, 18}, {"タカ", 5, 15, 21}, {"カナ", 6, 18, 24}, {"ナ漢", 7, 21, 27},
	       {"漢字", 8, 24, 30}, {"字で", 9, 27, 33}, {"です", 10, 30, 36});
	/* Hangul too */
	EXPECT("한국어 검색", {"한국", 0, 0, 6}, {"국어", 1, 3, 9}, {"검색", 2, 10, 16});
}

static void cjk_lone_characters_are_unigrams(void **state)
{
	(void)state;
	/* characters apart (punctuation, space) are runs of one: unigrams, never
	 * the bigram they would make together */
	EXPECT("中。文 中 文", {"中", 0, 0, 3}, {"文", 1, 6, 9}, {"中", 2, 10, 13}, {"文", 3, 14, 17});
}

static void nfkc_width_and_compatibility(void **state)
{
	(void)state;
	/* halfwidth katakana with its voiced mark composes to the fullwidth form */
	EXPECT("ｶﾞｷﾞ ガギ", {"ガギ", 0, 0, 12}, {"ガギ", 1, 13, 19});
	/* fullwidth Latin and digits, the fi ligature */
	EXPECT("ＬＩＮＵＸ ﬁle Ｘ１", {"linux", 0, 0, 15}, {"file", 1, 16, 21}, {"x1", 2, 22, 28});
}

static analysis *make_analysis(const char *stem, bool fold, const char *stop)
{
	analysis_opts o = {.stem = stem, .fold_diacritics = fold, .stopwords = stop,
	                   .stopwords_len = stop ? strlen(stop) : 0};
	analysis *an = NULL;
	assert_int_equal(analysis_new(&o, &an, NULL), 0);
	return an;
}

static void fold_diacritics_when_asked(void **state)
{
	(void)state;
	analysis *an = make_analysis(NULL, true, NULL);
	/* é composed or not, É, ï: the marks go; kana voicing stays */
	EXPECT_AN(an, 0, "café cafe\xCC\x81 CAFÉ naïve が",
	          {"cafe", 0, 0, 5}, {"cafe", 1, 6, 12}, {"cafe", 2, 13, 18}, {"naive", 3, 19, 25},
	          {"が", 4, 26, 29});
	/* a word of marks alone folds to nothing: dropped, its position kept */
	EXPECT_AN(an, 0, "x \xCC\x81\xCC\x81 y", {"x", 0, 0, 1}, {"y", 2, 7, 8});
	analysis_free(an);
	/* by default the marks stay */
	EXPECT("café", {"café", 0, 0, 5});
}

static void stemming_english(void **state)
{
	(void)state;
	analysis *an = make_analysis("english", false, NULL);
	/* parts are stemmed, whole forms and CJK bigrams are not */
	EXPECT_AN(an, 0, "running runs parseHttpRequests 検索",
	          {"run", 0, 0, 7}, {"run", 1, 8, 12}, {"=parsehttprequests", 2, 13, 30},
	          {"pars", 2, 13, 18}, {"http", 3, 18, 22}, {"request", 4, 22, 30}, {"検索", 5, 31, 37});
	/* ANALYZE_PLAIN (a prefix): as written */
	EXPECT_AN(an, ANALYZE_PLAIN, "running", {"running", 0, 0, 7});
	analysis_free(an);
	EXPECT("running runs", {"running", 0, 0, 7}, {"runs", 1, 8, 12});
}

static void stopwords_keep_positions(void **state)
{
	(void)state;
	/* folded like tokens: "Of" and "A" in the list stop "of" and "a" */
	analysis *an = make_analysis(NULL, false, "the\n# a comment\nOf\n  A\n\n");
	assert_int_equal(analysis_nstopwords(an), 3);
	got g;
	run_an(an, 0, "The art of war theAnswer Of a x", strlen("The art of war theAnswer Of a x"), &g);
	const tok want[] = {{"art", 1, 4, 7}, {"war", 3, 11, 14}, {"=theanswer", 4, 15, 24},
	                    {"answer", 5, 18, 24}, {"x", 8, 30, 31}};
	check(&g, want, sizeof want / sizeof want[0]);
	assert_int_equal(g.nstop, 5);
	/* ANALYZE_PLAIN keeps them */
	EXPECT_AN(an, ANALYZE_PLAIN, "the art", {"the", 0, 0, 3}, {"art", 1, 4, 7});
	analysis_free(an);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ascii_words_offsets_positions),
		cmocka_unit_test(underscore_splits_identifiers),
		cmocka_unit_test(punctuation_and_symbols_separate),
		cmocka_unit_test(empty_and_separator_only_input),
		cmocka_unit_test(case_folding_sharp_s),
		cmocka_unit_test(greek_folds_sigma),
		cmocka_unit_test(cyrillic_words),
		cmocka_unit_test(chinese_runs_form_bigrams),
		cmocka_unit_test(mixed_script_token),
		cmocka_unit_test(nfc_composes_marks),
		cmocka_unit_test(compatibility_characters),
		cmocka_unit_test(other_digits),
		cmocka_unit_test(invalid_byte_inside_word),
		cmocka_unit_test(truncated_sequence_keeps_next_byte),
		cmocka_unit_test(overlong_and_surrogates_separate),
		cmocka_unit_test(long_ascii_token_skipped_position_kept),
		cmocka_unit_test(long_folded_token_skipped),
		cmocka_unit_test(folding_can_grow_past_limit),
		cmocka_unit_test(nul_bytes_separate),
		cmocka_unit_test(random_bytes_invariants),
		cmocka_unit_test(camel_case_parts_and_whole),
		cmocka_unit_test(not_camel_case),
		cmocka_unit_test(camel_case_many_parts),
		cmocka_unit_test(cjk_mixed_scripts_split),
		cmocka_unit_test(cjk_lone_characters_are_unigrams),
		cmocka_unit_test(nfkc_width_and_compatibility),
		cmocka_unit_test(fold_diacritics_when_asked),
		cmocka_unit_test(stemming_english),
		cmocka_unit_test(stopwords_keep_positions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
