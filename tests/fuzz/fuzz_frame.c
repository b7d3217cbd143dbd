/*
 * fuzz_frame.c: the daemon's framing of a request stream, then unpacking
 * and serving each frame (daemon/handler.c) against the small index.
 *
 * conn.c parses frames inside its libevent callbacks (static parse_frames
 * over the connection's input buffer); this target runs the same steps the
 * same way on a buffer: bytes arrive in pieces as recv() would return them
 * (at most the free room of an input buffer that starts at 16 KiB and
 * doubles up to one maximal frame), then every complete frame at the front
 * is peeked (4-byte length), checked against the limit (1..max frame, else
 * an E_BAD_FRAME answer and the stream closes), waited for, served and
 * consumed.  At the end of the input a partial frame is dropped.
 *
 * Input: byte 0 picks the largest piece (1 << (b & 15) bytes) and, with bit
 * 4, a 300-byte frame limit instead of the daemon's 1 MiB; byte 1 seeds the
 * piece sizes; the rest is the stream.
 *
 * Invariants: the frames served do not depend on the pieces (they equal a
 * parse of the whole stream at once); every answer passes reply_check.h.
 */
#include <string.h>

#include "reply_check.h"

#define IN_INITIAL (16u << 10) /* conn.c's first input buffer */
#define MAX_FRAMES 64          /* frames served per input (keeps each run short) */

struct frame_ref {
	size_t off, len;
};

/* The frames a whole stream holds, parsed at once; sets *bad when it ends
 * with a bad length.  Returns how many (at most MAX_FRAMES). */
static size_t whole_parse(const uint8_t *s, size_t n, uint32_t max_frame, struct frame_ref *f,
                          bool *bad)
{
	size_t pos = 0, k = 0;
	*bad = false;
	while (k < MAX_FRAMES && n - pos >= XIHU_FRAME_HEADER) {
		uint32_t len = frame_get_len(s + pos);
		if (len == 0 || len > max_frame) {
			*bad = true;
			break;
		}
		if (n - pos - XIHU_FRAME_HEADER < len)
			break;
		f[k].off = pos + XIHU_FRAME_HEADER;
		f[k].len = len;
		k++;
		pos += XIHU_FRAME_HEADER + len;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct handler_ctx *ctx = fuzz_handler_ctx();
	if (size < 2 || size > (1u << 21))
		return 0;
	size_t max_piece = (size_t)1 << (data[0] & 15);
	uint32_t max_frame = data[0] & 16 ? 300 : XIHU_MAX_REQUEST_FRAME;
	uint32_t rnd = 0x9e3779b9u ^ data[1];
	const uint8_t *stream = data + 2;
	size_t n = size - 2;

	struct frame_ref expect[MAX_FRAMES];
	bool expect_bad;
	size_t nexpect = whole_parse(stream, n, max_frame, expect, &expect_bad);

	size_t cap = IN_INITIAL, limit = XIHU_FRAME_HEADER + (size_t)max_frame;
	uint8_t *in = malloc(cap);
	FUZZ_CHECK(in != NULL);
	size_t in_pos = 0, in_len = 0, sent = 0, served = 0;
	bool closed = false, bad = false;
	struct reply out = {0};

	while (!closed && sent < n) {
		/* make room as conn_read_cb does: slide, grow up to one frame */
		if (in_pos) {
			memmove(in, in + in_pos, in_len - in_pos);
			in_len -= in_pos;
			in_pos = 0;
		}
		if (in_len == cap && cap < limit) {
			cap = cap * 2 < limit ? cap * 2 : limit;
			uint8_t *b = realloc(in, cap);
			FUZZ_CHECK(b != NULL);
			in = b;
		}
		/* one recv(): a piece of the stream, at most the free room */
		rnd ^= rnd << 13;
		rnd ^= rnd >> 17;
		rnd ^= rnd << 5;
		size_t piece = 1 + rnd % max_piece;
		if (piece > n - sent)
			piece = n - sent;
		if (piece > cap - in_len)
			piece = cap - in_len;
		/* a full buffer holds a whole maximal frame, so the parser takes it */
		memcpy(in + in_len, stream + sent, piece);
		in_len += piece;
		sent += piece;

		/* parse_frames */
		while (!closed && served < MAX_FRAMES && in_len - in_pos >= XIHU_FRAME_HEADER) {
			const uint8_t *p = in + in_pos;
			uint32_t len = frame_get_len(p);
			if (len == 0 || len > max_frame) {
				char msg[160];
				snprintf(msg, sizeof msg, "bad frame: length %lu is not within 1..%lu",
				         (unsigned long)len, (unsigned long)max_frame);
				reply_error(0, XIHU__ERROR_CODE__E_BAD_FRAME, msg, &out);
				FUZZ_CHECK(out.len > XIHU_FRAME_HEADER &&
				           frame_get_len(out.buf) == out.len - XIHU_FRAME_HEADER);
				bad = closed = true;
				break;
			}
			if (in_len - in_pos - XIHU_FRAME_HEADER < len)
				break;
			FUZZ_CHECK(served < nexpect);
			FUZZ_CHECK(expect[served].len == len);
			FUZZ_CHECK(memcmp(stream + expect[served].off, p + XIHU_FRAME_HEADER, len) == 0);
			Xihu__Request *req = xihu__request__unpack(NULL, len, p + XIHU_FRAME_HEADER);
			bool is_stop = req && req->version == XIHU_PROTO_VERSION &&
			               req->body_case == XIHU__REQUEST__BODY_STOP;
			bool unpacked = req != NULL;
			if (req)
				xihu__request__free_unpacked(req, NULL);
			serve_and_check(ctx, p + XIHU_FRAME_HEADER, len, &out);
			served++;
			in_pos += XIHU_FRAME_HEADER + len;
			/* a frame that is not a Request closes; so does a Stop */
			if (!unpacked || is_stop)
				closed = true;
		}
		if (served == MAX_FRAMES)
			break;
		if (in_pos == in_len)
			in_pos = in_len = 0;
	}
	/* the pieces changed nothing: the same frames, the same end */
	if (served < MAX_FRAMES && !closed) {
		FUZZ_CHECK(served == nexpect);
		FUZZ_CHECK(bad == expect_bad);
	}
	if (bad)
		FUZZ_CHECK(served == nexpect && expect_bad);
	reply_free(&out);
	free(in);
	return 0;
}
