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

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

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

/* ==== match.c: the patterns, compiled with PCRE2, matched line by line ==== */

#define GREP_MATCH_LIMIT 10000000u /* PCRE2 steps per match attempt */
#define GREP_MAX_PATTERN (256u << 10) /* bytes of all the patterns together */

typedef enum grep_case { GREP_CASE_SENSITIVE, GREP_CASE_INSENSITIVE, GREP_CASE_SMART } grep_case;

typedef struct grep_pattern_set {
	const char *const *pat; /* n patterns (not NUL-terminated; may hold NUL bytes) */
	const size_t *len;
	size_t n;
	bool fixed; /* -F */
	bool word;  /* -w */
	grep_case case_mode;
} grep_pattern_set;

typedef struct grep_matcher {
	pcre2_code *re;
	pcre2_code *re_ascii; /* an ASCII pattern compiled for ASCII texts: no UTF, no UCP (or NULL) */
	pcre2_match_context *mctx;
	bool jit, caseless, by_line, word;
	/* a literal every match holds (literal.c), or NULL; lit_only: the pattern
	 * is that literal (its matches are its occurrences) */
	char *lit;
	size_t nlit, lit_rare, lit_rare2; /* its length; its rarest bytes' offsets (SIZE_MAX: one byte) */
	bool lit_only, lit_fold; /* lit_fold: ASCII, matched without case (lit in lower case) */
} grep_matcher;

/* What one thread needs to match (not shared between threads). */
typedef struct grep_scratch {
	const pcre2_code *re; /* the text's: re_ascii for an ASCII text, NULL for re */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *stack;
	xihu_index_span *spans;
	uint32_t nspans;
	size_t capspans;
} grep_scratch;

/* Compiles the patterns as ripgrep reads them.  XIHU_EQUERY with
 * err->column (1-based, in the pattern named) for a pattern PCRE2 rejects
 * or a literal "\n"; XIHU_ELIMIT for patterns over GREP_MAX_PATTERN. */
int grep_matcher_new(const grep_pattern_set *ps, grep_matcher **out, xihu_err *err);
void grep_matcher_free(grep_matcher *m);
/* Whether the matcher ignores case (-i, or -S with no upper-case literal). */
bool grep_matcher_caseless(const grep_matcher *m);
int grep_scratch_init(grep_scratch *sc, const grep_matcher *m, xihu_err *err);
void grep_scratch_free(grep_scratch *sc);

/* Called for each matching line, in order: its 1-based number, its bytes
 * (without '\n') and its matches.  Non-zero stops: > 0 as done, < 0 as an
 * error returned by grep_match_text. */
typedef int (*grep_line_fn)(void *ctx, uint64_t lineno, const char *line, size_t len,
                            const xihu_index_span *spans, uint32_t nspans);
/* The matches of one line alone (no '\n' in it) into sc->spans: their
 * number, or < 0 on an error (a PCRE2 code; -1000: out of memory). */
int grep_match_line(const grep_matcher *m, grep_scratch *sc, const char *line, size_t n);
/* Every matching line of text[0..len).  With spans, each line gets all its
 * matches; without, only its first (enough to count it: -c, -l, -q).  what
 * names the text in errors ("PATH: line N: ..."): XIHU_ELIMIT when the
 * match limit was reached. */
int grep_match_text(const grep_matcher *m, grep_scratch *sc, const char *text, size_t len, const char *what,
                    bool spans, grep_line_fn fn, void *ctx, xihu_err *err);

/* For literal.c: a span added to sc (false: out of memory); the '\n' in
 * [from, to); the error of a failed match (a PCRE2 code, -1000 for out of
 * memory) on line lineno of what. */
bool grep_add_span(grep_scratch *sc, size_t s, size_t e);
uint64_t grep_count_lines(const char *from, const char *to);
int grep_match_error(int rc, const char *what, uint64_t lineno, xihu_err *err);

/* ==== literal.c: the literal in a pattern, and the search by it ========== */

/* m->lit, lit_only, lit_fold and the rare bytes from the patterns of a
 * matcher being compiled (m->caseless set): none when there is no literal
 * to trust (or no memory: only slower). */
void grep_literal_of(grep_matcher *m, const grep_pattern_set *ps);
/* grep_match_text for a matcher with a literal: the lines holding it, each
 * matched by its occurrences (lit_only) or with PCRE2 alone. */
int grep_match_literal(const grep_matcher *m, grep_scratch *sc, const char *text, size_t len, const char *what,
                       bool spans, grep_line_fn fn, void *ctx, xihu_err *err);

/* ==== bigfiles.c: the trigrams of files too big for the index ============ */

/* Whether the file at path, as it is now, may hold a line that q allows:
 * false only when its trigram set (read once, then kept while the file
 * does not change) rules q out. */
bool grep_big_may_match(const char *path, const gq *q);

/* ==== candidates.c: the documents a grep reads ============================ */

typedef struct grep_cand {
	uint32_t seg, doc;  /* seg UINT32_MAX: an extra path (not in a segment) */
	const char *name;   /* the doc's name (path or record id), not NUL-terminated */
	uint32_t name_len;
	bool record;
	uint32_t rank; /* the first of the grep's paths it is under */
	uint64_t size; /* its size when indexed (0: unknown): a read's first guess */
} grep_cand;

typedef struct grep_cands {
	grep_cand *v; /* in path order */
	size_t n, cap;
	uint64_t candidates; /* docs the query did not rule out, before paths and globs */
} grep_cands;

/* The live docs of ix that q does not rule out, under o's paths and globs,
 * with the docs always read and o's extra paths, sorted by the path
 * argument they are under, then by path. */
int grep_candidates(xihu_index *ix, const xihu_grep_opts *o, const gq *q, grep_cands *c, xihu_err *err);
void grep_cands_free(grep_cands *c);
/* Whether any live doc of ix (or o's extra paths) is under o's paths and
 * passes its globs and hidden, whatever the pattern: stops at the first. */
int grep_any_in_scope(xihu_index *ix, const xihu_grep_opts *o, bool *any, xihu_err *err);

#endif
