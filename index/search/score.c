/*
 * score.c: what one query scores with.  BM25 over the whole index: a field
 * contributes weight * idf * tf / (tf + k1 * (1 - b + b * len / avglen)),
 * idf = ln(1 + (N - df + 0.5) / (df + 0.5)), with N, df and avglen taken
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

int score_df(qctx *c, uint32_t field, const char *term, uint32_t len, uint64_t *df, const seg_term **here)
{
	*df = 0;
	*here = NULL;
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
	struct df_slot *slot = df_find(c->dfs, c->capdfs, field, term, len);
	if (!slot->term) {
		uint32_t nsegs = index_nsegs(c->ix);
		seg_term *st = malloc(nsegs * (sizeof *st + 1) + 1);
		char *copy = strndup(term, len);
		if (!st || !copy) {
			free(st);
			free(copy);
			return c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		}
		uint8_t *found = (uint8_t *)(st + nsegs);
		uint64_t sum = 0;
		for (uint32_t i = 0; i < nsegs; i++) {
			const seg *s = index_seg(c->ix, i);
			found[i] = 0;
			if (field >= seg_nfields(s) || !seg_field_total(s, field))
				continue;
			int r = seg_lookup(s, field, term, len, &st[i], c->err);
			if (r < 0) {
				free(st);
				free(copy);
				return c->rc = -r;
			}
			if (r > 0) {
				found[i] = 1;
				sum += st[i].df;
			}
		}
		slot->term = copy;
		slot->field = field;
		slot->df = sum;
		slot->st = st;
		slot->found = found;
		c->ndfs++;
	}
	*df = slot->df;
	if (slot->found[c->si])
		*here = &slot->st[c->si];
	return 0;
}

double score_idf(uint64_t ndocs, uint64_t df)
{
	return log(1.0 + ((double)ndocs - (double)df + 0.5) / ((double)df + 0.5));
}

double score_tf_bound(const qctx *c, uint32_t tf)
{
	return (double)tf / ((double)tf + c->k1 * (1.0 - c->b));
}
