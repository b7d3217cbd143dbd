/*
 * fuzz_jsonl.c: jsonl_read (index/jsonl.c), the JSON Lines reader, on
 * arbitrary bytes.
 *
 * Input: the file's bytes, written to a memfd that jsonl_read opens by its
 * /proc/self/fd path.
 *
 * Each line is also checked here by a small reference parser, written
 * apart from jsonl.c's from RFC 8259's grammar and jsonl.h's rules: a line
 * of JSON white space is skipped; any other must be one object with a
 * string member "id" (holding no U+0000, as the id is a C string), nesting
 * at most JSON_MAX_DEPTH levels, nothing after it.
 *
 * Invariants: one call per good line, in order, until the first bad line,
 * which is an XIHU_EINVAL naming the file, that line and a column inside
 * it; no bad line ever reaches the callback.  Every record: its id is
 * NUL-terminated with id_len == strlen(id); its fields are the line's
 * string members but "id", in order, "title" as FIELD_TITLE and the rest
 * as FIELD_BODY, each inside text and followed by a '\n', text nothing
 * else; a string decodes to no more bytes than it has, and one without an
 * escape to those very bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "input/input.h"

#define JSON_MAX_DEPTH 64 /* jsonl.c's: the record's object is level 1 */

/* ---- the reference parser ------------------------------------------------ */

typedef struct span {
	const uint8_t *p; /* a string's bytes between its quotes, undecoded */
	size_t n;
	bool title;
} span;

typedef struct ref {
	const uint8_t *p, *end;
	span id;
	bool have_id;
	span *fields; /* the string members but "id", in order */
	size_t nfields;
} ref;

static bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void r_ws(ref *r)
{
	while (r->p < r->end && is_ws(*r->p))
		r->p++;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* A string at r->p (on its quote); its undecoded bytes into *s. */
static bool r_string(ref *r, span *s)
{
	const uint8_t *start = ++r->p;
	while (r->p < r->end && *r->p != '"') {
		uint8_t c = *r->p++;
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (r->p >= r->end)
			return false;
		c = *r->p++;
		if (c == 'u') {
			if (r->end - r->p < 4)
				return false;
			for (int k = 0; k < 4; k++)
				if (hexval(*r->p++) < 0)
					return false;
		} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
			return false;
		}
	}
	if (r->p >= r->end)
		return false;
	*s = (span){start, (size_t)(r->p - start), false};
	r->p++;
	return true;
}

/* The next character of an undecoded string, escapes taken one at a time
 * (a surrogate pair gives two values: enough to compare with ASCII and to
 * find a U+0000). */
static uint32_t next_char(const uint8_t **p)
{
	const uint8_t *s = *p;
	if (*s != '\\') {
		*p = s + 1;
		return *s;
	}
	static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	if (s[1] != 'u') {
		*p = s + 2;
		return (uint8_t)strchr(esc, s[1])[1];
	}
	*p = s + 6;
	return (uint32_t)(hexval(s[2]) << 12 | hexval(s[3]) << 8 | hexval(s[4]) << 4 | hexval(s[5]));
}

static bool span_is(const span *s, const char *word)
{
	const uint8_t *p = s->p, *end = s->p + s->n;
	for (; *word; word++)
		if (p >= end || next_char(&p) != (uint8_t)*word)
			return false;
	return p == end;
}

static bool span_has_nul(const span *s)
{
	for (const uint8_t *p = s->p, *end = s->p + s->n; p < end;)
		if (next_char(&p) == 0)
			return true;
	return false;
}

static bool digits(ref *r)
{
	const uint8_t *start = r->p;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return r->p > start;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool r_number(ref *r)
{
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (!digits(r))
		return false;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!digits(r))
			return false;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!digits(r))
			return false;
	}
	return true;
}

static bool r_word(ref *r, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return false;
	r->p += n;
	return true;
}

/* A value at r->p; a container there would be at nesting level `level`. */
static bool r_value(ref *r, int level)
{
	r_ws(r);
	if (r->p >= r->end)
		return false;
	uint8_t c = *r->p;
	span s;
	if (c == '"')
		return r_string(r, &s);
	if (c == 't')
		return r_word(r, "true");
	if (c == 'f')
		return r_word(r, "false");
	if (c == 'n')
		return r_word(r, "null");
	if (c != '{' && c != '[')
		return r_number(r);
	if (level > JSON_MAX_DEPTH)
		return false;
	uint8_t close = c == '{' ? '}' : ']';
	r->p++;
	r_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return true;
	}
	for (;;) {
		r_ws(r);
		if (close == '}') {
			if (r->p >= r->end || *r->p != '"' || !r_string(r, &s))
				return false;
			r_ws(r);
			if (r->p >= r->end || *r->p++ != ':')
				return false;
		}
		if (!r_value(r, level + 1))
			return false;
		r_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return true;
		}
		return false;
	}
}

/* Whether the line [p, end) is a good record; its members into r. */
static bool r_record(ref *r)
{
	r_ws(r);
	if (r->p >= r->end || *r->p++ != '{')
		return false;
	r_ws(r);
	bool empty = r->p < r->end && *r->p == '}';
	if (empty)
		r->p++;
	while (!empty) {
		span name, s;
		r_ws(r);
		if (r->p >= r->end || *r->p != '"' || !r_string(r, &name))
			return false;
		r_ws(r);
		if (r->p >= r->end || *r->p++ != ':')
			return false;
		r_ws(r);
		bool is_id = span_is(&name, "id");
		if (r->p < r->end && *r->p == '"') {
			if (!r_string(r, &s))
				return false;
			if (is_id) {
				if (span_has_nul(&s))
					return false;
				r->id = s;
				r->have_id = true;
			} else {
				s.title = span_is(&name, "title");
				r->fields[r->nfields++] = s;
			}
		} else if (is_id || !r_value(r, 2)) {
			return false;
		}
		r_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			break;
		}
		return false;
	}
	r_ws(r);
	return r->p == r->end && r->have_id;
}

/* ---- the file, line by line -------------------------------------------------- */

typedef struct walk {
	const uint8_t *p, *end; /* the next line starts at p */
	uint64_t lineno;        /* of the last line taken */
	const uint8_t *line;    /* the last line taken, with its '\n' */
	size_t line_len;
	ref r; /* what the reference parser made of it */
	span *fields;
	size_t records;
} walk;

/* Takes the next line that is not blank and parses it; false at the end. */
static bool next_line(walk *w, bool *good)
{
	for (;;) {
		if (w->p >= w->end)
			return false;
		const uint8_t *nl = memchr(w->p, '\n', (size_t)(w->end - w->p));
		w->line = w->p;
		w->line_len = nl ? (size_t)(nl - w->p) + 1 : (size_t)(w->end - w->p);
		w->p += w->line_len;
		w->lineno++;
		size_t k = 0;
		while (k < w->line_len && is_ws(w->line[k]))
			k++;
		if (k < w->line_len)
			break;
	}
	w->r = (ref){.p = w->line, .end = w->line + w->line_len, .fields = w->fields};
	*good = r_record(&w->r);
	return true;
}

/* A decoded string against its undecoded bytes. */
static void check_string(const char *got, size_t len, const span *s)
{
	FUZZ_CHECK(len <= s->n);
	if (!memchr(s->p, '\\', s->n))
		FUZZ_CHECK(len == s->n && memcmp(got, s->p, len) == 0);
}

static int on_record(void *ctx, const jsonl_record *rec)
{
	walk *w = ctx;
	bool good;
	FUZZ_CHECK(next_line(w, &good));
	if (!good)
		fprintf(stderr, "line %llu reached the callback: %.*s\n", (unsigned long long)w->lineno,
		        (int)w->line_len, (const char *)w->line);
	FUZZ_CHECK(good);
	w->records++;

	FUZZ_CHECK(rec->id != NULL && rec->id[rec->id_len] == '\0');
	FUZZ_CHECK(strlen(rec->id) == rec->id_len);
	check_string(rec->id, rec->id_len, &w->r.id);

	FUZZ_CHECK(rec->nfields == w->r.nfields);
	FUZZ_CHECK(rec->nfields == 0 || rec->fields != NULL);
	size_t off = 0;
	for (uint32_t i = 0; i < rec->nfields; i++) {
		const jsonl_field *f = &rec->fields[i];
		FUZZ_CHECK(f->field == (w->r.fields[i].title ? FIELD_TITLE : FIELD_BODY));
		FUZZ_CHECK(f->value == rec->text + off);
		FUZZ_CHECK(off + f->len < rec->text_len && f->value[f->len] == '\n');
		check_string(f->value, f->len, &w->r.fields[i]);
		off += (size_t)f->len + 1;
	}
	FUZZ_CHECK(rec->text_len == off);
	return 0;
}

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memfd < 0) {
		memfd = memfd_create("fuzz_jsonl", MFD_CLOEXEC);
		FUZZ_CHECK(memfd >= 0);
		snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
	}
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	for (size_t off = 0; off < size;) {
		ssize_t n = pwrite(memfd, data + off, size - off, (off_t)off);
		FUZZ_CHECK(n > 0);
		off += (size_t)n;
	}

	/* a line has at most one string member per 4 bytes ("":"" plus ',') */
	walk w = {.p = data, .end = data + size, .fields = malloc((size / 4 + 1) * sizeof(span))};
	FUZZ_CHECK(w.fields != NULL);
	xihu_err err = {0};
	int rc = jsonl_read(path, on_record, &w, &err);

	bool good;
	if (!next_line(&w, &good)) {
		FUZZ_CHECK(rc == XIHU_OK);
	} else {
		if (good || rc != XIHU_EINVAL)
			fprintf(stderr, "line %llu: %s (%d: %s)\n", (unsigned long long)w.lineno,
			        good ? "good, not read" : "bad", rc, err.msg);
		FUZZ_CHECK(!good && rc == XIHU_EINVAL && err.code == rc);
		char want[128];
		int n = snprintf(want, sizeof want, "%s: line %llu, column ", path, (unsigned long long)w.lineno);
		FUZZ_CHECK(strncmp(err.msg, want, (size_t)n) == 0);
		char *end;
		unsigned long long col = strtoull(err.msg + n, &end, 10);
		FUZZ_CHECK(end > err.msg + n && col >= 1 && col <= w.line_len + 1);
		FUZZ_CHECK(strncmp(end, ": ", 2) == 0 && end[2] != '\0' && !strchr(err.msg, '\n'));
	}
	free(w.fields);
	return 0;
}
