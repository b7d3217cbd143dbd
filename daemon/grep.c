/*
 * grep.c: a GrepRequest answered as a stream of GrepResponse frames.
 *
 * The grep itself is the index library's (xihu_index_grep): it hands the
 * matching files over in path order; they are packed into frames of about
 * FRAME_TARGET bytes, each pushed to the connection as soon as it is full
 * (handler_ctx.push, which waits while the client is behind: stream.c), so
 * the first lines go out before the last file is read and the daemon holds
 * one frame of the answer, never the whole.  The last frame carries done,
 * the counts and the files that could not be searched (errors).
 *
 * Frames are assembled from protobuf-c's own packing of each GrepFile: a
 * repeated message field is its entries' encodings one after another, so
 * a frame is the Response's id and version, field 16 (grep) and its length,
 * then the files, and on the last frame the packed GrepResponse with done.
 *
 * Called by handler.c (handler_serve) on a stream thread (server.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "xihu.pb-c.h"
#include "xihud.h"

#define FRAME_TARGET (64u << 10)  /* bytes of files in a frame before it is sent */
#define PIECE_BYTES (256u << 10)  /* a file's lines in one GrepFile entry at most */
#define MAX_ERRORS 100            /* errors listed in the last frame; more are counted */

typedef struct gstate {
	const struct handler_ctx *ctx;
	uint64_t id;
	Xihu__GrepOutput output;
	uint8_t *files; /* GrepResponse field 1 entries, packed */
	size_t len, cap;
	bool oom, gone;
	char **errors;
	size_t nerrors, more_errors;
} gstate;

static bool reserve(gstate *g, size_t n)
{
	if (g->len + n <= g->cap)
		return true;
	size_t cap = g->cap ? g->cap : FRAME_TARGET * 2;
	while (cap < g->len + n)
		cap *= 2;
	uint8_t *b = realloc(g->files, cap);
	if (!b) {
		g->oom = true;
		return false;
	}
	g->files = b;
	g->cap = cap;
	return true;
}

static size_t varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	do {
		out[n++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	return n;
}

/* Frame = header, the Response's id and version, field 16 with the files
 * and tail (a packed GrepResponse, or nothing) as its bytes, into out. */
static bool make_frame(gstate *g, const uint8_t *tail, size_t tail_len, struct reply *out)
{
	Xihu__Response r = XIHU__RESPONSE__INIT;
	r.id = g->id;
	r.version = XIHU_PROTO_VERSION;
	uint8_t head[32];
	size_t hn = xihu__response__pack(&r, head);
	uint8_t tag[12];
	size_t inner = g->len + tail_len;
	size_t tn = varint(tag, 16u << 3 | 2);
	tn += varint(tag + tn, inner);
	size_t n = hn + tn + inner;
	if (n > XIHU_MAX_RESPONSE_FRAME)
		return false;
	if (out->cap < XIHU_FRAME_HEADER + n) {
		uint8_t *b = realloc(out->buf, XIHU_FRAME_HEADER + n);
		if (!b)
			return false;
		out->buf = b;
		out->cap = XIHU_FRAME_HEADER + n;
	}
	uint8_t *p = out->buf;
	frame_put_len(p, (uint32_t)n);
	p += XIHU_FRAME_HEADER;
	memcpy(p, head, hn), p += hn;
	memcpy(p, tag, tn), p += tn;
	if (g->len) /* files is NULL before the first */
		memcpy(p, g->files, g->len), p += g->len;
	if (tail_len)
		memcpy(p, tail, tail_len);
	out->len = XIHU_FRAME_HEADER + n;
	g->len = 0;
	return true;
}

/* Sends the files gathered so far as a frame of their own. */
static bool flush(gstate *g)
{
	struct reply fr = {0};
	bool ok = make_frame(g, NULL, 0, &fr);
	if (ok)
		ok = g->ctx->push(g->ctx->push_arg, fr.buf, fr.len); /* takes fr.buf */
	else
		reply_free(&fr);
	if (!ok)
		g->gone = true;
	return ok;
}

/* Packs lines [from, to) of f as one GrepFile entry. */
/* ---- GrepFile entries, encoded here (the protocol's wire format) ---------
 * A big answer is millions of lines: building protobuf-c's structs for each
 * and packing them through its descriptors cost more than the matching.
 * The encoding is proto3's, as protobuf-c writes it (a field at its zero
 * value left out), and the tests unpack every frame with protobuf-c. */

static size_t vlen(uint64_t v)
{
	size_t n = 1;
	while (v > 0x7f)
		v >>= 7, n++;
	return n;
}

/* A varint field (left out at 0), a length-delimited one. */
static size_t vfield_len(uint64_t v)
{
	return v ? 1 + vlen(v) : 0;
}

static size_t lfield_len(uint64_t n)
{
	return 1 + vlen(n) + n;
}

static uint8_t *put_vfield(uint8_t *p, unsigned field, uint64_t v)
{
	if (v) {
		*p++ = (uint8_t)(field << 3);
		p += varint(p, v);
	}
	return p;
}

static uint8_t *put_lhead(uint8_t *p, unsigned field, uint64_t n)
{
	*p++ = (uint8_t)(field << 3 | 2);
	return p + varint(p, n);
}

static size_t span_len(const xihu_index_span *s)
{
	return vfield_len(s->start) + vfield_len(s->end);
}

static size_t line_len(const xihu_index_line *l)
{
	size_t n = vfield_len(l->line) + vfield_len(l->col) + (l->len ? lfield_len(l->len) : 0);
	for (uint32_t k = 0; k < l->nspans; k++)
		n += lfield_len(span_len(&l->spans[k]));
	return n;
}

/* Packs lines [from, to) of f as one GrepFile entry (GrepResponse field 1). */
static bool pack_piece(gstate *g, const xihu_grep_file *f, uint32_t from, uint32_t to, uint64_t count)
{
	size_t body = lfield_len(f->path_len) + vfield_len(f->record) + vfield_len(count);
	for (uint32_t i = from; i < to; i++)
		body += lfield_len(line_len(&f->lines[i]));
	if (!reserve(g, body + 12)) {
		g->oom = true;
		return false;
	}
	uint8_t *p = g->files + g->len;
	p = put_lhead(p, 1, body);
	p = put_lhead(p, 1, f->path_len);
	memcpy(p, f->path, f->path_len), p += f->path_len;
	p = put_vfield(p, 2, f->record); /* DOC_RECORD is 1 */
	for (uint32_t i = from; i < to; i++) {
		const xihu_index_line *l = &f->lines[i];
		p = put_lhead(p, 3, line_len(l));
		p = put_vfield(p, 1, l->line);
		p = put_vfield(p, 2, l->col);
		if (l->len) {
			p = put_lhead(p, 3, l->len);
			memcpy(p, l->text, l->len), p += l->len;
		}
		for (uint32_t k = 0; k < l->nspans; k++) {
			p = put_lhead(p, 4, span_len(&l->spans[k]));
			p = put_vfield(p, 1, l->spans[k].start);
			p = put_vfield(p, 2, l->spans[k].end);
		}
	}
	p = put_vfield(p, 4, count);
	g->len = (size_t)(p - g->files);
	return true;
}

static int on_file(void *arg, const xihu_grep_file *f)
{
	gstate *g = arg;
	if (g->output == XIHU__GREP_OUTPUT__GREP_QUIET)
		return 0;
	/* a file's lines in pieces of about PIECE_BYTES, each its own entry */
	uint32_t from = 0;
	do {
		uint32_t to = from;
		size_t bytes = 0;
		uint64_t matched = 0;
		while (to < f->nlines && (to == from || bytes < PIECE_BYTES)) {
			bytes += f->lines[to].len + 16;
			matched += f->lines[to].nspans > 0;
			to++;
		}
		if (!pack_piece(g, f, from, to, f->nlines ? matched : f->count))
			return XIHU_ENOMEM;
		if (g->len >= FRAME_TARGET && !flush(g))
			return XIHU_ECANCELED;
		from = to;
	} while (from < f->nlines);
	return 0;
}

static void on_problem(void *arg, const char *msg)
{
	gstate *g = arg;
	if (g->nerrors == MAX_ERRORS) {
		g->more_errors++;
		return;
	}
	char **v = realloc(g->errors, (g->nerrors + 1) * sizeof *v);
	if (!v)
		return;
	g->errors = v;
	if ((v[g->nerrors] = strdup(msg)) != NULL)
		g->nerrors++;
}

/* The strings of a bytes list, NUL-terminated, in one allocation. */
static char **strings(const ProtobufCBinaryData *b, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += b[i].len + 1;
	char **v = malloc(n * sizeof *v + total + 1);
	if (!v)
		return NULL;
	char *p = (char *)(v + n);
	for (size_t i = 0; i < n; i++) {
		v[i] = p;
		if (b[i].len)
			memcpy(p, b[i].data, b[i].len);
		p[b[i].len] = 0;
		p += b[i].len + 1;
	}
	return v;
}

/* A PATH (or the client's directory) that no tree of the index overlaps
 * (neither under one nor holding one) is an error, not a silent "no
 * match": ripgrep would have searched its files, the index holds none of
 * them.  Each such path goes to on_problem with the trees the index does
 * hold.  Returns how many there were. */
static size_t check_covered(gstate *g, const xihu_index *ix, char *const *paths, size_t npaths)
{
	xihu_root *roots = NULL;
	size_t nroots = 0, uncovered = 0;
	xihu_err err = {0};
	if (!npaths || xihu_index_roots(xihu_index_dir(ix), &roots, &nroots, &err))
		return 0; /* no commit yet: the search itself says so */
	/* the first three trees, for the message */
	char trees[400] = "";
	size_t used = 0, ntrees = 0;
	for (size_t r = 0; r < nroots; r++) {
		if (roots[r].records)
			continue;
		if (ntrees++ < 3 && used < sizeof trees) {
			int k = snprintf(trees + used, sizeof trees - used, "%s%s", used ? ", " : "", roots[r].path);
			used += k > 0 ? (size_t)k : 0;
		}
	}
	for (size_t i = 0; i < npaths; i++) {
		bool covered = false;
		for (size_t r = 0; r < nroots && !covered; r++)
			covered = !roots[r].records &&
			          (xihud_path_under(paths[i], roots[r].path) || xihud_path_under(roots[r].path, paths[i]));
		if (covered)
			continue;
		char msg[1200];
		if (ntrees == 0 && nroots > 0)
			snprintf(msg, sizeof msg,
			         "%s: not in the index, which holds JSON Lines records only (xihu grep reads files; "
			         "xihu search finds records)",
			         paths[i]);
		else if (ntrees == 0)
			snprintf(msg, sizeof msg, "%s: not in the index, which holds no tree (xihu index %s adds it)", paths[i],
			         paths[i]);
		else
			snprintf(msg, sizeof msg, "%s: not in the index, whose trees are %s%s (xihu index %s adds it)", paths[i],
			         trees, ntrees > 3 ? ", ..." : "", paths[i]);
		on_problem(g, msg);
		uncovered++;
	}
	xihu_roots_free(roots, nroots);
	return uncovered;
}

/* The last frame: the files left, done and the counts. */
static void finish(gstate *g, const xihu_grep_stats *st, uint64_t took_us, struct reply *out)
{
	char extra[96];
	char **errs = g->errors;
	size_t nerr = g->nerrors;
	if (g->more_errors) {
		snprintf(extra, sizeof extra, "... and %zu more files that could not be searched", g->more_errors);
		char **v = realloc(g->errors, (nerr + 1) * sizeof *v);
		if (v) {
			g->errors = errs = v;
			errs[nerr++] = extra;
		}
	}
	Xihu__GrepResponse gr = XIHU__GREP_RESPONSE__INIT;
	gr.done = true;
	gr.files_matched = st->files_matched;
	gr.lines_matched = st->lines_matched;
	gr.candidates = st->candidates;
	gr.searched = st->searched;
	gr.took_us = took_us;
	gr.n_errors = nerr;
	gr.errors = errs;
	size_t n = xihu__grep_response__get_packed_size(&gr);
	uint8_t *tail = malloc(n ? n : 1);
	if (!tail || !make_frame(g, tail, xihu__grep_response__pack(&gr, tail), out))
		reply_error(g->id, XIHU__ERROR_CODE__E_INTERNAL, "grep: out of memory", out);
	free(tail);
}

void serve_grep(const struct handler_ctx *ctx, uint64_t id, const Xihu__GrepRequest *gr, struct reply *out)
{
	uint64_t t0 = xihud_now_us();
	if (gr->n_patterns == 0) {
		reply_error(id, XIHU__ERROR_CODE__E_BAD_REQUEST, "grep: no pattern", out);
		return;
	}
	xihu_index *picked = NULL;
	char why[600];
	if (registry_pick(ctx->reg, gr->index, gr->cwd, &picked, why, sizeof why)) {
		reply_error(id, XIHU__ERROR_CODE__E_INDEX, why, out);
		return;
	}
	char **pats = strings(gr->patterns, gr->n_patterns);
	/* no path: the client's directory, as ripgrep searches its own */
	ProtobufCBinaryData cwd = {gr->cwd ? strlen(gr->cwd) : 0, (uint8_t *)gr->cwd};
	size_t npaths = gr->n_paths ? gr->n_paths : cwd.len ? 1 : 0;
	char **paths = strings(gr->n_paths ? gr->paths : &cwd, npaths);
	char **globs = strings(gr->globs, gr->n_globs);
	size_t *lens = malloc(gr->n_patterns * sizeof *lens);
	gstate g = {.ctx = ctx, .id = id, .output = gr->output};
	if (!pats || !paths || !globs || !lens) {
		reply_error(id, XIHU__ERROR_CODE__E_INTERNAL, "grep: out of memory", out);
		goto done;
	}
	for (size_t i = 0; i < gr->n_patterns; i++)
		lens[i] = gr->patterns[i].len;
	xihu_grep_opts o = {
		.patterns = (const char *const *)pats, .pattern_lens = lens, .npatterns = gr->n_patterns,
		.fixed = gr->fixed_strings, .word = gr->word, .case_mode = (xihu_grep_case)gr->case_mode,
		.paths = (const char *const *)paths, .npaths = npaths,
		.globs = (const char *const *)globs, .nglobs = gr->n_globs,
		.glob_base = gr->cwd && gr->cwd[0] ? gr->cwd : NULL, .hidden = gr->hidden,
		.default_path = !gr->n_paths && cwd.len,
		.max_count = gr->max_count, .before = gr->before, .after = gr->after,
		.output = (xihu_grep_output)gr->output, .cancel = ctx->cancel,
	};
	/* files changed since the commit served: read whatever the n-grams say */
	char **changed = NULL;
	size_t nchanged = picked ? registry_changed(ctx->reg, xihu_index_dir(picked), &changed)
	                         : sync_changed(ctx->sync, &changed);
	o.extra = (const char *const *)changed;
	o.nextra = nchanged;
	if (o.before > 1000000)
		o.before = 1000000;
	if (o.after > 1000000)
		o.after = 1000000;
	if (check_covered(&g, picked ? picked : ctx->ix, paths, npaths))
		o.default_path = false; /* said already, and better */
	xihu_grep_stats st = {0};
	xihu_err err = {0};
	int rc = xihu_index_grep(picked ? picked : ctx->ix, &o, on_file, on_problem, &g, &st, &err);
	if (rc == 0 && g.oom)
		rc = xihu_err_set(&err, XIHU_ENOMEM, "grep: out of memory");
	if (rc == 0) {
		stats_record(ctx->stats, xihud_now_us() - t0);
		finish(&g, &st, xihud_now_us() - t0, out);
	} else if (rc == XIHU_EQUERY) {
		reply_query_error(id, err.column, err.msg, out);
	} else {
		reply_index_error(id, &err, out);
	}
	for (size_t i = 0; i < nchanged; i++)
		free(changed[i]);
	free(changed);
done:
	xihu_index_unref(picked);
	for (size_t i = 0; i < g.nerrors; i++)
		if (i < MAX_ERRORS)
			free(g.errors[i]);
	free(g.errors);
	free(g.files);
	free(pats), free(paths), free(globs), free(lens);
}
