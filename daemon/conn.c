/*
 * conn.c: one client connection, an explicit state machine over a bufferevent.
 *
 *   READING     reading request frames; each complete one becomes a job for
 *               the worker pool (several may be in flight at once)
 *   PAUSED      PIPELINE_MAX requests are in flight, or more than OUT_HIGH
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
 * Frames are parsed incrementally from the input evbuffer: peek the 4-byte
 * length, check it against --max-frame, wait until the whole frame is there,
 * copy it into a job, drain it.  Input is bounded by a read high-water mark
 * of one maximal frame.
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
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "frame.h"
#include "xihu.pb-c.h"
#include "xihud.h"

#define OUT_HIGH (256u << 10) /* pause reading requests above this much output */
#define OUT_LOW (64u << 10)   /* resume below this */
#define PIPELINE_MAX 64       /* requests of one connection in flight at once */

enum conn_state {
	CONN_READING,
	CONN_PAUSED,
	CONN_DRAINING,
	CONN_CLOSING,
};

struct conn {
	struct server *srv;
	struct pool *pool;
	struct bufferevent *bev;
	enum conn_state state;
	uint64_t serial; /* for log lines */
	uint64_t served;
	uint32_t max_frame;
	struct job *head, *tail; /* requests in order, oldest first */
	unsigned njobs;
	bool final_sent; /* the closing answer is out: later ones are dropped */
	bool stop;       /* a Stop was answered: stop the daemon after this pump */
};

static const char *const state_names[] = {"reading", "paused", "draining", "closing"};

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void set_state(struct conn *c, enum conn_state s)
{
	c->state = s;
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
	bufferevent_disable(c->bev, EV_READ);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	/* the write callback fires when the output is empty */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

/* An answer made on the loop thread (a bad frame): queued behind the
 * requests in flight, then the connection closes. */
static void answer_and_close(struct conn *c, int code, const char *msg)
{
	xihud_log("connection %llu: %s", (unsigned long long)c->serial, msg);
	struct job *j = pool_job_get(c->pool);
	if (j) {
		handler_error_reply(0, code, msg, &j->out);
		j->act = HANDLER_CLOSE;
		append_job(c, j);
		j->done = true;
	}
	enter_closing(c);
}

enum parse { PARSE_NEED_MORE, PARSE_FRAME, PARSE_BAD };

/* Peeks at the input: is a whole valid frame there?  Sets *len to its body
 * length.  Never consumes anything. */
static enum parse conn_parse(struct conn *c, uint32_t *len)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t have = evbuffer_get_length(in);
	unsigned char hdr[XIHU_FRAME_HEADER];
	if (have < sizeof hdr)
		return PARSE_NEED_MORE;
	evbuffer_copyout(in, hdr, sizeof hdr);
	uint32_t n = frame_get_len(hdr);
	*len = n;
	if (n == 0 || n > c->max_frame)
		return PARSE_BAD;
	if (have - sizeof hdr < n)
		return PARSE_NEED_MORE;
	return PARSE_FRAME;
}

/* Turns the complete frames at the front of the input into jobs, while the
 * state and the bounds allow. */
static void parse_frames(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	while (c->njobs < PIPELINE_MAX) {
		if (c->state == CONN_READING && evbuffer_get_length(out) > OUT_HIGH)
			return;
		if (c->state != CONN_READING && c->state != CONN_DRAINING)
			return;
		uint32_t n = 0;
		enum parse p = conn_parse(c, &n);
		if (p == PARSE_NEED_MORE) {
			if (c->state == CONN_DRAINING) /* a partial frame that never completes */
				evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		if (p == PARSE_BAD) {
			char msg[160];
			snprintf(msg, sizeof msg, "bad frame: length %lu is not within 1..%lu",
			         (unsigned long)n, (unsigned long)c->max_frame);
			answer_and_close(c, XIHU__ERROR_CODE__E_BAD_FRAME, msg);
			return;
		}
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
		evbuffer_drain(in, XIHU_FRAME_HEADER);
		evbuffer_remove(in, j->frame, n);
		j->len = n;
		server_fill_ctx(c->srv, &j->ctx);
		append_job(c, j);
		pool_submit(c->pool, j);
	}
}

/* Writes the answers at the front of the FIFO that are back. */
static void deliver_ready(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	while (c->head && c->head->done) {
		struct job *j = c->head;
		c->head = j->fifo_next;
		if (!c->head)
			c->tail = NULL;
		c->njobs--;
		if (!c->final_sent) {
			c->served++;
			bool ok = j->out.len && evbuffer_add(out, j->out.buf, j->out.len) == 0;
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

/*
 * Moves the connection on: writes the answers that are ready, in order;
 * turns new frames into jobs when the state allows; pauses or resumes
 * reading; closes when everything owed is flushed.  Returns false if c was
 * freed.
 */
static bool conn_pump(struct conn *c)
{
	deliver_ready(c);
	parse_frames(c);
	deliver_ready(c); /* a bad frame's answer is ready at once */

	size_t queued = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (c->state == CONN_READING && (c->njobs >= PIPELINE_MAX || queued > OUT_HIGH)) {
		set_state(c, CONN_PAUSED);
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
	} else if (c->state == CONN_PAUSED && c->njobs < PIPELINE_MAX && queued <= OUT_LOW) {
		set_state(c, CONN_READING);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		bufferevent_enable(c->bev, EV_READ);
		parse_frames(c); /* requests may already be waiting in the input */
	}

	struct server *srv = c->srv;
	bool stop = c->stop;
	c->stop = false;
	bool alive = true;
	if ((c->state == CONN_DRAINING || c->state == CONN_CLOSING) && c->njobs == 0 &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		alive = false;
	}
	if (stop)
		server_stop(srv, "stop request");
	return alive;
}

void conn_job_done(struct job *j, void *arg)
{
	struct conn *c = j->conn;
	if (!c) { /* its connection is gone */
		pool_job_put(server_pool(arg), j);
		return;
	}
	j->done = true;
	if (c->head == j)
		conn_pump(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (c->state == CONN_READING)
		conn_pump(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_pump(arg);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (what & BEV_EVENT_EOF) {
		/* the client is done sending; it may still read what we owe it */
		xihud_log("connection %llu: end of input after %llu requests (%s)",
		          (unsigned long long)c->serial, (unsigned long long)c->served,
		          state_names[c->state]);
		if (c->state == CONN_READING || c->state == CONN_PAUSED) {
			set_state(c, CONN_DRAINING);
			bufferevent_disable(c->bev, EV_READ);
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		}
		conn_pump(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		xihud_log("connection %llu: idle timeout (%s)", (unsigned long long)c->serial,
		          state_names[c->state]);
	} else if (what & BEV_EVENT_ERROR) {
		xihud_log("connection %llu: %s", (unsigned long long)c->serial,
		          strerror(EVUTIL_SOCKET_ERROR()));
	}
	conn_free(c);
}

struct conn *conn_new(struct server *srv, int fd, uint64_t serial)
{
	const struct xihud_config *cfg = server_config(srv);
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->srv = srv;
	c->pool = server_pool(srv);
	c->serial = serial;
	c->max_frame = cfg->max_frame;
	c->bev = bufferevent_socket_new(server_base(srv), fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	/* never buffer more than one maximal frame of input */
	bufferevent_setwatermark(c->bev, EV_READ, 0, (size_t)XIHU_FRAME_HEADER + c->max_frame);
	if (cfg->idle_timeout_s) {
		struct timeval tv = {.tv_sec = cfg->idle_timeout_s};
		bufferevent_set_timeouts(c->bev, &tv, &tv);
	}
	set_state(c, CONN_READING);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
		bufferevent_free(c->bev);
		free(c);
		return NULL;
	}
	return c;
}

void conn_shutdown(struct conn *c)
{
	switch (c->state) {
	case CONN_READING:
	case CONN_PAUSED:
		/* requests already received in full are answered, nothing more is read */
		set_state(c, CONN_DRAINING);
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		conn_pump(c);
		return;
	case CONN_DRAINING:
	case CONN_CLOSING:
		return;
	}
}

void conn_free(struct conn *c)
{
	server_conn_closed(c->srv, c);
	for (struct job *j = c->head, *next; j; j = next) {
		next = j->fifo_next;
		if (j->done)
			pool_job_put(c->pool, j);
		else
			j->conn = NULL; /* still with a worker: recycled when it comes back */
	}
	bufferevent_free(c->bev);
	free(c);
}
