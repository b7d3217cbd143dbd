/*
 * fuzz_snippet.c: snippet_lines (index/snippet.c) on arbitrary text, with
 * its prefilter and without: both must give the same lines and spans.
 *
 * Input: byte 0 picks the analysis (bit 0: stopwords "the", "of", "a";
 * bit 1: English stemming), the context (bits 2-3) and a small max_lines
 * (bit 4); then up to the first '\n' the patterns, separated by '|', each
 * a space-separated list of words (several words: a phrase; one word ending
 * in '*': a prefix), every word analyzed as a query's would be; the rest is
 * the document's text.
 *
 * Invariants: both runs succeed; the same lines, columns, texts and spans.
 */
#include <string.h>

#include "fuzz.h"
#include "search/search.h"
#include "../unit/snippet_render.h"

#define MAX_PATTERNS 4
#define MAX_WORDS 4

static analysis *analyses[4];

static const analysis *analysis_for(unsigned bits)
{
	if (!analyses[bits]) {
		const char *stop = "the\nof\na\n";
		analysis_opts o = {.stem = bits & 2 ? "english" : NULL,
		                   .stopwords = bits & 1 ? stop : NULL,
		                   .stopwords_len = bits & 1 ? strlen(stop) : 0,
		                   .stopwords_name = "stop.txt"};
		FUZZ_CHECK(analysis_new(&o, &analyses[bits], NULL) == 0);
	}
	return analyses[bits];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned opt = data[0];
	const analysis *an = analysis_for(opt & 3);
	const char *spec = (const char *)data + 1, *end = (const char *)data + size;
	const char *nl = memchr(spec, '\n', (size_t)(end - spec));
	if (!nl)
		return 0;
	const char *text = nl + 1;
	size_t len = (size_t)(end - text);

	char *words[MAX_PATTERNS][MAX_WORDS];
	hl_pattern p[MAX_PATTERNS];
	uint32_t np = 0;
	for (const char *s = spec; s < nl && np < MAX_PATTERNS;) {
		const char *bar = memchr(s, '|', (size_t)(nl - s));
		const char *pe = bar ? bar : nl;
		uint32_t nw = 0;
		bool prefix = false;
		for (const char *w = s; w < pe && nw < MAX_WORDS;) {
			while (w < pe && *w == ' ')
				w++;
			const char *we = w;
			while (we < pe && *we != ' ')
				we++;
			if (we > w) {
				size_t wl = (size_t)(we - w);
				prefix = we[-1] == '*';
				char *t = snippet_term(an, w, prefix ? wl - 1 : wl, prefix ? ANALYZE_PLAIN : 0);
				if (t)
					words[np][nw++] = t;
			}
			w = we;
		}
		if (nw) {
			p[np] = (hl_pattern){nw, words[np], prefix && nw == 1, NULL};
			np++;
		}
		s = pe + 1;
	}
	if (np) {
		hl_terms hl = {np, p, an};
		uint32_t max_lines = opt & 16 ? 1 + (opt >> 5) : 1000, context = (opt >> 2) & 3;
		size_t ns, nf;
		char *slow = snippet_render(text, len, &hl, max_lines, context, false, &ns);
		char *fast = snippet_render(text, len, &hl, max_lines, context, true, &nf);
		FUZZ_CHECK(slow && fast);
		if (ns != nf || memcmp(slow, fast, ns) != 0)
			fprintf(stderr, "analyzing every line:\n%.*s\nprefiltered:\n%.*s\n", (int)ns, slow, (int)nf,
			        fast);
		FUZZ_CHECK(ns == nf && memcmp(slow, fast, ns) == 0);
		free(slow);
		free(fast);
	}
	for (uint32_t i = 0; i < np; i++)
		for (uint32_t k = 0; k < p[i].nterms; k++)
			free(words[i][k]);
	return 0;
}
