/*
 * output.c: prints search hits in the formats of SPEC §2.
 *
 *   default   path, then "line:col: text" per matching line; a blank line
 *             between hits; colors as ripgrep's (magenta path, green line
 *             number, bold red matches) when o->color
 *   vimgrep   path:line:col:text per matching line, hits in rank order; a hit
 *             with no matching line (matched by its path) prints path:1:1:
 *   json      one object per hit; the caller ends with out_json_summary()
 *   list      the path
 *
 * Paths of files under the current directory print relative to it; record
 * ids print as they are.  Spans are byte offsets into the line's text
 * (libxihu-client has checked that each lies inside it); overlapping ones
 * are clipped.
 */
#include <stdbool.h>
#include <string.h>

#include "output.h"

#define C_PATH "\033[35m"
#define C_LINE "\033[32m"
#define C_MATCH "\033[1;31m"
#define C_RESET "\033[0m"

/* The doc as it should be shown: relative when under cwd. */
static void doc_name(const struct out_opts *o, const struct xihu_hit *h, const uint8_t **p,
                     size_t *n)
{
	*p = (const uint8_t *)h->doc;
	*n = h->doc_len;
	if (h->is_record || !o->cwd)
		return;
	size_t cl = strlen(o->cwd);
	if (cl == 1 && o->cwd[0] == '/')
		cl = 0; /* cwd is the root: "/a/b" -> "a/b" */
	if (*n > cl + 1 && memcmp(*p, o->cwd, cl) == 0 && (*p)[cl] == '/') {
		*p += cl + 1;
		*n -= cl + 1;
	}
}

static void put_doc(const struct out_opts *o, const struct xihu_hit *h, bool color)
{
	const uint8_t *p;
	size_t n;
	doc_name(o, h, &p, &n);
	if (color)
		fputs(C_PATH, o->f);
	fwrite(p, 1, n, o->f);
	if (color)
		fputs(C_RESET, o->f);
}

/* The line's text with its spans highlighted. */
static void put_text(const struct out_opts *o, const struct xihu_line *l)
{
	const char *t = l->text;
	size_t len = l->text_len, at = 0;
	if (o->color) {
		for (size_t i = 0; i < l->n_spans; i++) {
			size_t s = l->spans[i].start, e = l->spans[i].end;
			if (s < at)
				s = at;
			if (e > len)
				e = len;
			if (s >= e)
				continue;
			fwrite(t + at, 1, s - at, o->f);
			fputs(C_MATCH, o->f);
			fwrite(t + s, 1, e - s, o->f);
			fputs(C_RESET, o->f);
			at = e;
		}
	}
	fwrite(t + at, 1, len - at, o->f);
}

size_t out_json_escape(char *dst, size_t cap, const uint8_t *s, size_t n, size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	char *w = dst, *wend = dst + cap;
	size_t i = 0;
	while (i < n && wend - w >= 6) { /* a character takes 6 bytes at most */
		uint8_t c = s[i];
		if (c < 0x80) {
			const char *esc = NULL;
			switch (c) {
			case '"': esc = "\\\""; break;
			case '\\': esc = "\\\\"; break;
			case '\n': esc = "\\n"; break;
			case '\r': esc = "\\r"; break;
			case '\t': esc = "\\t"; break;
			case '\b': esc = "\\b"; break;
			case '\f': esc = "\\f"; break;
			}
			if (esc) {
				*w++ = esc[0];
				*w++ = esc[1];
			} else if (c < 0x20 || c == 0x7f) {
				memcpy(w, "\\u00", 4);
				w[4] = hex[c >> 4];
				w[5] = hex[c & 15];
				w += 6;
			} else {
				*w++ = (char)c;
			}
			i++;
			continue;
		}
		/* a well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates) */
		size_t len = 0;
		uint8_t lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			if (c == 0xe0)
				lo = 0xa0;
			if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			if (c == 0xf0)
				lo = 0x90;
			if (c == 0xf4)
				hi = 0x8f;
		}
		bool ok = len && i + len <= n;
		for (size_t k = 1; ok && k < len; k++) {
			uint8_t b = s[i + k];
			if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
				ok = false;
		}
		if (ok) {
			memcpy(w, s + i, len);
			w += len;
			i += len;
		} else {
			memcpy(w, "\\ufffd", 6);
			w += 6;
			i++;
		}
	}
	*used = i;
	return (size_t)(w - dst);
}

void out_json_string(FILE *f, const uint8_t *s, size_t n)
{
	char buf[4096];
	fputc('"', f);
	while (n) {
		size_t used, len = out_json_escape(buf, sizeof buf, s, n, &used);
		fwrite(buf, 1, len, f);
		s += used;
		n -= used;
	}
	fputc('"', f);
}

static void put_json_hit(const struct out_opts *o, const struct xihu_hit *h, unsigned rank)
{
	FILE *f = o->f;
	const uint8_t *p;
	size_t n;
	doc_name(o, h, &p, &n);
	double score = h->score;
	if (score != score || score > 1e300 || score < -1e300)
		score = 0; /* NaN and infinities are not JSON */
	fprintf(f, "{\"rank\":%u,\"score\":%.6g,\"doc\":", rank, score);
	out_json_string(f, p, n);
	fputs(",\"lines\":[", f);
	for (size_t i = 0; i < h->n_lines; i++) {
		const struct xihu_line *l = &h->lines[i];
		fprintf(f, "%s{\"line\":%u,\"col\":%u,\"text\":", i ? "," : "", l->line, l->col);
		out_json_string(f, (const uint8_t *)l->text, l->text_len);
		fputs(",\"spans\":[", f);
		for (size_t k = 0; k < l->n_spans; k++)
			fprintf(f, "%s[%u,%u]", k ? "," : "", l->spans[k].start, l->spans[k].end);
		fputs("]}", f);
	}
	fputs("]}\n", f);
}

/* How many of h's lines to print: all, or when it has more than
 * o->cut_lines matching lines, those before the first one past the cut,
 * less the context lines that only lead up to it. */
static size_t shown_lines(const struct out_opts *o, const struct xihu_hit *h)
{
	uint32_t matching = 0, last = 0; /* the last matching line shown */
	for (size_t i = 0; i < h->n_lines; i++) {
		const struct xihu_line *l = &h->lines[i];
		if (l->col == 0 || !o->cut_lines)
			continue;
		if (++matching <= o->cut_lines) {
			last = l->line;
			continue;
		}
		while (i > 0 && h->lines[i - 1].col == 0 && h->lines[i - 1].line > last + o->context)
			i--;
		return i;
	}
	return h->n_lines;
}

void out_hit(const struct out_opts *o, const struct xihu_hit *h, unsigned rank, bool first)
{
	FILE *f = o->f;
	switch (o->format) {
	case OUT_DEFAULT:
		if (!first)
			fputc('\n', f);
		put_doc(o, h, o->color);
		fputc('\n', f);
		size_t shown = shown_lines(o, h);
		for (size_t i = 0; i < shown; i++) {
			const struct xihu_line *l = &h->lines[i];
			if (i && l->line > h->lines[i - 1].line + 1 &&
			    (l->col == 0 || h->lines[i - 1].col == 0))
				fputs("--\n", f); /* a gap between context groups, as grep -C */
			if (l->col == 0) /* a context line */
				fprintf(f, o->color ? C_LINE "%u" C_RESET "-  " : "%u-  ", l->line);
			else if (o->color)
				fprintf(f, C_LINE "%u" C_RESET ":%u: ", l->line, l->col);
			else
				fprintf(f, "%u:%u: ", l->line, l->col);
			put_text(o, l);
			fputc('\n', f);
		}
		if (shown < h->n_lines)
			fprintf(f, o->color ? C_LINE "..." C_RESET " more matching lines (-m N shows N)\n"
			                    : "... more matching lines (-m N shows N)\n");
		return;
	case OUT_VIMGREP:
		if (h->n_lines == 0) {
			put_doc(o, h, false);
			fputs(":1:1:\n", f);
		}
		for (size_t i = 0; i < h->n_lines; i++) {
			const struct xihu_line *l = &h->lines[i];
			put_doc(o, h, false);
			fprintf(f, ":%u:%u:", l->line, l->col);
			fwrite(l->text, 1, l->text_len, f);
			fputc('\n', f);
		}
		return;
	case OUT_JSON:
		put_json_hit(o, h, rank);
		return;
	case OUT_LIST:
		put_doc(o, h, o->color);
		fputc('\n', f);
		return;
	case OUT_COUNT:
		return;
	}
}

void out_json_summary(const struct out_opts *o, uint64_t hits, uint64_t total,
                      bool total_exact, uint64_t took_us, const char *suggestion)
{
	fprintf(o->f, "{\"summary\":{\"hits\":%llu,\"total\":%llu,\"total_exact\":%s,\"took_us\":%llu",
	        (unsigned long long)hits, (unsigned long long)total, total_exact ? "true" : "false",
	        (unsigned long long)took_us);
	if (suggestion && *suggestion) {
		fputs(",\"suggestion\":", o->f);
		out_json_string(o->f, (const uint8_t *)suggestion, strlen(suggestion));
	}
	fputs("}}\n", o->f);
}
