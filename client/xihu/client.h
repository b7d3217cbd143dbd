/*
 * <xihu/client.h>: libxihu-client, the C client library of xihu.
 *
 * Asks a running xihud for searches over its Unix socket (ranked ones, and
 * exact ones as ripgrep's, streamed: xihu_grep), and for what the
 * xihu command shows besides: the daemon's status, the indexes it serves, a
 * new one, its shutdown (`xihu` itself is built on this library).  Build with
 *     cc prog.c $(pkg-config --cflags --libs xihu-client)
 * docs/CLIENT.md has the whole story; in short:
 *
 *     char err[256];
 *     xihu_conn *c = xihu_connect(NULL, XIHU_AUTOSTART, err, sizeof err);
 *     struct xihu_results *r;
 *     if (c && xihu_search(c, "event loop", NULL, &r) == 0) {
 *             for (size_t i = 0; i < r->n_hits; i++)
 *                     puts(r->hits[i].doc);
 *             xihu_results_free(r);
 *     }
 *     xihu_close(c);
 *
 * Errors: a call that fails returns -1 (NULL from xihu_connect) and leaves
 * one line "what: why" (no program name, no newline) in xihu_errmsg(); the
 * daemon's own errors come as the daemon wrote them, e.g. "query column 7:
 * unbalanced quote", with their code in xihu_errcode().
 *
 * Threads: a connection is used by one thread at a time (one connection per
 * thread); different connections may be used at once from different threads.
 * Results belong to the caller: they stay valid after xihu_close() and may be
 * handed to another thread.  The library installs no signal handler and never
 * raises SIGPIPE.
 *
 * Stability: the 0.x series may still change these structs; the soname
 * changes when they do (libxihu-client.so.1 since struct xihu_status grew;
 * xihu_grep and its structs were added to .so.1, changing nothing before).
 */
#ifndef XIHU_PUBLIC_CLIENT_H
#define XIHU_PUBLIC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A connection to xihud.  Opaque; one search at a time. */
typedef struct xihu_conn xihu_conn;

/* flags of xihu_connect */
enum {
	/* when no daemon answers on the socket, start xihud there (found as
	 * $XIHUD, else next to the program, else on PATH) serving its default
	 * index ($XIHU_INDEX), and connect to it */
	XIHU_AUTOSTART = 1u << 0,
};

/*
 * Connects to the daemon listening on socket_path; NULL: $XIHU_SOCKET if set,
 * else $XDG_RUNTIME_DIR/xihu/xihud.sock, else /tmp/xihu-$UID/xihud.sock.
 * Waits at most 2 s for the daemon to accept (60 s with XIHU_AUTOSTART while
 * a daemon starts).  Returns the connection, or NULL with one line naming the
 * socket in err (errlen bytes, NUL-terminated; err may be NULL).
 * Nothing is sent (and no daemon started) unless the socket's directory is
 * owned by the caller's effective uid and not writable by group or others,
 * and the process listening there runs as that uid (SO_PEERCRED); a
 * reconnection checks again (docs/SECURITY.md).
 */
xihu_conn *xihu_connect(const char *socket_path, unsigned flags, char *err, size_t errlen);

/* xihu_connect(socket_path, XIHU_AUTOSTART, err, errlen), except that a
 * daemon it starts serves the index in index_dir (xihud --index index_dir,
 * relative to the current directory); NULL: as xihu_connect.  A daemon that
 * already answers is used whatever it serves (choose the index to search
 * with struct xihu_search_opts). */
xihu_conn *xihu_connect_autostart(const char *socket_path, const char *index_dir, char *err,
                                  size_t errlen);

/* Closes the connection and frees it.  NULL is a no-op. */
void xihu_close(xihu_conn *c);

/* The last error on c as one line, "" when the last call succeeded. */
const char *xihu_errmsg(const xihu_conn *c);

/* What kind of error the last one was.  1 to 8 are the protocol's codes
 * (docs/PROTOCOL.md): the daemon answered with that error. */
enum {
	XIHU_E_UNKNOWN = -2,     /* the daemon answered with a code it did not name */
	XIHU_E_CLIENT = -1,      /* on this side: connecting, I/O, a timeout, out of
	                          * memory, a bad argument, a malformed answer */
	XIHU_E_NONE = 0,
	XIHU_E_BAD_FRAME = 1,    /* the daemon could not read the request; it closed
	                          * the connection (the next call reconnects) */
	XIHU_E_BAD_REQUEST = 2,
	XIHU_E_VERSION = 3,
	XIHU_E_QUERY = 4,        /* a query syntax error; see the column */
	XIHU_E_LIMIT = 5,        /* a configured limit, a search's timeout among them */
	XIHU_E_INDEX = 6,        /* no such index, or a file of it failed a check */
	XIHU_E_INTERNAL = 7,
	XIHU_E_SHUTTING_DOWN = 8,
};

/* The code of the last error on c (XIHU_E_NONE after a success).  For
 * XIHU_E_QUERY, *column (if column is not NULL) is the 1-based byte column in
 * the query where it went wrong; else 0. */
int xihu_errcode(const xihu_conn *c, uint32_t *column);

/* The name of a code: "E_QUERY", "E_CLIENT", "E_NONE"...; "E_UNKNOWN" for a
 * code this version does not know.  A static string. */
const char *xihu_errname(int code);

/* ---- search --------------------------------------------------------------- */

/* A match: [start, end) byte offsets into its line's text. */
struct xihu_span {
	uint32_t start, end;
};

/* A line of a hit.  text is the line's bytes without its end of line: any
 * bytes (not necessarily UTF-8), text_len of them, then a NUL. */
struct xihu_line {
	uint32_t line;                  /* 1-based line number */
	uint32_t col;                   /* 1-based byte column of the first match,
	                                 * as rg --vimgrep counts; 0: a context line */
	const char *text;
	size_t text_len;
	const struct xihu_span *spans;  /* in order; none on a context line */
	size_t n_spans;
};

/* A hit: a file (doc is its absolute path) or a JSON Lines record (doc is its
 * id).  doc is doc_len bytes, any bytes (paths need not be UTF-8), then a NUL. */
struct xihu_hit {
	const char *doc;
	size_t doc_len;
	bool is_record;
	double score;                   /* BM25F; hits come best first */
	const struct xihu_line *lines;  /* in line order; none without lines */
	size_t n_lines;
};

/* The answer to a search: one allocation, freed by xihu_results_free(). */
struct xihu_results {
	const struct xihu_hit *hits;
	size_t n_hits;
	uint64_t total;         /* documents matching in all */
	bool total_exact;       /* false: total is a lower bound (see XIHU_EXACT_TOTAL) */
	uint64_t took_us;       /* time spent in the daemon */
	const char *suggestion; /* with XIHU_SUGGEST and no hit: the query with its
	                         * unknown words replaced by near indexed ones; else "" */
};

/* flags of struct xihu_search_opts */
enum {
	XIHU_NO_LINES = 1u << 0,    /* documents only: no lines, no spans (faster) */
	XIHU_EXACT_TOTAL = 1u << 1, /* count every match: slower, total_exact is true */
	XIHU_SUGGEST = 1u << 2,     /* no hit: fill suggestion ("did you mean") */
	XIHU_ANY = 1u << 3,         /* match any word: what the query joins without an
	                             * operator is ORed, not ANDed (xihu search --any);
	                             * a daemon too old to know it is an error */
};

/* How to search.  All zero (or NULL for the whole struct) is the default:
 * 10 hits with their matching lines from the daemon's default index. */
struct xihu_search_opts {
	uint32_t limit;      /* hits wanted; 0: 10 (at most the daemon's
	                      * --max-results, 10000, with offset) */
	uint32_t offset;     /* hits to skip, for paging */
	uint32_t max_lines;  /* matching lines per hit; 0: the daemon's default */
	uint32_t context;    /* lines before and after each matching line */
	uint32_t timeout_ms; /* the search's deadline in the daemon (then
	                      * XIHU_E_LIMIT); 0: the daemon's default, 10 s.
	                      * This side waits that long plus 5 s, or 60 s */
	unsigned flags;      /* XIHU_NO_LINES | XIHU_EXACT_TOTAL | XIHU_SUGGEST | XIHU_ANY */
	const char *index;   /* the index directory to search, as the daemon
	                      * names it (absolute); NULL: see cwd */
	const char *cwd;     /* NULL, or a directory: search the index whose tree
	                      * holds it (as `xihu search` does with its working
	                      * directory); neither: the daemon's default index */
};

/*
 * Searches for query (docs/QUERY.md: words, "phrases", OR, -word, pre*,
 * ext:c, path:GLOB, field:word).  On success returns 0 and *out, which the
 * caller frees with xihu_results_free(); a search without a match succeeds
 * with n_hits 0.  On failure returns -1, *out is NULL, and xihu_errmsg() /
 * xihu_errcode() say why.  The connection stays usable after any error: if
 * the daemon went away or closed it (idle timeout, restart), the next call
 * connects again.
 */
int xihu_search(xihu_conn *c, const char *query, const struct xihu_search_opts *opts,
                struct xihu_results **out);

/* Frees what xihu_search() returned.  NULL is a no-op. */
void xihu_results_free(struct xihu_results *r);

/* ---- exact search (grep) ------------------------------------------------- */

/* How a pattern's case is matched (xihu_grep_request.case_mode). */
enum {
	XIHU_CASE_SENSITIVE = 0,   /* the default */
	XIHU_CASE_INSENSITIVE = 1, /* rg -i */
	XIHU_CASE_SMART = 2,       /* rg -S: insensitive unless a pattern has an
	                            * upper-case letter */
};

/* The most bytes the patterns of one grep may hold together (xihud refuses more). */
#define XIHU_GREP_MAX_PATTERN_BYTES (256u << 10)

/* What a grep answers with (xihu_grep_request.output). */
enum {
	XIHU_GREP_OUT_LINES = 0, /* matching lines with their spans, and context lines */
	XIHU_GREP_OUT_FILES = 1, /* the files with a match, no lines (rg -l) */
	XIHU_GREP_OUT_COUNT = 2, /* the files with a match and their count (rg -c) */
	XIHU_GREP_OUT_QUIET = 3, /* no file at all: stop at the first match (rg -q);
	                          * the summary's files_matched says whether one did */
};

/* An exact search, as ripgrep 13 matches: every line of the indexed files
 * under paths that one of the patterns matches.  Zero (NULL arrays, 0
 * counts) is the default for everything but the patterns. */
struct xihu_grep_request {
	const char *const *patterns; /* at least one, NUL-terminated; a line
	                              * matches if any does (rg -e) */
	size_t n_patterns;
	bool fixed_strings;          /* rg -F: literal strings, not regexes */
	bool word;                   /* rg -w: whole words only */
	int case_mode;               /* XIHU_CASE_* */
	int output;                  /* XIHU_GREP_* */
	const char *const *paths;    /* absolute files or directories to search;
	                              * none: cwd's tree */
	size_t n_paths;
	const char *const *globs;    /* rg -g, in order ("!" negates), as given */
	size_t n_globs;
	uint32_t max_count;          /* rg -m: matching lines per file; 0: all */
	uint32_t before, after;      /* context lines (rg -B, -A) */
	const char *index;           /* as in struct xihu_search_opts */
	const char *cwd;             /* the caller's directory: it chooses the
	                              * index (as in xihu_search_opts) and is
	                              * what is searched without paths */
	bool hidden;                 /* rg --hidden: also names starting with '.'
	                              * below the paths (left out by default) */
};

/* A file (or JSON Lines record) with a match.  path is path_len bytes (the
 * absolute path, or the record's id), then a NUL.  Lines as in a hit (col 0:
 * a context line), with XIHU_GREP_OUT_LINES only; count: its matching lines (at
 * most max_count). */
struct xihu_grep_doc {
	const char *path;
	size_t path_len;
	bool is_record;
	const struct xihu_line *lines;
	size_t n_lines;
	uint64_t count;
};

/* What the whole answer came to, filled when the stream has ended. */
struct xihu_grep_summary {
	uint64_t files_matched;
	uint64_t lines_matched;
	uint64_t candidates;        /* documents the n-gram index could not rule out */
	uint64_t searched;          /* documents verified */
	uint64_t took_us;           /* time spent in the daemon */
	const char *const *errors;  /* n_errors lines, "PATH: line N: why": files
	                             * that could not be searched, limits reached;
	                             * any means the answer is not complete.  They
	                             * belong to the connection until its next grep
	                             * or xihu_close() */
	size_t n_errors;
};

/* Called with each part of the answer as it arrives: files[n_files], in path
 * order across calls.  They are valid during the call only.  Return 0 to go
 * on, anything else to stop (the answer's rest is dropped). */
typedef int (*xihu_grep_fn)(void *ctx, const struct xihu_grep_doc *files, size_t n_files);

/*
 * Runs the exact search req and hands the answer to fn as it streams in,
 * one daemon frame at a time: memory stays bounded by one frame whatever
 * the answer's size.  Returns 0 once the whole answer has been read (*summary,
 * if not NULL, filled), 1 when fn stopped it (the connection is closed: the
 * next call connects again), -1 on failure (xihu_errmsg(), xihu_errcode();
 * a bad pattern is XIHU_E_QUERY with the 1-based column in it).  fn may have
 * been called before a failure.  Each frame may take 60 s to arrive.
 */
int xihu_grep(xihu_conn *c, const struct xihu_grep_request *req, xihu_grep_fn fn, void *ctx,
              struct xihu_grep_summary *summary);

/* ---- status --------------------------------------------------------------- */

/* A range of the daemon's latency histogram: the searches that took at most
 * upper_us (and more than the range before). */
struct xihu_latency {
	uint64_t upper_us;
	uint64_t count;
};

/* Live sync: the daemon keeping its default index in step with the trees. */
struct xihu_sync {
	uint32_t watches;        /* directories watched (inotify) */
	bool polling;            /* out of watches: the trees are polled instead */
	bool pending;            /* changes seen, not yet committed */
	uint64_t updates;        /* updates run since the daemon started */
	uint64_t commits;        /* of which committed a change */
	uint64_t errors;
	const char *last_error;  /* one line; "" when none */
	uint64_t last_update_ms; /* how long the last update took */
};

/* The daemon's numbers.  The strings and arrays belong to the connection and
 * stay valid until the next xihu_status() on it or xihu_close(). */
struct xihu_status {
	const char *version;     /* the daemon's version, e.g. "0.1.0" */
	const char *index_path;  /* its default index */
	uint32_t proto_version;
	uint32_t format_version; /* of the index */
	uint32_t pid;
	uint64_t uptime_s;
	uint64_t docs, terms, segments, index_bytes;
	uint64_t generation;     /* of the default index's last commit */
	uint32_t connections;    /* open now, this one included */
	uint64_t queries;        /* searches served since it started */
	uint64_t timed_out;      /* searches stopped at their deadline (XIHU_E_LIMIT) */
	uint64_t cancelled;      /* searches stopped because their client went away */
	uint64_t p50_us, p90_us, p99_us;    /* search latency percentiles (upper bounds) */
	const struct xihu_latency *latency; /* the histogram's non-empty ranges, ascending */
	size_t n_latency;
	const struct xihu_sync *sync;       /* NULL: the daemon runs without live sync */
};

/* Fills *out.  0 on success, -1 on failure (xihu_errmsg()). */
int xihu_status(xihu_conn *c, struct xihu_status *out);

/* ---- indexes and the daemon's life ---------------------------------------- */

/* An index the daemon serves: its own (--index) and those added with
 * xihu_serve_tree(). */
struct xihu_served_index {
	const char *dir;          /* the index's directory */
	const char *const *roots; /* the trees (and JSON Lines files) it indexes */
	size_t n_roots;
	uint64_t docs;
	uint64_t bytes;           /* of index files */
	uint32_t segments;
	uint64_t generation;      /* of its last commit */
	const char *state;        /* "ready", "indexing" or "failed" */
	const char *progress;     /* while indexing: "N files, M MB, R MB/s, ETA S s"; else "" */
	const char *error;        /* when failed: one line; else "" */
	bool is_default;          /* the daemon's own index */
};

/* The indexes the daemon serves: *out, an array of *n.  They belong to the
 * connection and stay valid until the next xihu_list_indexes() on it or
 * xihu_close().  0 on success, -1 on failure (xihu_errmsg()). */
int xihu_list_indexes(xihu_conn *c, const struct xihu_served_index **out, size_t *n);

/*
 * Asks the daemon to index the tree at path (absolute) next to its default
 * index and to serve it: a search whose cwd is inside path then goes to it,
 * and live sync keeps it up to date.  On success returns 0, *dir (the
 * index's directory; it belongs to the connection until the next
 * xihu_serve_tree() on it or xihu_close()) and *created: true when the daemon
 * has started building it in the background (follow it with
 * xihu_list_indexes() until its state is no longer "indexing"), false when it
 * already serves that tree.  -1 on failure (xihu_errmsg()).
 */
int xihu_serve_tree(xihu_conn *c, const char *path, const char **dir, bool *created);

/* Asks the daemon to shut down: it stops accepting, finishes the requests in
 * flight, removes its socket and exits.  0 once it has agreed, -1 on failure
 * (xihu_errmsg()).  The next call on c connects again, and with
 * XIHU_AUTOSTART starts a new daemon. */
int xihu_stop(xihu_conn *c);

/* The version of this library, e.g. "0.1.0". */
const char *xihu_client_version(void);

#ifdef __cplusplus
}
#endif

#endif
