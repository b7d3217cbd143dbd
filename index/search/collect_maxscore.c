/*
 * collect_maxscore.c: the top k of an OR by MaxScore, with block-max
 * skipping.
 *
 * Kids are sorted by their score bound (maxs); the first ne of them are
 * "non-essential": together they cannot lift a doc over the current
 * threshold, so a doc found only in them cannot enter the top k.
 * Candidates come from the essential kids alone; the non-essential ones
 * are probed (advanced to the candidate) only while it can still make it.
 * Once k hits are kept, a range of docs up to the end of the shortest
 * current block is skipped in every essential list at once when their
 * blocks' bounds (the skip tables' impacts) together cannot beat the
 * threshold.  A phrase kid is lazy: its positions are read only for a
 * candidate whose bound can rank.
 *
 * Invariants: a doc skipped or not probed cannot rank; a hit's score is
 * its kids' sum in any order (leaf scores are multiples of SCORE_QUANTUM),
 * so it equals it_score's whichever kids were essential.  Docs seen only in
 * non-essential kids are not counted, so total becomes a lower bound once
 * any kid turns non-essential.  Fits any OR (plan.c puts a lone word or
 * phrase in one); chosen by search.c unless exact_total or TAAT fits.
 */
#include <stdlib.h>

#include "search/search-int.h"

/* One segment's MaxScore over the kids of an OR. */
typedef struct maxscore {
	it **k;        /* the OR's kids, sorted by maxs */
	uint32_t n;    /* how many */
	uint32_t ne;   /* k[0..ne) are non-essential */
	double *ub;    /* ub[i] = sum of maxs of k[0..i] */
	double theta;  /* the score to beat (topk_threshold) */
	/* the last block bound, bb_val over [.., bb_upto] with bb_ne non-essential kids */
	double bb_val;
	uint32_t bb_upto, bb_ne;
} maxscore;

static bool maxscore_fits(const qctx *c, const it *root)
{
	(void)c;
	return root->kind == IT_OR;
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
	return l->weight * score_tf_norm(c, it_leaf_tf_bound(n), seg_doc_field_len(c->s, d, l->field),
	                                 c->avglen[l->field]) +
	       SCORE_QUANTUM;
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

/* Sorts the kids, sums their bounds and puts every kid on its first doc;
 * false (c->rc set) when out of memory. */
static bool maxscore_init(qctx *c, it *root, const topk *t, maxscore *m, xihu_index_results *out)
{
	uint32_t n = root->op.nkids;
	it **k = root->op.kids;
	qsort(k, n, sizeof *k, cmp_maxs);
	double *ub = malloc(n * sizeof *ub);
	if (!ub) {
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return false;
	}
	*m = (maxscore){.k = k, .n = n, .ub = ub, .bb_ne = UINT32_MAX};
	for (uint32_t i = 0; i < n; i++)
		ub[i] = k[i]->maxs + (i ? ub[i - 1] : 0);
	m->theta = topk_threshold(t);
	while (m->ne < n && ub[m->ne] <= m->theta)
		m->ne++;
	if (m->ne)
		out->total_exact = false;
	for (uint32_t i = 0; i < n; i++) {
		if (k[i]->kind == IT_PHRASE)
			k[i]->leaf.lazy = true;
		it_advance(k[i], 0);
	}
	return true;
}

/*
 * Block-max, once k hits are kept: skip, in every essential list at once,
 * the docs from d up to the end of the shortest current block when their
 * blocks' bounds together cannot beat the threshold; true when it did.  A
 * bound holds for its whole range [d, upto] (while the essential kids stay
 * the same), so within a range that passed it is only compared again, with
 * the threshold as it rises.
 */
static bool skip_blocks(const qctx *c, maxscore *m, uint32_t d, xihu_index_results *out)
{
	it **k = m->k;
	uint32_t n = m->n, ne = m->ne;
	double bb;
	uint32_t upto;
	if (d <= m->bb_upto && ne == m->bb_ne) {
		bb = m->bb_val;
		upto = m->bb_upto;
	} else {
		upto = POSTINGS_END - 1;
		bb = ne ? m->ub[ne - 1] : 0;
		for (uint32_t i = ne; i < n; i++)
			bb += it_block_bound(c, k[i], d, &upto);
		m->bb_val = bb;
		m->bb_upto = upto;
		m->bb_ne = ne;
	}
	if (bb > m->theta)
		return false;
	out->total_exact = false;
	uint32_t next = next_target(upto);
	for (uint32_t i = ne; i < n; i++)
		if (k[i]->doc <= upto)
			it_advance(k[i], next);
	return true;
}

/* Scores the live candidate d (the essential kids' least doc) if it can
 * still rank, and keeps it in t if it does; the threshold rises with t. */
static void score_candidate(qctx *c, maxscore *m, uint32_t d, topk *t, xihu_index_results *out)
{
	it **k = m->k;
	uint32_t n = m->n, ne = m->ne;
	double *ub = m->ub, theta = m->theta;
	/* first bounds: the doc's field length is read only when the
	 * postings alone do not rule it out, a lazy phrase's positions only
	 * when the doc could still enter the top k */
	double quick = ne ? ub[ne - 1] : 0;
	for (uint32_t i = ne; i < n; i++)
		if (k[i]->doc == d)
			quick += it_quick_bound(c, k[i], d);
	if (quick <= theta) {
		out->total_exact = false;
		return;
	}
	double bound = 0;
	for (uint32_t i = ne; i < n; i++)
		if (k[i]->doc == d)
			bound += kid_bound(c, k[i], d);
	if (bound + (ne ? ub[ne - 1] : 0) <= theta) {
		out->total_exact = false; /* not known whether it matches */
		return;
	}
	/* leaf scores are multiples of SCORE_QUANTUM: the sum is the same
	 * in this order as in it_score's */
	double score = 0, part;
	bool matched = false, in = true;
	for (uint32_t i = ne; i < n; i++)
		if (k[i]->doc == d && kid_score(c, k[i], d, &part)) {
			score += part;
			matched = true;
		}
	for (uint32_t i = ne; matched && i-- > 0;) {
		if (score + ub[i] <= theta) {
			in = false;
			break;
		}
		if (it_advance(k[i], d) == d && kid_score(c, k[i], d, &part))
			score += part;
	}
	if (matched)
		out->total++;
	if (!matched || !in)
		return;
	if (score > theta) {
		topk_push(t, (scored){score, c->si, d});
		m->theta = topk_threshold(t);
		while (m->ne < n && ub[m->ne] <= m->theta) {
			m->ne++;
			out->total_exact = false;
		}
	}
}

static void maxscore_collect(qctx *c, it *root, topk *t, xihu_index_results *out)
{
	const uint8_t *del = seg_deletes(c->s);
	maxscore m;
	if (!maxscore_init(c, root, t, &m, out))
		return;
	it **k = m.k;
	while (m.ne < m.n && !stopped(c)) {
		uint32_t d = POSTINGS_END;
		for (uint32_t i = m.ne; i < m.n; i++)
			if (k[i]->doc < d)
				d = k[i]->doc;
		if (d == POSTINGS_END)
			break;
		if (t->n == t->k && skip_blocks(c, &m, d, out))
			continue;
		if (!seg_bitmap_test(del, d))
			score_candidate(c, &m, d, t, out);
		uint32_t next = next_target(d);
		for (uint32_t i = m.ne; i < m.n; i++)
			if (k[i]->doc == d)
				it_advance(k[i], next);
	}
	free(m.ub);
}

const collector collector_maxscore = {maxscore_fits, maxscore_collect};
