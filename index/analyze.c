/*
 * analyze.c: text -> tokens, the one definition of a "word" that indexing
 * and querying share.
 *
 * Owns: token boundaries, case folding and normalization.
 *
 * A token is a maximal run of code points whose Unicode general category is
 * a letter (L*), a mark (M*) or a number (N*), of any script.  Everything
 * else separates tokens: punctuation, symbols, spaces, '_' and every byte of
 * an ill-formed UTF-8 sequence (bad lead bytes, stray continuation bytes,
 * truncated sequences, overlongs, surrogates, values above U+10FFFF).  An
 * ill-formed sequence separates for exactly its maximal ill-formed subpart
 * (Unicode ch. 3, "U+FFFD substitution of maximal subparts"), so a valid
 * byte after it always starts fresh and the analysis never stops early.
 *
 * Folding: full Unicode case folding followed by NFC (utf8proc with
 * CASEFOLD|COMPOSE|STABLE), so "Straße" gives "strasse" and "ΣΊΣΥΦΟΣ" gives
 * "σίσυφοσ".  Pure ASCII tokens (the bulk of source code) never reach
 * utf8proc: a 256-entry table classifies and lowercases each byte.
 *
 * Invariants:
 *  - pos counts every token from 0, including tokens skipped for being
 *    longer than XIHU_MAX_TERM bytes once folded, so phrases never bridge a
 *    skipped token;
 *  - [start, end) are byte offsets of the token in the source text;
 *  - the term is NUL-terminated, never contains NUL, and lives in the
 *    analyzer until the next call.
 * Offsets are 32-bit: texts must be shorter than 4 GiB (the builder caps
 * files far below that).
 *
 * Callers: build.c (documents), query.c (query words), snippet.c
 * (highlighting), so all three agree on what a word is.
 */
#include <string.h>
#include <utf8proc.h>

#include "index-int.h"

/* Folded ASCII letters and digits; 0 for separators and for bytes >= 0x80. */
static const uint8_t ascii_fold[256] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f',
	['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
	['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r',
	['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x',
	['Y'] = 'y', ['Z'] = 'z',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f',
	['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l',
	['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r',
	['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
	['y'] = 'y', ['z'] = 'z',
};

/*
 * Folding never shrinks text by more than a factor of three (a Hangul
 * L+V+T jamo triple composes to one syllable, 9 -> 3 bytes; KELVIN SIGN folds
 * to 'k', 3 -> 1), so a raw token over 4 * XIHU_MAX_TERM bytes cannot fold to
 * XIHU_MAX_TERM bytes or less and is skipped without folding.
 */
#define FOLD_MAX_RAW (4 * XIHU_MAX_TERM)
/* Code points after decomposition: NFC at most composes three into one, so
 * more than 3 * (XIHU_MAX_TERM + 1) of them cannot fit a term either. */
#define FOLD_MAX_CPS (3 * (XIHU_MAX_TERM + 1))
#define FOLD_OPTIONS ((utf8proc_option_t)(UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE))

/*
 * Decodes one UTF-8 sequence at p (n >= 1 bytes, p[0] >= 0x80).  Returns the
 * code point and sets *used to its length, or returns -1 and sets *used to
 * the length of the maximal ill-formed subpart (at least 1).
 */
static int32_t utf8_decode(const uint8_t *p, size_t n, size_t *used)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xBF;
	size_t need;
	int32_t cp;

	if (c < 0xC2) { /* continuation byte, or C0/C1 (always overlong) */
		*used = 1;
		return -1;
	} else if (c < 0xE0) {
		need = 1;
		cp = c & 0x1F;
	} else if (c < 0xF0) {
		need = 2;
		cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c < 0xF5) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		*used = 1;
		return -1;
	}
	size_t i;
	for (i = 1; i <= need && i < n; i++) {
		uint8_t b = p[i];
		if (b < lo || b > hi)
			break;
		cp = cp << 6 | (b & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	if (i <= need) {
		*used = i;
		return -1;
	}
	*used = need + 1;
	return cp;
}

static bool is_word_cp(int32_t cp)
{
	utf8proc_category_t c = utf8proc_category(cp);
	return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_NO; /* L*, M*, N* */
}

/*
 * Folds the well-formed UTF-8 token s[0..n) into a->term.  Returns its
 * length, or -1 when the folded form is longer than XIHU_MAX_TERM bytes.
 */
static int fold_token(analyzer *a, const uint8_t *s, size_t n)
{
	utf8proc_int32_t cps[FOLD_MAX_CPS];

	if (n > FOLD_MAX_RAW)
		return -1;
	utf8proc_ssize_t k = utf8proc_decompose(s, (utf8proc_ssize_t)n, cps, FOLD_MAX_CPS, FOLD_OPTIONS);
	if (k < 0 || k > FOLD_MAX_CPS)
		return -1;
	k = utf8proc_normalize_utf32(cps, k, FOLD_OPTIONS);
	if (k < 0)
		return -1;
	size_t len = 0;
	for (utf8proc_ssize_t i = 0; i < k; i++) {
		uint8_t enc[4];
		utf8proc_ssize_t m = utf8proc_encode_char(cps[i], enc);
		if (len + (size_t)m > XIHU_MAX_TERM)
			return -1;
		memcpy(a->term + len, enc, (size_t)m);
		len += (size_t)m;
	}
	a->term[len] = '\0';
	return (int)len;
}

void analyzer_init(analyzer *a, const char *text, size_t len)
{
	a->text = (const uint8_t *)text;
	a->len = len;
	a->off = 0;
	a->pos = 0;
	a->term[0] = '\0';
}

bool analyzer_next(analyzer *a, token *out)
{
	const uint8_t *t = a->text;
	size_t n = a->len, i = a->off;

	for (;;) {
		/* Skip ASCII separators; anything else is looked at below. */
		while (i < n && t[i] < 0x80 && !ascii_fold[t[i]])
			i++;
		if (i >= n) {
			a->off = n;
			return false;
		}
		size_t start = i, tl = 0, bad = 0;
		bool ascii = true;
		for (;;) {
			uint8_t l;
			while (i < n && (l = ascii_fold[t[i]]) != 0) {
				if (tl < XIHU_MAX_TERM)
					a->term[tl] = (char)l;
				tl++;
				i++;
			}
			if (i >= n || t[i] < 0x80)
				break;
			size_t used;
			int32_t cp = utf8_decode(t + i, n - i, &used);
			if (cp < 0 || !is_word_cp(cp)) {
				bad = used; /* a separator: skip it if it starts the run */
				break;
			}
			ascii = false;
			i += used;
		}
		if (i == start) { /* the run is empty: a non-ASCII separator */
			i += bad;
			continue;
		}
		uint32_t pos = a->pos++;
		int len;
		if (ascii) {
			len = tl > XIHU_MAX_TERM ? -1 : (int)tl;
			if (len >= 0)
				a->term[len] = '\0';
		} else {
			len = fold_token(a, t + start, i - start);
		}
		if (len < 0)
			continue; /* too long: skipped, its position stays taken */
		a->off = i;
		out->term = a->term;
		out->len = (uint32_t)len;
		out->pos = pos;
		out->start = (uint32_t)start;
		out->end = (uint32_t)i;
		return true;
	}
}
