/*
 * fuzz_request.c: handler_serve (daemon/handler.c) on arbitrary requests
 * against the small real index (fixture.c).
 *
 * Input: the first byte chooses the form.  Even: the rest is a raw frame
 * body.  Odd: the rest describes a Request, which is packed and served:
 *
 *   byte 1      bits 0-1 body (search, status, stop, other: then bits 0-1
 *               of byte 13 pick none, an IndexRequest of the query as a
 *               path, a ListRequest, or a search whose index (byte 14 bit
 *               0) or cwd is the query); bit 2 a wrong
 *               protocol version; bits 3-7 search flags (want_lines,
 *               exact_total, suggest, a large limit, a large offset)
 *   bytes 2-9   id (little-endian)
 *   bytes 10-15 limit, offset (u8 each, or u16 with the flags), max_lines,
 *               context, timeout_ms
 *   the rest    the query string (may hold NULs: the query ends at the first)
 *
 * Every answer is checked by reply_check.h.
 */
#include <string.h>

#include "reply_check.h"

static void serve_structured(const uint8_t *d, size_t n, struct reply *out)
{
	uint8_t h[16] = {0};
	memcpy(h, d, n < sizeof h ? n : sizeof h);
	const uint8_t *qp = n > sizeof h ? d + sizeof h : d + n;
	size_t qlen = n > sizeof h ? n - sizeof h : 0;

	char *query = malloc(qlen + 1);
	FUZZ_CHECK(query != NULL);
	memcpy(query, qp, qlen);
	query[qlen] = '\0';

	Xihu__Request req = XIHU__REQUEST__INIT;
	Xihu__SearchRequest sr = XIHU__SEARCH_REQUEST__INIT;
	Xihu__StatusRequest st = XIHU__STATUS_REQUEST__INIT;
	Xihu__StopRequest sp = XIHU__STOP_REQUEST__INIT;
	Xihu__IndexRequest ir = XIHU__INDEX_REQUEST__INIT;
	Xihu__ListRequest lr = XIHU__LIST_REQUEST__INIT;
	unsigned flags = h[1];
	req.version = !(flags & 4) ? XIHU_PROTO_VERSION : h[15] == XIHU_PROTO_VERSION ? 0 : h[15];
	for (int i = 0; i < 8; i++)
		req.id |= (uint64_t)h[2 + i] << (8 * i);
	switch (flags & 3) {
	case 0:
		req.body_case = XIHU__REQUEST__BODY_SEARCH;
		req.search = &sr;
		break;
	case 1:
		req.body_case = XIHU__REQUEST__BODY_STATUS;
		req.status = &st;
		break;
	case 2:
		req.body_case = XIHU__REQUEST__BODY_STOP;
		req.stop = &sp;
		break;
	default:
		/* the other kinds, by h[13]: none, an index (of the query as a
		 * path: no registry here, so nothing is built), a list, a search
		 * naming its index or its directory */
		switch (h[13] & 3) {
		case 1:
			req.body_case = XIHU__REQUEST__BODY_INDEX;
			req.index = &ir;
			ir.path = query;
			break;
		case 2:
			req.body_case = XIHU__REQUEST__BODY_LIST;
			req.list = &lr;
			break;
		case 3:
			req.body_case = XIHU__REQUEST__BODY_SEARCH;
			req.search = &sr;
			if (h[14] & 1)
				sr.index = query;
			else
				sr.cwd = query;
			break;
		default:
			break; /* no body */
		}
		break;
	}
	sr.query = query;
	sr.want_lines = flags & 8;
	sr.exact_total = flags & 16;
	sr.suggest = flags & 32;
	sr.limit = flags & 64 ? (uint32_t)h[10] << 8 | h[11] : h[10];
	sr.offset = flags & 128 ? (uint32_t)h[11] << 8 | h[12] : h[12];
	sr.max_lines = h[13];
	sr.context = h[14];
	sr.timeout_ms = h[15];

	size_t len = xihu__request__get_packed_size(&req);
	uint8_t *body = malloc(len ? len : 1);
	FUZZ_CHECK(body != NULL);
	xihu__request__pack(&req, body);
	serve_and_check(fuzz_handler_ctx(), body, len, out);
	free(body);
	free(query);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct handler_ctx *ctx = fuzz_handler_ctx();
	if (size == 0 || size > 70000)
		return 0;
	struct reply out = {0};
	if (data[0] & 1)
		serve_structured(data + 1, size - 1, &out);
	else
		serve_and_check(ctx, data + 1, size - 1, &out);
	reply_free(&out);
	return 0;
}
