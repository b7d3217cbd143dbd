/*
 * test_lookup.c: every term of a dictionary is found by its lookup, and
 * nothing else is.  The dictionary search first compares the first 8 bytes
 * of the blocks' keys (seg_reader.c, fences) and reads keys from the file
 * only where those tie, so the terms here share long prefixes: thousands
 * of terms equal in their first 8 bytes span many blocks, mixed with
 * shorter ones and ones that differ only in their last byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"

#define NDOCS 1200

static corpus c;

/* The term of doc d: the same 10-byte stem for most, a few short ones. */
static void term_of(int d, char *out, size_t size)
{
	if (d % 50 == 0)
		snprintf(out, size, "ab%d", d); /* shorter than 8 bytes */
	else
		snprintf(out, size, "longstemword%05dz", d);
}

static int setup(void **state)
{
	(void)state;
	if (corpus_init(&c, "/tmp/xihu-lookup.XXXXXX"))
		return -1;
	for (int d = 0; d < NDOCS; d++) {
		char name[16], term[32], text[64];
		term_of(d, term, sizeof term);
		snprintf(text, sizeof text, "%s\n", term);
		snprintf(name, sizeof name, "f%04d", d);
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

static uint32_t hits(const char *q, char *first, size_t size)
{
	xihu_index_results r;
	xihu_err err = {0};
	xihu_index_search_opts o = {.limit = 5};
	if (xihu_index_search(c.ix, q, strlen(q), &o, &r, &err))
		fail_msg("%s: %s", q, err.msg);
	uint32_t n = r.nhits;
	if (n && first) {
		const char *slash = strrchr(r.hits[0].doc, '/');
		snprintf(first, size, "%s", slash ? slash + 1 : r.hits[0].doc);
	}
	xihu_index_results_free(&r);
	return n;
}

static void every_term_found_and_no_other(void **state)
{
	(void)state;
	for (int d = 0; d < NDOCS; d++) {
		char term[40], want[16], got[64] = "";
		term_of(d, term, sizeof term);
		snprintf(want, sizeof want, "f%04d", d);
		if (hits(term, got, sizeof got) != 1 || strcmp(got, want))
			fail_msg("%s: found %s, want %s alone", term, got, want);
		/* neighbours that are not in the dictionary */
		size_t n = strlen(term);
		term[n] = 'q';
		term[n + 1] = 0;
		if (hits(term, NULL, 0))
			fail_msg("%s: found, but no document has it", term);
		term[n - 1] = 0;
		if (n > 1 && d % 50 != 0 && hits(term, NULL, 0))
			fail_msg("%s: found, but no document has it", term);
	}
	assert_int_equal(hits("longstemwor", NULL, 0), 0);
	assert_int_equal(hits("longstemword", NULL, 0), 0);
	assert_int_equal(hits("a", NULL, 0), 0);
	assert_int_equal(hits("zzzzzzzzzzzz", NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_term_found_and_no_other),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
