/*
 * analysis-int.h: struct analysis and its word sets, private to the analysis
 * layer: wordsets.c owns them, settings.c fills them in.  Everyone else, the
 * analyzer (analyze.c) too, uses the accessors of analysis.h.
 */
#ifndef XIHU_ANALYSIS_INT_H
#define XIHU_ANALYSIS_INT_H

#include "analysis/analysis.h"

#define MAX_STEM_NAME 32

/* A set of folded words: sorted, unique, with a hash table for the
 * analyzer's and the writer's per-token lookups. */
typedef struct wordset {
	uint32_t n;
	char **w;       /* sorted bytewise, unique; each points into arena */
	uint8_t *len;   /* their lengths, 1..XIHU_MAX_TERM */
	char *arena;    /* the words, NUL-terminated, back to back */
	uint32_t *table; /* open addressing: word index + 1, 0 empty */
	uint32_t mask;
} wordset;

struct analysis {
	char stem[MAX_STEM_NAME + 1]; /* "" : no stemming */
	bool fold_diacritics;
	double k1, b; /* BM25 for queries */
	wordset stop;
	wordset pairs; /* pair words (FLAG_PAIRS): empty for an index without pair postings */
};

bool ws_has(const wordset *ws, const char *term, uint32_t len);
void ws_free(wordset *ws);
bool ws_same(const wordset *a, const wordset *b);
/* Sorts words[0..n) (each NUL-terminated, in ws->arena), drops
 * duplicates and builds the hash table.  Takes the array. */
int ws_finish(wordset *ws, char **words, uint32_t n, xihu_err *err);

#endif
