/*
 * score.c: what one query scores with.  BM25 over the whole index: a field
 * contributes weight * idf * tf / (tf + k1 * (1 - b + b * len / avglen))
 * (a word's text fields together, BM25F: search-int.h, score_tf_x),
 * idf = ln((N - df + 0.5) / (df + 0.5)) (score_idf), with N, df and avglen taken
 * over all segments so scores do not depend on how the index is split
 * (k1 and b: the index's SETTINGS).
 *
 * Owns the query's statistics in its qctx: N and the average field lengths
 * (score_init), every term's df over all segments with its dictionary entry
 * in each, looked up once per query (score_df), and per segment the factor
 * that turns the writer's stored impacts into bounds under the query's k1,
 * b and averages (score_init_segment; score_impact_norm in search-int.h).
 * Invariant: a bound (score_tf_bound, score_impact_norm) is never below
 * the score_tf_norm of any doc it bounds.  Called by search.c (set-up),
 * leaf.c (df, idf and a leaf's bound), iter.c and the collectors (tf_norm).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/search-int.h"

/* A term's document frequency over all segments (by field and term), and
 * its entry in each segment: an open-addressing table in qctx.dfs. */
struct df_slot {
	char *term; /* NULL: empty slot */
	uint32_t field;
	uint64_t df;
	seg_term *st;  /* per segment: the entry, valid where found[i] */
	uint8_t *found;
};

void score_init(qctx *c)
{
	c->k1 = analysis_k1(index_analysis(c->ix));
	c->b = analysis_b(index_analysis(c->ix));
	for (uint32_t i = 0; i < index_nsegs(c->ix); i++) {
		const seg *s = index_seg(c->ix, i);
		c->ndocs += seg_ndocs(s);
		for (uint32_t f = 0; f < seg_nfields(s) && f < XIHU_MAX_FIELDS; f++)
			c->avglen[f] += (double)seg_field_total(s, f);
	}
	for (uint32_t f = 0; f < XIHU_MAX_FIELDS; f++)
		c->avglen[f] = c->ndocs ? c->avglen[f] / (double)c->ndocs : 0;
}

/* ifac, F of score_impact_norm: B0 / B <= F = max((1 - b0) / (1 - b),
 * b0 * avg_q / (b * avg_s)); with the writer's own k1 and b, max(1, avg_q / avg_s). */
void score_init_segment(qctx *c)
{
	const seg *s = c->s;
	for (uint32_t f = 0; f < XIHU_MAX_FIELDS; f++) {
		double seg_avg = seg_ndocs(s) ? (double)seg_field_total(s, f) / (double)seg_ndocs(s) : 0;
		double b0 = XIHU_BM25_B, r = seg_avg > 0 ? c->avglen[f] / seg_avg : 1.0;
		if (c->b <= 0 || c->b >= 1)
			c->ifac[f] = INFINITY;
		else if (c->k1 == XIHU_BM25_K1 && c->b == b0)
			c->ifac[f] = r > 1.0 ? r : 1.0;
		else {
			double lo = (1.0 - b0) / (1.0 - c->b), hi = b0 * r / c->b;
			c->ifac[f] = lo > hi ? lo : hi;
		}
	}
}

static uint64_t df_hash(uint32_t field, const char *term, uint32_t len)
{
	uint64_t h = 0xcbf29ce484222325u ^ field;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)term[i]) * 0x100000001b3u;
	return h;
}

static struct df_slot *df_find(struct df_slot *t, size_t cap, uint32_t field, const char *term, uint32_t len)
{
	for (size_t i = df_hash(field, term, len) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!t[i].term || (t[i].field == field && !strncmp(t[i].term, term, len) && !t[i].term[len]))
			return &t[i];
}

void score_free(qctx *c)
{
	for (size_t i = 0; i < c->capdfs; i++) {
		free(c->dfs[i].term);
		free(c->dfs[i].st);
	}
	free(c->dfs);
}

/* Room in the df table for one more slot; 0 or the error (c->rc). */
static int df_room(qctx *c)
{
	if (c->ndfs * 2 >= c->capdfs) {
		size_t cap = c->capdfs ? c->capdfs * 2 : 64;
		struct df_slot *t = calloc(cap, sizeof *t);
		if (!t)
			return c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		for (size_t i = 0; i < c->capdfs; i++)
			if (c->dfs[i].term)
				*df_find(t, cap, c->dfs[i].field, c->dfs[i].term, (uint32_t)strlen(c->dfs[i].term)) =
					c->dfs[i];
		free(c->dfs);
		c->dfs = t;
		c->capdfs = cap;
	}
	return 0;
}

#define DF_PREFILLED 0x80000000u /* score_df_prefill's marks: field | this */

/* A new slot for term in field at *slot (empty), with room for every
 * segment's entry, none found yet; 0 or the error (c->rc). */
static int df_claim(qctx *c, struct df_slot *slot, uint32_t field, const char *term, uint32_t len)
{
	uint32_t nsegs = index_nsegs(c->ix);
	seg_term *st = malloc(nsegs * (sizeof *st + 1) + 1);
	char *copy = strndup(term, len);
	if (!st || !copy) {
		free(st);
		free(copy);
		return c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
	}
	*slot = (struct df_slot){.term = copy, .field = field, .st = st, .found = (uint8_t *)(st + nsegs)};
	memset(slot->found, 0, nsegs);
	c->ndfs++;
	return 0;
}

/*
 * Every term of field that starts with prefix, in every segment, into the
 * df table at once: the segments' dictionaries are walked side by side in
 * key order, so each expansion's entries and df come from one sequential
 * pass instead of a lookup per expansion per segment (cons* at 8x the
 * Linux tree: 1,800 expansions, 2 segments).  A term already in the table
 * is left as it is; a walk stopped by the expansion limit leaves only
 * whole entries (plan.c then reports the limit).  0 or the error (c->rc).
 */
int score_df_prefill(qctx *c, uint32_t field, const char *prefix, uint32_t plen)
{
	/* once a query: a mark under the prefix, in a field no term has */
	if (df_room(c))
		return c->rc;
	struct df_slot *mark = df_find(c->dfs, c->capdfs, field | DF_PREFILLED, prefix, plen);
	if (mark->term)
		return 0;
	if (df_claim(c, mark, field | DF_PREFILLED, prefix, plen))
		return c->rc;
	uint32_t nsegs = index_nsegs(c->ix), live = 0;
	seg_term_iter *walk = malloc(nsegs * sizeof *walk);
	seg_term *cur = malloc(nsegs * sizeof *cur);
	const char **term = malloc(nsegs * sizeof *term);
	uint32_t *len = malloc(nsegs * sizeof *len);
	uint8_t *on = calloc(nsegs, 1);
	if (!walk || !cur || !term || !len || !on) {
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		goto out;
	}
	/* on[i]: segment i's walk is on term[i] */
	for (uint32_t i = 0; i < nsegs; i++) {
		const seg *s = index_seg(c->ix, i);
		if (field >= seg_nfields(s) || !seg_field_total(s, field))
			continue;
		int r = seg_prefix_init(&walk[i], s, field, prefix, plen, c->err);
		if (r) {
			c->rc = r;
			goto out;
		}
		if ((r = seg_prefix_next(&walk[i], &term[i], &len[i], &cur[i], c->err)) < 0) {
			c->rc = -r;
			goto out;
		}
		on[i] = r > 0;
		live += on[i];
	}
	for (uint32_t n = 0; live && !c->rc; n++) {
		if (n >= c->lim->max_prefix_expansions || ((n & 63) == 63 && stop_now(c)))
			break;
		/* the least term any walk is on */
		int lo = -1;
		for (uint32_t i = 0; i < nsegs; i++) {
			if (!on[i])
				continue;
			if (lo < 0) {
				lo = (int)i;
				continue;
			}
			uint32_t m = len[i] < len[lo] ? len[i] : len[lo];
			int d = memcmp(term[i], term[lo], m);
			if (d < 0 || (d == 0 && len[i] < len[lo]))
				lo = (int)i;
		}
		const char *t = term[lo];
		uint32_t tl = len[lo];
		if (df_room(c))
			break;
		struct df_slot *slot = df_find(c->dfs, c->capdfs, field, t, tl);
		bool fill = !slot->term;
		if (fill && df_claim(c, slot, field, t, tl))
			break;
		/* every walk on this term: its entry, then a step */
		for (uint32_t i = 0; i < nsegs; i++) {
			if (!on[i] || len[i] != tl || memcmp(term[i], slot->term, tl))
				continue;
			if (fill) {
				slot->found[i] = 1;
				slot->st[i] = cur[i];
				slot->df += cur[i].df;
			}
			int r = seg_prefix_next(&walk[i], &term[i], &len[i], &cur[i], c->err);
			if (r < 0) {
				c->rc = -r;
				break;
			}
			if (r == 0) {
				on[i] = 0;
				live--;
			}
		}
	}
out:
	free(walk);
	free(cur);
	free(term);
	free(len);
	free(on);
	return c->rc;
}

int score_df(qctx *c, uint32_t field, const char *term, uint32_t len, uint64_t *df, const seg_term **here)
{
	*df = 0;
	*here = NULL;
	if (df_room(c))
		return c->rc;
	struct df_slot *slot = df_find(c->dfs, c->capdfs, field, term, len);
	if (!slot->term) {
		/* on an error the query fails, with the slot as far as it got */
		if (df_claim(c, slot, field, term, len))
			return c->rc;
		for (uint32_t i = 0; i < index_nsegs(c->ix); i++) {
			const seg *s = index_seg(c->ix, i);
			if (field >= seg_nfields(s) || !seg_field_total(s, field))
				continue;
			int r = seg_lookup(s, field, term, len, &slot->st[i], c->err);
			if (r < 0)
				return c->rc = -r;
			if (r > 0) {
				slot->found[i] = 1;
				slot->df += slot->st[i].df;
			}
		}
	}
	*df = slot->df;
	if (slot->found[c->si])
		*here = &slot->st[c->si];
	return 0;
}

/*
 * Robertson and Sparck Jones's idf, ln((N - df + 0.5) / (df + 0.5)), and
 * not Lucene's ln(1 + that): a word in half the documents or more weighs
 * next to nothing (IDF_FLOOR keeps it positive, so it still ranks the
 * documents it alone matches by their tf).  A pasted paragraph's "the",
 * "of" and "which" then stop outweighing its one rare word.  Measured with
 * bench/ir-eval, six collections, --stem english, BM25F: nDCG@10 mean
 * 0.4982 with Lucene's idf, 0.5021 with this (LISA 0.4704 -> 0.4683, CACM
 * 0.4706 -> 0.4792, NPL 0.4299 -> 0.4366, TIME 0.7473 -> 0.7532, ADI
 * 0.4887 -> 0.4925, Cranfield 0.3823 -> 0.3825).  The floor: at b 0.55,
 * 1e-3 and 1e-6 give 0.5025, 0.01 gives 0.5015 and 0.05 0.5017 (TIME
 * 0.7576, 0.7532, 0.7516: a common word must weigh next to nothing).  It
 * stays well above SCORE_QUANTUM: a word at the floor still orders the
 * documents by its tf in millions of steps, not thousands.
 */
#define IDF_FLOOR 1e-3

double score_idf(uint64_t ndocs, uint64_t df)
{
	double idf = log(((double)ndocs - (double)df + 0.5) / ((double)df + 0.5));
	return idf > IDF_FLOOR ? idf : IDF_FLOOR;
}

double score_tf_bound(const qctx *c, uint32_t tf)
{
	return (double)tf / ((double)tf + c->k1 * (1.0 - c->b));
}
