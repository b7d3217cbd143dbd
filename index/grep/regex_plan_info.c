/*
 * regex_plan_info.c: the algebra of what is known about the strings a
 * pattern's node matches (struct info, regex_plan_int.h), node by node, as
 * regex_plan_parse.c reads the pattern.
 *
 * A node's facts are either its exact set of strings (small: at most
 * INFO_SET strings of at most INFO_STR bytes), or the sets of its matches'
 * two-byte prefixes and suffixes; and in both cases a query q its matches
 * satisfy.  Giving up an exact set first moves what it knows into q (the OR
 * over its strings of their trigrams), so facts only ever become weaker,
 * never wrong.  Concatenation adds the trigrams across the seam (a suffix of
 * the left side followed by a prefix of the right), when there are few
 * enough pairs.
 *
 * Every operation is bounded by the set sizes (at most INFO_PAIRS strings
 * are ever formed at once) and queries are cut to GQ_WORK_GRAMS, so a
 * node's facts cost microseconds whatever the pattern.
 */
#include <stdlib.h>
#include <string.h>

#include "grep/regex_plan_int.h"

/* Most strings formed at once from two sets (pairs across a seam, a product
 * of prefixes). */
#define INFO_PAIRS 64

static info *info_new(bool exact, bool caseless)
{
	info *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->exact = exact;
	x->caseless = caseless;
	x->q = gq_leaf(GQ_ALL);
	if (!x->q) {
		free(x);
		return NULL;
	}
	return x;
}

void info_free(info *x)
{
	if (!x)
		return;
	gq_free(x->q);
	free(x);
}

info *info_empty(bool caseless)
{
	info *x = info_new(true, caseless);
	if (x)
		x->pre.n = 1; /* the empty string */
	return x;
}

info *info_any(bool caseless)
{
	info *x = info_new(false, caseless);
	if (x)
		x->pre.n = x->suf.n = 1; /* "": nothing known */
	return x;
}

info *info_dup(const info *x)
{
	info *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	*c = *x;
	c->q = gq_dup(x->q);
	if (!c->q) {
		free(c);
		return NULL;
	}
	return c;
}

static bool sstr_eq(const sstr *a, const sstr *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* Adds s unless there; false when the set is full. */
static bool set_add(sset *set, const sstr *s)
{
	for (uint32_t i = 0; i < set->n; i++)
		if (sstr_eq(&set->s[i], s))
			return true;
	if (set->n == INFO_SET)
		return false;
	set->s[set->n++] = *s;
	return true;
}

/* The first (head) or last k bytes of a followed by b. */
static sstr cat_cut(const sstr *a, const sstr *b, unsigned k, bool head)
{
	uint8_t both[2 * INFO_STR];
	memcpy(both, a->b, a->len);
	memcpy(both + a->len, b->b, b->len);
	size_t n = (size_t)a->len + b->len;
	sstr r;
	r.len = (uint8_t)(n < k ? n : k);
	memcpy(r.b, head ? both : both + n - r.len, r.len);
	return r;
}

/* Whether a starts (head) or ends with b. */
static bool has_affix(const sstr *a, const sstr *b, bool head)
{
	return b->len <= a->len && memcmp(head ? a->b : a->b + a->len - b->len, b->b, b->len) == 0;
}

/*
 * out = the prefixes (head) or suffixes of the n strings cand, cut to two
 * bytes, or to one if two make too many, or to none; without the strings
 * another one of them already implies ("ab" when "a" is there).
 */
static void affixes(const sstr *cand, size_t n, bool head, sset *out)
{
	static const sstr none = {0};
	for (unsigned keep = 2;; keep--) {
		out->n = 0;
		bool fit = true;
		for (size_t i = 0; i < n && fit; i++) {
			sstr c = cat_cut(&cand[i], &none, keep, head);
			fit = set_add(out, &c);
		}
		if (fit) /* always, at keep 0 */
			break;
	}
	for (uint32_t i = 0; i < out->n;) {
		bool implied = false;
		for (uint32_t j = 0; j < out->n && !implied; j++)
			implied = j != i && has_affix(&out->s[i], &out->s[j], head);
		if (implied)
			out->s[i] = out->s[--out->n];
		else
			i++;
	}
}

/* Gives up x's exact set: its trigrams go into q, its ends into pre/suf. */
static int to_inexact(info *x)
{
	if (!x->exact)
		return 0;
	gq *any = gq_leaf(GQ_NONE);
	for (uint32_t i = 0; i < x->pre.n && any; i++)
		any = gq_or(any, gq_literal(x->pre.s[i].b, x->pre.s[i].len, x->caseless));
	x->q = gq_trim(gq_and(x->q, any), GQ_WORK_GRAMS);
	if (!x->q)
		return -1;
	sset e = x->pre;
	affixes(e.s, e.n, true, &x->pre);
	affixes(e.s, e.n, false, &x->suf);
	x->exact = false;
	return 0;
}

info *info_literal(const uint8_t *s, size_t len, bool caseless)
{
	if (len <= INFO_STR) {
		info *x = info_new(true, caseless);
		if (x) {
			x->pre.n = 1;
			x->pre.s[0].len = (uint8_t)len;
			memcpy(x->pre.s[0].b, s, len);
		}
		return x;
	}
	info *x = info_new(false, caseless);
	if (!x)
		return NULL;
	gq_free(x->q);
	x->q = gq_literal(s, len, caseless);
	x->pre.n = x->suf.n = 1;
	x->pre.s[0].len = x->suf.s[0].len = 2;
	memcpy(x->pre.s[0].b, s, 2);
	memcpy(x->suf.s[0].b, s + len - 2, 2);
	if (!x->q) {
		free(x);
		return NULL;
	}
	return x;
}

info *info_chars(const uint8_t (*s)[4], const uint8_t *len, size_t n, bool caseless)
{
	if (n > INFO_SET) /* never cut a set short: that would narrow */
		return info_any(caseless);
	info *x = info_new(true, caseless);
	if (!x)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		sstr c = {.len = len[i]};
		memcpy(c.b, s[i], len[i]);
		set_add(&x->pre, &c);
	}
	return x;
}

/* The product of two exact sets, if it is small; false (z untouched) if not. */
static bool exact_product(const info *x, const info *y, info *z)
{
	if ((size_t)x->pre.n * y->pre.n > INFO_SET)
		return false;
	for (uint32_t i = 0; i < x->pre.n; i++)
		for (uint32_t j = 0; j < y->pre.n; j++)
			if (x->pre.s[i].len + y->pre.s[j].len > INFO_STR)
				return false;
	sset p = {0};
	for (uint32_t i = 0; i < x->pre.n; i++)
		for (uint32_t j = 0; j < y->pre.n; j++) {
			sstr c = cat_cut(&x->pre.s[i], &y->pre.s[j], INFO_STR, true);
			set_add(&p, &c);
		}
	z->pre = p;
	return true;
}

/* The strings a*b cut to their head or tail: out (INFO_PAIRS room) holds
 * them; 0 when there would be too many. */
static size_t pairs(const sset *a, const sset *b, bool head, sstr *out)
{
	if ((size_t)a->n * b->n > INFO_PAIRS)
		return 0;
	size_t n = 0;
	for (uint32_t i = 0; i < a->n; i++)
		for (uint32_t j = 0; j < b->n; j++)
			out[n++] = cat_cut(&a->s[i], &b->s[j], 2, head);
	return n;
}

/* The OR over the seam's pairs of their trigrams (ALL if too many pairs). */
static gq *seam(const sset *ends, const sset *starts, bool caseless)
{
	if ((size_t)ends->n * starts->n > INFO_PAIRS)
		return gq_leaf(GQ_ALL);
	gq *q = gq_leaf(GQ_NONE);
	static const sstr none = {0};
	for (uint32_t i = 0; i < ends->n && q && q->op != GQ_ALL; i++)
		for (uint32_t j = 0; j < starts->n && q && q->op != GQ_ALL; j++) {
			sstr t = cat_cut(&ends->s[i], &none, 2, false);
			sstr h = cat_cut(&starts->s[j], &none, 2, true);
			sstr th = cat_cut(&t, &h, 4, true);
			q = gq_or(q, gq_literal(th.b, th.len, caseless));
		}
	return q;
}

/* x followed by y, without exact sets; the cand buffer has INFO_PAIRS room. */
static info *concat_inexact(info *x, info *y, sstr *cand)
{
	/* prefixes: x's, or x's exact strings each followed by a prefix of y;
	 * suffixes the other way round */
	sset pre = x->pre, suf = y->exact ? y->pre : y->suf;
	size_t n;
	if (x->exact && (n = pairs(&x->pre, &y->pre, true, cand)) > 0)
		affixes(cand, n, true, &pre);
	else if (x->exact)
		affixes(x->pre.s, x->pre.n, true, &pre);
	const sset *xs = x->exact ? &x->pre : &x->suf;
	if (y->exact && (n = pairs(xs, &y->pre, false, cand)) > 0)
		affixes(cand, n, false, &suf);
	else if (y->exact)
		affixes(y->pre.s, y->pre.n, false, &suf);
	gq *across = seam(xs, &y->pre, x->caseless);
	if (!across || to_inexact(x) < 0 || to_inexact(y) < 0) {
		gq_free(across);
		info_free(x);
		info_free(y);
		return NULL;
	}
	x->q = gq_trim(gq_and(gq_and(x->q, y->q), across), GQ_WORK_GRAMS);
	y->q = NULL;
	info_free(y);
	if (!x->q) {
		free(x);
		return NULL;
	}
	x->pre = pre;
	x->suf = suf;
	return x;
}

info *info_concat(info *x, info *y)
{
	if (!x || !y) {
		info_free(x);
		info_free(y);
		return NULL;
	}
	if (x->exact && y->exact && exact_product(x, y, x)) {
		x->q = gq_and(x->q, y->q);
		y->q = NULL;
		info_free(y);
		if (!x->q) {
			free(x);
			return NULL;
		}
		return x;
	}
	sstr *cand = malloc(INFO_PAIRS * sizeof *cand);
	if (!cand) {
		info_free(x);
		info_free(y);
		return NULL;
	}
	info *z = concat_inexact(x, y, cand);
	free(cand);
	return z;
}

info *info_alt(info *x, info *y)
{
	if (!x || !y) {
		info_free(x);
		info_free(y);
		return NULL;
	}
	bool exact = false;
	if (x->exact && y->exact) {
		sset u = x->pre;
		exact = true;
		for (uint32_t i = 0; i < y->pre.n && exact; i++)
			exact = set_add(&u, &y->pre.s[i]);
		if (exact)
			x->pre = u;
	}
	if (!exact) {
		if (to_inexact(x) < 0 || to_inexact(y) < 0) {
			info_free(x);
			info_free(y);
			return NULL;
		}
		sstr both[2 * INFO_SET];
		memcpy(both, x->pre.s, x->pre.n * sizeof *both);
		memcpy(both + x->pre.n, y->pre.s, y->pre.n * sizeof *both);
		affixes(both, x->pre.n + y->pre.n, true, &x->pre);
		memcpy(both, x->suf.s, x->suf.n * sizeof *both);
		memcpy(both + x->suf.n, y->suf.s, y->suf.n * sizeof *both);
		affixes(both, x->suf.n + y->suf.n, false, &x->suf);
	}
	x->q = gq_trim(gq_or(x->q, y->q), GQ_WORK_GRAMS);
	y->q = NULL;
	info_free(y);
	if (!x->q) {
		free(x);
		return NULL;
	}
	return x;
}

info *info_star(info *x)
{
	if (!x)
		return NULL;
	bool caseless = x->caseless;
	info_free(x);
	return info_any(caseless);
}

info *info_plus(info *x)
{
	/* every match of x+ starts with a match of x and ends with one */
	if (x && to_inexact(x) < 0) {
		info_free(x);
		return NULL;
	}
	return x;
}

info *info_quest(info *x)
{
	return info_alt(x, x ? info_empty(x->caseless) : NULL);
}

info *info_repeat(info *x, uint32_t min, uint32_t max)
{
	enum { UNROLL = 4 };
	if (!x)
		return NULL;
	bool caseless = x->caseless;
	if (max == 0) {
		info_free(x);
		return info_empty(caseless);
	}
	/* x{min,max} = x^min x{0,max-min}: at most UNROLL copies of x, then
	 * what a longer run of x is sure to hold */
	info *r = info_empty(caseless);
	uint32_t k = min < UNROLL ? min : UNROLL;
	for (uint32_t i = 0; i < k && r; i++)
		r = info_concat(r, info_dup(x));
	if (min == max && min <= UNROLL) {
		info_free(x);
		return r;
	}
	if (min > UNROLL)
		return info_concat(r, info_plus(x));
	if (max != UINT32_MAX && max - min == 1)
		return info_concat(r, info_quest(x));
	return info_concat(r, info_star(x));
}

gq *info_query(info *x)
{
	if (!x)
		return NULL;
	gq *q = NULL;
	if (to_inexact(x) == 0) {
		q = x->q;
		x->q = NULL;
	}
	info_free(x);
	return q;
}
