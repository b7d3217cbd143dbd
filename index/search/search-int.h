/*
 * index/search/search-int.h: what the files of index/search/ share, and
 * nothing a layer above or a test needs (that is search/search.h): one
 * query's context, the iterator tree, the top k and the collectors.
 *
 * One section per .c file, in the order a query goes through them:
 * search.c (the entry point) makes a qctx; for each segment plan.c turns
 * the query tree into an iterator tree (leaf.c, fuzzy.c), a collector
 * ranks its matches into the top k, and search.c fills the page of hits.
 */
#ifndef XIHU_SEARCH_SEARCH_INT_H
#define XIHU_SEARCH_SEARCH_INT_H

#include <stdatomic.h>

#include "search/search.h"

/* ==== search.c: one query's context ====================================== */

typedef struct it it;

/* Everything one query allocates, freed at once.  Made by
 * xihu_index_search; every part of the evaluation gets it.  An error
 * anywhere sets rc (with err) and the evaluation stops. */
typedef struct qctx {
	xihu_index *ix;
	const seg *s; /* the segment being built for */
	uint32_t si;  /* its index */
	/* the index's BM25 parameters (SETTINGS), and per field of s the factor
	 * F that turns a stored block impact (made with XIHU_BM25_K1/B and s's
	 * own average length) into a bound under them: see impact_norm */
	double k1, b;
	double ifac[XIHU_MAX_FIELDS];
	const xihu_limits *lim;
	xihu_err *err;
	int rc;
	uint64_t ndocs;
	double avglen[XIHU_MAX_FIELDS];
	it **all;
	size_t nall, capall;
	/* document frequencies over all segments, by (field, term), and the
	 * term's entry in each segment: each is looked up once per query, not
	 * once for its df and again for its postings */
	struct df_slot {
		char *term; /* NULL: empty slot */
		uint32_t field;
		uint64_t df;
		seg_term *st;  /* per segment: the entry, valid where found[i] */
		uint8_t *found;
	} *dfs;
	size_t ndfs, capdfs;
	/* every term a fuzzy word expanded to, in any segment (highlighting) */
	char **fz;
	size_t nfz, capfz;
	/* stopping early (xihu_index_search_opts.deadline_ns, cancel): checked every
	 * STOP_EVERY candidates by stopped() */
	uint64_t deadline_ns;
	const _Atomic bool *cancel;
	uint32_t ticks;
} qctx;

/* ==== stop.c: stopping early ============================================= */

#define STOP_EVERY 1024 /* candidates between two looks at the clock (some 20-100 us) */

/* Whether the search must stop now (cancelled, or past its deadline); sets c->rc. */
bool stop_now(qctx *c);

/* stop_now, every STOP_EVERY calls: cheap enough for every candidate. */
static inline bool stopped(qctx *c)
{
	if (++c->ticks % STOP_EVERY)
		return false;
	return stop_now(c);
}

/* ==== topk.c: the best k hits ============================================ */

typedef struct scored {
	double score;
	uint32_t seg, doc;
} scored;

/* Min-heap by rank: h[0] is the worst kept. */
typedef struct topk {
	scored *h;
	uint32_t n, k;
} topk;

/* An empty top k; false when out of memory. */
bool topk_init(topk *t, uint32_t k);
void topk_free(topk *t);
/* Keeps e if it ranks among the k best so far. */
void topk_push(topk *t, scored e);
/* Sorts t->h best first (higher score, then lower segment, then lower doc). */
void topk_sort(topk *t);

/* The score a new hit must beat to enter the top k (ties lose: they come later). */
static inline double topk_threshold(const topk *t)
{
	return t->n < t->k ? -1.0 : t->h[0].score;
}

#endif
