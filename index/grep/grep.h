/*
 * index/grep/grep.h: exact search (xihu grep): a pattern becomes a query
 * over the n-gram index of the raw text (regex_plan.c), which names the
 * documents that may hold a match, and each of those is verified with
 * PCRE2 line by line, as ripgrep would read it.
 *
 * The grep layer sits over search (core < analysis < search < grep): it
 * reads an open index's segments through search/search.h.  One section per
 * .c file of index/grep/.
 */
#ifndef XIHU_GREP_GREP_H
#define XIHU_GREP_GREP_H

#include "search/search.h"

/* ==== regex_plan.c: a pattern -> the trigrams every match must contain === */

/*
 * A trigram is three bytes of the raw text packed as b0 | b1 << 8 | b2 << 16
 * (the packing of the segments' .grams files, docs/FORMAT.md).  The index
 * holds, per document, every trigram of its bytes that contains no '\n'.
 *
 * A gram query is a tree of AND and OR over trigrams, ALL (true of every
 * document: the planner could not narrow the pattern down) and NONE (true of
 * none).  The planner's one promise: if a line of a document matches the
 * pattern, the query is true of that document's trigram set.  Whatever it
 * does not understand becomes ALL, never a guess.
 */
typedef enum gq_op { GQ_ALL, GQ_NONE, GQ_GRAM, GQ_AND, GQ_OR } gq_op;

typedef struct gq {
	gq_op op;
	uint32_t gram;     /* GQ_GRAM */
	uint32_t n;        /* GQ_AND, GQ_OR: number of kids (>= 2) */
	struct gq **kids;
} gq;

static inline uint32_t gram_pack(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

enum {
	GREP_PLAN_FIXED = 1,    /* the patterns are literal strings (-F) */
	GREP_PLAN_CASELESS = 2, /* -i (or smart case that chose it): letters match either case */
};

/*
 * Plans the patterns pat[0..n) (lengths len[]; a line matches if any of them
 * matches), read as ripgrep reads a pattern (Rust regex syntax, or literal
 * with GREP_PLAN_FIXED).  *out is a new tree (gq_free).  Fails only on
 * XIHU_ENOMEM: a pattern the planner cannot read is planned as ALL (the
 * regex engine reports real syntax errors).
 */
int grep_plan(const char *const *pat, const size_t *len, size_t n, unsigned flags, gq **out, xihu_err *err);
void gq_free(gq *q);
/* Whether q is true of a document whose trigram set answers has(). */
bool gq_eval(const gq *q, bool (*has)(const void *ctx, uint32_t gram), const void *ctx);
/* q as text ("ALL", "NONE", "\"abc\"", "(AND ...)", "(OR ...)"), for tests
 * and debugging; returns the length it needed, as snprintf. */
size_t gq_format(const gq *q, char *buf, size_t size);

#endif
