/*
 * conn.c: one client connection, an explicit state machine over a socket.
 *
 *   READING     reading request frames; each complete one becomes a job for
 *               the worker pool (several may be in flight at once)
 *   PAUSED      --max-pending requests are in flight, or more than OUT_HIGH
 *               bytes of answers are queued for a client that is not reading:
 *               socket reading is off until fewer are in flight and the
 *               output is below OUT_LOW (slow readers cannot make the daemon
 *               buffer without bound)
 *   DRAINING    the client shut its sending side, or the daemon is stopping:
 *               the whole frames already received are served (a partial one
 *               is dropped), then the connection closes once flushed
 *   CLOSING     nothing more is served (bad frame, unusable stream, Stop):
 *               the answers up to the closing one are written, then it closes
 *
 * I/O: two plain byte buffers and two libevent events, no bufferevent, so a
 * request costs one recv() and its answer one send() in the common case: a
 * read event (persistent, with the idle timeout) is on while READING; answers
 * are sent as soon as they are in order, and a write event (with the same
 * timeout) is on only while some output is left over.
 *
 * Frames are parsed incrementally from the input buffer: peek the 4-byte
 * length, check it against --max-frame, wait until the whole frame is there,
 * copy it into a job, consume it.  The input buffer never grows past one
 * maximal frame; when it is full, reading waits for the parser.
 *
 * Order: every request becomes a job appended to the connection's FIFO (a
 * bad frame becomes a job that is already answered); jobs come back from the
 * workers in any order, and conn_pump writes answers from the front of the
 * FIFO only, so pipelined requests are answered strictly in order.  If the
 * connection goes away with jobs in flight, they are orphaned (job->conn =
 * NULL) and recycled when they come back; the connection itself is freed at
 * once.
 *
 * Timeouts: a connection idle (or stuck mid-frame) for --idle-timeout, or a
 * client that stops reading our output for as long, is closed.
 *
 * Cancellation: when a connection goes (error, timeout, or a client that
 * closed its socket: end of input with POLLHUP), its jobs still with a
 * worker get job->cancelled set, and their searches stop at their next
 * check (xihu_index_search_opts.cancel).
 *
 * Callers: server.c makes, shuts down and frees connections; the pool
 * hands jobs back through conn_job_done, its deliver callback.  All on the
 * loop thread.  The other way, a connection reaches its owner only through
 * the callbacks in struct conn_owner (a job's context, its own end, a Stop
 * request); it calls the pool for jobs and the handler for the error
 * answers it makes itself (a bad frame).
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "frame.h"
#include "xihu.pb-c.h"
#include "xihud.h"

#define OUT_HIGH (256u << 10) /* pause reading requests above this much output */
#define OUT_LOW (64u << 10)   /* resume below this */
#define IN_INITIAL (16u << 10) /* input buffer to start with and to shrink back to */
#define OUT_KEEP (256u << 10)  /* an empty output buffer larger than this is freed */

enum conn_state {
	CONN_READING,
	CONN_PAUSED,
	CONN_DRAINING,
	CONN_CLOSING,
};

struct conn {
	const struct conn_owner *owner; /* server.c's: outlives every connection */
	struct pool *pool;
	int fd;
	struct event *ev_read, *ev_write;
	struct timeval idle; /* zero: no timeout */
	enum conn_state state;
	bool reading;        /* ev_read is added */
	bool writing;        /* ev_write is added */
	uint64_t serial;     /* for log lines */
	uint64_t served;
	uint32_t max_frame;
	unsigned max_pending; /* requests in flight at once (--max-pending) */

	uint8_t *in;         /* received bytes: [in_pos, in_len) not parsed yet */
	size_t in_pos, in_len, in_cap;
	uint8_t *out;        /* answers: [out_pos, out_len) not sent yet */
	size_t out_pos, out_len, out_cap;

	struct job *head, *tail; /* requests in order, oldest first */
	unsigned njobs;
	bool final_sent; /* the closing answer is out: later ones are dropped */
	bool stop;       /* a Stop was answered: stop the daemon after this pump */
};

static const char *const state_names[] = {"reading", "paused", "draining", "closing"};

static void set_state(struct conn *c, enum conn_state s)
{
	c->state = s;
}

static const struct timeval *idle_tv(const struct conn *c)
{
	return c->idle.tv_sec ? &c->idle : NULL;
}

static void want_read(struct conn *c, bool on)
{
	if (on == c->reading)
		return;
	c->reading = on;
	if (on)
		event_add(c->ev_read, idle_tv(c));
	else
		event_del(c->ev_read);
}

static void want_write(struct conn *c, bool on)
{
	if (on == c->writing)
		return;
	c->writing = on;
	if (on)
		event_add(c->ev_write, idle_tv(c));
	else
		event_del(c->ev_write);
}

static size_t out_queued(const struct conn *c)
{
	return c->out_len - c->out_pos;
}

static void append_job(struct conn *c, struct job *j)
{
	j->conn = c;
	j->fifo_next = NULL;
	if (c->tail)
		c->tail->fifo_next = j;
	else
		c->head = j;
	c->tail = j;
	c->njobs++;
}

/* Stop reading: nothing the client sends from now on is served. */
static void enter_closing(struct conn *c)
{
	set_state(c, CONN_CLOSING);
	want_read(c, false);
	c->in_pos = c->in_len = 0;
}

/* An answer made on the loop thread (a bad frame): queued behind the
 * requests in flight, then the connection closes. */
static void answer_and_close(struct conn *c, int code, const char *msg)
{
	xihud_log("connection %llu: %s", (unsigned long long)c->serial, msg);
	struct job *j = pool_job_get(c->pool);
	if (j) {
		reply_error(0, code, msg, &j->out);
		j->act = HANDLER_CLOSE;
		append_job(c, j);
		j->done = true;
	}
	enter_closing(c);
}

/* Turns the complete frames at the front of the input into jobs, while the
 * state and the bounds allow. */
static void parse_frames(struct conn *c)
{
	while (c->njobs < c->max_pending) {
		if (c->state == CONN_READING && out_queued(c) > OUT_HIGH)
			break;
		if (c->state != CONN_READING && c->state != CONN_DRAINING)
			break;
		size_t have = c->in_len - c->in_pos;
		const uint8_t *p = c->in + c->in_pos;
		if (have < XIHU_FRAME_HEADER)
			break;
		uint32_t n = frame_get_len(p);
		if (n == 0 || n > c->max_frame) {
			char msg[160];
			snprintf(msg, sizeof msg, "bad frame: length %lu is not within 1..%lu",
			         (unsigned long)n, (unsigned long)c->max_frame);
			answer_and_close(c, XIHU__ERROR_CODE__E_BAD_FRAME, msg);
			return;
		}
		if (have - XIHU_FRAME_HEADER < n)
			break;
		struct job *j = pool_job_get(c->pool);
		if (j && j->cap < n) {
			uint8_t *f = realloc(j->frame, n);
			if (!f) {
				pool_job_put(c->pool, j);
				j = NULL;
			} else {
				j->frame = f;
				j->cap = n;
			}
		}
		if (!j) {
			answer_and_close(c, XIHU__ERROR_CODE__E_INTERNAL, "request: out of memory");
			return;
		}
		memcpy(j->frame, p + XIHU_FRAME_HEADER, n);
		j->len = n;
		c->in_pos += XIHU_FRAME_HEADER + n;
		c->owner->fill_ctx(c->owner->arg, &j->ctx);
		atomic_store_explicit(&j->cancelled, false, memory_order_relaxed);
		j->ctx.cancel = &j->cancelled;
		append_job(c, j);
		pool_submit(c->pool, j);
	}
	if (c->in_pos == c->in_len) {
		c->in_pos = c->in_len = 0;
		if (c->in_cap > 4 * IN_INITIAL) { /* after a large frame */
			uint8_t *b = realloc(c->in, IN_INITIAL);
			if (b) {
				c->in = b;
				c->in_cap = IN_INITIAL;
			}
		}
	} else if (c->state == CONN_DRAINING && c->njobs < c->max_pending) {
		/* what is left is a partial frame that will never complete */
		c->in_pos = c->in_len = 0;
	}
}

/* Appends an answer to the output buffer. */
static bool out_append(struct conn *c, const uint8_t *p, size_t n)
{
	if (c->out_pos == c->out_len)
		c->out_pos = c->out_len = 0;
	if (c->out_cap - c->out_len < n) {
		if (c->out_pos) { /* slide the unsent part to the front first */
			memmove(c->out, c->out + c->out_pos, c->out_len - c->out_pos);
			c->out_len -= c->out_pos;
			c->out_pos = 0;
		}
		if (c->out_cap - c->out_len < n) {
			size_t cap = c->out_cap ? c->out_cap : 4096;
			while (cap - c->out_len < n)
				cap *= 2;
			uint8_t *b = realloc(c->out, cap);
			if (!b)
				return false;
			c->out = b;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return true;
}

/* Moves the frames j's stream has queued into the output while it has
 * room (OUT_HIGH); true when none is left for now (the last frame may then
 * follow: one frame past OUT_HIGH at most). */
static bool move_stream(struct conn *c, struct job *j)
{
	uint8_t *f;
	size_t n;
	void *h;
	while (out_queued(c) <= OUT_HIGH && stream_take(j->stream, &f, &n, &h)) {
		bool ok = c->final_sent || out_append(c, f, n);
		stream_chunk_free(h);
		if (!ok) { /* out of memory: the stream cannot go on */
			atomic_store_explicit(&j->cancelled, true, memory_order_relaxed);
			c->final_sent = true;
			if (c->state != CONN_CLOSING)
				enter_closing(c);
		}
	}
	return !stream_pending(j->stream);
}

/* Writes the answers at the front of the FIFO that are back into the
 * output buffer. */
static void deliver_ready(struct conn *c)
{
	while (c->head) {
		struct job *j = c->head;
		if (j->stream && !move_stream(c, j))
			break; /* the output is full: more when the client reads */
		if (!j->done)
			break;
		c->head = j->fifo_next;
		if (!c->head)
			c->tail = NULL;
		c->njobs--;
		if (!c->final_sent) {
			c->served++;
			bool ok = j->out.len && out_append(c, j->out.buf, j->out.len);
			if (!ok || j->act != HANDLER_CONTINUE) {
				c->final_sent = true;
				if (j->act == HANDLER_STOP)
					c->stop = true;
				if (c->state != CONN_CLOSING)
					enter_closing(c);
			}
		}
		pool_job_put(c->pool, j);
	}
}

/* Sends queued output.  Returns false when the connection is broken. */
static bool flush_out(struct conn *c)
{
	while (c->out_pos < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->out_pos += (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_write(c, true);
			return true;
		} else {
			xihud_log("connection %llu: sending: %s", (unsigned long long)c->serial,
			          strerror(errno));
			return false;
		}
	}
	c->out_pos = c->out_len = 0;
	if (c->out_cap > OUT_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	want_write(c, false);
	return true;
}

/*
 * Moves the connection on: queues the answers that are ready, in order;
 * turns new frames into jobs when the state allows; sends; pauses or resumes
 * reading; closes when everything owed is flushed.  Returns false if c was
 * freed.
 */
static bool conn_pump(struct conn *c)
{
	deliver_ready(c);
	parse_frames(c);
	deliver_ready(c); /* a bad frame's answer is ready at once */
	const struct conn_owner *owner = c->owner; /* c may be freed below */
	bool stop = c->stop;
	c->stop = false;
	bool alive = flush_out(c);
	/* all sent: a stream at the front may have more queued than fit before */
	while (alive && out_queued(c) == 0 && c->head && c->head->stream &&
	       (c->head->done || stream_pending(c->head->stream))) {
		deliver_ready(c);
		alive = flush_out(c);
	}

	if (alive && c->state == CONN_READING &&
	    (c->njobs >= c->max_pending || out_queued(c) > OUT_HIGH)) {
		set_state(c, CONN_PAUSED);
		want_read(c, false);
	} else if (alive && c->state == CONN_PAUSED && c->njobs < c->max_pending &&
	           out_queued(c) <= OUT_LOW) {
		set_state(c, CONN_READING);
		want_read(c, true);
		parse_frames(c); /* requests may already be waiting in the input */
	}
	if (alive && (c->state == CONN_DRAINING || c->state == CONN_CLOSING) && c->njobs == 0 &&
	    c->in_len == c->in_pos && out_queued(c) == 0) {
		alive = false;
	}
	if (!alive)
		conn_free(c);
	if (stop)
		owner->stop(owner->arg, "stop request");
	return alive;
}

void conn_job_done(struct pool *p, struct job *j)
{
	struct conn *c = j->conn;
	if (!c) { /* its connection is gone */
		pool_job_put(p, j);
		return;
	}
	j->done = true;
	if (c->head == j)
		conn_pump(c);
}

void conn_job_progress(struct pool *p, struct job *j)
{
	(void)p;
	struct conn *c = j->conn;
	if (c && c->head == j)
		conn_pump(c);
}

/* The input ended: answer what was received in full, then close. */
static void conn_drain(struct conn *c)
{
	if (c->state == CONN_READING || c->state == CONN_PAUSED) {
		set_state(c, CONN_DRAINING);
		want_read(c, false);
	}
	conn_pump(c);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (what & EV_TIMEOUT) {
		xihud_log("connection %llu: idle timeout (%s)", (unsigned long long)c->serial,
		          state_names[c->state]);
		conn_free(c);
		return;
	}
	/* make room: slide the unparsed bytes to the front, grow up to one frame */
	if (c->in_pos) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	size_t limit = (size_t)XIHU_FRAME_HEADER + c->max_frame;
	if (c->in_len == c->in_cap && c->in_cap < limit) {
		size_t cap = c->in_cap * 2 < limit ? c->in_cap * 2 : limit;
		uint8_t *b = realloc(c->in, cap);
		if (!b) {
			answer_and_close(c, XIHU__ERROR_CODE__E_INTERNAL, "request: out of memory");
			conn_pump(c);
			return;
		}
		c->in = b;
		c->in_cap = cap;
	}
	if (c->in_len == c->in_cap) {
		/* a whole maximal frame is here: the parser takes it or pauses */
		conn_pump(c);
		return;
	}
	ssize_t r = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	if (r > 0) {
		c->in_len += (size_t)r;
		conn_pump(c);
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r == 0) {
		/* a client that closed its socket entirely (both directions shut:
		 * POLLHUP) reads nothing more: its searches in flight are cancelled
		 * and the connection goes; one that only shut its sending side
		 * (shutdown(SHUT_WR)) may still read what we owe it */
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP)) {
			xihud_log("connection %llu: closed by the client after %llu requests (%s)",
			          (unsigned long long)c->serial, (unsigned long long)c->served, state_names[c->state]);
			conn_free(c);
			return;
		}
		xihud_log("connection %llu: end of input after %llu requests (%s)",
		          (unsigned long long)c->serial, (unsigned long long)c->served,
		          state_names[c->state]);
		conn_drain(c);
		return;
	}
	xihud_log("connection %llu: %s", (unsigned long long)c->serial, strerror(errno));
	conn_free(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	struct conn *c = arg;
	if (what & EV_TIMEOUT) {
		xihud_log("connection %llu: the client has not read its answers for %ld s (%s)",
		          (unsigned long long)c->serial, (long)c->idle.tv_sec, state_names[c->state]);
		conn_free(c);
		return;
	}
	conn_pump(c);
}

struct conn *conn_new(const struct conn_owner *owner, int fd, uint64_t serial)
{
	const struct xihud_config *cfg = owner->cfg;
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->owner = owner;
	c->pool = owner->pool;
	c->fd = fd;
	c->serial = serial;
	c->max_frame = cfg->max_frame;
	c->max_pending = cfg->max_pending;
	c->idle.tv_sec = cfg->idle_timeout_s;
	c->in_cap = IN_INITIAL;
	c->in = malloc(c->in_cap);
	c->ev_read = event_new(owner->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write = event_new(owner->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	if (!c->in || !c->ev_read || !c->ev_write) {
		if (c->ev_read)
			event_free(c->ev_read);
		if (c->ev_write)
			event_free(c->ev_write);
		free(c->in);
		free(c);
		return NULL;
	}
	set_state(c, CONN_READING);
	want_read(c, true);
	return c;
}

void conn_shutdown(struct conn *c)
{
	switch (c->state) {
	case CONN_READING:
	case CONN_PAUSED:
		/* requests already received in full are answered, nothing more is read */
		conn_drain(c);
		return;
	case CONN_DRAINING:
	case CONN_CLOSING:
		return;
	}
}

void conn_free(struct conn *c)
{
	c->owner->closed(c->owner->arg, c);
	for (struct job *j = c->head, *next; j; j = next) {
		next = j->fifo_next;
		if (j->done)
			pool_job_put(c->pool, j);
		else {
			j->conn = NULL; /* still with a worker: recycled when it comes back */
			atomic_store_explicit(&j->cancelled, true, memory_order_relaxed); /* nobody waits for it */
		}
	}
	event_free(c->ev_read);
	event_free(c->ev_write);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}
