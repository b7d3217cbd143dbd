/*
 * candidates.c: which documents of an open index a grep must read.
 *
 * Per segment, the gram query (regex_plan.c) is evaluated over the .grams
 * postings into a sorted array of gram ids (a doc, or a block of lines of
 * a big one: core.h): a trigram is its list, AND the intersection, OR the
 * union, ALL every greppable doc, NONE nothing; the gram ids left are
 * mapped to their docs (seg_gram_ids_docs).  The
 * docs exact search always reads (files skipped for size) are added, the
 * deleted ones dropped, and what is left is filtered by the grep's paths
 * and globs and sorted by path, '/' sorting before every other byte (so a
 * directory's files come together, as `rg --sort path` lists them).
 *
 * The extra paths (files live sync saw change since the last commit) are
 * added as candidates of their own, read from disk whatever the query.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "grep/grep.h"

typedef struct idset {
	uint32_t *v;
	uint32_t n;
	bool all;
} idset;

static int eval(const seg *s, const gq *q, idset *out, xihu_err *err);

static int eval_gram(const seg *s, uint32_t gram, idset *out, xihu_err *err)
{
	seg_gram g;
	int rc = seg_gram_lookup(s, gram, &g, err);
	if (rc <= 0)
		return rc;
	out->v = malloc((size_t)g.df * sizeof *out->v);
	if (!out->v)
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	out->n = g.df;
	return seg_gram_docs(s, &g, out->v, err);
}

/* a &= b (a, b not ALL) */
static void intersect(idset *a, const idset *b)
{
	uint32_t i = 0, j = 0, k = 0;
	while (i < a->n && j < b->n) {
		if (a->v[i] < b->v[j])
			i++;
		else if (a->v[i] > b->v[j])
			j++;
		else
			a->v[k++] = a->v[i++], j++;
	}
	a->n = k;
}

/* a |= b (a, b not ALL) */
static int unite(idset *a, const idset *b, xihu_err *err)
{
	uint32_t *v = malloc(((size_t)a->n + b->n) * sizeof *v + 1);
	if (!v)
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	uint32_t i = 0, j = 0, k = 0;
	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->v[i] < b->v[j]))
			v[k++] = a->v[i++];
		else if (i == a->n || b->v[j] < a->v[i])
			v[k++] = b->v[j++];
		else
			v[k++] = a->v[i++], j++;
	}
	free(a->v);
	a->v = v;
	a->n = k;
	return 0;
}

static int eval_kids(const seg *s, const gq *q, idset *out, xihu_err *err)
{
	bool and = q->op == GQ_AND;
	out->all = and;
	for (uint32_t i = 0; i < q->n; i++) {
		if (and && !out->all && out->n == 0)
			break; /* nothing left to intersect */
		idset k = {0};
		int rc = eval(s, q->kids[i], &k, err);
		if (rc < 0) {
			free(k.v);
			return rc;
		}
		if (and && k.all) {
			continue;
		} else if (and && out->all) {
			*out = k;
			continue;
		} else if (and) {
			intersect(out, &k);
		} else if (k.all || out->all) {
			free(out->v);
			out->v = NULL;
			out->n = 0;
			out->all = true;
		} else if (unite(out, &k, err) < 0) {
			free(k.v);
			return XIHU_ENOMEM;
		}
		free(k.v);
		if (!and && out->all)
			break;
	}
	return 0;
}

static int eval(const seg *s, const gq *q, idset *out, xihu_err *err)
{
	*out = (idset){0};
	switch (q->op) {
	case GQ_ALL:
		out->all = true;
		return 0;
	case GQ_NONE:
		return 0;
	case GQ_GRAM:
		return eval_gram(s, q->gram, out, err);
	case GQ_AND:
	case GQ_OR:
		return eval_kids(s, q, out, err);
	}
	return 0;
}

/* ---- paths and globs ------------------------------------------------------ */

/* root's length without its trailing slashes; 0 for "/" itself. */
static size_t root_len(const char *root)
{
	size_t r = strlen(root);
	while (r > 0 && root[r - 1] == '/')
		r--;
	return r;
}

static bool under(const char *path, size_t n, const char *root)
{
	size_t r = root_len(root);
	return r == 0 || (n >= r && memcmp(path, root, r) == 0 && (n == r || path[r] == '/'));
}

/* One glob against a path relative to the glob base (rel), the way a
 * gitignore line matches: without a '/' (but a trailing one) against the
 * last component, else against the whole, "**" spanning directories. */
static bool glob_match(const char *g, const char *rel)
{
	size_t gl = strlen(g);
	char pat[PATH_MAX];
	if (gl == 0 || gl >= sizeof pat)
		return false;
	memcpy(pat, g, gl + 1);
	if (gl > 1 && pat[gl - 1] == '/')
		pat[--gl] = 0;
	if (!strchr(pat, '/')) {
		const char *base = strrchr(rel, '/');
		return fnmatch(pat, base ? base + 1 : rel, 0) == 0;
	}
	const char *p = pat[0] == '/' ? pat + 1 : pat;
	if (strncmp(p, "**/", 3) == 0) {
		for (const char *r = rel; r; r = strchr(r, '/'), r = r ? r + 1 : NULL)
			if (glob_match(p + 3, r) || fnmatch(p + 3, r, FNM_PATHNAME) == 0)
				return true;
		return false;
	}
	if (strstr(p, "**"))
		return fnmatch(p, rel, 0) == 0; /* '*' then crosses '/' too */
	return fnmatch(p, rel, FNM_PATHNAME) == 0;
}

/* ripgrep's -g: the last glob that matches decides (a "!" one excludes); a
 * directory a "!" glob matches excludes all below it; with any glob that
 * does not start with "!", a file none matches is excluded. */
static bool globs_allow(const xihu_grep_opts *o, const char *path, size_t n)
{
	if (!o->nglobs)
		return true;
	char rel[PATH_MAX];
	const char *base = o->glob_base ? o->glob_base : "/";
	size_t bl = strlen(base);
	if (n >= sizeof rel)
		return true;
	if (bl > 1 && n > bl && memcmp(path, base, bl) == 0 && path[bl] == '/')
		memcpy(rel, path + bl + 1, n - bl - 1), rel[n - bl - 1] = 0;
	else
		memcpy(rel, path, n), rel[n] = 0;
	bool any_white = false;
	int verdict = 0; /* 1 in, -1 out */
	for (size_t i = 0; i < o->nglobs; i++) {
		const char *g = o->globs[i];
		bool neg = g[0] == '!';
		any_white |= !neg;
		if (glob_match(g + neg, rel))
			verdict = neg ? -1 : 1;
	}
	if (verdict == -1)
		return false;
	/* a "!" glob naming a directory above the file */
	for (char *sl = strchr(rel, '/'); sl; sl = strchr(sl + 1, '/')) {
		*sl = 0;
		for (size_t i = o->nglobs; i-- > 0;) {
			const char *g = o->globs[i];
			if (glob_match(g + (g[0] == '!'), rel)) {
				if (g[0] == '!') {
					*sl = '/';
					return false;
				}
				break;
			}
		}
		*sl = '/';
	}
	return verdict == 1 || !any_white;
}

/* Whether a component of path below root starts with '.' (a hidden file
 * or directory, which ripgrep skips unless --hidden; the root itself, named
 * by the user, counts as given). */
static bool hidden_below(const char *path, size_t n, const char *root)
{
	for (size_t i = root_len(root); i + 1 < n; i++)
		if (path[i] == '/' && path[i + 1] == '.')
			return true;
	return false;
}

/* Which of o's paths d is under (the first: ripgrep searches the paths in
 * the order given), or -1 when none, or the globs leave it out. */
static int wanted(const xihu_grep_opts *o, const seg_doc *d)
{
	if (d->record)
		return o->npaths == 0 ? 0 : -1; /* records are under no path */
	int rank = o->npaths == 0 ? 0 : -1;
	for (size_t i = 0; i < o->npaths && rank < 0; i++)
		if (under(d->name, d->name_len, o->paths[i]))
			rank = (int)i;
	if (rank < 0 || (!o->hidden && hidden_below(d->name, d->name_len, o->npaths ? o->paths[rank] : "/")))
		return -1;
	return globs_allow(o, d->name, d->name_len) ? rank : -1;
}

/* ---- the list -------------------------------------------------------------- */

static int add(grep_cands *c, uint32_t si, uint32_t doc, const seg_doc *d, int rank, xihu_err *err)
{
	if (!xarray_reserve(&c->v, &c->cap, c->n + 1, sizeof *c->v))
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	c->v[c->n++] = (grep_cand){.seg = si, .doc = doc, .name = d->name, .name_len = d->name_len,
	                           .record = d->record, .rank = (uint32_t)rank, .size = d->size};
	return 0;
}

/* A file the index does not hold: whether its trigrams (bigfiles.c) allow q. */
static bool big_may_match(const seg_doc *d, const gq *q)
{
	char path[PATH_MAX];
	if (d->record || d->name_len >= sizeof path)
		return true;
	memcpy(path, d->name, d->name_len);
	path[d->name_len] = 0;
	return grep_big_may_match(path, q);
}

/* Doc d of segment si, a candidate: unless deleted (or an always-read file
 * whose trigrams rule q out), counted, and listed when under o's paths. */
static int consider(const xihu_grep_opts *o, const seg *s, uint32_t si, uint32_t d, bool always_only,
                    const gq *q, grep_cands *c, xihu_err *err)
{
	if (seg_bitmap_test(seg_deletes(s), d))
		return 0;
	seg_doc doc;
	int rc = seg_doc_get(s, d, &doc, err);
	if (rc || (always_only && !big_may_match(&doc, q)))
		return rc;
	c->candidates++;
	int rank = wanted(o, &doc);
	return rank < 0 ? 0 : add(c, si, d, &doc, rank, err);
}

static int seg_cands(const xihu_grep_opts *o, const seg *s, uint32_t si, const gq *q, grep_cands *c,
                     xihu_err *err)
{
	idset set = {0};
	int rc = eval(s, q, &set, err);
	if (rc < 0) {
		free(set.v);
		return rc;
	}
	const uint32_t *always;
	uint32_t nalways = seg_always_docs(s, &always);
	if (set.all) { /* every greppable doc, and the always-read ones */
		for (uint32_t d = 0, nd = seg_ndocs(s); d < nd && rc == 0; d++) {
			bool big = seg_doc_always(s, d);
			if (big || seg_doc_greppable(s, d))
				rc = consider(o, s, si, d, big, q, c, err);
		}
	} else { /* the query's docs merged with the always-read ones */
		set.n = seg_gram_ids_docs(s, set.v, set.n); /* gram ids -> their docs */
		uint32_t i = 0, k = 0;
		while (rc == 0 && (i < set.n || k < nalways)) {
			bool from_set = k == nalways || (i < set.n && set.v[i] < always[k]);
			uint32_t d = from_set ? set.v[i++] : always[k++];
			rc = consider(o, s, si, d, !from_set, q, c, err);
		}
	}
	free(set.v);
	return rc;
}

static int cmp_path(const void *a, const void *b)
{
	const grep_cand *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	uint32_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char p = (unsigned char)x->name[i], q = (unsigned char)y->name[i];
		if (p != q)
			return (p == '/' ? 0 : p + 1) - (q == '/' ? 0 : q + 1);
	}
	return (x->name_len > n) - (y->name_len > n);
}

int grep_candidates(xihu_index *ix, const xihu_grep_opts *o, const gq *q, grep_cands *c, xihu_err *err)
{
	memset(c, 0, sizeof *c);
	uint32_t nsegs = index_nsegs(ix);
	for (uint32_t i = 0; i < nsegs; i++) {
		int rc = seg_cands(o, index_seg(ix, i), i, q, c, err);
		if (rc < 0) {
			grep_cands_free(c);
			return rc;
		}
	}
	for (size_t i = 0; i < o->nextra; i++) {
		size_t n = strlen(o->extra[i]);
		seg_doc d = {.name = o->extra[i], .name_len = (uint32_t)n};
		int rank = wanted(o, &d);
		if (rank < 0)
			continue;
		int rc = add(c, UINT32_MAX, 0, &d, rank, err);
		if (rc < 0) {
			grep_cands_free(c);
			return rc;
		}
	}
	if (c->n > 1) /* qsort needs a non-NULL base even for nothing */
		qsort(c->v, c->n, sizeof *c->v, cmp_path);
	/* a changed file that is also in a segment: read once */
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++)
		if (k == 0 || cmp_path(&c->v[k - 1], &c->v[i]) != 0 || c->v[i].record != c->v[k - 1].record)
			c->v[k++] = c->v[i];
	c->n = k;
	return 0;
}

int grep_any_in_scope(xihu_index *ix, const xihu_grep_opts *o, bool *any, xihu_err *err)
{
	*any = false;
	for (size_t i = 0; i < o->nextra && !*any; i++) {
		seg_doc d = {.name = o->extra[i], .name_len = (uint32_t)strlen(o->extra[i])};
		*any = wanted(o, &d) >= 0;
	}
	for (uint32_t i = 0, n = index_nsegs(ix); i < n && !*any; i++) {
		const seg *s = index_seg(ix, i);
		for (uint32_t d = 0, nd = seg_ndocs(s); d < nd && !*any; d++) {
			if (seg_bitmap_test(seg_deletes(s), d))
				continue;
			seg_doc doc;
			int rc = seg_doc_get(s, d, &doc, err);
			if (rc)
				return rc;
			*any = wanted(o, &doc) >= 0;
		}
	}
	return 0;
}

void grep_cands_free(grep_cands *c)
{
	free(c->v);
	memset(c, 0, sizeof *c);
}
