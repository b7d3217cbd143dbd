/*
 * fuzz_query.c: the query parser (index/query.c) on arbitrary bytes.
 *
 * The whole input is the query.  It is parsed with the default analysis and
 * the default limits, then with the small index's analysis (English stems,
 * stopwords) under tight limits; each tree is checked for its shape and
 * freed.  A short query also runs through xihu_index_search on the small index,
 * with lines, so scoring and the snippets see it too.
 *
 * Invariants: success gives a tree; failure gives its code in err and a
 * one-line message, and a syntax error names a column within the query.
 */
#include <string.h>

#include "fuzz.h"
#include "search/search.h"

static void check_tree(const qnode *n, unsigned depth)
{
	FUZZ_CHECK(n != NULL);
	FUZZ_CHECK(depth < 1000);
	switch (n->kind) {
	case Q_TERM:
	case Q_PREFIX:
	case Q_FUZZY:
	case Q_EXT:
	case Q_GLOB:
		FUZZ_CHECK(n->nterms == 1 && n->terms[0] != NULL);
		break;
	case Q_NEAR:
	case Q_PHRASE:
		FUZZ_CHECK(n->nterms >= 1);
		for (uint32_t i = 0; i < n->nterms; i++)
			FUZZ_CHECK(n->terms[i] != NULL);
		break;
	case Q_AND:
	case Q_OR:
		FUZZ_CHECK(n->nkids >= 1);
		break;
	case Q_NOT:
		FUZZ_CHECK(n->nkids == 1);
		break;
	}
	for (uint32_t i = 0; i < n->nkids; i++)
		check_tree(n->kids[i], depth + 1);
	if (n->fallback)
		check_tree(n->fallback, depth + 1);
}

static void check_err(int rc, const xihu_err *err, size_t len)
{
	FUZZ_CHECK(err->code == rc);
	FUZZ_CHECK(err->msg[0] != '\0');
	FUZZ_CHECK(strchr(err->msg, '\n') == NULL);
	if (rc == XIHU_EQUERY)
		FUZZ_CHECK(err->column >= 1 && err->column <= len + 1);
}

static void parse(const analysis *an, const char *q, size_t len, const xihu_limits *lim, unsigned flags)
{
	qnode *tree = NULL;
	xihu_err err = {0};
	int rc = query_parse_flags(an, q, len, lim, flags, &tree, &err);
	if (rc == XIHU_OK)
		check_tree(tree, 0);
	else
		check_err(rc, &err, len);
	query_free(tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xihu_index *ix = fuzz_index();
	if (size > 20000) /* past the 16 KiB query limit: nothing new */
		return 0;
	const char *q = (const char *)data;

	xihu_limits lim;
	xihu_limits_default(&lim);
	parse(NULL, q, size, &lim, 0);
	parse(NULL, q, size, &lim, QUERY_ANY); /* xihu search --any */

	xihu_limits tight;
	xihu_limits_default(&tight);
	tight.max_terms = 6;
	tight.max_depth = 3;
	tight.max_prefix_expansions = 4;
	tight.max_query_bytes = 256;
	parse(index_analysis(ix), q, size, &tight, size & 1 ? QUERY_ANY : 0);

	if (size <= 64) {
		xihu_index_search_opts o = {.limit = 5, .want_lines = true, .max_lines = 4, .context = 1,
		                      .suggest = true, .limits = &tight, .any = size & 1};
		xihu_index_results res = {0};
		xihu_err err = {0};
		int rc = xihu_index_search(ix, q, size, &o, &res, &err);
		if (rc == XIHU_OK)
			FUZZ_CHECK(res.nhits <= 5 && res.total >= res.nhits);
		else
			check_err(rc, &err, size);
		xihu_index_results_free(&res);
	}
	return 0;
}
