/*
 * html.c: an HTML file -> the text a reader sees, for the index and the doc
 * store.
 *
 * Owns which files count as HTML (by name: html_is_html_name) and the
 * extraction rule.  Called by pipeline.c on every such file just read, in
 * place; the doc store then holds the extracted text, so the snippets and
 * the line:col of hits are about the text (docs/QUERY.md, "HTML files").
 *
 * The rule, close to an HTML5 tokenizer's data state:
 *  - "<" + an ASCII letter starts a tag, "</" + a letter an end tag; both
 *    run to the first '>' outside a quoted attribute value.  "<!--" starts
 *    a comment, up to "-->" ("<!-->" and "<!--->" are empty ones); "<!"
 *    and "<?" otherwise (DOCTYPE, CDATA, processing instructions) run to
 *    the first '>'.  Any other '<' is text;
 *  - a tag becomes one space, so words on both sides of <br>, </p>, </td>
 *    stay apart, unless it belongs to an inline element (a, b, em, span...:
 *    INLINE below), which becomes nothing ("<b>H</b>ello" is "Hello"), or
 *    the space would touch white space (or an end) anyway; comments and
 *    declarations become nothing;
 *  - the contents of <script> and <style> are removed, up to their end tag;
 *  - character references: "&name;" for the names in ENTITIES (HTML 4's
 *    Latin-1, symbol and Greek sets, and &apos;), "&#NNN;" and "&#xHH;"
 *    give UTF-8.  0, surrogates and values past U+10FFFF give U+FFFD;
 *    0x80-0x9F are read as Windows-1252, as browsers do; control characters
 *    ("&#10;" included) give a space, so a reference never adds a line.  A
 *    reference without its ';', with an unknown name or with no digits
 *    stays as written;
 *  - every '\n' inside anything removed is kept ("\r\n" as "\n"), so each
 *    line of the text is the same line of the file; text bytes, invalid
 *    UTF-8 included, are copied as they are.
 *
 * Bad input: markup unterminated at the end (a '<' with no '>' after it,
 * "<!--" with no "-->", <script> with no </script>) is not markup: the '<'
 * stays as text and the scan goes on after it, so the rest of the file is
 * never lost.  A quoted attribute value still open at the file's last '>'
 * ends its tag at the tag's first '>' instead, and tags that start before
 * that quote take their first '>' too.  Each failure is remembered (where
 * the last '>' is, "no '-->' from here", "no </script> from here", where
 * quotes stop pairing), so the work stays linear in the input.
 *
 * Invariant: the output never gets ahead of the input.  A removed piece
 * writes its newlines and at most one space, fewer bytes than it had; a
 * reference's UTF-8 is never longer than the reference (checked where it is
 * written).  That makes the in-place extraction safe.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "input/input.h"


typedef struct entity {
	const char *name;
	uint32_t cp;
} entity;

/* Sorted by strcmp, for bsearch. */
static const entity ENTITIES[] = {
	{"AElig", 0xc6}, {"Aacute", 0xc1}, {"Acirc", 0xc2}, {"Agrave", 0xc0}, {"Alpha", 0x391},
	{"Aring", 0xc5}, {"Atilde", 0xc3}, {"Auml", 0xc4}, {"Beta", 0x392}, {"Ccedil", 0xc7},
	{"Chi", 0x3a7}, {"Dagger", 0x2021}, {"Delta", 0x394}, {"ETH", 0xd0}, {"Eacute", 0xc9},
	{"Ecirc", 0xca}, {"Egrave", 0xc8}, {"Epsilon", 0x395}, {"Eta", 0x397}, {"Euml", 0xcb},
	{"Gamma", 0x393}, {"Iacute", 0xcd}, {"Icirc", 0xce}, {"Igrave", 0xcc}, {"Iota", 0x399},
	{"Iuml", 0xcf}, {"Kappa", 0x39a}, {"Lambda", 0x39b}, {"Mu", 0x39c}, {"Ntilde", 0xd1},
	{"Nu", 0x39d}, {"OElig", 0x152}, {"Oacute", 0xd3}, {"Ocirc", 0xd4}, {"Ograve", 0xd2},
	{"Omega", 0x3a9}, {"Omicron", 0x39f}, {"Oslash", 0xd8}, {"Otilde", 0xd5}, {"Ouml", 0xd6},
	{"Phi", 0x3a6}, {"Pi", 0x3a0}, {"Prime", 0x2033}, {"Psi", 0x3a8}, {"Rho", 0x3a1},
	{"Scaron", 0x160}, {"Sigma", 0x3a3}, {"THORN", 0xde}, {"Tau", 0x3a4}, {"Theta", 0x398},
	{"Uacute", 0xda}, {"Ucirc", 0xdb}, {"Ugrave", 0xd9}, {"Upsilon", 0x3a5}, {"Uuml", 0xdc},
	{"Xi", 0x39e}, {"Yacute", 0xdd}, {"Yuml", 0x178}, {"Zeta", 0x396}, {"aacute", 0xe1},
	{"acirc", 0xe2}, {"acute", 0xb4}, {"aelig", 0xe6}, {"agrave", 0xe0}, {"alpha", 0x3b1},
	{"amp", 0x26}, {"apos", 0x27}, {"aring", 0xe5}, {"asymp", 0x2248}, {"atilde", 0xe3},
	{"auml", 0xe4}, {"bdquo", 0x201e}, {"beta", 0x3b2}, {"brvbar", 0xa6}, {"bull", 0x2022},
	{"ccedil", 0xe7}, {"cedil", 0xb8}, {"cent", 0xa2}, {"chi", 0x3c7}, {"circ", 0x2c6},
	{"copy", 0xa9}, {"curren", 0xa4}, {"dagger", 0x2020}, {"darr", 0x2193}, {"deg", 0xb0},
	{"delta", 0x3b4}, {"divide", 0xf7}, {"eacute", 0xe9}, {"ecirc", 0xea}, {"egrave", 0xe8},
	{"emsp", 0x2003}, {"ensp", 0x2002}, {"epsilon", 0x3b5}, {"equiv", 0x2261}, {"eta", 0x3b7},
	{"eth", 0xf0}, {"euml", 0xeb}, {"euro", 0x20ac}, {"exist", 0x2203}, {"fnof", 0x192},
	{"forall", 0x2200}, {"frac12", 0xbd}, {"frac14", 0xbc}, {"frac34", 0xbe}, {"frasl", 0x2044},
	{"gamma", 0x3b3}, {"ge", 0x2265}, {"gt", 0x3e}, {"harr", 0x2194}, {"hearts", 0x2665},
	{"hellip", 0x2026}, {"iacute", 0xed}, {"icirc", 0xee}, {"iexcl", 0xa1}, {"igrave", 0xec},
	{"infin", 0x221e}, {"iota", 0x3b9}, {"iquest", 0xbf}, {"isin", 0x2208}, {"iuml", 0xef},
	{"kappa", 0x3ba}, {"lambda", 0x3bb}, {"laquo", 0xab}, {"larr", 0x2190}, {"ldquo", 0x201c},
	{"le", 0x2264}, {"loz", 0x25ca}, {"lrm", 0x200e}, {"lsaquo", 0x2039}, {"lsquo", 0x2018},
	{"lt", 0x3c}, {"macr", 0xaf}, {"mdash", 0x2014}, {"micro", 0xb5}, {"middot", 0xb7},
	{"minus", 0x2212}, {"mu", 0x3bc}, {"nabla", 0x2207}, {"nbsp", 0xa0}, {"ndash", 0x2013},
	{"ne", 0x2260}, {"not", 0xac}, {"ntilde", 0xf1}, {"nu", 0x3bd}, {"oacute", 0xf3},
	{"ocirc", 0xf4}, {"oelig", 0x153}, {"ograve", 0xf2}, {"oline", 0x203e}, {"omega", 0x3c9},
	{"omicron", 0x3bf}, {"ordf", 0xaa}, {"ordm", 0xba}, {"oslash", 0xf8}, {"otilde", 0xf5},
	{"ouml", 0xf6}, {"para", 0xb6}, {"part", 0x2202}, {"permil", 0x2030}, {"phi", 0x3c6},
	{"pi", 0x3c0}, {"plusmn", 0xb1}, {"pound", 0xa3}, {"prime", 0x2032}, {"prod", 0x220f},
	{"psi", 0x3c8}, {"quot", 0x22}, {"radic", 0x221a}, {"raquo", 0xbb}, {"rarr", 0x2192},
	{"rdquo", 0x201d}, {"reg", 0xae}, {"rho", 0x3c1}, {"rlm", 0x200f}, {"rsaquo", 0x203a},
	{"rsquo", 0x2019}, {"sbquo", 0x201a}, {"scaron", 0x161}, {"sect", 0xa7}, {"shy", 0xad},
	{"sigma", 0x3c3}, {"sigmaf", 0x3c2}, {"sum", 0x2211}, {"sup1", 0xb9}, {"sup2", 0xb2},
	{"sup3", 0xb3}, {"szlig", 0xdf}, {"tau", 0x3c4}, {"theta", 0x3b8}, {"thinsp", 0x2009},
	{"thorn", 0xfe}, {"tilde", 0x2dc}, {"times", 0xd7}, {"trade", 0x2122}, {"uacute", 0xfa},
	{"uarr", 0x2191}, {"ucirc", 0xfb}, {"ugrave", 0xf9}, {"uml", 0xa8}, {"upsilon", 0x3c5},
	{"uuml", 0xfc}, {"xi", 0x3be}, {"yacute", 0xfd}, {"yen", 0xa5}, {"yuml", 0xff},
	{"zeta", 0x3b6}, {"zwj", 0x200d}, {"zwnj", 0x200c},
};
#define ENTITY_MAX_NAME 8 /* the longest name above is 7 bytes */

/* Windows-1252's characters for 0x80-0x9F; 0: a C1 control there too. */
static const uint16_t CP1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* Elements whose tags become nothing: text flows through them. */
static const char *const INLINE[] = {
	"a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "data", "del",
	"dfn", "em", "font", "i", "ins", "kbd", "mark", "nobr", "q", "s", "samp",
	"small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
};

/* Elements whose contents are removed. */
enum { RAW_SCRIPT, RAW_STYLE, NRAW };
static const char *const RAW[NRAW] = {"script", "style"};

#define TAG_NAME_MAX 8 /* longer names are none of the above */

typedef struct hx {
	const uint8_t *s; /* the input */
	size_t len, i;    /* its length; where the scan is */
	uint8_t *d;       /* the output; may be s (o <= i always) */
	size_t o;
	size_t gt_end;       /* one past the last '>' of the input; 0: none */
	size_t simple_until; /* tags starting before this end at their first '>' */
	bool no_comment_end; /* no "-->" after an earlier "<!--" */
	bool no_raw_end[NRAW];
} hx;

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

bool html_is_html_name(const char *path, size_t len)
{
	if (len >= 3 && !strncasecmp(path + len - 3, ".gz", 3))
		len -= 3;
	return (len >= 5 && !strncasecmp(path + len - 5, ".html", 5)) ||
	       (len >= 4 && !strncasecmp(path + len - 4, ".htm", 4));
}

/* ---- removed pieces ------------------------------------------------------ */

/* Removes s[from, to): its '\n's stay.  sep: a space takes its place when it
 * had no newline and there is no white space (or end) on either side. */
static void drop(hx *h, size_t from, size_t to, bool sep)
{
	bool newline = false;
	const uint8_t *nl;
	for (size_t k = from; k < to && (nl = memchr(h->s + k, '\n', to - k)); k = (size_t)(nl - h->s) + 1) {
		h->d[h->o++] = '\n';
		newline = true;
	}
	if (sep && !newline && h->o > 0 && !is_space(h->d[h->o - 1]) && to < h->len && !is_space(h->s[to]))
		h->d[h->o++] = ' ';
	h->i = to;
}

/* One past the '>' ending the tag whose attributes start at p (the tag
 * starts at start).  The caller made sure a '>' follows p. */
static size_t tag_end(hx *h, size_t start, size_t p)
{
	const uint8_t *s = h->s;
	size_t lim = h->gt_end;
	if (start >= h->simple_until) {
		while (p < lim) {
			uint8_t c = s[p++];
			if (c == '>')
				return p;
			if (c != '=')
				continue;
			while (p < lim && is_space(s[p]))
				p++;
			if (p < lim && (s[p] == '"' || s[p] == '\'')) {
				const uint8_t *q = memchr(s + p + 1, s[p], lim - p - 1);
				if (!q) { /* open past the last '>' */
					h->simple_until = p;
					break;
				}
				p = (size_t)(q - s) + 1;
			}
		}
	}
	const uint8_t *gt = memchr(s + start, '>', lim - start);
	return (size_t)(gt - s) + 1;
}

/* The end tag </name of a raw text element at or after p, or len. */
static size_t raw_end(const hx *h, size_t p, const char *name)
{
	const uint8_t *s = h->s;
	size_t n = h->len, nl = strlen(name);
	const uint8_t *lt;
	for (; p < n && (lt = memchr(s + p, '<', n - p)); p = (size_t)(lt - s) + 1) {
		size_t q = (size_t)(lt - s);
		if (q + 2 + nl <= n && s[q + 1] == '/' && !strncasecmp((const char *)s + q + 2, name, nl) &&
		    (q + 2 + nl == n || is_space(s[q + 2 + nl]) || s[q + 2 + nl] == '/' || s[q + 2 + nl] == '>'))
			return q;
	}
	return n;
}

static bool comment(hx *h)
{
	const uint8_t *s = h->s;
	size_t i = h->i, n = h->len, p = i + 4, e;
	if (p < n && s[p] == '>') {
		e = p + 1; /* <!--> */
	} else if (p + 1 < n && s[p] == '-' && s[p + 1] == '>') {
		e = p + 2; /* <!---> */
	} else {
		const uint8_t *q = h->no_comment_end ? NULL : memmem(s + p, n - p, "-->", 3);
		if (!q) {
			h->no_comment_end = true;
			return false;
		}
		e = (size_t)(q - s) + 3;
	}
	drop(h, i, e, false);
	return true;
}

/* At a '<': removes the markup it starts, or returns false when it is text. */
static bool markup(hx *h)
{
	const uint8_t *s = h->s;
	size_t i = h->i, n = h->len;
	if (i + 1 >= n || i + 1 >= h->gt_end)
		return false; /* no '>' after it */
	uint8_t c = s[i + 1];
	if (c == '!' && i + 3 < n && s[i + 2] == '-' && s[i + 3] == '-')
		return comment(h);
	if (c == '!' || c == '?') {
		const uint8_t *gt = memchr(s + i + 2, '>', h->gt_end - (i + 2));
		drop(h, i, (size_t)(gt - s) + 1, false);
		return true;
	}
	bool end = c == '/';
	size_t p = i + 1 + end;
	if (p >= h->gt_end || !is_alpha(s[p]))
		return false;
	char name[TAG_NAME_MAX + 1];
	size_t nl = 0;
	for (; p < n && !is_space(s[p]) && s[p] != '/' && s[p] != '>'; p++, nl++)
		if (nl < TAG_NAME_MAX)
			name[nl] = (char)(s[p] | (is_alpha(s[p]) ? 0x20 : 0));
	name[nl < TAG_NAME_MAX ? nl : TAG_NAME_MAX] = '\0';
	if (nl > TAG_NAME_MAX)
		name[0] = '\0'; /* no element of ours */
	size_t e = tag_end(h, i, p);
	bool inline_tag = false;
	for (size_t k = 0; k < sizeof INLINE / sizeof *INLINE && !inline_tag; k++)
		inline_tag = !strcmp(name, INLINE[k]);
	drop(h, i, e, !inline_tag);
	for (int k = 0; k < NRAW && !end; k++) {
		if (strcmp(name, RAW[k]) || h->no_raw_end[k])
			continue;
		size_t close = raw_end(h, e, RAW[k]);
		if (close == n)
			h->no_raw_end[k] = true; /* its contents are text, then */
		else
			drop(h, e, close, false);
	}
	return true;
}

/* ---- character references ------------------------------------------------ */

static int entity_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const entity *)e)->name);
}

static uint32_t numeric(uint32_t v)
{
	if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
		return 0xfffd;
	if (v >= 0x80 && v < 0xa0)
		v = CP1252[v - 0x80];
	if (v < 0x20 || v == 0x7f)
		return v == '\t' ? v : ' '; /* never a line break of our own */
	return v;
}

static size_t put_utf8(uint32_t c, uint8_t *o)
{
	if (c < 0x80) {
		o[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (uint8_t)(0xc0 | c >> 6);
		o[1] = (uint8_t)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (uint8_t)(0xe0 | c >> 12);
		o[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | c >> 18);
	o[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
	o[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
	o[3] = (uint8_t)(0x80 | (c & 0x3f));
	return 4;
}

/* At a '&': writes the character a reference stands for, or returns false
 * when it is not one (it then stays as written). */
static bool reference(hx *h)
{
	const uint8_t *s = h->s;
	size_t i = h->i, n = h->len, p = i + 1;
	uint32_t cp;
	if (p < n && s[p] == '#') {
		p++;
		bool hex = p < n && (s[p] | 0x20) == 'x';
		p += hex;
		size_t first = p;
		uint32_t v = 0;
		for (; p < n; p++) {
			uint8_t c = s[p], lc = c | 0x20;
			uint32_t dv;
			if (is_digit(c))
				dv = (uint32_t)(c - '0');
			else if (hex && lc >= 'a' && lc <= 'f')
				dv = (uint32_t)(lc - 'a' + 10);
			else
				break;
			v = v * (hex ? 16 : 10) + dv;
			if (v > 0x10ffff)
				v = 0x110000; /* stays out of range, never overflows */
		}
		if (p == first || p >= n || s[p] != ';')
			return false;
		cp = numeric(v);
	} else {
		char name[ENTITY_MAX_NAME + 1];
		size_t k = 0;
		while (p < n && k < ENTITY_MAX_NAME && (is_alpha(s[p]) || is_digit(s[p])))
			name[k++] = (char)s[p++];
		if (k == 0 || p >= n || s[p] != ';')
			return false;
		name[k] = '\0';
		const entity *e = bsearch(name, ENTITIES, sizeof ENTITIES / sizeof *ENTITIES, sizeof *ENTITIES,
		                          entity_cmp);
		if (!e)
			return false;
		cp = e->cp;
	}
	p++; /* the ';' */
	uint8_t u[4];
	size_t ul = put_utf8(cp, u);
	if (ul > p - i)
		return false; /* never with the table above; keeps the output behind the input */
	memcpy(h->d + h->o, u, ul);
	h->o += ul;
	h->i = p;
	return true;
}

/* ---- the text --------------------------------------------------------------- */

size_t html_text(const char *src, size_t len, char *dst)
{
	hx h = {.s = (const uint8_t *)src, .len = len, .d = (uint8_t *)dst};
	h.gt_end = len;
	while (h.gt_end > 0 && h.s[h.gt_end - 1] != '>')
		h.gt_end--;
	while (h.i < len) {
		size_t j = h.i;
		while (j < len && h.s[j] != '<' && h.s[j] != '&')
			j++;
		if (j > h.i) {
			memmove(h.d + h.o, h.s + h.i, j - h.i);
			h.o += j - h.i;
			h.i = j;
			continue;
		}
		if (h.s[j] == '<' ? markup(&h) : reference(&h))
			continue;
		h.d[h.o++] = h.s[h.i++]; /* a '<' or '&' that is text */
	}
	return h.o;
}
