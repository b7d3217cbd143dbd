/*
 * fuzz_grepframe.c: client/grepframe.c, the decoder of a grep answer's
 * frames, against protobuf-c's xihu__response__unpack as the oracle.
 *
 * Input: byte 0 bit 0 clear, the rest is a whole Response frame; set, the
 * rest is a GrepResponse, sent as xihud frames it (Response {id 7,
 * version 1, grep 16: the bytes}), so most inputs reach the grep body.
 *
 * Invariants, with "protobuf-c's grep" meaning that the unpack succeeds
 * with body grep and every span of it lies inside its line's text (what
 * libxihu checked of protobuf-c's answer before grepframe.c):
 *  - decoded (GREPFRAME_OK): protobuf-c's grep, and the same id, files
 *    (path bytes and a NUL after them, kind, count), lines (number, column,
 *    text bytes and a NUL, spans), done, counts and errors;
 *  - malformed (GREPFRAME_BAD): not protobuf-c's grep, with one line that
 *    names a byte inside the frame;
 *  - left to protobuf-c (GREPFRAME_OTHER): only for a frame that is not a
 *    grep body alone -- never for a wrapped one;
 *  - decoding again into the same arrays (grown by the first) gives the same.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "grepframe.h"
#include "xihu.pb-c.h"

/* What libxihu checked of an unpacked grep frame (check_spans). */
static bool spans_inside(const Xihu__GrepResponse *g)
{
	for (size_t i = 0; i < g->n_files; i++)
		for (size_t j = 0; j < g->files[i]->n_lines; j++) {
			const Xihu__Line *l = g->files[i]->lines[j];
			for (size_t k = 0; k < l->n_spans; k++)
				if (l->spans[k]->start > l->spans[k]->end || l->spans[k]->end > l->text.len)
					return false;
		}
	return true;
}

static bool same_bytes(const char *s, size_t n, const ProtobufCBinaryData *b)
{
	return n == b->len && s[n] == '\0' && (n == 0 || memcmp(s, b->data, n) == 0);
}

static void check_same(const struct grepframe *g, const Xihu__Response *resp)
{
	const Xihu__GrepResponse *o = resp->grep;
	FUZZ_CHECK(g->id == resp->id);
	FUZZ_CHECK(g->done == !!o->done);
	FUZZ_CHECK(g->n_files == o->n_files);
	for (size_t i = 0; i < o->n_files; i++) {
		const struct xihu_grep_doc *f = &g->files[i];
		const Xihu__GrepFile *of = o->files[i];
		FUZZ_CHECK(same_bytes(f->path, f->path_len, &of->path));
		FUZZ_CHECK(f->is_record == (of->kind == XIHU__DOC_KIND__DOC_RECORD));
		FUZZ_CHECK(f->count == of->count);
		FUZZ_CHECK(f->n_lines == of->n_lines);
		for (size_t j = 0; j < of->n_lines; j++) {
			const struct xihu_line *l = &f->lines[j];
			const Xihu__Line *ol = of->lines[j];
			FUZZ_CHECK(l->line == ol->line && l->col == ol->col);
			FUZZ_CHECK(same_bytes(l->text, l->text_len, &ol->text));
			FUZZ_CHECK(l->n_spans == ol->n_spans);
			for (size_t k = 0; k < ol->n_spans; k++)
				FUZZ_CHECK(l->spans[k].start == ol->spans[k]->start && l->spans[k].end == ol->spans[k]->end);
		}
	}
	const struct xihu_grep_summary *s = &g->sum;
	FUZZ_CHECK(s->files_matched == o->files_matched && s->lines_matched == o->lines_matched);
	FUZZ_CHECK(s->candidates == o->candidates && s->searched == o->searched && s->took_us == o->took_us);
	FUZZ_CHECK(s->n_errors == o->n_errors);
	for (size_t i = 0; i < o->n_errors; i++)
		FUZZ_CHECK(strcmp(s->errors[i], o->errors[i]) == 0); /* protobuf-c's strings end at a NUL */
}

/* The frame of Response {id 7, version 1, grep: body}, malloc'd. */
static uint8_t *wrap(const uint8_t *body, size_t n, size_t *len)
{
	uint8_t *f = malloc(n + 16);
	if (!f)
		abort();
	size_t k = 0;
	f[k++] = 0x08, f[k++] = 7;    /* id */
	f[k++] = 0x10, f[k++] = 1;    /* version */
	f[k++] = 0x82, f[k++] = 0x01; /* field 16, length-delimited */
	size_t v = n;
	do {
		f[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	if (n)
		memcpy(f + k, body, n);
	*len = k + n;
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1u << 20))
		return 0;
	bool wrapped = data[0] & 1;
	size_t n = size - 1;
	uint8_t *frame = wrapped ? wrap(data + 1, size - 1, &n) : malloc(n ? n : 1);
	if (!frame)
		abort();
	if (!wrapped && n)
		memcpy(frame, data + 1, n);

	Xihu__Response *resp = xihu__response__unpack(NULL, n, frame);
	bool grep = resp && resp->body_case == XIHU__RESPONSE__BODY_GREP && spans_inside(resp->grep);

	struct grepframe_buf blk = {0};
	char why[256];
	for (int round = 0; round < 2; round++) { /* the second into the arrays the first grew */
		struct grepframe g;
		int r = grepframe_decode(frame, n, &blk, &g, why, sizeof why);
		FUZZ_CHECK(r == GREPFRAME_OK || r == GREPFRAME_BAD || r == GREPFRAME_OTHER);
		if (r == GREPFRAME_OK) {
			FUZZ_CHECK(grep);
			check_same(&g, resp);
		} else if (r == GREPFRAME_BAD) {
			FUZZ_CHECK(!grep);
			size_t at = 0, of = 0;
			FUZZ_CHECK(sscanf(why, "byte %zu of %zu: ", &at, &of) == 2 && of == n && at <= n);
			FUZZ_CHECK(!strchr(why, '\n'));
		} else {
			FUZZ_CHECK(!wrapped);
		}
	}
	grepframe_buf_free(&blk);
	if (resp)
		xihu__response__free_unpacked(resp, NULL);
	free(frame);
	return 0;
}
