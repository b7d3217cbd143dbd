/*
 * index/analysis/analysis.h: text analysis (tokens, stemming, stopwords, the settings an index keeps)
 * and query parsing, over the core layer.
 *
 * One section per .c file of index/analysis/.  The layers, bottom up: core,
 * analysis and input (both over core), build (over all three), search (over
 * core and analysis).  A layer includes only its own header and those of the
 * layers below it (scripts/check-layers checks it); daemon/ and client/
 * include none of them, only the public xihu-index.h.
 */
#ifndef XIHU_ANALYSIS_ANALYSIS_H
#define XIHU_ANALYSIS_ANALYSIS_H

#include "core/core.h"

/* ==== settings.c: the analysis an index was created with ================= */

/*
 * The settings chosen when an index is created (xihu-index --stem,
 * --stopwords, --fold-diacritics), stored in its SETTINGS file and applied
 * to every document and query.  Immutable and shareable between threads;
 * a NULL analysis is the default one: no stemming, no stopwords,
 * diacritics kept.
 */
typedef struct analysis analysis;

typedef struct analysis_opts {
	const char *stem;           /* Snowball algorithm (sb_stemmer_list); NULL or "none": none */
	bool fold_diacritics;
	const char *stopwords;      /* a stopword file's text, one word per line; NULL: none */
	size_t stopwords_len;
	const char *stopwords_name; /* its path, for messages */
	double k1;                  /* BM25's k1 for queries; 0: not given (the default) */
	double b;                   /* BM25's b, when b_given */
	bool b_given;
	bool no_pairs;              /* asked for --no-pairs: analysis_check refuses it for an index with pairs */
} analysis_opts;

/* The BM25 parameters queries use when an index does not set them: chosen
 * by measurement on ../shared/data/ir (docs/BENCHMARKS.md, ranking).  The
 * block impacts are stored with XIHU_BM25_K1/XIHU_BM25_B whatever these are;
 * search.c converts them into bounds for the index's own k1 and b. */
#define XIHU_BM25_K1_DEFAULT XIHU_BM25_K1
#define XIHU_BM25_B_DEFAULT XIHU_BM25_B

/* XIHU_EINVAL for an unknown stemmer (the message lists the known ones). */
int analysis_new(const analysis_opts *o, analysis **out, xihu_err *err);
void analysis_free(analysis *an);
const char *analysis_stem(const analysis *an); /* "" when none */
double analysis_k1(const analysis *an);        /* XIHU_BM25_K1_DEFAULT unless set */
double analysis_b(const analysis *an);         /* XIHU_BM25_B_DEFAULT unless set */
bool analysis_fold_diacritics(const analysis *an);
uint32_t analysis_nstopwords(const analysis *an);
bool analysis_is_stopword(const analysis *an, const char *term, uint32_t len);
/* Pair words: an index with them has a pair term (field | XIHU_PAIR_FIELD,
 * "w1 w2") for every two adjacent words of a field of which one is a pair
 * word, at the first word's position; 0 for an index without. */
uint32_t analysis_npairwords(const analysis *an);
/* Sets the pair words of a new index from a text of analyzed words, one
 * or more per line (pairwords_sample's). */
int analysis_set_pairwords(analysis *an, const char *text, size_t len, xihu_err *err);
bool analysis_is_pairword(const analysis *an, const char *term, uint32_t len);
bool analysis_known_stemmer(const char *name);
/* "stem english, 3 stopwords, diacritics kept" */
void analysis_describe(const analysis *an, char *buf, size_t size);
/* Compares what a run asks for (NULL members and false: not asked) with
 * the stored settings of the index in dir: XIHU_EINVAL with one line
 * "DIR: created with --stem english; this run asks for ..." when they differ. */
int analysis_check(const char *dir, const analysis *stored, const analysis_opts *o, xihu_err *err);
/* dir/SETTINGS: written atomically (tmp, fsync, rename, fsync dir); a
 * directory without it has the default analysis (*out = NULL). */
int settings_write(const char *dir, const analysis *an, xihu_err *err);
int settings_read(const char *dir, analysis **out, xihu_err *err);

/* ==== analyze.c: text -> tokens ========================================== */

/*
 * Tokens are runs of Unicode letters, marks and digits (of any script),
 * NFKC case-folded with utf8proc; everything else separates them.  CJK runs
 * become overlapping bigrams; identifiers (snake_case, camelCase) give
 * their parts and, for two parts or more, a whole token at the first part's
 * position.  The index's analysis adds stopwords, stemming and diacritic
 * folding.  analyze.c's top comment has the rules.  Invalid UTF-8 bytes
 * separate tokens and never stop the analysis.  Tokens whose folded form
 * exceeds XIHU_MAX_TERM bytes are skipped but still take a position, so
 * phrases do not bridge them.
 */
#define ANALYZER_PARTS 16      /* camelCase parts cut ahead; more are cut lazily */
#define ANALYZER_CLUSTER_MAX 24 /* a CJK cluster's folded bytes */

typedef struct token {
	const char *term; /* folded, NUL-terminated; valid until the next call */
	uint32_t len;
	uint32_t pos;        /* 0-based token position in the text */
	uint32_t start, end; /* [start, end) byte offsets of the source text */
	/* an identifier's whole form: at its first part's position, before it;
	 * not a position of its own, not part of any phrase, not counted in a
	 * field's length */
	bool whole;
} token;

enum { ANALYZE_PLAIN = 1 }; /* analyzer_reset: no stopwords, no stemming (prefixes) */

struct sb_stemmer;

struct cjk_cluster {
	uint32_t start, end; /* source bytes */
	int len;             /* folded bytes; -1: too long */
	char bytes[ANALYZER_CLUSTER_MAX + 1];
};

typedef struct analyzer {
	/* the analysis (analyzer_open) */
	const analysis *an;
	struct sb_stemmer *sb; /* owned; NULL without stemming */
	bool fold_marks, has_stop;
	bool apply; /* stopwords or stemming to apply (not ANALYZE_PLAIN) */
	/* the text (analyzer_reset) */
	const uint8_t *text;
	size_t len, off;
	uint32_t pos;
	uint32_t nlong; /* tokens skipped for being longer than XIHU_MAX_TERM */
	uint32_t nstop; /* tokens dropped as stopwords (wholes not counted) */
	/* the chunk being cut: private to analyze.c */
	enum { CHUNK_NONE, CHUNK_WORD, CHUNK_CJK } mode;
	size_t ch_start, ch_end, ch_cur;
	uint32_t ch_pos;
	bool ch_ascii, whole_due, lazy, lazy_digit, have_prev;
	struct {
		uint32_t start, end;
	} parts[ANALYZER_PARTS];
	uint32_t np, pi, grams;
	size_t lazy_from;
	struct cjk_cluster prev;
	char term[XIHU_MAX_TERM + 1];
} analyzer;

/* Sets a up for an index's analysis (NULL: the default); the stemmer it
 * may allocate is freed by analyzer_close.  XIHU_ENOMEM. */
int analyzer_open(analyzer *a, const analysis *an, xihu_err *err);
/* Starts on a text; flags ANALYZE_PLAIN or 0.  Any number of times. */
void analyzer_reset(analyzer *a, const char *text, size_t len, unsigned flags);
bool analyzer_next(analyzer *a, token *out);
void analyzer_close(analyzer *a);
/* The default analysis over one text (open(NULL) + reset; no close needed). */
void analyzer_init(analyzer *a, const char *text, size_t len);

/* ==== defs.c: the names a source file defines ============================ */

/* The first byte of the def field's terms that hold an identifier whole,
 * lowercased with its '_' kept: the analyzer never makes a term starting
 * with it. */
#define XIHU_DEF_WHOLE '~'
/* The first byte of the def field's terms that hold a mixed-case
 * identifier as written (defs_exact_term) */
#define XIHU_DEF_EXACT '^'

/* By the per-language rules of defs.c, chosen by path's extension (or a
 * "#!" line): each name text[0..len) defines, appended to out as
 * "name\n"; returns how many (0 for a file of no known language). */
uint32_t defs_find(const char *path, size_t path_len, const char *text, size_t len, xbuf *out);
/* The def field's term for s[0..n) whole, the one form indexing stores and
 * a query looks up: XIHU_DEF_WHOLE then s lowercased, into out (room for
 * XIHU_MAX_TERM bytes); its length, or 0 when s is not an ASCII identifier
 * (letters, digits, '_', not starting with a digit) short enough. */
size_t defs_whole_term(const char *s, size_t n, char *out);
/* The def field's second term for an identifier with both upper- and
 * lower-case letters (whileStatement, WhileStatement, Poll), stored beside
 * its whole term and looked up when a query word is one: XIHU_DEF_EXACT
 * then s as written; 0 for any other s (all one case: C's names and
 * macros, Python's functions). */
size_t defs_exact_term(const char *s, size_t n, char *out);

/* ==== query.c: query string -> tree ====================================== */

enum qkind {
	Q_TERM,   /* terms[0] */
	Q_PREFIX, /* terms[0] is the folded prefix */
	Q_FUZZY,  /* terms[0], and the dictionary terms within `fuzzy` edits of it */
	Q_EXT,    /* filter: documents whose path ends in "." terms[0] (folded to lower case) */
	Q_GLOB,   /* filter: documents whose path matches the glob terms[0] (docs/QUERY.md) */
	Q_NEAR,   /* terms[0..nterms) within `near` words of each other, any order */
	Q_PHRASE, /* terms[0..nterms), consecutive positions */
	Q_AND,    /* kids; kids of kind Q_NOT exclude */
	Q_OR,     /* kids */
	Q_NOT,    /* kids[0]; only as a kid of Q_AND */
};

typedef struct qnode {
	enum qkind kind;
	uint32_t column; /* 1-based column where this node starts in the query */
	uint32_t fuzzy;  /* Q_FUZZY: edits allowed, 1 or 2; 0 = by the word's length */
	char *field;     /* Q_TERM/PHRASE/PREFIX/FUZZY scoped to one field by name; NULL: the default ones */
	struct qnode *fallback; /* with field: the lexeme as plain words, for an index without the field */
	uint32_t near;   /* Q_NEAR: the most words between them */
	uint32_t nterms;
	char **terms;
	/* A word typed as an identifier (ASCII letters, digits, '_'; a Q_TERM,
	 * or the Q_PHRASE of its parts): the def field's term for the name
	 * whole, XIHU_DEF_WHOLE + the word lowercased; NULL otherwise.  So
	 * dev_get_iflink finds its definition, not vlan_dev_get_iflink's. */
	char *whole_def;
	/* With whole_def, when the word has both upper- and lower-case
	 * letters: XIHU_DEF_EXACT + the word as typed (defs_exact_term), so
	 * the file defining whileStatement comes before the one defining
	 * WhileStatement; NULL otherwise. */
	char *exact_def;
	/* Q_PHRASE: terms[i]'s position counted from terms[0]'s, increasing,
	 * < XIHU_MAX_TERM (stopwords between words leave gaps); NULL when the
	 * words are consecutive (pos[i] = i) */
	uint32_t *pos;
	uint32_t nkids;
	struct qnode **kids;
} qnode;

/*
 * Grammar (case-insensitive keywords, implicit AND binds loosest):
 *   query  := and
 *   and    := or ( [AND] or )*
 *   or     := unary ( OR unary )*
 *   unary  := ( '-' | NOT ) unary | atom
 *   atom   := '(' query ')' | '"' words '"' | word | word '*' | word '~' ['1'|'2']
 * A word that analyzes to several tokens ("foo-bar") is a phrase.  A query
 * (or group) of only negated parts is an error.  Errors are XIHU_EQUERY with
 * err->column set; limits are XIHU_ELIMIT.
 */
/* With the index's analysis (index_analysis), as its documents were: a
 * stemmed index stems query words (not prefixes or fuzzy words), stopwords
 * are dropped (a phrase keeps their positions in pos), a camelCase word
 * typed alone is its whole form.  query_parse: the default analysis. */
int query_parse_with(const analysis *an, const char *q, size_t len, const xihu_limits *lim, qnode **out,
                     xihu_err *err);
int query_parse(const char *q, size_t len, const xihu_limits *lim, qnode **out, xihu_err *err);
/* query_parse_with, and with QUERY_ANY (xihu_index_search_opts.any) what
 * the query joins without an operator is ORed, at every level, but for
 * negations and path filters, which restrict: "a b AND c -d ext:h" is
 * (a OR (b AND c)) AND NOT d AND ext:h. */
enum { QUERY_ANY = 1 };
int query_parse_flags(const analysis *an, const char *q, size_t len, const xihu_limits *lim, unsigned flags,
                      qnode **out, xihu_err *err);
void query_free(qnode *n);

#endif
