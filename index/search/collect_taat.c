/*
 * collect_taat.c: an OR of many single-word lists (a prefix's expansions,
 * a long list of alternatives) term at a time: each list is read once,
 * straight through, adding its scores into one accumulator per doc.
 * MaxScore's per-candidate work grows with the number of lists; this grows
 * with their postings only.
 *
 * The doc ids are taken a window of TAAT_WINDOW at a time: every list adds
 * its docs of the window, then the window's docs go to the top k.  The
 * window's accumulators (some 400 KB) stay in the CPU's cache, and they
 * are the calling thread's, kept from one query to the next: a fresh
 * allocation of a big segment's accumulators cost more in page faults than
 * the lists themselves (15 ms against 1 ms for a prefix at 8x the Linux
 * tree), and the memory stays the same at any index size.
 *
 * Invariant: scores are summed in kid order, as it_score sums them, so the
 * hits are those of an exhaustive evaluation, and total is exact.  Fits an
 * OR of at least TAAT_MIN_KIDS terms.  Chosen by search.c before MaxScore.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "search/search-int.h"

#define TAAT_MIN_KIDS 16
#define TAAT_WINDOW 32768u /* docs a window: 8 + 4 bytes each, and a bit */

typedef struct taat_scratch {
	double acc[TAAT_WINDOW];
	uint32_t touched[TAAT_WINDOW];
	uint8_t seen[TAAT_WINDOW / 8];
} taat_scratch;

/* Each thread's scratch, freed when the thread ends. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_ok;

static void scratch_key_init(void)
{
	scratch_key_ok = pthread_key_create(&scratch_key, free) == 0;
}

/* This thread's scratch, or a new one the caller frees (*own) when there is
 * no key; NULL when out of memory. */
static taat_scratch *scratch_get(bool *own)
{
	pthread_once(&scratch_once, scratch_key_init);
	*own = !scratch_key_ok;
	taat_scratch *s = scratch_key_ok ? pthread_getspecific(scratch_key) : NULL;
	if (s)
		return s;
	s = malloc(sizeof *s);
	if (s && scratch_key_ok && pthread_setspecific(scratch_key, s) != 0)
		*own = true;
	return s;
}

static bool taat_fits(const qctx *c, const it *root)
{
	(void)c;
	if (root->kind != IT_OR || root->op.nkids < TAAT_MIN_KIDS)
		return false;
	for (uint32_t i = 0; i < root->op.nkids; i++)
		if (root->op.kids[i]->kind != IT_TERM)
			return false;
	return true;
}

static void taat_collect(qctx *c, it *root, topk *t, xihu_index_results *out)
{
	bool own;
	taat_scratch *w = scratch_get(&own);
	if (!w) {
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return;
	}
	const uint8_t *del = seg_deletes(c->s);
	uint32_t nk = root->op.nkids;
	for (;;) {
		/* the next window starts at the least doc any list is on */
		uint32_t base = POSTINGS_END;
		for (uint32_t i = 0; i < nk; i++)
			if (root->op.kids[i]->leaf.pp[0].doc < base)
				base = root->op.kids[i]->leaf.pp[0].doc;
		if (base == POSTINGS_END || c->rc)
			break;
		uint32_t end = base + TAAT_WINDOW < base ? POSTINGS_END : base + TAAT_WINDOW;
		uint32_t nt = 0;
		memset(w->seen, 0, sizeof w->seen);
		for (uint32_t i = 0; i < nk; i++) {
			const it_leaf *n = &root->op.kids[i]->leaf;
			postings *p = &n->pp[0];
			const double avg = c->avglen[n->field];
			for (uint32_t d = p->doc; d < end; d = postings_next(p)) {
				if (stopped(c))
					break;
				double sc = n->weight *
				            score_tf_norm(c, postings_freq(p), seg_doc_field_len(c->s, d, n->field), avg);
				uint32_t x = d - base;
				if (!(w->seen[x >> 3] & (1u << (x & 7)))) {
					w->seen[x >> 3] |= (uint8_t)(1u << (x & 7));
					w->touched[nt++] = x;
					w->acc[x] = 0;
				}
				w->acc[x] += sc;
			}
			if (c->rc)
				break;
		}
		for (uint32_t j = 0; j < nt && !c->rc; j++) {
			uint32_t d = base + w->touched[j];
			if (seg_bitmap_test(del, d))
				continue;
			out->total++;
			topk_push(t, (scored){w->acc[w->touched[j]], c->si, d});
		}
		if (c->rc)
			break;
	}
	if (own)
		free(w);
}

const collector collector_taat = {taat_fits, taat_collect};
