/*
 * grepout.c: prints the files of `xihu grep`'s answer as ripgrep 13 does
 * (grep.h's struct grep_view says which of its forms):
 *
 *   lines     [path:][line:][col:]text per matching line; context lines
 *             with '-' for ':' and no column; "--" between groups of lines
 *             that are not adjacent, and between files, when context was
 *             asked for; with --heading the path on a line of its own and
 *             a blank line between files instead
 *   vimgrep   path:line:col:text once per match (each span), the line
 *             repeated; context lines path-line-text
 *   count     [path:]count;  files: path
 *   json      one object per line (docs/CLIENT.md, "xihu grep --json")
 *
 * Colours are rg's defaults, byte for byte as rg 13 writes them: each
 * coloured piece is preceded by a reset, paths magenta, line numbers green,
 * the column uncoloured but reset around, matches bold red.  Record ids
 * print where paths would.
 *
 * The output goes to v->fd through a buffer of the view's own (OUT_BUF
 * bytes, grown only for a line longer than that), written with write(2)
 * when full and at gout_flush: a big answer is millions of lines, and a
 * stdio call per field cost more than the decoding.  A doc's path is worked
 * out once (v->shown), and a line is formatted straight into the buffer
 * after one check that it has room.  A failed write marks the view broken
 * (v->werr) and what follows is dropped.
 *
 * Caller: grep.c, once per file, in the order they stream in.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grep.h"
#include "output.h" /* out_json_escape */

#define OUT_BUF (256u << 10)

#define C_RESET "\033[0m"
#define C_PATH C_RESET "\033[35m"
#define C_LINE C_RESET "\033[32m"
#define C_COL C_RESET
#define C_MATCH C_RESET "\033[1m\033[31m"
#define LIT(s) s, sizeof s - 1

/* ---- the buffer ------------------------------------------------------------ */

static void out_write(struct grep_view *v, const char *p, size_t n)
{
	while (n && !v->broken) {
		ssize_t w = write(v->fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN) { /* a non-blocking stdout: wait */
			struct pollfd pf = {.fd = v->fd, .events = POLLOUT};
			poll(&pf, 1, -1);
		} else if (!(w < 0 && errno == EINTR)) {
			v->broken = true;
			v->werr = w < 0 ? errno : EIO;
		}
	}
}

void gout_flush(struct grep_view *v)
{
	if (v->out_len)
		out_write(v, v->out, v->out_len);
	v->out_len = 0;
}

void gout_free(struct grep_view *v)
{
	free(v->out);
	free(v->shown);
	free(v->last_path);
	v->out = v->shown = v->last_path = NULL;
	v->out_cap = v->shown_cap = 0;
}

/* Room for n more bytes in the buffer, flushed first when they do not fit,
 * grown when they never would: where they go.  NULL out of memory (the
 * view is then broken). */
static char *room(struct grep_view *v, size_t n)
{
	if (v->out_cap - v->out_len >= n)
		return v->out + v->out_len;
	gout_flush(v);
	if (n > v->out_cap) {
		size_t cap = n > OUT_BUF ? n : OUT_BUF;
		char *b = realloc(v->out, cap);
		if (!b) {
			if (!v->broken) {
				v->broken = true;
				v->werr = ENOMEM;
			}
			return NULL;
		}
		v->out = b;
		v->out_cap = cap;
	}
	return v->out;
}

static void put(struct grep_view *v, const void *p, size_t n)
{
	if (n > OUT_BUF) { /* written as it is, after what is buffered */
		gout_flush(v);
		out_write(v, p, n);
		return;
	}
	char *w = room(v, n);
	if (w) {
		memcpy(w, p, n);
		v->out_len += n;
	}
}

static char *w_bytes(char *w, const void *p, size_t n)
{
	memcpy(w, p, n);
	return w + n;
}

/* n in decimal at w, without printf and two digits at a time: a big answer
 * prints millions of line numbers and columns. */
static char *w_u64(char *w, uint64_t n)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	                            "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	                            "8081828384858687888990919293949596979899";
	size_t len = 1;
	for (uint64_t t = n; t >= 10; t /= 10)
		len++;
	char *p = w + len;
	while (n >= 100) {
		p -= 2;
		memcpy(p, pairs + 2 * (n % 100), 2);
		n /= 100;
	}
	if (n >= 10)
		memcpy(p - 2, pairs + 2 * n, 2);
	else
		p[-1] = (char)('0' + n);
	return w + len;
}

static void put_u64(struct grep_view *v, uint64_t n)
{
	char *w = room(v, 20);
	if (w)
		v->out_len = (size_t)(w_u64(w, n) - v->out);
}

/* ---- paths ------------------------------------------------------------------ */

/* Works out the file's path as rg shows it into v->shown: under the PATH
 * argument it was found by, as typed ("./sub" + "/x.c"), else relative to
 * cwd; a record's id as it is.  False out of memory (the view broken). */
static bool shown_path(struct grep_view *v, const struct xihu_grep_doc *file)
{
	const char *p = file->path, *piece[3];
	size_t n = file->path_len, len[3], k = 0;
	const struct grep_root *best = NULL;
	for (size_t i = 0; !file->is_record && i < v->n_roots; i++) {
		const struct grep_root *r = &v->roots[i];
		size_t rl = r->abs_len;
		bool under = n == rl ? memcmp(p, r->abs, n) == 0
		                     : n > rl && memcmp(p, r->abs, rl) == 0 &&
		                           (p[rl] == '/' || (rl && r->abs[rl - 1] == '/'));
		if (under && (!best || rl > best->abs_len))
			best = r; /* the most specific PATH argument holding it */
	}
	if (best) {
		size_t rl = best->abs_len, tl = strlen(best->typed);
		piece[k] = best->typed, len[k++] = tl;
		if (n != rl) {
			const char *rest = p + rl + (p[rl] == '/');
			if (tl && best->typed[tl - 1] != '/')
				piece[k] = "/", len[k++] = 1;
			piece[k] = rest, len[k++] = (size_t)(p + n - rest);
		}
	} else {
		size_t cl = v->cwd && !file->is_record ? strlen(v->cwd) : 0;
		if (cl == 1 && v->cwd[0] == '/')
			cl = 0; /* the root: "/a/b" -> "a/b" */
		if (v->cwd && !file->is_record && n > cl + 1 && memcmp(p, v->cwd, cl) == 0 && p[cl] == '/') {
			p += cl + 1;
			n -= cl + 1;
		}
		piece[k] = p, len[k++] = n;
	}
	size_t total = 0;
	for (size_t i = 0; i < k; i++)
		total += len[i];
	if (total >= v->shown_cap) {
		char *s = realloc(v->shown, total + 1);
		if (!s) {
			v->broken = true;
			v->werr = ENOMEM;
			return false;
		}
		v->shown = s;
		v->shown_cap = total + 1;
	}
	v->shown_len = 0;
	for (size_t i = 0; i < k; i++) {
		memcpy(v->shown + v->shown_len, piece[i], len[i]);
		v->shown_len += len[i];
	}
	return true;
}

/* The shown path, coloured when the view is: at most v->shown_len + 13 bytes. */
static char *w_path(const struct grep_view *v, char *w)
{
	if (v->color)
		w = w_bytes(w, LIT(C_PATH));
	w = w_bytes(w, v->shown, v->shown_len);
	if (v->color)
		w = w_bytes(w, LIT(C_RESET));
	return w;
}

/* The coloured path then the byte end. */
static void put_path_line(struct grep_view *v, char end)
{
	char *w = room(v, v->shown_len + 14);
	if (w) {
		w = w_path(v, w);
		*w++ = end;
		v->out_len = (size_t)(w - v->out);
	}
}

/* ---- lines ------------------------------------------------------------------ */

/* The bytes a line printed with spans [from, to) takes at most: the prefix
 * (path 13 + 1, line 23 + 1, column 18 + 1 with their colours), the text,
 * each span's colours, the newline. */
static size_t line_bound(const struct grep_view *v, const struct xihu_line *l, size_t spans)
{
	return v->shown_len + 60 + l->text_len + (sizeof C_MATCH + sizeof C_RESET) * spans;
}

/* n and sep, coloured when the view is. */
static char *w_num(const struct grep_view *v, char *w, const char *color, size_t clen, uint32_t n, char sep)
{
	if (v->color) {
		w = w_bytes(w, color, clen);
		w = w_u64(w, n);
		w = w_bytes(w, LIT(C_RESET));
	} else {
		w = w_u64(w, n);
	}
	*w++ = sep;
	return w;
}

/* The prefix of a line: path, line number, column, each with its separator
 * (':' on a matching line, '-' on a context line). */
static char *w_prefix(const struct grep_view *v, char *w, const struct xihu_line *l, uint32_t col)
{
	char sep = l->col ? ':' : '-';
	if (v->with_filename && (!v->heading || v->vimgrep)) {
		w = w_path(v, w);
		*w++ = sep;
	}
	if (v->line_numbers)
		w = w_num(v, w, LIT(C_LINE), l->line, sep);
	if (v->column && l->col)
		w = w_num(v, w, LIT(C_COL), col, sep);
	return w;
}

/* The line's text; with colour, the spans [from, to) of it highlighted. */
static char *w_text(const struct grep_view *v, char *w, const struct xihu_line *l, size_t from, size_t to)
{
	size_t at = 0;
	for (size_t i = from; v->color && i < to; i++) {
		size_t s = l->spans[i].start, e = l->spans[i].end;
		if (s < at)
			s = at; /* overlapping spans: clipped */
		if (s >= e)
			continue;
		w = w_bytes(w, l->text + at, s - at);
		w = w_bytes(w, LIT(C_MATCH));
		w = w_bytes(w, l->text + s, e - s);
		w = w_bytes(w, LIT(C_RESET));
		at = e;
	}
	w = w_bytes(w, l->text + at, l->text_len - at);
	*w++ = '\n';
	return w;
}

static void put_line(struct grep_view *v, const struct xihu_line *l)
{
	char *w;
	if (!v->vimgrep || !l->col || !l->n_spans) {
		if ((w = room(v, line_bound(v, l, l->n_spans)))) {
			w = w_prefix(v, w, l, l->col);
			v->out_len = (size_t)(w_text(v, w, l, 0, l->n_spans) - v->out);
		}
		return;
	}
	for (size_t k = 0; k < l->n_spans; k++) { /* one output line per match */
		if ((w = room(v, line_bound(v, l, 1)))) {
			w = w_prefix(v, w, l, l->spans[k].start + 1);
			v->out_len = (size_t)(w_text(v, w, l, k, k + 1) - v->out);
		}
	}
}

/* Whether file goes on where the last doc printed left off: a file with
 * more lines than a frame holds comes as several docs of the same path. */
static bool continues(const struct grep_view *v, const struct xihu_grep_doc *file)
{
	return v->last_path && v->last_len == file->path_len && !memcmp(v->last_path, file->path, file->path_len);
}

static void remember(struct grep_view *v, const struct xihu_grep_doc *file)
{
	if (!continues(v, file)) {
		char *p = realloc(v->last_path, file->path_len + 1);
		if (!p)
			return;
		memcpy(p, file->path, file->path_len);
		v->last_path = p;
		v->last_len = file->path_len;
	}
	if (file->n_lines)
		v->last_line = file->lines[file->n_lines - 1].line;
}

static void put_lines(struct grep_view *v, const struct xihu_grep_doc *file)
{
	bool cont = continues(v, file);
	if (cont) {
		if (v->separators && file->n_lines && file->lines[0].line != v->last_line + 1)
			put(v, LIT("--\n"));
	} else if (v->heading && v->with_filename && !v->vimgrep) {
		if (v->printed)
			put(v, LIT("\n"));
		put_path_line(v, '\n');
	} else if (v->separators && v->printed && file->n_lines) {
		put(v, LIT("--\n"));
	}
	for (size_t i = 0; i < file->n_lines; i++) {
		const struct xihu_line *l = &file->lines[i];
		if (v->separators && i && l->line != file->lines[i - 1].line + 1)
			put(v, LIT("--\n"));
		put_line(v, l);
	}
	remember(v, file);
}

/* ---- --json ---------------------------------------------------------------- */

/* s[0..n) as a JSON string (out_json_string's escapes), into the buffer. */
static void put_json_string(struct grep_view *v, const char *s, size_t n)
{
	put(v, LIT("\""));
	const uint8_t *p = (const uint8_t *)s;
	while (n && room(v, 6)) { /* room for one character at least */
		size_t used;
		v->out_len += out_json_escape(v->out + v->out_len, v->out_cap - v->out_len, p, n, &used);
		p += used;
		n -= used;
	}
	put(v, LIT("\""));
}

static void json_open(struct grep_view *v, const struct xihu_grep_doc *file, const char *type)
{
	put(v, LIT("{\"type\":\""));
	put(v, type, strlen(type));
	if (file->is_record)
		put(v, LIT("\",\"record\":"));
	else
		put(v, LIT("\",\"path\":"));
	put_json_string(v, v->shown, v->shown_len); /* the path as the text forms show it */
}

static void json_file(struct grep_view *v, const struct xihu_grep_doc *file)
{
	if (v->mode == GREP_SHOW_FILES) {
		json_open(v, file, "file");
		put(v, LIT("}\n"));
		return;
	}
	if (v->mode == GREP_SHOW_COUNT) {
		json_open(v, file, "count");
		put(v, LIT(",\"count\":"));
		put_u64(v, file->count);
		put(v, LIT("}\n"));
		return;
	}
	for (size_t i = 0; i < file->n_lines; i++) {
		const struct xihu_line *l = &file->lines[i];
		json_open(v, file, l->col ? "match" : "context");
		put(v, LIT(",\"line\":"));
		put_u64(v, l->line);
		if (l->col) {
			put(v, LIT(",\"col\":"));
			put_u64(v, l->col);
		}
		put(v, LIT(",\"text\":"));
		put_json_string(v, l->text, l->text_len);
		if (l->col) {
			put(v, LIT(",\"spans\":["));
			for (size_t k = 0; k < l->n_spans; k++) {
				put(v, k ? ",[" : "[", k ? 2 : 1);
				put_u64(v, l->spans[k].start);
				put(v, LIT(","));
				put_u64(v, l->spans[k].end);
				put(v, LIT("]"));
			}
			put(v, LIT("]"));
		}
		put(v, LIT("}\n"));
	}
}

void gout_json_summary(struct grep_view *v, const struct xihu_grep_summary *s)
{
	const char *name[] = {"{\"type\":\"summary\",\"files_matched\":", ",\"lines_matched\":", ",\"searched\":",
	                      ",\"candidates\":", ",\"took_us\":"};
	uint64_t val[] = {s->files_matched, s->lines_matched, s->searched, s->candidates, s->took_us};
	for (size_t i = 0; i < 5; i++) {
		put(v, name[i], strlen(name[i]));
		put_u64(v, val[i]);
	}
	put(v, LIT(",\"errors\":["));
	for (size_t i = 0; i < s->n_errors; i++) {
		if (i)
			put(v, LIT(","));
		put_json_string(v, s->errors[i], strlen(s->errors[i]));
	}
	put(v, LIT("]}\n"));
}

/* ---- a file ------------------------------------------------------------------ */

void gout_file(struct grep_view *v, const struct xihu_grep_doc *file)
{
	if (v->mode == GREP_SHOW_NOTHING || v->broken || !shown_path(v, file))
		return;
	if (v->json) {
		json_file(v, file);
	} else if (v->mode == GREP_SHOW_FILES) {
		put_path_line(v, '\n');
	} else if (v->mode == GREP_SHOW_COUNT) {
		if (v->with_filename)
			put_path_line(v, ':');
		put_u64(v, file->count);
		put(v, LIT("\n"));
	} else {
		put_lines(v, file);
	}
	v->printed = true;
	v->files++;
}
