/*
 * iter.c: the iterators a query is evaluated with, over one segment.
 *
 * Kinds (search-int.h, a tagged union): a term (one postings list), a
 * phrase or NEAR (its words' lists, positions checked), an AND (all kids,
 * none of its negated ones), an OR (any kid), a word's fields (any of its
 * field leaves, their tf added before one saturation: BM25F), a path
 * filter (ext:, path:) and the empty iterator.  This file owns what they do: it_advance (move
 * to the first match >= a target), it_score (BM25 of the current doc),
 * it_block_bound (a bound from the skip tables alone, for block-max
 * pruning), it_work (the postings a plan may read), it_error (corruption
 * met on the way), and their allocation: every iterator of a query is in
 * qctx.all and freed at once.  ORs are built flat (it_or_add), and
 * it_or_finish makes the leaves a query repeats one leaf weighing for all.
 *
 * Invariants: an iterator's doc is the doc it is positioned on, or
 * POSTINGS_END; advance(t) never moves backwards.  A phrase occurs no more
 * often than its rarest word.  Built by plan.c, leaf.c and fuzzy.c; driven
 * by the collectors (collect_*.c).
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

#include "search/search-int.h"

/* ---- allocation ---------------------------------------------------------- */

/* Iterators one segment's plan may make.  A plain word makes a few (one per
 * field), but prefixes and fuzzy words make a leaf per term they expand to,
 * some 1.7 KB each with its postings cursor: this bounds a query's memory
 * (about 55 MB) whatever its thousand terms expand to. */
#define IT_MAX (1u << 15)
/* Iterators past which freeing them gives the memory back (malloc_trim):
 * some 14 MB; a 1,000-word query makes about 4,000. */
#define IT_TRIM (1u << 13)

it *it_new(qctx *c, enum it_kind kind)
{
	if (c->rc)
		return NULL;
	if (c->nall >= IT_MAX) {
		c->rc = xihu_err_set(c->err, XIHU_ELIMIT,
		                     "query: its prefixes and fuzzy words expand to more than %u terms (the limit)",
		                     IT_MAX);
		return NULL;
	}
	if (c->nall == c->capall) {
		size_t cap = c->capall ? c->capall * 2 : 16;
		it **a = realloc(c->all, cap * sizeof *a);
		if (!a) {
			c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
			return NULL;
		}
		c->all = a;
		c->capall = cap;
	}
	it *n = calloc(1, sizeof *n);
	if (!n) {
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return NULL;
	}
	n->kind = kind;
	n->doc = POSTINGS_END;
	c->all[c->nall++] = n;
	return n;
}

/* Frees what n's kind holds (not its kids: every iterator is in c->all). */
static void it_free(it *n)
{
	switch (n->kind) {
	case IT_TERM:
	case IT_PHRASE:
		if (n->leaf.pp) {
			for (uint32_t j = 0; j < n->leaf.nterms; j++)
				postings_free(&n->leaf.pp[j]);
			free(n->leaf.pp);
		}
		free(n->leaf.pos);
		free(n->leaf.npos);
		free(n->leaf.idx);
		break;
	case IT_AND:
	case IT_OR:
	case IT_FIELDS:
		free(n->op.kids);
		free(n->op.neg);
		break;
	case IT_EMPTY:
	case IT_FILTER:
		break;
	}
	free(n);
}

void it_make_empty(it *n)
{
	free(n->op.kids);
	free(n->op.neg);
	n->op = (it_op){0};
	n->kind = IT_EMPTY;
}

void it_free_all(qctx *c)
{
	for (size_t i = 0; i < c->nall; i++)
		it_free(c->all[i]);
	free(c->all);
#ifdef __GLIBC__
	/* tens of MB of small blocks just freed (prefixes and fuzzy words
	 * expanded to thousands of leaves) would stay in this thread's malloc
	 * arena: in xihud each worker would keep the most its queries ever
	 * made (the hostile test: 57 MB after one such query, 105 MB after two) */
	if (c->nall >= IT_TRIM)
		malloc_trim(0);
#endif
	c->all = NULL;
	c->nall = c->capall = 0;
}

/* The kid arrays double at each power of two (an OR of a thousand words
 * adopts thousands of leaves one at a time). */
bool it_push_kid(qctx *c, it *parent, it *kid, bool negative)
{
	it ***arr = negative ? &parent->op.neg : &parent->op.kids;
	uint32_t *n = negative ? &parent->op.nneg : &parent->op.nkids;
	if ((*n & (*n - 1)) == 0) {
		it **a = realloc(*arr, (*n ? 2 * (size_t)*n : 1) * sizeof *a);
		if (!a) {
			c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
			return false;
		}
		*arr = a;
	}
	(*arr)[(*n)++] = kid;
	return true;
}

/* ---- plan cost ----------------------------------------------------------- */

uint64_t it_work(const it *n)
{
	uint64_t w = 0;
	switch (n->kind) {
	case IT_EMPTY:
		return 0;
	case IT_FILTER:
		return n->cost;
	case IT_TERM:
	case IT_PHRASE:
		for (uint32_t i = 0; i < n->leaf.nterms; i++)
			w += n->leaf.pp[i].df;
		return w;
	case IT_AND:
	case IT_OR:
	case IT_FIELDS:
		for (uint32_t i = 0; i < n->op.nkids; i++)
			w += it_work(n->op.kids[i]);
		for (uint32_t i = 0; i < n->op.nneg; i++)
			w += it_work(n->op.neg[i]);
		return w;
	}
	return w;
}

/* ---- leaves: a phrase's occurrences, all lists on one doc ---------------- */

int it_phrase_count(it_leaf *l)
{
	const uint32_t **pos = l->pos;
	int *npos = l->npos, *idx = l->idx;
	for (uint32_t i = 0; i < l->nterms; i++) {
		npos[i] = postings_positions(&l->pp[i], &pos[i]);
		if (npos[i] < 0)
			return npos[i];
	}
	int count = 0;
	if (l->near) {
		/* NEAR/k (l->near = k + 1): the first word's positions with every
		 * other word at most k words away (k + 1 positions), in either
		 * direction; capped at the rarest word's count, so the phrase
		 * bounds hold */
		uint64_t w = l->near;
		int cap = npos[0];
		for (uint32_t i = 1; i < l->nterms; i++)
			if (npos[i] < cap)
				cap = npos[i];
		memset(idx, 0, l->nterms * sizeof *idx);
		for (int a = 0; a < npos[0] && count < cap; a++) {
			uint64_t x = pos[0][a], lo = x > w ? x - w : 0, hi = x + w;
			bool ok = true;
			for (uint32_t i = 1; i < l->nterms && ok; i++) {
				while (idx[i] < npos[i] && pos[i][idx[i]] < lo)
					idx[i]++;
				ok = idx[i] < npos[i] && pos[i][idx[i]] <= hi;
			}
			count += ok;
		}
		return count;
	}
	if (l->nterms == 2) {
		/* the common case, as one merge of the two lists */
		const uint32_t *a = pos[0], *b = pos[1];
		int na = npos[0], nb = npos[1], i = 0, j = 0;
		while (i < na && j < nb) {
			uint64_t x = (uint64_t)a[i] + (l->wpos ? l->wpos[1] : 1), y = b[j];
			if (x < y) {
				i++;
			} else if (x > y) {
				j++;
			} else {
				count++;
				i++;
				j++;
			}
		}
		return count;
	}
	/* for each start x of the first word, word i must be at x + i (+ wpos[i]) */
	memset(idx, 0, l->nterms * sizeof *idx);
	for (int a = 0; a < npos[0]; a++) {
		uint64_t x = pos[0][a];
		bool ok = true;
		for (uint32_t i = 1; i < l->nterms && ok; i++) {
			uint64_t want = x + (l->wpos ? l->wpos[i] : i);
			while (idx[i] < npos[i] && pos[i][idx[i]] < want)
				idx[i]++;
			ok = idx[i] < npos[i] && pos[i][idx[i]] == want;
		}
		count += ok;
	}
	return count;
}

/* All terms of a leaf positioned on the first common doc >= target. */
static uint32_t leaf_align(it_leaf *l, uint32_t d)
{
	for (uint32_t i = 0; i < l->nterms;) {
		postings *p = &l->pp[i];
		uint32_t k = p->doc >= d ? p->doc : postings_advance(p, d);
		if (k == POSTINGS_END)
			return POSTINGS_END;
		if (k > d) {
			d = k;
			i = 0;
			continue;
		}
		i++;
	}
	return d;
}

/* ---- path filters (ext:, path:) ------------------------------------------ */

static bool filter_pass(const qnode *q, const char *name, uint32_t len)
{
	char path[4096];
	if (len >= sizeof path)
		len = sizeof path - 1;
	memcpy(path, name, len);
	path[len] = 0;
	if (q->kind == Q_EXT) {
		const char *slash = strrchr(path, '/');
		const char *dot = strrchr(slash ? slash + 1 : path, '.');
		if (!dot || dot == (slash ? slash + 1 : path))
			return false; /* no extension (".bashrc" is a name, not one) */
		for (char *p = (char *)dot + 1; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		return fnmatch(q->terms[0], dot + 1, 0) == 0;
	}
	/* path:GLOB: the whole path, or any tail of it after a '/' */
	const char *g = q->terms[0];
	if (fnmatch(g, path, 0) == 0)
		return true;
	for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/'))
		if (fnmatch(g, p + 1, 0) == 0)
			return true;
	return false;
}

static uint32_t filter_advance(const it_filter *f, uint32_t d)
{
	for (uint32_t nd = seg_ndocs(f->s); d < nd; d++) {
		seg_doc doc;
		if (seg_doc_get(f->s, d, &doc, NULL))
			return POSTINGS_END;
		if (!doc.record && filter_pass(f->q, doc.name, doc.name_len))
			return d;
	}
	return POSTINGS_END;
}

/* ---- advance, bound, score ----------------------------------------------- */

uint32_t it_advance(it *n, uint32_t target)
{
	if (n->doc != POSTINGS_END && n->doc >= target)
		return n->doc;
	uint32_t d = target;
	switch (n->kind) {
	case IT_EMPTY:
		return POSTINGS_END;
	case IT_TERM:
		d = leaf_align(&n->leaf, d);
		break;
	case IT_PHRASE:
		if (n->leaf.lazy) {
			d = leaf_align(&n->leaf, d);
			n->leaf.phrase_tf = 0;
			n->leaf.confirmed = false;
			break;
		}
		for (;;) {
			d = leaf_align(&n->leaf, d);
			if (d == POSTINGS_END)
				break;
			int k = it_phrase_count(&n->leaf);
			if (k < 0) {
				d = POSTINGS_END;
				break;
			}
			if (k > 0) {
				n->leaf.phrase_tf = (uint32_t)k;
				break;
			}
			if (d == POSTINGS_END - 1) {
				d = POSTINGS_END;
				break;
			}
			d++;
		}
		break;
	case IT_AND:
		for (uint32_t i = 0; i < n->op.nkids;) {
			uint32_t k = it_advance(n->op.kids[i], d);
			if (k == POSTINGS_END) {
				d = k;
				break;
			}
			if (k > d) {
				d = k;
				i = 0;
				continue;
			}
			if (++i < n->op.nkids)
				continue;
			/* all positives agree on d: check the exclusions */
			bool excluded = false;
			for (uint32_t j = 0; j < n->op.nneg && !excluded; j++)
				excluded = it_advance(n->op.neg[j], d) == d;
			if (!excluded)
				break;
			if (d == POSTINGS_END - 1) {
				d = POSTINGS_END;
				break;
			}
			d++;
			i = 0;
		}
		break;
	case IT_OR:
	case IT_FIELDS:
		d = POSTINGS_END;
		for (uint32_t i = 0; i < n->op.nkids; i++) {
			uint32_t k = it_advance(n->op.kids[i], target);
			if (k < d)
				d = k;
		}
		break;
	case IT_FILTER:
		d = filter_advance(&n->filter, d);
		break;
	}
	return n->doc = d;
}

/* The tf part of BM25 bounded over the block p's shallow cursor is on: the
 * tighter of the stored impact (scaled to the query's average length) and
 * the (largest tf, shortest field) pair. */
static double block_norm(const qctx *c, uint32_t field, const postings *p)
{
	double a = score_tf_norm(c, p->sh_max_tf, p->sh_min_dl, c->avglen[field]);
	double b = score_impact_norm(c, field, p->sh_impact);
	return a < b ? a : b;
}

/* A leaf's tf part bounded over [d, *upto] from the skip tables (see
 * it_block_bound), lowering *upto; 0 where it has nothing there. */
static double leaf_block_norm(const qctx *c, it_leaf *l, uint32_t d, uint32_t *upto)
{
	double m = INFINITY;
	for (uint32_t i = 0; i < l->nterms; i++) {
		postings *p = &l->pp[i];
		if (p->doc == POSTINGS_END)
			return 0;
		if (p->doc > d) {
			/* nothing before its next doc: no share of [d, doc) */
			if (p->doc - 1 < *upto)
				*upto = p->doc - 1;
			return 0;
		}
		uint32_t last = postings_shallow(p, d);
		if (last == POSTINGS_END)
			return 0;
		if (last < *upto)
			*upto = last;
		double b = block_norm(c, l->field, p);
		if (b < m)
			m = b;
	}
	return m;
}

double it_block_bound(const qctx *c, it *n, uint32_t d, uint32_t *upto)
{
	double sum = 0, m;
	switch (n->kind) {
	case IT_EMPTY:
	case IT_FILTER: /* scores nothing */
		return 0;
	case IT_TERM:
	case IT_PHRASE:
		m = leaf_block_norm(c, &n->leaf, d, upto);
		return m > 0 ? n->leaf.weight * m * BOUND_SLACK + SCORE_QUANTUM : 0;
	case IT_FIELDS:
		for (uint32_t i = 0; i < n->op.nkids; i++) {
			it_leaf *l = &n->op.kids[i]->leaf;
			sum += l->fw * score_norm_x(c, leaf_block_norm(c, l, d, upto));
		}
		return sum > 0 ? n->op.weight * score_x_norm(c, sum) * BOUND_SLACK + SCORE_QUANTUM : 0;
	case IT_AND:
	case IT_OR:
		for (uint32_t i = 0; i < n->op.nkids; i++)
			sum += it_block_bound(c, n->op.kids[i], d, upto);
		return sum;
	}
	return 0;
}

uint32_t it_leaf_tf_bound(const it *n)
{
	const it_leaf *l = &n->leaf;
	uint32_t tf = n->kind == IT_PHRASE && (!l->lazy || l->confirmed) ? l->phrase_tf : UINT32_MAX;
	for (uint32_t i = 0; i < l->nterms; i++)
		if (postings_freq(&l->pp[i]) < tf)
			tf = postings_freq(&l->pp[i]);
	return tf;
}

/* A leaf's tf part at its doc bounded from its postings alone: its tf
 * bound and the shortest field of its current blocks. */
static double leaf_quick_norm(const qctx *c, const it *n)
{
	const it_leaf *l = &n->leaf;
	uint32_t dl = 0; /* no shorter than any current block's shortest */
	for (uint32_t i = 0; i < l->nterms; i++)
		if (l->pp[i].blk_min_dl > dl)
			dl = l->pp[i].blk_min_dl;
	return score_tf_norm(c, it_leaf_tf_bound(n), dl, c->avglen[l->field]);
}

double it_quick_bound(const qctx *c, const it *n, uint32_t d)
{
	double sum = 0;
	switch (n->kind) {
	case IT_EMPTY:
	case IT_FILTER:
		return 0;
	case IT_TERM:
	case IT_PHRASE:
		return n->leaf.weight * leaf_quick_norm(c, n) * BOUND_SLACK + SCORE_QUANTUM;
	case IT_FIELDS:
		for (uint32_t i = 0; i < n->op.nkids; i++)
			if (n->op.kids[i]->doc == d)
				sum += n->op.kids[i]->leaf.fw * score_norm_x(c, leaf_quick_norm(c, n->op.kids[i]));
		return n->op.weight * score_x_norm(c, sum) * BOUND_SLACK + SCORE_QUANTUM;
	case IT_AND:
		return n->maxs;
	case IT_OR:
		for (uint32_t i = 0; i < n->op.nkids; i++)
			if (n->op.kids[i]->doc == d)
				sum += it_quick_bound(c, n->op.kids[i], d);
		return sum;
	}
	return n->maxs;
}

double it_score(const qctx *c, const seg *s, it *n, uint32_t doc)
{
	double sum = 0;
	switch (n->kind) {
	case IT_EMPTY:
	case IT_FILTER:
		return 0;
	case IT_TERM:
	case IT_PHRASE: {
		const it_leaf *l = &n->leaf;
		uint32_t tf = n->kind == IT_TERM ? postings_freq(&l->pp[0]) : l->phrase_tf;
		uint32_t len = seg_doc_field_len(s, doc, l->field);
		return score_leaf(l->weight, score_tf_norm(c, tf, len, c->avglen[l->field]));
	}
	case IT_FIELDS:
		/* x: each field's fw * tf / (1 - b + b * len / avglen) */
		for (uint32_t i = 0; i < n->op.nkids; i++) {
			const it *k = n->op.kids[i];
			if (k->doc != doc)
				continue;
			const it_leaf *l = &k->leaf;
			uint32_t len = seg_doc_field_len(s, doc, l->field);
			sum += l->fw * score_tf_x(c, postings_freq(&l->pp[0]), len, c->avglen[l->field]);
		}
		return score_leaf(n->op.weight, score_x_norm(c, sum));
	case IT_AND:
		for (uint32_t i = 0; i < n->op.nkids; i++)
			sum += it_score(c, s, n->op.kids[i], doc);
		return sum;
	case IT_OR:
		for (uint32_t i = 0; i < n->op.nkids; i++)
			if (n->op.kids[i]->doc == doc)
				sum += it_score(c, s, n->op.kids[i], doc);
		return sum;
	}
	return 0;
}

int it_error(const it *n)
{
	switch (n->kind) {
	case IT_TERM:
	case IT_PHRASE:
		for (uint32_t i = 0; n->leaf.pp && i < n->leaf.nterms; i++)
			if (n->leaf.pp[i].rc)
				return n->leaf.pp[i].rc;
		return 0;
	case IT_AND:
	case IT_OR:
	case IT_FIELDS:
		for (uint32_t i = 0; i < n->op.nkids; i++) {
			int r = it_error(n->op.kids[i]);
			if (r)
				return r;
		}
		for (uint32_t i = 0; i < n->op.nneg; i++) {
			int r = it_error(n->op.neg[i]);
			if (r)
				return r;
		}
		return 0;
	case IT_EMPTY:
	case IT_FILTER:
		return 0;
	}
	return 0;
}

/* ---- building ORs (plan.c, fuzzy.c) --------------------------------------- */

/* Whether n is a leaf (or a word's fields) it_or_finish may merge with its equals. */
static bool mergeable(const it *n)
{
	return ((n->kind == IT_TERM || n->kind == IT_PHRASE) && !n->leaf.lazy) || n->kind == IT_FIELDS;
}

/* An order in which equal leaves (the same lists of the same field, the
 * same weight and phrase shape) are neighbours; other kids go last. */
static int cmp_leaf(const void *a, const void *b)
{
	const it *x = *(it *const *)a, *y = *(it *const *)b;
	if (mergeable(x) != mergeable(y))
		return mergeable(x) ? -1 : 1;
	if (!mergeable(x))
		return 0;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->kind == IT_FIELDS) {
		if (x->op.nkids != y->op.nkids)
			return x->op.nkids < y->op.nkids ? -1 : 1;
		for (uint32_t i = 0; i < x->op.nkids; i++) {
			int r = cmp_leaf(&x->op.kids[i], &y->op.kids[i]);
			if (r)
				return r;
		}
		return x->op.weight < y->op.weight ? -1 : x->op.weight > y->op.weight;
	}
	const it_leaf *l = &x->leaf, *m = &y->leaf;
	if (l->field != m->field)
		return l->field < m->field ? -1 : 1;
	if (l->nterms != m->nterms)
		return l->nterms < m->nterms ? -1 : 1;
	for (uint32_t i = 0; i < l->nterms; i++) {
		const seg_term *s = &l->pp[i].t, *t = &m->pp[i].t;
		if (s->post_off != t->post_off)
			return s->post_off < t->post_off ? -1 : 1;
		if (s->pos_off != t->pos_off)
			return s->pos_off < t->pos_off ? -1 : 1;
		if (l->wpos && m->wpos && l->wpos[i] != m->wpos[i])
			return l->wpos[i] < m->wpos[i] ? -1 : 1;
	}
	if (!l->wpos != !m->wpos)
		return l->wpos ? -1 : 1;
	if (l->near != m->near)
		return l->near < m->near ? -1 : 1;
	if (l->weight != m->weight)
		return l->weight < m->weight ? -1 : 1;
	return 0;
}

/*
 * A word repeated in an OR (a pasted paragraph says "the" fifty times) is
 * one leaf: the first of its equals weighs for them all (weight and maxs
 * times their number) and the others leave the OR (they stay in c->all).
 * A doc's score is then the sum as before, but for the rounding of one
 * leaf score instead of k (SCORE_QUANTUM), and each list is read once.
 */
static void merge_equal_leaves(it *n)
{
	it **k = n->op.kids;
	uint32_t nk = n->op.nkids, out = 0;
	qsort(k, nk, sizeof *k, cmp_leaf);
	for (uint32_t i = 0; i < nk;) {
		uint32_t j = i + 1;
		while (j < nk && mergeable(k[i]) && cmp_leaf(&k[i], &k[j]) == 0)
			j++;
		if (j - i > 1) {
			if (k[i]->kind == IT_FIELDS)
				k[i]->op.weight *= (double)(j - i);
			else
				k[i]->leaf.weight *= (double)(j - i);
			k[i]->maxs *= (double)(j - i);
		}
		k[out++] = k[i];
		i = j;
	}
	n->op.nkids = out;
}

it *it_or_finish(it *n)
{
	if (!n)
		return NULL;
	if (n->op.nkids > 1)
		merge_equal_leaves(n);
	if (n->op.nkids == 0) {
		it_make_empty(n);
		return n;
	}
	if (n->op.nkids == 1)
		return n->op.kids[0];
	for (uint32_t i = 0; i < n->op.nkids; i++) {
		n->cost += n->op.kids[i]->cost;
		n->maxs += n->op.kids[i]->maxs;
	}
	return n;
}

bool it_or_add(qctx *c, it *n, it *kid)
{
	if (!kid)
		return false;
	if (kid->kind == IT_OR) {
		for (uint32_t i = 0; i < kid->op.nkids; i++)
			if (!it_push_kid(c, n, kid->op.kids[i], false))
				return false;
		return true;
	}
	return kid->kind == IT_EMPTY || it_push_kid(c, n, kid, false);
}
