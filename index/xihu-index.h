/*
 * xihu-index.h: the public interface of the xihu index library.
 *
 * The library builds an index directory from trees of files and JSON Lines
 * records (xihu_build), opens a committed index read-only through mmap
 * (xihu_index_open) and answers ranked queries against it (xihu_index_search).
 * The daemon and the xihu-index tool use only this header.
 *
 * Errors: every fallible call returns 0 or one of the XIHU_E* codes and
 * fills a caller-provided xihu_err with a one-line message that names the
 * file and offset (or the query column) involved.
 *
 * Output: no call touches a terminal.  A build reports its progress as
 * counts (xihu_build_progress, through xihu_build_opts.progress) for the
 * program that owns the terminal to draw; its warnings and verbose lines
 * go to the FILEs the caller gives, if any.
 *
 * Threads: an opened xihu_index is immutable; any number of threads may
 * search the same one.  Reference counts keep a snapshot alive while a
 * request uses it (xihu_index_ref/xihu_index_unref).
 */
#ifndef XIHU_INDEX_H
#define XIHU_INDEX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef XIHU_VERSION_STRING
#define XIHU_VERSION_STRING "0.1.0"
#endif
#define XIHU_FORMAT_VERSION 10u

enum {
	XIHU_OK = 0,
	XIHU_ENOMEM = 1,   /* an allocation failed */
	XIHU_EIO = 2,      /* a system call failed: message has path and strerror */
	XIHU_ECORRUPT = 3, /* an index file failed a check: message names file+offset */
	XIHU_EQUERY = 4,   /* query syntax error: err.column is 1-based */
	XIHU_ELIMIT = 5,   /* a configured limit was exceeded */
	XIHU_ENOINDEX = 6, /* there is no committed index at that path */
	XIHU_EINVAL = 7,   /* a bad argument */
	XIHU_ELOCKED = 8,  /* another writer holds the index lock */
	XIHU_ETIMEOUT = 9, /* a search ran past its deadline (xihu_index_search_opts.deadline_ns) */
	XIHU_ECANCELED = 10, /* a search was cancelled (xihu_index_search_opts.cancel) */
};

typedef struct xihu_err {
	int code;
	unsigned column; /* query column, 1-based; 0 when not about a query */
	char msg[512];   /* one line "what: why", no newline */
} xihu_err;

/* Sets err (if non-NULL) and returns code, so callers can `return xihu_err_set(...)`. */
int xihu_err_set(xihu_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int xihu_err_setv(xihu_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
const char *xihu_strerror(int code);

/* The default index directory: $XIHU_INDEX, else $XDG_DATA_HOME/xihu/index,
 * else $HOME/.local/share/xihu/index.  Returns false if it does not fit. */
bool xihu_default_index_dir(char *buf, size_t size);

/* ---- building ---------------------------------------------------------- */

#define XIHU_DEFAULT_MAX_FILE_SIZE (16u << 20)

/* Where a build is, as its progress reports say. */
typedef enum xihu_build_phase {
	XIHU_BUILD_WALKING = 0, /* the trees are being walked: bytes_total still grows */
	XIHU_BUILD_READING = 1, /* the trees are walked: bytes_total holds all their files
	                         * (JSON Lines records add theirs as they are read) */
	XIHU_BUILD_INDEXED = 2, /* the last report: everything read is in segments
	                         * (the commit and the merges follow) */
} xihu_build_phase;

/* What a build has done so far (the bytes are the input's: file sizes and
 * record texts, of the new and changed documents only). */
typedef struct xihu_build_progress {
	xihu_build_phase phase;
	uint64_t files_seen;  /* regular files the walk met, unchanged ones included */
	uint64_t files_done;  /* new and changed files read (or skipped) */
	uint64_t bytes_done;  /* bytes of the files done and records read */
	uint64_t bytes_total; /* bytes queued for reading so far, >= bytes_done */
	uint64_t elapsed_ns;  /* since xihu_build was called */
	double eta_s;         /* seconds left at the rate so far; < 0: not known
	                       * (while walking, when nothing is read yet, at the end) */
} xihu_build_progress;

/* Receives a build's progress reports, on the thread that called xihu_build. */
typedef void (*xihu_build_progress_fn)(void *ctx, const xihu_build_progress *p);

/* The report as one line of plain text, into buf (always terminated):
 * "49 files, 0.7 MB, 9.4 MB/s" and ", ETA 12 s" when known.  Returns the
 * length the whole line has (snprintf's way). */
int xihu_build_progress_line(const xihu_build_progress *p, char *buf, size_t size);

typedef struct xihu_build_opts {
	uint64_t max_file_size; /* bytes; 0 = XIHU_DEFAULT_MAX_FILE_SIZE */
	/* Called at most 5 times a second while documents are read, and once
	 * more (phase XIHU_BUILD_INDEXED) when they all are; not after the
	 * reading failed.  NULL: no reports. */
	xihu_build_progress_fn progress;
	void *progress_ctx;     /* progress's first argument */
	FILE *warnings;         /* one line per skipped/unreadable input; NULL: none */
	uint64_t ram_bytes;     /* RAM budget of the segment writers; 0 = 256 MiB */
	uint32_t threads;       /* indexing threads; 0 = online CPUs; at most 8 */
	bool no_ignore;         /* read no .gitignore/.ignore (.git is still skipped) */
	bool update;            /* no paths given: index the roots of the last commit */
	bool merge_all;         /* merge every segment into one (purging deleted docs) */
	FILE *verbose;          /* a line per commit and per merge; NULL: none */
	/* The analysis, chosen when the index is created and stored in it
	 * (docs/FORMAT.md, SETTINGS).  For an existing index, what is given
	 * must equal what is stored (XIHU_EINVAL naming the setting); what is
	 * not given is the stored setting. */
	const char *stem;       /* a Snowball algorithm ("english") or "none"; NULL: not given */
	const char *stopwords;  /* path of a stopword file, one word per line; NULL: not given */
	bool fold_diacritics;   /* fold diacritics (café = cafe); false: not given */
	double k1;              /* BM25 k1 for the index's queries, in (0, 10]; 0: not given */
	double b;               /* BM25 b, in [0, 1], when b_given */
	bool b_given;
	bool no_pairs;          /* a new index without pair terms for phrases; false: not given */
	uint32_t lock_wait_ms;  /* another writer holds the index: wait this long, then XIHU_ELOCKED */
	/* Set by another thread to stop: the walk stops at its next file, the
	 * work queued finishes, nothing more is committed (merges stop between
	 * two), and xihu_build returns XIHU_ECANCELED.  What was committed
	 * before stays; files written since are removed by the next run. */
	const _Atomic bool *cancel;
} xihu_build_opts;

typedef struct xihu_build_stats {
	uint64_t files_seen;     /* regular files met by the walk */
	uint64_t docs;           /* live documents in the committed index */
	uint64_t added;          /* documents indexed that were not in the index */
	uint64_t changed;        /* documents re-indexed, their old copy deleted */
	uint64_t deleted;        /* documents deleted without a new copy */
	uint64_t unchanged;      /* documents left as they were */
	uint64_t skipped_binary; /* NUL byte in the first 8 KiB */
	uint64_t skipped_large;  /* over max_file_size */
	uint64_t skipped_error;  /* unreadable, vanished, bad .gz */
	uint64_t terms;          /* sum of distinct terms over the live segments */
	uint64_t bytes_in;       /* bytes of text indexed by this run */
	uint64_t index_bytes;    /* bytes of all committed index files */
	uint64_t generation;     /* of the committed index after the run */
	uint32_t segments;       /* live segments after the run */
	uint32_t segments_written; /* new segments from documents */
	uint32_t merges;         /* merges committed */
	bool committed;          /* false: nothing changed, nothing was written */
	double seconds;
} xihu_build_stats;

/*
 * Builds or updates the index in index_dir (created if missing) from the
 * trees in paths[] and the JSON Lines files in jsonl[]: files whose size and
 * mtime are unchanged are kept, new and changed ones indexed (in parallel,
 * within opts->ram_bytes), vanished ones and everything under roots no
 * longer given deleted; then segments are merged by tiers.  Each commit
 * replaces the manifest atomically; the previously committed index stays
 * intact and servable until then.  Nothing changed: no commit.
 */
int xihu_build(const char *index_dir, const char *const *paths, size_t npaths,
               const char *const *jsonl, size_t njsonl, const xihu_build_opts *opts,
               xihu_build_stats *stats_out, xihu_err *err);

/* ---- live sync (xihud) ------------------------------------------------- */

typedef struct xihu_root {
	char *path;     /* absolute */
	bool records;   /* a JSON Lines file; else a tree or a single file */
	bool no_ignore; /* a tree indexed without .gitignore/.ignore rules */
} xihu_root;

/* The trees and JSON Lines files the last commit in dir was built from
 * (what an update re-reads); XIHU_ENOINDEX without a commit. */
int xihu_index_roots(const char *dir, xihu_root **out, size_t *n, xihu_err *err);
void xihu_roots_free(xihu_root *r, size_t n);
/* Calls fn for root and every directory under it that the indexing walk
 * enters (VCS directories, and ignored ones unless no_ignore, are skipped;
 * symbolic links never followed), parents first; non-zero from fn stops the
 * walk and is returned. */
int xihu_tree_dirs(const char *root, bool no_ignore, int (*fn)(void *ctx, const char *dir), void *ctx,
                   xihu_err *err);

/* ---- reading ----------------------------------------------------------- */

typedef struct xihu_index xihu_index;

typedef struct xihu_index_stats {
	uint64_t generation; /* manifest generation: grows by one per commit */
	uint64_t docs;       /* live documents */
	uint64_t terms;      /* sum of distinct terms over segments */
	uint32_t segments;
	uint64_t bytes; /* all files the index consists of */
} xihu_index_stats;

/* Opens the committed index in dir (checks magic, version and CRC of every file). */
int xihu_index_open(const char *dir, xihu_index **out, xihu_err *err);
/* Whether segments keep the doc store blocks they inflated lately (a few
 * MiB at most each), so that the lines of hits read again are not
 * inflated again; on by default.  Process-wide; benchmarks turn it off to
 * weigh the cold path. */
void xihu_doc_cache(bool on);
/* Opens the newest commit of prev's directory; segments prev has open are
 * not checksummed again (committed segment files never change), so picking
 * up a small commit costs little whatever the index size. */
int xihu_index_reopen(const xihu_index *prev, xihu_index **out, xihu_err *err);
xihu_index *xihu_index_ref(xihu_index *ix);
void xihu_index_unref(xihu_index *ix); /* unmaps when the last reference goes */
void xihu_index_get_stats(const xihu_index *ix, xihu_index_stats *out);
const char *xihu_index_dir(const xihu_index *ix);
/* Sets *changed when a newer manifest than ix's has been committed in its dir. */
int xihu_index_changed(const xihu_index *ix, bool *changed, xihu_err *err);
/* Full integrity check of every file and checksum; a report line per file. */
int xihu_index_check(const char *dir, FILE *report, xihu_err *err);
/* The index directory and files that others may read or write: the index
 * holds copies of private files, so it is created 0700 / 0600 and every
 * commit tightens what is wider.  Calls fn (may be NULL) for each such
 * path with its mode (stops at fn's first non-zero return, returned);
 * *nwide gets their count. */
typedef int (*xihu_mode_fn)(void *ctx, const char *path, unsigned mode);
int xihu_index_modes(const char *dir, xihu_mode_fn fn, void *ctx, uint32_t *nwide, xihu_err *err);

/* ---- searching --------------------------------------------------------- */

typedef struct xihu_limits {
	uint32_t max_query_bytes;       /* default 16 KiB */
	uint32_t max_terms;             /* default 2048 */
	uint32_t max_depth;             /* parenthesis nesting, default 32 */
	uint32_t max_prefix_expansions; /* terms one prefix may expand to, default 4096 */
	uint32_t max_hits;              /* offset + limit at most; default 0: no cap */
} xihu_limits;

void xihu_limits_default(xihu_limits *out);

typedef struct xihu_index_search_opts {
	uint32_t limit;            /* hits wanted; 0 = 10 */
	uint32_t offset;           /* hits skipped */
	bool want_lines;           /* fill hit lines from the doc store */
	uint32_t max_lines;        /* per hit; 0 = 1000 */
	const xihu_limits *limits; /* NULL = defaults */
	bool exact_total;          /* count every match (no pruning): total_exact is then true */
	uint32_t context;          /* with want_lines: lines around each matched one (col 0, no spans) */
	bool suggest;              /* nothing found: fill results.suggestion (a dictionary walk per
	                            * unknown word, milliseconds on a large index) */
	bool any;                  /* match any word: what the query joins without an operator is
	                            * ORed, not ANDed ("a b -c": (a OR b) AND NOT c), ranked by
	                            * BM25 (xihu search --any; docs/QUERY.md) */
	/* Stopping a search early (checked every few thousand documents and
	 * between hits): past deadline_ns (CLOCK_MONOTONIC; 0 = none) it fails
	 * with XIHU_ETIMEOUT; once *cancel is set (by any thread) with
	 * XIHU_ECANCELED. */
	uint64_t deadline_ns;
	const _Atomic bool *cancel;
	/* Nonzero: a plan that may read more postings than this in a segment
	 * (its lists' documents, summed over every word of the query) stops
	 * with XIHU_ETIMEOUT before any is scored: the caller runs it elsewhere.
	 * A lone word (without exact_total) is never refused: its pruned top k
	 * reads a small part of its lists; deadline_ns bounds it instead. */
	uint64_t max_cost;
} xihu_index_search_opts;

typedef struct xihu_index_span {
	uint32_t start, end; /* [start, end) byte offsets into the line text */
} xihu_index_span;

typedef struct xihu_index_line {
	uint32_t line; /* 1-based */
	uint32_t col;  /* 1-based byte column of the first span */
	char *text;    /* the line without its end of line (no \r either) */
	uint32_t len;
	uint32_t nspans;
	xihu_index_span *spans;
} xihu_index_line;

typedef struct xihu_index_hit {
	char *doc; /* absolute path, or record id */
	uint32_t doc_len;
	bool record; /* doc is a JSON Lines record id */
	double score;
	uint32_t nlines;
	xihu_index_line *lines;
} xihu_index_hit;

typedef struct xihu_index_results {
	xihu_index_hit *hits;
	uint32_t nhits;
	uint64_t total;   /* documents matching in all, or a lower bound of it */
	bool total_exact; /* false: pruning skipped docs that could not rank, total is a lower bound */
	char *suggestion; /* nothing found: the query with its unknown words replaced
	                   * by the nearest indexed ones ("did you mean"), or NULL */
} xihu_index_results;

int xihu_index_search(xihu_index *ix, const char *query, size_t query_len,
                const xihu_index_search_opts *opts, xihu_index_results *out, xihu_err *err);
void xihu_index_results_free(xihu_index_results *r);

/* ---- exact search (xihu grep) ------------------------------------------- */

typedef enum xihu_grep_case {
	XIHU_GREP_CASE_SENSITIVE = 0,
	XIHU_GREP_CASE_INSENSITIVE = 1, /* -i */
	XIHU_GREP_CASE_SMART = 2,       /* -S: insensitive unless a literal is upper case */
} xihu_grep_case;

typedef enum xihu_grep_output {
	XIHU_GREP_LINES = 0, /* matching lines with their matches, and context lines */
	XIHU_GREP_FILES = 1, /* -l: each file with a match, once */
	XIHU_GREP_COUNT = 2, /* -c: each file with a match and its matching lines' count */
	XIHU_GREP_QUIET = 3, /* -q: stop at the first match */
} xihu_grep_output;

typedef struct xihu_grep_opts {
	const char *const *patterns; /* npatterns >= 1; a line matches if any does */
	const size_t *pattern_lens;
	size_t npatterns;
	bool fixed;                  /* -F */
	bool word;                   /* -w */
	xihu_grep_case case_mode;
	const char *const *paths;    /* absolute and normalized: files or trees; none: every document */
	size_t npaths;
	const char *const *globs;    /* -g, ripgrep's override globs, in order ("!" negates) */
	size_t nglobs;
	const char *glob_base;       /* globs match paths relative to it (the client's cwd) */
	bool hidden;                 /* also names starting with '.' below the paths (rg --hidden) */
	/* the path is the client's directory, no PATH given: when no document
	 * under it passes the globs and hidden, on_problem says "no files were
	 * searched" (ripgrep's error, exit 2, for its default path only) */
	bool default_path;
	uint32_t max_count;          /* -m: matching lines per file, 0 = no limit */
	uint32_t before, after;      /* context lines */
	xihu_grep_output output;
	unsigned threads;            /* threads verifying, the caller's among them; 0 = 2 */
	uint64_t deadline_ns;        /* CLOCK_MONOTONIC; 0 = none: XIHU_ETIMEOUT */
	const _Atomic bool *cancel;  /* set by any thread: XIHU_ECANCELED */
	/* extra files to read whatever the n-grams say (changed since the index
	 * was committed; live sync knows them): absolute paths, or NULL */
	const char *const *extra;
	size_t nextra;
} xihu_grep_opts;

typedef struct xihu_grep_file {
	const char *path; /* absolute path, or record id; not NUL-terminated */
	uint32_t path_len;
	bool record;
	const xihu_index_line *lines; /* XIHU_GREP_LINES: in order; context lines have col 0, no spans */
	uint32_t nlines;
	uint64_t count;               /* matching lines (at most max_count) */
} xihu_grep_file;

typedef struct xihu_grep_stats {
	uint64_t files_matched, lines_matched;
	uint64_t candidates; /* documents the n-grams could not rule out */
	uint64_t searched;   /* of those under the paths and globs: read and matched */
} xihu_grep_stats;

/* Called for each file with a match, in path order ('/' before any other
 * byte), from the calling thread; non-zero stops the grep, which returns it. */
typedef int (*xihu_grep_file_fn)(void *ctx, const xihu_grep_file *f);
/* A file that could not be searched (unreadable, the match limit reached),
 * one line naming it; the grep goes on, its answer is not complete. */
typedef void (*xihu_grep_problem_fn)(void *ctx, const char *msg);

/*
 * Every line of the indexed files (and records) under paths that a pattern
 * matches, as ripgrep 13 would print them: the n-gram index names the
 * candidates, each is read (a file from disk, as it is now; a record from
 * the doc store) and matched with PCRE2.  Errors: XIHU_EQUERY (err.column:
 * the pattern's column), XIHU_ELIMIT (a pattern too long), XIHU_ETIMEOUT,
 * XIHU_ECANCELED, XIHU_ECORRUPT, XIHU_ENOMEM, or on_file's return.
 */
int xihu_index_grep(xihu_index *ix, const xihu_grep_opts *o, xihu_grep_file_fn on_file,
                    xihu_grep_problem_fn on_problem, void *ctx, xihu_grep_stats *stats, xihu_err *err);

#endif
