/*
 * leaf.c: the words of a query leaf -> an iterator over one segment's
 * postings: a term, a phrase (its words' lists, positions walked), or the
 * pair term that stands for a two-word phrase (one list, no positions);
 * and a word's body and title leaves under one IT_FIELDS, scored together
 * by BM25F with the field weights of joint_weight (fields_new).
 *
 * Owns what a leaf scores with and its bound: weight = the field's weight
 * times the sum of its words' idf over the whole index (score.c), and
 * maxs, no doc's score above it, from the smallest of the words' tf
 * bounds and stored impacts.  A word missing from this segment, or a field
 * it lacks, gives an empty iterator.  Called by plan.c and fuzzy.c.
 */
#include <stdlib.h>
#include <string.h>

#include "search/search-int.h"

/* Field boosts, by measurement (bench/ir-eval, --stem english): a title
 * weighed 0.5 gives Cranfield nDCG@10 0.3798 (0.3722 at 0.75, 0.3648 at 1,
 * 0.3506 at 2: its abstracts repeat their titles); the path changes
 * nothing on CACM (0.5 to 2: MAP 0.3147), and stays 1 for code, where file
 * names are the strongest words there are.  The names a file defines
 * (field def, defs.c) weigh 3: bench/code-probe, 200 symbols of Linux,
 * Python and Go, success@1 95.0%, 94.0%, 91.0% at 2, 99.0%, 94.5%, 91.0%
 * at 3 and the same at 4 (what is left is names defined in another case,
 * Close and close, which the field folds). */
static const double field_weight[XIHU_MAX_FIELDS] = {[FIELD_BODY] = 1.0, [FIELD_PATH] = 1.0, [FIELD_TITLE] = 0.5,
                                                     [FIELD_DEF] = 3.0};

/* A leaf over the dictionary entries st[0..nterms) of one field: a word,
 * a phrase's words (positions are walked), or a pair term standing for a
 * two-word phrase; w is its words' idf. */
static it *leaf_make(qctx *c, uint32_t field, const seg_term *st, uint32_t nterms, double w)
{
	uint64_t cost = UINT64_MAX;
	for (uint32_t i = 0; i < nterms; i++)
		if (st[i].df < cost)
			cost = st[i].df;
	uint32_t max_tf = UINT32_MAX;
	for (uint32_t i = 0; i < nterms; i++)
		if (st[i].max_tf < max_tf)
			max_tf = st[i].max_tf; /* a phrase occurs no more often than its rarest word */
	it *n = it_new(c, nterms == 1 ? IT_TERM : IT_PHRASE);
	if (!n)
		return NULL;
	it_leaf *l = &n->leaf;
	l->field = field;
	l->weight = field_weight[field] * w;
	n->cost = cost;
	l->pp = calloc(nterms, sizeof *l->pp);
	if (nterms > 1) {
		l->pos = calloc(nterms, sizeof *l->pos);
		l->npos = calloc(nterms, sizeof *l->npos);
		l->idx = calloc(nterms, sizeof *l->idx);
	}
	if (!l->pp || (nterms > 1 && (!l->pos || !l->npos || !l->idx))) {
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return NULL;
	}
	l->nterms = nterms;
	/* a phrase occurs no more often than its rarest word, so its tf part
	 * is bounded by the smallest of its words' */
	double norm = score_tf_bound(c, max_tf);
	for (uint32_t i = 0; i < nterms; i++) {
		int r = postings_init(&l->pp[i], c->s, &st[i], c->err);
		if (r) {
			l->nterms = i;
			c->rc = r;
			return NULL;
		}
		double imp = score_impact_norm(c, field, l->pp[i].term_max_impact);
		if (imp < norm)
			norm = imp;
	}
	l->maxnorm = norm;
	l->fw = 1.0;
	n->maxs = l->weight * norm * BOUND_SLACK + SCORE_QUANTUM;
	return n;
}

/*
 * The pair term of a two-word phrase whose words are both pair words
 * (seg_writer.c, add_pairs): it holds, per document, how often the phrase
 * occurs, so the phrase is one list and no positions are walked.  Scored
 * as the phrase is (weight: its words' idf), so a segment answers alike
 * either way.  Returns false where the index has no such pair term to
 * offer (then positions are walked); *out is NULL on an error, an empty
 * iterator where the phrase does not occur in this segment.
 */
static bool pair_leaf(qctx *c, uint32_t field, char *const *terms, double w, it **out)
{
	const analysis *an = index_analysis(c->ix);
	uint32_t l0 = (uint32_t)strlen(terms[0]), l1 = (uint32_t)strlen(terms[1]), klen;
	uint8_t key[XIHU_MAX_TERM];
	if (!analysis_npairwords(an) || !analysis_is_pairword(an, terms[0], l0) ||
	    !analysis_is_pairword(an, terms[1], l1) || !(klen = pair_term(key, terms[0], l0, terms[1], l1)))
		return false;
	seg_term pt;
	int r = seg_lookup(c->s, field | XIHU_PAIR_FIELD, (const char *)key, klen, &pt, c->err);
	*out = NULL;
	if (r < 0) {
		c->rc = -r;
		return true;
	}
	*out = r ? leaf_make(c, field, &pt, 1, w) : it_new(c, IT_EMPTY);
	return true;
}

static it *leaf_lookup(qctx *c, uint32_t field, char *const *terms, uint32_t nterms, bool pairable, seg_term *st)
{
	double w = 0;
	for (uint32_t i = 0; i < nterms; i++) {
		uint32_t len = (uint32_t)strlen(terms[i]);
		uint64_t df;
		const seg_term *here;
		if (score_df(c, field, terms[i], len, &df, &here))
			return NULL;
		if (!here)
			return it_new(c, IT_EMPTY);
		st[i] = *here;
		w += score_idf(c->ndocs, df);
	}
	it *pair;
	if (pairable && nterms == 2 && pair_leaf(c, field, terms, w, &pair))
		return pair;
	return leaf_make(c, field, st, nterms, w);
}

/*
 * A word's weight in each field of its joint score (BM25F), by measurement
 * (bench/ir-eval, six collections, --stem english, nDCG@10): a title at 1
 * gives a mean of 0.4952, at 2 0.4987, at 3 0.5015, at 5 0.5014 (ADI
 * 0.4749, 0.4773, 0.4920, 0.4946; Cranfield 0.3731 .. 0.3823); summing
 * each field's own BM25 instead (title 0.5) gives 0.4950.  Within one
 * saturation a title word counts as three body words: a document whose
 * title has the word is about it, however often its body says it.
 */
static const double joint_weight[XIHU_MAX_FIELDS] = {[FIELD_BODY] = 1.0, [FIELD_TITLE] = 3.0};

it *fields_new(qctx *c, char *const *term, const uint32_t *f, uint32_t nf)
{
	/* idf from the most documents any one field has the word in: the
	 * documents with it anywhere, as near as the dictionaries tell */
	uint64_t df = 0;
	uint32_t len = (uint32_t)strlen(term[0]);
	for (uint32_t i = 0; i < nf; i++) {
		uint64_t d;
		const seg_term *here;
		if (score_df(c, f[i], term[0], len, &d, &here))
			return NULL;
		if (d > df)
			df = d;
	}
	double w = score_idf(c->ndocs, df), x = 0;
	it *n = it_new(c, IT_FIELDS);
	for (uint32_t i = 0; n && i < nf; i++) {
		it *leaf = leaf_new(c, f[i], term, 1, false);
		if (!leaf)
			return NULL;
		if (leaf->kind == IT_EMPTY)
			continue;
		leaf->leaf.fw = joint_weight[f[i]];
		leaf->leaf.weight = w * leaf->leaf.fw;
		leaf->maxs = leaf->leaf.weight * leaf->leaf.maxnorm * BOUND_SLACK + SCORE_QUANTUM;
		if (!it_push_kid(c, n, leaf, false))
			return NULL;
		n->cost += leaf->cost;
		x += leaf->leaf.fw * score_norm_x(c, leaf->leaf.maxnorm);
	}
	if (!n)
		return NULL;
	if (n->op.nkids == 0) {
		it_make_empty(n);
		return n;
	}
	/* one field of weight 1: x / (x + k1) is that field's own BM25 */
	if (n->op.nkids == 1 && n->op.kids[0]->leaf.fw == 1.0)
		return n->op.kids[0];
	n->op.weight = w;
	n->maxs = w * score_x_norm(c, x) * BOUND_SLACK + SCORE_QUANTUM;
	return n;
}

it *leaf_new(qctx *c, uint32_t field, char *const *terms, uint32_t nterms, bool pairable)
{
	/* a field with no token in this segment (title in a tree of files) has nothing to find */
	if (field >= seg_nfields(c->s) || !seg_field_total(c->s, field))
		return it_new(c, IT_EMPTY);
	seg_term *st = malloc(nterms * sizeof *st);
	if (!st) {
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return NULL;
	}
	it *n = leaf_lookup(c, field, terms, nterms, pairable, st);
	free(st);
	return n;
}
