/*
 * highlight.c: what a hit's lines highlight (hl_terms, for snippet.c): the
 * positive leaves of the query tree, each word, phrase or prefix as it
 * was parsed (a NEAR's words each alone, a fuzzy word with every term it
 * expanded to in any segment, qctx.fz), none of a negation or a filter.
 *
 * Invariant: the patterns borrow their words from the query tree and
 * qctx.fz, so hl_terms is freed (its array only) before either.  Built by
 * search.c once per query, when the page has hits and lines are wanted.
 */
#include <stdlib.h>

#include "search/search-int.h"

/* Appends p to hl; the array doubles at each power of two (a query of a
 * thousand words, or fuzzy words found again in every segment).  False
 * when out of memory. */
static bool hl_add(hl_terms *hl, hl_pattern p)
{
	uint32_t n = hl->n;
	if ((n & (n - 1)) == 0) {
		hl_pattern *a = realloc(hl->p, (n ? 2 * (size_t)n : 1) * sizeof *a);
		if (!a)
			return false;
		hl->p = a;
	}
	hl->p[hl->n++] = p;
	return true;
}

static int hl_collect(hl_terms *hl, const qnode *q)
{
	int r = 0;
	switch (q->kind) {
	case Q_TERM:
	case Q_PHRASE:
	case Q_PREFIX:
	case Q_FUZZY: /* a fuzzy word's expansions are added by the caller */
		return hl_add(hl, (hl_pattern){q->nterms, q->terms, q->kind == Q_PREFIX,
		                               q->kind == Q_PHRASE ? q->pos : NULL})
		           ? 0
		           : XIHU_ENOMEM;
	case Q_AND:
	case Q_OR:
		for (uint32_t i = 0; i < q->nkids && !r; i++)
			r = hl_collect(hl, q->kids[i]);
		return r;
	case Q_NEAR: /* each word alone */
		for (uint32_t i = 0; i < q->nterms; i++)
			if (!hl_add(hl, (hl_pattern){1, &q->terms[i], false}))
				return XIHU_ENOMEM;
		return 0;
	case Q_NOT:
	case Q_EXT:
	case Q_GLOB:
		return 0;
	}
	return 0;
}

int hl_build(const qctx *c, const qnode *q, hl_terms *hl)
{
	if (hl_collect(hl, q))
		return xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
	for (size_t i = 0; i < c->nfz; i++)
		if (!hl_add(hl, (hl_pattern){1, &c->fz[i], false}))
			return xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
	return 0;
}
