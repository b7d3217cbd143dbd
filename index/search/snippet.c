/*
 * snippet.c: a document's text -> the lines where the query matched.
 *
 * The text is analyzed once with the index's analysis (hl_terms.an, the
 * one its documents and the query went through), so a span is exactly the
 * source text of a token the query matched: a term, a token starting with a
 * queried prefix, or every word of a phrase found at its position
 * (consecutive, or with the gaps stopwords left; a phrase's words alone are
 * not highlighted).  So a stemmed match highlights the word as written
 * (runs for running), a camelCase whole or part its part of the
 * identifier, a CJK bigram its two characters.  Spans are collected in a
 * first pass, then sorted, overlapping and touching ones merged (a phrase
 * of CJK bigrams is one span, so is max_frame_size's), and grouped into
 * lines: 1-based line number,
 * 1-based byte column of the line's first span, the line text without
 * "\n" or "\r\n", and the spans as byte offsets into that text.  A line
 * longer than SNIPPET_MAX_LINE bytes is cut to a window around its first
 * span, on UTF-8 character boundaries; the column still counts from the
 * real start of the line.  With context, the lines around each matched one
 * are added as lines without spans (col 0).
 *
 * A query may have a thousand patterns (a pasted paragraph, a fuzzy word's
 * expansions in every segment): a token finds the patterns ending in it by
 * a binary search of them sorted by their last word (a prefix's, by each
 * of the token's first bytes), not by trying each, and the prefilter's
 * pass over the text per distinct word is made only for a few words
 * (SNIPPET_PREFILTER_WORDS); past them one analysis of the text costs less.
 * Called by search.c for the hits of one page.
 */
#include <stdlib.h>
#include <string.h>

#include "search/search.h"

bool snippet_prefilter = true;

#define SNIPPET_MAX_LINE 1024
/* Distinct words of the patterns up to which the prefilter looks for each
 * in the text (a memmem pass, some 1.3 ms per 8 MB each): beyond, analyzing
 * the text once (some 100 ms per 8 MB, stopped once enough lines have
 * matched) costs less. */
#define SNIPPET_PREFILTER_WORDS 32
#define SNIPPET_LEAD 160 /* bytes kept before the first match of a cut line */
/* recent tokens kept for phrase matching: a phrase spans fewer than
 * XIHU_MAX_TERM positions, each with one token and maybe a whole form */
#define RING (4 * XIHU_MAX_TERM)

typedef struct span {
	uint32_t start, end;
} span;

typedef struct spans {
	span *v;
	size_t n, cap;
	int rc;
} spans;

static void spans_add(spans *s, uint32_t start, uint32_t end)
{
	if (s->rc)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		span *v = realloc(s->v, cap * sizeof *v);
		if (!v) {
			s->rc = XIHU_ENOMEM;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (span){start, end};
}

typedef struct recent {
	char term[XIHU_MAX_TERM + 1];
	uint32_t pos, start, end;
	bool whole;
} recent;

static bool word_matches(const hl_pattern *p, uint32_t i, const char *term)
{
	if (p->prefix)
		return !strncmp(term, p->terms[i], strlen(p->terms[i]));
	return !strcmp(term, p->terms[i]);
}

/* Where word i of a phrase stands, counted from its first word. */
static uint32_t word_pos(const hl_pattern *p, uint32_t i)
{
	return p->pos ? p->pos[i] : i;
}

/* Whether the phrase p ends with the token ring[newest] (it matched p's
 * last word): each earlier word found at its position, walking back. */
static bool phrase_ends_here(const hl_pattern *p, const recent *ring, uint64_t newest)
{
	const recent *last = &ring[newest % RING];
	uint32_t n = p->nterms, lastp = word_pos(p, n - 1);
	if (last->whole || last->pos < lastp)
		return false;
	uint32_t base = last->pos - lastp;
	int64_t i = (int64_t)n - 2;
	for (uint64_t j = newest; i >= 0 && j > 0 && newest - (j - 1) < RING; j--) {
		const recent *q = &ring[(j - 1) % RING];
		if (q->whole)
			continue;
		uint32_t want = base + word_pos(p, (uint32_t)i);
		if (q->pos < want)
			return false;
		if (q->pos > want)
			continue;
		if (!word_matches(p, (uint32_t)i, q->term))
			return false;
		i--;
	}
	return i < 0;
}

/* The patterns by their last word: exact ones (a term, a phrase) sorted by
 * it, prefixes sorted by it apart; a single-word pattern given twice (a word
 * the query repeats, a fuzzy expansion found in several segments) is kept
 * once.  words: every distinct word of every pattern, sorted, for the
 * prefilter. */
typedef struct pattern_index {
	const hl_pattern **exact, **prefix; /* into hl_terms.p */
	uint32_t nexact, nprefix;
	const char **words;
	uint32_t nwords;
} pattern_index;

static const char *last_word(const hl_pattern *p)
{
	return p->terms[p->nterms - 1];
}

/* By last word, a single word first, then by place in hl_terms.p (so the
 * first of equal single words stays).  The patterns are compared through
 * the pointers sorted, with no context outside them: xihud's workers make
 * snippets at the same time. */
static int cmp_by_last(const void *a, const void *b)
{
	const hl_pattern *p = *(const hl_pattern *const *)a, *q = *(const hl_pattern *const *)b;
	int c = strcmp(last_word(p), last_word(q));
	if (c)
		return c;
	if ((p->nterms == 1) != (q->nterms == 1))
		return p->nterms == 1 ? -1 : 1;
	return p < q ? -1 : p > q;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts v[0..n) by last word and drops a single-word pattern equal to the
 * one before it; returns how many are left. */
static uint32_t sort_unique(const hl_pattern **v, uint32_t n)
{
	qsort(v, n, sizeof *v, cmp_by_last);
	uint32_t w = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (w && v[i]->nterms == 1 && v[w - 1]->nterms == 1 && !strcmp(last_word(v[i]), last_word(v[w - 1])))
			continue;
		v[w++] = v[i];
	}
	return w;
}

static void pattern_index_free(pattern_index *x)
{
	free(x->exact);
	free(x->prefix);
	free(x->words);
}

/* False when out of memory. */
static bool pattern_index_build(const hl_terms *hl, pattern_index *x)
{
	*x = (pattern_index){0};
	size_t nw = 0;
	for (uint32_t k = 0; k < hl->n; k++)
		nw += hl->p[k].nterms;
	x->exact = malloc((hl->n + 1) * sizeof *x->exact);
	x->prefix = malloc((hl->n + 1) * sizeof *x->prefix);
	x->words = malloc((nw + 1) * sizeof *x->words);
	if (!x->exact || !x->prefix || !x->words) {
		pattern_index_free(x);
		return false;
	}
	nw = 0;
	for (uint32_t k = 0; k < hl->n; k++) {
		const hl_pattern *p = &hl->p[k];
		if (p->nterms == 0)
			continue;
		if (p->prefix)
			x->prefix[x->nprefix++] = p;
		else
			x->exact[x->nexact++] = p;
		for (uint32_t i = 0; i < p->nterms; i++)
			x->words[nw++] = p->terms[i];
	}
	x->nexact = sort_unique(x->exact, x->nexact);
	x->nprefix = sort_unique(x->prefix, x->nprefix);
	qsort(x->words, nw, sizeof *x->words, cmp_str);
	for (size_t i = 0; i < nw; i++)
		if (!x->nwords || strcmp(x->words[i], x->words[x->nwords - 1]))
			x->words[x->nwords++] = x->words[i];
	return true;
}

/* w against key[0..klen) (no NUL in it), in strcmp's order. */
static int cmp_key(const char *w, const char *key, size_t klen)
{
	int c = strncmp(w, key, klen);
	return c ? c : w[klen] != 0;
}

/* The first of v[0..n) whose last word is not below key[0..klen). */
static uint32_t lower_bound(const hl_pattern *const *v, uint32_t n, const char *key, size_t klen)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cmp_key(last_word(v[mid]), key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Pass 1 state: the spans found so far and how many lines they are on. */
typedef struct collector {
	const char *text;
	const hl_terms *hl;
	pattern_index ix;
	uint32_t max_lines, lines_with_spans;
	size_t scanned; /* newlines counted up to here */
	analyzer an;
	recent *ring;
	spans *out;
} collector;

/* The spans of pattern p if it matches with the token just seen (ring's
 * newest, seen - 1 of them); *single set once a single-word pattern did. */
static void match_pattern(collector *c, const hl_pattern *p, const token *t, uint64_t seen, bool *single)
{
	spans *out = c->out;
	const recent *ring = c->ring;
	uint32_t n = p->nterms;
	if (n == 1) { /* a term or a prefix: a whole form too */
		if (!*single)
			spans_add(out, t->start, t->end);
		*single = true;
		return;
	}
	if (!phrase_ends_here(p, ring, seen - 1))
		return;
	/* the words found: the tokens at the phrase's positions */
	uint32_t base = t->pos - word_pos(p, n - 1), i = 0;
	for (uint64_t j = seen < RING ? 0 : seen - RING; j < seen; j++) {
		const recent *q = &ring[j % RING];
		if (!q->whole && i < n && q->pos == base + word_pos(p, i)) {
			spans_add(out, q->start, q->end);
			i++;
		}
	}
}

/* Analyzes text[from, to) as a text of its own (positions from 0, so no
 * phrase bridges two ranges) and adds the spans of its matches.  Returns
 * false once the spans are on more than max_lines + 2 lines: later text
 * cannot add to the first lines. */
static bool collect_range(collector *c, size_t from, size_t to)
{
	spans *out = c->out;
	recent *ring = c->ring;
	token t;
	uint64_t seen = 0;
	analyzer_reset(&c->an, c->text + from, to - from, 0);
	while (analyzer_next(&c->an, &t) && !out->rc) {
		t.start += (uint32_t)from;
		t.end += (uint32_t)from;
		recent *r = &ring[seen % RING];
		memcpy(r->term, t.term, t.len + 1);
		r->pos = t.pos;
		r->start = t.start;
		r->end = t.end;
		r->whole = t.whole;
		seen++;
		size_t before = out->n;
		const pattern_index *x = &c->ix;
		bool single = false;
		/* the exact patterns whose last word is the token */
		for (uint32_t k = lower_bound(x->exact, x->nexact, t.term, t.len);
		     k < x->nexact && !cmp_key(last_word(x->exact[k]), t.term, t.len); k++)
			match_pattern(c, x->exact[k], &t, seen, &single);
		/* the prefixes: each of the token's first bytes */
		for (uint32_t l = 1; l <= t.len && x->nprefix; l++)
			for (uint32_t k = lower_bound(x->prefix, x->nprefix, t.term, l);
			     k < x->nprefix && !cmp_key(last_word(x->prefix[k]), t.term, l); k++)
				match_pattern(c, x->prefix[k], &t, seen, &single);
		if (out->n == before)
			continue;
		const char *nl;
		uint32_t newlines = 0;
		while ((nl = memchr(c->text + c->scanned, '\n', t.start - c->scanned))) {
			newlines++;
			c->scanned = (size_t)(nl - c->text) + 1;
		}
		if (newlines || c->lines_with_spans == 0)
			c->lines_with_spans++;
		if (c->lines_with_spans > c->max_lines + 2)
			return false;
	}
	return true;
}

/* Whether the lines of text that may hold a match can be found without
 * analyzing the rest.  Without stemming, the analysis of an all-ASCII line
 * gives tokens that are each the line's own bytes [start, end), lowercased
 * (parts, wholes with their '_', prefixes' tokens start with the prefix).
 * So when every word of the patterns is ASCII, an ASCII line can match
 * only where a word occurs in it as a lowercase substring; lines with other
 * bytes (NFKC folding can make ASCII of them) are always analyzed.  With
 * stopwords a phrase may bridge a line of stopwords alone: phrases then go
 * the long way. */
static bool can_prefilter(const collector *c)
{
	if (c->an.sb || c->ix.nwords > SNIPPET_PREFILTER_WORDS)
		return false;
	for (uint32_t k = 0; k < c->hl->n; k++) {
		const hl_pattern *p = &c->hl->p[k];
		if (p->nterms > 1 && c->an.has_stop)
			return false;
		for (uint32_t i = 0; i < p->nterms; i++)
			for (const char *w = p->terms[i]; *w; w++)
				if ((unsigned char)*w >= 0x80)
					return false;
	}
	return true;
}

/* A run of whole lines [start, end) to analyze. */
typedef struct range {
	size_t start, end;
} range;

typedef struct ranges {
	range *v;
	size_t n, cap;
} ranges;

/* Adds the line holding byte at; false when out of memory. */
static bool add_line(ranges *r, const char *text, size_t len, size_t at)
{
	if (r->n && at < r->v[r->n - 1].end && at >= r->v[r->n - 1].start)
		return true; /* the line added last (hits come in text order per word) */
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		range *v = realloc(r->v, cap * sizeof *v);
		if (!v)
			return false;
		r->v = v;
		r->cap = cap;
	}
	const char *nl = memrchr(text, '\n', at);
	size_t ls = nl ? (size_t)(nl - text) + 1 : 0;
	nl = memchr(text + at, '\n', len - at);
	r->v[r->n++] = (range){ls, nl ? (size_t)(nl - text) + 1 : len};
	return true;
}

static int cmp_range(const void *a, const void *b)
{
	const range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Whether text[from, to) holds no ASCII letter or digit (and so, being
 * ASCII, no token); true when from >= to. */
static bool no_word(const char *text, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		unsigned char c = (unsigned char)text[i], l = c | 0x20; /* l: lowercase, for letters only */
		if ((c >= '0' && c <= '9') || (l >= 'a' && l <= 'z'))
			return false;
	}
	return true;
}

/* The prefiltered pass: the lines where a pattern word occurs in the
 * lowercased text, and the lines with a non-ASCII byte, are analyzed, in
 * runs joined across the lines between them that hold no letter or digit
 * (they hold no token, and a phrase may span them).  Returns -1 out of
 * memory (the caller takes the long way). */
static int collect_prefiltered(collector *c, size_t len)
{
	const char *text = c->text;
	char *low = malloc(len + 1);
	ranges r = {0};
	bool ok = low != NULL;
	for (size_t i = 0; ok && i < len; i++)
		low[i] = text[i] >= 'A' && text[i] <= 'Z' ? (char)(text[i] | 0x20) : text[i];
	for (uint32_t k = 0; ok && k < c->ix.nwords; k++) {
		const char *word = c->ix.words[k];
		size_t wl = strlen(word);
		const char *at = low, *end = low + len;
		while (ok && wl && (at = memmem(at, (size_t)(end - at), word, wl))) {
			ok = add_line(&r, text, len, (size_t)(at - low));
			at++;
		}
	}
	/* non-ASCII bytes, 8 at a time */
	for (size_t i = 0; ok && i < len;) {
		if (i + 8 <= len) {
			uint64_t w;
			memcpy(&w, text + i, 8);
			if (!(w & 0x8080808080808080u)) {
				i += 8;
				continue;
			}
		}
		if ((unsigned char)text[i] >= 0x80) {
			ok = add_line(&r, text, len, i);
			const char *nl = memchr(text + i, '\n', len - i); /* on to the next line */
			i = nl ? (size_t)(nl - text) + 1 : len;
		} else {
			i++;
		}
	}
	if (ok) {
		if (r.n)
			qsort(r.v, r.n, sizeof *r.v, cmp_range);
		bool more = true;
		size_t run = 0;
		for (size_t i = 1; i <= r.n && more; i++) {
			/* overlapping lines, or apart by lines without a word: one run */
			if (i < r.n && no_word(text, r.v[i - 1].end, r.v[i].start)) {
				if (r.v[i].end < r.v[i - 1].end)
					r.v[i].end = r.v[i - 1].end;
				continue; /* the same run */
			}
			more = collect_range(c, r.v[run].start, r.v[i - 1].end);
			run = i;
		}
	}
	free(low);
	free(r.v);
	return ok ? 0 : -1;
}

/* Pass 1: the spans of every match, in text order of their last token. */
static void collect(const char *text, size_t len, const hl_terms *hl, uint32_t max_lines, spans *out)
{
	collector c = {.text = text, .hl = hl, .max_lines = max_lines, .out = out};
	c.ring = malloc(RING * sizeof *c.ring);
	if (!c.ring || !pattern_index_build(hl, &c.ix)) {
		free(c.ring);
		out->rc = XIHU_ENOMEM;
		return;
	}
	if (analyzer_open(&c.an, hl->an, NULL)) {
		pattern_index_free(&c.ix);
		free(c.ring);
		out->rc = XIHU_ENOMEM;
		return;
	}
	if (!snippet_prefilter || !can_prefilter(&c) || collect_prefiltered(&c, len) != 0)
		collect_range(&c, 0, len);
	analyzer_close(&c.an);
	pattern_index_free(&c.ix);
	free(c.ring);
}

static int cmp_span(const void *a, const void *b)
{
	const span *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Moves a cut point back to the start of the UTF-8 character it is in. */
static size_t utf8_floor(const char *s, size_t i, size_t lo)
{
	while (i > lo && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	return i;
}

/* Appends the line [ls, le) holding spans sp[0..n) to hit. */
static int emit_line(xihu_index_hit *h, uint32_t *cap, const char *text, size_t ls, size_t le, uint32_t lineno,
                     const span *sp, size_t n)
{
	if (le > ls && text[le - 1] == '\r')
		le--;
	if (h->nlines == *cap) {
		uint32_t c = *cap ? *cap * 2 : 8;
		xihu_index_line *l = realloc(h->lines, c * sizeof *l);
		if (!l)
			return XIHU_ENOMEM;
		h->lines = l;
		*cap = c;
	}
	size_t from = ls, to = le;
	if (le - ls > SNIPPET_MAX_LINE) {
		size_t first = sp[0].start; /* a context line passes one empty span at ls */
		from = first > ls + SNIPPET_LEAD ? utf8_floor(text, first - SNIPPET_LEAD, ls) : ls;
		to = from + SNIPPET_MAX_LINE < le ? utf8_floor(text, from + SNIPPET_MAX_LINE, from) : le;
	}
	xihu_index_line *l = &h->lines[h->nlines];
	memset(l, 0, sizeof *l);
	l->line = lineno;
	l->col = (uint32_t)(sp[0].start - ls) + 1;
	l->len = (uint32_t)(to - from);
	l->text = malloc(l->len + 1);
	l->spans = malloc((n ? n : 1) * sizeof *l->spans);
	if (!l->text || !l->spans) {
		free(l->text);
		free(l->spans);
		return XIHU_ENOMEM;
	}
	memcpy(l->text, text + from, l->len);
	l->text[l->len] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t s = sp[i].start, e = sp[i].end;
		if (s < from || e > to)
			continue; /* outside the window of a cut line */
		l->spans[l->nspans++] = (xihu_index_span){(uint32_t)(s - from), (uint32_t)(e - from)};
	}
	h->nlines++;
	return 0;
}

/* Appends *l to h->lines, taking its buffers (l is left empty). */
static int move_line(xihu_index_hit *h, uint32_t *cap, xihu_index_line *l)
{
	if (h->nlines == *cap) {
		uint32_t c = *cap ? *cap * 2 : 8;
		xihu_index_line *v = realloc(h->lines, c * sizeof *v);
		if (!v)
			return XIHU_ENOMEM;
		h->lines = v;
		*cap = c;
	}
	h->lines[h->nlines++] = *l;
	memset(l, 0, sizeof *l);
	return 0;
}

/*
 * Adds the `context` lines before and after each matched line of hit, as
 * lines without spans (col 0), keeping line order; lines shared by two
 * matches appear once.  The text is scanned forward once.
 */
static int add_context(const char *text, size_t len, uint32_t context, xihu_index_hit *hit)
{
	uint32_t nm = hit->nlines;
	if (!context || !nm)
		return 0;
	xihu_index_line *m = hit->lines;
	uint32_t cap = 0, lineno = 1;
	size_t at = 0; /* the start of line lineno */
	xihu_index_hit out = {0};
	int rc = 0;
	for (uint32_t i = 0; i < nm && !rc; i++) {
		uint32_t from = m[i].line > context ? m[i].line - context : 1;
		uint32_t to = m[i].line + context; /* inclusive, clipped at the text's end */
		if (i + 1 < nm && to >= m[i + 1].line)
			to = m[i + 1].line - 1;
		if (out.nlines && from <= out.lines[out.nlines - 1].line)
			from = out.lines[out.nlines - 1].line + 1;
		for (uint32_t ln = from; ln <= to && !rc; ln++) {
			while (lineno < ln) {
				const char *nl = memchr(text + at, '\n', len - at);
				if (!nl)
					break;
				at = (size_t)(nl - text) + 1;
				lineno++;
			}
			if (lineno < ln || (at >= len && ln > 1 && ln != m[i].line))
				break; /* past the end of the text */
			if (ln == m[i].line) {
				rc = move_line(&out, &cap, &m[i]);
				continue;
			}
			const char *nl = memchr(text + at, '\n', len - at);
			size_t le = nl ? (size_t)(nl - text) : len;
			span none = {(uint32_t)at, (uint32_t)at};
			rc = emit_line(&out, &cap, text, at, le, ln, &none, 0);
			if (!rc)
				out.lines[out.nlines - 1].col = 0;
		}
		if (!rc && m[i].text) /* its line lay past what the loop reached: keep it */
			rc = move_line(&out, &cap, &m[i]);
	}
	if (rc) { /* give back what moved, drop the context made */
		for (uint32_t i = 0; i < out.nlines; i++) {
			free(out.lines[i].text);
			free(out.lines[i].spans);
		}
		free(out.lines);
		for (uint32_t i = 0; i < nm; i++) {
			free(m[i].text);
			free(m[i].spans);
		}
		free(m);
		hit->lines = NULL;
		hit->nlines = 0;
		return rc;
	}
	free(m);
	hit->lines = out.lines;
	hit->nlines = out.nlines;
	return 0;
}

int snippet_lines(const char *text, size_t len, const hl_terms *hl, uint32_t max_lines, uint32_t context,
                  xihu_index_hit *hit, xihu_err *err)
{
	spans sp = {0};
	collect(text, len, hl, max_lines, &sp);
	int rc = sp.rc;
	if (!rc && sp.n) {
		qsort(sp.v, sp.n, sizeof *sp.v, cmp_span);
		/* merge duplicates (a token two patterns matched), overlaps (CJK
		 * bigrams, a whole form and its parts), touching spans and spans
		 * apart by '_' only (the parts of MAX_FRAME_SIZE) */
		size_t w = 1;
		for (size_t i = 1; i < sp.n; i++) {
			size_t g = sp.v[w - 1].end;
			while (g < sp.v[i].start && text[g] == '_')
				g++;
			if (sp.v[i].start <= g) {
				if (sp.v[i].end > sp.v[w - 1].end)
					sp.v[w - 1].end = sp.v[i].end;
			} else {
				sp.v[w++] = sp.v[i];
			}
		}
		sp.n = w;
	}
	/* Pass 2: group the sorted spans by line. */
	uint32_t cap = 0, lineno = 1;
	size_t scanned = 0, line_start = 0;
	for (size_t i = 0; !rc && i < sp.n && hit->nlines < max_lines;) {
		const char *nl;
		while ((nl = memchr(text + scanned, '\n', sp.v[i].start - scanned))) {
			lineno++;
			scanned = (size_t)(nl - text) + 1;
			line_start = scanned;
		}
		scanned = sp.v[i].start;
		nl = memchr(text + line_start, '\n', len - line_start);
		size_t line_end = nl ? (size_t)(nl - text) : len;
		size_t j = i;
		while (j < sp.n && sp.v[j].start < line_end)
			j++;
		rc = emit_line(hit, &cap, text, line_start, line_end, lineno, sp.v + i, j - i);
		i = j;
	}
	free(sp.v);
	if (!rc)
		rc = add_context(text, len, context, hit);
	if (rc)
		return xihu_err_set(err, rc, "snippets: out of memory");
	return 0;
}
