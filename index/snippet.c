/*
 * snippet.c: a document's text -> the lines that contain query words.
 *
 * The text is analyzed once with the same analyzer the index used, so a
 * highlighted span is exactly a token the query matched (a term, or a
 * token starting with a queried prefix).  Each line with a match becomes
 * an xihu_line: 1-based line number, 1-based byte column of its first
 * match, the line text without "\n" or "\r\n", and the spans as byte
 * offsets into that text.  A line longer than SNIPPET_MAX_LINE bytes is cut
 * to a window around its first match, on UTF-8 character boundaries; the
 * column still counts from the real start of the line.
 * Called by search.c for the hits of one page.
 */
#include <stdlib.h>
#include <string.h>

#include "index-int.h"

#define SNIPPET_MAX_LINE 1024
#define SNIPPET_LEAD 160 /* bytes kept before the first match of a cut line */

static bool token_wanted(const hl_terms *hl, const token *t)
{
	for (uint32_t i = 0; i < hl->nterms; i++)
		if (!strcmp(hl->terms[i], t->term))
			return true;
	for (uint32_t i = 0; i < hl->nprefixes; i++)
		if (!strncmp(hl->prefixes[i], t->term, strlen(hl->prefixes[i])))
			return true;
	return false;
}

/* Moves a cut point back to the start of the UTF-8 character it is in. */
static size_t utf8_floor(const char *s, size_t i, size_t lo)
{
	while (i > lo && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	return i;
}

typedef struct line_acc {
	xihu_hit *hit;
	uint32_t cap;
	xihu_span *spans; /* spans of the current line, offsets into the whole text */
	uint32_t nspans, capspans;
} line_acc;

static int emit_line(line_acc *a, const char *text, size_t ls, size_t le, uint32_t lineno)
{
	xihu_hit *h = a->hit;
	if (le > ls && text[le - 1] == '\r')
		le--;
	if (h->nlines == a->cap) {
		uint32_t cap = a->cap ? a->cap * 2 : 8;
		xihu_line *l = realloc(h->lines, cap * sizeof *l);
		if (!l)
			return XIHU_ENOMEM;
		h->lines = l;
		a->cap = cap;
	}
	size_t from = ls, to = le;
	if (le - ls > SNIPPET_MAX_LINE) {
		size_t first = a->spans[0].start;
		from = first > ls + SNIPPET_LEAD ? utf8_floor(text, first - SNIPPET_LEAD, ls) : ls;
		to = from + SNIPPET_MAX_LINE < le ? utf8_floor(text, from + SNIPPET_MAX_LINE, from) : le;
	}
	xihu_line *l = &h->lines[h->nlines];
	memset(l, 0, sizeof *l);
	l->line = lineno;
	l->col = (uint32_t)(a->spans[0].start - ls) + 1;
	l->len = (uint32_t)(to - from);
	l->text = malloc(l->len + 1);
	l->spans = malloc(a->nspans * sizeof *l->spans);
	if (!l->text || !l->spans) {
		free(l->text);
		free(l->spans);
		return XIHU_ENOMEM;
	}
	memcpy(l->text, text + from, l->len);
	l->text[l->len] = 0;
	for (uint32_t i = 0; i < a->nspans; i++) {
		size_t s = a->spans[i].start, e = a->spans[i].end;
		if (s < from || e > to)
			continue; /* outside the window of a cut line */
		l->spans[l->nspans++] = (xihu_span){(uint32_t)(s - from), (uint32_t)(e - from)};
	}
	h->nlines++;
	return 0;
}

int snippet_lines(const char *text, size_t len, const hl_terms *hl, uint32_t max_lines, xihu_hit *hit,
                  xihu_err *err)
{
	line_acc a = {.hit = hit};
	analyzer an;
	token t;
	analyzer_init(&an, text, len);
	size_t scanned = 0, line_start = 0;
	uint32_t lineno = 1, cur_line = 0;
	size_t cur_start = 0;
	int rc = 0;
	while (hit->nlines < max_lines && analyzer_next(&an, &t)) {
		if (!token_wanted(hl, &t))
			continue;
		/* find the line of this token: count newlines since the last one */
		for (const char *nl; (nl = memchr(text + scanned, '\n', t.start - scanned));) {
			lineno++;
			scanned = (size_t)(nl - text) + 1;
			line_start = scanned;
		}
		scanned = t.start;
		if (a.nspans && cur_line != lineno) {
			const char *nl = memchr(text + cur_start, '\n', len - cur_start);
			if ((rc = emit_line(&a, text, cur_start, nl ? (size_t)(nl - text) : len, cur_line)))
				break;
			a.nspans = 0;
			if (hit->nlines >= max_lines)
				break;
		}
		cur_line = lineno;
		cur_start = line_start;
		if (a.nspans == a.capspans) {
			uint32_t cap = a.capspans ? a.capspans * 2 : 8;
			xihu_span *s = realloc(a.spans, cap * sizeof *s);
			if (!s) {
				rc = XIHU_ENOMEM;
				break;
			}
			a.spans = s;
			a.capspans = cap;
		}
		a.spans[a.nspans++] = (xihu_span){t.start, t.end};
	}
	if (!rc && a.nspans && hit->nlines < max_lines) {
		const char *nl = memchr(text + cur_start, '\n', len - cur_start);
		rc = emit_line(&a, text, cur_start, nl ? (size_t)(nl - text) : len, cur_line);
	}
	free(a.spans);
	if (rc)
		return xihu_err_set(err, rc, "snippets: out of memory");
	return 0;
}
