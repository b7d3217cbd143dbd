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


/* ---- matching a segment ------------------------------------------------------ */

static uint32_t next_target(uint32_t d)
{
	return d == POSTINGS_END - 1 ? POSTINGS_END : d + 1;
}

/* Scores every live match of root: AND and phrase trees, whose matches the
 * intersection already narrows. */
static void collect_all(qctx *c, it *root, uint32_t si, topk *t, xihu_index_results *out)
{
	const uint8_t *del = seg_deletes(c->s);
	for (uint32_t d = it_advance(root, 0); d != POSTINGS_END; d = it_advance(root, next_target(d))) {
		if (stopped(c))
			return;
		if (seg_bitmap_test(del, d))
			continue;
		out->total++;
		topk_push(t, (scored){it_score(c, c->s, root, d), si, d});
	}
}

/*
 * An OR of many single-word lists (a prefix's expansions, a long list of
 * alternatives) term at a time: each list is read once, straight through,
 * adding its scores into one accumulator per doc.  MaxScore's per-candidate
 * work grows with the number of lists; this grows with their postings
 * only.  Scores are summed in kid order, as it_score sums them, so the hits
 * are those of an exhaustive evaluation, and total is exact.
 */
#define TAAT_MIN_KIDS 16
#define TAAT_MAX_DOCS (8u << 20) /* 12 bytes a doc of accumulators */

static bool taat_fits(const qctx *c, const it *root)
{
	if (root->kind != IT_OR || root->op.nkids < TAAT_MIN_KIDS || seg_ndocs(c->s) > TAAT_MAX_DOCS)
		return false;
	for (uint32_t i = 0; i < root->op.nkids; i++)
		if (root->op.kids[i]->kind != IT_TERM)
			return false;
	return true;
}

static void collect_taat(qctx *c, it *root, uint32_t si, topk *t, xihu_index_results *out)
{
	uint32_t nd = seg_ndocs(c->s);
	double *acc = malloc((size_t)nd * sizeof *acc);
	uint32_t *touched = malloc((size_t)nd * sizeof *touched);
	uint8_t *seen = calloc((size_t)nd / 8 + 1, 1);
	if (!acc || !touched || !seen) {
		free(acc);
		free(touched);
		free(seen);
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return;
	}
	uint32_t nt = 0;
	for (uint32_t i = 0; i < root->op.nkids; i++) {
		const it_leaf *n = &root->op.kids[i]->leaf;
		postings *p = &n->pp[0];
		const double avg = c->avglen[n->field];
		for (uint32_t d = p->doc; d != POSTINGS_END; d = postings_next(p)) {
			if (stopped(c))
				break;
			double sc = n->weight * score_tf_norm(c, postings_freq(p), seg_doc_field_len(c->s, d, n->field), avg);
			if (!(seen[d >> 3] & (1u << (d & 7)))) {
				seen[d >> 3] |= (uint8_t)(1u << (d & 7));
				touched[nt++] = d;
				acc[d] = 0;
			}
			acc[d] += sc;
		}
	}
	const uint8_t *del = seg_deletes(c->s);
	for (uint32_t j = 0; j < nt && !c->rc; j++) {
		uint32_t d = touched[j];
		if (seg_bitmap_test(del, d))
			continue;
		out->total++;
		topk_push(t, (scored){acc[d], si, d});
	}
	free(acc);
	free(touched);
	free(seen);
}

/*
 * Top k of an AND (whose score is the sum of its kids'): the intersection,
 * but once k hits are kept, a range of docs whose blocks' bounds sum to no
 * more than the threshold is stepped over without being intersected.
 * total becomes a lower bound when anything is stepped over.
 */
static void collect_and(qctx *c, it *root, uint32_t si, topk *t, xihu_index_results *out)
{
	const uint8_t *del = seg_deletes(c->s);
	uint32_t d = 0;
	while (d != POSTINGS_END && !stopped(c)) {
		uint32_t upto = POSTINGS_END - 1;
		if (t->n == t->k) {
			double theta = topk_threshold(t);
			if (it_block_bound(c, root, d, &upto) <= theta) {
				out->total_exact = false;
				d = next_target(upto);
				continue;
			}
		}
		uint32_t m = it_advance(root, d);
		if (m == POSTINGS_END)
			break;
		if (m > upto) { /* past the range bounded: bound again from there */
			d = m;
			continue;
		}
		if (!seg_bitmap_test(del, m)) {
			out->total++;
			topk_push(t, (scored){it_score(c, c->s, root, m), si, m});
		}
		d = next_target(m);
	}
}

static int cmp_maxs(const void *a, const void *b)
{
	const it *x = *(it *const *)a, *y = *(it *const *)b;
	return x->maxs < y->maxs ? -1 : x->maxs > y->maxs;
}

/* An upper bound of kid n's score at d (n is on d): exact, except for a lazy
 * phrase not yet confirmed, which occurs at most as often as its rarest word. */
static double kid_bound(const qctx *c, it *n, uint32_t d)
{
	if (n->kind != IT_PHRASE || !n->leaf.lazy || n->leaf.confirmed)
		return it_score(c, c->s, n, d);
	const it_leaf *l = &n->leaf;
	uint32_t tf = UINT32_MAX;
	for (uint32_t i = 0; i < l->nterms; i++)
		if (postings_freq(&l->pp[i]) < tf)
			tf = postings_freq(&l->pp[i]);
	return l->weight * score_tf_norm(c, tf, seg_doc_field_len(c->s, d, l->field), c->avglen[l->field]);
}

/* Whether kid n (on d) really matches d, confirming a lazy phrase; its score in *score. */
static bool kid_score(const qctx *c, it *n, uint32_t d, double *score)
{
	if (n->kind == IT_PHRASE && n->leaf.lazy && !n->leaf.confirmed) {
		int k = it_phrase_count(&n->leaf); /* < 0: corrupt, reported by it_error */
		n->leaf.confirmed = true;
		n->leaf.phrase_tf = k > 0 ? (uint32_t)k : 0;
		if (!n->leaf.phrase_tf)
			return false;
	}
	*score = it_score(c, c->s, n, d);
	return true;
}

/*
 * MaxScore over the kids of an OR.  Kids are sorted by their score bound;
 * the first ne of them are "non-essential": together they cannot lift a doc
 * over the current threshold, so a doc found only in them cannot enter the
 * top k.  Candidates come from the essential kids alone; the non-essential
 * ones are probed (advance) only while the candidate can still make it.
 * Docs seen only in non-essential kids are not counted, so total becomes a
 * lower bound once any kid turns non-essential.
 */
static void collect_maxscore(qctx *c, it *root, uint32_t si, topk *t, xihu_index_results *out)
{
	const uint8_t *del = seg_deletes(c->s);
	uint32_t n = root->op.nkids;
	it **k = root->op.kids;
	for (uint32_t i = 0; i < n; i++)
		k[i]->ord = i;
	qsort(k, n, sizeof *k, cmp_maxs);
	double *ub = malloc(3 * n * sizeof *ub); /* ub[i] = sum of maxs of k[0..i] */
	double *part = ub + n;                    /* each kid's part of the current score */
	double *byord = part + n;                 /* the parts in the kids' first order */
	if (!ub) {
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		ub[i] = k[i]->maxs + (i ? ub[i - 1] : 0);
	uint32_t ne = 0;
	double theta = topk_threshold(t);
	while (ne < n && ub[ne] <= theta)
		ne++;
	if (ne)
		out->total_exact = false;
	for (uint32_t i = 0; i < n; i++) {
		if (k[i]->kind == IT_PHRASE)
			k[i]->leaf.lazy = true;
		it_advance(k[i], 0);
	}
	double bb_val = 0;          /* the last block bound, over [.., bb_upto] */
	uint32_t bb_upto = 0, bb_ne = UINT32_MAX;
	while (ne < n && !stopped(c)) {
		uint32_t d = POSTINGS_END;
		for (uint32_t i = ne; i < n; i++)
			if (k[i]->doc < d)
				d = k[i]->doc;
		if (d == POSTINGS_END)
			break;
		if (t->n == t->k) {
			/* block-max: skip, in every essential list at once, the docs
			 * up to the end of the shortest current block when their
			 * blocks' bounds together cannot beat the threshold.  A bound
			 * holds for its whole range [d, upto] (while the essential
			 * kids stay the same), so within a range that passed it is
			 * only compared again, with the threshold as it rises. */
			double bb;
			uint32_t upto;
			if (d <= bb_upto && ne == bb_ne) {
				bb = bb_val;
				upto = bb_upto;
			} else {
				upto = POSTINGS_END - 1;
				bb = ne ? ub[ne - 1] : 0;
				for (uint32_t i = ne; i < n; i++)
					bb += it_block_bound(c, k[i], d, &upto);
				bb_val = bb;
				bb_upto = upto;
				bb_ne = ne;
			}
			if (bb <= theta) {
				out->total_exact = false;
				uint32_t next = next_target(upto);
				for (uint32_t i = ne; i < n; i++)
					if (k[i]->doc <= upto)
						it_advance(k[i], next);
				continue;
			}
		}
		if (!seg_bitmap_test(del, d)) {
			/* first a bound: a lazy phrase's positions are read only when
			 * the doc could still enter the top k */
			double bound = 0;
			for (uint32_t i = 0; i < n; i++)
				part[i] = 0;
			for (uint32_t i = ne; i < n; i++)
				if (k[i]->doc == d)
					bound += kid_bound(c, k[i], d);
			if (bound + (ne ? ub[ne - 1] : 0) <= theta) {
				out->total_exact = false; /* not known whether it matches */
			} else {
				/* parts are summed in kid order at the end, so a score does
				 * not depend on which kids were essential when computed */
				double score = 0;
				bool matched = false, in = true;
				for (uint32_t i = ne; i < n; i++)
					if (k[i]->doc == d && kid_score(c, k[i], d, &part[i])) {
						score += part[i];
						matched = true;
					}
				for (uint32_t i = ne; matched && i-- > 0;) {
					if (score + ub[i] <= theta) {
						in = false;
						break;
					}
					if (it_advance(k[i], d) == d && kid_score(c, k[i], d, &part[i]))
						score += part[i];
				}
				if (matched)
					out->total++;
				if (matched && in) {
					/* in the kids' order before sorting, as it_score sums */
					score = 0;
					for (uint32_t i = 0; i < n; i++)
						byord[k[i]->ord] = part[i];
					for (uint32_t i = 0; i < n; i++)
						score += byord[i];
				}
				if (matched && in && score > theta) {
					topk_push(t, (scored){score, si, d});
					theta = topk_threshold(t);
					while (ne < n && ub[ne] <= theta) {
						ne++;
						out->total_exact = false;
					}
				}
			}
		}
		uint32_t next = next_target(d);
		for (uint32_t i = ne; i < n; i++)
			if (k[i]->doc == d)
				it_advance(k[i], next);
	}
	free(ub);
}

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
			if (c.rc)
				;
			else if (taat_fits(&c, root) && !o.exact_total)
				collect_taat(&c, root, si, &t, out);
			else if (root->kind == IT_OR && !o.exact_total)
				collect_maxscore(&c, root, si, &t, out);
			else if (root->kind == IT_AND && !o.exact_total)
				collect_and(&c, root, si, &t, out);
			else
				collect_all(&c, root, si, &t, out);
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
