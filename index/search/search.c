/*
 * search.c: query tree -> ranked hits.
 *
 * Owns the per-query evaluation: every leaf of the parsed query becomes an
 * iterator over one segment's postings, combined into a tree of AND / OR /
 * phrase iterators that all move forward only (advance to the first doc >=
 * a target).  Matching docs are scored with BM25 and kept in a bounded heap
 * of the best offset+limit.  Then the page of hits is filled: names from
 * the doc table, lines from the doc store (snippet.c).
 *
 * Top k: an OR goes through MaxScore (lists whose bounds together cannot
 * reach the k-th score only probe candidates), with block-max skipping
 * over the skip tables' per-block impacts; an OR of many single words (a
 * prefix) is summed term at a time instead; an AND intersects, stepping
 * over ranges whose block bounds cannot reach the k-th score; exact_total
 * turns all pruning off (the reference evaluation the tests compare with).
 *
 * Scoring: a bare word matches in the body and the path field; each field
 * contributes weight * idf * tf / (tf + k1 * (1 - b + b * len / avglen)),
 * idf = ln(1 + (N - df + 0.5) / (df + 0.5)), with N, df and avglen taken
 * over all segments so scores do not depend on how the index is split.
 * A phrase scores as its words would with tf = the phrase's occurrences.
 * Ties go to the lower (segment, doc id), i.e. the doc indexed first.
 *
 * Invariants: an iterator's doc is the doc it is positioned on, or
 * POSTINGS_END; advance(t) never moves backwards.  Called by the daemon
 * through xihu_index_search only.
 */
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/search-int.h"


/* ---- highlighting ------------------------------------------------------------ */

static int hl_collect(hl_terms *hl, const qnode *q)
{
	int r = 0;
	switch (q->kind) {
	case Q_TERM:
	case Q_PHRASE:
	case Q_PREFIX:
	case Q_FUZZY: { /* a fuzzy word's expansions are added by the caller */
		hl_pattern *p = realloc(hl->p, (hl->n + 1) * sizeof *p);
		if (!p)
			return XIHU_ENOMEM;
		hl->p = p;
		p[hl->n++] = (hl_pattern){q->nterms, q->terms, q->kind == Q_PREFIX, q->kind == Q_PHRASE ? q->pos : NULL};
		return 0;
	}
	case Q_AND:
	case Q_OR:
		for (uint32_t i = 0; i < q->nkids && !r; i++)
			r = hl_collect(hl, q->kids[i]);
		return r;
	case Q_NEAR: /* each word alone */
		for (uint32_t i = 0; i < q->nterms; i++) {
			hl_pattern *p = realloc(hl->p, (hl->n + 1) * sizeof *p);
			if (!p)
				return XIHU_ENOMEM;
			hl->p = p;
			p[hl->n++] = (hl_pattern){1, &q->terms[i], false};
		}
		return 0;
	case Q_NOT:
	case Q_EXT:
	case Q_GLOB:
		return 0;
	}
	return 0;
}

/* ---- the entry point ------------------------------------------------------ */

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
	if ((uint64_t)o.offset + o.limit > o.limits->max_hits)
		return xihu_err_set(err, XIHU_ELIMIT, "offset %u + limit %u exceeds the limit of %u hits",
		                    o.offset, o.limit, o.limits->max_hits);
	if (err)
		err->column = 0;

	qnode *q;
	int rc = query_parse_with(index_analysis(ix), query, query_len, o.limits, &q, err);
	if (rc)
		return rc;

	qctx c = {.ix = ix, .lim = o.limits, .err = err, .deadline_ns = o.deadline_ns, .cancel = o.cancel};
	score_init(&c);

	topk t;
	if (!topk_init(&t, o.offset + o.limit)) {
		query_free(q);
		return xihu_err_set(err, XIHU_ENOMEM, "search: out of memory");
	}
	for (uint32_t si = 0; si < index_nsegs(ix) && !stop_now(&c); si++) {
		c.s = index_seg(ix, si);
		c.si = si;
		score_init_segment(&c);
		it *root = plan_segment(&c, q, o.max_cost, o.exact_total);
		if (root) {
			if (!c.rc)
				pick_collector(&c, root, o.exact_total)->collect(&c, root, &t, out);
			if (!c.rc)
				c.rc = it_error(root);
		}
		it_free_all(&c);
	}
	score_free(&c);
	rc = c.rc;

	hl_terms hl = {.an = index_analysis(ix)};
	if (!rc && t.n > o.offset && o.want_lines && hl_collect(&hl, q))
		rc = xihu_err_set(err, XIHU_ENOMEM, "search: out of memory");
	for (size_t i = 0; !rc && t.n > o.offset && o.want_lines && i < c.nfz; i++) {
		hl_pattern *p = realloc(hl.p, (hl.n + 1) * sizeof *p);
		if (!p) {
			rc = xihu_err_set(err, XIHU_ENOMEM, "search: out of memory");
			break;
		}
		hl.p = p;
		p[hl.n++] = (hl_pattern){1, &c.fz[i], false};
	}
	if (!rc && t.n == 0 && out->total == 0 && o.suggest)
		rc = suggest_query(&c, query, query_len, q, &out->suggestion);
	if (!rc && t.n > o.offset) {
		topk_sort(&t);
		uint32_t n = t.n - o.offset;
		out->hits = calloc(n, sizeof *out->hits);
		if (!out->hits)
			rc = xihu_err_set(err, XIHU_ENOMEM, "search: out of memory");
		for (uint32_t i = 0; !rc && i < n; i++) {
			if (o.want_lines && stop_now(&c)) { /* a hit's lines read and inflate its text */
				rc = c.rc;
				break;
			}
			rc = fill_hit(ix, &t.h[o.offset + i], &o, &hl, &out->hits[i], err);
			out->nhits = i + 1;
		}
	}
	free(hl.p);
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
