/*
 * index/search/search.h: open indexes, query evaluation, scoring, top-k and snippets, over the
 * core and analysis layers.
 *
 * One section per .c file of index/search/ whose declarations the tests
 * may use; what the files of search/ share among themselves (the query
 * context, the iterators, the collectors) is in search-int.h, which nothing
 * outside search/ includes.  The layers, bottom up: core, analysis and
 * input (both over core), build (over all three), search (over core and
 * analysis).  A layer includes only its own header and those of the
 * layers below it (scripts/check-layers checks it); daemon/ and client/
 * include none of them, only the public xihu-index.h.
 */
#ifndef XIHU_SEARCH_SEARCH_H
#define XIHU_SEARCH_SEARCH_H

#include "analysis/analysis.h"

/* ==== index.c: accessors for the rest of search/ ========================= */

uint32_t index_nsegs(const xihu_index *ix);
const seg *index_seg(const xihu_index *ix, uint32_t i);
/* The analysis the index was created with, for query_parse_with and the
 * snippets (hl_terms.an); NULL: the default. */
const analysis *index_analysis(const xihu_index *ix);

/* ==== highlight.c / snippet.c ============================================= */

/* What a hit's lines highlight: the positive leaves of the query (terms,
 * phrases, prefixes), their words borrowed from the query tree. */
typedef struct hl_pattern {
	uint32_t nterms; /* 1 for a term or a prefix, more for a phrase */
	char *const *terms;
	bool prefix;
	const uint32_t *pos; /* a phrase's word positions (qnode.pos); NULL: consecutive */
} hl_pattern;

typedef struct hl_terms {
	uint32_t n;
	hl_pattern *p;
	const analysis *an; /* the index's (index_analysis); NULL: the default */
} hl_terms;

/* Fills hit->lines (at most max_lines) with the lines of text where a pattern
 * matches: a term, a token starting with a prefix, or all words of a phrase
 * at their positions; the text is analyzed with hl->an. */
int snippet_lines(const char *text, size_t len, const hl_terms *hl, uint32_t max_lines, uint32_t context,
                  xihu_index_hit *hit, xihu_err *err);
/* Whether snippet_lines may skip analyzing lines that cannot match (see
 * snippet.c); true but in tests that compare it with the long way. */
extern bool snippet_prefilter;

#endif
