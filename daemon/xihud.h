/*
 * xihud.h: the daemon's internal interfaces, one section per .c file.
 *
 *   xihud.c    options, start-up order, daemonizing
 *   server.c   the listening socket, accept, connection list, index snapshot,
 *              signals and graceful shutdown
 *   conn.c     one client connection: a state machine over a bufferevent
 *   handler.c  one request frame -> one response frame (no libevent, no
 *              globals: callable from any thread)
 *   stats.c    queries served and the latency histogram (thread-safe)
 *
 * Data flows one way: server accepts -> conn parses frames -> handler answers
 * with the index snapshot the server lent it -> conn queues the reply.
 */
#ifndef XIHUD_H
#define XIHUD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xihu-index.h"

struct event_base;
struct server;
struct conn;

/* ==== xihud.c: configuration ============================================= */

#define XIHUD_DEFAULT_MAX_CONNECTIONS 512
#define XIHUD_DEFAULT_IDLE_TIMEOUT_S 300

struct xihud_config {
	const char *index_dir;   /* absolute */
	const char *socket_path; /* absolute */
	bool foreground;
	bool verbose;
	unsigned threads;         /* accepted; searches run on the loop thread */
	uint32_t max_frame;       /* request frame limit, bytes */
	unsigned max_connections;
	unsigned idle_timeout_s;
};

/* "xihud: <what>: <why>" on stderr; log lines only with --verbose. */
void xihud_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xihud_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool xihud_verbose;

/* ==== stats.c: counters and a log-scale latency histogram ================ */

/* 4 buckets per power of two of microseconds: each ~19% wide. */
#define STATS_BUCKETS (64 * 4)

struct stats {
	pthread_mutex_t lock;
	uint64_t queries;
	uint64_t buckets[STATS_BUCKETS];
};

void stats_init(struct stats *s);
void stats_destroy(struct stats *s);
void stats_record(struct stats *s, uint64_t us);
/* Copies the counters and the p50/p90/p99 latencies (upper bucket bounds). */
void stats_snapshot(struct stats *s, uint64_t *queries, uint64_t *p50, uint64_t *p90,
                    uint64_t *p99);
/* Exposed for tests: the bucket of a latency, and a bucket's upper bound. */
unsigned stats_bucket(uint64_t us);
uint64_t stats_bucket_upper(unsigned b);

/* ==== handler.c: request frame -> response frame ========================= */

/* Everything a request may look at; the caller owns it for the call. */
struct handler_ctx {
	xihu_index *ix;            /* a snapshot the caller holds a reference to */
	const xihu_limits *limits;
	struct stats *stats;
	uint64_t uptime_s;
	uint32_t connections;
	uint32_t pid;
};

enum handler_action {
	HANDLER_CONTINUE, /* answer queued; read the next request */
	HANDLER_CLOSE,    /* the stream is unusable: flush the answer, then close */
	HANDLER_STOP,     /* a Stop request: flush the answer, shut the daemon down */
};

/* A packed Response frame (length header included) ready to write. */
struct reply {
	uint8_t *buf; /* malloc'd; the receiver frees it */
	size_t len;
};

/* Answers the frame body [body, body+len).  Always produces a reply (an
 * Error response when anything fails), except when out of memory even for
 * that: then out->buf is NULL and the action is HANDLER_CLOSE. */
enum handler_action handler_serve(const struct handler_ctx *ctx, const uint8_t *body,
                                  size_t len, struct reply *out);
/* An Error response frame with the given code and message (id 0). */
void handler_error_reply(uint64_t id, int code, const char *msg, struct reply *out);

/* ==== conn.c: one client connection ====================================== */

/* Takes ownership of fd (non-blocking, peer already checked). */
struct conn *conn_new(struct server *srv, int fd, uint64_t serial);
/* The daemon is stopping: answer complete requests already received, then
 * close once their responses are flushed. */
void conn_shutdown(struct conn *c);
void conn_free(struct conn *c);

/* ==== server.c: listener, snapshot, lifecycle ============================= */

/* Before daemonizing: prepares the socket directory, refuses a path a live
 * daemon answers on, removes a stale socket, binds and listens.  Prints the
 * error and returns -1 on failure. */
int server_bind(struct server **out, const struct xihud_config *cfg, xihu_index *ix);
/* After daemonizing: creates the event loop and runs it until shutdown;
 * writes one byte to ready_fd (if >= 0) once it is serving. */
int server_run(struct server *srv, int ready_fd);
void server_free(struct server *srv);

const struct xihud_config *server_config(const struct server *srv);
struct event_base *server_base(const struct server *srv);
/* The current index with a reference for the caller; checks for a newly
 * committed index at most every 200 ms. */
xihu_index *server_snapshot(struct server *srv);
/* Fills the daemon-wide parts of a handler context (not ix). */
void server_fill_ctx(struct server *srv, struct handler_ctx *ctx);
void server_conn_closed(struct server *srv, struct conn *c);
/* Stop accepting, finish in-flight requests, remove the socket, exit. */
void server_stop(struct server *srv, const char *why);
bool server_stopping(const struct server *srv);

#endif
