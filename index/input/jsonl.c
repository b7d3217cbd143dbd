/*
 * jsonl.c: JSON Lines files -> records.
 *
 * Each non-blank line must be one JSON object (RFC 8259) with a string
 * member "id" (with no U+0000: it is a C string from here on).  String
 * members become fields ("title" its own, every other one the body);
 * numbers, booleans, null, arrays and nested objects are validated and
 * skipped.  Strings are decoded (escapes, \u surrogate
 * pairs; a lone surrogate becomes U+FFFD).  Any error stops the build with
 * "FILE: line N, column C: what was expected", so no record is lost
 * silently.  Written by hand because the parser is tiny and must report
 * exact columns; no Debian JSON library is a standard for C (json-c and
 * jansson both build DOMs we would throw away).
 * Called by build.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "input/input.h"


#define JSON_MAX_DEPTH 64

typedef struct parser {
	const char *s, *p, *end;
	const char *path;
	uint64_t lineno;
	xihu_err *err;
	xbuf text;   /* decoded string members, one per line */
	xbuf fields; /* jsonl_field array (offsets into text until the end) */
	xbuf id;
	bool have_id;
} parser;

static int fail(parser *ps, const char *what)
{
	return xihu_err_set(ps->err, XIHU_EINVAL, "%s: line %llu, column %zu: %s", ps->path,
	                    (unsigned long long)ps->lineno, (size_t)(ps->p - ps->s) + 1, what);
}

static void ws(parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
		ps->p++;
}

static void put_utf8(xbuf *b, uint32_t c)
{
	uint8_t o[4];
	size_t n;
	if (c < 0x80) {
		o[0] = (uint8_t)c;
		n = 1;
	} else if (c < 0x800) {
		o[0] = (uint8_t)(0xc0 | c >> 6);
		o[1] = (uint8_t)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		o[0] = (uint8_t)(0xe0 | c >> 12);
		o[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		o[0] = (uint8_t)(0xf0 | c >> 18);
		o[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
		o[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		o[3] = (uint8_t)(0x80 | (c & 0x3f));
		n = 4;
	}
	xbuf_put(b, o, n);
}

static int hex4(parser *ps, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++, ps->p++) {
		if (ps->p >= ps->end)
			return fail(ps, "unfinished \\u escape");
		char c = *ps->p;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, "expected four hex digits after \\u");
	}
	*out = v;
	return 0;
}

/* Parses a string at ps->p (on the quote) into out (if non-NULL). */
static int string(parser *ps, xbuf *out)
{
	ps->p++;
	for (;;) {
		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		unsigned char c = (unsigned char)*ps->p;
		if (c == '"') {
			ps->p++;
			return 0;
		}
		if (c < 0x20)
			return fail(ps, "control character in string (escape it)");
		if (c != '\\') {
			const char *run = ps->p;
			while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && (unsigned char)*ps->p >= 0x20)
				ps->p++;
			if (out)
				xbuf_put(out, run, (size_t)(ps->p - run));
			continue;
		}
		if (++ps->p >= ps->end)
			return fail(ps, "unterminated escape");
		char e = *ps->p++;
		uint32_t cp;
		switch (e) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (hex4(ps, &cp))
				return ps->err->code;
			if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
			    ps->p[1] == 'u') {
				const char *save = ps->p;
				uint32_t lo;
				ps->p += 2;
				if (hex4(ps, &lo))
					return ps->err->code;
				if (lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					ps->p = save;
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			break;
		default:
			ps->p--;
			return fail(ps, "unknown escape in string");
		}
		if (out)
			put_utf8(out, cp);
	}
}

static int value(parser *ps, int depth);

static int skip_container(parser *ps, int depth, char close)
{
	if (depth >= JSON_MAX_DEPTH)
		return fail(ps, "nested too deep");
	ps->p++;
	ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		ws(ps);
		if (close == '}') {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected a member name string");
			if (string(ps, NULL))
				return ps->err->code;
			ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, "expected ':' after member name");
			ps->p++;
		}
		if (value(ps, depth + 1))
			return ps->err->code;
		ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return fail(ps, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return fail(ps, "expected a JSON value");
	ps->p += n;
	return 0;
}

static bool digits(parser *ps)
{
	const char *start = ps->p;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > start;
}

/* RFC 8259's number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 * ("01" is a 0 followed by a stray 1, which the caller reports). */
static int number(parser *ps)
{
	const char *start = ps->p;
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0') {
		ps->p++;
	} else if (!digits(ps)) {
		ps->p = start;
		return fail(ps, "expected a JSON value");
	}
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (!digits(ps))
			return fail(ps, "expected a digit after the number's '.'");
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!digits(ps))
			return fail(ps, "expected a digit in the number's exponent");
	}
	return 0;
}

static int value(parser *ps, int depth)
{
	ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "expected a JSON value");
	switch (*ps->p) {
	case '"': return string(ps, NULL);
	case '{': return skip_container(ps, depth, '}');
	case '[': return skip_container(ps, depth, ']');
	case 't': return literal(ps, "true");
	case 'f': return literal(ps, "false");
	case 'n': return literal(ps, "null");
	default: return number(ps);
	}
}

/* The top-level object: string members are kept, the rest validated and skipped. */
static int record(parser *ps)
{
	ws(ps);
	if (ps->p >= ps->end || *ps->p != '{')
		return fail(ps, "expected a JSON object");
	ps->p++;
	ws(ps);
	bool first = true;
	xbuf name;
	xbuf_init(&name);
	int rc = 0;
	while (!rc) {
		ws(ps);
		if (first && ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		first = false;
		if (ps->p >= ps->end || *ps->p != '"') {
			rc = fail(ps, "expected a member name string");
			break;
		}
		xbuf_reset(&name);
		if ((rc = string(ps, &name)))
			break;
		ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			rc = fail(ps, "expected ':' after member name");
			break;
		}
		ps->p++;
		ws(ps);
		bool is_id = name.len == 2 && !memcmp(name.p, "id", 2);
		if (ps->p < ps->end && *ps->p == '"') {
			if (is_id) {
				const char *at = ps->p;
				xbuf_reset(&ps->id);
				if ((rc = string(ps, &ps->id)))
					break;
				if (ps->id.len && memchr(ps->id.p, 0, ps->id.len)) { /* the id is a C string */
					ps->p = at;
					rc = fail(ps, "\"id\" holds U+0000");
					break;
				}
				xbuf_put_u8(&ps->id, 0);
				ps->have_id = true;
			} else {
				size_t off = ps->text.len;
				if ((rc = string(ps, &ps->text)))
					break;
				bool title = name.len == 5 && !memcmp(name.p, "title", 5);
				jsonl_field f = {.field = title ? FIELD_TITLE : FIELD_BODY,
				                 .value = (const char *)(uintptr_t)off,
				                 .len = (uint32_t)(ps->text.len - off)};
				xbuf_put(&ps->fields, &f, sizeof f);
				xbuf_put_u8(&ps->text, '\n');
			}
		} else {
			if (is_id) {
				rc = fail(ps, "\"id\" must be a string");
				break;
			}
			if ((rc = value(ps, 1)))
				break;
		}
		ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		rc = fail(ps, "expected ',' or '}'");
	}
	xbuf_free(&name);
	if (rc)
		return rc;
	ws(ps);
	if (ps->p != ps->end)
		return fail(ps, "unexpected text after the object");
	if (!ps->have_id) {
		ps->p = ps->s;
		return fail(ps, "record has no string \"id\"");
	}
	return 0;
}

int jsonl_read(const char *path, jsonl_fn fn, void *ctx, xihu_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return xihu_err_set(err, XIHU_EIO, "%s: %s", path, strerror(errno));
	parser ps = {.path = path, .err = err};
	xbuf_init(&ps.text);
	xbuf_init(&ps.fields);
	xbuf_init(&ps.id);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (!rc && (n = getline(&line, &cap, f)) >= 0) {
		ps.lineno++;
		ps.s = ps.p = line;
		ps.end = line + n;
		ws(&ps);
		if (ps.p == ps.end)
			continue;
		xbuf_reset(&ps.text);
		xbuf_reset(&ps.fields);
		ps.have_id = false;
		if ((rc = record(&ps)))
			break;
		if (ps.text.rc || ps.fields.rc || ps.id.rc) {
			rc = xihu_err_set(err, XIHU_ENOMEM, "%s: line %llu: out of memory", path,
			                  (unsigned long long)ps.lineno);
			break;
		}
		jsonl_record r = {
			.id = (const char *)ps.id.p,
			.id_len = (uint32_t)ps.id.len - 1,
			.text = (const char *)ps.text.p,
			.text_len = ps.text.len,
			.nfields = (uint32_t)(ps.fields.len / sizeof(jsonl_field)),
			.fields = (jsonl_field *)ps.fields.p,
		};
		for (uint32_t i = 0; i < r.nfields; i++)
			r.fields[i].value = r.text + (uintptr_t)r.fields[i].value;
		rc = fn(ctx, &r);
	}
	if (!rc && ferror(f))
		rc = xihu_err_set(err, XIHU_EIO, "%s: line %llu: %s", path, (unsigned long long)ps.lineno,
		                  strerror(errno));
	free(line);
	fclose(f);
	xbuf_free(&ps.text);
	xbuf_free(&ps.fields);
	xbuf_free(&ps.id);
	return rc;
}
