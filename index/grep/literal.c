/*
 * literal.c: the literal in a grep's pattern, and the search by it.
 *
 * Where a pattern is one literal string, its matches are that string's
 * occurrences: found without a regex engine (ripgrep does the same).  Where
 * a regex's every match holds a literal string, only the lines holding it
 * are matched with PCRE2 (match.c): a line-oriented grep may skip the
 * others.  A pattern is read conservatively: whatever is not plainly a
 * literal character ends a run, and anything that could make the pattern
 * match without the run (a top-level '|', flags that change case or
 * spacing) means no literal.  Of the runs, the rarest as a filter is taken.
 *
 * The search: the literal's two rarest bytes compared at their offsets 16
 * places at a time (SSE2, in every x86-64; memchr(3) elsewhere), then the
 * rest; glibc's memmem(3) is not vectorised, and a search through a big
 * answer spends its time here.  Matched without case (-i), an ASCII literal
 * with no k or s (PCRE2 folds those with non-ASCII letters too) compares
 * its letters with the case bit set.  -w is judged on ASCII neighbours; a
 * line with a neighbour past ASCII goes to PCRE2.
 *
 * Called by match.c: grep_literal_of when the patterns are compiled,
 * grep_match_literal for each text when the matcher has a literal.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "grep/grep.h"

/* ---- the literal of a pattern --------------------------------------------------- */

/* How rare byte c is, roughly, in code and prose: 0 for the most common;
 * a byte not listed is rarer than all that are. */
static size_t byte_rank(char c)
{
	static const char common[] = " etaoinsrlcd_uphm\tfg\nb.,()y=;w-*>/v0k1\"x#2{}[]:&<'3A5EST48RNCIOL6DP97MF+!B|HGUWz%jqVK\\XYJQZ";
	const char *at = c ? strchr(common, c) : NULL;
	return at ? (size_t)(at - common) : sizeof common;
}

/* A run's worth as a filter: its rarest byte's rank, then its next
 * rarest's, then its length. */
static uint64_t run_score(const char *s, size_t n)
{
	size_t r1 = 0, r2 = 0;
	for (size_t i = 0; i < n; i++) {
		size_t r = byte_rank(s[i]);
		if (r > r1)
			r2 = r1, r1 = r;
		else if (r > r2)
			r2 = r;
	}
	return (uint64_t)r1 << 32 | (uint64_t)r2 << 16 | (n < 0xffff ? n : 0xffff);
}

/* The run being read and the best run so far (run_score). */
typedef struct runs {
	char cur[256], best[256];
	size_t ncur, nbest;
	bool only; /* the pattern is nothing but one run */
} runs;

static void run_end(runs *r)
{
	bool better = r->ncur >= 3 ? r->nbest < 3 || run_score(r->cur, r->ncur) > run_score(r->best, r->nbest)
	                           : r->ncur > r->nbest; /* short runs are not used, unless the whole pattern */
	if (better) {
		memcpy(r->best, r->cur, r->ncur);
		r->nbest = r->ncur;
	}
	r->ncur = 0;
}

static void run_put(runs *r, char c)
{
	if (r->ncur == sizeof r->cur)
		run_end(r); /* a very long literal: its first 256 bytes do */
	r->cur[r->ncur++] = c;
}

/* The run's last character (a quantifier makes it optional): dropped, with
 * all its UTF-8 bytes. */
static void run_drop_last(runs *r)
{
	while (r->ncur > 0 && ((unsigned char)r->cur[r->ncur - 1] & 0xC0) == 0x80)
		r->ncur--;
	if (r->ncur > 0)
		r->ncur--;
}

/* Skips p[i] == '[' to past its class (nested classes, escapes). */
static size_t skip_class(const char *p, size_t n, size_t i)
{
	int depth = 0;
	while (i < n) {
		if (p[i] == '\\') {
			i += 2;
			continue;
		}
		if (p[i] == '[') {
			depth++;
			i++;
			if (i < n && p[i] == '^')
				i++;
			if (i < n && p[i] == ']')
				i++;
			continue;
		}
		if (p[i] == ']' && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

/* Skips p[i] == '(' to past its group; false when its flags ((?i) ...)
 * change case or spacing. */
static bool skip_group(const char *p, size_t n, size_t *at)
{
	size_t i = *at;
	if (i + 1 < n && p[i + 1] == '?')
		for (size_t j = i + 2; j < n && p[j] != ':' && p[j] != ')'; j++)
			if (p[j] == 'i' || p[j] == 'x')
				return false;
	int depth = 0;
	while (i < n) {
		if (p[i] == '\\') {
			i += 2;
			continue;
		}
		if (p[i] == '[') {
			i = skip_class(p, n, i);
			continue;
		}
		if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && --depth == 0)
			break;
		i++;
	}
	*at = i + 1;
	return true;
}

/* The literal runs of regex p[0..n) that every match holds, the best of
 * them (run_end) into r; false when there is none to trust. */
static bool regex_runs(const char *p, size_t n, runs *r)
{
	bool only = true;
	for (size_t i = 0; i < n;) {
		char c = p[i];
		if (c == '\\') {
			if (i + 1 >= n)
				return false;
			char e = p[i + 1];
			if ((unsigned char)e < 0x80 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", e) && e) {
				run_put(r, e); /* an escaped punctuation character: itself */
				i += 2;
				continue;
			}
			/* a class, an assertion or a character by number: not read */
			only = false;
			run_end(r);
			if ((e == 'p' || e == 'P' || e == 'x' || e == 'u' || e == 'U') && i + 2 < n && p[i + 2] == '{') {
				const char *close = memchr(p + i, '}', n - i);
				i = close ? (size_t)(close - p) + 1 : n;
			} else if (e == 'p' || e == 'P') {
				i += 3;
			} else if (e == 'x') {
				i += 4;
			} else {
				i += 2;
			}
			continue;
		}
		switch (c) {
		case '|':
			return false;
		case '[':
			only = false;
			run_end(r);
			i = skip_class(p, n, i);
			continue;
		case '(':
			only = false;
			run_end(r);
			if (!skip_group(p, n, &i))
				return false;
			continue;
		case '*':
		case '?':
			only = false;
			run_drop_last(r);
			run_end(r);
			i++;
			continue;
		case '{': {
			only = false;
			const char *close = memchr(p + i, '}', n - i);
			if (!close || !(i + 1 < n && p[i + 1] >= '1' && p[i + 1] <= '9'))
				run_drop_last(r); /* {0,...}, or not a repetition: not trusted */
			run_end(r);
			i = close ? (size_t)(close - p) + 1 : n;
			continue;
		}
		case '+':
		case '.':
		case '^':
		case '$':
		case ')':
			only = false;
			run_end(r);
			i++;
			continue;
		default:
			run_put(r, c);
			i++;
		}
	}
	r->only = only && r->nbest == 0;
	run_end(r);
	return true;
}

/* Whether s[0..n), read with case folded, could match other bytes: it has
 * a letter, or bytes past ASCII (whose case this does not judge). */
static bool has_case(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return true;
	}
	return false;
}

/* Whether s[0..n), matched without case, matches exactly the ASCII bytes
 * that are its letters in either case: ASCII, and no k or s (PCRE2 folds
 * those with the Kelvin sign and the long s too). */
static bool foldable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i] | 0x20;
		if ((unsigned char)s[i] >= 0x80 || c == 'k' || c == 's')
			return false;
	}
	return true;
}

/* grep.h */
void grep_literal_of(grep_matcher *m, const grep_pattern_set *ps)
{
	if (ps->n != 1 || ps->len[0] == 0)
		return;
	runs r = {.ncur = 0};
	const char *p = ps->pat[0];
	size_t n = ps->len[0];
	if (ps->fixed) {
		if (n > sizeof r.best)
			return;
		memcpy(r.best, p, n);
		r.nbest = n;
		r.only = true;
	} else if (!regex_runs(p, n, &r) || r.nbest == 0) {
		return;
	}
	bool fold = m->caseless && has_case(r.best, r.nbest);
	if (fold && !foldable(r.best, r.nbest))
		return;
	if (!r.only && r.nbest < 3) /* a short run rules out too few lines to pay */
		return;
	m->lit = malloc(r.nbest);
	if (!m->lit)
		return; /* only slower */
	for (size_t i = 0; i < r.nbest; i++) /* lower case when folded */
		m->lit[i] = fold && r.best[i] >= 'A' && r.best[i] <= 'Z' ? (char)(r.best[i] + 32) : r.best[i];
	m->nlit = r.nbest;
	m->lit_only = r.only;
	m->lit_fold = fold;
	/* the literal's two rarest bytes (byte_rank) */
	size_t best = 0, second = 0;
	m->lit_rare2 = SIZE_MAX;
	for (size_t i = 0; i < m->nlit; i++) {
		size_t rank = byte_rank(m->lit[i]);
		if (i == 0 || rank > best) {
			second = best, m->lit_rare2 = i ? m->lit_rare : SIZE_MAX;
			best = rank, m->lit_rare = i;
		} else if (m->lit_rare2 == SIZE_MAX || rank > second) {
			second = rank, m->lit_rare2 = i;
		}
	}
}

/* Whether a[0..n) is lit[0..n) (lower case) in any case. */
static bool fold_eq(const char *a, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)lit[i])
			return false;
	}
	return true;
}

/* The first occurrence of the literal in p[0..n), or NULL.  glibc's
 * memmem(3) is not vectorised, and memchr(3) for one byte of the literal
 * stops too often on a common one ('c' of "class" in C): the two rarest
 * bytes of the literal are compared at their offsets 16 positions at once
 * (SSE2, in every x86-64), and only where both are there is the rest
 * compared.  Folded, a letter is compared with its case bit set. */
static const char *lit_find(const grep_matcher *m, const char *p, size_t n)
{
	if (n < m->nlit)
		return NULL;
	size_t last = n - m->nlit; /* the last place an occurrence may start */
	size_t i = 0;
#ifdef __SSE2__
	if (m->lit_rare2 != SIZE_MAX) {
		size_t o1 = m->lit_rare, o2 = m->lit_rare2;
		unsigned char b1 = (unsigned char)m->lit[o1], b2 = (unsigned char)m->lit[o2];
		bool l1 = m->lit_fold && b1 >= 'a' && b1 <= 'z', l2 = m->lit_fold && b2 >= 'a' && b2 <= 'z';
		const __m128i want1 = _mm_set1_epi8((char)b1), want2 = _mm_set1_epi8((char)b2);
		const __m128i case1 = _mm_set1_epi8(l1 ? 0x20 : 0), case2 = _mm_set1_epi8(l2 ? 0x20 : 0);
		for (; i + 16 <= last + 1; i += 16) {
			__m128i x1 = _mm_or_si128(_mm_loadu_si128((const __m128i *)(p + i + o1)), case1);
			__m128i x2 = _mm_or_si128(_mm_loadu_si128((const __m128i *)(p + i + o2)), case2);
			unsigned mask = (unsigned)_mm_movemask_epi8(
			    _mm_and_si128(_mm_cmpeq_epi8(x1, want1), _mm_cmpeq_epi8(x2, want2)));
			while (mask) {
				const char *at = p + i + (unsigned)__builtin_ctz(mask);
				if (m->lit_fold ? fold_eq(at, m->lit, m->nlit) : memcmp(at, m->lit, m->nlit) == 0)
					return at;
				mask &= mask - 1;
			}
		}
	}
#endif
	/* the rest, or everything: memchr(3) for the rarest byte, in both cases
	 * when folded */
	size_t k = m->lit_rare;
	const char *q = p + i + k, *stop = p + last + k + 1; /* where the rare byte may be */
	char lo = m->lit[k], up = m->lit_fold && lo >= 'a' && lo <= 'z' ? (char)(lo - 32) : lo;
	/* folded: the next of each case at or after q, when looked for */
	const char *next_lo = stop, *next_up = stop;
	bool have_lo = false, have_up = false;
	while (q < stop) {
		if (lo == up) {
			q = memchr(q, lo, (size_t)(stop - q));
			if (!q)
				return NULL;
		} else {
			if (!have_lo || next_lo < q) {
				const char *f = memchr(q, lo, (size_t)(stop - q));
				next_lo = f ? f : stop;
				have_lo = true;
			}
			if (!have_up || next_up < q) {
				const char *f = memchr(q, up, (size_t)(stop - q));
				next_up = f ? f : stop;
				have_up = true;
			}
			q = next_lo < next_up ? next_lo : next_up;
			if (q == stop)
				return NULL;
		}
		if (m->lit_fold ? fold_eq(q - k, m->lit, m->nlit) : memcmp(q - k, m->lit, m->nlit) == 0)
			return q - k;
		q++;
	}
	return NULL;
}

/* ---- the search ------------------------------------------------------------ */

static bool ascii_word(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* -w at [s, e) of the line [ls, le): 1 no word character either side, 0 one
 * is, -1 a neighbour past ASCII (PCRE2 judges that line). */
static int word_ok(const char *ls, const char *le, const char *s, const char *e)
{
	unsigned char before = s > ls ? (unsigned char)s[-1] : ' ', after = e < le ? (unsigned char)*e : ' ';
	if (before >= 0x80 || after >= 0x80)
		return -1;
	return !ascii_word(before) && !ascii_word(after);
}

/* The occurrences in [from, le) of the literal (under -w, those with no
 * word character beside them) as spans of the line at ls, after those
 * already in sc; all of them with spans, else the first.  -1 when a -w
 * neighbour is past ASCII: the line is for PCRE2; -1000 out of memory. */
static int literal_spans(const grep_matcher *m, grep_scratch *sc, const char *ls, const char *le,
                         const char *from, bool spans)
{
	for (const char *q = from; (size_t)(le - q) >= m->nlit;) {
		const char *hit = lit_find(m, q, (size_t)(le - q));
		if (!hit)
			break;
		int ok = m->word ? word_ok(ls, le, hit, hit + m->nlit) : 1;
		if (ok < 0)
			return -1;
		if (!ok) {
			q = hit + 1;
			continue;
		}
		if (!grep_add_span(sc, (size_t)(hit - ls), (size_t)(hit - ls) + m->nlit))
			return -1000;
		if (!spans)
			break;
		q = hit + m->nlit;
	}
	return (int)sc->nspans;
}

/* The lines of text holding the literal: each matched with PCRE2 alone, or,
 * when the pattern is the literal (m->lit_only), its occurrences are its
 * matches. */
int grep_match_literal(const grep_matcher *m, grep_scratch *sc, const char *text, size_t len, const char *what,
                       bool spans, grep_line_fn fn, void *ctx, xihu_err *err)
{
	const char *end = text + len, *p = text, *counted = text;
	uint64_t lineno = 1;
	while ((size_t)(end - p) >= m->nlit) {
		const char *hit = lit_find(m, p, (size_t)(end - p));
		if (!hit)
			break;
		const char *nl = memrchr(p, '\n', (size_t)(hit - p));
		const char *ls = nl ? nl + 1 : p;
		const char *le = memchr(hit, '\n', (size_t)(end - hit));
		if (!le)
			le = end;
		lineno += grep_count_lines(counted, ls);
		counted = ls;
		sc->nspans = 0;
		int n = m->lit_only ? literal_spans(m, sc, ls, le, hit, spans) : -1;
		if (n == -1) {
			sc->nspans = 0;
			n = grep_match_line(m, sc, ls, (size_t)(le - ls));
			if (n > 1 && !spans) /* the first is enough (grep_match_text) */
				n = 1, sc->nspans = 1;
		}
		if (n < 0)
			return grep_match_error(n, what, lineno, err);
		if (n > 0) {
			int stop = fn(ctx, lineno, ls, (size_t)(le - ls), sc->spans, sc->nspans);
			if (stop)
				return stop > 0 ? 0 : stop;
		}
		if (le == end)
			break;
		p = le + 1;
	}
	return 0;
}
