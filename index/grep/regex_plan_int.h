/*
 * index/grep/regex_plan_int.h: what the planner's files share (grep.h has
 * the interface).  regex_plan.c is the entry (grep_plan: patterns, -F, the
 * OR of several); regex_plan_parse.c reads a Rust/PCRE2 pattern and computes
 * its facts node by node with regex_plan_info.c's algebra; regex_plan_gq.c
 * builds, simplifies, trims and prints the gram queries.
 */
#ifndef XIHU_GREP_REGEX_PLAN_INT_H
#define XIHU_GREP_REGEX_PLAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grep/grep.h"

/* ==== regex_plan_gq.c: building and simplifying gram queries ========== */

/* Bounds that keep every plan small and fast. */
enum {
	GQ_LIT_GRAMS = 16,    /* trigrams kept of one literal string */
	GQ_WORK_GRAMS = 1024, /* grams a query may hold while a pattern is planned */
	GQ_PLAN_GRAMS = 256,  /* grams in a finished plan */
};

/* Each returns NULL only when out of memory; the gq_and/gq_or family takes
 * ownership of its arguments (and frees them on failure). */
gq *gq_leaf(gq_op op);
gq *gq_gram(uint32_t gram);
gq *gq_dup(const gq *q);
gq *gq_and(gq *a, gq *b);
gq *gq_or(gq *a, gq *b);
/* The number of GQ_GRAM leaves of q. */
size_t gq_size(const gq *q);
/* q with at most about budget grams, made wider (never narrower) when cut:
 * conjuncts dropped, an OR that does not fit becomes ALL. */
gq *gq_trim(gq *q, size_t budget);
/*
 * The AND of the trigrams of s[0..len) (at most GQ_LIT_GRAMS of them, the
 * most selective).  caseless: s holds ASCII letters in lower case, each of
 * which stands for both cases, so a trigram is the OR of its case variants.
 * ALL when s is shorter than three bytes.
 */
gq *gq_literal(const uint8_t *s, size_t len, bool caseless);

/* ==== regex_plan_info.c: what is known of the strings a node matches === */

enum {
	INFO_STR = 24, /* longest string an exact set keeps */
	INFO_SET = 32, /* most strings in a set */
};

typedef struct sstr {
	uint8_t len;
	uint8_t b[INFO_STR];
} sstr;

typedef struct sset {
	uint32_t n;
	sstr s[INFO_SET];
} sset;

/*
 * The facts of a node (codesearch's analysis, in our own terms):
 * - exact: every string the node matches is in pre (suf unused);
 * - otherwise every match starts with a string of pre and ends with one of
 *   suf (each at most two bytes: all a trigram across a seam can use);
 * - always: every match's trigram set satisfies q.
 * Under caseless planning the strings hold ASCII letters in lower case.
 */
typedef struct info {
	bool exact;
	bool caseless;
	sset pre, suf;
	gq *q;
} info;

/* Each returns NULL when out of memory; those taking info* consume it. */
info *info_empty(bool caseless);
info *info_any(bool caseless);
info *info_literal(const uint8_t *s, size_t len, bool caseless);
/* One of the n single characters (s[i], len[i] bytes each; n <= INFO_SET). */
info *info_chars(const uint8_t (*s)[4], const uint8_t *len, size_t n, bool caseless);
info *info_dup(const info *x);
info *info_concat(info *x, info *y);
info *info_alt(info *x, info *y);
info *info_star(info *x);
info *info_plus(info *x);
info *info_quest(info *x);
/* x{min,max}; max UINT32_MAX for no bound. */
info *info_repeat(info *x, uint32_t min, uint32_t max);
/* The query every match satisfies; consumes x. */
gq *info_query(info *x);
void info_free(info *x);

/* ==== regex_plan_parse.c: a pattern -> its query ====================== */

/*
 * The query of one regex pattern: ALL when the planner cannot read it (or it
 * is too big); NULL only when out of memory.
 */
gq *regex_plan_pattern(const uint8_t *pat, size_t len, bool caseless);

/* regex_plan_parse.c: the UTF-8 character at *pp (its code point, *pp
 * past it, *len its bytes), or -1 when the bytes there are no character. */
int32_t grep_utf8_char(const uint8_t **pp, const uint8_t *end, uint8_t *len);
enum { GREP_FORMS_MAX = 8 };
/* The case orbit of code point c (regex_plan_parse.c): every character a
 * caseless match may take for it, c included, into out; their number, or
 * 0 when more than max (or the table could not be built). */
size_t grep_case_orbit(uint32_t c, uint32_t *out, size_t max);
/*
 * The byte strings code point c stands for in a plan, into b (len[i] bytes
 * each); their number, 0 when the plan cannot pin c (a newline, an orbit
 * too big).  One, its bytes, unless caseless: then an ASCII letter is one
 * form in lower case (standing for both cases) and any other character
 * with case variants is each member of its orbit (k: "k" and U+212A).
 */
size_t grep_char_forms(uint32_t c, bool caseless, uint8_t (*b)[4], uint8_t *len);

#endif
