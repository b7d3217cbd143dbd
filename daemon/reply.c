/*
 * reply.c: answers as frames -- a Response packed with its length header
 * into a reply buffer, and the errors of the protocol (docs/PROTOCOL.md,
 * "Errors"), among them the index library's errors turned into the
 * protocol's.
 *
 * Callers: handler.c (every answer), grep.c (a grep's errors), conn.c and
 * server.c (the answers they make themselves: a bad frame, a refused
 * connection).  It calls only the generated protocol code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "xihu.pb-c.h"
#include "xihud.h"

void reply_free(struct reply *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

/* Packs resp into out (length header + body), reusing its buffer.  Returns
 * false on ENOMEM or when the response would be larger than a client
 * accepts. */
static bool pack(const Xihu__Response *resp, struct reply *out, size_t *size_out)
{
	size_t n = xihu__response__get_packed_size(resp);
	*size_out = n;
	out->len = 0;
	if (n == 0 || n > XIHU_MAX_RESPONSE_FRAME)
		return false;
	if (out->cap < XIHU_FRAME_HEADER + n) {
		size_t cap = XIHU_FRAME_HEADER + n < 1024 ? 1024 : XIHU_FRAME_HEADER + n;
		uint8_t *p = realloc(out->buf, cap);
		if (!p)
			return false;
		out->buf = p;
		out->cap = cap;
	}
	frame_put_len(out->buf, (uint32_t)n);
	xihu__response__pack(resp, out->buf + XIHU_FRAME_HEADER);
	out->len = XIHU_FRAME_HEADER + n;
	return true;
}

void reply_error_col(uint64_t id, int code, unsigned column, const char *msg, struct reply *out)
{
	Xihu__Error e = XIHU__ERROR__INIT;
	e.code = (Xihu__ErrorCode)code;
	e.message = (char *)msg;
	e.column = column;
	Xihu__Response resp = XIHU__RESPONSE__INIT;
	resp.id = id;
	resp.version = XIHU_PROTO_VERSION;
	resp.body_case = XIHU__RESPONSE__BODY_ERROR;
	resp.error = &e;
	size_t n;
	pack(&resp, out, &n); /* on failure (ENOMEM: a message is never too large) len is 0 */
}

/* Packs resp (its body set) as the answer to request id; when it cannot
 * (out of memory), an E_INTERNAL error "WHAT: out of memory" instead. */
void reply_answer(Xihu__Response *resp, uint64_t id, const char *what, struct reply *out)
{
	resp->id = id;
	resp->version = XIHU_PROTO_VERSION;
	size_t n;
	if (!pack(resp, out, &n)) {
		char msg[160];
		if (n > XIHU_MAX_RESPONSE_FRAME) {
			snprintf(msg, sizeof msg, "%s: the answer is %zu MiB, more than a frame holds (%u MiB): ask for "
			         "fewer hits or lines at a time (-n, --offset)", what, n >> 20, XIHU_MAX_RESPONSE_FRAME >> 20);
			reply_error_col(id, XIHU__ERROR_CODE__E_LIMIT, 0, msg, out);
			return;
		}
		snprintf(msg, sizeof msg, "%s: out of memory", what);
		reply_error_col(id, XIHU__ERROR_CODE__E_INTERNAL, 0, msg, out);
	}
}

void reply_error(uint64_t id, int code, const char *msg, struct reply *out)
{
	reply_error_col(id, code, 0, msg, out);
}

void reply_query_error(uint64_t id, unsigned column, const char *msg, struct reply *out)
{
	reply_error_col(id, XIHU__ERROR_CODE__E_QUERY, column, msg, out);
}

/* The index library's error as a protocol error. */
void reply_index_error(uint64_t id, const xihu_err *err, struct reply *out)
{
	char msg[sizeof err->msg + 64];
	switch (err->code) {
	case XIHU_EQUERY:
		/* the client prints the message as is: make it name the column once */
		if (strncmp(err->msg, "query", 5) == 0)
			snprintf(msg, sizeof msg, "%s", err->msg);
		else if (strncmp(err->msg, "column", 6) == 0)
			snprintf(msg, sizeof msg, "query %s", err->msg);
		else
			snprintf(msg, sizeof msg, "query column %u: %s", err->column, err->msg);
		reply_error_col(id, XIHU__ERROR_CODE__E_QUERY, err->column, msg, out);
		return;
	case XIHU_ELIMIT:
		reply_error_col(id, XIHU__ERROR_CODE__E_LIMIT, err->column, err->msg, out);
		return;
	case XIHU_ECORRUPT:
	case XIHU_ENOINDEX:
		reply_error_col(id, XIHU__ERROR_CODE__E_INDEX, 0, err->msg, out);
		return;
	default:
		snprintf(msg, sizeof msg, "%s", err->msg[0] ? err->msg : xihu_strerror(err->code));
		reply_error_col(id, XIHU__ERROR_CODE__E_INTERNAL, 0, msg, out);
		return;
	}
}

