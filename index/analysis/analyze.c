/*
 * analyze.c: text -> tokens, the one definition of a "word" that indexing
 * and querying share.
 *
 * Owns: token boundaries, identifier splitting, CJK bigrams, Unicode
 * folding, and applying an index's analysis (wordsets.c: stemming,
 * stopwords, diacritic folding) to each token.
 *
 * Characters.  A word character is a code point whose general category is
 * a letter (L*), a mark (M*) or a number (N*), of any script.  Everything
 * else separates: punctuation, symbols, spaces and every byte of an
 * ill-formed UTF-8 sequence (bad lead bytes, stray continuation bytes,
 * truncated sequences, overlongs, surrogates, values above U+10FFFF).  An
 * ill-formed sequence separates for exactly its maximal ill-formed subpart
 * (Unicode ch. 3, "U+FFFD substitution of maximal subparts"), so a valid
 * byte after it always starts fresh and the analysis never stops early.
 * '_' separates too, except that it joins an identifier (below).
 *
 * Chunks.  Word characters of the CJK scripts (Han, Hiragana, Katakana,
 * Hangul, Bopomofo: is_cjk) and the others never share a chunk, so mixed
 * text ("使用Linux内核") splits where the script changes.
 *  - A CJK run is cut into clusters (a character and the combining marks,
 *    halfwidth sound marks and trailing Hangul jamo after it) and indexed
 *    as overlapping bigrams at consecutive positions: ABCD gives AB, BC,
 *    CD.  A run of one cluster is a unigram.  Two or more CJK characters
 *    typed in a query give the phrase of their bigrams, which matches
 *    exactly where the characters stand together in one run.
 *  - Any other chunk is an identifier: runs of word characters joined by
 *    '_' (foo_bar, __x is x, y_ is y).  Its parts are split at '_' and at
 *    camelCase boundaries: lower -> Upper (parseHttp: parse|http) and
 *    Upper -> Upper + lower (HTTPServer: http|server; u32Value: u32|value,
 *    a digit counting as Upper there).  A part starting with a digit is not
 *    split (0xDEADBeef, 1stPlace) and digits do not split from letters
 *    (x86, u32, sha256, i2c stay whole: people search them whole, and
 *    splitting them would triple their postings).  Parts take consecutive
 *    positions as ordinary tokens.  When there are at least two, the whole
 *    identifier, folded with its '_' kept (parsehttprequest,
 *    max_frame_size), is one more token at the position of the first part,
 *    emitted before it, flagged whole: it takes no position, does not count
 *    in a field's length, is not stemmed, and phrases never use it.
 *
 * Folding: Unicode NFKC case folding (utf8proc CASEFOLD|COMPAT|COMPOSE|
 * STABLE), so "Straße" gives "strasse", "ＬＩＮＵＸ" gives "linux" and
 * "ﬁle" gives "file"; with the index's --fold-diacritics also STRIPMARK
 * (after decomposition), so "café" gives "cafe" -- never on CJK, where the
 * marks are kana voicing.  Pure ASCII parts (the bulk of source code)
 * never reach utf8proc: a table classifies and lowercases each byte.
 *
 * Then, unless the text is analyzed ANALYZE_PLAIN (a prefix, a stopword
 * list): a token in the index's stopword list is dropped but keeps its
 * position, and, with --stem, parts and plain tokens (not wholes, not CJK)
 * go through the Snowball stemmer.
 *
 * Invariants:
 *  - positions count from 0; every part, plain token and CJK gram takes
 *    one, including those skipped for being longer than XIHU_MAX_TERM bytes
 *    once folded and stopwords, so phrases never bridge a skipped token;
 *    tokens that are not whole come in strictly increasing positions;
 *  - [start, end) are byte offsets of the token in the source text (a
 *    bigram's spans its two clusters, so neighbours overlap);
 *  - the term is 1..XIHU_MAX_TERM bytes, NUL-terminated, never contains
 *    NUL, and lives in the analyzer until the next call.
 * Offsets are 32-bit: texts must be shorter than 4 GiB (the builder caps
 * files far below that).
 *
 * Callers: pipeline.c (documents), query.c (query words), snippet.c
 * (highlighting), settings.c (stopword lists), so all agree on what a
 * word is.
 */
#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "analysis/analysis.h"

/* Character kinds.  Word kinds are K_UP and above; K_CJK only for CJK. */
enum { K_SEP, K_UP, K_LO, K_DIG, K_OTHER, K_MARK, K_CJK };

static const uint8_t ascii_kind[128] = {
	['0'] = K_DIG, ['1'] = K_DIG, ['2'] = K_DIG, ['3'] = K_DIG, ['4'] = K_DIG,
	['5'] = K_DIG, ['6'] = K_DIG, ['7'] = K_DIG, ['8'] = K_DIG, ['9'] = K_DIG,
	['A'] = K_UP, ['B'] = K_UP, ['C'] = K_UP, ['D'] = K_UP, ['E'] = K_UP, ['F'] = K_UP,
	['G'] = K_UP, ['H'] = K_UP, ['I'] = K_UP, ['J'] = K_UP, ['K'] = K_UP, ['L'] = K_UP,
	['M'] = K_UP, ['N'] = K_UP, ['O'] = K_UP, ['P'] = K_UP, ['Q'] = K_UP, ['R'] = K_UP,
	['S'] = K_UP, ['T'] = K_UP, ['U'] = K_UP, ['V'] = K_UP, ['W'] = K_UP, ['X'] = K_UP,
	['Y'] = K_UP, ['Z'] = K_UP,
	['a'] = K_LO, ['b'] = K_LO, ['c'] = K_LO, ['d'] = K_LO, ['e'] = K_LO, ['f'] = K_LO,
	['g'] = K_LO, ['h'] = K_LO, ['i'] = K_LO, ['j'] = K_LO, ['k'] = K_LO, ['l'] = K_LO,
	['m'] = K_LO, ['n'] = K_LO, ['o'] = K_LO, ['p'] = K_LO, ['q'] = K_LO, ['r'] = K_LO,
	['s'] = K_LO, ['t'] = K_LO, ['u'] = K_LO, ['v'] = K_LO, ['w'] = K_LO, ['x'] = K_LO,
	['y'] = K_LO, ['z'] = K_LO,
};

/* 1 << kind of each ASCII letter and digit, 0 for other bytes (and >= 0x80). */
static const uint8_t ascii_bit[256] = {
	['0'] = 1 << K_DIG, ['1'] = 1 << K_DIG, ['2'] = 1 << K_DIG, ['3'] = 1 << K_DIG, ['4'] = 1 << K_DIG,
	['5'] = 1 << K_DIG, ['6'] = 1 << K_DIG, ['7'] = 1 << K_DIG, ['8'] = 1 << K_DIG, ['9'] = 1 << K_DIG,
	['A'] = 1 << K_UP, ['B'] = 1 << K_UP, ['C'] = 1 << K_UP, ['D'] = 1 << K_UP, ['E'] = 1 << K_UP,
	['F'] = 1 << K_UP, ['G'] = 1 << K_UP, ['H'] = 1 << K_UP, ['I'] = 1 << K_UP, ['J'] = 1 << K_UP,
	['K'] = 1 << K_UP, ['L'] = 1 << K_UP, ['M'] = 1 << K_UP, ['N'] = 1 << K_UP, ['O'] = 1 << K_UP,
	['P'] = 1 << K_UP, ['Q'] = 1 << K_UP, ['R'] = 1 << K_UP, ['S'] = 1 << K_UP, ['T'] = 1 << K_UP,
	['U'] = 1 << K_UP, ['V'] = 1 << K_UP, ['W'] = 1 << K_UP, ['X'] = 1 << K_UP, ['Y'] = 1 << K_UP,
	['Z'] = 1 << K_UP,
	['a'] = 1 << K_LO, ['b'] = 1 << K_LO, ['c'] = 1 << K_LO, ['d'] = 1 << K_LO, ['e'] = 1 << K_LO,
	['f'] = 1 << K_LO, ['g'] = 1 << K_LO, ['h'] = 1 << K_LO, ['i'] = 1 << K_LO, ['j'] = 1 << K_LO,
	['k'] = 1 << K_LO, ['l'] = 1 << K_LO, ['m'] = 1 << K_LO, ['n'] = 1 << K_LO, ['o'] = 1 << K_LO,
	['p'] = 1 << K_LO, ['q'] = 1 << K_LO, ['r'] = 1 << K_LO, ['s'] = 1 << K_LO, ['t'] = 1 << K_LO,
	['u'] = 1 << K_LO, ['v'] = 1 << K_LO, ['w'] = 1 << K_LO, ['x'] = 1 << K_LO, ['y'] = 1 << K_LO,
	['z'] = 1 << K_LO,
};

static inline bool is_word(unsigned k)
{
	return k >= K_UP;
}

/* ASCII letters lowercased, digits kept. */
static inline char ascii_lower(uint8_t c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/*
 * Folding never shrinks text by more than a factor of four (U+1D400
 * MATHEMATICAL BOLD CAPITAL A folds to 'a', 4 -> 1 bytes), so a raw token
 * over 4 * XIHU_MAX_TERM bytes cannot fold to XIHU_MAX_TERM bytes or less
 * and is skipped without folding.
 */
#define FOLD_MAX_RAW (4 * XIHU_MAX_TERM)
/* Code points after decomposition: composition merges at most four into
 * one, a character of at least 3 bytes, so more than 4 * (XIHU_MAX_TERM + 1)
 * of them cannot fit a term either. */
#define FOLD_MAX_CPS (4 * (XIHU_MAX_TERM + 1))
#define FOLD_OPTIONS \
	((utf8proc_option_t)(UTF8PROC_CASEFOLD | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_STABLE))
/* A CJK cluster's folded bytes; one longer makes its grams too long. */
#define CLUSTER_MAX ANALYZER_CLUSTER_MAX

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

/* Han, Hiragana, Katakana, Hangul and Bopomofo (only asked of word characters). */
static bool is_cjk(int32_t cp)
{
	if (cp < 0x1100)
		return false;
	return (cp <= 0x11FF) ||                   /* Hangul Jamo */
	       (cp >= 0x3005 && cp <= 0x3007) ||   /* 々 〆 〇 */
	       (cp >= 0x3021 && cp <= 0x3029) ||   /* Hangzhou numerals */
	       (cp >= 0x3031 && cp <= 0x3035) ||   /* kana repeat marks */
	       (cp >= 0x3038 && cp <= 0x303C) ||
	       (cp >= 0x3041 && cp <= 0x30FF) ||   /* Hiragana, Katakana */
	       (cp >= 0x3105 && cp <= 0x318F) ||   /* Bopomofo, Hangul compatibility jamo */
	       (cp >= 0x31A0 && cp <= 0x31BF) ||   /* Bopomofo extended */
	       (cp >= 0x31F0 && cp <= 0x31FF) ||   /* Katakana phonetic extensions */
	       (cp >= 0x3400 && cp <= 0x4DBF) ||   /* CJK extension A */
	       (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK unified ideographs */
	       (cp >= 0xA960 && cp <= 0xA97F) ||   /* Hangul jamo extended A */
	       (cp >= 0xAC00 && cp <= 0xD7FF) ||   /* Hangul syllables, jamo extended B */
	       (cp >= 0xF900 && cp <= 0xFAFF) ||   /* CJK compatibility ideographs */
	       (cp >= 0xFF66 && cp <= 0xFFDC) ||   /* halfwidth Katakana and Hangul */
	       (cp >= 0x1AFF0 && cp <= 0x1B16F) || /* kana supplements and extensions */
	       (cp >= 0x20000 && cp <= 0x3FFFF);   /* CJK extensions B.. */
}

static unsigned cp_kind(int32_t cp)
{
	unsigned k;
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LT: k = K_UP; break;
	case UTF8PROC_CATEGORY_LL: k = K_LO; break;
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: k = K_OTHER; break;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO: k = K_DIG; break;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME: return K_MARK;
	default: return K_SEP;
	}
	return is_cjk(cp) ? K_CJK : k;
}

/* The kind of the character at t[i] (i < n); its length in *used. */
static inline unsigned kind_at(const uint8_t *t, size_t n, size_t i, size_t *used)
{
	if (t[i] < 0x80) {
		*used = 1;
		return ascii_kind[t[i]];
	}
	int32_t cp = utf8_decode(t + i, n - i, used);
	return cp < 0 ? K_SEP : cp_kind(cp);
}

/*
 * Folds the well-formed UTF-8 s[0..n) into dst (room for max + 1 bytes).
 * Returns its length, or -1 when the folded form is longer than max bytes.
 */
static int fold_utf8(const uint8_t *s, size_t n, char *dst, int max, bool strip_marks)
{
	utf8proc_int32_t cps[FOLD_MAX_CPS];
	utf8proc_option_t opt = FOLD_OPTIONS | (strip_marks ? UTF8PROC_STRIPMARK : 0);

	if (n > FOLD_MAX_RAW)
		return -1;
	utf8proc_ssize_t k = utf8proc_decompose(s, (utf8proc_ssize_t)n, cps, FOLD_MAX_CPS, opt);
	if (k < 0 || k > FOLD_MAX_CPS)
		return -1;
	k = utf8proc_normalize_utf32(cps, k, opt);
	if (k < 0)
		return -1;
	int len = 0;
	for (utf8proc_ssize_t i = 0; i < k; i++) {
		uint8_t enc[4];
		utf8proc_ssize_t m = utf8proc_encode_char(cps[i], enc);
		if (len + m > max)
			return -1;
		memcpy(dst + len, enc, (size_t)m);
		len += (int)m;
	}
	dst[len] = '\0';
	return len;
}

/* Folds the word characters s[0..n) (ASCII or not) into a->term. */
static int fold_term(analyzer *a, const uint8_t *s, size_t n, bool ascii)
{
	if (ascii) {
		if (n > XIHU_MAX_TERM)
			return -1;
		for (size_t i = 0; i < n; i++)
			a->term[i] = ascii_lower(s[i]);
		a->term[n] = '\0';
		return (int)n;
	}
	return fold_utf8(s, n, a->term, XIHU_MAX_TERM, a->fold_marks);
}

static bool all_ascii(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x80)
			return false;
	return true;
}

/* ---- words and their camelCase parts ------------------------------------------ */

enum { PART_LAST, PART_CAMEL };

/*
 * Scans the part of a word that starts at `from` (a word character of a
 * non-CJK chunk).  Sets *end where it ends; returns PART_CAMEL when another
 * part starts there, PART_LAST when the word ends there.  digit: the word
 * starts with a digit (it has no case boundaries then).
 */
static int scan_part(const uint8_t *t, size_t n, size_t from, bool digit, size_t *end)
{
	unsigned k2 = K_SEP, k1 = K_SEP; /* the two characters before j, marks skipped */
	size_t k1_off = from;
	size_t j = from, used;
	while (j < n) {
		unsigned k;
		if (t[j] < 0x80) {
			k = ascii_kind[t[j]];
			used = 1;
		} else {
			k = kind_at(t, n, j, &used);
			if (k == K_MARK) {
				j += used;
				continue;
			}
		}
		if (!is_word(k) || k == K_CJK)
			break;
		if (!digit) {
			if (k == K_UP && k1 == K_LO) { /* parse|Http */
				*end = j;
				return PART_CAMEL;
			}
			if (k == K_LO && k1 == K_UP && (k2 == K_UP || k2 == K_DIG)) { /* HTTP|Server, u32|Value */
				*end = k1_off;
				return PART_CAMEL;
			}
		}
		k2 = k1;
		k1 = k;
		k1_off = j;
		j += used;
	}
	*end = j;
	return PART_LAST;
}

/* Cuts the word starting at i into its parts: the first ANALYZER_PARTS
 * cached, the rest cut again lazily; finds its end. */
static void word_start(analyzer *a, size_t i)
{
	const uint8_t *t = a->text;
	size_t n = a->len, from = i, end, used;
	bool digit = kind_at(t, n, i, &used) == K_DIG;
	uint32_t nparts = 0;
	int r;
	a->np = 0;
	a->lazy = false;
	do {
		r = scan_part(t, n, from, digit, &end);
		if (a->np < ANALYZER_PARTS) {
			a->parts[a->np].start = (uint32_t)from;
			a->parts[a->np].end = (uint32_t)end;
			a->np++;
		} else if (!a->lazy) {
			a->lazy = true;
			a->lazy_from = from;
		}
		nparts++;
		from = end;
	} while (r == PART_CAMEL);
	a->lazy_digit = digit;
	a->ch_start = i;
	a->ch_end = end;
	a->pi = 0;
	a->ch_pos = a->pos;
	a->whole_due = nparts >= 2;
	a->ch_ascii = all_ascii(t + i, end - i);
	a->mode = CHUNK_WORD;
}

/* ---- CJK -------------------------------------------------------------------- */

/* Whether cp belongs to the cluster of the CJK character before it. */
static bool cjk_attaches(int32_t cp)
{
	return cp == 0xFF9E || cp == 0xFF9F ||       /* halfwidth (semi-)voiced sound marks */
	       (cp >= 0x1160 && cp <= 0x11FF) ||     /* Hangul vowel and final jamo */
	       (cp >= 0xD7B0 && cp <= 0xD7FF) ||
	       (cp >= 0x302A && cp <= 0x302F) ||     /* ideographic tone marks (Mn) */
	       cp_kind(cp) == K_MARK;
}

/* Whether a lone cp folds to itself (no case, no compatibility mapping). */
static bool cjk_fixed(int32_t cp)
{
	return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
	       (cp >= 0x3041 && cp <= 0x3096) || (cp >= 0x30A1 && cp <= 0x30FA) ||
	       (cp >= 0xAC00 && cp <= 0xD7A3);
}

/*
 * Reads the cluster at a->ch_cur into a->cur_cl (folded), if a CJK
 * character is there; returns false at the end of the run.
 */
static bool cluster_next(analyzer *a, struct cjk_cluster *cl)
{
	const uint8_t *t = a->text;
	size_t n = a->len, i = a->ch_cur, used;
	if (i >= n || t[i] < 0x80)
		return false;
	int32_t cp = utf8_decode(t + i, n - i, &used);
	if (cp < 0 || cp_kind(cp) != K_CJK)
		return false;
	size_t j = i + used;
	bool alone = true;
	while (j < n && t[j] >= 0x80) {
		size_t u;
		int32_t c2 = utf8_decode(t + j, n - j, &u);
		if (c2 < 0 || !cjk_attaches(c2))
			break;
		alone = false;
		j += u;
	}
	cl->start = (uint32_t)i;
	cl->end = (uint32_t)j;
	if (alone && cjk_fixed(cp)) {
		memcpy(cl->bytes, t + i, used);
		cl->len = (int)used;
	} else {
		cl->len = fold_utf8(t + i, j - i, cl->bytes, CLUSTER_MAX, false);
	}
	a->ch_cur = j;
	return true;
}

/* ---- the analyzer ----------------------------------------------------------- */

int analyzer_open(analyzer *a, const analysis *an, xihu_err *err)
{
	memset(a, 0, sizeof *a);
	a->an = an;
	a->fold_marks = analysis_fold_diacritics(an);
	a->has_stop = analysis_nstopwords(an) > 0;
	const char *stem = analysis_stem(an);
	if (*stem && !(a->sb = sb_stemmer_new(stem, NULL)))
		return xihu_err_set(err, XIHU_ENOMEM, "stemmer %s: out of memory", stem);
	return 0;
}

void analyzer_close(analyzer *a)
{
	if (a->sb)
		sb_stemmer_delete(a->sb);
	a->sb = NULL;
}

void analyzer_reset(analyzer *a, const char *text, size_t len, unsigned flags)
{
	a->text = (const uint8_t *)text;
	a->len = len;
	a->off = 0;
	a->pos = 0;
	a->nlong = 0;
	a->nstop = 0;
	a->mode = CHUNK_NONE;
	a->apply = !(flags & ANALYZE_PLAIN) && (a->has_stop || a->sb);
	a->term[0] = '\0';
}

void analyzer_init(analyzer *a, const char *text, size_t len)
{
	analyzer_open(a, NULL, NULL); /* the default analysis: nothing to allocate */
	analyzer_reset(a, text, len, 0);
}

/* The index's analysis on the token in a->term[0..len): false for a
 * stopword, else the stemmed length. */
static __attribute__((noinline)) int apply_analysis(analyzer *a, int len, bool whole, bool stem)
{
	if (a->has_stop && analysis_is_stopword(a->an, a->term, (uint32_t)len)) {
		if (!whole)
			a->nstop++;
		return 0;
	}
	if (stem && a->sb) {
		const sb_symbol *s = sb_stemmer_stem(a->sb, (const sb_symbol *)a->term, len);
		int sl = s ? sb_stemmer_length(a->sb) : 0;
		if (sl > 0 && sl <= XIHU_MAX_TERM && !memchr(s, 0, (size_t)sl)) {
			memcpy(a->term, s, (size_t)sl);
			len = sl;
		}
		a->term[len] = '\0';
	}
	return len;
}

/* Finishes the token folded into a->term[0..len): drops a stopword (false),
 * stems, fills out. */
static inline bool finish(analyzer *a, token *out, int len, uint32_t pos, size_t start, size_t end, bool whole,
                          bool stem)
{
	if (a->apply && !(len = apply_analysis(a, len, whole, stem)))
		return false;
	out->term = a->term;
	out->len = (uint32_t)len;
	out->pos = pos;
	out->start = (uint32_t)start;
	out->end = (uint32_t)end;
	out->whole = whole;
	return true;
}

/* The next token of the word being cut; false when it is done. */
static bool word_next(analyzer *a, token *out)
{
	const uint8_t *t = a->text;
	for (;;) {
		if (a->whole_due) {
			a->whole_due = false;
			int len = fold_term(a, t + a->ch_start, a->ch_end - a->ch_start, a->ch_ascii);
			if (len > 0 && finish(a, out, len, a->ch_pos, a->ch_start, a->ch_end, true, false))
				return true;
			continue;
		}
		size_t s, e;
		if (a->pi < a->np) {
			s = a->parts[a->pi].start;
			e = a->parts[a->pi].end;
			a->pi++;
		} else if (a->lazy) {
			s = a->lazy_from;
			a->lazy = scan_part(t, a->len, s, a->lazy_digit, &e) == PART_CAMEL;
			a->lazy_from = e;
		} else {
			return false;
		}
		uint32_t pos = a->pos++;
		bool ascii = a->ch_ascii || all_ascii(t + s, e - s);
		int len = fold_term(a, t + s, e - s, ascii);
		if (len < 0) {
			a->nlong++; /* too long: skipped, its position stays taken */
			continue;
		}
		if (len == 0)
			continue; /* only marks, stripped */
		if (finish(a, out, len, pos, s, e, false, true))
			return true;
	}
}

/* The next gram of the CJK run; false when it is done. */
static bool cjk_next(analyzer *a, token *out)
{
	struct cjk_cluster cur;
	for (;;) {
		if (!cluster_next(a, &cur)) {
			if (a->have_prev && !a->grams) { /* a lone character: a unigram */
				a->have_prev = false;
				uint32_t pos = a->pos++;
				struct cjk_cluster *p = &a->prev;
				if (p->len <= 0) {
					a->nlong++;
					return false;
				}
				memcpy(a->term, p->bytes, (size_t)p->len);
				a->term[p->len] = '\0';
				return finish(a, out, p->len, pos, p->start, p->end, false, false);
			}
			return false;
		}
		if (!a->have_prev) {
			a->prev = cur;
			a->have_prev = true;
			continue;
		}
		uint32_t pos = a->pos++;
		a->grams++;
		struct cjk_cluster p = a->prev;
		a->prev = cur;
		if (p.len <= 0 || cur.len <= 0 || p.len + cur.len > XIHU_MAX_TERM) {
			a->nlong++;
			continue;
		}
		memcpy(a->term, p.bytes, (size_t)p.len);
		memcpy(a->term + p.len, cur.bytes, (size_t)cur.len);
		int len = p.len + cur.len;
		a->term[len] = '\0';
		if (finish(a, out, len, pos, p.start, cur.end, false, false))
			return true;
	}
}

bool analyzer_next(analyzer *a, token *out)
{
	const uint8_t *t = a->text;
	size_t n = a->len;

	for (;;) {
		if (a->mode == CHUNK_WORD) {
			if (word_next(a, out))
				return true;
			a->mode = CHUNK_NONE;
			a->off = a->ch_end;
		} else if (a->mode == CHUNK_CJK) {
			if (cjk_next(a, out))
				return true;
			a->mode = CHUNK_NONE;
			a->off = a->ch_cur;
		}
		/* find the next chunk: skip separators */
		size_t i = a->off, used = 1;
		unsigned k = K_SEP;
		while (i < n) {
			uint8_t c = t[i];
			if (c < 0x80) {
				if (ascii_kind[c] >= K_UP)
					break;
				i++;
				continue;
			}
			k = kind_at(t, n, i, &used);
			if (is_word(k))
				break;
			i += used;
		}
		if (i >= n) {
			a->off = n;
			return false;
		}
		if (t[i] >= 0x80) {
			if (k == K_CJK) {
				a->mode = CHUNK_CJK;
				a->ch_cur = i;
				a->have_prev = false;
				a->grams = 0;
			} else {
				word_start(a, i);
			}
			continue;
		}
		/* The fast path: an ASCII word of one case (or digits), folded as it
		 * is scanned.  Mixed case may be camelCase, and a non-ASCII byte
		 * after it may continue it: both are cut by word_start. */
		size_t j = i, tl = 0;
		unsigned seen = 0, b;
		while (j < n && (b = ascii_bit[t[j]]) != 0) {
			if (tl < XIHU_MAX_TERM)
				a->term[tl] = (char)(t[j] | 0x20); /* lowercases letters, keeps digits */
			tl++;
			seen |= b;
			j++;
		}
		if ((j < n && t[j] >= 0x80) || (seen & (1u << K_UP | 1u << K_LO)) == (1u << K_UP | 1u << K_LO)) {
			word_start(a, i);
			continue;
		}
		uint32_t pos = a->pos++;
		a->off = j;
		if (tl > XIHU_MAX_TERM) {
			a->nlong++; /* too long: skipped, its position stays taken */
			continue;
		}
		a->term[tl] = '\0';
		if (finish(a, out, (int)tl, pos, i, j, false, true))
			return true;
	}
}
