/*
 * fuzzy.c: fuzzy words, the dictionary terms within k edits of a word.
 *
 * A fuzzy word (word~) matches the dictionary terms within k edits of it
 * (Levenshtein with adjacent transpositions, over code points; k is 1 or 2,
 * or by the word's length: 0 up to 2 code points, 1 up to 5, else 2).  The
 * sorted dictionary is walked, not scanned: the edit-distance row of each
 * prefix is kept, and when no extension of a prefix can come within k the
 * walk seeks past it, straight to the next character that could (one of
 * the word's own, unless any character could).  Found terms score as the
 * word would, scaled down by their distance, and at most FUZZY_MAX of the
 * nearest (then most frequent) are kept per segment and field.
 *
 * Owns the dictionary walk (fz_walk, fz_collect), the OR a fuzzy word
 * becomes in a segment (fz_build, for plan.c) and the list of every term
 * it expanded to (qctx.fz, which highlight.c adds to the highlighted
 * words).  Invariant: a walk only moves forward through the dictionary.
 * suggest.c walks the same way for did-you-mean.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "search/search-int.h"

#define FZ_LEN (XIHU_MAX_TERM + 1)

/* The walk of one word: its code points q[0..m) and k, and the rows of
 * the term being looked at. */
struct fz_walk {
	uint32_t q[FZ_LEN], m, k;
	uint32_t t[FZ_LEN], n; /* the current term's code points */
	uint32_t valid;        /* rows[0..valid] are those of t's prefixes */
	uint8_t row[FZ_LEN + 1][FZ_LEN + 1];
};

static uint32_t utf8_cps(const char *s, uint32_t len, uint32_t *out, uint32_t max)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < len && n < max;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, len - i, &cp);
		if (k <= 0) { /* not UTF-8: the byte stands for itself */
			cp = (uint8_t)s[i];
			k = 1;
		}
		out[n++] = (uint32_t)cp;
		i += (uint32_t)k;
	}
	return n;
}

/* Row d (prefix t[0..d)) from rows d-1 and d-2, with x as t[d-1]; its minimum. */
static uint32_t fz_row(fz_walk *w, uint32_t d, uint32_t x, uint8_t *out)
{
	const uint8_t *up = w->row[d - 1];
	uint32_t best = out[0] = (uint8_t)(up[0] + 1 > 255 ? 255 : up[0] + 1);
	for (uint32_t j = 1; j <= w->m; j++) {
		uint32_t v = up[j - 1] + (x != w->q[j - 1]);
		if (up[j] + 1u < v)
			v = up[j] + 1u;
		if (out[j - 1] + 1u < v)
			v = out[j - 1] + 1u;
		if (d >= 2 && j >= 2 && x == w->q[j - 2] && w->t[d - 2] == w->q[j - 1] && w->row[d - 2][j - 2] + 1u < v)
			v = w->row[d - 2][j - 2] + 1u;
		out[j] = (uint8_t)(v > 255 ? 255 : v);
		if (v < best)
			best = v;
	}
	return best;
}

int fz_cmp(const void *a, const void *b)
{
	const fz_hit *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	if (x->df != y->df)
		return x->df > y->df ? -1 : 1;
	return strcmp(x->term, y->term);
}

/* Appends the UTF-8 of cp to buf[*len]. */
static void put_cp(char *buf, uint32_t *len, uint32_t cp)
{
	utf8proc_uint8_t tmp[4];
	utf8proc_ssize_t k = cp < 0x110000 ? utf8proc_encode_char((utf8proc_int32_t)cp, tmp) : 0;
	if (k <= 0) {
		tmp[0] = (uint8_t)cp;
		k = 1;
	}
	memcpy(buf + *len, tmp, (size_t)k);
	*len += (uint32_t)k;
}

int fz_collect(qctx *c, const seg *s, uint32_t field, fz_walk *w, fz_hit *hits, uint32_t *nhits)
{
	seg_term_iter ti;
	char seek[FZ_LEN * 4 + 8] = "";
	uint32_t slen = 0, seeks = 0;
	int r = seg_terms_from(&ti, s, field, seek, 0, c->err);
	w->n = w->valid = 0;
	for (uint32_t j = 0; j <= w->m; j++)
		w->row[0][j] = (uint8_t)j;
	while (r == 0) {
		const char *term;
		uint32_t len;
		seg_term st;
		if ((r = seg_prefix_next(&ti, &term, &len, &st, c->err)) <= 0)
			break;
		r = 0;
		if (stopped(c))
			return c->rc;
		uint32_t t[FZ_LEN], n = utf8_cps(term, len, t, FZ_LEN);
		uint32_t lcp = 0;
		while (lcp < n && lcp < w->n && lcp < w->valid && t[lcp] == w->t[lcp])
			lcp++;
		memcpy(w->t, t, n * sizeof *t);
		w->n = n;
		uint32_t d = lcp + 1, dead = 0;
		for (; d <= n; d++) {
			w->valid = d;
			if (fz_row(w, d, t[d - 1], w->row[d]) > w->k) {
				dead = d;
				break;
			}
		}
		if (!dead) {
			w->valid = n;
			uint32_t dist = w->row[n][w->m];
			if (dist <= w->k) {
				fz_hit h = {.dist = dist, .df = st.df};
				memcpy(h.term, term, len);
				h.term[len] = 0;
				if (*nhits < FUZZY_MAX) {
					hits[(*nhits)++] = h;
					if (*nhits == FUZZY_MAX) /* full: sorted from now on, worst last */
						qsort(hits, *nhits, sizeof *hits, fz_cmp);
				} else if (fz_cmp(&h, &hits[FUZZY_MAX - 1]) < 0) {
					uint32_t i = FUZZY_MAX - 1; /* insert it in order over the worst */
					for (; i > 0 && fz_cmp(&h, &hits[i - 1]) < 0; i--)
						hits[i] = hits[i - 1];
					hits[i] = h;
				}
			}
			continue;
		}
		/* no term with the prefix t[0..dead) comes within k: the next
		 * character at depth dead that could, if any, else past t[0..dead-1) */
		w->valid = dead - 1;
		uint8_t tmp[FZ_LEN + 1];
		uint32_t next = UINT32_MAX;
		if (fz_row(w, dead, UINT32_MAX, tmp) <= w->k) {
			next = t[dead - 1] + 1; /* any character would do */
		} else {
			for (uint32_t j = 0; j < w->m; j++)
				if (w->q[j] > t[dead - 1] && w->q[j] < next && fz_row(w, dead, w->q[j], tmp) <= w->k)
					next = w->q[j];
		}
		slen = 0;
		uint32_t keep = dead - 1;
		if (next == UINT32_MAX) {
			/* past every term starting with t[0..dead-1): bump its last character */
			while (keep > 0 && t[keep - 1] + 1 >= 0x110000)
				keep--;
			if (keep == 0)
				break; /* the field is done */
			for (uint32_t i = 0; i + 1 < keep; i++)
				put_cp(seek, &slen, t[i]);
			put_cp(seek, &slen, t[keep - 1] + 1);
			w->valid = keep - 1;
		} else {
			for (uint32_t i = 0; i < keep; i++)
				put_cp(seek, &slen, t[i]);
			put_cp(seek, &slen, next);
		}
		if (++seeks > (1u << 20))
			break; /* cannot happen with a sorted dictionary; a bound anyway */
		/* a term that is not UTF-8 (a damaged index) re-encodes lower: a
		 * seek must go forward, else step on to the next term instead */
		int ahead = memcmp(seek, term, slen < len ? slen : len);
		if (ahead < 0 || (ahead == 0 && slen <= len))
			continue;
		r = seg_terms_from(&ti, s, field, seek, slen, c->err);
	}
	if (r) /* < 0 from seg_prefix_next, > 0 from seg_terms_from */
		return c->rc = r < 0 ? -r : r;
	qsort(hits, *nhits, sizeof *hits, fz_cmp);
	return 0;
}

static uint32_t fz_auto(uint32_t m)
{
	return m <= 2 ? 0 : m <= 5 ? 1 : 2;
}

fz_walk *fz_walk_new(const char *word, uint32_t k, uint32_t min_k)
{
	fz_walk *w = malloc(sizeof *w);
	if (!w)
		return NULL;
	memset(w, 0, sizeof *w);
	w->m = utf8_cps(word, (uint32_t)strlen(word), w->q, XIHU_MAX_TERM);
	w->k = k ? k : fz_auto(w->m);
	if (w->k < min_k)
		w->k = min_k;
	return w;
}

/* Appends term to c->fz: a term found again (in another field or segment,
 * or near another fuzzy word) is appended again, and snippet.c highlights
 * it once; looking for it here made a query of many fuzzy words quadratic
 * (1,024 of them on a million-term dictionary: 130 s, most in strcmp). */
static bool fz_remember(qctx *c, const char *term)
{
	if (c->nfz == c->capfz) {
		size_t cap = c->capfz ? c->capfz * 2 : 16;
		char **a = realloc(c->fz, cap * sizeof *a);
		if (!a)
			return false;
		c->fz = a;
		c->capfz = cap;
	}
	return (c->fz[c->nfz] = strdup(term)) && ++c->nfz;
}

it *fz_build(qctx *c, const qnode *q, const fieldset *fs)
{
	it *n = it_new(c, IT_OR);
	fz_walk *w = fz_walk_new(q->terms[0], q->fuzzy, 0);
	fz_hit *hits = malloc(FUZZY_MAX * sizeof *hits);
	if (!w || !hits) {
		free(w);
		free(hits);
		c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		return NULL;
	}
	for (size_t f = 0; n && !c->rc && f < fs->n; f++) {
		uint32_t field = fs->f[f];
		if (field >= seg_nfields(c->s) || !seg_field_total(c->s, field))
			continue;
		uint32_t nh = 0;
		if (fz_collect(c, c->s, field, w, hits, &nh))
			break;
		for (uint32_t i = 0; i < nh; i++) {
			char *one = hits[i].term;
			it *leaf = leaf_new(c, field, &one, 1, false);
			if (!leaf || !fz_remember(c, one)) {
				if (!c->rc)
					c->rc = xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
				break;
			}
			/* nearer is better: the word itself scores in full */
			double scale = 1.0 - (double)hits[i].dist / ((double)w->m + 1.0);
			if (leaf->kind != IT_EMPTY) {
				leaf->leaf.weight *= scale;
				leaf->maxs *= scale;
			}
			if (!it_or_add(c, n, leaf))
				break;
		}
	}
	free(w);
	free(hits);
	return c->rc ? NULL : it_or_finish(n);
}

void fz_free(qctx *c)
{
	for (size_t i = 0; i < c->nfz; i++)
		free(c->fz[i]);
	free(c->fz);
	c->fz = NULL;
	c->nfz = c->capfz = 0;
}
