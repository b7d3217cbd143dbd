/*
 * collect_and.c: the top k of an AND (whose score is the sum of its
 * kids'): the intersection, but once k hits are kept, a range of docs whose
 * blocks' bounds sum to no more than the threshold is stepped over without
 * being intersected (block-max, from the skip tables: it_block_bound).
 *
 * Invariant: a doc stepped over cannot rank (its bound is no more than the
 * k-th score, and ties lose to the docs found first); total becomes a
 * lower bound when anything is stepped over.  Fits any AND tree; chosen by
 * search.c unless exact_total.
 */
#include "search/search-int.h"

static bool and_fits(const qctx *c, const it *root)
{
	(void)c;
	return root->kind == IT_AND;
}

static void and_collect(qctx *c, it *root, topk *t, xihu_index_results *out)
{
	const uint8_t *del = seg_deletes(c->s);
	uint32_t d = 0;
	/* the last bound, bb over [.., bb_upto]: it holds for every doc of its
	 * range, so within the range it is only compared again, with the
	 * threshold as it rises */
	double bb = 0;
	uint32_t bb_upto = 0;
	bool bb_set = false;
	while (d != POSTINGS_END && !stopped(c)) {
		uint32_t upto = POSTINGS_END - 1;
		if (t->n == t->k) {
			double theta = topk_threshold(t);
			if (!bb_set || d > bb_upto) {
				bb_upto = POSTINGS_END - 1;
				bb = it_block_bound(c, root, d, &bb_upto);
				bb_set = true;
			}
			upto = bb_upto;
			if (bb <= theta) {
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
			topk_push(t, (scored){it_score(c, c->s, root, m), c->si, m});
		}
		d = next_target(m);
	}
}

const collector collector_and = {and_fits, and_collect};
