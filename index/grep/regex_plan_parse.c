/*
 * regex_plan_parse.c: reads one regex pattern (Rust regex syntax as ripgrep
 * takes it; PCRE2 verifies the matches) and computes its facts node by node
 * with regex_plan_info.c, a recursive descent with no syntax tree kept.
 *
 * The rule: where the two engines could read a piece differently, or the
 * planner does not know a piece, either that piece stands for "any string"
 * (info_any: lookarounds, \p{..}, \w, a negated or large class, \<) or, when
 * even its extent is unsure, the whole pattern plans as ALL (ps->bad:
 * backreferences, \Q..\E, nested classes and && -- ~~ in classes, (?x), a
 * '{' that is not a plain {n}, {n,} or {n,m}, possessive quantifiers, a raw
 * newline, invalid UTF-8, ...).
 *
 * Case: a pattern planned caselessly (-i, or an 'i' among any inline flags:
 * wider than following each group's flags, so safe) keeps ASCII letters in
 * lower case, each standing for both cases.  Any other character with case
 * variants stands for the set of its variants' bytes (grep_char_forms): k
 * and K for "k" and U+212A KELVIN SIGN, s and S for "s" and U+017F LONG S,
 * a Cyrillic or Greek letter for each of its cases.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "grep/regex_plan_int.h"

/* Nesting and the number of operations a pattern may take before it plans
 * as ALL: bounded time and stack whatever its size. */
#define PARSE_DEPTH 200
#define PARSE_OPS 2000

typedef struct parser {
	const uint8_t *p, *end;
	bool caseless;
	bool bad;  /* give up: the pattern plans as ALL */
	bool oom;
	unsigned depth;
	size_t ops;
} parser;

/* What an atom is: one character (its bytes) or facts. */
typedef struct atom {
	info *x;       /* NULL: the character below */
	uint8_t b[4];
	uint8_t len;
} atom;

static info *alternation(parser *ps);

static info *fail(parser *ps)
{
	ps->bad = true;
	return NULL;
}

static bool at(const parser *ps, char c)
{
	return ps->p < ps->end && *ps->p == (uint8_t)c;
}

/* Decodes the UTF-8 character at *pp (advancing); -1 if invalid. */
int32_t grep_utf8_char(const uint8_t **pp, const uint8_t *end, uint8_t *len)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t n = utf8proc_iterate(*pp, end - *pp, &c);
	if (n <= 0)
		return -1;
	*pp += n;
	*len = (uint8_t)n;
	return c;
}

static uint8_t utf8_put(uint32_t c, uint8_t *o)
{
	if (c < 0x80) {
		o[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (uint8_t)(0xC0 | c >> 6);
		o[1] = (uint8_t)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (uint8_t)(0xE0 | c >> 12);
		o[1] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
		o[2] = (uint8_t)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (uint8_t)(0xF0 | c >> 18);
	o[1] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
	o[2] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
	o[3] = (uint8_t)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * Case orbits: the classes of code points that caseless matching may take
 * for one another.  Built once per process from utf8proc's simple lower,
 * upper and title case mappings, as the connected classes of the graph
 * whose edges join a character to each of its mappings.  Simple case
 * folding (what ripgrep's -i and PCRE2's caseless matching follow) only
 * ever joins characters so linked, so each orbit holds every character
 * either engine may match for one of its members (K, k and U+212A; Σ, σ
 * and ς; ß and ẞ), and perhaps more (İ with i): wider, never narrower.
 * Every cased letter is below U+20000.
 */
#define ORBIT_LIMIT 0x20000u

typedef struct orbit_entry {
	uint32_t cp, rep; /* a member and its orbit's smallest member */
} orbit_entry;

static struct {
	pthread_once_t once;
	orbit_entry *by_cp;  /* the members of orbits of two or more, by cp */
	orbit_entry *by_rep; /* the same, by (rep, cp) */
	size_t n;
} orbits = {.once = PTHREAD_ONCE_INIT};

static uint32_t uf_find(uint32_t *up, uint32_t c)
{
	while (up[c] != c) {
		up[c] = up[up[c]];
		c = up[c];
	}
	return c;
}

static int by_cp(const void *a, const void *b)
{
	const orbit_entry *x = a, *y = b;
	return (x->cp > y->cp) - (x->cp < y->cp);
}

static int by_rep(const void *a, const void *b)
{
	const orbit_entry *x = a, *y = b;
	if (x->rep != y->rep)
		return (x->rep > y->rep) - (x->rep < y->rep);
	return by_cp(a, b);
}

static void orbits_build(void)
{
	uint32_t *up = malloc(ORBIT_LIMIT * sizeof *up);
	uint32_t *size = calloc(ORBIT_LIMIT, sizeof *size);
	if (!up || !size)
		goto out;
	for (uint32_t c = 0; c < ORBIT_LIMIT; c++)
		up[c] = c;
	for (uint32_t c = 0; c < ORBIT_LIMIT; c++) {
		utf8proc_int32_t m[3] = {utf8proc_tolower((utf8proc_int32_t)c), utf8proc_toupper((utf8proc_int32_t)c),
		                         utf8proc_totitle((utf8proc_int32_t)c)};
		for (int i = 0; i < 3; i++) {
			if ((uint32_t)m[i] == c || (uint32_t)m[i] >= ORBIT_LIMIT)
				continue;
			uint32_t a = uf_find(up, c), b = uf_find(up, (uint32_t)m[i]);
			if (a != b)
				up[a > b ? a : b] = a < b ? a : b; /* the smaller one is the root */
		}
	}
	size_t n = 0;
	for (uint32_t c = 0; c < ORBIT_LIMIT; c++) {
		up[c] = uf_find(up, c); /* from here on, each member's root */
		size[up[c]]++;
	}
	for (uint32_t c = 0; c < ORBIT_LIMIT; c++)
		n += size[up[c]] > 1;
	orbit_entry *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
	if (!a || !b) {
		free(a);
		free(b);
		goto out;
	}
	size_t k = 0;
	for (uint32_t c = 0; c < ORBIT_LIMIT; c++)
		if (size[up[c]] > 1)
			a[k++] = (orbit_entry){c, up[c]};
	memcpy(b, a, n * sizeof *a);
	qsort(b, n, sizeof *b, by_rep);
	orbits.by_cp = a; /* c ascending already */
	orbits.by_rep = b;
	orbits.n = n;
out:
	free(up);
	free(size);
}

size_t grep_case_orbit(uint32_t c, uint32_t *out, size_t max)
{
	pthread_once(&orbits.once, orbits_build);
	if (!orbits.by_cp || max == 0)
		return 0;
	orbit_entry key = {c, 0};
	const orbit_entry *e = bsearch(&key, orbits.by_cp, orbits.n, sizeof key, by_cp);
	if (!e) {
		out[0] = c;
		return 1;
	}
	/* the orbit's first entry in by_rep: its rep, the smallest member */
	key = (orbit_entry){e->rep, e->rep};
	const orbit_entry *f = bsearch(&key, orbits.by_rep, orbits.n, sizeof key, by_rep);
	size_t n = 0;
	for (; f && f < orbits.by_rep + orbits.n && f->rep == e->rep; f++) {
		if (n == max)
			return 0;
		out[n++] = f->cp;
	}
	return n;
}

/* Adds form f (fl bytes) to the set b/len of *n forms unless there; false
 * when it is not there and the set already holds max. */
static bool forms_add(uint8_t (*b)[4], uint8_t *len, size_t *n, size_t max, const uint8_t *f, uint8_t fl)
{
	for (size_t i = 0; i < *n; i++)
		if (len[i] == fl && memcmp(b[i], f, fl) == 0)
			return true;
	if (*n == max)
		return false;
	memcpy(b[*n], f, fl);
	len[(*n)++] = fl;
	return true;
}

size_t grep_char_forms(uint32_t c, bool caseless, uint8_t (*b)[4], uint8_t *len)
{
	if (c == '\n') /* never inside a line */
		return 0;
	uint32_t o[GREP_FORMS_MAX] = {c};
	size_t n = 1, k = 0;
	if (caseless && (c >= 0x80 || c == 'k' || c == 'K' || c == 's' || c == 'S'))
		n = grep_case_orbit(c, o, GREP_FORMS_MAX); /* other letters: o[0], lowered below */
	for (size_t i = 0; i < n; i++) {
		/* under caseless an ASCII letter in lower case stands for both */
		uint32_t m = caseless && o[i] >= 'A' && o[i] <= 'Z' ? o[i] + 'a' - 'A' : o[i];
		uint8_t f[4], fl = utf8_put(m, f);
		forms_add(b, len, &k, GREP_FORMS_MAX, f, fl); /* n <= GREP_FORMS_MAX: room */
	}
	return k;
}

/* The atom of code point c. */
static atom char_atom(parser *ps, uint32_t c)
{
	uint8_t b[GREP_FORMS_MAX][4], len[GREP_FORMS_MAX];
	size_t n = grep_char_forms(c, ps->caseless, b, len);
	atom a = {0};
	if (n == 1) {
		memcpy(a.b, b[0], len[0]);
		a.len = len[0];
		return a;
	}
	a.x = n ? info_chars(b, len, n, ps->caseless) : info_any(ps->caseless);
	ps->oom |= !a.x;
	return a;
}

static atom info_atom(parser *ps, info *x)
{
	atom a = {.x = x};
	ps->oom |= !x;
	return a;
}

static int hex(uint8_t c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* \xHH or \x{H...} after the 'x'; -1 when not one of those. */
static int32_t hex_escape(parser *ps)
{
	uint32_t v = 0;
	if (at(ps, '{')) {
		const uint8_t *q = ps->p + 1;
		int digits = 0;
		while (q < ps->end && hex(*q) >= 0 && digits < 8)
			v = v << 4 | (uint32_t)hex(*q++), digits++;
		if (digits == 0 || q >= ps->end || *q != '}')
			return -1;
		ps->p = q + 1;
	} else {
		if (ps->end - ps->p < 2 || hex(ps->p[0]) < 0 || hex(ps->p[1]) < 0)
			return -1;
		v = (uint32_t)(hex(ps->p[0]) << 4 | hex(ps->p[1]));
		ps->p += 2;
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
		return -1;
	return (int32_t)v;
}

/* Skips \p's or \P's operand (after the letter): {...} or one letter. */
static bool skip_property(parser *ps)
{
	if (at(ps, '{')) {
		const uint8_t *q = memchr(ps->p, '}', (size_t)(ps->end - ps->p));
		if (!q)
			return false;
		ps->p = q + 1;
		return true;
	}
	if (ps->p < ps->end && ((*ps->p | 0x20) >= 'a' && (*ps->p | 0x20) <= 'z')) {
		ps->p++;
		return true;
	}
	return false;
}

/*
 * The escape after a backslash, in a class or not: a character (returns its
 * code point), a class of characters (-2: \d \w \s, their negations, \p,
 * \v), an empty assertion outside a class (-3: \b \B \A \z), an unknown
 * string outside a class (-4: \< \>), or unreadable (-1).
 */
static int32_t escape(parser *ps, bool in_class)
{
	if (ps->p >= ps->end)
		return -1;
	uint8_t c = *ps->p++;
	if (c >= 0x80)
		return -1;
	if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9')) {
		if (!in_class && (c == '<' || c == '>'))
			return -4; /* newer Rust regex: word start and end */
		return c;          /* punctuation stands for itself */
	}
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'a': return 7;
	case 'x': return hex_escape(ps);
	case 'v': /* PCRE2: vertical space; Rust: VT */
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
		return -2;
	case 'p': case 'P':
		return skip_property(ps) ? -2 : -1;
	case 'b': case 'B': case 'A': case 'z':
		return in_class ? -1 : -3;
	default:
		return -1;
	}
}

/* A class's members so far: single characters, or unknown. */
typedef struct members {
	uint8_t b[INFO_SET][4];
	uint8_t len[INFO_SET];
	size_t n;
	bool unknown;
} members;

enum { CLASS_MAX = 16 }; /* more characters than this: an unknown character */

static void add_member(parser *ps, members *m, uint32_t lo, uint32_t hi)
{
	if (hi - lo >= CLASS_MAX || (hi >= 0x80 && lo != hi)) {
		m->unknown = true;
		return;
	}
	for (uint32_t c = lo; c <= hi; c++) {
		uint8_t b[GREP_FORMS_MAX][4], len[GREP_FORMS_MAX];
		size_t n = grep_char_forms(c, ps->caseless, b, len);
		if (n == 0) {
			m->unknown = true;
			return;
		}
		for (size_t f = 0; f < n; f++)
			if (!forms_add(m->b, m->len, &m->n, CLASS_MAX, b[f], len[f])) {
				m->unknown = true;
				return;
			}
	}
}

/* One character of a class (its code point; -2 a class escape; -1 bad). */
static int32_t class_char(parser *ps)
{
	if (ps->p >= ps->end)
		return -1;
	if (*ps->p == '\\') {
		ps->p++;
		return escape(ps, true);
	}
	uint8_t len;
	return grep_utf8_char(&ps->p, ps->end, &len);
}

/* [:name:] or [:^name:] at ps->p (after its '['); false if not one. */
static bool posix_class(parser *ps)
{
	const uint8_t *q = ps->p + 1;
	if (q < ps->end && *q == '^')
		q++;
	const uint8_t *name = q;
	while (q < ps->end && *q >= 'a' && *q <= 'z')
		q++;
	if (q == name || ps->end - q < 2 || q[0] != ':' || q[1] != ']')
		return false;
	ps->p = q + 2;
	return true;
}

/* One item of a class: a character, a range, an escape or a POSIX class. */
static bool class_item(parser *ps, members *m)
{
	if (*ps->p == '[') {
		ps->p++;
		if (!at(ps, ':') || !posix_class(ps))
			return false; /* Rust: a nested class; PCRE2: a '[' */
		m->unknown = true; /* PCRE2 with UCP makes them Unicode */
		return true;
	}
	if (ps->end - ps->p >= 2 && (ps->p[0] == '&' || ps->p[0] == '-' || ps->p[0] == '~') &&
	    ps->p[1] == ps->p[0])
		return false; /* Rust's class set operations */
	int32_t lo = class_char(ps);
	if (lo == -1)
		return false;
	bool range = ps->end - ps->p >= 2 && ps->p[0] == '-' && ps->p[1] != ']';
	if (lo == -2) {
		m->unknown = true;
		return !range;
	}
	int32_t hi = lo;
	if (range) {
		ps->p++;
		hi = class_char(ps);
		if (hi < 0 || hi < lo)
			return false;
	}
	add_member(ps, m, (uint32_t)lo, (uint32_t)hi);
	return true;
}

/* A class, after its '['. */
static info *bracket(parser *ps)
{
	members *m = calloc(1, sizeof *m);
	if (!m) {
		ps->oom = true;
		return NULL;
	}
	bool negated = at(ps, '^');
	ps->p += negated;
	for (bool first = true;; first = false) {
		if (ps->p >= ps->end || (!first && *ps->p == ']'))
			break;
		if (!class_item(ps, m)) {
			free(m);
			return fail(ps);
		}
	}
	if (ps->p >= ps->end) {
		free(m);
		return fail(ps);
	}
	ps->p++;
	info *x = negated || m->unknown || m->n == 0 ? info_any(ps->caseless)
	                                              : info_chars(m->b, m->len, m->n, ps->caseless);
	free(m);
	ps->oom |= !x;
	return x;
}

/* Inline flags after "(?": [imsU-]*, then ')' (returns 1) or ':' (2); 0
 * for flags the planner does not follow. */
static int flags(parser *ps)
{
	while (ps->p < ps->end && *ps->p && strchr("imsU-", *ps->p))
		ps->p++;
	if (at(ps, ')') || at(ps, ':'))
		return *ps->p++ == ')' ? 1 : 2;
	return 0;
}

/* A group's body and its ')'; keep false: the group stands for any
 * string (lookarounds, atomic groups). */
static info *group_body(parser *ps, bool keep)
{
	if (++ps->depth > PARSE_DEPTH)
		return fail(ps);
	info *x = alternation(ps);
	ps->depth--;
	if (!x)
		return NULL;
	if (!at(ps, ')')) {
		info_free(x);
		return fail(ps);
	}
	ps->p++;
	if (keep)
		return x;
	info_free(x);
	info *any = info_any(ps->caseless);
	ps->oom |= !any;
	return any;
}

/* A group, after its '('. */
static info *group(parser *ps)
{
	if (!at(ps, '?'))
		return group_body(ps, true);
	ps->p++;
	if (at(ps, '=') || at(ps, '!') || at(ps, '>')) {
		ps->p++;
		return group_body(ps, false);
	}
	if (ps->end - ps->p >= 2 && ps->p[0] == '<' && (ps->p[1] == '=' || ps->p[1] == '!')) {
		ps->p += 2;
		return group_body(ps, false);
	}
	if (at(ps, 'P') || at(ps, '<')) { /* (?P<name>...) or (?<name>...) */
		ps->p += at(ps, 'P');
		if (!at(ps, '<'))
			return fail(ps);
		const uint8_t *name = ++ps->p;
		while (ps->p < ps->end && (*ps->p == '_' || ((*ps->p | 0x20) >= 'a' && (*ps->p | 0x20) <= 'z') ||
		                           (*ps->p >= '0' && *ps->p <= '9')))
			ps->p++;
		if (ps->p == name || !at(ps, '>'))
			return fail(ps);
		ps->p++;
		return group_body(ps, true);
	}
	switch (flags(ps)) {
	case 1: {
		info *x = info_empty(ps->caseless);
		ps->oom |= !x;
		return x;
	}
	case 2:
		return group_body(ps, true);
	default:
		return fail(ps);
	}
}

/* The atom at ps->p (not '|' or ')'). */
static atom parse_atom(parser *ps)
{
	uint8_t c = *ps->p;
	if (c >= 0x80) {
		uint8_t len;
		int32_t cp = grep_utf8_char(&ps->p, ps->end, &len);
		if (cp < 0)
			return fail(ps), (atom){0};
		return char_atom(ps, (uint32_t)cp);
	}
	ps->p++;
	switch (c) {
	case '.':
		return info_atom(ps, info_any(ps->caseless));
	case '^':
	case '$':
		return info_atom(ps, info_empty(ps->caseless));
	case '[':
		return (atom){.x = bracket(ps)};
	case '(':
		return (atom){.x = group(ps)};
	case '*':
	case '+':
	case '?':
	case '{': /* a quantifier of nothing, or a '{' engines read apart */
		return fail(ps), (atom){0};
	case '\\': {
		int32_t e = escape(ps, false);
		if (e == -1)
			return fail(ps), (atom){0};
		if (e == -2 || e == -4)
			return info_atom(ps, info_any(ps->caseless));
		if (e == -3)
			return info_atom(ps, info_empty(ps->caseless));
		return char_atom(ps, (uint32_t)e);
	}
	default:
		return char_atom(ps, c);
	}
}

/* A decimal number of at most five digits at ps->p, up to 65535. */
static bool number(parser *ps, uint32_t *out)
{
	const uint8_t *s = ps->p;
	uint32_t v = 0;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9' && ps->p - s < 6)
		v = v * 10 + (uint32_t)(*ps->p++ - '0');
	*out = v;
	return ps->p > s && v <= 65535 && !(ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9');
}

/* The quantifier at ps->p, if any: *min, *max (UINT32_MAX: unbounded).
 * Returns 0 none, 1 one, -1 one the planner does not read. */
static int quantifier(parser *ps, uint32_t *min, uint32_t *max)
{
	if (ps->p >= ps->end)
		return 0;
	switch (*ps->p) {
	case '*': *min = 0, *max = UINT32_MAX; break;
	case '+': *min = 1, *max = UINT32_MAX; break;
	case '?': *min = 0, *max = 1; break;
	case '{':
		ps->p++;
		if (!number(ps, min))
			return -1;
		*max = *min;
		if (at(ps, ',')) {
			ps->p++;
			*max = UINT32_MAX;
			if (!at(ps, '}') && (!number(ps, max) || *max < *min))
				return -1;
		}
		if (!at(ps, '}'))
			return -1;
		break;
	default:
		return 0;
	}
	ps->p++;
	if (at(ps, '?')) /* lazy: the same strings */
		ps->p++;
	/* possessive, or a quantifier of a quantifier: not read */
	if (ps->p < ps->end && strchr("*+?{", *ps->p))
		return -1;
	return 1;
}

/* The pending literal run, flushed onto the sequence r. */
typedef struct run {
	uint8_t *b;
	size_t len, cap;
} run;

static info *flush(parser *ps, info *r, run *lit)
{
	if (lit->len == 0 || !r)
		return r;
	r = info_concat(r, info_literal(lit->b, lit->len, ps->caseless));
	lit->len = 0;
	ps->oom |= !r;
	return r;
}

static bool run_add(parser *ps, run *lit, const atom *a)
{
	if (lit->len + a->len > lit->cap) {
		size_t nc = lit->cap ? lit->cap * 2 : 64;
		uint8_t *b = realloc(lit->b, nc);
		if (!b) {
			ps->oom = true;
			return false;
		}
		lit->b = b;
		lit->cap = nc;
	}
	memcpy(lit->b + lit->len, a->b, a->len);
	lit->len += a->len;
	return true;
}

/* A sequence of atoms, each maybe quantified, up to '|', ')' or the end;
 * runs of plain characters become one literal. */
static info *sequence(parser *ps)
{
	info *r = info_empty(ps->caseless);
	run lit = {0};
	while (r && !ps->bad && !ps->oom && ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
		atom a = parse_atom(ps);
		if (ps->bad || ps->oom)
			break;
		uint32_t min, max;
		int qn = quantifier(ps, &min, &max);
		if (qn < 0) {
			info_free(a.x);
			ps->bad = true;
			break;
		}
		if (qn == 0 && !a.x) {
			run_add(ps, &lit, &a);
			continue;
		}
		if (++ps->ops > PARSE_OPS) { /* plain characters cost nothing */
			info_free(a.x);
			ps->bad = true;
			break;
		}
		r = flush(ps, r, &lit);
		info *x = a.x ? a.x : info_literal(a.b, a.len, ps->caseless);
		if (qn)
			x = min == 0 && max == UINT32_MAX ? info_star(x) : min == 1 && max == UINT32_MAX ? info_plus(x)
			    : min == 0 && max == 1 ? info_quest(x) : info_repeat(x, min, max);
		r = info_concat(r, x);
		ps->oom |= !r;
	}
	r = flush(ps, r, &lit);
	free(lit.b);
	if (ps->bad || ps->oom) {
		info_free(r);
		return NULL;
	}
	return r;
}

static info *alternation(parser *ps)
{
	info *x = sequence(ps);
	while (x && at(ps, '|')) {
		ps->p++;
		if (++ps->ops > PARSE_OPS) {
			info_free(x);
			return fail(ps);
		}
		x = info_alt(x, sequence(ps));
		ps->oom |= !x && !ps->bad;
	}
	return x;
}

/* Whether an inline flag group anywhere holds 'i' (then the whole pattern is
 * planned caselessly). */
static bool inline_caseless(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (p[i] != '(' || p[i + 1] != '?')
			continue;
		for (size_t j = i + 2; j < len && p[j] != ')' && p[j] != ':'; j++)
			if (p[j] == 'i')
				return true;
	}
	return false;
}

gq *regex_plan_pattern(const uint8_t *pat, size_t len, bool caseless)
{
	if (memchr(pat, '\n', len)) /* engines differ: never guess */
		return gq_leaf(GQ_ALL);
	parser ps = {.p = pat, .end = pat + len, .caseless = caseless || inline_caseless(pat, len)};
	info *x = alternation(&ps);
	if (x && ps.p < ps.end) /* a ')' with no '(' */
		ps.bad = true;
	if (ps.bad && !ps.oom) {
		info_free(x);
		return gq_leaf(GQ_ALL);
	}
	if (ps.oom) {
		info_free(x);
		return NULL;
	}
	return info_query(x);
}
