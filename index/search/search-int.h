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

#include <math.h>
#include <stdatomic.h>

#include "search/search.h"

/* ==== search.c: one query's context ======================================= */

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
	 * own average length) into a bound under them: see score_impact_norm */
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
	struct df_slot *dfs; /* score.c's */
	size_t ndfs, capdfs;
	/* every term a fuzzy word expanded to, in any segment (highlighting) */
	char **fz;
	size_t nfz, capfz;
	/* stopping early (xihu_index_search_opts.deadline_ns, cancel): checked every
	 * STOP_EVERY candidates by stopped() */
	uint64_t deadline_ns;
	const _Atomic bool *cancel;
	uint32_t ticks;
	/* the segment's plan may read at most this many postings (0: no
	 * limit): plan_segment's, which a prefix's expansion checks as it goes */
	uint64_t max_cost;
} qctx;

/* ==== stop.c: stopping early ============================================== */

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

/* ==== score.c: BM25 and its bounds ======================================== */

/* Bounds are computed in another order than the scores they bound; this
 * keeps a rounding difference from pruning a doc that scores exactly its
 * bound. */
#define BOUND_SLACK (1.0 + 1e-9)

/* k1, b, N and the average field lengths over every segment of c->ix. */
void score_init(qctx *c);
/* c->ifac for the segment c->s. */
void score_init_segment(qctx *c);
/* Frees the df table. */
void score_free(qctx *c);
/* A term's df over every segment of the index, and its entry in the segment
 * being built for (*here, NULL where it is missing), cached per query. */
int score_df(qctx *c, uint32_t field, const char *term, uint32_t len, uint64_t *df, const seg_term **here);
/* Every term of field starting with prefix, in every segment, into the
 * df table at once (a sequential walk); once a query per field and prefix. */
int score_df_prefill(qctx *c, uint32_t field, const char *prefix, uint32_t plen);
double score_idf(uint64_t ndocs, uint64_t df);
/* BM25's tf part at its largest for a given tf: the field as short as can be. */
double score_tf_bound(const qctx *c, uint32_t tf);

/* BM25's tf part: tf / (tf + k1 * (1 - b + b * len / avglen)). */
static inline double score_tf_norm(const qctx *c, uint32_t tf, uint32_t len, double avglen)
{
	double norm = 1.0 - c->b + (avglen > 0 ? c->b * (double)len / avglen : 0);
	return (double)tf / ((double)tf + c->k1 * norm);
}

/* A field's x (below): tf / (1 - b + b * len / avglen). */
static inline double score_tf_x(const qctx *c, uint32_t tf, uint32_t len, double avglen)
{
	return (double)tf / (1.0 - c->b + (avglen > 0 ? c->b * (double)len / avglen : 0));
}

/*
 * BM25F (a word in several fields, IT_FIELDS) saturates once over the
 * fields: x = the sum over fields of fw * tf / (1 - b + b * len / avglen),
 * and the tf part is x / (x + k1).  These turn a field's BM25 tf part n
 * (or a bound of it) into its x, k1 * n / (1 - n), and x into the tf part;
 * both are increasing, so bounds map to bounds.
 */
static inline double score_norm_x(const qctx *c, double n)
{
	return n < 1.0 ? c->k1 * n / (1.0 - n) : INFINITY;
}
static inline double score_x_norm(const qctx *c, double x)
{
	return x < INFINITY ? x / (x + c->k1) : 1.0;
}

/*
 * A leaf's score (a word's or a phrase's in one field at one doc): its
 * weight times its tf part, rounded to a multiple of SCORE_QUANTUM.  Sums
 * of such multiples are exact in a double (below 2^21), so a doc's score
 * is the same in whatever order its parts are added: a collector may add
 * them in its own order (collect_taat.c adds the likeliest first) and
 * still give the exhaustive evaluation's scores bit for bit.  A bound adds
 * one quantum for the rounding.
 */
#define SCORE_QUANTUM 0x1p-32
static inline double score_leaf(double weight, double norm)
{
	/* weight and norm are >= 0: adding a half and truncating rounds (one
	 * instruction, where nearbyint is a call into libm) */
	return (double)(int64_t)(weight * norm * 0x1p32 + 0.5) * SCORE_QUANTUM;
}

/*
 * A stored impact i bounds, for every doc of its block (or term),
 * tf / (tf + K0 * B0) with K0, b0 = XIHU_BM25_K1, XIHU_BM25_B and
 * B0 = 1 - b0 + b0 * dl / avg_s: so tf / B0 <= R = K0 * i / (1 - i).  Under
 * the query's k1, b and average avg_q, B = 1 - b + b * dl / avg_q, and
 * B0 / B <= F = max((1 - b0) / (1 - b), b0 * avg_q / (b * avg_s)) (a ratio
 * of two linear functions of dl is largest at dl = 0 or as dl grows), so
 * tf / B <= T = R * F and tf / (tf + k1 * B) <= T / (T + k1).  With the
 * writer's own parameters this is i * max(1, avg_q / avg_s).  F is
 * infinite (no bound from impacts) for b = 0 or b = 1.
 */
static inline double score_impact_norm(const qctx *c, uint32_t field, float impact)
{
	double i = impact, f = c->ifac[field];
	if (!(i < 1.0) || f == INFINITY)
		return 1.0;
	double t = XIHU_BM25_K1 * i / (1.0 - i) * f;
	return t / (t + c->k1);
}

/* ==== iter.c: the iterators =============================================== */

/*
 * An iterator is one of these kinds, a tagged union: what every kind has
 * (its doc, cost and score bound) and then what its kind alone holds.
 * The operations (it_advance, it_score, it_block_bound, ...) switch on the
 * kind.
 */
enum it_kind {
	IT_EMPTY,  /* matches nothing */
	IT_TERM,   /* leaf: one postings list */
	IT_PHRASE, /* leaf: a phrase's (or NEAR's) words, their positions walked */
	IT_AND,    /* op: all kids, none of the negated ones */
	IT_OR,     /* op: any kid */
	IT_FILTER, /* filter: documents whose path passes (ext:, path:); scores 0 */
	IT_FIELDS, /* op: one word's leaves in several fields, any of them, scored
	            * together (BM25F: one saturation over the fields) */
};

/* IT_TERM, IT_PHRASE: nterms lists of one field */
typedef struct it_leaf {
	uint32_t field;
	uint32_t nterms;
	postings *pp; /* nterms iterators */
	double weight; /* field weight * sum of idf */
	double fw;      /* in an IT_FIELDS: the field's weight in the joint score */
	double maxnorm; /* no doc's tf part above it (from the tf bound and impacts) */
	/* IT_PHRASE only */
	const uint32_t **pos; /* positions of each word in the current doc */
	const uint32_t *wpos; /* word i stands at word 0's position + wpos[i] (qnode.pos:
	                       * stopwords left gaps); NULL: + i */
	int *npos, *idx;
	uint32_t phrase_tf;
	uint32_t near;  /* NEAR/k: k + 1, its words' greatest distance; 0: a phrase */
	bool lazy;      /* stop where all words occur, confirm later (MaxScore) */
	bool confirmed; /* lazy: phrase_tf holds the checked count for doc */
} it_leaf;

/* IT_AND, IT_OR, IT_FIELDS (its kids: IT_TERM leaves of one word) */
typedef struct it_op {
	uint32_t nkids, nneg; /* nneg: IT_AND only */
	struct it **kids, **neg;
	double weight; /* IT_FIELDS: the word's idf (times its repeats) */
} it_op;

/* IT_FILTER */
typedef struct it_filter {
	const qnode *q; /* Q_EXT or Q_GLOB */
	const seg *s;
} it_filter;

struct it {
	enum it_kind kind;
	uint32_t doc;
	uint64_t cost; /* an upper bound of the docs it can match */
	double maxs;   /* no doc scores more than this (MaxScore) */
	union {
		it_leaf leaf;
		it_op op;
		it_filter filter;
	};
};

/* A new iterator of this kind on no doc yet, kept in c->all; NULL (c->rc
 * set) when out of memory or after an earlier error. */
it *it_new(qctx *c, enum it_kind kind);
/* Frees every iterator of c->all. */
void it_free_all(qctx *c);
/* An AND or OR found to match nothing becomes IT_EMPTY. */
void it_make_empty(it *n);
/* Appends kid to the AND or OR parent's kids (negative: its negated ones);
 * false (c->rc set) when out of memory. */
bool it_push_kid(qctx *c, it *parent, it *kid, bool negative);
/* Adds kid to the OR n; an OR kid's kids are adopted, so ORs stay flat for
 * MaxScore.  False on an error (kid NULL, or out of memory). */
bool it_or_add(qctx *c, it *n, it *kid);
/* The OR n made of its kids (it_or_add): empty without any, the kid
 * itself with one; equal leaves (a word written several times) merged
 * into one weighing for all; its cost and maxs the sums of its kids'. */
it *it_or_finish(it *n);
/* Postings an evaluation of n may read in this segment: each list's
 * documents (a phrase reads all its words' lists), summed over the tree.
 * An upper bound of the work, for xihu_index_search_opts.max_cost: a phrase of
 * two rare-ish words can match few documents and still walk long lists. */
uint64_t it_work(const it *n);
/* The occurrences of a phrase (or NEAR) in the doc all its lists are on;
 * < 0: the positions are corrupt. */
int it_phrase_count(it_leaf *l);
/* Moves n to its first match >= target (never backwards) and returns it,
 * POSTINGS_END when there is none. */
uint32_t it_advance(it *n, uint32_t target);
/*
 * An upper bound of n's score for every doc in [d, *upto], from the skip
 * tables alone: each list's shallow cursor moves to the block holding d
 * (no block is decoded, no iterator's doc moves) and *upto is lowered to
 * the last doc of the shortest such block.  A list already past d adds
 * nothing and lowers *upto to the doc before its own: a sparse list's one
 * wide block must not lift the bound of every range it spans.  Callers ask
 * with d never decreasing.  A list with nothing at or after d adds nothing.
 */
double it_block_bound(const qctx *c, it *n, uint32_t d, uint32_t *upto);
/* A looser bound of n's score at d, the doc it is on, from its postings
 * alone: the tf (a phrase's smallest) and the shortest field of the
 * current blocks, so the doc's own field length is not read (a cache miss
 * in the doc table); an AND's is its maxs. */
double it_quick_bound(const qctx *c, const it *n, uint32_t d);
/* The tf a leaf (on its doc) can score with: a term's, a confirmed
 * phrase's count, else the smallest of its words' (a phrase occurs no more
 * often than its rarest word). */
uint32_t it_leaf_tf_bound(const it *n);
/* Score of the doc n is positioned on (the caller checked n->doc == doc). */
double it_score(const qctx *c, const seg *s, it *n, uint32_t doc);
/* Corruption met by any postings iterator of the tree. */
int it_error(const it *n);

/* ==== leaf.c: a leaf of the query -> a term or phrase iterator ============ */

/* A leaf over nterms consecutive words of one field of c->s: a term
 * (nterms == 1) or a phrase; pairable: a phrase of two adjacent words (no
 * gap, not NEAR), which a pair term can stand for.  IT_EMPTY where the
 * segment has none of it; NULL (c->rc set) on an error. */
it *leaf_new(qctx *c, uint32_t field, char *const *terms, uint32_t nterms, bool pairable);
/* One word in the fields f[0..n) of c->s, scored by BM25F: an IT_FIELDS
 * of its leaves (a lone leaf of weight 1 alone, IT_EMPTY where none has
 * it); NULL (c->rc set) on an error. */
it *fields_new(qctx *c, char *const *term, const uint32_t *f, uint32_t n);

/* ==== plan.c: the query tree -> an iterator tree ========================== */

#define NDEFAULT_FIELDS 4
/* What a bare word searches: body, path, title, def. */
extern const uint32_t plan_default_fields[NDEFAULT_FIELDS];

/* The fields a word node searches: its scope, or the default ones. */
typedef struct fieldset {
	uint32_t f[NDEFAULT_FIELDS];
	uint32_t n;
} fieldset;

/* The iterator tree of q over the segment c->s, shaped for the collectors
 * unless exact_total; NULL (c->rc set) on an error, or when it may read
 * more than max_cost postings (0: no limit). */
it *plan_segment(qctx *c, const qnode *q, uint64_t max_cost, bool exact_total);

/* ==== fuzzy.c: fuzzy words ================================================ */

#define FUZZY_MAX 64 /* terms kept per segment and field, the nearest */

/* One word's walk through a dictionary. */
typedef struct fz_walk fz_walk;

/* A term found near the word. */
typedef struct fz_hit {
	char term[XIHU_MAX_TERM + 1];
	uint32_t dist;
	uint32_t df;
} fz_hit;

/* The walk for word within k edits (1 or 2; 0: by its length), at least
 * min_k; NULL when out of memory.  Freed with free(). */
fz_walk *fz_walk_new(const char *word, uint32_t k, uint32_t min_k);
/* Collects into hits (at most FUZZY_MAX, nearest first) the terms of field
 * in segment s within w's k edits of its word.  Returns 0 or an error code
 * (c->rc). */
int fz_collect(qctx *c, const seg *s, uint32_t field, fz_walk *w, fz_hit *hits, uint32_t *nhits);
/* qsort order of fz_hits: nearest, then in the most documents, then by term. */
int fz_cmp(const void *a, const void *b);
/* The OR of the terms within q->fuzzy edits of q's word in each field of fs
 * (c->s), each scaled down by its distance; remembered in c->fz. */
it *fz_build(qctx *c, const qnode *q, const fieldset *fs);
/* Frees c->fz. */
void fz_free(qctx *c);

/* ==== topk.c: the best k hits ============================================= */

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

/* ==== collect_*.c: the collectors ========================================= */

/*
 * A collector ranks the live matches of one segment's iterator tree into
 * the top k (with the segment's index c->si) and counts them in out->total,
 * clearing out->total_exact when it counted only some.  Errors go to
 * c->rc; corruption met by the iterators is read after it (it_error).
 * One file each; search.c tries them in its order and takes the first that
 * fits the tree, the exhaustive one under exact_total.
 */
typedef struct collector {
	/* whether it can rank root's matches */
	bool (*fits)(const qctx *c, const it *root);
	void (*collect)(qctx *c, it *root, topk *t, xihu_index_results *out);
} collector;

extern const collector collector_exhaustive; /* every match: any tree, and exact_total */
extern const collector collector_taat;       /* an OR of many kids (terms, phrases, ANDs), kid at a time */
extern const collector collector_maxscore;   /* an OR: MaxScore with block-max */
extern const collector collector_and;        /* an AND: the intersection, block-max */

/* The target after doc d: d + 1, or POSTINGS_END past the last doc id. */
static inline uint32_t next_target(uint32_t d)
{
	return d == POSTINGS_END - 1 ? POSTINGS_END : d + 1;
}

/* ==== highlight.c: what a hit's lines highlight =========================== */

/* Adds to hl the patterns of q's positive leaves and every term a fuzzy
 * word expanded to (c->fz); 0 or an error code. */
int hl_build(const qctx *c, const qnode *q, hl_terms *hl);

/* ==== suggest.c: did you mean ============================================= */

/* *out: query (qlen bytes, parsed as q) with its misspelled bare words
 * replaced by their nearest terms; NULL when none is.  0 or an error code. */
int suggest_query(qctx *c, const char *query, size_t qlen, const qnode *q, char **out);

#endif
