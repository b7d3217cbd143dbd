/*
 * collect_exhaustive.c: the collector that prunes nothing.  Every live
 * match of the tree is scored and offered to the top k, so total is exact.
 *
 * It is the reference evaluation (xihu_index_search_opts.exact_total; the
 * tests compare the pruning collectors with it), and ranks what no pruning
 * collector fits: a lone ext: or path: filter, an empty tree.  Chosen by
 * search.c.
 */
#include "search/search-int.h"

static bool exhaustive_fits(const qctx *c, const it *root)
{
	(void)c;
	(void)root;
	return true;
}

/* Scores every live match of root: AND and phrase trees, whose matches the
 * intersection already narrows. */
static void exhaustive_collect(qctx *c, it *root, topk *t, xihu_index_results *out)
{
	const uint8_t *del = seg_deletes(c->s);
	for (uint32_t d = it_advance(root, 0); d != POSTINGS_END; d = it_advance(root, next_target(d))) {
		if (stopped(c))
			return;
		if (seg_bitmap_test(del, d))
			continue;
		out->total++;
		topk_push(t, (scored){it_score(c, c->s, root, d), c->si, d});
	}
}

const collector collector_exhaustive = {exhaustive_fits, exhaustive_collect};
