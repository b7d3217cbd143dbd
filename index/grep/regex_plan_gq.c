/*
 * regex_plan_gq.c: gram queries (grep.h's gq): building them already
 * simple, cutting them down to a size, evaluating and printing them.
 *
 * Invariants of every tree built here: an AND or OR has at least two kids,
 * none of them of its own op (nested ANDs and ORs are flattened), no two
 * kids equal, no kid ALL or NONE (they are folded: AND with ALL is the other
 * side, OR with ALL is ALL, and so on), and no kid implied by a sibling in an
 * AND (or implying one in an OR): AND(x, OR(x, y)) is x.
 *
 * Cutting (gq_trim) only ever widens: it drops conjuncts of an AND, and an
 * OR that does not fit becomes ALL.  Called by the planner's other files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grep/regex_plan_int.h"

/* Sibling checks are quadratic: past this many kids only equal neighbours
 * of a new kid are looked for (the tree stays correct, only less small). */
#define GQ_CHECK_KIDS 256

gq *gq_leaf(gq_op op)
{
	gq *q = calloc(1, sizeof *q);
	if (q)
		q->op = op;
	return q;
}

gq *gq_gram(uint32_t gram)
{
	gq *q = gq_leaf(GQ_GRAM);
	if (q)
		q->gram = gram;
	return q;
}

void gq_free(gq *q)
{
	if (!q)
		return;
	for (uint32_t i = 0; i < q->n; i++)
		gq_free(q->kids[i]);
	free(q->kids);
	free(q);
}

gq *gq_dup(const gq *q)
{
	gq *c = gq_leaf(q->op);
	if (!c)
		return NULL;
	c->gram = q->gram;
	if (q->n == 0)
		return c;
	c->kids = calloc(q->n, sizeof *c->kids);
	if (!c->kids) {
		free(c);
		return NULL;
	}
	for (uint32_t i = 0; i < q->n; i++) {
		c->kids[i] = gq_dup(q->kids[i]);
		c->n = i + 1;
		if (!c->kids[i]) {
			gq_free(c);
			return NULL;
		}
	}
	return c;
}

size_t gq_size(const gq *q)
{
	if (q->op == GQ_GRAM)
		return 1;
	size_t n = 0;
	for (uint32_t i = 0; i < q->n; i++)
		n += gq_size(q->kids[i]);
	return n;
}

static bool gq_equal(const gq *a, const gq *b)
{
	if (a->op != b->op || a->n != b->n)
		return false;
	if (a->op == GQ_GRAM)
		return a->gram == b->gram;
	for (uint32_t i = 0; i < a->n; i++)
		if (!gq_equal(a->kids[i], b->kids[i]))
			return false;
	return true;
}

/* Whether a being true makes b true, as far as a shallow look can tell
 * (false when it cannot). */
static bool gq_implies(const gq *a, const gq *b, int depth)
{
	if (b->op == GQ_ALL || a->op == GQ_NONE || gq_equal(a, b))
		return true;
	if (depth == 0)
		return false;
	if (b->op == GQ_OR)
		for (uint32_t i = 0; i < b->n; i++)
			if (gq_implies(a, b->kids[i], depth - 1))
				return true;
	if (a->op == GQ_AND)
		for (uint32_t i = 0; i < a->n; i++)
			if (gq_implies(a->kids[i], b, depth - 1))
				return true;
	return false;
}

/* Appends kid to node's kids (taking it), unless an equal kid is there. */
static int add_kid(gq *node, gq *kid, size_t *cap)
{
	uint32_t from = node->n > GQ_CHECK_KIDS ? node->n - 1 : 0;
	for (uint32_t i = from; i < node->n; i++)
		if (gq_equal(node->kids[i], kid)) {
			gq_free(kid);
			return 0;
		}
	if (node->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		gq **k = realloc(node->kids, nc * sizeof *k);
		if (!k) {
			gq_free(kid);
			return -1;
		}
		node->kids = k;
		*cap = nc;
	}
	node->kids[node->n++] = kid;
	return 0;
}

/* Moves q's kids (q of node's op) or q itself into node; frees q's shell. */
static int absorb(gq *node, gq *q, size_t *cap)
{
	if (q->op != node->op)
		return add_kid(node, q, cap);
	int rc = 0;
	for (uint32_t i = 0; i < q->n; i++)
		if (rc == 0)
			rc = add_kid(node, q->kids[i], cap);
		else
			gq_free(q->kids[i]);
	free(q->kids);
	free(q);
	return rc;
}

/*
 * Drops the kids a sibling makes redundant (AND: implied by another; OR:
 * implying another).  Kids [0, na) came from one side, the rest from the
 * other; each side's own kids are already free of that, so only pairs
 * across the two are looked at.
 */
static void drop_redundant(gq *node, uint32_t na)
{
	uint32_t nb = node->n - na;
	bool dead[GQ_CHECK_KIDS + 1] = {false};
	if ((size_t)na * nb > GQ_CHECK_KIDS || node->n > GQ_CHECK_KIDS + 1)
		return;
	for (uint32_t k = 0; k < node->n; k++) {
		uint32_t from = k < na ? na : 0, to = k < na ? node->n : na;
		for (uint32_t j = from; j < to && !dead[k]; j++)
			if (!dead[j])
				dead[k] = node->op == GQ_AND ? gq_implies(node->kids[j], node->kids[k], 2)
				                             : gq_implies(node->kids[k], node->kids[j], 2);
	}
	uint32_t kept = 0;
	for (uint32_t k = 0; k < node->n; k++)
		if (dead[k])
			gq_free(node->kids[k]);
		else
			node->kids[kept++] = node->kids[k];
	node->n = kept;
}

/* Whether c is q or one of q's conjuncts. */
static bool has_conjunct(const gq *q, const gq *c)
{
	if (gq_equal(q, c))
		return true;
	if (q->op == GQ_AND)
		for (uint32_t i = 0; i < q->n; i++)
			if (gq_equal(q->kids[i], c))
				return true;
	return false;
}

/* q without the conjuncts of common (ALL when nothing is left). */
static gq *without(const gq *q, const gq *common)
{
	gq *r = gq_leaf(GQ_ALL);
	uint32_t n = q->op == GQ_AND ? q->n : 1;
	for (uint32_t i = 0; i < n && r; i++) {
		const gq *k = q->op == GQ_AND ? q->kids[i] : q;
		if (!has_conjunct(common, k))
			r = gq_and(r, gq_dup(k));
	}
	return r;
}

/* An OR whose every kid holds the same conjuncts: AND(them, OR(the rest)),
 * the same query, smaller: OR(AND(x, a), AND(x, b)) is AND(x, OR(a, b)). */
static gq *factor_or(gq *node)
{
	if (node->n > GQ_CHECK_KIDS)
		return node;
	const gq *first = node->kids[0];
	uint32_t nf = first->op == GQ_AND ? first->n : 1;
	gq *common = gq_leaf(GQ_ALL);
	for (uint32_t f = 0; f < nf && common; f++) {
		const gq *c = first->op == GQ_AND ? first->kids[f] : first;
		bool everywhere = true;
		for (uint32_t k = 1; k < node->n && everywhere; k++)
			everywhere = has_conjunct(node->kids[k], c);
		if (everywhere)
			common = gq_and(common, gq_dup(c));
	}
	if (!common || common->op == GQ_ALL) {
		gq_free(common);
		return common ? node : (gq_free(node), NULL);
	}
	gq *rest = gq_leaf(GQ_NONE);
	for (uint32_t k = 0; k < node->n && rest; k++)
		rest = gq_or(rest, without(node->kids[k], common));
	gq_free(node);
	return gq_and(common, rest);
}

static gq *combine(gq_op op, gq *a, gq *b)
{
	if (!a || !b) {
		gq_free(a);
		gq_free(b);
		return NULL;
	}
	gq_op unit = op == GQ_AND ? GQ_ALL : GQ_NONE;
	gq_op zero = op == GQ_AND ? GQ_NONE : GQ_ALL;
	if (a->op == zero || b->op == unit) {
		gq_free(b);
		return a;
	}
	if (b->op == zero || a->op == unit) {
		gq_free(a);
		return b;
	}
	gq *node = gq_leaf(op);
	size_t cap = 0;
	if (!node) {
		gq_free(a);
		gq_free(b);
		return NULL;
	}
	/* absorb takes its argument whether it succeeds or not */
	int rc = absorb(node, a, &cap);
	uint32_t na = node->n;
	if (rc == 0)
		rc = absorb(node, b, &cap);
	else
		gq_free(b);
	if (rc < 0) {
		gq_free(node);
		return NULL;
	}
	drop_redundant(node, na);
	if (node->n == 1) {
		gq *only = node->kids[0];
		free(node->kids);
		free(node);
		return only;
	}
	return op == GQ_OR ? factor_or(node) : node;
}

gq *gq_and(gq *a, gq *b)
{
	return combine(GQ_AND, a, b);
}

gq *gq_or(gq *a, gq *b)
{
	return combine(GQ_OR, a, b);
}

/* A kid of an AND with its size, for sorting. */
typedef struct sized {
	size_t size, at;
	gq *q;
} sized;

static int by_size(const void *a, const void *b)
{
	const sized *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* An AND's kids cut to budget grams, the smallest kids kept first (single
 * grams: the most selective conjuncts, and the cheapest). */
static gq *trim_and(gq *q, size_t budget)
{
	sized *k = malloc(q->n * sizeof *k);
	if (!k) {
		gq_free(q);
		return NULL;
	}
	for (uint32_t i = 0; i < q->n; i++)
		k[i] = (sized){gq_size(q->kids[i]), i, q->kids[i]};
	qsort(k, q->n, sizeof *k, by_size);
	size_t left = budget;
	uint32_t kept = 0;
	for (uint32_t i = 0; i < q->n; i++) {
		gq *kid = k[i].q;
		if (k[i].size > left)
			kid = left ? gq_trim(kid, left) : (gq_free(kid), gq_leaf(GQ_ALL));
		if (kid && kid->op != GQ_ALL) {
			left -= gq_size(kid);
			q->kids[kept++] = kid;
		} else {
			gq_free(kid);
		}
	}
	free(k);
	q->n = kept;
	if (kept >= 2)
		return q;
	gq *only = kept ? q->kids[0] : gq_leaf(GQ_ALL);
	free(q->kids);
	free(q);
	return only;
}

gq *gq_trim(gq *q, size_t budget)
{
	if (!q || gq_size(q) <= budget)
		return q;
	if (q->op == GQ_AND)
		return trim_and(q, budget);
	if (q->op == GQ_OR && q->n <= budget) {
		/* each alternative cut to its share; one that has to go to ALL
		 * makes the whole OR ALL */
		size_t share = budget / q->n;
		for (uint32_t i = 0; i < q->n; i++) {
			q->kids[i] = gq_trim(q->kids[i], share);
			if (!q->kids[i] || q->kids[i]->op == GQ_ALL) {
				bool oom = !q->kids[i];
				gq_free(q);
				return oom ? NULL : gq_leaf(GQ_ALL);
			}
		}
		/* a cut kid may now be an OR itself, or equal a sibling: built
		 * again, flat */
		gq *r = gq_leaf(GQ_NONE);
		for (uint32_t i = 0; i < q->n; i++)
			r = gq_or(r, q->kids[i]);
		free(q->kids);
		free(q);
		return r;
	}
	gq_free(q);
	return gq_leaf(GQ_ALL);
}

/* How common a byte is in text and code: the higher, the less a trigram
 * holding it narrows the search. */
static unsigned byte_cost(uint8_t c)
{
	static const char common[] = "etaoinsrhl ";
	if (c < 0x80 && c && memchr(common, c, sizeof common - 1))
		return 4;
	if ((c >= 'a' && c <= 'z') || c == '_')
		return 3;
	if (c < 0x80 && c >= 0x20)
		return 2;
	return 1;
}

static bool is_lower(uint8_t c)
{
	return c >= 'a' && c <= 'z';
}

/* The OR of the case variants of a trigram of lower-case letters. */
static gq *case_variants(const uint8_t *t)
{
	gq *q = gq_leaf(GQ_NONE);
	for (unsigned m = 0; m < 8 && q; m++) {
		uint8_t v[3];
		bool ok = true;
		for (int i = 0; i < 3; i++) {
			v[i] = t[i];
			if (m >> i & 1) {
				ok &= is_lower(t[i]);
				v[i] = (uint8_t)(t[i] - 'a' + 'A');
			}
		}
		if (ok)
			q = gq_or(q, gq_gram(gram_pack(v)));
	}
	return q;
}

gq *gq_literal(const uint8_t *s, size_t len, bool caseless)
{
	/* the cheapest GQ_LIT_GRAMS distinct trigrams, in the order they come
	 * in s (of equal costs the earlier); linear in len */
	static uint8_t cost_of[256];
	if (!cost_of['a'])
		for (int c = 0; c < 256; c++)
			cost_of[c] = (uint8_t)byte_cost((uint8_t)c);
	size_t at[GQ_LIT_GRAMS + 1];
	unsigned cost[GQ_LIT_GRAMS + 1], worst = 0;
	size_t n = 0;
	for (size_t i = 0; i + 3 <= len; i++) {
		if (s[i] == '\n' || s[i + 1] == '\n' || s[i + 2] == '\n')
			continue;
		unsigned c = 0;
		for (int k = 0; k < 3; k++)
			c += cost_of[s[i + k]] + (caseless && is_lower(s[i + k]) ? 2 : 0);
		if (n == GQ_LIT_GRAMS && c >= worst)
			continue;
		uint32_t g = gram_pack(s + i);
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = gram_pack(s + at[j]) == g;
		if (seen)
			continue;
		at[n] = i;
		cost[n++] = c;
		if (n > GQ_LIT_GRAMS) { /* drop the costliest, the latest of equals */
			size_t w = 0;
			for (size_t j = 1; j < n; j++)
				if (cost[j] >= cost[w])
					w = j;
			memmove(at + w, at + w + 1, (n - w - 1) * sizeof *at);
			memmove(cost + w, cost + w + 1, (n - w - 1) * sizeof *cost);
			n--;
		}
		if (n == GQ_LIT_GRAMS) {
			worst = 0;
			for (size_t j = 0; j < n; j++)
				worst = cost[j] > worst ? cost[j] : worst;
		}
	}
	gq *q = gq_leaf(GQ_ALL);
	for (size_t j = 0; j < n && q; j++)
		q = gq_and(q, caseless ? case_variants(s + at[j]) : gq_gram(gram_pack(s + at[j])));
	return q;
}

bool gq_eval(const gq *q, bool (*has)(const void *ctx, uint32_t gram), const void *ctx)
{
	switch (q->op) {
	case GQ_ALL:
		return true;
	case GQ_NONE:
		return false;
	case GQ_GRAM:
		return has(ctx, q->gram);
	case GQ_AND:
		for (uint32_t i = 0; i < q->n; i++)
			if (!gq_eval(q->kids[i], has, ctx))
				return false;
		return true;
	case GQ_OR:
		for (uint32_t i = 0; i < q->n; i++)
			if (gq_eval(q->kids[i], has, ctx))
				return true;
		return false;
	}
	return true;
}

/* gq_format's output: what fits goes to buf, len counts it all. */
typedef struct fmt {
	char *buf;
	size_t size, len;
} fmt;

static void put(fmt *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, f->len++)
		if (f->len + 1 < f->size)
			f->buf[f->len] = s[i];
}

static void put_gram(fmt *f, uint32_t g)
{
	put(f, "\"", 1);
	for (int i = 0; i < 3; i++) {
		uint8_t c = (uint8_t)(g >> (8 * i));
		char e[8];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			put(f, (const char *)&c, 1);
		else
			put(f, e, (size_t)snprintf(e, sizeof e, "\\x%02x", c));
	}
	put(f, "\"", 1);
}

static void put_query(fmt *f, const gq *q)
{
	switch (q->op) {
	case GQ_ALL:
		put(f, "ALL", 3);
		return;
	case GQ_NONE:
		put(f, "NONE", 4);
		return;
	case GQ_GRAM:
		put_gram(f, q->gram);
		return;
	case GQ_AND:
	case GQ_OR:
		put(f, q->op == GQ_AND ? "(AND" : "(OR", q->op == GQ_AND ? 4 : 3);
		for (uint32_t i = 0; i < q->n; i++) {
			put(f, " ", 1);
			put_query(f, q->kids[i]);
		}
		put(f, ")", 1);
		return;
	}
}

size_t gq_format(const gq *q, char *buf, size_t size)
{
	fmt f = {buf, size, 0};
	put_query(&f, q);
	if (size)
		buf[f.len < size ? f.len : size - 1] = '\0';
	return f.len;
}
