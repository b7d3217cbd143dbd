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
 * Caller: grep.c, once per file, in the order they stream in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grep.h"
#include "output.h" /* out_json_string */

#define C_RESET "\033[0m"
#define C_PATH C_RESET "\033[35m"
#define C_LINE C_RESET "\033[32m"
#define C_COL C_RESET
#define C_MATCH C_RESET "\033[1m\033[31m"

/* Writes the file's path as rg shows it: under the PATH argument it was
 * found by, as typed ("./sub" + "/x.c"), else relative to cwd. */
static void put_path(const struct grep_view *v, const struct xihu_grep_doc *file)
{
	const char *p = file->path;
	size_t n = file->path_len;
	if (file->is_record) {
		fwrite(p, 1, n, v->f);
		return;
	}
	const struct grep_root *best = NULL;
	for (size_t i = 0; i < v->n_roots; i++) {
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
		fputs(best->typed, v->f);
		if (n == rl)
			return;
		const char *rest = p + rl + (p[rl] == '/');
		if (tl && best->typed[tl - 1] != '/')
			fputc('/', v->f);
		fwrite(rest, 1, (size_t)(p + n - rest), v->f);
		return;
	}
	size_t cl = v->cwd ? strlen(v->cwd) : 0;
	if (cl == 1 && v->cwd[0] == '/')
		cl = 0; /* the root: "/a/b" -> "a/b" */
	if (v->cwd && n > cl + 1 && memcmp(p, v->cwd, cl) == 0 && p[cl] == '/') {
		p += cl + 1;
		n -= cl + 1;
	}
	fwrite(p, 1, n, v->f);
}

static void put_colored_path(const struct grep_view *v, const struct xihu_grep_doc *file)
{
	if (v->color)
		fputs(C_PATH, v->f);
	put_path(v, file);
	if (v->color)
		fputs(C_RESET, v->f);
}

/* n and sep, written without printf: a big answer prints millions of them */
static void put_num(const struct grep_view *v, const char *color, uint32_t n, char sep)
{
	char buf[16];
	size_t i = sizeof buf;
	buf[--i] = sep;
	do
		buf[--i] = (char)('0' + n % 10);
	while (n /= 10);
	if (v->color) {
		fputs(color, v->f);
		fwrite(buf + i, 1, sizeof buf - i - 1, v->f);
		fputs(C_RESET, v->f);
		fputc(sep, v->f);
	} else {
		fwrite(buf + i, 1, sizeof buf - i, v->f);
	}
}

/* The line's text; with colour, the spans [from, to) of it highlighted. */
static void put_text(const struct grep_view *v, const struct xihu_line *l, size_t from, size_t to)
{
	size_t at = 0;
	for (size_t i = from; v->color && i < to; i++) {
		size_t s = l->spans[i].start, e = l->spans[i].end;
		if (s < at)
			s = at; /* overlapping spans: clipped */
		if (s >= e)
			continue;
		fwrite(l->text + at, 1, s - at, v->f);
		fputs(C_MATCH, v->f);
		fwrite(l->text + s, 1, e - s, v->f);
		fputs(C_RESET, v->f);
		at = e;
	}
	fwrite(l->text + at, 1, l->text_len - at, v->f);
	fputc('\n', v->f);
}

/* The prefix of a line: path, line number, column, each with its separator
 * (':' on a matching line, '-' on a context line). */
static void put_prefix(const struct grep_view *v, const struct xihu_grep_doc *file,
                       const struct xihu_line *l, uint32_t col)
{
	char sep = l->col ? ':' : '-';
	if (v->with_filename && (!v->heading || v->vimgrep)) {
		put_colored_path(v, file);
		fputc(sep, v->f);
	}
	if (v->line_numbers)
		put_num(v, C_LINE, l->line, sep);
	if (v->column && l->col)
		put_num(v, C_COL, col, sep);
}

static void put_line(const struct grep_view *v, const struct xihu_grep_doc *file,
                     const struct xihu_line *l)
{
	if (!v->vimgrep || !l->col || !l->n_spans) {
		put_prefix(v, file, l, l->col);
		put_text(v, l, 0, l->n_spans);
		return;
	}
	for (size_t k = 0; k < l->n_spans; k++) { /* one output line per match */
		put_prefix(v, file, l, l->spans[k].start + 1);
		put_text(v, l, k, k + 1);
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
			fputs("--\n", v->f);
	} else if (v->heading && v->with_filename && !v->vimgrep) {
		if (v->printed)
			fputc('\n', v->f);
		put_colored_path(v, file);
		fputc('\n', v->f);
	} else if (v->separators && v->printed && file->n_lines) {
		fputs("--\n", v->f);
	}
	for (size_t i = 0; i < file->n_lines; i++) {
		const struct xihu_line *l = &file->lines[i];
		if (v->separators && i && l->line != file->lines[i - 1].line + 1)
			fputs("--\n", v->f);
		put_line(v, file, l);
	}
	remember(v, file);
}

/* ---- --json ---------------------------------------------------------------- */

static void json_open(const struct grep_view *v, const struct xihu_grep_doc *file,
                      const char *type)
{
	fprintf(v->f, "{\"type\":\"%s\",\"%s\":", type, file->is_record ? "record" : "path");
	if (file->is_record) {
		out_json_string(v->f, (const uint8_t *)file->path, file->path_len);
		return;
	}
	/* the path as the text forms show it: printed to a buffer first */
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (m) {
		struct grep_view mv = *v;
		mv.f = m;
		put_path(&mv, file);
		fclose(m);
	}
	if (buf)
		out_json_string(v->f, (const uint8_t *)buf, len);
	else
		out_json_string(v->f, (const uint8_t *)file->path, file->path_len);
	free(buf);
}

static void json_file(const struct grep_view *v, const struct xihu_grep_doc *file)
{
	if (v->mode == GREP_SHOW_FILES) {
		json_open(v, file, "file");
		fputs("}\n", v->f);
		return;
	}
	if (v->mode == GREP_SHOW_COUNT) {
		json_open(v, file, "count");
		fprintf(v->f, ",\"count\":%llu}\n", (unsigned long long)file->count);
		return;
	}
	for (size_t i = 0; i < file->n_lines; i++) {
		const struct xihu_line *l = &file->lines[i];
		json_open(v, file, l->col ? "match" : "context");
		fprintf(v->f, ",\"line\":%u", l->line);
		if (l->col)
			fprintf(v->f, ",\"col\":%u", l->col);
		fputs(",\"text\":", v->f);
		out_json_string(v->f, (const uint8_t *)l->text, l->text_len);
		if (l->col) {
			fputs(",\"spans\":[", v->f);
			for (size_t k = 0; k < l->n_spans; k++)
				fprintf(v->f, "%s[%u,%u]", k ? "," : "", l->spans[k].start, l->spans[k].end);
			fputc(']', v->f);
		}
		fputs("}\n", v->f);
	}
}

void gout_json_summary(struct grep_view *v, const struct xihu_grep_summary *s)
{
	fprintf(v->f,
	        "{\"type\":\"summary\",\"files_matched\":%llu,\"lines_matched\":%llu,"
	        "\"searched\":%llu,\"candidates\":%llu,\"took_us\":%llu,\"errors\":[",
	        (unsigned long long)s->files_matched, (unsigned long long)s->lines_matched,
	        (unsigned long long)s->searched, (unsigned long long)s->candidates,
	        (unsigned long long)s->took_us);
	for (size_t i = 0; i < s->n_errors; i++) {
		if (i)
			fputc(',', v->f);
		out_json_string(v->f, (const uint8_t *)s->errors[i], strlen(s->errors[i]));
	}
	fputs("]}\n", v->f);
	if (ferror(v->f) && !v->broken) {
		v->broken = true;
		v->werr = errno;
	}
}

/* ---- a file ------------------------------------------------------------------ */

void gout_file(struct grep_view *v, const struct xihu_grep_doc *file)
{
	if (v->mode == GREP_SHOW_NOTHING || v->broken)
		return;
	if (v->json) {
		json_file(v, file);
	} else if (v->mode == GREP_SHOW_FILES) {
		put_colored_path(v, file);
		fputc('\n', v->f);
	} else if (v->mode == GREP_SHOW_COUNT) {
		if (v->with_filename) {
			put_colored_path(v, file);
			fputc(':', v->f);
		}
		fprintf(v->f, "%llu\n", (unsigned long long)file->count);
	} else {
		put_lines(v, file);
	}
	v->printed = true;
	v->files++;
	if (ferror(v->f) && !v->broken) {
		v->broken = true;
		v->werr = errno;
	}
}
