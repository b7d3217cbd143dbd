/*
 * search.c: query text -> a page of ranked hits (xihu_index_search), the
 * entry point of index/search/.
 *
 * Owns one query's run: the options' defaults and limits, the parse
 * (analysis/query.c, with the index's analysis), the query context (qctx,
 * search-int.h), and for each segment in turn the plan (plan.c: the query
 * tree -> an iterator tree) and the collector that ranks its matches into
 * the top offset + limit (topk.c).  The collectors, one file each, are
 * tried in an order: term at a time for an OR of many words, phrases or
 * groups (collect_taat.c), MaxScore with block-max skipping for any other
 * OR (collect_maxscore.c), block-max intersection for an AND
 * (collect_and.c), and else every match (collect_exhaustive.c), which
 * alone ranks under exact_total: the reference evaluation the tests
 * compare the others with.  Then, when nothing matched, did-you-mean
 * (suggest.c), and the page: names from the doc table, lines from the doc
 * store (snippet.c) with what highlight.c says to highlight.
 *
 * Scoring is BM25 over all segments (score.c), so scores do not depend on
 * how the index is split; ties go to the lower (segment, doc id), i.e. the
 * doc indexed first.  Invariant: every allocation of a query is freed
 * before it returns; on an error the results are empty.  Called by the
 * daemon (and bench/, tests/) through xihu-index.h.
 */
#include <stdlib.h>
#include <string.h>

#include "search/search-int.h"

/* ---- one segment --------------------------------------------------------- */

/* The collectors in the order they are tried: the first that fits a
 * segment's tree ranks it.  The exhaustive one fits any, and alone ranks
 * under exact_total (the reference evaluation: it prunes nothing). */
static const collector *const collectors[] = {&collector_taat, &collector_maxscore, &collector_and,
                                              &collector_exhaustive};

static const collector *pick_collector(const qctx *c, const it *root, bool exact_total)
{
	if (exact_total)
		return &collector_exhaustive;
	size_t i = 0;
	while (!collectors[i]->fits(c, root))
		i++;
	return collectors[i];
}

/* Ranks segment si's matches of q into t, counting them in out; errors in c->rc. */
static void search_segment(qctx *c, const qnode *q, const xihu_index_search_opts *o, uint32_t si, topk *t,
                           xihu_index_results *out)
{
	c->s = index_seg(c->ix, si);
	c->si = si;
	score_init_segment(c);
	it *root = plan_segment(c, q, o->max_cost, o->exact_total);
	if (root) {
		if (!c->rc)
			pick_collector(c, root, o->exact_total)->collect(c, root, t, out);
		if (!c->rc)
			c->rc = it_error(root);
	}
	it_free_all(c);
}

/* ---- the page of hits ---------------------------------------------------- */

static int fill_hit(xihu_index *ix, const scored *e, const xihu_index_search_opts *o, const hl_terms *hl,
                    xihu_index_hit *hit, xihu_err *err)
{
	const seg *s = index_seg(ix, e->seg);
	seg_doc d;
	int r = seg_doc_get(s, e->doc, &d, err);
	if (r)
		return r;
	hit->score = e->score;
	hit->record = d.record;
	hit->doc = malloc(d.name_len + 1);
	if (!hit->doc)
		return xihu_err_set(err, XIHU_ENOMEM, "search: out of memory");
	memcpy(hit->doc, d.name, d.name_len);
	hit->doc[d.name_len] = 0;
	hit->doc_len = d.name_len;
	if (!o->want_lines)
		return 0;
	char *text;
	size_t len;
	if ((r = seg_doc_text(s, e->doc, &text, &len, err)))
		return r;
	r = snippet_lines(text, len, hl, o->max_lines ? o->max_lines : 1000, o->context, hit, err);
	free(text);
	return r;
}

/* out->hits: the hits of t after o->offset, best first, with their lines
 * when o->want_lines (the patterns of hl). */
static int fill_page(qctx *c, topk *t, const xihu_index_search_opts *o, const hl_terms *hl, xihu_index_results *out)
{
	topk_sort(t);
	uint32_t n = t->n - o->offset;
	out->hits = calloc(n, sizeof *out->hits);
	if (!out->hits)
		return xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
	for (uint32_t i = 0; i < n; i++) {
		if (o->want_lines && stop_now(c)) /* a hit's lines read and inflate its text */
			return c->rc;
		int rc = fill_hit(c->ix, &t->h[o->offset + i], o, hl, &out->hits[i], c->err);
		out->nhits = i + 1;
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the entry point ----------------------------------------------------- */

int xihu_index_search(xihu_index *ix, const char *query, size_t query_len, const xihu_index_search_opts *opts,
                      xihu_index_results *out, xihu_err *err)
{
	memset(out, 0, sizeof *out);
	out->total_exact = true;
	xihu_limits deflim;
	xihu_limits_default(&deflim);
	xihu_index_search_opts o = *opts;
	if (!o.limits)
		o.limits = &deflim;
	if (o.limit == 0)
		o.limit = 10;
	if (o.limits->max_hits && (uint64_t)o.offset + o.limit > o.limits->max_hits)
		return xihu_err_set(err, XIHU_ELIMIT, "offset %u + limit %u exceeds the limit of %u hits",
		                    o.offset, o.limit, o.limits->max_hits);
	if (err)
		err->column = 0;

	qnode *q;
	int rc = query_parse_flags(index_analysis(ix), query, query_len, o.limits, o.any ? QUERY_ANY : 0, &q, err);
	if (rc)
		return rc;

	qctx c = {.ix = ix, .lim = o.limits, .err = err, .deadline_ns = o.deadline_ns, .cancel = o.cancel};
	score_init(&c);
	/* no page holds more hits than the index has documents */
	uint64_t want = (uint64_t)o.offset + o.limit;
	topk t;
	if (!topk_init(&t, (uint32_t)(want < c.ndocs ? want : c.ndocs))) {
		query_free(q);
		return xihu_err_set(err, XIHU_ENOMEM, "search: out of memory");
	}
	for (uint32_t si = 0; si < index_nsegs(ix) && !stop_now(&c); si++)
		search_segment(&c, q, &o, si, &t, out);
	rc = c.rc;

	hl_terms hl = {.an = index_analysis(ix)};
	if (!rc && t.n > o.offset && o.want_lines)
		rc = hl_build(&c, q, &hl);
	if (!rc && t.n == 0 && out->total == 0 && o.suggest)
		rc = suggest_query(&c, query, query_len, q, &out->suggestion);
	if (!rc && t.n > o.offset)
		rc = fill_page(&c, &t, &o, &hl, out);
	free(hl.p);
	score_free(&c); /* after the suggestion: it looks words up in the df table */
	fz_free(&c);
	query_free(q); /* after the hits: hl borrows its words */
	topk_free(&t);
	if (rc)
		xihu_index_results_free(out);
	return rc;
}

void xihu_index_results_free(xihu_index_results *r)
{
	for (uint32_t i = 0; i < r->nhits; i++) {
		xihu_index_hit *h = &r->hits[i];
		for (uint32_t j = 0; j < h->nlines; j++) {
			free(h->lines[j].text);
			free(h->lines[j].spans);
		}
		free(h->lines);
		free(h->doc);
	}
	free(r->hits);
	free(r->suggestion);
	memset(r, 0, sizeof *r);
}
