/*
 * match.c: the patterns of a grep, compiled once with PCRE2 and matched
 * against a text line by line as ripgrep 13 matches them (grep.h).
 *
 * ripgrep reads its patterns as Rust regex syntax, Unicode-aware, matched a
 * line at a time; PCRE2 in UTF mode with Unicode properties for \w \d \s \b
 * (PCRE2_UCP) reads the same syntax the same way, with four translations
 * made here: several patterns become one alternation, a fixed string is
 * escaped, a POSIX class ([[:alpha:]]), ASCII-only in Rust but Unicode
 * in PCRE2 under UCP, is spelled out as its ASCII ranges, and \w \W \b \B
 * (outside a class; \w inside one too) are spelled out with Rust's word
 * characters (RUST_W), which are not PCRE2's.  -w is ripgrep's "no word
 * character on either side of the match", as lookarounds of the same
 * class.  On a text of ASCII only the untranslated pattern runs, compiled
 * without Unicode (the same answer, several times faster).
 *
 * Matching: one pass over the whole text with PCRE2_MULTILINE (^ and $ at
 * line ends) finds the next line that can match; that line is then matched
 * on its own, so a line's matches (and its anchors and \b) are exactly
 * those of the line alone, and a match that ran over a '\n' in the whole
 * text (\s, a negated class) is never reported as such.  Patterns whose
 * meaning on the whole text may differ from their meaning on a line (\A,
 * \z, \Z, \G, lookarounds of the user's) are matched line by line.  A
 * matcher with a literal (literal.c) is matched through it instead.
 *
 * Limits: PCRE2's match limit (GREP_MATCH_LIMIT steps per match attempt)
 * bounds a catastrophic pattern; reaching it ends the text's search with
 * XIHU_ELIMIT naming the line, which the caller reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "grep/grep.h"

/* ---- the pattern as PCRE2 reads it --------------------------------------- */

/* The translated pattern, and for each of its bytes the 0-based offset in
 * the user's pattern it came from (for an error's column). */
typedef struct tr {
	char *s;
	uint32_t *from;
	size_t len, cap;
	bool oom;
	bool rust_w; /* \w \W \b \B spelled out as Rust's (RUST_W), for UTF mode */
} tr;

/* Rust's regex \w (ripgrep's): Alphabetic, marks, decimal digits,
 * connector punctuation and the joiners.  PCRE2 10.42's \w under UCP is
 * letters, every number and '_': it takes the digits Rust does not (No:
 * the 2 of log2 written with a subscript, a vulgar half) and leaves out
 * marks and circled letters, so a pattern with \w or \b matched other
 * lines or columns than rg's (bench/grep-parity on the Go tree: \w+\(). */
#define RUST_W "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"

static void tr_put(tr *t, const char *s, size_t n, uint32_t from)
{
	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *ns = realloc(t->s, cap);
		if (ns)
			t->s = ns;
		uint32_t *nf = realloc(t->from, cap * sizeof *nf);
		if (nf)
			t->from = nf;
		if (!ns || !nf) {
			t->oom = true;
			return;
		}
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	for (size_t i = 0; i < n; i++)
		t->from[t->len + i] = from;
	t->len += n;
	t->s[t->len] = 0;
}

static const struct {
	const char *name, *ascii;
} posix_classes[] = {
	{"alnum", "0-9A-Za-z"},        {"alpha", "A-Za-z"},       {"ascii", "\\x00-\\x7F"},
	{"blank", "\\t "},             {"cntrl", "\\x00-\\x1F\\x7F"}, {"digit", "0-9"},
	{"graph", "!-~"},              {"lower", "a-z"},          {"print", " -~"},
	{"punct", "!-/:-@\\[-`{-~"},   {"space", "\\t\\n\\v\\f\\r "}, {"upper", "A-Z"},
	{"word", "0-9A-Za-z_"},        {"xdigit", "0-9A-Fa-f"},
};

/* At p (after "[:"), a POSIX class name and ":]": its ASCII set, and the
 * bytes it takes (name, ":]", and a leading '^' of a negated one). */
static const char *posix_class(const char *p, const char *end, size_t *used, bool *neg)
{
	*neg = p < end && *p == '^';
	const char *q = p + *neg;
	for (size_t i = 0; i < sizeof posix_classes / sizeof posix_classes[0]; i++) {
		size_t n = strlen(posix_classes[i].name);
		if ((size_t)(end - q) >= n + 2 && memcmp(q, posix_classes[i].name, n) == 0 && q[n] == ':' &&
		    q[n + 1] == ']') {
			*used = (size_t)(q - p) + n + 2;
			return posix_classes[i].ascii;
		}
	}
	return NULL;
}

/* Appends pattern p[0..n) at user offset base, translated (see the top). */
static void tr_regex(tr *t, const char *p, size_t n, uint32_t base)
{
	int depth = 0; /* inside a bracket class */
	for (size_t i = 0; i < n;) {
		if (p[i] == '\\' && i + 1 < n) {
			char e = p[i + 1];
			const char *as = NULL;
			if (t->rust_w && depth == 0 && (e == 'w' || e == 'W'))
				as = e == 'w' ? "[" RUST_W "]" : "[^" RUST_W "]";
			else if (t->rust_w && depth > 0 && e == 'w')
				as = RUST_W; /* \W in a class stays PCRE2's: no set difference there */
			else if (t->rust_w && depth == 0 && e == 'b')
				as = "(?:(?<=[" RUST_W "])(?![" RUST_W "])|(?<![" RUST_W "])(?=[" RUST_W "]))";
			else if (t->rust_w && depth == 0 && e == 'B')
				as = "(?:(?<=[" RUST_W "])(?=[" RUST_W "])|(?<![" RUST_W "])(?![" RUST_W "]))";
			if (as)
				tr_put(t, as, strlen(as), base + (uint32_t)i);
			else
				tr_put(t, p + i, 2, base + (uint32_t)i);
			i += 2;
			continue;
		}
		if (p[i] == '[') {
			if (depth > 0 && i + 1 < n && p[i + 1] == ':') {
				size_t used;
				bool neg;
				const char *set = posix_class(p + i + 2, p + n, &used, &neg);
				if (set && !neg) {
					tr_put(t, set, strlen(set), base + (uint32_t)i);
					i += 2 + used;
					continue;
				}
			}
			if (depth == 0) {
				/* the class's first ']' (after an optional '^') is a literal */
				tr_put(t, "[", 1, base + (uint32_t)i);
				i++;
				if (i < n && p[i] == '^')
					tr_put(t, "^", 1, base + (uint32_t)i++);
				if (i < n && p[i] == ']')
					tr_put(t, "\\]", 2, base + (uint32_t)i++);
				depth = 1;
				continue;
			}
			depth++; /* a nested class (Rust's set operations): passed through */
		} else if (p[i] == ']' && depth > 0) {
			depth--;
		}
		tr_put(t, p + i, 1, base + (uint32_t)i);
		i++;
	}
}

static void tr_fixed(tr *t, const char *p, size_t n, uint32_t base)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			if (c < 0x20 || c == 0x7f) {
				char hex[8];
				snprintf(hex, sizeof hex, "\\x%02x", c);
				tr_put(t, hex, 4, base + (uint32_t)i);
				continue;
			}
			tr_put(t, "\\", 1, base + (uint32_t)i);
		}
		tr_put(t, p + i, 1, base + (uint32_t)i);
	}
}

/* ---- smart case and what ripgrep refuses ---------------------------------- */

/* Decodes the UTF-8 character at p (at least one byte); -1 if invalid. */
static int32_t cp_at(const char *p, size_t n, size_t *used)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)p, (utf8proc_ssize_t)n, &cp);
	*used = k > 0 ? (size_t)k : 1;
	return k > 0 ? cp : -1;
}

static bool is_upper(int32_t cp)
{
	if (cp < 0)
		return false;
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z';
	utf8proc_category_t c = utf8proc_category(cp);
	return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LT;
}

/* ripgrep's smart case: case-insensitive when the patterns hold at least one
 * literal character and none of their literal characters is upper case.
 * Escapes that stand for classes or assertions (\w, \B, \pL...) are not
 * literals; an escaped character (\., \x41) is. */
static bool smart_caseless(const grep_pattern_set *ps)
{
	bool any = false;
	for (size_t k = 0; k < ps->n; k++) {
		const char *p = ps->pat[k];
		size_t n = ps->len[k];
		for (size_t i = 0; i < n;) {
			size_t used;
			if (!ps->fixed && p[i] == '\\' && i + 1 < n) {
				char e = p[i + 1];
				if (e == 'p' || e == 'P') { /* \pL, \p{Greek} */
					const char *close = i + 2 < n && p[i + 2] == '{' ? memchr(p + i, '}', n - i) : NULL;
					i = close ? (size_t)(close - p) + 1 : i + 3;
					continue;
				}
				if (e == 'x') { /* \x41, \x{41}: the character it names */
					unsigned long v = strtoul(p + i + 2 + (i + 2 < n && p[i + 2] == '{'), NULL, 16);
					any = true;
					if (is_upper((int32_t)v))
						return false;
					i += 2;
					continue;
				}
				if (strchr("dDwWsSbBAzZGnrtfv", e)) {
					i += 2;
					continue;
				}
				i++; /* an escaped character: the literal follows */
			}
			if (!ps->fixed && strchr("()[]{}|*+?.^$,-:=!<>", p[i])) {
				i++;
				continue;
			}
			int32_t cp = cp_at(p + i, n - i, &used);
			any = true;
			if (is_upper(cp))
				return false;
			i += used;
		}
	}
	return any;
}

/* ripgrep refuses a pattern that names a line end; so do we, in its words. */
static int check_no_newline(const grep_pattern_set *ps, xihu_err *err)
{
	for (size_t k = 0; k < ps->n; k++) {
		const char *p = ps->pat[k];
		size_t n = ps->len[k];
		for (size_t i = 0; i < n; i++) {
			bool esc = !ps->fixed && p[i] == '\\' && i + 1 < n && p[i + 1] == 'n';
			if (p[i] == '\n' || esc) {
				xihu_err_set(err, XIHU_EQUERY, "the literal \"\\n\" is not allowed in a pattern (column %zu)",
				             i + 1);
				err->column = (uint32_t)i + 1;
				return XIHU_EQUERY;
			}
			if (!ps->fixed && p[i] == '\\')
				i++;
		}
	}
	return 0;
}

/* Whether the patterns use what makes a whole-text match differ from a
 * line's: \A \z \Z \G, lookarounds, or a backslash-K. */
static bool needs_lines(const grep_pattern_set *ps)
{
	if (ps->fixed)
		return false;
	for (size_t k = 0; k < ps->n; k++) {
		const char *p = ps->pat[k];
		size_t n = ps->len[k];
		for (size_t i = 0; i + 1 < n; i++) {
			if (p[i] == '\\') {
				if (strchr("AzZGK", p[i + 1]))
					return true;
				i++;
			} else if (p[i] == '(' && p[i + 1] == '?' && i + 2 < n &&
			           (p[i + 2] == '=' || p[i + 2] == '!' || p[i + 2] == '<')) {
				if (!(p[i + 2] == '<' && i + 3 < n && p[i + 3] != '=' && p[i + 3] != '!'))
					return true;
			}
		}
	}
	return false;
}

/* ---- compiling ---------------------------------------------------------- */

/* Where the group a missing ')' leaves open starts (0-based), as ripgrep
 * points at it; else where PCRE2 noticed. */
static uint32_t unclosed_group(const char *p, size_t n, uint32_t noticed)
{
	uint32_t stack[64];
	size_t depth = 0;
	bool in_class = false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\') {
			i++;
		} else if (in_class) {
			in_class = p[i] != ']';
		} else if (p[i] == '[') {
			in_class = true;
			if (i + 1 < n && p[i + 1] == '^')
				i++;
			if (i + 1 < n && p[i + 1] == ']')
				i++;
		} else if (p[i] == '(') {
			if (depth < 64)
				stack[depth] = (uint32_t)i;
			depth++;
		} else if (p[i] == ')' && depth) {
			depth--;
		}
	}
	return depth && depth <= 64 ? stack[depth - 1] : noticed;
}

static int compile_error(grep_matcher *m, const tr *t, int code, size_t off, const grep_pattern_set *ps,
                         xihu_err *err)
{
	PCRE2_UCHAR msg[256];
	if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
		snprintf((char *)msg, sizeof msg, "error %d", code);
	uint32_t col = t->len ? t->from[off < t->len ? off : t->len - 1] : 0;
	/* the offset in the user's pattern: find which one it is in */
	size_t k = 0, base = 0;
	while (k + 1 < ps->n && col >= base + ps->len[k] + 1)
		base += ps->len[k++] + 1;
	col -= (uint32_t)base;
	if (code == PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS && k < ps->n)
		col = unclosed_group(ps->pat[k], ps->len[k], col);
	if (ps->n > 1)
		xihu_err_set(err, XIHU_EQUERY, "regex parse error in pattern %zu at column %u: %s", k + 1, col + 1,
		             (char *)msg);
	else
		xihu_err_set(err, XIHU_EQUERY, "regex parse error at column %u: %s", col + 1, (char *)msg);
	err->column = col + 1;
	grep_matcher_free(m);
	return XIHU_EQUERY;
}

/* The patterns as one PCRE2 pattern (see the top); user offsets count the
 * patterns as if joined by one byte. */
static void build_pattern(tr *t, const grep_pattern_set *ps)
{
	const char *no_w_before = t->rust_w ? "(?<![" RUST_W "])(?:" : "(?<!\\w)(?:";
	const char *no_w_after = t->rust_w ? ")(?![" RUST_W "])" : ")(?!\\w)";
	if (ps->word)
		tr_put(t, no_w_before, strlen(no_w_before), 0);
	uint32_t base = 0;
	for (size_t k = 0; k < ps->n; k++) {
		if (k)
			tr_put(t, "|", 1, base - 1);
		tr_put(t, "(?:", 3, base);
		if (ps->fixed)
			tr_fixed(t, ps->pat[k], ps->len[k], base);
		else
			tr_regex(t, ps->pat[k], ps->len[k], base);
		tr_put(t, ")", 1, base + (uint32_t)ps->len[k]);
		base += (uint32_t)ps->len[k] + 1;
	}
	if (ps->word)
		tr_put(t, no_w_after, strlen(no_w_after), base ? base - 1 : 0);
}

/* Whether p[0..n) is all ASCII (no byte >= 0x80). */
static bool is_ascii(const char *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= (unsigned char)p[i];
	return !(acc & 0x8080808080808080ull);
}

static bool valid_utf8(const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t used;
		if (cp_at(p + i, n - i, &used) < 0)
			return false;
		i += used;
	}
	return true;
}

int grep_matcher_new(const grep_pattern_set *ps, grep_matcher **out, xihu_err *err)
{
	*out = NULL;
	if (ps->n == 0)
		return xihu_err_set(err, XIHU_EINVAL, "grep: no pattern");
	size_t total = 0;
	for (size_t k = 0; k < ps->n; k++)
		total += ps->len[k];
	if (total > GREP_MAX_PATTERN)
		return xihu_err_set(err, XIHU_ELIMIT, "pattern too long: %zu bytes (the limit is %u)", total,
		                    GREP_MAX_PATTERN);
	int rc = check_no_newline(ps, err);
	if (rc)
		return rc;
	grep_matcher *m = calloc(1, sizeof *m);
	if (!m)
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	m->caseless = ps->case_mode == GREP_CASE_INSENSITIVE ||
	              (ps->case_mode == GREP_CASE_SMART && smart_caseless(ps));
	m->by_line = needs_lines(ps);
	/* t: as PCRE2 in UTF mode reads it, \w and \b as Rust's; plain: as
	 * written, for the ASCII texts' pattern and for a pattern that is not
	 * UTF-8 (no Unicode mode) */
	tr t = {.rust_w = true}, plain = {0};
	build_pattern(&t, ps);
	build_pattern(&plain, ps);
	if (t.oom || plain.oom) {
		free(t.s), free(t.from), free(plain.s), free(plain.from), free(m);
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	}
	uint32_t opts = PCRE2_MULTILINE | (m->caseless ? PCRE2_CASELESS : 0);
	if (valid_utf8(plain.s, plain.len)) {
		opts |= PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
	} else {
		free(t.s), free(t.from);
		t = plain;
		plain = (tr){0};
	}
	int code;
	PCRE2_SIZE off;
	m->re = pcre2_compile((PCRE2_SPTR)t.s, t.len, opts, &code, &off, NULL);
	if (!m->re) {
		rc = compile_error(m, &t, code, off, ps, err);
		free(t.s), free(t.from), free(plain.s), free(plain.from);
		return rc;
	}
	/* the same pattern for ASCII texts without Unicode's tables: \w \d \s \b
	 * and case mean the same on ASCII text, several times faster */
	if ((opts & PCRE2_UTF) && is_ascii(plain.s, plain.len)) {
		m->re_ascii = pcre2_compile((PCRE2_SPTR)plain.s, plain.len,
		                            opts & ~(PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF), &code, &off, NULL);
		if (m->re_ascii)
			pcre2_jit_compile(m->re_ascii, PCRE2_JIT_COMPLETE);
	}
	free(t.s), free(t.from), free(plain.s), free(plain.from);
	m->jit = pcre2_jit_compile(m->re, PCRE2_JIT_COMPLETE) == 0;
	m->mctx = pcre2_match_context_create(NULL);
	if (!m->mctx) {
		grep_matcher_free(m);
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	}
	pcre2_set_match_limit(m->mctx, GREP_MATCH_LIMIT);
	pcre2_set_depth_limit(m->mctx, GREP_MATCH_LIMIT);
	grep_literal_of(m, ps);
	m->word = ps->word;
	*out = m;
	return 0;
}

void grep_matcher_free(grep_matcher *m)
{
	if (!m)
		return;
	pcre2_code_free(m->re);
	pcre2_code_free(m->re_ascii);
	pcre2_match_context_free(m->mctx);
	free(m->lit);
	free(m);
}

bool grep_matcher_caseless(const grep_matcher *m)
{
	return m->caseless;
}

int grep_scratch_init(grep_scratch *sc, const grep_matcher *m, xihu_err *err)
{
	memset(sc, 0, sizeof *sc);
	sc->md = pcre2_match_data_create_from_pattern(m->re, NULL);
	sc->mctx = pcre2_match_context_copy(m->mctx);
	if (m->jit) {
		sc->stack = pcre2_jit_stack_create(32 << 10, 4 << 20, NULL);
		if (sc->stack && sc->mctx)
			pcre2_jit_stack_assign(sc->mctx, NULL, sc->stack);
	}
	if (!sc->md || !sc->mctx || (m->jit && !sc->stack)) {
		grep_scratch_free(sc);
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	}
	return 0;
}

void grep_scratch_free(grep_scratch *sc)
{
	pcre2_match_data_free(sc->md);
	pcre2_match_context_free(sc->mctx);
	pcre2_jit_stack_free(sc->stack);
	free(sc->spans);
	memset(sc, 0, sizeof *sc);
}

/* ---- matching ------------------------------------------------------------ */

/* One match in s[0..n) from start: 1 with [*ms, *me), 0 none, <0 a PCRE2
 * error (the match limit among them). */
static int find(const grep_matcher *m, grep_scratch *sc, const char *s, size_t n, size_t start, size_t *ms,
                size_t *me)
{
	int rc = pcre2_match(sc->re ? sc->re : m->re, (PCRE2_SPTR)s, n, start, 0, sc->md, sc->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return rc;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
	*ms = ov[0];
	*me = ov[1] < ov[0] ? ov[0] : ov[1]; /* \K can put the end before the start */
	return 1;
}

bool grep_add_span(grep_scratch *sc, size_t s, size_t e)
{
	if (!xarray_reserve(&sc->spans, &sc->capspans, sc->nspans + 1, sizeof *sc->spans))
		return false;
	sc->spans[sc->nspans++] = (xihu_index_span){(uint32_t)s, (uint32_t)e};
	return true;
}

/* Every match of the line line[0..n), as Rust's find_iter gives them: an
 * empty match right where the last one ended is skipped.  Returns the
 * number of spans (in sc->spans), or <0 (a PCRE2 error, or -1000 for out of
 * memory). */
int grep_match_line(const grep_matcher *m, grep_scratch *sc, const char *line, size_t n)
{
	sc->nspans = 0;
	size_t at = 0, last_end = SIZE_MAX;
	while (at <= n) {
		size_t s, e;
		int rc = find(m, sc, line, n, at, &s, &e);
		if (rc <= 0)
			return rc < 0 ? rc : (int)sc->nspans;
		if (s == e && s == last_end) {
			at = s + 1;
			continue;
		}
		if (!grep_add_span(sc, s, e))
			return -1000;
		last_end = e;
		at = e > s ? e : e + 1;
	}
	return (int)sc->nspans;
}

int grep_match_error(int rc, const char *what, uint64_t lineno, xihu_err *err)
{
	if (rc == -1000)
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
	    rc == PCRE2_ERROR_JIT_STACKLIMIT)
		return xihu_err_set(err, XIHU_ELIMIT,
		                    "%s: line %llu: the pattern's match limit was reached (%u steps): the rest of "
		                    "the file was not searched",
		                    what, (unsigned long long)lineno, GREP_MATCH_LIMIT);
	PCRE2_UCHAR msg[160];
	if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
		snprintf((char *)msg, sizeof msg, "error %d", rc);
	return xihu_err_set(err, XIHU_EINVAL, "%s: line %llu: %s", what, (unsigned long long)lineno,
	                    (char *)msg);
}

/* grep.h */
uint64_t grep_count_lines(const char *from, const char *to)
{
	/* eight bytes at a time: a '\n' becomes a zero byte, and each zero byte
	 * sets its high bit exactly (no borrow from its neighbours) */
	const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full, nl = 0x0A0A0A0A0A0A0A0Aull;
	uint64_t k = 0;
	for (; to - from >= 8; from += 8) {
		uint64_t w;
		memcpy(&w, from, 8);
		w ^= nl;
		uint64_t zero = ~(((w & low7) + low7) | w | low7);
		/* each byte now 0 or 1; one multiplication sums them (no popcnt
		 * instruction in the x86-64 baseline: __builtin_popcountll is a call) */
		k += ((zero >> 7) * 0x0101010101010101ull) >> 56;
	}
	for (; from < to; from++)
		k += *from == '\n';
	return k;
}

/* Line by line, each matched alone: the patterns whose meaning on the whole
 * text may differ from a line's (grep_matcher.by_line). */
static int match_lines(const grep_matcher *m, grep_scratch *sc, const char *text, size_t len, const char *what,
                       grep_line_fn fn, void *ctx, xihu_err *err)
{
	const char *p = text, *end = text + len;
	for (uint64_t lineno = 1; p < end; lineno++) {
		const char *le = memchr(p, '\n', (size_t)(end - p));
		if (!le)
			le = end;
		int n = grep_match_line(m, sc, p, (size_t)(le - p));
		if (n < 0)
			return grep_match_error(n, what, lineno, err);
		if (n > 0) {
			int stop = fn(ctx, lineno, p, (size_t)(le - p), sc->spans, (uint32_t)n);
			if (stop)
				return stop > 0 ? 0 : stop;
		}
		p = le + 1;
	}
	return 0;
}

/* The next match in the whole text from at: 1 with [*s, *e), 0 none, < 0 an error. */
static int next_match(const grep_matcher *m, grep_scratch *sc, const char *text, size_t len, size_t at, size_t *s,
                      size_t *e)
{
	return at > len ? 0 : find(m, sc, text, len, at, s, e);
}

/* The rest of the matches of the line [ls, le) (offsets in text) after its
 * first, [s, e), found by going on with the whole-text search (see the
 * top): into sc->spans.  *rc, *ns, *ne: the first match past the line,
 * found on the way.  Returns false when a match ran over the line's end:
 * the line must then be matched alone. */
static bool rest_of_line(const grep_matcher *m, grep_scratch *sc, const char *text, size_t len, size_t ls,
                         size_t le, size_t e, int *rc, size_t *ns, size_t *ne)
{
	size_t last_end = e, at = e;
	for (;;) {
		*rc = next_match(m, sc, text, len, at, ns, ne);
		if (*rc <= 0 || *ns > le)
			return true;
		if (*ns == *ne && *ns == last_end) { /* Rust's find_iter: not right where the last one ended */
			at = *ns + 1;
			continue;
		}
		if (*ne > le)
			return false;
		if (!grep_add_span(sc, *ns - ls, *ne - ls)) {
			*rc = -1000;
			return true;
		}
		last_end = at = *ne;
	}
}

int grep_match_text(const grep_matcher *m, grep_scratch *sc, const char *text, size_t len, const char *what,
                    bool spans, grep_line_fn fn, void *ctx, xihu_err *err)
{
	if (m->lit) { /* literal.c */
		sc->re = NULL; /* the Unicode pattern: right for any line matched after */
		return grep_match_literal(m, sc, text, len, what, spans, fn, ctx, err);
	}
	/* for this text and the grep_match_line calls on its lines after it */
	sc->re = m->re_ascii && is_ascii(text, len) ? m->re_ascii : NULL;
	if (m->by_line)
		return match_lines(m, sc, text, len, what, fn, ctx, err);
	uint64_t lineno = 1;
	const char *counted = text; /* lineno is the number of the line holding counted */
	size_t s, e, floor = 0;
	int rc = next_match(m, sc, text, len, 0, &s, &e);
	while (rc > 0) {
		if (s == len && (len == 0 || text[len - 1] == '\n'))
			break; /* an empty match after the last '\n': no line there */
		size_t ls = s, le;
		while (ls > floor && text[ls - 1] != '\n')
			ls--;
		const char *nl = memchr(text + s, '\n', len - s);
		le = nl ? (size_t)(nl - text) : len;
		lineno += grep_count_lines(counted, text + ls);
		counted = text + ls;
		sc->nspans = 0;
		bool alone = e > le; /* the match ran over the line's end */
		if (!alone && !grep_add_span(sc, s - ls, e - ls))
			return grep_match_error(-1000, what, lineno, err);
		uint64_t failed_at = lineno; /* where the search that failed began, if one does */
		if (!alone && spans)
			alone = !rest_of_line(m, sc, text, len, ls, le, e, &rc, &s, &e);
		else if (!alone)
			rc = next_match(m, sc, text, len, le + 1, &s, &e), failed_at = lineno + 1;
		if (alone) {
			int n = grep_match_line(m, sc, text + ls, le - ls);
			if (n < 0)
				return grep_match_error(n, what, lineno, err);
			rc = next_match(m, sc, text, len, le + 1, &s, &e), failed_at = lineno + 1;
		}
		if (rc < 0)
			return grep_match_error(rc, what, failed_at, err);
		if (sc->nspans > 0) {
			int stop = fn(ctx, lineno, text + ls, le - ls, sc->spans, sc->nspans);
			if (stop)
				return stop > 0 ? 0 : stop;
		}
		if (le == len)
			break;
		floor = le + 1;
	}
	if (rc < 0) /* the first search, from the start */
		return grep_match_error(rc, what, 1, err);
	return 0;
}
