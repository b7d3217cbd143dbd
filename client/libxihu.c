/*
 * libxihu.c: libxihu-client, the public client API of <xihu/client.h>.
 *
 * A thin layer over wire.c (frames over the socket): it owns a connection
 * (the wire connection plus the socket path, the flags and the last error),
 * turns the public options into a Request, and hands the answer back in the
 * header's structs, so no protobuf-c type crosses the API.  A search's
 * results are copied into one allocation the caller frees with one call;
 * the smaller answers (status, the index list, a new index's directory)
 * stay unpacked on the connection, and the structs point into them until the
 * next call of the same kind.  A grep's answer is a stream of frames: each is
 * decoded from its bytes (grepframe.c, no protobuf-c) into a block kept on
 * the connection, handed to the caller's function, and the block is used
 * again for the next, so a grep holds one frame at a time.  The xihu
 * command is built on this file alone.
 *
 * The shared library is built with hidden visibility: only the declarations
 * of <xihu/client.h>, included below under visibility "default", are
 * exported.  wire.c, proto/socket.c and the generated protocol code are
 * linked in but stay internal.
 *
 * Reconnecting: before each request, a connection that is closed (a previous
 * I/O error, a bad frame) or that the daemon has hung up (idle timeout,
 * restart: the socket reads as EOF) is connected again, with the same flags.
 * A request is never sent twice.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#pragma GCC visibility push(default)
#include "xihu/client.h"
#pragma GCC visibility pop

#include "grepframe.h"
#include "wire.h"

struct xihu_conn {
	wire_conn wire;         /* the frames: socket, read buffer */
	unsigned flags;         /* of xihu_connect */
	int code;               /* of the last error: XIHU_E_* */
	uint32_t column;        /* of the last XIHU_E_QUERY */
	char err[1024];         /* the last error, one line; "" after a success */
	/* the last answers the caller's structs point into */
	Xihu__Response *status; /* xihu_status: strings, the latency histogram */
	struct xihu_latency *latency;
	struct xihu_sync sync;
	Xihu__Response *list;   /* xihu_list_indexes */
	struct xihu_served_index *indexes;
	Xihu__Response *indexed; /* xihu_serve_tree: the directory */
	/* xihu_grep: the frame read, the block its files are decoded into, what
	 * the last frame said (its errors in the block, or in grep_end when
	 * protobuf-c unpacked it) */
	uint8_t *frame;
	size_t frame_cap;
	struct grepframe_buf block;
	struct xihu_grep_summary grep_sum;
	Xihu__Response *grep_end;
	const char *index_dir;  /* what a daemon we start serves; NULL: its default */
	char path[];            /* the socket, then index_dir's bytes */
};

static int fail(xihu_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(xihu_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	for (char *p = c->err; (p = strpbrk(p, "\r\n"));) /* one line, whoever wrote it */
		*p = ' ';
	c->code = XIHU_E_CLIENT;
	c->column = 0;
	return -1;
}

/* The internal client failed: its one line becomes ours.  The byte stream
 * may be cut in the middle of a frame, so the connection is closed; the next
 * call opens a fresh one. */
static int client_failed(xihu_conn *c)
{
	wire_close(&c->wire);
	return fail(c, "%s", c->wire.err);
}

static void succeed(xihu_conn *c)
{
	c->err[0] = '\0';
	c->code = XIHU_E_NONE;
	c->column = 0;
}

static int open_conn(xihu_conn *c)
{
	int rc = c->flags & XIHU_AUTOSTART ? wire_open_autostart(&c->wire, c->path, c->index_dir)
	                                   : wire_open(&c->wire, c->path);
	return rc ? client_failed(c) : 0;
}

/* xihu_connect and xihu_connect_autostart: index_dir only with autostart. */
static xihu_conn *connect_to(const char *socket_path, unsigned flags, const char *index_dir,
                             char *err, size_t errlen)
{
	char buf[256];
	const char *path = xihu_socket_path(socket_path, buf, sizeof buf);
	size_t plen = path ? strlen(path) + 1 : 0, ilen = index_dir ? strlen(index_dir) + 1 : 0;
	xihu_conn *c = NULL;
	if (!path)
		snprintf(err, err ? errlen : 0, "socket: cannot work out the default socket path");
	else if (flags & ~(unsigned)XIHU_AUTOSTART)
		snprintf(err, err ? errlen : 0, "connecting to %s: unknown flags 0x%x", path,
		         flags & ~(unsigned)XIHU_AUTOSTART);
	else if (!(c = calloc(1, sizeof *c + plen + ilen)))
		snprintf(err, err ? errlen : 0, "connecting to %s: out of memory", path);
	else {
		c->flags = flags;
		c->wire.fd = -1;
		memcpy(c->path, path, plen);
		if (index_dir)
			c->index_dir = memcpy(c->path + plen, index_dir, ilen);
		if (open_conn(c) == 0) {
			succeed(c);
			return c;
		}
		snprintf(err, err ? errlen : 0, "%s", c->err);
		free(c);
		c = NULL;
	}
	return c;
}

xihu_conn *xihu_connect(const char *socket_path, unsigned flags, char *err, size_t errlen)
{
	return connect_to(socket_path, flags, NULL, err, errlen);
}

xihu_conn *xihu_connect_autostart(const char *socket_path, const char *index_dir, char *err,
                                  size_t errlen)
{
	return connect_to(socket_path, XIHU_AUTOSTART, index_dir, err, errlen);
}

/* Frees *kept, the answer of an earlier call whose strings the caller held,
 * and keeps resp in its place. */
static void keep(Xihu__Response **kept, Xihu__Response *resp)
{
	if (*kept)
		xihu__response__free_unpacked(*kept, NULL);
	*kept = resp;
}

void xihu_close(xihu_conn *c)
{
	if (!c)
		return;
	wire_close(&c->wire);
	keep(&c->status, NULL);
	keep(&c->list, NULL);
	keep(&c->indexed, NULL);
	keep(&c->grep_end, NULL);
	free(c->frame);
	grepframe_buf_free(&c->block);
	free(c->latency);
	free(c->indexes);
	free(c);
}

const char *xihu_errmsg(const xihu_conn *c)
{
	return c ? c->err : "no connection";
}

int xihu_errcode(const xihu_conn *c, uint32_t *column)
{
	if (column)
		*column = c ? c->column : 0;
	return c ? c->code : XIHU_E_CLIENT;
}

const char *xihu_errname(int code)
{
	if (code == XIHU_E_CLIENT)
		return "E_CLIENT";
	if (code == XIHU_E_NONE)
		return "E_NONE";
	if (code < 0)
		return "E_UNKNOWN";
	return wire_error_name(code);
}

const char *xihu_client_version(void)
{
	return XIHU_VERSION_STRING;
}

/* True when the daemon has hung up on c's socket or sent something nobody
 * asked for: before a request, nothing may be readable. */
static bool hung_up(const xihu_conn *c)
{
	if (c->wire.rlen)
		return true;
	struct pollfd p = {.fd = c->wire.fd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	return r != 0;
}

/* A connection ready for a request: connected again if it was closed or the
 * daemon has hung up.  0 or -1. */
static int ready(xihu_conn *c)
{
	if (c->wire.fd >= 0 && hung_up(c))
		wire_close(&c->wire);
	if (c->wire.fd < 0 && open_conn(c))
		return -1;
	return 0;
}

/* Checks an answer: it must be the body `want`; a daemon's Error becomes c's
 * error with its code and column.  0, or -1 with resp freed. */
static int check_answer(xihu_conn *c, Xihu__Response *resp, Xihu__Response__BodyCase want)
{
	if (resp->id == 0) /* the daemon could not read the request: it closes */
		wire_close(&c->wire);
	if (resp->body_case == XIHU__RESPONSE__BODY_ERROR) {
		const Xihu__Error *e = resp->error;
		if (e->message && *e->message)
			fail(c, "%s", e->message);
		else
			fail(c, "daemon: %s", wire_error_name(e->code));
		c->code = e->code > 0 ? (int)e->code : XIHU_E_UNKNOWN;
		c->column = e->code == XIHU__ERROR_CODE__E_QUERY ? e->column : 0;
		xihu__response__free_unpacked(resp, NULL);
		return -1;
	}
	if (resp->body_case != want) {
		xihu__response__free_unpacked(resp, NULL);
		return fail(c, "reading from %s: the daemon answered with an unexpected message",
		            c->path);
	}
	return 0;
}

/*
 * Sends req (body_case already set) and reads its answer, which must be the
 * body `want`; client_timeout_ms bounds the whole exchange.  A daemon's Error
 * becomes c's error with its code and column.  0 and *out (the caller frees
 * it) or -1.
 */
static int call(xihu_conn *c, Xihu__Request *req, Xihu__Response__BodyCase want,
                int client_timeout_ms, Xihu__Response **out)
{
	*out = NULL;
	if (ready(c))
		return -1;
	c->wire.timeout_ms = client_timeout_ms;
	Xihu__Response *resp;
	if (wire_call(&c->wire, req, &resp))
		return client_failed(c);
	if (check_answer(c, resp, want))
		return -1;
	*out = resp;
	return 0;
}

/* ---- search --------------------------------------------------------------- */

/* The results are one block: the struct, then the hits, the lines and the
 * spans (each array aligned because every size before it is a multiple of 8),
 * then the bytes of every doc, text and the suggestion, each NUL-terminated. */
_Static_assert(sizeof(struct xihu_results) % 8 == 0 && sizeof(struct xihu_hit) % 8 == 0 &&
               sizeof(struct xihu_line) % 8 == 0 && _Alignof(struct xihu_span) <= 8,
               "the arrays of xihu_results follow each other aligned");

static char *put_bytes(char **chars, const void *p, size_t n)
{
	char *s = *chars;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	*chars += n + 1;
	return s;
}

/* Checks that each span of l lies inside its text.  0 or -1 (c's error). */
static int check_spans(xihu_conn *c, const Xihu__Line *l)
{
	for (size_t k = 0; k < l->n_spans; k++)
		if (l->spans[k]->start > l->spans[k]->end || l->spans[k]->end > l->text.len)
			return fail(c, "reading from %s: span [%u, %u) outside line %u of %zu bytes",
			            c->path, l->spans[k]->start, l->spans[k]->end, l->line, l->text.len);
	return 0;
}

/* Adds what lines ls[0..n) take in a results block (their text, their
 * spans) to *n_chars and *n_spans, checking each span.  0 or -1. */
static int tally_lines(xihu_conn *c, Xihu__Line *const *ls, size_t n, uint64_t *n_chars, uint64_t *n_spans)
{
	for (size_t j = 0; j < n; j++) {
		if (check_spans(c, ls[j]))
			return -1;
		*n_chars += ls[j]->text.len + 1;
		*n_spans += ls[j]->n_spans;
	}
	return 0;
}

/* Copies lines ls[0..n) into *lines, their spans into *spans and their
 * text into *chars, moving each on. */
static void copy_lines(Xihu__Line *const *ls, size_t n, struct xihu_line **lines, struct xihu_span **spans,
                       char **chars)
{
	for (size_t j = 0; j < n; j++) {
		const Xihu__Line *l = ls[j];
		*(*lines)++ = (struct xihu_line){
		    .line = l->line,
		    .col = l->col,
		    .text = put_bytes(chars, l->text.data, l->text.len),
		    .text_len = l->text.len,
		    .spans = *spans,
		    .n_spans = l->n_spans,
		};
		for (size_t k = 0; k < l->n_spans; k++)
			*(*spans)++ = (struct xihu_span){l->spans[k]->start, l->spans[k]->end};
	}
}

static struct xihu_results *results_of(xihu_conn *c, const Xihu__SearchResponse *s)
{
	const char *sugg = s->suggestion ? s->suggestion : "";
	/* sizes: each hit, line and span costs at least 2 bytes of a response of
	 * at most 64 MiB, so these sums stay far below SIZE_MAX on 64 bits; the
	 * check is for 32 */
	uint64_t n_lines = 0, n_spans = 0, n_chars = strlen(sugg) + 1;
	for (size_t i = 0; i < s->n_hits; i++) {
		const Xihu__Hit *h = s->hits[i];
		n_chars += h->doc.len + 1;
		n_lines += h->n_lines;
		if (tally_lines(c, h->lines, h->n_lines, &n_chars, &n_spans))
			return NULL;
	}
	uint64_t size = sizeof(struct xihu_results) + s->n_hits * sizeof(struct xihu_hit) +
	                n_lines * sizeof(struct xihu_line) + n_spans * sizeof(struct xihu_span) +
	                n_chars;
	char *block = size <= SIZE_MAX ? malloc((size_t)size) : NULL;
	if (!block) {
		fail(c, "search: out of memory for %llu bytes of results", (unsigned long long)size);
		return NULL;
	}
	struct xihu_results *r = (struct xihu_results *)block;
	struct xihu_hit *hits = (struct xihu_hit *)(r + 1);
	struct xihu_line *lines = (struct xihu_line *)(hits + s->n_hits);
	struct xihu_span *spans = (struct xihu_span *)(lines + n_lines);
	char *chars = (char *)(spans + n_spans);

	*r = (struct xihu_results){
	    .hits = hits,
	    .n_hits = s->n_hits,
	    .total = s->total,
	    .total_exact = s->total_exact,
	    .took_us = s->took_us,
	    .suggestion = put_bytes(&chars, sugg, strlen(sugg)),
	};
	for (size_t i = 0; i < s->n_hits; i++) {
		const Xihu__Hit *h = s->hits[i];
		hits[i] = (struct xihu_hit){
		    .doc = put_bytes(&chars, h->doc.data, h->doc.len),
		    .doc_len = h->doc.len,
		    .is_record = h->kind == XIHU__DOC_KIND__DOC_RECORD,
		    .score = h->score,
		    .lines = lines,
		    .n_lines = h->n_lines,
		};
		copy_lines(h->lines, h->n_lines, &lines, &spans, &chars);
	}
	return r;
}

int xihu_search(xihu_conn *c, const char *query, const struct xihu_search_opts *opts,
                struct xihu_results **out)
{
	static const struct xihu_search_opts defaults;
	if (out)
		*out = NULL;
	if (!c)
		return -1;
	if (!query || !out)
		return fail(c, "search: %s is NULL", query ? "out" : "query");
	if (!opts)
		opts = &defaults;
	const unsigned known = XIHU_NO_LINES | XIHU_EXACT_TOTAL | XIHU_SUGGEST | XIHU_ANY;
	if (opts->flags & ~known)
		return fail(c, "search: unknown flags 0x%x", opts->flags & ~known);

	Xihu__SearchRequest sr = XIHU__SEARCH_REQUEST__INIT;
	sr.query = (char *)query;
	sr.limit = opts->limit;
	sr.offset = opts->offset;
	sr.want_lines = !(opts->flags & XIHU_NO_LINES);
	sr.max_lines = opts->max_lines;
	sr.context = opts->context;
	sr.timeout_ms = opts->timeout_ms;
	sr.exact_total = !!(opts->flags & XIHU_EXACT_TOTAL);
	sr.suggest = !!(opts->flags & XIHU_SUGGEST);
	sr.any = !!(opts->flags & XIHU_ANY);
	if (opts->index)
		sr.index = (char *)opts->index;
	if (opts->cwd)
		sr.cwd = (char *)opts->cwd;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_SEARCH;
	req.search = &sr;
	int wait_ms = WIRE_REQUEST_TIMEOUT_MS;
	if (opts->timeout_ms && opts->timeout_ms < WIRE_REQUEST_TIMEOUT_MS - 5000)
		wait_ms = (int)opts->timeout_ms + 5000;

	Xihu__Response *resp;
	if (call(c, &req, XIHU__RESPONSE__BODY_SEARCH, wait_ms, &resp))
		return -1;
	if (sr.any && !resp->search->any) { /* a daemon from before the field ANDed the words */
		xihu__response__free_unpacked(resp, NULL);
		return fail(c, "search: the daemon does not know XIHU_ANY (--any): it is older than this client; "
		               "restart it (xihu stop)");
	}
	*out = results_of(c, resp->search);
	xihu__response__free_unpacked(resp, NULL);
	if (!*out)
		return -1;
	succeed(c);
	return 0;
}

void xihu_results_free(struct xihu_results *r)
{
	free(r);
}

/* ---- exact search (grep) ------------------------------------------------- */

/* One frame's files as the header's structs, in c's block (as results_of:
 * the files, the lines, the spans, then the bytes), for a frame protobuf-c
 * unpacked (grepframe.c decodes the others).  NULL on failure. */
static struct xihu_grep_doc *grep_files_of(xihu_conn *c, const Xihu__GrepResponse *g)
{
	uint64_t n_lines = 0, n_spans = 0, n_chars = 0;
	for (size_t i = 0; i < g->n_files; i++) {
		const Xihu__GrepFile *f = g->files[i];
		n_chars += f->path.len + 1;
		n_lines += f->n_lines;
		if (tally_lines(c, f->lines, f->n_lines, &n_chars, &n_spans))
			return NULL;
	}
	uint64_t size = (g->n_files ? g->n_files : 1) * sizeof(struct xihu_grep_doc) +
	                n_lines * sizeof(struct xihu_line) + n_spans * sizeof(struct xihu_span) +
	                n_chars;
	_Static_assert(sizeof(struct xihu_grep_doc) % 8 == 0, "the arrays follow aligned");
	char *block = size <= SIZE_MAX ? grepframe_reserve(&c->block, (size_t)size) : NULL;
	if (!block) {
		fail(c, "grep: out of memory for %llu bytes of an answer", (unsigned long long)size);
		return NULL;
	}
	struct xihu_grep_doc *files = (struct xihu_grep_doc *)block;
	struct xihu_line *lines = (struct xihu_line *)(files + (g->n_files ? g->n_files : 1));
	struct xihu_span *spans = (struct xihu_span *)(lines + n_lines);
	char *chars = (char *)(spans + n_spans);
	for (size_t i = 0; i < g->n_files; i++) {
		const Xihu__GrepFile *f = g->files[i];
		files[i] = (struct xihu_grep_doc){
		    .path = put_bytes(&chars, f->path.data, f->path.len),
		    .path_len = f->path.len,
		    .is_record = f->kind == XIHU__DOC_KIND__DOC_RECORD,
		    .lines = lines,
		    .n_lines = f->n_lines,
		    .count = f->count,
		};
		copy_lines(f->lines, f->n_lines, &lines, &spans, &chars);
	}
	return files;
}

/* The GrepRequest of req (its arrays point into req's). */
static int grep_request_of(xihu_conn *c, const struct xihu_grep_request *req,
                           Xihu__GrepRequest *gr, ProtobufCBinaryData *bins)
{
	if (!req->n_patterns || !req->patterns)
		return fail(c, "grep: no pattern");
	if (req->case_mode < XIHU_CASE_SENSITIVE || req->case_mode > XIHU_CASE_SMART)
		return fail(c, "grep: unknown case mode %d", req->case_mode);
	if (req->output < XIHU_GREP_OUT_LINES || req->output > XIHU_GREP_OUT_QUIET)
		return fail(c, "grep: unknown output %d", req->output);
	if ((req->n_paths && !req->paths) || (req->n_globs && !req->globs))
		return fail(c, "grep: %s is NULL", req->n_paths && !req->paths ? "paths" : "globs");
	const char *const *lists[] = {req->patterns, req->paths, req->globs};
	size_t counts[] = {req->n_patterns, req->n_paths, req->n_globs};
	ProtobufCBinaryData *at = bins;
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < counts[k]; i++) {
			if (!lists[k][i])
				return fail(c, "grep: a NULL string among the %s",
				            k == 0 ? "patterns" : k == 1 ? "paths" : "globs");
			*at++ = (ProtobufCBinaryData){strlen(lists[k][i]), (uint8_t *)lists[k][i]};
		}
	gr->n_patterns = req->n_patterns;
	gr->patterns = bins;
	gr->n_paths = req->n_paths;
	gr->paths = bins + req->n_patterns;
	gr->n_globs = req->n_globs;
	gr->hidden = req->hidden;
	gr->globs = bins + req->n_patterns + req->n_paths;
	gr->fixed_strings = req->fixed_strings;
	gr->case_mode = (Xihu__GrepCase)req->case_mode;
	gr->word = req->word;
	gr->max_count = req->max_count;
	gr->before = req->before;
	gr->after = req->after;
	gr->output = (Xihu__GrepOutput)req->output;
	if (req->index)
		gr->index = (char *)req->index;
	if (req->cwd)
		gr->cwd = (char *)req->cwd;
	return 0;
}

/* A frame of the answer that grepframe.c leaves to protobuf-c (an Error, a
 * grep body beside another body): unpacked, checked, its files copied into
 * c's block, into *g.  0, or -1 (c's error; the connection closed when the
 * stream cannot go on). */
static int unpack_frame(xihu_conn *c, uint32_t n, uint64_t id, struct grepframe *g)
{
	Xihu__Response *resp = xihu__response__unpack(NULL, n, c->frame);
	if (!resp) {
		wire_close(&c->wire);
		return fail(c, "reading from %s: the response does not unpack", c->path);
	}
	if (resp->id != id && resp->id != 0) {
		xihu__response__free_unpacked(resp, NULL);
		wire_close(&c->wire);
		return fail(c, "reading from %s: response id %llu does not match request %llu", c->path,
		            (unsigned long long)resp->id, (unsigned long long)id);
	}
	if (check_answer(c, resp, XIHU__RESPONSE__BODY_GREP))
		return -1; /* an Error ends the stream: the connection stays usable */
	const Xihu__GrepResponse *gr = resp->grep;
	*g = (struct grepframe){.id = resp->id, .n_files = gr->n_files, .done = gr->done};
	if (gr->n_files && !(g->files = grep_files_of(c, gr))) {
		xihu__response__free_unpacked(resp, NULL);
		wire_close(&c->wire);
		return -1;
	}
	if (!gr->done) {
		xihu__response__free_unpacked(resp, NULL);
		return 0;
	}
	keep(&c->grep_end, resp); /* its errors are the summary's */
	g->sum = (struct xihu_grep_summary){
	    .files_matched = gr->files_matched,
	    .lines_matched = gr->lines_matched,
	    .candidates = gr->candidates,
	    .searched = gr->searched,
	    .took_us = gr->took_us,
	    .errors = (const char *const *)gr->errors,
	    .n_errors = gr->n_errors,
	};
	return 0;
}

/* Reads the answer's frames to the one with done (its summary kept on c),
 * each handed to fn.  0, 1 when fn stopped, -1 (the connection closed when
 * the stream is left unread). */
static int grep_stream(xihu_conn *c, uint64_t id, xihu_grep_fn fn, void *ctx)
{
	for (;;) {
		uint32_t n;
		if (wire_recv_bytes(&c->wire, &c->frame, &c->frame_cap, &n))
			return client_failed(c);
		struct grepframe g;
		char why[256];
		int r = grepframe_decode(c->frame, n, &c->block, &g, why, sizeof why);
		if (r == GREPFRAME_OTHER) {
			if (unpack_frame(c, n, id, &g))
				return -1;
		} else if (r != GREPFRAME_OK) {
			wire_close(&c->wire);
			if (r == GREPFRAME_NOMEM)
				return fail(c, "grep: %s", why);
			return fail(c, "reading from %s: a malformed grep frame: %s", c->path, why);
		} else if (g.id != id && g.id != 0) {
			wire_close(&c->wire);
			return fail(c, "reading from %s: response id %llu does not match request %llu", c->path,
			            (unsigned long long)g.id, (unsigned long long)id);
		} else if (g.id == 0) {
			wire_close(&c->wire); /* the daemon could not read the request: it closes */
		}
		int stop = g.n_files && fn ? fn(ctx, g.files, g.n_files) : 0;
		if (g.done) {
			c->grep_sum = g.sum;
			return stop ? 1 : 0;
		}
		if (stop) {
			wire_close(&c->wire); /* the daemon sees us go and stops */
			return 1;
		}
	}
}

int xihu_grep(xihu_conn *c, const struct xihu_grep_request *req, xihu_grep_fn fn, void *ctx,
              struct xihu_grep_summary *summary)
{
	if (summary)
		*summary = (struct xihu_grep_summary){0};
	if (!c)
		return -1;
	if (!req)
		return fail(c, "grep: req is NULL");
	size_t n = req->n_patterns + req->n_paths + req->n_globs;
	ProtobufCBinaryData *bins = malloc((n ? n : 1) * sizeof *bins);
	if (!bins)
		return fail(c, "grep: out of memory");
	Xihu__GrepRequest gr = XIHU__GREP_REQUEST__INIT;
	Xihu__Request r = XIHU__REQUEST__INIT;
	r.body_case = XIHU__REQUEST__BODY_GREP;
	r.grep = &gr;
	int rc = grep_request_of(c, req, &gr, bins);
	if (rc == 0 && (rc = ready(c)) == 0) {
		c->wire.timeout_ms = WIRE_REQUEST_TIMEOUT_MS; /* per frame */
		rc = wire_send(&c->wire, &r) ? client_failed(c) : 0;
	}
	free(bins);
	keep(&c->grep_end, NULL);
	c->grep_sum = (struct xihu_grep_summary){0};
	if (rc == 0)
		rc = grep_stream(c, r.id, fn, ctx);
	if (rc < 0)
		return -1;
	if (summary)
		*summary = c->grep_sum;
	succeed(c);
	return rc;
}

/* ---- status --------------------------------------------------------------- */

static const char *str(const char *s)
{
	return s ? s : "";
}

/* The latency histogram and the sync state of s into c (they stay there
 * until the next status).  0, or -1 out of memory. */
static int keep_status_parts(xihu_conn *c, const Xihu__StatusResponse *s)
{
	free(c->latency);
	c->latency = NULL;
	if (s->n_latency && !(c->latency = calloc(s->n_latency, sizeof *c->latency)))
		return fail(c, "status: out of memory");
	for (size_t i = 0; i < s->n_latency; i++)
		c->latency[i] = (struct xihu_latency){s->latency[i]->upper_us, s->latency[i]->count};
	if (s->sync) {
		const Xihu__SyncStatus *y = s->sync;
		c->sync = (struct xihu_sync){
		    .watches = y->watches,
		    .polling = y->polling,
		    .pending = y->pending,
		    .updates = y->updates,
		    .commits = y->commits,
		    .errors = y->errors,
		    .last_error = str(y->last_error),
		    .last_update_ms = y->last_update_ms,
		};
	}
	return 0;
}

int xihu_status(xihu_conn *c, struct xihu_status *out)
{
	if (!c)
		return -1;
	if (!out)
		return fail(c, "status: out is NULL");
	Xihu__StatusRequest st = XIHU__STATUS_REQUEST__INIT;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_STATUS;
	req.status = &st;
	Xihu__Response *resp;
	if (call(c, &req, XIHU__RESPONSE__BODY_STATUS, WIRE_REQUEST_TIMEOUT_MS, &resp))
		return -1;
	keep(&c->status, resp);
	const Xihu__StatusResponse *s = resp->status;
	if (keep_status_parts(c, s))
		return -1;
	*out = (struct xihu_status){
	    .version = str(s->version),
	    .index_path = str(s->index_path),
	    .proto_version = s->proto_version,
	    .format_version = s->format_version,
	    .pid = s->pid,
	    .uptime_s = s->uptime_s,
	    .docs = s->docs,
	    .terms = s->terms,
	    .segments = s->segments,
	    .index_bytes = s->index_bytes,
	    .generation = s->generation,
	    .connections = s->connections,
	    .queries = s->queries,
	    .timed_out = s->timed_out,
	    .cancelled = s->cancelled,
	    .p50_us = s->p50_us,
	    .p90_us = s->p90_us,
	    .p99_us = s->p99_us,
	    .latency = c->latency,
	    .n_latency = s->n_latency,
	    .sync = s->sync ? &c->sync : NULL,
	};
	succeed(c);
	return 0;
}

/* ---- indexes and the daemon's life ---------------------------------------- */

int xihu_list_indexes(xihu_conn *c, const struct xihu_served_index **out, size_t *n)
{
	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!c)
		return -1;
	if (!out || !n)
		return fail(c, "list: %s is NULL", out ? "n" : "out");
	Xihu__ListRequest lr = XIHU__LIST_REQUEST__INIT;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_LIST;
	req.list = &lr;
	Xihu__Response *resp;
	if (call(c, &req, XIHU__RESPONSE__BODY_LIST, WIRE_REQUEST_TIMEOUT_MS, &resp))
		return -1;
	keep(&c->list, resp);
	const Xihu__ListResponse *l = resp->list;
	free(c->indexes);
	c->indexes = NULL;
	if (l->n_indexes && !(c->indexes = calloc(l->n_indexes, sizeof *c->indexes)))
		return fail(c, "list: out of memory");
	for (size_t i = 0; i < l->n_indexes; i++) {
		const Xihu__IndexInfo *ii = l->indexes[i];
		c->indexes[i] = (struct xihu_served_index){
		    .dir = str(ii->dir),
		    .roots = (const char *const *)ii->roots,
		    .n_roots = ii->n_roots,
		    .docs = ii->docs,
		    .bytes = ii->bytes,
		    .segments = ii->segments,
		    .generation = ii->generation,
		    .state = str(ii->state),
		    .progress = str(ii->progress),
		    .error = str(ii->error),
		    .is_default = ii->is_default,
		};
	}
	*out = c->indexes;
	*n = l->n_indexes;
	succeed(c);
	return 0;
}

int xihu_serve_tree(xihu_conn *c, const char *path, const char **dir, bool *created)
{
	if (!c)
		return -1;
	if (!path || !dir || !created)
		return fail(c, "index: %s is NULL", !path ? "path" : !dir ? "dir" : "created");
	Xihu__IndexRequest ir = XIHU__INDEX_REQUEST__INIT;
	ir.path = (char *)path;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_INDEX;
	req.index = &ir;
	Xihu__Response *resp;
	if (call(c, &req, XIHU__RESPONSE__BODY_INDEX, WIRE_REQUEST_TIMEOUT_MS, &resp))
		return -1;
	keep(&c->indexed, resp);
	*dir = str(resp->index->dir);
	*created = resp->index->created;
	succeed(c);
	return 0;
}

int xihu_stop(xihu_conn *c)
{
	if (!c)
		return -1;
	Xihu__StopRequest sr = XIHU__STOP_REQUEST__INIT;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_STOP;
	req.stop = &sr;
	Xihu__Response *resp;
	if (call(c, &req, XIHU__RESPONSE__BODY_STOP, WIRE_REQUEST_TIMEOUT_MS, &resp))
		return -1;
	xihu__response__free_unpacked(resp, NULL);
	succeed(c);
	return 0;
}
