/*
 * grepframe.c: a grep answer's Response frame, decoded from its bytes into
 * the header's structs (grepframe.h) -- what xihu_grep reads millions of
 * lines through, where protobuf-c's unpack allocated every line and span
 * and libxihu then copied them all once more.
 *
 * The frame is Response {id 1, version 2, grep 16: GrepResponse}, which
 * xihud writes by hand (daemon/grep.c); any other body (10..15) is left to
 * protobuf-c (GREPFRAME_OTHER), so errors and the other answers go the old
 * way.  One pass over the frame writes its files, lines, spans, errors and
 * bytes (each path, text and error with a NUL after it) into arrays kept
 * from frame to frame (struct grepframe_buf), in frame order, counting
 * what it writes; when a frame needs more than they hold, they grow to its
 * counts and the frame is decoded again -- the first frame of an answer,
 * and the rare one bigger than any before.  A file's lines are contiguous
 * in their array, and so are a line's spans, because each message is
 * finished before the next begins.
 *
 * The wire rules are protobuf-c 1.4's, which tests/fuzz/fuzz_grepframe.c
 * holds this file to, where they say more than protobuf's spec:
 *  - a tag is a varint of at most 5 bytes whose first byte must not be
 *    0x00-0x07 (field 0), though a longer tag for field 0 is an unknown
 *    field like any other;
 *  - a length prefix has at most 5 bytes and says at most INT_MAX; a value
 *    varint has at most 10 bytes, the bits past 64 dropped; a uint32 or an
 *    enum keeps the low 32 bits of its varint;
 *  - a bool (done) takes any wire type and is true when a byte of its value
 *    (for a length-delimited one, its length and its content) has one of
 *    its low 7 bits set;
 *  - any other known field of the wrong wire type, and wire types 3, 4, 6
 *    and 7 anywhere, make the frame bad;
 *  - the last of a singular field wins, and of the oneof's members (two
 *    grep bodies) the last wins whole, not merged -- but each must be well
 *    formed.
 * Beyond them, as libxihu has always checked: a span of the body that wins
 * lies inside its text.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grepframe.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* One field as read. */
struct field {
	const uint8_t *at;   /* its tag's first byte */
	const uint8_t *raw;  /* its value's first byte (a length's, when WT_LEN) */
	const uint8_t *end;  /* just past it */
	uint32_t num;
	unsigned wt;
	uint64_t v;          /* WT_VARINT: the value */
	const uint8_t *data; /* WT_LEN: the content, len bytes */
	size_t len;
};

/* How many of each a frame has (and holds: the indexes of the next). */
struct counts {
	size_t files, lines, spans, errors, chars;
};

struct dec {
	const uint8_t *base; /* the frame: offsets count from here */
	size_t size;
	char *why;
	size_t whylen;
	struct grepframe_buf *b; /* written up to its caps; n counts on past them */
	struct counts n;
	bool check_spans;    /* in the body that wins, not in one it replaces */
};

/* The one line of what is wrong at `at`, into d->why; BAD is -1 with it
 * (a constant the compiler sees, so no field read after it is unset). */
static void bad(struct dec *d, const uint8_t *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define BAD(d, at, ...) (bad(d, at, __VA_ARGS__), -1)
static void bad(struct dec *d, const uint8_t *at, const char *fmt, ...)
{
	int k = snprintf(d->why, d->whylen, "byte %zu of %zu: ", (size_t)(at - d->base), d->size);
	if (k > 0 && (size_t)k < d->whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d->why + k, d->whylen - (size_t)k, fmt, ap);
		va_end(ap);
	}
}

/* The next field of [*pp, end) into *f, *pp moved past it.  1, 0 at the
 * end, -1 when malformed. */
static inline int next_field(struct dec *d, const uint8_t **pp, const uint8_t *end, struct field *f)
{
	const uint8_t *p = *pp;
	if (p == end)
		return 0;
	f->at = p;
	uint8_t b = *p++;
	if ((b & 0xf8) == 0)
		return BAD(d, f->at, "a field numbered 0");
	f->wt = b & 7;
	uint32_t num = (b & 0x7f) >> 3;
	if (b & 0x80)
		for (unsigned k = 1, shift = 4;; k++, shift += 7) {
			if (k == 5 || p == end)
				return BAD(d, f->at, "a tag %s", k == 5 ? "longer than 5 bytes" : "cut off by the end of its message");
			b = *p++;
			num |= (uint32_t)(b & 0x7f) << shift;
			if (!(b & 0x80))
				break;
		}
	f->num = num;
	f->raw = p;
	f->v = 0;
	f->data = NULL;
	f->len = 0;
	switch (f->wt) {
	case WT_VARINT:
		if (p < end && *p < 0x80) {
			f->v = *p++;
			break;
		}
		for (unsigned k = 0;; k++) {
			if (k == 10 || p == end)
				return BAD(d, f->raw, "a varint %s", k == 10 ? "longer than 10 bytes" : "cut off by the end of its message");
			b = *p++;
			f->v |= (uint64_t)(b & 0x7f) << (7 * k);
			if (!(b & 0x80))
				break;
		}
		break;
	case WT_LEN: {
		size_t len = 0;
		for (unsigned k = 0;; k++) {
			if (k == 5 || p == end)
				return BAD(d, f->raw, "a length %s", k == 5 ? "longer than 5 bytes" : "cut off by the end of its message");
			b = *p++;
			len |= (size_t)(b & 0x7f) << (7 * k);
			if (!(b & 0x80))
				break;
		}
		if (len > INT_MAX || len > (size_t)(end - p))
			return BAD(d, f->raw, "field %u's %zu bytes run past the end of its message (%zu bytes left)", num, len,
			           (size_t)(end - p));
		f->data = p;
		f->len = len;
		p += len;
		break;
	}
	case WT_I64:
	case WT_I32: {
		size_t w = f->wt == WT_I64 ? 8 : 4;
		if ((size_t)(end - p) < w)
			return BAD(d, f->raw, "field %u's %zu bytes run past the end of its message", num, w);
		p += w;
		break;
	}
	default:
		return BAD(d, f->at, "field %u has wire type %u (a group, or no type at all)", num, f->wt);
	}
	f->end = p;
	*pp = p;
	return 1;
}

static int wrong_type(struct dec *d, const struct field *f, const char *what)
{
	return BAD(d, f->at, "%s has wire type %u", what, f->wt);
}

/* n bytes of s and a NUL at the end of the bytes array, when they fit:
 * where they went (NULL when they did not). */
static const char *put_bytes(struct dec *d, const uint8_t *s, size_t n)
{
	size_t at = d->n.chars;
	d->n.chars += n + 1;
	if (at >= d->b->chars_cap || d->b->chars_cap - at <= n)
		return NULL;
	char *to = d->b->chars + at;
	if (n)
		memcpy(to, s, n);
	to[n] = '\0';
	return to;
}

/* A Span into *start and *end (scalars, not a struct: the line stores them
 * one by one where they go). */
static int span(struct dec *d, const struct field *f, uint32_t *start, uint32_t *end)
{
	const uint8_t *p = f->data, *e = f->data + f->len;
	uint32_t s = 0, t = 0; /* in registers: no store to reload */
	struct field g;
	int r;
	while ((r = next_field(d, &p, e, &g)) > 0) {
		if (g.num != 1 && g.num != 2)
			continue;
		if (g.wt != WT_VARINT)
			return wrong_type(d, &g, g.num == 1 ? "a span's start" : "a span's end");
		if (g.num == 1)
			s = (uint32_t)g.v;
		else
			t = (uint32_t)g.v;
	}
	*start = s;
	*end = t;
	return r;
}

/* A Line: its spans are checked once the whole line is read, since its
 * text may come after them. */
static int line(struct dec *d, const struct field *f)
{
	const uint8_t *p = f->data, *end = f->data + f->len;
	uint32_t no = 0, col = 0, s, e;
	size_t first_span = d->n.spans, n_spans = 0;
	const uint8_t *text = NULL;
	size_t text_len = 0;
	/* the first span whose start is past its end, the first of the widest */
	uint32_t inv_s = 0, inv_e = 0, wide_s = 0, wide_e = 0;
	const uint8_t *inv_at = NULL, *wide_at = NULL;
	struct field g;
	int r;
	while ((r = next_field(d, &p, end, &g)) > 0) {
		switch (g.num) {
		case 1:
		case 2:
			if (g.wt != WT_VARINT)
				return wrong_type(d, &g, g.num == 1 ? "a line's number" : "a line's column");
			if (g.num == 1)
				no = (uint32_t)g.v;
			else
				col = (uint32_t)g.v;
			break;
		case 3:
			if (g.wt != WT_LEN)
				return wrong_type(d, &g, "a line's text");
			text = g.data;
			text_len = g.len;
			break;
		case 4:
			if (g.wt != WT_LEN)
				return wrong_type(d, &g, "a span");
			if (span(d, &g, &s, &e))
				return -1;
			if (d->n.spans < d->b->spans_cap) {
				struct xihu_span *to = &d->b->spans[d->n.spans];
				to->start = s;
				to->end = e;
			}
			d->n.spans++;
			n_spans++;
			if (s > e && !inv_at)
				inv_s = s, inv_e = e, inv_at = g.at;
			if (!wide_at || e > wide_e)
				wide_s = s, wide_e = e, wide_at = g.at;
			break;
		}
	}
	if (r < 0)
		return -1;
	if (d->check_spans && (inv_at || (wide_at && wide_e > text_len)))
		return BAD(d, inv_at ? inv_at : wide_at, "span [%u, %u) outside line %u of %zu bytes",
		           inv_at ? inv_s : wide_s, inv_at ? inv_e : wide_e, no, text_len);
	const char *t = put_bytes(d, text, text_len);
	if (d->n.lines < d->b->lines_cap && first_span <= d->b->spans_cap) {
		struct xihu_line *to = &d->b->lines[d->n.lines];
		to->line = no;
		to->col = col;
		to->text = t;
		to->text_len = text_len;
		to->spans = d->b->spans + first_span;
		to->n_spans = n_spans;
	}
	d->n.lines++;
	return 0;
}

static int file(struct dec *d, const struct field *f)
{
	const uint8_t *p = f->data, *end = f->data + f->len;
	size_t first_line = d->n.lines, n_lines = 0, path_len = 0;
	const uint8_t *path = NULL;
	uint32_t kind = 0;
	uint64_t count = 0;
	struct field g;
	int r;
	while ((r = next_field(d, &p, end, &g)) > 0) {
		switch (g.num) {
		case 1:
			if (g.wt != WT_LEN)
				return wrong_type(d, &g, "a file's path");
			path = g.data;
			path_len = g.len;
			break;
		case 2:
		case 4:
			if (g.wt != WT_VARINT)
				return wrong_type(d, &g, g.num == 2 ? "a file's kind" : "a file's count");
			if (g.num == 2)
				kind = (uint32_t)g.v;
			else
				count = g.v;
			break;
		case 3:
			if (g.wt != WT_LEN)
				return wrong_type(d, &g, "a line");
			if (line(d, &g))
				return -1;
			n_lines++;
			break;
		}
	}
	if (r < 0)
		return -1;
	const char *shown = put_bytes(d, path, path_len);
	if (d->n.files < d->b->files_cap && first_line <= d->b->lines_cap) {
		struct xihu_grep_doc *to = &d->b->files[d->n.files];
		to->path = shown;
		to->path_len = path_len;
		to->is_record = kind == 1; /* DOC_RECORD */
		to->lines = d->b->lines + first_line;
		to->n_lines = n_lines;
		to->count = count;
	}
	d->n.files++;
	return 0;
}

/* protobuf-c's bool: any low 7 bits set in the value's bytes, whatever its
 * wire type. */
static bool boolean(const struct field *f)
{
	for (const uint8_t *p = f->raw; p < f->end; p++)
		if (*p & 0x7f)
			return true;
	return false;
}

/* A GrepResponse: its files and errors into d->b, the rest into out. */
static int grep_body(struct dec *d, const struct field *f, struct grepframe *out)
{
	const uint8_t *p = f->data, *end = f->data + f->len;
	struct xihu_grep_summary *sum = &out->sum;
	uint64_t *counts[] = {&sum->files_matched, &sum->lines_matched, &sum->candidates, &sum->searched,
	                      &sum->took_us};
	struct field g;
	int r;
	out->done = false;
	*sum = (struct xihu_grep_summary){0};
	while ((r = next_field(d, &p, end, &g)) > 0) {
		switch (g.num) {
		case 1:
			if (g.wt != WT_LEN)
				return wrong_type(d, &g, "a file");
			if (file(d, &g))
				return -1;
			break;
		case 2:
			out->done = boolean(&g);
			break;
		case 3: case 4: case 5: case 6: case 7:
			if (g.wt != WT_VARINT)
				return wrong_type(d, &g, "a count of the summary");
			*counts[g.num - 3] = g.v;
			break;
		case 8:
			if (g.wt != WT_LEN)
				return wrong_type(d, &g, "an error");
			{
				const char *e = put_bytes(d, g.data, g.len);
				if (d->n.errors < d->b->errors_cap)
					d->b->errors[d->n.errors] = (char *)e;
				d->n.errors++;
			}
			break;
		}
	}
	return r;
}

void *grepframe_reserve(struct grepframe_buf *b, size_t size)
{
	if (size <= b->mem_cap && b->mem)
		return b->mem;
	void *m = malloc(size ? size : 1);
	if (!m)
		return NULL;
	free(b->mem);
	b->mem = m;
	b->mem_cap = size;
	return m;
}

void grepframe_buf_free(struct grepframe_buf *b)
{
	free(b->files);
	free(b->lines);
	free(b->spans);
	free(b->errors);
	free(b->chars);
	free(b->mem);
	*b = (struct grepframe_buf){0};
}

/* An array of at least n elements of size bytes in place of old (of *cap),
 * with a quarter more for the frames to come, old's contents lost: old
 * itself when it is big enough.  NULL out of memory (old freed, *cap 0). */
static void *fresh(void *old, size_t *cap, size_t n, size_t size)
{
	if (old && n <= *cap)
		return old;
	free(old);
	*cap = 0;
	size_t want = n + n / 4 + 16;
	void *m = want <= SIZE_MAX / size ? malloc(want * size) : NULL;
	if (m)
		*cap = want;
	return m;
}

/* Makes b's arrays hold c (each at least 16 when c is 0: never NULL).
 * False out of memory. */
static bool hold(struct grepframe_buf *b, const struct counts *c)
{
	b->files = fresh(b->files, &b->files_cap, c->files, sizeof *b->files);
	b->lines = fresh(b->lines, &b->lines_cap, c->lines, sizeof *b->lines);
	b->spans = fresh(b->spans, &b->spans_cap, c->spans, sizeof *b->spans);
	b->errors = fresh(b->errors, &b->errors_cap, c->errors, sizeof *b->errors);
	b->chars = fresh(b->chars, &b->chars_cap, c->chars, 1);
	return b->files && b->lines && b->spans && b->errors && b->chars;
}

/* One pass over the frame into d->b (after a look at its few top-level
 * fields).  A GREPFRAME_* code; out->id and the body's fields are set on
 * OK. */
static int decode(struct dec *d, struct grepframe *out)
{
	const uint8_t *p = d->base, *end = d->base + d->size, *last = NULL;
	struct field g;
	int r;
	while ((r = next_field(d, &p, end, &g)) > 0) {
		if (g.num >= 10 && g.num <= 15)
			return GREPFRAME_OTHER; /* another body: protobuf-c's to unpack */
		if (g.num == 1 || g.num == 2) {
			if (g.wt != WT_VARINT)
				return wrong_type(d, &g, g.num == 1 ? "the response's id" : "the response's version");
			if (g.num == 1)
				out->id = g.v;
		} else if (g.num == 16) {
			if (g.wt != WT_LEN)
				return wrong_type(d, &g, "the grep body");
			last = g.at;
		}
	}
	if (r < 0)
		return GREPFRAME_BAD;
	if (!last)
		return GREPFRAME_OTHER; /* no body at all: protobuf-c says so as for any answer */
	/* every body must be well formed; the last wins, written over the others */
	for (p = d->base; (r = next_field(d, &p, end, &g)) > 0;) {
		if (g.num != 16)
			continue;
		d->n = (struct counts){0};
		d->check_spans = g.at == last;
		if (grep_body(d, &g, out))
			return GREPFRAME_BAD;
		if (g.at == last)
			return GREPFRAME_OK;
	}
	return GREPFRAME_BAD; /* not reached: the same fields were read above */
}

int grepframe_decode(const uint8_t *buf, size_t n, struct grepframe_buf *blk, struct grepframe *out,
                     char *why, size_t whylen)
{
	struct dec d = {.base = buf, .size = n, .why = why, .whylen = whylen, .b = blk};
	if (whylen)
		why[0] = '\0';
	static const struct counts none;
	bool ok = hold(blk, &none); /* arrays there are, none NULL */
	while (ok) {
		*out = (struct grepframe){0};
		int r = decode(&d, out);
		if (r != GREPFRAME_OK)
			return r;
		const struct counts *c = &d.n;
		if (c->files <= blk->files_cap && c->lines <= blk->lines_cap && c->spans <= blk->spans_cap &&
		    c->errors <= blk->errors_cap && c->chars <= blk->chars_cap)
			break;
		ok = hold(blk, c); /* more than the arrays hold: grown, and the frame decoded again */
	}
	if (!ok) {
		const struct counts *c = &d.n;
		unsigned long long size = (unsigned long long)c->files * sizeof *blk->files +
		                          (unsigned long long)c->lines * sizeof *blk->lines +
		                          (unsigned long long)c->spans * sizeof *blk->spans +
		                          (unsigned long long)c->errors * sizeof *blk->errors + c->chars;
		snprintf(why, whylen, "out of memory for %llu bytes of an answer", size);
		return GREPFRAME_NOMEM;
	}
	out->files = blk->files;
	out->n_files = d.n.files;
	out->sum.errors = (const char *const *)blk->errors;
	out->sum.n_errors = d.n.errors;
	return GREPFRAME_OK;
}
