/*
 * conn.c: one client connection, an explicit state machine over a bufferevent.
 *
 *   READING     waiting for (the rest of) a request frame; reading enabled
 *   PROCESSING  a complete frame is with the handler (synchronous today; with
 *               worker threads the connection would wait here)
 *   WRITING     queued output is above OUT_HIGH: reading is paused until the
 *               client has drained it below OUT_LOW (slow readers cannot make
 *               the daemon buffer without bound)
 *   CLOSING     no more requests are read; the connection closes as soon as
 *               its queued output is flushed (bad frame, Stop, shutdown, EOF)
 *
 * Frames are parsed incrementally from the input evbuffer: peek the 4-byte
 * length, check it against --max-frame, wait until the whole frame is there,
 * hand it to the handler, drain it.  Input is bounded by a read high-water
 * mark of one maximal frame; pipelined requests are answered in order because
 * they are served one at a time, front to back, from the same buffer.
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

#define OUT_HIGH (256u << 10) /* stop reading requests above this much output */
#define OUT_LOW (64u << 10)   /* resume below this */

enum conn_state {
	CONN_READING,
	CONN_PROCESSING,
	CONN_WRITING,
	CONN_CLOSING,
};

struct conn {
	struct server *srv;
	struct bufferevent *bev;
	enum conn_state state;
	uint64_t serial; /* for log lines */
	uint64_t served;
	uint32_t max_frame;
};

static const char *const state_names[] = {"reading", "processing", "writing", "closing"};

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void set_state(struct conn *c, enum conn_state s)
{
	c->state = s;
}

static void free_reply_buf(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Queues a reply; takes ownership of r->buf. */
static bool queue_reply(struct conn *c, struct reply *r)
{
	if (!r->buf)
		return false;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_add_reference(out, r->buf, r->len, free_reply_buf, NULL) < 0) {
		free(r->buf);
		r->buf = NULL;
		return false;
	}
	r->buf = NULL;
	return true;
}

/* Stop reading and close once everything queued has been written. */
static void conn_close_after_flush(struct conn *c)
{
	set_state(c, CONN_CLOSING);
	bufferevent_disable(c->bev, EV_READ);
	/* what the client sent after this point is never served */
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	/* the write callback fires when the output is empty */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* A frame the daemon cannot use: answer E_BAD_FRAME, then close. */
static void conn_bad_frame(struct conn *c, const char *msg)
{
	struct reply r;
	xihud_log("connection %llu: %s", (unsigned long long)c->serial, msg);
	handler_error_reply(0, XIHU__ERROR_CODE__E_BAD_FRAME, msg, &r);
	queue_reply(c, &r);
	conn_close_after_flush(c);
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

/*
 * Serves the complete frames at the front of the input, in order, while the
 * connection is READING (or, when the daemon is stopping, regardless of the
 * output bound).  Returns false if the connection was freed.
 */
static bool conn_process(struct conn *c, bool stopping)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	while (c->state == CONN_READING) {
		uint32_t n = 0;
		enum parse p = conn_parse(c, &n);
		if (p == PARSE_NEED_MORE)
			break;
		if (p == PARSE_BAD) {
			char msg[160];
			snprintf(msg, sizeof msg, "bad frame: length %lu is not within 1..%lu",
			         (unsigned long)n, (unsigned long)c->max_frame);
			conn_bad_frame(c, msg);
			return false;
		}

		set_state(c, CONN_PROCESSING);
		unsigned char *frame = evbuffer_pullup(in, (ev_ssize_t)(XIHU_FRAME_HEADER + n));
		struct handler_ctx ctx;
		server_fill_ctx(c->srv, &ctx);
		ctx.ix = server_snapshot(c->srv);
		struct reply r = {0};
		enum handler_action act;
		if (!frame) {
			handler_error_reply(0, XIHU__ERROR_CODE__E_INTERNAL, "out of memory", &r);
			act = HANDLER_CLOSE;
		} else {
			act = handler_serve(&ctx, frame + XIHU_FRAME_HEADER, n, &r);
		}
		xihu_index_unref(ctx.ix);
		evbuffer_drain(in, XIHU_FRAME_HEADER + n);
		c->served++;
		bool queued = queue_reply(c, &r);
		set_state(c, CONN_READING);

		if (act == HANDLER_STOP) {
			struct server *srv = c->srv;
			conn_close_after_flush(c); /* may free c */
			server_stop(srv, "stop request");
			return false;
		}
		if (act == HANDLER_CLOSE || !queued) {
			conn_close_after_flush(c);
			return false;
		}
		if (!stopping && evbuffer_get_length(bufferevent_get_output(c->bev)) > OUT_HIGH) {
			/* slow reader: pause until the client catches up */
			set_state(c, CONN_WRITING);
			bufferevent_disable(c->bev, EV_READ);
			bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
		}
	}
	return true;
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (c->state == CONN_READING)
		conn_process(c, false);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	size_t queued = evbuffer_get_length(bufferevent_get_output(bev));
	switch (c->state) {
	case CONN_CLOSING:
		if (queued == 0)
			conn_free(c);
		return;
	case CONN_WRITING:
		if (queued > OUT_LOW)
			return;
		set_state(c, CONN_READING);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		bufferevent_enable(c->bev, EV_READ);
		/* requests may already be waiting in the input */
		conn_process(c, false);
		return;
	case CONN_READING:
	case CONN_PROCESSING:
		return;
	}
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
		if (c->state != CONN_READING)
			return; /* already closing: the write callback finishes it */
		if (conn_process(c, true))
			conn_close_after_flush(c);
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
	case CONN_WRITING:
		/* requests already received in full are in flight: answer them */
		set_state(c, CONN_READING);
		if (!conn_process(c, true))
			return;
		conn_close_after_flush(c);
		return;
	case CONN_PROCESSING:
		assert(!"conn_shutdown during processing");
		return;
	case CONN_CLOSING:
		return;
	}
}

void conn_free(struct conn *c)
{
	server_conn_closed(c->srv, c);
	bufferevent_free(c->bev);
	free(c);
}
