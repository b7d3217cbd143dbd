/*
 * snippet_render.h: what the tests that hold snippet_lines' prefilter
 * against the long way share (unit/snippet, fuzz_snippet).
 *
 * snippet_render: one snippet_lines run, printed a line each as
 * "line:col:text|[start,end]...", so that two runs compare as bytes (the
 * text may hold NUL bytes: *out_len is its length).  snippet_term: the
 * first token of a word as a query would give it.  Both return NULL when
 * they fail; the caller asserts.
 */
#ifndef XIHU_SNIPPET_RENDER_H
#define XIHU_SNIPPET_RENDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search.h"

static inline char *snippet_render(const char *text, size_t len, const hl_terms *hl, uint32_t max_lines,
                                   uint32_t context, bool prefilter, size_t *out_len)
{
	snippet_prefilter = prefilter;
	xihu_index_hit hit = {0};
	int rc = snippet_lines(text, len, hl, max_lines, context, &hit, NULL);
	snippet_prefilter = true;
	char *out = NULL;
	size_t n = 0;
	FILE *f = rc ? NULL : open_memstream(&out, &n);
	for (uint32_t l = 0; l < hit.nlines; l++) {
		const xihu_index_line *x = &hit.lines[l];
		if (f) {
			fprintf(f, "%u:%u:", x->line, x->col);
			fwrite(x->text, 1, x->len, f);
			fputc('|', f);
			for (uint32_t s = 0; s < x->nspans; s++)
				fprintf(f, "[%u,%u]", x->spans[s].start, x->spans[s].end);
			fputc('\n', f);
		}
		free(x->text);
		free(x->spans);
	}
	free(hit.lines);
	if (!f)
		return NULL;
	fclose(f);
	*out_len = n;
	return out;
}

static inline char *snippet_term(const analysis *an, const char *w, size_t n, unsigned flags)
{
	analyzer a;
	token t;
	char *s = NULL;
	if (analyzer_open(&a, an, NULL))
		return NULL;
	analyzer_reset(&a, w, n, flags);
	while (!s && analyzer_next(&a, &t))
		if (!t.whole)
			s = strdup(t.term);
	analyzer_close(&a);
	return s;
}

#endif
