/*
 * reply_check.h: what every answer of handler_serve must be, for the
 * targets that drive the daemon's handler (fuzz_frame, fuzz_request).
 *
 * The answer is one frame: a length header equal to the bytes after it,
 * then a Response that unpacks, speaks our protocol version and echoes the
 * request's id (0 when the request did not unpack).  A body that is not a
 * Request is E_BAD_FRAME and closes the stream; a Stop stops; anything else
 * goes on.
 */
#ifndef XIHU_FUZZ_REPLY_CHECK_H
#define XIHU_FUZZ_REPLY_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"
#include "xihu.pb-c.h"
#include "xihud.h"

/* A grep's frames ahead of its last: each a whole frame of a GrepResponse
 * that is not done, its lines' spans inside their text. */
static inline bool check_pushed(void *arg, uint8_t *frame, size_t len)
{
	const uint64_t *id = arg;
	FUZZ_CHECK(len > XIHU_FRAME_HEADER && frame_get_len(frame) == len - XIHU_FRAME_HEADER);
	Xihu__Response *r = xihu__response__unpack(NULL, len - XIHU_FRAME_HEADER, frame + XIHU_FRAME_HEADER);
	FUZZ_CHECK(r != NULL);
	FUZZ_CHECK(r->id == *id && r->body_case == XIHU__RESPONSE__BODY_GREP && !r->grep->done);
	for (size_t i = 0; i < r->grep->n_files; i++)
		for (size_t j = 0; j < r->grep->files[i]->n_lines; j++) {
			const Xihu__Line *l = r->grep->files[i]->lines[j];
			for (size_t k = 0; k < l->n_spans; k++)
				FUZZ_CHECK(l->spans[k]->start <= l->spans[k]->end && l->spans[k]->end <= l->text.len);
		}
	xihu__response__free_unpacked(r, NULL);
	free(frame); /* a push takes the frame */
	return true;
}

/* Serves body through handler_serve with ctx and checks the answer.  A
 * streamed answer (HANDLER_STREAM: a grep) is served again as a stream
 * thread would serve it, its frames checked as they come. */
static inline void serve_and_check(const struct handler_ctx *ctx, const uint8_t *body,
                                   size_t len, struct reply *out)
{
	Xihu__Request *req = xihu__request__unpack(NULL, len, body);
	enum handler_action act = handler_serve(ctx, body, len, out);
	if (act == HANDLER_STREAM) {
		FUZZ_CHECK(req && req->body_case == XIHU__REQUEST__BODY_GREP && out->len == 0);
		uint64_t id = req->id;
		struct handler_ctx sctx = *ctx;
		sctx.push = check_pushed;
		sctx.push_arg = &id;
		act = handler_serve(&sctx, body, len, out);
	}

	FUZZ_CHECK(out->len >= XIHU_FRAME_HEADER);
	FUZZ_CHECK(frame_get_len(out->buf) == out->len - XIHU_FRAME_HEADER);
	Xihu__Response *resp = xihu__response__unpack(NULL, out->len - XIHU_FRAME_HEADER,
	                                              out->buf + XIHU_FRAME_HEADER);
	FUZZ_CHECK(resp != NULL);
	FUZZ_CHECK(resp->version == XIHU_PROTO_VERSION);
	if (!req) {
		FUZZ_CHECK(act == HANDLER_CLOSE);
		FUZZ_CHECK(resp->id == 0);
		FUZZ_CHECK(resp->body_case == XIHU__RESPONSE__BODY_ERROR);
		FUZZ_CHECK(resp->error->code == XIHU__ERROR_CODE__E_BAD_FRAME);
	} else {
		FUZZ_CHECK(resp->id == req->id);
		bool stop = req->version == XIHU_PROTO_VERSION &&
		            req->body_case == XIHU__REQUEST__BODY_STOP;
		FUZZ_CHECK(act == (stop ? HANDLER_STOP : HANDLER_CONTINUE));
		if (req->version != XIHU_PROTO_VERSION)
			FUZZ_CHECK(resp->body_case == XIHU__RESPONSE__BODY_ERROR &&
			           resp->error->code == XIHU__ERROR_CODE__E_VERSION);
	}
	if (resp->body_case == XIHU__RESPONSE__BODY_ERROR) {
		FUZZ_CHECK(resp->error->message && resp->error->message[0]);
		FUZZ_CHECK(strchr(resp->error->message, '\n') == NULL);
	}
	if (resp->body_case == XIHU__RESPONSE__BODY_SEARCH) {
		FUZZ_CHECK(req && req->body_case == XIHU__REQUEST__BODY_SEARCH);
		const Xihu__SearchRequest *sr = req->search;
		uint32_t want = sr->limit ? sr->limit : 10;
		FUZZ_CHECK(resp->search->n_hits <= want);
		for (size_t i = 0; i < resp->search->n_hits; i++) {
			const Xihu__Hit *h = resp->search->hits[i];
			FUZZ_CHECK(h->doc.len > 0);
			if (!sr->want_lines)
				FUZZ_CHECK(h->n_lines == 0);
			for (size_t j = 0; j < h->n_lines; j++) {
				const Xihu__Line *l = h->lines[j];
				FUZZ_CHECK(l->line >= 1);
				for (size_t k = 0; k < l->n_spans; k++)
					FUZZ_CHECK(l->spans[k]->start < l->spans[k]->end &&
					           l->spans[k]->end <= l->text.len);
			}
		}
	}
	xihu__response__free_unpacked(resp, NULL);
	if (req)
		xihu__request__free_unpacked(req, NULL);
}

/* A handler context over the small index, as server_fill_ctx makes one. */
static inline const struct handler_ctx *fuzz_handler_ctx(void)
{
	static struct handler_ctx ctx;
	static xihu_limits limits;
	static struct stats stats;
	if (!ctx.ix) {
		xihu_limits_default(&limits);
		stats_init(&stats);
		ctx.limits = &limits;
		ctx.stats = &stats;
		ctx.uptime_s = 1;
		ctx.connections = 1;
		ctx.pid = 1;
		ctx.ix = fuzz_index();
	}
	return &ctx;
}

#endif
