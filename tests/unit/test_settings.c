/*
 * test_settings.c: an index's analysis (index/settings.c): the SETTINGS
 * file (round trip, missing, damaged), checking a run's options against it,
 * and applying it where a query meets the index: query_parse_with (stems,
 * stopwords and their gaps, camelCase wholes, CJK phrases, prefixes) and
 * snippet_lines (what a stemmed or gapped match highlights), up to
 * xihu_index_open and xihu_index_search on an index built with --stem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "corpus.h"
#include "search/search.h"

static analysis *make(const char *stem, bool fold, const char *stop)
{
	analysis_opts o = {.stem = stem, .fold_diacritics = fold, .stopwords = stop,
	                   .stopwords_len = stop ? strlen(stop) : 0, .stopwords_name = "stop.txt"};
	analysis *an = NULL;
	xihu_err err = {0};
	int rc = analysis_new(&o, &an, &err);
	if (rc)
		fail_msg("analysis_new: %s", err.msg);
	return an;
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/xihu-settings.XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void rmdir_all(char *d)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

/* ---- the file ------------------------------------------------------------------ */

static void settings_round_trip(void **state)
{
	(void)state;
	char *d = tmpdir();
	analysis *an = make("english", true, "the\nOf\nthe\n# not a word\ncafé\n");
	assert_int_equal(analysis_nstopwords(an), 3); /* the, of, cafe (folded, once each) */
	assert_int_equal(settings_write(d, an, NULL), 0);
	analysis *back = NULL;
	assert_int_equal(settings_read(d, &back, NULL), 0);
	assert_non_null(back);
	assert_string_equal(analysis_stem(back), "english");
	assert_true(analysis_fold_diacritics(back));
	assert_int_equal(analysis_nstopwords(back), 3);
	assert_true(analysis_is_stopword(back, "of", 2));
	assert_true(analysis_is_stopword(back, "the", 3));
	assert_true(analysis_is_stopword(back, "cafe", 4));
	assert_false(analysis_is_stopword(back, "th", 2));
	assert_false(analysis_is_stopword(back, "cat", 3));
	char what[128];
	analysis_describe(back, what, sizeof what);
	const char *want = "stem english, 3 stopwords, diacritics folded";
	assert_memory_equal(what, want, strlen(want)); /* (other settings may follow) */
	/* the same settings: no complaint */
	analysis_opts same = {.stem = "english", .fold_diacritics = true, .stopwords = "of\nTHE\ncafe\n",
	                      .stopwords_len = 12};
	assert_int_equal(analysis_check(d, back, &same, NULL), 0);
	analysis_opts none = {0};
	assert_int_equal(analysis_check(d, back, &none, NULL), 0);
	analysis_free(back);
	analysis_free(an);
	rmdir_all(d);
}

static void settings_missing_is_default(void **state)
{
	(void)state;
	char *d = tmpdir();
	analysis *an = (analysis *)1;
	assert_int_equal(settings_read(d, &an, NULL), 0);
	assert_null(an);
	assert_string_equal(analysis_stem(NULL), "");
	assert_false(analysis_fold_diacritics(NULL));
	assert_false(analysis_is_stopword(NULL, "the", 3));
	rmdir_all(d);
}

/* Writes a SETTINGS file with the given payload (a valid envelope). */
static void write_payload(const char *d, const void *p, size_t n)
{
	xfile_w w;
	assert_int_equal(xfile_create(&w, d, "SETTINGS.tmp", XFILE_SETTINGS, NULL), 0);
	xfile_write(&w, p, n);
	assert_int_equal(xfile_finish(&w), 0);
	assert_int_equal(xfile_install(d, "SETTINGS.tmp", "SETTINGS", NULL), 0);
}

static void expect_corrupt(const char *d, const char *what)
{
	analysis *an = NULL;
	xihu_err err = {0};
	assert_int_equal(settings_read(d, &an, &err), XIHU_ECORRUPT);
	assert_null(an);
	if (!strstr(err.msg, "SETTINGS") || !strstr(err.msg, what))
		fail_msg("error [%s], want SETTINGS and [%s]", err.msg, what);
}

static void settings_damaged(void **state)
{
	(void)state;
	char *d = tmpdir();
	/* a flipped byte: the checksum */
	analysis *an = make("english", false, "the\n");
	assert_int_equal(settings_write(d, an, NULL), 0);
	analysis_free(an);
	char path[256];
	snprintf(path, sizeof path, "%s/SETTINGS", d);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 18, SEEK_SET); /* inside "english" */
	fputc('X', f);
	fclose(f);
	expect_corrupt(d, "checksum mismatch");
	/* well-formed envelopes around bad payloads */
	write_payload(d, "\x09klingon", 8);
	expect_corrupt(d, "stemmer name truncated");
	write_payload(d, "\x07klingon\x00\x00\x00\x00\x00", 13);
	expect_corrupt(d, "stemmer unknown");
	write_payload(d, "\x00\x80\x00\x00\x00\x00", 6);
	expect_corrupt(d, "unknown flags");
	write_payload(d, "\x00\x00\x02\x00\x00\x00\x03the\x02of", 13);
	expect_corrupt(d, "not in increasing order");
	write_payload(d, "\x00\x00\x01\x00\x00\x00\x03the!", 11);
	expect_corrupt(d, "trailing bytes");
	write_payload(d, "\x00\x00\xff\xff\xff\x7f", 6);
	expect_corrupt(d, "stopword count");
	/* the pair word list (flag 4) after the stopwords */
	write_payload(d, "\x00\x04\x00\x00\x00\x00", 6);
	expect_corrupt(d, "before the pair word list");
	write_payload(d, "\x00\x04\x00\x00\x00\x00\x02\x00\x00\x00\x03the\x02of", 17);
	expect_corrupt(d, "pair words not in increasing order");
	rmdir_all(d);
}

static void pair_words_round_trip(void **state)
{
	(void)state;
	char *d = tmpdir();
	analysis *an = make("", false, NULL);
	assert_int_equal(analysis_npairwords(an), 0);
	assert_int_equal(analysis_set_pairwords(an, "struct\nfor\nint\nfor\n", 19, NULL), 0);
	assert_int_equal(analysis_npairwords(an), 3);
	assert_int_equal(settings_write(d, an, NULL), 0);
	analysis_free(an);
	analysis *back;
	assert_int_equal(settings_read(d, &back, NULL), 0);
	assert_int_equal(analysis_npairwords(back), 3);
	assert_true(analysis_is_pairword(back, "for", 3));
	assert_true(analysis_is_pairword(back, "struct", 6));
	assert_false(analysis_is_pairword(back, "fo", 2));
	assert_int_equal(analysis_nstopwords(back), 0);
	/* an index with pair terms cannot be asked for none */
	xihu_err err = {0};
	analysis_opts none = {.no_pairs = true};
	assert_int_equal(analysis_check("/ix", back, &none, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "/ix: created with pair terms; this run asks for --no-pairs"));
	analysis_free(back);
	rmdir_all(d);
}

static void check_names_the_setting(void **state)
{
	(void)state;
	analysis *en = make("english", false, "the\n");
	xihu_err err = {0};
	analysis_opts fr = {.stem = "french"};
	assert_int_equal(analysis_check("/ix", en, &fr, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "/ix: created with --stem english; this run asks for --stem french"));
	analysis_opts none = {.stem = "none"};
	assert_int_equal(analysis_check("/ix", en, &none, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "asks for --stem none"));
	analysis_opts fold = {.fold_diacritics = true};
	assert_int_equal(analysis_check("/ix", en, &fold, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "/ix: created without --fold-diacritics"));
	analysis_opts stop = {.stopwords = "a\n", .stopwords_len = 2, .stopwords_name = "s.txt"};
	assert_int_equal(analysis_check("/ix", en, &stop, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "/ix: created with --stopwords (1 word); s.txt has a different list"));
	assert_int_equal(analysis_check("/ix", NULL, &fr, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "/ix: created without --stem; this run asks for --stem french"));
	assert_int_equal(analysis_check("/ix", NULL, &stop, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "/ix: created without --stopwords"));
	analysis_free(en);
	/* an unknown stemmer: the known ones listed */
	analysis *an = NULL;
	analysis_opts kl = {.stem = "klingon"};
	assert_int_equal(analysis_new(&kl, &an, &err), XIHU_EINVAL);
	assert_null(an);
	assert_non_null(strstr(err.msg, "--stem klingon: not a Snowball stemmer"));
	assert_non_null(strstr(err.msg, "english"));
}

/* ---- queries -------------------------------------------------------------------- */

static qnode *parse(const analysis *an, const char *q)
{
	qnode *n = NULL;
	xihu_err err = {0};
	int rc = query_parse_with(an, q, strlen(q), NULL, &n, &err);
	if (rc)
		fail_msg("query_parse_with(%s): %s", q, err.msg);
	return n;
}

/* The node as "KIND term term ..." with "@pos" after each term when gapped. */
static void expect_node(const analysis *an, const char *q, const char *want)
{
	qnode *n = parse(an, q);
	char got[512];
	static const char *const kinds[] = {[Q_TERM] = "TERM", [Q_PREFIX] = "PREFIX", [Q_PHRASE] = "PHRASE"};
	assert_true(n->kind == Q_TERM || n->kind == Q_PREFIX || n->kind == Q_PHRASE);
	size_t len = (size_t)snprintf(got, sizeof got, "%s", kinds[n->kind]);
	for (uint32_t i = 0; i < n->nterms; i++) {
		len += (size_t)snprintf(got + len, sizeof got - len, " %s", n->terms[i]);
		if (n->pos)
			len += (size_t)snprintf(got + len, sizeof got - len, "@%u", n->pos[i]);
	}
	if (strcmp(got, want))
		fail_msg("%s: got [%s], want [%s]", q, got, want);
	query_free(n);
}

static void query_words_as_indexed(void **state)
{
	(void)state;
	/* the default analysis */
	expect_node(NULL, "parseHttpRequest", "TERM parsehttprequest");
	expect_node(NULL, "parsehttprequest", "TERM parsehttprequest");
	expect_node(NULL, "\"parseHttpRequest\"", "PHRASE parse http request");
	expect_node(NULL, "max_frame_size", "PHRASE max frame size");
	expect_node(NULL, "MAX_FRAME_SIZE", "PHRASE max frame size");
	expect_node(NULL, "conn.parseHttp", "PHRASE conn parse http");
	expect_node(NULL, "parseHttp*", "PREFIX parsehttp");
	expect_node(NULL, "中文", "TERM 中文");
	expect_node(NULL, "搜索引擎", "PHRASE 搜索 索引 引擎");
	expect_node(NULL, "使用Linux内核", "PHRASE 使用 linux 内核");
	expect_node(NULL, "running", "TERM running");
	/* stemmed, but not a prefix */
	analysis *en = make("english", false, "the\nof\n");
	expect_node(en, "running", "TERM run");
	expect_node(en, "\"running dogs\"", "PHRASE run dog");
	expect_node(en, "running*", "PREFIX running");
	expect_node(en, "the*", "PREFIX the");
	/* stopwords: dropped, their positions kept inside a phrase */
	expect_node(en, "\"art of war\"", "PHRASE art@0 war@2");
	expect_node(en, "\"the art of the war\"", "PHRASE art@0 war@3");
	expect_node(en, "the-art", "TERM art");
	expect_node(en, "theArt", "TERM theart");
	/* a query of stopwords only is an error that says so */
	qnode *n = NULL;
	xihu_err err = {0};
	assert_int_equal(query_parse_with(en, "the OF", 6, NULL, &n, &err), XIHU_EQUERY);
	assert_string_equal(err.msg, "query has only stopwords (this index does not index them)");
	assert_int_equal(query_parse_with(en, "\"the of\"", 8, NULL, &n, &err), XIHU_EQUERY);
	assert_string_equal(err.msg, "query has only stopwords (this index does not index them)");
	n = parse(en, "the cat");
	assert_int_equal(n->kind, Q_TERM);
	assert_string_equal(n->terms[0], "cat");
	query_free(n);
	analysis_free(en);
	/* diacritics */
	analysis *fold = make(NULL, true, NULL);
	expect_node(fold, "CAFÉ", "TERM cafe");
	expect_node(NULL, "CAFÉ", "TERM café");
	analysis_free(fold);
}

/* ---- snippets ------------------------------------------------------------------- */

/* The highlighted text of text's lines for one pattern, '|' between. */
static void expect_spans(const analysis *an, const char *text, char **terms, uint32_t n, const uint32_t *pos,
                         const char *want)
{
	hl_pattern p = {n, terms, false, pos};
	hl_terms hl = {1, &p, an};
	xihu_index_hit hit = {0};
	assert_int_equal(snippet_lines(text, strlen(text), &hl, 100, 0, &hit, NULL), 0);
	char got[256] = "";
	for (uint32_t l = 0; l < hit.nlines; l++)
		for (uint32_t s = 0; s < hit.lines[l].nspans; s++) {
			const xihu_index_span *sp = &hit.lines[l].spans[s];
			if (*got)
				strcat(got, "|");
			strncat(got, hit.lines[l].text + sp->start, sp->end - sp->start);
		}
	if (strcmp(got, want))
		fail_msg("[%s]: got [%s], want [%s]", text, got, want);
	for (uint32_t l = 0; l < hit.nlines; l++) {
		free(hit.lines[l].text);
		free(hit.lines[l].spans);
	}
	free(hit.lines);
}

static void snippets_highlight_what_matched(void **state)
{
	(void)state;
	analysis *en = make("english", false, "the\nof\n");
	char *run[] = {"run"};
	expect_spans(en, "the dog runs\nrunning late", run, 1, NULL, "runs|running");
	expect_spans(NULL, "the dog runs", run, 1, NULL, "");
	/* a phrase with a stopword's gap: any word may stand there, none may be missing */
	char *artwar[] = {"art", "war"};
	static const uint32_t gap[] = {0, 2};
	expect_spans(en, "The art of war\nart war\nart in war", artwar, 2, gap, "art|war|art|war");
	expect_spans(en, "The art of war\nart war", artwar, 2, NULL, "art|war");
	analysis_free(en);
	/* camelCase: a part, the whole; CJK bigrams merge into one span */
	char *http[] = {"http"}, *whole[] = {"parsehttprequest"};
	expect_spans(NULL, "x = parseHttpRequest(c);", http, 1, NULL, "Http");
	expect_spans(NULL, "x = parseHttpRequest(c);", whole, 1, NULL, "parseHttpRequest");
	char *cjk[] = {"搜索", "索引", "引擎"};
	expect_spans(NULL, "开发中文搜索引擎，效果", cjk, 3, NULL, "搜索引擎");
	/* MAX_FRAME_SIZE through its parts: one span */
	char *mfs[] = {"max", "frame", "size"};
	expect_spans(NULL, "#define MAX_FRAME_SIZE 1", mfs, 3, NULL, "MAX_FRAME_SIZE");
}

/* ---- an index built with --stem, opened and searched ----------------------------- */

static void index_applies_its_settings(void **state)
{
	(void)state;
	corpus c;
	assert_int_equal(corpus_init(&c, "/tmp/xihu-settings-ix.XXXXXX"), 0);
	assert_int_equal(corpus_write(&c, "runs.txt", "the dog runs\n"), 0);
	assert_int_equal(corpus_write(&c, "cat.txt", "a cat sleeps\n"), 0);
	char stop[160];
	snprintf(stop, sizeof stop, "%s/stop.txt", c.root);
	FILE *f = fopen(stop, "w");
	assert_non_null(f);
	fputs("the\n", f);
	fclose(f);
	const char *paths[] = {c.tree};
	xihu_build_opts bo = {.stem = "english", .stopwords = stop};
	xihu_err err = {0};
	assert_int_equal(xihu_build(c.ixdir, paths, 1, NULL, 0, &bo, NULL, &err), 0);
	/* a second run without options keeps them; one with others is refused */
	xihu_build_opts none = {0};
	assert_int_equal(xihu_build(c.ixdir, paths, 1, NULL, 0, &none, NULL, &err), 0);
	xihu_build_opts fr = {.stem = "french"};
	assert_int_equal(xihu_build(c.ixdir, paths, 1, NULL, 0, &fr, NULL, &err), XIHU_EINVAL);
	assert_non_null(strstr(err.msg, "created with --stem english"));
	assert_int_equal(xihu_index_open(c.ixdir, &c.ix, &err), 0);
	assert_string_equal(analysis_stem(index_analysis(c.ix)), "english");
	assert_true(analysis_is_stopword(index_analysis(c.ix), "the", 3));
	/* the stems are what the segment holds */
	seg_term st;
	const seg *s = index_seg(c.ix, 0);
	assert_int_equal(seg_lookup(s, FIELD_BODY, "run", 3, &st, NULL), 1);
	assert_int_equal(seg_lookup(s, FIELD_BODY, "runs", 4, &st, NULL), 0);
	assert_int_equal(seg_lookup(s, FIELD_BODY, "the", 3, &st, NULL), 0);
	/* and a search goes through the same analysis */
	xihu_index_search_opts so = {.limit = 10, .want_lines = true};
	xihu_index_results r;
	assert_int_equal(xihu_index_search(c.ix, "running", 7, &so, &r, &err), 0);
	assert_int_equal(r.nhits, 1);
	assert_non_null(strstr(r.hits[0].doc, "runs.txt"));
	assert_int_equal(r.hits[0].nlines, 1);
	assert_int_equal(r.hits[0].lines[0].nspans, 1);
	assert_int_equal(r.hits[0].lines[0].spans[0].start, 8); /* "runs" */
	assert_int_equal(r.hits[0].lines[0].spans[0].end, 12);
	xihu_index_results_free(&r);
	assert_int_equal(corpus_free(&c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(settings_round_trip),
		cmocka_unit_test(settings_missing_is_default),
		cmocka_unit_test(settings_damaged),
		cmocka_unit_test(pair_words_round_trip),
		cmocka_unit_test(check_names_the_setting),
		cmocka_unit_test(query_words_as_indexed),
		cmocka_unit_test(snippets_highlight_what_matched),
		cmocka_unit_test(index_applies_its_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
