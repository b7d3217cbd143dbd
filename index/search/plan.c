/*
 * plan.c: the query tree -> one segment's iterator tree, and the choices
 * that make it fast to rank.
 *
 * A word, phrase or NEAR searches its scope's field, or else the default
 * fields (body, path, title, def): an OR of one leaf per field (leaf.c),
 * but a word's body and title leaves are one IT_FIELDS, scored together
 * by BM25F.  A
 * prefix is the OR of its expansions in this segment (at most
 * max_prefix_expansions), a fuzzy word that of its near terms (fuzzy.c),
 * ext: and path: a filter.  ORs stay flat (an OR kid's kids are adopted)
 * and drop empty kids, so MaxScore sees every list; an AND puts its
 * cheapest kid first to lead the intersection and is empty when a positive
 * kid is; a node of one kid is that kid.  Unless exact_total, a lone word
 * or phrase goes in an OR of one so MaxScore can skip its blocks; a plan
 * that may read more than max_cost postings is refused.
 *
 * Invariants: an iterator's cost bounds the docs it matches, its maxs the
 * score of any of them (a sum over kids for AND and OR).  Called by
 * search.c once per segment; ORs are built with iter.c's it_or_add, as
 * fuzzy.c builds its own.
 */
#include <stdlib.h>
#include <string.h>

#include "search/search-int.h"

const uint32_t plan_default_fields[NDEFAULT_FIELDS] = {FIELD_BODY, FIELD_PATH, FIELD_TITLE, FIELD_DEF};

/* ---- the tree ------------------------------------------------------------ */

static it *build(qctx *c, const qnode *q);

/* A word, a phrase or a NEAR: one leaf per field; a word in the default
 * fields scored by BM25F over the document's text, body and title
 * (fields_new), its path and def leaves beside them: a file's name and
 * the names it defines are about the file, not more of its text. */
static it *build_words(qctx *c, const qnode *q, const fieldset *fs)
{
	it *n = it_new(c, IT_OR);
	fieldset rest = {{0}, 0};
	if (n && q->kind == Q_TERM && fs->n > 1) {
		uint32_t text[NDEFAULT_FIELDS], nt = 0;
		for (size_t f = 0; f < fs->n; f++)
			if (fs->f[f] == FIELD_BODY || fs->f[f] == FIELD_TITLE)
				text[nt++] = fs->f[f];
			else
				rest.f[rest.n++] = fs->f[f];
		if (!it_or_add(c, n, fields_new(c, q->terms, text, nt)))
			return NULL;
		fs = &rest;
	}
	for (size_t f = 0; n && f < fs->n; f++) {
		if (q->whole_def && fs->f[f] == FIELD_DEF) {
			/* an identifier: its whole name, not its words (which the
			 * def field holds only for headings and non-ASCII names) */
			if (!it_or_add(c, n, leaf_new(c, FIELD_DEF, &q->whole_def, 1, false)))
				return NULL;
			/* and as typed, when its case is mixed: the exact definer first */
			if (q->exact_def && !it_or_add(c, n, leaf_new(c, FIELD_DEF, &q->exact_def, 1, false)))
				return NULL;
			continue;
		}
		bool pairable = q->kind == Q_PHRASE && q->nterms == 2 && (!q->pos || q->pos[1] == 1);
		it *leaf = leaf_new(c, fs->f[f], q->terms, q->nterms, pairable);
		if (leaf && leaf->kind == IT_PHRASE && q->kind == Q_NEAR)
			leaf->leaf.near = q->near + 1; /* +1: NEAR/0 is adjacent in any order */
		if (leaf && leaf->kind == IT_PHRASE && q->kind == Q_PHRASE)
			leaf->leaf.wpos = q->pos;
		if (!it_or_add(c, n, leaf))
			return NULL;
	}
	return it_or_finish(n);
}

/* A prefix: the OR of its expansions in this segment. */
static it *build_prefix(qctx *c, const qnode *q, const fieldset *fs)
{
	it *n = it_new(c, IT_OR);
	uint32_t expansions = 0;
	uint64_t work = 0; /* the expansions' postings so far */
	const uint32_t *fields = fs->f;
	const uint32_t plen = (uint32_t)strlen(q->terms[0]);
	for (size_t f = 0; n && f < fs->n; f++) {
		seg_term_iter ti;
		const char *term;
		uint32_t len;
		seg_term st;
		if (score_df_prefill(c, fields[f], q->terms[0], plen))
			return NULL;
		int r = seg_prefix_init(&ti, c->s, fields[f], q->terms[0], plen, c->err);
		while (r == 0 && (r = seg_prefix_next(&ti, &term, &len, &st, c->err)) > 0) {
			r = 0;
			if ((expansions & 63) == 63 && stop_now(c))
				return NULL;
			if (++expansions > c->lim->max_prefix_expansions) {
				c->rc = xihu_err_set(c->err, XIHU_ELIMIT,
				                     "query column %u: %s* matches more than %u terms (the prefix limit)",
				                     q->column, q->terms[0], c->lim->max_prefix_expansions);
				c->err->column = q->column;
				return NULL;
			}
			/* refused as soon as it is too big, not once every leaf is made
			 * (xihud runs a query on its loop thread under a max_cost and
			 * hands a refused one to a worker, which plans it again) */
			work += st.df;
			if (c->max_cost && work > c->max_cost) {
				c->rc = xihu_err_set(c->err, XIHU_ETIMEOUT, "search: more work than max_cost allows");
				return NULL;
			}
			char buf[XIHU_MAX_TERM + 1];
			memcpy(buf, term, len);
			buf[len] = 0;
			char *one = buf;
			if (!it_or_add(c, n, leaf_new(c, fields[f], &one, 1, false)))
				return NULL;
		}
		if (r) { /* < 0 from seg_prefix_next, > 0 from seg_prefix_init */
			c->rc = r < 0 ? -r : r;
			return NULL;
		}
	}
	return it_or_finish(n);
}

/*
 * A scope's field id in the segment being built for, by name (segments may
 * number their fields differently): UINT32_MAX when this segment lacks it.
 * Returns false when no segment of the index has the field at all.
 */
static bool scope_field(qctx *c, const char *name, uint32_t *id)
{
	bool any = false;
	*id = UINT32_MAX;
	const seg *s = c->s;
	for (uint32_t f = 0; f < seg_nfields(s); f++) {
		const char *fn = seg_field_name(s, f);
		if (fn && !strcmp(fn, name)) {
			*id = f;
			return true;
		}
	}
	for (uint32_t i = 0; i < index_nsegs(c->ix) && !any; i++) {
		const seg *o = index_seg(c->ix, i);
		for (uint32_t f = 0; f < seg_nfields(o) && !any; f++) {
			const char *fn = seg_field_name(o, f);
			any = fn && !strcmp(fn, name);
		}
	}
	return any; /* in another segment only: nothing to find in this one */
}

static it *build_filter(qctx *c, const qnode *q)
{
	it *n = it_new(c, IT_FILTER);
	if (n) {
		n->filter.q = q;
		n->filter.s = c->s;
		n->cost = seg_ndocs(c->s);
	}
	return n;
}

static it *build_or(qctx *c, const qnode *q)
{
	it *n = it_new(c, IT_OR);
	for (uint32_t i = 0; n && i < q->nkids; i++)
		if (!it_or_add(c, n, build(c, q->kids[i])))
			return NULL;
	return it_or_finish(n);
}

static it *build_and(qctx *c, const qnode *q)
{
	it *n = it_new(c, IT_AND);
	bool empty = false;
	for (uint32_t i = 0; n && i < q->nkids; i++) {
		const qnode *k = q->kids[i];
		bool neg = k->kind == Q_NOT;
		it *kid = build(c, neg ? k->kids[0] : k);
		if (!kid)
			return NULL;
		if (kid->kind == IT_EMPTY) {
			empty |= !neg; /* a missing positive empties the AND */
			continue;
		}
		if (!it_push_kid(c, n, kid, neg))
			return NULL;
	}
	if (!n)
		return NULL;
	if (empty || n->op.nkids == 0) {
		it_make_empty(n);
		return n;
	}
	it **kids = n->op.kids;
	if (n->op.nkids == 1 && n->op.nneg == 0)
		return kids[0];
	/* cheapest first: it leads the intersection */
	for (uint32_t i = 1; i < n->op.nkids; i++)
		for (uint32_t j = i; j > 0 && kids[j]->cost < kids[j - 1]->cost; j--) {
			it *t = kids[j];
			kids[j] = kids[j - 1];
			kids[j - 1] = t;
		}
	n->cost = kids[0]->cost;
	for (uint32_t i = 0; i < n->op.nkids; i++)
		n->maxs += kids[i]->maxs;
	return n;
}

static it *build(qctx *c, const qnode *q)
{
	if (c->rc)
		return NULL;
	fieldset fs = {.n = NDEFAULT_FIELDS};
	memcpy(fs.f, plan_default_fields, sizeof plan_default_fields);
	if (q->field) {
		uint32_t id;
		if (!scope_field(c, q->field, &id))
			return q->fallback ? build(c, q->fallback) : it_new(c, IT_EMPTY);
		if (id == UINT32_MAX)
			return it_new(c, IT_EMPTY);
		fs.f[0] = id;
		fs.n = 1;
	}
	switch (q->kind) {
	case Q_TERM:
	case Q_PHRASE:
	case Q_NEAR:
		return build_words(c, q, &fs);
	case Q_PREFIX:
		return build_prefix(c, q, &fs);
	case Q_FUZZY:
		return fz_build(c, q, &fs);
	case Q_EXT:
	case Q_GLOB:
		return build_filter(c, q);
	case Q_OR:
		return build_or(c, q);
	case Q_AND:
		return build_and(c, q);
	case Q_NOT:
		break;
	}
	c->rc = xihu_err_set(c->err, XIHU_EQUERY, "query column %u: a negation needs a word to go with it",
	                     q->column);
	c->err->column = q->column;
	return NULL;
}

it *plan_segment(qctx *c, const qnode *q, uint64_t max_cost, bool exact_total)
{
	/* a lone word is not refused: its top k by MaxScore reads a small part
	 * of its lists (a common word at 8x the Linux tree: ~150 us for lists
	 * of 300,000 docs), and a caller's deadline still stops it */
	if (q->kind == Q_TERM && !exact_total)
		max_cost = 0;
	c->max_cost = max_cost;
	it *root = build(c, q);
	if (root && max_cost && it_work(root) > max_cost) {
		c->rc = xihu_err_set(c->err, XIHU_ETIMEOUT, "search: more work than max_cost allows");
		return NULL;
	}
	if (root && (root->kind == IT_TERM || root->kind == IT_PHRASE || root->kind == IT_FIELDS) && !exact_total) {
		/* a lone word or phrase: MaxScore over one list still skips
		 * blocks and stops once nothing left can rank */
		it *one = it_new(c, IT_OR);
		if (one && it_push_kid(c, one, root, false)) {
			one->maxs = root->maxs;
			root = one;
		}
	}
	return root;
}
