/*
 * test_query.c: the query parser (index/query.c): tree shapes, precedence,
 * columns, every error kind with its exact message, and the limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "search/search.h"

/* Prints a tree as an s-expression; with cols, each node as X@column. */
static void dump(const qnode *n, bool cols, char *out, size_t cap)
{
	size_t len = strlen(out);
	char at[16] = "";
	if (cols)
		snprintf(at, sizeof at, "@%u", n->column);
	if (n->field) { /* a scope, and the plain words it falls back to */
		snprintf(out + len, cap - len, "%s:", n->field);
		len = strlen(out);
	}
	switch (n->kind) {
	case Q_NEAR:
		snprintf(out + len, cap - len, "(NEAR/%u", n->near);
		for (uint32_t i = 0; i < n->nterms; i++) {
			len = strlen(out);
			snprintf(out + len, cap - len, " %s", n->terms[i]);
		}
		len = strlen(out);
		snprintf(out + len, cap - len, ")%s", at);
		assert_true(n->nterms >= 2);
		return;
	case Q_EXT:
		snprintf(out + len, cap - len, "ext=%s%s", n->terms[0], at);
		assert_int_equal(n->nterms, 1);
		return;
	case Q_GLOB:
		snprintf(out + len, cap - len, "glob=%s%s", n->terms[0], at);
		assert_int_equal(n->nterms, 1);
		return;
	case Q_TERM:
		snprintf(out + len, cap - len, "%s%s", n->terms[0], at);
		assert_int_equal(n->nterms, 1);
		assert_int_equal(n->nkids, 0);
		return;
	case Q_PREFIX:
		snprintf(out + len, cap - len, "%s*%s", n->terms[0], at);
		assert_int_equal(n->nterms, 1);
		return;
	case Q_FUZZY:
		snprintf(out + len, cap - len, "%s~%u%s", n->terms[0], n->fuzzy, at);
		assert_int_equal(n->nterms, 1);
		return;
	case Q_PHRASE:
		assert_true(n->nterms >= 2);
		snprintf(out + len, cap - len, "\"");
		for (uint32_t i = 0; i < n->nterms; i++) {
			len = strlen(out);
			snprintf(out + len, cap - len, "%s%s", i ? " " : "", n->terms[i]);
		}
		len = strlen(out);
		snprintf(out + len, cap - len, "\"%s", at);
		return;
	case Q_AND:
	case Q_OR:
	case Q_NOT: {
		const char *k = n->kind == Q_AND ? "AND" : n->kind == Q_OR ? "OR" : "NOT";
		if (n->kind == Q_NOT)
			assert_int_equal(n->nkids, 1);
		else
			assert_true(n->nkids >= 2);
		snprintf(out + len, cap - len, "(%s%s", k, at);
		for (uint32_t i = 0; i < n->nkids; i++) {
			len = strlen(out);
			snprintf(out + len, cap - len, " ");
			dump(n->kids[i], cols, out, cap);
		}
		len = strlen(out);
		snprintf(out + len, cap - len, ")");
		return;
	}
	}
	fail();
}

static void check_tree_flags(const char *q, bool cols, unsigned flags, const char *want)
{
	qnode *n = NULL;
	xihu_err err = {0};
	int rc = query_parse_flags(NULL, q, strlen(q), NULL, flags, &n, &err);
	if (rc)
		fail_msg("query [%s]: %s", q, err.msg);
	char buf[4096] = "";
	dump(n, cols, buf, sizeof buf);
	assert_string_equal(buf, want);
	query_free(n);
}

#define TREE(q, want) check_tree_flags((q), false, 0, (want))
#define COLS(q, want) check_tree_flags((q), true, 0, (want))
#define ANY(q, want) check_tree_flags((q), false, QUERY_ANY, (want))

static void check_err_lim(const char *q, size_t len, const xihu_limits *lim, int code,
                          unsigned column, const char *msg)
{
	qnode *n = (qnode *)1;
	xihu_err err = {0};
	int rc = query_parse(q, len, lim, &n, &err);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_null(n);
	assert_int_equal(err.column, column);
	assert_string_equal(err.msg, msg);
}

#define ERR(q, code, column, msg) check_err_lim((q), strlen(q), NULL, (code), (column), (msg))

/* ---- shapes ------------------------------------------------------------------- */

static void single_word_is_folded_term(void **state)
{
	(void)state;
	COLS("Foo", "foo@1");
	COLS("  Stra\xC3\x9F" "e ", "strasse@3");
}

static void implicit_and(void **state)
{
	(void)state;
	COLS("a b  c", "(AND@1 a@1 b@3 c@6)");
}

static void explicit_and_keyword(void **state)
{
	(void)state;
	TREE("a AND b", "(AND a b)");
	TREE("a AND b c", "(AND a b c)");
}

static void or_binds_tighter_than_and(void **state)
{
	(void)state;
	COLS("a b OR c d", "(AND@1 a@1 (OR@3 b@3 c@8) d@10)");
	TREE("a OR b c OR d", "(AND (OR a b) (OR c d))");
	TREE("a OR b AND c", "(AND (OR a b) c)");
	TREE("a OR b OR c", "(OR a b c)");
}

/* QUERY_ANY (xihu search --any): what the query joins without an operator
 * is an OR, at every level; AND still joins, negations exclude from all. */
static void any_ors_what_has_no_operator(void **state)
{
	(void)state;
	check_tree_flags("a b  c", true, QUERY_ANY, "(OR@1 a@1 b@3 c@6)");
	ANY("a", "a");
	ANY("a AND b c", "(OR (AND a b) c)");
	ANY("a b AND c d", "(OR a (AND b c) d)");
	ANY("a OR b c", "(OR a b c)");
	ANY("a b -c NOT d", "(AND (OR a b) (NOT c) (NOT d))");
	ANY("-c a b", "(AND (OR a b) (NOT c))");
	ANY("-c a", "(AND a (NOT c))");
	ANY("a AND -b c", "(OR (AND a (NOT b)) c)");
	ANY("(a b) c", "(OR a b c)");
	ANY("(a AND b) (c d)", "(OR (AND a b) c d)");
	ANY("x (a b -c)", "(OR x (AND (OR a b) (NOT c)))");
	ANY("\"a b\" c* d~", "(OR \"a b\" c* d~0)");
	/* a path filter restricts, as a negation excludes: from every alternative */
	ANY("a b ext:c", "(AND (OR a b) ext=c)");
	ANY("ext:c a path:*.h -b", "(AND a ext=c glob=*.h (NOT b))");
	ANY("a (ext:c OR ext:h)", "(AND a (OR ext=c ext=h))");
	ANY("a (b ext:c)", "(OR a (AND b ext=c))");
	ANY("a ext:c AND b", "(OR a (AND ext=c b))");
	ANY("ext:c", "ext=c");
	ANY("a the b", "(OR a the b)"); /* no stopwords in the default analysis */
	check_tree_flags("a b -c", true, QUERY_ANY, "(AND@1 (OR@1 a@1 b@3) (NOT@5 c@6))");
	/* the same errors as without */
	xihu_err err = {0};
	qnode *n = (qnode *)1;
	assert_int_equal(query_parse_flags(NULL, "-a -b", 5, NULL, QUERY_ANY, &n, &err), XIHU_EQUERY);
	assert_null(n);
	assert_string_equal(err.msg, "query has only negative terms (add a word to search for)");
	assert_int_equal(query_parse_flags(NULL, "-a AND -b c", 11, NULL, QUERY_ANY, &n, &err), XIHU_EQUERY);
	assert_string_equal(err.msg, "query column 1: this group has only negative terms (add a word to search for)");
	assert_int_equal(query_parse_flags(NULL, "AND a", 5, NULL, QUERY_ANY, &n, &err), XIHU_EQUERY);
	assert_string_equal(err.msg, "query column 1: expected a word or '(' before AND");
	assert_int_equal(query_parse_flags(NULL, "a AND", 5, NULL, QUERY_ANY, &n, &err), XIHU_EQUERY);
	assert_string_equal(err.msg, "query column 6: expected a word or '(' after AND, found the end");
	assert_int_equal(query_parse_flags(NULL, "(a b", 4, NULL, QUERY_ANY, &n, &err), XIHU_EQUERY);
	assert_int_equal(err.column, 1);
}

static void keywords_only_in_upper_case(void **state)
{
	(void)state;
	TREE("cats or dogs", "(AND cats or dogs)");
	TREE("this and that", "(AND this and that)");
	TREE("not here", "(AND not here)");
	TREE("Or And", "(AND or and)");
	TREE("\"AND\" x", "(AND and x)"); /* quoted: a word */
}

static void negation_forms(void **state)
{
	(void)state;
	COLS("a NOT b -c", "(AND@1 a@1 (NOT@3 b@7) (NOT@9 c@10))");
	TREE("-c a", "(AND (NOT c) a)");
	TREE("a -\"b c\"", "(AND a (NOT \"b c\"))");
	/* '-' not directly before a word is no negation */
	TREE("a - b", "(AND a b)");
	TREE("a -", "a");
}

static void double_negation_cancels(void **state)
{
	(void)state;
	TREE("--verbose", "verbose");
	TREE("a NOT -b", "(AND a b)");
	TREE("a -(-b)", "(AND a b)");
	TREE("---x y", "(AND (NOT x) y)");
}

static void parentheses_group(void **state)
{
	(void)state;
	COLS("(a OR b) c", "(AND@1 (OR@1 a@2 b@7) c@10)");
	TREE("a -(b c)", "(AND a (NOT (AND b c)))");
	TREE("(a b) OR c", "(OR (AND a b) c)");
	TREE("((a))", "a");
	TREE("x(y)z", "(AND x y z)");
}

static void same_kind_flattens(void **state)
{
	(void)state;
	TREE("a (b (c d))", "(AND a b c d)");
	TREE("a OR (b OR (c OR d))", "(OR a b c d)");
	TREE("(a OR b) OR c", "(OR a b c)");
	TREE("a (-b -c)", "(AND a (NOT b) (NOT c))");
}

static void phrases(void **state)
{
	(void)state;
	COLS("x \"Hello, World\"", "(AND@1 x@1 \"hello world\"@3)");
	COLS("\"one\"", "one@1");
	TREE("\"a (b OR c)\"", "\"a b or c\"");
}

static void punctuated_word_is_phrase(void **state)
{
	(void)state;
	COLS("foo-bar foo.Bar", "(AND@1 \"foo bar\"@1 \"foo bar\"@9)");
	TREE("MAX_FRAME_SIZE", "\"max frame size\"");
}

static void prefixes(void **state)
{
	(void)state;
	COLS("Foo* bar", "(AND@1 foo*@1 bar@6)");
	TREE("seg_*", "seg*");
	TREE("x**", "x*");
	TREE("a OR b*", "(OR a b*)");
}

static void wordless_words_are_dropped(void **state)
{
	(void)state;
	TREE("+ a !!!", "a");
	TREE("a OR !!!", "a");
	TREE("* a -+", "a");
	TREE("a (!!)", "a");
}

static void non_ascii_columns_are_bytes(void **state)
{
	(void)state;
	COLS("\xC3\xA9t\xC3\xA9 x", "(AND@1 \xC3\xA9t\xC3\xA9@1 x@7)");
}

/* ---- errors ------------------------------------------------------------------- */

static void fuzzy_words(void **state)
{
	(void)state;
	COLS("Zebar~ runs", "(AND@1 zebar~0@1 runs@8)");
	TREE("zebar~1", "zebar~1");
	TREE("zebar~2 OR x", "(OR zebar~2 x)");
	TREE("a~3", "\"a 3\""); /* only ~, ~1 and ~2 make a fuzzy word: a~3 is the phrase "a 3" */
	ERR("foo*~", XIHU_EQUERY, 1,
	    "query column 1: a word is either a prefix (word*) or fuzzy (word~), not both");
	ERR("x foo-bar~", XIHU_EQUERY, 3,
	    "query column 3: a fuzzy search (word~) takes one word, but \"foo-bar\" is 2 words");
}

static void field_scopes(void **state)
{
	(void)state;
	COLS("title:Zebra runs", "(AND@1 title:zebra@1 runs@13)");
	TREE("title:\"big cat\"", "title:\"big cat\"");
	TREE("Path:src", "path:src");
	TREE("title:pre* body:typo~", "(AND title:pre* body:typo~0)");
	TREE("ext:C", "ext=c");
	TREE("ext:.h", "ext=h");
	TREE("path:*.c OR path:src/net/*", "(OR glob=*.c glob=src/net/*)");
	TREE("-ext:md zebra", "(AND (NOT ext=md) zebra)");
	TREE("a::b", "\"a b\""); /* not a scope */
	TREE("x: y", "(AND x y)");
	/* the fallback of a scope the index may not have: the whole lexeme as words */
	qnode *n = NULL;
	xihu_err err = {0};
	assert_int_equal(query_parse("http://example.com", 18, NULL, &n, &err), 0);
	char buf[256] = "";
	dump(n, false, buf, sizeof buf);
	assert_string_equal(buf, "http:\"example com\"");
	assert_non_null(n->fallback);
	buf[0] = 0;
	dump(n->fallback, false, buf, sizeof buf);
	assert_string_equal(buf, "\"http example com\"");
	query_free(n);
	TREE("ext: x", "(AND ext x)"); /* "name:" alone is a word */
}

static void near_words(void **state)
{
	(void)state;
	COLS("Big NEAR/3 cat", "(NEAR/3 big cat)@1");
	TREE("a NEAR b", "(NEAR/10 a b)");
	TREE("a NEAR/5 b NEAR/2 c x", "(AND (NEAR/2 a b c) x)");
	TREE("a NEAR/0 b OR c", "(OR (NEAR/0 a b) c)");
	TREE("near b", "(AND near b)"); /* only the upper-case keyword */
	ERR("\"a b\" NEAR c", XIHU_EQUERY, 7, "query column 7: NEAR joins single words, not phrases, prefixes or groups");
	ERR("a NEAR c*", XIHU_EQUERY, 3, "query column 3: NEAR joins single words, not phrases, prefixes or groups");
	ERR("a NEAR/x b", XIHU_EQUERY, 3, "query column 3: NEAR/n takes a number of words from 0 to 1000");
	ERR("NEAR b", XIHU_EQUERY, 1, "query column 1: expected a word or '(' before NEAR");
}

static void error_unbalanced_quote(void **state)
{
	(void)state;
	ERR("a b \"cd ef", XIHU_EQUERY, 5,
	    "query column 5: unbalanced quote: no closing \" for the one opened here");
	ERR("\"a\" \"", XIHU_EQUERY, 5,
	    "query column 5: unbalanced quote: no closing \" for the one opened here");
}

static void error_unbalanced_parentheses(void **state)
{
	(void)state;
	ERR("(a b", XIHU_EQUERY, 1,
	    "query column 1: unbalanced parenthesis: no closing ')' for the one opened here");
	ERR("x ((a) b", XIHU_EQUERY, 3,
	    "query column 3: unbalanced parenthesis: no closing ')' for the one opened here");
	ERR("a b)", XIHU_EQUERY, 4,
	    "query column 4: unbalanced parenthesis: ')' without a matching '('");
	ERR(")", XIHU_EQUERY, 1, "query column 1: unbalanced parenthesis: ')' without a matching '('");
	ERR("a ()", XIHU_EQUERY, 3, "query column 3: empty parentheses");
}

static void error_missing_operand(void **state)
{
	(void)state;
	ERR("a OR", XIHU_EQUERY, 5, "query column 5: expected a word or '(' after OR, found the end");
	ERR("a OR )", XIHU_EQUERY, 6, "query column 6: expected a word or '(' after OR, found ')'");
	ERR("a OR OR b", XIHU_EQUERY, 6, "query column 6: expected a word or '(' after OR, found OR");
	ERR("a AND", XIHU_EQUERY, 6, "query column 6: expected a word or '(' after AND, found the end");
	ERR("a AND OR b", XIHU_EQUERY, 7,
	    "query column 7: expected a word or '(' after AND, found OR");
	ERR("a NOT", XIHU_EQUERY, 6, "query column 6: expected a word or '(' after NOT, found the end");
	ERR("OR a", XIHU_EQUERY, 1, "query column 1: expected a word or '(' before OR");
	ERR("AND a", XIHU_EQUERY, 1, "query column 1: expected a word or '(' before AND");
	ERR("a (OR b)", XIHU_EQUERY, 4, "query column 4: expected a word or '(' before OR");
}

static void error_empty_phrase(void **state)
{
	(void)state;
	ERR("a \"\" b", XIHU_EQUERY, 3, "query column 3: empty phrase");
	ERR("\"!?\"", XIHU_EQUERY, 1, "query column 1: empty phrase");
}

static void error_empty_query(void **state)
{
	(void)state;
	ERR("", XIHU_EQUERY, 1, "empty query");
	ERR(" \t\n", XIHU_EQUERY, 1, "empty query");
	ERR("+ !!! -", XIHU_EQUERY, 1, "query has no searchable words");
	ERR("-!!!", XIHU_EQUERY, 1, "query has no searchable words");
}

static void error_only_negative(void **state)
{
	(void)state;
	ERR("-a -b", XIHU_EQUERY, 1, "query has only negative terms (add a word to search for)");
	ERR("NOT a", XIHU_EQUERY, 1, "query has only negative terms (add a word to search for)");
	ERR("-(a b)", XIHU_EQUERY, 1, "query has only negative terms (add a word to search for)");
	ERR("a OR -b", XIHU_EQUERY, 6,
	    "query column 6: OR cannot take a negated term (write \"a -b\" for a but not b)");
	ERR("x (-b -c) OR d", XIHU_EQUERY, 3,
	    "query column 3: this group has only negative terms (add a word to search for)");
	ERR("x -(-b -c)", XIHU_EQUERY, 4,
	    "query column 4: this group has only negative terms (add a word to search for)");
}

static void error_multiword_prefix(void **state)
{
	(void)state;
	ERR("x foo-ba*", XIHU_EQUERY, 3,
	    "query column 3: a prefix search (word*) takes one word, but \"foo-ba\" is 2 words; "
	    "quote the others as a phrase");
}

static void error_word_too_long(void **state)
{
	(void)state;
	char q[100];
	memset(q, 'w', 65);
	q[65] = '\0';
	ERR(q, XIHU_ELIMIT, 1, "query column 1: a word longer than 64 bytes (the longest the index holds)");
	/* 64 is fine */
	q[64] = '\0';
	qnode *n;
	assert_int_equal(query_parse(q, 64, NULL, &n, NULL), 0);
	assert_int_equal(strlen(n->terms[0]), 64);
	query_free(n);
	/* inside a phrase: the phrase's column */
	char p[120] = "a \"b ";
	memset(p + 5, 'w', 65);
	strcpy(p + 70, " c\"");
	ERR(p, XIHU_ELIMIT, 3, "query column 3: a word longer than 64 bytes (the longest the index holds)");
}

/* ---- limits ------------------------------------------------------------------- */

static void limit_10000_terms(void **state)
{
	(void)state;
	size_t cap = 10000 * 7;
	char *q = malloc(cap);
	assert_non_null(q);
	size_t len = 0, col1025 = 0;
	for (int i = 0; i < 10000; i++) {
		if (i == 2048)
			col1025 = len + 1;
		len += (size_t)sprintf(q + len, "w%d ", i);
	}
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_query_bytes = 1 << 20;
	char msg[100];
	snprintf(msg, sizeof msg, "query column %zu: more than 2048 terms in the query", col1025);
	check_err_lim(q, len, &lim, XIHU_ELIMIT, (unsigned)col1025, msg);
	/* with the default byte limit the length is caught first */
	check_err_lim(q, len, NULL, XIHU_ELIMIT, 16385, "query column 16385: query longer than 16384 bytes");
	free(q);
}

/* The default: a pasted paragraph of 2,048 terms parses (as an AND, or an
 * OR of them all; a paragraph of 1,000 words analyzes to about 1,300: its
 * "page-tables" are two); one more is refused at the column of the
 * 2,049th.  (The byte limit raised: 2,048 ORs pass its 16 KiB.) */
static void limit_2048_terms_by_default(void **state)
{
	(void)state;
	char *q = malloc(2049 * 16);
	assert_non_null(q);
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_query_bytes = 1 << 20;
	size_t len = 0, len2048 = 0;
	for (int i = 0; i < 2049; i++) {
		if (i == 2048)
			len2048 = len;
		len += (size_t)sprintf(q + len, "%sw%d", i ? " OR " : "", i);
	}
	size_t col2049 = len2048 + strlen(" OR ") + 1;
	/* w0 OR ... OR w2047: 2,048 terms, one OR of them all */
	qnode *n;
	xihu_err err = {0};
	assert_int_equal(query_parse(q, len2048, &lim, &n, &err), 0);
	assert_int_equal(n->kind, Q_OR);
	assert_int_equal(n->nkids, 2048);
	assert_string_equal(n->kids[2047]->terms[0], "w2047");
	query_free(n);
	char msg[100];
	snprintf(msg, sizeof msg, "query column %zu: more than 2048 terms in the query", col2049);
	check_err_lim(q, len, &lim, XIHU_ELIMIT, (unsigned)col2049, msg);
	/* the same words as an AND: the count is the same whatever joins them */
	len = 0;
	for (int i = 0; i < 2049; i++)
		len += (size_t)sprintf(q + len, "%sw%d", i ? " " : "", i);
	assert_int_equal(query_parse(q, len - strlen(" w2048"), &lim, &n, NULL), 0);
	assert_int_equal(n->kind, Q_AND);
	assert_int_equal(n->nkids, 2048);
	query_free(n);
	snprintf(msg, sizeof msg, "query column %zu: more than 2048 terms in the query", len - strlen("w2048") + 1);
	check_err_lim(q, len, &lim, XIHU_ELIMIT, (unsigned)(len - strlen("w2048") + 1), msg);
	free(q);
}

static void limit_terms_counts_phrase_words(void **state)
{
	(void)state;
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_terms = 2;
	check_err_lim("a b c", 5, &lim, XIHU_ELIMIT, 5, "query column 5: more than 2 terms in the query");
	check_err_lim("\"a b c\"", 7, &lim, XIHU_ELIMIT, 6, "query column 6: more than 2 terms in the query");
	check_err_lim("a-b-c", 5, &lim, XIHU_ELIMIT, 5, "query column 5: more than 2 terms in the query");
	qnode *n;
	assert_int_equal(query_parse("a -b", 4, &lim, &n, NULL), 0);
	query_free(n);
}

static char *nest(size_t depth, size_t *len)
{
	char *q = malloc(2 * depth + 2);
	assert_non_null(q);
	memset(q, '(', depth);
	q[depth] = 'a';
	memset(q + depth + 1, ')', depth);
	*len = 2 * depth + 1;
	q[*len] = '\0';
	return q;
}

static void limit_1000_deep_parentheses(void **state)
{
	(void)state;
	size_t len;
	char *q = nest(1000, &len);
	check_err_lim(q, len, NULL, XIHU_ELIMIT, 33, "query column 33: parentheses nested deeper than 32");
	/* a configured limit above the hard cap is capped, never trusted */
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_depth = UINT32_MAX;
	check_err_lim(q, len, &lim, XIHU_ELIMIT, 257, "query column 257: parentheses nested deeper than 256");
	free(q);
	/* a million deep with a 4 MiB byte limit: still an error, not a crash */
	lim.max_query_bytes = 4u << 20;
	q = nest(1000000, &len);
	check_err_lim(q, len, &lim, XIHU_ELIMIT, 257, "query column 257: parentheses nested deeper than 256");
	free(q);
	/* exactly at the limit is fine */
	q = nest(32, &len);
	qnode *n;
	assert_int_equal(query_parse(q, len, NULL, &n, NULL), 0);
	assert_int_equal(n->kind, Q_TERM);
	query_free(n);
	free(q);
}

static void long_negation_chain_does_not_recurse(void **state)
{
	(void)state;
	size_t k = 200000, len = 0;
	char *q = malloc(4 * k + 8);
	assert_non_null(q);
	for (size_t i = 0; i < k; i++)
		len += (size_t)sprintf(q + len, "NOT ");
	len += (size_t)sprintf(q + len, "a");
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_query_bytes = 4u << 20;
	qnode *n;
	assert_int_equal(query_parse(q, len, &lim, &n, NULL), 0); /* an even count cancels */
	assert_int_equal(n->kind, Q_TERM);
	assert_string_equal(n->terms[0], "a");
	query_free(n);
	free(q);
}

static void limit_1mib_query(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	char *q = malloc(len);
	assert_non_null(q);
	memset(q, 'a', len);
	for (size_t i = 3; i < len; i += 4)
		q[i] = ' ';
	check_err_lim(q, len, NULL, XIHU_ELIMIT, 16385, "query column 16385: query longer than 16384 bytes");
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_query_bytes = 100;
	check_err_lim(q, len, &lim, XIHU_ELIMIT, 101, "query column 101: query longer than 100 bytes");
	/* exactly at the limit is parsed */
	lim.max_query_bytes = 16;
	qnode *n;
	assert_int_equal(query_parse(q, 16, &lim, &n, NULL), 0);
	assert_int_equal(n->kind, Q_AND);
	assert_int_equal(n->nkids, 4);
	query_free(n);
	free(q);
}

static void zero_limits_mean_defaults(void **state)
{
	(void)state;
	xihu_limits lim = {0};
	qnode *n;
	assert_int_equal(query_parse("a (b OR c)", 10, &lim, &n, NULL), 0);
	query_free(n);
	query_free(NULL);
}

/* Checks the tree invariants query.c promises; returns the number of terms. */
static uint32_t check_invariants(const qnode *n, const qnode *parent, uint32_t depth)
{
	assert_true(depth < 1000);
	assert_true(n->column >= 1);
	switch (n->kind) {
	case Q_TERM:
	case Q_PREFIX:
	case Q_FUZZY:
	case Q_EXT:
	case Q_GLOB:
		assert_int_equal(n->nterms, 1);
		break;
	case Q_PHRASE:
	case Q_NEAR:
		assert_true(n->nterms >= 2);
		break;
	case Q_NOT:
		assert_non_null(parent);
		assert_int_equal(parent->kind, Q_AND);
		assert_int_equal(n->nkids, 1);
		assert_true(n->kids[0]->kind != Q_NOT);
		break;
	case Q_AND:
	case Q_OR: {
		assert_true(n->nkids >= 2);
		uint32_t pos = 0;
		for (uint32_t i = 0; i < n->nkids; i++) {
			assert_true(n->kids[i]->kind != n->kind);
			pos += n->kids[i]->kind != Q_NOT;
		}
		assert_true(pos >= 1);
		break;
	}
	}
	uint32_t terms = n->nterms;
	for (uint32_t i = 0; i < n->nterms; i++) {
		assert_true(strlen(n->terms[i]) >= 1 && strlen(n->terms[i]) <= XIHU_MAX_TERM);
		for (const char *c = n->terms[i]; *c; c++)
			assert_false(*c >= 'A' && *c <= 'Z');
	}
	for (uint32_t i = 0; i < n->nkids; i++)
		terms += check_invariants(n->kids[i], n, depth + 1);
	return terms;
}

static void random_queries_keep_invariants(void **state)
{
	(void)state;
	static const char *const parts[] = {
		"a", "Foo", "bar-baz", "x*", "AND", "OR", "NOT", "-", "(", ")", "\"", "\"q r\"",
		"+", "or", " ", "  ", "-(", "\xC3\x9F", "\xFF", "*", "--", "()", "\t",
	};
	uint64_t x = 88172645463325252u;
	unsigned ok = 0, bad = 0;
	for (int iter = 0; iter < 20000; iter++) {
		char q[256];
		size_t len = 0;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int nparts = (int)(x % 14) + 1;
		for (int k = 0; k < nparts; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			const char *p = parts[x % (sizeof parts / sizeof *parts)];
			size_t pl = strlen(p);
			memcpy(q + len, p, pl);
			len += pl;
			if (x & 0x100)
				q[len++] = ' ';
		}
		xihu_limits lim;
		xihu_limits_default(&lim);
		lim.max_terms = 6;
		lim.max_depth = 3;
		for (unsigned flags = 0; flags <= QUERY_ANY; flags += QUERY_ANY) {
			qnode *n = (qnode *)1;
			xihu_err err = {0};
			int rc = query_parse_flags(NULL, q, len, &lim, flags, &n, &err);
			if (rc == 0) {
				assert_true(check_invariants(n, NULL, 0) <= 6);
				query_free(n);
				ok++;
			} else {
				assert_true(rc == XIHU_EQUERY || rc == XIHU_ELIMIT);
				assert_null(n);
				assert_true(err.column >= 1 && err.column <= len + 1);
				assert_true(strlen(err.msg) > 0);
				bad++;
			}
		}
	}
	/* both outcomes are exercised */
	assert_true(ok > 1000);
	assert_true(bad > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_word_is_folded_term),
		cmocka_unit_test(implicit_and),
		cmocka_unit_test(explicit_and_keyword),
		cmocka_unit_test(or_binds_tighter_than_and),
		cmocka_unit_test(any_ors_what_has_no_operator),
		cmocka_unit_test(keywords_only_in_upper_case),
		cmocka_unit_test(negation_forms),
		cmocka_unit_test(double_negation_cancels),
		cmocka_unit_test(parentheses_group),
		cmocka_unit_test(same_kind_flattens),
		cmocka_unit_test(phrases),
		cmocka_unit_test(punctuated_word_is_phrase),
		cmocka_unit_test(prefixes),
		cmocka_unit_test(fuzzy_words),
		cmocka_unit_test(field_scopes),
		cmocka_unit_test(near_words),
		cmocka_unit_test(wordless_words_are_dropped),
		cmocka_unit_test(non_ascii_columns_are_bytes),
		cmocka_unit_test(error_unbalanced_quote),
		cmocka_unit_test(error_unbalanced_parentheses),
		cmocka_unit_test(error_missing_operand),
		cmocka_unit_test(error_empty_phrase),
		cmocka_unit_test(error_empty_query),
		cmocka_unit_test(error_only_negative),
		cmocka_unit_test(error_multiword_prefix),
		cmocka_unit_test(error_word_too_long),
		cmocka_unit_test(limit_10000_terms),
		cmocka_unit_test(limit_2048_terms_by_default),
		cmocka_unit_test(limit_terms_counts_phrase_words),
		cmocka_unit_test(limit_1000_deep_parentheses),
		cmocka_unit_test(long_negation_chain_does_not_recurse),
		cmocka_unit_test(limit_1mib_query),
		cmocka_unit_test(zero_limits_mean_defaults),
		cmocka_unit_test(random_queries_keep_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
