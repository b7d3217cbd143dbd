/*
 * collect_taat.c: an OR of many kids (a prefix's expansions, a long list
 * of alternatives, a pasted paragraph's words and phrases) term at a time,
 * with MaxScore's pruning.  MaxScore's per-candidate work grows with the
 * number of lists; this grows with the postings it reads.
 *
 * The doc ids are taken a window at a time (TAAT_FIRST_WINDOW, doubling up
 * to TAAT_WINDOW, so that the threshold rises early).  The lists are sorted
 * by their score bound, and as in collect_maxscore.c the first ne of them
 * are non-essential: together they cannot lift a doc over the threshold
 * the window starts with.  Each essential list adds the scores of its docs
 * in the window into accumulators: those docs are the window's candidates.
 * Then the non-essential lists, the likeliest first, are probed only at
 * the candidates that can still beat the threshold with what the lists not
 * yet probed could add (their postings are skipped to them, block by block
 * through the skip tables, not read through): the common expansions of a
 * prefix ("const" of cons*) are mostly skipped.  The window's remaining
 * candidates go to the top k.
 *
 * The accumulators (some 400 KB, in the CPU's cache) are the calling
 * thread's, kept from one query to the next: a fresh allocation for a big
 * segment cost more in page faults than the lists themselves (15 ms against
 * 1 ms for a prefix at 8x the Linux tree), and the memory stays the same at
 * any index size.
 *
 * A kid is a word's list, read straight through its postings, or a phrase
 * (NEAR) or an AND, walked with it_advance: a phrase's positions are
 * checked for every doc its words share in the window (an essential one) or
 * at a candidate (a probed one).
 *
 * Invariants: a doc not scored cannot rank; leaf scores are multiples of
 * SCORE_QUANTUM, so a sum made in this order equals it_score's, and the
 * hits are those of an exhaustive evaluation.  Docs seen only in
 * non-essential lists are not counted, so total becomes a lower bound once
 * any list turns non-essential.  Fits an OR of at least TAAT_MIN_KIDS
 * kids, each a term, a phrase or an AND.  Chosen by search.c before
 * MaxScore.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "search/search-int.h"

#define TAAT_MIN_KIDS 16
#define TAAT_FIRST_WINDOW 4096u
#define TAAT_WINDOW 32768u /* docs a window at most: 8 + 4 bytes each, and a bit */

typedef struct taat_scratch {
	double acc[TAAT_WINDOW];
	uint32_t cand[TAAT_WINDOW]; /* the window's candidates, as offsets from its base */
	uint64_t seen[TAAT_WINDOW / 64];
} taat_scratch;

/* Each thread's scratch, freed when the thread ends. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_ok;

static void scratch_key_init(void)
{
	scratch_key_ok = pthread_key_create(&scratch_key, free) == 0;
}

/* This thread's scratch, or a new one the caller frees (*own) when it
 * cannot be kept; NULL when out of memory. */
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
	for (uint32_t i = 0; i < root->op.nkids; i++) {
		enum it_kind k = root->op.kids[i]->kind;
		if (k != IT_TERM && k != IT_PHRASE && k != IT_AND && k != IT_FIELDS)
			return false;
	}
	return true;
}

/* The doc kid n is on: a term's list is read through its postings (its
 * it.doc is not kept), any other kid through it_advance. */
static inline uint32_t kid_doc(const it *n)
{
	return n->kind == IT_TERM ? n->leaf.pp[0].doc : n->doc;
}

/* Postings per unit of score bound, most first: the lists that are best
 * left to probing (long and weak, as "const" in cons*) come first. */
static int cmp_density(const void *a, const void *b)
{
	const it *x = *(it *const *)a, *y = *(it *const *)b;
	double dx = (double)x->cost / x->maxs, dy = (double)y->cost / y->maxs;
	return dx > dy ? -1 : dx < dy;
}

/* Adds the essential lists k[ne..n) over [base, end) into w; the window's
 * candidates, in doc order, into w->cand; returns how many. */
static uint32_t add_essential(qctx *c, it **k, uint32_t ne, uint32_t n, uint32_t base, uint32_t end,
                              taat_scratch *w)
{
	uint32_t len = end - base;
	memset(w->seen, 0, (len + 63) / 64 * sizeof *w->seen);
	for (uint32_t i = ne; i < n && !c->rc; i++) {
		it *kid = k[i];
		postings *p = kid->kind == IT_TERM ? &kid->leaf.pp[0] : NULL;
		for (uint32_t d = kid_doc(kid); d < end; d = p ? postings_next(p) : it_advance(kid, next_target(d))) {
			if (stopped(c))
				break;
			double sc = it_score(c, c->s, kid, d);
			uint32_t x = d - base;
			uint64_t bit = 1ull << (x & 63);
			if (!(w->seen[x >> 6] & bit)) {
				w->seen[x >> 6] |= bit;
				w->acc[x] = 0;
			}
			w->acc[x] += sc;
		}
	}
	uint32_t nc = 0;
	for (uint32_t j = 0; j < (len + 63) / 64; j++)
		for (uint64_t b = w->seen[j]; b; b &= b - 1)
			w->cand[nc++] = j * 64 + (uint32_t)__builtin_ctzll(b);
	return nc;
}

static void taat_collect(qctx *c, it *root, topk *t, xihu_index_results *out)
{
	uint32_t n = root->op.nkids;
	it **k = root->op.kids;
	bool own;
	taat_scratch *w = scratch_get(&own);
	double *ub = malloc(n * sizeof *ub);
	if (!w || !ub) {
		if (own)
			free(w);
		free(ub);
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return;
	}
	/* ub[i]: what k[0..i] can add together */
	qsort(k, n, sizeof *k, cmp_density);
	for (uint32_t i = 0; i < n; i++) {
		ub[i] = k[i]->maxs + (i ? ub[i - 1] : 0);
		if (k[i]->kind != IT_TERM)
			it_advance(k[i], 0);
	}
	const uint8_t *del = seg_deletes(c->s);
	uint32_t ne = 0, win = TAAT_FIRST_WINDOW;
	for (;;) {
		double theta = topk_threshold(t);
		while (ne < n && ub[ne] <= theta)
			ne++;
		if (ne)
			out->total_exact = false;
		/* the window starts at the least doc an essential list is on */
		uint32_t base = POSTINGS_END;
		for (uint32_t i = ne; i < n; i++)
			if (kid_doc(k[i]) < base)
				base = kid_doc(k[i]);
		if (base == POSTINGS_END || c->rc)
			break;
		uint32_t end = base + win < base ? POSTINGS_END : base + win;
		if (win < TAAT_WINDOW)
			win *= 2;
		uint32_t nc = add_essential(c, k, ne, n, base, end, w);
		/* every candidate matches; drop the deleted */
		uint32_t live = 0;
		for (uint32_t j = 0; j < nc; j++)
			if (!seg_bitmap_test(del, base + w->cand[j]))
				w->cand[live++] = w->cand[j];
		out->total += live;
		nc = live;
		/* the non-essential lists, likeliest first, at the candidates that
		 * can still beat theta with what k[0..i] could add */
		for (uint32_t i = ne; i-- > 0 && nc && !c->rc;) {
			uint32_t keep = 0;
			for (uint32_t j = 0; j < nc; j++)
				if (w->acc[w->cand[j]] + ub[i] > theta)
					w->cand[keep++] = w->cand[j];
			nc = keep;
			it *kid = k[i];
			postings *p = kid->kind == IT_TERM ? &kid->leaf.pp[0] : NULL;
			for (uint32_t j = 0; j < nc && kid_doc(kid) != POSTINGS_END; j++) {
				uint32_t d = base + w->cand[j];
				if (p ? p->doc < d && postings_advance(p, d) != d : it_advance(kid, d) != d)
					continue;
				if (kid_doc(kid) == d)
					w->acc[w->cand[j]] += it_score(c, c->s, kid, d);
			}
			if (stopped(c))
				break;
		}
		for (uint32_t j = 0; j < nc && !c->rc; j++)
			if (w->acc[w->cand[j]] > theta)
				topk_push(t, (scored){w->acc[w->cand[j]], c->si, base + w->cand[j]});
		if (c->rc)
			break;
	}
	free(ub);
	if (own)
		free(w);
}

const collector collector_taat = {taat_fits, taat_collect};
