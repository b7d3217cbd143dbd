/*
 * wordsets.c: struct analysis, the analysis an index was created with: the
 * Snowball stemmer's name ("" for none), whether diacritics are folded, the
 * BM25 parameters, and the stopword and pair-word sets (folded words,
 * sorted, with a hash table for the analyzer's and the writer's per-token
 * lookups), with their accessors.  An analysis is immutable once made
 * (settings.c makes them) and shared read-only by every thread; a NULL
 * `const analysis *` everywhere means the default analysis (no stemming, no
 * stopwords, diacritics kept).
 *
 * The lowest file of the analysis layer: analyze.c reads an analysis
 * through it, settings.c fills one in (analysis-int.h), and it calls
 * neither.
 */
#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis-int.h"

const char *analysis_stem(const analysis *an)
{
	return an ? an->stem : "";
}

double analysis_k1(const analysis *an)
{
	return an ? an->k1 : XIHU_BM25_K1_DEFAULT;
}

double analysis_b(const analysis *an)
{
	return an ? an->b : XIHU_BM25_B_DEFAULT;
}

bool analysis_fold_diacritics(const analysis *an)
{
	return an && an->fold_diacritics;
}

bool ws_has(const wordset *ws, const char *term, uint32_t len)
{
	if (!ws->n)
		return false;
	for (uint32_t i = (uint32_t)hash_bytes(term, len) & ws->mask;; i = (i + 1) & ws->mask) {
		uint32_t k = ws->table[i];
		if (!k)
			return false;
		if (ws->len[k - 1] == len && !memcmp(ws->w[k - 1], term, len))
			return true;
	}
}

void ws_free(wordset *ws)
{
	free(ws->w);
	free(ws->len);
	free(ws->arena);
	free(ws->table);
	memset(ws, 0, sizeof *ws);
}

bool ws_same(const wordset *a, const wordset *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->w[i], b->w[i]))
			return false;
	return true;
}

uint32_t analysis_nstopwords(const analysis *an)
{
	return an ? an->stop.n : 0;
}

bool analysis_is_stopword(const analysis *an, const char *term, uint32_t len)
{
	return an && ws_has(&an->stop, term, len);
}

uint32_t analysis_npairwords(const analysis *an)
{
	return an ? an->pairs.n : 0;
}

bool analysis_is_pairword(const analysis *an, const char *term, uint32_t len)
{
	return an && ws_has(&an->pairs, term, len);
}

void analysis_free(analysis *an)
{
	if (!an)
		return;
	ws_free(&an->stop);
	ws_free(&an->pairs);
	free(an);
}

bool analysis_known_stemmer(const char *name)
{
	for (const char **l = sb_stemmer_list(); *l; l++)
		if (!strcmp(*l, name))
			return true;
	return false;
}

/* "arabic, armenian, ..." into buf, for an error message. */

static int cmp_word(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	return strcmp(x, y); /* words hold no NUL: strcmp is memcmp, shorter first */
}

/* Sorts words[0..n) (each NUL-terminated, in ws->arena), drops
 * duplicates and builds the hash table.  Takes the array. */
int ws_finish(wordset *ws, char **words, uint32_t n, xihu_err *err)
{
	ws->w = words;
	if (n == 0)
		return 0;
	qsort(words, n, sizeof *words, cmp_word);
	uint32_t w = 1;
	for (uint32_t i = 1; i < n; i++)
		if (strcmp(words[i], words[w - 1]))
			words[w++] = words[i];
	ws->n = w;
	uint32_t cap = 16;
	while (cap < 2 * w)
		cap *= 2;
	ws->table = calloc(cap, sizeof *ws->table);
	ws->len = malloc(w);
	if (!ws->table || !ws->len)
		return xihu_err_set(err, XIHU_ENOMEM, "word list: out of memory");
	ws->mask = cap - 1;
	for (uint32_t i = 0; i < w; i++) {
		size_t len = strlen(words[i]);
		ws->len[i] = (uint8_t)len;
		uint32_t h = (uint32_t)hash_bytes(words[i], len) & ws->mask;
		while (ws->table[h])
			h = (h + 1) & ws->mask;
		ws->table[h] = i + 1;
	}
	return 0;
}
