/*
 * collect_taat.c: an OR of many single-word lists (a prefix's expansions,
 * a long list of alternatives) term at a time: each list is read once,
 * straight through, adding its scores into one accumulator per doc.
 * MaxScore's per-candidate work grows with the number of lists; this grows
 * with their postings only.
 *
 * Invariant: scores are summed in kid order, as it_score sums them, so the
 * hits are those of an exhaustive evaluation, and total is exact.  Fits an
 * OR of at least TAAT_MIN_KIDS terms in a segment of at most TAAT_MAX_DOCS
 * documents (its accumulators take 12 bytes a doc).  Chosen by search.c
 * before MaxScore.
 */
#include <stdlib.h>

#include "search/search-int.h"

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

static void taat_collect(qctx *c, it *root, topk *t, xihu_index_results *out)
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
		topk_push(t, (scored){acc[d], c->si, d});
	}
	free(acc);
	free(touched);
	free(seen);
}

const collector collector_taat = {taat_fits, taat_collect};
