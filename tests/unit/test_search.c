/*
 * test_search.c: the search path through the public API: matching of every
 * query form, paging, tie order, lines and columns from the doc store,
 * configured limits, snapshots and a damaged index refused by name.
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

static void write_file(const char *name, const char *text)
{
	assert_int_equal(corpus_write(&c, name, text), 0);
}

static void build(void)
{
	assert_int_equal(corpus_build(&c, NULL), 0);
}

static int setup(void **state)
{
	(void)state;
	if (corpus_init(&c, "/tmp/xihu-search.XXXXXX"))
		return -1;
	write_file("a.txt", "the quick brown fox\njumps over\nthe lazy dog\n");
	write_file("b.txt", "a brown quick fox\n");
	write_file("c.txt", "tie tie\n");
	write_file("d.txt", "tie tie\n");
	write_file("e.txt", "tie tie\n");
	write_file("f.txt", "naïve café résumé\r\nsecond ΣΊΣΥΦΟΣ line\r\n");
	write_file("g.txt", "prefix prefetch preview\nprelude\n");
	return corpus_open(&c, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return corpus_free(&c);
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The hits' base names joined with spaces, for one query. */
static void expect_docs(const char *q, uint32_t limit, uint32_t offset, const char *want)
{
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = limit, .offset = offset};
	if (xihu_index_search(c.ix, q, strlen(q), &o, &r, &err))
		fail_msg("%s: %s", q, err.msg);
	char got[512] = "";
	for (uint32_t i = 0; i < r.nhits; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, base(r.hits[i].doc));
	}
	xihu_index_results_free(&r);
	if (strcmp(got, want))
		fail_msg("%s: got [%s], want [%s]", q, got, want);
}

static void phrase_needs_adjacent_words(void **state)
{
	(void)state;
	expect_docs("\"quick brown\"", 10, 0, "a.txt");
	expect_docs("\"brown quick\"", 10, 0, "b.txt");
	expect_docs("\"quick fox\"", 10, 0, "b.txt");
	expect_docs("\"lazy fox\"", 10, 0, "");
	/* a word that analyzes to several tokens is a phrase too */
	expect_docs("quick-brown", 10, 0, "a.txt");
}

/* opts.any (xihu search --any): a doc with any of the words matches,
 * ranked by BM25 (the one with more of them first), where the same words
 * ANDed match nothing; -word still excludes. */
static void any_word_matches_ranked(void **state)
{
	(void)state;
	const char *q = "lazy preview brown";
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10};
	assert_int_equal(xihu_index_search(c.ix, q, strlen(q), &o, &r, &err), 0);
	assert_int_equal(r.nhits, 0);
	xihu_index_results_free(&r);
	o.any = true;
	assert_int_equal(xihu_index_search(c.ix, q, strlen(q), &o, &r, &err), 0);
	assert_int_equal(r.nhits, 3);
	assert_string_equal(base(r.hits[0].doc), "a.txt"); /* lazy and brown */
	assert_true(r.hits[0].score > r.hits[1].score && r.hits[1].score > 0 && r.hits[2].score > 0);
	xihu_index_results_free(&r);
	q = "lazy preview brown -fox";
	assert_int_equal(xihu_index_search(c.ix, q, strlen(q), &o, &r, &err), 0);
	assert_int_equal(r.nhits, 1);
	assert_string_equal(base(r.hits[0].doc), "g.txt");
	xihu_index_results_free(&r);
}

static void prefix_expands(void **state)
{
	(void)state;
	expect_docs("pref*", 10, 0, "g.txt");
	expect_docs("prel*", 10, 0, "g.txt");
	expect_docs("prez*", 10, 0, "");
}

static void ties_go_to_the_earlier_doc_and_pages_continue(void **state)
{
	(void)state;
	expect_docs("tie", 10, 0, "c.txt d.txt e.txt");
	expect_docs("tie", 2, 0, "c.txt d.txt");
	expect_docs("tie", 2, 2, "e.txt");
	expect_docs("tie", 2, 4, "");
}

static void lines_and_columns_from_the_store(void **state)
{
	(void)state;
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10, .want_lines = true};
	const char *q = "café OR σίσυφος";
	if (xihu_index_search(c.ix, q, strlen(q), &o, &r, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r.nhits, 1);
	assert_string_equal(base(r.hits[0].doc), "f.txt");
	assert_int_equal(r.hits[0].nlines, 2);
	xihu_index_line *l = &r.hits[0].lines[0];
	assert_int_equal(l->line, 1);
	assert_int_equal(l->col, 8); /* "naïve " is 7 bytes */
	assert_string_equal(l->text, "naïve café résumé"); /* no \r */
	assert_int_equal(l->nspans, 1);
	assert_int_equal(l->spans[0].start, 7);
	assert_int_equal(l->spans[0].end, 12);
	l = &r.hits[0].lines[1];
	assert_int_equal(l->line, 2);
	assert_int_equal(l->col, 8);
	assert_string_equal(l->text, "second ΣΊΣΥΦΟΣ line");
	assert_int_equal(l->spans[0].end - l->spans[0].start, strlen("ΣΊΣΥΦΟΣ"));
	xihu_index_results_free(&r);
}

static void phrase_highlights_only_where_it_matches(void **state)
{
	(void)state;
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10, .want_lines = true};
	const char *q = "\"the lazy\"";
	if (xihu_index_search(c.ix, q, strlen(q), &o, &r, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r.nhits, 1);
	assert_string_equal(base(r.hits[0].doc), "a.txt");
	/* "the" on line 1 is not part of the phrase */
	assert_int_equal(r.hits[0].nlines, 1);
	xihu_index_line *l = &r.hits[0].lines[0];
	assert_int_equal(l->line, 3);
	assert_int_equal(l->col, 1);
	assert_int_equal(l->nspans, 2);
	assert_int_equal(l->spans[0].start, 0);
	assert_int_equal(l->spans[0].end, 3);
	assert_int_equal(l->spans[1].start, 4);
	assert_int_equal(l->spans[1].end, 8);
	xihu_index_results_free(&r);
}

static void syntax_error_names_column(void **state)
{
	(void)state;
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {0};
	const char *q = "fox \"lazy";
	assert_int_equal(xihu_index_search(c.ix, q, strlen(q), &o, &r, &err), XIHU_EQUERY);
	assert_int_equal(err.column, 5);
	assert_non_null(strstr(err.msg, "column 5"));
}

static void prefix_limit_is_an_error(void **state)
{
	(void)state;
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_prefix_expansions = 2;
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limits = &lim};
	assert_int_equal(xihu_index_search(c.ix, "pre*", 4, &o, &r, &err), XIHU_ELIMIT);
	assert_non_null(strstr(err.msg, "pre*"));
	lim.max_prefix_expansions = 4;
	assert_int_equal(xihu_index_search(c.ix, "pre*", 4, &o, &r, &err), 0);
	assert_int_equal(r.total, 1);
	xihu_index_results_free(&r);
}

/* No cap on a page by default (a page past the end is empty); a cap the
 * caller sets (xihud --max-results) is an error past it. */
static void pages_have_no_cap_unless_one_is_set(void **state)
{
	(void)state;
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10, .offset = 1000000};
	assert_int_equal(xihu_index_search(c.ix, "tie", 3, &o, &r, &err), XIHU_OK);
	assert_int_equal(r.nhits, 0);
	assert_int_equal(r.total, 3);
	xihu_index_results_free(&r);
	o = (xihu_index_search_opts){.limit = UINT32_MAX};
	assert_int_equal(xihu_index_search(c.ix, "tie", 3, &o, &r, &err), XIHU_OK);
	assert_int_equal(r.nhits, 3);
	xihu_index_results_free(&r);
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_hits = 100;
	o = (xihu_index_search_opts){.limit = 10, .offset = 91, .limits = &lim};
	assert_int_equal(xihu_index_search(c.ix, "tie", 3, &o, &r, &err), XIHU_ELIMIT);
}

/* More than the old cap of 10,000 hits: every one of 10,050 documents,
 * in pages that continue where the last one ended. */
static void ten_thousand_and_fifty_hits(void **state)
{
	(void)state;
	corpus big;
	assert_int_equal(corpus_init(&big, "/tmp/xihu-search-big.XXXXXX"), 0);
	char name[32];
	for (int i = 0; i < 10050; i++) {
		snprintf(name, sizeof name, "f%05d.txt", i);
		assert_int_equal(corpus_write(&big, name, "struct here\n"), 0);
	}
	assert_int_equal(corpus_open(&big, NULL), 0);
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 60000};
	assert_int_equal(xihu_index_search(big.ix, "struct", 6, &o, &r, &err), XIHU_OK);
	assert_int_equal(r.nhits, 10050);
	assert_int_equal(r.total, 10050);
	xihu_index_results_free(&r);
	o = (xihu_index_search_opts){.limit = 100, .offset = 10000};
	assert_int_equal(xihu_index_search(big.ix, "struct", 6, &o, &r, &err), XIHU_OK);
	assert_int_equal(r.nhits, 50);
	xihu_index_results_free(&r);
	assert_int_equal(corpus_free(&big), 0);
}

/* The hits' base names for q in ix, space-separated, into got. */
static void docs_of(xihu_index *ix, const char *q, char *got, size_t cap)
{
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 10};
	if (xihu_index_search(ix, q, strlen(q), &o, &r, &err))
		fail_msg("%s: %s", q, err.msg);
	got[0] = '\0';
	for (uint32_t i = 0; i < r.nhits; i++)
		snprintf(got + strlen(got), cap - strlen(got), "%s%s", i ? " " : "", base(r.hits[i].doc));
	xihu_index_results_free(&r);
}

/* The documents q ranks, by base name, are want. */
static void ranks_as(xihu_index *ix, const char *q, const char *want)
{
	char got[256];
	docs_of(ix, q, got, sizeof got);
	if (strcmp(got, want))
		fail_msg("%s: \"%s\", want \"%s\"", q, got, want);
}

/* The def field (defs.c): the file defining a name ranks above a shorter
 * one that calls it more often; def:NAME finds the definition alone, whole
 * (not vlan_frob_widget's) and in any case; a word that is no identifier
 * of the file finds nothing there. */
static void definitions_come_first(void **state)
{
	(void)state;
	corpus d;
	assert_int_equal(corpus_init(&d, "/tmp/xihu-search-def.XXXXXX"), 0);
	char body[4096] = "/* helpers */\n";
	for (int i = 0; i < 40; i++)
		strcat(body, "static int pad(int x)\n{\n\treturn x + 1;\n}\n");
	strcat(body, "int frob_widget(struct widget *w)\n{\n\treturn w->n;\n}\n");
	assert_int_equal(corpus_write(&d, "widget.c", body), 0);
	assert_int_equal(corpus_write(&d, "user.c",
	                              "void go(void)\n{\n\tfrob_widget(a);\n\tfrob_widget(b);\n\tfrob_widget(c);\n}\n"),
	                 0);
	assert_int_equal(corpus_write(&d, "vlan.c", "int vlan_frob_widget(struct widget *w)\n{\n\treturn 0;\n}\n"), 0);
	assert_int_equal(corpus_open(&d, NULL), 0);
	static const char *const want[][2] = {
		{"frob_widget", "widget.c user.c vlan.c"}, {"def:frob_widget", "widget.c"},
		{"def:FROB_WIDGET", "widget.c"},           {"def:widget", ""},
		{"def:vlan_frob_widget", "vlan.c"},
	};
	for (size_t k = 0; k < sizeof want / sizeof *want; k++)
		ranks_as(d.ix, want[k][0], want[k][1]);
	assert_int_equal(corpus_free(&d), 0);
}

/* A word of mixed case typed as written puts the file defining it so first,
 * before the one defining the same name in another case (the builder
 * whileStatement, the type WhileStatement), even when the other file
 * names the word more often; typed in one case, both definitions count
 * alike and b_builders.js, naming it twice, comes first. */
static void exact_case_definition_first(void **state)
{
	(void)state;
	corpus d;
	assert_int_equal(corpus_init(&d, "/tmp/xihu-search-case.XXXXXX"), 0);
	assert_int_equal(corpus_write(&d, "a_types.js",
	                              "export class WhileStatement {\n  constructor(t) { this.t = t; }\n}\n"),
	                 0);
	assert_int_equal(corpus_write(&d, "b_builders.js",
	                              "export function whileStatement(t) {\n  return new WhileStatement(t);\n}\n"),
	                 0);
	/* other files, so that a name in one or two of them weighs something */
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof name, "c_other%d.js", i);
		assert_int_equal(corpus_write(&d, name, "export function other(x) {\n  return x;\n}\n"), 0);
	}
	assert_int_equal(corpus_open(&d, NULL), 0);
	static const char *const want[][2] = {
		{"whileStatement", "b_builders.js a_types.js"},
		{"WhileStatement", "a_types.js b_builders.js"},
		{"def:whileStatement", "b_builders.js a_types.js"},
		{"whilestatement", "b_builders.js a_types.js"},
	};
	for (size_t k = 0; k < sizeof want / sizeof *want; k++)
		ranks_as(d.ix, want[k][0], want[k][1]);
	assert_int_equal(corpus_free(&d), 0);
}

static void snapshot_survives_a_new_commit(void **state)
{
	(void)state;
	bool changed = true;
	xihu_err err = {0};
	assert_int_equal(xihu_index_changed(c.ix, &changed, &err), 0);
	assert_false(changed);
	write_file("h.txt", "tie breaker\n");
	build();
	assert_int_equal(xihu_index_changed(c.ix, &changed, &err), 0);
	assert_true(changed);
	/* the old snapshot still answers from its own segments */
	expect_docs("breaker", 10, 0, "");
	expect_docs("tie", 10, 0, "c.txt d.txt e.txt");
	xihu_index *nix;
	assert_int_equal(xihu_index_reopen(c.ix, &nix, &err), 0);
	xihu_index_unref(c.ix);
	c.ix = nix;
	expect_docs("breaker", 10, 0, "h.txt");
}

static void damaged_file_is_refused_by_name(void **state)
{
	(void)state;
	/* flip one bit in the middle of every index file in turn */
	char cmd[300];
	snprintf(cmd, sizeof cmd, "ls %s | grep -v -e LOCK -e '^MANIFEST.tmp$' > %s/files", c.ixdir, c.root);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/files", c.root);
	FILE *list = fopen(cmd, "r");
	assert_non_null(list);
	char name[128];
	int tried = 0;
	while (fgets(name, sizeof name, list)) {
		name[strcspn(name, "\n")] = 0;
		char path[300];
		snprintf(path, sizeof path, "%s/%s", c.ixdir, name);
		FILE *f = fopen(path, "r+b");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		long size = ftell(f);
		fseek(f, size / 2, SEEK_SET);
		int byte = fgetc(f);
		fseek(f, size / 2, SEEK_SET);
		fputc(byte ^ 0x10, f);
		fclose(f);
		xihu_index *bad = NULL;
		xihu_err err = {0};
		int rc = xihu_index_open(c.ixdir, &bad, &err);
		if (rc != XIHU_ECORRUPT)
			fail_msg("%s with a flipped bit: rc %d (%s)", name, rc, err.msg);
		if (!strstr(err.msg, name))
			fail_msg("%s with a flipped bit: message does not name it: %s", name, err.msg);
		assert_null(bad);
		f = fopen(path, "r+b");
		fseek(f, size / 2, SEEK_SET);
		fputc(byte, f);
		fclose(f);
		tried++;
	}
	fclose(list);
	assert_true(tried >= 5);
	xihu_index *good;
	xihu_err err = {0};
	assert_int_equal(xihu_index_open(c.ixdir, &good, &err), 0);
	xihu_index_unref(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(phrase_needs_adjacent_words),
		cmocka_unit_test(definitions_come_first),
		cmocka_unit_test(exact_case_definition_first),
		cmocka_unit_test(any_word_matches_ranked),
		cmocka_unit_test(prefix_expands),
		cmocka_unit_test(ties_go_to_the_earlier_doc_and_pages_continue),
		cmocka_unit_test(lines_and_columns_from_the_store),
		cmocka_unit_test(phrase_highlights_only_where_it_matches),
		cmocka_unit_test(syntax_error_names_column),
		cmocka_unit_test(prefix_limit_is_an_error),
		cmocka_unit_test(pages_have_no_cap_unless_one_is_set),
		cmocka_unit_test(ten_thousand_and_fifty_hits),
		cmocka_unit_test(snapshot_survives_a_new_commit),
		cmocka_unit_test(damaged_file_is_refused_by_name),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
