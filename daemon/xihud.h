/*
 * xihud.h: the daemon's internal interfaces, one section per .c file,
 * listed from the lowest layer up: a file calls only the files of the
 * sections above its own.
 *
 *   log.c         log lines; the clock and path helpers every layer uses
 *   config.c      the configuration, from the command line
 *   activation.c  a listening socket inherited from systemd (socket activation)
 *   stats.c       queries served and the latency histogram (thread-safe)
 *   sync.c        live sync: an index kept in step with its trees
 *   registry.c    the indexes served besides the default one
 *   handler.c     one request frame -> one response frame (no libevent, no
 *                 globals: called from the worker threads)
 *   pool.c        the worker threads that run jobs, and the job free list
 *   conn.c        one client connection: a state machine over a socket
 *   server.c      the listening socket, accept, the connection list, the
 *                 index snapshot, signals and graceful shutdown; it wires
 *                 the layers below together
 *   main.c        main (no section: nothing calls it): start-up order,
 *                 daemonizing
 *
 * Where a lower file hands something back up, it calls a function the
 * higher one registered, never one it names: the pool runs jobs with the
 * run callback server.c gives it and hands them back to conn_job_done; a
 * connection reaches the server through its struct conn_owner.
 *
 * Threads: one libevent loop thread owns every socket, connection and the
 * server; it moves bytes, and runs a request itself only when it is the lone
 * one and every worker is idle (pool_flush).  The worker threads see nothing
 * but the jobs handed to them (a request frame, a handler context holding its
 * own index reference) and the thread-safe stats.
 *
 * Data flows one way: server accepts -> conn parses frames into jobs -> pool
 * runs the handler on a worker with the index snapshot the job holds -> the
 * loop gets the job back -> conn writes the answers in request order.
 */
#ifndef XIHUD_H
#define XIHUD_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "xihu-index.h"

struct event_base;
struct server;
struct conn;

/* ==== log.c: log lines (and, inline here, the clock and path helpers) ==== */

/* A line with a level, to stderr ("xihud: <what>: <why>" for an error,
 * "xihud: warning: ...", "xihud: info: ...", "xihud: debug: ...") or, after
 * xihud_log_to_syslog, to syslog (LOG_DAEMON, priority by level).  Lines
 * above the level set (default warning) are dropped. */
enum xihud_level { XIHUD_ERROR, XIHUD_WARNING, XIHUD_INFO, XIHUD_DEBUG };
void xihud_logf(enum xihud_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define xihud_error(...) xihud_logf(XIHUD_ERROR, __VA_ARGS__)
#define xihud_warn(...) xihud_logf(XIHUD_WARNING, __VA_ARGS__)
#define xihud_log(...) xihud_logf(XIHUD_INFO, __VA_ARGS__)
#define xihud_debug(...) xihud_logf(XIHUD_DEBUG, __VA_ARGS__)
/* main, before any other thread starts: lines above level are dropped. */
void xihud_log_set_level(enum xihud_level level);
/* main (--syslog, or daemonized: stderr is gone): lines go to syslog from
 * now on.  Calling it again changes nothing. */
void xihud_log_to_syslog(void);

/* CLOCK_MONOTONIC, for deadlines, spins and intervals everywhere in the daemon. */
static inline uint64_t xihud_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static inline uint64_t xihud_now_us(void)
{
	return xihud_now_ns() / 1000u;
}
static inline uint64_t xihud_now_ms(void)
{
	return xihud_now_ns() / 1000000u;
}

/* Whether the absolute path is dir or lies under it ("/" holds every path). */
static inline bool xihud_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* ==== config.c: the configuration, from the command line ================= */

struct xihud_config {
	const char *index_dir;   /* absolute */
	const char *socket_path; /* absolute */
	bool foreground;
	bool verbose;
	unsigned threads;         /* worker threads running requests */
	uint32_t max_frame;       /* request frame limit, bytes */
	unsigned max_connections;
	unsigned max_pending;     /* requests of one connection in flight at once */
	uint32_t max_results;     /* offset + limit of one search */
	unsigned idle_timeout_s;
	unsigned spin_us; /* after a request, poll this long before sleeping (0: never) */
	unsigned request_timeout_ms; /* a search's deadline unless the request sets timeout_ms */
	bool no_sync;     /* do not watch the trees (--no-sync) */
	enum xihud_level log_level; /* --log-level, else info with -v, else warning */
	bool use_syslog;  /* --syslog */
	const char *index_opt;  /* --index as given, or NULL (config_index_dir) */
	const char *socket_opt; /* --socket as given, or NULL */
};

/* config_parse's "start the daemon" (anything else is main's exit status). */
#define CONFIG_RUN (-1)
/* Fills cfg with the defaults, then the options in argv.  CONFIG_RUN when
 * the daemon is to start; else the exit status: 0 after --help or
 * --version (printed), 2 after a bad option or argument (logged).
 * index_dir and socket_path are left to main. */
int config_parse(struct xihud_config *cfg, int argc, char **argv);
/* The index to serve: --index, else $XIHU_INDEX, made absolute; else
 * $XDG_DATA_HOME/xihu/index or ~/.local/share/xihu/index.  malloc'd; NULL
 * when none can be worked out. */
char *config_index_dir(const struct xihud_config *cfg);
/* path made absolute against the current directory (no symlinks
 * resolved); malloc'd; NULL on failure. */
char *config_absolute(const char *path);

/* ==== activation.c: a listening socket inherited from systemd ============= */

/* Socket activation (LISTEN_PID is our pid, LISTEN_FDS >= 1): checks that
 * fd 3 is a listening AF_UNIX stream socket, makes it non-blocking and
 * close-on-exec, unsets LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES, and returns 1
 * with the fd in *fd.  0 when nothing was passed to us; -1 (printed) when
 * what was passed is wrong. */
int activation_listen_fd(int *fd);

/* ==== stats.c: counters and a log-scale latency histogram ================ */

/* 4 buckets per power of two of microseconds: each ~19% wide. */
#define STATS_BUCKETS (64 * 4)

struct stats {
	_Atomic uint64_t buckets[STATS_BUCKETS]; /* relaxed increments from any thread */
	_Atomic uint64_t timed_out, cancelled;  /* searches stopped early */
};

void stats_init(struct stats *s);
void stats_destroy(struct stats *s);
void stats_record(struct stats *s, uint64_t us);
/* The non-empty buckets, ascending: their upper bounds (us) and counts;
 * returns how many (at most STATS_BUCKETS). */
unsigned stats_histogram(struct stats *s, uint64_t *upper, uint64_t *count);
/* Copies the counters and the p50/p90/p99 latencies (upper bucket bounds). */
void stats_snapshot(struct stats *s, uint64_t *queries, uint64_t *p50, uint64_t *p90,
                    uint64_t *p99);
/* Exposed for tests: the bucket of a latency, and a bucket's upper bound. */
unsigned stats_bucket(uint64_t us);
uint64_t stats_bucket_upper(unsigned b);

/* ==== sync.c: live sync of the index with its trees ====================== */

struct sync;
struct sync_status {
	uint32_t watches;   /* directories watched */
	bool polling;       /* out of inotify watches: the trees are polled */
	bool pending;       /* changes seen and not yet committed */
	uint64_t updates, commits, errors;
	uint64_t last_update_ms; /* how long the last update took */
	char last_error[512];
};
/* Starts watching the trees of the index in index_dir and updating it; an
 * update runs at once.  NULL (logged) when no thread can be started. */
struct sync *sync_start(const char *index_dir);
void sync_get_status(struct sync *s, struct sync_status *out);
/* The files live sync saw written or created that the index served may not
 * hold yet (not committed, or committed moments ago): a malloc'd array of
 * malloc'd absolute paths in *out, their number returned (s may be NULL). */
size_t sync_changed(struct sync *s, char ***out);
/* Stops the thread (an update in progress finishes first) and frees s. */
void sync_stop(struct sync *s);

/* ==== registry.c: the indexes served besides the default one ============= */

struct registry;
/* 0 when dir may be served: a directory owned by us that no one else can
 * write in (xihu_private_dir), or none at all; else XIHU_EINVAL with a
 * one-line err.  Others could otherwise plant segments or swap the files
 * that answers are made of.  Checked for every index before it is opened. */
int registry_check_dir(const char *dir, xihu_err *err);
/* Serves the indexes in "<default_dir's parent>/indexes/"; NULL on ENOMEM. */
struct registry *registry_open(const char *default_dir, bool no_sync);
void registry_free(struct registry *reg);
/* The index a search goes to: index (a directory) if non-empty, else the
 * one whose root holds cwd.  0 with *out a referenced snapshot, or NULL for
 * the default index; -1 with a one-line message in err. */
int registry_pick(struct registry *reg, const char *index, const char *cwd, xihu_index **out, char *err,
                  size_t errsz);
/* sync_changed of the index served from dir (0 when none, or no sync). */
size_t registry_changed(struct registry *reg, const char *dir, char ***out);
/* An IndexRequest: the directory of the index for path in dir_out;
 * *created when a build started.  -1 with a message in err. */
int registry_index(struct registry *reg, const char *path, char *dir_out, size_t dirsz, bool *created,
                   char *err, size_t errsz);
struct reg_info {
	char *dir, *progress, *error; /* progress: build as xihu_build_progress_line's text, or "" */
	xihu_build_progress build;    /* the build's last report, if reported */
	bool reported;
	const char *state; /* "ready", "indexing", "failed" */
	xihu_index *ix;    /* referenced; NULL before the first commit */
	char **roots;
	size_t nroots;
};
/* The served indexes besides the default (free with registry_list_free). */
size_t registry_list(struct registry *reg, struct reg_info **out);
void registry_list_free(struct reg_info *v, size_t n);

/* ==== handler.c: request frame -> response frame ========================= */

/* Everything a request may look at; the caller owns it for the call. */
struct handler_ctx {
	xihu_index *ix;            /* a snapshot the caller holds a reference to */
	const xihu_limits *limits;
	struct stats *stats;
	uint64_t uptime_s;
	uint32_t connections;
	uint32_t pid;
	struct sync *sync;         /* live sync, for status; NULL with --no-sync */
	uint64_t received_ns;      /* when the request was read (CLOCK_MONOTONIC): its deadline counts from here */
	uint32_t timeout_ms;       /* the daemon's default deadline (--request-timeout) */
	const _Atomic bool *cancel; /* set when the client went away */
	uint64_t budget_ns;        /* run on the loop thread: give up at this time (HANDLER_RETRY); 0 = none */
	struct registry *reg;      /* the other indexes (registry.c) */
	/* A streamed answer (grep): sends one packed frame (length header
	 * included; malloc'd, taken over and freed in any case) ahead of the
	 * final one in out, waiting while the client is behind; false when the
	 * client is gone (stop making the answer).  NULL until the job runs on a
	 * stream thread (server.c). */
	bool (*push)(void *arg, uint8_t *frame, size_t len);
	void *push_arg;
};

enum handler_action {
	HANDLER_CONTINUE, /* answer queued; read the next request */
	HANDLER_CLOSE,    /* the stream is unusable: flush the answer, then close */
	HANDLER_STOP,     /* a Stop request: flush the answer, shut the daemon down */
	HANDLER_RETRY,    /* no answer: the search ran out of the loop thread's
	                   * budget (handler_ctx.budget_ns); run it on a worker */
	HANDLER_STREAM,   /* no answer: a streamed answer (grep) with no push in
	                   * the context; run it again on a stream thread */
};

/* A packed Response frame (length header included) ready to write.  The
 * buffer is reused from one reply to the next (a job keeps its own). */
struct reply {
	uint8_t *buf; /* malloc'd, cap bytes; NULL before the first reply */
	size_t len;   /* bytes of the frame; 0 when there is none */
	size_t cap;
};

void reply_free(struct reply *r);

/* Answers the frame body [body, body+len) into out (reusing its buffer).
 * Always produces a reply (an Error response when anything fails), except
 * when out of memory even for that: then out->len is 0 and the action is
 * HANDLER_CLOSE. */
enum handler_action handler_serve(const struct handler_ctx *ctx, const uint8_t *body,
                                  size_t len, struct reply *out);
/* ==== reply.c: answers as frames, and the protocol's errors ============= */

struct Xihu__Response;
/* Packs resp (its body set) as the answer to request id; when it cannot,
 * E_LIMIT (too large for a frame) or E_INTERNAL ("WHAT: out of memory"). */
void reply_answer(struct Xihu__Response *resp, uint64_t id, const char *what, struct reply *out);
/* An Error response frame with the given code, message (and column) into
 * out; on out of memory out->len is 0. */
void reply_error(uint64_t id, int code, const char *msg, struct reply *out);
void reply_error_col(uint64_t id, int code, unsigned column, const char *msg, struct reply *out);
/* E_QUERY naming the column; the index library's error as the protocol's. */
void reply_query_error(uint64_t id, unsigned column, const char *msg, struct reply *out);
void reply_index_error(uint64_t id, const xihu_err *err, struct reply *out);

/* ==== grep.c: exact search, a streamed answer ============================= */

struct Xihu__GrepRequest;
/* Answers gr: frames through ctx->push, the last one into out. */
void serve_grep(const struct handler_ctx *ctx, uint64_t id, const struct Xihu__GrepRequest *gr,
                struct reply *out);

/* ==== pool.c: worker threads and jobs ==================================== */

/*
 * One request on its way through the daemon.  The loop thread fills frame
 * and ctx (with an index reference) and submits it; a worker runs it (the
 * owner's pool_run_fn) into out and act and drops the reference; the loop
 * gets it back and the connection writes out in request order.  fifo_next,
 * conn, done and cancelled are the connection's (conn.c); conn and
 * fifo_next belong to the loop thread alone.
 */
struct job {
	struct job *next;      /* pool queue or done list (pool.c) */
	struct job *fifo_next; /* the connection's requests in order (conn.c) */
	struct conn *conn;     /* NULL once the connection is gone */
	bool done;             /* back from the worker (set on the loop thread) */
	_Atomic bool cancelled; /* the connection is gone: its search may stop (conn_free) */
	enum handler_action act;
	struct handler_ctx ctx;
	uint8_t *frame; /* request body */
	size_t len, cap;
	struct reply out;
	struct pool *pool;      /* the pool it came from */
	struct stream *stream;  /* a streamed answer's frames before out (stream.c), or NULL */
	struct job *pnext;      /* the pool's progress list (pool_progress) */
	bool in_progress;       /* on it (under the pool's done lock) */
};

struct pool;

/* What run did with a job: nothing (the loop thread's budget ran out: a
 * worker runs it again), answered it, or handed it to a thread of its own
 * that calls pool_job_finish when done. */
enum { RUN_RETRY = 0, RUN_ANSWERED = 1, RUN_DETACHED = 2 };

/* The owner's callbacks.  run answers the job's request (into j->out and
 * j->act): on a worker with budget_ns 0, or on the loop thread, where it
 * gives up at budget_ns (CLOCK_MONOTONIC) and returns false, answering
 * nothing; the pool then hands the job to a worker.  deliver takes a job
 * back, on the loop thread. */
typedef int pool_run_fn(struct job *j, uint64_t budget_ns);
typedef void pool_deliver_fn(struct pool *p, struct job *j);
/* Starts nthreads workers that answer jobs with run; finished jobs are
 * handed back, on the loop thread of base, to deliver one at a time, and
 * a job whose stream has new frames to progress. */
struct pool *pool_new(struct event_base *base, unsigned nthreads, pool_run_fn *run,
                      pool_deliver_fn *deliver, pool_deliver_fn *progress);
/* Any thread: j's stream has frames (the loop calls progress soon). */
void pool_progress(struct pool *p, struct job *j);
/* Any thread: a detached job is answered: drop its index reference and
 * hand it back as a worker would. */
void pool_job_finish(struct pool *p, struct job *j);
/* Any thread: room for one more detached job (at most POOL_MAX_DETACHED
 * at once)?  If so it is counted until its pool_job_finish. */
bool pool_try_detach(struct pool *p);
/* A pool_try_detach that found no thread after all. */
void pool_detach_failed(struct pool *p);
#define POOL_MAX_DETACHED 64
/* Lets the workers finish every job submitted, joins them, delivers what
 * came back, frees the job free list. */
void pool_free(struct pool *p);
/* Loop thread: a cleared job from the free list (or a new one); NULL on ENOMEM. */
struct job *pool_job_get(struct pool *p);
/* Loop thread: back to the free list (buffers kept unless large). */
void pool_job_put(struct pool *p, struct job *j);
/* Loop thread: queues a job for the workers; they see it at pool_flush. */
void pool_submit(struct pool *p, struct job *j);
/* Loop thread: hands the jobs submitted since the last flush to the workers
 * (once per event loop iteration, so a burst costs one lock and one wake-up
 * per idle worker). */
void pool_flush(struct pool *p);
/* Loop thread: jobs run or handed over since the pool began, and whether
 * no job is out with the workers (the loop's spin, server_run). */
uint64_t pool_jobs(const struct pool *p);
bool pool_idle(const struct pool *p);

/* ==== stream.c: a streamed answer's frames, with backpressure =========== */

struct stream;
/* A stream whose pushes give up once *gone is set and call wake(wake_arg)
 * when they queue a frame where there was none. */
struct stream *stream_new(const _Atomic bool *gone, void (*wake)(void *arg), void *wake_arg);
void stream_free(struct stream *s);
/* The maker's thread: queues a frame (handler_ctx.push); see stream.c. */
bool stream_push(void *arg, uint8_t *frame, size_t len);
/* Loop thread: the oldest queued frame, if any; free it with
 * stream_chunk_free(handle) once copied. */
bool stream_take(struct stream *s, uint8_t **frame, size_t *len, void **handle);
void stream_chunk_free(void *handle);
/* Loop thread: whether frames are queued. */
bool stream_pending(struct stream *s);

/* ==== conn.c: one client connection ====================================== */

/* What a connection needs from its owner (server.c), which outlives it. */
struct conn_owner {
	struct event_base *base;        /* the loop's: the connection's events */
	struct pool *pool;              /* where its jobs come from and go */
	const struct xihud_config *cfg; /* --max-frame, --max-pending, --idle-timeout */
	/* Fills a new job's handler context: the daemon-wide parts and a
	 * referenced index snapshot. */
	void (*fill_ctx)(void *arg, struct handler_ctx *ctx);
	/* c is being freed (conn_free): forget it. */
	void (*closed)(void *arg, struct conn *c);
	/* A Stop request was answered: stop the daemon (why: for the log). */
	void (*stop)(void *arg, const char *why);
	void *arg;
};

/* Takes ownership of fd (non-blocking, peer already checked); owner must
 * outlive the connection. */
struct conn *conn_new(const struct conn_owner *owner, int fd, uint64_t serial);
/* The daemon is stopping: answer complete requests already received, then
 * close once their responses are flushed. */
void conn_shutdown(struct conn *c);
/* Closes at once; jobs still with the workers are dropped when they return. */
void conn_free(struct conn *c);
/* The pool's deliver callback: a job is back from its worker; a job whose
 * connection is gone goes back to p's free list. */
void conn_job_done(struct pool *p, struct job *j);
/* The pool's progress callback: j's stream has frames to send. */
void conn_job_progress(struct pool *p, struct job *j);

/* ==== server.c: listener, snapshot, lifecycle ============================= */

/* The signals that stop (SIGTERM, SIGINT) or reload (SIGHUP) the daemon:
 * main blocks them before the socket exists, server_run unblocks them once
 * the event loop handles them. */
void server_stop_signals(sigset_t *set);
/* Before daemonizing: prepares the socket directory, refuses a path a live
 * daemon answers on, removes a stale socket, binds and listens.  Prints the
 * error and returns -1 on failure. */
int server_bind(struct server **out, const struct xihud_config *cfg, xihu_index *ix);
/* After daemonizing: creates the event loop and runs it until shutdown;
 * writes one byte to ready_fd (if >= 0) once it is serving. */
int server_run(struct server *srv, int ready_fd);
void server_free(struct server *srv);

#endif
